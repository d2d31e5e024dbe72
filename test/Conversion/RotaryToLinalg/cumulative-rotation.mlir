// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file | FileCheck %s --check-prefix=NOALLOC

// Lowering of rotary.cumulative_rotation, P_t = G_1·G_2⋯G_t along `axis`
// (lib/Conversion/RotaryToLinalg/LowerHDD.cpp): G is viewed as
// [A, T, Bm, c, c] (dims before the axis, the axis, dims after), then a
// blocked scan:
//   1. one scf.forall task per (a, block of 64 steps, bm) computes the
//      block's local products sequentially;
//   2. one task per (a, bm) walks the blocks, carrying the product of the
//      previous blocks' totals in c² scalars;
//   3. a parallel fix-up P_t = carry[t floordiv 64]·local_t.
// The NOALLOC lines check that the per-step loops allocate nothing.

// CHECK-LABEL: func.func @cumulative_rotation(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<2x?x8x16x2x2xf32>)
// CHECK-NOT:   rotary.
// CHECK:       %[[G5:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3], [4], [5]] : tensor<2x?x8x16x2x2xf32> into tensor<2x?x128x2x2xf32>
// CHECK:       %[[TLEN:.*]] = tensor.dim %[[G5]], %c1{{.*}} : tensor<2x?x128x2x2xf32>
// CHECK:       %[[NBLK:.*]] = arith.ceildivui %[[TLEN]], %c64 : index
// Phase 1.
// CHECK:       %[[LOCAL:.*]] = scf.forall (%[[A1:[a-z0-9_]+]], %[[K:[a-z0-9_]+]], %[[BM1:[a-z0-9_]+]]) in (2, %[[NBLK]], 128) shared_outs(%[[LOUT:[a-z0-9_]+]] = %{{.*}}) -> (tensor<2x?x128x2x2xf32>) {
// CHECK-NEXT:    %[[START:.*]] = arith.muli %[[K]], %c64 : index
// CHECK-NEXT:    %[[END0:.*]] = arith.addi %[[START]], %c64 : index
// CHECK-NEXT:    %[[END:.*]] = arith.minui %[[END0]], %[[TLEN]] : index
// CHECK-NEXT:    %[[LEN:.*]] = arith.subi %[[END]], %[[START]] : index
// CHECK-NEXT:    %[[TILE:.*]] = tensor.empty(%[[LEN]]) : tensor<?x2x2xf32>
// CHECK-NEXT:    %[[SCAN:.*]] = scf.for %[[T:[a-z0-9_]+]] = %{{.*}} to %[[LEN]] step %{{.*}} iter_args(%[[ACC:[a-z0-9_]+]] = %[[TILE]]) -> (tensor<?x2x2xf32>) {
// CHECK-NEXT:      %[[TG:.*]] = arith.addi %[[START]], %[[T]] : index
// CHECK:           %[[G00:.*]] = tensor.extract %[[G5]][%[[A1]], %[[TG]], %[[BM1]], %c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<2x?x128x2x2xf32>
// CHECK:           %[[G01:.*]] = tensor.extract %[[G5]][%[[A1]], %[[TG]], %[[BM1]], %c0{{[_0-9]*}}, %c1{{[_0-9]*}}] : tensor<2x?x128x2x2xf32>
// CHECK:           %[[G10:.*]] = tensor.extract %[[G5]][%[[A1]], %[[TG]], %[[BM1]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<2x?x128x2x2xf32>
// The first step of a block takes G_t; later ones local_{t-1}·G_t.
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0{{[_0-9]*}} : index
// CHECK-NEXT:      %[[TM1:.*]] = arith.subi %[[T]], %c1{{[_0-9]*}} : index
// CHECK-NEXT:      %[[PREV:.*]] = arith.select %[[FIRST]], %c0{{[_0-9]*}}, %[[TM1]] : index
// CHECK:           %[[L00:.*]] = tensor.extract %[[ACC]][%[[PREV]], %c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<?x2x2xf32>
// CHECK:           %[[L01:.*]] = tensor.extract %[[ACC]][%[[PREV]], %c0{{[_0-9]*}}, %c1{{[_0-9]*}}] : tensor<?x2x2xf32>
// CHECK:           %[[M0:.*]] = arith.mulf %[[L00]], %[[G00]] : f32
// CHECK-NEXT:      %[[M1:.*]] = arith.mulf %[[L01]], %[[G10]] : f32
// CHECK-NEXT:      %[[P00:.*]] = arith.addf %[[M0]], %[[M1]] : f32
// CHECK:           %[[S00:.*]] = arith.select %[[FIRST]], %[[G00]], %[[P00]] : f32
// CHECK-NEXT:      arith.select %[[FIRST]], %[[G01]], %{{.*}} : f32
// CHECK:           %[[W:.*]] = tensor.insert %[[S00]] into %[[ACC]][%[[T]], %c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<?x2x2xf32>
// CHECK-COUNT-3:   tensor.insert %{{.*}}[%[[T]], %{{.*}}, %{{.*}}] : tensor<?x2x2xf32>
// CHECK-NEXT:      scf.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[SCAN]] into %[[LOUT]][%[[A1]], %[[START]], %[[BM1]], 0, 0] [1, %[[LEN]], 1, 2, 2] [1, 1, 1, 1, 1]
// Phase 2: the carry starts as the identity; it is stored for block k, then
// multiplied by block k's total, its last local product at min((k+1)·64, T)−1.
// CHECK:       %[[CARRIES:.*]] = scf.forall (%[[A2:[a-z0-9_]+]], %[[BM2:[a-z0-9_]+]]) in (2, 128) shared_outs(%[[COUT:[a-z0-9_]+]] = %{{.*}}) -> (tensor<2x?x128x2x2xf32>) {
// CHECK-NEXT:    %[[COL:.*]] = tensor.empty(%[[NBLK]]) : tensor<?x2x2xf32>
// CHECK-NEXT:    %[[I00:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[I01:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[I10:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[I11:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[CS:.*]]:5 = scf.for %[[KB:[a-z0-9_]+]] = %{{.*}} to %[[NBLK]] step %{{.*}} iter_args(%[[CC:[a-z0-9_]+]] = %[[COL]], %[[C00:[a-z0-9_]+]] = %[[I00]], %[[C01:[a-z0-9_]+]] = %[[I01]], %{{.*}} = %[[I10]], %{{.*}} = %[[I11]]) -> (tensor<?x2x2xf32>, f32, f32, f32, f32) {
// CHECK:           tensor.insert %[[C00]] into %[[CC]][%[[KB]], %c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<?x2x2xf32>
// CHECK:           %[[KB1:.*]] = arith.addi %[[KB]], %{{.*}} : index
// CHECK-NEXT:      %[[KE:.*]] = arith.muli %[[KB1]], %c64 : index
// CHECK-NEXT:      %[[KE2:.*]] = arith.minui %[[KE]], %[[TLEN]] : index
// CHECK-NEXT:      %[[LAST:.*]] = arith.subi %[[KE2]], %c1{{[_0-9]*}} : index
// CHECK:           %[[T00:.*]] = tensor.extract %[[LOCAL]][%[[A2]], %[[LAST]], %[[BM2]], %c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<2x?x128x2x2xf32>
// CHECK:           %[[T10:.*]] = tensor.extract %[[LOCAL]][%[[A2]], %[[LAST]], %[[BM2]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<2x?x128x2x2xf32>
// CHECK:           %[[N0:.*]] = arith.mulf %[[C00]], %[[T00]] : f32
// CHECK-NEXT:      %[[N1:.*]] = arith.mulf %[[C01]], %[[T10]] : f32
// CHECK-NEXT:      %[[N00:.*]] = arith.addf %[[N0]], %[[N1]] : f32
// CHECK:           scf.yield %{{.*}}, %[[N00]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x2xf32>, f32, f32, f32, f32
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[CS]]#0 into %[[COUT]][%[[A2]], 0, %[[BM2]], 0, 0] [1, %[[NBLK]], 1, 2, 2] [1, 1, 1, 1, 1]
// Phase 3: all loops parallel except the contraction k (innermost).
// CHECK:       %[[P5:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 64, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[CARRIES]], %[[LOCAL]] : tensor<2x?x128x2x2xf32>, tensor<2x?x128x2x2xf32>)
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[P5]] {{\[}}[0], [1], [2, 3], [4], [5]] output_shape [2, %{{.*}}, 8, 16, 2, 2] : tensor<2x?x128x2x2xf32> into tensor<2x?x8x16x2x2xf32>
// CHECK-NEXT:  %[[R:.*]] = tensor.collapse_shape %[[E]]
// CHECK-NEXT:  return %[[R]]
// NOALLOC-LABEL: func.func @cumulative_rotation(
// NOALLOC:       scf.for %{{.*}} -> (tensor<?x2x2xf32>) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC-NOT:     tensor.from_elements
// NOALLOC:         scf.yield %{{.*}} : tensor<?x2x2xf32>
// NOALLOC:       scf.for %{{.*}} -> (tensor<?x2x2xf32>, f32, f32, f32, f32) {
// NOALLOC-NOT:     tensor.empty
// NOALLOC-NOT:     bufferization.alloc_tensor
// NOALLOC-NOT:     tensor.from_elements
// NOALLOC:         scf.yield %{{.*}} : tensor<?x2x2xf32>, f32, f32, f32, f32
func.func @cumulative_rotation(%g: tensor<2x?x8x16x2x2xf32>) -> tensor<2x?x8x16x2x2xf32> {
  %p = rotary.cumulative_rotation %g : tensor<2x?x8x16x2x2xf32>
  return %p : tensor<2x?x8x16x2x2xf32>
}

