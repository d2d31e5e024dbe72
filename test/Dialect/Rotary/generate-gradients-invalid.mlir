// RUN: rotary-opt %s -split-input-file --rotary-generate-gradients=functions=fam -verify-diagnostics
// RUN: not rotary-opt %s -split-input-file --rotary-generate-gradients=functions=nothere 2>&1 | FileCheck %s --check-prefix=MISSING

// A function named in `functions` must be differentiable.

// expected-error @+1 {{rotary-generate-gradients: cannot differentiate @fam: 'rotary.fam_step' has no gradient}}
func.func @fam(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %lr: tensor<f32>,
               %al: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %al : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}

// -----

// expected-error @+1 {{rotary-generate-gradients: cannot differentiate @fam: @fam_bwd already exists}}
func.func @fam(%x: tensor<4x8xf32>, %a: tensor<7xf32>) -> tensor<4x8xf32> {
  %y = rotary.givens %x, %a : tensor<4x8xf32>, tensor<7xf32>
  return %y : tensor<4x8xf32>
}
func.func @fam_bwd() {
  return
}

// -----

// expected-error @+1 {{rotary-generate-gradients: cannot differentiate @fam: no argument is a float tensor that reaches a differentiable operand}}
func.func @fam(%p: tensor<8xi64>) -> tensor<16xf32> {
  %f = rotary.inv_freq dim = 32
  return %f : tensor<16xf32>
}

// MISSING: rotary-generate-gradients: no function @nothere
