// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not='rotary.givens ' --implicit-check-not=rotary.rotation_block
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=fold -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=FOLD
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file | FileCheck %s --enable-var-scope --check-prefix=CHAIN
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=BODY --implicit-check-not=rotary.givens_rows
// RUN: not rotary-opt %s -convert-rotary-to-linalg=chain-strategy=unroll -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// A Givens chain runs per row (rotary.givens_rows over x, 6·N flops per row)
// or folded (Q = G_1⋯G_N by rotary.givens_rows over the identity [D, Ha, D],
// then x·Q as one contraction: 2·D² per row plus 6·N·D per head).
// chain-strategy=auto (CHECK; BODY after tile-and-decompose) picks the
// cheaper at compile time for static sizes, else by an scf.if on the
// run-time flop counts whose branches share one destination; FOLD and CHAIN
// force a form, and BAD rejects any other value.

// BAD: error: convert-rotary-to-linalg: option 'chain-strategy' must be auto, chain or fold, but got 'unroll'

// 512 rows, D = 8, N = 28: chain 86016 flops, fold 1344 + 65536: folded, at
// compile time.
// CHECK-LABEL: func.func @fold_static(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<512x8xf32>, %[[A:[^:]*]]: tensor<28xf32>)
// CHECK-NOT:   scf.if
// CHECK-DAG:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:   %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 7], [1, 6], [2, 5], [3, 4], [1, 7]{{.*}}]> : tensor<28x2xindex>
// CHECK-DAG:   %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [512, 1, 8] : tensor<512x8xf32> into tensor<512x1x8xf32>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x28xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x28xf32>, tensor<1x28xf32>)
// CHECK-NOT:   scf.if
// The identity [D, Ha, D] = [8, 1, 8]: e[d, h, f] = (d == f).
// CHECK:       %[[E0:.*]] = tensor.empty() : tensor<8x1x8xf32>
// CHECK-NEXT:  %[[EYE:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} outs(%[[E0]] : tensor<8x1x8xf32>) {
// CHECK-NEXT:  ^bb0(%{{.*}}: f32):
// CHECK-NEXT:    %[[F:.*]] = linalg.index 2 : index
// CHECK-NEXT:    %[[D:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[DIAG:.*]] = arith.cmpi eq, %[[D]], %[[F]] : index
// CHECK-NEXT:    %[[V:.*]] = arith.select %[[DIAG]], %[[ONE]], %[[ZERO]] : f32
// CHECK-NEXT:    linalg.yield %[[V]] : f32
// CHECK-NEXT:  } -> tensor<8x1x8xf32>
// Rows of Q: the chain over the rows of the identity.
// CHECK-NEXT:  %[[QROWS:.*]] = rotary.givens_rows ins(%[[EYE]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<8x1x8xf32>, tensor<1x28xf32>, tensor<1x28xf32>, tensor<28x2xindex>) outs(%{{.*}} : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
// CHECK-NEXT:  %[[QE:.*]] = tensor.empty() : tensor<1x8x8xf32>
// CHECK-NEXT:  %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<8x1x8xf32>) outs(%[[QE]] : tensor<1x8x8xf32>) permutation = [1, 0, 2]
// y[m, h, e] = Σ_d x[m, h, d]·Q[h, d, e], accumulated in f32 from zero.
// CHECK-NEXT:  %[[OE:.*]] = tensor.empty() : tensor<512x1x8xf32>
// CHECK-NEXT:  %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[OE]] : tensor<512x1x8xf32>) -> tensor<512x1x8xf32>
// CHECK-NEXT:  %[[Y3:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[X3]], %[[Q]] : tensor<512x1x8xf32>, tensor<1x8x8xf32>) outs(%[[ACC]] : tensor<512x1x8xf32>) {
// CHECK-NEXT:  ^bb0(%[[XV:[^:]*]]: f32, %[[QV:[^:]*]]: f32, %[[OV:[^:]*]]: f32):
// CHECK-NEXT:    %[[MUL:.*]] = arith.mulf %[[XV]], %[[QV]] : f32
// CHECK-NEXT:    %[[SUM:.*]] = arith.addf %[[OV]], %[[MUL]] : f32
// CHECK-NEXT:    linalg.yield %[[SUM]] : f32
// CHECK-NEXT:  } -> tensor<512x1x8xf32>
// CHECK-NEXT:  %[[Y:.*]] = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<512x1x8xf32> into tensor<512x8xf32>
// CHECK-NEXT:  return %[[Y]]

