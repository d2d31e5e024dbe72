// End to end: cumulative_rotation whose c is static in only one of the two
// trailing dimensions ([?, ?, 3, ?]) compiles (c = 3 is taken from that
// dimension) and matches the pure-Python running product. A fully dynamic
// [?, ?] is rejected (test/Conversion/RotaryToLinalg/unsupported.mlir).
// RUN: rm -rf %t && mkdir -p %t
// RUN: rotary-translate %s -o %t/scan.rotary
// RUN: %python %S/../lit-support/npy_case.py gen scan %t
// RUN: rotary-runner %t/scan.rotary --entry scan --input %t/in0.npy --out %t/out0.npy
// RUN: %python %S/../lit-support/npy_case.py check scan %t | FileCheck %s
// CHECK: scan: max_err={{[0-9.e+-]+}} tol=1e-05 shape=[2, 5, 3, 3] OK

func.func @scan(%g: tensor<?x?x3x?xf32>) -> tensor<?x?x3x?xf32> {
  %p = rotary.cumulative_rotation %g : tensor<?x?x3x?xf32>
  return %p : tensor<?x?x3x?xf32>
}
