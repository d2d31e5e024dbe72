// RUN: rotary-opt %s --rotary-gpu-merge-kernel-modules | FileCheck %s

// The kernels outlining put in modules of their own move into one module,
// each renamed after the module it left; the launches follow.

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-NOT:     gpu.module @scale_kernel
// CHECK-LABEL: func.func @scale(
// CHECK:         gpu.launch_func @rotary_kernels::@scale_kernel blocks
// CHECK:         gpu.launch_func @rotary_kernels::@scale_kernel_0 blocks
// CHECK:       gpu.module @rotary_kernels {
// CHECK:         gpu.func @scale_kernel(%{{.*}}: memref<?xf32>) kernel
// CHECK:         gpu.func @scale_kernel_0(%{{.*}}: memref<?xf32>) kernel
// CHECK-NOT:   gpu.module
module attributes {gpu.container_module} {
  func.func @scale(%m: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @scale_kernel::@scale_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    gpu.launch_func @scale_kernel_0::@scale_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    return
  }
  gpu.module @scale_kernel {
    gpu.func @scale_kernel(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @scale_kernel_0 {
    gpu.func @scale_kernel(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
}
