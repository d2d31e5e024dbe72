// RoPE's frequency table calls libdevice's exp (f64): the toolkit is needed.
// REQUIRES: cuda-toolkit
// RUN: rotary-opt %s --rotary-gpu-pipeline=gradients=true | FileCheck %s
// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true map=false" | FileCheck %s --check-prefix=LOOPS
// RUN: rotary-opt %s --rotary-gpu-pipeline="chips=sm_90 block-size=128" | FileCheck %s --check-prefix=ONE
// RUN: rotary-opt %s --rotary-cpu-pipeline="schedule=gpu-loops gradients=true" | FileCheck %s --check-prefix=CPU
// RUN: rotary-opt %s --rotary-gpu-pipeline="host=true" | FileCheck %s --check-prefix=HOST

// rotary-gpu-pipeline (lib/Pipelines/GpuPipeline.cpp): the host functions
// keep the entry ABI (checks, destination-passing outputs) and launch one
// kernel per loop nest; each kernel module carries PTX for sm_80 and sm_90.

// CHECK-LABEL: module attributes {gpu.container_module, rotary.entry = {
// CHECK-SAME:    fam_step = array<i64: 5, 2>
// CHECK-SAME:    rope = array<i64: 2, 1>
// CHECK-SAME:    rope_bwd = array<i64: 3, 1>

// The check runs on the host, from sizes only.
// CHECK-LABEL: func.func @rope__check(
// CHECK-NOT:     gpu.
// CHECK:         return
// RoPE: the frequency table, the cos/sin table, then the rotation, each a
// launch of 256-thread blocks guarded by a non-empty iteration space; the
// tables live in device buffers.
// CHECK-LABEL: func.func @rope(
// CHECK-SAME:    %[[X:[^:]*]]: memref<?x?x?x?xf32>, %[[P:[^:]*]]: memref<?xi64>, %[[Y:[^:]*]]: memref<?x?x?x?xf32>)
// CHECK-SAME:    rotary.checks = [
// CHECK:         %[[FREQ:.*]] = gpu.alloc (%{{.*}}) : memref<?xf64>
// CHECK:         gpu.launch_func @rotary_kernels::@rope_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[C256:.*]], %{{.*}}, %{{.*}}) args({{.*}}%[[FREQ]] : memref<?xf64>)
// CHECK:         %[[COS:.*]] = gpu.alloc (%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK:         %[[SIN:.*]] = gpu.alloc (%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK:         gpu.launch_func @rotary_kernels::@rope_kernel_{{[0-9]+}} {{.*}} args({{.*}}%[[P]] : memref<?xi64>, %[[FREQ]] : memref<?xf64>, %[[COS]] : memref<?x?xf32>, %[[SIN]] : memref<?x?xf32>)
// The rotation's pair views of x and y (expand_shape of contiguous
// buffers, written as reinterpret_cast by rotary-contiguous-expand-shape).
// CHECK:         %[[XV:.*]] = memref.reinterpret_cast %[[X]]
// CHECK:         %[[YV:.*]] = memref.reinterpret_cast %[[Y]]
// CHECK:         gpu.launch_func @rotary_kernels::@rope_kernel_{{[0-9]+}} {{.*}} args({{.*}}%[[XV]] : memref<?x?x?x2x?xf32>, %[[COS]] : memref<?x?xf32>, %[[SIN]] : memref<?x?xf32>, %[[YV]] : memref<?x?x?x2x?xf32>)
// CHECK-DAG:     gpu.dealloc %[[FREQ]]
// CHECK-DAG:     gpu.dealloc %[[COS]]
// CHECK-DAG:     gpu.dealloc %[[SIN]]
// CHECK:         return
// Every kernel of the module, each renamed after the module outlining gave
// it (rotary-gpu-merge-kernel-modules), is an entry of one PTX object per
// chip. The FAM step's two forms: 128-bit accesses, or one element each.
// (`[^"]*` keeps each match inside one object's quoted PTX.)
// CHECK:         gpu.binary @rotary_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{[^"]*}}assembly = "{{[^"]*}}.target sm_80{{[^"]*}}.visible .entry rope_kernel({{[^"]*}}.visible .entry rope_bwd_kernel({{[^"]*}}.visible .entry fam_step_kernel({{[^"]*}}ld.global.v4.b32{{[^"]*}}st.global.v4.b32{{[^"]*}}.visible .entry fam_step_kernel_{{[0-9]+}}({{[^"]*}}ld.global.b32{{[^"]*}}st.global.b32
// CHECK-SAME:      #gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{[^"]*}}assembly = "{{[^"]*}}.target sm_90{{[^"]*}}.visible .entry rope_kernel(
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// The gradient (gradients=true) takes the same path.
// CHECK-LABEL: func.func @rope_bwd(
// CHECK-SAME:    %{{.*}}: memref<?x?x?x?xf32>, %{{.*}}: memref<?xi64>, %{{.*}}: memref<?x?x?x?xf32>, %{{.*}}: memref<?x?x?x?xf32>)
// CHECK:         gpu.launch_func @rotary_kernels::@rope_bwd_kernel

