// A bytecode file cut short is rejected with a diagnostic on the file
// (location 0:0; bytecode has no line numbers) and exit code 1, never a
// crash (`not` fails on a crash). Locations are stripped so the bytecode does
// not depend on where this file lives.

// The whole file reads back.
// RUN: rotary-opt %s -strip-debuginfo --emit-bytecode -o %t.bc
// RUN: rotary-opt %t.bc | FileCheck %s --check-prefix=FULL
// FULL: rotary.givens %{{.*}}, %{{.*}} pairs = [(0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<2xf32>

// Cut after 40 bytes (inside the sections), after the magic and version
// only, and one byte short of the end.
// RUN: head -c 40 %t.bc > %t.trunc
// RUN: not rotary-opt %t.trunc 2>&1 | FileCheck %s -DFILE=%t.trunc
// RUN: head -c 5 %t.bc > %t.trunc5
// RUN: not rotary-opt %t.trunc5 2>&1 | FileCheck %s -DFILE=%t.trunc5
// RUN: head -c -1 %t.bc > %t.trunc-1
// RUN: not rotary-opt %t.trunc-1 2>&1 | FileCheck %s -DFILE=%t.trunc-1

// CHECK: [[FILE]]:0:0: error: {{.+}}

func.func @f(%x: tensor<2x4xf32>, %a: tensor<2xf32>) -> tensor<2x4xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] {inverse} : tensor<2x4xf32>, tensor<2xf32>
  return %y : tensor<2x4xf32>
}
