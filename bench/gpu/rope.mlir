// The RoPE kernels scripts/gpu-check checks and times on a GPU (compiled
// with gradients: @rope and @rope_bwd, @rope_learned and
// @rope_learned_bwd, whose parameter gradients are reductions).
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

func.func @rope_learned(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>,
                        %inv_freq: tensor<?xf32>, %phase: tensor<?xf32>,
                        %scale: tensor<f32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions inv_freq(%inv_freq : tensor<?xf32>)
      phase(%phase : tensor<?xf32>) scale(%scale) layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
