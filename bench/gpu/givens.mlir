// The Givens chain scripts/gpu-check checks and times on a GPU (compiled
// with gradients: @givens and @givens_bwd): the full
// default schedule over D = 64 features (63 stages of 32 rotations, 2016
// angles), one chain shared by every row. The cost model runs it as the
// chain on each row (a block per 64 rows, a thread per row, in shared
// memory) for a few rows and folded into its matrix (x·Q) for many; the
// timed shape takes the fold (docs/Gpu.md). Its gradient (@givens_bwd:
// x̄ and the angles' gradient from ȳ) is a block per 64 rows running the
// chain forward and back a thread per row, summing each angle's terms over
// the block's rows.
func.func @givens(%x: tensor<?x64xf32>, %angles: tensor<2016xf32>)
    -> tensor<?x64xf32> {
  %y = rotary.givens %x, %angles : tensor<?x64xf32>, tensor<2016xf32>
  return %y : tensor<?x64xf32>
}
