// The attention kernels scripts/gpu-check checks and times on a GPU
// (compiled with gradients: @attention and @attention_bwd): causal
// sliding-window attention, each query seeing itself and the 255 keys
// before it, at head dimension 64 (static: the GPU's tiles live in shared
// memory). The forward is a block per tile of 32 queries running the
// online softmax over the key tiles it sees; the backward a query pass and
// a key pass of the same kind (docs/Gpu.md). @attention_any_d is the same
// with the head dimension known only at run time: its growing tiles are
// dynamic shared memory sized at each launch (above 48 KiB from D = 97).
func.func @attention(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>,
                     %v: tensor<?x?x?x64xf32>) -> tensor<?x?x?x64xf32> {
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 255 : i64}
      : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>
  return %o : tensor<?x?x?x64xf32>
}

func.func @attention_any_d(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                           %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 255 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}
