// RUN: rm -rf %t.rotary
// RUN: rotary-translate %s --no-gradients -o %t.rotary
// RUN: FileCheck %s --check-prefix=RAW --input-file=%t.rotary/manifest.json
// RUN: %python %S/../lit-support/manifest_dump.py %t.rotary | FileCheck %s
// RUN: test -f %t.rotary/cpu/kernels.so
// RUN: nm -D --defined-only %t.rotary/cpu/kernels.so | FileCheck %s --check-prefix=SYMS
// RUN: nm -D --undefined-only %t.rotary/cpu/kernels.so | FileCheck %s --check-prefix=UNDEF
// Nothing else is exported: a function named like a C library one (@rope
// here, @step or @exp elsewhere) must not be interposed by it.
// RUN: nm -D --defined-only %t.rotary/cpu/kernels.so | FileCheck %s --check-prefix=HIDDEN
// HIDDEN-NOT: {{ T (rope|chain|fam_step|_mlir_ciface_.*)$}}
// Only manifest.json and cpu/kernels.so: no object file, link log or
// temporary directory is left behind.
// RUN: ls -A %t.rotary | FileCheck %s --check-prefix=LS --match-full-lines
// RUN: ls -A %t.rotary/cpu | FileCheck %s --check-prefix=LSCPU --match-full-lines
// RUN: not ls -d %t.rotary.tmp-*
// Compiling again over an existing bundle replaces it.
// RUN: rotary-translate %s --no-gradients -o %t.rotary
// RUN: %python %S/../lit-support/manifest_dump.py %t.rotary | FileCheck %s

// rotary-translate writes a bundle directory (rotary/Bundle/Manifest.h):
// manifest.json describing every public function, and cpu/kernels.so
// exporting `int32_t rotary_entry_<name>(void **)` for each.

// RAW:      {
// RAW-NEXT:   "format": "rotary-bundle",
// RAW-NEXT:   "format_version": 1,
// RAW-NEXT:   "compiler_version": "{{[0-9]+\.[0-9]+\.[0-9]+.*}}",
// RAW-NEXT:   "mlir_version": "22.{{.*}}",
// RAW-NEXT:   "content_hash": "{{[0-9a-f]+}}",
// RAW-NEXT:   "cpu_library": "cpu/kernels.so",
// RAW-NEXT:   "cpu_target": "{{.+}}",
// RAW-NEXT:   "entries": [
// RAW-NEXT:     {
// RAW-NEXT:       "name": "rope",
// RAW-NEXT:       "symbol": "rotary_entry_rope",
// RAW-NEXT:       "inputs": [
// RAW-NEXT:         {
// RAW-NEXT:           "name": "x",
// RAW-NEXT:           "dtype": "f32",
// RAW-NEXT:           "shape": [
// RAW-NEXT:             "?",
// RAW:            "outputs": [
// RAW-NEXT:         {
// RAW-NEXT:           "name": "result",
// RAW-NEXT:           "dtype": "f32",
// RAW-NEXT:           "shape": [
// RAW-NEXT:             {
// RAW-NEXT:               "same_as": [
// RAW-NEXT:                 0,
// RAW-NEXT:                 0
// RAW-NEXT:               ]
// RAW-NEXT:             },

// CHECK:      format="rotary-bundle"
// CHECK-NEXT: format_version=1
// CHECK-NEXT: compiler_version="{{.+}}"
// CHECK-NEXT: mlir_version="22.{{.*}}"
// A SHA-256 in hex, of the manifest and cpu/kernels.so as Manifest.h
// defines it (recomputed by manifest_dump.py).
// CHECK-NEXT: content_hash={{"[0-9a-f]{64}"$}}
// CHECK-NEXT: content_hash_check=ok
// CHECK-NEXT: cpu_library="cpu/kernels.so"
// CHECK-NEXT: cpu_target="{{.+}}"
// Public functions only, in source order; the private helper is not one.
// CHECK-NEXT: entries=5

// Argument names are the source SSA names; positions are i64.
// CHECK-NEXT: entry rope symbol=rotary_entry_rope
// CHECK-NEXT:   in x f32 ["?","?","?","?"]
// CHECK-NEXT:   in positions i64 ["?"]
// CHECK-NEXT:   out result f32 [{"same_as":[0,0]},{"same_as":[0,1]},{"same_as":[0,2]},{"same_as":[0,3]}]
// CHECK-NEXT:   check 1: rotary.rope at loc("{{.*}}manifest.mlir":[[@LINE+4]]:8): operand 'positions' must have shape [T] of operand 'x', but its dimension 0 differs
// CHECK-NEXT:   check 2: rotary.rope at loc("{{.*}}manifest.mlir":[[@LINE+3]]:8): operand 'x' must have an even D (or set 'rotary_dim' to rotate fewer features)
// CHECK-NEXT: end rope
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// bf16 data with i32 [B, T] positions; static sizes stay numbers, in the
// inputs and in the output rule.
// CHECK-NEXT: entry rope_bf16 symbol=rotary_entry_rope_bf16
// CHECK-NEXT:   in queries bf16 [2,"?",4,16]
// CHECK-NEXT:   in pos i32 [2,"?"]
// CHECK-NEXT:   out result bf16 [2,{"same_as":[0,1]},4,16]
// CHECK-NEXT:   check 1: rotary.rope at loc("{{.*}}manifest.mlir":[[@LINE+3]]:8): operand 'positions' must have shape [B, T] of operand 'x', but its dimension 1 differs
// CHECK-NEXT: end rope_bf16
func.func @rope_bf16(%queries: tensor<2x?x4x16xbf16>, %pos: tensor<2x?xi32>) -> tensor<2x?x4x16xbf16> {
  %y = rotary.rope %queries, %pos layout = interleaved : tensor<2x?x4x16xbf16>, tensor<2x?xi32>
  return %y : tensor<2x?x4x16xbf16>
}

