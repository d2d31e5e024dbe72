// RUN: rotary-opt %s --rotary-gpu-pipeline -split-input-file -verify-diagnostics

// Ops the GPU schedule cannot take are refused by name
// (rotary-gpu-check-schedulable), at the op the user wrote.

// The exp form's matrix exponential beyond c = 8 scales and squares
// scratch matrices per matrix, which a GPU thread has not: refused before
// the lowering, in every op that computes one. (The Givens form of any
// chunk runs: gpu-hdd.mlir.)
func.func @hdd_exp_large_chunk(%x: tensor<?x?x?x18xf32>, %a: tensor<?x?x?x2x36xf32>) -> tensor<?x?x?x18xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.hdd_rope' in the exp form with chunks of 9 > 8 has no GPU schedule yet (the Givens form has; the CPU schedule runs both: compile without --gpu)}}
  %y = rotary.hdd_rope %x, %a form = exp {chunk = 9 : i64} : tensor<?x?x?x18xf32>, tensor<?x?x?x2x36xf32>
  return %y : tensor<?x?x?x18xf32>
}

// -----

func.func @generator_exp_large_chunk(%a: tensor<?x?x45xf32>) -> tensor<?x?x10x10xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.so_generator' in the exp form with chunks of 10 > 8 has no GPU schedule yet}}
  %g = rotary.so_generator %a chunk = 10 form = exp : tensor<?x?x45xf32>
  return %g : tensor<?x?x10x10xf32>
}

// -----

func.func @generator_grad_exp_large_chunk(%a: tensor<?x45xf32>, %dg: tensor<?x10x10xf32>) -> tensor<?x45xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.so_generator_grad' in the exp form with chunks of 10 > 8 has no GPU schedule yet}}
  %da = rotary.so_generator_grad %a, %dg chunk = 10 form = exp : tensor<?x45xf32>, tensor<?x10x10xf32>
  return %da : tensor<?x45xf32>
}
