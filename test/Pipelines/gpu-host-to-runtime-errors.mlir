// RUN: rotary-opt %s --gpu-to-llvm --rotary-gpu-host-to-runtime --split-input-file --verify-diagnostics

// The manifest records each kernel's block: it must be a constant.
module attributes {gpu.container_module} {
  func.func @run(%n: index) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{rotary: the block size of a launch must be a constant (the manifest records it)}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%n, %c1, %c1) args(%n : index)
    return
  }
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
}

// -----

// One kernel, one signature and one block.
module attributes {gpu.container_module} {
  func.func @run(%n: index) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%n : index)
    // expected-error @+1 {{rotary: kernel 'k' is launched twice with different parameters, blocks or shared memory}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%n : index)
    return
  }
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
}

// -----

// Kernels are known by name in the bundle's one module.
module attributes {gpu.container_module} {
  func.func @run(%n: index) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @a::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : index)
    // expected-error @+1 {{rotary: the launches use more than one GPU module ('a' and 'b'); run rotary-gpu-merge-kernel-modules first}}
    gpu.launch_func @b::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : index)
    return
  }
  gpu.binary @a [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
  gpu.binary @b [#gpu.object<#nvvm.target<chip = "sm_90">, "">]
}
