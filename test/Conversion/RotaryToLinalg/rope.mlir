// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.rope lowering (lib/Conversion/RotaryToLinalg/LowerRope.cpp):
// 1. the frequencies f [r/2] in f64 (one small generic: base^(−2i/r) via
//    exp/log, or the inv_freq operand widened), then an angle table cos/sin
//    [positions..., r/2], one generic computing θ = (p·scale)·f_i + φ_i in
//    f64 (negated for inverse) and rounding cos θ, sin θ to f32;
// 2. one rotation generic over a 5-D view of the rotated features, x
//    expanded to [B, T, H, 2, r/2] (half) or [B, T, H, r/2, 2] (interleaved),
//    where loop d3 = k (element of the pair) and d4 = i (pair); the pair
//    partner is read through the affine index 1 − k. Element k = 0 gets
//    a·cos − b·sin, k = 1 gets b·cos + a·sin. deinterleave reads the
//    interleaved view and writes the half view (inverse: the converse).
// -mlir-print-local-scope prints the indexing maps inline.

// Half layout, [T] positions, attribute base.
// CHECK-LABEL: func.func @rope_half(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x8x4x16xf32>, %[[P:[^:]*]]: tensor<8xi64>)
// CHECK-NOT:   rotary.rope
// f_i = exp(−2i/r · ln(base)) over the r/2 = 8 frequencies, in f64.
// CHECK:       %[[FREQ:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%{{.*}} : tensor<8xf64>)
// CHECK-NEXT:  ^bb0(%{{.*}}: f64):
// CHECK-NEXT:    linalg.index 0 : index
// CHECK-DAG:     %[[BASE:.*]] = arith.constant 1.000000e+04 : f64
// CHECK-DAG:     arith.constant -2.000000e+00 : f64
// CHECK:         %[[LNB:.*]] = math.log %[[BASE]] : f64
// CHECK-NEXT:    %[[E:.*]] = arith.mulf %{{.*}}, %[[LNB]] : f64
// CHECK-NEXT:    %[[FI:.*]] = math.exp %[[E]] : f64
// CHECK-NEXT:    linalg.yield %[[FI]] : f64
// The table: one parallel loop per position dim plus one over r/2.
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[P]], %[[FREQ]] : tensor<8xi64>, tensor<8xf64>) outs(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: i64, %[[F:[^:]*]]: f64, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[PF:.*]] = arith.sitofp %[[POS]] : i64 to f64
// CHECK-NEXT:    %[[TH:.*]] = arith.mulf %[[PF]], %[[F]] : f64
// CHECK-NOT:     arith.negf %[[TH]]
// cos θ and sin θ are computed in f64 and rounded once to f32.
// CHECK:         %[[C32:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK-NEXT:    %[[S32:.*]] = arith.truncf %{{.*}} : f64 to f32
// CHECK-NEXT:    linalg.yield %[[C32]], %[[S32]] : f32, f32
// CHECK-NEXT:  } -> (tensor<8x8xf32>, tensor<8x8xf32>)
// x as [B, T, H, 2, r/2]: pair i = (i, i + r/2).
// CHECK:       %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 8, 4, 2, 8] : tensor<2x8x4x16xf32> into tensor<2x8x4x2x8xf32>
// Every feature is rotated: the output starts empty.
// CHECK-NEXT:  %[[E:.*]] = tensor.empty() : tensor<2x8x4x16xf32>
// CHECK-NEXT:  %[[EV:.*]] = tensor.expand_shape %[[E]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 8, 4, 2, 8] : tensor<2x8x4x16xf32> into tensor<2x8x4x2x8xf32>
// The rotation reads the table through (t, i): shared by batch and heads.
// CHECK-NEXT:  %[[ROT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[XV]], %[[XV]], %[[TAB]]#0, %[[TAB]]#1 : tensor<2x8x4x2x8xf32>, tensor<2x8x4x2x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%[[EV]] : tensor<2x8x4x2x8xf32>)
// CHECK-NEXT:  ^bb0(%[[SELF:[^:]*]]: f32, %[[PART:[^:]*]]: f32, %[[COS:[^:]*]]: f32, %[[SIN:[^:]*]]: f32, %{{.*}}: f32):
// y = self·cos + partner·(k == 0 ? −sin : sin)
// CHECK-NEXT:    %[[K:.*]] = linalg.index 3 : index
// CHECK-NEXT:    %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.cmpi eq, %[[K]], %[[C0]] : index
// CHECK-NEXT:    %[[NSIN:.*]] = arith.negf %[[SIN]] : f32
// CHECK-NEXT:    %[[SSIN:.*]] = arith.select %[[FIRST]], %[[NSIN]], %[[SIN]] : f32
// CHECK-DAG:     %[[PS:.*]] = arith.mulf %[[PART]], %[[SSIN]] : f32
// CHECK-DAG:     %[[SC:.*]] = arith.mulf %[[SELF]], %[[COS]] : f32
// CHECK:         %[[Y:.*]] = arith.addf %[[SC]], %[[PS]] : f32
// CHECK-NEXT:    linalg.yield %[[Y]] : f32
// CHECK:       %[[RES:.*]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2], [3, 4]] : tensor<2x8x4x2x8xf32> into tensor<2x8x4x16xf32>
// CHECK-NEXT:  return %[[RES]] : tensor<2x8x4x16xf32>
func.func @rope_half(%x: tensor<2x8x4x16xf32>, %p: tensor<8xi64>) -> tensor<2x8x4x16xf32> {
  %y = rotary.rope %x, %p layout = half : tensor<2x8x4x16xf32>, tensor<8xi64>
  return %y : tensor<2x8x4x16xf32>
}

