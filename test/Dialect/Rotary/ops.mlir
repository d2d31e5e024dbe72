// RUN: rotary-opt %s | rotary-opt | FileCheck %s
// RUN: rotary-opt %s --mlir-print-op-generic | rotary-opt | FileCheck %s
// RUN: rotary-opt %s --emit-bytecode | rotary-opt | FileCheck %s

// Round-trip tests of every rotary op in its custom form, the generic form
// and bytecode. Every optional operand, optional attribute and enum case
// appears at least once.

//===----------------------------------------------------------------------===//
// rotary.rope
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @rope_half
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf32>, %[[P:[^:]*]]: tensor<16xi64>)
func.func @rope_half(%x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>)
    -> tensor<2x16x4x64xf32> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>{{$}}
  %0 = rotary.rope %x, %p layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>
  // CHECK: return %[[R]]
  return %0 : tensor<2x16x4x64xf32>
}

// The default layout (half) is always printed.
// CHECK-LABEL: func @rope_interleaved_batch_positions
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf16>, %[[P:[^:]*]]: tensor<2x16xi32>)
func.func @rope_interleaved_batch_positions(%x: tensor<2x16x4x64xf16>,
                                            %p: tensor<2x16xi32>)
    -> tensor<2x16x4x64xf16> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] layout = interleaved : tensor<2x16x4x64xf16>, tensor<2x16xi32>{{$}}
  %0 = rotary.rope %x, %p layout = interleaved
      : tensor<2x16x4x64xf16>, tensor<2x16xi32>
  // CHECK: return %[[R]]
  return %0 : tensor<2x16x4x64xf16>
}

// CHECK-LABEL: func @rope_deinterleave_inverse
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x8x2x16xbf16>, %[[P:[^:]*]]: tensor<8xf32>)
func.func @rope_deinterleave_inverse(%x: tensor<1x8x2x16xbf16>,
                                     %p: tensor<8xf32>)
    -> tensor<1x8x2x16xbf16> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] layout = deinterleave {inverse} : tensor<1x8x2x16xbf16>, tensor<8xf32>{{$}}
  %0 = rotary.rope %x, %p layout = deinterleave {inverse}
      : tensor<1x8x2x16xbf16>, tensor<8xf32>
  // CHECK: return %[[R]]
  return %0 : tensor<1x8x2x16xbf16>
}

// Positions: [T] and [B, T], each with i32, i64 and f32.
// CHECK-LABEL: func @rope_position_types
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf32>, %[[P0:[^:]*]]: tensor<16xi32>, %[[P1:[^:]*]]: tensor<2x16xi64>, %[[P2:[^:]*]]: tensor<2x16xf32>)
func.func @rope_position_types(%x: tensor<2x16x4x64xf32>,
                               %p0: tensor<16xi32>, %p1: tensor<2x16xi64>,
                               %p2: tensor<2x16xf32>)
    -> (tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>) {
  // CHECK: %[[R0:.*]] = rotary.rope %[[X]], %[[P0]] layout = half : tensor<2x16x4x64xf32>, tensor<16xi32>{{$}}
  %0 = rotary.rope %x, %p0 layout = half : tensor<2x16x4x64xf32>, tensor<16xi32>
  // CHECK: %[[R1:.*]] = rotary.rope %[[X]], %[[P1]] layout = interleaved : tensor<2x16x4x64xf32>, tensor<2x16xi64>{{$}}
  %1 = rotary.rope %x, %p1 layout = interleaved
      : tensor<2x16x4x64xf32>, tensor<2x16xi64>
  // CHECK: %[[R2:.*]] = rotary.rope %[[X]], %[[P2]] layout = deinterleave : tensor<2x16x4x64xf32>, tensor<2x16xf32>{{$}}
  %2 = rotary.rope %x, %p2 layout = deinterleave
      : tensor<2x16x4x64xf32>, tensor<2x16xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  return %0, %1, %2
      : tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>
}

// All optional operands but the runtime base (exclusive with inv_freq).
// CHECK-LABEL: func @rope_inv_freq_phase_scale
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf32>, %[[P:[^:]*]]: tensor<2x16xi32>, %[[F:[^:]*]]: tensor<32xf32>, %[[PH:[^:]*]]: tensor<32xf32>, %[[S:[^:]*]]: tensor<f32>)
func.func @rope_inv_freq_phase_scale(%x: tensor<2x16x4x64xf32>,
                                     %p: tensor<2x16xi32>,
                                     %f: tensor<32xf32>, %ph: tensor<32xf32>,
                                     %s: tensor<f32>)
    -> tensor<2x16x4x64xf32> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] inv_freq(%[[F]] : tensor<32xf32>) phase(%[[PH]] : tensor<32xf32>) scale(%[[S]]) layout = interleaved : tensor<2x16x4x64xf32>, tensor<2x16xi32>{{$}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<32xf32>)
      phase(%ph : tensor<32xf32>) scale(%s) layout = interleaved
      : tensor<2x16x4x64xf32>, tensor<2x16xi32>
  // CHECK: return %[[R]]
  return %0 : tensor<2x16x4x64xf32>
}

// Each optional operand on its own, so the operand segments are exercised.
// CHECK-LABEL: func @rope_single_optional_operands
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf32>, %[[P:[^:]*]]: tensor<16xi64>, %[[F:[^:]*]]: tensor<?xf32>, %[[PH:[^:]*]]: tensor<32xf32>, %[[S:[^:]*]]: tensor<f32>, %[[B:[^:]*]]: tensor<f32>)
func.func @rope_single_optional_operands(
    %x: tensor<2x16x4x64xf32>, %p: tensor<16xi64>, %f: tensor<?xf32>,
    %ph: tensor<32xf32>, %s: tensor<f32>, %b: tensor<f32>)
    -> (tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>,
        tensor<2x16x4x64xf32>) {
  // CHECK: %[[R0:.*]] = rotary.rope %[[X]], %[[P]] inv_freq(%[[F]] : tensor<?xf32>) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>{{$}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<?xf32>) layout = half
      : tensor<2x16x4x64xf32>, tensor<16xi64>
  // CHECK: %[[R1:.*]] = rotary.rope %[[X]], %[[P]] phase(%[[PH]] : tensor<32xf32>) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>{{$}}
  %1 = rotary.rope %x, %p phase(%ph : tensor<32xf32>) layout = half
      : tensor<2x16x4x64xf32>, tensor<16xi64>
  // CHECK: %[[R2:.*]] = rotary.rope %[[X]], %[[P]] scale(%[[S]]) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>{{$}}
  %2 = rotary.rope %x, %p scale(%s) layout = half
      : tensor<2x16x4x64xf32>, tensor<16xi64>
  // CHECK: %[[R3:.*]] = rotary.rope %[[X]], %[[P]] base(%[[B]]) layout = half : tensor<2x16x4x64xf32>, tensor<16xi64>{{$}}
  %3 = rotary.rope %x, %p base(%b) layout = half
      : tensor<2x16x4x64xf32>, tensor<16xi64>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3
      : tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>, tensor<2x16x4x64xf32>,
        tensor<2x16x4x64xf32>
}

// Runtime base next to scale (both 0-d f32 operands: the operand segments
// must keep them apart), phase, f16 data.
// CHECK-LABEL: func @rope_runtime_base
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x4x64xf16>, %[[P:[^:]*]]: tensor<16xi32>, %[[PH:[^:]*]]: tensor<32xf32>, %[[S:[^:]*]]: tensor<f32>, %[[B:[^:]*]]: tensor<f32>)
func.func @rope_runtime_base(%x: tensor<2x16x4x64xf16>, %p: tensor<16xi32>,
                             %ph: tensor<32xf32>, %s: tensor<f32>,
                             %b: tensor<f32>) -> tensor<2x16x4x64xf16> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] phase(%[[PH]] : tensor<32xf32>) scale(%[[S]]) base(%[[B]]) layout = deinterleave {inverse} : tensor<2x16x4x64xf16>, tensor<16xi32>{{$}}
  %0 = rotary.rope %x, %p phase(%ph : tensor<32xf32>) scale(%s) base(%b)
      layout = deinterleave {inverse} : tensor<2x16x4x64xf16>, tensor<16xi32>
  // CHECK: return %[[R]]
  return %0 : tensor<2x16x4x64xf16>
}

