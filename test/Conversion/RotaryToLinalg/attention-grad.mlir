// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not=rotary.attention_grad

// convert-rotary-to-linalg on rotary.attention_grad (lib/Conversion/
// RotaryToLinalg/LowerAttentionGrad.cpp): the FlashAttention-2 backward as
// 1. δ [B, H, T] = Σ_d ȯ·o (− l̄se), one reduction generic;
// 2. rotary.online_attention_query_grad (the query pass: q̄, and the bias and
//    span partials per (h, query) when there are a bias and a span);
// 3. rotary.online_attention_key_grad (the key pass: k̄ and v̄), first_key 0;
// both with first_position = S - T and the attention's attributes, tiled and
// decomposed later by rotary-tile-and-decompose (tile-and-decompose.mlir);
// 4. a bias table's and a span's partials [H, T, ·] summed over T (a full
// bias's partial is its gradient).

// No dlse, no bias, no span; o doubles as ȯ here (distinct in @tiles).
// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x4x16x8xf32>, %[[O:[^:]*]]: tensor<2x4x16x8xf32>, %[[LSE:[^:]*]]: tensor<2x4x16xf32>)
// δ from a zero fill: Σ_d ȯ·o over d3.
// CHECK-NEXT:  %[[DE:.*]] = tensor.empty() : tensor<2x4x16xf32>
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  %[[DINIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[DE]] : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NEXT:  %[[DELTA:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[O]], %[[O]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) outs(%[[DINIT]] : tensor<2x4x16xf32>)
// CHECK-NEXT:  ^bb0(%[[DA:[a-z0-9_]+]]: f32, %[[DB:[a-z0-9_]+]]: f32, %[[DACC:[a-z0-9_]+]]: f32):
// CHECK-NEXT:    %[[DM:.*]] = arith.mulf %[[DA]], %[[DB]] : f32
// CHECK-NEXT:    %[[DS:.*]] = arith.addf %[[DACC]], %[[DM]] : f32
// CHECK-NEXT:    linalg.yield %[[DS]] : f32
// The query pass into an empty q̄; first_position = S - T (16 - 16 here:
// @tiles checks the operand order); attributes as given, no rotary.tiles.
// CHECK:       %[[DQI:.*]] = tensor.empty() : tensor<2x4x16x8xf32>
// CHECK-NEXT:  arith.constant 16 : index
// CHECK-NEXT:  arith.constant 16 : index
// CHECK-NEXT:  %[[FIRST:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:  %[[DQ:.*]] = rotary.online_attention_query_grad ins(%[[Q]], %[[Q]], %[[Q]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>) first_position(%[[FIRST]]) outs(%[[DQI]] : tensor<2x4x16x8xf32>) {causal, window = 3 : i64} -> tensor<2x4x16x8xf32>{{$}}
// The key pass into empty k̄, v̄, from key 0, the same first_position.
// CHECK-NEXT:  %[[DKI:.*]] = tensor.empty() : tensor<2x4x16x8xf32>
// CHECK-NEXT:  %[[DVI:.*]] = tensor.empty() : tensor<2x4x16x8xf32>
// CHECK-NEXT:  %[[J0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[KV:.*]]:2 = rotary.online_attention_key_grad ins(%[[Q]], %[[Q]], %[[Q]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>) first_position(%[[FIRST]]) first_key(%[[J0]]) outs(%[[DKI]], %[[DVI]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {causal, window = 3 : i64} -> tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>{{$}}
// CHECK-NEXT:  return %[[DQ]], %[[KV]]#0, %[[KV]]#1 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
func.func @causal_window(%q: tensor<2x4x16x8xf32>, %o: tensor<2x4x16x8xf32>, %lse: tensor<2x4x16xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %dq, %dk, %dv = rotary.attention_grad %q, %q, %q, %o, %lse, %o {causal, window = 3 : i64}
      : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16xf32>
  return %dq, %dk, %dv : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// -----

// A bias table [H, 2W'+1], a span and dlse, dynamic B, T, S: δ starts at
// −dlse; the query pass also writes the bias-table partial [H, T, 2W'+1]
// and the span partial [H, T] (both f32, T from q), summed over T into
// zero-filled [H, 2W'+1] and [H].
// CHECK-LABEL: func.func @table_span_dlse(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<?x4x?x8xf32>, %[[K:[^:]*]]: tensor<?x4x?x8xf32>, %[[O:[^:]*]]: tensor<?x4x?x8xf32>, %[[LSE:[^:]*]]: tensor<?x4x?xf32>, %[[DL:[^:]*]]: tensor<?x4x?xf32>, %[[TABLE:[^:]*]]: tensor<4x9xf32>, %[[SPAN:[^:]*]]: tensor<4xf32>)
// CHECK-NEXT:  %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[BD:.*]] = tensor.dim %[[Q]], %[[C0]] : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[TD:.*]] = tensor.dim %[[Q]], %[[C2]] : tensor<?x4x?x8xf32>
// δ's init: −dlse, elementwise.
// CHECK:       %[[NEG:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[DL]] : tensor<?x4x?xf32>) outs(%{{.*}} : tensor<?x4x?xf32>)
// CHECK-NEXT:  ^bb0(%[[NIN:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:    %[[NV:.*]] = arith.negf %[[NIN]] : f32
// CHECK-NEXT:    linalg.yield %[[NV]] : f32
// CHECK:       %[[DELTA:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[O]], %[[O]] : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) outs(%[[NEG]] : tensor<?x4x?xf32>)
// Query-pass inits: q̄ like q, the partials [4, T, 9] and [4, T].
// CHECK:       %[[QC0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[QB:.*]] = tensor.dim %[[Q]], %[[QC0]] : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[QC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[QT:.*]] = tensor.dim %[[Q]], %[[QC2]] : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[DQI:.*]] = tensor.empty(%[[QB]], %[[QT]]) : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[DBI:.*]] = tensor.empty(%[[TD]]) : tensor<4x?x9xf32>
// CHECK-NEXT:  %[[DSI:.*]] = tensor.empty(%[[TD]]) : tensor<4x?xf32>
// first_position = dim 2 of k - dim 2 of q (index constants print as %c<value>).
// CHECK-DAG:   %[[TQ:.*]] = tensor.dim %[[Q]], %c2{{(_[0-9]+)?}} : tensor<?x4x?x8xf32>
// CHECK-DAG:   %[[SK:.*]] = tensor.dim %[[K]], %c2{{(_[0-9]+)?}} : tensor<?x4x?x8xf32>
// CHECK:       %[[FIRST:.*]] = arith.subi %[[SK]], %[[TQ]] : index
// CHECK-NEXT:  %[[P1:.*]]:3 = rotary.online_attention_query_grad ins(%[[Q]], %[[K]], %[[K]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?xf32>) bias(%[[TABLE]] : tensor<4x9xf32>) span(%[[SPAN]] : tensor<4xf32>) first_position(%[[FIRST]]) outs(%[[DQI]], %[[DBI]], %[[DSI]] : tensor<?x4x?x8xf32>, tensor<4x?x9xf32>, tensor<4x?xf32>) {global_tokens = 2 : i64, span_ramp = 4.000000e+00 : f32} -> tensor<?x4x?x8xf32>, tensor<4x?x9xf32>, tensor<4x?xf32>{{$}}
// Key-pass inits like k; bias and span read, not written.
// CHECK-NEXT:  %[[KC0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[KB:.*]] = tensor.dim %[[K]], %[[KC0]] : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[KC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[KS:.*]] = tensor.dim %[[K]], %[[KC2]] : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[DKI:.*]] = tensor.empty(%[[KB]], %[[KS]]) : tensor<?x4x?x8xf32>
// CHECK:       %[[DVI:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x4x?x8xf32>
// CHECK-NEXT:  %[[J0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[P2:.*]]:2 = rotary.online_attention_key_grad ins(%[[Q]], %[[K]], %[[K]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?xf32>) bias(%[[TABLE]] : tensor<4x9xf32>) span(%[[SPAN]] : tensor<4xf32>) first_position(%[[FIRST]]) first_key(%[[J0]]) outs(%[[DKI]], %[[DVI]] : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) {global_tokens = 2 : i64, span_ramp = 4.000000e+00 : f32} -> tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>{{$}}
// The table partial summed over T (d1) into a zero fill.
// CHECK:       %[[BE:.*]] = tensor.empty() : tensor<4x9xf32>
// CHECK-NEXT:  %[[BZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  %[[BI:.*]] = linalg.fill ins(%[[BZ]] : f32) outs(%[[BE]] : tensor<4x9xf32>) -> tensor<4x9xf32>
// CHECK-NEXT:  %[[DB:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[P1]]#1 : tensor<4x?x9xf32>) outs(%[[BI]] : tensor<4x9xf32>)
// CHECK-NEXT:  ^bb0(%[[BX:[a-z0-9_]+]]: f32, %[[BY:[a-z0-9_]+]]: f32):
// CHECK-NEXT:    %[[BXY:.*]] = arith.addf %[[BX]], %[[BY]] : f32
// CHECK-NEXT:    linalg.yield %[[BXY]] : f32
// The span partial summed over T (d1) into a zero fill.
// CHECK:       %[[SE:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT:  %[[SZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:  %[[SI:.*]] = linalg.fill ins(%[[SZ]] : f32) outs(%[[SE]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:  %[[DS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[P1]]#2 : tensor<4x?xf32>) outs(%[[SI]] : tensor<4xf32>)
// CHECK-NEXT:  ^bb0(%[[SX:[a-z0-9_]+]]: f32, %[[SY:[a-z0-9_]+]]: f32):
// CHECK-NEXT:    %[[SXY:.*]] = arith.addf %[[SX]], %[[SY]] : f32
// CHECK-NEXT:    linalg.yield %[[SXY]] : f32
// CHECK:       return %[[DB]], %[[DS]] : tensor<4x9xf32>, tensor<4xf32>
func.func @table_span_dlse(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %o: tensor<?x4x?x8xf32>, %lse: tensor<?x4x?xf32>, %dl: tensor<?x4x?xf32>, %b: tensor<4x9xf32>, %s: tensor<4xf32>) -> (tensor<4x9xf32>, tensor<4xf32>) {
  %r:5 = rotary.attention_grad %q, %k, %k, %o, %lse, %o dlse(%dl : tensor<?x4x?xf32>) bias(%b : tensor<4x9xf32>) span(%s : tensor<4xf32>) {global_tokens = 2 : i64, span_ramp = 4.0 : f32}
      : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?xf32>
  return %r#3, %r#4 : tensor<4x9xf32>, tensor<4xf32>
}

// -----

// bf16 data: δ widens both inputs (f32); q̄, k̄, v̄ inits stay bf16. A full
// bias [H, T, S]: the query pass's f32 partial [H, T, S] (T from q, S from
// k) is the gradient itself, no reduction after the passes.
// CHECK-LABEL: func.func @full_bias_bf16(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<?x2x?x8xbf16>, %[[K:[^:]*]]: tensor<?x2x?x8xbf16>, %[[O:[^:]*]]: tensor<?x2x?x8xbf16>, %[[LSE:[^:]*]]: tensor<?x2x?xf32>, %[[BIAS:[^:]*]]: tensor<2x?x?xf32>)
// CHECK-NEXT:  arith.constant 0 : index
// CHECK-NEXT:  tensor.dim %[[Q]]
// CHECK-NEXT:  %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[TD:.*]] = tensor.dim %[[Q]], %[[C2]] : tensor<?x2x?x8xbf16>
// CHECK:       %[[DINIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
// CHECK-NEXT:  %[[DELTA:.*]] = linalg.generic {{.*}} ins(%[[O]], %[[O]] : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>) outs(%[[DINIT]] : tensor<?x2x?xf32>)
// CHECK-NEXT:  ^bb0(%[[DA:[a-z0-9_]+]]: bf16, %[[DB:[a-z0-9_]+]]: bf16, %[[DACC:[a-z0-9_]+]]: f32):
// CHECK-DAG:     %[[DAF:.*]] = arith.extf %[[DA]] : bf16 to f32
// CHECK-DAG:     %[[DBF:.*]] = arith.extf %[[DB]] : bf16 to f32
// CHECK:         %[[DM:.*]] = arith.mulf %[[DAF]], %[[DBF]] : f32
// CHECK-NEXT:    arith.addf %[[DACC]], %[[DM]] : f32
// CHECK:       %[[DQI:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x2x?x8xbf16>
// CHECK-NEXT:  %[[KC2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  %[[SD:.*]] = tensor.dim %[[K]], %[[KC2]] : tensor<?x2x?x8xbf16>
// CHECK-NEXT:  %[[DBI:.*]] = tensor.empty(%[[TD]], %[[SD]]) : tensor<2x?x?xf32>
// CHECK:       %[[FIRST:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:  %[[P1:.*]]:2 = rotary.online_attention_query_grad ins(%[[Q]], %[[K]], %[[K]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?xf32>) bias(%[[BIAS]] : tensor<2x?x?xf32>) first_position(%[[FIRST]]) outs(%[[DQI]], %[[DBI]] : tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>) {causal} -> tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>{{$}}
// CHECK:       %[[DKI:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x2x?x8xbf16>
// CHECK:       %[[DVI:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x2x?x8xbf16>
// CHECK-NEXT:  %[[J0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[P2:.*]]:2 = rotary.online_attention_key_grad ins(%[[Q]], %[[K]], %[[K]], %[[O]], %[[LSE]], %[[DELTA]] : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?xf32>) bias(%[[BIAS]] : tensor<2x?x?xf32>) first_position(%[[FIRST]]) first_key(%[[J0]]) outs(%[[DKI]], %[[DVI]] : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>) {causal} -> tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>{{$}}
// CHECK-NEXT:  return %[[P2]]#0, %[[P1]]#1 : tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>
func.func @full_bias_bf16(%q: tensor<?x2x?x8xbf16>, %k: tensor<?x2x?x8xbf16>, %o: tensor<?x2x?x8xbf16>, %lse: tensor<?x2x?xf32>, %b: tensor<2x?x?xf32>) -> (tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>) {
  %r:4 = rotary.attention_grad %q, %k, %k, %o, %lse, %o bias(%b : tensor<2x?x?xf32>) {causal}
      : tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?x8xbf16>, tensor<?x2x?xf32>
  return %r#1, %r#3 : tensor<?x2x?x8xbf16>, tensor<2x?x?xf32>
}

// -----

// rotary.tiles on the attention_grad (an experiment's tile sizes) is copied
// onto both passes. All operands distinct: δ reads ȯ then o, both passes take
// q, k, v, ȯ (not o), lse, δ; first_position = S - T = 8 - 6.
// CHECK-LABEL: func.func @tiles(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[O:[^:]*]]: tensor<1x2x6x4xf32>, %[[LSE:[^:]*]]: tensor<1x2x6xf32>, %[[DO:[^:]*]]: tensor<1x2x6x4xf32>)
// CHECK:       %[[DELTA:.*]] = linalg.generic {{.*}} ins(%[[DO]], %[[O]] : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) outs(%{{.*}} : tensor<1x2x6xf32>)
// CHECK:       %[[DQI:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-DAG:   %[[T:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[S:.*]] = arith.constant 8 : index
// CHECK:       %[[FIRST:.*]] = arith.subi %[[S]], %[[T]] : index
// CHECK-NEXT:  %[[DQ:.*]] = rotary.online_attention_query_grad ins(%[[Q]], %[[K]], %[[V]], %[[DO]], %[[LSE]], %[[DELTA]] : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) first_position(%[[FIRST]]) outs(%[[DQI]] : tensor<1x2x6x4xf32>) {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}} -> tensor<1x2x6x4xf32>{{$}}
// CHECK-NEXT:  %[[DKI:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// CHECK-NEXT:  %[[DVI:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// CHECK-NEXT:  %[[J0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[KV:.*]]:2 = rotary.online_attention_key_grad ins(%[[Q]], %[[K]], %[[V]], %[[DO]], %[[LSE]], %[[DELTA]] : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>) first_position(%[[FIRST]]) first_key(%[[J0]]) outs(%[[DKI]], %[[DVI]] : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}} -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>{{$}}
// CHECK-NEXT:  return %[[DQ]], %[[KV]]#0, %[[KV]]#1 : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
func.func @tiles(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %o: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %do: tensor<1x2x6x4xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  %dq, %dk, %dv = rotary.attention_grad %q, %k, %v, %o, %lse, %do {causal, rotary.tiles = {query = 7 : i64, key = 5 : i64}}
      : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>
  return %dq, %dk, %dv : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}
