// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// Lowerings of givens_grad, orthogonal_grad, orthogonality_penalty_grad and
// quaternion_rotate_grad (lib/Conversion/RotaryToLinalg/LowerChainGrads.cpp).

// givens_grad: cos/sin of the angles once per call; one scf.forall task per
// (tile of 64 rows, head) reads its x and ȳ tiles once (widened to f64,
// transposed to [D, rows] so each rotation's row loop vectorises, with a
// reassociable φ̄ sum), reruns the chain forwards, then walks
// it backwards (undoing each rotation on the primal tile, applying Gᵀ to
// the gradient tile, summing φ̄_k over the tile's rows) and writes its x̄
// tile and its row of the [tiles, H, N] partial φ̄; one reduction over tiles.
// CHECK-LABEL: func.func @givens_grad_per_head(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x6xbf16>, %[[A:[^:]*]]: tensor<?x15xf32>, %[[DY:[^:]*]]: tensor<?x?x?x6xbf16>
// CHECK:       linalg.generic
// CHECK:         math.cos %{{.*}} : f64
// CHECK:         math.sin %{{.*}} : f64
// CHECK:       %[[F:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x?x6xbf16>, tensor<?x?x15xf64>)
// CHECK:         arith.extf %{{.*}} : bf16 to f64
// CHECK:         arith.extf %{{.*}} : bf16 to f64
// CHECK-NOT:     bf16
// The forward chain: rotations in order, rows inside.
// CHECK:         %[[FWD:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<6x?xf64>)
// CHECK-NOT:       math.cos
// CHECK:           scf.for
// The backward walk carries the primal tile, the gradient tile and φ̄.
// CHECK:         %[[BWD:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[FWD]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<6x?xf64>, tensor<6x?xf64>, tensor<15xf64>)
// CHECK:           scf.for %{{.*}} iter_args({{.*}}) -> (tensor<6x?xf64>, tensor<6x?xf64>, f64)
// CHECK:             arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f64
// CHECK:           tensor.insert %{{.*}} : tensor<15xf64>
// CHECK:         arith.truncf %{{.*}} : f64 to f32
// CHECK-NEXT:    arith.truncf %{{.*}} : f32 to bf16
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BWD]]#2
// CHECK-NOT:   scf.forall
// CHECK:       linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[F]]#1 : tensor<?x?x15xf64>)
// CHECK:       arith.truncf %{{.*}} : f64 to f32
// CHECK:       return
func.func @givens_grad_per_head(%x: tensor<?x?x?x6xbf16>, %a: tensor<?x15xf32>,
                                %dy: tensor<?x?x?x6xbf16>)
    -> (tensor<?x?x?x6xbf16>, tensor<?x15xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x?x?x6xbf16>, tensor<?x15xf32>
  return %dx, %da : tensor<?x?x?x6xbf16>, tensor<?x15xf32>
}

// -----

// Explicit pairs come from a constant table; inverse reverses the walk.
// CHECK-LABEL: func.func @givens_grad_pairs_inverse(
// CHECK:       arith.constant dense<{{\[\[}}0, 2], [3, 1]]> : tensor<2x2xindex>
// CHECK:         arith.negf %{{.*}} : f64
// CHECK:       scf.forall
// CHECK:       tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x?xf32> into tensor<?xf32>
func.func @givens_grad_pairs_inverse(%x: tensor<?x?xf32>, %a: tensor<?xf32>,
                                     %dy: tensor<?x?xf32>)
    -> (tensor<?x?xf32>, tensor<?xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy pairs = [(0, 2), (3, 1)] {inverse}
      : tensor<?x?xf32>, tensor<?xf32>
  return %dx, %da : tensor<?x?xf32>, tensor<?xf32>
}

// -----

