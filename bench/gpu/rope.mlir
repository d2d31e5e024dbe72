// The RoPE kernels scripts/gpu-check checks and times on a GPU (compiled
// with gradients: @rope and @rope_bwd).
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
