// RUN: rotary-opt %s -canonicalize -split-input-file | FileCheck %s

// Folders and canonicalization patterns of the rotary dialect
// (lib/Dialect/Rotary/IR/RotaryCanonicalize.cpp). Every folder and pattern has
// a case where it fires and cases where it must not. Results are returned so
// that DCE keeps the ops alive.

//===----------------------------------------------------------------------===//
// GivensOp::fold
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @givens_fold_zero_shared
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>)
// CHECK-NEXT:    return %[[X]] : tensor<2x4xf32>
func.func @givens_fold_zero_shared(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %a = arith.constant dense<0.0> : tensor<6xf32>
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Per-head [H, N] angles, negative zeros, explicit pairs and `inverse`.
// CHECK-LABEL: func @givens_fold_zero_per_head
// CHECK-SAME:    (%[[X:.*]]: tensor<5x3x4xf32>)
// CHECK-NEXT:    return %[[X]] : tensor<5x3x4xf32>
func.func @givens_fold_zero_per_head(%x: tensor<5x3x4xf32>) -> tensor<5x3x4xf32> {
  %a = arith.constant dense<[[0.0, -0.0], [0.0, 0.0], [-0.0, 0.0]]> : tensor<3x2xf32>
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] {inverse}
      : tensor<5x3x4xf32>, tensor<3x2xf32>
  return %y : tensor<5x3x4xf32>
}

// -----

// N = 0: the empty chain is the identity even with non-constant angles.
// CHECK-LABEL: func @givens_fold_empty_chain
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[P:.*]]: tensor<5x3x4xf32>, %{{.*}}: tensor<0xf32>, %{{.*}}: tensor<3x0xf32>)
// CHECK-NEXT:    return %[[X]], %[[X]], %[[P]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<5x3x4xf32>
func.func @givens_fold_empty_chain(%x: tensor<2x4xf32>, %p: tensor<5x3x4xf32>,
                                   %a: tensor<0xf32>, %b: tensor<3x0xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<5x3x4xf32>) {
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<0xf32>
  %z = rotary.givens %x, %a pairs = [] : tensor<2x4xf32>, tensor<0xf32>
  %w = rotary.givens %p, %b : tensor<5x3x4xf32>, tensor<3x0xf32>
  return %y, %z, %w : tensor<2x4xf32>, tensor<2x4xf32>, tensor<5x3x4xf32>
}

// -----

// A non-zero splat: neither the folder nor RemoveZeroGivens fires.
// CHECK-LABEL: func @givens_no_fold_nonzero
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<1.000000e-01> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 3), (1, 2)] : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @givens_no_fold_nonzero(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %a = arith.constant dense<0.1> : tensor<2xf32>
  %y = rotary.givens %x, %a pairs = [(0, 3), (1, 2)] : tensor<2x4xf32>, tensor<2xf32>
  return %y : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @givens_no_fold_non_constant
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<2x4xf32>, tensor<6xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @givens_no_fold_non_constant(%x: tensor<2x4xf32>, %a: tensor<6xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xf32>
  return %y : tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// RemoveZeroGivens
//===----------------------------------------------------------------------===//

// Default schedule for D = 4 (docs/Math.md §2): stage 0: (0,3), (1,2); stage 1:
// (1,3), (0,2); stage 2: (2,3), (0,1). Rotations 0, 2 and 4 are zero.
// CHECK-LABEL: func @remove_zero_givens_default_d4
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<[5.000000e-01, 2.500000e-01, 1.250000e-01]> : tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(1, 2), (0, 2), (0, 1)] : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_default_d4(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %a = arith.constant dense<[0.0, 0.5, 0.0, 0.25, 0.0, 0.125]> : tensor<6xf32>
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Default schedule for D = 6, first 7 rotations: stage 0: (0,5), (1,4), (2,3);
// stage 1: (1,5), (0,2), (3,4); stage 2: (2,5). Only rotations 0, 4 and 6
// are non-zero.
// CHECK-LABEL: func @remove_zero_givens_default_d6
// CHECK-SAME:    (%[[X:.*]]: tensor<3x6xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 5), (0, 2), (2, 5)] : tensor<3x6xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_default_d6(%x: tensor<3x6xf32>) -> tensor<3x6xf32> {
  %a = arith.constant dense<[1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 3.0]> : tensor<7xf32>
  %y = rotary.givens %x, %a : tensor<3x6xf32>, tensor<7xf32>
  return %y : tensor<3x6xf32>
}

// -----

// Explicit pairs on a dynamic D are fine; `inverse` is kept.
// CHECK-LABEL: func @remove_zero_givens_explicit_inverse
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<[3.000000e-01, 7.500000e-01]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (1, 3)] {inverse} : tensor<?x?xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_explicit_inverse(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %a = arith.constant dense<[0.3, 0.0, 0.75]> : tensor<3xf32>
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3), (1, 3)] {inverse}
      : tensor<?x?xf32>, tensor<3xf32>
  return %y : tensor<?x?xf32>
}

// -----

// Per-head: only column 1 is zero for every head; column 0 (zero for head 0
// only) and column 2 (zero for head 1 only) stay.
// CHECK-LABEL: func @remove_zero_givens_per_head
// CHECK-SAME:    (%[[X:.*]]: tensor<7x2x4xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 2.000000e+00], [1.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (1, 2)] : tensor<7x2x4xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_per_head(%x: tensor<7x2x4xf32>) -> tensor<7x2x4xf32> {
  %a = arith.constant dense<[[0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]> : tensor<2x3xf32>
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3), (1, 2)]
      : tensor<7x2x4xf32>, tensor<2x3xf32>
  return %y : tensor<7x2x4xf32>
}

