// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.orthogonal (y = x·R, x·Rᵀ with transpose) as one f32 contraction
// generic with the output dim as its last loop and the contracted dim just
// outside it (x·Rᵀ transposes R first); and
// rotary.orthogonality_penalty (‖RᵀR − I‖²) as a Gram contraction and a full
// reduction to a 0-d tensor (lib/Conversion/RotaryToLinalg/LowerChains.cpp).

// Shared [D, E] matrix (E ≠ D): loops (m, d, e), x[m, d]·R[d, e] into [M, E].
// CHECK-LABEL: func.func @orthogonal_shared(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x16xf32>, %[[R:[^:]*]]: tensor<16x8xf32>) -> tensor<?x8xf32>
// CHECK-NOT:   rotary.orthogonal
// CHECK:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK-NEXT:  %[[Y:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[R]] : tensor<?x16xf32>, tensor<16x8xf32>) outs(%[[ACC]] : tensor<?x8xf32>)
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: f32, %[[B:[^:]*]]: f32, %[[O:[^:]*]]: f32):
// CHECK-NEXT:    %[[PROD:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:    %[[SUM:.*]] = arith.addf %[[O]], %[[PROD]] : f32
// CHECK-NEXT:    linalg.yield %[[SUM]] : f32
// f32 data need no narrowing generic.
// CHECK-NOT:   linalg.generic
// CHECK:       return
func.func @orthogonal_shared(%x: tensor<?x16xf32>, %r: tensor<16x8xf32>) -> tensor<?x8xf32> {
  %0 = rotary.orthogonal %x, %r : tensor<?x16xf32>, tensor<16x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Per-head [H, D, E] matrices on bf16 data: leading dims collapse to M, the
// loops are (m, h, d, e), products are taken in f32 and the result narrowed.
// CHECK-LABEL: func.func @orthogonal_per_head_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x8x16xbf16>, %[[R:[^:]*]]: tensor<8x16x4xbf16>) -> tensor<2x?x8x4xbf16>
// CHECK:       %[[XC:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<2x?x8x16xbf16> into tensor<?x8x16xbf16>
// CHECK:       %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
// CHECK-NEXT:  %[[Y:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[XC]], %[[R]] : tensor<?x8x16xbf16>, tensor<8x16x4xbf16>) outs(%[[ACC]] : tensor<?x8x4xf32>)
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: bf16, %[[B:[^:]*]]: bf16, %[[O:[^:]*]]: f32):
// CHECK-DAG:     %[[WB:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK-DAG:     %[[WA:.*]] = arith.extf %[[A]] : bf16 to f32
// CHECK:         %[[PROD:.*]] = arith.mulf %[[WA]], %[[WB]] : f32
// CHECK-NEXT:    arith.addf %[[O]], %[[PROD]] : f32
// CHECK:       %[[N:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<?x8x4xf32>) outs(%{{.*}} : tensor<?x8x4xbf16>)
// CHECK-NEXT:  ^bb0(%[[IN:[^:]*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT:    arith.truncf %[[IN]] : f32 to bf16
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[N]] {{\[}}[0, 1], [2], [3]] output_shape [2, %{{.*}}, 8, 4] : tensor<?x8x4xbf16> into tensor<2x?x8x4xbf16>
// CHECK-NEXT:  return %[[E]]
func.func @orthogonal_per_head_bf16(%x: tensor<2x?x8x16xbf16>, %r: tensor<8x16x4xbf16>) -> tensor<2x?x8x4xbf16> {
  %0 = rotary.orthogonal %x, %r : tensor<2x?x8x16xbf16>, tensor<8x16x4xbf16>
  return %0 : tensor<2x?x8x4xbf16>
}

// -----

// transpose: y = x·Rᵀ with R [E, D]; E is R's first dim (64 here). Rᵀ is
// materialised, then contracted like R.
// CHECK-LABEL: func.func @orthogonal_transpose(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<5x3xf32>, %[[P:[^:]*]]: tensor<64x3xf32>) -> tensor<5x64xf32>
// CHECK:       %[[PT:.*]] = linalg.transpose ins(%[[P]] : tensor<64x3xf32>) outs(%{{.*}} : tensor<3x64xf32>) permutation = [1, 0]
// CHECK:       linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<5x64xf32>)
// CHECK-NEXT:  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[PT]] : tensor<5x3xf32>, tensor<3x64xf32>) outs(%{{.*}} : tensor<5x64xf32>)
func.func @orthogonal_transpose(%x: tensor<5x3xf32>, %p: tensor<64x3xf32>) -> tensor<5x64xf32> {
  %0 = rotary.orthogonal %x, %p {transpose} : tensor<5x3xf32>, tensor<64x3xf32>
  return %0 : tensor<5x64xf32>
}