// -----

// Interleaved layout with [B, T] i32 positions: a 3-D table [B, T, r/2]
// read through (b, t, i); x viewed as [B, T, H, r/2, 2] (pair i = (2i,
// 2i + 1)), read and written alike.
// CHECK-LABEL: func.func @rope_interleaved_batch_positions(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x4x3x8xf32>, %[[P:[^:]*]]: tensor<2x4xi32>)
// CHECK:       %[[FREQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf64>)
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[P]], %[[FREQ]] : tensor<2x4xi32>, tensor<4xf64>) outs(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: i32,
// CHECK-NEXT:    %[[PF:.*]] = arith.sitofp %[[POS]] : i32 to f64
// CHECK-NEXT:    %[[TH:.*]] = arith.mulf %[[PF]], %{{.*}} : f64
// CHECK-NOT:     arith.negf %[[TH]]
// CHECK:         linalg.yield
// CHECK:       %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 4, 2] : tensor<2x4x3x8xf32> into tensor<2x4x3x4x2xf32>
// CHECK:       %[[EV:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 4, 2] : tensor<2x4x3x8xf32> into tensor<2x4x3x4x2xf32>
// CHECK-NEXT:  %[[ROT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[XV]], %[[XV]], %[[TAB]]#0, %[[TAB]]#1 : {{.*}}) outs(%[[EV]] : tensor<2x4x3x4x2xf32>)
// CHECK:       %[[RES:.*]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2], [3, 4]] : tensor<2x4x3x4x2xf32> into tensor<2x4x3x8xf32>
// CHECK-NEXT:  return %[[RES]]
func.func @rope_interleaved_batch_positions(%x: tensor<2x4x3x8xf32>, %p: tensor<2x4xi32>) -> tensor<2x4x3x8xf32> {
  %y = rotary.rope %x, %p layout = interleaved : tensor<2x4x3x8xf32>, tensor<2x4xi32>
  return %y : tensor<2x4x3x8xf32>
}

// -----

// deinterleave reads pairs (2i, 2i+1) through the interleaved view and
// writes the half view; bf16 data are widened to f32 for the math and
// narrowed on store (the table stays f32).
// CHECK-LABEL: func.func @rope_deinterleave_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x4x2x8xbf16>, %[[P:[^:]*]]: tensor<4xi64>)
// CHECK:       %[[TAB:.*]]:2 = linalg.generic
// CHECK-SAME:    outs(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK:       %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 4, 2, 4, 2] : tensor<1x4x2x8xbf16> into tensor<1x4x2x4x2xbf16>
// CHECK:       %[[EV:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 4, 2, 2, 4] : tensor<1x4x2x8xbf16> into tensor<1x4x2x2x4xbf16>
// CHECK-NEXT:  %[[ROT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>]
// CHECK-SAME:    ins(%[[XV]], %[[XV]], %[[TAB]]#0, %[[TAB]]#1 : tensor<1x4x2x4x2xbf16>, tensor<1x4x2x4x2xbf16>, tensor<4x4xf32>, tensor<4x4xf32>) outs(%[[EV]] : tensor<1x4x2x2x4xbf16>)
// CHECK-NEXT:  ^bb0(%[[SELF:[^:]*]]: bf16, %[[PART:[^:]*]]: bf16, %[[COS:[^:]*]]: f32, %[[SIN:[^:]*]]: f32, %{{.*}}: bf16):
// CHECK-DAG:     %[[WS:.*]] = arith.extf %[[SELF]] : bf16 to f32
// CHECK-DAG:     %[[WP:.*]] = arith.extf %[[PART]] : bf16 to f32
// CHECK-DAG:     %[[SC:.*]] = arith.mulf %[[WS]], %[[COS]] : f32
// CHECK-DAG:     %[[PS:.*]] = arith.mulf %[[WP]], %{{.*}} : f32
// CHECK:         %[[Y:.*]] = arith.addf %[[SC]], %[[PS]] : f32
// CHECK-NEXT:    %[[N:.*]] = arith.truncf %[[Y]] : f32 to bf16
// CHECK-NEXT:    linalg.yield %[[N]] : bf16
// CHECK:       %[[RES:.*]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2], [3, 4]] : tensor<1x4x2x2x4xbf16> into tensor<1x4x2x8xbf16>
// CHECK-NEXT:  return %[[RES]]
func.func @rope_deinterleave_bf16(%x: tensor<1x4x2x8xbf16>, %p: tensor<4xi64>) -> tensor<1x4x2x8xbf16> {
  %y = rotary.rope %x, %p layout = deinterleave : tensor<1x4x2x8xbf16>, tensor<4xi64>
  return %y : tensor<1x4x2x8xbf16>
}

// -----

// The inverse of deinterleave is the converse layout map (reads the half
// view, writes pairs) with θ negated in the table; f32 positions are
// widened to f64.
// CHECK-LABEL: func.func @rope_deinterleave_inverse(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x4x2x8xf32>, %[[P:[^:]*]]: tensor<4xf32>)
// CHECK:       %[[TAB:.*]]:2 = linalg.generic
// CHECK-SAME:    ins(%[[P]], %{{.*}} : tensor<4xf32>, tensor<4xf64>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: f32, %[[F:[^:]*]]: f64,
// CHECK-NEXT:    %[[PF:.*]] = arith.extf %[[POS]] : f32 to f64
// CHECK-NEXT:    %[[TH:.*]] = arith.mulf %[[PF]], %[[F]] : f64
// CHECK-NEXT:    %[[NEG:.*]] = arith.negf %[[TH]] : f64
// CHECK:         arith.mulf %[[NEG]], %{{.*}} : f64
// CHECK:         arith.truncf %{{.*}} : f64 to f32
// CHECK:       %[[XV:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 4, 2, 2, 4] : tensor<1x4x2x8xf32> into tensor<1x4x2x2x4xf32>
// CHECK:       %[[EV:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 4, 2, 4, 2] : tensor<1x4x2x8xf32> into tensor<1x4x2x4x2xf32>
// CHECK-NEXT:  %[[ROT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>]
// CHECK-SAME:    ins(%[[XV]], %[[XV]], %[[TAB]]#0, %[[TAB]]#1 :
// CHECK-SAME:    outs(%[[EV]] : tensor<1x4x2x4x2xf32>)
// CHECK:       tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2], [3, 4]] : tensor<1x4x2x4x2xf32> into tensor<1x4x2x8xf32>
func.func @rope_deinterleave_inverse(%x: tensor<1x4x2x8xf32>, %p: tensor<4xf32>) -> tensor<1x4x2x8xf32> {
  %y = rotary.rope %x, %p layout = deinterleave {inverse} : tensor<1x4x2x8xf32>, tensor<4xf32>
  return %y : tensor<1x4x2x8xf32>
}

// -----

// Partial rotary_dim (8 of D = 11), learned inv_freq / phase / scale operands
// as table inputs (inv_freq and phase by frequency index, scale as a 0-d
// broadcast), no base formula, inverse, f16 data and dynamic B, T.
// Only x[..., 0:8] is rotated; x[..., 8:11] passes through.
// CHECK-LABEL: func.func @rope_partial_learned(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x2x11xf16>, %[[P:[^:]*]]: tensor<?xi64>, %[[F:[^:]*]]: tensor<4xf32>, %[[PH:[^:]*]]: tensor<4xf32>, %[[SC:[^:]*]]: tensor<f32>)
// The learned inv_freq is only widened to f64: no base formula.
// CHECK:       %[[FREQ:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[F]] : tensor<4xf32>) outs(%{{.*}} : tensor<4xf64>)
// CHECK-NEXT:  ^bb0(%[[FI:[^:]*]]: f32, %{{.*}}: f64):
// CHECK-NEXT:    %[[FW:.*]] = arith.extf %[[FI]] : f32 to f64
// CHECK-NEXT:    linalg.yield %[[FW]] : f64
// CHECK-NEXT:  } -> tensor<4xf64>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[P]], %[[FREQ]], %[[PH]], %[[SC]] : tensor<?xi64>, tensor<4xf64>, tensor<4xf32>, tensor<f32>) outs(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: i64, %[[F64:[^:]*]]: f64, %[[PHI:[^:]*]]: f32, %[[S:[^:]*]]: f32,
// CHECK-NOT:     math.exp
// CHECK-NOT:     linalg.index
// θ = (p·scale)·f + φ, then negated (inverse)
// CHECK-DAG:     %[[PF:.*]] = arith.sitofp %[[POS]] : i64 to f64
// CHECK-DAG:     %[[S64:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK-DAG:     %[[PH64:.*]] = arith.extf %[[PHI]] : f32 to f64
// CHECK-DAG:     %[[SP:.*]] = arith.mulf %[[PF]], %[[S64]] : f64
// CHECK-DAG:     %[[SPF:.*]] = arith.mulf %[[SP]], %[[F64]] : f64
// CHECK-DAG:     %[[TH:.*]] = arith.addf %[[SPF]], %[[PH64]] : f64
// CHECK:         %[[NEG:.*]] = arith.negf %[[TH]] : f64
// CHECK:         arith.mulf %[[NEG]], %{{.*}} : f64
// CHECK:       %[[XR:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [%[[B0:.*]], %[[T0:.*]], 2, 8] [1, 1, 1, 1] : tensor<?x?x2x11xf16> to tensor<?x?x2x8xf16>
// CHECK-NEXT:  %[[XV:.*]] = tensor.expand_shape %[[XR]] {{\[}}[0], [1], [2], [3, 4]] output_shape [%[[B0]], %[[T0]], 2, 4, 2] : tensor<?x?x2x8xf16> into tensor<?x?x2x4x2xf16>
// CHECK:       %[[ROT:.*]] = linalg.generic
// CHECK-SAME:    ins(%[[XV]], %[[XV]], %[[TAB]]#0, %[[TAB]]#1 :
// CHECK:         arith.extf %{{.*}} : f16 to f32
// CHECK:         arith.truncf %{{.*}} : f32 to f16
// CHECK:       %[[RV:.*]] = tensor.collapse_shape %[[ROT]] {{\[}}[0], [1], [2], [3, 4]] : tensor<?x?x2x4x2xf16> into tensor<?x?x2x8xf16>
// CHECK:       %[[Y0:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x2x11xf16>
// CHECK:       %[[PASS:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 8] [%[[B0]], %[[T0]], 2, %[[REST:.*]]] [1, 1, 1, 1] : tensor<?x?x2x11xf16> to tensor<?x?x2x?xf16>
// CHECK-NEXT:  %[[Y1:.*]] = tensor.insert_slice %[[PASS]] into %[[Y0]][0, 0, 0, 8] [%[[B0]], %[[T0]], 2, %[[REST]]] [1, 1, 1, 1]
// CHECK-NEXT:  %[[Y2:.*]] = tensor.insert_slice %[[RV]] into %[[Y1]][0, 0, 0, 0] [%[[B0]], %[[T0]], 2, 8] [1, 1, 1, 1] : tensor<?x?x2x8xf16> into tensor<?x?x2x11xf16>
// CHECK-NEXT:  return %[[Y2]]
func.func @rope_partial_learned(%x: tensor<?x?x2x11xf16>, %p: tensor<?xi64>, %f: tensor<4xf32>, %ph: tensor<4xf32>, %s: tensor<f32>) -> tensor<?x?x2x11xf16> {
  %y = rotary.rope %x, %p inv_freq(%f : tensor<4xf32>) phase(%ph : tensor<4xf32>) scale(%s)
      layout = interleaved {rotary_dim = 8, inverse} : tensor<?x?x2x11xf16>, tensor<?xi64>
  return %y : tensor<?x?x2x11xf16>
}

// -----

// rotary_dim equal to a static D rotates everything: no slicing, no
// pass-through. The base attribute (500) reaches the table.
// CHECK-LABEL: func.func @rope_rotary_dim_full(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x2x1x8xf32>
// CHECK-NOT:     tensor.extract_slice
// CHECK:         arith.constant 5.000000e+02 : f64
// CHECK-NOT:     tensor.extract_slice
// CHECK:       tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 2, 1, 2, 4]
// CHECK-NOT:     tensor.extract_slice
// CHECK-NOT:     tensor.insert_slice
// CHECK:       return
func.func @rope_rotary_dim_full(%x: tensor<1x2x1x8xf32>, %p: tensor<2xi64>) -> tensor<1x2x1x8xf32> {
  %y = rotary.rope %x, %p layout = half {rotary_dim = 8, base = 500.0 : f32} : tensor<1x2x1x8xf32>, tensor<2xi64>
  return %y : tensor<1x2x1x8xf32>
}

// -----

// Fully dynamic x, [B, T] positions and a run-time base operand: r/2 is
// D / 2 computed at run time and ln(base) is taken of the operand.
// CHECK-LABEL: func.func @rope_dynamic_runtime_base(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[P:[^:]*]]: tensor<?x?xi32>, %[[BASE:[^:]*]]: tensor<f32>)
// CHECK:       %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT:  %[[D:.*]] = tensor.dim %[[X]], %[[C3]] : tensor<?x?x?x?xf32>
// CHECK:       %[[HALF:.*]] = arith.divui %[[D]], %{{.*}} : index
// CHECK:       %[[FREQ:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[BASE]] : tensor<f32>) outs(%{{.*}} : tensor<?xf64>)
// CHECK-NEXT:  ^bb0(%[[BV:[^:]*]]: f32, %{{.*}}: f64):
// CHECK-DAG:     %[[B64:.*]] = arith.extf %[[BV]] : f32 to f64
// CHECK-DAG:     arith.index_castui %[[D]] : index to i64
// CHECK:         math.log %[[B64]] : f64
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[P]], %[[FREQ]] : tensor<?x?xi32>, tensor<?xf64>) outs(%{{.*}}, %{{.*}} : tensor<?x?x?xf32>, tensor<?x?x?xf32>)
// CHECK:       tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [%{{.*}}, %{{.*}}, %{{.*}}, 2, %[[HALF]]] : tensor<?x?x?x?xf32> into tensor<?x?x?x2x?xf32>
// CHECK:       linalg.generic
// CHECK-SAME:    affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
func.func @rope_dynamic_runtime_base(%x: tensor<?x?x?x?xf32>, %p: tensor<?x?xi32>, %b: tensor<f32>) -> tensor<?x?x?x?xf32> {
  %0 = rotary.rope %x, %p base(%b) layout = half : tensor<?x?x?x?xf32>, tensor<?x?xi32>
  return %0 : tensor<?x?x?x?xf32>
}

