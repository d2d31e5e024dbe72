// RUN: not rotary-opt %s -convert-rotary-to-linalg -split-input-file 2>&1 | FileCheck %s
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -verify-diagnostics

// An op the pass cannot lower makes it fail with an error naming the op, at
// the op's location; nothing is silently left behind. (Every rotary op has a
// pattern by now; these are forms the patterns decline.)

// hdd_rope with P of dynamic chunk size (no `chunk` attribute): the kernel
// needs c at compile time.
// CHECK: unsupported.mlir:[[@LINE+3]]:8: error: failed to legalize operation 'rotary.hdd_rope'
func.func @hdd_rope_unknown_chunk(%x: tensor<1x2x1x8xf32>, %p: tensor<1x2x1x?x?x?xf32>) -> tensor<1x2x1x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'rotary.hdd_rope'}}
  %0 = rotary.hdd_rope %x, %p : tensor<1x2x1x8xf32>, tensor<1x2x1x?x?x?xf32>
  return %0 : tensor<1x2x1x8xf32>
}

// -----

// A lowerable op next to the unsupported one does not hide the failure.
// CHECK: unsupported.mlir:[[@LINE+5]]:8: error: failed to legalize operation 'rotary.hdd_rope'
func.func @hdd_rope_dynamic_chunk(%x: tensor<1x2x1x4xf32>, %pos: tensor<2xi64>,
                                  %y: tensor<?x?x?x?xf32>, %q: tensor<?x?x?x?x?x?xf32>) -> (tensor<1x2x1x4xf32>, tensor<?x?x?x?xf32>) {
  %r = rotary.rope %x, %pos layout = half : tensor<1x2x1x4xf32>, tensor<2xi64>
  // expected-error @+1 {{failed to legalize operation 'rotary.hdd_rope'}}
  %0 = rotary.hdd_rope %y, %q {inverse} : tensor<?x?x?x?xf32>, tensor<?x?x?x?x?x?xf32>
  return %r, %0 : tensor<1x2x1x4xf32>, tensor<?x?x?x?xf32>
}
