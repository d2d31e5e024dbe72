// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.rotation_block is sugar: the pass expands it ([rope ->] givens ->
// orthogonal) and lowers the parts; no rotary op is left.

// Without rope: the Givens chain (scf.forall over tiles and heads) feeds the
// per-head contraction with R.
// CHECK-LABEL: func.func @rotation_block_plain(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8x4xbf16>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<8x4x4xbf16>)
// CHECK-NOT:   rotary.
// No angle table: no rope.
// CHECK-NOT:   f64
// CHECK:       arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK:       %[[CHAIN:.*]] = scf.forall
// CHECK:         scf.for
// CHECK:           tensor.extract %[[A]]
// CHECK:       %[[YG:.*]] = tensor.expand_shape %[[CHAIN]]
// CHECK:       %[[Y1C:.*]] = tensor.collapse_shape %[[YG]]
// CHECK:       %[[ACC:.*]] = linalg.fill
// CHECK-NEXT:  %[[Y:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[Y1C]], %[[R]] : tensor<4x8x4xbf16>, tensor<8x4x4xbf16>) outs(%[[ACC]] : tensor<4x8x4xf32>)
// CHECK-NOT:   rotary.
// CHECK:       return
func.func @rotation_block_plain(%x: tensor<4x8x4xbf16>, %a: tensor<8x2xf32>, %r: tensor<8x4x4xbf16>) -> tensor<4x8x4xbf16> {
  %0 = rotary.rotation_block %x, %a, %r pairs = [(0, 3), (1, 2)] : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x4x4xbf16>
  return %0 : tensor<4x8x4xbf16>
}

// -----

// With rope: its layout, rotary_dim and base are kept (the interleaved
// [..., r/2, 2] view of the first 32 of 64 features, base 100, features
// 32..63 passed through), and its result is what the Givens chain reads.
// CHECK-LABEL: func.func @rotation_block_rope(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x?x8x64xf32>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[P:[^:]*]]: tensor<?xi64>)
// CHECK-NOT:   rotary.
// The rope's base (100) and rotary_dim (r/2 = 16 frequencies).
// CHECK:       %[[FREQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16xf64>)
// CHECK:         arith.constant 1.000000e+02 : f64
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]] : tensor<?xi64>, tensor<16xf64>) outs(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:       %[[XR:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, %{{.*}}, 8, 32] [1, 1, 1, 1] : tensor<1x?x8x64xf32> to tensor<1x?x8x32xf32>
// CHECK-NEXT:  tensor.expand_shape %[[XR]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, %{{.*}}, 8, 16, 2]
// CHECK:       %[[ROT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>
// CHECK:       %[[RV:.*]] = tensor.collapse_shape %[[ROT]]
// CHECK:       %[[PASS:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 32]
// CHECK-NEXT:  %[[Y1:.*]] = tensor.insert_slice %[[PASS]] into %{{.*}}[0, 0, 0, 32]
// CHECK-NEXT:  %[[ROPED:.*]] = tensor.insert_slice %[[RV]] into %[[Y1]][0, 0, 0, 0] [1, %{{.*}}, 8, 32] [1, 1, 1, 1]
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0, 1], [2], [3]] : tensor<1x?x8x64xf32> into tensor<?x8x64xf32>
// CHECK:       arith.constant dense<{{\[}}[0, 1], [62, 63]]> : tensor<2x2xindex>
// CHECK:       %[[CHAIN:.*]] = scf.forall
// CHECK:         tensor.extract_slice %[[X3]]
// CHECK:       %[[YG:.*]] = tensor.expand_shape %[[CHAIN]]
// CHECK:       %[[Y1C:.*]] = tensor.collapse_shape %[[YG]] {{\[}}[0, 1, 2], [3]] : tensor<1x?x8x64xf32> into tensor<?x64xf32>
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[Y1C]], %[[R]] : tensor<?x64xf32>, tensor<64x64xf32>)
func.func @rotation_block_rope(%x: tensor<1x?x8x64xf32>, %a: tensor<8x2xf32>, %r: tensor<64x64xf32>, %p: tensor<?xi64>) -> tensor<1x?x8x64xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) pairs = [(0, 1), (62, 63)] layout = interleaved {rotary_dim = 32 : i64, base = 100.0 : f32} : tensor<1x?x8x64xf32>, tensor<8x2xf32>, tensor<64x64xf32>
  return %0 : tensor<1x?x8x64xf32>
}

// -----

// rope without a layout defaults to half (the [..., 2, r/2] view), and the
// default schedule is computed in the chain.
// CHECK-LABEL: func.func @rotation_block_rope_default_layout(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x4x1x8xf32>
// CHECK:       tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 4, 1, 2, 4]
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK:       scf.forall
// CHECK:         arith.remui
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
func.func @rotation_block_rope_default_layout(%x: tensor<2x4x1x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>, %p: tensor<2x4xi64>) -> tensor<2x4x1x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<2x4xi64>) : tensor<2x4x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}
