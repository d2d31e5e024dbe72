// RUN: rotary-opt %s -convert-rotary-to-linalg -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file | FileCheck %s --check-prefix=NOALLOC

// Lowering of rotary.hdd_rope (lib/Conversion/RotaryToLinalg/LowerHDD.cpp).
// With P [B, T, H, C, c, c]: one batched c×c mat-vec over x viewed as
// [B, T, H, C, c], accumulated in f32 and narrowed once. Fused, Givens form:
// every (h, chunk) is a lane; rotary.hdd_rope_lanes over (b, lanes), tiled
// into one scf.forall task per (b, group of lanes), scans T, and each step is a loop over the group's lanes (which LLVM
// vectorises) that reads the lane's angles and x at constant strides of
// x, angles viewed as [B, T, H·D] and [B, T, H·C·k], updates the lane's P in
// a [c², lanes] buffer and writes y in place in the result. Fused, exp form
// (c ≤ 8): the same lanes with G_t = exp(A_t) per lane. The NOALLOC lines
// check that the per-token scan body allocates nothing.

// P form: loops (b, t, h, m, p, q), q reduced; P read untransposed.
// CHECK-LABEL: func.func @hdd_rope_p(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x8x64xf32>, %[[P:[^:]*]]: tensor<2x?x8x16x4x4xf32>)
// CHECK-NOT:   rotary.
// CHECK:       %[[X5:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, %{{.*}}, 8, 16, 4] : tensor<2x?x8x64xf32> into tensor<2x?x8x16x4xf32>
// CHECK:       %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x?x8x16x4xf32>)
// CHECK-NEXT:  %[[Y5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %[[X5]] : tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4xf32>) outs(%[[ACC]] : tensor<2x?x8x16x4xf32>)
// CHECK-NEXT:  ^bb0(%[[PV:[^:]*]]: f32, %[[XV:[^:]*]]: f32, %[[OV:[^:]*]]: f32):
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[PV]], %[[XV]] : f32
// CHECK-NEXT:    %[[S:.*]] = arith.addf %[[OV]], %[[M]] : f32
// CHECK-NEXT:    linalg.yield %[[S]] : f32
// f32 data: no conversion pass over the result.
// CHECK-NOT:   linalg.generic
// CHECK:       %[[Y:.*]] = tensor.collapse_shape %[[Y5]] {{\[}}[0], [1], [2], [3, 4]] : tensor<2x?x8x16x4xf32> into tensor<2x?x8x64xf32>
// CHECK-NEXT:  return %[[Y]]
func.func @hdd_rope_p(%x: tensor<2x?x8x64xf32>, %p: tensor<2x?x8x16x4x4xf32>) -> tensor<2x?x8x64xf32> {
  %y = rotary.hdd_rope %x, %p : tensor<2x?x8x64xf32>, tensor<2x?x8x16x4x4xf32>
  return %y : tensor<2x?x8x64xf32>
}

// -----

