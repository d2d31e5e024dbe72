// Textual IR cut short at various points is rejected with a located
// diagnostic and exit code 1, never a crash (`not` fails on one). The inputs
// are prefixes of this file, so the diagnostics' line numbers are those of
// this file.

// The whole file is valid.
// RUN: rotary-opt %s | FileCheck %s --check-prefix=FULL
// FULL: rotary.givens
// FULL: rotary.rope

// Missing closing brace: drop the last line.
// RUN: sed '$d' %s > %t.brace.mlir
// RUN: not rotary-opt %t.brace.mlir 2>&1 | FileCheck %s -DFILE=%t.brace.mlir --check-prefix=BRACE

// Cut inside a string attribute, a type, the pairs list of rotary.givens, the
// layout of rotary.rope and a dense literal (the cut is after the last
// occurrence of the given text).
// RUN: %python -c "import sys; s = open(sys.argv[1]).read(); [open(sys.argv[2] + '.' + n + '.mlir', 'w').write(s[:s.rindex(m) + len(m)]) for n, m in zip(sys.argv[3::2], sys.argv[4::2])]" \
// RUN:   %s %t string 'note = "rot' type '-> tensor<1x8x2x' pairs 'pairs = [(0, 1' layout 'layout = ' dense 'dense<[1.0, 2.0'
// RUN: not rotary-opt %t.string.mlir 2>&1 | FileCheck %s -DFILE=%t.string.mlir --check-prefix=STRING
// RUN: not rotary-opt %t.type.mlir 2>&1 | FileCheck %s -DFILE=%t.type.mlir --check-prefix=TYPE
// RUN: not rotary-opt %t.pairs.mlir 2>&1 | FileCheck %s -DFILE=%t.pairs.mlir --check-prefix=PAIRS
// RUN: not rotary-opt %t.layout.mlir 2>&1 | FileCheck %s -DFILE=%t.layout.mlir --check-prefix=LAYOUT
// RUN: not rotary-opt %t.dense.mlir 2>&1 | FileCheck %s -DFILE=%t.dense.mlir --check-prefix=DENSE

// STRING: [[FILE]]:[[@LINE+3]]:51: error: expected '"' in string literal
// TYPE: [[FILE]]:[[@LINE+2]]:20: error: expected non-function type
func.func @f(%x: tensor<1x8x2x8xf32>, %p: tensor<8xi64>, %a: tensor<2xf32>)
    -> tensor<1x8x2x8xf32> attributes {note = "rotary"} {
  // DENSE: [[FILE]]:[[@LINE+1]]:37: error: expected ']'
  %c = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // PAIRS: [[FILE]]:[[@LINE+1]]:41: error: expected ')'
  %y = rotary.givens %x, %a pairs = [(0, 1), (2, 3)] : tensor<1x8x2x8xf32>, tensor<2xf32>
  // LAYOUT: [[FILE]]:[[@LINE+1]]:36: error: custom op 'rotary.rope' expected valid keyword or string
  %z = rotary.rope %y, %p layout = half : tensor<1x8x2x8xf32>, tensor<8xi64>
  // BRACE: [[FILE]]:[[@LINE+1]]:34: error: expected operation name in quotes
  return %z : tensor<1x8x2x8xf32>
}
