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
// A chain that stays a chain becomes one rotation_block: one fused kernel.
// CHECK-LABEL: func @chain_rows_8
// CHECK-NOT: rotary.givens
// CHECK: %[[B:.*]] = rotary.rotation_block %arg0, %arg1, %arg2 : tensor<8x8xf32>, tensor<28xf32>, tensor<8x8xf32>
// CHECK-NEXT: return %[[B]]
// FOLD-LABEL: func @chain_rows_8
// FOLD: linalg.transpose
// FOLD-NEXT: rotary.givens {{.*}} {inverse}
// CHAIN-LABEL: func @chain_rows_8
// CHAIN-NOT: linalg.transpose
// CHAIN: rotary.rotation_block %arg0, %arg1, %arg2
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
// CHAIN: rotary.rotation_block %arg0, %arg1, %arg2 : tensor<9x8xf32>
func.func @fold_rows_9(%x: tensor<9x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<9x8xf32> {
  %0 = rotary.givens %x, %a : tensor<9x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<9x8xf32>, tensor<8x8xf32>
  return %1 : tensor<9x8xf32>
}

// -----

// Per head (H = 2): rows count over all heads, so the flip is at 2·9 = 18.
// CHECK-LABEL: func @per_head_chain
// CHECK-NOT: linalg.transpose
// CHECK: rotary.rotation_block %arg0, %arg1, %arg2 : tensor<8x2x8xf32>, tensor<2x28xf32>, tensor<2x8x8xf32>
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
// a bf16 R or a chain used elsewhere keeps the chain: a bf16 R fuses into a
// rotation_block; a dynamic R might be [D, E] with E != D, which a block
// cannot express, and a chain with another user is needed in memory, so
// those two stay separate ops.
// CHECK-LABEL: func @dynamic_rows
// CHECK: linalg.transpose
// CHECK-NOT: rotary.rotation_block
// CHECK-LABEL: func @dynamic_d
// CHECK-NOT: linalg.transpose
// CHECK-NOT: rotary.rotation_block
// CHECK: rotary.givens
// CHECK-NEXT: rotary.orthogonal
// CHECK-LABEL: func @bf16_matrix
// CHECK-NOT: linalg.transpose
// CHECK: rotary.rotation_block %arg0, %arg1, %arg2 : tensor<64x8xf32>, tensor<28xf32>, tensor<8x8xbf16>
// CHECK-LABEL: func @chain_escapes
// CHECK-NOT: linalg.transpose
// CHECK-NOT: rotary.rotation_block
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

// A rotation_block the model folds (4·128·2 = 1024 rows) is expanded and
// its chain folded into R.
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

// -----

// The same block with 8 rows (1·8·1) stays one op: the fused kernel. With 9
// rows it is expanded and folded (the flip point of the cost model above).
// CHECK-LABEL: func @rotation_block_rows_8
// CHECK-NEXT: %[[B:.*]] = rotary.rotation_block %arg0, %arg2, %arg3 rope(%arg1 : tensor<8xi64>) layout = interleaved : tensor<1x8x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
// CHECK-NEXT: return %[[B]]
// FOLD-LABEL: func @rotation_block_rows_8
// FOLD: rotary.rope
// FOLD: rotary.givens {{.*}} {inverse}
// FOLD: rotary.orthogonal {{.*}} {transpose}
// CHECK-LABEL: func @rotation_block_rows_9
// CHECK-NEXT: rotary.rope %arg0, %arg1 layout = interleaved : tensor<1x9x1x8xf32>, tensor<9xi64>
// CHECK: linalg.transpose
// CHECK: rotary.givens {{.*}} {inverse}
// CHECK: rotary.orthogonal {{.*}} {transpose}
// CHECK-NOT: rotary.rotation_block
// CHAIN-LABEL: func @rotation_block_rows_9
// CHAIN-NEXT: rotary.rotation_block %arg0, %arg2, %arg3 rope(%arg1 : tensor<9xi64>)
func.func @rotation_block_rows_8(%x: tensor<1x8x1x8xf32>, %pos: tensor<8xi64>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<1x8x1x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%pos : tensor<8xi64>) layout = interleaved
      : tensor<1x8x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<1x8x1x8xf32>
}
func.func @rotation_block_rows_9(%x: tensor<1x9x1x8xf32>, %pos: tensor<9xi64>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<1x9x1x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%pos : tensor<9xi64>) layout = interleaved
      : tensor<1x9x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<1x9x1x8xf32>
}

