// RUN: rotary-opt %s --rotary-gpu-pipeline -split-input-file -verify-diagnostics

// Ops whose tiles only the CPU schedule decomposes are refused by name
// (rotary-gpu-check-schedulable), at the op the user wrote.

// The fused HDD-RoPE's blocked scan holds P in a thread's c² scalars, up to
// c = 8; beyond that its steps loop over scratch matrices, which a GPU
// thread has not. (A cumulative product of larger chunks gives each thread
// a few rows of P instead: gpu-hdd.mlir.)
func.func @hdd_large_chunk(%x: tensor<?x?x?x18xf32>, %a: tensor<?x?x?x2x36xf32>) -> tensor<?x?x?x18xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.hdd_rope_lanes' with chunks of 9 > 8 has no GPU schedule yet (the CPU schedule runs it: compile without --gpu)}}
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 9 : i64} : tensor<?x?x?x18xf32>, tensor<?x?x?x2x36xf32>
  return %y : tensor<?x?x?x18xf32>
}
