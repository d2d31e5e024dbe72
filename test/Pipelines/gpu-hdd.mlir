// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true map=false" | FileCheck %s

// HDD-RoPE on the GPU schedule (lib/Pipelines/GpuPipeline.cpp): the fused
// forward (rotary.hdd_rope_lanes) runs as a blocked scan with P in a
// thread's registers (rotary-gpu-configure: 32 tokens per block), so no
// thread walks the whole sequence and P is never stored; the gradient
// runs unfused (convert-rotary-to-linalg hdd-strategy=scan), its
// cumulative products blocked scans too. Before mapping, each outermost
// scf.parallel is a kernel and each of its iterations a thread.
// CHECK-LABEL: func.func @hdd_rope(
// CHECK:         %[[NB:.*]] = arith.ceildivui %[[T:.*]], %c32 : index
// 1. A thread per (batch entry, block of 32 tokens, chunk) multiplies its
// block's G_t (from the angles: six cos/sin pairs) into 16 scalars and
// stores the block's total.
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %[[NB]], %[[L:.*]]) step
// CHECK:           scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-6:     math.cos
// CHECK:           memref.store
// 2. A thread per (batch entry, chunk) scans the block totals from the
// identity (exclusive: each block's carry).
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %[[L]]) step
// CHECK:           scf.for %{{.*}} = %c0 to %[[NB]] step %c1
// 3. A thread per (batch entry, block, chunk) runs its block again from its
// carry and writes y_t = P_t·x_t.
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %[[NB]], %[[L]]) step
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-4:     memref.store %{{.*}}, %{{.*}} : memref<1x?x4xf32, strided<[?, ?, 1], offset: ?>>
// CHECK-NOT:     scf.parallel
// CHECK:         return
// The gradient: no serial scan over T either.
// CHECK-LABEL: func.func @hdd_rope_bwd(
// CHECK:         arith.ceildivui %{{.*}}, %c32 : index
// CHECK:         return
func.func @hdd_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?x?x?x?x6xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 4 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}

// A cumulative product of chunks larger than 8: a thread holds R rows of a
// product (the most that divide c and fit in 32 values: 2 at c = 16), so
// the block products run a thread per (batch entry, block, column, pair of
// rows) with 32 scalars, and the scan of the block totals a thread per
// (batch entry, column, pair of rows); P_t = carry·local_t stays a thread
// per entry.
// CHECK-LABEL: func.func @cumulative_rotation_rows(
// CHECK:         %[[NB:.*]] = arith.ceildivui %{{.*}}, %c32 : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %[[NB]], %{{.*}}, %c8) step (%c1, %c1, %c1, %c1)
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %{{.*}}, %c16) step (%c1, %c1, %c2)
// CHECK:           scf.for %{{.*}} = %c0 to %[[NB]] step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0, %c0) to (%{{.*}}, %{{.*}}, %{{.*}}, %c16, %c16)
// CHECK:         return
func.func @cumulative_rotation_rows(%g: tensor<?x?x?x16x16xf32>)
    -> tensor<?x?x?x16x16xf32> {
  %p = rotary.cumulative_rotation %g : tensor<?x?x?x16x16xf32>
  return %p : tensor<?x?x?x16x16xf32>
}

// The fused HDD-RoPE with chunks larger than 8: its blocked scan gives a
// thread 2 rows of P (32 values at c = 16) rather than all of it. cos and
// sin of every angle come first (a kernel of their own, four angles per
// thread), then a thread per (batch entry, block of 32 tokens, chunk, pair
// of rows) turns its rows by each step's 120 rotations and stores its rows
// of the block's total; the totals' scan takes pairs of rows too; the same
// threads run their blocks again from their carries, each writing its two
// features of y = P·x. The gradient runs unfused (hdd-strategy=scan): its
// generator's adjoint is a thread per row of G, each writing its row's
// share of the 120 angle gradients, summed over the rows by a thread per
// angle.
// CHECK-LABEL: func.func @hdd_rope_large_chunk(
// CHECK:         %[[NB:.*]] = arith.ceildivui %{{.*}}, %c32 : index
// CHECK:         math.cos %{{.*}} : vector<4xf32>
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %[[NB]], %{{.*}}, %c8) step (%c1, %c1, %c1, %c1)
// CHECK-NOT:       math.cos
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %{{.*}}, %c16) step (%c1, %c1, %c2)
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %[[NB]], %{{.*}}, %c8) step (%c1, %c1, %c1, %c1)
// CHECK:           memref.subview %{{.*}} [1, %{{.*}}, 2] [1, 1, 1] : memref<?x?x?xf32> to memref<1x?x2xf32
// CHECK-NOT:       math.cos
// CHECK-COUNT-2:   memref.store %{{.*}} : memref<1x?x2xf32
// CHECK-NOT:     scf.parallel
// CHECK:         return
// CHECK-LABEL: func.func @hdd_rope_large_chunk_bwd(
// CHECK:         memref.subview %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, 1, 120] [1, 1, 1]
// CHECK-NOT:       math.cos
// CHECK-COUNT-120: memref.store %{{.*}}, %{{.*}} : memref<120xf32, strided<[1], offset: ?>>
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c120) step (%c1, %c1)
// CHECK:           scf.for %{{.*}} = %c0 to %c16 step %c1
// CHECK:         return
func.func @hdd_rope_large_chunk(%x: tensor<?x?x?x?xf32>,
                                %angles: tensor<?x?x?x?x120xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %angles form = givens {chunk = 16 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x120xf32>
  return %y : tensor<?x?x?x?xf32>
}
