// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.rope_grad lowering (lib/Conversion/RotaryToLinalg/LowerRopeGrad.cpp).
// Without parameter gradients x̄ is rotary.rope of ȳ with `inverse` flipped:
// the rope lowering (table, then one all-parallel rotation generic).
// With parameter gradients: one scf.forall over (batch, tile of 16 tokens)
// whose single generic reads x and ȳ once (5-D pair views, loop d3 = element
// of the pair, d4 = pair), writes the x̄ tile and accumulates Σθ̄ and Σθ̄·p
// per frequency in f64 (d0..d3 reduce, d4 is parallel); then one reduction
// over (batch, tile) and one small generic for the parameter gradients.

// CHECK-LABEL: func.func @rope_grad_dx_only(
// CHECK-NOT:   rotary.rope
// CHECK-NOT:   scf.forall
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<?x?x?x16x2xf32>)
// CHECK-NOT:   linalg.generic
// CHECK:       return
func.func @rope_grad_dx_only(%x: tensor<?x?x?x32xf32>, %p: tensor<?xi64>,
                             %dy: tensor<?x?x?x32xf32>) -> tensor<?x?x?x32xf32> {
  %dx = rotary.rope_grad %x, %p, %dy layout = interleaved
      : tensor<?x?x?x32xf32>, tensor<?xi64>
  return %dx : tensor<?x?x?x32xf32>
}

// -----

// Every parameter; half layout, [B, T] positions, bf16 data.
// CHECK-LABEL: func.func @rope_grad_all(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x4x16xbf16>, %[[P:[^:]*]]: tensor<2x?xi32>, %[[DY:[^:]*]]: tensor<2x?x4x16xbf16>
// CHECK-NOT:   rotary.rope
// CHECK-DAG:   %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2], [3, 4]] {{.*}} : tensor<2x?x4x16xbf16> into tensor<2x?x4x2x8xbf16>
// CHECK-DAG:   %[[GV:.*]] = tensor.expand_shape %[[DY]] {{\[\[}}0], [1], [2], [3, 4]] {{.*}} : tensor<2x?x4x16xbf16> into tensor<2x?x4x2x8xbf16>
// CHECK:       %[[F:.*]]:3 = scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, %{{.*}}) step (1, 16) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x?x4x2x8xbf16>, tensor<2x?x8xf64>, tensor<2x?x8xf64>)
// CHECK-DAG:     %[[XT:.*]] = tensor.extract_slice %[[XV]]
// CHECK-DAG:     %[[GT:.*]] = tensor.extract_slice %[[GV]]
// CHECK:         %[[G:.*]]:3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>], iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]}
// CHECK-SAME:      ins(%[[XT]], %[[XT]], %[[GT]], %[[GT]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?xi32>)
// CHECK-SAME:      outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x4x2x8xbf16>, tensor<8xf64>, tensor<8xf64>)
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:           arith.addf %{{.*}} : f64
// CHECK:           arith.addf %{{.*}} : f64
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[G]]#0
// CHECK-NEXT:      tensor.parallel_insert_slice %[[G]]#1
// CHECK-NEXT:      tensor.parallel_insert_slice %[[G]]#2
// The partial sums over (batch, tile), then the gradients (f̄, φ̄ per
// frequency; scalē and basē reduced over i).
// CHECK:       %[[S:.*]]:2 = linalg.generic {{.*}}iterator_types = ["reduction", "reduction", "parallel"]} ins(%[[F]]#1, %[[F]]#2 : tensor<2x?x8xf64>, tensor<2x?x8xf64>)
// CHECK:       linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[S]]#0, %[[S]]#1, {{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>, tensor<f64>)
// CHECK-NOT:   scf.forall
// CHECK:       return
func.func @rope_grad_all(%x: tensor<2x?x4x16xbf16>, %p: tensor<2x?xi32>,
    %dy: tensor<2x?x4x16xbf16>, %f: tensor<8xf32>, %ph: tensor<8xf32>,
    %s: tensor<f32>) -> (tensor<2x?x4x16xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<f32>) {
  %dx, %df, %dph, %ds = rotary.rope_grad %x, %p, %dy inv_freq(%f : tensor<8xf32>)
      phase(%ph : tensor<8xf32>) scale(%s) layout = half
      : tensor<2x?x4x16xbf16>, tensor<2x?xi32>
  return %dx, %df, %dph, %ds : tensor<2x?x4x16xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
}

// -----

// deinterleave: x is read through the interleaved view, ȳ through the half
// view (where the forward wrote), x̄ written interleaved; rotary_dim < D
// copies ȳ's pass-through features.
// CHECK-LABEL: func.func @rope_grad_deinterleave_partial(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x10xf32>, %{{[^:]*}}: tensor<?xf32>, %[[DY:[^:]*]]: tensor<?x?x?x10xf32>
// CHECK-DAG:   %[[XR:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [%{{.*}}, %{{.*}}, %{{.*}}, 6] [1, 1, 1, 1]
// CHECK-DAG:   %[[GR:.*]] = tensor.extract_slice %[[DY]][0, 0, 0, 0] [%{{.*}}, %{{.*}}, %{{.*}}, 6] [1, 1, 1, 1]
// CHECK-DAG:   tensor.expand_shape %[[XR]] {{.*}} into tensor<?x?x?x3x2xf32>
// CHECK-DAG:   tensor.expand_shape %[[GR]] {{.*}} into tensor<?x?x?x2x3xf32>
// CHECK:       scf.forall
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>]
// CHECK:       tensor.extract_slice %[[DY]][0, 0, 0, 6] [%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] [1, 1, 1, 1]
// CHECK:       tensor.insert_slice
// CHECK:       tensor.insert_slice
// CHECK:       return
func.func @rope_grad_deinterleave_partial(%x: tensor<?x?x?x10xf32>, %p: tensor<?xf32>,
    %dy: tensor<?x?x?x10xf32>, %ph: tensor<3xf32>) -> (tensor<?x?x?x10xf32>, tensor<3xf32>) {
  %dx, %dph = rotary.rope_grad %x, %p, %dy phase(%ph : tensor<3xf32>)
      layout = deinterleave {rotary_dim = 6 : i64}
      : tensor<?x?x?x10xf32>, tensor<?xf32>
  return %dx, %dph : tensor<?x?x?x10xf32>, tensor<3xf32>
}