// -----

// xPos on a query: L_i = ln(ζ_i)/scale_base with ζ_i = (i/(r/2) + γ)/(1 + γ)
// over the r/2 pairs (one small f64 generic), then the table holds
// exp(p·L_i)·cos θ and exp(p·L_i)·sin θ: the scale commutes with the
// rotation, so the rotation generic is the plain one.
// CHECK-LABEL: func.func @rope_xpos_query(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x8x4x16xf32>, %[[P:[^:]*]]: tensor<8xi64>)
// CHECK:       %[[FREQ:.*]] = linalg.generic
// CHECK:       %[[LZ:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%{{.*}} : tensor<8xf64>)
// CHECK-NEXT:  ^bb0(%{{.*}}: f64):
// CHECK-NEXT:    %[[I:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[II:.*]] = arith.index_castui %[[I]] : index to i64
// CHECK-NEXT:    %[[IF:.*]] = arith.uitofp %[[II]] : i64 to f64
// CHECK:         %[[HF:.*]] = arith.uitofp %{{.*}} : i64 to f64
// CHECK-DAG:     %[[G:.*]] = arith.constant 0.40000000596046448 : f64
// CHECK-DAG:     %[[G1:.*]] = arith.constant 1.4000000059604645 : f64
// CHECK:         %[[Q:.*]] = arith.divf %[[IF]], %[[HF]] : f64
// CHECK-NEXT:    %[[QG:.*]] = arith.addf %[[Q]], %[[G]] : f64
// CHECK-NEXT:    %[[ZETA:.*]] = arith.divf %[[QG]], %[[G1]] : f64
// 1/256 for a query with scale base 256.
// CHECK-NEXT:    %[[INV:.*]] = arith.constant 3.906250e-03 : f64
// CHECK-NEXT:    %[[LN:.*]] = math.log %[[ZETA]] : f64
// CHECK-NEXT:    %[[L:.*]] = arith.mulf %[[LN]], %[[INV]] : f64
// CHECK-NEXT:    linalg.yield %[[L]] : f64
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]], %[[LZ]] : tensor<8xi64>, tensor<8xf64>, tensor<8xf64>) outs(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: i64, %[[F:[^:]*]]: f64, %[[LI:[^:]*]]: f64, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[PF:.*]] = arith.sitofp %[[POS]] : i64 to f64
// CHECK-NEXT:    %[[PL:.*]] = arith.mulf %[[PF]], %[[LI]] : f64
// CHECK-NEXT:    %[[SC:.*]] = math.exp %[[PL]] : f64
// CHECK-NEXT:    arith.mulf %[[PF]], %[[F]] : f64
// CHECK:         %[[SCOS:.*]] = arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK-NEXT:    %[[SSIN:.*]] = arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK-NEXT:    %[[C32:.*]] = arith.truncf %[[SCOS]] : f64 to f32
// CHECK-NEXT:    %[[S32:.*]] = arith.truncf %[[SSIN]] : f64 to f32
// CHECK-NEXT:    linalg.yield %[[C32]], %[[S32]] : f32, f32
// CHECK:       linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[TAB]]#0, %[[TAB]]#1 :
func.func @rope_xpos_query(%x: tensor<2x8x4x16xf32>, %p: tensor<8xi64>) -> tensor<2x8x4x16xf32> {
  %0 = rotary.rope %x, %p layout = half xpos = query {xpos_scale_base = 256.0 : f32} : tensor<2x8x4x16xf32>, tensor<8xi64>
  return %0 : tensor<2x8x4x16xf32>
}

