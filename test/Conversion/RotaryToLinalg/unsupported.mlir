// RUN: not rotary-opt %s -convert-rotary-to-linalg -split-input-file 2>&1 | FileCheck %s
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -verify-diagnostics

// Forms the verifier accepts but no kernel exists for: the chunk size c of
// hdd_rope's P form and of cumulative_rotation (and their gradients) must be
// static to compile, since the c x c products are unrolled. The pass fails
// before converting anything, with the reason, at the op.

// CHECK: unsupported.mlir:[[@LINE+3]]:8: error: 'rotary.hdd_rope' op cannot be compiled with a dynamic chunk size: dimension 4 or 5 of operand 'rotation' (c x c) must be static, because the kernels are specialised to c
func.func @hdd_rope_unknown_chunk(%x: tensor<1x2x1x8xf32>, %p: tensor<1x2x1x?x?x?xf32>) -> tensor<1x2x1x8xf32> {
  // expected-error @+1 {{'rotary.hdd_rope' op cannot be compiled with a dynamic chunk size: dimension 4 or 5 of operand 'rotation' (c x c) must be static}}
  %0 = rotary.hdd_rope %x, %p : tensor<1x2x1x8xf32>, tensor<1x2x1x?x?x?xf32>
  return %0 : tensor<1x2x1x8xf32>
}

// -----

// A lowerable op before the unsupported one does not hide the failure.
// CHECK: unsupported.mlir:[[@LINE+5]]:8: error: 'rotary.hdd_rope' op cannot be compiled with a dynamic chunk size
func.func @hdd_rope_dynamic_chunk(%x: tensor<1x2x1x4xf32>, %pos: tensor<2xi64>,
                                  %y: tensor<?x?x?x?xf32>, %q: tensor<?x?x?x?x?x?xf32>) -> (tensor<1x2x1x4xf32>, tensor<?x?x?x?xf32>) {
  %r = rotary.rope %x, %pos layout = half : tensor<1x2x1x4xf32>, tensor<2xi64>
  // expected-error @+1 {{'rotary.hdd_rope' op cannot be compiled with a dynamic chunk size}}
  %0 = rotary.hdd_rope %y, %q {inverse} : tensor<?x?x?x?xf32>, tensor<?x?x?x?x?x?xf32>
  return %r, %0 : tensor<1x2x1x4xf32>, tensor<?x?x?x?xf32>
}

// -----

// CHECK: unsupported.mlir:[[@LINE+3]]:8: error: 'rotary.cumulative_rotation' op cannot be compiled with a dynamic chunk size: one of the last two dimensions of operand 'rotations' (c x c) must be static
func.func @scan_unknown_chunk(%g: tensor<2x?x?x?xf32>) -> tensor<2x?x?x?xf32> {
  // expected-error @+1 {{'rotary.cumulative_rotation' op cannot be compiled with a dynamic chunk size: one of the last two dimensions of operand 'rotations' (c x c) must be static}}
  %0 = rotary.cumulative_rotation %g : tensor<2x?x?x?xf32>
  return %0 : tensor<2x?x?x?xf32>
}

// -----

// CHECK: unsupported.mlir:[[@LINE+3]]:8: error: 'rotary.cumulative_rotation_grad' op cannot be compiled with a dynamic chunk size
func.func @scan_grad_unknown_chunk(%g: tensor<2x?x?x?xf32>, %dg: tensor<2x?x?x?xf32>) -> tensor<2x?x?x?xf32> {
  // expected-error @+1 {{'rotary.cumulative_rotation_grad' op cannot be compiled with a dynamic chunk size}}
  %0 = rotary.cumulative_rotation_grad %g, %dg : tensor<2x?x?x?xf32>
  return %0 : tensor<2x?x?x?xf32>
}

// -----

// CHECK: unsupported.mlir:[[@LINE+4]]:14: error: 'rotary.hdd_rope_grad' op cannot be compiled with a dynamic chunk size: dimension 4 or 5 of operand 'rotation'
func.func @hdd_grad_unknown_chunk(%x: tensor<1x2x1x8xf32>, %p: tensor<1x2x1x?x?x?xf32>, %dy: tensor<1x2x1x8xf32>)
    -> (tensor<1x2x1x8xf32>, tensor<1x2x1x?x?x?xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope_grad' op cannot be compiled with a dynamic chunk size}}
  %dx, %dp = rotary.hdd_rope_grad %x, %p, %dy : tensor<1x2x1x8xf32>, tensor<1x2x1x?x?x?xf32>
  return %dx, %dp : tensor<1x2x1x8xf32>, tensor<1x2x1x?x?x?xf32>
}
