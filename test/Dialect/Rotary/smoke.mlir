// RUN: rotary-opt %s | FileCheck %s
// CHECK-LABEL: func @f
func.func @f(%r: tensor<4x4xf32>) -> tensor<f32> {
  // CHECK: rotary.orthogonality_penalty
  %0 = rotary.orthogonality_penalty %r : tensor<4x4xf32>
  return %0 : tensor<f32>
}
