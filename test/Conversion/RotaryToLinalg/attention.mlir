// RUN: rotary-opt %s -rotary-cpu-configure -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary.attention lowering (lib/Conversion/RotaryToLinalg/LowerAttention.cpp):
// one scf.forall task per (b, h, tile of 48 queries), query i at p = i + S - T.
// Online softmax (m, l [rows], acc [rows, D]) over key tiles of 64 of two
// ranges, [0, gEnd(last row)) then [max(lo(first row), that), hi(last row)),
// visited by one scf.for over n1 + n2 tiles (n = ceil(length / 64)); a tile
// is cut only by the start of the next range or by S, never by its own
// range's end (masked pairs are cheaper than narrow tiles).
// Per key tile: S = Qs·Kᵀ, masked per pair (j <= p, p - j <= W, or either
// global), m and l updated in place, acc scaled, acc += P·V.
// o = acc / l, lse = m + log l.

// T = 6, S = 8 so that p = i + 2 tells S from T.
// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>)
// CHECK-NOT:   rotary.attention
// CHECK:       %[[T:.*]] = arith.constant 6 : index
// CHECK-NEXT:  %[[S:.*]] = arith.constant 8 : index
// Default scale 1/sqrt(D).
// CHECK:       %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:  %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:  %[[OUT:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-NEXT:  %[[LSE:.*]] = tensor.empty() : tensor<1x2x6xf32>
// ceil(T / 48) query tiles.
// CHECK-DAG:   %[[C48:.*]] = arith.constant 48 : index
// CHECK-DAG:   %[[C47:.*]] = arith.constant 47 : index
// CHECK-DAG:   %[[T47:.*]] = arith.addi %[[T]], %[[C47]] : index
// CHECK:       %[[TILES:.*]] = arith.divui %[[T47]], %[[C48]] : index
// CHECK-NEXT:  %[[RES:.*]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[IT:[a-z0-9_]+]]) in (1, 2, %[[TILES]]) shared_outs(%[[OUTA:[a-z0-9_]+]] = %[[OUT]], %[[LSEA:[a-z0-9_]+]] = %[[LSE]]) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
// Rows [i0, i0 + rows), rows = min(48, T - i0); the tile scaled once.
// CHECK-NEXT:    %[[C48B:.*]] = arith.constant 48 : index
// CHECK-NEXT:    %[[I0:.*]] = arith.muli %[[IT]], %[[C48B]] : index
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (48, -s0 + 6)>()[%[[I0]]]
// CHECK-NEXT:    %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<?x4xf32>
// CHECK:         %[[QS:.*]] = linalg.generic {{.*}} ins(%[[QT]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[QIN:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:      arith.mulf %[[QIN]], %[[SCALE]] : f32
// Ranges from lo of the first row, gEnd and hi of the last (@global_tokens).
// CHECK:         %[[PF0:.*]] = arith.addi %[[I0]], %[[S]] : index
// CHECK-NEXT:    %[[PF:.*]] = arith.subi %[[PF0]], %[[T]] : index
// CHECK:         %[[FLO:.*]] = arith.minsi %{{[0-9]+}}, %{{[0-9]+}} : index
// CHECK:         %[[LLO:.*]] = arith.minsi %{{[0-9]+}}, %[[LHI:[0-9]+]] : index
// CHECK-NEXT:    %[[LG0:.*]] = arith.minsi %{{.*}}, %[[LLO]] : index
// CHECK-NEXT:    %[[LGEND:.*]] = arith.minsi %[[LG0]], %[[S]] : index
// CHECK-NEXT:    %[[R2LO:.*]] = arith.maxsi %[[FLO]], %[[LGEND]] : index
// CHECK-NEXT:    %[[R2HI:.*]] = arith.maxsi %[[LHI]], %[[R2LO]] : index
// n1 = ceil(gEnd / 64), n2 = ceil((r2hi - r2lo) / 64); one loop over n1 + n2.
// CHECK-NEXT:    %[[C64A:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[C63:.*]] = arith.constant 63 : index
// CHECK-NEXT:    %[[N1P:.*]] = arith.addi %[[LGEND]], %[[C63]] : index
// CHECK-NEXT:    %[[N1:.*]] = arith.divui %[[N1P]], %[[C64A]] : index
// CHECK-NEXT:    %[[LEN2:.*]] = arith.subi %[[R2HI]], %[[R2LO]] : index
// CHECK-NEXT:    %[[C64B:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[C63B:.*]] = arith.constant 63 : index
// CHECK-NEXT:    %[[N2P:.*]] = arith.addi %[[LEN2]], %[[C63B]] : index
// CHECK-NEXT:    %[[N2:.*]] = arith.divui %[[N2P]], %[[C64B]] : index
// m = -inf, l = 0, acc = 0, per row.
// CHECK-NEXT:    %[[ME:.*]] = tensor.empty(%[[ROWS]]) : tensor<?xf32>
// CHECK-NEXT:    %[[M0:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%[[ME]] : tensor<?xf32>) -> tensor<?xf32>
// CHECK:         %[[L0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>) -> tensor<?xf32>
// CHECK:         %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    %[[NT:.*]] = arith.addi %[[N1]], %[[N2]] : index
// CHECK-NEXT:    %[[G:.*]]:3 = scf.for %[[TI:[a-z0-9_]+]] = %[[ZERO]] to %[[NT]] step %[[ONE]] iter_args(%[[M:[a-z0-9_]+]] = %[[M0]], %[[L:[a-z0-9_]+]] = %[[L0]], %[[ACC:[a-z0-9_]+]] = %[[ACC0]]) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:      %[[C64:.*]] = arith.constant 64 : index
// Tile t < n1: j = 64·t, cut by r2lo; else j = r2lo + 64·(t - n1), cut by S.
// CHECK-NEXT:      %[[INF:.*]] = arith.cmpi ult, %[[TI]], %[[N1]] : index
// CHECK-DAG:       %[[TN:.*]] = arith.subi %[[TI]], %[[N1]] : index
// CHECK-DAG:       %[[TN64:.*]] = arith.muli %[[TN]], %[[C64]] : index
// CHECK-DAG:       %[[JB:.*]] = arith.addi %[[R2LO]], %[[TN64]] : index
// CHECK-DAG:       %[[JA:.*]] = arith.muli %[[TI]], %[[C64]] : index
// CHECK:           %[[J:.*]] = arith.select %[[INF]], %[[JA]], %[[JB]] : index
// CHECK-NEXT:      %[[END:.*]] = arith.select %[[INF]], %[[R2LO]], %[[S]] : index
// Key tile [j, j + cols), cols = min(64, end - j); K transposed.
// CHECK-NEXT:      %[[COLS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[END]], %[[J]]]
// CHECK:           %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<?x4xf32>
// CHECK:           %[[KTT:.*]] = linalg.transpose ins(%[[KT]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// Scores Qs·Kᵀ over (r, d, c), d reduced, from a zero fill.
// CHECK:           %[[SZC:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[SZ:.*]] = linalg.fill ins(%[[SZC]] : f32) outs(%{{.*}} : tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT:      %[[SC:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[QS]], %[[KTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%[[SZ]] : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[QA:[a-z0-9_]+]]: f32, %[[KA:[a-z0-9_]+]]: f32, %[[SA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[QK:.*]] = arith.mulf %[[QA]], %[[KA]] : f32
// CHECK-NEXT:        arith.addf %[[SA]], %[[QK]] : f32
// Mask, per pair (i = i0 + r, j = j + c, p = i + S - T): j <= p and
// p - j <= W (no ranges recomputed per element).
// CHECK:           %[[MS:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:        %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %[[I0]], %[[R]] : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE0:.*]] = arith.addi %[[RI]], %[[S]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.subi %[[PE0]], %[[T]] : index
// CHECK-NEXT:        %[[CAUSAL:.*]] = arith.cmpi sle, %[[CJ]], %[[PE]] : index
// CHECK-NEXT:        %[[W:.*]] = arith.constant 2 : index
// CHECK-NEXT:        %[[DIST:.*]] = arith.subi %[[PE]], %[[CJ]] : index
// CHECK-NEXT:        %[[NEAR:.*]] = arith.cmpi sle, %[[DIST]], %[[W]] : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.andi %[[CAUSAL]], %[[NEAR]] : i1
// No bias, no span: s as is, -inf where not visible; no weight tile.
// CHECK-NEXT:        %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:        %[[SM:.*]] = arith.select %[[VIS]], %[[SIN]], %[[NI]] : f32
// CHECK-NEXT:        linalg.yield %[[SM]] : f32
// Row max of the tile, from -inf.
// CHECK:           %[[TMI:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>) -> tensor<?xf32>
// CHECK-NEXT:      %[[TMAX:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[MS]] : tensor<?x?xf32>) outs(%[[TMI]] : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[X:[a-z0-9_]+]]: f32, %[[Y:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        arith.maximumf %[[Y]], %[[X]] : f32
// alpha = exp(m - max(m, tilemax)), 1 while that max is -inf; reads the old m.
// CHECK:           %[[ALPHA:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[TMAX]] : tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[MO:[a-z0-9_]+]]: f32, %[[TM:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[MN:.*]] = arith.maximumf %[[MO]], %[[TM]] : f32
// CHECK-DAG:         %[[DM:.*]] = arith.subf %[[MO]], %[[MN]] : f32
// CHECK-DAG:         %[[EDM:.*]] = math.exp %[[DM]] : f32
// CHECK-DAG:         %[[AONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:         %[[ANI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:         %[[ANONE:.*]] = arith.cmpf oeq, %[[MN]], %[[ANI]] : f32
// CHECK:             %[[AL:.*]] = arith.select %[[ANONE]], %[[AONE]], %[[EDM]] : f32
// m' = max(m, tilemax) in place: outs is the loop's m.
// CHECK:           %[[MNEW:.*]] = linalg.generic {{.*}} ins(%[[TMAX]] : tensor<?xf32>) outs(%[[M]] : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[TX:[a-z0-9_]+]]: f32, %[[MX:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        arith.maximumf %[[MX]], %[[TX]] : f32
// p = exp(s - m'), 0 for rows with m' = -inf (w·exp with a span: @span).
// CHECK:           %[[P:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], {{.*}} ins(%[[MS]], %[[MNEW]] : tensor<?x?xf32>, tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[PS:[a-z0-9_]+]]: f32, %[[PM:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[DS:.*]] = arith.subf %[[PS]], %[[PM]] : f32
// CHECK-NEXT:        %[[EDS:.*]] = math.exp %[[DS]] : f32
// CHECK-DAG:         %[[PNI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:         %[[PNONE:.*]] = arith.cmpf oeq, %[[PM]], %[[PNI]] : f32
// CHECK:             arith.select %[[PNONE]], %{{.*}}, %[[EDS]] : f32
// Row sum; then l' = l·alpha + rowsum in place.
// CHECK:           %[[TSUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[SX:[a-z0-9_]+]]: f32, %[[SY:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        arith.addf %[[SY]], %[[SX]] : f32
// CHECK:           %[[LNEW:.*]] = linalg.generic {{.*}} ins(%[[L]], %[[ALPHA]], %[[TSUM]] : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%[[L]] : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[LV:[a-z0-9_]+]]: f32, %[[LA:[a-z0-9_]+]]: f32, %[[LS:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[LM:.*]] = arith.mulf %[[LV]], %[[LA]] : f32
// CHECK-NEXT:        arith.addf %[[LM]], %[[LS]] : f32
// acc scaled by alpha in place; acc += P·V accumulates into it (no fill).
// CHECK:           %[[SCALED:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], {{.*}} ins(%[[ALPHA]] : tensor<?xf32>) outs(%[[ACC]] : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[AA:[a-z0-9_]+]]: f32, %[[AO:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        arith.mulf %[[AO]], %[[AA]] : f32
// CHECK:           %[[ACCN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[P]], %[[VT]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[SCALED]] : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[PA:[a-z0-9_]+]]: f32, %[[VA:[a-z0-9_]+]]: f32, %[[OA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[PVM:.*]] = arith.mulf %[[PA]], %[[VA]] : f32
// CHECK-NEXT:        arith.addf %[[OA]], %[[PVM]] : f32
// CHECK:           scf.yield %[[MNEW]], %[[LNEW]], %[[ACCN]] : tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// No second loop: o = acc / l and lse = m + log l; 0 and -inf where l = 0.
// CHECK-NEXT:    %[[OE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x4xf32>
// CHECK-NEXT:    %[[O:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], {{.*}} ins(%[[G]]#2, %[[G]]#1 : tensor<?x4xf32>, tensor<?xf32>) outs(%[[OE]] : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[OA:[a-z0-9_]+]]: f32, %[[OL:[a-z0-9_]+]]: f32,
// CHECK-DAG:       %[[DIV:.*]] = arith.divf %[[OA]], %[[OL]] : f32
// CHECK-DAG:       %[[SEEN:.*]] = arith.cmpf ogt, %[[OL]], %{{.*}} : f32
// CHECK:           arith.select %[[SEEN]], %[[DIV]], %{{.*}} : f32
// CHECK:         %[[LSER:.*]] = linalg.generic {{.*}} ins(%[[G]]#0, %[[G]]#1 : tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK-NEXT:    ^bb0(%[[LMV:[a-z0-9_]+]]: f32, %[[LL:[a-z0-9_]+]]: f32,
// CHECK-NEXT:      %[[LNI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:      %[[LOG:.*]] = math.log %[[LL]] : f32
// CHECK-NEXT:      %[[MLOG:.*]] = arith.addf %[[LMV]], %[[LOG]] : f32
// CHECK:           %[[LSEEN:.*]] = arith.cmpf ogt, %[[LL]], %{{.*}} : f32
// CHECK-NEXT:      arith.select %[[LSEEN]], %[[MLOG]], %[[LNI]] : f32
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[O]] into %[[OUTA]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<1x2x6x4xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[LSER]] into %[[LSEA]][%[[B]], %[[H]], %[[I0]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<?xf32> into tensor<1x2x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
func.func @causal_window(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o, %lse = rotary.attention %q, %k, %v {causal, window = 2 : i64}
      : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// Regression guard: the one key-tile loop's body allocates nothing per
// element and loops per key nowhere (no from_elements, alloc_tensor, inner
// scf.for); no other loop before or after it. Every option that adds work per
// key is on: bf16, bias table, span, global tokens, causal window.
// CHECK-LABEL: func.func @no_alloc_per_key(
// CHECK:         scf.forall
// CHECK-NOT:       scf.for
// CHECK:         %{{.*}}:3 = scf.for %[[TI:[a-z0-9_]+]] = {{.*}} iter_args({{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>) {
// CHECK-NEXT:      arith.constant 64 : index
// CHECK-NEXT:      arith.cmpi ult, %[[TI]], %{{.*}} : index
// CHECK-NOT:       tensor.from_elements
// CHECK-NOT:       bufferization.alloc_tensor
// CHECK-NOT:       scf.for
// CHECK:           scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    tensor.empty(%{{.*}}) : tensor<?x4xbf16>
func.func @no_alloc_per_key(%q: tensor<1x2x8x4xbf16>, %k: tensor<1x2x8x4xbf16>, %b: tensor<2x9xf32>, %s: tensor<2xf32>) -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %k bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>) {causal, window = 2 : i64, global_tokens = 1 : i64, span_ramp = 4.0 : f32}
      : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>
  return %o, %lse : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
}

// -----

// bf16 data, f32 math: Q widened once with the scale; K and V widened in the
// bodies of the two contractions of the one key loop; the output narrowed once; lse stays f32.
// CHECK-LABEL: func.func @bf16(
// CHECK:       scf.forall {{.*}} -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>)
// CHECK:         %[[QS:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[QB:[a-z0-9_]+]]: bf16, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:      arith.extf %[[QB]] : bf16 to f32
// CHECK:         %[[G:.*]]:3 = scf.for {{.*}} iter_args({{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK:           %[[KT:.*]] = linalg.transpose ins(%{{.*}} : tensor<?x4xbf16>) outs(%{{.*}} : tensor<4x?xbf16>)
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[QS]], %[[KT]] : tensor<?x4xf32>, tensor<4x?xbf16>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[QA:[a-z0-9_]+]]: f32, %[[KB:[a-z0-9_]+]]: bf16, %[[SA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[KF:.*]] = arith.extf %[[KB]] : bf16 to f32
// CHECK-NEXT:        %[[QK:.*]] = arith.mulf %[[QA]], %[[KF]] : f32
// CHECK-NEXT:        arith.addf %[[SA]], %[[QK]] : f32
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[PA:[a-z0-9_]+]]: f32, %[[VB:[a-z0-9_]+]]: bf16, %[[OA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[VF:.*]] = arith.extf %[[VB]] : bf16 to f32
// CHECK-NEXT:        %[[PV:.*]] = arith.mulf %[[PA]], %[[VF]] : f32
// CHECK-NEXT:        arith.addf %[[OA]], %[[PV]] : f32
// CHECK:           scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[OE:.*]] = tensor.empty(%{{.*}}) : tensor<?x4xbf16>
// CHECK-NEXT:    %[[O:.*]] = linalg.generic {{.*}} ins(%[[G]]#2, %[[G]]#1 : tensor<?x4xf32>, tensor<?xf32>) outs(%[[OE]] : tensor<?x4xbf16>)
// CHECK:           %[[OV:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      %[[OB:.*]] = arith.truncf %[[OV]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[OB]] : bf16
// CHECK:         %[[LSER:.*]] = linalg.generic {{.*}} ins(%[[G]]#0, %[[G]]#1 : tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[O]] into {{.*}} : tensor<?x4xbf16> into tensor<1x2x8x4xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[LSER]] into {{.*}} : tensor<?xf32> into tensor<1x2x8xf32>
func.func @bf16(%q: tensor<1x2x8x4xbf16>, %k: tensor<1x2x8x4xbf16>, %v: tensor<1x2x8x4xbf16>) -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %v {causal}
      : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>
  return %o, %lse : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
}

