// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=TILED
// RUN: rotary-opt %s -convert-rotary-to-linalg -canonicalize -cse -rotary-cpu-configure=rope-tokens=4 -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=TOK4

// rotary.rope_grad lowering (lib/Conversion/RotaryToLinalg/LowerRopeGrad.cpp).
// Without parameter gradients x̄ is rotary.rope of ȳ with `inverse` flipped:
// the rope lowering (table, then one all-parallel rotation generic).
// With parameter gradients: the cos/sin table of θ' (negated with
// `inverse`), then rotary.rope_tokens_grad on the rotated features with
// zeroed f64 sums Σθ̄, Σθ̄·p, no tile size; one small generic for the
// parameter gradients. Tiled (prefix TILED), the CPU schedule's 16 tokens
// per task (TOK4 for rope-tokens=4): one scf.forall over (batch, tile of tokens) whose
// single generic reads x and ȳ once (5-D pair views, loop d3 = element of
// the pair, d4 = pair), writes the x̄ tile and accumulates into the task's
// row of the partial sums (d0..d3 reduce, d4 is parallel); then one
// reduction of each table over (batch, tile).

// CHECK-LABEL: func.func @rope_grad_dx_only(
// CHECK-NOT:   rotary.rope
// CHECK-NOT:   scf.forall
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<?x?x?x16x2xf32>)
// CHECK-NOT:   linalg.generic
// CHECK:       return
func.func @rope_grad_dx_only(%x: tensor<?x?x?x32xf32>, %p: tensor<?xi64>,
                             %dy: tensor<?x?x?x32xf32>) -> tensor<?x?x?x32xf32> {
  %dx = rotary.rope_grad %x, %p, %dy layout = interleaved
      : tensor<?x?x?x32xf32>, tensor<?xi64>
  return %dx : tensor<?x?x?x32xf32>
}

// -----

// Every parameter; half layout, [B, T] positions, bf16 data.
// CHECK-LABEL: func.func @rope_grad_all(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x4x16xbf16>, %[[P:[^:]*]]: tensor<2x?xi32>, %[[DY:[^:]*]]: tensor<2x?x4x16xbf16>
// CHECK-NOT:   rotary.rope_grad
// CHECK-NOT:   scf.forall
// CHECK:       %[[T:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[P]], {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2x?x8xf32>, tensor<2x?x8xf32>)
// CHECK-DAG:   linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<8xf64>)
// CHECK-DAG:   %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<2x?x4x16xbf16>
// CHECK:       %[[DX:.*]], %[[S:.*]], %[[SP:.*]] = rotary.rope_tokens_grad ins(%[[X]], %[[DY]], %[[T]]#0, %[[T]]#1, %[[P]] : tensor<2x?x4x16xbf16>, tensor<2x?x8xf32>, tensor<2x?xi32>) outs(%[[E]], %{{.*}}, %{{.*}} : tensor<2x?x4x16xbf16>, tensor<8xf64>) layout = half -> tensor<2x?x4x16xbf16>, tensor<8xf64>, tensor<8xf64>
// CHECK:       linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[S]], %[[SP]], {{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>, tensor<f64>)
// CHECK:       return %[[DX]],
// TILED-LABEL: func.func @rope_grad_all(
// TILED-SAME:    %[[X:[^:]*]]: tensor<2x?x4x16xbf16>, %[[P:[^:]*]]: tensor<2x?xi32>, %[[DY:[^:]*]]: tensor<2x?x4x16xbf16>
// TILED-NOT:   rotary.rope
// TILED:       %[[F:.*]]:3 = scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, %{{.*}}) step (1, 16) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x?x4x16xbf16>, tensor<2x?x8xf64>, tensor<2x?x8xf64>)
// TILED-DAG:     %[[XT:.*]] = tensor.extract_slice %[[X]]
// TILED-DAG:     %[[GT:.*]] = tensor.extract_slice %[[DY]]
// TILED-DAG:     %[[XV:.*]] = tensor.expand_shape %[[XT]] {{\[\[}}0], [1], [2], [3, 4]] {{.*}} : tensor<1x?x4x16xbf16> into tensor<1x?x4x2x8xbf16>
// TILED-DAG:     %[[GV:.*]] = tensor.expand_shape %[[GT]] {{\[\[}}0], [1], [2], [3, 4]] {{.*}} : tensor<1x?x4x16xbf16> into tensor<1x?x4x2x8xbf16>
// TILED:         %[[G:.*]]:3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>], iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]}
// TILED-SAME:      ins(%[[XV]], %[[XV]], %[[GV]], %[[GV]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x4x2x8xbf16>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?xi32>)
// TILED-SAME:      outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x4x2x8xbf16>, tensor<8xf64>, tensor<8xf64>)
// TILED:           arith.truncf %{{.*}} : f32 to bf16
// TILED:           arith.addf %{{.*}} : f64
// TILED:           arith.addf %{{.*}} : f64
// TILED:         scf.forall.in_parallel
// TILED-NEXT:      tensor.parallel_insert_slice
// TILED-NEXT:      tensor.parallel_insert_slice %[[G]]#1
// TILED-NEXT:      tensor.parallel_insert_slice %[[G]]#2
// The partial sums over (batch, tile), then the gradients (f̄, φ̄ per
// frequency; scalē and basē reduced over i).
// TILED:       %[[S0:.*]] = linalg.reduce ins(%[[F]]#1 : tensor<2x?x8xf64>) outs(%{{.*}} : tensor<8xf64>) dimensions = [0, 1]
// TILED:       %[[S1:.*]] = linalg.reduce ins(%[[F]]#2 : tensor<2x?x8xf64>) outs(%{{.*}} : tensor<8xf64>) dimensions = [0, 1]
// TILED:       linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[S0]], %[[S1]], {{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>, tensor<f64>)
// TILED-NOT:   scf.forall
// TILED:       return
// TOK4-LABEL:  func.func @rope_grad_all(
// TOK4:        scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, %{{.*}}) step (1, 4)
func.func @rope_grad_all(%x: tensor<2x?x4x16xbf16>, %p: tensor<2x?xi32>,
    %dy: tensor<2x?x4x16xbf16>, %f: tensor<8xf32>, %ph: tensor<8xf32>,
    %s: tensor<f32>) -> (tensor<2x?x4x16xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<f32>) {
  %dx, %df, %dph, %ds = rotary.rope_grad %x, %p, %dy inv_freq(%f : tensor<8xf32>)
      phase(%ph : tensor<8xf32>) scale(%s) layout = half
      : tensor<2x?x4x16xbf16>, tensor<2x?xi32>
  return %dx, %df, %dph, %ds : tensor<2x?x4x16xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
}