// -----

// rope -> givens -> orthogonal written as three ops fuses into one block when
// the chain stays a chain (here: a bf16 R, which the fold needs in f32);
// the rope's layout, rotary_dim and base move onto the block.
// CHECK-LABEL: func @rope_givens_orthogonal
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x4x8xbf16>, %[[P:.*]]: tensor<2x?xi64>, %[[A:.*]]: tensor<4x3xf32>, %[[R:.*]]: tensor<4x8x8xbf16>)
// CHECK-NOT: rotary.rope
// CHECK-NOT: rotary.givens
// CHECK: %[[B:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] rope(%[[P]] : tensor<2x?xi64>) pairs = [(0, 1), (2, 3), (1, 2)] layout = deinterleave {base = 5.000000e+02 : f32, rotary_dim = 4 : i64} : tensor<2x?x4x8xbf16>, tensor<4x3xf32>, tensor<4x8x8xbf16>
// CHECK-NEXT: return %[[B]]
// FOLD-LABEL: func @rope_givens_orthogonal
// FOLD: rotary.rotation_block
func.func @rope_givens_orthogonal(%x: tensor<2x?x4x8xbf16>, %pos: tensor<2x?xi64>, %a: tensor<4x3xf32>, %r: tensor<4x8x8xbf16>) -> tensor<2x?x4x8xbf16> {
  %0 = rotary.rope %x, %pos layout = deinterleave {rotary_dim = 4 : i64, base = 500.0 : f32} : tensor<2x?x4x8xbf16>, tensor<2x?xi64>
  %1 = rotary.givens %0, %a pairs = [(0, 1), (2, 3), (1, 2)] : tensor<2x?x4x8xbf16>, tensor<4x3xf32>
  %2 = rotary.orthogonal %1, %r : tensor<2x?x4x8xbf16>, tensor<4x8x8xbf16>
  return %2 : tensor<2x?x4x8xbf16>
}

// -----

// A rope the block cannot express (learnable inv_freq, or inverse) stays a
// separate op; the chain and R still fuse.
// CHECK-LABEL: func @rope_inv_freq_not_fused
// CHECK: %[[E:.*]] = rotary.rope %arg0, %arg1 inv_freq(%arg2 : tensor<4xf32>)
// CHECK-NEXT: rotary.rotation_block %[[E]], %arg3, %arg4 : tensor<1x8x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
// CHECK-LABEL: func @rope_inverse_not_fused
// CHECK: %[[E:.*]] = rotary.rope %arg0, %arg1 layout = half {inverse}
// CHECK-NEXT: rotary.rotation_block %[[E]], %arg2, %arg3 : tensor<1x8x1x8xf32>
func.func @rope_inv_freq_not_fused(%x: tensor<1x8x1x8xf32>, %pos: tensor<8xi64>, %f: tensor<4xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<1x8x1x8xf32> {
  %0 = rotary.rope %x, %pos inv_freq(%f : tensor<4xf32>) layout = half : tensor<1x8x1x8xf32>, tensor<8xi64>
  %1 = rotary.givens %0, %a : tensor<1x8x1x8xf32>, tensor<28xf32>
  %2 = rotary.orthogonal %1, %r : tensor<1x8x1x8xf32>, tensor<8x8xf32>
  return %2 : tensor<1x8x1x8xf32>
}
func.func @rope_inverse_not_fused(%x: tensor<1x8x1x8xf32>, %pos: tensor<8xi64>, %a: tensor<28xf32>, %r: tensor<8x8xf32>) -> tensor<1x8x1x8xf32> {
  %0 = rotary.rope %x, %pos layout = half {inverse} : tensor<1x8x1x8xf32>, tensor<8xi64>
  %1 = rotary.givens %0, %a : tensor<1x8x1x8xf32>, tensor<28xf32>
  %2 = rotary.orthogonal %1, %r : tensor<1x8x1x8xf32>, tensor<8x8xf32>
  return %2 : tensor<1x8x1x8xf32>
}

// -----

// Non-square R ([8, 3]): y is not x's type, so no block.
// CHECK-LABEL: func @rectangular_r
// CHECK-NOT: rotary.rotation_block
// CHECK: rotary.givens
// CHECK-NEXT: rotary.orthogonal
func.func @rectangular_r(%x: tensor<4x8xf32>, %a: tensor<28xf32>, %r: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %0 = rotary.givens %x, %a : tensor<4x8xf32>, tensor<28xf32>
  %1 = rotary.orthogonal %0, %r : tensor<4x8xf32>, tensor<8x3xf32>
  return %1 : tensor<4x3xf32>
}

// -----

// The backward of the HDD-RoPE chain, as rotary-generate-gradients writes
// it (G and P rebuilt from the angles): one fused hdd_rope_grad over the
// angles; the rebuilt chain and the P-form gradients go away.
// CHECK-LABEL: func @hdd_chain_bwd
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x?x2x8xf32>, %[[A:[^:]*]]: tensor<1x?x2x2x6xf32>, %[[DY:[^:]*]]: tensor<1x?x2x8xf32>)
// CHECK-NEXT: %[[DX:.*]], %[[DA:.*]] = rotary.hdd_rope_grad %[[X]], %[[A]], %[[DY]] form = exp {chunk = 4 : i64}
// CHECK-NEXT: return %[[DX]], %[[DA]]
func.func @hdd_chain_bwd(%x: tensor<1x?x2x8xf32>, %a: tensor<1x?x2x2x6xf32>, %dy: tensor<1x?x2x8xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>) {
  %g = rotary.so_generator %a chunk = 4 form = exp : tensor<1x?x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x?x2x2x4x4xf32>
  %dx, %dp = rotary.hdd_rope_grad %x, %p, %dy : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
  %dg = rotary.cumulative_rotation_grad %g, %dp : tensor<1x?x2x2x4x4xf32>
  %da = rotary.so_generator_grad %a, %dg chunk = 4 form = exp : tensor<1x?x2x2x6xf32>, tensor<1x?x2x2x4x4xf32>
  return %dx, %da : tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>
}