// -----

// axis = 0: no dims before the axis, so A is a unit dim added by an expand;
// phase 1 runs (1, blocks, Bm) tasks, phase 2 (1, Bm); c = 3 carries 9 scalars.
// CHECK-LABEL: func.func @cumulative_rotation_axis0(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<?x?x3x3xf32>)
// CHECK:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0, 1], [2], [3], [4]] output_shape [1, %{{.*}}, %{{.*}}, 3, 3] : tensor<?x?x3x3xf32> into tensor<1x?x?x3x3xf32>
// CHECK:       %[[BM:.*]] = tensor.dim %{{.*}}, %c2 : tensor<1x?x?x3x3xf32>
// CHECK:       %[[NBLK:.*]] = arith.ceildivui
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, %[[NBLK]], %[[BM]])
// CHECK:         scf.for %{{.*}} -> (tensor<?x3x3xf32>)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (1, %[[BM]])
// CHECK:         scf.for %{{.*}} -> (tensor<?x3x3xf32>, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       linalg.generic {{.*}}floordiv 64
// CHECK:       %[[R:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2], [3], [4]] : tensor<1x?x?x3x3xf32> into tensor<?x?x3x3xf32>
// CHECK-NEXT:  return %[[R]]
func.func @cumulative_rotation_axis0(%g: tensor<?x?x3x3xf32>) -> tensor<?x?x3x3xf32> {
  %p = rotary.cumulative_rotation %g {axis = 0 : i64} : tensor<?x?x3x3xf32>
  return %p : tensor<?x?x3x3xf32>
}