// -----

// deinterleave: x is read through the interleaved view, ȳ through the half
// view (where the forward wrote), x̄ written interleaved; rotary_dim < D
// copies ȳ's pass-through features.
// CHECK-LABEL: func.func @rope_grad_deinterleave_partial(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x10xf32>, %[[P:[^:]*]]: tensor<?xf32>, %[[DY:[^:]*]]: tensor<?x?x?x10xf32>
// CHECK-DAG:   %[[XR:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [%{{.*}}, %{{.*}}, %{{.*}}, 6] [1, 1, 1, 1]
// CHECK-DAG:   %[[GR:.*]] = tensor.extract_slice %[[DY]][0, 0, 0, 0] [%{{.*}}, %{{.*}}, %{{.*}}, 6] [1, 1, 1, 1]
// CHECK:       %[[DX:.*]], %{{.*}}, %{{.*}} = rotary.rope_tokens_grad ins(%[[XR]], %[[GR]], %{{.*}}, %{{.*}}, %[[P]] : tensor<?x?x?x6xf32>, tensor<?x3xf32>, tensor<?xf32>) outs({{.*}}) layout = deinterleave ->
// CHECK:       %[[PASS:.*]] = tensor.extract_slice %[[DY]][0, 0, 0, 6] [%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] [1, 1, 1, 1]
// CHECK:       %[[FULL:.*]] = tensor.insert_slice %[[PASS]]
// CHECK:       tensor.insert_slice %[[DX]] into %[[FULL]][0, 0, 0, 0]
// CHECK:       return
// TILED-LABEL: func.func @rope_grad_deinterleave_partial(
// TILED:       scf.forall
// TILED:         tensor.expand_shape %{{.*}} into tensor<1x?x?x3x2xf32>
// TILED:         tensor.expand_shape %{{.*}} into tensor<1x?x?x2x3xf32>
// TILED:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>]
func.func @rope_grad_deinterleave_partial(%x: tensor<?x?x?x10xf32>, %p: tensor<?xf32>,
    %dy: tensor<?x?x?x10xf32>, %ph: tensor<3xf32>) -> (tensor<?x?x?x10xf32>, tensor<3xf32>) {
  %dx, %dph = rotary.rope_grad %x, %p, %dy phase(%ph : tensor<3xf32>)
      layout = deinterleave {rotary_dim = 6 : i64}
      : tensor<?x?x?x10xf32>, tensor<?xf32>
  return %dx, %dph : tensor<?x?x?x10xf32>, tensor<3xf32>
}

