// RUN: rotary-opt %s -rotary-gpu-configure | FileCheck %s
// RUN: rotary-opt %s -rotary-gpu-configure=rope-tokens=32 | FileCheck %s --check-prefix=TOKENS
// RUN: not rotary-opt %s -rotary-gpu-configure=rope-tokens=0 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: rotary-opt %s -rotary-gpu-configure=scan-block=8 | FileCheck %s --check-prefix=BLOCK
// RUN: not rotary-opt %s -rotary-gpu-configure=scan-block=-1 2>&1 | FileCheck %s --check-prefix=BADBLOCK

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

// A scan gets blocks of 32 steps (a thread's), scan-block overrides it, a
// recorded choice is kept.
// CHECK-LABEL:  func.func @scan(
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 32 : i64}}
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
// BLOCK-LABEL:  func.func @scan(
// BLOCK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 8 : i64}}
// BLOCK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
// BADBLOCK:     error: rotary-gpu-configure: scan-block -1 is not positive
func.func @scan(%g: tensor<2x?x3x4x4xf32>, %c: tensor<2x3x4x4xf32>) -> (tensor<2x?x3x4x4xf32>, tensor<2x?x3x4x4xf32>) {
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x3x4x4xf32>) outs(%g, %c : tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>) -> tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>
  %p2, %carry2 = rotary.rotation_scan ins(%g : tensor<2x?x3x4x4xf32>) outs(%g, %c : tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>) {rotary.tiles = {block = 5 : i64}} -> tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>
  return %p, %p2 : tensor<2x?x3x4x4xf32>, tensor<2x?x3x4x4xf32>
}
