// RUN: rotary-opt %s --gpu-to-llvm --rotary-gpu-host-to-runtime --reconcile-unrealized-casts | FileCheck %s

// After gpu-to-llvm, a device buffer comes from the runtime's allocator and
// goes back to it, and a launch is a call of the launch hook with the
// kernel's index (kernels in name order), the grid, the block, the dynamic
// shared memory and the parameters as the driver takes them: an array of
// pointers to each value, the memref descriptor field by field.

// CHECK-LABEL: module attributes
// CHECK-SAME:    rotary.gpu.kernels = [{block = array<i64: 128, 1, 1>, name = "add", params = ["ptr", "ptr", "i64", "i64", "i64", "f32"], shared_at_launch = true, shared_bytes = 0 : i64}, {block = array<i64: 64, 2, 1>, name = "fill", params = ["i64", "ptr", "ptr", "i64", "i64", "i64"], shared_at_launch = false, shared_bytes = 256 : i64}]
// CHECK:       llvm.mlir.global external @rotary_gpu_launch() {{.*}} : !llvm.ptr {
// CHECK:         llvm.mlir.zero : !llvm.ptr
// CHECK:       llvm.mlir.global external @rotary_gpu_free()
// CHECK:       llvm.mlir.global external @rotary_gpu_alloc()

// CHECK-LABEL: llvm.func @run(
// CHECK-SAME:    %[[N:[^:]*]]: i64
// Stack slots in the entry block: the parameter array and one per value.
// CHECK:         %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK:         %[[ARRAY:.*]] = llvm.alloca %{{.*}} x !llvm.ptr
// CHECK:         llvm.alloca %[[ONE]] x i64
// CHECK:         %[[BYTES:.*]] = llvm.trunc %[[N]] : i64 to i32
// The buffer: n * 4 bytes from the allocator.
// CHECK:         %[[ALLOCSLOT:.*]] = llvm.mlir.addressof @rotary_gpu_alloc
// CHECK:         %[[ALLOC:.*]] = llvm.load %[[ALLOCSLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK:         %[[BUF:.*]] = llvm.call %[[ALLOC]](%{{.*}}) : !llvm.ptr, (i64) -> !llvm.ptr
// The first launch (kernel 1, "fill"): its parameters stored and listed.
// CHECK:         llvm.store %[[N]], %{{.*}} : i64, !llvm.ptr
// CHECK:         %[[ELEM:.*]] = llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK:         %[[K1:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK:         %[[NP:.*]] = llvm.mlir.constant(6 : i32) : i32
// CHECK:         %[[LAUNCHSLOT:.*]] = llvm.mlir.addressof @rotary_gpu_launch
// CHECK:         %[[LAUNCH:.*]] = llvm.load %[[LAUNCHSLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK:         llvm.call %[[LAUNCH]](%[[K1]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NP]]) : !llvm.ptr, (i32, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i32) -> ()
// The second (kernel 0, "add"), whose shared memory the host computes at
// the launch (the manifest records that, not a size).
// CHECK:         %[[K0:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK:         llvm.call %{{.*}}(%[[K0]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BYTES]], {{.*}}) : !llvm.ptr, (i32, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i32) -> ()
// CHECK:         %[[FREESLOT:.*]] = llvm.mlir.addressof @rotary_gpu_free
// CHECK:         %[[FREE:.*]] = llvm.load %[[FREESLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK:         llvm.call %[[FREE]](%{{.*}}) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK-NOT:     gpu.
// CHECK:         llvm.return
module attributes {gpu.container_module} {
  func.func @run(%n: index, %s: f32) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %c128 = arith.constant 128 : index
    %shared = arith.constant 256 : i32
    %bytes = arith.index_cast %n : index to i32
    %buf = gpu.alloc (%n) : memref<?xf32>
    gpu.launch_func @kernels::@fill blocks in (%n, %c1, %c1) threads in (%c64, %c2, %c1) dynamic_shared_memory_size %shared args(%n : index, %buf : memref<?xf32>)
    gpu.launch_func @kernels::@add blocks in (%n, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %bytes args(%buf : memref<?xf32>, %s : f32)
    gpu.dealloc %buf : memref<?xf32>
    return
  }
  // What gpu-module-to-binary leaves of the kernels.
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
}
