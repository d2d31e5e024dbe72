// RUN: rotary-opt %s -rotary-cpu-configure -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.attention_grad lowering (lib/Conversion/RotaryToLinalg/
// LowerAttentionGrad.cpp): the FlashAttention-2 backward in three race-free
// passes that never build the T×S score matrix:
// 1. δ [B, H, T] = Σ_d ȯ·o (− l̄se), one reduction generic;
// 2. scf.forall over (h, tile of 48 queries): a loop over b, and in it one
//    loop over the key tiles of the forward's two ranges; per key tile
//    S = Q·Kᵀ and dP = Ȯ·Vᵀ (contractions), the mask (scale, bias, pattern),
//    s̄ = e·(dP − δ) with e = exp(s − lse) (0 when lse = −inf), and
//    Q̄ += s̄·K; Q̄ scaled once at the end; bias rows and span partials of
//    those queries are carried over b;
// 3. scf.forall over (b, h, tile of 48 keys): one loop over the tiles of 64
//    queries that see them, keys along the rows: Sᵀ = K·Qᵀ, dPᵀ = V·Ȯᵀ,
//    one generic for s̄ and p (lse, δ broadcast along the columns),
//    K̄ += s̄·Q and V̄ += p·Ȯ; K̄ scaled once at the end.
// Bias-table and span partials [H, T, ·] are then summed over T.

// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x4x16x8xf32>, %[[O:[^:]*]]: tensor<2x4x16x8xf32>, %[[LSE:[^:]*]]: tensor<2x4x16xf32>)
// CHECK-NOT:   rotary.attention_grad
// CHECK:       %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// CHECK:       %[[DELTA:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[O]], %[[O]] : {{.*}}) outs(%{{.*}} : tensor<2x4x16xf32>)
// Pass 2: tasks (h, query tile), a loop over b, one loop over key tiles.
// CHECK:       %[[DQ:.*]] = scf.forall (%[[H:.*]], %[[IT:.*]]) in (4, %{{.*}}) shared_outs(%[[DQOUT:.*]] = %{{.*}}) -> (tensor<2x4x16x8xf32>)
// CHECK:         %[[I0:.*]] = arith.muli %[[IT]], %{{.*}} : index
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (48, -s0 + 16)>()[%[[I0]]]
// CHECK:         %[[BATCH:.*]] = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<2x?x8xf32>)
// CHECK-NEXT:      %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[ROWS]], 8]
// CHECK-NEXT:      %[[DOT:.*]] = tensor.extract_slice %[[O]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[ROWS]], 8]
// CHECK-NEXT:      %[[LSEV:.*]] = tensor.extract_slice %[[LSE]][%[[B]], %[[H]], %[[I0]]] [1, 1, %[[ROWS]]]
// CHECK-NEXT:      %[[DV:.*]] = tensor.extract_slice %[[DELTA]][%[[B]], %[[H]], %[[I0]]] [1, 1, %[[ROWS]]]
// CHECK:           %[[KEYS:.*]] = scf.for {{.*}} -> (tensor<?x8xf32>)
// CHECK:             %[[KT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[J:.*]], 0] [1, 1, %[[COLS:.*]], 8]
// CHECK-NEXT:        %[[VT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[J]], 0] [1, 1, %[[COLS]], 8]
// CHECK:             %[[KTT:.*]] = linalg.transpose ins(%[[KT]] : tensor<?x8xf32>)
// CHECK:             %[[SC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[QT]], %[[KTT]] : tensor<?x8xf32>, tensor<8x?xf32>)
// The mask scales the raw products (the tile of Q is not pre-scaled here).
// CHECK:             %[[S:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK:               arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK:             %[[VTT:.*]] = linalg.transpose ins(%[[VT]] : tensor<?x8xf32>)
// CHECK:             %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[DOT]], %[[VTT]] : tensor<?x8xf32>, tensor<8x?xf32>)
// s̄ = e·(dP − δ), e = exp(s − lse) or 0 when lse = −inf; lse, δ per row.
// CHECK:             %[[DS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[S]], %[[DP]], %[[LSEV]], %[[DV]] : {{.*}})
// CHECK-NEXT:        ^bb0(%[[SA:[a-z0-9_]+]]: f32, %[[PA:[a-z0-9_]+]]: f32, %[[LA:[a-z0-9_]+]]: f32, %[[DA:[a-z0-9_]+]]: f32,
// CHECK-NEXT:          %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:          %[[NONE:.*]] = arith.cmpf oeq, %[[LA]], %[[NI]] : f32
// CHECK-NEXT:          %[[SL:.*]] = arith.subf %[[SA]], %[[LA]] : f32
// CHECK-NEXT:          %[[EXP:.*]] = math.exp %[[SL]] : f32
// CHECK-NEXT:          %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:          %[[E:.*]] = arith.select %[[NONE]], %[[Z]], %[[EXP]] : f32
// CHECK-NEXT:          %[[G:.*]] = arith.subf %[[PA]], %[[DA]] : f32
// CHECK-NEXT:          %[[DSV:.*]] = arith.mulf %[[E]], %[[G]] : f32
// CHECK-NEXT:          linalg.yield %[[DSV]] : f32
// Q̄ += s̄·K into the loop-carried accumulator.
// CHECK:             %[[DQN:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[DS]], %[[KT]] : tensor<?x?xf32>, tensor<?x8xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:             scf.yield %[[DQN]] : tensor<?x8xf32>
// CHECK:           %[[DQS:.*]] = linalg.generic {{.*}} ins(%[[KEYS]] : tensor<?x8xf32>)
// CHECK-NEXT:      ^bb0(%[[X:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        arith.mulf %[[X]], %[[SCALE]] : f32
// CHECK:           tensor.insert_slice %[[DQS]] into %{{.*}}[%[[B]], 0, 0] [1, %[[ROWS]], 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x?x8xf32>
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BATCH]] into %[[DQOUT]][0, %[[H]], %[[I0]], 0] [2, 1, %[[ROWS]], 8] [1, 1, 1, 1] : tensor<2x?x8xf32> into tensor<2x4x16x8xf32>
// Pass 3: tasks (b, h, key tile), one loop over query tiles of 64, cut by T
// only.
// CHECK:       %[[KV:.*]]:2 = scf.forall (%[[KB:.*]], %[[KH:.*]], %{{.*}}) in (2, 4, %{{.*}}) shared_outs({{.*}}) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>)
// CHECK:         %[[QL:.*]]:2 = scf.for {{.*}} -> (tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK:           %[[I:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      %[[QROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 16)>()[%[[I]]]
// CHECK:           linalg.transpose
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK:           linalg.transpose
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// s̄ and p in one generic; lse and δ run along the columns (the queries).
// CHECK:           %[[PG:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK:             linalg.yield %{{.*}}, %{{.*}} : f32, f32
// CHECK:           %[[DK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#0, %{{.*}} : tensor<?x?xf32>, tensor<?x8xf32>)
// CHECK:           %[[DVN:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#1, %{{.*}} : tensor<?x?xf32>, tensor<?x8xf32>)
// CHECK:           scf.yield %[[DK]], %[[DVN]] : tensor<?x8xf32>, tensor<?x8xf32>
// K̄ scaled once, V̄ as is.
// CHECK:         linalg.generic {{.*}} ins(%[[QL]]#0 : tensor<?x8xf32>)
// CHECK-NEXT:    ^bb0(%[[KX:[a-z0-9_]+]]: f32,
// CHECK-NEXT:      arith.mulf %[[KX]], %[[SCALE]] : f32
// CHECK:         linalg.generic {{.*}} ins(%[[QL]]#1 : tensor<?x8xf32>)
// CHECK-NEXT:    ^bb0(%[[VX:[a-z0-9_]+]]: f32,
// CHECK-NEXT:      linalg.yield %[[VX]] : f32
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

