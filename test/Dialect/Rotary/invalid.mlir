// RUN: rotary-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the rotary verifiers and type inference
// (lib/Dialect/Rotary/IR/RotaryOps.cpp), plus one per kind of ODS-generated
// constraint failure. Messages only reachable through the generic form are
// written in the generic form.

//===----------------------------------------------------------------------===//
// ODS-generated constraints
//===----------------------------------------------------------------------===//

func.func @data_tensor_integer(%x: tensor<2x16x4x64xi32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x4x64xi32>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x64xi32>, tensor<16xi64>
  return
}

// -----

func.func @position_tensor_i16(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi16>) {
  // expected-error @+1 {{'rotary.rope' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float values, but got 'tensor<16xi16>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x64xf32>, tensor<16xi16>
  return
}

// -----

func.func @angles_f16(%x: tensor<4xf32>, %a: tensor<1xf16>) {
  // expected-error @+1 {{'rotary.givens' op operand #1 must be ranked tensor of 32-bit float values, but got 'tensor<1xf16>'}}
  %0 = rotary.givens %x, %a : tensor<4xf32>, tensor<1xf16>
  return
}

// -----

// The custom form builds the 0-d type of `scale` itself; the generic form
// reaches the constraint.
func.func @scalar_not_0d(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>,
                         %s: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand #2 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0 = "rotary.rope"(%x, %p, %s) <{layout = #rotary<layout half>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0>}> : (tensor<2x16x4x64xf32>, tensor<16xi64>, tensor<1xf32>) -> tensor<2x16x4x64xf32>
  return
}

// -----

func.func @fam_lr_not_f32(%p: tensor<4xf32>, %lr: tensor<f16>) {
  // expected-error @+1 {{'rotary.fam_step' op operand #3 must be 0D tensor of 32-bit float values, but got 'tensor<f16>'}}
  %0:2 = "rotary.fam_step"(%p, %p, %p, %lr, %lr) <{weight_decay = 0.0 : f32}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f16>, tensor<f16>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @unranked_data(%x: tensor<*xf32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<*xf32>'}}
  %0 = "rotary.givens"(%x, %a) : (tensor<*xf32>, tensor<1xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @unranked_type_custom_form(%x: tensor<*xf32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{custom op 'rotary.givens' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %0 = rotary.givens %x, %a : tensor<*xf32>, tensor<1xf32>
  return
}

// -----

func.func @result_type_mismatch(%x: tensor<4x4xf32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.givens' op failed to verify that all of {x, result} have same type}}
  %0 = "rotary.givens"(%x, %a) : (tensor<4x4xf32>, tensor<1xf32>) -> tensor<4x4xf16>
  return
}

// -----

func.func @result_f32_constraint(%r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.orthogonality_penalty' op result #0 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0 = "rotary.orthogonality_penalty"(%r) : (tensor<4x4xf32>) -> tensor<1xf32>
  return
}

// -----

func.func @attr_not_i64() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'dim' failed to satisfy constraint: 64-bit integer attribute}}
  %0 = "rotary.inv_freq"() <{dim = 64 : i32}> : () -> tensor<32xf32>
  return
}

// -----

func.func @bad_enum(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+2 {{custom op 'rotary.rope' expected ::rotary::RopeLayout to be one of: half, interleaved, deinterleave}}
  // expected-error @+1 {{failed to parse Rotary_RopeLayoutAttr parameter 'value'}}
  %0 = rotary.rope %x, %p layout = sideways : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @inferred_type_mismatch() {
  // expected-error @+2 {{'rotary.inv_freq' op inferred type(s) 'tensor<32xf32>' are incompatible with return type(s) of operation 'tensor<31xf32>'}}
  // expected-error @+1 {{'rotary.inv_freq' op failed to infer returned types}}
  %0 = "rotary.inv_freq"() <{dim = 64 : i64}> : () -> tensor<31xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.rope
//===----------------------------------------------------------------------===//

func.func @rope_x_rank(%x: tensor<16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op operand 'x' must have shape [B, T, H, D] (rank 4), but got 'tensor<16x4x64xf32>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_positions_rank(%x: tensor<2x16x4x64xf32>, %p: tensor<2x16x1xi64>) {
  // expected-error @+1 {{'rotary.rope' op operand 'positions' must have shape [T] or [B, T] of operand 'x', but got 'tensor<2x16x1xi64>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x64xf32>, tensor<2x16x1xi64>
  return
}


// -----

func.func @rope_positions_t(%x: tensor<2x16x4x64xf32>, %p: tensor<8xi32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'positions' must have shape [16] ([T] of operand 'x'), but got 'tensor<8xi32>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @rope_positions_b(%x: tensor<2x?x4x64xf32>, %p: tensor<3x?xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'positions' must have shape [2, ?] ([B, T] of operand 'x'), but got 'tensor<3x?xf32>'}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x?x4x64xf32>, tensor<3x?xf32>
  return
}

// -----

func.func @rope_rotary_dim_odd(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'rotary_dim' must be a positive even number, but got 31}}
  %0 = rotary.rope %x, %p layout = half {rotary_dim = 31} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_rotary_dim_zero(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'rotary_dim' must be a positive even number, but got 0}}
  %0 = rotary.rope %x, %p layout = half {rotary_dim = 0} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_rotary_dim_negative(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'rotary_dim' must be a positive even number, but got -2}}
  %0 = rotary.rope %x, %p layout = half {rotary_dim = -2} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_rotary_dim_too_big(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'rotary_dim' (66) must not exceed D of operand 'x', but got D = 64}}
  %0 = rotary.rope %x, %p layout = half {rotary_dim = 66} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_odd_d(%x: tensor<2x16x4x63xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op operand 'x' must have an even D (or set 'rotary_dim' to rotate fewer features), but got D = 63}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x63xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_base_zero(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'base' must be positive and finite, but got 0}}
  %0 = rotary.rope %x, %p layout = half {base = 0.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_base_negative(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'base' must be positive and finite, but got -1}}
  %0 = rotary.rope %x, %p layout = half {base = -1.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_base_inf(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'base' must be positive and finite, but got INF}}
  %0 = rotary.rope %x, %p layout = half {base = 0x7F800000 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_base_nan(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'base' must be positive and finite, but got nan}}
  %0 = rotary.rope %x, %p layout = half {base = 0x7FC00000 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_scale_base_zero(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_scale_base' must be positive and finite, but got 0}}
  %0 = rotary.rope %x, %p layout = half xpos = query {xpos_scale_base = 0.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_scale_base_inf(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_scale_base' must be positive and finite, but got INF}}
  %0 = rotary.rope %x, %p layout = half xpos = key {xpos_scale_base = 0x7F800000 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_gamma_negative(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_gamma' must be positive and finite, but got -5.000000e-01}}
  %0 = rotary.rope %x, %p layout = half xpos = key {xpos_gamma = -0.5 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_gamma_nan(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_gamma' must be positive and finite, but got nan}}
  %0 = rotary.rope %x, %p layout = half xpos = query {xpos_gamma = 0x7FC00000 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_scale_base_without_xpos(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_scale_base' configures xPos and needs 'xpos = query' or 'xpos = key'}}
  %0 = rotary.rope %x, %p layout = half {xpos_scale_base = 256.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_gamma_without_xpos(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'xpos_gamma' configures xPos and needs 'xpos = query' or 'xpos = key'}}
  %0 = rotary.rope %x, %p layout = half {xpos_gamma = 0.4 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_xpos_unknown(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+2 {{custom op 'rotary.rope' expected ::rotary::XPosRole to be one of: query, key}}
  // expected-error @+1 {{failed to parse}}
  %0 = rotary.rope %x, %p layout = half xpos = value : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_grad_xpos_gamma_zero(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope_grad' op attribute 'xpos_gamma' must be positive and finite, but got 0}}
  %0 = rotary.rope_grad %x, %p, %x layout = half xpos = key {xpos_gamma = 0.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_grad_xpos_scale_base_without_xpos(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rope_grad' op attribute 'xpos_scale_base' configures xPos and needs 'xpos = query' or 'xpos = key'}}
  %0 = rotary.rope_grad %x, %p, %x layout = half {xpos_scale_base = 64.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_base_attr_and_operand(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %b: tensor<f32>) {
  // expected-error @+1 {{'rotary.rope' op attribute 'base' and operand 'base' are exclusive; give one of them}}
  %0 = rotary.rope %x, %p base(%b) layout = half {base = 100.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_inv_freq_and_base_attr(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<32xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'inv_freq' replaces the base; remove the 'base' attribute or operand}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<32xf32>) layout = half {base = 100.0 : f32} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_inv_freq_and_base_operand(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<32xf32>, %b: tensor<f32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'inv_freq' replaces the base; remove the 'base' attribute or operand}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<32xf32>) base(%b) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_inv_freq_shape(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<64xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'inv_freq' must have shape [32] ([rotary_dim / 2]), but got 'tensor<64xf32>'}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<64xf32>) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_inv_freq_partial(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<32xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'inv_freq' must have shape [8] ([rotary_dim / 2]), but got 'tensor<32xf32>'}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<32xf32>) layout = half {rotary_dim = 16} : tensor<2x16x4x64xf32>, tensor<16xi64>
  return
}

// -----

func.func @rope_phase_shape(%x: tensor<2x16x4x?xf32>, %p: tensor<16xi64>, %ph: tensor<1x4xf32>) {
  // expected-error @+1 {{'rotary.rope' op operand 'phase' must have shape [rotary_dim / 2], but got 'tensor<1x4xf32>'}}
  %0 = rotary.rope %x, %p phase(%ph : tensor<1x4xf32>) layout = half : tensor<2x16x4x?xf32>, tensor<16xi64>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.inv_freq
//===----------------------------------------------------------------------===//

// The custom form fails in type inference.
func.func @inv_freq_dim_odd() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'dim' must be a positive even number, but got 3}}
  %0 = rotary.inv_freq dim = 3
  return
}

// -----

func.func @inv_freq_dim_zero() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'dim' must be a positive even number, but got 0}}
  %0 = rotary.inv_freq dim = 0
  return
}

// -----

// The generic form skips inference and reaches the verifier.
func.func @inv_freq_dim_negative_generic() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'dim' must be a positive even number, but got -4}}
  %0 = "rotary.inv_freq"() <{dim = -4 : i64}> : () -> tensor<2xf32>
  return
}

// -----

func.func @inv_freq_no_dim() {
  // expected-error @+1 {{'rotary.inv_freq' op requires attribute 'dim'}}
  %0 = "rotary.inv_freq"() : () -> tensor<32xf32>
  return
}

// -----

func.func @inv_freq_base_zero() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'base' must be positive and finite, but got 0}}
  %0 = rotary.inv_freq dim = 64 base = 0.0
  return
}

// -----

func.func @inv_freq_base_inf() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'base' must be positive and finite, but got INF}}
  %0 = rotary.inv_freq dim = 64 base = 0x7F800000
  return
}

