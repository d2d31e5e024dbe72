// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=TILED --implicit-check-not=rotary.
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -canonicalize -cse -split-input-file | FileCheck %s --check-prefix=NOALLOC
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure=scan-block=8 -rotary-tile-and-decompose -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=BLOCK8
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose=tile=false -canonicalize -cse -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=WHOLE --implicit-check-not=scf.forall --implicit-check-not=rotary.

// Lowering of rotary.cumulative_rotation, P_t = G_0·G_1⋯G_t along `axis`
// (lib/Conversion/RotaryToLinalg/LowerHDD.cpp). The conversion only views
// G as [A, T, Bm, c, c] (dims before the axis, the axis, dims after) and
// leaves one rotary.rotation_scan from an identity carry: how the steps
// are split is the target's schedule, not the conversion's (no loops yet).
// The CPU schedule records {block = 64} (scan-block=K overrides it), and
// rotary-tile-and-decompose turns the scan into a blocked scan:
//   1. one scf.forall task per (a, block of 64 steps, bm) computes the
//      block's products from the identity, carrying c² scalars; the last
//      one is the block's total;
//   2. one task per (a, bm) walks the blocks, exclusive: it stores the
//      product of the previous blocks' totals, then multiplies by its own;
//   3. a parallel fix-up P_t = carry[t floordiv 64]·local_t.
// Canonicalization drops the forall dims of size 1. With tile=false the
// scan is decomposed whole: nested sequential loops, no forall. The NOALLOC
// lines check that the per-step loops allocate nothing.

// CHECK-LABEL: func.func @cumulative_rotation(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<2x?x8x16x2x2xf32>)
// CHECK-NOT:   scf.
// CHECK:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0], [1], [2], [3], [4], [5]] output_shape [2, %{{.*}}, 8, 16, 2, 2] : tensor<2x?x8x16x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// CHECK-NEXT:  %[[G5:.*]] = tensor.collapse_shape %[[EX]] {{\[}}[0], [1], [2, 3], [4], [5]] : tensor<2x?x8x16x2x2xf32> into tensor<2x?x128x2x2xf32>
// The carry in: the identity of every column (a, bm).
// CHECK:       %[[E0:.*]] = tensor.empty() : tensor<2x128x2x2xf32>
// CHECK-NEXT:  %[[ID:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%[[E0]] : tensor<2x128x2x2xf32>) {
// CHECK-NEXT:  ^bb0(%{{[^:]*}}: f32):
// CHECK-NEXT:    %[[COL:.*]] = linalg.index 3 : index
// CHECK-NEXT:    %[[ROW:.*]] = linalg.index 2 : index
// CHECK-NEXT:    %[[DIAG:.*]] = arith.cmpi eq, %[[ROW]], %[[COL]] : index
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[V:.*]] = arith.select %[[DIAG]], %[[ONE]], %[[ZERO]] : f32
// CHECK-NEXT:    linalg.yield %[[V]] : f32
// CHECK-NEXT:  } -> tensor<2x128x2x2xf32>
// CHECK:       %[[T:.*]] = tensor.dim %[[G5]], %{{.*}} : tensor<2x?x128x2x2xf32>
// CHECK-NEXT:  %[[P0:.*]] = tensor.empty(%[[T]]) : tensor<2x?x128x2x2xf32>
// CHECK-NEXT:  %[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}} = rotary.rotation_scan ins(%[[G5]] : tensor<2x?x128x2x2xf32>) outs(%[[P0]], %[[ID]] : tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>) -> tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>
// CHECK-NOT:   scf.
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[P]] {{\[}}[0], [1], [2, 3], [4], [5]] output_shape [2, %{{.*}}, 8, 16, 2, 2] : tensor<2x?x128x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// CHECK-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0], [1], [2], [3], [4], [5]] : tensor<2x?x8x16x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// CHECK-NEXT:  return %[[R]] : tensor<2x?x8x16x2x2xf32>

