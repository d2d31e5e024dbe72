// Givens chains (SPEC §2) and the rotation block (SPEC §4).

// The first K rotations of the default round-robin schedule.
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
