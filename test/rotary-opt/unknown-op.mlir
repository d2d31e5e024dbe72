// RUN: not rotary-opt %s -split-input-file 2>&1 | FileCheck %s -DFILE=%s --implicit-check-not=error:
// RUN: not rotary-opt %s -split-input-file --allow-unregistered-dialect 2>&1 | FileCheck %s -DFILE=%s --check-prefix=ALLOW --implicit-check-not=error:

// An op the rotary dialect does not define is rejected with a located
// diagnostic, in the custom and in the generic form. The rotary dialect does
// not allow unknown operations even with --allow-unregistered-dialect.

func.func @custom(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // CHECK: [[FILE]]:[[@LINE+2]]:8: error: custom op 'rotary.nonexistent' is unknown
  // ALLOW: [[FILE]]:[[@LINE+1]]:8: error: custom op 'rotary.nonexistent' is unknown
  %y = rotary.nonexistent %x : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @generic(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // CHECK: [[FILE]]:[[@LINE+2]]:8: error: unregistered operation 'rotary.nonexistent' found in dialect ('rotary') that does not allow unknown operations
  // ALLOW: [[FILE]]:[[@LINE+1]]:8: error: unregistered operation 'rotary.nonexistent' found in dialect ('rotary') that does not allow unknown operations
  %y = "rotary.nonexistent"(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A typo of a real op name.
func.func @typo(%x: tensor<2x4xf32>, %a: tensor<6xf32>) -> tensor<2x4xf32> {
  // CHECK: [[FILE]]:[[@LINE+2]]:8: error: custom op 'rotary.given' is unknown
  // ALLOW: [[FILE]]:[[@LINE+1]]:8: error: custom op 'rotary.given' is unknown
  %y = rotary.given %x, %a : tensor<2x4xf32>, tensor<6xf32>
  return %y : tensor<2x4xf32>
}
