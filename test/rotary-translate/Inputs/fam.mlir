// A small entry for the tests of rotary-translate's options.
func.func @fam(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %lr: tensor<f32>, %a: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %a : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}