// The FAM step: one element-wise kernel writing both outputs, in two forms
// (rotary-gpu-vectorize-loops): four elements per thread with 128-bit
// accesses when the length is a multiple of 4 and every buffer is 16-byte
// aligned, else one element per thread.
// CHECK-LABEL: func.func @fam_step(
// CHECK-SAME:    %[[PO:[^:]*]]: memref<?xf32>, %[[MO:[^:]*]]: memref<?xf32>)
// CHECK:         memref.extract_aligned_pointer_as_index %[[MO]]
// CHECK:         scf.if %{{.*}} {
// CHECK:           gpu.launch_func @rotary_kernels::@fam_step_kernel {{.*}}%[[PO]] : memref<?xf32>, %[[MO]] : memref<?xf32>)
// CHECK:         } else {
// CHECK:           gpu.launch_func @rotary_kernels::@fam_step_kernel_{{[0-9]+}} {{.*}}%[[PO]] : memref<?xf32>, %[[MO]] : memref<?xf32>)
// CHECK-NOT:     gpu.launch_func
// CHECK:         return
func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                    %lr: tensor<f32>, %alpha_eff: tensor<f32>)
    -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha_eff
      : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}

// map=false stops at the scheduled loops: nothing is GPU-specific yet.
// LOOPS-LABEL: func.func @rope(
// LOOPS-NOT:     gpu.
// LOOPS:         scf.parallel
// LOOPS-NOT:     gpu.
// LOOPS-LABEL: func.func @fam_step(
// LOOPS:         scf.if
// LOOPS:           scf.parallel
// LOOPS:             vector.load %{{.*}} {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// LOOPS:             vector.store %{{.*}} {alignment = 16 : i64} : memref<?xf32>, vector<4xf32>
// LOOPS:         } else {
// LOOPS:           scf.parallel
// LOOPS:             memref.load
// LOOPS-NOT:     gpu.

// One chip, 128-thread blocks.
// ONE-LABEL: func.func @rope(
// ONE:         %[[C128:.*]] = arith.constant 128 : index
// ONE:         gpu.launch_func {{.*}} threads in (%[[C128]],
// ONE:       gpu.binary @rotary_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// ONE-NOT:     sm_80

// The CPU pipeline on the GPU schedule's loops (schedule=gpu-loops, what
// the e2e tests run against the references): each loop nest a parallel
// task of the CPU's launcher, nothing GPU-specific.
// CPU-NOT:   gpu.
// CPU-DAG:   llvm.func internal @rope_par0(
// CPU-DAG:   llvm.func internal @rope_bwd_par0(
// CPU-DAG:   llvm.func internal @fam_step_par0(
// CPU-DAG:   llvm.func @rotary_entry_rope(
// CPU-DAG:   llvm.func @rotary_entry_fam_step(
// CPU-NOT:   gpu.

// host=true: the host functions in the LLVM dialect with the bundle ABI;
// device buffers and launches are calls through the runtime's hooks, and
// the module lists the kernels it launches, in the order of the indices
// the launches pass.
// HOST-LABEL: module attributes
// HOST-SAME:    rotary.gpu.kernels = [{block = array<i64: 256, 1, 1>, name = "fam_step_kernel", params = ["i64", "ptr", "ptr", "i64", "i64", "i64"
// HOST-SAME:    {block = array<i64: 256, 1, 1>, name = "rope_kernel", params = ["i64", "i64", "ptr", "ptr", "i64", "i64", "i64"], shared_at_launch = false, shared_bytes = 0 : i64}
// HOST-DAG:   llvm.mlir.global external @rotary_gpu_launch() {{.*}} : !llvm.ptr
// HOST-DAG:   llvm.mlir.global external @rotary_gpu_alloc() {{.*}} : !llvm.ptr
// HOST-DAG:   llvm.mlir.global external @rotary_gpu_free() {{.*}} : !llvm.ptr
// HOST-LABEL: llvm.func @rope(
// HOST:         %[[ALLOC:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// HOST:         llvm.call %[[ALLOC]](%{{.*}}) : !llvm.ptr, (i64) -> !llvm.ptr
// HOST:         %[[LAUNCH:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// HOST:         llvm.call %[[LAUNCH]](%{{.*}}) : !llvm.ptr, (i32, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i32) -> ()
// HOST-NOT:     gpu.launch_func
// HOST-NOT:     gpu.alloc
// HOST:         llvm.return
// HOST-LABEL: llvm.func @rotary_entry_fam_step(
// HOST-LABEL: llvm.func @rotary_entry_rope(
// HOST-NOT:   gpu.launch_func
