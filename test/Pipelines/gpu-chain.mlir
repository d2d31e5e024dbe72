// RUN: rotary-opt %s --rotary-gpu-pipeline="map=false" | FileCheck %s

// Givens chains and their gradient on the GPU schedule
// (rotary-gpu-configure records {rows = 64, row_threads = 1} at D = 64, a
// group of rows per block): the group's rows transposed into a padded
// column-major tile [D, 65] (shared memory once mapped), a thread per row
// running the whole chain on its column, the rows written back. gpu-ptxas.test compiles these kernels;
// the e2e tests run these loops on the CPU.

// The chain over every row (the folded form, the chain over the identity
// and x·Q, is the other branch of the cost model's test).
// CHECK-LABEL: func.func @givens(
// CHECK:         scf.parallel (%[[G:.*]]) = (%c0) to (%{{.*}}) step (%c64) {
// CHECK:           %[[ROWS:.*]] = affine.min
// CHECK:           %[[T:.*]] = memref.alloc() {{.*}} : memref<64x65xf32>
// CHECK:           %[[TILE:.*]] = memref.subview %[[T]][0, 0] [64, %[[ROWS]]] [1, 1]
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%[[ROWS]], %c64)
// CHECK:             memref.store %{{.*}}, %[[TILE]]
// CHECK:           scf.parallel (%[[R:.*]]) = (%c0) to (%[[ROWS]]) step (%c1) {
// CHECK:             %[[COL:.*]] = memref.subview %[[TILE]][0, %[[R]]] [64, 1] [1, 1]
// CHECK:             scf.for %{{.*}} = %c0 to %c2016 step %c1 {
// CHECK:               memref.load %[[COL]]
// CHECK:               memref.load %[[COL]]
// CHECK:               memref.store %{{.*}}, %[[COL]]
// CHECK:               memref.store %{{.*}}, %[[COL]]
// CHECK:             }
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%[[ROWS]], %c64)
// CHECK:             memref.load %[[TILE]]
// CHECK-NOT:       memref.alloc
// CHECK:           scf.reduce
func.func @givens(%x: tensor<?x64xf32>, %a: tensor<2016xf32>) -> tensor<?x64xf32> {
  %y = rotary.givens %x, %a : tensor<?x64xf32>, tensor<2016xf32>
  return %y : tensor<?x64xf32>
}

// Its gradient at D = 64 ({rows = 64, row_threads = 1, steps = 32}): a
// block per group of rows, the x and ȳ rows in the two planes of one
// [2, 64, 65] buffer, the chain forward a thread per row on the x plane;
// then the 63 rotations backwards in two chunks of at most 32, in which
// each row's thread undoes them on its x column and turns its ȳ column
// (both one [2, 64] view, in place) and writes its terms of φ̄ into a
// [32, 65] tile, then a thread per rotation sums them over the rows in
// f64 into the group's partial sums; x̄ written from the ȳ plane. The
// groups' partial sums are merged after the loop.
// CHECK-LABEL: func.func @givens_grad(
// CHECK:         %[[PART:.*]] = memref.alloc(%{{.*}}) {{.*}} : memref<?x1x63xf64>
// CHECK:         scf.parallel (%[[G:.*]]) = (%c0) to (%{{.*}}) step (%c64) {
// CHECK:           %[[ROWS:.*]] = affine.min
// CHECK:           %[[SUMS:.*]] = memref.subview %[[PART]]
// CHECK:           %[[TILES:.*]] = memref.alloc() {{.*}} : memref<2x64x65xf32>
// CHECK:           %[[XT:.*]] = memref.subview %[[TILES]][0, 0, 0] [1, 64, %[[ROWS]]] [1, 1, 1]
// CHECK:           %[[GT:.*]] = memref.subview %[[TILES]][1, 0, 0] [1, 64, %[[ROWS]]] [1, 1, 1]
// CHECK:           scf.parallel (%{{.*}}) = (%c0) to (%[[ROWS]]) step (%c1) {
// CHECK:             scf.for %{{.*}} = %c0 to %c63 step %c1 {
// CHECK:           %[[TA:.*]] = memref.alloc() {{.*}} : memref<32x65xf32>
// CHECK:           scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK:             arith.maxsi
// CHECK-NEXT:        %[[COUNT:.*]] = arith.subi
// CHECK:             scf.parallel (%[[R:.*]]) = (%c0) to (%[[ROWS]]) step (%c1) {
// CHECK-NEXT:          %[[COLS:.*]] = memref.subview %[[TILES]][0, 0, %[[R]]] [2, 64, 1] [1, 1, 1]
// CHECK-NEXT:          %[[TCOL:.*]] = memref.subview %[[TA]][0, %[[R]]] [%[[COUNT]], 1] [1, 1]
// CHECK-NOT:           memref.alloc
// CHECK:               scf.for %{{.*}} = %c0 to %[[COUNT]] step %c1 {
// CHECK:                 memref.store %{{.*}}, %[[COLS]]
// CHECK:                 memref.store %{{.*}}, %[[TCOL]]
// CHECK:             %[[ACC:.*]] = memref.subview %[[SUMS]][0, %{{.*}}] [1, %[[COUNT]]]
// CHECK:             %[[USED:.*]] = memref.subview %[[TA]][0, 0] [%[[COUNT]], %[[ROWS]]]
// CHECK:             scf.parallel (%[[K:.*]]) = (%c0) to (%[[COUNT]]) step (%c1) {
// CHECK:               scf.for %{{.*}} = %c0 to %[[ROWS]] step %c1 iter_args(%{{.*}}) -> (f64) {
// CHECK:                 memref.load %[[USED]][%[[K]], %{{.*}}]
// CHECK:                 arith.extf %{{.*}} : f32 to f64
// CHECK:               memref.store %{{.*}}, %[[ACC]][%[[K]]]
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%[[ROWS]], %c64)
// CHECK:             memref.load %[[GT]]
// CHECK:         scf.parallel (%{{.*}}) = (%c0) to (%c63) step (%c1) {
// CHECK:           memref.load %[[PART]]
func.func @givens_grad(%x: tensor<?x64xf32>, %a: tensor<63xf32>, %dy: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<63xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x64xf32>, tensor<63xf32>
  return %dx, %da : tensor<?x64xf32>, tensor<63xf32>
}