// xPos: the query and key scales, default and explicit scale base and γ,
// with inverse and learnable operands.
// CHECK-LABEL: func @rope_xpos
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x8x64xbf16>, %[[P:[^:]*]]: tensor<?x?xi32>, %[[F:[^:]*]]: tensor<32xf32>)
func.func @rope_xpos(%x: tensor<?x?x8x64xbf16>, %p: tensor<?x?xi32>,
                     %f: tensor<32xf32>)
    -> (tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>) {
  // CHECK: %[[Q:.*]] = rotary.rope %[[X]], %[[P]] layout = half xpos = query : tensor<?x?x8x64xbf16>, tensor<?x?xi32>{{$}}
  %0 = rotary.rope %x, %p layout = half xpos = query
      : tensor<?x?x8x64xbf16>, tensor<?x?xi32>
  // CHECK: %[[K:.*]] = rotary.rope %[[X]], %[[P]] layout = interleaved xpos = key {rotary_dim = 32 : i64, xpos_gamma = 2.500000e-01 : f32, xpos_scale_base = 2.560000e+02 : f32} : tensor<?x?x8x64xbf16>, tensor<?x?xi32>{{$}}
  %1 = rotary.rope %x, %p layout = interleaved xpos = key
      {rotary_dim = 32 : i64, xpos_scale_base = 256.0 : f32, xpos_gamma = 0.25 : f32}
      : tensor<?x?x8x64xbf16>, tensor<?x?xi32>
  // CHECK: %[[I:.*]] = rotary.rope %[[X]], %[[P]] inv_freq(%[[F]] : tensor<32xf32>) layout = deinterleave xpos = key {inverse} : tensor<?x?x8x64xbf16>, tensor<?x?xi32>{{$}}
  %2 = rotary.rope %x, %p inv_freq(%f : tensor<32xf32>) layout = deinterleave
      xpos = key {inverse} : tensor<?x?x8x64xbf16>, tensor<?x?xi32>
  // CHECK: return %[[Q]], %[[K]], %[[I]]
  return %0, %1, %2
      : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>
}

// base attribute, partial rotary_dim, dynamic dims, bf16.
// CHECK-LABEL: func @rope_base_attr_partial
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x8x128xbf16>, %[[P:[^:]*]]: tensor<?xi64>)
func.func @rope_base_attr_partial(%x: tensor<?x?x8x128xbf16>,
                                  %p: tensor<?xi64>) -> tensor<?x?x8x128xbf16> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] layout = half {base = 5.000000e+05 : f32, rotary_dim = 64 : i64} : tensor<?x?x8x128xbf16>, tensor<?xi64>{{$}}
  %0 = rotary.rope %x, %p layout = half {rotary_dim = 64 : i64, base = 5.0e+05 : f32}
      : tensor<?x?x8x128xbf16>, tensor<?xi64>
  // CHECK: return %[[R]]
  return %0 : tensor<?x?x8x128xbf16>
}

// Odd D is fine with an even rotary_dim; inv_freq and phase are [r/2].
// CHECK-LABEL: func @rope_odd_d_partial
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x4x2x11xf16>, %[[P:[^:]*]]: tensor<1x4xf32>, %[[F:[^:]*]]: tensor<4xf32>, %[[PH:[^:]*]]: tensor<4xf32>)
func.func @rope_odd_d_partial(%x: tensor<1x4x2x11xf16>, %p: tensor<1x4xf32>,
                              %f: tensor<4xf32>, %ph: tensor<4xf32>)
    -> tensor<1x4x2x11xf16> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] inv_freq(%[[F]] : tensor<4xf32>) phase(%[[PH]] : tensor<4xf32>) layout = interleaved {inverse, rotary_dim = 8 : i64} : tensor<1x4x2x11xf16>, tensor<1x4xf32>{{$}}
  %0 = rotary.rope %x, %p inv_freq(%f : tensor<4xf32>) phase(%ph : tensor<4xf32>)
      layout = interleaved {rotary_dim = 8, inverse}
      : tensor<1x4x2x11xf16>, tensor<1x4xf32>
  // CHECK: return %[[R]]
  return %0 : tensor<1x4x2x11xf16>
}

// Fully dynamic x with [B, T] positions.
// CHECK-LABEL: func @rope_dynamic
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[P:[^:]*]]: tensor<?x?xi32>, %[[B:[^:]*]]: tensor<f32>)
func.func @rope_dynamic(%x: tensor<?x?x?x?xf32>, %p: tensor<?x?xi32>,
                        %b: tensor<f32>) -> tensor<?x?x?x?xf32> {
  // CHECK: %[[R:.*]] = rotary.rope %[[X]], %[[P]] base(%[[B]]) layout = half : tensor<?x?x?x?xf32>, tensor<?x?xi32>{{$}}
  %0 = rotary.rope %x, %p base(%b) layout = half
      : tensor<?x?x?x?xf32>, tensor<?x?xi32>
  // CHECK: return %[[R]]
  return %0 : tensor<?x?x?x?xf32>
}

//===----------------------------------------------------------------------===//
// rotary.inv_freq
//===----------------------------------------------------------------------===//

// The default base is elided; the result type is inferred as [dim / 2].
// CHECK-LABEL: func @inv_freq
// CHECK-SAME: -> (tensor<32xf32>, tensor<32xf32>, tensor<8xf32>, tensor<64xf32>, tensor<1xf32>)
func.func @inv_freq()
    -> (tensor<32xf32>, tensor<32xf32>, tensor<8xf32>, tensor<64xf32>,
        tensor<1xf32>) {
  // CHECK: %[[R0:.*]] = rotary.inv_freq dim = 64{{$}}
  %0 = rotary.inv_freq dim = 64
  // CHECK: %[[R1:.*]] = rotary.inv_freq dim = 64 base = 5.000000e+05{{$}}
  %1 = rotary.inv_freq dim = 64 base = 5.0e+05
  // CHECK: %[[R2:.*]] = rotary.inv_freq dim = 16 scales = [1.000000e+00, 2.000000e+00, 4.000000e+00, 8.000000e+00]{{$}}
  %2 = rotary.inv_freq dim = 16 scales = [1.0, 2.0, 4.0, 8.0]
  // CHECK: %[[R3:.*]] = rotary.inv_freq dim = 128 base = 5.000000e+05 scales = [1.000000e+00, 4.000000e+00]{{$}}
  %3 = rotary.inv_freq dim = 128 base = 5.0e+05 scales = [1.0, 4.0]
  // An explicit default base reads back as the default (elided).
  // CHECK: %[[R4:.*]] = rotary.inv_freq dim = 2{{$}}
  %4 = rotary.inv_freq dim = 2 base = 1.0e+04
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %[[R4]]
  return %0, %1, %2, %3, %4
      : tensor<32xf32>, tensor<32xf32>, tensor<8xf32>, tensor<64xf32>,
        tensor<1xf32>
}

//===----------------------------------------------------------------------===//
// rotary.givens
//===----------------------------------------------------------------------===//

// Default schedule: the full D(D-1)/2 rotations, and fewer.
// CHECK-LABEL: func @givens_default_schedule
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x64xf32>, %[[A:[^:]*]]: tensor<2016xf32>, %[[B:[^:]*]]: tensor<63xf32>)
func.func @givens_default_schedule(%x: tensor<?x64xf32>, %a: tensor<2016xf32>,
                                   %b: tensor<63xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: %[[R0:.*]] = rotary.givens %[[X]], %[[A]] : tensor<?x64xf32>, tensor<2016xf32>{{$}}
  %0 = rotary.givens %x, %a : tensor<?x64xf32>, tensor<2016xf32>
  // CHECK: %[[R1:.*]] = rotary.givens %[[X]], %[[B]] : tensor<?x64xf32>, tensor<63xf32>{{$}}
  %1 = rotary.givens %x, %b : tensor<?x64xf32>, tensor<63xf32>
  // CHECK: return %[[R0]], %[[R1]]
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// Explicit pairs with per-head [H, N] angles, and a dynamic N.
// CHECK-LABEL: func @givens_pairs
// CHECK-SAME: (%[[X:[^:]*]]: tensor<4x16x8x4xbf16>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[B:[^:]*]]: tensor<?xf32>)
func.func @givens_pairs(%x: tensor<4x16x8x4xbf16>, %a: tensor<8x2xf32>,
                        %b: tensor<?xf32>)
    -> (tensor<4x16x8x4xbf16>, tensor<4x16x8x4xbf16>) {
  // CHECK: %[[R0:.*]] = rotary.givens %[[X]], %[[A]] pairs = [(0, 1), (2, 3)] : tensor<4x16x8x4xbf16>, tensor<8x2xf32>{{$}}
  %0 = rotary.givens %x, %a pairs = [(0, 1), (2, 3)]
      : tensor<4x16x8x4xbf16>, tensor<8x2xf32>
  // Pairs need not be ordered (i > j is allowed).
  // CHECK: %[[R1:.*]] = rotary.givens %[[X]], %[[B]] pairs = [(3, 0), (1, 2), (0, 1)] {inverse} : tensor<4x16x8x4xbf16>, tensor<?xf32>{{$}}
  %1 = rotary.givens %x, %b pairs = [(3, 0), (1, 2), (0, 1)] {inverse}
      : tensor<4x16x8x4xbf16>, tensor<?xf32>
  // CHECK: return %[[R0]], %[[R1]]
  return %0, %1 : tensor<4x16x8x4xbf16>, tensor<4x16x8x4xbf16>
}

// Per-head angles on the default schedule, inverse, f16 and dynamic D.
// CHECK-LABEL: func @givens_per_head_inverse
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x8x6xf16>, %[[A:[^:]*]]: tensor<8x15xf32>, %[[Y:[^:]*]]: tensor<?x?xf32>, %[[B:[^:]*]]: tensor<?x7xf32>)
func.func @givens_per_head_inverse(%x: tensor<2x8x6xf16>, %a: tensor<8x15xf32>,
                                   %y: tensor<?x?xf32>, %b: tensor<?x7xf32>)
    -> (tensor<2x8x6xf16>, tensor<?x?xf32>) {
  // CHECK: %[[R0:.*]] = rotary.givens %[[X]], %[[A]] {inverse} : tensor<2x8x6xf16>, tensor<8x15xf32>{{$}}
  %0 = rotary.givens %x, %a {inverse} : tensor<2x8x6xf16>, tensor<8x15xf32>
  // CHECK: %[[R1:.*]] = rotary.givens %[[Y]], %[[B]] : tensor<?x?xf32>, tensor<?x7xf32>{{$}}
  %1 = rotary.givens %y, %b : tensor<?x?xf32>, tensor<?x7xf32>
  // CHECK: return %[[R0]], %[[R1]]
  return %0, %1 : tensor<2x8x6xf16>, tensor<?x?xf32>
}