// -----

// Per-head transpose: R[h, e, d] transposed per head.
// CHECK-LABEL: func.func @orthogonal_per_head_transpose(
// CHECK:       linalg.transpose {{.*}} permutation = [0, 2, 1]
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
func.func @orthogonal_per_head_transpose(%x: tensor<7x2x4xf32>, %r: tensor<2x4x4xf32>) -> tensor<7x2x4xf32> {
  %0 = rotary.orthogonal %x, %r {transpose} : tensor<7x2x4xf32>, tensor<2x4x4xf32>
  return %0 : tensor<7x2x4xf32>
}

// -----

// Penalty of per-head bf16 matrices: G[h, e1, e2] = Σ_d R[h, d, e1]·R[h, d, e2]
// in f32, then Σ (G − δ)² over (h, e1, e2) into tensor<f32>.
// CHECK-LABEL: func.func @penalty_per_head(
// CHECK-SAME:    %[[R:[^:]*]]: tensor<8x16x16xbf16>) -> tensor<f32>
// CHECK-NOT:   rotary.orthogonality_penalty
// CHECK:       %[[G0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x16x16xf32>)
// CHECK-NEXT:  %[[G:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[R]], %[[R]] : tensor<8x16x16xbf16>, tensor<8x16x16xbf16>) outs(%[[G0]] : tensor<8x16x16xf32>)
// CHECK:         arith.extf %{{.*}} : bf16 to f32
// CHECK:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  %[[S0:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<f32>) -> tensor<f32>
// CHECK-NEXT:  %[[S:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> ()>], iterator_types = ["reduction", "reduction", "reduction"]} ins(%[[G]] : tensor<8x16x16xf32>) outs(%[[S0]] : tensor<f32>)
// CHECK-NEXT:  ^bb0(%[[IN:[^:]*]]: f32, %[[OUT:[^:]*]]: f32):
// CHECK-NEXT:    %[[E1:.*]] = linalg.index 1 : index
// CHECK-NEXT:    %[[E2:.*]] = linalg.index 2 : index
// CHECK-NEXT:    %[[DIAG:.*]] = arith.cmpi eq, %[[E1]], %[[E2]] : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[NIL:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DELTA:.*]] = arith.select %[[DIAG]], %[[ONE]], %[[NIL]] : f32
// CHECK-NEXT:    %[[DIFF:.*]] = arith.subf %[[IN]], %[[DELTA]] : f32
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[DIFF]], %[[DIFF]] : f32
// CHECK-NEXT:    %[[ACC:.*]] = arith.addf %[[OUT]], %[[SQ]] : f32
// CHECK-NEXT:    linalg.yield %[[ACC]] : f32
// CHECK:       return %[[S]] : tensor<f32>
func.func @penalty_per_head(%r: tensor<8x16x16xbf16>) -> tensor<f32> {
  %0 = rotary.orthogonality_penalty %r : tensor<8x16x16xbf16>
  return %0 : tensor<f32>
}

// -----

// A rectangular [D, E] projection: a unit head dim is added and the Gram
// matrix is E × E (RᵀR), not D × D.
// CHECK-LABEL: func.func @penalty_rectangular(
// CHECK-SAME:    %[[R:[^:]*]]: tensor<64x3xf32>) -> tensor<f32>
// CHECK:       %[[R3:.*]] = tensor.expand_shape %[[R]] {{\[}}[0, 1], [2]] output_shape [1, 64, 3] : tensor<64x3xf32> into tensor<1x64x3xf32>
// CHECK:       %[[G:.*]] = linalg.generic {{.*}} ins(%[[R3]], %[[R3]] : tensor<1x64x3xf32>, tensor<1x64x3xf32>) outs(%{{.*}} : tensor<1x3x3xf32>)
// CHECK:       linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "reduction"]} ins(%[[G]] : tensor<1x3x3xf32>) outs(%{{.*}} : tensor<f32>)
func.func @penalty_rectangular(%r: tensor<64x3xf32>) -> tensor<f32> {
  %0 = rotary.orthogonality_penalty %r : tensor<64x3xf32>
  return %0 : tensor<f32>
}
