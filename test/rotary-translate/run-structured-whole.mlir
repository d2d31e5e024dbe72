// End to end: rotary.online_attention decomposed whole (two batch entries,
// three heads: the decomposition's own loops over b and h, which the CPU
// schedule's tiling never leaves) and tiled by the schedule, both against
// the pure-Python reference of test/lit-support/npy_case.py.
// RUN: rm -rf %t && mkdir -p %t
// RUN: rotary-opt %s -rotary-tile-and-decompose=tile=false -o %t/whole.mlir
// RUN: rotary-translate %t/whole.mlir -o %t/whole.rotary
// RUN: rotary-translate %s -o %t/tiled.rotary
// RUN: %python %S/../lit-support/npy_case.py gen attention %t
// RUN: rotary-runner %t/whole.rotary --entry attn --input %t/in0.npy --input %t/in1.npy --input %t/in2.npy --out %t/out0.npy --out %t/out1.npy
// RUN: %python %S/../lit-support/npy_case.py check attention %t | FileCheck %s
// RUN: rotary-runner %t/tiled.rotary --entry attn --input %t/in0.npy --input %t/in1.npy --input %t/in2.npy --out %t/out0.npy --out %t/out1.npy
// RUN: %python %S/../lit-support/npy_case.py check attention %t | FileCheck %s
// CHECK: attention: max_err={{[0-9.e+-]+}} tol=1e-05 shape=[2, 3, 5, 4],[2, 3, 5] OK

func.func @attn(%q: tensor<2x3x5x4xf32>, %k: tensor<2x3x7x4xf32>, %v: tensor<2x3x7x4xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5xf32>) {
  %o0 = tensor.empty() : tensor<2x3x5x4xf32>
  %l0 = tensor.empty() : tensor<2x3x5xf32>
  %p = arith.constant 2 : index
  %o, %lse = rotary.online_attention ins(%q, %k, %v : tensor<2x3x5x4xf32>, tensor<2x3x7x4xf32>, tensor<2x3x7x4xf32>) first_position(%p) outs(%o0, %l0 : tensor<2x3x5x4xf32>, tensor<2x3x5xf32>) {causal, window = 3 : i64, rotary.tiles = {query = 2 : i64, key = 3 : i64}} -> tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
  return %o, %lse : tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
}