// -----

// The last axis before [c, c]: no dims after it, so Bm is a unit dim and
// phase 2 is parallel over A only.
// CHECK-LABEL: func.func @cumulative_rotation_last_axis(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<?x?x?x4x4xf32>)
// CHECK:       %[[EX:.*]] = tensor.expand_shape %[[G]] {{\[}}[0], [1], [2], [3, 4], [5]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 1, 4, 4] : tensor<?x?x?x4x4xf32> into tensor<?x?x?x1x4x4xf32>
// CHECK-NEXT:  %[[G5:.*]] = tensor.collapse_shape %[[EX]] {{\[}}[0, 1], [2], [3], [4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x1x4x4xf32>
// CHECK:       %[[A:.*]] = tensor.dim %[[G5]], %c0{{.*}} : tensor<?x?x1x4x4xf32>
// CHECK:       %[[NBLK:.*]] = arith.ceildivui
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%[[A]], %[[NBLK]], 1)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (%[[A]], 1)
// CHECK:         scf.for %{{.*}} -> (tensor<?x4x4xf32>, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       linalg.generic {{.*}}floordiv 64
// CHECK:       %[[R:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2], [3, 4], [5]] : tensor<?x?x?x1x4x4xf32> into tensor<?x?x?x4x4xf32>
// CHECK-NEXT:  return %[[R]]
func.func @cumulative_rotation_last_axis(%g: tensor<?x?x?x4x4xf32>) -> tensor<?x?x?x4x4xf32> {
  %p = rotary.cumulative_rotation %g {axis = 2 : i64} : tensor<?x?x?x4x4xf32>
  return %p : tensor<?x?x?x4x4xf32>
}