// TILED-LABEL: func.func @cumulative_rotation(
// TILED-SAME:    %[[G:[^:]*]]: tensor<2x?x8x16x2x2xf32>)
// TILED-DAG:   %[[C0:.*]] = arith.constant 0 : index
// TILED-DAG:   %[[C1:.*]] = arith.constant 1 : index
// TILED-DAG:   %[[C64:.*]] = arith.constant 64 : index
// TILED-DAG:   %[[F0:.*]] = arith.constant 0.000000e+00 : f32
// TILED:       %[[G5:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0], [1], [2, 3], [4], [5]] : tensor<2x?x8x16x2x2xf32> into tensor<2x?x128x2x2xf32>
// The op's carry init: the identity.
// TILED:       %[[ID:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x128x2x2xf32>)
// TILED:       %[[TLEN:.*]] = tensor.dim %[[G5]], %[[C1]] : tensor<2x?x128x2x2xf32>
// TILED-NEXT:  %[[P0:.*]] = tensor.empty(%[[TLEN]]) : tensor<2x?x128x2x2xf32>
// TILED-NEXT:  %[[NBLK:.*]] = arith.ceildivui %[[TLEN]], %[[C64]] : index
// TILED-NEXT:  %[[TOT0:.*]] = tensor.empty(%[[NBLK]]) : tensor<2x?x128x2x2xf32>
// The block totals start as identities: each task's carry is computed in
// its own slice of them.
// TILED-NEXT:  %[[TOTI:.*]] = linalg.generic {{.*}} outs(%[[TOT0]] : tensor<2x?x128x2x2xf32>)
// Phase 1: block k holds the steps [k·64, min(k·64 + 64, T)).
// TILED:       %[[PH1:.*]]:2 = scf.forall (%[[A1:[a-z0-9_]+]], %[[K:[a-z0-9_]+]], %[[BM1:[a-z0-9_]+]]) in (2, %[[NBLK]], 128) shared_outs(%[[LOUT:[a-z0-9_]+]] = %[[P0]], %[[TOUT:[a-z0-9_]+]] = %[[TOTI]]) -> (tensor<2x?x128x2x2xf32>, tensor<2x?x128x2x2xf32>) {
// TILED-NEXT:    %[[START:.*]] = arith.muli %[[K]], %[[C64]] : index
// TILED-NEXT:    %[[END0:.*]] = arith.addi %[[START]], %[[C64]] : index
// TILED-NEXT:    %[[END:.*]] = arith.minui %[[END0]], %[[TLEN]] : index
// TILED-NEXT:    %[[LEN:.*]] = arith.subi %[[END]], %[[START]] : index
// TILED-NEXT:    %[[LS:.*]] = tensor.extract_slice %[[LOUT]][%[[A1]], %[[START]], %[[BM1]], 0, 0] [1, %[[LEN]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<2x?x128x2x2xf32> to tensor<1x?x1x2x2xf32>
// TILED-NEXT:    %[[IS:.*]] = tensor.extract_slice %[[TOUT]][%[[A1]], %[[K]], %[[BM1]], 0, 0] [1, 1, 1, 2, 2] [1, 1, 1, 1, 1] : tensor<2x?x128x2x2xf32> to tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[GS:.*]] = tensor.extract_slice %[[G5]][%[[A1]], %[[START]], %[[BM1]], 0, 0] [1, %[[LEN]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<2x?x128x2x2xf32> to tensor<1x?x1x2x2xf32>
// TILED-NEXT:    %[[I00:.*]] = tensor.extract %[[IS]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[I01:.*]] = tensor.extract %[[IS]][%[[C0]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[I10:.*]] = tensor.extract %[[IS]][%[[C0]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[I11:.*]] = tensor.extract %[[IS]][%[[C0]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x1x2x2xf32>
// The running product lives in c² = 4 scalars; the tensor only takes writes.
// TILED-NEXT:    %[[LOC:.*]]:5 = scf.for %[[T:[a-z0-9_]+]] = %[[C0]] to %[[LEN]] step %[[C1]] iter_args(%[[ACC:[a-z0-9_]+]] = %[[LS]], %[[X00:[a-z0-9_]+]] = %[[I00]], %[[X01:[a-z0-9_]+]] = %[[I01]], %[[X10:[a-z0-9_]+]] = %[[I10]], %[[X11:[a-z0-9_]+]] = %[[I11]]) -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32) {
// TILED-NEXT:      %[[G00:.*]] = tensor.extract %[[GS]][%[[C0]], %[[T]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[G01:.*]] = tensor.extract %[[GS]][%[[C0]], %[[T]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[G10:.*]] = tensor.extract %[[GS]][%[[C0]], %[[T]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[G11:.*]] = tensor.extract %[[GS]][%[[C0]], %[[T]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// P_t = P_{t−1}·G_t, entry (i, j) = Σ_k x_ik·g_kj.
// TILED-NEXT:      %[[M0:.*]] = arith.mulf %[[X00]], %[[G00]] : f32
// TILED-NEXT:      %[[M1:.*]] = arith.mulf %[[X01]], %[[G10]] : f32
// TILED-NEXT:      %[[P00:.*]] = arith.addf %[[M0]], %[[M1]] : f32
// TILED-NEXT:      %[[M2:.*]] = arith.mulf %[[X00]], %[[G01]] : f32
// TILED-NEXT:      %[[M3:.*]] = arith.mulf %[[X01]], %[[G11]] : f32
// TILED-NEXT:      %[[P01:.*]] = arith.addf %[[M2]], %[[M3]] : f32
// TILED-NEXT:      %[[M4:.*]] = arith.mulf %[[X10]], %[[G00]] : f32
// TILED-NEXT:      %[[M5:.*]] = arith.mulf %[[X11]], %[[G10]] : f32
// TILED-NEXT:      %[[P10:.*]] = arith.addf %[[M4]], %[[M5]] : f32
// TILED-NEXT:      %[[M6:.*]] = arith.mulf %[[X10]], %[[G01]] : f32
// TILED-NEXT:      %[[M7:.*]] = arith.mulf %[[X11]], %[[G11]] : f32
// TILED-NEXT:      %[[P11:.*]] = arith.addf %[[M6]], %[[M7]] : f32
// TILED-NEXT:      %[[W0:.*]] = tensor.insert %[[P00]] into %[[ACC]][%[[C0]], %[[T]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[W1:.*]] = tensor.insert %[[P01]] into %[[W0]][%[[C0]], %[[T]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[W2:.*]] = tensor.insert %[[P10]] into %[[W1]][%[[C0]], %[[T]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[W3:.*]] = tensor.insert %[[P11]] into %[[W2]][%[[C0]], %[[T]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      scf.yield %[[W3]], %[[P00]], %[[P01]], %[[P10]], %[[P11]] : tensor<1x?x1x2x2xf32>, f32, f32, f32, f32
// TILED-NEXT:    }
// The block's total: its last product, the loop's scalars.
// TILED-NEXT:    %[[B0:.*]] = tensor.insert %[[LOC]]#1 into %[[IS]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[B1:.*]] = tensor.insert %[[LOC]]#2 into %[[B0]][%[[C0]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[B2:.*]] = tensor.insert %[[LOC]]#3 into %[[B1]][%[[C0]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[B3:.*]] = tensor.insert %[[LOC]]#4 into %[[B2]][%[[C0]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    scf.forall.in_parallel {
// TILED-NEXT:      tensor.parallel_insert_slice %[[LOC]]#0 into %[[LOUT]][%[[A1]], %[[START]], %[[BM1]], 0, 0] [1, %[[LEN]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<1x?x1x2x2xf32> into tensor<2x?x128x2x2xf32>
// TILED-NEXT:      tensor.parallel_insert_slice %[[B3]] into %[[TOUT]][%[[A1]], %[[K]], %[[BM1]], 0, 0] [1, 1, 1, 2, 2] [1, 1, 1, 1, 1] : tensor<1x1x2x2xf32> into tensor<2x?x128x2x2xf32>
// TILED-NEXT:    }
// TILED-NEXT:  }
// Phase 2: an exclusive scan of the totals from the identity, one task per
// column, its carry in c² scalars.
// TILED-NEXT:  %[[CARRIES:.*]] = scf.forall (%[[A2:[a-z0-9_]+]], %[[BM2:[a-z0-9_]+]]) in (2, 128) shared_outs(%[[COUT:[a-z0-9_]+]] = %[[TOT0]]) -> (tensor<2x?x128x2x2xf32>) {
// TILED-NEXT:    %[[TS:.*]] = tensor.extract_slice %[[PH1]]#1[%[[A2]], 0, %[[BM2]], 0, 0] [1, %[[NBLK]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<2x?x128x2x2xf32> to tensor<1x?x1x2x2xf32>
// TILED-NEXT:    %[[CS:.*]] = tensor.extract_slice %[[COUT]][%[[A2]], 0, %[[BM2]], 0, 0] [1, %[[NBLK]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<2x?x128x2x2xf32> to tensor<1x?x1x2x2xf32>
// TILED-NEXT:    %[[IS2:.*]] = tensor.extract_slice %[[ID]][%[[A2]], %[[BM2]], 0, 0] [1, 1, 2, 2] [1, 1, 1, 1] : tensor<2x128x2x2xf32> to tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[J00:.*]] = tensor.extract %[[IS2]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[J01:.*]] = tensor.extract %[[IS2]][%[[C0]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[J10:.*]] = tensor.extract %[[IS2]][%[[C0]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[J11:.*]] = tensor.extract %[[IS2]][%[[C0]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x1x2x2xf32>
// TILED-NEXT:    %[[CL:.*]]:5 = scf.for %[[KB:[a-z0-9_]+]] = %[[C0]] to %[[NBLK]] step %[[C1]] iter_args(%[[CC:[a-z0-9_]+]] = %[[CS]], %[[Y00:[a-z0-9_]+]] = %[[J00]], %[[Y01:[a-z0-9_]+]] = %[[J01]], %[[Y10:[a-z0-9_]+]] = %[[J10]], %[[Y11:[a-z0-9_]+]] = %[[J11]]) -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32) {
// Exclusive: block k's carry is stored before block k's total joins it.
// TILED-NEXT:      %[[S0:.*]] = tensor.insert %[[Y00]] into %[[CC]][%[[C0]], %[[KB]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[S1:.*]] = tensor.insert %[[Y01]] into %[[S0]][%[[C0]], %[[KB]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[S2:.*]] = tensor.insert %[[Y10]] into %[[S1]][%[[C0]], %[[KB]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[S3:.*]] = tensor.insert %[[Y11]] into %[[S2]][%[[C0]], %[[KB]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[T00:.*]] = tensor.extract %[[TS]][%[[C0]], %[[KB]], %[[C0]], %[[C0]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[T01:.*]] = tensor.extract %[[TS]][%[[C0]], %[[KB]], %[[C0]], %[[C0]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[T10:.*]] = tensor.extract %[[TS]][%[[C0]], %[[KB]], %[[C0]], %[[C1]], %[[C0]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[T11:.*]] = tensor.extract %[[TS]][%[[C0]], %[[KB]], %[[C0]], %[[C1]], %[[C1]]] : tensor<1x?x1x2x2xf32>
// TILED-NEXT:      %[[N0:.*]] = arith.mulf %[[Y00]], %[[T00]] : f32
// TILED-NEXT:      %[[N1:.*]] = arith.mulf %[[Y01]], %[[T10]] : f32
// TILED-NEXT:      %[[N00:.*]] = arith.addf %[[N0]], %[[N1]] : f32
// TILED:           %[[N6:.*]] = arith.mulf %[[Y10]], %[[T01]] : f32
// TILED-NEXT:      %[[N7:.*]] = arith.mulf %[[Y11]], %[[T11]] : f32
// TILED-NEXT:      %[[N11:.*]] = arith.addf %[[N6]], %[[N7]] : f32
// TILED-NEXT:      scf.yield %[[S3]], %[[N00]], %{{.*}}, %{{.*}}, %[[N11]] : tensor<1x?x1x2x2xf32>, f32, f32, f32, f32
// TILED-NEXT:    }
// TILED-NEXT:    scf.forall.in_parallel {
// TILED-NEXT:      tensor.parallel_insert_slice %[[CL]]#0 into %[[COUT]][%[[A2]], 0, %[[BM2]], 0, 0] [1, %[[NBLK]], 1, 2, 2] [1, 1, 1, 1, 1] : tensor<1x?x1x2x2xf32> into tensor<2x?x128x2x2xf32>
// TILED-NEXT:    }
// TILED-NEXT:  }
// Phase 3: all loops parallel except the contraction k (innermost).
// TILED-NEXT:  %[[PZ:.*]] = linalg.fill ins(%[[F0]] : f32) outs(%[[P0]] : tensor<2x?x128x2x2xf32>) -> tensor<2x?x128x2x2xf32>
// TILED-NEXT:  %[[P5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 64, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[CARRIES]], %[[PH1]]#0 : tensor<2x?x128x2x2xf32>, tensor<2x?x128x2x2xf32>) outs(%[[PZ]] : tensor<2x?x128x2x2xf32>) {
// TILED-NEXT:  ^bb0(%[[IN0:[^:]*]]: f32, %[[IN1:[^:]*]]: f32, %[[OUT:[^:]*]]: f32):
// TILED-NEXT:    %[[MUL:.*]] = arith.mulf %[[IN0]], %[[IN1]] : f32
// TILED-NEXT:    %[[ADD:.*]] = arith.addf %[[OUT]], %[[MUL]] : f32
// TILED-NEXT:    linalg.yield %[[ADD]] : f32
// TILED-NEXT:  } -> tensor<2x?x128x2x2xf32>
// TILED:       %[[E:.*]] = tensor.expand_shape %[[P5]] {{\[}}[0], [1], [2, 3], [4], [5]] output_shape [2, %{{.*}}, 8, 16, 2, 2] : tensor<2x?x128x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// TILED-NEXT:  return %[[E]] : tensor<2x?x8x16x2x2xf32>

