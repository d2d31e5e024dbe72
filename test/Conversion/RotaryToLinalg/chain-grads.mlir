// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-grad-strategy=chain -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-grad-strategy=chain -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=BODY

// Lowerings of givens_grad, orthogonal_grad, orthogonality_penalty_grad and
// quaternion_rotate_grad (lib/Conversion/RotaryToLinalg/LowerChainGrads.cpp).

// givens_grad (its chain form; the folded one is in chain-grad-strategy.mlir):
// cos/sin of the applied angles (f64) and the pair table once
// per call, then the structured op rotary.givens_rows_grad on x and ȳ as
// rows [M, H, D] (CHECK); ψ̄ comes back in f64 and is narrowed (negated for
// inverse, where ψ = −φ). Tiled (BODY): one scf.forall task per 64 rows
// (every head: the rows are a reduction for ψ̄, tiled as partial sums)
// reads its x and ȳ rows once (widened to f64, transposed to [D, rows] so
// each rotation's row loop vectorises, with a reassociable ψ̄ sum), reruns
// the chain forwards, then walks it backwards (undoing each rotation on the
// primal tile, applying Gᵀ to the gradient tile, summing ψ̄_k over the
// rows) and writes its x̄ rows and its row of the [tiles, H, N] partials;
// one linalg.reduce over tiles adds them to ψ̄'s zeros.
// CHECK-LABEL: func.func @givens_grad_per_head(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x6xbf16>, %[[A:[^:]*]]: tensor<?x15xf32>, %[[DY:[^:]*]]: tensor<?x?x?x6xbf16>
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<?x?x?x6xbf16> into tensor<?x?x6xbf16>
// CHECK:       %[[DY3:.*]] = tensor.collapse_shape %[[DY]] {{\[}}[0, 1], [2], [3]] : tensor<?x?x?x6xbf16> into tensor<?x?x6xbf16>
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[\[}}0, 5], [1, 4], [2, 3]{{.*}}]> : tensor<15x2xindex>
// CHECK:       %[[TRIG:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<?x15xf32>) outs(%{{.*}}, %{{.*}} : tensor<?x15xf64>, tensor<?x15xf64>)
// CHECK-NEXT:  ^bb0(
// CHECK-NEXT:    %[[PSI:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK-NEXT:    math.cos %[[PSI]] : f64
// CHECK-NEXT:    math.sin %[[PSI]] : f64
// CHECK:       %[[DX0:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x6xbf16>
// CHECK:       %[[DA0:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<?x15xf64>)
// CHECK-NEXT:  %[[DX:.*]], %[[DA:.*]] = rotary.givens_rows_grad ins(%[[X3]], %[[DY3]], %[[TRIG]]#0, %[[TRIG]]#1, %[[PAIRS]] : tensor<?x?x6xbf16>, tensor<?x15xf64>, tensor<15x2xindex>) outs(%[[DX0]], %[[DA0]] : tensor<?x?x6xbf16>, tensor<?x15xf64>) -> tensor<?x?x6xbf16>, tensor<?x15xf64>
// CHECK:       tensor.expand_shape %[[DX]] {{\[}}[0, 1], [2], [3]]
// CHECK:       linalg.generic {{.*}} ins(%[[DA]] : tensor<?x15xf64>) outs(%{{.*}} : tensor<?x15xf32>)
// CHECK-NOT:     arith.negf
// CHECK:         arith.truncf %{{.*}} : f64 to f32
// BODY-LABEL: func.func @givens_grad_per_head(
// BODY:       %[[PART0:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<?x?x15xf64>)
// BODY:       %[[F:.*]]:2 = scf.forall (%[[R0:.*]]) = (0) to (%{{.*}}) step (64) shared_outs(%{{.*}} = %{{.*}}, %[[PART:.*]] = %[[PART0]]) -> (tensor<?x?x6xbf16>, tensor<?x?x15xf64>)
// BODY:         %[[T:.*]] = affine.apply affine_map<()[s0] -> (s0 floordiv 64)>()[%[[R0]]]
// BODY:         %[[ROW:.*]] = tensor.extract_slice %[[PART]][%[[T]], 0, 0] [1, %{{.*}}, 15] [1, 1, 1] : tensor<?x?x15xf64> to tensor<?x15xf64>
// Every head of the task's rows.
// BODY:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (tensor<?x?x6xbf16>, tensor<?x15xf64>)
// BODY:           arith.extf %{{.*}} : bf16 to f64
// BODY:           arith.extf %{{.*}} : bf16 to f64
// BODY-NOT:       bf16
// The forward chain: rotations in order, rows inside.
// BODY:           %[[FWD:.*]] = scf.for %{{.*}} = %{{.*}} to %c15{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<6x?xf64>)
// BODY-NOT:         math.cos
// BODY:             scf.for
// The backward walk carries the primal tile, the gradient tile and ψ̄.
// BODY:           %[[BWD:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %c15{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[FWD]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<6x?xf64>, tensor<6x?xf64>, tensor<15xf64>)
// BODY:             scf.for %{{.*}} iter_args({{.*}}) -> (tensor<6x?xf64>, tensor<6x?xf64>, f64)
// BODY:               arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f64
// BODY:             tensor.insert %{{.*}} : tensor<15xf64>
// BODY:           arith.truncf %{{.*}} : f64 to f32
// BODY-NEXT:      arith.truncf %{{.*}} : f32 to bf16
// BODY:           tensor.insert_slice %[[BWD]]#2 into %{{.*}}[%{{.*}}, 0] [1, 15] [1, 1] : tensor<15xf64> into tensor<?x15xf64>
// BODY:         scf.forall.in_parallel
// BODY-NEXT:      tensor.parallel_insert_slice
// BODY-NEXT:      tensor.parallel_insert_slice %{{.*}} into %[[PART]][%{{.*}}, 0, 0] [1, %{{.*}}, 15] [1, 1, 1] : tensor<?x15xf64> into tensor<?x?x15xf64>
// BODY-NOT:   scf.forall
// BODY:       %[[SUM:.*]] = linalg.reduce ins(%[[F]]#1 : tensor<?x?x15xf64>) outs(%{{.*}} : tensor<?x15xf64>) dimensions = [0]
// BODY:       linalg.generic {{.*}} ins(%[[SUM]] : tensor<?x15xf64>)
// BODY:         arith.truncf %{{.*}} : f64 to f32
// BODY:       return
func.func @givens_grad_per_head(%x: tensor<?x?x?x6xbf16>, %a: tensor<?x15xf32>,
                                %dy: tensor<?x?x?x6xbf16>)
    -> (tensor<?x?x?x6xbf16>, tensor<?x15xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x?x?x6xbf16>, tensor<?x15xf32>
  return %dx, %da : tensor<?x?x?x6xbf16>, tensor<?x15xf32>
}