// -----

// A bias table [H, 2W'+1] (W' = 9 / 2 = 4), an explicit scale, not causal:
// s += table[h, clamp(j - p + W', 0, 2W')] in the mask generic; every row
// sees keys up to S.
// CHECK-LABEL: func.func @bias_table(
// CHECK-SAME:    %{{[^:]*}}: tensor<1x2x6x4xf32>, %{{[^:]*}}: tensor<1x2x8x4xf32>, %[[TABLE:[^:]*]]: tensor<2x9xf32>)
// CHECK:       %[[T:.*]] = arith.constant 6 : index
// CHECK-NEXT:  %[[S:.*]] = arith.constant 8 : index
// CHECK-NEXT:  %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C9:.*]] = arith.constant 9 : index
// CHECK:       %[[RADIUS:.*]] = arith.divui %[[C9]], %[[C2]] : index
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %[[H:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (1, 2, %{{.*}})
// The explicit scale multiplies the query tile.
// CHECK:           arith.mulf %{{[a-z0-9_]+}}, %[[SCALE]] : f32
// Not causal: the second range ends at S.
// CHECK:         %[[R2LO:.*]] = arith.maxsi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    %[[R2HI:.*]] = arith.maxsi %[[S]], %[[R2LO]] : index
// CHECK:         scf.for %[[TI:[a-z0-9_]+]] = {{.*}} -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:      arith.constant 64 : index
// CHECK-NEXT:      %[[INF:.*]] = arith.cmpi ult, %[[TI]], %{{.*}} : index
// CHECK:           %[[J:.*]] = arith.select %[[INF]], %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      arith.select %[[INF]], %[[R2LO]], %[[S]] : index
// CHECK:           linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK:             %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %{{.*}} = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE0:.*]] = arith.addi %{{.*}}, %[[S]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.subi %[[PE0]], %[[T]] : index
// Neither causal nor windowed: every pair is visible.
// CHECK-NEXT:        %[[VIS:.*]] = arith.constant true
// CHECK-NEXT:        %[[JR:.*]] = arith.addi %[[CJ]], %[[RADIUS]] : index
// CHECK-NEXT:        %[[JP:.*]] = arith.subi %[[JR]], %[[PE]] : index
// CHECK-DAG:         %[[Z:.*]] = arith.constant 0 : index
// CHECK-DAG:         %[[TWO:.*]] = arith.constant 2 : index
// CHECK-DAG:         %[[DIAM:.*]] = arith.muli %[[RADIUS]], %[[TWO]] : index
// CHECK-DAG:         %[[UP:.*]] = arith.minsi %[[JP]], %[[DIAM]] : index
// CHECK:             %[[COL:.*]] = arith.maxsi %[[UP]], %[[Z]] : index
// CHECK-NEXT:        %[[BV:.*]] = tensor.extract %[[TABLE]][%[[H]], %[[COL]]] : tensor<2x9xf32>
// CHECK-NEXT:        %[[SB:.*]] = arith.addf %[[SIN]], %[[BV]] : f32
// CHECK:             arith.select %[[VIS]], %[[SB]], %{{.*}} : f32
func.func @bias_table(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %b: tensor<2x9xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o, %lse = rotary.attention %q, %k, %k bias(%b : tensor<2x9xf32>) {scale = 0.5 : f32}
      : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// Adaptive span, ramp R = 4: the weight w = min(1, max(0, (span[h] + R -
// (p - j)) / R)), 0 where not visible (p = w·exp(s - m'): @causal_window).
// CHECK-LABEL: func.func @span(
// CHECK-SAME:    %{{[^:]*}}: tensor<1x2x8x4xf32>, %{{[^:]*}}: tensor<1x2x8x4xf32>, %[[SPAN:[^:]*]]: tensor<2xf32>)
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %[[H:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (1, 2, %{{.*}})
// CHECK:         scf.for %[[TI:[a-z0-9_]+]] = {{.*}} -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:      arith.constant 64 : index
// CHECK-NEXT:      %[[INF:.*]] = arith.cmpi ult, %[[TI]], %{{.*}} : index
// CHECK:           %[[J:.*]] = arith.select %[[INF]], %{{.*}}, %{{.*}} : index
// CHECK:           %[[MS:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:             %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %{{.*}} = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %{{.*}} = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[PE:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.cmpi sle, %[[CJ]], %[[PE]] : index
// CHECK-NEXT:        arith.constant 0xFF800000 : f32
// CHECK-NEXT:        arith.select %[[VIS]], %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:        %[[SP:.*]] = tensor.extract %[[SPAN]][%[[H]]] : tensor<2xf32>
// CHECK-NEXT:        %[[DIST:.*]] = arith.subi %[[PE]], %[[CJ]] : index
// CHECK-NEXT:        %[[DI:.*]] = arith.index_cast %[[DIST]] : index to i64
// CHECK-NEXT:        %[[DF:.*]] = arith.sitofp %[[DI]] : i64 to f32
// CHECK-NEXT:        %[[R:.*]] = arith.constant 4.000000e+00 : f32
// CHECK-NEXT:        %[[SR:.*]] = arith.addf %[[SP]], %[[R]] : f32
// CHECK-NEXT:        %[[NUM:.*]] = arith.subf %[[SR]], %[[DF]] : f32
// CHECK-NEXT:        %[[RAW:.*]] = arith.divf %[[NUM]], %[[R]] : f32
// CHECK-NEXT:        %[[F0:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[F1:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:        %[[LOW:.*]] = arith.maximumf %[[F0]], %[[RAW]] : f32
// CHECK-NEXT:        %[[WT:.*]] = arith.minimumf %[[F1]], %[[LOW]] : f32
// CHECK:             %[[WM:.*]] = arith.select %[[VIS]], %[[WT]], %{{.*}} : f32
// CHECK-NEXT:        linalg.yield %{{.*}}, %[[WM]] : f32, f32
func.func @span(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %s: tensor<2xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %k span(%s : tensor<2xf32>) {causal, span_ramp = 4.0 : f32}
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// -----

// global_tokens = 3, causal window 2: a global query (p < 3) sees every key up
// to p (lo = 0); the others see [0, min(3, lo, S)), then [lo, hi). The first
// range ends at the last row's gEnd; the second starts at max(lo(first), that).
// One loop over ceil(gEnd / 64) + ceil((r2hi - r2lo) / 64) tiles.
// CHECK-LABEL: func.func @global_tokens(
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[IT:[a-z0-9_]+]]) in (1, 2, %{{.*}})
// CHECK-NEXT:    %[[C48:.*]] = arith.constant 48 : index
// CHECK-NEXT:    %[[I0:.*]] = arith.muli %[[IT]], %[[C48]] : index
// CHECK:         %[[PI:.*]] = arith.addi %[[I0]], %[[S:c[0-9_]+]] : index
// CHECK-NEXT:    %[[P:.*]] = arith.subi %[[PI]], %{{.*}} : index
// CHECK-NEXT:    %[[ZI:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[P1:.*]] = arith.addi %[[P]], %[[C1]] : index
// CHECK-NEXT:    %[[HI0:.*]] = arith.maxsi %[[P1]], %[[ZI]] : index
// CHECK-NEXT:    %[[HI:.*]] = arith.minsi %[[HI0]], %[[S]] : index
// CHECK-NEXT:    %[[W:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[PW:.*]] = arith.subi %[[P]], %[[W]] : index
// CHECK-NEXT:    %[[LO0:.*]] = arith.maxsi %[[PW]], %[[ZI]] : index
// CHECK-NEXT:    %[[WLO:.*]] = arith.minsi %[[LO0]], %[[S]] : index
// CHECK-NEXT:    %[[NG:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[GQ:.*]] = arith.cmpi slt, %[[P]], %[[NG]] : index
// CHECK-NEXT:    %[[LO1:.*]] = arith.select %[[GQ]], %[[ZI]], %[[WLO]] : index
// CHECK-NEXT:    %[[FLO:.*]] = arith.minsi %[[LO1]], %[[HI]] : index
// CHECK-NEXT:    %[[GE0:.*]] = arith.minsi %[[NG]], %[[FLO]] : index
// CHECK-NEXT:    arith.minsi %[[GE0]], %[[S]] : index
// CHECK:         %[[LLO:.*]] = arith.minsi %{{[0-9]+}}, %{{[0-9]+}} : index
// CHECK-NEXT:    %[[LG0:.*]] = arith.minsi %{{.*}}, %[[LLO]] : index
// CHECK-NEXT:    %[[LGEND:.*]] = arith.minsi %[[LG0]], %[[S]] : index
// CHECK-NEXT:    %[[R2LO:.*]] = arith.maxsi %[[FLO]], %[[LGEND]] : index
// CHECK-NEXT:    %[[R2HI:.*]] = arith.maxsi %{{.*}}, %[[R2LO]] : index
// CHECK:         %[[N1P:.*]] = arith.addi %[[LGEND]], %{{.*}} : index
// CHECK-NEXT:    %[[N1:.*]] = arith.divui %[[N1P]], %{{.*}} : index
// CHECK-NEXT:    %[[LEN2:.*]] = arith.subi %[[R2HI]], %[[R2LO]] : index
// CHECK:         %[[N2P:.*]] = arith.addi %[[LEN2]], %{{.*}} : index
// CHECK-NEXT:    %[[N2:.*]] = arith.divui %[[N2P]], %{{.*}} : index
// CHECK:         %[[NT:.*]] = arith.addi %[[N1]], %[[N2]] : index
// CHECK-NEXT:    scf.for %[[TI:[a-z0-9_]+]] = %{{.*}} to %[[NT]] step %{{.*}} iter_args({{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:      arith.constant 64 : index
// CHECK-NEXT:      %[[INF:.*]] = arith.cmpi ult, %[[TI]], %[[N1]] : index
// CHECK:           %[[JB:.*]] = arith.addi %[[R2LO]], %{{.*}} : index
// CHECK:           %[[J:.*]] = arith.select %[[INF]], %{{.*}}, %[[JB]] : index
// A global tile is cut where the window range starts; a window tile by S.
// CHECK-NEXT:      %[[END:.*]] = arith.select %[[INF]], %[[R2LO]], %[[S]] : index
// CHECK-NEXT:      affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[END]], %[[J]]]
func.func @global_tokens(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o, %lse = rotary.attention %q, %k, %k {causal, window = 2 : i64, global_tokens = 3 : i64}
      : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}
