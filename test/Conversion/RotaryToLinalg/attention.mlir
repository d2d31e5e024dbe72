// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not=rotary.attention

// rotary.attention lowering (lib/Conversion/RotaryToLinalg/LowerAttention.cpp):
// convert-rotary-to-linalg only turns it into its destination-passing form,
// one rotary.online_attention over all the queries, whose row 0 sits at
// first_position = S - T, written into new tensors (tensor.empty: o like q,
// lse [B, H, T] f32). Attributes, bias and span are carried over; no tile size
// is chosen here. The tiling and the FlashAttention loops are
// rotary-tile-and-decompose's (tile-and-decompose.mlir). No rotary.attention
// may remain anywhere (--implicit-check-not).

// T = 6, S = 8: first_position = 8 - 6, not 6 - 8.
// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>)
// CHECK-DAG:   %[[OUT:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-DAG:   %[[LSE:.*]] = tensor.empty() : tensor<1x2x6xf32>
// CHECK-DAG:   %[[T:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[S:.*]] = arith.constant 8 : index
// CHECK:       %[[P:.*]] = arith.subi %[[S]], %[[T]] : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[V]] : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
// CHECK-SAME:    first_position(%[[P]]) outs(%[[OUT]], %[[LSE]] : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
// CHECK-SAME:    {causal, window = 2 : i64} -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
func.func @causal_window(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 2 : i64}
      : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// A bias table and an explicit scale, not causal: the table is the bias
