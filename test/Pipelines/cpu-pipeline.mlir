// RUN: rotary-opt %s -rotary-cpu-pipeline | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -rotary-cpu-pipeline | FileCheck %s --check-prefix=IFACE
// RUN: rotary-opt %s -rotary-cpu-pipeline | FileCheck %s --check-prefix=PURE

// rotary-cpu-pipeline end to end on small entry points: the result is in
// the LLVM dialect, with one `i32 rotary_entry_<name>(ptr)` per public function
// (rotary-pack-entry-points) that runs the check and then the kernel.
// The partial interleaved rope and the Givens chain bufferize to copies
// between strided buffers; those must not become calls of the runner-utils
// `memrefCopy` (rotary-copies-to-linalg), which a bundle cannot link.

// Nothing but the LLVM dialect is left (and, with the default parallel=true,
// OpenMP ops, which translate to LLVM IR directly): no op of any other
// dialect, no unrealized cast, no memrefCopy.
// PURE-NOT: memrefCopy
// PURE-NOT: unrealized_conversion_cast
// PURE-NOT: {{(^ *|= )"?(arith|math|memref|scf|cf|linalg|tensor|affine|bufferization|rotary|func|index|vector)\.[a-z_]+}}

// The C interfaces the entry symbols call, for the checks and the bodies.
// IFACE-DAG: llvm.func @_mlir_ciface_rope__check(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// IFACE-DAG: llvm.func @_mlir_ciface_rope(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// IFACE-DAG: llvm.func @_mlir_ciface_givens__check(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// IFACE-DAG: llvm.func @_mlir_ciface_givens(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// IFACE-DAG: llvm.func @_mlir_ciface_fam_step__check(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) -> i32
// IFACE-DAG: llvm.func @_mlir_ciface_fam_step(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// The private helper is no entry.
// IFACE-NOT: rotary_entry_helper

// fam_step: 5 inputs, 2 outputs: 7 descriptor pointers; the check gets the
// inputs only, the body all of them.
// CHECK-LABEL: llvm.func @rotary_entry_fam_step(
// CHECK-SAME:    %[[ARGS:.*]]: !llvm.ptr) -> i32 {
// CHECK-NEXT:    %[[S0:.*]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S1:.*]] = llvm.getelementptr %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S2:.*]] = llvm.getelementptr %[[ARGS]][2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D2:.*]] = llvm.load %[[S2]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S3:.*]] = llvm.getelementptr %[[ARGS]][3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D3:.*]] = llvm.load %[[S3]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S4:.*]] = llvm.getelementptr %[[ARGS]][4] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D4:.*]] = llvm.load %[[S4]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S5:.*]] = llvm.getelementptr %[[ARGS]][5] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D5:.*]] = llvm.load %[[S5]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S6:.*]] = llvm.getelementptr %[[ARGS]][6] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[D6:.*]] = llvm.load %[[S6]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[ST:.*]] = llvm.call @_mlir_ciface_fam_step__check(%[[D0]], %[[D1]], %[[D2]], %[[D3]], %[[D4]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> i32
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:    %[[BAD:.*]] = llvm.icmp "ne" %[[ST]], %[[Z]] : i32
// CHECK-NEXT:    llvm.cond_br %[[BAD]], ^[[FAIL:bb[0-9]+]], ^[[GO:bb[0-9]+]]
// CHECK-NEXT:  ^[[FAIL]]:
// CHECK-NEXT:    llvm.return %[[ST]] : i32
// CHECK-NEXT:  ^[[GO]]:
// CHECK-NEXT:    llvm.call @_mlir_ciface_fam_step(%[[D0]], %[[D1]], %[[D2]], %[[D3]], %[[D4]], %[[D5]], %[[D6]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.return %[[Z]] : i32
// CHECK-NEXT:  }
func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                    %lr: tensor<f32>, %alpha: tensor<f32>)
    -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha {weight_decay = 0.01 : f32}
      : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: llvm.func @rotary_entry_givens(
// CHECK-SAME:    %[[ARGS:.*]]: !llvm.ptr) -> i32 {
// CHECK-NEXT:    %[[S0:.*]] = llvm.getelementptr %[[ARGS]][0]
// CHECK-NEXT:    %[[D0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S1:.*]] = llvm.getelementptr %[[ARGS]][1]
// CHECK-NEXT:    %[[D1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S2:.*]] = llvm.getelementptr %[[ARGS]][2]
// CHECK-NEXT:    %[[D2:.*]] = llvm.load %[[S2]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[ST:.*]] = llvm.call @_mlir_ciface_givens__check(%[[D0]], %[[D1]]) : (!llvm.ptr, !llvm.ptr) -> i32
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:    %[[BAD:.*]] = llvm.icmp "ne" %[[ST]], %[[Z]] : i32
// CHECK-NEXT:    llvm.cond_br %[[BAD]], ^[[FAIL:bb[0-9]+]], ^[[GO:bb[0-9]+]]
// CHECK-NEXT:  ^[[FAIL]]:
// CHECK-NEXT:    llvm.return %[[ST]] : i32
// CHECK-NEXT:  ^[[GO]]:
// CHECK-NEXT:    llvm.call @_mlir_ciface_givens(%[[D0]], %[[D1]], %[[D2]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.return %[[Z]] : i32
func.func @givens(%x: tensor<?x?xf32>, %angles: tensor<?xf32>) -> tensor<?x?xf32> {
  %y = rotary.givens %x, %angles : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}

func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// CHECK-LABEL: llvm.func @rotary_entry_rope(
// CHECK-SAME:    %[[ARGS:.*]]: !llvm.ptr) -> i32 {
// CHECK-NEXT:    %[[S0:.*]] = llvm.getelementptr %[[ARGS]][0]
// CHECK-NEXT:    %[[D0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S1:.*]] = llvm.getelementptr %[[ARGS]][1]
// CHECK-NEXT:    %[[D1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S2:.*]] = llvm.getelementptr %[[ARGS]][2]
// CHECK-NEXT:    %[[D2:.*]] = llvm.load %[[S2]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[ST:.*]] = llvm.call @_mlir_ciface_rope__check(%[[D0]], %[[D1]]) : (!llvm.ptr, !llvm.ptr) -> i32
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:    %[[BAD:.*]] = llvm.icmp "ne" %[[ST]], %[[Z]] : i32
// CHECK-NEXT:    llvm.cond_br %[[BAD]], ^[[FAIL:bb[0-9]+]], ^[[GO:bb[0-9]+]]
// CHECK-NEXT:  ^[[FAIL]]:
// CHECK-NEXT:    llvm.return %[[ST]] : i32
// CHECK-NEXT:  ^[[GO]]:
// CHECK-NEXT:    llvm.call @_mlir_ciface_rope(%[[D0]], %[[D1]], %[[D2]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.return %[[Z]] : i32
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = interleaved {rotary_dim = 8 : i64}
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
