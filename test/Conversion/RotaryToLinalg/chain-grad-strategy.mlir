// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-grad-strategy=chain -split-input-file | FileCheck %s --check-prefix=CHAIN
// RUN: not rotary-opt %s -convert-rotary-to-linalg=chain-grad-strategy=unroll -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// The gradient of a Givens chain runs per row (rotary.givens_rows_grad over
// x and ȳ: the chain forward and back, 25·N flops per row) or folded: with
// y = x·Q, x̄ = ȳ·Qᵀ (a contraction) and the angles' gradient is the
// chain's gradient over the D rows of the identity with Q̄ = xᵀ·ȳ as their
// ȳ (Q̄ reduced over the rows in f64, in chunks of 1024 rows). The fold's
// products are counted 8·D² per row (twice their flops: measured with the
// rows of a partial chunk on one task), plus 31·N·D per head.
// chain-grad-strategy=auto (CHECK) picks the cheaper at compile time for
// static sizes, else by an scf.if on the run-time counts; CHAIN forces the
// chain, and BAD rejects any other value.

// BAD: error: convert-rotary-to-linalg: option 'chain-grad-strategy' must be auto, chain or fold, but got 'unroll'

// 2500 rows, D = 8, N = 28: chain 1750000, fold 1280000 + 6944: folded.
// Q̄ sums two whole chunks of 1024 rows into partials [2, D, H, D] (the
// chunks a parallel dimension), the last 452 rows on their own, then the
// partials into that.
// CHECK-LABEL: func.func @grad_fold_static(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2500x8xf32>, %[[A:[^:]*]]: tensor<28xf32>, %[[DY:[^:]*]]: tensor<2500x8xf32>)
// CHECK-NOT:   scf.if
// CHECK-DAG:   %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [2500, 1, 8]
// CHECK-DAG:   %[[DY3:.*]] = tensor.expand_shape %[[DY]] {{\[}}[0], [1, 2]] output_shape [2500, 1, 8]
// CHECK:       %[[EYE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x1x8xf32>)
// CHECK:       %[[Q:.*]] = rotary.givens_rows ins(%[[EYE]], {{.*}} : tensor<8x1x8xf32>, tensor<1x28xf32>, tensor<1x28xf32>, tensor<28x2xindex>)
// CHECK:       %[[QT:.*]] = linalg.transpose ins(%[[Q]] : tensor<8x1x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>) permutation = [1, 2, 0]
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[DY3]], %[[QT]] : tensor<2500x1x8xf32>, tensor<1x8x8xf32>)
// CHECK:       %[[XW:.*]] = tensor.extract_slice %[[X3]][0, 0, 0] [2048, 1, 8] [1, 1, 1]
// CHECK:       %[[XC:.*]] = tensor.expand_shape %[[XW]] {{\[}}[0, 1], [2], [3]] output_shape [2, 1024, 1, 8]
// CHECK:       %[[YW:.*]] = tensor.extract_slice %[[DY3]][0, 0, 0] [2048, 1, 8] [1, 1, 1]
// CHECK:       %[[YC:.*]] = tensor.expand_shape %[[YW]] {{\[}}[0, 1], [2], [3]] output_shape [2, 1024, 1, 8]
// CHECK:       %[[PART:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2, d4)>], iterator_types = ["parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%[[XC]], %[[YC]] : tensor<2x1024x1x8xf32>, tensor<2x1024x1x8xf32>) outs(%{{.*}} : tensor<2x8x1x8xf64>)
// CHECK:         arith.extf
// CHECK:       %[[XR:.*]] = tensor.extract_slice %[[X3]][2048, 0, 0] [452, 1, 8] [1, 1, 1]
// CHECK:       %[[YR:.*]] = tensor.extract_slice %[[DY3]][2048, 0, 0] [452, 1, 8] [1, 1, 1]
// CHECK:       %[[REST:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d1, d3)>], iterator_types = ["reduction", "parallel", "parallel", "parallel"]} ins(%[[XR]], %[[YR]] : tensor<452x1x8xf32>, tensor<452x1x8xf32>) outs(%{{.*}} : tensor<8x1x8xf64>)
// CHECK:       %[[QBAR:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel", "parallel"]} ins(%[[PART]] : tensor<2x8x1x8xf64>) outs(%[[REST]] : tensor<8x1x8xf64>)
// CHECK:       %[[QBAR32:.*]] = linalg.generic {{.*}} ins(%[[QBAR]] : tensor<8x1x8xf64>) outs(%{{.*}} : tensor<8x1x8xf32>)
// CHECK:       %{{.*}}, %[[DA:.*]] = rotary.givens_rows_grad ins(%[[EYE]], %[[QBAR32]], {{.*}} : tensor<8x1x8xf32>, tensor<1x28xf64>, tensor<28x2xindex>)
// CHECK:       linalg.generic {{.*}} ins(%[[DA]] : tensor<1x28xf64>)
// CHAIN-LABEL: func.func @grad_fold_static(
// CHAIN-NOT:   rotary.givens_rows ins
// CHAIN:       rotary.givens_rows_grad ins({{.*}} : tensor<2500x1x8xf32>, tensor<1x28xf64>, tensor<28x2xindex>)
// CHAIN-NOT:   rotary.givens_rows ins
func.func @grad_fold_static(%x: tensor<2500x8xf32>, %a: tensor<28xf32>, %dy: tensor<2500x8xf32>) -> (tensor<2500x8xf32>, tensor<28xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<2500x8xf32>, tensor<28xf32>
  return %dx, %da : tensor<2500x8xf32>, tensor<28xf32>
}

