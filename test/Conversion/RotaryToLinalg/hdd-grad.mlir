// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file | FileCheck %s --check-prefix=NOP
// RUN: rotary-opt %s -rotary-cpu-pipeline -split-input-file -o /dev/null

// Lowering of the HDD-RoPE gradient ops
// (lib/Conversion/RotaryToLinalg/LowerHDDGrad.cpp).

// Fused hdd_rope_grad: one task per (b, h, chunk) chain runs two scans over
// T with P (and W) in c² scalars; the only buffers are x̄, ā, one column of
// each per chain, and one c×c checkpoint of P per 64 tokens.
// CHECK-LABEL: func.func @hdd_rope_grad_fused_givens(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[A:[^:]*]]: tensor<?x?x?x?x1xf32>, %[[DY:[^:]*]]: tensor<?x?x?x?xf32>)
// CHECK-NOT:   rotary.
// CHECK:       %[[DX:.*]] = tensor.empty({{.*}}) : tensor<?x?x?x?xf32>
// CHECK:       %[[DA:.*]] = tensor.empty({{.*}}) : tensor<?x?x?x?x1xf32>
// CHECK:       %[[RES:.*]]:2 = scf.forall (%[[B:.*]], %[[H:.*]], %[[M:.*]]) in ({{.*}}) shared_outs(%[[SDX:.*]] = %[[DX]], %[[SDA:.*]] = %[[DA]])
// CHECK:         %[[NCK:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK:         %[[CK:.*]] = tensor.empty(%[[NCK]]) : tensor<?x2x2xf32>
// Pass 1: P_t = P_{t-1}·G_t forward, storing checkpoints.
// CHECK:         %[[FWD:.*]]:5 = scf.for %{{.*}} iter_args(%{{.*}} = %[[CK]], {{.*}}) -> (tensor<?x2x2xf32>, f32, f32, f32, f32) {
// CHECK:           tensor.extract %[[A]]
// CHECK:           math.cos
// CHECK:           math.sin
// CHECK:           tensor.insert
// CHECK:           scf.yield
// CHECK-NEXT:    }
// Pass 2: t = T-1 .. 0 from P_{T-1}, with W = 0: x̄_t and ā_t per token.
// CHECK:         %[[COLX:.*]] = tensor.empty(%{{.*}}) : tensor<?x2xf32>
// CHECK:         %[[COLA:.*]] = tensor.empty(%{{.*}}) : tensor<?x1xf32>
// CHECK:         %[[BWD:.*]]:10 = scf.for %{{.*}} iter_args(%{{.*}} = %[[COLX]], %{{.*}} = %[[COLA]], %{{.*}} = %[[FWD]]#1, %{{.*}} = %[[FWD]]#2, %{{.*}} = %[[FWD]]#3, %{{.*}} = %[[FWD]]#4, {{.*}}) -> (tensor<?x2xf32>, tensor<?x1xf32>, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:           %[[T:.*]] = arith.subi
// At a checkpoint P_t is reloaded.
// CHECK:           tensor.extract %[[FWD]]#0
// CHECK:           arith.select
// CHECK:           tensor.extract %[[X]]
// CHECK:           tensor.extract %[[DY]]
// CHECK:           tensor.extract %[[A]]
// CHECK:           math.cos
// CHECK:           tensor.insert %{{.*}} into %{{.*}}[%[[T]], %{{.*}}] : tensor<?x2xf32>
// CHECK:           tensor.insert %{{.*}} into %{{.*}}[%[[T]], %{{.*}}] : tensor<?x1xf32>
// CHECK:           scf.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BWD]]#0 into %[[SDX]][%[[B]], 0, %[[H]], %{{.*}}] [1, %{{.*}}, 1, 2] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BWD]]#1 into %[[SDA]][%[[B]], 0, %[[H]], %[[M]], 0] [1, %{{.*}}, 1, 1, 1] [1, 1, 1, 1, 1]
// CHECK:       return %[[RES]]#0, %[[RES]]#1
// NOP-LABEL:   func.func @hdd_rope_grad_fused_givens(
// NOP-NOT:     tensor<?x?x?x?x2x2xf32>
// NOP-NOT:     linalg.generic
// NOP:         return
func.func @hdd_rope_grad_fused_givens(%x: tensor<?x?x?x?xf32>, %a: tensor<?x?x?x?x1xf32>,
                                      %dy: tensor<?x?x?x?xf32>)
    -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>) {
  %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = givens {chunk = 2 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>
  return %dx, %da : tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>
}

// -----

// The exp form with bf16 data: data are widened on load, x̄ narrowed on
// store; the generator's adjoint squares (A, L) together in one loop.
// CHECK-LABEL: func.func @hdd_rope_grad_fused_exp_bf16(
// CHECK:       scf.forall
// CHECK:         scf.for
// CHECK:         scf.for
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// The adjoint's squaring loop carries exp(Aᵀ) and L(Aᵀ, Ḡ): 2·9 scalars,
// in f64 (the error of s squarings grows like 2^s ≈ Σ|a|).
// CHECK:           scf.for {{.*}} -> (f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64) {
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         scf.forall.in_parallel
// NOP-LABEL:   func.func @hdd_rope_grad_fused_exp_bf16(
// NOP-NOT:     tensor<?x?x?x?x3x3xf32>
// NOP:         return
func.func @hdd_rope_grad_fused_exp_bf16(%x: tensor<?x?x?x?xbf16>, %a: tensor<?x?x?x?x3xf32>,
                                        %dy: tensor<?x?x?x?xbf16>)
    -> (tensor<?x?x?x?xbf16>, tensor<?x?x?x?x3xf32>) {
  %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = exp {chunk = 3 : i64, inverse}
      : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x3xf32>
  return %dx, %da : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x3xf32>
}

// -----

// P form, inverse: x̄ = P·ȳ (a batched mat-vec reading P untransposed) and
// P̄ = x·ȳᵀ, an outer product per chunk.
// CHECK-LABEL: func.func @hdd_rope_grad_p_inverse(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xbf16>, %[[P:[^:]*]]: tensor<?x?x?x?x4x4xf32>, %[[DY:[^:]*]]: tensor<?x?x?x?xbf16>)
// CHECK:       %[[DY5:.*]] = tensor.expand_shape %[[DY]] {{\[}}[0], [1], [2], [3, 4]]
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %[[DY5]] :
// CHECK:       arith.truncf %{{.*}} : f32 to bf16
// CHECK:       %[[X5:.*]] = tensor.expand_shape %[[X]]
// CHECK:       %[[DY5B:.*]] = tensor.expand_shape %[[DY]]
// CHECK:       %[[DP:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[X5]], %[[DY5B]] : {{.*}}) outs(%{{.*}} : tensor<?x?x?x?x4x4xf32>)
// CHECK:       return %{{.*}}, %[[DP]]
func.func @hdd_rope_grad_p_inverse(%x: tensor<?x?x?x?xbf16>, %p: tensor<?x?x?x?x4x4xf32>,
                                   %dy: tensor<?x?x?x?xbf16>)
    -> (tensor<?x?x?x?xbf16>, tensor<?x?x?x?x4x4xf32>) {
  %dx, %dp = rotary.hdd_rope_grad %x, %p, %dy {inverse}
      : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x4x4xf32>
  return %dx, %dp : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x4x4xf32>
}

// -----

// cumulative_rotation_grad: P by the forward's blocked scan, M = P̄·Pᵀ,
// W = reverse cumsum of M (one task per (non-scan index, row), t from T-1
// down), then Ḡ = G·(Pᵀ·(W·P)).
// CHECK-LABEL: func.func @cumulative_rotation_grad(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<?x?x3x3xf32>, %[[DP:[^:]*]]: tensor<?x?x3x3xf32>)
// CHECK-NOT:   rotary.
// The forward scan: three phases.
// CHECK:       scf.forall
// CHECK:       scf.forall
// CHECK:       linalg.generic
// CHECK:       %[[P:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3], [4]] : tensor<?x?x1x3x3xf32> into tensor<?x?x3x3xf32>
// M = P̄·Pᵀ.
// CHECK:       %[[M:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, {{.*}}]{{.*}} ins(%[[DP]], %[[P]] :
// CHECK:       %[[W:.*]] = scf.forall (%[[I:.*]], %[[R:.*]]) in (%{{.*}}, 3) shared_outs
// CHECK:         scf.for {{.*}} -> (tensor<?x3xf32>, f32, f32, f32) {
// CHECK:           %[[T:.*]] = arith.subi
// CHECK:           tensor.extract %[[M]][%[[I]], %[[T]], %[[R]], %{{.*}}]
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I]], 0, %[[R]], 0] [1, %{{.*}}, 1, 3] [1, 1, 1, 1] : tensor<?x3xf32> into tensor<?x?x3x3xf32>
// N = W·P, V = Pᵀ·N, Ḡ = G·V.
// CHECK:       %[[N:.*]] = linalg.generic {{.*}} ins(%[[W]], %[[P]] :
// CHECK:       %[[V:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d2)>, {{.*}} ins(%[[P]], %[[N]] :
// CHECK:       %[[DG:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[V]] :
// CHECK:       return %[[DG]]
func.func @cumulative_rotation_grad(%g: tensor<?x?x3x3xf32>, %dp: tensor<?x?x3x3xf32>)
    -> tensor<?x?x3x3xf32> {
  %dg = rotary.cumulative_rotation_grad %g, %dp : tensor<?x?x3x3xf32>
  return %dg : tensor<?x?x3x3xf32>
}

