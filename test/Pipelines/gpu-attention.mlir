// RUN: rotary-opt %s --rotary-gpu-pipeline="gradients=true map=false" | FileCheck %s

// Attention on the GPU schedule (rotary-gpu-configure records square tiles
// of 32 queries and keys at D = 64, 16 for the gradient's key pass, whose
// buffers with a bias and a span would not fit in shared memory at 32):
// the forward and the two passes of the
// gradient are loops over tiles, a block each once mapped, every tile
// holding a sequential loop over the tiles of the other side whose steps
// are loops its threads share. gpu-ptxas.test compiles these kernels to
// PTX (shared memory, barriers); the e2e tests run these loops on the CPU.

// The forward: a tile of 32 queries of one head (B = 1 folds away), its
// buffers allocated in the tile, the loop over the key tiles it sees.
// CHECK-LABEL: func.func @attention_fwd(
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c40) step (%c1, %c32) {
// CHECK:           memref.alloc(%{{.*}}) {{.*}} : memref<?x64xf32>
// CHECK:           scf.for
// CHECK:             memref.alloc(%{{.*}}) {{.*}} : memref<64x?xf32>
// CHECK:             scf.parallel
// CHECK:           }
// CHECK:           scf.reduce
// CHECK:         return

// The gradient: the query pass (a tile of queries visiting key tiles) and
// the key pass (a tile of keys visiting query tiles), each a loop over
// tiles with a sequential loop inside.
// CHECK-LABEL: func.func @attention_vjp(
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c40) step (%c1, %c32) {
// CHECK:           scf.for
// CHECK:             scf.parallel
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c40) step (%c1, %c16) {
// CHECK:           scf.for
// CHECK:             scf.parallel
// CHECK:         return
func.func @attention(%q: tensor<1x2x40x64xf32>, %k: tensor<1x2x40x64xf32>,
                     %v: tensor<1x2x40x64xf32>, %b: tensor<2x9xf32>,
                     %s: tensor<2xf32>) -> tensor<1x2x40x64xf32> {
  %o, %lse = rotary.attention %q, %k, %v bias(%b : tensor<2x9xf32>)
      span(%s : tensor<2xf32>)
      {causal, window = 12 : i64, global_tokens = 2 : i64, span_ramp = 4.0 : f32}
      : tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>
  return %o : tensor<1x2x40x64xf32>
}
