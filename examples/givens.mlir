// Givens chains (docs/Math.md §2) and the rotation block (docs/Math.md §4).

// The first K rotations of the default round-robin schedule (run as a
// chain per row, or folded into one matrix when that is cheaper).
func.func @givens(%x: tensor<?x?xf32>, %angles: tensor<?xf32>)
    -> tensor<?x?xf32> {
  %y = rotary.givens %x, %angles : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}

// x·(G_1⋯G_K)·R.
func.func @rotation_block(%x: tensor<?x?xf32>, %angles: tensor<?xf32>,
                          %r: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %y = rotary.rotation_block %x, %angles, %r
      : tensor<?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// RoPE (half layout, base 10000) on the head dim, then x·(G_1⋯G_K)·R, with
// x [B, T, H, D]. The sizes are dynamic, so the kernel holds both forms and
// picks at run time by flop count: after the rope, the chain and x·R on each
// row group for few rows, or Q·R once and one contraction for many.
func.func @rotation_block_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?xf32>,
                               %r: tensor<?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rotation_block %x, %angles, %r rope(%positions : tensor<?xi64>)
      layout = half : tensor<?x?x?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}
