// End to end: fam_step with weight decay through rotary-runner, against the
// pure-Python reference of test/lit-support/npy_case.py (docs/Math.md §7,
// step 4).
// RUN: rm -rf %t && mkdir -p %t/bundle %t/source
// RUN: %python %S/../lit-support/npy_case.py gen fam_step %t

// From a bundle built by rotary-translate.
// RUN: rotary-translate %s -o %t/bundle/fam.rotary
// RUN: rotary-runner %t/bundle/fam.rotary --input %t/in0.npy --input %t/in1.npy --input %t/in2.npy --input %t/in3.npy --input %t/in4.npy --out %t/bundle/out0.npy --out %t/bundle/out1.npy
// RUN: %python %S/../lit-support/npy_case.py check fam_step %t/bundle | FileCheck %s

// From the .mlir file directly (the runner compiles a temporary bundle).
// RUN: rotary-runner %s --entry fam_step --input %t/in0.npy --input %t/in1.npy --input %t/in2.npy --input %t/in3.npy --input %t/in4.npy --out %t/source/out0.npy --out %t/source/out1.npy
// RUN: %python %S/../lit-support/npy_case.py check fam_step %t/source | FileCheck %s

// CHECK: fam_step: max_err={{[0-9.e+-]+}} tol=1e-06 shape=[37],[37] OK

// The entry takes 5 inputs and 2 outputs; a missing output is refused.
// RUN: not rotary-runner %t/bundle/fam.rotary --input %t/in0.npy --input %t/in1.npy --input %t/in2.npy --input %t/in3.npy --input %t/in4.npy --out %t/x.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: rotary-runner: error: entry 'fam_step' takes 2 --out (result0, result1), got 1

func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                    %lr: tensor<f32>, %alpha_eff: tensor<f32>)
    -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha_eff {weight_decay = 0.01 : f32}
      : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}
