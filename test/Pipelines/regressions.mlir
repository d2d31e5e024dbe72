// RUN: rotary-opt %s -rotary-prepare-entry-points -split-input-file | FileCheck %s
// RUN: rotary-opt %s -split-input-file -rotary-cpu-pipeline | FileCheck %s --check-prefix=CPU

// A shared quaternion axis of dynamic length is checked against 3 (it used
// to be compared with itself, letting the kernel read past it).
// CHECK-LABEL: func.func @quat_axis__check(
// CHECK-SAME: %{{[^:]*}}: tensor<?x3xf32>, %[[AXIS:[^:]*]]: tensor<?xf32>
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[N:.*]] = tensor.dim %[[AXIS]], %{{.*}} : tensor<?xf32>
// CHECK: arith.cmpi eq, %[[N]], %[[C3]] : index
// CHECK-LABEL: func.func @quat_axis(
// CHECK-SAME: rotary.checks = [{{.*}}operand 'axis' must have shape [3], one axis for all vectors, but its dimension 0 differs"]
// CPU: llvm.func @rotary_entry_quat_axis
func.func @quat_axis(%x: tensor<?x3xf32>, %axis: tensor<?xf32>, %angle: tensor<f32>) -> tensor<?x3xf32> {
  %y = rotary.quaternion_rotate %x, %axis, %angle : tensor<?x3xf32>, tensor<?xf32>, tensor<f32>
  return %y : tensor<?x3xf32>
}

// -----

// A result size that is dynamic in the type but constant is recorded as the
// constant.
// CHECK-LABEL: func.func @cast_result(
// CHECK-SAME: rotary.outputs = {{\[\[}}4, 6]]
func.func @cast_result(%x: tensor<4x6xf32>, %a: tensor<15xf32>) -> tensor<?x6xf32> {
  %0 = rotary.givens %x, %a : tensor<4x6xf32>, tensor<15xf32>
  %1 = tensor.cast %0 : tensor<4x6xf32> to tensor<?x6xf32>
  return %1 : tensor<?x6xf32>
}

// -----

// rotation_block with rope carries the rope rules (positions vs T).
// CHECK-LABEL: func.func @block_rope(
// CHECK-SAME: rotary.checks = ["rotary.rotation_block at {{.*}}: operand 'positions' must have shape [T] of operand 'x', but its dimension 0 differs"
// CPU: llvm.func @rotary_entry_block_rope
func.func @block_rope(%x: tensor<1x?x2x4xf32>, %pos: tensor<?xi64>, %a: tensor<6xf32>, %r: tensor<4x4xf32>) -> tensor<1x?x2x4xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%pos : tensor<?xi64>) layout = half
      : tensor<1x?x2x4xf32>, tensor<6xf32>, tensor<4x4xf32>
  return %0 : tensor<1x?x2x4xf32>
}

// -----

// x of rank 3 collapses and re-expands dynamic dims: the pipeline lowers the
// expand_shape itself (upstream expand-strided-metadata crashes on it).
// CPU-LABEL: llvm.func @rotary_entry_ortho3
// CPU-NOT: memref.expand_shape
func.func @ortho3(%x: tensor<?x?x?xf32>, %r: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %y = rotary.orthogonal %x, %r : tensor<?x?x?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?xf32>
}