// P form, inverse, bf16, all dims dynamic: C = D/4 at run time; P read
// transposed (d5, d4); x widened inside the mat-vec, y narrowed by a second
// elementwise generic.
// CHECK-LABEL: func.func @hdd_rope_p_inverse_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xbf16>, %[[P:[^:]*]]: tensor<?x?x?x?x4x4xf32>)
// CHECK:       %[[D:.*]] = tensor.dim %[[X]], %c3 : tensor<?x?x?x?xbf16>
// CHECK:       %[[C:.*]] = arith.divui %[[D]], %c4 : index
// CHECK:       %[[X5:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, %[[C]], 4] : tensor<?x?x?x?xbf16> into tensor<?x?x?x?x4xbf16>
// CHECK:       %[[Y5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %[[X5]] : tensor<?x?x?x?x4x4xf32>, tensor<?x?x?x?x4xbf16>) outs(%{{.*}} : tensor<?x?x?x?x4xf32>)
// CHECK-NEXT:  ^bb0(%[[PV:[^:]*]]: f32, %[[XV:[^:]*]]: bf16, %[[OV:[^:]*]]: f32):
// CHECK-NEXT:    %[[XF:.*]] = arith.extf %[[XV]] : bf16 to f32
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[PV]], %[[XF]] : f32
// CHECK-NEXT:    %[[S:.*]] = arith.addf %[[OV]], %[[M]] : f32
// CHECK-NEXT:    linalg.yield %[[S]] : f32
// CHECK:       %[[YB:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[Y5]] : tensor<?x?x?x?x4xf32>) outs(%{{.*}} : tensor<?x?x?x?x4xbf16>)
// CHECK-NEXT:  ^bb0(%[[YV:[^:]*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT:    %[[T:.*]] = arith.truncf %[[YV]] : f32 to bf16
// CHECK-NEXT:    linalg.yield %[[T]] : bf16
// CHECK:       %[[Y:.*]] = tensor.collapse_shape %[[YB]] {{\[}}[0], [1], [2], [3, 4]] : tensor<?x?x?x?x4xbf16> into tensor<?x?x?x?xbf16>
// CHECK-NEXT:  return %[[Y]]
func.func @hdd_rope_p_inverse_bf16(%x: tensor<?x?x?x?xbf16>, %p: tensor<?x?x?x?x4x4xf32>) -> tensor<?x?x?x?xbf16> {
  %y = rotary.hdd_rope %x, %p {inverse} : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x4x4xf32>
  return %y : tensor<?x?x?x?xbf16>
}

// -----

