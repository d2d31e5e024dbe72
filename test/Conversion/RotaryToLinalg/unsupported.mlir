// RUN: not rotary-opt %s -convert-rotary-to-linalg -split-input-file 2>&1 | FileCheck %s
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -verify-diagnostics

// An op the pass cannot lower makes it fail with an error naming the op, at
// the op's location; nothing is silently left behind. (Every rotary op has a
// pattern by now; these are forms the patterns decline.)

// The exp form of so_generator is lowered for chunk <= 8 only.
// CHECK: unsupported.mlir:[[@LINE+3]]:8: error: failed to legalize operation 'rotary.so_generator'
func.func @so_generator_exp_large_chunk(%a: tensor<3x?xf32>) -> tensor<3x32x32xf32> {
  // expected-error @+1 {{failed to legalize operation 'rotary.so_generator'}}
  %0 = rotary.so_generator %a chunk = 32 form = exp : tensor<3x?xf32>
  return %0 : tensor<3x32x32xf32>
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
