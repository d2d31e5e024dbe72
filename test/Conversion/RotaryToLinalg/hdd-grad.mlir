// RUN: rotary-opt %s -convert-rotary-to-linalg -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file | FileCheck %s --check-prefix=NOP
// RUN: rotary-opt %s -rotary-cpu-pipeline -split-input-file -o /dev/null

// Lowering of the HDD-RoPE gradient ops
// (lib/Conversion/RotaryToLinalg/LowerHDDGrad.cpp).

// Fused hdd_rope_grad, Givens form: every (h, chunk) is a lane (x, ȳ viewed
// as [B, T, H·D], the angles and ā as [B, T, H·C·k]); one task per (b,
// group of 128 lanes) runs two scans over T, each step a loop over the
// group's lanes (which LLVM vectorises): pass 1 advances P [c², lanes] and
// copies it to a checkpoint [T/64, c², lanes] at a block's last token;
// pass 2 walks t down (t read from a table: see the lowering) with P and W
// [c², lanes], P reset from its checkpoint at a block's end, writing x̄
// and ā in place in the results. No libm call: cos/sin by polynomial.
// CHECK-LABEL: func.func @hdd_rope_grad_fused_givens(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[A:[^:]*]]: tensor<?x?x?x?x1xf32>, %[[DY:[^:]*]]: tensor<?x?x?x?xf32>)
// CHECK-NOT:   rotary.
// CHECK-NOT:   math.cos
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]]
// CHECK-NEXT:  %[[DY3:.*]] = tensor.collapse_shape %[[DY]] {{\[}}[0], [1], [2, 3]]
// CHECK-NEXT:  %[[A3:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0], [1], [2, 3, 4]]
// rotary.hdd_rope_lanes_grad over (b, lanes), tiled by one batch entry and
// 128 lanes: a task reads whole rows of its batch entry of x, the angles
// and ȳ, and writes its lanes' columns of x̄ and ā (one group of lanes).
// CHECK:       %[[RES:.*]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[L:[a-z0-9_]+]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (1, 128) shared_outs(%[[SDX:[a-z0-9_]+]] = %{{.*}}, %[[SDA:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>)
// CHECK:         %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[B]], 0, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK:         %[[AT:.*]] = tensor.extract_slice %[[A3]][%[[B]], 0, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK:         %[[DYT:.*]] = tensor.extract_slice %[[DY3]][%[[B]], 0, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK:         %[[TDX:.*]] = tensor.extract_slice %[[SDX]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK:         %[[TDA:.*]] = tensor.extract_slice %[[SDA]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK-NOT:     arith.ceildivui %{{.*}}, %c128
// CHECK:         %[[DXB:.*]] = tensor.extract_slice %[[TDX]][%c0{{.*}}, 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<1x?x?xf32> to tensor<?x?xf32>
// CHECK:         %[[DAB:.*]] = tensor.extract_slice %[[TDA]][%c0{{.*}}, 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<1x?x?xf32> to tensor<?x?xf32>
// CHECK:         %[[NCK:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK:         %[[CK:.*]] = tensor.empty(%[[NCK]]) : tensor<?x4x128xf32>
// Pass 1: P_t = P_{t-1}·G_t forward, a checkpoint copy at a block's end.
// CHECK:         %[[FWD:.*]]:2 = scf.for %[[T1:.*]] = %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[CK]]) -> (tensor<4x128xf32>, tensor<?x4x128xf32>) {
// CHECK-NEXT:      %[[STEP1:.*]] = scf.for {{.*}} -> (tensor<4x128xf32>) {
// CHECK:             tensor.extract %[[AT]][%c0{{.*}}, %[[T1]], %{{.*}}]
// CHECK:             math.roundeven
// CHECK:             scf.yield %{{.*}} : tensor<4x128xf32>
// CHECK:           %[[SAVED:.*]] = scf.if %{{.*}} -> (tensor<?x4x128xf32>) {
// CHECK-NEXT:        arith.divui %[[T1]], %{{.*}} : index
// CHECK-NEXT:        tensor.insert_slice %[[STEP1]] into %{{.*}} [1, 4, 128] [1, 1, 1] : tensor<4x128xf32> into tensor<?x4x128xf32>
// CHECK:           scf.yield %[[STEP1]], %[[SAVED]] : tensor<4x128xf32>, tensor<?x4x128xf32>
// CHECK-NEXT:    }
// Pass 2: t = T-1 .. 0 from a table, from P_{T-1}, with W = 0.
// CHECK:         %[[REV:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?xindex>)
// CHECK:         %[[W0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x128xf32>)
// CHECK:         %[[BWD:.*]]:4 = scf.for %[[S:.*]] = %{{.*}} iter_args(%{{.*}} = %[[FWD]]#0, %{{.*}} = %[[W0]], %{{.*}} = %[[DXB]], %{{.*}} = %[[DAB]]) -> (tensor<4x128xf32>, tensor<4x128xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
// CHECK-NEXT:      %[[T:.*]] = tensor.extract %[[REV]][%[[S]]] : tensor<?xindex>
// At a checkpoint P_t is reloaded, outside the lane loop.
// CHECK:           %[[P:.*]] = scf.if %{{.*}} -> (tensor<4x128xf32>) {
// CHECK:             tensor.extract_slice %[[FWD]]#1
// CHECK:             linalg.copy
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[P]], {{.*}}) -> (tensor<4x128xf32>, tensor<4x128xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
// CHECK-NOT:         scf.if
// CHECK:             tensor.extract %[[XT]][%c0{{.*}}, %[[T]], %{{.*}}]
// CHECK:             tensor.extract %[[DYT]][%c0{{.*}}, %[[T]], %{{.*}}]
// CHECK:             tensor.extract %[[AT]][%c0{{.*}}, %[[T]], %{{.*}}]
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%[[T]], %{{.*}}] : tensor<?x?xf32>
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%[[T]], %{{.*}}] : tensor<?x?xf32>
// CHECK:             scf.yield
// The group's x̄ and ā back into the task's columns, then into the results.
// CHECK:         %[[NDX:.*]] = tensor.insert_slice %[[BWD]]#2 into %[[TDX]]
// CHECK-NEXT:    %[[NDA:.*]] = tensor.insert_slice %[[BWD]]#3 into %[[TDA]]
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[NDX]] into %[[SDX]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[NDA]] into %[[SDA]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1]
// CHECK:       %[[DX4:.*]] = tensor.expand_shape %[[RES]]#0 {{\[}}[0], [1], [2, 3]]
// CHECK-NEXT:  %[[DA5:.*]] = tensor.expand_shape %[[RES]]#1 {{\[}}[0], [1], [2, 3, 4]]
// CHECK-NEXT:  return %[[DX4]], %[[DA5]]
// NOP-LABEL:   func.func @hdd_rope_grad_fused_givens(
// NOP-NOT:     tensor<?x?x?x?x2x2xf32>
// NOP:         return
func.func @hdd_rope_grad_fused_givens(%x: tensor<?x?x?x?xf32>, %a: tensor<?x?x?x?x1xf32>,
                                      %dy: tensor<?x?x?x?xf32>)
    -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>) {
  %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = givens {chunk = 2 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>
  return %dx, %da : tensor<?x?x?x?xf32>, tensor<?x?x?x?x1xf32>
}

// -----

// c = 16 > 8: the same two passes with a lane's matrices as [c, c] of
// contiguous columns (P, W [16, 16, 16], checkpoints [T/64, 16, 16, 16]) and
// each step a loop over the rotations rather than 120 unrolled ones. Pass 2
// per lane: x̄ = Pᵀ·ȳ by column dot products, W += ȳ·(P·x)ᵀ column by
// column, P̄ = W·P into a [16, 16] scratch, then the rotations last to first,
// each giving ā_k by one reduction and undoing itself on P and P̄ (P ends as
// P_{t−1}).
// CHECK-LABEL: func.func @hdd_rope_grad_fused_givens_c16(
// CHECK:       scf.forall
// CHECK:         tensor.empty() : tensor<2x120xf32>
// CHECK:         tensor.empty() : tensor<16x16xf32>
// CHECK:         tensor.empty(%{{.*}}) : tensor<?x16x16x16xf32>
// CHECK:         scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<?x16x16x16xf32>, tensor<2x120xf32>, tensor<16x16xf32>)
// CHECK:           scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<2x120xf32>, tensor<16x16xf32>)
// CHECK:           scf.if
// CHECK:             tensor.insert_slice %{{.*}} [1, 16, 16, 16] [1, 1, 1, 1] : tensor<16x16x16xf32> into tensor<?x16x16x16xf32>
// CHECK:         linalg.fill {{.*}} -> tensor<16x16x16xf32>
// CHECK:         scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<16x16x16xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<2x120xf32>, tensor<16x16xf32>)
// CHECK:           scf.if
// CHECK:             linalg.copy
// CHECK:           scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<16x16x16xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<2x120xf32>, tensor<16x16xf32>)
// CHECK:             vector.reduction <add>
// CHECK:             vector.transfer_write {{.*}} : vector<16xf32>, tensor<?x?xf32>
// CHECK:             scf.for {{.*}} -> (tensor<16x16x16xf32>)
// CHECK:             scf.for {{.*}} -> (tensor<16x16xf32>)
// CHECK:             scf.for {{.*}} -> (tensor<2x120xf32>)
// CHECK:             scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<16x16xf32>, index, tensor<?x?xf32>)
// CHECK:               scf.for {{.*}} -> (tensor<16x16x16xf32>, tensor<16x16xf32>, vector<16xf32>, vector<16xf32>, index, tensor<?x?xf32>)
// CHECK:                 vector.reduction <add>
// CHECK:                 tensor.insert %{{.*}} : tensor<?x?xf32>
// CHECK:                 vector.transfer_write {{.*}} : vector<16xf32>, tensor<16x16x16xf32>
// CHECK:                 vector.transfer_write {{.*}} : vector<16xf32>, tensor<16x16xf32>
// CHECK:         scf.forall.in_parallel
// NOP-LABEL:   func.func @hdd_rope_grad_fused_givens_c16(
// NOP-NOT:     tensor<?x?x?x?x16x16xf32>
// NOP:         return
func.func @hdd_rope_grad_fused_givens_c16(%x: tensor<?x?x?x?xf32>, %a: tensor<?x?x?x?x120xf32>,
                                          %dy: tensor<?x?x?x?xf32>)
    -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?x120xf32>) {
  %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = givens {chunk = 16 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x120xf32>
  return %dx, %da : tensor<?x?x?x?xf32>, tensor<?x?x?x?x120xf32>
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