// NOALLOC-LABEL: func.func @cumulative_rotation(
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32) {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield {{.*}} : tensor<1x?x1x2x2xf32>, f32, f32, f32, f32
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32) {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield {{.*}} : tensor<1x?x1x2x2xf32>, f32, f32, f32, f32

// BLOCK8-LABEL: func.func @cumulative_rotation(
// BLOCK8:       %[[C8:.*]] = arith.constant 8 : index
// BLOCK8:       %[[NBLK:.*]] = arith.ceildivui %{{.*}}, %[[C8]] : index
// BLOCK8:       scf.forall (%{{[a-z0-9_]+}}, %[[K:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (2, %[[NBLK]], 128)
// BLOCK8-NEXT:    %[[START:.*]] = arith.muli %[[K]], %[[C8]] : index
// BLOCK8-NEXT:    arith.addi %[[START]], %[[C8]] : index
// BLOCK8:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (2, 128)
// BLOCK8:         scf.for %{{.*}} = %{{.*}} to %[[NBLK]] step
// BLOCK8:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 8, d2, d3, d5)>,

// WHOLE-LABEL: func.func @cumulative_rotation(
// WHOLE-DAG:   %[[C0:.*]] = arith.constant 0 : index
// WHOLE-DAG:   %[[C1:.*]] = arith.constant 1 : index
// WHOLE-DAG:   %[[C2:.*]] = arith.constant 2 : index
// WHOLE-DAG:   %[[C128:.*]] = arith.constant 128 : index
// WHOLE:       %[[G5:.*]] = tensor.collapse_shape
// WHOLE:       %[[ID:.*]] = linalg.generic
// WHOLE:       %[[TLEN:.*]] = tensor.dim %[[G5]], %[[C1]] : tensor<2x?x128x2x2xf32>
// WHOLE-NEXT:  %[[P0:.*]] = tensor.empty(%[[TLEN]]) : tensor<2x?x128x2x2xf32>
// One loop over a, one over bm, then the steps; P and the carry chained.
// WHOLE-NEXT:  %[[RA:.*]]:2 = scf.for %[[A:[a-z0-9_]+]] = %[[C0]] to %[[C2]] step %[[C1]] iter_args(%[[PA:[a-z0-9_]+]] = %[[P0]], %[[CA:[a-z0-9_]+]] = %[[ID]]) -> (tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>) {
// WHOLE-NEXT:    %[[RB:.*]]:2 = scf.for %[[BM:[a-z0-9_]+]] = %[[C0]] to %[[C128]] step %[[C1]] iter_args(%[[PB:[a-z0-9_]+]] = %[[PA]], %[[CB:[a-z0-9_]+]] = %[[CA]]) -> (tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>) {
// WHOLE-NEXT:      %[[X00:.*]] = tensor.extract %[[CB]][%[[A]], %[[BM]], %[[C0]], %[[C0]]] : tensor<2x128x2x2xf32>
// WHOLE-NEXT:      %[[X01:.*]] = tensor.extract %[[CB]][%[[A]], %[[BM]], %[[C0]], %[[C1]]] : tensor<2x128x2x2xf32>
// WHOLE-NEXT:      %[[X10:.*]] = tensor.extract %[[CB]][%[[A]], %[[BM]], %[[C1]], %[[C0]]] : tensor<2x128x2x2xf32>
// WHOLE-NEXT:      %[[X11:.*]] = tensor.extract %[[CB]][%[[A]], %[[BM]], %[[C1]], %[[C1]]] : tensor<2x128x2x2xf32>
// WHOLE-NEXT:      %[[S:.*]]:5 = scf.for %[[T:[a-z0-9_]+]] = %[[C0]] to %[[TLEN]] step %[[C1]] iter_args(%[[PT:[a-z0-9_]+]] = %[[PB]], %[[Y00:[a-z0-9_]+]] = %[[X00]], %[[Y01:[a-z0-9_]+]] = %[[X01]], %{{[a-z0-9_]+}} = %[[X10]], %{{[a-z0-9_]+}} = %[[X11]]) -> (tensor<2x?x128x2x2xf32>, f32, f32, f32, f32) {
// WHOLE-NEXT:        %[[G00:.*]] = tensor.extract %[[G5]][%[[A]], %[[T]], %[[BM]], %[[C0]], %[[C0]]] : tensor<2x?x128x2x2xf32>
// WHOLE-NEXT:        tensor.extract %[[G5]][%[[A]], %[[T]], %[[BM]], %[[C0]], %[[C1]]] : tensor<2x?x128x2x2xf32>
// WHOLE-NEXT:        %[[G10:.*]] = tensor.extract %[[G5]][%[[A]], %[[T]], %[[BM]], %[[C1]], %[[C0]]] : tensor<2x?x128x2x2xf32>
// WHOLE-NEXT:        tensor.extract %[[G5]][%[[A]], %[[T]], %[[BM]], %[[C1]], %[[C1]]] : tensor<2x?x128x2x2xf32>
// WHOLE-NEXT:        %[[M0:.*]] = arith.mulf %[[Y00]], %[[G00]] : f32
// WHOLE-NEXT:        %[[M1:.*]] = arith.mulf %[[Y01]], %[[G10]] : f32
// WHOLE-NEXT:        %[[P00:.*]] = arith.addf %[[M0]], %[[M1]] : f32
// WHOLE:             tensor.insert %[[P00]] into %[[PT]][%[[A]], %[[T]], %[[BM]], %[[C0]], %[[C0]]] : tensor<2x?x128x2x2xf32>
// WHOLE:             scf.yield %{{.*}}, %[[P00]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x128x2x2xf32>, f32, f32, f32, f32
// WHOLE-NEXT:      }
// The carry out of the column: its last product.
// WHOLE-NEXT:      tensor.insert %[[S]]#1 into %[[CB]][%[[A]], %[[BM]], %[[C0]], %[[C0]]] : tensor<2x128x2x2xf32>
// WHOLE:           scf.yield %[[S]]#0, %{{.*}} : tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>
// WHOLE-NEXT:    }
// WHOLE-NEXT:    scf.yield %[[RB]]#0, %[[RB]]#1 : tensor<2x?x128x2x2xf32>, tensor<2x128x2x2xf32>
// WHOLE-NEXT:  }
// WHOLE:       %[[E:.*]] = tensor.expand_shape %[[RA]]#0 {{\[}}[0], [1], [2, 3], [4], [5]] output_shape [2, %{{.*}}, 8, 16, 2, 2] : tensor<2x?x128x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// WHOLE-NEXT:  return %[[E]]
func.func @cumulative_rotation(%g: tensor<2x?x8x16x2x2xf32>) -> tensor<2x?x8x16x2x2xf32> {
  %p = rotary.cumulative_rotation %g : tensor<2x?x8x16x2x2xf32>
  return %p : tensor<2x?x8x16x2x2xf32>
}

// -----

// axis = 0: no dims before the axis, so A is a unit dim added by an expand;
// once tiled, phase 1 runs (blocks, Bm) tasks, phase 2 Bm (the unit A
// dropped); c = 3 carries 9 scalars.
// CHECK-LABEL: func.func @cumulative_rotation_axis0(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<?x?x3x3xf32>)
// CHECK-NOT:   scf.
// CHECK:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0, 1], [2], [3], [4]] output_shape [1, %{{.*}}, %{{.*}}, 3, 3] : tensor<?x?x3x3xf32> into tensor<1x?x?x3x3xf32>
// CHECK-NEXT:  %[[G5:.*]] = tensor.collapse_shape %[[EX]] {{\[}}[0], [1], [2], [3], [4]] : tensor<1x?x?x3x3xf32> into tensor<1x?x?x3x3xf32>
// CHECK:       %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[BM:.*]] = tensor.dim %[[G5]], %[[C2]] : tensor<1x?x?x3x3xf32>
// CHECK-NEXT:  %[[E0:.*]] = tensor.empty(%[[BM]]) : tensor<1x?x3x3xf32>
// CHECK-NEXT:  %[[ID:.*]] = linalg.generic {{.*}} outs(%[[E0]] : tensor<1x?x3x3xf32>)
// CHECK:       } -> tensor<1x?x3x3xf32>
// CHECK:       %[[P0:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<1x?x?x3x3xf32>
// CHECK-NEXT:  %[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}} = rotary.rotation_scan ins(%[[G5]] : tensor<1x?x?x3x3xf32>) outs(%[[P0]], %[[ID]] : tensor<1x?x?x3x3xf32>, tensor<1x?x3x3xf32>) -> tensor<1x?x?x3x3xf32>, tensor<1x?x3x3xf32>
// CHECK-NOT:   scf.
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[P]] {{\[}}[0], [1], [2], [3], [4]] output_shape [1, %{{.*}}, %{{.*}}, 3, 3] : tensor<1x?x?x3x3xf32> into tensor<1x?x?x3x3xf32>
// CHECK-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0, 1], [2], [3], [4]] : tensor<1x?x?x3x3xf32> into tensor<?x?x3x3xf32>
// CHECK-NEXT:  return %[[R]] : tensor<?x?x3x3xf32>