// -----

func.func @inv_freq_scales_empty() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'scales' must not be empty}}
  %0 = rotary.inv_freq dim = 64 scales = []
  return
}

// -----

func.func @inv_freq_scales_negative() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'scales' must be positive and finite, but got -2}}
  %0 = rotary.inv_freq dim = 64 scales = [1.0, -2.0]
  return
}

// -----

func.func @inv_freq_scales_inf() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'scales' must be positive and finite, but got INF}}
  %0 = "rotary.inv_freq"() <{dim = 64 : i64, scales = array<f32: 0x7F800000>}> : () -> tensor<32xf32>
  return
}

// -----

func.func @inv_freq_scales_divide() {
  // expected-error @+1 {{'rotary.inv_freq' op attribute 'scales' has 3 entries, which must divide dim / 2 = 32}}
  %0 = rotary.inv_freq dim = 64 scales = [1.0, 2.0, 4.0]
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.givens
//===----------------------------------------------------------------------===//

func.func @givens_x_scalar(%x: tensor<f32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'x' must have shape [..., D] (rank >= 1), but got 'tensor<f32>'}}
  %0 = rotary.givens %x, %a : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @givens_angles_rank(%x: tensor<2x8x4xf32>, %a: tensor<2x8x1xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'angles' must have shape [N] or [H, N], but got 'tensor<2x8x1xf32>'}}
  %0 = rotary.givens %x, %a : tensor<2x8x4xf32>, tensor<2x8x1xf32>
  return
}

// -----

func.func @givens_angles_0d(%x: tensor<2x8x4xf32>, %a: tensor<f32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'angles' must have shape [N] or [H, N], but got 'tensor<f32>'}}
  %0 = rotary.givens %x, %a : tensor<2x8x4xf32>, tensor<f32>
  return
}

// -----

func.func @givens_per_head_mismatch(%x: tensor<2x8x4xf32>, %a: tensor<4x3xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'angles' must have shape [8, ?] (per-head [H, N] with H of operand 'x'), but got 'tensor<4x3xf32>'}}
  %0 = rotary.givens %x, %a : tensor<2x8x4xf32>, tensor<4x3xf32>
  return
}

// -----

func.func @givens_per_head_rank1_x(%x: tensor<4xf32>, %a: tensor<1x3xf32>) {
  // expected-error @+1 {{'rotary.givens' op per-head operand 'angles' 'tensor<1x3xf32>' needs operand 'x' with a head dimension ([..., H, D]), but got 'tensor<4xf32>'}}
  %0 = rotary.givens %x, %a : tensor<4xf32>, tensor<1x3xf32>
  return
}

// -----

func.func @givens_pairs_odd_count(%x: tensor<4xf32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.givens' op attribute 'pairs' must hold (i, j) index pairs, but has an odd number of entries (3)}}
  %0 = "rotary.givens"(%x, %a) <{pairs = array<i64: 0, 1, 2>}> : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @givens_pairs_count(%x: tensor<4xf32>, %a: tensor<3xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'angles' must have shape [2] ([..., 2], one angle per pair of 'pairs'), but got 'tensor<3xf32>'}}
  %0 = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<4xf32>, tensor<3xf32>
  return
}

// -----

func.func @givens_pair_out_of_range(%x: tensor<4xf32>, %a: tensor<2xf32>) {
  // expected-error @+1 {{'rotary.givens' op 'pairs' index 4 is out of range for D of operand 'x', but got D = 4}}
  %0 = rotary.givens %x, %a pairs = [(0, 1), (2, 4)] : tensor<4xf32>, tensor<2xf32>
  return
}

// -----

func.func @givens_pair_negative(%x: tensor<?xf32>, %a: tensor<1xf32>) {
  // expected-error @+1 {{'rotary.givens' op pair 0 (-1, 2) of 'pairs' has a negative index}}
  %0 = rotary.givens %x, %a pairs = [(-1, 2)] : tensor<?xf32>, tensor<1xf32>
  return
}

// -----

func.func @givens_pair_self(%x: tensor<4xf32>, %a: tensor<2xf32>) {
  // expected-error @+1 {{'rotary.givens' op pair 1 (3, 3) of 'pairs' rotates a feature with itself}}
  %0 = rotary.givens %x, %a pairs = [(0, 1), (3, 3)] : tensor<4xf32>, tensor<2xf32>
  return
}

// -----

func.func @givens_default_odd_d(%x: tensor<8x5xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{'rotary.givens' op the default round-robin schedule needs an even D of operand 'x' (or give 'pairs'), but got D = 5}}
  %0 = rotary.givens %x, %a : tensor<8x5xf32>, tensor<4xf32>
  return
}

// -----

