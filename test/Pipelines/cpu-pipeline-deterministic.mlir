// RUN: rotary-opt %s -rotary-cpu-pipeline="gradients=true" -o %t.1
// RUN: rotary-opt %s -rotary-cpu-pipeline="gradients=true" -o %t.2
// RUN: rotary-opt %s -rotary-cpu-pipeline="gradients=true" -o %t.3
// RUN: diff %t.1 %t.2
// RUN: diff %t.1 %t.3

// The pipeline's output must not depend on where objects sit in memory.
// The chain kernels' tile store once had a tensor.empty written by both
// branches of an scf.if, and empty-tensor elimination turned one branch or
// the other into the output slice, by pointer order: the same source
// compiled to different code from run to run. Three compilations of chain
// kernels with their gradients (many such stores) must agree.

func.func @givens(%x: tensor<?x?xf32>, %angles: tensor<?xf32>) -> tensor<?x?xf32> {
  %y = rotary.givens %x, %angles : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}

func.func @rotation_block_rope(%x: tensor<?x?x?x?xf32>, %angles: tensor<?xf32>,
                               %r: tensor<?x?xf32>, %positions: tensor<?xi64>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.rotation_block %x, %angles, %r rope(%positions : tensor<?xi64>)
      layout = half : tensor<?x?x?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
  return %y : tensor<?x?x?x?xf32>
}