func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// A chain of two ops: the output's E comes from the matrix (input 2).
// CHECK-NEXT: entry chain symbol=rotary_entry_chain
// CHECK-NEXT:   in x f32 ["?","?"]
// CHECK-NEXT:   in angles f32 ["?"]
// CHECK-NEXT:   in r f32 ["?","?"]
// CHECK-NEXT:   out result f32 [{"same_as":[0,0]},{"same_as":[2,1]}]
// CHECK-NEXT:   check 1: rotary.givens at loc({{.*}}): the default round-robin schedule needs an even D of operand 'x' (or give 'pairs')
// CHECK-NEXT:   check 2: rotary.givens at loc({{.*}}): operand 'angles' must have at most D(D-1)/2 angles (the round-robin schedule)
// CHECK-NEXT:   check 3: rotary.orthogonal at loc({{.*}}): operand 'matrix' must have shape [D, E] with D of operand 'x', but its dimension 0 differs
// CHECK-NEXT: end chain
func.func @chain(%x: tensor<?x?xf32>, %angles: tensor<?xf32>, %r: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %angles : tensor<?x?xf32>, tensor<?xf32>
  %1 = rotary.orthogonal %0, %r : tensor<?x?xf32>, tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// Two results are result0 and result1; 0-d inputs have the shape [].
// CHECK-NEXT: entry fam_step symbol=rotary_entry_fam_step
// CHECK-NEXT:   in p f32 ["?"]
// CHECK-NEXT:   in g f32 ["?"]
// CHECK-NEXT:   in m f32 ["?"]
// CHECK-NEXT:   in lr f32 []
// CHECK-NEXT:   in alpha_eff f32 []
// CHECK-NEXT:   out result0 f32 [{"same_as":[0,0]}]
// CHECK-NEXT:   out result1 f32 [{"same_as":[0,0]}]
// CHECK-NEXT:   check 1: rotary.fam_step at loc({{.*}}): operand 'momentum' must have shape like 'param', but its dimension 0 differs
// CHECK-NEXT:   check 2: rotary.fam_step at loc({{.*}}): operand 'grad' must have shape like 'param', but its dimension 0 differs
// CHECK-NEXT: end fam_step
func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %lr: tensor<f32>, %alpha_eff: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha_eff : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}

// Fully static: no checks, constant output sizes, f64 and mixed-type
// positions are not needed; a 1-D input works too.
// CHECK-NEXT: entry static_givens symbol=rotary_entry_static_givens
// CHECK-NEXT:   in x f32 [3,4]
// CHECK-NEXT:   in angles f32 [2]
// CHECK-NEXT:   out result f32 [3,4]
// CHECK-NEXT: end static_givens
// CHECK-NOT:  entry
func.func @static_givens(%x: tensor<3x4xf32>, %angles: tensor<2xf32>) -> tensor<3x4xf32> {
  %y = rotary.givens %x, %angles pairs = [(0, 1), (2, 3)] : tensor<3x4xf32>, tensor<2xf32>
  return %y : tensor<3x4xf32>
}

// Every entry is exported as a function symbol.
// SYMS-DAG: {{^[0-9a-f]+}} T rotary_entry_rope{{$}}
// SYMS-DAG: {{^[0-9a-f]+}} T rotary_entry_rope_bf16{{$}}
// SYMS-DAG: {{^[0-9a-f]+}} T rotary_entry_chain{{$}}
// SYMS-DAG: {{^[0-9a-f]+}} T rotary_entry_fam_step{{$}}
// SYMS-DAG: {{^[0-9a-f]+}} T rotary_entry_static_givens{{$}}
// SYMS-NOT: rotary_entry_helper
// The parallel loops' launcher slot, which the runtime fills on load.
// SYMS-DAG: {{^[0-9a-f]+}} B rotary_parallel_for{{$}}

// The library needs nothing from MLIR's runtime libraries (memrefCopy of
// runner-utils, the _mlir_* helpers) nor an OpenMP runtime (the parallel
// loops call the launcher): only libc / libm.
// UNDEF-NOT: memrefCopy
// UNDEF-NOT: mlir
// UNDEF-NOT: MLIR
// UNDEF-NOT: kmpc
// UNDEF-NOT: GOMP
// UNDEF-NOT: omp_
// UNDEF: U malloc
// UNDEF-NOT: memrefCopy
// UNDEF-NOT: mlir
// UNDEF-NOT: kmpc
// UNDEF-NOT: GOMP
// UNDEF-NOT: omp_

// LS:      cpu
// LS-NEXT: manifest.json
// LS-NOT:  {{.}}
// LSCPU:      kernels.so
// LSCPU-NOT:  {{.}}
