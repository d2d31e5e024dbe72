// The FAM step scripts/gpu-check checks and times on a GPU.
func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                    %lr: tensor<f32>, %alpha_eff: tensor<f32>)
    -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha_eff
      : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}