// Fused givens, c = 2, bf16: 128 lanes per task (P [4, 128]); per lane and
// token one angle, its cos/sin by a polynomial (no math.cos/sin, no libm
// call), P's two columns rotated in each row (P·G with G = [[cos, -sin],
// [sin, cos]]), x widened on load and y = P_t·x narrowed on store.
// CHECK-LABEL: func.func @hdd_rope_fused_givens_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xbf16>, %[[A:[^:]*]]: tensor<?x?x?x?x1xf32>)
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]] : tensor<?x?x?x?xbf16> into tensor<?x?x?xbf16>
// CHECK-NEXT:  %[[A3:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0], [1], [2, 3, 4]] : tensor<?x?x?x?x1xf32> into tensor<?x?x?xf32>
// The structured op over (b, lanes), tiled by one batch entry and 128 lanes:
// a task writes the columns [l·c, (l + n)·c) of the result and reads its
// lanes from whole rows of x and the angles (constant strides), from
// first_lane = l on.
// CHECK:       %[[LANES:.*]] = arith.divui %{{.*}}, %c2{{.*}} : index
// CHECK:       %[[RES:.*]] = scf.forall (%[[B:[a-z0-9_]+]], %[[L:[a-z0-9_]+]]) = (0, 0) to (%{{.*}}, %[[LANES]]) step (1, 128) shared_outs(%[[OUT:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?x?xbf16>) {
// CHECK-NEXT:    %[[NT:.*]] = affine.min affine_map<(d0)[s0] -> (-d0 + s0, 128)>(%[[L]])[%[[LANES]]]
// CHECK:         %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[B]], 0, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xbf16> to tensor<1x?x?xbf16>
// CHECK:         %[[AT:.*]] = tensor.extract_slice %[[A3]][%[[B]], 0, 0] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK:         %[[OT:.*]] = tensor.extract_slice %[[OUT]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?x?xbf16> to tensor<1x?x?xbf16>
// CHECK-NEXT:    %[[FIRST:.*]] = arith.addi %{{.*}}, %[[L]] : index
// A tiled block is one group of at most 128 lanes: no loop over groups.
// CHECK-NOT:     scf.for
// CHECK:         %[[L0:.*]] = arith.muli %c0{{.*}}, %c128 : index
// CHECK-NEXT:    %[[N:.*]] = affine.min affine_map<()[s0, s1] -> (128, s0 - s1)>()[%{{.*}}, %[[L0]]]
// The group's features of every token, a slice of the result.
// CHECK:         %[[YB:.*]] = tensor.extract_slice %[[OT]][%c0{{.*}}, 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<1x?x?xbf16> to tensor<?x?xbf16>
// The group's first lane in x, once per group.
// CHECK-NEXT:    %[[GFIRST:.*]] = arith.addi %[[FIRST]], %[[L0]] : index
// P starts as the identity: row e is diagonal iff e mod (c + 1) = 0.
// CHECK:         %[[P0:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x128xf32>)
// CHECK:           arith.remui %{{.*}}, %c3{{.*}} : index
// CHECK:         %[[SCAN:.*]]:2 = scf.for %[[T:[a-z0-9_]+]] = %{{.*}} iter_args(%{{.*}} = %[[P0]], %{{.*}} = %[[YB]]) -> (tensor<4x128xf32>, tensor<?x?xbf16>) {
// CHECK-NEXT:      %[[STEP:.*]]:2 = scf.for %[[M:[a-z0-9_]+]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[P:[a-z0-9_]+]] = %{{.*}}, %[[Y:[a-z0-9_]+]] = %{{.*}}) -> (tensor<4x128xf32>, tensor<?x?xbf16>) {
// CHECK-NEXT:        %[[LANE:.*]] = arith.addi %[[GFIRST]], %[[M]] : index
// CHECK:             %[[ANG:.*]] = tensor.extract %[[AT]][%c0{{.*}}, %[[T]], %{{.*}}] : tensor<1x?x?xf32>
// CHECK-NOT:         math.cos
// CHECK-NOT:         math.sin
// CHECK:             math.roundeven %{{.*}} : f64
// CHECK:             %[[P00:.*]] = tensor.extract %[[P]][%c0{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[P01:.*]] = tensor.extract %[[P]][%c1{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[P10:.*]] = tensor.extract %[[P]][%c2{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[P11:.*]] = tensor.extract %[[P]][%c3{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK-DAG:         %[[A1:.*]] = arith.mulf %[[P01]], %[[SIN:.*]] : f32
// CHECK-DAG:         %[[A0:.*]] = arith.mulf %[[P00]], %[[COS:.*]] : f32
// CHECK-DAG:         %[[N00:.*]] = arith.addf %[[A0]], %[[A1]] : f32
// CHECK-DAG:         %[[B0:.*]] = arith.mulf %[[P01]], %[[COS]] : f32
// CHECK-DAG:         %[[B1:.*]] = arith.mulf %[[P00]], %[[SIN]] : f32
// CHECK-DAG:         %[[N01:.*]] = arith.subf %[[B0]], %[[B1]] : f32
// CHECK-DAG:         %[[C0:.*]] = arith.mulf %[[P10]], %[[COS]] : f32
// CHECK-DAG:         %[[C1:.*]] = arith.mulf %[[P11]], %[[SIN]] : f32
// CHECK-DAG:         %[[N10:.*]] = arith.addf %[[C0]], %[[C1]] : f32
// CHECK-DAG:         %[[D0:.*]] = arith.mulf %[[P11]], %[[COS]] : f32
// CHECK-DAG:         %[[D1:.*]] = arith.mulf %[[P10]], %[[SIN]] : f32
// CHECK-DAG:         %[[N11:.*]] = arith.subf %[[D0]], %[[D1]] : f32
// x of the lane at lane·c + q, widened.
// CHECK:             %[[XB:.*]] = arith.muli %[[LANE]], %c2{{.*}} : index
// CHECK:             %[[E0:.*]] = tensor.extract %[[XT]][%c0{{.*}}, %[[T]], %{{.*}}] : tensor<1x?x?xbf16>
// CHECK-NEXT:        %[[X0:.*]] = arith.extf %[[E0]] : bf16 to f32
// CHECK:             %[[E1:.*]] = tensor.extract %[[XT]][%c0{{.*}}, %[[T]], %{{.*}}] : tensor<1x?x?xbf16>
// CHECK-NEXT:        %[[X1:.*]] = arith.extf %[[E1]] : bf16 to f32
// P_t back to the buffer.
// CHECK:             %[[W0:.*]] = tensor.insert %[[N00]] into %[[P]][%c0{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[W1:.*]] = tensor.insert %[[N01]] into %[[W0]][%c1{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[W2:.*]] = tensor.insert %[[N10]] into %[[W1]][%c2{{.*}}, %[[M]]] : tensor<4x128xf32>
// CHECK:             %[[W3:.*]] = tensor.insert %[[N11]] into %[[W2]][%c3{{.*}}, %[[M]]] : tensor<4x128xf32>
// y_0 = P_t[0, :]·x, y_1 = P_t[1, :]·x, each rounded to bf16 once.
// CHECK:             %[[M00:.*]] = arith.mulf %[[N00]], %[[X0]] : f32
// CHECK-NEXT:        %[[S00:.*]] = arith.addf %{{.*}}, %[[M00]] : f32
// CHECK-NEXT:        %[[M01:.*]] = arith.mulf %[[N01]], %[[X1]] : f32
// CHECK-NEXT:        %[[S01:.*]] = arith.addf %[[S00]], %[[M01]] : f32
// CHECK:             %[[Y0:.*]] = arith.truncf %[[S01]] : f32 to bf16
// CHECK-NEXT:        %[[V0:.*]] = tensor.insert %[[Y0]] into %[[Y]][%[[T]], %{{.*}}] : tensor<?x?xbf16>
// CHECK:             %[[M10:.*]] = arith.mulf %[[N10]], %[[X0]] : f32
// CHECK-NEXT:        %[[S10:.*]] = arith.addf %{{.*}}, %[[M10]] : f32
// CHECK-NEXT:        %[[M11:.*]] = arith.mulf %[[N11]], %[[X1]] : f32
// CHECK-NEXT:        %[[S11:.*]] = arith.addf %[[S10]], %[[M11]] : f32
// CHECK:             %[[Y1:.*]] = arith.truncf %[[S11]] : f32 to bf16
// CHECK-NEXT:        %[[V1:.*]] = tensor.insert %[[Y1]] into %[[V0]][%[[T]], %{{.*}}] : tensor<?x?xbf16>
// CHECK-NEXT:        scf.yield %[[W3]], %[[V1]] : tensor<4x128xf32>, tensor<?x?xbf16>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[STEP]]#0, %[[STEP]]#1 : tensor<4x128xf32>, tensor<?x?xbf16>
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[BACK:.*]] = tensor.insert_slice %[[SCAN]]#1 into %[[OT]][%c0{{.*}}, 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<?x?xbf16> into tensor<1x?x?xbf16>
// The result tile's position (the same columns), computed by the tiling.
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BACK]] into %[[OUT]][%[[B]], 0, %{{.*}}] [1, %{{.*}}, %{{.*}}] [1, 1, 1] : tensor<1x?x?xbf16> into tensor<?x?x?xbf16>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  %[[Y4:.*]] = tensor.expand_shape %[[RES]] {{\[}}[0], [1], [2, 3]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<?x?x?xbf16> into tensor<?x?x?x?xbf16>
// CHECK-NEXT:  return %[[Y4]]
// NOALLOC-LABEL: func.func @hdd_rope_fused_givens_bf16(
// NOALLOC:       scf.for %{{.*}} -> (tensor<4x128xf32>, tensor<?x?xbf16>) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC-NOT:     tensor.from_elements
// NOALLOC:         scf.yield {{.*}} : tensor<4x128xf32>, tensor<?x?xbf16>
func.func @hdd_rope_fused_givens_bf16(%x: tensor<?x?x?x?xbf16>, %a: tensor<?x?x?x?x1xf32>) -> tensor<?x?x?x?xbf16> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 2 : i64} : tensor<?x?x?x?xbf16>, tensor<?x?x?x?x1xf32>
  return %y : tensor<?x?x?x?xbf16>
}

