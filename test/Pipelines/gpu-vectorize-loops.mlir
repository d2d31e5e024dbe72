// RUN: rotary-opt %s -rotary-gpu-vectorize-loops -split-input-file | FileCheck %s
// RUN: not rotary-opt %s -rotary-gpu-vectorize-loops=width=3 2>&1 | FileCheck %s --check-prefix=WIDTH

// rotary-gpu-vectorize-loops (lib/Pipelines/GpuVectorizeLoops.cpp): a vector
// form of an element-wise loop along its innermost dimension, run when the
// count and every buffer accessed along it allow aligned vectors.
// WIDTH: error: rotary-gpu-vectorize-loops: width 3 is not a power of 2 in [2, 16]

// CHECK-LABEL: func.func @scale_rows(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x?xf32>, %[[S:[^:]*]]: memref<?xf32>, %[[B:[^:]*]]: memref<?x?xf32>)
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[A]], %c0
// CHECK-DAG:     %[[M:.*]] = memref.dim %[[A]], %c1
// The innermost count is a multiple of 4 ...
// CHECK:         %[[REM:.*]] = arith.remui %[[M]], %[[C4:.*]] : index
// CHECK:         %[[WHOLE:.*]] = arith.cmpi eq, %[[REM]]
// ... and each buffer read or written along it (a and b, not the row
// scales s) has a 16-byte aligned first element, a unit innermost stride
// and rows that start aligned.
// CHECK:         %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %[[STR:.*]]:2 = memref.extract_strided_metadata %[[A]]
// CHECK:         %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK:         %[[OFFB:.*]] = arith.muli %[[OFF]], %{{.*}} : index
// CHECK:         %[[FIRST:.*]] = arith.addi %[[PTR]], %[[OFFB]]
// CHECK:         arith.remui %[[FIRST]], %{{.*}} : index
// CHECK:         arith.cmpi eq, %[[STR]]#1, %{{.*}} : index
// CHECK:         arith.remui %[[STR]]#0, %{{.*}} : index
// CHECK:         memref.extract_strided_metadata %[[B]]
// CHECK-NOT:     memref.extract_strided_metadata %[[S]]
// CHECK:         arith.andi %[[WHOLE]]
// CHECK:         scf.if %{{.*}} {
// CHECK:           %[[QUADS:.*]] = arith.divui %[[M]], %[[C4]]
// CHECK:           scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%[[N]], %[[QUADS]])
// CHECK:             %[[J4:.*]] = arith.muli %[[J]], %[[C4]]
// CHECK:             %[[X:.*]] = vector.load %[[A]][%[[I]], %[[J4]]] {alignment = 16 : i64} : memref<?x?xf32>, vector<4xf32>
// The row's scale is the same for the four lanes: one load, broadcast.
// CHECK:             %[[K:.*]] = memref.load %[[S]][%[[I]]] : memref<?xf32>
// CHECK:             %[[KV:.*]] = vector.broadcast %[[K]] : f32 to vector<4xf32>
// CHECK:             %[[Y:.*]] = arith.mulf %[[X]], %[[KV]] : vector<4xf32>
// CHECK:             vector.store %[[Y]], %[[B]][%[[I]], %[[J4]]] {alignment = 16 : i64} : memref<?x?xf32>, vector<4xf32>
// CHECK:         } else {
// CHECK:           scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[N]], %[[M]])
// CHECK:             memref.load %[[A]]
// CHECK-NOT:         vector.
// CHECK:         return
func.func @scale_rows(%a: memref<?x?xf32>, %s: memref<?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<?x?xf32>
    %k = memref.load %s[%i] : memref<?xf32>
    %y = arith.mulf %x, %k : f32
    memref.store %y, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// The index used in arithmetic (a value per lane, not a contiguous access):
// left alone.
// CHECK-LABEL: func.func @index_as_value(
// CHECK-NOT:     scf.if
// CHECK-NOT:     vector.
// CHECK:         scf.parallel
func.func @index_as_value(%b: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %b, %c0 : memref<?xf32>
  scf.parallel (%j) = (%c0) to (%n) step (%c1) {
    %i = arith.index_cast %j : index to i32
    %f = arith.sitofp %i : i32 to f32
    memref.store %f, %b[%j] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// A store every lane would make to the same element: left alone.
// CHECK-LABEL: func.func @same_element(
// CHECK-NOT:     vector.
func.func @same_element(%a: memref<?xf32>, %b: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.parallel (%j) = (%c0) to (%n) step (%c1) {
    %x = memref.load %a[%j] : memref<?xf32>
    memref.store %x, %b[%c0] : memref<1xf32>
    scf.reduce
  }
  return
}

// -----

// The innermost dimension not starting at 0 (a peeled loop): left alone.
// CHECK-LABEL: func.func @offset_start(
// CHECK-NOT:     vector.
func.func @offset_start(%a: memref<?xf32>, %b: memref<?xf32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.parallel (%j) = (%c1) to (%n) step (%c1) {
    %x = memref.load %a[%j] : memref<?xf32>
    memref.store %x, %b[%j] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// Booleans (i1) have no byte size to align vectors of: left alone.
// CHECK-LABEL: func.func @booleans(
// CHECK-NOT:     vector.
func.func @booleans(%a: memref<?xi1>, %b: memref<?xi1>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xi1>
  scf.parallel (%j) = (%c0) to (%n) step (%c1) {
    %x = memref.load %a[%j] : memref<?xi1>
    memref.store %x, %b[%j] : memref<?xi1>
    scf.reduce
  }
  return
}


// -----

// A buffer whose innermost dimension is strided (one angle of every chunk,
// a view at stride 6) has no vector form: vector.load needs a contiguous
// innermost dimension.
// CHECK-LABEL: func.func @strided_innermost(
// CHECK-NOT:     scf.if
// CHECK-NOT:     vector.
// CHECK:         scf.parallel
func.func @strided_innermost(%a: memref<?x?xf32, strided<[?, 6]>>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %b, %c0 : memref<?x?xf32>
  %m = memref.dim %b, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<?x?xf32, strided<[?, 6]>>
    memref.store %x, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}
