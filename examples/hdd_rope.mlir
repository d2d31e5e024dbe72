// HDD-RoPE (docs/Math.md §5) with chunks of c = 4 features (6 angles per
// chunk): generators from angles, their running product along T, applied per
// chunk.
// The fusion pass turns this chain into one fused rotary.hdd_rope.
func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x?xf32>)
    -> tensor<?x?x?x?xf32> {
  %g = rotary.so_generator %angles chunk = 4 form = givens
      : tensor<?x?x?x?x?xf32>
  %p = rotary.cumulative_rotation %g : tensor<?x?x?x?x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<?x?x?x?xf32>, tensor<?x?x?x?x4x4xf32>
  return %y : tensor<?x?x?x?xf32>
}
