// RUN: rotary-opt %s --rotary-gpu-merge-kernel-modules --split-input-file --verify-diagnostics

// Only kernels move: anything else in a module would clash by name.
module attributes {gpu.container_module} {
  gpu.module @helper_kernel {
    // expected-error @+1 {{rotary: only kernels can be merged into one GPU module, not this op}}
    gpu.func @helper(%m: memref<?xf32>) {
      gpu.return
    }
  }
}

// -----

// expected-error @+1 {{rotary: the module already has a symbol 'rotary_kernels' to merge the kernels into}}
module attributes {gpu.container_module} {
  func.func private @rotary_kernels()
  gpu.module @k {
    gpu.func @k() kernel {
      gpu.return
    }
  }
}
