// RUN: rotary-opt %s | rotary-opt | FileCheck %s
// RUN: rotary-opt %s --mlir-print-op-generic | rotary-opt | FileCheck %s
// RUN: rotary-opt %s --emit-bytecode | rotary-opt | FileCheck %s

// Round-trip tests of every gradient op (RotaryGradOps.td) in its custom
// form, the generic form and bytecode, with every optional operand and
// attribute at least once.

// CHECK-LABEL: func @rope_grad_plain
func.func @rope_grad_plain(%x: tensor<2x?x4x64xbf16>, %p: tensor<?xi64>,
                           %dy: tensor<2x?x4x64xbf16>) -> tensor<2x?x4x64xbf16> {
  // CHECK: {{.*}} = rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} layout = interleaved {inverse, rotary_dim = 32 : i64} : tensor<2x?x4x64xbf16>, tensor<?xi64>{{$}}
  %dx = rotary.rope_grad %x, %p, %dy layout = interleaved {inverse, rotary_dim = 32 : i64}
      : tensor<2x?x4x64xbf16>, tensor<?xi64>
  return %dx : tensor<2x?x4x64xbf16>
}

// CHECK-LABEL: func @rope_grad_learned
func.func @rope_grad_learned(%x: tensor<2x16x4x64xf32>, %p: tensor<2x16xi32>,
    %dy: tensor<2x16x4x64xf32>, %f: tensor<32xf32>, %ph: tensor<32xf32>,
    %s: tensor<f32>) -> (tensor<2x16x4x64xf32>, tensor<32xf32>, tensor<32xf32>, tensor<f32>) {
  // CHECK: {{.*}} = rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} inv_freq(%{{.*}} : tensor<32xf32>) phase(%{{.*}} : tensor<32xf32>) scale(%{{.*}}) layout = half : tensor<2x16x4x64xf32>, tensor<2x16xi32>{{$}}
  %dx, %df, %dph, %ds = rotary.rope_grad %x, %p, %dy inv_freq(%f : tensor<32xf32>)
      phase(%ph : tensor<32xf32>) scale(%s) layout = half
      : tensor<2x16x4x64xf32>, tensor<2x16xi32>
  return %dx, %df, %dph, %ds : tensor<2x16x4x64xf32>, tensor<32xf32>, tensor<32xf32>, tensor<f32>
}

// CHECK-LABEL: func @rope_grad_runtime_base
func.func @rope_grad_runtime_base(%x: tensor<1x8x2x16xf32>, %p: tensor<8xf32>,
    %dy: tensor<1x8x2x16xf32>, %b: tensor<f32>) -> tensor<f32> {
  // CHECK: rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} base(%{{.*}}) layout = deinterleave : tensor<1x8x2x16xf32>, tensor<8xf32>{{$}}
  %dx, %db = rotary.rope_grad %x, %p, %dy base(%b) layout = deinterleave
      : tensor<1x8x2x16xf32>, tensor<8xf32>
  return %db : tensor<f32>
}

// CHECK-LABEL: func @rope_grad_xpos
func.func @rope_grad_xpos(%x: tensor<2x?x4x64xf32>, %p: tensor<?xi64>,
    %dy: tensor<2x?x4x64xf32>, %ph: tensor<32xf32>, %s: tensor<f32>)
    -> (tensor<2x?x4x64xf32>, tensor<32xf32>, tensor<f32>, tensor<2x?x4x64xf32>) {
  // CHECK: rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} phase(%{{.*}} : tensor<32xf32>) scale(%{{.*}}) layout = half xpos = key {xpos_scale_base = 1.280000e+02 : f32} : tensor<2x?x4x64xf32>, tensor<?xi64>{{$}}
  %dx, %dph, %ds = rotary.rope_grad %x, %p, %dy phase(%ph : tensor<32xf32>)
      scale(%s) layout = half xpos = key {xpos_scale_base = 128.0 : f32}
      : tensor<2x?x4x64xf32>, tensor<?xi64>
  // CHECK: rotary.rope_grad %{{.*}}, %{{.*}}, %{{.*}} layout = interleaved xpos = query {inverse, xpos_gamma = 1.000000e+00 : f32} : tensor<2x?x4x64xf32>, tensor<?xi64>{{$}}
  %dx2 = rotary.rope_grad %x, %p, %dy layout = interleaved xpos = query
      {inverse, xpos_gamma = 1.0 : f32} : tensor<2x?x4x64xf32>, tensor<?xi64>
  return %dx, %dph, %ds, %dx2
      : tensor<2x?x4x64xf32>, tensor<32xf32>, tensor<f32>, tensor<2x?x4x64xf32>
}

// CHECK-LABEL: func @givens_grad
func.func @givens_grad(%x: tensor<?x64xf32>, %a: tensor<63xf32>, %dy: tensor<?x64xf32>,
                       %y: tensor<4x16x8x4xbf16>, %b: tensor<8x2xf32>,
                       %dz: tensor<4x16x8x4xbf16>) -> (tensor<63xf32>, tensor<8x2xf32>) {
  // CHECK: {{.*}} = rotary.givens_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<63xf32>{{$}}
  %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x64xf32>, tensor<63xf32>
  // CHECK: rotary.givens_grad %{{.*}}, %{{.*}}, %{{.*}} pairs = [(0, 1), (2, 3)] {inverse} : tensor<4x16x8x4xbf16>, tensor<8x2xf32>{{$}}
  %dy2, %db = rotary.givens_grad %y, %b, %dz pairs = [(0, 1), (2, 3)] {inverse}
      : tensor<4x16x8x4xbf16>, tensor<8x2xf32>
  return %da, %db : tensor<63xf32>, tensor<8x2xf32>
}

