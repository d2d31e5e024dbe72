// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.rotation_block (what rotary-fuse-rotations leaves unfolded) is one
// kernel: the tables (cos/sin of the chain's angles, the pairs, the rope's
// angle table) once per call, then one scf.forall task per (tile of 64 rows,
// head) that loads its rows into a column-major f32 tile [D, 64] (applying
// the rope on the way), runs the Givens chain on it, multiplies by R into a
// second tile, and stores the rows of y: x is read once and y written once.

// Without rope, per-head angles and per-head bf16 R on bf16 data.
// CHECK-LABEL: func.func @rotation_block_plain(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8x4xbf16>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<8x4x4xbf16>)
// CHECK-NOT:   rotary.
// No rope: no angle table in f64.
// CHECK-NOT:   f64
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<8x2xf32>)
// CHECK:       %[[Y3:.*]] = scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1) shared_outs(%{{.*}}) -> (tensor<4x8x4xbf16>) {
// CHECK:         %[[T0:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %[[HEAD]], %{{.*}}] : tensor<4x8x4xbf16>
// CHECK-NEXT:      arith.extf %{{.*}} : bf16 to f32
// The chain, with the head's angles.
// CHECK:         %[[T1:.*]] = scf.for %[[K:.*]] = {{.*}} iter_args(%{{.*}} = %[[T0]]) -> (tensor<4x64xf32>) {
// CHECK:           tensor.extract %[[TAB]]#0[%[[HEAD]], %[[K]]] : tensor<8x2xf32>
// CHECK:           math.fma {{.*}} : vector<64xf32>
// CHECK:           scf.yield
// x·R into a second tile: per output feature e, a vector accumulator summed
// over f of t[f, :]·R[head, f, e].
// CHECK:         %[[YE:.*]] = tensor.empty() : tensor<4x64xf32>
// CHECK:         %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<64xf32>
// CHECK:         %[[T2:.*]] = scf.for %[[E:.*]] = {{.*}} iter_args(%[[YT:.*]] = %[[YE]]) -> (tensor<4x64xf32>) {
// CHECK-NEXT:      %[[ACC:.*]] = scf.for %[[F:.*]] = {{.*}} iter_args(%[[AC:.*]] = %[[ZERO]]) -> (vector<64xf32>) {
// CHECK-NEXT:        %[[RFE:.*]] = tensor.extract %[[R]][%[[HEAD]], %[[F]], %[[E]]] : tensor<8x4x4xbf16>
// CHECK-NEXT:        %[[RW:.*]] = arith.extf %[[RFE]] : bf16 to f32
// CHECK-NEXT:        %[[RB:.*]] = vector.broadcast %[[RW]] : f32 to vector<64xf32>
// CHECK:             %[[TF:.*]] = vector.transfer_read %[[T1]][%[[F]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// CHECK-NEXT:        %[[NEXT:.*]] = math.fma %[[TF]], %[[RB]], %[[AC]] : vector<64xf32>
// CHECK-NEXT:        scf.yield %[[NEXT]] : vector<64xf32>
// CHECK:           vector.transfer_write %[[ACC]], %[[YT]][%[[E]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// Narrowed while transposing back: the task's rows of y.
// CHECK:         tensor.extract_slice %[[T2]][0, 0] [4, %{{.*}}] [1, 1] : tensor<4x64xf32> to tensor<4x?xf32>
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 4] [1, 1, 1] : tensor<?x4xbf16> into tensor<4x8x4xbf16>
// One kernel: no second parallel loop, no contraction over x.
// CHECK-NOT:   scf.forall
// CHECK-NOT:   linalg.generic
// CHECK:       %[[Y:.*]] = tensor.expand_shape %[[Y3]]
// CHECK-NEXT:  return %[[Y]]
func.func @rotation_block_plain(%x: tensor<4x8x4xbf16>, %a: tensor<8x2xf32>, %r: tensor<8x4x4xbf16>) -> tensor<4x8x4xbf16> {
  %0 = rotary.rotation_block %x, %a, %r pairs = [(0, 3), (1, 2)] : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x4x4xbf16>
  return %0 : tensor<4x8x4xbf16>
}

// -----