// -----

// Fused exp, c = 3, inverse: the same lanes as the Givens form (the lane
// op carries form = exp), each lane's step G_t = exp(A_t) by a degree-12
// Taylor series and squaring in f64 (unrolled, c ≤ 8), narrowed to f32
// before P_t = P_{t-1}·G_t in the lane's column of the [c², lanes] buffer;
// inverse applies P_tᵀ, so y_r reads column r of P.
// CHECK-LABEL: func.func @hdd_rope_fused_exp_inverse(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x5x2x6xf32>, %[[A:[^:]*]]: tensor<1x5x2x2x3xf32>)
// CHECK-DAG:   %[[XL:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]] : tensor<1x5x2x6xf32> into tensor<1x5x12xf32>
// CHECK-DAG:   %[[AL:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0], [1], [2, 3, 4]] : tensor<1x5x2x2x3xf32> into tensor<1x5x12xf32>
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (1, 4) step (1, 128)
// CHECK:         %[[AT:.*]] = tensor.extract_slice %[[AL]]
// CHECK:         %[[I:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<9x128xf32>)
// CHECK:         scf.for %{{.*}} iter_args(%{{.*}} = %[[I]], %{{.*}}) -> (tensor<9x128xf32>, tensor<5x?xf32>)
// CHECK:           scf.for %[[M:[a-z0-9_]+]] = {{.*}} iter_args(%[[P:[a-z0-9_]+]] = %{{.*}}, %{{.*}}) -> (tensor<9x128xf32>, tensor<5x?xf32>)
// CHECK-COUNT-3:     tensor.extract %[[AT]]
// CHECK-COUNT-9:     tensor.extract %[[P]][%{{.*}}, %[[M]]] : tensor<9x128xf32>
// CHECK:             arith.extf %{{.*}} : f32 to f64
// CHECK:             arith.constant 0.083333333333333329 : f64
// CHECK:             scf.for %{{.*}} -> (f64, f64, f64, f64, f64, f64, f64, f64, f64) {
// CHECK-COUNT-9:     arith.truncf %{{.*}} : f64 to f32
// CHECK-COUNT-9:     tensor.insert %{{.*}}[%{{.*}}, %[[M]]] : tensor<9x128xf32>
// CHECK:         scf.forall.in_parallel
// NOALLOC-LABEL: func.func @hdd_rope_fused_exp_inverse(
// NOALLOC:       scf.for %{{.*}} -> (tensor<9x128xf32>, tensor<5x?xf32>) {
// NOALLOC:       scf.for %{{.*}} -> (tensor<9x128xf32>, tensor<5x?xf32>) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC-NOT:     tensor.from_elements
// NOALLOC:         scf.yield {{.*}} : tensor<9x128xf32>, tensor<5x?xf32>
func.func @hdd_rope_fused_exp_inverse(%x: tensor<1x5x2x6xf32>, %a: tensor<1x5x2x2x3xf32>) -> tensor<1x5x2x6xf32> {
  %y = rotary.hdd_rope %x, %a form = exp {chunk = 3 : i64, inverse} : tensor<1x5x2x6xf32>, tensor<1x5x2x2x3xf32>
  return %y : tensor<1x5x2x6xf32>
}