// FOLD-LABEL:  func.func @fold_static(
// FOLD:        %[[EYE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x1x8xf32>)
// FOLD:        %[[QROWS:.*]] = rotary.givens_rows ins(%[[EYE]], {{.*}}) outs(%{{.*}} : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
// FOLD:        %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<8x1x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>) permutation = [1, 0, 2]
// FOLD:        linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[Q]] : tensor<512x1x8xf32>, tensor<1x8x8xf32>)

// Forced chain: one givens_rows over x's rows, no Q.
// CHAIN-LABEL: func.func @fold_static(
// CHAIN:         %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [512, 1, 8] : tensor<512x8xf32> into tensor<512x1x8xf32>
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %{{.*}}#0, %{{.*}}#1, %{{.*}} : tensor<512x1x8xf32>, tensor<1x28xf32>, tensor<1x28xf32>, tensor<28x2xindex>) outs(%{{.*}} : tensor<512x1x8xf32>) -> tensor<512x1x8xf32>
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<512x1x8xf32> into tensor<512x8xf32>

// The folded form decomposed: the identity's 8 rows are one group of the
// row kernel (forall over (8, 1)); x itself only goes through the
// contraction.
// BODY-LABEL:  func.func @fold_static(
// BODY-SAME:     %[[X:[^:]*]]: tensor<512x8xf32>
// BODY:          %[[X3:.*]] = tensor.expand_shape %[[X]]
// BODY:          %[[EYE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x1x8xf32>)
// BODY:          %[[QROWS:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (8, 1) step (64, 1) shared_outs(%{{.*}}) -> (tensor<8x1x8xf32>) {
// BODY:            %[[ET:.*]] = tensor.extract_slice %[[EYE]][%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<8x1x8xf32> to tensor<?x1x8xf32>
// BODY:            %[[T0:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x64xf32>)
// BODY:              tensor.extract %[[ET]]
// BODY:            scf.for %{{.*}} iter_args(%{{.*}} = %[[T0]]) -> (tensor<8x64xf32>) {
// BODY-COUNT-2:      vector.transfer_read {{.*}} : tensor<8x64xf32>, vector<64xf32>
// BODY-COUNT-2:      math.fma {{.*}} : vector<64xf32>
// BODY-COUNT-2:      vector.transfer_write {{.*}} : vector<64xf32>, tensor<8x64xf32>
// BODY:              tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<?x1x8xf32> into tensor<8x1x8xf32>
// BODY:          %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<8x1x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>) permutation = [1, 0, 2]
// BODY-NOT:      scf.forall
// BODY:          %[[Y3:.*]] = linalg.generic {{.*}} ins(%[[X3]], %[[Q]] : tensor<512x1x8xf32>, tensor<1x8x8xf32>)
// BODY-NOT:      scf.forall
// BODY:          tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<512x1x8xf32> into tensor<512x8xf32>
func.func @fold_static(%x: tensor<512x8xf32>, %a: tensor<28xf32>) -> tensor<512x8xf32> {
  %0 = rotary.givens %x, %a : tensor<512x8xf32>, tensor<28xf32>
  return %0 : tensor<512x8xf32>
}

// -----

