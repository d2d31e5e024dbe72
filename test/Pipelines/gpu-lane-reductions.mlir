// RUN: rotary-opt %s -rotary-gpu-lane-reductions -split-input-file | FileCheck %s

// rotary-gpu-lane-reductions (lib/Pipelines/GpuSchedule.cpp): a thread's
// long sum becomes 32 interleaved partial sums, one per lane of a warp,
// combined by an scf.reduce; the initial value is added after.

// CHECK-LABEL: func.func @column_sums(
// CHECK-SAME:    %[[X:[^:]*]]: memref<?x?xf64>, %[[ACC:[^:]*]]: memref<?xf64>
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           %[[INIT:.*]] = memref.load %[[ACC]][%[[I]]]
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-DAG:       %[[C32:.*]] = arith.constant 32 : index
// CHECK:           %[[P:.*]] = scf.parallel (%[[LANE:.*]]) = (%{{.*}}) to (%[[C32]]) step (%{{.*}}) init (%[[ZERO]]) -> f64 {
// CHECK:             %[[OFF:.*]] = arith.muli %[[LANE]], %[[STEP:[^ ]*]]
// CHECK:             %[[FIRST:.*]] = arith.addi %{{.*}}, %[[OFF]]
// CHECK:             %[[STRIDE:.*]] = arith.muli %[[STEP]], %[[C32]]
// CHECK:             %[[PART:.*]] = scf.for %[[J:.*]] = %[[FIRST]] to %{{.*}} step %[[STRIDE]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (f64) {
// CHECK:               %[[V:.*]] = memref.load %[[X]][%[[J]], %[[I]]]
// CHECK:               %[[N:.*]] = arith.addf %[[V]], %[[A]]
// CHECK:               scf.yield %[[N]]
// CHECK:             scf.reduce(%[[PART]] : f64) {
// CHECK:               arith.addf
// CHECK:           %[[SUM:.*]] = arith.addf %[[INIT]], %[[P]]
// CHECK:           memref.store %[[SUM]], %[[ACC]][%[[I]]]
func.func @column_sums(%x: memref<?x?xf64>, %acc: memref<?xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?x?xf64>
  %m = memref.dim %x, %c1 : memref<?x?xf64>
  scf.parallel (%i) = (%c0) to (%m) step (%c1) {
    %init = memref.load %acc[%i] : memref<?xf64>
    %s = scf.for %j = %c0 to %n step %c1 iter_args(%a = %init) -> (f64) {
      %v = memref.load %x[%j, %i] : memref<?x?xf64>
      %t = arith.addf %v, %a : f64
      scf.yield %t : f64
    }
    memref.store %s, %acc[%i] : memref<?xf64>
    scf.reduce
  }
  return
}

// -----

// What stays a thread's own loop: a known count below 64, a loop that
// writes memory, two sums, and a loop inside a tile.
// CHECK-LABEL: func.func @kept(
// CHECK-NOT:     init (
// CHECK:         return
func.func @kept(%x: memref<?x?xf64>, %acc: memref<?xf64>, %out: memref<?x?xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c48 = arith.constant 48 : index
  %n = memref.dim %x, %c0 : memref<?x?xf64>
  %m = memref.dim %x, %c1 : memref<?x?xf64>
  scf.parallel (%i) = (%c0) to (%m) step (%c1) {
    %init = memref.load %acc[%i] : memref<?xf64>
    %short = scf.for %j = %c0 to %c48 step %c1 iter_args(%a = %init) -> (f64) {
      %v = memref.load %x[%j, %i] : memref<?x?xf64>
      %t = arith.addf %v, %a : f64
      scf.yield %t : f64
    }
    %writes = scf.for %j = %c0 to %n step %c1 iter_args(%a = %short) -> (f64) {
      %v = memref.load %x[%j, %i] : memref<?x?xf64>
      memref.store %a, %out[%j, %i] : memref<?x?xf64>
      %t = arith.addf %v, %a : f64
      scf.yield %t : f64
    }
    %two:2 = scf.for %j = %c0 to %n step %c1 iter_args(%a = %writes, %b = %writes) -> (f64, f64) {
      %v = memref.load %x[%j, %i] : memref<?x?xf64>
      %t = arith.addf %v, %a : f64
      %u = arith.mulf %v, %b : f64
      scf.yield %t, %u : f64, f64
    }
    memref.store %two#1, %acc[%i] : memref<?xf64>
    scf.reduce
  }
  scf.parallel (%t) = (%c0) to (%m) step (%c1) {
    scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
      %init = memref.load %acc[%t] : memref<?xf64>
      %s = scf.for %j = %c0 to %n step %c1 iter_args(%a = %init) -> (f64) {
        %v = memref.load %x[%j, %t] : memref<?x?xf64>
        %w = arith.addf %v, %a : f64
        scf.yield %w : f64
      }
      memref.store %s, %acc[%t] : memref<?xf64>
      scf.reduce
    }
    scf.reduce
  }
  return
}
