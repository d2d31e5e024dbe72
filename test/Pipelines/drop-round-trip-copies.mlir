// RUN: rotary-opt %s -rotary-drop-round-trip-copies -split-input-file | FileCheck %s

// rotary-drop-round-trip-copies (lib/Pipelines/BufferCleanups.cpp): a tile
// computed through an expanded view, copied into a buffer and back into
// the same tile, needs neither copy nor buffer.

// CHECK-LABEL: func.func @round_trip(
// CHECK-SAME:    %[[OUT:[^:]*]]: memref<?x?xf32>
// CHECK:         %[[V:.*]] = memref.subview %[[OUT]]
// CHECK:         %[[E:.*]] = memref.expand_shape %[[V]]
// CHECK:         linalg.fill ins(%{{.*}}) outs(%[[E]]
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.copy
// CHECK:         return
func.func @round_trip(%out: memref<?x?xf32>, %t: index, %n: index, %h: index) {
  %z = arith.constant 1.0 : f32
  %v = memref.subview %out[%t, 0] [1, %n] [1, 1]
      : memref<?x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  %e = memref.expand_shape %v [[0], [1, 2]] output_shape [1, 2, %h]
      : memref<1x?xf32, strided<[?, 1], offset: ?>>
        into memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>>
  linalg.fill ins(%z : f32) outs(%e : memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>>)
  %buf = memref.alloc(%h) : memref<1x2x?xf32>
  memref.copy %e, %buf : memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>> to memref<1x2x?xf32>
  %c = memref.collapse_shape %buf [[0], [1, 2]] : memref<1x2x?xf32> into memref<1x?xf32>
  // Another subview of the same tile: same buffer, offsets and strides.
  %w = memref.subview %out[%t, 0] [1, %n] [1, 1]
      : memref<?x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  memref.copy %c, %w : memref<1x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  memref.dealloc %buf : memref<1x2x?xf32>
  return
}

// -----

// The copy back goes to another row: both copies stay.
// CHECK-LABEL: func.func @other_row(
// CHECK:         memref.alloc
// CHECK:         memref.copy
// CHECK:         memref.copy
func.func @other_row(%out: memref<?x?xf32>, %t: index, %u: index, %n: index, %h: index) {
  %v = memref.subview %out[%t, 0] [1, %n] [1, 1]
      : memref<?x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  %e = memref.expand_shape %v [[0], [1, 2]] output_shape [1, 2, %h]
      : memref<1x?xf32, strided<[?, 1], offset: ?>>
        into memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>>
  %buf = memref.alloc(%h) : memref<1x2x?xf32>
  memref.copy %e, %buf : memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>> to memref<1x2x?xf32>
  %c = memref.collapse_shape %buf [[0], [1, 2]] : memref<1x2x?xf32> into memref<1x?xf32>
  %w = memref.subview %out[%u, 0] [1, %n] [1, 1]
      : memref<?x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  memref.copy %c, %w : memref<1x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  memref.dealloc %buf : memref<1x2x?xf32>
  return
}

// -----

// The tile is written between the two copies: both stay.
// CHECK-LABEL: func.func @written_between(
// CHECK:         memref.copy
// CHECK:         linalg.fill
// CHECK:         memref.copy
func.func @written_between(%out: memref<?x?xf32>, %t: index, %n: index, %h: index) {
  %z = arith.constant 1.0 : f32
  %v = memref.subview %out[%t, 0] [1, %n] [1, 1]
      : memref<?x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  %e = memref.expand_shape %v [[0], [1, 2]] output_shape [1, 2, %h]
      : memref<1x?xf32, strided<[?, 1], offset: ?>>
        into memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>>
  %buf = memref.alloc(%h) : memref<1x2x?xf32>
  memref.copy %e, %buf : memref<1x2x?xf32, strided<[?, ?, 1], offset: ?>> to memref<1x2x?xf32>
  linalg.fill ins(%z : f32) outs(%v : memref<1x?xf32, strided<[?, 1], offset: ?>>)
  %c = memref.collapse_shape %buf [[0], [1, 2]] : memref<1x2x?xf32> into memref<1x?xf32>
  memref.copy %c, %v : memref<1x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  memref.dealloc %buf : memref<1x2x?xf32>
  return
}
