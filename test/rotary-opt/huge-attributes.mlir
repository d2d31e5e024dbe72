// RUN: not rotary-opt %s -split-input-file 2>&1 | FileCheck %s -DFILE=%s --implicit-check-not=error:

// Out-of-range and extreme integer attributes are rejected with a located
// diagnostic that prints the value as given (no overflow in the checks, no
// crash), and rotary-opt exits non-zero.

func.func @rope_rotary_dim_int64_max(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op attribute 'rotary_dim' must be a positive even number, but got 9223372036854775807
  %y = rotary.rope %x, %pos layout = half {rotary_dim = 9223372036854775807 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %y : tensor<1x8x2x8xf32>
}

// -----

func.func @rope_rotary_dim_huge_even(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op attribute 'rotary_dim' (9223372036854775806) must not exceed D of operand 'x', but got D = 8
  %y = rotary.rope %x, %pos layout = half {rotary_dim = 9223372036854775806 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %y : tensor<1x8x2x8xf32>
}

// -----

func.func @rope_rotary_dim_int64_min(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op attribute 'rotary_dim' must be a positive even number, but got -9223372036854775808
  %y = rotary.rope %x, %pos layout = half {rotary_dim = -9223372036854775808 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %y : tensor<1x8x2x8xf32>
}

// -----

// 2^64 does not fit in 64 bits at all: a parser error.
func.func @rope_rotary_dim_2_pow_64(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:57: error: integer constant out of range for attribute
  %y = rotary.rope %x, %pos layout = half {rotary_dim = 18446744073709551616 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %y : tensor<1x8x2x8xf32>
}

// -----

func.func @rotation_block_rotary_dim_huge(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>, %a: tensor<1xf32>,
                                          %r: tensor<8x8xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rotation_block' op attribute 'rotary_dim' (9223372036854775806) must not exceed D of operand 'x', but got D = 8
  %y = rotary.rotation_block %x, %a, %r rope(%pos : tensor<8xi64>) pairs = [(0, 1)] {rotary_dim = 9223372036854775806 : i64}
      : tensor<1x8x2x8xf32>, tensor<1xf32>, tensor<8x8xf32>
  return
}

// -----

// chunk = 2^62: c(c-1)/2 would overflow; the range check comes first. The
// so_generator message comes from type inference (no "see current
// operation" note).
func.func @so_generator_chunk_huge(%a: tensor<2x4x6xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.so_generator' op attribute 'chunk' must be in [2, 32], but got 4611686018427387904
  %g = rotary.so_generator %a chunk = 4611686018427387904 form = givens : tensor<2x4x6xf32>
  return
}

// -----

func.func @hdd_rope_chunk_huge(%x: tensor<1x4x2x8xf32>, %a: tensor<1x4x2x2x6xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.hdd_rope' op attribute 'chunk' must be in [2, 32], but got 4611686018427387904
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 4611686018427387904 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  return
}

// -----

func.func @cumulative_rotation_axis_huge(%g: tensor<2x4x3x3xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.cumulative_rotation' op attribute 'axis' (9223372036854775807) must name a dimension of operand 'rotations' before its trailing [c, c], i.e. be in [0, 2)
  %p = rotary.cumulative_rotation %g {axis = 9223372036854775807 : i64} : tensor<2x4x3x3xf32>
  return
}

// -----

func.func @attention_window_negative(%q: tensor<1x2x4x8xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:12: error: 'rotary.attention' op attribute 'window' must be >= -1 (-1 means unlimited), but got -5
  %o, %l = rotary.attention %q, %q, %q {window = -5 : i64} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
  return
}

// -----

func.func @attention_global_tokens_int64_min(%q: tensor<1x2x4x8xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:12: error: 'rotary.attention' op attribute 'global_tokens' must be >= 0, but got -9223372036854775808
  %o, %l = rotary.attention %q, %q, %q {global_tokens = -9223372036854775808 : i64} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
  return
}

// -----

func.func @spectral_bands_zero(%p: tensor<16xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.spectral_bands' op attribute 'n_bands' must be >= 1, but got 0
  %b = rotary.spectral_bands %p bands = 0 layout = linear : tensor<16xf32>
  return
}

// -----

func.func @spectral_bands_int64_min(%p: tensor<16xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.spectral_bands' op attribute 'n_bands' must be >= 1, but got -9223372036854775808
  %b = rotary.spectral_bands %p bands = -9223372036854775808 layout = linear : tensor<16xf32>
  return
}

// -----

func.func @inv_freq_dim_negative() {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.inv_freq' op attribute 'dim' must be a positive even number, but got -2
  %f = rotary.inv_freq dim = -2
  return
}

// -----

func.func @inv_freq_dim_int64_max() {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.inv_freq' op attribute 'dim' must be a positive even number, but got 9223372036854775807
  %f = rotary.inv_freq dim = 9223372036854775807
  return
}

// -----

func.func @givens_pair_2_pow_62(%x: tensor<2x4xf32>, %a: tensor<1xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.givens' op 'pairs' index 4611686018427387904 is out of range for D of operand 'x', but got D = 4
  %y = rotary.givens %x, %a pairs = [(0, 4611686018427387904)] : tensor<2x4xf32>, tensor<1xf32>
  return
}

// -----

func.func @givens_pair_int64_min(%x: tensor<2x?xf32>, %a: tensor<1xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.givens' op pair 0 (-9223372036854775808, 1) of 'pairs' has a negative index
  %y = rotary.givens %x, %a pairs = [(-9223372036854775808, 1)] : tensor<2x?xf32>, tensor<1xf32>
  return
}

// -----

func.func @givens_pair_2_pow_64(%x: tensor<2x4xf32>, %a: tensor<1xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:42: error: custom op 'rotary.givens' integer value too large
  %y = rotary.givens %x, %a pairs = [(0, 18446744073709551616)] : tensor<2x4xf32>, tensor<1xf32>
  return
}

// -----

func.func @rope_base_infinite(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op attribute 'base' must be positive and finite, but got INF
  %y = rotary.rope %x, %pos layout = half {base = 0x7F800000 : f32} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return
}