//===----------------------------------------------------------------------===//
// rotary.orthogonal / rotary.orthogonality_penalty
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @orthogonal
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x64xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[Y:[^:]*]]: tensor<2x?x8x16xbf16>, %[[RH:[^:]*]]: tensor<8x16x16xbf16>, %[[RD:[^:]*]]: tensor<?x16xf16>, %[[Z:[^:]*]]: tensor<16xf16>)
func.func @orthogonal(%x: tensor<?x64xf32>, %r: tensor<64x64xf32>,
                      %y: tensor<2x?x8x16xbf16>, %rh: tensor<8x16x16xbf16>,
                      %rd: tensor<?x16xf16>, %z: tensor<16xf16>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x?x8x16xbf16>,
        tensor<2x?x8x16xbf16>, tensor<16xf16>) {
  // CHECK: %[[R0:.*]] = rotary.orthogonal %[[X]], %[[R]] : tensor<?x64xf32>, tensor<64x64xf32>{{$}}
  %0 = rotary.orthogonal %x, %r : tensor<?x64xf32>, tensor<64x64xf32>
  // CHECK: %[[R1:.*]] = rotary.orthogonal %[[X]], %[[R]] {transpose} : tensor<?x64xf32>, tensor<64x64xf32>{{$}}
  %1 = rotary.orthogonal %x, %r {transpose} : tensor<?x64xf32>, tensor<64x64xf32>
  // CHECK: %[[R2:.*]] = rotary.orthogonal %[[Y]], %[[RH]] : tensor<2x?x8x16xbf16>, tensor<8x16x16xbf16>{{$}}
  %2 = rotary.orthogonal %y, %rh : tensor<2x?x8x16xbf16>, tensor<8x16x16xbf16>
  // CHECK: %[[R3:.*]] = rotary.orthogonal %[[Y]], %[[RH]] {transpose} : tensor<2x?x8x16xbf16>, tensor<8x16x16xbf16>{{$}}
  %3 = rotary.orthogonal %y, %rh {transpose}
      : tensor<2x?x8x16xbf16>, tensor<8x16x16xbf16>
  // CHECK: %[[R4:.*]] = rotary.orthogonal %[[Z]], %[[RD]] : tensor<16xf16>, tensor<?x16xf16>{{$}}
  %4 = rotary.orthogonal %z, %rd : tensor<16xf16>, tensor<?x16xf16>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %[[R4]]
  return %0, %1, %2, %3, %4
      : tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x?x8x16xbf16>,
        tensor<2x?x8x16xbf16>, tensor<16xf16>
}

// CHECK-LABEL: func @orthogonality_penalty
// CHECK-SAME: (%[[R:[^:]*]]: tensor<4x4xf32>, %[[RH:[^:]*]]: tensor<8x16x16xbf16>, %[[RD:[^:]*]]: tensor<?x?x?xf16>)
// CHECK-SAME: -> (tensor<f32>, tensor<f32>, tensor<f32>)
func.func @orthogonality_penalty(%r: tensor<4x4xf32>, %rh: tensor<8x16x16xbf16>,
                                 %rd: tensor<?x?x?xf16>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: %[[R0:.*]] = rotary.orthogonality_penalty %[[R]] : tensor<4x4xf32>{{$}}
  %0 = rotary.orthogonality_penalty %r : tensor<4x4xf32>
  // CHECK: %[[R1:.*]] = rotary.orthogonality_penalty %[[RH]] : tensor<8x16x16xbf16>{{$}}
  %1 = rotary.orthogonality_penalty %rh : tensor<8x16x16xbf16>
  // CHECK: %[[R2:.*]] = rotary.orthogonality_penalty %[[RD]] : tensor<?x?x?xf16>{{$}}
  %2 = rotary.orthogonality_penalty %rd : tensor<?x?x?xf16>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  return %0, %1, %2 : tensor<f32>, tensor<f32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// rotary.rotation_block
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @rotation_block_plain
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x64xf32>, %[[A:[^:]*]]: tensor<63xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[Y:[^:]*]]: tensor<4x8x4xbf16>, %[[B:[^:]*]]: tensor<8x2xf32>, %[[RH:[^:]*]]: tensor<8x4x4xbf16>)
func.func @rotation_block_plain(%x: tensor<?x64xf32>, %a: tensor<63xf32>,
                                %r: tensor<64x64xf32>, %y: tensor<4x8x4xbf16>,
                                %b: tensor<8x2xf32>, %rh: tensor<8x4x4xbf16>)
    -> (tensor<?x64xf32>, tensor<4x8x4xbf16>) {
  // CHECK: %[[R0:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] : tensor<?x64xf32>, tensor<63xf32>, tensor<64x64xf32>{{$}}
  %0 = rotary.rotation_block %x, %a, %r
      : tensor<?x64xf32>, tensor<63xf32>, tensor<64x64xf32>
  // CHECK: %[[R1:.*]] = rotary.rotation_block %[[Y]], %[[B]], %[[RH]] pairs = [(0, 3), (1, 2)] : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x4x4xbf16>{{$}}
  %1 = rotary.rotation_block %y, %b, %rh pairs = [(0, 3), (1, 2)]
      : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x4x4xbf16>
  // CHECK: return %[[R0]], %[[R1]]
  return %0, %1 : tensor<?x64xf32>, tensor<4x8x4xbf16>
}