// -----

// xPos, x̄ only: rotary.rope of ȳ with `inverse` flipped and the same xPos
// scale (x̄ = s·R(−θ)ȳ): the key's exponent −ln(ζ_i)/64, θ negated, the
// scale applied to the table, then the plain rotation generic.
// CHECK-LABEL: func.func @rope_grad_xpos_dx_only(
// CHECK-NOT:   rotary.rope
// CHECK:       %[[FREQ:.*]] = linalg.generic
// CHECK:       %[[LZ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16xf64>)
// CHECK:         %[[INV:.*]] = arith.constant -1.562500e-02 : f64
// CHECK-NEXT:    %[[LN:.*]] = math.log %{{.*}} : f64
// CHECK-NEXT:    arith.mulf %[[LN]], %[[INV]] : f64
// CHECK:       %[[T:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}}, %[[FREQ]], %[[LZ]] : tensor<?xi64>, tensor<16xf64>, tensor<16xf64>)
// CHECK:         %[[SC:.*]] = math.exp %{{.*}} : f64
// CHECK:         arith.negf
// CHECK:         arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK-NEXT:    arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %[[T]]#0, %[[T]]#1 : {{.*}} outs(%{{.*}} : tensor<?x?x?x16x2xf32>)
// CHECK:       return
func.func @rope_grad_xpos_dx_only(%x: tensor<?x?x?x32xf32>, %p: tensor<?xi64>,
                                  %dy: tensor<?x?x?x32xf32>) -> tensor<?x?x?x32xf32> {
  %dx = rotary.rope_grad %x, %p, %dy layout = interleaved xpos = key {xpos_scale_base = 64.0 : f32}
      : tensor<?x?x?x32xf32>, tensor<?xi64>
  return %dx : tensor<?x?x?x32xf32>
}

// -----

// xPos with parameter gradients: the query's scale exp(p·ln(ζ_i)/512) goes
// into the table of θ' that rope_tokens_grad reads, so x̄ and θ̄ (and from
// it φ̄ and scalē) carry it.
// CHECK-LABEL: func.func @rope_grad_xpos_params(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x4x16xf32>, %[[P:[^:]*]]: tensor<2x?xi32>, %[[DY:[^:]*]]: tensor<2x?x4x16xf32>, %[[PH:[^:]*]]: tensor<8xf32>, %[[S:[^:]*]]: tensor<f32>)
// CHECK:       %[[FREQ:.*]] = linalg.generic
// CHECK:       %[[LZ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8xf64>)
// CHECK:         %[[INV:.*]] = arith.constant 0.001953125 : f64
// CHECK-NEXT:    %[[LN:.*]] = math.log %{{.*}} : f64
// CHECK-NEXT:    arith.mulf %[[LN]], %[[INV]] : f64
// CHECK:       %[[T:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]], %[[PH]], %[[S]], %[[LZ]] : tensor<2x?xi32>, tensor<8xf64>, tensor<8xf32>, tensor<f32>, tensor<8xf64>)
// CHECK:         %[[SC:.*]] = math.exp %{{.*}} : f64
// CHECK:         arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK-NEXT:    arith.mulf %{{.*}}, %[[SC]] : f64
// CHECK:       rotary.rope_tokens_grad ins(%[[X]], %[[DY]], %[[T]]#0, %[[T]]#1, %[[P]] : {{.*}} layout = half {inverse}
// CHECK:       return
// TILED-LABEL: func.func @rope_grad_xpos_params(
// TILED:       math.exp
// TILED:       scf.forall
func.func @rope_grad_xpos_params(%x: tensor<2x?x4x16xf32>, %p: tensor<2x?xi32>,
    %dy: tensor<2x?x4x16xf32>, %ph: tensor<8xf32>, %s: tensor<f32>)
    -> (tensor<2x?x4x16xf32>, tensor<8xf32>, tensor<f32>) {
  %dx, %dph, %ds = rotary.rope_grad %x, %p, %dy phase(%ph : tensor<8xf32>)
      scale(%s) layout = half xpos = query {inverse}
      : tensor<2x?x4x16xf32>, tensor<2x?xi32>
  return %dx, %dph, %ds : tensor<2x?x4x16xf32>, tensor<8xf32>, tensor<f32>
}
