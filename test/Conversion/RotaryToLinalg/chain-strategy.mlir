// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=fold -split-input-file | FileCheck %s --check-prefix=FOLD
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file | FileCheck %s --check-prefix=CHAIN
// RUN: not rotary-opt %s -convert-rotary-to-linalg=chain-strategy=unroll -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// How a Givens chain runs (lib/Conversion/RotaryToLinalg/LowerChains.cpp):
// the chain per row (a row-tile kernel: 6·N flops per row), or folded:
// Q = G_1⋯G_N once per head by running the chain over the rows of the
// identity (generated in the tile loader), then x·Q as one contraction
// (2·D² flops per row, plus 6·N·D per head). chain-strategy=auto compares
// the two from the sizes: at compile time when they are static, else with
// an scf.if on the run-time sizes.

// BAD: error: convert-rotary-to-linalg: option 'chain-strategy' must be auto, chain or fold, but got 'unroll'

// 512 rows, D = 8, N = 28: chain 86016 flops, fold 1344 + 65536: folded.
// CHECK-LABEL: func.func @fold_static(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<512x8xf32>
// CHECK-NOT:   scf.if
// Rows of Q: the chain over the 8 rows of the identity (one tile, so the
// task loop folds away), t[f, r] = (r == f).
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<8x64xf32>)
// CHECK:         arith.cmpi eq
// CHECK:         arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK:       scf.for
// CHECK:         math.fma {{.*}} : vector<64xf32>
// CHECK:       %[[Q:.*]] = linalg.transpose ins(%{{.*}} : tensor<8x1x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>) permutation = [1, 0, 2]
// y[m, h, e] = Σ_d x[m, h, d]·Q[h, d, e], accumulated in f32 from zero.
// CHECK:       %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<512x1x8xf32>)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME:    ins(%{{.*}}, %[[Q]] : tensor<512x1x8xf32>, tensor<1x8x8xf32>) outs(%[[ACC]] : tensor<512x1x8xf32>)
// CHECK:         arith.mulf
// CHECK-NEXT:    arith.addf
// FOLD-LABEL:  func.func @fold_static(
// FOLD:        linalg.transpose
// CHAIN-LABEL: func.func @fold_static(
// CHAIN-NOT:   linalg.transpose
// CHAIN:       return
func.func @fold_static(%x: tensor<512x8xf32>, %a: tensor<28xf32>) -> tensor<512x8xf32> {
  %0 = rotary.givens %x, %a : tensor<512x8xf32>, tensor<28xf32>
  return %0 : tensor<512x8xf32>
}

// -----

// 4 rows, N = 4: chain 96 flops, fold 192 + 512: the chain; forced, the fold.
// CHECK-LABEL: func.func @chain_static(
// CHECK-NOT:   scf.if
// CHECK-NOT:   linalg.transpose
// CHECK:       return
// FOLD-LABEL:  func.func @chain_static(
// FOLD:        linalg.transpose
// FOLD:        linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
func.func @chain_static(%x: tensor<4x8xf32>, %a: tensor<4xf32>) -> tensor<4x8xf32> {
  %0 = rotary.givens %x, %a : tensor<4x8xf32>, tensor<4xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Dynamic sizes: both forms, chosen at run time from M rows, N angles and
// D features: fold when 6·N·D + M·2·D² < M·6·N. Both write into one
// destination (one buffer, whichever runs).
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[A:[^:]*]]: tensor<?xf32>)
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C6:.*]] = arith.constant 6 : index
// CHECK:       %[[D:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x1x?xf32>
// CHECK:       %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<1x?xf32>
// CHECK:       %[[M:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x1x?xf32>
// CHECK:       %[[N6:.*]] = arith.muli %[[N]], %[[C6]] : index
// CHECK:       %[[CHAINED:.*]] = arith.muli %[[M]], %[[N6]] : index
// CHECK:       %[[DD:.*]] = arith.muli %[[D]], %[[D]] : index
// CHECK:       %[[DD2:.*]] = arith.muli %[[DD]], %[[C2]] : index
// CHECK:       %[[MDD2:.*]] = arith.muli %[[M]], %[[DD2]] : index
// CHECK:       %[[ND:.*]] = arith.muli %[[N]], %[[D]] : index
// CHECK:       %[[ND6:.*]] = arith.muli %[[ND]], %[[C6]] : index
// CHECK:       %[[FOLDED:.*]] = arith.addi %[[ND6]], %[[MDD2]] : index
// CHECK:       %[[CHEAPER:.*]] = arith.cmpi ult, %[[FOLDED]], %[[CHAINED]] : index
// CHECK:       %[[OUT:.*]] = tensor.empty(%[[M]], %[[D]]) : tensor<?x1x?xf32>
// CHECK:       %[[Y:.*]] = scf.if %[[CHEAPER]] -> (tensor<?x1x?xf32>) {
// CHECK:         linalg.transpose
// CHECK:         %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OUT]] : tensor<?x1x?xf32>)
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]{{.*}} outs(%[[ACC]] : tensor<?x1x?xf32>)
// CHECK:         scf.yield %[[P]]
// CHECK:       } else {
// CHECK:         %[[C:.*]] = scf.forall {{.*}} shared_outs(%{{.*}} = %[[OUT]]) -> (tensor<?x1x?xf32>)
// CHECK:         scf.yield %[[C]]
// CHECK:       }
func.func @dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a : tensor<?x?xf32>, tensor<?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// rotation_block folded: Q·R once (a contraction over the rows of Q), the
// rope as rotary.rope itself (its own lowering, one pass over x; its angle
// table is the one the chain kernel builds before the scf.if, after CSE),
// then one contraction of the rows [B·T·H, D] with Q·R.
// CHECK-LABEL: func.func @block_rope(
// CHECK:       scf.if
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]
// CHECK:         tensor.collapse_shape {{.*}} into tensor<?x?xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK:       } else {
// The chain: the fused row-tile kernel (rope on load, chain, x·R).
// CHECK:         scf.forall
// CHECK:       }
func.func @block_rope(%x: tensor<?x?x?x?xf32>, %a: tensor<?xf32>,
                      %r: tensor<?x?xf32>, %p: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) layout = half
      : tensor<?x?x?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}
