// Rotary position embedding (SPEC §1): NeoX/Llama "half" layout, base 10000,
// every feature rotated (rotary_dim = D).
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