// A bias table, span and dlse: δ starts at −l̄se; per (h, query tile) the
// bias rows [rows, 2W'+1] (a scalar scatter: the column depends on the pair)
// and the span partials [rows] (a row sum of e·g·∂w) are carried over b and
// the key tiles; both are summed over T afterwards.
// CHECK-LABEL: func.func @table_span_dlse(
// CHECK-SAME:    %[[DL:[^:]*]]: tensor<?x4x?xf32>, %{{[^:]*}}: tensor<4x9xf32>, %{{[^:]*}}: tensor<4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[DL]] : tensor<?x4x?xf32>)
// CHECK-NEXT:  ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    arith.negf %[[IN]] : f32
// CHECK:       %[[P1:.*]]:3 = scf.forall (%{{.*}}, %{{.*}}) in (4, %{{.*}}) shared_outs({{.*}}) -> (tensor<?x4x?x8xf32>, tensor<4x?x?xf32>, tensor<4x?xf32>)
// CHECK:         scf.for {{.*}} -> (tensor<?x?x8xf32>, tensor<?x?xf32>, tensor<?xf32>)
// CHECK:           scf.for {{.*}} -> (tensor<?x8xf32>, tensor<?x?xf32>, tensor<?xf32>)
// The mask yields s, the span weight and its derivative (1/R strictly
// inside the ramp).
// CHECK:             %{{.*}}:3 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:             %[[PG:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#0
// The table scatter: rows, then the tile's keys.
// CHECK:             scf.for {{.*}} -> (tensor<?x?xf32>)
// CHECK:               scf.for {{.*}} -> (tensor<?x?xf32>)
// CHECK:                 tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] : tensor<?x?xf32>
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[PG]]#1 : tensor<?x?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?xf32> into tensor<4x?x?xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] [1, %{{.*}}] [1, 1] : tensor<?xf32> into tensor<4x?xf32>
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

// bf16 data, f32 math; a full bias [H, T, S] gets its rows directly (a
// [rows, S] block per task, summed over b inside the task, each key tile
// adding s̄ to its columns), with no reduction afterwards.
// CHECK-LABEL: func.func @full_bias_bf16(
// CHECK:       %[[P1:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}) in (2, %{{.*}}) shared_outs({{.*}}) -> (tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>)
// CHECK:         scf.for {{.*}} -> (tensor<?x?x8xbf16>, tensor<?x?xf32>)
// CHECK:           scf.for {{.*}} -> (tensor<?x8xf32>, tensor<?x?xf32>)
// CHECK:             arith.extf %{{.*}} : bf16 to f32
// CHECK:             %[[COLS:.*]] = tensor.extract_slice %[[ACC:.*]][0, %[[J:.*]]] [%[[R:.*]], %[[C:.*]]] [1, 1] : tensor<?x?xf32> to tensor<?x?xf32>
// CHECK:             %[[SUM:.*]] = linalg.generic {{.*}} outs(%[[COLS]] : tensor<?x?xf32>)
// CHECK:             tensor.insert_slice %[[SUM]] into %[[ACC]][0, %[[J]]] [%[[R]], %[[C]]] [1, 1] : tensor<?x?xf32> into tensor<?x?xf32>
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} : tensor<?x?x8xbf16> into tensor<?x2x?x8xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} : tensor<?x?xf32> into tensor<2x?x?xf32>
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
