// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.attention_grad lowering (lib/Conversion/RotaryToLinalg/
// LowerAttentionGrad.cpp), three race-free passes that never build the T×S
// score matrix:
// 1. δ [B, H, T] = Σ_d ȯ·o (− l̄se), one reduction generic;
// 2. scf.forall over (h, i): a loop over b, and in it the two key ranges of
//    the forward (global keys left of the window, then the window), each
//    recomputing e = exp(s − lse) (0 when lse = −inf) and accumulating q̄_i;
//    bias rows and the span partial of (h, i) are carried over b;
// 3. scf.forall over (b, h, j): one loop over the queries that see key j,
//    accumulating k̄_j and v̄_j in one generic.
// Bias-table and span partials [H, T, ·] are then summed over T.

// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x4x16x8xf32>, %[[O:[^:]*]]: tensor<2x4x16x8xf32>, %[[LSE:[^:]*]]: tensor<2x4x16xf32>)
// CHECK-NOT:   rotary.attention_grad
// CHECK:       %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[DELTA:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[O]], %[[O]] : {{.*}}) outs(%{{.*}} : tensor<2x4x16xf32>)
// Pass 2: tasks (h, i), a loop over b, two key loops.
// CHECK:       %[[DQ:.*]] = scf.forall (%[[H:.*]], %[[I:.*]]) in (4, 16) shared_outs(%[[DQOUT:.*]] = %{{.*}}) -> (tensor<2x4x16x8xf32>)
// CHECK:         %[[BATCH:.*]] = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<2x8xf32>)
// CHECK:           %[[LSEI:.*]] = tensor.extract %[[LSE]][%[[B]], %[[H]], %[[I]]] : tensor<2x4x16xf32>
// CHECK:           %[[DI:.*]] = tensor.extract %[[DELTA]][%[[B]], %[[H]], %[[I]]] : tensor<2x4x16xf32>
// CHECK:           %[[GLOBAL:.*]] = scf.for {{.*}} -> (tensor<8xf32>)
// CHECK:             %[[LIVE:.*]] = arith.cmpf ogt, %[[LSEI]], %[[NEGINF]] : f32
// CHECK:             %[[SL:.*]] = arith.subf %{{.*}}, %[[LSEI]] : f32
// CHECK-NEXT:        %[[EXP:.*]] = math.exp %[[SL]] : f32
// CHECK-NEXT:        %[[E:.*]] = arith.select %[[LIVE]], %[[EXP]], %{{.*}} : f32
// CHECK:             %[[G:.*]] = arith.subf %{{.*}}, %[[DI]] : f32
// CHECK-NEXT:        %[[DS:.*]] = arith.mulf %[[E]], %[[G]] : f32
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[GLOBAL]]) -> (tensor<8xf32>)
// CHECK:           tensor.insert_slice %{{.*}} into %{{.*}}[%[[B]], 0] [1, 8] [1, 1] : tensor<8xf32> into tensor<2x8xf32>
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BATCH]] into %[[DQOUT]][0, %[[H]], %[[I]], 0] [2, 1, 1, 8] [1, 1, 1, 1] : tensor<2x8xf32> into tensor<2x4x16x8xf32>
// Pass 3: tasks (b, h, j), one query loop; k̄ and v̄ in one generic.
// CHECK:       %[[KV:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (2, 4, 16) shared_outs({{.*}}) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>)
// CHECK:         scf.for {{.*}} -> (tensor<8xf32>, tensor<8xf32>)
// Scores and dP are dot products over D carrying one f32 (no 0-d tensor,
// which would be a heap allocation per pair); no other loop.
// CHECK:           scf.for {{.*}} -> (f32)
// CHECK:           scf.for {{.*}} -> (f32)
// CHECK-NOT:       scf.for
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>) outs(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>)
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice
// CHECK-NEXT:      tensor.parallel_insert_slice
// CHECK:       return %[[DQ]], %[[KV]]#0, %[[KV]]#1
func.func @causal_window(%q: tensor<2x4x16x8xf32>, %o: tensor<2x4x16x8xf32>, %lse: tensor<2x4x16xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %dq, %dk, %dv = rotary.attention_grad %q, %q, %q, %o, %lse, %o {causal, window = 3 : i64}
      : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  return %dq, %dk, %dv : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// -----

// A bias table, span and dlse: δ starts at −l̄se; per (h, i) a bias row
// [2W'+1] and a span scalar carried over b and the keys; both summed over T.
// CHECK-LABEL: func.func @table_span_dlse(
// CHECK-SAME:    %[[DL:[^:]*]]: tensor<?x4x?xf32>, %{{[^:]*}}: tensor<4x9xf32>, %{{[^:]*}}: tensor<4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[DL]] : tensor<?x4x?xf32>)
// CHECK-NEXT:  ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    arith.negf %[[IN]] : f32
// CHECK:       %[[P1:.*]]:3 = scf.forall (%{{.*}}, %{{.*}}) in (4, %{{.*}}) shared_outs({{.*}}) -> (tensor<?x4x?x8xf32>, tensor<4x?x?xf32>, tensor<4x?xf32>)
// CHECK:         scf.for {{.*}} -> (tensor<?x8xf32>, tensor<?xf32>, f32)
// CHECK:           scf.for {{.*}} -> (tensor<8xf32>, tensor<?xf32>, f32)
// The span mask's derivative: 1/R strictly inside the ramp.
// CHECK:             arith.minimumf
// CHECK:             arith.cmpf olt
// CHECK:             arith.cmpf ogt
// CHECK:             arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%{{.*}}] : tensor<?xf32>
// CHECK:         tensor.from_elements %{{.*}} : tensor<f32>
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, 1, %{{.*}}] [1, 1, 1] : tensor<?xf32> into tensor<4x?x?xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] [1, 1] [1, 1] : tensor<f32> into tensor<4x?xf32>
// CHECK:       scf.forall {{.*}} -> (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>)
// CHECK:       %[[DB:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[P1]]#1 : tensor<4x?x?xf32>)
// CHECK:       %[[DS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[P1]]#2 : tensor<4x?xf32>)
// CHECK:       %[[DBC:.*]] = tensor.cast %[[DB]] : tensor<4x?xf32> to tensor<4x9xf32>
// CHECK:       return %[[DBC]], %[[DS]]
func.func @table_span_dlse(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %o: tensor<?x4x?x8xf32>, %lse: tensor<?x4x?xf32>, %dl: tensor<?x4x?xf32>, %b: tensor<4x9xf32>, %s: tensor<4xf32>) -> (tensor<4x9xf32>, tensor<4xf32>) {
  %r:5 = rotary.attention_grad %q, %k, %k, %o, %lse, %o dlse(%dl : tensor<?x4x?xf32>) bias(%b : tensor<4x9xf32>) span(%s : tensor<4xf32>) {global_tokens = 2 : i64, span_ramp = 4.0 : f32}
      : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?xf32>
  return %r#3, %r#4 : tensor<4x9xf32>, tensor<4xf32>
}

