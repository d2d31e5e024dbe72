// RUN: env -u CUDA_HOME not rotary-opt %s --rotary-gpu-pipeline 2>&1 | FileCheck %s

// Without a CUDA toolkit (no toolkit= and no CUDA_HOME), kernels that call
// libdevice are refused by name (rotary-gpu-check-libdevice) rather than
// left with calls ptxas cannot resolve.

// CHECK: error: rotary-gpu-pipeline: the kernels call libdevice's @__nv_exp, which only the CUDA toolkit provides: give the pipeline toolkit=DIR or set CUDA_HOME
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