// -----

// P's cotangent also has another source (P is returned): dP is a sum, the
// P-form gradients stay.
// CHECK-LABEL: func @hdd_chain_p_bwd
// CHECK: rotary.hdd_rope_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
// CHECK: rotary.cumulative_rotation_grad
// CHECK: rotary.so_generator_grad
func.func @hdd_chain_p_bwd(%x: tensor<1x?x2x8xf32>, %a: tensor<1x?x2x2x6xf32>, %dy: tensor<1x?x2x8xf32>, %dpr: tensor<1x?x2x2x4x4xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>) {
  %g = rotary.so_generator %a chunk = 4 form = givens : tensor<1x?x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x?x2x2x4x4xf32>
  %dx, %dp = rotary.hdd_rope_grad %x, %p, %dy : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
  %c1 = arith.constant 1 : index
  %n = tensor.dim %dp, %c1 : tensor<1x?x2x2x4x4xf32>
  %e = tensor.empty(%n) : tensor<1x?x2x2x4x4xf32>
  %sum = linalg.add ins(%dpr, %dp : tensor<1x?x2x2x4x4xf32>, tensor<1x?x2x2x4x4xf32>) outs(%e : tensor<1x?x2x2x4x4xf32>) -> tensor<1x?x2x2x4x4xf32>
  %dg = rotary.cumulative_rotation_grad %g, %sum : tensor<1x?x2x2x4x4xf32>
  %da = rotary.so_generator_grad %a, %dg chunk = 4 form = givens : tensor<1x?x2x2x6xf32>, tensor<1x?x2x2x4x4xf32>
  return %dx, %da : tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>
}

// -----

// G from other angles than the ones differentiated: not the chain's
// backward, nothing fuses.
// CHECK-LABEL: func @hdd_grad_other_angles
// CHECK: rotary.hdd_rope_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
// CHECK: rotary.so_generator_grad
func.func @hdd_grad_other_angles(%x: tensor<1x?x2x8xf32>, %a: tensor<1x?x2x2x6xf32>, %b: tensor<1x?x2x2x6xf32>, %dy: tensor<1x?x2x8xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>) {
  %g = rotary.so_generator %b chunk = 4 form = givens : tensor<1x?x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x?x2x2x4x4xf32>
  %dx, %dp = rotary.hdd_rope_grad %x, %p, %dy : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
  %dg = rotary.cumulative_rotation_grad %g, %dp : tensor<1x?x2x2x4x4xf32>
  %da = rotary.so_generator_grad %a, %dg chunk = 4 form = givens : tensor<1x?x2x2x6xf32>, tensor<1x?x2x2x4x4xf32>
  return %dx, %da : tensor<1x?x2x8xf32>, tensor<1x?x2x2x6xf32>
}