// TILED-LABEL: func.func @cumulative_rotation_axis0(
// TILED-SAME:    %[[G:[^:]*]]: tensor<?x?x3x3xf32>)
// TILED-DAG:   %[[C1:.*]] = arith.constant 1 : index
// TILED-DAG:   %[[C2:.*]] = arith.constant 2 : index
// TILED-DAG:   %[[C64:.*]] = arith.constant 64 : index
// TILED:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0, 1], [2], [3], [4]] output_shape [1, %{{.*}}, %{{.*}}, 3, 3] : tensor<?x?x3x3xf32> into tensor<1x?x?x3x3xf32>
// TILED-NEXT:  %[[BM:.*]] = tensor.dim %[[EX]], %[[C2]] : tensor<1x?x?x3x3xf32>
// TILED:       %[[TLEN:.*]] = tensor.dim %[[EX]], %[[C1]] : tensor<1x?x?x3x3xf32>
// TILED:       %[[NBLK:.*]] = arith.ceildivui %[[TLEN]], %[[C64]] : index
// TILED:       %[[PH1:.*]]:2 = scf.forall (%[[K:[a-z0-9_]+]], %[[BM1:[a-z0-9_]+]]) in (%[[NBLK]], %[[BM]])
// TILED-NEXT:    %[[START:.*]] = arith.muli %[[K]], %[[C64]] : index
// TILED:         tensor.extract_slice %[[EX]][0, %[[START]], %[[BM1]], 0, 0] [1, %{{.*}}, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<1x?x?x3x3xf32> to tensor<1x?x1x3x3xf32>
// TILED:         scf.for %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x1x3x3xf32>{{(, f32){9}\)}} {
// TILED:       %[[CARRIES:.*]] = scf.forall (%{{[a-z0-9_]+}}) in (%[[BM]])
// TILED:         scf.for %{{.*}} = %{{.*}} to %[[NBLK]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x1x3x3xf32>{{(, f32){9}\)}} {
// TILED:       %[[P5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 64, d2, d3, d5)>, {{.*}} ins(%[[CARRIES]], %[[PH1]]#0 : tensor<1x?x?x3x3xf32>, tensor<1x?x?x3x3xf32>)
// TILED:       %[[R:.*]] = tensor.collapse_shape %[[P5]] {{\[}}[0, 1], [2], [3], [4]] : tensor<1x?x?x3x3xf32> into tensor<?x?x3x3xf32>
// TILED-NEXT:  return %[[R]]