// -----

// so_generator_grad (givens, c = 2): one generic over the leading dims with
// the angle and the four Ḡ entries as inputs: ā = Σ_r Ḡ[r,0]·G[r,1] −
// Ḡ[r,1]·G[r,0].
// CHECK-LABEL: func.func @so_generator_grad_givens(
// CHECK:       %[[GEN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
// CHECK:         math.cos
// CHECK:         math.sin
// CHECK:         linalg.yield
// CHECK:       tensor.insert_slice %[[GEN]] into %{{.*}}[0, 0] [%{{.*}}, 1] [1, 1] : tensor<?xf32> into tensor<?x1xf32>
func.func @so_generator_grad_givens(%a: tensor<?x1xf32>, %dg: tensor<?x2x2xf32>) -> tensor<?x1xf32> {
  %da = rotary.so_generator_grad %a, %dg chunk = 2 form = givens
      : tensor<?x1xf32>, tensor<?x2x2xf32>
  return %da : tensor<?x1xf32>
}

// -----

// so_generator_grad (exp, c = 10 > 8): exp of the 20×20 block matrix per
// matrix with tensors and loops, then ā from its upper right block.
// CHECK-LABEL: func.func @so_generator_grad_exp_large(
// CHECK:       scf.forall
// CHECK:         scf.for {{.*}} -> (tensor<20x20xf32>, f32)
// CHECK:         tensor.insert_slice %{{.*}} into %{{.*}}[0, 10] [10, 10] [1, 1] : tensor<10x10xf32> into tensor<20x20xf32>
// CHECK:       linalg.generic
// CHECK:         arith.subf
func.func @so_generator_grad_exp_large(%a: tensor<?x45xf32>, %dg: tensor<?x10x10xf32>)
    -> tensor<?x45xf32> {
  %da = rotary.so_generator_grad %a, %dg chunk = 10 form = exp
      : tensor<?x45xf32>, tensor<?x10x10xf32>
  return %da : tensor<?x45xf32>
}
