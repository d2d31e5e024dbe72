// The HDD-RoPE kernels scripts/gpu-check checks and times on a GPU
// (compiled with gradients: @hdd_rope and @hdd_rope_bwd): chunks of c = 4
// features, each rotated by the running product of the Givens rotations of
// its 6 angles per token. The GPU runs the forward as a blocked scan with
// P in registers and the gradient as generator, blocked scans over the
// tokens and application (docs/Gpu.md); the CPU as one scan per chunk.
func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x6xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 4 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}

// Chunks of c = 16 (120 angles): the GPU's blocked scan gives a thread two
// rows of P; the gradient runs unfused, G and its adjoint by rows.
func.func @hdd_rope_c16(%x: tensor<?x?x?x?xf32>,
                        %angles: tensor<?x?x?x?x120xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 16 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x120xf32>
  return %y : tensor<?x?x?x?xf32>
}
