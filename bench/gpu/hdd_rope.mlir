// The HDD-RoPE kernels scripts/gpu-check checks and times on a GPU
// (compiled with gradients: @hdd_rope and @hdd_rope_bwd): chunks of c = 4
// features, each rotated by the running product of the Givens rotations of
// its 6 angles per token. The GPU runs it as generator, blocked scan over
// the tokens and application (docs/Gpu.md); the CPU as one scan per chunk.
func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x6xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 4 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}
