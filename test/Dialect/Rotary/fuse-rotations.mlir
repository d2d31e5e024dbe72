// RUN: rotary-opt %s -rotary-fuse-rotations -split-input-file | FileCheck %s
// RUN: rotary-opt %s -rotary-fuse-rotations="strategy=chain" -split-input-file | FileCheck %s --check-prefix=CHAIN
// RUN: rotary-opt %s -rotary-fuse-rotations="strategy=fold" -split-input-file | FileCheck %s --check-prefix=FOLD
// RUN: not rotary-opt %s -rotary-fuse-rotations="strategy=fast" 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: option 'strategy' must be auto, chain or fold, but got 'fast'

// The HDD-RoPE chain becomes one fused op; P and G are never materialised.
// CHECK-LABEL: func @hdd_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x4x16xf32>, %[[A:.*]]: tensor<2x?x4x4x6xf32>)
// CHECK-NOT: so_generator
// CHECK-NOT: cumulative_rotation
// CHECK: %[[Y:.*]] = rotary.hdd_rope %[[X]], %[[A]] form = exp {chunk = 4 : i64}
// CHECK-NEXT: return %[[Y]]
func.func @hdd_chain(%x: tensor<2x?x4x16xf32>, %a: tensor<2x?x4x4x6xf32>) -> tensor<2x?x4x16xf32> {
  %g = rotary.so_generator %a chunk = 4 form = exp : tensor<2x?x4x4x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<2x?x4x4x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<2x?x4x16xf32>, tensor<2x?x4x4x4x4xf32>
  return %y : tensor<2x?x4x16xf32>
}

// -----

// Queries and keys share P: both are fused (the scan is recomputed in
// registers rather than stored), and `inverse` is kept.
// CHECK-LABEL: func @hdd_q_and_k
// CHECK-NOT: cumulative_rotation
// CHECK: rotary.hdd_rope %{{.*}}, %[[A:.*]] form = givens {chunk = 4 : i64}
// CHECK: rotary.hdd_rope %{{.*}}, %[[A]] form = givens {chunk = 4 : i64, inverse}
func.func @hdd_q_and_k(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>, %a: tensor<1x8x2x2x6xf32>) -> (tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>) {
  %g = rotary.so_generator %a chunk = 4 form = givens : tensor<1x8x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x8x2x2x4x4xf32>
  %yq = rotary.hdd_rope %q, %p : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
  %yk = rotary.hdd_rope %k, %p {inverse} : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
  return %yq, %yk : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
}

// -----

// P is also returned: it must exist in memory, so nothing is fused.
// CHECK-LABEL: func @hdd_p_escapes
// CHECK: rotary.cumulative_rotation
// CHECK: rotary.hdd_rope %{{.*}}, %{{.*}} : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
func.func @hdd_p_escapes(%x: tensor<1x8x2x8xf32>, %a: tensor<1x8x2x2x6xf32>) -> (tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>) {
  %g = rotary.so_generator %a chunk = 4 form = givens : tensor<1x8x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x8x2x2x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
  return %y, %p : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
}

// -----

// A scan along another axis is not the T scan the fused kernel does.
// CHECK-LABEL: func @hdd_other_axis
// CHECK: rotary.cumulative_rotation %{{.*}} {axis = 2 : i64}
func.func @hdd_other_axis(%x: tensor<1x8x2x8xf32>, %a: tensor<1x8x2x2x6xf32>) -> tensor<1x8x2x8xf32> {
  %g = rotary.so_generator %a chunk = 4 form = givens : tensor<1x8x2x2x6xf32>
  %p = rotary.cumulative_rotation %g {axis = 2 : i64} : tensor<1x8x2x2x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<1x8x2x8xf32>, tensor<1x8x2x2x4x4xf32>
  return %y : tensor<1x8x2x8xf32>
}

// -----