// CHECK-LABEL: func @rotation_block_rope
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x?x8x64xf32>, %[[A:[^:]*]]: tensor<8x16xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[P:[^:]*]]: tensor<?xi64>, %[[P2:[^:]*]]: tensor<1x?xi32>, %[[C:[^:]*]]: tensor<2xf32>, %[[Y:[^:]*]]: tensor<2x?x8x64xbf16>, %[[P3:[^:]*]]: tensor<2x?xf32>)
func.func @rotation_block_rope(%x: tensor<1x?x8x64xf32>, %a: tensor<8x16xf32>,
                               %r: tensor<64x64xf32>, %p: tensor<?xi64>,
                               %p2: tensor<1x?xi32>, %c: tensor<2xf32>,
                               %y: tensor<2x?x8x64xbf16>, %p3: tensor<2x?xf32>)
    -> (tensor<1x?x8x64xf32>, tensor<1x?x8x64xf32>, tensor<2x?x8x64xbf16>,
        tensor<2x?x8x64xbf16>) {
  // CHECK: %[[R0:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] rope(%[[P]] : tensor<?xi64>) layout = half : tensor<1x?x8x64xf32>, tensor<8x16xf32>, tensor<64x64xf32>{{$}}
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) layout = half
      : tensor<1x?x8x64xf32>, tensor<8x16xf32>, tensor<64x64xf32>
  // Without `layout` the attribute stays absent.
  // CHECK: %[[R1:.*]] = rotary.rotation_block %[[X]], %[[A]], %[[R]] rope(%[[P2]] : tensor<1x?xi32>) : tensor<1x?x8x64xf32>, tensor<8x16xf32>, tensor<64x64xf32>{{$}}
  %1 = rotary.rotation_block %x, %a, %r rope(%p2 : tensor<1x?xi32>)
      : tensor<1x?x8x64xf32>, tensor<8x16xf32>, tensor<64x64xf32>
  // CHECK: %[[R2:.*]] = rotary.rotation_block %[[Y]], %[[C]], %[[R]] rope(%[[P]] : tensor<?xi64>) pairs = [(0, 1), (62, 63)] layout = interleaved {base = 1.000000e+02 : f32, rotary_dim = 32 : i64} : tensor<2x?x8x64xbf16>, tensor<2xf32>, tensor<64x64xf32>{{$}}
  %2 = rotary.rotation_block %y, %c, %r rope(%p : tensor<?xi64>)
      pairs = [(0, 1), (62, 63)] layout = interleaved
      {rotary_dim = 32 : i64, base = 100.0 : f32}
      : tensor<2x?x8x64xbf16>, tensor<2xf32>, tensor<64x64xf32>
  // CHECK: %[[R3:.*]] = rotary.rotation_block %[[Y]], %[[C]], %[[R]] rope(%[[P3]] : tensor<2x?xf32>) layout = deinterleave : tensor<2x?x8x64xbf16>, tensor<2xf32>, tensor<64x64xf32>{{$}}
  %3 = rotary.rotation_block %y, %c, %r rope(%p3 : tensor<2x?xf32>)
      layout = deinterleave
      : tensor<2x?x8x64xbf16>, tensor<2xf32>, tensor<64x64xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3
      : tensor<1x?x8x64xf32>, tensor<1x?x8x64xf32>, tensor<2x?x8x64xbf16>,
        tensor<2x?x8x64xbf16>
}

//===----------------------------------------------------------------------===//
// rotary.so_generator / rotary.cumulative_rotation / rotary.hdd_rope
//===----------------------------------------------------------------------===//

// The result type [..., c, c] is inferred.
// CHECK-LABEL: func @so_generator
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x?x8x16x6xf32>, %[[B:[^:]*]]: tensor<?x1xf32>, %[[C:[^:]*]]: tensor<28xf32>, %[[D:[^:]*]]: tensor<3x?xf32>)
// CHECK-SAME: -> (tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4x4xf32>, tensor<?x2x2xf32>, tensor<8x8xf32>, tensor<3x32x32xf32>)
func.func @so_generator(%a: tensor<2x?x8x16x6xf32>, %b: tensor<?x1xf32>,
                        %c: tensor<28xf32>, %d: tensor<3x?xf32>)
    -> (tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4x4xf32>, tensor<?x2x2xf32>,
        tensor<8x8xf32>, tensor<3x32x32xf32>) {
  // CHECK: %[[R0:.*]] = rotary.so_generator %[[A]] chunk = 4 form = givens : tensor<2x?x8x16x6xf32>{{$}}
  %0 = rotary.so_generator %a chunk = 4 form = givens : tensor<2x?x8x16x6xf32>
  // CHECK: %[[R1:.*]] = rotary.so_generator %[[A]] chunk = 4 form = exp : tensor<2x?x8x16x6xf32>{{$}}
  %1 = rotary.so_generator %a chunk = 4 form = exp : tensor<2x?x8x16x6xf32>
  // CHECK: %[[R2:.*]] = rotary.so_generator %[[B]] chunk = 2 form = exp : tensor<?x1xf32>{{$}}
  %2 = rotary.so_generator %b chunk = 2 form = exp : tensor<?x1xf32>
  // CHECK: %[[R3:.*]] = rotary.so_generator %[[C]] chunk = 8 form = givens : tensor<28xf32>{{$}}
  %3 = rotary.so_generator %c chunk = 8 form = givens : tensor<28xf32>
  // CHECK: %[[R4:.*]] = rotary.so_generator %[[D]] chunk = 32 form = exp : tensor<3x?xf32>{{$}}
  %4 = rotary.so_generator %d chunk = 32 form = exp : tensor<3x?xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %[[R4]]
  return %0, %1, %2, %3, %4
      : tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4x4xf32>, tensor<?x2x2xf32>,
        tensor<8x8xf32>, tensor<3x32x32xf32>
}

// The default axis (1) is elided, also when given explicitly.
// CHECK-LABEL: func @cumulative_rotation
// CHECK-SAME: (%[[G:[^:]*]]: tensor<2x?x8x16x4x4xf32>, %[[H:[^:]*]]: tensor<?x2x2xf32>)
func.func @cumulative_rotation(%g: tensor<2x?x8x16x4x4xf32>,
                               %h: tensor<?x2x2xf32>)
    -> (tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4x4xf32>,
        tensor<2x?x8x16x4x4xf32>, tensor<?x2x2xf32>) {
  // CHECK: %[[R0:.*]] = rotary.cumulative_rotation %[[G]] : tensor<2x?x8x16x4x4xf32>{{$}}
  %0 = rotary.cumulative_rotation %g : tensor<2x?x8x16x4x4xf32>
  // CHECK: %[[R1:.*]] = rotary.cumulative_rotation %[[G]] : tensor<2x?x8x16x4x4xf32>{{$}}
  %1 = rotary.cumulative_rotation %g {axis = 1} : tensor<2x?x8x16x4x4xf32>
  // CHECK: %[[R2:.*]] = rotary.cumulative_rotation %[[G]] {axis = 3 : i64} : tensor<2x?x8x16x4x4xf32>{{$}}
  %2 = rotary.cumulative_rotation %g {axis = 3 : i64} : tensor<2x?x8x16x4x4xf32>
  // CHECK: %[[R3:.*]] = rotary.cumulative_rotation %[[H]] {axis = 0 : i64} : tensor<?x2x2xf32>{{$}}
  %3 = rotary.cumulative_rotation %h {axis = 0} : tensor<?x2x2xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3
      : tensor<2x?x8x16x4x4xf32>, tensor<2x?x8x16x4x4xf32>,
        tensor<2x?x8x16x4x4xf32>, tensor<?x2x2xf32>
}

// The P form, plain and inverse.
// CHECK-LABEL: func @hdd_rope_p_form
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x?x8x64xbf16>, %[[P:[^:]*]]: tensor<2x?x8x16x4x4xf32>, %[[Y:[^:]*]]: tensor<?x?x?x?xf32>, %[[Q:[^:]*]]: tensor<?x?x?x?x?x?xf32>)
func.func @hdd_rope_p_form(%x: tensor<2x?x8x64xbf16>,
                           %p: tensor<2x?x8x16x4x4xf32>,
                           %y: tensor<?x?x?x?xf32>,
                           %q: tensor<?x?x?x?x?x?xf32>)
    -> (tensor<2x?x8x64xbf16>, tensor<2x?x8x64xbf16>, tensor<?x?x?x?xf32>) {
  // CHECK: %[[R0:.*]] = rotary.hdd_rope %[[X]], %[[P]] : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>{{$}}
  %0 = rotary.hdd_rope %x, %p : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>
  // CHECK: %[[R1:.*]] = rotary.hdd_rope %[[X]], %[[P]] {chunk = 4 : i64, inverse} : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>{{$}}
  %1 = rotary.hdd_rope %x, %p {inverse, chunk = 4 : i64}
      : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x4x4xf32>
  // CHECK: %[[R2:.*]] = rotary.hdd_rope %[[Y]], %[[Q]] {inverse} : tensor<?x?x?x?xf32>, tensor<?x?x?x?x?x?xf32>{{$}}
  %2 = rotary.hdd_rope %y, %q {inverse}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x?x?xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  return %0, %1, %2
      : tensor<2x?x8x64xbf16>, tensor<2x?x8x64xbf16>, tensor<?x?x?x?xf32>
}

