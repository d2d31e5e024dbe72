// RUN: rotary-opt %s -rotary-scalar-loops -split-input-file -verify-diagnostics -mlir-print-local-scope | FileCheck %s

// The remainders rotary-cpu-schedule left scalar become loops that LLVM's
// vectoriser leaves alone; other linalg ops stay for
// convert-linalg-to-loops.

// CHECK-LABEL: func.func @remainder(
// CHECK-SAME:    %[[X:[^:]*]]: memref<?x?xf32>, %[[W:[^:]*]]: memref<?x?xf32>, %[[Y:[^:]*]]: memref<?x?xf32>, %[[Z:[^:]*]]: memref<4x16xf32>)
// CHECK-NOT:   linalg.generic
// The fill: two loops.
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           memref.store %{{.*}}, %[[Y]]
// CHECK:         } {loop_annotation = #llvm.loop_annotation<vectorize = <disable = true>>}
// CHECK:       } {loop_annotation = #llvm.loop_annotation<vectorize = <disable = true>>}
// The contraction: three.
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             memref.load %[[X]]
// CHECK:             memref.load %[[W]]
// CHECK:             arith.mulf
// CHECK:             arith.addf
// CHECK:             memref.store %{{.*}}, %[[Y]]
// CHECK:           } {loop_annotation = #llvm.loop_annotation<vectorize = <disable = true>>}
// CHECK:         } {loop_annotation = #llvm.loop_annotation<vectorize = <disable = true>>}
// CHECK:       } {loop_annotation = #llvm.loop_annotation<vectorize = <disable = true>>}
// An unmarked op is not this pass's.
// CHECK:       linalg.fill ins(%{{.*}} : f32) outs(%[[Z]] : memref<4x16xf32>)
// CHECK-NOT:   rotary.scalar_loops
func.func @remainder(%x: memref<?x?xf32>, %w: memref<?x?xf32>, %y: memref<?x?xf32>, %z: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill {rotary.scalar_loops} ins(%zero : f32) outs(%y : memref<?x?xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                   affine_map<(m, k, n) -> (k, n)>,
                                   affine_map<(m, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<?x?xf32>, memref<?x?xf32>) outs(%y : memref<?x?xf32>)
      attrs = {rotary.scalar_loops} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%zero : f32) outs(%z : memref<4x16xf32>)
  return
}

// -----

// The mark belongs on buffers: the pass runs after bufferization.
func.func @tensor(%t: tensor<?xf32>) -> tensor<?xf32> {
  %zero = arith.constant 0.0 : f32
  // expected-error @below {{rotary-scalar-loops: expected an op on buffers}}
  %0 = linalg.fill {rotary.scalar_loops} ins(%zero : f32) outs(%t : tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