// -----

// xPos on a key with `inverse`, a position scale and [B, T] positions: the
// exponent is −ln(ζ_i)/512 over r/2 = 6 pairs (γ = 0.5), the xPos scale
// takes the raw position (not scale·p), and θ is negated but the scale is
// not (with xPos, `inverse` is the transpose).
// CHECK-LABEL: func.func @rope_xpos_key_inverse(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x8x4x16xbf16>, %[[P:[^:]*]]: tensor<2x8xi32>, %[[S:[^:]*]]: tensor<f32>)
// CHECK:       %[[FREQ:.*]] = linalg.generic
// CHECK:       %[[LZ:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%{{.*}} : tensor<6xf64>)
// CHECK-DAG:     arith.constant 5.000000e-01 : f64
// CHECK-DAG:     arith.constant 1.500000e+00 : f64
// CHECK:         %[[INV:.*]] = arith.constant -0.001953125 : f64
// CHECK-NEXT:    %[[LN:.*]] = math.log %{{.*}} : f64
// CHECK-NEXT:    arith.mulf %[[LN]], %[[INV]] : f64
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]], %[[S]], %[[LZ]] : tensor<2x8xi32>, tensor<6xf64>, tensor<f32>, tensor<6xf64>) outs(%{{.*}}, %{{.*}} : tensor<2x8x6xf32>, tensor<2x8x6xf32>)
// CHECK-NEXT:  ^bb0(%[[POS:[^:]*]]: i32, %{{.*}}: f64, %{{.*}}: f32, %[[LI:[^:]*]]: f64, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[PF:.*]] = arith.sitofp %[[POS]] : i32 to f64
// CHECK-NEXT:    %[[PL:.*]] = arith.mulf %[[PF]], %[[LI]] : f64
// CHECK-NEXT:    %[[SC:.*]] = math.exp %[[PL]] : f64
// CHECK:         arith.negf
// CHECK:         arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK-NEXT:    arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK:       linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[TAB]]#0, %[[TAB]]#1 :
func.func @rope_xpos_key_inverse(%x: tensor<2x8x4x16xbf16>, %p: tensor<2x8xi32>, %s: tensor<f32>) -> tensor<2x8x4x16xbf16> {
  %0 = rotary.rope %x, %p scale(%s) layout = interleaved xpos = key {inverse, rotary_dim = 12 : i64, xpos_gamma = 0.5 : f32} : tensor<2x8x4x16xbf16>, tensor<2x8xi32>
  return %0 : tensor<2x8x4x16xbf16>
}
