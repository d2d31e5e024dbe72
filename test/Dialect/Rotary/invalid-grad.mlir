// RUN: rotary-opt %s -split-input-file -verify-diagnostics

// The gradient ops share their forward op's verifier (invalid.mlir covers
// every forward message); here: that each gradient op runs it, and every
// message of RotaryGradOps.cpp.

func.func @rope_grad_runs_rope_checks(%x: tensor<2x16x4x63xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope_grad' op operand 'x' must have an even D (or set 'rotary_dim' to rotate fewer features), but got D = 63}}
  %0 = rotary.rope_grad %x, %p, %x layout = half : tensor<2x16x4x63xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_grad_dy_type(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %dy: tensor<2x16x4x64xbf16>) {
  // expected-error @+1 {{'rotary.rope_grad' op failed to verify that all of {x, dy} have same type}}
  %0 = "rotary.rope_grad"(%x, %p, %dy) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>}>
      : (tensor<2x16x4x64xf32>, tensor<16xi64>, tensor<2x16x4x64xbf16>) -> tensor<2x16x4x64xf32>
  return
}

// -----

func.func @rope_grad_param_result_type(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<32xf32>) {
  // expected-error @+2 {{'rotary.rope_grad' op inferred type(s) 'tensor<2x16x4x64xf32>', 'tensor<32xf32>' are incompatible with return type(s) of operation 'tensor<2x16x4x64xf32>', 'tensor<16xf32>'}}
  // expected-error @+1 {{'rotary.rope_grad' op failed to infer returned types}}
  %0:2 = "rotary.rope_grad"(%x, %p, %x, %f) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0>}>
      : (tensor<2x16x4x64xf32>, tensor<16xi64>, tensor<2x16x4x64xf32>, tensor<32xf32>) -> (tensor<2x16x4x64xf32>, tensor<16xf32>)
  return
}

// -----

func.func @givens_grad_runs_chain_checks(%x: tensor<8x64xf32>, %a: tensor<3000xf32>) {
  // expected-error @+1 {{'rotary.givens_grad' op operand 'angles' must have at most D(D-1)/2 angles (the round-robin schedule), but got N = 3000, D = 64}}
  %0:2 = rotary.givens_grad %x, %a, %x : tensor<8x64xf32>, tensor<3000xf32>
  return
}

// -----

func.func @orthogonal_grad_dy(%x: tensor<5x64xf32>, %r: tensor<64x3xf32>, %dy: tensor<5x64xf32>) {
  // expected-error @+1 {{'rotary.orthogonal_grad' op operand 'dy' must have shape [5, 3] (like the forward result), but got 'tensor<5x64xf32>'}}
  %0:2 = rotary.orthogonal_grad %x, %r, %dy : tensor<5x64xf32>, tensor<64x3xf32>, tensor<5x64xf32>
  return
}

// -----

func.func @orthogonal_grad_matrix(%x: tensor<5x64xf32>, %r: tensor<32x3xf32>, %dy: tensor<5x3xf32>) {
  // expected-error @+1 {{'rotary.orthogonal_grad' op operand 'matrix' must have shape [64, ?] ([D, E] with D of operand 'x'), but got 'tensor<32x3xf32>'}}
  %0:2 = rotary.orthogonal_grad %x, %r, %dy : tensor<5x64xf32>, tensor<32x3xf32>, tensor<5x3xf32>
  return
}

// -----

func.func @penalty_grad_rank(%r: tensor<64xf32>, %dp: tensor<f32>) {
  // expected-error @+1 {{'rotary.orthogonality_penalty_grad' op operand 'matrix' must have shape [D, E] or [H, D, E], but got 'tensor<64xf32>'}}
  %0 = rotary.orthogonality_penalty_grad %r, %dp : tensor<64xf32>
  return
}

// -----

func.func @so_generator_grad_dresult(%a: tensor<7x6xf32>, %dg: tensor<7x3x3xf32>) {
  // expected-error @+1 {{'rotary.so_generator_grad' op operand 'dresult' must have shape [7, 4, 4] (like the forward result), but got 'tensor<7x3x3xf32>'}}
  %0 = rotary.so_generator_grad %a, %dg chunk = 4 form = givens : tensor<7x6xf32>, tensor<7x3x3xf32>
  return
}

// -----

func.func @so_generator_grad_chunk(%a: tensor<7x6xf32>, %dg: tensor<7x4x4xf32>) {
  // expected-error @+1 {{'rotary.so_generator_grad' op attribute 'chunk' must be in [2, 32], but got 40}}
  %0 = rotary.so_generator_grad %a, %dg chunk = 40 form = givens : tensor<7x6xf32>, tensor<7x4x4xf32>
  return
}

// -----

func.func @cumulative_rotation_grad_axis(%g: tensor<2x5x4x4xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation_grad' op attribute 'axis' (2) must name a dimension of operand 'rotations' before its trailing [c, c], i.e. be in [0, 2)}}
  %0 = rotary.cumulative_rotation_grad %g, %g {axis = 2 : i64} : tensor<2x5x4x4xf32>
  return
}

// -----

func.func @hdd_rope_grad_shape(%x: tensor<2x5x8x64xf32>, %p: tensor<2x5x8x16x3x3xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope_grad' op chunk size 3 must divide D of operand 'x', but got D = 64}}
  %0:2 = rotary.hdd_rope_grad %x, %p, %x : tensor<2x5x8x64xf32>, tensor<2x5x8x16x3x3xf32>
  return
}

// -----

func.func @attention_grad_window(%q: tensor<1x2x8x4xf32>, %lse: tensor<1x2x8xf32>) {
  // expected-error @+1 {{'rotary.attention_grad' op attribute 'window' must be >= -1 (-1 means unlimited), but got -3}}
  %0:3 = rotary.attention_grad %q, %q, %q, %q, %lse, %q {window = -3 : i64}
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
  return
}

// -----

func.func @attention_grad_lse(%q: tensor<1x2x8x4xf32>, %lse: tensor<1x2x7xf32>) {
  // expected-error @+1 {{'rotary.attention_grad' op operand 'lse' must have shape [1, 2, 8] (like the forward result), but got 'tensor<1x2x7xf32>'}}
  %0:3 = rotary.attention_grad %q, %q, %q, %q, %lse, %q
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x7xf32>
  return
}

// -----

func.func @attention_grad_dlse(%q: tensor<1x2x8x4xf32>, %lse: tensor<1x2x8xf32>, %dl: tensor<1x2xf32>) {
  // expected-error @+1 {{'rotary.attention_grad' op cotangent 'dlse' must have the rank and element type ('f32') of the forward result, but got 'tensor<1x2xf32>'}}
  %0:3 = rotary.attention_grad %q, %q, %q, %q, %lse, %q dlse(%dl : tensor<1x2xf32>)
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
  return
}

// -----

func.func @quaternion_grad_axis(%x: tensor<5x3xf32>, %u: tensor<4xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate_grad' op operand 'axis' must have shape [3] ([3], one axis for all vectors), but got 'tensor<4xf32>'}}
  %0:3 = rotary.quaternion_rotate_grad %x, %u, %t, %x : tensor<5x3xf32>, tensor<4xf32>, tensor<f32>
  return
}