// -----

// Per-head with no column zero for all heads: nothing to drop.
// CHECK-LABEL: func @remove_zero_givens_per_head_no_common_zero
// CHECK-SAME:    (%[[X:.*]]: tensor<7x2x4xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [1.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<7x2x4xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_per_head_no_common_zero(%x: tensor<7x2x4xf32>) -> tensor<7x2x4xf32> {
  %a = arith.constant dense<[[0.0, 1.0], [1.0, 0.0]]> : tensor<2x2xf32>
  %y = rotary.givens %x, %a : tensor<7x2x4xf32>, tensor<2x2xf32>
  return %y : tensor<7x2x4xf32>
}

// -----

// Default pairs on a dynamic D cannot be materialised: left alone.
// CHECK-LABEL: func @remove_zero_givens_dynamic_d
// CHECK-SAME:    (%[[X:.*]]: tensor<2x?xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<2x?xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_dynamic_d(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  %a = arith.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %y = rotary.givens %x, %a : tensor<2x?xf32>, tensor<2xf32>
  return %y : tensor<2x?xf32>
}

// -----

// No zero angle: left alone (the default pairs stay implicit).
// CHECK-LABEL: func @remove_zero_givens_no_zero
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>)
// CHECK-NEXT:    %[[A:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @remove_zero_givens_no_zero(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %a = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<3xf32>
  return %y : tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// MergeAdjacentGivens
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @merge_givens
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(0) %[[A]], %[[B]] : (tensor<2xf32>, tensor<1xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[C]] pairs = [(0, 1), (2, 3), (1, 2)] : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @merge_givens(%x: tensor<2x4xf32>, %a: tensor<2xf32>, %b: tensor<1xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
  %z = rotary.givens %y, %b pairs = [(1, 2)] : tensor<2x4xf32>, tensor<1xf32>
  return %z : tensor<2x4xf32>
}

// -----

// Default schedules are materialised: inner (0,3), (1,2); outer (0,3).
// CHECK-LABEL: func @merge_givens_default_pairs
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(0) %[[A]], %[[B]] : (tensor<2xf32>, tensor<1xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[C]] pairs = [(0, 3), (1, 2), (0, 3)] : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @merge_givens_default_pairs(%x: tensor<2x4xf32>, %a: tensor<2xf32>, %b: tensor<1xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a : tensor<2x4xf32>, tensor<2xf32>
  %z = rotary.givens %y, %b : tensor<2x4xf32>, tensor<1xf32>
  return %z : tensor<2x4xf32>
}

// -----

// Both inverse: x·C_aᵀ·C_bᵀ = x·(C_b·C_a)ᵀ, so the outer chain comes first.
// CHECK-LABEL: func @merge_givens_both_inverse
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(0) %[[B]], %[[A]] : (tensor<1xf32>, tensor<2xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[C]] pairs = [(1, 2), (0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @merge_givens_both_inverse(%x: tensor<2x4xf32>, %a: tensor<2xf32>, %b: tensor<1xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
  %z = rotary.givens %y, %b pairs = [(1, 2)] {inverse} : tensor<2x4xf32>, tensor<1xf32>
  return %z : tensor<2x4xf32>
}

// -----

// Per-head angles concatenate along N (dimension 1).
// CHECK-LABEL: func @merge_givens_per_head
// CHECK-SAME:    (%[[X:.*]]: tensor<5x3x4xf32>, %[[A:.*]]: tensor<3x1xf32>, %[[B:.*]]: tensor<3x2xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(1) %[[A]], %[[B]] : (tensor<3x1xf32>, tensor<3x2xf32>) -> tensor<3x3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[C]] pairs = [(0, 2), (1, 3), (0, 1)] : tensor<5x3x4xf32>, tensor<3x3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @merge_givens_per_head(%x: tensor<5x3x4xf32>, %a: tensor<3x1xf32>, %b: tensor<3x2xf32>) -> tensor<5x3x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 2)] : tensor<5x3x4xf32>, tensor<3x1xf32>
  %z = rotary.givens %y, %b pairs = [(1, 3), (0, 1)] : tensor<5x3x4xf32>, tensor<3x2xf32>
  return %z : tensor<5x3x4xf32>
}

// -----

// Three chains become one.
// CHECK-LABEL: func @merge_givens_three
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<1xf32>, %[[B:.*]]: tensor<1xf32>, %[[C:.*]]: tensor<1xf32>)
// CHECK:         %[[Y:.*]] = rotary.givens %[[X]], %{{.*}} pairs = [(0, 1), (1, 2), (2, 3)] : tensor<2x4xf32>, tensor<3xf32>
// CHECK-NEXT:    return %[[Y]]
// CHECK-NOT:     rotary.givens
func.func @merge_givens_three(%x: tensor<2x4xf32>, %a: tensor<1xf32>, %b: tensor<1xf32>, %c: tensor<1xf32>) -> tensor<2x4xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 1)] : tensor<2x4xf32>, tensor<1xf32>
  %1 = rotary.givens %0, %b pairs = [(1, 2)] : tensor<2x4xf32>, tensor<1xf32>
  %2 = rotary.givens %1, %c pairs = [(2, 3)] : tensor<2x4xf32>, tensor<1xf32>
  return %2 : tensor<2x4xf32>
}

