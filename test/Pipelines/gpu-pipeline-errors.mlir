// RUN: rotary-opt %s --rotary-gpu-pipeline -split-input-file -verify-diagnostics

// Ops whose tiles only the CPU schedule decomposes are refused by name
// (rotary-gpu-check-schedulable), at the op the user wrote.

// Attention's tiles are shared memory, whose size a dynamic head dimension
// would leave open.
func.func @attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                     %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.online_attention' needs a static head dimension (q's last) on the GPU: its tiles live in shared memory}}
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 64 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// -----

// Its gradient's passes: the query pass is refused first.
func.func @attention_grad(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                          %v: tensor<?x?x?x?xf32>, %o: tensor<?x?x?x?xf32>,
                          %lse: tensor<?x?x?xf32>, %do: tensor<?x?x?x?xf32>)
    -> tensor<?x?x?x?xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.online_attention_query_grad' needs a static head dimension (q's last) on the GPU: its tiles live in shared memory}}
  %g:3 = rotary.attention_grad %q, %k, %v, %o, %lse, %do {causal}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
  return %g#0 : tensor<?x?x?x?xf32>
}

// -----

// A chain's groups of rows are shared memory too.
func.func @givens_dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.givens_rows' needs a static feature dimension (x's last) on the GPU: its tiles live in shared memory}}
  %y = rotary.givens %x, %a pairs = [(0, 1)] : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// And its gradient's.
func.func @givens_grad_dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>, %dy: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{rotary-gpu-pipeline: 'rotary.givens_rows_grad' needs a static feature dimension (x's last) on the GPU: its tiles live in shared memory}}
  %dx, %da = rotary.givens_grad %x, %a, %dy pairs = [(0, 1)] : tensor<?x?xf32>, tensor<?xf32>
  return %dx : tensor<?x?xf32>
}

// -----

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