func.func @givens_too_many_angles(%x: tensor<8x4xf32>, %a: tensor<7xf32>) {
  // expected-error @+1 {{'rotary.givens' op operand 'angles' must have at most D(D-1)/2 angles (the round-robin schedule), but got N = 7, D = 4}}
  %0 = rotary.givens %x, %a : tensor<8x4xf32>, tensor<7xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.orthogonal / rotary.orthogonality_penalty
//===----------------------------------------------------------------------===//

func.func @orthogonal_x_scalar(%x: tensor<f32>, %r: tensor<1x1xf32>) {
  // expected-error @+1 {{'rotary.orthogonal' op operand 'x' must have shape [..., D] (rank >= 1)}}
  %0 = rotary.orthogonal %x, %r : tensor<f32>, tensor<1x1xf32>
  return
}

// -----

func.func @orthogonal_matrix_d(%x: tensor<?x64xf32>, %r: tensor<32x64xf32>) {
  // expected-error @+1 {{'rotary.orthogonal' op operand 'matrix' must have shape [64, ?] ([D, E] with D of operand 'x'), but got 'tensor<32x64xf32>'}}
  %0 = rotary.orthogonal %x, %r : tensor<?x64xf32>, tensor<32x64xf32>
  return
}

// -----

func.func @orthogonal_matrix_heads(%x: tensor<2x8x16xbf16>, %r: tensor<4x16x16xbf16>) {
  // expected-error @+1 {{'rotary.orthogonal' op operand 'matrix' must have shape [8, 16, ?] (per-head [H, D, E] with H, D of operand 'x'), but got 'tensor<4x16x16xbf16>'}}
  %0 = rotary.orthogonal %x, %r : tensor<2x8x16xbf16>, tensor<4x16x16xbf16>
  return
}

// -----

func.func @orthogonal_matrix_rank(%x: tensor<16xf32>, %r: tensor<1x16x16xf32>) {
  // A per-head matrix needs a head dimension in x.
  // expected-error @+1 {{'rotary.orthogonal' op operand 'matrix' must have shape [D, E] or per-head [H, D, E] with D (and H) of operand 'x', but got 'tensor<1x16x16xf32>'}}
  %0 = rotary.orthogonal %x, %r : tensor<16xf32>, tensor<1x16x16xf32>
  return
}

// -----

func.func @penalty_rank1(%r: tensor<4xf32>) {
  // expected-error @+1 {{'rotary.orthogonality_penalty' op operand 'matrix' must have shape [D, E] or [H, D, E], but got 'tensor<4xf32>'}}
  %0 = rotary.orthogonality_penalty %r : tensor<4xf32>
  return
}

// -----

func.func @penalty_rank(%r: tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{'rotary.orthogonality_penalty' op operand 'matrix' must have shape [D, E] or [H, D, E], but got 'tensor<2x2x4x4xf32>'}}
  %0 = rotary.orthogonality_penalty %r : tensor<2x2x4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.rotation_block
//===----------------------------------------------------------------------===//

func.func @rotation_block_layout_without_rope(%x: tensor<?x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op 'layout', 'rotary_dim' and 'base' configure the rope and need 'rope(positions)'}}
  %0 = rotary.rotation_block %x, %a, %r layout = half : tensor<?x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_rotary_dim_without_rope(%x: tensor<?x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op 'layout', 'rotary_dim' and 'base' configure the rope and need 'rope(positions)'}}
  %0 = rotary.rotation_block %x, %a, %r {rotary_dim = 2} : tensor<?x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_base_without_rope(%x: tensor<?x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op 'layout', 'rotary_dim' and 'base' configure the rope and need 'rope(positions)'}}
  %0 = rotary.rotation_block %x, %a, %r {base = 10.0 : f32} : tensor<?x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_rope_x_rank(%x: tensor<16x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rotation_block' op operand 'x' must have shape [B, T, H, D] (rank 4), but got 'tensor<16x4xf32>'}}
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<16xi64>) : tensor<16x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_rope_positions(%x: tensor<1x16x2x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{'rotary.rotation_block' op operand 'positions' must have shape [16] ([T] of operand 'x'), but got 'tensor<8xi64>'}}
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<8xi64>) : tensor<1x16x2x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_rope_rotary_dim(%x: tensor<1x16x2x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rotation_block' op attribute 'rotary_dim' (6) must not exceed D of operand 'x', but got D = 4}}
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<16xi64>) {rotary_dim = 6} : tensor<1x16x2x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_rope_base(%x: tensor<1x16x2x4xf32>, %a: tensor<6xf32>, %r: tensor<4x4xf32>, %p: tensor<16xi64>) {
  // expected-error @+1 {{'rotary.rotation_block' op attribute 'base' must be positive and finite, but got -INF}}
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<16xi64>) {base = 0xFF800000 : f32} : tensor<1x16x2x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_chain(%x: tensor<?x4xf32>, %a: tensor<7xf32>, %r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op operand 'angles' must have at most D(D-1)/2 angles (the round-robin schedule), but got N = 7, D = 4}}
  %0 = rotary.rotation_block %x, %a, %r : tensor<?x4xf32>, tensor<7xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_pairs(%x: tensor<?x4xf32>, %a: tensor<1xf32>, %r: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op pair 0 (2, 2) of 'pairs' rotates a feature with itself}}
  %0 = rotary.rotation_block %x, %a, %r pairs = [(2, 2)] : tensor<?x4xf32>, tensor<1xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @rotation_block_matrix(%x: tensor<?x4xf32>, %a: tensor<6xf32>, %r: tensor<8x8xf32>) {
  // expected-error @+1 {{'rotary.rotation_block' op operand 'matrix' must have shape [4, 4] ([D, D] with D of operand 'x'), but got 'tensor<8x8xf32>'}}
  %0 = rotary.rotation_block %x, %a, %r : tensor<?x4xf32>, tensor<6xf32>, tensor<8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.so_generator
//===----------------------------------------------------------------------===//

func.func @so_generator_angles_0d(%a: tensor<f32>) {
  // expected-error @+1 {{'rotary.so_generator' op operand 'angles' must have shape [..., c(c-1)/2]}}
  %0 = rotary.so_generator %a chunk = 2 form = givens : tensor<f32>
  return
}

// -----

func.func @so_generator_no_chunk(%a: tensor<2x6xf32>) {
  // expected-error @+1 {{'rotary.so_generator' op requires attribute 'chunk'}}
  %0 = "rotary.so_generator"(%a) : (tensor<2x6xf32>) -> tensor<2x4x4xf32>
  return
}

// -----

// Custom form: type inference rejects the chunk.
func.func @so_generator_chunk_small(%a: tensor<2x1xf32>) {
  // expected-error @+1 {{'rotary.so_generator' op attribute 'chunk' must be in [2, 32], but got 1}}
  %0 = rotary.so_generator %a chunk = 1 form = givens : tensor<2x1xf32>
  return
}

// -----

// Generic form: the verifier rejects the chunk.
func.func @so_generator_chunk_big_generic(%a: tensor<2x528xf32>) {
  // expected-error @+1 {{'rotary.so_generator' op attribute 'chunk' must be in [2, 32], but got 33}}
  %0 = "rotary.so_generator"(%a) <{chunk = 33 : i64}> : (tensor<2x528xf32>) -> tensor<2x33x33xf32>
  return
}

// -----

func.func @so_generator_angle_count(%a: tensor<2x?x8x16x4xf32>) {
  // expected-error @+1 {{'rotary.so_generator' op operand 'angles' must have shape [..., 6] ([..., c(c-1)/2] for chunk = 4), but got 'tensor<2x?x8x16x4xf32>'}}
  %0 = rotary.so_generator %a chunk = 4 form = exp : tensor<2x?x8x16x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.cumulative_rotation
//===----------------------------------------------------------------------===//

func.func @cumulative_rank(%g: tensor<4x4xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op operand 'rotations' must have shape [..., T, ..., c, c] (rank >= 3), but got 'tensor<4x4xf32>'}}
  %0 = rotary.cumulative_rotation %g : tensor<4x4xf32>
  return
}