// orthogonal_grad: x̄ = ȳ·Rᵀ is the forward's contraction on Rᵀ (loops
// (m, h, e, d) with the output dim d innermost); R̄ = Σ xᵀȳ over the rows (m
// reduced outside R's dims so the inner loop runs along contiguous rows;
// accumulated in f64).
// CHECK-LABEL: func.func @orthogonal_grad_per_head(
// CHECK-SAME:    %{{[^:]*}}: tensor<?x8x5xf32>, %[[R:[^:]*]]: tensor<8x5x3xf32>
// CHECK:       %[[RT:.*]] = linalg.transpose ins(%[[R]] : tensor<8x5x3xf32>) outs(%{{.*}} : tensor<8x3x5xf32>) permutation = [0, 2, 1]
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[RT]] : tensor<?x8x3xf32>, tensor<8x3x5xf32>) outs(%{{.*}} : tensor<?x8x5xf32>)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>], iterator_types = ["parallel", "reduction", "parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x8x5xf32>, tensor<?x8x3xf32>) outs(%{{.*}} : tensor<8x5x3xf64>)
// CHECK:       arith.truncf %{{.*}} : f64 to f32
func.func @orthogonal_grad_per_head(%x: tensor<?x8x5xf32>, %r: tensor<8x5x3xf32>,
                                    %dy: tensor<?x8x3xf32>)
    -> (tensor<?x8x5xf32>, tensor<8x5x3xf32>) {
  %dx, %dr = rotary.orthogonal_grad %x, %r, %dy
      : tensor<?x8x5xf32>, tensor<8x5x3xf32>, tensor<?x8x3xf32>
  return %dx, %dr : tensor<?x8x5xf32>, tensor<8x5x3xf32>
}

// -----

// With transpose R is [E, D]: x̄ = ȳ·R needs no transpose, R̄[e, d] =
// Σ ȳ_e·x_d.
// CHECK-LABEL: func.func @orthogonal_grad_transpose(
// CHECK-NOT:   linalg.transpose
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>], iterator_types = ["reduction", "parallel", "parallel"]}
func.func @orthogonal_grad_transpose(%x: tensor<?x3xf32>, %r: tensor<7x3xf32>,
                                     %dy: tensor<?x7xf32>)
    -> (tensor<?x3xf32>, tensor<7x3xf32>) {
  %dx, %dr = rotary.orthogonal_grad %x, %r, %dy {transpose}
      : tensor<?x3xf32>, tensor<7x3xf32>, tensor<?x7xf32>
  return %dx, %dr : tensor<?x3xf32>, tensor<7x3xf32>
}

// -----

// orthogonality_penalty_grad: the Gram matrix, R·(G − I), times 4·p̄.
// CHECK-LABEL: func.func @penalty_grad(
// CHECK:       %[[G:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x3x3xf32>)
// CHECK:       %[[P:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[G]] : tensor<1x5x3xf32>, tensor<1x3x3xf32>)
// CHECK:         arith.select
// CHECK:       linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<1x5x3xf32>, tensor<f32>)
// CHECK:         arith.constant 4.000000e+00 : f32
func.func @penalty_grad(%r: tensor<5x3xf32>, %dp: tensor<f32>) -> tensor<5x3xf32> {
  %dr = rotary.orthogonality_penalty_grad %r, %dp : tensor<5x3xf32>
  return %dr : tensor<5x3xf32>
}

// -----

// quaternion_rotate_grad with a shared axis and angle: one generic over the
// vectors writes x̄ and accumulates ū and θ̄ in f64 (every loop reduces).
// CHECK-LABEL: func.func @quaternion_grad_shared(
// CHECK:       %[[Q:.*]]:7 = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]}
// CHECK-SAME:    outs({{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<f64>, tensor<f64>, tensor<f64>, tensor<f64>)
// CHECK-NOT:   linalg.generic {{.*}}iterator_types = ["reduction"
// CHECK:       tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xf32>
func.func @quaternion_grad_shared(%x: tensor<?x?x3xf32>, %u: tensor<3xf32>,
                                  %t: tensor<f32>, %dy: tensor<?x?x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>) {
  %dx, %du, %dt = rotary.quaternion_rotate_grad %x, %u, %t, %dy
      : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>
  return %dx, %du, %dt : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>
}

// -----

// Per-vector axis and angle: all parallel, nothing reduced.
// CHECK-LABEL: func.func @quaternion_grad_per_vector(
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel"]}
// CHECK-SAME:    outs({{.*}} : tensor<?xbf16>, tensor<?xbf16>, tensor<?xbf16>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NOT:   f64
func.func @quaternion_grad_per_vector(%x: tensor<?x3xbf16>, %u: tensor<?x3xf32>,
                                      %t: tensor<?xf32>, %dy: tensor<?x3xbf16>)
    -> (tensor<?x3xbf16>, tensor<?x3xf32>, tensor<?xf32>) {
  %dx, %du, %dt = rotary.quaternion_rotate_grad %x, %u, %t, %dy
      : tensor<?x3xbf16>, tensor<?x3xf32>, tensor<?xf32>
  return %dx, %du, %dt : tensor<?x3xbf16>, tensor<?x3xf32>, tensor<?xf32>
}
