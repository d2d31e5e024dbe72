// RUN: rotary-opt %s --rotary-generate-gradients | FileCheck %s
// Running the pass twice generates nothing new.
// RUN: rotary-opt %s --rotary-generate-gradients --rotary-generate-gradients | FileCheck %s
// RUN: rotary-opt %s --rotary-generate-gradients=functions=rope_learned | FileCheck %s --check-prefix=NAMED

// A plain rope: the backward needs only the arguments, so @rope_bwd is also
// the vjp and nothing is saved.
// CHECK-LABEL: func.func @rope(
// CHECK-SAME: rotary.gradient = {backward = "rope_bwd", forward = "rope", grads = array<i64: 0>, saved = 0 : i64, vjp = "rope_bwd", vjp_inputs = ["arg:0", "arg:1", "cotangent:0"]}
// CHECK-LABEL: func.func @rope_bwd(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[P:[^:]*]]: tensor<?xi64>, %[[DY:[^:]*]]: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
// CHECK-SAME: rotary.generated
// CHECK: %[[DX:.*]] = rotary.rope_grad %[[X]], %[[P]], %[[DY]] layout = half : tensor<?x?x?x?xf32>, tensor<?xi64>
// CHECK: return %[[DX]]
// CHECK-NOT: func.func @rope_fwd
// CHECK-NOT: func.func @rope_vjp
func.func @rope(%x: tensor<?x?x?x?xf32>, %pos: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %pos layout = half : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// Learnable frequencies, phase and scale: one gradient op returns all four.
// CHECK-LABEL: func.func @rope_learned_bwd(
// CHECK: %[[DX:.*]], %[[DP:.*]]:3 = rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} inv_freq(%{{.*}} : tensor<?xf32>) phase(%{{.*}} : tensor<?xf32>) scale(%{{.*}}) layout = half {inverse}
// CHECK: return %[[DX]], %[[DP]]#0, %[[DP]]#1, %[[DP]]#2 : tensor<?x?x?x?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<f32>
// NAMED-LABEL: func.func @rope_learned_bwd(
// NAMED-NOT: func.func @rope_bwd
func.func @rope_learned(%x: tensor<?x?x?x?xf32>, %pos: tensor<?xi64>, %f: tensor<?xf32>,
                        %ph: tensor<?xf32>, %s: tensor<f32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %pos inv_freq(%f : tensor<?xf32>) phase(%ph : tensor<?xf32>) scale(%s)
      layout = half {inverse} : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// xPos: the gradient op carries the role, the scale base and γ over, for
// the query and the key of one function.
// CHECK-LABEL: func.func @rope_xpos_bwd(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x?x?x64xf32>, %[[K:[^:]*]]: tensor<?x?x?x64xf32>, %[[P:[^:]*]]: tensor<?x?xi64>, %[[PH:[^:]*]]: tensor<16xf32>, %[[DQ:[^:]*]]: tensor<?x?x?x64xf32>, %[[DK:[^:]*]]: tensor<?x?x?x64xf32>)
// CHECK-DAG: rotary.rope_grad %[[Q]], %[[P]], %[[DQ]] phase(%[[PH]] : tensor<16xf32>) layout = interleaved xpos = query {rotary_dim = 32 : i64, xpos_gamma = 5.000000e-01 : f32, xpos_scale_base = 1.000000e+02 : f32}
// CHECK-DAG: rotary.rope_grad %[[K]], %[[P]], %[[DK]] phase(%[[PH]] : tensor<16xf32>) layout = interleaved xpos = key {inverse, rotary_dim = 32 : i64, xpos_gamma = 5.000000e-01 : f32, xpos_scale_base = 1.000000e+02 : f32}
func.func @rope_xpos(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>,
                     %pos: tensor<?x?xi64>, %ph: tensor<16xf32>)
    -> (tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>) {
  %yq = rotary.rope %q, %pos phase(%ph : tensor<16xf32>) layout = interleaved
      xpos = query {rotary_dim = 32 : i64, xpos_scale_base = 100.0 : f32, xpos_gamma = 0.5 : f32}
      : tensor<?x?x?x64xf32>, tensor<?x?xi64>
  %yk = rotary.rope %k, %pos phase(%ph : tensor<16xf32>) layout = interleaved
      xpos = key {inverse, rotary_dim = 32 : i64, xpos_scale_base = 100.0 : f32, xpos_gamma = 0.5 : f32}
      : tensor<?x?x?x64xf32>, tensor<?x?xi64>
  return %yq, %yk : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>
}

// Attention: the log-sum-exp is not a result, so @attention_fwd saves it
// and @attention_vjp reads it with the output. The lse comes out of the op
// that makes the output, so @attention is @attention_fwd without it, and
// @attention_bwd is @attention_fwd then @attention_vjp: each computation
// is compiled once.
// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x?x?x?xf32>, %[[K:[^:]*]]: tensor<?x?x?x?xf32>, %[[V:[^:]*]]: tensor<?x?x?x?xf32>)
// CHECK-SAME: rotary.gradient = {backward = "attention_bwd", forward = "attention_fwd", grads = array<i64: 0, 1, 2>, saved = 1 : i64, vjp = "attention_vjp", vjp_inputs = ["arg:0", "arg:1", "arg:2", "result:0", "saved:0", "cotangent:0"]}
// CHECK-NEXT: %[[F:.*]]:2 = call @attention_fwd(%[[Q]], %[[K]], %[[V]])
// CHECK-NEXT: return %[[F]]#0 : tensor<?x?x?x?xf32>
// CHECK-LABEL: func.func @attention_bwd(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x?x?x?xf32>, %[[K:[^:]*]]: tensor<?x?x?x?xf32>, %[[V:[^:]*]]: tensor<?x?x?x?xf32>, %[[DO:[^:]*]]: tensor<?x?x?x?xf32>)
// CHECK-NEXT: %[[F:.*]]:2 = call @attention_fwd(%[[Q]], %[[K]], %[[V]])
// CHECK-NEXT: %[[G:.*]]:3 = call @attention_vjp(%[[Q]], %[[K]], %[[V]], %[[F]]#0, %[[F]]#1, %[[DO]])
// CHECK-NEXT: return %[[G]]#0, %[[G]]#1, %[[G]]#2
// CHECK-LABEL: func.func @attention_fwd(
// CHECK-SAME: -> (tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
// CHECK: %[[O2:.*]], %[[L2:.*]] = rotary.attention
// CHECK: return %[[O2]], %[[L2]]
// CHECK-LABEL: func.func @attention_vjp(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x?x?x?xf32>, %[[K:[^:]*]]: tensor<?x?x?x?xf32>, %[[V:[^:]*]]: tensor<?x?x?x?xf32>, %[[OUT:[^:]*]]: tensor<?x?x?x?xf32>, %[[LSE:[^:]*]]: tensor<?x?x?xf32>, %[[DO:[^:]*]]: tensor<?x?x?x?xf32>)
// CHECK-NOT: rotary.attention %
// CHECK: rotary.attention_grad %[[Q]], %[[K]], %[[V]], %[[OUT]], %[[LSE]], %[[DO]]
func.func @attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>)
    -> tensor<?x?x?x?xf32> {
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 64 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// Both results returned: the lse cotangent reaches the gradient op, and
// nothing needs saving beyond the results, so there is no @_fwd.
// CHECK-LABEL: func.func @attention_lse(
// CHECK-SAME: forward = "attention_lse", grads = array<i64: 0, 1, 2, 3>, saved = 0 : i64, vjp = "attention_lse_vjp", vjp_inputs = ["arg:0", "arg:1", "arg:2", "arg:3", "result:0", "result:1", "cotangent:0", "cotangent:1"]
// CHECK-NOT: func.func @attention_lse_fwd
// The vjp reads both results: @attention_lse_bwd passes them from the call.
// CHECK-LABEL: func.func @attention_lse_bwd(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x2x8x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[B:[^:]*]]: tensor<2x9xf32>, %[[DO:[^:]*]]: tensor<1x2x8x4xf32>, %[[DL:[^:]*]]: tensor<1x2x8xf32>)
// CHECK-NEXT: %[[F:.*]]:2 = call @attention_lse(%[[Q]], %[[K]], %[[V]], %[[B]])
// CHECK-NEXT: %[[G:.*]]:4 = call @attention_lse_vjp(%[[Q]], %[[K]], %[[V]], %[[B]], %[[F]]#0, %[[F]]#1, %[[DO]], %[[DL]])
// CHECK-NEXT: return %[[G]]#0, %[[G]]#1, %[[G]]#2, %[[G]]#3
// CHECK-LABEL: func.func @attention_lse_vjp(
// CHECK: rotary.attention_grad {{.*}} dlse(%{{.*}} : tensor<1x2x8xf32>) bias(%{{.*}} : tensor<2x9xf32>)
// CHECK: return {{.*}} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<2x9xf32>
func.func @attention_lse(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>,
                         %b: tensor<2x9xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %v bias(%b : tensor<2x9xf32>)
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// A value used twice accumulates (linalg.add); intermediate values are saved.
// They are results of ops of their own, so @chain keeps its body; @chain_bwd
// passes the saved values (after the two results) from @chain_fwd.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: saved = 2 : i64, vjp = "chain_vjp", vjp_inputs = ["arg:0", "arg:1", "arg:2", "saved:0", "saved:1", "cotangent:0", "cotangent:1"]
// CHECK-NEXT: rotary.givens
// CHECK-LABEL: func.func @chain_bwd(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x64xf32>, %[[A:[^:]*]]: tensor<?xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[DW:[^:]*]]: tensor<?x64xf32>, %[[DP:[^:]*]]: tensor<f32>)
// CHECK-NEXT: %[[F:.*]]:4 = call @chain_fwd(%[[X]], %[[A]], %[[R]])
// CHECK-NEXT: call @chain_vjp(%[[X]], %[[A]], %[[R]], %[[F]]#2, %[[F]]#3, %[[DW]], %[[DP]])
// CHECK-LABEL: func.func @chain_vjp(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x64xf32>, %[[A:[^:]*]]: tensor<?xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[Y:[^:]*]]: tensor<?x64xf32>, %[[Z:[^:]*]]: tensor<?x64xf32>, %[[DW:[^:]*]]: tensor<?x64xf32>, %[[DP:[^:]*]]: tensor<f32>)
// CHECK: %[[DR1:.*]] = rotary.orthogonality_penalty_grad %[[R]], %[[DP]]
// CHECK: %[[DZ:.*]], %[[DA1:.*]] = rotary.givens_grad %[[Z]], %[[A]], %[[DW]]
// CHECK: %[[DY:.*]], %[[DR2:.*]] = rotary.orthogonal_grad %[[Y]], %[[R]], %[[DZ]]
// CHECK: %[[DR:.*]] = linalg.add ins(%[[DR1]], %[[DR2]] : tensor<64x64xf32>, tensor<64x64xf32>)
// CHECK: %[[DX:.*]], %[[DA2:.*]] = rotary.givens_grad %[[X]], %[[A]], %[[DY]]
// CHECK: %[[DA:.*]] = linalg.add ins(%[[DA1]], %[[DA2]] : tensor<?xf32>, tensor<?xf32>)
// CHECK: return %[[DX]], %[[DA]], %[[DR]]
func.func @chain(%x: tensor<?x64xf32>, %a: tensor<?xf32>, %r: tensor<64x64xf32>)
    -> (tensor<?x64xf32>, tensor<f32>) {
  %y = rotary.givens %x, %a : tensor<?x64xf32>, tensor<?xf32>
  %z = rotary.orthogonal %y, %r : tensor<?x64xf32>, tensor<64x64xf32>
  %w = rotary.givens %z, %a : tensor<?x64xf32>, tensor<?xf32>
  %p = rotary.orthogonality_penalty %r : tensor<64x64xf32>
  return %w, %p : tensor<?x64xf32>, tensor<f32>
}

// The HDD-RoPE chain differentiates op by op (rotary-fuse-rotations runs
// after this pass, on the forward and the backward alike). G and P are
// rebuilt from the angles, not saved (recomputeInBackward): nothing beyond
// the arguments is read, so @hdd_chain_bwd is the vjp and there is no
// @hdd_chain_fwd.
// CHECK-LABEL: func.func @hdd_chain(
// CHECK-SAME: rotary.gradient = {backward = "hdd_chain_bwd", forward = "hdd_chain", grads = array<i64: 0, 1>, saved = 0 : i64, vjp = "hdd_chain_bwd", vjp_inputs = ["arg:0", "arg:1", "cotangent:0"]}
// CHECK-LABEL: func.func @hdd_chain_bwd(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x?x2x8xf32>, %[[A:[^:]*]]: tensor<1x?x2x2x6xf32>, %[[DY:[^:]*]]: tensor<1x?x2x8xf32>)
// CHECK: %[[G:.*]] = rotary.so_generator %[[A]] chunk = 4 form = exp
// CHECK: %[[P:.*]] = rotary.cumulative_rotation %[[G]]
// CHECK: %[[DX:.*]], %[[DP:.*]] = rotary.hdd_rope_grad %[[X]], %[[P]], %[[DY]]
// CHECK: %[[DG:.*]] = rotary.cumulative_rotation_grad %[[G]], %[[DP]]
// CHECK: %[[DA:.*]] = rotary.so_generator_grad %[[A]], %[[DG]] chunk = 4 form = exp
// CHECK: return %[[DX]], %[[DA]]
// CHECK-NOT: func.func @hdd_chain_fwd
// CHECK-NOT: func.func @hdd_chain_vjp
func.func @hdd_chain(%x: tensor<1x?x2x8xf32>, %a: tensor<1x?x2x2x6xf32>) -> tensor<1x?x2x8xf32> {
  %g = rotary.so_generator %a chunk = 4 form = exp : tensor<1x?x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x?x2x2x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
  return %y : tensor<1x?x2x8xf32>
}

// P returned as well: the vjp reads it as a result instead of rebuilding
// it, and rebuilds only G from the angles.
// CHECK-LABEL: func.func @hdd_chain_p(
// CHECK-SAME: saved = 0 : i64, vjp = "hdd_chain_p_vjp", vjp_inputs = ["arg:0", "arg:1", "result:1", "cotangent:0", "cotangent:1"]
// CHECK-LABEL: func.func @hdd_chain_p_vjp(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x?x2x8xf32>, %[[A:[^:]*]]: tensor<1x?x2x2x6xf32>, %[[P:[^:]*]]: tensor<1x?x2x2x4x4xf32>, %[[DY:[^:]*]]: tensor<1x?x2x8xf32>, %[[DPR:[^:]*]]: tensor<1x?x2x2x4x4xf32>)
// CHECK-NOT: rotary.cumulative_rotation %
// CHECK: rotary.hdd_rope_grad %[[X]], %[[P]], %[[DY]]
// CHECK: %[[G:.*]] = rotary.so_generator %[[A]] chunk = 4 form = givens
// CHECK: rotary.cumulative_rotation_grad %[[G]],
func.func @hdd_chain_p(%x: tensor<1x?x2x8xf32>, %a: tensor<1x?x2x2x6xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>) {
  %g = rotary.so_generator %a chunk = 4 form = givens : tensor<1x?x2x2x6xf32>
  %p = rotary.cumulative_rotation %g : tensor<1x?x2x2x4x4xf32>
  %y = rotary.hdd_rope %x, %p : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
  return %y, %p : tensor<1x?x2x8xf32>, tensor<1x?x2x2x4x4xf32>
}

// CHECK-LABEL: func.func @hdd_fused_bwd(
// CHECK: rotary.hdd_rope_grad %{{.*}}, %{{.*}}, %{{.*}} form = givens {chunk = 4 : i64}
func.func @hdd_fused(%x: tensor<?x?x?x?xf32>, %a: tensor<?x?x?x?x6xf32>) -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}

// The rotation block is expanded into its parts for differentiation; an
// argument returned as is passes its cotangent through.
// CHECK-LABEL: func.func @block_bwd(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x8xf32>, %[[A:[^:]*]]: tensor<7xf32>, %[[R:[^:]*]]: tensor<8x8xf32>, %[[U:[^:]*]]: tensor<3xf32>, %[[DY:[^:]*]]: tensor<4x8xf32>, %[[DU:[^:]*]]: tensor<3xf32>)
// CHECK: %[[DY1:.*]], %[[DR:.*]] = rotary.orthogonal_grad %{{.*}}, %[[R]], %[[DY]]
// CHECK: %[[DX:.*]], %[[DA:.*]] = rotary.givens_grad %[[X]], %[[A]], %[[DY1]]
// CHECK: return %[[DX]], %[[DA]], %[[DR]], %[[DU]]
func.func @block(%x: tensor<4x8xf32>, %a: tensor<7xf32>, %r: tensor<8x8xf32>, %u: tensor<3xf32>)
    -> (tensor<4x8xf32>, tensor<3xf32>) {
  %y = rotary.rotation_block %x, %a, %r : tensor<4x8xf32>, tensor<7xf32>, tensor<8x8xf32>
  return %y, %u : tensor<4x8xf32>, tensor<3xf32>
}

// Only the log-sum-exp is returned: the output's cotangent is zeros. An
// argument that feeds only dead values gets no gradient.
// CHECK-LABEL: func.func @lse_only(
// CHECK-SAME: grads = array<i64: 0, 1, 2>
// CHECK-LABEL: func.func @lse_only_vjp(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x2x8x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[L:[^:]*]]: tensor<1x2x8xf32>, %[[O:[^:]*]]: tensor<1x2x8x4xf32>, %[[DL:[^:]*]]: tensor<1x2x8xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<1x2x8x4xf32>)
// CHECK: rotary.attention_grad %[[Q]], %[[K]], %[[V]], %[[O]], %[[L]], %[[Z]] dlse(%[[DL]] : tensor<1x2x8xf32>)
func.func @lse_only(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>,
                    %x: tensor<4x8xf32>, %a: tensor<7xf32>) -> tensor<1x2x8xf32> {
  %dead = rotary.givens %x, %a : tensor<4x8xf32>, tensor<7xf32>
  %o, %lse = rotary.attention %q, %k, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %lse : tensor<1x2x8xf32>
}

// CHECK-LABEL: func.func @quaternion_bwd(
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = rotary.quaternion_rotate_grad
func.func @quaternion(%x: tensor<?x3xf32>, %u: tensor<3xf32>, %t: tensor<f32>) -> tensor<?x3xf32> {
  %y = rotary.quaternion_rotate %x, %u, %t : tensor<?x3xf32>, tensor<3xf32>, tensor<f32>
  return %y : tensor<?x3xf32>
}

// Not differentiated: no float argument reaches a differentiable operand;
// an op without a gradient (fam_step) on the path; a private function; a
// function whose @_bwd already exists.
// CHECK-LABEL: func.func @freqs(
// CHECK-NOT: rotary.gradient
// CHECK-NOT: func.func @freqs_bwd
func.func @freqs(%p: tensor<8xi64>) -> tensor<16xf32> {
  %f = rotary.inv_freq dim = 32
  return %f : tensor<16xf32>
}
// CHECK-LABEL: func.func @fam(
// CHECK-NOT: func.func @fam_bwd
func.func @fam(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %lr: tensor<f32>,
               %al: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %al : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: func.func @helper_bwd
func.func private @helper(%x: tensor<4x8xf32>, %a: tensor<7xf32>) -> tensor<4x8xf32> {
  %y = rotary.givens %x, %a : tensor<4x8xf32>, tensor<7xf32>
  return %y : tensor<4x8xf32>
}
// CHECK-LABEL: func.func @own(
// CHECK-NOT: rotary.gradient
// CHECK-LABEL: func.func @own_bwd(
// CHECK-NOT: rotary.gradient
// CHECK-NEXT: return %arg2
// CHECK-NOT: func.func @own_fwd
// CHECK-NOT: func.func @own_bwd_bwd
func.func @own(%x: tensor<4x8xf32>, %a: tensor<7xf32>) -> tensor<4x8xf32> {
  %y = rotary.givens %x, %a : tensor<4x8xf32>, tensor<7xf32>
  return %y : tensor<4x8xf32>
}
func.func @own_bwd(%x: tensor<4x8xf32>, %a: tensor<7xf32>, %dy: tensor<4x8xf32>) -> tensor<4x8xf32> {
  return %dy : tensor<4x8xf32>
}

// A linalg.transpose (here the "fold" form of rotary-fuse-rotations, written
// by hand): its adjoint is the inverse permutation of the cotangent.
// CHECK-LABEL: func.func @folded_block_bwd
// CHECK: %[[DX:.*]], %[[DQ:.*]] = rotary.orthogonal_grad %{{.*}}, %{{.*}}, %{{.*}} {transpose}
// CHECK: %[[DRT:.*]], %[[DA:.*]] = rotary.givens_grad %{{.*}}, %{{.*}}, %[[DQ]] pairs = [(0, 1), (2, 3)] {inverse}
// CHECK: %[[DR:.*]] = linalg.transpose ins(%[[DRT]] : tensor<4x4xf32>) outs(%{{.*}} : tensor<4x4xf32>) permutation = [1, 0]
// CHECK: return %[[DX]], %[[DA]], %[[DR]]
func.func @folded_block(%x: tensor<?x4xf32>, %a: tensor<2xf32>,
                        %r: tensor<4x4xf32>) -> tensor<?x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %rt = linalg.transpose ins(%r : tensor<4x4xf32>)
      outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %qt = rotary.givens %rt, %a pairs = [(0, 1), (2, 3)] {inverse}
      : tensor<4x4xf32>, tensor<2xf32>
  %y = rotary.orthogonal %x, %qt {transpose}
      : tensor<?x4xf32>, tensor<4x4xf32>
  return %y : tensor<?x4xf32>
}
