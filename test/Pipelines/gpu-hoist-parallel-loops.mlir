// RUN: rotary-opt %s -rotary-gpu-hoist-parallel-loops -split-input-file | FileCheck %s

// rotary-gpu-hoist-parallel-loops (lib/Pipelines/GpuSchedule.cpp): the
// sequential loops of a reduction move inside the parallel loop over what
// it keeps, and a thread's running sum stays in a register across them.

// CHECK-LABEL: func.func @sum_rows(
// CHECK-SAME:    %[[X:[^:]*]]: memref<?x?x?xf64>, %[[ACC:[^:]*]]: memref<?xf64>)
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK-NEXT:      %[[INIT:.*]] = memref.load %[[ACC]][%[[I]]]
// CHECK-NEXT:      %[[S:.*]] = scf.for %[[B:.*]] = {{.*}} iter_args(%[[A0:.*]] = %[[INIT]]) -> (f64) {
// CHECK-NEXT:        %[[T:.*]] = scf.for %[[R:.*]] = {{.*}} iter_args(%[[A1:.*]] = %[[A0]]) -> (f64) {
// CHECK-NEXT:          %[[V:.*]] = memref.load %[[X]][%[[B]], %[[R]], %[[I]]]
// CHECK-NEXT:          %[[N:.*]] = arith.addf %[[V]], %[[A1]]
// CHECK-NEXT:          scf.yield %[[N]]
// CHECK:             scf.yield %[[T]]
// CHECK:           memref.store %[[S]], %[[ACC]][%[[I]]]
// CHECK-NOT:     scf.parallel
func.func @sum_rows(%x: memref<?x?x?xf64>, %acc: memref<?xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %nb = memref.dim %x, %c0 : memref<?x?x?xf64>
  %nr = memref.dim %x, %c1 : memref<?x?x?xf64>
  %ni = memref.dim %x, %c2 : memref<?x?x?xf64>
  scf.for %b = %c0 to %nb step %c1 {
    scf.for %r = %c0 to %nr step %c1 {
      scf.parallel (%i) = (%c0) to (%ni) step (%c1) {
        %v = memref.load %x[%b, %r, %i] : memref<?x?x?xf64>
        %a = memref.load %acc[%i] : memref<?xf64>
        %s = arith.addf %v, %a : f64
        memref.store %s, %acc[%i] : memref<?xf64>
        scf.reduce
      }
    }
  }
  return
}

// -----

// Iteration i reads what iteration i - 1 wrote: not hoisted.
// CHECK-LABEL: func.func @neighbour(
// CHECK:         scf.for
// CHECK-NEXT:      scf.parallel
func.func @neighbour(%acc: memref<?xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c1) to (%n) step (%c1) {
      %j = arith.subi %i, %c1 : index
      %a = memref.load %acc[%j] : memref<?xf64>
      memref.store %a, %acc[%i] : memref<?xf64>
      scf.reduce
    }
  }
  return
}

// -----

// A store not indexed by the parallel variable (every iteration writes
// the same element): not hoisted.
// CHECK-LABEL: func.func @same_element(
// CHECK:         scf.for
// CHECK-NEXT:      scf.parallel
func.func @same_element(%x: memref<?xf64>, %out: memref<?xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %k = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %v = memref.load %x[%i] : memref<?xf64>
      memref.store %v, %out[%k] : memref<?xf64>
      scf.reduce
    }
  }
  return
}

// -----

// Bounds computed inside the sequential loop: not hoisted.
// CHECK-LABEL: func.func @inner_bounds(
// CHECK:         scf.for
// CHECK:           scf.parallel
func.func @inner_bounds(%x: memref<?x?xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f64
  scf.for %k = %c0 to %n step %c1 {
    %m = arith.addi %k, %c1 : index
    scf.parallel (%i) = (%c0) to (%m) step (%c1) {
      memref.store %z, %x[%k, %i] : memref<?x?xf64>
      scf.reduce
    }
  }
  return
}

// -----

// Two views of one buffer, a row apart: iteration i writes row 1 of
// column i through one and row 0 through the other, which overlap across
// rows of the sequential loop; not hoisted.
// CHECK-LABEL: func.func @two_views(
// CHECK:         scf.for
// CHECK-NEXT:      scf.parallel
func.func @two_views(%x: memref<?x?xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f64
  %a = memref.subview %x[0, 0] [%n, %n] [1, 1] : memref<?x?xf64> to memref<?x?xf64, strided<[?, 1]>>
  %b = memref.subview %x[1, 0] [%n, %n] [1, 1] : memref<?x?xf64> to memref<?x?xf64, strided<[?, 1], offset: ?>>
  scf.for %k = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %z, %a[%k, %i] : memref<?x?xf64, strided<[?, 1]>>
      memref.store %z, %b[%k, %i] : memref<?x?xf64, strided<[?, 1], offset: ?>>
      scf.reduce
    }
  }
  return
}
