// REQUIRES: cuda-toolkit
// RUN: rm -rf %t.rotary
// RUN: rotary-translate %s --gpu=sm_80,sm_90 -o %t.rotary
// RUN: FileCheck %s --input-file=%t.rotary/manifest.json
// RUN: ls -A %t.rotary/gpu | FileCheck %s --check-prefix=LS --match-full-lines
// RUN: nm -D --defined-only %t.rotary/gpu/host.so | FileCheck %s --check-prefix=SYMS
// RUN: nm -D --defined-only %t.rotary/gpu/host.so | FileCheck %s --check-prefix=HIDDEN
// The cubins are ptxas's, for their chip.
// RUN: od -An -c -N4 %t.rotary/gpu/sm_90.cubin | FileCheck %s --check-prefix=ELF
// An architecture that is not one is refused before any work.
// RUN: not rotary-translate %s --gpu=sm_90,gfx90a -o %t.bad.rotary 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not ls -d %t.bad.rotary
// RUN: not rotary-translate %s --gpu=sm_90,sm_80,sm_90 -o %t.bad.rotary 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: rotary: GPU architecture 'sm_90' is listed twice

// --gpu: beside cpu/kernels.so, PTX for each chip, a cubin for each (the
// toolkit's ptxas) and the host library that launches the kernels; the
// manifest's "gpu" lists them with every kernel's parameters and block.

// CHECK:      "gpu": {
// CHECK-NEXT:   "host_library": "gpu/host.so",
// CHECK-NEXT:   "objects": [
// CHECK-NEXT:     {
// CHECK-NEXT:       "chip": "sm_80",
// CHECK-NEXT:       "ptx": "gpu/sm_80.ptx",
// CHECK-NEXT:       "cubin": "gpu/sm_80.cubin"
// CHECK-NEXT:     },
// CHECK-NEXT:     {
// CHECK-NEXT:       "chip": "sm_90",
// CHECK-NEXT:       "ptx": "gpu/sm_90.ptx",
// CHECK-NEXT:       "cubin": "gpu/sm_90.cubin"
// CHECK-NEXT:     }
// CHECK-NEXT:   ],
// CHECK-NEXT:   "kernels": [
// CHECK-NEXT:     {
// CHECK-NEXT:       "name": "rope_bwd_kernel",
// CHECK:            "block": [
// CHECK-NEXT:         256,
// CHECK-NEXT:         1,
// CHECK-NEXT:         1
// CHECK-NEXT:       ],
// CHECK-NEXT:       "shared_bytes": 0
// CHECK:            "name": "rope_kernel",
// CHECK-NEXT:       "params": [
// CHECK-NEXT:         "i64",
// CHECK-NEXT:         "i64",
// CHECK-NEXT:         "ptr",

// LS:      host.so
// LS-NEXT: sm_80.cubin
// LS-NEXT: sm_80.ptx
// LS-NEXT: sm_90.cubin
// LS-NEXT: sm_90.ptx

// SYMS-DAG: rotary_entry_rope
// SYMS-DAG: rotary_entry_rope_bwd
// SYMS-DAG: rotary_gpu_alloc
// SYMS-DAG: rotary_gpu_free
// SYMS-DAG: rotary_gpu_launch
// HIDDEN-NOT: {{ T (rope|rope_bwd|_mlir_ciface_.*)$}}

// ELF: 177 E L F

// BADCHIP: rotary: 'gfx90a' is not a GPU architecture; use sm_80, sm_90 and the like
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