// 4 rows, N = 4: chain 96 flops, fold 192 + 512: the chain, at compile
// time; forced, the fold.
// CHECK-LABEL: func.func @chain_static(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[A:[^:]*]]: tensor<4xf32>)
// CHECK-NOT:   scf.if
// CHECK-DAG:   %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 7], [1, 6], [2, 5], [3, 4]]> : tensor<4x2xindex>
// CHECK-DAG:   %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 1, 8] : tensor<4x8xf32> into tensor<4x1x8xf32>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x4xf32>)
// CHECK-NOT:   linalg.transpose
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<4x1x8xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<4x1x8xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<4x2xindex>) outs(%[[INIT]] : tensor<4x1x8xf32>) -> tensor<4x1x8xf32>
// CHECK-NEXT:  %[[Y:.*]] = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<4x1x8xf32> into tensor<4x8xf32>
// CHECK-NEXT:  return %[[Y]]

// FOLD-LABEL:  func.func @chain_static(
// FOLD-SAME:     %[[X:[^:]*]]: tensor<4x8xf32>
// FOLD:        %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 1, 8] : tensor<4x8xf32> into tensor<4x1x8xf32>
// FOLD:        %[[EYE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x1x8xf32>)
// FOLD-NEXT:   ^bb0(
// FOLD-NEXT:     %[[F:.*]] = linalg.index 2 : index
// FOLD-NEXT:     %[[D:.*]] = linalg.index 0 : index
// FOLD-NEXT:     %[[DIAG:.*]] = arith.cmpi eq, %[[D]], %[[F]] : index
// FOLD:          arith.select %[[DIAG]], %{{.*}}, %{{.*}} : f32
// FOLD:        %[[QROWS:.*]] = rotary.givens_rows ins(%[[EYE]], %{{.*}}#0, %{{.*}}#1, %{{.*}} : tensor<8x1x8xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<4x2xindex>) outs(%{{.*}} : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
// FOLD:        %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<8x1x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>) permutation = [1, 0, 2]
// FOLD:        %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x1x8xf32>)
// FOLD-NEXT:   %[[Y3:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[X3]], %[[Q]] : tensor<4x1x8xf32>, tensor<1x8x8xf32>) outs(%[[ACC]] : tensor<4x1x8xf32>)
// FOLD-NOT:    rotary.givens_rows
// FOLD:        tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<4x1x8xf32> into tensor<4x8xf32>

// CHAIN-LABEL: func.func @chain_static(
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         %[[Y3:.*]] = rotary.givens_rows ins({{.*}} : tensor<4x1x8xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<4x2xindex>) outs(%{{.*}} : tensor<4x1x8xf32>)
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<4x1x8xf32> into tensor<4x8xf32>