// -----

func.func @cumulative_not_square(%g: tensor<2x8x4x3xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op operand 'rotations' must have shape [..., 3, ?] ([..., c, c]), but got 'tensor<2x8x4x3xf32>'}}
  %0 = rotary.cumulative_rotation %g : tensor<2x8x4x3xf32>
  return
}

// -----

func.func @cumulative_c_small(%g: tensor<2x8x1x1xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op operand 'rotations' must have shape [..., c, c] with c in [2, 32], but got 'tensor<2x8x1x1xf32>'}}
  %0 = rotary.cumulative_rotation %g : tensor<2x8x1x1xf32>
  return
}

// -----

func.func @cumulative_c_big(%g: tensor<2x8x33x33xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op operand 'rotations' must have shape [..., c, c] with c in [2, 32], but got 'tensor<2x8x33x33xf32>'}}
  %0 = rotary.cumulative_rotation %g : tensor<2x8x33x33xf32>
  return
}

// -----

func.func @cumulative_axis_trailing(%g: tensor<2x8x4x4xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op attribute 'axis' (2) must name a dimension of operand 'rotations' before its trailing [c, c], i.e. be in [0, 2)}}
  %0 = rotary.cumulative_rotation %g {axis = 2} : tensor<2x8x4x4xf32>
  return
}

// -----

func.func @cumulative_axis_negative(%g: tensor<2x8x4x4xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op attribute 'axis' (-1) must name a dimension of operand 'rotations' before its trailing [c, c], i.e. be in [0, 2)}}
  %0 = rotary.cumulative_rotation %g {axis = -1} : tensor<2x8x4x4xf32>
  return
}

// -----

// The default axis (1) needs rank >= 4.
func.func @cumulative_default_axis_rank3(%g: tensor<8x4x4xf32>) {
  // expected-error @+1 {{'rotary.cumulative_rotation' op attribute 'axis' (1) must name a dimension of operand 'rotations' before its trailing [c, c], i.e. be in [0, 1)}}
  %0 = rotary.cumulative_rotation %g : tensor<8x4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.hdd_rope
//===----------------------------------------------------------------------===//

func.func @hdd_rope_x_rank(%x: tensor<16x8x64xf32>, %p: tensor<2x16x8x16x4x4xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'x' must have shape [B, T, H, D] (rank 4), but got 'tensor<16x8x64xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<16x8x64xf32>, tensor<2x16x8x16x4x4xf32>
  return
}

// -----

func.func @hdd_rope_fused_without_chunk(%x: tensor<2x16x8x64xf32>, %a: tensor<2x16x8x16x6xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op the fused form (with 'form') needs the 'chunk' attribute}}
  %0 = rotary.hdd_rope %x, %a form = givens : tensor<2x16x8x64xf32>, tensor<2x16x8x16x6xf32>
  return
}

// -----

func.func @hdd_rope_chunk_range(%x: tensor<2x16x8x64xf32>, %a: tensor<2x16x8x1x2016xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op attribute 'chunk' must be in [2, 32], but got 64}}
  %0 = rotary.hdd_rope %x, %a form = exp {chunk = 64} : tensor<2x16x8x64xf32>, tensor<2x16x8x1x2016xf32>
  return
}

// -----

func.func @hdd_rope_chunk_divides_fused(%x: tensor<2x16x8x10xf32>, %a: tensor<2x16x8x2x6xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op chunk size 4 must divide D of operand 'x', but got D = 10}}
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4} : tensor<2x16x8x10xf32>, tensor<2x16x8x2x6xf32>
  return
}

// -----

func.func @hdd_rope_chunk_divides_p(%x: tensor<2x16x8x10xf32>, %p: tensor<2x16x8x3x3x3xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op chunk size 3 must divide D of operand 'x', but got D = 10}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x16x8x10xf32>, tensor<2x16x8x3x3x3xf32>
  return
}

// -----

func.func @hdd_rope_p_chunk_range(%x: tensor<2x16x8x4xf32>, %p: tensor<2x16x8x4x1x1xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [B, T, H, C, c, c] with c in [2, 32], but got 'tensor<2x16x8x4x1x1xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x16x8x4xf32>, tensor<2x16x8x4x1x1xf32>
  return
}

// -----

func.func @hdd_rope_p_shape(%x: tensor<2x?x8x64xbf16>, %p: tensor<2x?x8x8x4x4xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [2, ?, 8, 16, 4, 4] ([B, T, H, D/c, c, c] rotations), but got 'tensor<2x?x8x8x4x4xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x?x8x64xbf16>, tensor<2x?x8x8x4x4xf32>
  return
}

// -----

func.func @hdd_rope_p_not_square(%x: tensor<2x16x8x8xf32>, %p: tensor<2x16x8x4x4x2xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [2, 16, 8, 4, 2, 2] ([B, T, H, D/c, c, c] rotations), but got 'tensor<2x16x8x4x4x2xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x16x8x8xf32>, tensor<2x16x8x4x4x2xf32>
  return
}

// -----

func.func @hdd_rope_p_rank(%x: tensor<2x16x8x64xf32>, %p: tensor<2x16x8x16x6xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [B, T, H, C, c, c] (rank 6), but got 'tensor<2x16x8x16x6xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x16x8x64xf32>, tensor<2x16x8x16x6xf32>
  return
}

// -----

func.func @hdd_rope_fused_shape(%x: tensor<2x?x8x64xbf16>, %a: tensor<2x?x8x16x4x4xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [2, ?, 8, 16, 6] ([B, T, H, D/c, c(c-1)/2] angles), but got 'tensor<2x?x8x16x4x4xf32>'}}
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4} : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>
  return
}

// -----

func.func @hdd_rope_fused_angle_count(%x: tensor<2x16x8x64xf32>, %a: tensor<2x16x8x16x4xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [2, 16, 8, 16, 6] ([B, T, H, D/c, c(c-1)/2] angles), but got 'tensor<2x16x8x16x4xf32>'}}
  %0 = rotary.hdd_rope %x, %a form = exp {chunk = 4, inverse} : tensor<2x16x8x64xf32>, tensor<2x16x8x16x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.attention
//===----------------------------------------------------------------------===//

// Custom form: type inference rejects q.
func.func @attention_q_rank(%q: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'q' must have shape [B, H, T, D] (rank 4)}}
  %o, %l = rotary.attention %q, %q, %q : tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>
  return
}

// -----

// Generic form: the verifier rejects q.
func.func @attention_q_rank_generic(%q: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'q' must have shape [B, H, T, D] (rank 4), but got 'tensor<8x128x64xf32>'}}
  %0:2 = "rotary.attention"(%q, %q, %q) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (tensor<8x128x64xf32>, tensor<8x128x64xf32>, tensor<8x128x64xf32>) -> (tensor<8x128x64xf32>, tensor<8x128xf32>)
  return
}

// -----

func.func @attention_element_types(%q: tensor<1x8x128x64xbf16>, %k: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operands 'q', 'k' and 'v' must have the same element type}}
  %o, %l = rotary.attention %q, %k, %k : tensor<1x8x128x64xbf16>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_element_types_v(%q: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operands 'q', 'k' and 'v' must have the same element type}}
  %o, %l = rotary.attention %q, %q, %v : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_k_shape(%q: tensor<1x8x128x64xf32>, %k: tensor<1x4x96x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'k' must have shape [1, 8, ?, 64] ([B, H, S, D] like 'q'), but got 'tensor<1x4x96x64xf32>'}}
  %o, %l = rotary.attention %q, %k, %k : tensor<1x8x128x64xf32>, tensor<1x4x96x64xf32>, tensor<1x4x96x64xf32>
  return
}

// -----

