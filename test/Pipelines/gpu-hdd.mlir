// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true map=false" | FileCheck %s

// HDD-RoPE on the GPU schedule (lib/Pipelines/GpuPipeline.cpp): the fused
// form runs unfused (convert-rotary-to-linalg hdd-strategy=scan), its
// running product a blocked scan (rotary-gpu-configure: 32 steps per
// block), so no thread walks the whole sequence. Before mapping, each
// outermost scf.parallel is a kernel and each of its iterations a thread.
// CHECK-LABEL: func.func @hdd_rope(
// The generator: an entry of G_t per thread.
// CHECK:         scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c4, %c4)
// CHECK:           math.sin
// CHECK:           math.cos
// Phase 1: a thread per (batch entry, block of 32 steps, chunk) multiplies
// its block's rotations in 16 scalars, starting from its identity total.
// CHECK:         %[[NB:.*]] = arith.ceildivui %[[T:.*]], %c32 : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %[[NB]], %{{.*}})
// CHECK:           scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// Phase 2: a thread per (batch entry, chunk) scans the block totals.
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %{{.*}})
// CHECK:           scf.for %{{.*}} = %c0 to %[[NB]] step %c1
// Phase 3: P_t = carry of its block · its local product, an entry a thread.
// CHECK:         scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %[[T]], %{{.*}}, %c4, %c4)
// CHECK:           scf.for %{{.*}} = %c0 to %c4 step %c1
// The P form: y = P·x per chunk.
// CHECK:         scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c4)
// CHECK:           scf.for %{{.*}} = %c0 to %c4 step %c1
// CHECK:         return
// The gradient takes the same path: no serial scan over T either.
// CHECK-LABEL: func.func @hdd_rope_bwd(
// CHECK:         arith.ceildivui %{{.*}}, %c32 : index
// CHECK:         return
func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x6xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 4 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}