// BODY-LABEL:  func.func @chain_static(
// BODY:          %[[Y3:.*]] = scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 1) step (64, 1) shared_outs(%{{.*}}) -> (tensor<4x1x8xf32>) {
// BODY:            scf.for {{.*}} -> (tensor<8x64xf32>) {
// BODY-COUNT-2:      math.fma {{.*}} : vector<64xf32>
// BODY-NOT:      linalg.transpose
// BODY:          tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<4x1x8xf32> into tensor<4x8xf32>
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
// CHECK-DAG:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:   %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK:       %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 1, %{{.*}}] : tensor<?x?xf32> into tensor<?x1x?xf32>
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[A]] {{\[}}[0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
// CHECK-NEXT:  %[[D:.*]] = tensor.dim %[[X3]], %[[C2]] : tensor<?x1x?xf32>
// CHECK-NEXT:  %[[N:.*]] = tensor.dim %[[A2]], %{{.*}} : tensor<1x?xf32>
// CHECK:       %[[PAIRS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xindex>)
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x?xf32>)
// Per row 6·N against 2·D², plus 6·N·D once for Q.
// CHECK:       %[[M:.*]] = tensor.dim %[[X3]], %{{.*}} : tensor<?x1x?xf32>
// CHECK-NEXT:  %[[N6:.*]] = arith.muli %[[N]], %[[C6]] : index
// CHECK-NEXT:  %[[DD:.*]] = arith.muli %[[D]], %[[D]] : index
// CHECK-NEXT:  %[[DD2:.*]] = arith.muli %[[DD]], %[[C2]] : index
// CHECK-NEXT:  %[[ND:.*]] = arith.muli %[[N]], %[[D]] : index
// CHECK-NEXT:  %[[ND6:.*]] = arith.muli %[[ND]], %[[C6]] : index
// CHECK-NEXT:  %[[CHAINED:.*]] = arith.muli %[[M]], %[[N6]] : index
// CHECK-NEXT:  %[[MDD2:.*]] = arith.muli %[[M]], %[[DD2]] : index
// CHECK-NEXT:  %[[FOLDED:.*]] = arith.addi %[[MDD2]], %[[ND6]] : index
// CHECK-NEXT:  %[[CHEAPER:.*]] = arith.cmpi ult, %[[FOLDED]], %[[CHAINED]] : index
// CHECK-NEXT:  %[[OUT:.*]] = tensor.empty(%[[M]], %[[D]]) : tensor<?x1x?xf32>
// CHECK-NEXT:  %[[Y3:.*]] = scf.if %[[CHEAPER]] -> (tensor<?x1x?xf32>) {
// Fold: Q's rows from the chain over the identity [D, 1, D], then x·Q
// accumulated into the destination.
// CHECK-NEXT:    %[[E0:.*]] = tensor.empty(%[[D]], %[[D]]) : tensor<?x1x?xf32>
// CHECK-NEXT:    %[[EYE:.*]] = linalg.generic {{.*}} outs(%[[E0]] : tensor<?x1x?xf32>) {
// CHECK-NEXT:    ^bb0(%{{.*}}: f32):
// CHECK-NEXT:      %[[F:.*]] = linalg.index 2 : index
// CHECK-NEXT:      %[[DI:.*]] = linalg.index 0 : index
// CHECK-NEXT:      %[[DIAG:.*]] = arith.cmpi eq, %[[DI]], %[[F]] : index
// CHECK-NEXT:      %[[V:.*]] = arith.select %[[DIAG]], %[[ONE]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[V]] : f32
// CHECK-NEXT:    } -> tensor<?x1x?xf32>
// CHECK-NEXT:    %[[QROWS:.*]] = rotary.givens_rows ins(%[[EYE]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) outs(%{{.*}} : tensor<?x1x?xf32>) -> tensor<?x1x?xf32>
// CHECK-NEXT:    %[[QE:.*]] = tensor.empty(%[[D]], %[[D]]) : tensor<1x?x?xf32>
// CHECK-NEXT:    %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<?x1x?xf32>) outs(%[[QE]] : tensor<1x?x?xf32>) permutation = [1, 0, 2]
// CHECK-NEXT:    %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[OUT]] : tensor<?x1x?xf32>) -> tensor<?x1x?xf32>
// CHECK-NEXT:    %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[X3]], %[[Q]] : tensor<?x1x?xf32>, tensor<1x?x?xf32>) outs(%[[ACC]] : tensor<?x1x?xf32>)
// CHECK:         scf.yield %[[P]] : tensor<?x1x?xf32>
// CHECK-NEXT:  } else {
// Chain: givens_rows over x's rows, into the same destination.
// CHECK-NEXT:    %[[C:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) outs(%[[OUT]] : tensor<?x1x?xf32>) -> tensor<?x1x?xf32>
// CHECK-NEXT:    scf.yield %[[C]] : tensor<?x1x?xf32>
// CHECK-NEXT:  }
// CHECK-NEXT:  %[[Y:.*]] = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<?x1x?xf32> into tensor<?x?xf32>
// CHECK-NEXT:  return %[[Y]]

// FOLD-LABEL:  func.func @dynamic(
// FOLD-NOT:    scf.if
// FOLD:        %[[QROWS:.*]] = rotary.givens_rows ins(%{{.*}} : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>)
// FOLD:        %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<?x1x?xf32>)
// FOLD:        %[[Y3:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[Q]] : tensor<?x1x?xf32>, tensor<1x?x?xf32>)
// FOLD-NOT:    scf.if
// FOLD-NOT:    rotary.givens_rows
// FOLD:        tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<?x1x?xf32> into tensor<?x?xf32>

// CHAIN-LABEL: func.func @dynamic(
// CHAIN-NOT:     scf.if
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         %[[Y3:.*]] = rotary.givens_rows ins(%{{.*}} : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) outs(%{{.*}} : tensor<?x1x?xf32>)
// CHAIN-NOT:     scf.if
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<?x1x?xf32> into tensor<?x?xf32>

// Decomposed: each branch has its own row kernel, over the identity's D
// rows (then the contraction) or over x's M rows, both into %OUT.
// BODY-LABEL:  func.func @dynamic(
// BODY:          %[[X3:.*]] = tensor.expand_shape
// BODY:          %[[OUT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x1x?xf32>
// BODY-NEXT:     %[[Y3:.*]] = scf.if %{{.*}} -> (tensor<?x1x?xf32>) {
// BODY:            %[[EYE:.*]] = linalg.generic
// BODY:            %[[QROWS:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (%{{.*}}, 1) step (64, 1) shared_outs(%{{.*}}) -> (tensor<?x1x?xf32>) {
// BODY:              tensor.extract_slice %[[EYE]][%[[ROW]], %[[HEAD]], 0]
// BODY:              scf.for {{.*}} -> (tensor<?x64xf32>) {
// BODY-COUNT-2:        math.fma {{.*}} : vector<64xf32>
// BODY:            %[[Q:.*]] = linalg.transpose ins(%[[QROWS]] : tensor<?x1x?xf32>)
// BODY-NEXT:       %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OUT]] : tensor<?x1x?xf32>)
// BODY-NEXT:       %[[P:.*]] = linalg.generic {{.*}} ins(%[[X3]], %[[Q]] : tensor<?x1x?xf32>, tensor<1x?x?xf32>) outs(%[[ACC]] : tensor<?x1x?xf32>)
// BODY:            scf.yield %[[P]] : tensor<?x1x?xf32>
// BODY-NEXT:     } else {
// BODY:            %[[C:.*]] = scf.forall (%[[ROW2:[a-z0-9_]+]], %[[HEAD2:[a-z0-9_]+]]) = (0, 0) to (%{{.*}}, 1) step (64, 1) shared_outs(%{{.*}} = %[[OUT]]) -> (tensor<?x1x?xf32>) {
// BODY:              tensor.extract_slice %[[X3]][%[[ROW2]], %[[HEAD2]], 0]
// BODY:              scf.for {{.*}} -> (tensor<?x64xf32>) {
// BODY-COUNT-2:        math.fma {{.*}} : vector<64xf32>
// BODY:            scf.yield %[[C]] : tensor<?x1x?xf32>
// BODY-NEXT:     }
// BODY-NEXT:     tensor.collapse_shape %[[Y3]]
func.func @dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a : tensor<?x?xf32>, tensor<?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// rotation_block, dynamic sizes: chain M·H·(6·N + 2·D²) against fold
// 6·N·D + 2·D³ + M·H·2·D². The rope first, once, before the choice
// (rotary.rope's own lowering: one pass over x). Folded: Q·R once (a
// contraction over the rows of Q), then one contraction of the roped rows
// [B·T·H, D] with Q·R. Chained: one givens_rows of the roped rows with R as
// its matrix. Both into one destination.
// CHECK-LABEL: func.func @block_rope(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[A:[^:]*]]: tensor<?xf32>, %[[R:[^:]*]]: tensor<?x?xf32>, %[[P:[^:]*]]: tensor<?xi64>)
// CHECK-DAG:   %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<?x?x?x?xf32> into tensor<?x?x?xf32>
// CHECK:       %[[D:.*]] = tensor.dim %[[X3]], %[[C2]] : tensor<?x?x?xf32>
// CHECK-NEXT:  %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<1x?xf32>
// CHECK:       %[[PAIRS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xindex>)
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x?xf32>)
// CHECK:       %[[RT:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<?xi64>, tensor<?xf64>)
// Half layout: x as [B, T, H, 2, r/2].
// CHECK:       %[[X5:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 2, %{{.*}}] : tensor<?x?x?x?xf32> into tensor<?x?x?x2x?xf32>
// CHECK:       %[[ROPED:.*]] = linalg.generic {{.*}} ins(%[[X5]], %[[X5]], %[[RT]]#0, %[[RT]]#1 : {{.*}})
// CHECK:       %[[XR3:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0, 1], [2], [3, 4]] : tensor<?x?x?x2x?xf32> into tensor<?x?x?xf32>
// CHECK-NEXT:  %[[M:.*]] = tensor.dim %[[X3]], %{{.*}} : tensor<?x?x?xf32>
// CHECK-NEXT:  %[[H:.*]] = tensor.dim %[[X3]], %{{.*}} : tensor<?x?x?xf32>
// CHECK-NEXT:  %[[DD:.*]] = arith.muli %[[D]], %[[D]] : index
// CHECK-NEXT:  %[[ROWS:.*]] = arith.muli %[[M]], %[[H]] : index
// CHECK-NEXT:  %[[DD2:.*]] = arith.muli %[[DD]], %[[C2]] : index
// CHECK-NEXT:  %[[N6:.*]] = arith.muli %[[N]], %[[C6]] : index
// CHECK-NEXT:  %[[PERROW:.*]] = arith.addi %[[N6]], %[[DD2]] : index
// CHECK-NEXT:  %[[DDD:.*]] = arith.muli %[[DD]], %[[D]] : index
// CHECK-NEXT:  %[[DDD2:.*]] = arith.muli %[[DDD]], %[[C2]] : index
// CHECK-NEXT:  %[[ND:.*]] = arith.muli %[[N]], %[[D]] : index
// CHECK-NEXT:  %[[ND6:.*]] = arith.muli %[[ND]], %[[C6]] : index
// CHECK-NEXT:  %[[ONCE:.*]] = arith.addi %[[ND6]], %[[DDD2]] : index
// CHECK-NEXT:  %[[CHAINED:.*]] = arith.muli %[[ROWS]], %[[PERROW]] : index
// CHECK-NEXT:  %[[RDD2:.*]] = arith.muli %[[ROWS]], %[[DD2]] : index
// CHECK-NEXT:  %[[FOLDED:.*]] = arith.addi %[[RDD2]], %[[ONCE]] : index
// CHECK-NEXT:  %[[CHEAPER:.*]] = arith.cmpi ult, %[[FOLDED]], %[[CHAINED]] : index
// CHECK-NEXT:  %[[OUT:.*]] = tensor.empty(%[[M]], %[[H]], %[[D]]) : tensor<?x?x?xf32>
// CHECK-NEXT:  %[[Y3:.*]] = scf.if %[[CHEAPER]] -> (tensor<?x?x?xf32>) {
// CHECK:         %[[EYE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x1x?xf32>)
// CHECK:         %[[QROWS:.*]] = rotary.givens_rows ins(%[[EYE]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) outs(%{{.*}} : tensor<?x1x?xf32>) -> tensor<?x1x?xf32>
// CHECK-NEXT:    %[[Q2:.*]] = tensor.collapse_shape %[[QROWS]] {{\[}}[0, 1], [2]] : tensor<?x1x?xf32> into tensor<?x?xf32>
// CHECK:         %[[QR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[Q2]], %[[R]] : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:         %[[XR2:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0, 1, 2], [3, 4]] : tensor<?x?x?x2x?xf32> into tensor<?x?xf32>
// CHECK-NEXT:    %[[O2:.*]] = tensor.collapse_shape %[[OUT]] {{\[}}[0, 1], [2]] : tensor<?x?x?xf32> into tensor<?x?xf32>
// CHECK-NEXT:    %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[O2]] : tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT:    %[[YF:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[XR2]], %[[QR]] : tensor<?x?xf32>, tensor<?x?xf32>) outs(%[[ACC]] : tensor<?x?xf32>)
// CHECK:         %[[YE:.*]] = tensor.expand_shape %[[YF]] {{\[}}[0, 1], [2]] output_shape [%[[M]], %[[H]], %[[D]]] : tensor<?x?xf32> into tensor<?x?x?xf32>
// CHECK-NEXT:    scf.yield %[[YE]] : tensor<?x?x?xf32>
// CHECK-NEXT:  } else {
// CHECK-NEXT:    %[[C:.*]] = rotary.givens_rows ins(%[[XR3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x?x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) matrix(%[[R]] : tensor<?x?xf32>) outs(%[[OUT]] : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
// CHECK-NEXT:    scf.yield %[[C]] : tensor<?x?x?xf32>
// CHECK-NEXT:  }
// CHECK:       tensor.expand_shape %[[Y3]] {{\[}}[0, 1], [2], [3]]