// Cost model, D = 8 and the full schedule N = 28: chain = M(6N + 2D²),
// fold = 6ND + 2D² + 2MD². It flips between M = 8 (chain) and M = 9 (fold).
// CHECK-LABEL: func @chain_rows_8
// CHECK: %[[G:.*]] = rotary.givens %arg0, %arg1 : tensor<8x8xf32>, tensor<28xf32>
// CHECK-NEXT: rotary.orthogonal %[[G]], %arg2 : tensor<8x8xf32>, tensor<8x8xf32>
// FOLD-LABEL: func @chain_rows_8
// FOLD: linalg.transpose
// CHAIN-LABEL: func @chain_rows_8
// CHAIN-NOT: linalg.transpose
func.func @chain_rows_8(%x: tensor<8x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %0 = rotary.givens %x, %a : tensor<8x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<8x8xf32>, tensor<8x8xf32>
  return %1 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @fold_rows_9
// CHECK-SAME: (%[[X:.*]]: tensor<9x8xf32>, %[[A:.*]]: tensor<28xf32>, %[[R:.*]]: tensor<8x8xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x8xf32>
// CHECK: %[[RT:.*]] = linalg.transpose ins(%[[R]] : tensor<8x8xf32>) outs(%[[E]] : tensor<8x8xf32>) permutation = [1, 0]
// CHECK: %[[QT:.*]] = rotary.givens %[[RT]], %[[A]] pairs = [(0, 7), (1, 6), (2, 5), (3, 4), (1, 7), {{.*}}] {inverse} : tensor<8x8xf32>, tensor<28xf32>
// CHECK: %[[Y:.*]] = rotary.orthogonal %[[X]], %[[QT]] {transpose} : tensor<9x8xf32>, tensor<8x8xf32>
// CHECK: return %[[Y]]
// CHAIN-LABEL: func @fold_rows_9
// CHAIN-NOT: linalg.transpose
func.func @fold_rows_9(%x: tensor<9x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<9x8xf32> {
  %0 = rotary.givens %x, %a : tensor<9x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<9x8xf32>, tensor<8x8xf32>
  return %1 : tensor<9x8xf32>
}

// -----

// Per head (H = 2): rows count over all heads, so the flip is at 2·9 = 18.
// CHECK-LABEL: func @per_head_chain
// CHECK-NOT: linalg.transpose
func.func @per_head_chain(%x: tensor<8x2x8xf32>, %a: tensor<2x28xf32>, %r: tensor<2x8x8xf32>) -> tensor<8x2x8xf32> {
  %0 = rotary.givens %x, %a : tensor<8x2x8xf32>, tensor<2x28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<8x2x8xf32>, tensor<2x8x8xf32>
  return %1 : tensor<8x2x8xf32>
}

// -----

// CHECK-LABEL: func @per_head_fold
// CHECK: linalg.transpose ins(%arg2 : tensor<2x8x8xf32>) outs(%{{.*}} : tensor<8x2x8xf32>) permutation = [2, 0, 1]
// CHECK: %[[QT:.*]] = rotary.givens %{{.*}}, %arg1 pairs = {{.*}} {inverse} : tensor<8x2x8xf32>, tensor<2x28xf32>
// CHECK: %[[M:.*]] = linalg.transpose ins(%[[QT]] : tensor<8x2x8xf32>) outs(%{{.*}} : tensor<2x8x8xf32>) permutation = [1, 0, 2]
// CHECK: rotary.orthogonal %arg0, %[[M]] {transpose} : tensor<9x2x8xf32>, tensor<2x8x8xf32>
func.func @per_head_fold(%x: tensor<9x2x8xf32>, %a: tensor<2x28xf32>, %r: tensor<2x8x8xf32>) -> tensor<9x2x8xf32> {
  %0 = rotary.givens %x, %a : tensor<9x2x8xf32>, tensor<2x28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<9x2x8xf32>, tensor<2x8x8xf32>
  return %1 : tensor<9x2x8xf32>
}

// -----

// Dynamic rows count as dynamic-rows (65536 by default): fold. A dynamic D,
// a bf16 R or a chain used elsewhere keeps the chain.
// CHECK-LABEL: func @dynamic_rows
// CHECK: linalg.transpose
// CHECK-LABEL: func @dynamic_d
// CHECK-NOT: linalg.transpose
// CHECK-LABEL: func @bf16_matrix
// CHECK-NOT: linalg.transpose
// CHECK-LABEL: func @chain_escapes
// CHECK-NOT: linalg.transpose
// CHECK: return
func.func @dynamic_rows(%x: tensor<?x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<?x8xf32> {
  %0 = rotary.givens %x, %a : tensor<?x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<?x8xf32>, tensor<8x8xf32>
  return %1 : tensor<?x8xf32>
}
func.func @dynamic_d(%x: tensor<64x?xf32>, %a: tensor<1xf32>, %r: tensor<?x?xf32>) -> tensor<64x?xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 1)] : tensor<64x?xf32>, tensor<1xf32>
  %1 = rotary.orthogonal %0, %r : tensor<64x?xf32>, tensor<?x?xf32>
  return %1 : tensor<64x?xf32>
}
func.func @bf16_matrix(%x: tensor<64x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xbf16>) -> tensor<64x8xf32> {
  %0 = rotary.givens %x, %a : tensor<64x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<64x8xf32>, tensor<8x8xbf16>
  return %1 : tensor<64x8xf32>
}
func.func @chain_escapes(%x: tensor<64x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> (tensor<64x8xf32>, tensor<64x8xf32>) {
  %0 = rotary.givens %x, %a : tensor<64x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<64x8xf32>, tensor<8x8xf32>
  return %0, %1 : tensor<64x8xf32>, tensor<64x8xf32>
}

// -----

// rotation_block is expanded first; its chain then goes through the model.
// CHECK-LABEL: func @rotation_block
// CHECK-NOT: rotary.rotation_block
// CHECK: rotary.rope
// CHECK: linalg.transpose
// CHECK: rotary.givens {{.*}} {inverse}
// CHECK: rotary.orthogonal {{.*}} {transpose}
func.func @rotation_block(%x: tensor<4x128x2x8xf32>, %pos: tensor<128xi64>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<4x128x2x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%pos : tensor<128xi64>) layout = interleaved
      : tensor<4x128x2x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<4x128x2x8xf32>
}
