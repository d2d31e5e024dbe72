// RUN: rotary-opt %s -rotary-gpu-configure | FileCheck %s
// RUN: rotary-opt %s -rotary-gpu-configure=rope-tokens=32 | FileCheck %s --check-prefix=TOKENS
// RUN: not rotary-opt %s -rotary-gpu-configure=rope-tokens=0 2>&1 | FileCheck %s --check-prefix=BAD

// rotary-gpu-configure (lib/Pipelines/GpuSchedule.cpp): a rope gradient
// with parameter sums gets blocks of 16 tokens of one batch entry;
// rope-tokens overrides it; a recorded choice is kept.
// CHECK-LABEL:  func.func @rope_tokens(
// CHECK:        rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 16 : i64}}
// CHECK:        rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 3 : i64}}
// TOKENS-LABEL: func.func @rope_tokens(
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 32 : i64}}
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 3 : i64}}
// BAD:          error: rotary-gpu-configure: rope-tokens 0 is not positive
func.func @rope_tokens(%x: tensor<?x?x4x16xf32>, %c: tensor<?x8xf32>, %p: tensor<?xi64>, %s: tensor<8xf64>) -> (tensor<8xf64>, tensor<8xf64>) {
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  %dx2, %a2, %b2 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half {rotary.tiles = {tokens = 3 : i64}} -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  return %a, %b2 : tensor<8xf64>, tensor<8xf64>
}