// operand, the scale an attribute; no causal or window appears.
// CHECK-LABEL: func.func @bias_table(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[TABLE:[^:]*]]: tensor<2x9xf32>)
// CHECK-DAG:   %[[OUT:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-DAG:   %[[LSE:.*]] = tensor.empty() : tensor<1x2x6xf32>
// CHECK-DAG:   %[[T:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[S:.*]] = arith.constant 8 : index
// CHECK:       %[[P:.*]] = arith.subi %[[S]], %[[T]] : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[K]] : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
// CHECK-SAME:    bias(%[[TABLE]] : tensor<2x9xf32>) first_position(%[[P]]) outs(%[[OUT]], %[[LSE]] : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
// CHECK-SAME:    {scale = 5.000000e-01 : f32} -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
func.func @bias_table(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %b: tensor<2x9xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o, %lse = rotary.attention %q, %k, %k bias(%b : tensor<2x9xf32>) {scale = 0.5 : f32}
      : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// Adaptive span: the span operand and span_ramp carried over.
// CHECK-LABEL: func.func @span(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x8x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[SPAN:[^:]*]]: tensor<2xf32>)
// CHECK-DAG:   %[[OUT:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// CHECK-DAG:   %[[LSE:.*]] = tensor.empty() : tensor<1x2x8xf32>
// CHECK:       %[[P:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[K]] : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
// CHECK-SAME:    span(%[[SPAN]] : tensor<2xf32>) first_position(%[[P]]) outs(%[[OUT]], %[[LSE]] : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
// CHECK-SAME:    {causal, span_ramp = 4.000000e+00 : f32} -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
func.func @span(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %s: tensor<2xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %k span(%s : tensor<2xf32>) {causal, span_ramp = 4.0 : f32}
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// -----

// global_tokens carried over with causal and window; no bias, no span.
// CHECK-LABEL: func.func @global_tokens(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x8x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>)
// CHECK:       %[[P:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[K]] : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
// CHECK-SAME:    first_position(%[[P]]) outs(%{{.*}}, %{{.*}} : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
// CHECK-SAME:    {causal, global_tokens = 3 : i64, window = 2 : i64} -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
func.func @global_tokens(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %k {causal, window = 2 : i64, global_tokens = 3 : i64}
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// -----

// bf16 data: the output init is bf16 like q; lse stays f32.
// CHECK-LABEL: func.func @bf16(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x8x4xbf16>, %[[K:[^:]*]]: tensor<1x2x8x4xbf16>, %[[V:[^:]*]]: tensor<1x2x8x4xbf16>)
// CHECK-DAG:   %[[OUT:.*]] = tensor.empty() : tensor<1x2x8x4xbf16>
// CHECK-DAG:   %[[LSE:.*]] = tensor.empty() : tensor<1x2x8xf32>
// CHECK:       %[[P:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[V]] : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>)
// CHECK-SAME:    first_position(%[[P]]) outs(%[[OUT]], %[[LSE]] : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>)
// CHECK-SAME:    {causal} -> tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
func.func @bf16(%q: tensor<1x2x8x4xbf16>, %k: tensor<1x2x8x4xbf16>, %v: tensor<1x2x8x4xbf16>) -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %v {causal}
      : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>
  return %o, %lse : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
}

// -----

// Fully dynamic shapes: the inits are sized by q's dims (lse by B, H, T,
// o by all four) and first_position = dim(k, 2) - dim(q, 2), not T - S.
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<?x?x?x?xf32>, %[[K:[^:]*]]: tensor<?x?x?x?xf32>, %[[V:[^:]*]]: tensor<?x?x?x?xf32>)
// lse's sizes: B, H, T of q (its D unused).
// CHECK:       %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[LB:.*]] = tensor.dim %[[Q]], %[[C0]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:  %[[LH:.*]] = tensor.dim %[[Q]], %[[C1]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[LT:.*]] = tensor.dim %[[Q]], %[[C2]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT:  tensor.dim %[[Q]], %[[C3]] : tensor<?x?x?x?xf32>
// o's sizes: all four of q.
// CHECK-NEXT:  %[[OC0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[OB:.*]] = tensor.dim %[[Q]], %[[OC0]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[OC1:.*]] = arith.constant 1 : index
// CHECK-NEXT:  %[[OH:.*]] = tensor.dim %[[Q]], %[[OC1]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[OC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[OT:.*]] = tensor.dim %[[Q]], %[[OC2]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[OC3:.*]] = arith.constant 3 : index
// CHECK-NEXT:  %[[OD:.*]] = tensor.dim %[[Q]], %[[OC3]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[OUT:.*]] = tensor.empty(%[[OB]], %[[OH]], %[[OT]], %[[OD]]) : tensor<?x?x?x?xf32>
// CHECK-NEXT:  %[[LSE:.*]] = tensor.empty(%[[LB]], %[[LH]], %[[LT]]) : tensor<?x?x?xf32>
// S = dim(k, 2), then T = dim(q, 2) (a fixed order).
// CHECK:       %[[SC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[S:.*]] = tensor.dim %[[K]], %[[SC2]] : tensor<?x?x?x?xf32>
// CHECK:       %[[TC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[T:.*]] = tensor.dim %[[Q]], %[[TC2]] : tensor<?x?x?x?xf32>
// CHECK:       %[[P:.*]] = arith.subi %[[S]], %[[T]] : index
// CHECK-NEXT:  %[[O:[^,]*]], %[[L:[^ ]*]] = rotary.online_attention ins(%[[Q]], %[[K]], %[[V]] : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>)
// CHECK-SAME:    first_position(%[[P]]) outs(%[[OUT]], %[[LSE]] : tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
// CHECK-SAME:    {causal} -> tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
// CHECK-NEXT:  return %[[O]], %[[L]] : tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
func.func @dynamic(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>) -> (tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) {
  %o, %lse = rotary.attention %q, %k, %v {causal}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %o, %lse : tensor<?x?x?x?xf32>, tensor<?x?x?xf32>
}

// -----

// Tiles recorded on rotary.attention itself (an experiment's choice) stay the
// structured op's; the lowering chooses none.
// CHECK-LABEL: func.func @recorded_tiles(
// CHECK:       rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}} ->
func.func @recorded_tiles(%q: tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32> {
  %o, %lse = rotary.attention %q, %q, %q {causal, rotary.tiles = {query = 7 : i64, key = 5 : i64}}
      : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}