// The fused form (angles instead of P), both generator forms.
// CHECK-LABEL: func @hdd_rope_fused
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x?x8x64xbf16>, %[[A:[^:]*]]: tensor<2x?x8x16x6xf32>, %[[Y:[^:]*]]: tensor<1x4x2x8xf16>, %[[B:[^:]*]]: tensor<1x4x2x4x1xf32>)
func.func @hdd_rope_fused(%x: tensor<2x?x8x64xbf16>,
                          %a: tensor<2x?x8x16x6xf32>,
                          %y: tensor<1x4x2x8xf16>,
                          %b: tensor<1x4x2x4x1xf32>)
    -> (tensor<2x?x8x64xbf16>, tensor<1x4x2x8xf16>, tensor<1x4x2x8xf16>) {
  // CHECK: %[[R0:.*]] = rotary.hdd_rope %[[X]], %[[A]] form = givens {chunk = 4 : i64} : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x6xf32>{{$}}
  %0 = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64}
      : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x6xf32>
  // CHECK: %[[R1:.*]] = rotary.hdd_rope %[[Y]], %[[B]] form = exp {chunk = 2 : i64} : tensor<1x4x2x8xf16>, tensor<1x4x2x4x1xf32>{{$}}
  %1 = rotary.hdd_rope %y, %b form = exp {chunk = 2}
      : tensor<1x4x2x8xf16>, tensor<1x4x2x4x1xf32>
  // CHECK: %[[R2:.*]] = rotary.hdd_rope %[[Y]], %[[B]] form = givens {chunk = 2 : i64, inverse} : tensor<1x4x2x8xf16>, tensor<1x4x2x4x1xf32>{{$}}
  %2 = rotary.hdd_rope %y, %b form = givens {chunk = 2, inverse}
      : tensor<1x4x2x8xf16>, tensor<1x4x2x4x1xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  return %0, %1, %2
      : tensor<2x?x8x64xbf16>, tensor<1x4x2x8xf16>, tensor<1x4x2x8xf16>
}

//===----------------------------------------------------------------------===//
// rotary.attention
//===----------------------------------------------------------------------===//

// Both results are inferred: the output like q, the lse [B, H, T] in f32.
// CHECK-LABEL: func @attention_plain
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<?x8x?x64xbf16>, %[[K:[^:]*]]: tensor<?x8x?x64xbf16>, %[[V:[^:]*]]: tensor<?x8x?x64xbf16>)
// CHECK-SAME: -> (tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>)
func.func @attention_plain(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>,
                           %v: tensor<?x8x?x64xbf16>)
    -> (tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>) {
  // CHECK: %[[O:.*]], %[[L:.*]] = rotary.attention %[[Q]], %[[K]], %[[V]] : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>{{$}}
  %o, %lse = rotary.attention %q, %k, %v
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
  // CHECK: return %[[O]], %[[L]]
  return %o, %lse : tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
}

// causal, window, global_tokens, scale; defaults (window = -1,
// global_tokens = 0) are elided.
// CHECK-LABEL: func @attention_pattern
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x4x32x16xf16>, %[[K:[^:]*]]: tensor<1x4x48x16xf16>)
func.func @attention_pattern(%q: tensor<1x4x32x16xf16>, %k: tensor<1x4x48x16xf16>)
    -> (tensor<1x4x32x16xf16>, tensor<1x4x32xf32>, tensor<1x4x32x16xf16>,
        tensor<1x4x32xf32>, tensor<1x4x32x16xf16>, tensor<1x4x32xf32>) {
  // CHECK: %[[O0:.*]], %[[L0:.*]] = rotary.attention %[[Q]], %[[K]], %[[K]] {causal} : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>{{$}}
  %o0, %l0 = rotary.attention %q, %k, %k {causal, window = -1 : i64, global_tokens = 0 : i64}
      : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>
  // CHECK: %[[O1:.*]], %[[L1:.*]] = rotary.attention %[[Q]], %[[K]], %[[K]] {causal, global_tokens = 2 : i64, window = 8 : i64} : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>{{$}}
  %o1, %l1 = rotary.attention %q, %k, %k {causal, window = 8, global_tokens = 2}
      : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>
  // CHECK: %[[O2:.*]], %[[L2:.*]] = rotary.attention %[[Q]], %[[K]], %[[K]] {scale = 1.250000e-01 : f32, window = 0 : i64} : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>{{$}}
  %o2, %l2 = rotary.attention %q, %k, %k {window = 0, scale = 0.125 : f32}
      : tensor<1x4x32x16xf16>, tensor<1x4x48x16xf16>, tensor<1x4x48x16xf16>
  // CHECK: return %[[O0]], %[[L0]], %[[O1]], %[[L1]], %[[O2]], %[[L2]]
  return %o0, %l0, %o1, %l1, %o2, %l2
      : tensor<1x4x32x16xf16>, tensor<1x4x32xf32>, tensor<1x4x32x16xf16>,
        tensor<1x4x32xf32>, tensor<1x4x32x16xf16>, tensor<1x4x32xf32>
}

// bias as a table [H, 2W+1] and as a full [H, T, S] tensor; span + span_ramp.
// CHECK-LABEL: func @attention_bias_span
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x8x128x64xf32>, %[[K:[^:]*]]: tensor<1x8x96x64xf32>, %[[V:[^:]*]]: tensor<1x8x96x64xf32>, %[[BT:[^:]*]]: tensor<8x129xf32>, %[[BF:[^:]*]]: tensor<8x128x96xf32>, %[[S:[^:]*]]: tensor<8xf32>)
func.func @attention_bias_span(%q: tensor<1x8x128x64xf32>,
                               %k: tensor<1x8x96x64xf32>,
                               %v: tensor<1x8x96x64xf32>,
                               %bt: tensor<8x129xf32>,
                               %bf: tensor<8x128x96xf32>,
                               %s: tensor<8xf32>)
    -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128x64xf32>,
        tensor<1x8x128xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128xf32>,
        tensor<1x8x128x64xf32>, tensor<1x8x128xf32>) {
  // CHECK: %[[O0:.*]], %[[L0:.*]] = rotary.attention %[[Q]], %[[K]], %[[V]] bias(%[[BT]] : tensor<8x129xf32>) {causal, window = 64 : i64} : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>{{$}}
  %o0, %l0 = rotary.attention %q, %k, %v bias(%bt : tensor<8x129xf32>)
      {causal, window = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>
  // CHECK: %[[O1:.*]], %[[L1:.*]] = rotary.attention %[[Q]], %[[K]], %[[V]] bias(%[[BF]] : tensor<8x128x96xf32>) : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>{{$}}
  %o1, %l1 = rotary.attention %q, %k, %v bias(%bf : tensor<8x128x96xf32>)
      : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>
  // CHECK: %[[O2:.*]], %[[L2:.*]] = rotary.attention %[[Q]], %[[K]], %[[V]] span(%[[S]] : tensor<8xf32>) {span_ramp = 3.200000e+01 : f32} : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>{{$}}
  %o2, %l2 = rotary.attention %q, %k, %v span(%s : tensor<8xf32>)
      {span_ramp = 32.0 : f32}
      : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>
  // CHECK: %[[O3:.*]], %[[L3:.*]] = rotary.attention %[[Q]], %[[K]], %[[V]] bias(%[[BT]] : tensor<8x129xf32>) span(%[[S]] : tensor<8xf32>) {causal, global_tokens = 4 : i64, scale = 2.500000e-01 : f32, span_ramp = 1.600000e+01 : f32, window = 32 : i64} : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>{{$}}
  %o3, %l3 = rotary.attention %q, %k, %v bias(%bt : tensor<8x129xf32>)
      span(%s : tensor<8xf32>)
      {causal, window = 32, global_tokens = 4, scale = 0.25 : f32,
       span_ramp = 16.0 : f32}
      : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>
  // CHECK: return %[[O0]], %[[L0]], %[[O1]], %[[L1]], %[[O2]], %[[L2]], %[[O3]], %[[L3]]
  return %o0, %l0, %o1, %l1, %o2, %l2, %o3, %l3
      : tensor<1x8x128x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128x64xf32>,
        tensor<1x8x128xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128xf32>,
        tensor<1x8x128x64xf32>, tensor<1x8x128xf32>
}

// Dynamic bias and span shapes.
// CHECK-LABEL: func @attention_dynamic_bias_span
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<?x?x?x?xf32>, %[[B:[^:]*]]: tensor<?x?xf32>, %[[S:[^:]*]]: tensor<?xf32>)
// CHECK-SAME: -> (tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
func.func @attention_dynamic_bias_span(%q: tensor<?x?x?x?xf32>,
                                       %b: tensor<?x?xf32>, %s: tensor<?xf32>)
    -> (tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) {
  // CHECK: %[[O:.*]], %[[L:.*]] = rotary.attention %[[Q]], %[[Q]], %[[Q]] bias(%[[B]] : tensor<?x?xf32>) span(%[[S]] : tensor<?xf32>) {span_ramp = 5.000000e-01 : f32} : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>{{$}}
  %o, %l = rotary.attention %q, %q, %q bias(%b : tensor<?x?xf32>)
      span(%s : tensor<?xf32>) {span_ramp = 0.5 : f32}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  // CHECK: return %[[O]], %[[L]]
  return %o, %l : tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
}

//===----------------------------------------------------------------------===//
// rotary.spectral_bands / rotary.adaptive_momentum / rotary.fam_step
//===----------------------------------------------------------------------===//