// FOLD-LABEL:  func.func @block_rope(
// FOLD-SAME:     %[[R:[^:]*]]: tensor<?x?xf32>, %{{[^:]*}}: tensor<?xi64>)
// FOLD-NOT:    scf.if
// FOLD-NOT:    matrix(
// FOLD:        %[[QR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[R]] : tensor<?x?xf32>, tensor<?x?xf32>)
// FOLD:        %[[YF:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[QR]] : tensor<?x?xf32>, tensor<?x?xf32>)
// FOLD-NOT:    scf.if
// FOLD-NOT:    matrix(
// FOLD:        tensor.expand_shape %[[YF]] {{\[}}[0, 1], [2]]

// CHAIN-LABEL: func.func @block_rope(
// CHAIN-NOT:     scf.if
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         %[[Y3:.*]] = rotary.givens_rows ins({{.*}}) matrix(%{{.*}} : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?x?xf32>)
// CHAIN-NOT:     scf.if
// CHAIN-NOT:     linalg.{{transpose|fill}}
// CHAIN:         tensor.expand_shape %[[Y3]] {{\[}}[0, 1], [2], [3]]

// The chained branch decomposed: rows (b, t) × heads, the chain then x·R
// with a vector accumulator, into %OUT.
// BODY-LABEL:  func.func @block_rope(
// BODY:          %[[OUT:.*]] = tensor.empty(%{{.*}}, %{{.*}}, %{{.*}}) : tensor<?x?x?xf32>
// BODY-NEXT:     scf.if %{{.*}} -> (tensor<?x?x?xf32>) {
// BODY:            scf.forall ({{.*}}) = (0, 0) to (%{{.*}}, 1) step (64, 1) shared_outs(%{{.*}}) -> (tensor<?x1x?xf32>) {
// BODY:          } else {
// BODY:            %[[C:.*]] = scf.forall ({{.*}}) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1) shared_outs(%{{.*}} = %[[OUT]]) -> (tensor<?x?x?xf32>) {
// BODY:              scf.for {{.*}} -> (tensor<?x64xf32>) {
// BODY-COUNT-2:        math.fma {{.*}} : vector<64xf32>
// BODY:              arith.constant dense<0.000000e+00> : vector<64xf32>
// BODY-NEXT:         scf.for {{.*}} -> (tensor<?x64xf32>) {
// BODY-NEXT:           scf.for {{.*}} -> (vector<64xf32>) {
// BODY:            scf.yield %[[C]] : tensor<?x?x?xf32>
func.func @block_rope(%x: tensor<?x?x?x?xf32>, %a: tensor<?xf32>,
                      %r: tensor<?x?xf32>, %p: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) layout = half
      : tensor<?x?x?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}