// With rope: its layout, rotary_dim and base are kept (interleaved pairs
// (2i, 2i+1) of the first 32 of 64 features, base 100, features 32..63
// passed through), applied while the tile is loaded; rows are (b, t), so
// the table row is m mod T for [T] positions.
// CHECK-LABEL: func.func @rotation_block_rope(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x?x8x64xf32>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[P:[^:]*]]: tensor<?xi64>)
// CHECK-NOT:   rotary.
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<1x?x8x64xf32> into tensor<?x8x64xf32>
// CHECK:       arith.constant dense<{{\[}}[0, 1], [62, 63]]> : tensor<2x2xindex>
// The rope's base (100) and rotary_dim (r/2 = 16 frequencies), its table once.
// CHECK:       %[[FREQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16xf64>)
// CHECK:         arith.constant 1.000000e+02 : f64
// CHECK:       %[[RT:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]] : tensor<?xi64>, tensor<16xf64>) outs(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:       %[[T:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<1x?x8x64xf32>
// CHECK:       scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1)
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} outs(%{{.*}} : tensor<64x64xf32>)
// CHECK:           %[[M:.*]] = arith.addi %[[ROW]], %{{.*}} : index
// Interleaved: pair i = f / 2, partner f ± 1.
// CHECK:           %[[I:.*]] = arith.divui %[[F:.*]], %{{.*}} : index
// CHECK:           %[[ROT:.*]] = arith.cmpi ult, %[[F]], %{{.*}} : index
// CHECK:           %[[IS:.*]] = arith.select %[[ROT]], %[[I]], %{{.*}} : index
// CHECK:           %[[POS:.*]] = arith.remui %[[M]], %[[T]] : index
// CHECK-NEXT:      %[[COS:.*]] = tensor.extract %[[RT]]#0[%[[POS]], %[[IS]]] : tensor<?x16xf32>
// CHECK-NEXT:      %[[SIN:.*]] = tensor.extract %[[RT]]#1[%[[POS]], %[[IS]]] : tensor<?x16xf32>
// CHECK-NEXT:      %[[SELF:.*]] = tensor.extract %[[X3]][%[[M]], %[[HEAD]], %{{.*}}] : tensor<?x8x64xf32>
// CHECK-NEXT:      %[[PART:.*]] = tensor.extract %[[X3]][%[[M]], %[[HEAD]], %{{.*}}] : tensor<?x8x64xf32>
// CHECK:           %[[Y:.*]] = arith.addf
// Features past rotary_dim pass through.
// CHECK-NEXT:      %[[V:.*]] = arith.select %[[ROT]], %[[Y]], %[[SELF]] : f32
// CHECK-NEXT:      linalg.yield %[[V]] : f32
// CHECK:         scf.for
// CHECK:           math.fma {{.*}} : vector<64xf32>
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             tensor.extract %[[R]][%{{.*}}, %{{.*}}] : tensor<64x64xf32>
// CHECK:         tensor.parallel_insert_slice %{{.*}}[%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 64] [1, 1, 1] : tensor<?x64xf32> into tensor<?x8x64xf32>
// CHECK-NOT:   scf.forall
// CHECK:       tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2], [3]] output_shape [1, %{{.*}}, 8, 64] : tensor<?x8x64xf32> into tensor<1x?x8x64xf32>
func.func @rotation_block_rope(%x: tensor<1x?x8x64xf32>, %a: tensor<8x2xf32>, %r: tensor<64x64xf32>, %p: tensor<?xi64>) -> tensor<1x?x8x64xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) pairs = [(0, 1), (62, 63)] layout = interleaved {rotary_dim = 32 : i64, base = 100.0 : f32} : tensor<1x?x8x64xf32>, tensor<8x2xf32>, tensor<64x64xf32>
  return %0 : tensor<1x?x8x64xf32>
}

// -----

// rope without a layout is half (pair i = (i, i + r/2)); [B, T] positions
// give a [B, T, r/2] table read as [B·T, r/2] at row m; the default
// schedule over a static D = 8 is a constant table.
// CHECK-LABEL: func.func @rotation_block_rope_default_layout(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x4x1x8xf32>
// CHECK:       arith.constant dense<{{\[}}[0, 7], [1, 6], [2, 5], [3, 4], [1, 7]{{.*}}]> : tensor<28x2xindex>
// CHECK:       %[[RT:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// CHECK:       %[[COS:.*]] = tensor.collapse_shape %[[RT]]#0 {{\[}}[0, 1], [2]] : tensor<2x4x4xf32> into tensor<8x4xf32>
// CHECK:       %[[SIN:.*]] = tensor.collapse_shape %[[RT]]#1 {{\[}}[0, 1], [2]] : tensor<2x4x4xf32> into tensor<8x4xf32>
// CHECK:       scf.forall
// CHECK:         linalg.generic
// CHECK:           %[[M:.*]] = arith.addi
// Half: first = f < r/2, i = f or f − r/2.
// CHECK:           %[[FIRST:.*]] = arith.cmpi ult, %[[F:.*]], %{{.*}} : index
// CHECK-NOT:       arith.remui
// CHECK:           tensor.extract %[[COS]][%[[M]], %{{.*}}] : tensor<8x4xf32>
// CHECK:         scf.for
// CHECK:       return
func.func @rotation_block_rope_default_layout(%x: tensor<2x4x1x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>, %p: tensor<2x4xi64>) -> tensor<2x4x1x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<2x4xi64>) : tensor<2x4x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}