func.func @attention_k_rank(%q: tensor<1x8x128x64xf32>, %k: tensor<8x96x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'k' must have shape [1, 8, ?, 64] ([B, H, S, D] like 'q'), but got 'tensor<8x96x64xf32>'}}
  %o, %l = rotary.attention %q, %k, %k : tensor<1x8x128x64xf32>, tensor<8x96x64xf32>, tensor<8x96x64xf32>
  return
}

// -----

func.func @attention_v_shape(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x96x64xf32>, %v: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'v' must have shape [1, 8, 96, 64] ([B, H, S, D] like 'q'), but got 'tensor<1x8x128x64xf32>'}}
  %o, %l = rotary.attention %q, %k, %v : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_window(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'window' must be >= -1 (-1 means unlimited), but got -2}}
  %o, %l = rotary.attention %q, %q, %q {window = -2} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_global_tokens(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'global_tokens' must be >= 0, but got -1}}
  %o, %l = rotary.attention %q, %q, %q {global_tokens = -1} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_scale_zero(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'scale' must be finite and non-zero, but got 0}}
  %o, %l = rotary.attention %q, %q, %q {scale = 0.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_scale_inf(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'scale' must be finite and non-zero, but got INF}}
  %o, %l = rotary.attention %q, %q, %q {scale = 0x7F800000 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_scale_nan(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'scale' must be finite and non-zero, but got nan}}
  %o, %l = rotary.attention %q, %q, %q {scale = 0x7FC00000 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_bias_table_even(%q: tensor<1x8x128x64xf32>, %b: tensor<8x128xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'bias' (a table [H, 2W+1]) must have an odd number of columns, but got columns = 128}}
  %o, %l = rotary.attention %q, %q, %q bias(%b : tensor<8x128xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_bias_table_heads(%q: tensor<1x8x128x64xf32>, %b: tensor<4x129xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'bias' must have shape [8, ?] ([H, 2W+1] with H of operand 'q'), but got 'tensor<4x129xf32>'}}
  %o, %l = rotary.attention %q, %q, %q bias(%b : tensor<4x129xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_bias_full(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x96x64xf32>, %b: tensor<8x128x128xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'bias' must have shape [8, 128, 96] ([H, T, S] of operands 'q' and 'k'), but got 'tensor<8x128x128xf32>'}}
  %o, %l = rotary.attention %q, %k, %k bias(%b : tensor<8x128x128xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>
  return
}

// -----

func.func @attention_bias_rank(%q: tensor<1x8x128x64xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'bias' must have shape [H, 2W+1] or [H, T, S], but got 'tensor<8xf32>'}}
  %o, %l = rotary.attention %q, %q, %q bias(%b : tensor<8xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_span_shape(%q: tensor<1x8x128x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'span' must have shape [8] ([H] of operand 'q'), but got 'tensor<4xf32>'}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<4xf32>) {span_ramp = 32.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_span_rank(%q: tensor<1x8x128x64xf32>, %s: tensor<1x8xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'span' must have shape [H], but got 'tensor<1x8xf32>'}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<1x8xf32>) {span_ramp = 32.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_span_without_ramp(%q: tensor<1x8x128x64xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.attention' op operand 'span' needs the attribute 'span_ramp'}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<8xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_ramp_without_span(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'span_ramp' is only meaningful with operand 'span'}}
  %o, %l = rotary.attention %q, %q, %q {span_ramp = 32.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_ramp_zero(%q: tensor<1x8x128x64xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'span_ramp' must be positive and finite, but got 0}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<8xf32>) {span_ramp = 0.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_ramp_negative(%q: tensor<1x8x128x64xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'span_ramp' must be positive and finite, but got -4}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<8xf32>) {span_ramp = -4.0 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_ramp_inf(%q: tensor<1x8x128x64xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.attention' op attribute 'span_ramp' must be positive and finite, but got INF}}
  %o, %l = rotary.attention %q, %q, %q span(%s : tensor<8xf32>) {span_ramp = 0x7F800000 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.spectral_bands
//===----------------------------------------------------------------------===//

// Custom form: type inference rejects n_bands.
func.func @spectral_bands_zero(%p: tensor<?xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op attribute 'n_bands' must be >= 1, but got 0}}
  %0 = rotary.spectral_bands %p bands = 0 layout = linear : tensor<?xf32>
  return
}

// -----

// Generic form: the verifier rejects n_bands.
func.func @spectral_bands_negative_generic(%p: tensor<?xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op attribute 'n_bands' must be >= 1, but got -3}}
  %0 = "rotary.spectral_bands"(%p) <{n_bands = -3 : i64}> : (tensor<?xf32>) -> tensor<1xf32>
  return
}

// -----

func.func @spectral_bands_missing(%p: tensor<?xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op requires attribute 'n_bands'}}
  %0 = "rotary.spectral_bands"(%p) : (tensor<?xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @spectral_bands_rank(%p: tensor<4x8xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op operand 'spectrum' must have shape [L], but got 'tensor<4x8xf32>'}}
  %0 = rotary.spectral_bands %p bands = 8 layout = log : tensor<4x8xf32>
  return
}

// -----

func.func @spectral_bands_eps_negative(%p: tensor<?xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op attribute 'eps' must be finite and >= 0, but got -1.000000e-08}}
  %0 = rotary.spectral_bands %p bands = 8 layout = split {eps = -1.0e-8 : f32} : tensor<?xf32>
  return
}

// -----

func.func @spectral_bands_eps_nan(%p: tensor<?xf32>) {
  // expected-error @+1 {{'rotary.spectral_bands' op attribute 'eps' must be finite and >= 0, but got nan}}
  %0 = rotary.spectral_bands %p bands = 8 layout = linear {eps = 0x7FC00000 : f32} : tensor<?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.adaptive_momentum / rotary.fam_step
//===----------------------------------------------------------------------===//

func.func @adaptive_momentum_ema_rank(%e: tensor<2x4xf32>, %a: tensor<f32>) {
  // expected-error @+1 {{'rotary.adaptive_momentum' op operand 'ema' must have shape [n] with n >= 1 bands, but got 'tensor<2x4xf32>'}}
  %0 = rotary.adaptive_momentum %e, %a handler = conv : tensor<2x4xf32>
  return
}

// -----

func.func @adaptive_momentum_ema_empty(%e: tensor<0xf32>, %a: tensor<f32>) {
  // expected-error @+1 {{'rotary.adaptive_momentum' op operand 'ema' must have at least one band, but got bands = 0}}
  %0 = rotary.adaptive_momentum %e, %a handler = default : tensor<0xf32>
  return
}

// -----

func.func @fam_step_momentum_shape(%p: tensor<4x4xbf16>, %m: tensor<4x5xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op operand 'momentum' must have shape [4, 4] (like 'param'), but got 'tensor<4x5xf32>'}}
  %0:2 = rotary.fam_step %p, %p, %m, %s, %s : tensor<4x4xbf16>, tensor<4x5xf32>
  return
}

// -----

func.func @fam_step_momentum_rank(%p: tensor<?x4xf32>, %m: tensor<16xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op operand 'momentum' must have shape [?, 4] (the shape of 'param'), but got 'tensor<16xf32>'}}
  %0:2 = rotary.fam_step %p, %p, %m, %s, %s : tensor<?x4xf32>, tensor<16xf32>
  return
}

// -----

func.func @fam_step_weight_decay_inf(%p: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op attribute 'weight_decay' must be finite and >= 0}}
  %0:2 = rotary.fam_step %p, %p, %p, %s, %s {weight_decay = 0x7F800000 : f32} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @fam_step_weight_decay_nan(%p: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op attribute 'weight_decay' must be finite and >= 0}}
  %0:2 = rotary.fam_step %p, %p, %p, %s, %s {weight_decay = 0x7FC00000 : f32} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

func.func @quaternion_x_last_dim(%x: tensor<8x4xf32>, %u: tensor<3xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'x' must have shape [..., 3] ([..., 3]), but got 'tensor<8x4xf32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<8x4xf32>, tensor<3xf32>, tensor<f32>
  return
}

// -----