// -----

// The inner chain has another use: merging would duplicate it.
// CHECK-LABEL: func @merge_givens_inner_multi_use
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[B]] pairs = [(1, 2)] : tensor<2x4xf32>, tensor<1xf32>
// CHECK-NEXT:    return %[[Y]], %[[Z]]
func.func @merge_givens_inner_multi_use(%x: tensor<2x4xf32>, %a: tensor<2xf32>, %b: tensor<1xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
  %z = rotary.givens %y, %b pairs = [(1, 2)] : tensor<2x4xf32>, tensor<1xf32>
  return %y, %z : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Mixed inverse flags (and different angles, so no inverse pair either).
// CHECK-LABEL: func @merge_givens_mixed_inverse
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[B]] pairs = [(0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @merge_givens_mixed_inverse(%x: tensor<2x4xf32>, %a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
  %z = rotary.givens %y, %b pairs = [(0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
  return %z : tensor<2x4xf32>
}

// -----

// Shared [N] and per-head [H, N] angles do not concatenate.
// CHECK-LABEL: func @merge_givens_shared_and_per_head
// CHECK-SAME:    (%[[X:.*]]: tensor<5x3x4xf32>, %[[A:.*]]: tensor<1xf32>, %[[B:.*]]: tensor<3x1xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1)] : tensor<5x3x4xf32>, tensor<1xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[B]] pairs = [(2, 3)] : tensor<5x3x4xf32>, tensor<3x1xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @merge_givens_shared_and_per_head(%x: tensor<5x3x4xf32>, %a: tensor<1xf32>, %b: tensor<3x1xf32>)
    -> tensor<5x3x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1)] : tensor<5x3x4xf32>, tensor<1xf32>
  %z = rotary.givens %y, %b pairs = [(2, 3)] : tensor<5x3x4xf32>, tensor<3x1xf32>
  return %z : tensor<5x3x4xf32>
}

// -----

// Default pairs on a dynamic D cannot be materialised: no merge.
// CHECK-LABEL: func @merge_givens_dynamic_d
// CHECK-SAME:    (%[[X:.*]]: tensor<2x?xf32>, %[[A:.*]]: tensor<1xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<2x?xf32>, tensor<1xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[B]] pairs = [(0, 1)] : tensor<2x?xf32>, tensor<1xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @merge_givens_dynamic_d(%x: tensor<2x?xf32>, %a: tensor<1xf32>, %b: tensor<1xf32>) -> tensor<2x?xf32> {
  %y = rotary.givens %x, %a : tensor<2x?xf32>, tensor<1xf32>
  %z = rotary.givens %y, %b pairs = [(0, 1)] : tensor<2x?xf32>, tensor<1xf32>
  return %z : tensor<2x?xf32>
}

// -----