// CHECK-LABEL: func @orthogonal_grads
func.func @orthogonal_grads(%x: tensor<?x8x64xf32>, %r: tensor<8x64x3xf32>,
                            %dy: tensor<?x8x3xf32>, %dp: tensor<f32>)
    -> (tensor<?x8x64xf32>, tensor<8x64x3xf32>, tensor<8x64x3xf32>) {
  // CHECK: {{.*}} = rotary.orthogonal_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x64xf32>, tensor<8x64x3xf32>, tensor<?x8x3xf32>{{$}}
  %dx, %dr = rotary.orthogonal_grad %x, %r, %dy
      : tensor<?x8x64xf32>, tensor<8x64x3xf32>, tensor<?x8x3xf32>
  // CHECK: rotary.orthogonality_penalty_grad %{{.*}}, %{{.*}} : tensor<8x64x3xf32>{{$}}
  %dr2 = rotary.orthogonality_penalty_grad %r, %dp : tensor<8x64x3xf32>
  return %dx, %dr, %dr2 : tensor<?x8x64xf32>, tensor<8x64x3xf32>, tensor<8x64x3xf32>
}

// CHECK-LABEL: func @orthogonal_grad_transpose
func.func @orthogonal_grad_transpose(%x: tensor<5x3xf32>, %r: tensor<64x3xf32>,
                                     %dy: tensor<5x64xf32>) -> tensor<64x3xf32> {
  // CHECK: rotary.orthogonal_grad %{{.*}}, %{{.*}}, %{{.*}} {transpose} : tensor<5x3xf32>, tensor<64x3xf32>, tensor<5x64xf32>{{$}}
  %dx, %dr = rotary.orthogonal_grad %x, %r, %dy {transpose}
      : tensor<5x3xf32>, tensor<64x3xf32>, tensor<5x64xf32>
  return %dr : tensor<64x3xf32>
}

// CHECK-LABEL: func @hdd_grads
func.func @hdd_grads(%a: tensor<2x?x8x16x6xf32>, %dg: tensor<2x?x8x16x4x4xf32>,
                     %g: tensor<2x?x8x16x4x4xf32>, %x: tensor<2x?x8x64xbf16>,
                     %dy: tensor<2x?x8x64xbf16>) -> tensor<2x?x8x16x6xf32> {
  // CHECK: rotary.so_generator_grad %{{.*}}, %{{.*}} chunk = 4 form = exp : tensor<2x?x8x16x6xf32>, tensor<2x?x8x16x4x4xf32>{{$}}
  %da = rotary.so_generator_grad %a, %dg chunk = 4 form = exp
      : tensor<2x?x8x16x6xf32>, tensor<2x?x8x16x4x4xf32>
  // CHECK: rotary.cumulative_rotation_grad %{{.*}}, %{{.*}} : tensor<2x?x8x16x4x4xf32>{{$}}
  %dg2 = rotary.cumulative_rotation_grad %g, %dg : tensor<2x?x8x16x4x4xf32>
  // CHECK: rotary.hdd_rope_grad %{{.*}}, %{{.*}}, %{{.*}} {inverse} : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>{{$}}
  %dx, %dp = rotary.hdd_rope_grad %x, %g, %dy {inverse}
      : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>
  // CHECK: rotary.hdd_rope_grad %{{.*}}, %{{.*}}, %{{.*}} form = givens {chunk = 4 : i64} : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x6xf32>{{$}}
  %dx2, %da2 = rotary.hdd_rope_grad %x, %a, %dy form = givens {chunk = 4 : i64}
      : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x6xf32>
  return %da2 : tensor<2x?x8x16x6xf32>
}

// CHECK-LABEL: func @attention_grads
func.func @attention_grads(%q: tensor<?x8x?x64xf32>, %o: tensor<?x8x?x64xf32>,
                           %lse: tensor<?x8x?xf32>, %b: tensor<8x129xf32>,
                           %s: tensor<8xf32>) -> (tensor<8x129xf32>, tensor<8xf32>) {
  // CHECK: {{.*}} = rotary.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal, window = 64 : i64} : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?xf32>{{$}}
  %dq, %dk, %dv = rotary.attention_grad %q, %q, %q, %o, %lse, %o {causal, window = 64 : i64}
      : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
  // CHECK: {{.*}} = rotary.attention_grad {{.*}} dlse(%{{.*}} : tensor<?x8x?xf32>) bias(%{{.*}} : tensor<8x129xf32>) span(%{{.*}} : tensor<8xf32>) {span_ramp = 3.200000e+01 : f32}
  %r:5 = rotary.attention_grad %q, %q, %q, %o, %lse, %o dlse(%lse : tensor<?x8x?xf32>)
      bias(%b : tensor<8x129xf32>) span(%s : tensor<8xf32>) {span_ramp = 32.0 : f32}
      : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
  return %r#3, %r#4 : tensor<8x129xf32>, tensor<8xf32>
}

// CHECK-LABEL: func @quaternion_grad
func.func @quaternion_grad(%x: tensor<?x?x3xf32>, %u: tensor<3xf32>, %t: tensor<f32>,
                           %dy: tensor<?x?x3xf32>) -> (tensor<3xf32>, tensor<f32>) {
  // CHECK: {{.*}} = rotary.quaternion_rotate_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>{{$}}
  %dx, %du, %dt = rotary.quaternion_rotate_grad %x, %u, %t, %dy
      : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>
  return %du, %dt : tensor<3xf32>, tensor<f32>
}