func.func @quaternion_x_scalar(%x: tensor<f32>, %u: tensor<3xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'x' must have shape [..., 3], but got 'tensor<f32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<f32>, tensor<3xf32>, tensor<f32>
  return
}

// -----

func.func @quaternion_axis(%x: tensor<8x3xf32>, %u: tensor<4xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'axis' must have shape [3] ([3], one axis for all vectors), but got 'tensor<4xf32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<8x3xf32>, tensor<4xf32>, tensor<f32>
  return
}

// -----

func.func @quaternion_axis_per_vector(%x: tensor<?x8x3xbf16>, %u: tensor<?x4x3xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'axis' must have shape [?, 8, 3] (like 'x'), but got 'tensor<?x4x3xf32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<?x8x3xbf16>, tensor<?x4x3xf32>, tensor<f32>
  return
}

// -----

func.func @quaternion_angle(%x: tensor<2x8x3xf32>, %u: tensor<3xf32>, %t: tensor<8xf32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'angle' must have shape [] or one angle per vector of 'x' (rank 2), but got 'tensor<8xf32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<2x8x3xf32>, tensor<3xf32>, tensor<8xf32>
  return
}

// -----

func.func @quaternion_angle_with_3(%x: tensor<2x8x3xf32>, %u: tensor<3xf32>, %t: tensor<2x8x3xf32>) {
  // expected-error @+1 {{'rotary.quaternion_rotate' op operand 'angle' must have shape [] or one angle per vector of 'x' (rank 2), but got 'tensor<2x8x3xf32>'}}
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<2x8x3xf32>, tensor<3xf32>, tensor<2x8x3xf32>
  return
}

// -----

func.func @fam_step_weight_decay_negative(%p: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op attribute 'weight_decay' must be finite and >= 0, but got -1.0}}
  %0:2 = rotary.fam_step %p, %p, %p, %s, %s {weight_decay = -1.0 : f32} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @fam_step_momentum_narrower(%p: tensor<4xf32>, %m: tensor<4xbf16>, %s: tensor<f32>) {
  // expected-error @+1 {{'rotary.fam_step' op operand 'momentum' must have the element type of 'param' ('f32') or f32, but got 'bf16'}}
  %0:2 = rotary.fam_step %p, %p, %m, %s, %s : tensor<4xf32>, tensor<4xbf16>
  return
}

// -----

func.func @so_generator_angles_rank0_generic(%a: tensor<f32>) {
  // expected-error @+1 {{'rotary.so_generator' op operand 'angles' must have shape [..., 1], but got 'tensor<f32>'}}
  %0 = "rotary.so_generator"(%a) <{chunk = 2 : i64, form = #rotary<so_form givens>}> : (tensor<f32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @orthogonal_transpose_contracts_last(%x: tensor<?x64xf32>, %r: tensor<64x32xf32>) {
  // With `transpose` the contracted dimension of R is its last one.
  // expected-error @+1 {{'rotary.orthogonal' op operand 'matrix' must have shape [..., 64] ([E, D] with D of operand 'x'), but got 'tensor<64x32xf32>'}}
  %0 = rotary.orthogonal %x, %r {transpose} : tensor<?x64xf32>, tensor<64x32xf32>
  return
}

// -----

func.func @hdd_rope_p_zero_chunk(%x: tensor<1x2x3x4xf32>, %p: tensor<1x2x3x0x0x0xf32>) {
  // A zero-sized P must not be used to size anything (no division by zero).
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [B, T, H, C, c, c] with c in [2, 32], but got 'tensor<1x2x3x0x0x0xf32>'}}
  %0 = rotary.hdd_rope %x, %p : tensor<1x2x3x4xf32>, tensor<1x2x3x0x0x0xf32>
  return
}

// -----

func.func @hdd_rope_chunk_attr_vs_p(%x: tensor<1x2x3x8xf32>, %p: tensor<1x2x3x4x2x2xf32>) {
  // expected-error @+1 {{'rotary.hdd_rope' op operand 'rotation' must have shape [1, 2, 3, 2, 4, 4] ([B, T, H, D/c, c, c] rotations), but got 'tensor<1x2x3x4x2x2xf32>'}}
  %0 = rotary.hdd_rope %x, %p {chunk = 4 : i64} : tensor<1x2x3x8xf32>, tensor<1x2x3x4x2x2xf32>
  return
}

// -----

func.func @orthogonal_matrix_rank1(%x: tensor<?x4xf32>, %r: tensor<4xf32>) {
  // Rejected while inferring the result type.
  // expected-error @+1 {{'rotary.orthogonal' op operand 'matrix' must have shape [D, E] or [H, D, E]}}
  %0 = rotary.orthogonal %x, %r : tensor<?x4xf32>, tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.online_attention: the checks of rotary.attention, plus its inits
//===----------------------------------------------------------------------===//

func.func @online_attention_lse_init(%q: tensor<1x2x6x4xf32>, %p: index, %l: tensor<1x2x5xf32>) {
  // expected-error @+1 {{'rotary.online_attention' op operand 'lse_init' must have shape [1, 2, 6] ([B, H, T] like 'q'), but got 'tensor<1x2x5xf32>'}}
  %0:2 = rotary.online_attention ins(%q, %q, %q : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) first_position(%p) outs(%q, %l : tensor<1x2x6x4xf32>, tensor<1x2x5xf32>) -> tensor<1x2x6x4xf32>, tensor<1x2x5xf32>
  return
}

// -----

func.func @online_attention_output_init(%q: tensor<1x2x6x4xf32>, %p: index, %o: tensor<1x2x6x4xbf16>, %l: tensor<1x2x6xf32>) {
  // expected-error @+1 {{'rotary.online_attention' op failed to verify that all of {q, output_init} have same type}}
  %0:2 = rotary.online_attention ins(%q, %q, %q : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) first_position(%p) outs(%o, %l : tensor<1x2x6x4xbf16>, tensor<1x2x6xf32>) -> tensor<1x2x6x4xbf16>, tensor<1x2x6xf32>
  return
}

// -----

func.func @online_attention_result_type(%q: tensor<1x2x6x4xf32>, %p: index, %l: tensor<1x2x6xf32>) {
  // expected-error @+1 {{'rotary.online_attention' op expected type of operand #5 ('tensor<1x2x6xf32>') to match type of corresponding result ('tensor<1x2x?xf32>')}}
  %0:2 = rotary.online_attention ins(%q, %q, %q : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) first_position(%p) outs(%q, %l : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) -> tensor<1x2x6x4xf32>, tensor<1x2x?xf32>
  return
}

// -----

func.func @online_attention_keys(%q: tensor<1x2x6x4xf32>, %k: tensor<1x3x8x4xf32>, %p: index, %l: tensor<1x2x6xf32>) {
  // expected-error @+1 {{'rotary.online_attention' op operand 'k' must have shape [1, 2, ?, 4] ([B, H, S, D] like 'q'), but got 'tensor<1x3x8x4xf32>'}}
  %0:2 = rotary.online_attention ins(%q, %k, %k : tensor<1x2x6x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) first_position(%p) outs(%q, %l : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.online_attention_query_grad / _key_grad: the checks of
// rotary.attention, then lse and the inits
//===----------------------------------------------------------------------===//

func.func @query_grad_lse(%q: tensor<1x2x6x4xf32>, %lse: tensor<1x2x7xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_query_grad' op operand 'lse' must have shape [1, 2, 6] ([B, H, T] like 'q'), but got 'tensor<1x2x7xf32>'}}
  %0 = rotary.online_attention_query_grad ins(%q, %q, %q, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x7xf32>) first_position(%p) outs(%q : tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return
}

// -----

func.func @query_grad_missing_partial(%q: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %s: tensor<2xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_query_grad' op expects 2 inits (dq, span rows), but got 1}}
  %0 = rotary.online_attention_query_grad ins(%q, %q, %q, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) span(%s : tensor<2xf32>) first_position(%p) outs(%q : tensor<1x2x6x4xf32>) {span_ramp = 4.0 : f32} -> tensor<1x2x6x4xf32>
  return
}

// -----

func.func @query_grad_bias_rows(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %lse: tensor<1x2x6xf32>, %b: tensor<2x6x8xf32>, %db: tensor<2x6x9xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_query_grad' op init 'bias rows' must have type 'tensor<2x6x8xf32>', but got 'tensor<2x6x9xf32>'}}
  %0:2 = rotary.online_attention_query_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) bias(%b : tensor<2x6x8xf32>) first_position(%p) outs(%q, %db : tensor<1x2x6x4xf32>, tensor<2x6x9xf32>) -> tensor<1x2x6x4xf32>, tensor<2x6x9xf32>
  return
}

// -----

func.func @key_grad_dv(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %lse: tensor<1x2x6xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_key_grad' op init 'dv' must have type 'tensor<1x2x8x4xf32>', but got 'tensor<1x2x6x4xf32>'}}
  %0:2 = rotary.online_attention_key_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) first_position(%p) first_key(%p) outs(%k, %q : tensor<1x2x8x4xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32>, tensor<1x2x6x4xf32>
  return
}

// -----

func.func @key_grad_doutput(%q: tensor<1x2x6x4xf32>, %do: tensor<1x2x6x4xbf16>, %lse: tensor<1x2x6xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_key_grad' op failed to verify that all of {q, doutput} have same type}}
  %0:2 = "rotary.online_attention_key_grad"(%q, %q, %q, %do, %lse, %lse, %p, %p, %q, %q) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 2>}> : (tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xbf16>, tensor<1x2x6xf32>, tensor<1x2x6xf32>, index, index, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>)
  return
}

// -----

func.func @attention_grad_missing_dv(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %lse: tensor<1x2x6xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_grad' op expects 3 inits (dq, dk, dv), but got 2}}
  %0:2 = rotary.online_attention_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) first_position(%p) outs(%q, %k : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>
  return
}

// -----

func.func @attention_grad_span_rows(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %lse: tensor<1x2x6xf32>, %s: tensor<2xf32>, %ds: tensor<2x8xf32>, %p: index) {
  // expected-error @+1 {{'rotary.online_attention_grad' op init 'span rows' must have type 'tensor<2x6xf32>', but got 'tensor<2x8xf32>'}}
  %0:4 = rotary.online_attention_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) span(%s : tensor<2xf32>) first_position(%p) outs(%q, %k, %k, %ds : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<2x8xf32>) {span_ramp = 4.0 : f32} -> tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.hdd_rope_lanes
//===----------------------------------------------------------------------===//

func.func @hdd_lanes_x(%x: tensor<1x4x10xf32>, %a: tensor<1x4x12xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op operand 'x' must have shape [B, T, L·c] (rank 3, a multiple of c), but got 'tensor<1x4x10xf32>'}}
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x10xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%x : tensor<1x4x10xf32>) {chunk = 4 : i64} -> tensor<1x4x10xf32>
  return
}