// -----

// c = 32, the largest chunk the verifier accepts (kMaxChunk): 16 lanes per
// task with P [16, 32, 32] (a lane's columns contiguous). A step does not
// unroll the 496 rotations: cos/sin of the lane's angles by one loop into a
// [2, 496] buffer, then a loop nest over the pairs (i, j) with column i in
// a vector<32> register across the loop over j, then y = P·x as a loop of
// vector FMAs over the columns, stored as one vector.
// CHECK-LABEL: func.func @hdd_rope_fused_givens_c32(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x64xf32>, %[[A:[^:]*]]: tensor<?x?x?x2x496xf32>)
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]]
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (%{{.*}}, %{{.*}}) step (1, 16)
// CHECK:         %[[XT:.*]] = tensor.extract_slice %[[X3]]
// CHECK:         linalg.generic {{.*}} outs(%{{.*}} : tensor<16x32x32xf32>)
// CHECK:         %[[TRIG:.*]] = tensor.empty() : tensor<2x496xf32>
// CHECK:         %[[SCAN:.*]]:3 = scf.for {{.*}} -> (tensor<16x32x32xf32>, tensor<?x?xf32>, tensor<2x496xf32>)
// CHECK-NEXT:      scf.for {{.*}} -> (tensor<16x32x32xf32>, tensor<?x?xf32>, tensor<2x496xf32>)
// CHECK:             scf.for {{.*}} -> (tensor<2x496xf32>)
// CHECK:               math.roundeven %{{.*}} : f64
// CHECK-NOT:           math.roundeven
// CHECK-NOT:           math.cos
// CHECK:             scf.for {{.*}} -> (tensor<16x32x32xf32>, index)
// CHECK:               vector.transfer_read {{.*}} : tensor<16x32x32xf32>, vector<32xf32>
// CHECK:               scf.for {{.*}} -> (tensor<16x32x32xf32>, vector<32xf32>, index)
// CHECK:                 vector.transfer_read {{.*}} : tensor<16x32x32xf32>, vector<32xf32>
// CHECK:                 vector.transfer_write {{.*}} : vector<32xf32>, tensor<16x32x32xf32>
// CHECK:               vector.transfer_write {{.*}} : vector<32xf32>, tensor<16x32x32xf32>
// CHECK:             scf.for {{.*}} -> (vector<32xf32>)
// CHECK:               tensor.extract %[[XT]]
// CHECK:               math.fma {{.*}} : vector<32xf32>
// CHECK:             vector.transfer_write {{.*}} : vector<32xf32>, tensor<?x?xf32>
// CHECK:         tensor.insert_slice %[[SCAN]]#1 into %{{.*}} : tensor<?x?xf32> into tensor<1x?x?xf32>
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %{{.*}} : tensor<1x?x?xf32> into tensor<?x?x?xf32>
// NOALLOC-LABEL: func.func @hdd_rope_fused_givens_c32(
// NOALLOC:       tensor.empty() : tensor<2x496xf32>
// NOALLOC-NOT:   tensor.empty
// NOALLOC-NOT:   bufferization.alloc_tensor
// NOALLOC-NOT:   tensor.from_elements
// NOALLOC:       scf.forall.in_parallel
func.func @hdd_rope_fused_givens_c32(%x: tensor<?x?x?x64xf32>, %a: tensor<?x?x?x2x496xf32>) -> tensor<?x?x?x64xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 32 : i64} : tensor<?x?x?x64xf32>, tensor<?x?x?x2x496xf32>
  return %y : tensor<?x?x?x64xf32>
}