// NOALLOC-LABEL: func.func @cumulative_rotation_axis0(
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x3x3xf32>{{(, f32){9}\)}} {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x3x3xf32>{{(, f32){9}\)}} {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield

// BLOCK8-LABEL: func.func @cumulative_rotation_axis0(
// BLOCK8:       %[[C8:.*]] = arith.constant 8 : index
// BLOCK8:       arith.ceildivui %{{.*}}, %[[C8]] : index
// BLOCK8:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 8, d2, d3, d5)>,

// No loop over the unit A: one over Bm, then the steps with 9 scalars.
// WHOLE-LABEL: func.func @cumulative_rotation_axis0(
// WHOLE:       %[[EX:.*]] = tensor.expand_shape
// WHOLE-NEXT:  %[[BM:.*]] = tensor.dim %[[EX]], %{{.*}} : tensor<1x?x?x3x3xf32>
// WHOLE:       %[[TLEN:.*]] = tensor.dim %[[EX]], %{{.*}} : tensor<1x?x?x3x3xf32>
// WHOLE:       %[[RB:.*]]:2 = scf.for %{{[a-z0-9_]+}} = %{{.*}} to %[[BM]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x?x3x3xf32>, tensor<1x?x3x3xf32>) {
// WHOLE:         scf.for %{{[a-z0-9_]+}} = %{{.*}} to %[[TLEN]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x?x3x3xf32>{{(, f32){9}\)}} {
// WHOLE:       %[[R:.*]] = tensor.collapse_shape %[[RB]]#0 {{\[}}[0, 1], [2], [3], [4]] : tensor<1x?x?x3x3xf32> into tensor<?x?x3x3xf32>
// WHOLE-NEXT:  return %[[R]]
func.func @cumulative_rotation_axis0(%g: tensor<?x?x3x3xf32>) -> tensor<?x?x3x3xf32> {
  %p = rotary.cumulative_rotation %g {axis = 0 : i64} : tensor<?x?x3x3xf32>
  return %p : tensor<?x?x3x3xf32>
}

// -----

// The last axis before [c, c]: no dims after it, so Bm is a unit dim; once
// tiled, phase 1 runs (A, blocks) tasks and phase 2 is parallel over A
// only; c = 4 carries 16 scalars.
// CHECK-LABEL: func.func @cumulative_rotation_last_axis(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<?x?x?x4x4xf32>)
// CHECK-NOT:   scf.
// CHECK:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0], [1], [2], [3, 4], [5]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 1, 4, 4] : tensor<?x?x?x4x4xf32> into tensor<?x?x?x1x4x4xf32>
// CHECK-NEXT:  %[[G5:.*]] = tensor.collapse_shape %[[EX]] {{\[}}[0, 1], [2], [3], [4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x1x4x4xf32>
// CHECK:       %[[A:.*]] = tensor.dim %[[G5]], %{{.*}} : tensor<?x?x1x4x4xf32>
// CHECK:       %[[E0:.*]] = tensor.empty(%[[A]]) : tensor<?x1x4x4xf32>
// CHECK-NEXT:  %[[ID:.*]] = linalg.generic {{.*}} outs(%[[E0]] : tensor<?x1x4x4xf32>)
// CHECK:       } -> tensor<?x1x4x4xf32>
// CHECK:       %[[P0:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x1x4x4xf32>
// CHECK-NEXT:  %[[P:[a-z0-9_]+]], %{{[a-z0-9_]+}} = rotary.rotation_scan ins(%[[G5]] : tensor<?x?x1x4x4xf32>) outs(%[[P0]], %[[ID]] : tensor<?x?x1x4x4xf32>, tensor<?x1x4x4xf32>) -> tensor<?x?x1x4x4xf32>, tensor<?x1x4x4xf32>
// CHECK-NOT:   scf.
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[P]] {{\[}}[0, 1], [2], [3], [4], [5]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 1, 4, 4] : tensor<?x?x1x4x4xf32> into tensor<?x?x?x1x4x4xf32>
// CHECK-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0], [1], [2], [3, 4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x?x4x4xf32>
// CHECK-NEXT:  return %[[R]] : tensor<?x?x?x4x4xf32>