// -----

func.func @hdd_lanes_angles(%x: tensor<1x4x8xf32>, %a: tensor<1x4x8xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op operand 'angles' must have shape [1, 4, 12] ([B, T, L·c(c−1)/2]), but got 'tensor<1x4x8xf32>'}}
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x8xf32>, tensor<1x4x8xf32>) first_lane(%l) outs(%x : tensor<1x4x8xf32>) {chunk = 4 : i64} -> tensor<1x4x8xf32>
  return
}

// -----

func.func @hdd_lanes_init(%x: tensor<1x4x8xf32>, %a: tensor<1x4x12xf32>, %y: tensor<1x4x12xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op operand 'init' must have shape [1, 4, ?] ([B, T, n·c], at most x's lanes), but got 'tensor<1x4x12xf32>'}}
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x8xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%y : tensor<1x4x12xf32>) {chunk = 4 : i64} -> tensor<1x4x12xf32>
  return
}

// -----

func.func @hdd_lanes_chunk(%x: tensor<1x4x8xf32>, %a: tensor<1x4x0xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op attribute 'chunk' must be in [2, 32], but got 1}}
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x8xf32>, tensor<1x4x0xf32>) first_lane(%l) outs(%x : tensor<1x4x8xf32>) {chunk = 1 : i64} -> tensor<1x4x8xf32>
  return
}

// -----

func.func @hdd_lanes_grad_da(%x: tensor<1x4x8xf32>, %a: tensor<1x4x12xf32>, %da: tensor<1x4x8xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes_grad' op operand 'da_init' must have shape [1, 4, ?] ([B, T, n·c(c−1)/2], at most x's lanes), but got 'tensor<1x4x8xf32>'}}
  %0:2 = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<1x4x8xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%x, %da : tensor<1x4x8xf32>, tensor<1x4x8xf32>) {chunk = 4 : i64} -> tensor<1x4x8xf32>, tensor<1x4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// rotary.givens_rows
//===----------------------------------------------------------------------===//

func.func @givens_rows_x(%x: tensor<4x16xf32>, %c: tensor<1x8xf32>, %p: tensor<8x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows' op operand 'x' must have shape [M, H, D] (rank 3), but got 'tensor<4x16xf32>'}}
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x16xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) outs(%x : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @givens_rows_cos(%x: tensor<4x2x16xf32>, %c: tensor<3x8xf32>, %p: tensor<8x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows' op operand 'cos' must have shape [2, ?] or [1, N] ([H, N] per head), but got 'tensor<3x8xf32>'}}
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x2x16xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<8x2xindex>) outs(%x : tensor<4x2x16xf32>) -> tensor<4x2x16xf32>
  return
}

// -----

func.func @givens_rows_sin(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf32>, %s: tensor<1x8xf32>, %p: tensor<8x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows' op failed to verify that all of {cos, sin} have same type}}
  %0 = rotary.givens_rows ins(%x, %c, %s, %p : tensor<4x2x16xf32>, tensor<2x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) outs(%x : tensor<4x2x16xf32>) -> tensor<4x2x16xf32>
  return
}

// -----

func.func @givens_rows_pairs(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf32>, %p: tensor<7x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows' op operand 'pairs' must have shape [8, 2] ([N, 2]), but got 'tensor<7x2xindex>'}}
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<7x2xindex>) outs(%x : tensor<4x2x16xf32>) -> tensor<4x2x16xf32>
  return
}

// -----

func.func @givens_rows_matrix(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf32>, %p: tensor<8x2xindex>, %r: tensor<16x8xf32>) {
  // expected-error @+1 {{'rotary.givens_rows' op operand 'matrix' must have shape [16, 16] or [2, 16, 16], but got 'tensor<16x8xf32>'}}
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x2xindex>) matrix(%r : tensor<16x8xf32>) outs(%x : tensor<4x2x16xf32>) -> tensor<4x2x16xf32>
  return
}

// -----

func.func @givens_rows_init(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf32>, %p: tensor<8x2xindex>, %y: tensor<4x1x16xf32>) {
  // expected-error @+1 {{'rotary.givens_rows' op operand 'init' must have shape [4, 2, 16] (like 'x'), but got 'tensor<4x1x16xf32>'}}
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x2xindex>) outs(%y : tensor<4x1x16xf32>) -> tensor<4x1x16xf32>
  return
}

// -----

func.func @givens_rows_grad_x(%x: tensor<4x16xf32>, %c: tensor<1x8xf64>, %p: tensor<8x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows_grad' op operand 'x' must have shape [M, H, D] (rank 3), but got 'tensor<4x16xf32>'}}
  %0:2 = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x16xf32>, tensor<1x8xf64>, tensor<8x2xindex>) outs(%x, %c : tensor<4x16xf32>, tensor<1x8xf64>) -> tensor<4x16xf32>, tensor<1x8xf64>
  return
}

// -----

