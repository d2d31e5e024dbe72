// RUN: rotary-opt %s --rotary-gpu-pipeline -split-input-file -verify-diagnostics

// Ops whose tiles only the CPU schedule decomposes are refused by name
// (rotary-gpu-check-schedulable), at the op the user wrote.

// A scan's c×c products are a thread's scalars up to c = 8; beyond that
// they loop over scratch matrices, which a GPU thread has not.
func.func @scan_large_chunk(%g: tensor<?x?x?x9x9xf32>) -> tensor<?x?x?x9x9xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.rotation_scan' with chunks of 9 > 8 has no GPU schedule yet (the CPU schedule runs it: compile without --gpu)}}
  %p = rotary.cumulative_rotation %g : tensor<?x?x?x9x9xf32>
  return %p : tensor<?x?x?x9x9xf32>
}

// -----

// So is the fused HDD-RoPE's blocked scan, whose P is a thread's c² scalars.
func.func @hdd_large_chunk(%x: tensor<?x?x?x18xf32>, %a: tensor<?x?x?x2x36xf32>) -> tensor<?x?x?x18xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.hdd_rope_lanes' with chunks of 9 > 8 has no GPU schedule yet (the CPU schedule runs it: compile without --gpu)}}
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 9 : i64} : tensor<?x?x?x18xf32>, tensor<?x?x?x2x36xf32>
  return %y : tensor<?x?x?x18xf32>
}