// TILED-LABEL: func.func @cumulative_rotation_last_axis(
// TILED-SAME:    %[[G:[^:]*]]: tensor<?x?x?x4x4xf32>)
// TILED-DAG:   %[[C0:.*]] = arith.constant 0 : index
// TILED-DAG:   %[[C64:.*]] = arith.constant 64 : index
// TILED:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0], [1], [2], [3, 4], [5]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 1, 4, 4] : tensor<?x?x?x4x4xf32> into tensor<?x?x?x1x4x4xf32>
// TILED-NEXT:  %[[G5:.*]] = tensor.collapse_shape %[[EX]] {{\[}}[0, 1], [2], [3], [4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x1x4x4xf32>
// TILED-NEXT:  %[[A:.*]] = tensor.dim %[[G5]], %[[C0]] : tensor<?x?x1x4x4xf32>
// TILED:       %[[NBLK:.*]] = arith.ceildivui %{{.*}}, %[[C64]] : index
// TILED:       %[[PH1:.*]]:2 = scf.forall (%[[A1:[a-z0-9_]+]], %[[K:[a-z0-9_]+]]) in (%[[A]], %[[NBLK]])
// TILED-NEXT:    %[[START:.*]] = arith.muli %[[K]], %[[C64]] : index
// TILED:         tensor.extract_slice %[[G5]][%[[A1]], %[[START]], 0, 0, 0] [1, %{{.*}}, 1, 4, 4] [1, 1, 1, 1, 1] : tensor<?x?x1x4x4xf32> to tensor<1x?x1x4x4xf32>
// TILED:         scf.for %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x1x4x4xf32>{{(, f32){16}\)}} {
// TILED:       %[[CARRIES:.*]] = scf.forall (%{{[a-z0-9_]+}}) in (%[[A]])
// TILED:         scf.for %{{.*}} = %{{.*}} to %[[NBLK]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<1x?x1x4x4xf32>{{(, f32){16}\)}} {
// TILED:       %[[P5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 64, d2, d3, d5)>, {{.*}} ins(%[[CARRIES]], %[[PH1]]#0 : tensor<?x?x1x4x4xf32>, tensor<?x?x1x4x4xf32>)
// TILED:       %[[E:.*]] = tensor.expand_shape %[[P5]] {{\[}}[0, 1], [2], [3], [4], [5]]
// TILED-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0], [1], [2], [3, 4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x?x4x4xf32>
// TILED-NEXT:  return %[[R]]

