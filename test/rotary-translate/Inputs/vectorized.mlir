// Two kernels whose speed rests on LLVM's loop vectoriser (vectorized.test).
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x?xf32>)
    -> tensor<?x?x?x?xf32> {
  %g = rotary.so_generator %angles chunk = 4 form = givens
      : tensor<?x?x?x?x?xf32>
  %p = rotary.cumulative_rotation %g : tensor<?x?x?x?x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<?x?x?x?xf32>, tensor<?x?x?x?x4x4xf32>
  return %y : tensor<?x?x?x?xf32>
}