// The default eps is elided; the result [n_bands] is inferred.
// CHECK-LABEL: func @spectral_bands
// CHECK-SAME: (%[[P:[^:]*]]: tensor<?xf32>, %[[Q:[^:]*]]: tensor<513xf32>)
// CHECK-SAME: -> (tensor<8xf32>, tensor<10xf32>, tensor<12xf32>, tensor<1xf32>)
func.func @spectral_bands(%p: tensor<?xf32>, %q: tensor<513xf32>)
    -> (tensor<8xf32>, tensor<10xf32>, tensor<12xf32>, tensor<1xf32>) {
  // CHECK: %[[R0:.*]] = rotary.spectral_bands %[[P]] bands = 8 layout = linear : tensor<?xf32>{{$}}
  %0 = rotary.spectral_bands %p bands = 8 layout = linear : tensor<?xf32>
  // CHECK: %[[R1:.*]] = rotary.spectral_bands %[[Q]] bands = 10 layout = log {eps = 9.99999997E-7 : f32} : tensor<513xf32>{{$}}
  %1 = rotary.spectral_bands %q bands = 10 layout = log {eps = 1.0e-6 : f32}
      : tensor<513xf32>
  // CHECK: %[[R2:.*]] = rotary.spectral_bands %[[P]] bands = 12 layout = split {eps = 0.000000e+00 : f32} : tensor<?xf32>{{$}}
  %2 = rotary.spectral_bands %p bands = 12 layout = split {eps = 0.0 : f32}
      : tensor<?xf32>
  // CHECK: %[[R3:.*]] = rotary.spectral_bands %[[Q]] bands = 1 layout = linear : tensor<513xf32>{{$}}
  %3 = rotary.spectral_bands %q bands = 1 layout = linear : tensor<513xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3
      : tensor<8xf32>, tensor<10xf32>, tensor<12xf32>, tensor<1xf32>
}

// CHECK-LABEL: func @adaptive_momentum
// CHECK-SAME: (%[[E:[^:]*]]: tensor<10xf32>, %[[F:[^:]*]]: tensor<?xf32>, %[[A:[^:]*]]: tensor<f32>)
func.func @adaptive_momentum(%e: tensor<10xf32>, %f: tensor<?xf32>,
                             %alpha: tensor<f32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: %[[R0:.*]] = rotary.adaptive_momentum %[[E]], %[[A]] handler = default : tensor<10xf32>{{$}}
  %0 = rotary.adaptive_momentum %e, %alpha handler = default : tensor<10xf32>
  // CHECK: %[[R1:.*]] = rotary.adaptive_momentum %[[E]], %[[A]] handler = conv : tensor<10xf32>{{$}}
  %1 = rotary.adaptive_momentum %e, %alpha handler = conv : tensor<10xf32>
  // CHECK: %[[R2:.*]] = rotary.adaptive_momentum %[[F]], %[[A]] handler = attention : tensor<?xf32>{{$}}
  %2 = rotary.adaptive_momentum %f, %alpha handler = attention : tensor<?xf32>
  // CHECK: %[[R3:.*]] = rotary.adaptive_momentum %[[E]], %[[A]] handler = embedding : tensor<10xf32>{{$}}
  %3 = rotary.adaptive_momentum %e, %alpha handler = embedding : tensor<10xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3 : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}

// The default weight_decay (0) is elided.
// CHECK-LABEL: func @fam_step
// CHECK-SAME: (%[[P:[^:]*]]: tensor<?xf32>, %[[G:[^:]*]]: tensor<?xf32>, %[[M:[^:]*]]: tensor<?xf32>, %[[LR:[^:]*]]: tensor<f32>, %[[AL:[^:]*]]: tensor<f32>, %[[PB:[^:]*]]: tensor<4x4xbf16>, %[[GB:[^:]*]]: tensor<4x4xbf16>, %[[MB:[^:]*]]: tensor<4x4xf32>)
func.func @fam_step(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                    %lr: tensor<f32>, %alpha: tensor<f32>,
                    %pb: tensor<4x4xbf16>, %gb: tensor<4x4xbf16>,
                    %mb: tensor<4x4xf32>)
    -> (tensor<?xf32>, tensor<?xf32>, tensor<4x4xbf16>, tensor<4x4xf32>) {
  // CHECK: %[[P1:.*]], %[[M1:.*]] = rotary.fam_step %[[P]], %[[G]], %[[M]], %[[LR]], %[[AL]] {weight_decay = 0.00999999977 : f32} : tensor<?xf32>, tensor<?xf32>{{$}}
  %p1, %m1 = rotary.fam_step %p, %g, %m, %lr, %alpha {weight_decay = 0.01 : f32}
      : tensor<?xf32>, tensor<?xf32>
  // CHECK: %[[P2:.*]], %[[M2:.*]] = rotary.fam_step %[[PB]], %[[GB]], %[[MB]], %[[LR]], %[[AL]] : tensor<4x4xbf16>, tensor<4x4xf32>{{$}}
  %p2, %m2 = rotary.fam_step %pb, %gb, %mb, %lr, %alpha {weight_decay = 0.0 : f32}
      : tensor<4x4xbf16>, tensor<4x4xf32>
  // CHECK: return %[[P1]], %[[M1]], %[[P2]], %[[M2]]
  return %p1, %m1, %p2, %m2
      : tensor<?xf32>, tensor<?xf32>, tensor<4x4xbf16>, tensor<4x4xf32>
}

// f16 parameters with f16 momentum, a 0-d parameter.
// CHECK-LABEL: func @fam_step_f16_scalar
// CHECK-SAME: (%[[P:[^:]*]]: tensor<2x?x3xf16>, %[[S:[^:]*]]: tensor<f32>)
func.func @fam_step_f16_scalar(%p: tensor<2x?x3xf16>, %s: tensor<f32>)
    -> (tensor<2x?x3xf16>, tensor<2x?x3xf16>, tensor<f32>, tensor<f32>) {
  // CHECK: %[[P1:.*]], %[[M1:.*]] = rotary.fam_step %[[P]], %[[P]], %[[P]], %[[S]], %[[S]] {weight_decay = 1.500000e-02 : f32} : tensor<2x?x3xf16>, tensor<2x?x3xf16>{{$}}
  %p1, %m1 = rotary.fam_step %p, %p, %p, %s, %s {weight_decay = 0.015 : f32}
      : tensor<2x?x3xf16>, tensor<2x?x3xf16>
  // CHECK: %[[P2:.*]], %[[M2:.*]] = rotary.fam_step %[[S]], %[[S]], %[[S]], %[[S]], %[[S]] : tensor<f32>, tensor<f32>{{$}}
  %p2, %m2 = rotary.fam_step %s, %s, %s, %s, %s : tensor<f32>, tensor<f32>
  // CHECK: return %[[P1]], %[[M1]], %[[P2]], %[[M2]]
  return %p1, %m1, %p2, %m2
      : tensor<2x?x3xf16>, tensor<2x?x3xf16>, tensor<f32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @quaternion_rotate
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x3xf32>, %[[U:[^:]*]]: tensor<3xf32>, %[[T:[^:]*]]: tensor<f32>, %[[UU:[^:]*]]: tensor<?x?x3xf32>, %[[TT:[^:]*]]: tensor<?x?xf32>, %[[Y:[^:]*]]: tensor<4x8x3xbf16>, %[[UY:[^:]*]]: tensor<4x8x3xf32>, %[[TY:[^:]*]]: tensor<4x8xf32>)
func.func @quaternion_rotate(%x: tensor<?x?x3xf32>, %u: tensor<3xf32>,
                             %t: tensor<f32>, %uu: tensor<?x?x3xf32>,
                             %tt: tensor<?x?xf32>, %y: tensor<4x8x3xbf16>,
                             %uy: tensor<4x8x3xf32>, %ty: tensor<4x8xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x?x3xf32>, tensor<4x8x3xbf16>,
        tensor<4x8x3xbf16>) {
  // Shared axis [3], scalar angle.
  // CHECK: %[[R0:.*]] = rotary.quaternion_rotate %[[X]], %[[U]], %[[T]] : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>{{$}}
  %0 = rotary.quaternion_rotate %x, %u, %t
      : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>
  // Per-vector axis and angle.
  // CHECK: %[[R1:.*]] = rotary.quaternion_rotate %[[X]], %[[UU]], %[[TT]] : tensor<?x?x3xf32>, tensor<?x?x3xf32>, tensor<?x?xf32>{{$}}
  %1 = rotary.quaternion_rotate %x, %uu, %tt
      : tensor<?x?x3xf32>, tensor<?x?x3xf32>, tensor<?x?xf32>
  // Shared axis, per-vector angle, bf16 data.
  // CHECK: %[[R2:.*]] = rotary.quaternion_rotate %[[Y]], %[[U]], %[[TY]] : tensor<4x8x3xbf16>, tensor<3xf32>, tensor<4x8xf32>{{$}}
  %2 = rotary.quaternion_rotate %y, %u, %ty
      : tensor<4x8x3xbf16>, tensor<3xf32>, tensor<4x8xf32>
  // Per-vector axis, scalar angle.
  // CHECK: %[[R3:.*]] = rotary.quaternion_rotate %[[Y]], %[[UY]], %[[T]] : tensor<4x8x3xbf16>, tensor<4x8x3xf32>, tensor<f32>{{$}}
  %3 = rotary.quaternion_rotate %y, %uy, %t
      : tensor<4x8x3xbf16>, tensor<4x8x3xf32>, tensor<f32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]
  return %0, %1, %2, %3
      : tensor<?x?x3xf32>, tensor<?x?x3xf32>, tensor<4x8x3xbf16>,
        tensor<4x8x3xbf16>
}