// -----

// Fused exp with c = 9 > 8 is not unrolled: it becomes so_generator (exp by
// n×n loops in f64), the blocked scan of cumulative_rotation (the blocks'
// products and totals, the carries, the fix-up) and the P form, so P
// [B, T, H, C, 9, 9] is materialised.
// CHECK-LABEL: func.func @hdd_rope_fused_exp_large(
// CHECK-NOT:   rotary.
// CHECK:       scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(%{{.*}}) -> (tensor<?x9x9xf64>)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in ({{.*}}) shared_outs(%{{.*}}, %{{.*}}) -> (tensor<?x?x?x9x9xf32>, tensor<?x?x?x9x9xf32>)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in ({{.*}}) shared_outs(%{{.*}}, %{{.*}}) -> (tensor<?x?x?x9x9xf32>, tensor<?x?x9x9xf32>)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 64, d2, d3, d5)>,
// CHECK:       linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x?x?x2x9x9xf32>, tensor<?x?x?x2x9xf32>)
// CHECK:       return
func.func @hdd_rope_fused_exp_large(%x: tensor<?x?x?x18xf32>, %a: tensor<?x?x?x2x36xf32>) -> tensor<?x?x?x18xf32> {
  %y = rotary.hdd_rope %x, %a form = exp {chunk = 9 : i64} : tensor<?x?x?x18xf32>, tensor<?x?x?x2x36xf32>
  return %y : tensor<?x?x?x18xf32>
}