func.func @givens_rows_grad_cos(%x: tensor<4x2x16xf32>, %c: tensor<1x8xf64>, %p: tensor<8x2xindex>) {
  // expected-error @+1 {{'rotary.givens_rows_grad' op operand 'cos' must have shape [2, ?] ([H, N]), but got 'tensor<1x8xf64>'}}
  %0:2 = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x2x16xf32>, tensor<1x8xf64>, tensor<8x2xindex>) outs(%x, %c : tensor<4x2x16xf32>, tensor<1x8xf64>) -> tensor<4x2x16xf32>, tensor<1x8xf64>
  return
}

// -----

func.func @givens_rows_grad_pairs(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf64>, %p: tensor<8x3xindex>) {
  // expected-error @+1 {{'rotary.givens_rows_grad' op operand 'pairs' must have shape [8, 2] ([N, 2]), but got 'tensor<8x3xindex>'}}
  %0:2 = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf64>, tensor<8x3xindex>) outs(%x, %c : tensor<4x2x16xf32>, tensor<2x8xf64>) -> tensor<4x2x16xf32>, tensor<2x8xf64>
  return
}

// -----

func.func @givens_rows_grad_dx(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf64>, %p: tensor<8x2xindex>, %dx: tensor<4x2x8xf32>) {
  // expected-error @+1 {{'rotary.givens_rows_grad' op operand 'dx_init' must have shape [4, 2, 16] (like 'x'), but got 'tensor<4x2x8xf32>'}}
  %0:2 = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf64>, tensor<8x2xindex>) outs(%dx, %c : tensor<4x2x8xf32>, tensor<2x8xf64>) -> tensor<4x2x8xf32>, tensor<2x8xf64>
  return
}

// -----

func.func @givens_rows_grad_da(%x: tensor<4x2x16xf32>, %c: tensor<2x8xf64>, %p: tensor<8x2xindex>, %da: tensor<2x7xf64>) {
  // expected-error @+1 {{'rotary.givens_rows_grad' op operand 'da_init' must have shape [2, 8] (like 'cos'), but got 'tensor<2x7xf64>'}}
  %0:2 = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x2x16xf32>, tensor<2x8xf64>, tensor<8x2xindex>) outs(%x, %da : tensor<4x2x16xf32>, tensor<2x7xf64>) -> tensor<4x2x16xf32>, tensor<2x7xf64>
  return
}

// -----

func.func @rope_tokens_grad_x(%x: tensor<2x3x1x7xf32>, %c: tensor<3x3xf32>, %p: tensor<3xi64>, %s: tensor<3xf64>) {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op operand 'x' must have shape [B, T, H, r] (rank 4, r even), but got 'tensor<2x3x1x7xf32>'}}
  %0:3 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x3x1x7xf32>, tensor<3x3xf32>, tensor<3xi64>) outs(%x, %s, %s : tensor<2x3x1x7xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x7xf32>, tensor<3xf64>, tensor<3xf64>
  return
}

// -----

func.func @rope_tokens_grad_positions(%x: tensor<2x3x1x6xf32>, %c: tensor<3x3xf32>, %p: tensor<4xi64>, %s: tensor<3xf64>) {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op operand 'positions' must have shape [3] ([T]) or [2, 3] ([B, T]), but got 'tensor<4xi64>'}}
  %0:3 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x3x1x6xf32>, tensor<3x3xf32>, tensor<4xi64>) outs(%x, %s, %s : tensor<2x3x1x6xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<3xf64>, tensor<3xf64>
  return
}

// -----

func.func @rope_tokens_grad_cos(%x: tensor<2x3x1x6xf32>, %c: tensor<3x3xf32>, %p: tensor<2x3xi64>, %s: tensor<3xf64>) {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op operand 'cos' must have shape [2, 3, 3] ([B, T, r/2]), but got 'tensor<3x3xf32>'}}
  %0:3 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x3x1x6xf32>, tensor<3x3xf32>, tensor<2x3xi64>) outs(%x, %s, %s : tensor<2x3x1x6xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<3xf64>, tensor<3xf64>
  return
}

// -----

func.func @rope_tokens_grad_cos_shared(%x: tensor<2x3x1x6xf32>, %c: tensor<3x2xf32>, %p: tensor<3xi64>, %s: tensor<3xf64>) {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op operand 'cos' must have shape [3, 3] ([T, r/2]), but got 'tensor<3x2xf32>'}}
  %0:3 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x3x1x6xf32>, tensor<3x2xf32>, tensor<3xi64>) outs(%x, %s, %s : tensor<2x3x1x6xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<3xf64>, tensor<3xf64>
  return
}

// -----

func.func @rope_tokens_grad_sums(%x: tensor<2x3x1x6xf32>, %c: tensor<3x3xf32>, %p: tensor<3xi64>, %s: tensor<6xf64>) {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op operand 'dtheta_init' must have shape [3] ([r/2]), but got 'tensor<6xf64>'}}
  %0:3 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x3x1x6xf32>, tensor<3x3xf32>, tensor<3xi64>) outs(%x, %s, %s : tensor<2x3x1x6xf32>, tensor<6xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<6xf64>, tensor<6xf64>
  return
}

// -----

func.func @rotation_scan_rank(%g: tensor<2x5x4x4xf32>, %c: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_scan' op operand 'rotations' must have shape [A, T, Bm, c, c] with a static c in [2, 32], but got 'tensor<2x5x4x4xf32>'}}
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x5x4x4xf32>) outs(%g, %c : tensor<2x5x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x5x4x4xf32>, tensor<2x4x4xf32>
  return
}

// -----

func.func @rotation_scan_dynamic_c(%g: tensor<2x5x3x?x?xf32>, %c: tensor<2x3x?x?xf32>) {
  // expected-error @+1 {{'rotary.rotation_scan' op operand 'rotations' must have shape [A, T, Bm, c, c] with a static c in [2, 32], but got 'tensor<2x5x3x?x?xf32>'}}
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x5x3x?x?xf32>) outs(%g, %c : tensor<2x5x3x?x?xf32>, tensor<2x3x?x?xf32>) -> tensor<2x5x3x?x?xf32>, tensor<2x3x?x?xf32>
  return
}

// -----

func.func @rotation_scan_carry(%g: tensor<2x5x3x4x4xf32>, %c: tensor<2x5x4x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_scan' op operand 'carry_init' must have shape [2, 3, 4, 4] ([A, Bm, R, c] with a static R in [1, c]), but got 'tensor<2x5x4x4xf32>'}}
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x5x3x4x4xf32>) outs(%g, %c : tensor<2x5x3x4x4xf32>, tensor<2x5x4x4xf32>) -> tensor<2x5x3x4x4xf32>, tensor<2x5x4x4xf32>
  return
}

// -----

func.func @rotation_scan_p_rows(%g: tensor<2x5x3x4x4xf32>, %p: tensor<2x5x3x4x4xf32>, %c: tensor<2x3x2x4xf32>) {
  // expected-error @+1 {{'rotary.rotation_scan' op operand 'p_init' must have shape [2, 5, 3, 2, 4] ([A, T, Bm, R, c] like the carry), but got 'tensor<2x5x3x4x4xf32>'}}
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x5x3x4x4xf32>) outs(%p, %c : tensor<2x5x3x4x4xf32>, tensor<2x3x2x4xf32>) -> tensor<2x5x3x4x4xf32>, tensor<2x3x2x4xf32>
  return
}

// -----

func.func @hdd_rope_lanes_exp_large(%x: tensor<1x4x18xf32>, %a: tensor<1x4x72xf32>, %l: index) {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op attribute 'form' = exp needs 'chunk' <= 8 (the exp is unrolled per lane), got 9}}
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x18xf32>, tensor<1x4x72xf32>) first_lane(%l) outs(%x : tensor<1x4x18xf32>) {chunk = 9 : i64, form = #rotary<so_form exp>} -> tensor<1x4x18xf32>
  return
}