// -----

// Explicit pairs come from a constant table; inverse applies the negated
// angles last to first (`reverse`), and φ̄ = −ψ̄. A shared chain folds the
// heads into the rows ([M, 1, D], tables [1, N]).
// CHECK-LABEL: func.func @givens_grad_pairs_inverse(
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[\[}}0, 2], [3, 1]]> : tensor<2x2xindex>
// CHECK:       %[[TRIG:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x?xf32>)
// CHECK:         arith.negf %{{.*}} : f64
// CHECK:       %[[DX:.*]], %[[DA:.*]] = rotary.givens_rows_grad ins(%{{.*}}, %{{.*}}, %[[TRIG]]#0, %[[TRIG]]#1, %[[PAIRS]] : tensor<?x1x?xf32>, tensor<1x?xf64>, tensor<2x2xindex>) outs(%{{.*}}, %{{.*}} : tensor<?x1x?xf32>, tensor<1x?xf64>) {reverse}
// CHECK:       linalg.generic {{.*}} ins(%[[DA]] : tensor<1x?xf64>)
// CHECK-NEXT:  ^bb0(%[[IN:[^:]*]]: f64
// CHECK-NEXT:    %[[NEG:.*]] = arith.negf %[[IN]] : f64
// CHECK-NEXT:    arith.truncf %[[NEG]] : f64 to f32
// CHECK:       tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x?xf32> into tensor<?xf32>
// The reversed walk: the forward chain reads rotation N − 1 − s.
// BODY-LABEL: func.func @givens_grad_pairs_inverse(
// BODY:       scf.forall
// BODY:         scf.for %[[S:[a-z0-9_]+]] = %c0{{.*}} to %[[N:[a-z0-9_]+]] step %c1{{.*}} iter_args
// BODY-NEXT:      %[[NM1:.*]] = arith.subi %[[N]], %c1{{.*}} : index
// BODY-NEXT:      %[[K:.*]] = arith.subi %[[NM1]], %[[S]] : index
// BODY-NEXT:      tensor.extract %{{.*}}[%[[K]], %c0{{.*}}] : tensor<2x2xindex>
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
// vectors writes x̄ and accumulates ū and θ̄ in f64 (every loop reduces);
// then a 0-d generic applies the axis norm's chain rule to the sums (one
// thread on a GPU: nothing is read on the host).
// CHECK-LABEL: func.func @quaternion_grad_shared(
// CHECK-NOT:   tensor.extract %
// CHECK:       %[[Q:.*]]:7 = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]}
// CHECK-SAME:    outs({{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<f64>, tensor<f64>, tensor<f64>, tensor<f64>)
// CHECK-NOT:   linalg.generic {{.*}}iterator_types = ["reduction"
// CHECK:       %[[A:.*]]:3 = linalg.generic {indexing_maps = [affine_map<() -> ()>, {{.*}}], iterator_types = []} ins(%[[Q]]#3, %[[Q]]#4, %[[Q]]#5, {{.*}} : tensor<f64>, tensor<f64>, tensor<f64>, tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK:         math.sqrt {{.*}} : f64
// CHECK:       tensor.insert_slice %[[A]]#0 into %{{.*}}[0] [1] [1] : tensor<f32> into tensor<3xf32>
// CHECK:       tensor.insert_slice %[[A]]#2 into %{{.*}}[2] [1] [1] : tensor<f32> into tensor<3xf32>
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

// -----

// Tiles written on the rotary op are carried over to the structured op.
// CHECK-LABEL: func.func @givens_grad_recorded_rows(
// CHECK:       rotary.givens_rows_grad {{.*}} {rotary.tiles = {rows = 16 : i64}}
// BODY-LABEL:  func.func @givens_grad_recorded_rows(
// BODY:        scf.forall ({{.*}}) = (0) to (%{{.*}}) step (16)
func.func @givens_grad_recorded_rows(%x: tensor<?x8xf32>, %a: tensor<28xf32>, %dy: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<28xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy {rotary.tiles = {rows = 16 : i64}} : tensor<?x8xf32>, tensor<28xf32>
  return %dx, %da : tensor<?x8xf32>, tensor<28xf32>
}
