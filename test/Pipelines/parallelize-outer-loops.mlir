// RUN: rotary-opt %s -rotary-parallelize-outer-loops -canonicalize -cse -split-input-file | FileCheck %s

#id1 = affine_map<(i) -> (i)>

// A one-dimensional elementwise op: a parallel loop over blocks of 2048
// elements, and one block as an inner loop marked parallel for LLVM (its
// iterations are independent, so no run-time overlap checks are needed
// when the kernel is called in place).
// CHECK:       #[[GROUP:.*]] = #llvm.access_group<id = distinct[{{.*}}]<>>
// CHECK:       #[[ANN:.*]] = #llvm.loop_annotation<parallelAccesses = #[[GROUP]]>
// CHECK-LABEL: func.func @one_dim(
// CHECK-SAME:      %[[A:.*]]: memref<?xf32>, %[[B:.*]]: memref<?xf32>)
// CHECK-DAG:     %[[BLOCK:.*]] = arith.constant 2048 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[N:.*]] = memref.dim %[[A]], %[[C0]]
// CHECK:         scf.parallel (%[[I:.*]]) = (%[[C0]]) to (%[[N]]) step (%[[BLOCK]]) {
// CHECK-NEXT:      %[[NEXT:.*]] = arith.addi %[[I]], %[[BLOCK]]
// CHECK-NEXT:      %[[END:.*]] = arith.minsi %[[NEXT]], %[[N]]
// CHECK-NEXT:      scf.for %[[J:.*]] = %[[I]] to %[[END]] step %[[C1]] {
// CHECK-NEXT:        memref.load %[[A]][%[[J]]]
// CHECK-NEXT:        arith.mulf
// CHECK-NEXT:        memref.store %{{.*}}, %[[B]][%[[J]]]
// CHECK-NEXT:      } {loop_annotation = #[[ANN]]}
func.func @one_dim(%a: memref<?xf32>, %b: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%a : memref<?xf32>) outs(%b : memref<?xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.mulf %x, %x : f32
    linalg.yield %z : f32
  }
  return
}

// -----

#id3 = affine_map<(i, j, k) -> (i, j, k)>

// Three dims: the outer two in parallel, the innermost marked.
// CHECK:       #[[ANN:.*]] = #llvm.loop_annotation<parallelAccesses =
// CHECK-LABEL: func.func @three_dims(
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) =
// CHECK-NEXT:      scf.for
// CHECK:           } {loop_annotation = #[[ANN]]}
// CHECK-NEXT:      scf.reduce
func.func @three_dims(%a: memref<?x?x?xf32>, %b: memref<?x?x?xf32>) {
  linalg.generic {indexing_maps = [#id3, #id3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : memref<?x?x?xf32>) outs(%b : memref<?x?x?xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %x : f32
    linalg.yield %z : f32
  }
  return
}

// -----

#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>

// A reduction: the parallel dim runs in parallel, the reduction loop
// (whose iterations update one element) is not marked.
// CHECK-NOT:   loop_annotation
// CHECK-LABEL: func.func @row_sums(
// CHECK:         scf.parallel
// CHECK:           scf.for
// CHECK-NOT:       loop_annotation
// CHECK:         return
func.func @row_sums(%a: memref<?x?xf32>, %b: memref<?xf32>) {
  linalg.generic {indexing_maps = [#in, #out],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x?xf32>) outs(%b : memref<?xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    linalg.yield %z : f32
  }
  return
}
