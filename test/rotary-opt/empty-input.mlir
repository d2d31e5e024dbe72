// An input with nothing but comments, a truly empty file and empty stdin all
// give an empty module and exit 0 (no crash, no diagnostic).

// RUN: rotary-opt %s 2>&1 | FileCheck %s
// RUN: printf '' > %t.mlir
// RUN: rotary-opt %t.mlir 2>&1 | FileCheck %s
// RUN: rotary-opt < %t.mlir 2>&1 | FileCheck %s
// With -split-input-file an empty file has no chunk to print: exit 0 and no
// diagnostic (the output may be empty).
// RUN: rotary-opt %t.mlir -split-input-file -canonicalize 2>&1 | FileCheck %s --allow-empty --check-prefix=SPLIT
// SPLIT-NOT: error
// RUN: printf '\n\n   \n\t\n' > %t.ws.mlir
// RUN: rotary-opt %t.ws.mlir 2>&1 | FileCheck %s

// The empty module also survives a bytecode round trip.
// RUN: rotary-opt %t.mlir --emit-bytecode -o %t.bc
// RUN: rotary-opt %t.bc 2>&1 | FileCheck %s

// CHECK-NOT:   error
// CHECK:       module {
// CHECK-NEXT:  }
// CHECK-NOT:   {{.}}
