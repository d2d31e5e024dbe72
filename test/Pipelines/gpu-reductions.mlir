// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true map=false" | FileCheck %s --check-prefix=LOOPS
// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true tile-block-size=32" | FileCheck %s

// The GPU schedule of a reduction (rotary-gpu-pipeline): the gradient of a
// rope's learnable frequencies, phases and positional scale sums over
// batch, tokens and heads. rotary-gpu-configure cuts it into tiles of 16
// tokens of one batch entry; each tile (a block) writes one row of f64
// partial sums, its threads one frequency each, summing in registers
// (rotary-gpu-hoist-parallel-loops); a second kernel adds the rows up, a
// warp per frequency whose lanes combine their sums with shuffles; the
// scale's sum over frequencies runs in one thread.

// LOOPS-LABEL: func.func @rope_learned_bwd(
// The tiles: batch entries and blocks of 16 tokens.
// LOOPS:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %c16) {
// A thread per frequency, its two sums carried through the tile's tokens,
// heads and the pair's two elements.
// LOOPS:           scf.parallel (%[[F:.*]]) =
// LOOPS:             scf.for {{.*}} iter_args({{.*}}) -> (f64, f64) {
// LOOPS:               scf.for {{.*}} iter_args({{.*}}) -> (f64, f64) {
// LOOPS:                 scf.for {{.*}} iter_args({{.*}}) -> (f64, f64) {
// LOOPS:             memref.store %{{.*}}, %{{.*}}[%[[F]]] : memref<?xf64, strided<[1], offset: ?>>
// LOOPS:             memref.store %{{.*}}, %{{.*}}[%[[F]]] : memref<?xf64, strided<[1], offset: ?>>
// The rows of partial sums added up, a warp per frequency: each lane adds
// every 32nd row of a batch entry (rotary-gpu-lane-reductions).
// LOOPS:         scf.for {{.*}} iter_args({{.*}}) -> (f64) {
// LOOPS-NEXT:      scf.parallel (%{{.*}}) = (%{{.*}}) to (%c32) step (%{{.*}}) init (%{{.*}}) -> f64 {
// LOOPS:             scf.for {{.*}} iter_args({{.*}}) -> (f64) {
// LOOPS-NEXT:          memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x?x?xf64>
// LOOPS:             scf.reduce(
// The scale's sum: a sequential loop, in a register too.
// LOOPS:         scf.for {{.*}} iter_args({{.*}}) -> (f64) {
// LOOPS-NOT:     memref.alloc(%{{.*}}) {{.*}} : memref<1x

// CHECK-LABEL: func.func @rope_learned_bwd(
// The tile kernel: a block of 32 threads per tile.
// CHECK:         gpu.launch_func @rotary_kernels::@[[TILE:rope_learned_bwd_kernel_[0-9]+]] blocks in (%{{.*}}, %c1, %c1) threads in (%c32, %c1, %c1)
// The merges: a warp per frequency, 32 threads per frequency in the grid.
// CHECK:         %[[ROWS:.*]] = arith.muli %{{.*}}, %c32 : index
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[ROWS]], %c256 : index
// CHECK:         gpu.launch_func @rotary_kernels::@{{.*}} blocks in (%[[GRID]], %c1, %c1) threads in (%c256, %c1, %c1)
// The one-thread kernel of the scale.
// CHECK:         gpu.launch_func @rotary_kernels::@{{.*}} blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
// CHECK:         return
func.func @rope_learned(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>,
                        %inv_freq: tensor<?xf32>, %phase: tensor<?xf32>,
                        %scale: tensor<f32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions inv_freq(%inv_freq : tensor<?xf32>)
      phase(%phase : tensor<?xf32>) scale(%scale) layout = half
      : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}