//===----------------------------------------------------------------------===//
// CancelInversePair: rotary.rope
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @cancel_rope
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %{{.*}}: tensor<8xi64>)
// CHECK-NEXT:    return %[[X]], %[[X]] : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
func.func @cancel_rope(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>)
    -> (tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>) {
  %0 = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  // The other order, with every optional operand and attribute.
  %2 = rotary.rope %x, %pos layout = deinterleave {inverse, rotary_dim = 4 : i64, base = 500.0 : f32}
      : tensor<1x8x2x8xf32>, tensor<8xi64>
  %3 = rotary.rope %2, %pos layout = deinterleave {rotary_dim = 4 : i64, base = 500.0 : f32}
      : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1, %3 : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @cancel_rope_learnable_operands
// CHECK-SAME:    (%[[X:.*]]: tensor<2x8x2x8xbf16>,
// CHECK-NEXT:    return %[[X]] : tensor<2x8x2x8xbf16>
func.func @cancel_rope_learnable_operands(%x: tensor<2x8x2x8xbf16>, %pos: tensor<2x8xi32>,
    %f: tensor<4xf32>, %ph: tensor<4xf32>, %s: tensor<f32>) -> tensor<2x8x2x8xbf16> {
  %0 = rotary.rope %x, %pos inv_freq(%f : tensor<4xf32>) phase(%ph : tensor<4xf32>) scale(%s)
      layout = interleaved : tensor<2x8x2x8xbf16>, tensor<2x8xi32>
  %1 = rotary.rope %0, %pos inv_freq(%f : tensor<4xf32>) phase(%ph : tensor<4xf32>) scale(%s)
      layout = interleaved {inverse} : tensor<2x8x2x8xbf16>, tensor<2x8xi32>
  return %1 : tensor<2x8x2x8xbf16>
}

// -----

// The inner rope has another use: the pair still cancels, the inner stays.
// CHECK-LABEL: func @cancel_rope_inner_multi_use
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[X]], %[[Y]]
func.func @cancel_rope_inner_multi_use(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>)
    -> (tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>) {
  %0 = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1, %0 : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_rope_different_positions
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>, %[[Q:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[Q]] layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_rope_different_positions(%x: tensor<1x8x2x8xf32>, %p: tensor<8xi64>, %q: tensor<8xi64>)
    -> tensor<1x8x2x8xf32> {
  %0 = rotary.rope %x, %p layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %q layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x8xf32>
}

// -----

// The same value as `inv_freq` in one and `phase` in the other: the operand
// lists match but the rotations differ.
// CHECK-LABEL: func @no_cancel_rope_operand_roles
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>, %[[F:.*]]: tensor<4xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] inv_freq(%[[F]] : tensor<4xf32>) layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[P]] phase(%[[F]] : tensor<4xf32>) layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_rope_operand_roles(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>, %f: tensor<4xf32>)
    -> tensor<1x8x2x8xf32> {
  %0 = rotary.rope %x, %pos inv_freq(%f : tensor<4xf32>) layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos phase(%f : tensor<4xf32>) layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_rope_different_layout
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[P]] layout = interleaved {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_rope_different_layout(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  %0 = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = interleaved {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_rope_different_rotary_dim
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half {rotary_dim = 4 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[P]] layout = half {inverse, rotary_dim = 6 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_rope_different_rotary_dim(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  %0 = rotary.rope %x, %pos layout = half {rotary_dim = 4 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = half {inverse, rotary_dim = 6 : i64} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_rope_different_base
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half {base = 5.000000e+02 : f32} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[P]] layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_rope_different_base(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>) -> tensor<1x8x2x8xf32> {
  %0 = rotary.rope %x, %pos layout = half {base = 500.0 : f32} : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1 : tensor<1x8x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_rope_same_flag
// CHECK-SAME:    (%[[X:.*]]: tensor<1x8x2x8xf32>, %[[P:.*]]: tensor<8xi64>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[Z:.*]] = rotary.rope %[[Y]], %[[P]] layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[U:.*]] = rotary.rope %[[X]], %[[P]] layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    %[[V:.*]] = rotary.rope %[[U]], %[[P]] layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
// CHECK-NEXT:    return %[[Z]], %[[V]]
func.func @no_cancel_rope_same_flag(%x: tensor<1x8x2x8xf32>, %pos: tensor<8xi64>)
    -> (tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>) {
  %0 = rotary.rope %x, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %1 = rotary.rope %0, %pos layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  %2 = rotary.rope %x, %pos layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  %3 = rotary.rope %2, %pos layout = half {inverse} : tensor<1x8x2x8xf32>, tensor<8xi64>
  return %1, %3 : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// CancelInversePair: rotary.givens
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @cancel_givens
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %{{.*}}: tensor<6xf32>, %[[P:.*]]: tensor<5x3x4xf32>, %{{.*}}: tensor<3x2xf32>)
// CHECK-NEXT:    return %[[X]], %[[P]] : tensor<2x4xf32>, tensor<5x3x4xf32>
func.func @cancel_givens(%x: tensor<2x4xf32>, %a: tensor<6xf32>, %p: tensor<5x3x4xf32>, %b: tensor<3x2xf32>)
    -> (tensor<2x4xf32>, tensor<5x3x4xf32>) {
  %0 = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xf32>
  %1 = rotary.givens %0, %a {inverse} : tensor<2x4xf32>, tensor<6xf32>
  %2 = rotary.givens %p, %b pairs = [(0, 2), (1, 3)] {inverse} : tensor<5x3x4xf32>, tensor<3x2xf32>
  %3 = rotary.givens %2, %b pairs = [(0, 2), (1, 3)] : tensor<5x3x4xf32>, tensor<3x2xf32>
  return %1, %3 : tensor<2x4xf32>, tensor<5x3x4xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_givens_different_angles
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<6xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] : tensor<2x4xf32>, tensor<6xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[B]] {inverse} : tensor<2x4xf32>, tensor<6xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_givens_different_angles(%x: tensor<2x4xf32>, %a: tensor<6xf32>, %b: tensor<6xf32>)
    -> tensor<2x4xf32> {
  %0 = rotary.givens %x, %a : tensor<2x4xf32>, tensor<6xf32>
  %1 = rotary.givens %0, %b {inverse} : tensor<2x4xf32>, tensor<6xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_givens_different_pairs
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<2xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[A]] pairs = [(2, 3), (0, 1)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_givens_different_pairs(%x: tensor<2x4xf32>, %a: tensor<2xf32>) -> tensor<2x4xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<2x4xf32>, tensor<2xf32>
  %1 = rotary.givens %0, %a pairs = [(2, 3), (0, 1)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Same flag: no cancellation (the inner's second use also blocks the merge).
// CHECK-LABEL: func @no_cancel_givens_same_flag
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[A]] {inverse} : tensor<2x4xf32>, tensor<6xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.givens %[[Y]], %[[A]] {inverse} : tensor<2x4xf32>, tensor<6xf32>
// CHECK-NEXT:    return %[[Y]], %[[Z]]
func.func @no_cancel_givens_same_flag(%x: tensor<2x4xf32>, %a: tensor<6xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = rotary.givens %x, %a {inverse} : tensor<2x4xf32>, tensor<6xf32>
  %1 = rotary.givens %0, %a {inverse} : tensor<2x4xf32>, tensor<6xf32>
  return %0, %1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Same flag with a single-use inner: merged (not cancelled).
// CHECK-LABEL: func @no_cancel_givens_same_flag_merges
// CHECK-SAME:    (%[[X:.*]]: tensor<2x4xf32>, %[[A:.*]]: tensor<1xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(0) %[[A]], %[[A]] : (tensor<1xf32>, tensor<1xf32>) -> tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.givens %[[X]], %[[C]] pairs = [(0, 3), (0, 3)] : tensor<2x4xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @no_cancel_givens_same_flag_merges(%x: tensor<2x4xf32>, %a: tensor<1xf32>) -> tensor<2x4xf32> {
  %0 = rotary.givens %x, %a : tensor<2x4xf32>, tensor<1xf32>
  %1 = rotary.givens %0, %a : tensor<2x4xf32>, tensor<1xf32>
  return %1 : tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// CancelInversePair: rotary.hdd_rope
//===----------------------------------------------------------------------===//

// Both forms, either order. For the P form cancelling assumes P is a
// rotation, which is the op's contract (docs/decisions/0001-inverse-flags.md).
// CHECK-LABEL: func @cancel_hdd_rope
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x2x8xf32>, %{{.*}}: tensor<1x4x2x2x6xf32>, %{{.*}}: tensor<1x4x2x2x4x4xf32>)
// CHECK-NEXT:    return %[[X]], %[[X]], %[[X]] : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
func.func @cancel_hdd_rope(%x: tensor<1x4x2x8xf32>, %a: tensor<1x4x2x2x6xf32>, %p: tensor<1x4x2x2x4x4xf32>)
    -> (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) {
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %1 = rotary.hdd_rope %0, %a form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %2 = rotary.hdd_rope %x, %a form = exp {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %3 = rotary.hdd_rope %2, %a form = exp {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %4 = rotary.hdd_rope %x, %p {inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
  %5 = rotary.hdd_rope %4, %p : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
  return %1, %3, %5 : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_hdd_rope_different_angles
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x2x8xf32>, %[[A:.*]]: tensor<1x4x2x2x6xf32>, %[[B:.*]]: tensor<1x4x2x2x6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.hdd_rope %[[X]], %[[A]] form = givens {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.hdd_rope %[[Y]], %[[B]] form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_hdd_rope_different_angles(%x: tensor<1x4x2x8xf32>, %a: tensor<1x4x2x2x6xf32>,
                                               %b: tensor<1x4x2x2x6xf32>) -> tensor<1x4x2x8xf32> {
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %1 = rotary.hdd_rope %0, %b form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  return %1 : tensor<1x4x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_hdd_rope_different_p
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x2x8xf32>, %[[P:.*]]: tensor<1x4x2x2x4x4xf32>, %[[Q:.*]]: tensor<1x4x2x2x4x4xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.hdd_rope %[[X]], %[[P]] : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.hdd_rope %[[Y]], %[[Q]] {inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_hdd_rope_different_p(%x: tensor<1x4x2x8xf32>, %p: tensor<1x4x2x2x4x4xf32>,
                                          %q: tensor<1x4x2x2x4x4xf32>) -> tensor<1x4x2x8xf32> {
  %0 = rotary.hdd_rope %x, %p : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
  %1 = rotary.hdd_rope %0, %q {inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x4x4xf32>
  return %1 : tensor<1x4x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_hdd_rope_different_form
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x2x8xf32>, %[[A:.*]]: tensor<1x4x2x2x6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.hdd_rope %[[X]], %[[A]] form = givens {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.hdd_rope %[[Y]], %[[A]] form = exp {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_hdd_rope_different_form(%x: tensor<1x4x2x8xf32>, %a: tensor<1x4x2x2x6xf32>) -> tensor<1x4x2x8xf32> {
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %1 = rotary.hdd_rope %0, %a form = exp {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  return %1 : tensor<1x4x2x8xf32>
}

// -----

// CHECK-LABEL: func @no_cancel_hdd_rope_same_flag
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x2x8xf32>, %[[A:.*]]: tensor<1x4x2x2x6xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.hdd_rope %[[X]], %[[A]] form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.hdd_rope %[[Y]], %[[A]] form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
// CHECK-NEXT:    return %[[Z]]
func.func @no_cancel_hdd_rope_same_flag(%x: tensor<1x4x2x8xf32>, %a: tensor<1x4x2x2x6xf32>) -> tensor<1x4x2x8xf32> {
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  %1 = rotary.hdd_rope %0, %a form = givens {chunk = 4 : i64, inverse} : tensor<1x4x2x8xf32>, tensor<1x4x2x2x6xf32>
  return %1 : tensor<1x4x2x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// OrthogonalOp::fold
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @orthogonal_fold_identity
// CHECK-SAME:    (%[[X:.*]]: tensor<5x3x3xf32>, %[[Y:.*]]: tensor<2x3xbf16>)
// CHECK-NEXT:    return %[[X]], %[[X]], %[[X]], %[[Y]]
func.func @orthogonal_fold_identity(%x: tensor<5x3x3xf32>, %y: tensor<2x3xbf16>)
    -> (tensor<5x3x3xf32>, tensor<5x3x3xf32>, tensor<5x3x3xf32>, tensor<2x3xbf16>) {
  %i = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<3x3xf32>
  %0 = rotary.orthogonal %x, %i : tensor<5x3x3xf32>, tensor<3x3xf32>
  %1 = rotary.orthogonal %x, %i {transpose} : tensor<5x3x3xf32>, tensor<3x3xf32>
  // Per head [H, D, D].
  %h = arith.constant dense<[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                             [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                             [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]> : tensor<3x3x3xf32>
  %2 = rotary.orthogonal %x, %h {transpose} : tensor<5x3x3xf32>, tensor<3x3x3xf32>
  // bf16 matrix.
  %b = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<3x3xbf16>
  %3 = rotary.orthogonal %y, %b : tensor<2x3xbf16>, tensor<3x3xbf16>
  return %0, %1, %2, %3 : tensor<5x3x3xf32>, tensor<5x3x3xf32>, tensor<5x3x3xf32>, tensor<2x3xbf16>
}

// -----

// CHECK-LABEL: func @orthogonal_no_fold_off_diagonal
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2xf32>)
// CHECK-NEXT:    %[[R:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 5.000000e-01], [0.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<4x2xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @orthogonal_no_fold_off_diagonal(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %r = arith.constant dense<[[1.0, 0.5], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = rotary.orthogonal %x, %r : tensor<4x2xf32>, tensor<2x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func @orthogonal_no_fold_diagonal
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2xf32>)
// CHECK-NEXT:    %[[R:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] {transpose} : tensor<4x2xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @orthogonal_no_fold_diagonal(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %r = arith.constant dense<[[1.0, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>
  %y = rotary.orthogonal %x, %r {transpose} : tensor<4x2xf32>, tensor<2x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A permutation is orthogonal but not the identity.
// CHECK-LABEL: func @orthogonal_no_fold_permutation
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2xf32>)
// CHECK-NEXT:    %[[R:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [1.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<4x2xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @orthogonal_no_fold_permutation(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %r = arith.constant dense<[[0.0, 1.0], [1.0, 0.0]]> : tensor<2x2xf32>
  %y = rotary.orthogonal %x, %r : tensor<4x2xf32>, tensor<2x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Per head: the second head's matrix is not the identity.
// CHECK-LABEL: func @orthogonal_no_fold_per_head
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2x2xf32>)
// CHECK-NEXT:    %[[R:.*]] = arith.constant dense<{{\[}}{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]], {{\[}}[1.000000e+00, 0.000000e+00], [-5.000000e-01, 1.000000e+00]]]> : tensor<2x2x2xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<4x2x2xf32>, tensor<2x2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @orthogonal_no_fold_per_head(%x: tensor<4x2x2xf32>) -> tensor<4x2x2xf32> {
  %r = arith.constant dense<[[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [-0.5, 1.0]]]> : tensor<2x2x2xf32>
  %y = rotary.orthogonal %x, %r : tensor<4x2x2xf32>, tensor<2x2x2xf32>
  return %y : tensor<4x2x2xf32>
}

// -----

// A rectangular R [D, E] with ones on its diagonal is a projection, not the
// identity (and x·R has another type than x).
// CHECK-LABEL: func @orthogonal_no_fold_rectangular
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x3xf32>)
// CHECK-NEXT:    %[[R:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00, 0.000000e+00]]> : tensor<2x3xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<4x2xf32>, tensor<2x3xf32>
// CHECK-NEXT:    %[[W:.*]] = rotary.orthogonal %[[Z]], %[[R]] {transpose} : tensor<4x3xf32>, tensor<2x3xf32>
// CHECK-NEXT:    return %[[Y]], %[[W]]
func.func @orthogonal_no_fold_rectangular(%x: tensor<4x2xf32>, %z: tensor<4x3xf32>)
    -> (tensor<4x3xf32>, tensor<4x2xf32>) {
  %r = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]> : tensor<2x3xf32>
  %y = rotary.orthogonal %x, %r : tensor<4x2xf32>, tensor<2x3xf32>
  %w = rotary.orthogonal %z, %r {transpose} : tensor<4x3xf32>, tensor<2x3xf32>
  return %y, %w : tensor<4x3xf32>, tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func @orthogonal_no_fold_non_constant
// CHECK-SAME:    (%[[X:.*]]: tensor<4x2xf32>, %[[R:.*]]: tensor<2x2xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<4x2xf32>, tensor<2x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @orthogonal_no_fold_non_constant(%x: tensor<4x2xf32>, %r: tensor<2x2xf32>) -> tensor<4x2xf32> {
  %y = rotary.orthogonal %x, %r : tensor<4x2xf32>, tensor<2x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// ExpandTrivialRotationBlock
//===----------------------------------------------------------------------===//

// rotation_block stays one op (its fused kernel): canonicalization does not
// expand it unless a part is an identity.
// CHECK-LABEL: func @keep_rotation_block
// CHECK-SAME:    (%[[X:.*]]: tensor<?x4xf32>, %[[A:.*]]: tensor<3xf32>, %[[R:.*]]: tensor<4x4xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] : tensor<?x4xf32>, tensor<3xf32>, tensor<4x4xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @keep_rotation_block(%x: tensor<?x4xf32>, %a: tensor<3xf32>, %r: tensor<4x4xf32>) -> tensor<?x4xf32> {
  %y = rotary.rotation_block %x, %a, %r : tensor<?x4xf32>, tensor<3xf32>, tensor<4x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// CHECK-LABEL: func @keep_rotation_block_rope
// CHECK-SAME:    (%[[X:.*]]: tensor<1x?x2x8xf32>, %[[P:.*]]: tensor<?xi64>, %[[A:.*]]: tensor<2xf32>, %[[R:.*]]: tensor<8x8xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] rope(%[[P]] : tensor<?xi64>) pairs = [(0, 7), (3, 5)] layout = interleaved {base = 5.000000e+02 : f32, rotary_dim = 4 : i64} : tensor<1x?x2x8xf32>, tensor<2xf32>, tensor<8x8xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @keep_rotation_block_rope(%x: tensor<1x?x2x8xf32>, %pos: tensor<?xi64>, %a: tensor<2xf32>,
                                    %r: tensor<8x8xf32>) -> tensor<1x?x2x8xf32> {
  %y = rotary.rotation_block %x, %a, %r rope(%pos : tensor<?xi64>) pairs = [(0, 7), (3, 5)]
      layout = interleaved {rotary_dim = 4 : i64, base = 500.0 : f32}
      : tensor<1x?x2x8xf32>, tensor<2xf32>, tensor<8x8xf32>
  return %y : tensor<1x?x2x8xf32>
}

// -----

// Zero angles: expanded, the chain folds away, the rope (defaults: half, no
// rotary_dim or base) and the product stay.
// CHECK-LABEL: func @expand_rotation_block_zero_angles
// CHECK-SAME:    (%[[X:.*]]: tensor<2x8x2x4xf16>, %[[P:.*]]: tensor<2x8xf32>, %[[R:.*]]: tensor<4x4xf16>)
// CHECK-NEXT:    %[[E:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<2x8x2x4xf16>, tensor<2x8xf32>
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[E]], %[[R]] : tensor<2x8x2x4xf16>, tensor<4x4xf16>
// CHECK-NEXT:    return %[[Y]]
func.func @expand_rotation_block_zero_angles(%x: tensor<2x8x2x4xf16>, %pos: tensor<2x8xf32>,
                                             %r: tensor<4x4xf16>) -> tensor<2x8x2x4xf16> {
  %a = arith.constant dense<0.0> : tensor<2x6xf32>
  %y = rotary.rotation_block %x, %a, %r rope(%pos : tensor<2x8xf32>)
      : tensor<2x8x2x4xf16>, tensor<2x6xf32>, tensor<4x4xf16>
  return %y : tensor<2x8x2x4xf16>
}

// -----

// An empty chain (N = 0) folds the same way; pairs and per-head R are kept.
// CHECK-LABEL: func @expand_rotation_block_no_angles
// CHECK-SAME:    (%[[X:.*]]: tensor<7x2x4xbf16>, %[[A:.*]]: tensor<2x0xf32>, %[[R:.*]]: tensor<2x4x4xf32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<7x2x4xbf16>, tensor<2x4x4xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @expand_rotation_block_no_angles(%x: tensor<7x2x4xbf16>, %a: tensor<2x0xf32>, %r: tensor<2x4x4xf32>)
    -> tensor<7x2x4xbf16> {
  %y = rotary.rotation_block %x, %a, %r pairs = []
      : tensor<7x2x4xbf16>, tensor<2x0xf32>, tensor<2x4x4xf32>
  return %y : tensor<7x2x4xbf16>
}

// -----

// R = I: expanded, the product folds away and the chain (with its pairs)
// stays.
// CHECK-LABEL: func @expand_rotation_block_identity_matrix
// CHECK-SAME:    (%[[X:.*]]: tensor<?x4xf32>, %[[A:.*]]: tensor<2xf32>)
// CHECK-NEXT:    %[[G:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 2), (1, 3)] : tensor<?x4xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[G]]
func.func @expand_rotation_block_identity_matrix(%x: tensor<?x4xf32>, %a: tensor<2xf32>) -> tensor<?x4xf32> {
  %r = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32>
  %y = rotary.rotation_block %x, %a, %r pairs = [(0, 2), (1, 3)] : tensor<?x4xf32>, tensor<2xf32>, tensor<4x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Expansion then folding: zero angles and an identity matrix leave x.
// CHECK-LABEL: func @expand_rotation_block_then_fold
// CHECK-SAME:    (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-NEXT:    return %[[X]]
func.func @expand_rotation_block_then_fold(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %a = arith.constant dense<0.0> : tensor<1xf32>
  %r = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = rotary.rotation_block %x, %a, %r : tensor<3x2xf32>, tensor<1xf32>, tensor<2x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// QuaternionRotateOp::fold
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @quaternion_fold_zero_angle
// CHECK-SAME:    (%[[X:.*]]: tensor<2x5x3xf32>, %{{.*}}: tensor<3xf32>, %{{.*}}: tensor<2x5x3xf32>)
// CHECK-NEXT:    return %[[X]], %[[X]]
func.func @quaternion_fold_zero_angle(%x: tensor<2x5x3xf32>, %u: tensor<3xf32>, %v: tensor<2x5x3xf32>)
    -> (tensor<2x5x3xf32>, tensor<2x5x3xf32>) {
  %t = arith.constant dense<0.0> : tensor<f32>
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<2x5x3xf32>, tensor<3xf32>, tensor<f32>
  %s = arith.constant dense<-0.0> : tensor<2x5xf32>
  %1 = rotary.quaternion_rotate %x, %v, %s : tensor<2x5x3xf32>, tensor<2x5x3xf32>, tensor<2x5xf32>
  return %0, %1 : tensor<2x5x3xf32>, tensor<2x5x3xf32>
}

// -----

// CHECK-LABEL: func @quaternion_no_fold_nonzero_angle
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>, %[[U:.*]]: tensor<3xf32>)
// CHECK-DAG:     %[[T:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG:     %[[S:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK-NOT:     arith.constant
// CHECK:         %[[Y:.*]] = rotary.quaternion_rotate %[[X]], %[[U]], %[[T]] : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
// CHECK-NEXT:    %[[Z:.*]] = rotary.quaternion_rotate %[[X]], %[[U]], %[[S]] : tensor<2x3xf32>, tensor<3xf32>, tensor<2xf32>
// CHECK-NEXT:    return %[[Y]], %[[Z]]
func.func @quaternion_no_fold_nonzero_angle(%x: tensor<2x3xf32>, %u: tensor<3xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %t = arith.constant dense<0.25> : tensor<f32>
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
  // One vector has a zero angle, the other does not.
  %s = arith.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %1 = rotary.quaternion_rotate %x, %u, %s : tensor<2x3xf32>, tensor<3xf32>, tensor<2xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @quaternion_no_fold_non_constant
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>, %[[U:.*]]: tensor<3xf32>, %[[T:.*]]: tensor<f32>)
// CHECK-NEXT:    %[[Y:.*]] = rotary.quaternion_rotate %[[X]], %[[U]], %[[T]] : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
// CHECK-NEXT:    return %[[Y]]
func.func @quaternion_no_fold_non_constant(%x: tensor<2x3xf32>, %u: tensor<3xf32>, %t: tensor<f32>) -> tensor<2x3xf32> {
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
  return %0 : tensor<2x3xf32>
}

// -----

// Per-head chains with different static head counts on a dynamic H can't be
// concatenated: no merge (the IR would be invalid).
// CHECK-LABEL: func @no_merge_different_heads
// CHECK: %[[A:.*]] = rotary.givens %arg0, %arg1 pairs = [(0, 1)] : tensor<?x?x4xf32>, tensor<2x1xf32>
// CHECK-NEXT: %[[B:.*]] = rotary.givens %[[A]], %arg2 pairs = [(2, 3)] : tensor<?x?x4xf32>, tensor<3x1xf32>
// CHECK-NEXT: return %[[B]]
func.func @no_merge_different_heads(%x: tensor<?x?x4xf32>, %a: tensor<2x1xf32>, %b: tensor<3x1xf32>) -> tensor<?x?x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1)] : tensor<?x?x4xf32>, tensor<2x1xf32>
  %z = rotary.givens %y, %b pairs = [(2, 3)] : tensor<?x?x4xf32>, tensor<3x1xf32>
  return %z : tensor<?x?x4xf32>
}

// -----

// An identity R whose result type is more static than x must not fold to x.
// CHECK-LABEL: func @no_fold_identity_type_change
// CHECK: %[[Y:.*]] = rotary.orthogonal %arg0, %{{.*}} : tensor<4x?xf32>, tensor<2x2xf32>
// CHECK-NEXT: return %[[Y]] : tensor<4x2xf32>
func.func @no_fold_identity_type_change(%x: tensor<4x?xf32>) -> tensor<4x2xf32> {
  %r = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = rotary.orthogonal %x, %r : tensor<4x?xf32>, tensor<2x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A 1x1 splat of 1 per head is an identity; a larger splat is not.
// CHECK-LABEL: func @splat_identity
// CHECK-NEXT: return %arg0
func.func @splat_identity(%x: tensor<5x3x1xf32>) -> tensor<5x3x1xf32> {
  %r = arith.constant dense<1.0> : tensor<3x1x1xf32>
  %y = rotary.orthogonal %x, %r : tensor<5x3x1xf32>, tensor<3x1x1xf32>
  return %y : tensor<5x3x1xf32>
}

// -----

// Splats standing for ~4.6e18 elements: folders look at one element, and
// no pattern writes out the default schedule for them (this used to hang or
// abort).
// CHECK-LABEL: func @huge_splats
// CHECK-NOT: rotary.givens %arg0, %{{.*}} : tensor<1x3037000500xf32>, tensor<4611686016981624750xf32>
// CHECK: %[[G:.*]] = rotary.givens %arg0, %{{.*}} : tensor<1x3037000500xf32>, tensor<4611686016981624750xf32>
// CHECK: return %arg0, %[[G]], %arg1, %arg2
func.func @huge_splats(%x: tensor<1x3037000500xf32>, %v: tensor<4611686018427387904x3xf32>, %w: tensor<4611686018427387904x1xf32>)
    -> (tensor<1x3037000500xf32>, tensor<1x3037000500xf32>, tensor<4611686018427387904x3xf32>, tensor<4611686018427387904x1xf32>) {
  %zero = arith.constant dense<0.0> : tensor<4611686016981624750xf32>
  %one = arith.constant dense<1.0> : tensor<4611686016981624750xf32>
  %a = rotary.givens %x, %zero : tensor<1x3037000500xf32>, tensor<4611686016981624750xf32>
  %b = rotary.givens %x, %one : tensor<1x3037000500xf32>, tensor<4611686016981624750xf32>
  %u = arith.constant dense<[0.0, 0.0, 1.0]> : tensor<3xf32>
  %t = arith.constant dense<0.0> : tensor<4611686018427387904xf32>
  %c = rotary.quaternion_rotate %v, %u, %t : tensor<4611686018427387904x3xf32>, tensor<3xf32>, tensor<4611686018427387904xf32>
  %r = arith.constant dense<1.0> : tensor<4611686018427387904x1x1xf32>
  %d = rotary.orthogonal %w, %r : tensor<4611686018427387904x1xf32>, tensor<4611686018427387904x1x1xf32>
  return %a, %b, %c, %d : tensor<1x3037000500xf32>, tensor<1x3037000500xf32>, tensor<4611686018427387904x3xf32>, tensor<4611686018427387904x1xf32>
}
