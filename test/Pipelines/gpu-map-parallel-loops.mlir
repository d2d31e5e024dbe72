// RUN: rotary-opt %s -rotary-gpu-map-parallel-loops=block-size=128 | FileCheck %s

// rotary-gpu-map-parallel-loops (lib/Pipelines/GpuMapParallelLoops.cpp):
// one thread per iteration of an outermost scf.parallel, the innermost
// dimension varying fastest across threads; host buffers on the device.

// CHECK-LABEL: func.func @copy_rows(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x?xf32>, %[[B:[^:]*]]: memref<?x?xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[A]], %[[C0]]
// CHECK-DAG:     %[[M:.*]] = memref.dim %[[A]], %[[C1]]
// CHECK:         %[[TMP:.*]] = gpu.alloc (%[[M]]) : memref<?xf32>
// Iterations per dimension: ceil(max(ub - lb, 0) / step); their product.
// CHECK:         %[[S0:.*]] = arith.subi %[[N]], %[[C1]]
// CHECK:         %[[P0:.*]] = arith.maxsi %[[S0]]
// CHECK:         %[[N0:.*]] = arith.ceildivui %[[P0]], %[[C2]]
// CHECK:         %[[S1:.*]] = arith.subi %[[M]], %[[C0]]
// CHECK:         %[[P1:.*]] = arith.maxsi %[[S1]]
// CHECK:         %[[N1:.*]] = arith.ceildivui %[[P1]], %[[C1]]
// CHECK:         %[[TOTAL:.*]] = arith.muli %{{.*}}, %[[N1]]
// CHECK:         %[[BS:.*]] = arith.constant 128 : index
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[TOTAL]], %[[BS]]
// No iterations, no launch.
// CHECK:         %[[ANY:.*]] = arith.cmpi ugt, %[[TOTAL]]
// CHECK:         scf.if %[[ANY]] {
// CHECK:           gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BS]],
// CHECK:             %[[BASE:.*]] = arith.muli %[[BX]], %[[BS]]
// CHECK:             %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:             %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[TOTAL]]
// CHECK:             scf.if %[[IN]] {
// The column (innermost) index is the id modulo the column count.
// CHECK:               %[[J0:.*]] = arith.remui %[[ID]], %[[N1]]
// CHECK:               %[[I0:.*]] = arith.divui %[[ID]], %[[N1]]
// CHECK:               %[[JS:.*]] = arith.muli %[[J0]], %[[C1]]
// CHECK:               %[[J:.*]] = arith.addi %[[C0]], %[[JS]]
// CHECK:               %[[IS:.*]] = arith.muli %[[I0]], %[[C2]]
// CHECK:               %[[I:.*]] = arith.addi %[[C1]], %[[IS]]
// CHECK:               %[[V:.*]] = memref.load %[[A]][%[[I]], %[[J]]]
// CHECK:               memref.store %[[V]], %[[B]][%[[I]], %[[J]]]
// CHECK:             gpu.terminator
// CHECK:         gpu.dealloc %[[TMP]] : memref<?xf32>
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @copy_rows(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  %t = memref.alloc(%m) : memref<?xf32>
  scf.parallel (%i, %j) = (%c1, %c0) to (%n, %m) step (%c2, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    memref.store %v, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<?xf32>
  return
}

// Two loops, two launches, in order.
// CHECK-LABEL: func.func @two_loops(
// CHECK:         gpu.launch
// CHECK:           memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<8xf32>
// CHECK:         gpu.launch
// CHECK:           memref.load %{{.*}}[%{{.*}}] : memref<8xf32>
// CHECK-NOT:     gpu.launch
func.func @two_loops(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %z, %a[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