// -----

// bf16 data, f32 math; a full bias [H, T, S] gets its rows directly (summed
// over b inside the task), with no reduction afterwards.
// CHECK-LABEL: func.func @full_bias_bf16(
// CHECK:       %[[P1:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}) in (2, %{{.*}}) shared_outs({{.*}}) -> (tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>)
// CHECK:         scf.for {{.*}} -> (tensor<?x8xbf16>, tensor<?xf32>)
// CHECK:           scf.for {{.*}} -> (tensor<8xf32>, tensor<?xf32>)
// CHECK:             arith.extf %{{.*}} : bf16 to f32
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%{{.*}}] : tensor<?xf32>
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} : tensor<?x8xbf16> into tensor<?x2x?x8xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} : tensor<?xf32> into tensor<2x?x?xf32>
// CHECK:       %[[P2:.*]]:2 = scf.forall {{.*}} -> (tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>)
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK:         scf.forall.in_parallel
// CHECK-NOT:   linalg.generic
// CHECK:       return %[[P2]]#0, %[[P1]]#1
func.func @full_bias_bf16(%q: tensor<?x2x?x8xbf16>, %k: tensor<?x2x?x8xbf16>, %o: tensor<?x2x?x8xbf16>, %lse: tensor<?x2x?xf32>, %b: tensor<2x?x?xf32>) -> (tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>) {
  %r:4 = rotary.attention_grad %q, %k, %k, %o, %lse, %o bias(%b : tensor<2x?x?xf32>) {causal}
      : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?xf32>
  return %r#1, %r#3 : tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>
}