// The projection form of docs/Math.md §8: x·P to 3-D, rotate, back with Pᵀ.
// CHECK-LABEL: func @projection
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x64xf32>, %[[P:[^:]*]]: tensor<64x3xf32>, %[[U:[^:]*]]: tensor<3xf32>, %[[T:[^:]*]]: tensor<f32>)
func.func @projection(%x: tensor<?x64xf32>, %p: tensor<64x3xf32>, %u: tensor<3xf32>, %t: tensor<f32>) -> (tensor<?x64xf32>, tensor<f32>) {
  // CHECK: %[[X3:.*]] = rotary.orthogonal %[[X]], %[[P]] : tensor<?x64xf32>, tensor<64x3xf32>{{$}}
  %0 = rotary.orthogonal %x, %p : tensor<?x64xf32>, tensor<64x3xf32>
  // CHECK: %[[R3:.*]] = rotary.quaternion_rotate %[[X3]], %[[U]], %[[T]] : tensor<?x3xf32>, tensor<3xf32>, tensor<f32>{{$}}
  %1 = rotary.quaternion_rotate %0, %u, %t : tensor<?x3xf32>, tensor<3xf32>, tensor<f32>
  // CHECK: %[[Y:.*]] = rotary.orthogonal %[[R3]], %[[P]] {transpose} : tensor<?x3xf32>, tensor<64x3xf32>{{$}}
  %2 = rotary.orthogonal %1, %p {transpose} : tensor<?x3xf32>, tensor<64x3xf32>
  // CHECK: %[[PEN:.*]] = rotary.orthogonality_penalty %[[P]] : tensor<64x3xf32>{{$}}
  %3 = rotary.orthogonality_penalty %p : tensor<64x3xf32>
  // CHECK: return %[[Y]], %[[PEN]]
  return %2, %3 : tensor<?x64xf32>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// rotary.online_attention (the structured level)
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @online_attention_plain
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x8x48x64xf32>, %[[K:[^:]*]]: tensor<1x8x?x64xf32>, %[[P:[^:]*]]: index, %[[O:[^:]*]]: tensor<1x8x48x64xf32>, %[[L:[^:]*]]: tensor<1x8x48xf32>)
func.func @online_attention_plain(%q: tensor<1x8x48x64xf32>, %k: tensor<1x8x?x64xf32>, %p: index, %o: tensor<1x8x48x64xf32>, %l: tensor<1x8x48xf32>) -> (tensor<1x8x48x64xf32>, tensor<1x8x48xf32>) {
  // CHECK: rotary.online_attention ins(%[[Q]], %[[K]], %[[K]] : tensor<1x8x48x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) first_position(%[[P]]) outs(%[[O]], %[[L]] : tensor<1x8x48x64xf32>, tensor<1x8x48xf32>) {causal} -> tensor<1x8x48x64xf32>, tensor<1x8x48xf32>{{$}}
  %0:2 = rotary.online_attention ins(%q, %k, %k : tensor<1x8x48x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>)
      first_position(%p) outs(%o, %l : tensor<1x8x48x64xf32>, tensor<1x8x48xf32>) {causal}
      -> tensor<1x8x48x64xf32>, tensor<1x8x48xf32>
  return %0#0, %0#1 : tensor<1x8x48x64xf32>, tensor<1x8x48xf32>
}

// Every optional operand and attribute, and the schedule's tiles.
// CHECK-LABEL: func @online_attention_everything
// CHECK: rotary.online_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x?x4xbf16>, tensor<?x2x?x4xbf16>, tensor<?x2x?x4xbf16>) bias(%{{.*}} : tensor<2x9xf32>) span(%{{.*}} : tensor<2xf32>) first_position(%{{.*}}) outs(%{{.*}}, %{{.*}} : tensor<?x2x?x4xbf16>, tensor<?x2x?xf32>) {causal, global_tokens = 1 : i64, rotary.tiles = {key = 64 : i64, query = 48 : i64}, scale = 5.000000e-01 : f32, span_ramp = 4.000000e+00 : f32, window = 2 : i64} -> tensor<?x2x?x4xbf16>, tensor<?x2x?xf32>{{$}}
func.func @online_attention_everything(%q: tensor<?x2x?x4xbf16>, %b: tensor<2x9xf32>, %s: tensor<2xf32>, %p: index, %o: tensor<?x2x?x4xbf16>, %l: tensor<?x2x?xf32>) -> tensor<?x2x?x4xbf16> {
  %0:2 = rotary.online_attention ins(%q, %q, %q : tensor<?x2x?x4xbf16>, tensor<?x2x?x4xbf16>, tensor<?x2x?x4xbf16>)
      bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>) first_position(%p)
      outs(%o, %l : tensor<?x2x?x4xbf16>, tensor<?x2x?xf32>)
      {causal, window = 2 : i64, global_tokens = 1 : i64, scale = 0.5 : f32, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<?x2x?x4xbf16>, tensor<?x2x?xf32>
  return %0#0 : tensor<?x2x?x4xbf16>
}

// The two passes of attention's gradient, with and without the optional
// operands (a bias table and span add the query pass's partials).
// CHECK-LABEL: func @online_attention_grad_passes
// CHECK: rotary.online_attention_query_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x6xf32>) bias(%{{.*}} : tensor<2x9xf32>) span(%{{.*}} : tensor<2xf32>) first_position(%{{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x6x4xbf16>, tensor<2x6x9xf32>, tensor<2x6xf32>) {causal, global_tokens = 1 : i64, scale = 5.000000e-01 : f32, span_ramp = 4.000000e+00 : f32, window = 2 : i64} -> tensor<2x2x6x4xbf16>, tensor<2x6x9xf32>, tensor<2x6xf32>{{$}}
// CHECK: rotary.online_attention_key_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x6xf32>) first_position(%{{.*}}) first_key(%{{.*}}) outs(%{{.*}}, %{{.*}} : tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>) -> tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>{{$}}
func.func @online_attention_grad_passes(%q: tensor<2x2x6x4xbf16>, %k: tensor<2x2x8x4xbf16>, %lse: tensor<2x2x6xf32>, %b: tensor<2x9xf32>, %s: tensor<2xf32>, %p: index, %db: tensor<2x6x9xf32>, %ds: tensor<2x6xf32>) -> (tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>) {
  %0:3 = rotary.online_attention_query_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x6xf32>)
      bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>) first_position(%p)
      outs(%q, %db, %ds : tensor<2x2x6x4xbf16>, tensor<2x6x9xf32>, tensor<2x6xf32>)
      {causal, window = 2 : i64, global_tokens = 1 : i64, scale = 0.5 : f32, span_ramp = 4.0 : f32}
      -> tensor<2x2x6x4xbf16>, tensor<2x6x9xf32>, tensor<2x6xf32>
  %1:2 = rotary.online_attention_key_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x6xf32>)
      first_position(%p) first_key(%p) outs(%k, %k : tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>)
      -> tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>
  return %0#0, %1#1 : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>
}

// The fused gradient: q̄, k̄, v̄, then the partials of a full bias and a span.
// CHECK-LABEL: func @online_attention_grad_fused
// CHECK: rotary.online_attention_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x6xf32>) bias(%{{.*}} : tensor<2x6x8xf32>) span(%{{.*}} : tensor<2xf32>) first_position(%{{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x8xf32>, tensor<2x6xf32>) {span_ramp = 4.000000e+00 : f32} -> tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x8xf32>, tensor<2x6xf32>{{$}}
func.func @online_attention_grad_fused(%q: tensor<2x2x6x4xf32>, %k: tensor<2x2x8x4xf32>, %lse: tensor<2x2x6xf32>, %b: tensor<2x6x8xf32>, %s: tensor<2xf32>, %p: index, %ds: tensor<2x6xf32>) -> tensor<2x6x8xf32> {
  %0:5 = rotary.online_attention_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x6xf32>)
      bias(%b : tensor<2x6x8xf32>) span(%s : tensor<2xf32>) first_position(%p)
      outs(%q, %k, %k, %b, %ds : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x8xf32>, tensor<2x6xf32>)
      {span_ramp = 4.0 : f32}
      -> tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x8xf32>, tensor<2x6xf32>
  return %0#3 : tensor<2x6x8xf32>
}