// At most 32 rotations: one chunk, whose loop canonicalization removes;
// the row threads still update their [2, 8] columns in place (no private
// copy of a column in a thread, which the mapping could not place). Twenty
// rotations at D = 8: the cost model keeps the chain at any row count (at
// 28 it folds from 34 rows, a run-time test with the fold as its other
// branch).
// CHECK-LABEL: func.func @givens_grad_one_chunk(
// CHECK:         %[[TILES:.*]] = memref.alloc() {{.*}} : memref<2x8x65xf32>
// CHECK:         memref.alloc() {{.*}} : memref<32x65xf32>
// CHECK-NEXT:    scf.parallel (%[[R:.*]]) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT:      %[[COLS:.*]] = memref.subview %[[TILES]][0, 0, %[[R]]] [2, 8, 1] [1, 1, 1]
// CHECK-NEXT:      memref.subview
// CHECK-NOT:       memref.alloc
// CHECK:           scf.for %{{.*}} = %c0 to %c20 step %c1 {
// CHECK:             memref.store %{{.*}}, %[[COLS]]
func.func @givens_grad_one_chunk(%x: tensor<?x8xf32>, %a: tensor<20xf32>,
                                 %dy: tensor<?x8xf32>)
    -> (tensor<?x8xf32>, tensor<20xf32>) {
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x8xf32>, tensor<20xf32>
  return %dx, %da : tensor<?x8xf32>, tensor<20xf32>
}

// A rotation block (rope, a chain of 100 rotations per head, x·R per head
// with a bf16 R), on the side of the cost model's test that runs the chain
// on the rows (the other folds it): with a matrix, 32 rows per group, so
// that the tile [128, 33] and a product [32, 128] fit in 48 KiB; y = t·R
// is a thread per output element summing over the features, written
// straight into the f32 output.
// CHECK-LABEL: func.func @block(
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c4) step (%c32, %c1) {
// CHECK:           %[[T:.*]] = memref.alloc() {{.*}} : memref<128x33xf32>
// CHECK:           scf.for %{{.*}} = %c0 to %c100 step %c1 {
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c128)
// CHECK:             scf.for %{{.*}} = %c0 to %c128 step %c1 iter_args
// CHECK:               arith.extf
// CHECK:               math.fma
// CHECK:           memref.dealloc %[[T]]
func.func @block(%x: tensor<?x?x4x128xf32>, %a: tensor<4x100xf32>,
                 %r: tensor<4x128x128xbf16>, %pos: tensor<?xi64>)
    -> tensor<?x?x4x128xf32> {
  %y = rotary.rotation_block %x, %a, %r rope(%pos : tensor<?xi64>)
      pairs = [(0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12),
               (0, 1), (2, 3), (1, 2), (0, 3), (4, 127), (5, 6), (64, 65), (7, 8), (9, 10), (11, 12)]
      layout = half : tensor<?x?x4x128xf32>, tensor<4x100xf32>, tensor<4x128x128xbf16>
  return %y : tensor<?x?x4x128xf32>
}
