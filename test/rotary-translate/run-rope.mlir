// End to end: compile with rotary-translate, run with rotary-runner on .npy
// inputs written by test/lit-support/npy_case.py, compare with its
// pure-Python reference (docs/Math.md §1) within a tolerance.
// RUN: rm -rf %t && mkdir -p %t/half %t/partial %t/short %t/dtype
// RUN: rotary-translate %s -o %t/kernels.rotary

// Half layout, i64 positions up to 1000 (the f64 angle table matters there).
// RUN: %python %S/../lit-support/npy_case.py gen rope %t/half
// RUN: rotary-runner %t/kernels.rotary --entry rope --input %t/half/in0.npy --input %t/half/in1.npy --out %t/half/out0.npy
// RUN: %python %S/../lit-support/npy_case.py check rope %t/half | FileCheck %s --check-prefix=HALF
// HALF: rope: max_err={{[0-9.e+-]+}} tol=2e-05 shape=[2, 5, 3, 8] OK

// Interleaved, rotary_dim 6 of 10 (features 6..9 pass through), base 500,
// inverse, f32 [B, T] positions.
// RUN: %python %S/../lit-support/npy_case.py gen rope_partial %t/partial
// RUN: rotary-runner %t/kernels.rotary --entry rope_partial --input %t/partial/in0.npy --input %t/partial/in1.npy --out %t/partial/out0.npy
// RUN: %python %S/../lit-support/npy_case.py check rope_partial %t/partial | FileCheck %s --check-prefix=PARTIAL
// PARTIAL: rope_partial: max_err={{[0-9.e+-]+}} tol=2e-05 shape=[2, 4, 2, 10] OK

// positions with 4 entries for T = 5: the run-time check stops the kernel,
// the runner names the rule, and no output is written.
// RUN: %python %S/../lit-support/npy_case.py gen rope_short %t/short
// RUN: not rotary-runner %t/kernels.rotary --entry rope --input %t/short/in0.npy --input %t/short/in1.npy --out %t/short/out0.npy 2>&1 | FileCheck %s --check-prefix=SHORT
// RUN: not ls %t/short/out0.npy
// SHORT: rotary-runner: error: entry 'rope': run-time check 1 failed: rotary.rope at loc("{{.*}}run-rope.mlir":[[@LINE+3]]:8): operand 'positions' must have shape [T] of operand 'x', but its dimension 0 differs

func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

func.func @rope_partial(%x: tensor<?x?x?x?xf32>, %positions: tensor<?x?xf32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = interleaved {rotary_dim = 6 : i64, base = 500.0 : f32, inverse}
      : tensor<?x?x?x?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}

// An input of the wrong dtype (f32 positions for the i64 entry) is refused
// before the kernel runs, naming the input.
// RUN: %python %S/../lit-support/npy_case.py gen rope_partial %t/dtype
// RUN: not rotary-runner %t/kernels.rotary --entry rope --input %t/dtype/in0.npy --input %t/dtype/in1.npy --out %t/dtype/out0.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: rotary-runner: error: --input #2 (positions): expected i64 [?], got f32 [2, 4]