// Fused Givens-form HDD-RoPE on lanes.
// CHECK-LABEL: func @hdd_rope_lanes
// CHECK: rotary.hdd_rope_lanes ins(%{{.*}}, %{{.*}} : tensor<2x?x64xbf16>, tensor<2x?x96xf32>) first_lane(%{{.*}}) outs(%{{.*}} : tensor<2x?x32xbf16>) {chunk = 4 : i64, inverse} -> tensor<2x?x32xbf16>{{$}}
func.func @hdd_rope_lanes(%x: tensor<2x?x64xbf16>, %a: tensor<2x?x96xf32>, %l: index, %y: tensor<2x?x32xbf16>) -> tensor<2x?x32xbf16> {
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<2x?x64xbf16>, tensor<2x?x96xf32>) first_lane(%l) outs(%y : tensor<2x?x32xbf16>) {chunk = 4 : i64, inverse} -> tensor<2x?x32xbf16>
  return %0 : tensor<2x?x32xbf16>
}

// The exp form (c <= 8); the default Givens form is not printed.
// CHECK-LABEL: func @hdd_rope_lanes_exp
// CHECK: rotary.hdd_rope_lanes ins(%{{.*}}, %{{.*}} : tensor<2x?x64xf32>, tensor<2x?x96xf32>) first_lane(%{{.*}}) outs(%{{.*}} : tensor<2x?x64xf32>) {chunk = 4 : i64, form = #rotary<so_form exp>} -> tensor<2x?x64xf32>{{$}}
func.func @hdd_rope_lanes_exp(%x: tensor<2x?x64xf32>, %a: tensor<2x?x96xf32>, %l: index) -> tensor<2x?x64xf32> {
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<2x?x64xf32>, tensor<2x?x96xf32>) first_lane(%l) outs(%x : tensor<2x?x64xf32>) {chunk = 4 : i64, form = #rotary<so_form exp>} -> tensor<2x?x64xf32>
  return %0 : tensor<2x?x64xf32>
}

// CHECK-LABEL: func @hdd_rope_lanes_grad
// CHECK: rotary.hdd_rope_lanes_grad ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x64xf32>, tensor<2x?x96xf32>) first_lane(%{{.*}}) outs(%{{.*}}, %{{.*}} : tensor<2x?x32xf32>, tensor<2x?x48xf32>) {chunk = 4 : i64} -> tensor<2x?x32xf32>, tensor<2x?x48xf32>{{$}}
func.func @hdd_rope_lanes_grad(%x: tensor<2x?x64xf32>, %a: tensor<2x?x96xf32>, %l: index, %dx: tensor<2x?x32xf32>, %da: tensor<2x?x48xf32>) -> tensor<2x?x48xf32> {
  %0:2 = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<2x?x64xf32>, tensor<2x?x96xf32>) first_lane(%l) outs(%dx, %da : tensor<2x?x32xf32>, tensor<2x?x48xf32>) {chunk = 4 : i64} -> tensor<2x?x32xf32>, tensor<2x?x48xf32>
  return %0#1 : tensor<2x?x48xf32>
}

// CHECK-LABEL: func @givens_rows
// CHECK: rotary.givens_rows ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x1x64xbf16>, tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>) outs(%{{.*}} : tensor<?x1x64xbf16>) {reverse} -> tensor<?x1x64xbf16>{{$}}
func.func @givens_rows(%x: tensor<?x1x64xbf16>, %c: tensor<1x2016xf32>, %p: tensor<2016x2xindex>) -> tensor<?x1x64xbf16> {
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xbf16>, tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>) outs(%x : tensor<?x1x64xbf16>) {reverse} -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}

// CHECK-LABEL: func @givens_rows_matrix
// CHECK: rotary.givens_rows ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x16xf32>, tensor<8x?xf32>, tensor<8x?xf32>, tensor<?x2xindex>) matrix(%{{.*}} : tensor<8x16x16xbf16>) outs(%{{.*}} : tensor<?x8x16xbf16>) -> tensor<?x8x16xbf16>{{$}}
func.func @givens_rows_matrix(%x: tensor<?x8x16xf32>, %c: tensor<8x?xf32>, %p: tensor<?x2xindex>, %r: tensor<8x16x16xbf16>, %y: tensor<?x8x16xbf16>) -> tensor<?x8x16xbf16> {
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x8x16xf32>, tensor<8x?xf32>, tensor<8x?xf32>, tensor<?x2xindex>) matrix(%r : tensor<8x16x16xbf16>) outs(%y : tensor<?x8x16xbf16>) -> tensor<?x8x16xbf16>
  return %0 : tensor<?x8x16xbf16>
}

// CHECK-LABEL: func @givens_rows_grad
// CHECK: rotary.givens_rows_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x2x8xbf16>, tensor<2x28xf64>, tensor<28x2xindex>) outs(%{{.*}}, %{{.*}} : tensor<?x2x8xbf16>, tensor<2x28xf64>) {reverse} -> tensor<?x2x8xbf16>, tensor<2x28xf64>{{$}}
func.func @givens_rows_grad(%x: tensor<?x2x8xbf16>, %c: tensor<2x28xf64>, %p: tensor<28x2xindex>) -> tensor<2x28xf64> {
  %dx, %da = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<?x2x8xbf16>, tensor<2x28xf64>, tensor<28x2xindex>) outs(%x, %c : tensor<?x2x8xbf16>, tensor<2x28xf64>) {reverse} -> tensor<?x2x8xbf16>, tensor<2x28xf64>
  return %da : tensor<2x28xf64>
}

// CHECK-LABEL: func @rope_tokens_grad
// CHECK: rotary.rope_tokens_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x4x16xbf16>, tensor<?x?x8xf32>, tensor<?x?xi32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x4x16xbf16>, tensor<8xf64>) layout = deinterleave {inverse} -> tensor<?x?x4x16xbf16>, tensor<8xf64>, tensor<8xf64>{{$}}
// CHECK: rotary.rope_tokens_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3x1x6xf32>, tensor<3x3xf32>, tensor<3xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3x1x6xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<3xf64>, tensor<3xf64>{{$}}
func.func @rope_tokens_grad(%x: tensor<?x?x4x16xbf16>, %c: tensor<?x?x8xf32>, %p: tensor<?x?xi32>, %s: tensor<8xf64>,
    %x2: tensor<2x3x1x6xf32>, %c2: tensor<3x3xf32>, %p2: tensor<3xf32>, %s2: tensor<3xf64>) -> (tensor<8xf64>, tensor<3xf64>) {
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xbf16>, tensor<?x?x8xf32>, tensor<?x?xi32>) outs(%x, %s, %s : tensor<?x?x4x16xbf16>, tensor<8xf64>) layout = deinterleave {inverse} -> tensor<?x?x4x16xbf16>, tensor<8xf64>, tensor<8xf64>
  %dx2, %a2, %b2 = rotary.rope_tokens_grad ins(%x2, %x2, %c2, %c2, %p2 : tensor<2x3x1x6xf32>, tensor<3x3xf32>, tensor<3xf32>) outs(%x2, %s2, %s2 : tensor<2x3x1x6xf32>, tensor<3xf64>) layout = half -> tensor<2x3x1x6xf32>, tensor<3xf64>, tensor<3xf64>
  return %a, %b2 : tensor<8xf64>, tensor<3xf64>
}

// CHECK-LABEL: func @rotation_scan
// CHECK: rotary.rotation_scan ins(%{{.*}} : tensor<2x?x8x4x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>{{$}}
// CHECK: rotary.rotation_scan ins(%{{.*}} : tensor<2x?x8x4x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) {exclusive} -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>{{$}}
func.func @rotation_scan(%g: tensor<2x?x8x4x4xf32>, %c: tensor<2x8x4x4xf32>) -> (tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) {
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x8x4x4xf32>) outs(%g, %c : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>
  %q, %carry2 = rotary.rotation_scan ins(%g : tensor<2x?x8x4x4xf32>) outs(%p, %carry : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) {exclusive} -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>
  return %q, %carry2 : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>
}
