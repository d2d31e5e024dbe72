// End to end: a Givens chain on the default round-robin schedule
// (docs/Math.md §2), 70 rows (a full tile of 64 and a partial one), D = 6
// and all 15 rotations, against the pure-Python reference of
// test/lit-support/npy_case.py.
// RUN: rm -rf %t && mkdir -p %t
// RUN: rotary-translate %s -o %t/givens.rotary
// RUN: %python %S/../lit-support/npy_case.py gen givens %t
// RUN: rotary-runner %t/givens.rotary --entry givens --input %t/in0.npy --input %t/in1.npy --out %t/out0.npy
// RUN: %python %S/../lit-support/npy_case.py check givens %t | FileCheck %s
// CHECK: givens: max_err={{[0-9.e+-]+}} tol=2e-05 shape=[70, 6] OK

func.func @givens(%x: tensor<?x?xf32>, %angles: tensor<?xf32>) -> tensor<?x?xf32> {
  %y = rotary.givens %x, %angles : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}