// -----

// 16 rows: chain 11200, fold 8192 + 6944: chained.
// CHECK-LABEL: func.func @grad_chain_static(
// CHECK-NOT:   scf.if
// CHECK-NOT:   rotary.givens_rows ins
// CHECK:       rotary.givens_rows_grad ins({{.*}} : tensor<16x1x8xf32>, tensor<1x28xf64>, tensor<28x2xindex>)
// CHECK-NOT:   rotary.givens_rows
func.func @grad_chain_static(%x: tensor<16x8xf32>, %a: tensor<28xf32>, %dy: tensor<16x8xf32>) -> (tensor<16x8xf32>, tensor<28xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<16x8xf32>, tensor<28xf32>
  return %dx, %da : tensor<16x8xf32>, tensor<28xf32>
}

// -----

// Rows known at run time: both forms under an scf.if on the counts, writing
// into the same x̄ and ψ̄ destinations.
// CHECK-LABEL: func.func @grad_runtime(
// CHECK:       %[[WHICH:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// CHECK:       %[[IF:.*]]:2 = scf.if %[[WHICH]] -> (tensor<?x1x8xf32>, tensor<1x28xf64>) {
// CHECK:         rotary.givens_rows ins
// CHECK:         rotary.givens_rows_grad ins({{.*}} : tensor<8x1x8xf32>, tensor<1x28xf64>, tensor<28x2xindex>)
// CHECK:       } else {
// CHECK:         rotary.givens_rows_grad ins({{.*}} : tensor<?x1x8xf32>, tensor<1x28xf64>, tensor<28x2xindex>)
// CHECK:       }
func.func @grad_runtime(%x: tensor<?x8xf32>, %a: tensor<28xf32>, %dy: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<28xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x8xf32>, tensor<28xf32>
  return %dx, %da : tensor<?x8xf32>, tensor<28xf32>
}

// -----

// A fold no cheaper per row never pays, whatever the rows: with 20
// rotations at D = 8 the chain costs 500 flops per row against 512, so a
// run-time row count gets the chain alone, without a test or a folded
// kernel.
// CHECK-LABEL: func.func @grad_runtime_short(
// CHECK-NOT:   scf.if
// CHECK-NOT:   rotary.givens_rows ins
// CHECK:       rotary.givens_rows_grad ins({{.*}} : tensor<?x1x8xf32>, tensor<1x20xf64>, tensor<20x2xindex>)
// CHECK-NOT:   rotary.givens_rows
func.func @grad_runtime_short(%x: tensor<?x8xf32>, %a: tensor<20xf32>, %dy: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<20xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x8xf32>, tensor<20xf32>
  return %dx, %da : tensor<?x8xf32>, tensor<20xf32>
}

// -----

// Narrow data keep the chain (the fold's x̄ would accumulate in bf16).
// CHECK-LABEL: func.func @grad_bf16(
// CHECK-NOT:   scf.if
// CHECK-NOT:   rotary.givens_rows ins
// CHECK:       rotary.givens_rows_grad
func.func @grad_bf16(%x: tensor<512x8xbf16>, %a: tensor<28xf32>, %dy: tensor<512x8xbf16>) -> (tensor<512x8xbf16>, tensor<28xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<512x8xbf16>, tensor<28xf32>
  return %dx, %da : tensor<512x8xbf16>, tensor<28xf32>
}