// NOALLOC-LABEL: func.func @cumulative_rotation_last_axis(
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x4x4xf32>{{(, f32){16}\)}} {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield
// NOALLOC:       scf.forall
// NOALLOC:         scf.for {{.*}} -> (tensor<1x?x1x4x4xf32>{{(, f32){16}\)}} {
// NOALLOC-NOT:       tensor.empty
// NOALLOC-NOT:       bufferization.alloc_tensor
// NOALLOC-NOT:       tensor.from_elements
// NOALLOC:           scf.yield

// BLOCK8-LABEL: func.func @cumulative_rotation_last_axis(
// BLOCK8:       %[[C8:.*]] = arith.constant 8 : index
// BLOCK8:       arith.ceildivui %{{.*}}, %[[C8]] : index
// BLOCK8:       linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 8, d2, d3, d5)>,

// No loop over the unit Bm: one over A, then the steps with 16 scalars.
// WHOLE-LABEL: func.func @cumulative_rotation_last_axis(
// WHOLE:       %[[G5:.*]] = tensor.collapse_shape
// WHOLE-NEXT:  %[[A:.*]] = tensor.dim %[[G5]], %{{.*}} : tensor<?x?x1x4x4xf32>
// WHOLE:       %[[TLEN:.*]] = tensor.dim %[[G5]], %{{.*}} : tensor<?x?x1x4x4xf32>
// WHOLE:       %[[RA:.*]]:2 = scf.for %{{[a-z0-9_]+}} = %{{.*}} to %[[A]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<?x?x1x4x4xf32>, tensor<?x1x4x4xf32>) {
// WHOLE:         scf.for %{{[a-z0-9_]+}} = %{{.*}} to %[[TLEN]] step %{{.*}} iter_args(%{{.*}}) -> (tensor<?x?x1x4x4xf32>{{(, f32){16}\)}} {
// WHOLE:       %[[E:.*]] = tensor.expand_shape %[[RA]]#0
// WHOLE-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0], [1], [2], [3, 4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x?x4x4xf32>
// WHOLE-NEXT:  return %[[R]]
func.func @cumulative_rotation_last_axis(%g: tensor<?x?x?x4x4xf32>) -> tensor<?x?x?x4x4xf32> {
  %p = rotary.cumulative_rotation %g {axis = 2 : i64} : tensor<?x?x?x4x4xf32>
  return %p : tensor<?x?x?x4x4xf32>
}

// -----

// c = 16 > 8 is not unrolled: a column's step is one 16×16 product
// (a linalg.generic, which the CPU schedule may block) into a scratch
// carried with the running product, copied into P's slice and back into
// the running product; the exclusive scan of the totals stores the
// running product before its product. Nothing is allocated per step.
// TILED-LABEL: func.func @cumulative_rotation_large_c(
// TILED:       scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, %{{.*}}) shared_outs(
// TILED:         %[[S:.*]] = linalg.copy ins(%{{.*}} : tensor<16x16xf32>) outs(%[[E:[a-z0-9_]+]] : tensor<16x16xf32>)
// TILED:         scf.for %{{.*}} iter_args(%[[P:[a-z0-9_]+]] = %{{.*}}, %[[RP:[a-z0-9_]+]] = %[[S]], %[[N:[a-z0-9_]+]] = %[[E]]) -> (tensor<1x?x1x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>)
// TILED:           %[[G:.*]] = tensor.extract_slice %{{.*}} : tensor<1x?x1x16x16xf32> to tensor<16x16xf32>
// TILED:           %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[N]] : tensor<16x16xf32>)
// TILED:           %[[M:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[RP]], %[[G]] : tensor<16x16xf32>, tensor<16x16xf32>) outs(%[[Z]] : tensor<16x16xf32>)
// TILED:           %[[W:.*]] = tensor.insert_slice %[[M]] into %[[P]]
// TILED:           %[[C:.*]] = linalg.copy ins(%[[M]] : tensor<16x16xf32>) outs(%[[RP]] : tensor<16x16xf32>)
// TILED:           scf.yield %[[W]], %[[C]], %[[M]]
// TILED:       scf.forall (%{{.*}}) in (%{{.*}}) shared_outs(
// TILED:         scf.for %{{.*}} iter_args(%[[P2:[a-z0-9_]+]] = %{{.*}}, %[[RQ:[a-z0-9_]+]] = %{{.*}}, %{{.*}} = %{{.*}})
// TILED-NEXT:      tensor.insert_slice %[[RQ]] into %[[P2]]
// TILED:       linalg.generic {{.*}}floordiv 64
// NOALLOC-LABEL: func.func @cumulative_rotation_large_c(
// NOALLOC:       scf.for %{{.*}} -> (tensor<1x?x1x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC:         scf.yield
// NOALLOC:       scf.for %{{.*}} -> (tensor<1x?x1x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC:         scf.yield
func.func @cumulative_rotation_large_c(%g: tensor<?x?x16x16xf32>) -> tensor<?x?x16x16xf32> {
  %p = rotary.cumulative_rotation %g {axis = 0 : i64} : tensor<?x?x16x16xf32>
  return %p : tensor<?x?x16x16xf32>
}
