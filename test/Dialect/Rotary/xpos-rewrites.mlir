// RUN: rotary-opt %s -canonicalize -split-input-file | FileCheck %s
// RUN: rotary-opt %s -rotary-fuse-rotations -split-input-file | FileCheck %s --check-prefix=FUSE

// Rewrites that must respect xPos (docs/Math.md §1): with xPos, `inverse`
// keeps the scale s, so a rope and its `inverse` give s²·x and stay; a
// query's and a key's of the same scale base and γ multiply to 1 and cancel.

// CHECK-LABEL: func @xpos_same_role_stays
// CHECK: %[[A:.*]] = rotary.rope %arg0, %arg1 layout = half xpos = query :
// CHECK: %[[B:.*]] = rotary.rope %[[A]], %arg1 layout = half xpos = query {inverse}
// CHECK: return %[[B]]
func.func @xpos_same_role_stays(%x: tensor<1x8x2x16xf32>, %p: tensor<8xi64>) -> tensor<1x8x2x16xf32> {
  %0 = rotary.rope %x, %p layout = half xpos = query : tensor<1x8x2x16xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %p layout = half xpos = query {inverse} : tensor<1x8x2x16xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x16xf32>
}

// CHECK-LABEL: func @xpos_one_side_stays
// CHECK: rotary.rope %arg0
// CHECK: rotary.rope
// CHECK-SAME: {inverse}
func.func @xpos_one_side_stays(%x: tensor<1x8x2x16xf32>, %p: tensor<8xi64>) -> tensor<1x8x2x16xf32> {
  %0 = rotary.rope %x, %p layout = half xpos = key : tensor<1x8x2x16xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %p layout = half {inverse} : tensor<1x8x2x16xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x16xf32>
}

// The default scale base (512) written out is the same scale.
// CHECK-LABEL: func @xpos_query_key_cancel
// CHECK-NOT: rotary.rope
// CHECK: return %arg0
func.func @xpos_query_key_cancel(%x: tensor<1x8x2x16xf32>, %p: tensor<8xi64>) -> tensor<1x8x2x16xf32> {
  %0 = rotary.rope %x, %p layout = interleaved xpos = query {xpos_gamma = 0.5 : f32} : tensor<1x8x2x16xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %p layout = interleaved xpos = key {inverse, xpos_gamma = 0.5 : f32, xpos_scale_base = 512.0 : f32} : tensor<1x8x2x16xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x16xf32>
}

// CHECK-LABEL: func @xpos_query_key_other_gamma_stays
// CHECK: rotary.rope %arg0
// CHECK: rotary.rope
// CHECK-SAME: xpos = key {inverse, xpos_gamma = 2.500000e-01 : f32}
func.func @xpos_query_key_other_gamma_stays(%x: tensor<1x8x2x16xf32>, %p: tensor<8xi64>) -> tensor<1x8x2x16xf32> {
  %0 = rotary.rope %x, %p layout = half xpos = query : tensor<1x8x2x16xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %p layout = half xpos = key {inverse, xpos_gamma = 0.25 : f32} : tensor<1x8x2x16xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x16xf32>
}

// -----

// A rotation block has no xPos: an xPos rope stays a separate op before it.
// FUSE-LABEL: func @xpos_rope_not_fused
// FUSE: %[[E:.*]] = rotary.rope %arg0, %arg1 layout = half xpos = query
// FUSE-NEXT: rotary.rotation_block %[[E]], %arg2, %arg3 : tensor<1x8x1x8xf32>
func.func @xpos_rope_not_fused(%x: tensor<1x8x1x8xf32>, %pos: tensor<8xi64>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<1x8x1x8xf32> {
  %0 = rotary.rope %x, %pos layout = half xpos = query : tensor<1x8x1x8xf32>, tensor<8xi64>
  %1 = rotary.givens %0, %a : tensor<1x8x1x8xf32>, tensor<28xf32>
  %2 = rotary.orthogonal %1, %r : tensor<1x8x1x8xf32>, tensor<8x8xf32>
  return %2 : tensor<1x8x1x8xf32>
}
