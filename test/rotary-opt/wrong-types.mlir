// RUN: not rotary-opt %s -split-input-file 2>&1 | FileCheck %s -DFILE=%s --implicit-check-not=error:

// Operands of the wrong element type or kind are rejected with a located
// diagnostic naming the operand, and rotary-opt exits non-zero.

func.func @rope_i32_data(%x: tensor<1x8x2x8xi32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xi32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x8x2x8xi32>'
  %y = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xi32>, tensor<8xi64>
  return %y : tensor<1x8x2x8xi32>
}

// -----

func.func @givens_i32_data(%x: tensor<2x4xi32>, %a: tensor<6xf32>) -> tensor<2x4xi32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.givens' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x4xi32>'
  %y = rotary.givens %x, %a : tensor<2x4xi32>, tensor<6xf32>
  return %y : tensor<2x4xi32>
}

// -----

func.func @givens_i32_angles(%x: tensor<2x4xf32>, %a: tensor<6xi32>) -> tensor<2x4xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.givens' op operand #1 must be ranked tensor of 32-bit float values, but got 'tensor<6xi32>'
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xi32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @rope_i8_positions(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi8>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.rope' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float values, but got 'tensor<8xi8>'
  %y = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi8>
  return %y : tensor<1x8x2x8xf32>
}

// -----

func.func @quaternion_i32(%x: tensor<2x3xi32>, %u: tensor<3xf32>, %t: tensor<f32>) -> tensor<2x3xi32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.quaternion_rotate' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x3xi32>'
  %y = rotary.quaternion_rotate %x, %u, %t : tensor<2x3xi32>, tensor<3xf32>, tensor<f32>
  return %y : tensor<2x3xi32>
}

// -----

// Unranked tensors and memrefs are rejected by the custom parser.
func.func @givens_unranked(%x: tensor<*xf32>, %a: tensor<6xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:31: error: custom op 'rotary.givens' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'
  %y = rotary.givens %x, %a : tensor<*xf32>, tensor<6xf32>
  return
}

// -----

func.func @givens_memref(%x: memref<2x4xf32>, %a: tensor<6xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:31: error: custom op 'rotary.givens' invalid kind of type specified: expected builtin.tensor, but found 'memref<2x4xf32>'
  %y = rotary.givens %x, %a : memref<2x4xf32>, tensor<6xf32>
  return
}

// -----

// A type annotation that disagrees with the value's type.
func.func @rope_type_mismatch(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  // CHECK: [[FILE]]:[[@LINE+1]]:20: error: use of value '%x' expects different type than prior uses: 'tensor<1x8x2x8xbf16>' vs 'tensor<1x8x2x8xf32>'
  %y = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xbf16>, tensor<8xi64>
  return %x : tensor<1x8x2x8xf32>
}

// -----

// A result type that disagrees with the operand (AllTypesMatch), in the
// generic form.
func.func @givens_result_type(%x: tensor<2x4xf32>, %a: tensor<6xf32>) {
  // CHECK: [[FILE]]:[[@LINE+1]]:8: error: 'rotary.givens' op failed to verify that all of {x, result} have same type
  %y = "rotary.givens"(%x, %a) : (tensor<2x4xf32>, tensor<6xf32>) -> tensor<2x4xbf16>
  return
}
