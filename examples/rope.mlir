// Rotary position embedding (docs/Math.md §1): NeoX/Llama "half" layout,
// base 10000, every feature rotated (rotary_dim = D).
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// Learnable RoPE: θ = scale·p·f_i + φ_i with frequencies, phases and the
// positional scale as inputs (their gradients come from @rope_learned_bwd).
func.func @rope_learned(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>,
                        %inv_freq: tensor<?xf32>, %phase: tensor<?xf32>,
                        %scale: tensor<f32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions inv_freq(%inv_freq : tensor<?xf32>)
      phase(%phase : tensor<?xf32>) scale(%scale) layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
