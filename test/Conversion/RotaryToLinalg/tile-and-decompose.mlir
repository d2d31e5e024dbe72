// RUN: rotary-opt %s -rotary-tile-and-decompose -split-input-file -verify-diagnostics -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not=rotary.online_attention
// RUN: rotary-opt %s -rotary-tile-and-decompose=tile=false -split-input-file -verify-diagnostics -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=WHOLE --implicit-check-not=rotary.online_attention

// rotary-tile-and-decompose on rotary.online_attention
// (lib/Conversion/RotaryToLinalg/TileAndDecompose.cpp, LowerAttention.cpp).
// Tiling (TilingInterface, scf::tileUsingSCF): one scf.forall task per
// (b, h, block of `query` = 48 rows), the same op on the tasks' slices of q,
// k, v, bias, span and the inits, its first_position shifted by the block's
// first row i (row r of the block at position r + p + i).
// Decomposition, per (b, h) of a tile: online softmax (m, l [rows],
// acc [rows, D]) over key tiles of `key` = 64 of two ranges,
// [0, gEnd(last row)) then [max(lo(first row), that), hi(last row)), visited
// by one scf.for over n1 + n2 tiles (n = ceil(length / 64)); a tile is cut
// only by the start of the next range or by S, never by its own range's end
// (masked pairs are cheaper than narrow tiles).
// Per key tile: S = Qs·Kᵀ, masked per pair (j <= pos, pos - j <= W, or either
// global), m and l updated in place, acc scaled, acc += P·V.
// o = acc / l and lse = m + log l, written into slices of the tile's inits
// and inserted back, then into the forall's shared outputs.

// T = 6, S = 8, first_position %p: every position is row + %p (+ the
// block's first row), never derived from S - T here.
// CHECK-LABEL: func.func @causal_window(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[P:[^:]*]]: index)
// CHECK:       %[[OUT:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-NEXT:  %[[LSE:.*]] = tensor.empty() : tensor<1x2x6xf32>
// Tiling: tasks (b, h, i) with i a multiple of 48 below T.
// CHECK-NEXT:  %[[RES:.*]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0, 0) to (1, 2, 6) step (1, 1, 48) shared_outs(%[[OUTA:[a-z0-9_]+]] = %[[OUT]], %[[LSEA:[a-z0-9_]+]] = %[[LSE]]) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
// Rows [i, i + rows), rows = min(48, T - i); the task's slices: rows of q and
// of both inits, all keys of (b, h).
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 6, 48)>(%[[I]])
// CHECK-NEXT:    %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x8x4xf32>
// CHECK-NEXT:    %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x8x4xf32>
// CHECK-NEXT:    %[[OT:.*]] = tensor.extract_slice %[[OUTA]][%[[B]], %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[LT:.*]] = tensor.extract_slice %[[LSEA]][%[[B]], %[[H]], %[[I]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<1x2x6xf32> to tensor<1x1x?xf32>
// The task's slices, then its first_position p + i.
// CHECK-NEXT:    %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         %[[S:.*]] = arith.constant 8 : index
// Default scale 1/sqrt(D).
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// The tile has one (b, h): no loop over them, both 0 in the tile's slices.
// CHECK:         %[[B0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// The tile's rows of q, scaled once.
// CHECK-NEXT:    %[[QR:.*]] = tensor.extract_slice %[[QT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// CHECK:         %[[QS:.*]] = linalg.generic {{.*}} ins(%[[QR]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[QIN:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:      arith.mulf %[[QIN]], %[[SCALE]] : f32
// Positions of the first row (0 + p0) and of the last (rows - 1 + p0).
// CHECK:         %[[LAST0:.*]] = arith.addi %[[ZERO]], %[[ROWS]] : index
// CHECK-NEXT:    %[[LAST:.*]] = arith.subi %[[LAST0]], %{{.*}} : index
// CHECK-NEXT:    %[[PF:.*]] = arith.addi %[[ZERO]], %[[P0]] : index
// CHECK-NEXT:    arith.constant 0 : index
// CHECK-NEXT:    %[[PF1C:.*]] = arith.constant 1 : index
// CHECK-NEXT:    arith.addi %[[PF]], %[[PF1C]] : index
// Ranges from lo of the first row, gEnd and hi of the last (@global_tokens).
// CHECK:         %[[FLO:.*]] = arith.minsi %{{[0-9]+}}, %{{[0-9]+}} : index
// CHECK:         %[[PL:.*]] = arith.addi %[[LAST]], %[[P0]] : index
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
// Key tile [j, j + cols), cols = min(64, end - j), of the task's K and V;
// K transposed.
// CHECK-NEXT:      %[[COLS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[END]], %[[J]]]
// CHECK:           %[[KJ:.*]] = tensor.extract_slice %[[KT]][%[[B0]], %[[H0]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<1x1x8x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[VJ:.*]] = tensor.extract_slice %[[VT]][%[[B0]], %[[H0]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<1x1x8x4xf32> to tensor<?x4xf32>
// CHECK:           %[[KTT:.*]] = linalg.transpose ins(%[[KJ]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// Scores Qs·Kᵀ over (r, d, c), d reduced, from a zero fill.
// CHECK:           %[[SZC:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[SZ:.*]] = linalg.fill ins(%[[SZC]] : f32) outs(%{{.*}} : tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT:      %[[SC:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[QS]], %[[KTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%[[SZ]] : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[QA:[a-z0-9_]+]]: f32, %[[KA:[a-z0-9_]+]]: f32, %[[SA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[QK:.*]] = arith.mulf %[[QA]], %[[KA]] : f32
// CHECK-NEXT:        arith.addf %[[SA]], %[[QK]] : f32
// Mask, per pair (row 0 + r at position (0 + r) + p0, key j + c): j <= pos
// and pos - j <= W (no ranges recomputed per element).
// CHECK:           %[[MS:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:        %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.addi %[[RI]], %[[P0]] : index
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
// CHECK:           %[[PT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], {{.*}} ins(%[[MS]], %[[MNEW]] : tensor<?x?xf32>, tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[PS:[a-z0-9_]+]]: f32, %[[PM:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[DS:.*]] = arith.subf %[[PS]], %[[PM]] : f32
// CHECK-NEXT:        %[[EDS:.*]] = math.exp %[[DS]] : f32
// CHECK-DAG:         %[[PNI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:         %[[PNONE:.*]] = arith.cmpf oeq, %[[PM]], %[[PNI]] : f32
// CHECK:             arith.select %[[PNONE]], %{{.*}}, %[[EDS]] : f32
// Row sum; then l' = l·alpha + rowsum in place.
// CHECK:           %[[TSUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[PT]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?xf32>)
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
// CHECK:           %[[ACCN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PT]], %[[VJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[SCALED]] : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[PA:[a-z0-9_]+]]: f32, %[[VA:[a-z0-9_]+]]: f32, %[[OA:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[PVM:.*]] = arith.mulf %[[PA]], %[[VA]] : f32
// CHECK-NEXT:        arith.addf %[[OA]], %[[PVM]] : f32
// CHECK:           scf.yield %[[MNEW]], %[[LNEW]], %[[ACCN]] : tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// No second loop: o = acc / l and lse = m + log l (0 and -inf where l = 0),
// each written into the rows' slice of the tile's init (no new tensor).
// CHECK-NEXT:    %[[OR:.*]] = tensor.extract_slice %[[OT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:    %[[O:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], {{.*}} ins(%[[G]]#2, %[[G]]#1 : tensor<?x4xf32>, tensor<?xf32>) outs(%[[OR]] : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[OA:[a-z0-9_]+]]: f32, %[[OL:[a-z0-9_]+]]: f32,
// CHECK-DAG:       %[[DIV:.*]] = arith.divf %[[OA]], %[[OL]] : f32
// CHECK-DAG:       %[[SEEN:.*]] = arith.cmpf ogt, %[[OL]], %{{.*}} : f32
// CHECK:           arith.select %[[SEEN]], %[[DIV]], %{{.*}} : f32
// CHECK:         %[[LR:.*]] = tensor.extract_slice %[[LT]][%[[B0]], %[[H0]], %[[ZERO]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<1x1x?xf32> to tensor<?xf32>
// CHECK-NEXT:    %[[LSER:.*]] = linalg.generic {{.*}} ins(%[[G]]#0, %[[G]]#1 : tensor<?xf32>, tensor<?xf32>) outs(%[[LR]] : tensor<?xf32>)
// CHECK-NEXT:    ^bb0(%[[LMV:[a-z0-9_]+]]: f32, %[[LL:[a-z0-9_]+]]: f32,
// CHECK-NEXT:      %[[LNI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:      %[[LOG:.*]] = math.log %[[LL]] : f32
// CHECK-NEXT:      %[[MLOG:.*]] = arith.addf %[[LMV]], %[[LOG]] : f32
// CHECK:           %[[LSEEN:.*]] = arith.cmpf ogt, %[[LL]], %{{.*}} : f32
// CHECK-NEXT:      arith.select %[[LSEEN]], %[[MLOG]], %[[LNI]] : f32
// Back into the tile's inits, then the tile into the task's place.
// CHECK:         %[[OI:.*]] = tensor.insert_slice %[[O]] into %[[OT]][%[[B0]], %[[H0]], 0, 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[LI:.*]] = tensor.insert_slice %[[LSER]] into %[[LT]][%[[B0]], %[[H0]], 0] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<?xf32> into tensor<1x1x?xf32>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[OI]] into %[[OUTA]][%[[B]], %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> into tensor<1x2x6x4xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[LI]] into %[[LSEA]][%[[B]], %[[H]], %[[I]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<1x1x?xf32> into tensor<1x2x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
func.func @causal_window(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %p: index) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o0 = tensor.empty() : tensor<1x2x6x4xf32>
  %l0 = tensor.empty() : tensor<1x2x6xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %v : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
      {causal, window = 2 : i64, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// Regression guard: the one key-tile loop's body allocates nothing per
// element and loops per key nowhere (no from_elements, alloc_tensor, inner
// scf.for); no other loop before or after it in the task. Every option that
// adds work per key is on: bf16, bias table, span, global tokens, causal
// window.
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
// CHECK-NEXT:    tensor.extract_slice %{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK-NOT:     scf.for
// CHECK:         scf.forall.in_parallel
func.func @no_alloc_per_key(%q: tensor<1x2x8x4xbf16>, %k: tensor<1x2x8x4xbf16>, %b: tensor<2x9xf32>, %s: tensor<2xf32>, %p: index) -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>) {
  %o0 = tensor.empty() : tensor<1x2x8x4xbf16>
  %l0 = tensor.empty() : tensor<1x2x8xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %k : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>)
      bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>)
      {causal, window = 2 : i64, global_tokens = 1 : i64, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
  return %o, %lse : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
}

// -----

// bf16 data, f32 math: Q widened once with the scale; K and V widened in the
// bodies of the two contractions of the one key loop; the output narrowed
// once, into the bf16 tile of the init; lse stays f32.
// CHECK-LABEL: func.func @bf16(
// CHECK:       scf.forall {{.*}} -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>)
// CHECK:         %[[OT:.*]] = tensor.extract_slice %{{.*}} : tensor<1x2x8x4xbf16> to tensor<1x1x?x4xbf16>
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
// CHECK-NEXT:    %[[OE:.*]] = tensor.extract_slice %[[OT]]{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK-NEXT:    %[[O:.*]] = linalg.generic {{.*}} ins(%[[G]]#2, %[[G]]#1 : tensor<?x4xf32>, tensor<?xf32>) outs(%[[OE]] : tensor<?x4xbf16>)
// CHECK:           %[[OV:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      %[[OB:.*]] = arith.truncf %[[OV]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[OB]] : bf16
// CHECK:         %[[LSER:.*]] = linalg.generic {{.*}} ins(%[[G]]#0, %[[G]]#1 : tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:         %[[OI:.*]] = tensor.insert_slice %[[O]] into %[[OT]]{{.*}} : tensor<?x4xbf16> into tensor<1x1x?x4xbf16>
// CHECK-NEXT:    %[[LI:.*]] = tensor.insert_slice %[[LSER]] into {{.*}} : tensor<?xf32> into tensor<1x1x?xf32>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[OI]] into {{.*}} : tensor<1x1x?x4xbf16> into tensor<1x2x8x4xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[LI]] into {{.*}} : tensor<1x1x?xf32> into tensor<1x2x8xf32>
func.func @bf16(%q: tensor<1x2x8x4xbf16>, %k: tensor<1x2x8x4xbf16>, %v: tensor<1x2x8x4xbf16>, %p: index) -> (tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>) {
  %o0 = tensor.empty() : tensor<1x2x8x4xbf16>
  %l0 = tensor.empty() : tensor<1x2x8xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %v : tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>)
      {causal, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
  return %o, %lse : tensor<1x2x8x4xbf16>, tensor<1x2x8xf32>
}

// -----

// A bias table [H, 2W'+1] (W' = 9 / 2 = 4), an explicit scale, not causal,
// first_position a constant (2 = S - T, as convert-rotary-to-linalg makes
// it): the task takes its head's row of the table; s += row[clamp(j - pos +
// W', 0, 2W')] in the mask generic; every row sees keys up to S.
// CHECK-LABEL: func.func @bias_table(
// CHECK-SAME:    %{{[^:]*}}: tensor<1x2x6x4xf32>, %{{[^:]*}}: tensor<1x2x8x4xf32>, %[[TABLE:[^:]*]]: tensor<2x9xf32>)
// CHECK:       %[[P:.*]] = arith.constant 2 : index
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0, 0) to (1, 2, 6) step (1, 1, 48)
// CHECK:         %[[TROW:.*]] = tensor.extract_slice %[[TABLE]][%[[H]], 0] [1, 9] [1, 1] : tensor<2x9xf32> to tensor<1x9xf32>
// CHECK:         %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         %[[S:.*]] = arith.constant 8 : index
// CHECK-NEXT:    %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C9:.*]] = arith.constant 9 : index
// CHECK:         %[[RADIUS:.*]] = arith.divui %[[C9]], %[[C2]] : index
// CHECK:         arith.constant 0 : index
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
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
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.addi %[[RI]], %[[P0]] : index
// Neither causal nor windowed: every pair is visible.
// CHECK-NEXT:        %[[VIS:.*]] = arith.constant true
// CHECK-NEXT:        %[[JR:.*]] = arith.addi %[[CJ]], %[[RADIUS]] : index
// CHECK-NEXT:        %[[JP:.*]] = arith.subi %[[JR]], %[[PE]] : index
// CHECK-DAG:         %[[Z:.*]] = arith.constant 0 : index
// CHECK-DAG:         %[[TWO:.*]] = arith.constant 2 : index
// CHECK-DAG:         %[[DIAM:.*]] = arith.muli %[[RADIUS]], %[[TWO]] : index
// CHECK-DAG:         %[[UP:.*]] = arith.minsi %[[JP]], %[[DIAM]] : index
// CHECK:             %[[COL:.*]] = arith.maxsi %[[UP]], %[[Z]] : index
// CHECK-NEXT:        %[[BV:.*]] = tensor.extract %[[TROW]][%[[H0]], %[[COL]]] : tensor<1x9xf32>
// CHECK-NEXT:        %[[SB:.*]] = arith.addf %[[SIN]], %[[BV]] : f32
// CHECK:             arith.select %[[VIS]], %[[SB]], %{{.*}} : f32
func.func @bias_table(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %b: tensor<2x9xf32>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %p = arith.constant 2 : index
  %o0 = tensor.empty() : tensor<1x2x6x4xf32>
  %l0 = tensor.empty() : tensor<1x2x6xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %k : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      bias(%b : tensor<2x9xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
      {scale = 0.5 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// Adaptive span, ramp R = 4: the task takes its head's span; the weight
// w = min(1, max(0, (span[h] + R - (pos - j)) / R)), 0 where not visible
// (p = w·exp(s - m'): @causal_window).
// CHECK-LABEL: func.func @span(
// CHECK-SAME:    %{{[^:]*}}: tensor<1x2x8x4xf32>, %{{[^:]*}}: tensor<1x2x8x4xf32>, %[[SPAN:[^:]*]]: tensor<2xf32>, %[[P:[^:]*]]: index)
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0, 0) to (1, 2, 8) step (1, 1, 48)
// CHECK:         %[[SPANH:.*]] = tensor.extract_slice %[[SPAN]][%[[H]]] [1] [1] : tensor<2xf32> to tensor<1xf32>
// CHECK:         %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         arith.constant 0 : index
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK:         scf.for %[[TI:[a-z0-9_]+]] = {{.*}} -> (tensor<?xf32>, tensor<?xf32>, tensor<?x4xf32>)
// CHECK-NEXT:      arith.constant 64 : index
// CHECK-NEXT:      %[[INF:.*]] = arith.cmpi ult, %[[TI]], %{{.*}} : index
// CHECK:           %[[J:.*]] = arith.select %[[INF]], %{{.*}}, %{{.*}} : index
// CHECK:           %[[MS:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:             %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.addi %[[RI]], %[[P0]] : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.cmpi sle, %[[CJ]], %[[PE]] : index
// CHECK-NEXT:        arith.constant 0xFF800000 : f32
// CHECK-NEXT:        arith.select %[[VIS]], %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:        %[[SP:.*]] = tensor.extract %[[SPANH]][%[[H0]]] : tensor<1xf32>
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
func.func @span(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %s: tensor<2xf32>, %p: index) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o0 = tensor.empty() : tensor<1x2x8x4xf32>
  %l0 = tensor.empty() : tensor<1x2x8xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %k : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      span(%s : tensor<2xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
      {causal, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// -----

// global_tokens = 3, causal window 2: a global query (pos < 3) sees every key
// up to pos (lo = 0); the others see [0, min(3, lo, S)), then [lo, hi). The
// first range ends at the last row's gEnd; the second starts at
// max(lo(first), that). One loop over ceil(gEnd / 64) +
// ceil((r2hi - r2lo) / 64) tiles.
// CHECK-LABEL: func.func @global_tokens(
// CHECK-SAME:    %[[P:[^:]*]]: index)
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[I:[a-z0-9_]+]]) = (0, 0, 0) to (1, 2, 8) step (1, 1, 48)
// CHECK:         %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         %[[S:.*]] = arith.constant 8 : index
// The first row's position (row 0 of the tile) and its range.
// CHECK:         %[[PF:.*]] = arith.addi %{{.*}}, %[[P0]] : index
// CHECK-NEXT:    %[[ZI:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[P1:.*]] = arith.addi %[[PF]], %[[C1]] : index
// CHECK-NEXT:    %[[HI0:.*]] = arith.maxsi %[[P1]], %[[ZI]] : index
// CHECK-NEXT:    %[[HI:.*]] = arith.minsi %[[HI0]], %[[S]] : index
// CHECK-NEXT:    %[[W:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[PW:.*]] = arith.subi %[[PF]], %[[W]] : index
// CHECK-NEXT:    %[[LO0:.*]] = arith.maxsi %[[PW]], %[[ZI]] : index
// CHECK-NEXT:    %[[WLO:.*]] = arith.minsi %[[LO0]], %[[S]] : index
// CHECK-NEXT:    %[[NG:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[GQ:.*]] = arith.cmpi slt, %[[PF]], %[[NG]] : index
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
func.func @global_tokens(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %p: index) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>) {
  %o0 = tensor.empty() : tensor<1x2x8x4xf32>
  %l0 = tensor.empty() : tensor<1x2x8xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %k : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
      {causal, window = 2 : i64, global_tokens = 3 : i64, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
  return %o, %lse : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
}

// -----

// B = 2, H = 3. Tiled (CHECK): one forall over all of (b, h, row blocks).
// Whole (tile=false, WHOLE): no forall; scf.for over b, then over h, each
// carrying both outputs; per (b, h) one key loop over that (b, h)'s keys; its
// o and lse written into (b, h)'s rows of the carried outputs (extract_slice,
// generic into it, insert_slice) and yielded.
// CHECK-LABEL: func.func @whole(
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) = (0, 0, 0) to (2, 3, 6) step (1, 1, 48)
// CHECK-SAME:    -> (tensor<2x3x6x4xf32>, tensor<2x3x6xf32>)

// WHOLE-LABEL: func.func @whole(
// WHOLE-SAME:    %[[Q:[^:]*]]: tensor<2x3x6x4xf32>, %[[K:[^:]*]]: tensor<2x3x8x4xf32>, %[[V:[^:]*]]: tensor<2x3x8x4xf32>, %[[P:[^:]*]]: index)
// WHOLE-NOT:   scf.forall
// WHOLE:       %[[OUT:.*]] = tensor.empty() : tensor<2x3x6x4xf32>
// WHOLE-NEXT:  %[[LSE:.*]] = tensor.empty() : tensor<2x3x6xf32>
// WHOLE-NOT:   scf.forall
// WHOLE:       %[[BONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:  %[[BN:.*]] = arith.constant 2 : index
// WHOLE-NEXT:  %[[BZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:  %[[RES:.*]]:2 = scf.for %[[B:[a-z0-9_]+]] = %[[BZERO]] to %[[BN]] step %[[BONE]] iter_args(%[[OB:[a-z0-9_]+]] = %[[OUT]], %[[LB:[a-z0-9_]+]] = %[[LSE]]) -> (tensor<2x3x6x4xf32>, tensor<2x3x6xf32>) {
// WHOLE-NEXT:    %[[HONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:    %[[HN:.*]] = arith.constant 3 : index
// WHOLE-NEXT:    %[[HZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:    %[[HRES:.*]]:2 = scf.for %[[H:[a-z0-9_]+]] = %[[HZERO]] to %[[HN]] step %[[HONE]] iter_args(%[[OH:[a-z0-9_]+]] = %[[OB]], %[[LH:[a-z0-9_]+]] = %[[LB]]) -> (tensor<2x3x6x4xf32>, tensor<2x3x6xf32>) {
// All T = 6 rows of (b, h), static, from row 0 at position 0 + %p.
// WHOLE-NEXT:      %[[ZERO:.*]] = arith.constant 0 : index
// WHOLE:           %[[QR:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<6x4xf32>
// WHOLE:           %[[PF:.*]] = arith.addi %[[ZERO]], %[[P]] : index
// WHOLE:           %[[G:.*]]:3 = scf.for %{{.*}} -> (tensor<6xf32>, tensor<6xf32>, tensor<6x4xf32>) {
// WHOLE:             tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[J:[0-9]+]], 0] [1, 1, %[[COLS:[0-9]+]], 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<?x4xf32>
// WHOLE-NEXT:        tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<?x4xf32>
// WHOLE:               %[[R:.*]] = linalg.index 0 : index
// WHOLE-NEXT:          linalg.index 1 : index
// WHOLE-NEXT:          %[[RI:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// WHOLE-NEXT:          arith.addi %[[J]], %{{.*}} : index
// WHOLE-NEXT:          arith.addi %[[RI]], %[[P]] : index
// WHOLE:             scf.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<6xf32>, tensor<6xf32>, tensor<6x4xf32>
// WHOLE-NEXT:      }
// WHOLE-NEXT:      %[[OR:.*]] = tensor.extract_slice %[[OH]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<6x4xf32>
// WHOLE-NEXT:      %[[O:.*]] = linalg.generic {{.*}} ins(%[[G]]#2, %[[G]]#1 : tensor<6x4xf32>, tensor<6xf32>) outs(%[[OR]] : tensor<6x4xf32>)
// WHOLE:           %[[LR:.*]] = tensor.extract_slice %[[LH]][%[[B]], %[[H]], %[[ZERO]]] [1, 1, 6] [1, 1, 1] : tensor<2x3x6xf32> to tensor<6xf32>
// WHOLE-NEXT:      %[[L:.*]] = linalg.generic {{.*}} ins(%[[G]]#0, %[[G]]#1 : tensor<6xf32>, tensor<6xf32>) outs(%[[LR]] : tensor<6xf32>)
// WHOLE:           %[[OI:.*]] = tensor.insert_slice %[[O]] into %[[OH]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<6x4xf32> into tensor<2x3x6x4xf32>
// WHOLE-NEXT:      %[[LI:.*]] = tensor.insert_slice %[[L]] into %[[LH]][%[[B]], %[[H]], 0] [1, 1, 6] [1, 1, 1] : tensor<6xf32> into tensor<2x3x6xf32>
// WHOLE-NEXT:      scf.yield %[[OI]], %[[LI]] : tensor<2x3x6x4xf32>, tensor<2x3x6xf32>
// WHOLE-NEXT:    }
// WHOLE-NEXT:    scf.yield %[[HRES]]#0, %[[HRES]]#1 : tensor<2x3x6x4xf32>, tensor<2x3x6xf32>
// WHOLE-NEXT:  }
// WHOLE-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<2x3x6x4xf32>, tensor<2x3x6xf32>
func.func @whole(%q: tensor<2x3x6x4xf32>, %k: tensor<2x3x8x4xf32>, %v: tensor<2x3x8x4xf32>, %p: index) -> (tensor<2x3x6x4xf32>, tensor<2x3x6xf32>) {
  %o0 = tensor.empty() : tensor<2x3x6x4xf32>
  %l0 = tensor.empty() : tensor<2x3x6xf32>
  %o, %lse = rotary.online_attention ins(%q, %k, %v : tensor<2x3x6x4xf32>, tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<2x3x6x4xf32>, tensor<2x3x6xf32>)
      {causal, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x3x6x4xf32>, tensor<2x3x6xf32>
  return %o, %lse : tensor<2x3x6x4xf32>, tensor<2x3x6xf32>
}

// -----

// No rotary.tiles: one error naming the op and the expected attribute, with
// and without tiling (both RUN lines verify it).
func.func @no_tiles(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %p: index) -> (tensor<1x2x6x4xf32>, tensor<1x2x6xf32>) {
  %o0 = tensor.empty() : tensor<1x2x6x4xf32>
  %l0 = tensor.empty() : tensor<1x2x6xf32>
  // expected-error @+1 {{'rotary.online_attention' op needs its tile sizes, 'rotary.tiles' = {query = Q, key = K} with Q, K > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %o, %lse = rotary.online_attention ins(%q, %k, %v : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      first_position(%p) outs(%o0, %l0 : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
      {causal} -> tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
  return %o, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6xf32>
}

// -----

// rotary.online_attention_query_grad (the query pass of rotary.attention_grad,
// LowerAttentionGrad.cpp). Tiling: one scf.forall task per (h, block of
// `query` = 48 rows), the same op on the task's slices: q, ȯ, lse, δ and the
// q̄ init on [all b, h, rows], k and v on [all b, h, all keys];
// first_position + i. Decomposition per head: a loop over b (B = 2 here), in
// it one scf.for over the key tiles (`key` = 64 wide, the forward's two
// ranges): S = Q·Kᵀ, masked and scaled per pair (position = row + p0),
// dP = Ȯ·Vᵀ, s̄ = e·(dP − δ) with e = exp(s − lse) (0 when lse = -inf), and
// Q̄ += s̄·K; Q̄ scaled once into the b's rows of the init, inserted back.
// CHECK-LABEL: func.func @query_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x2x6x4xf32>, %[[K:[^:]*]]: tensor<2x2x8x4xf32>, %[[V:[^:]*]]: tensor<2x2x8x4xf32>, %[[DO:[^:]*]]: tensor<2x2x6x4xf32>, %[[LSE:[^:]*]]: tensor<2x2x6xf32>, %[[DELTA:[^:]*]]: tensor<2x2x6xf32>, %[[P:[^:]*]]: index)
// CHECK-NEXT:  %[[DQ0:.*]] = tensor.empty() : tensor<2x2x6x4xf32>
// Tiling: tasks (h, i), i a multiple of 48 below T; no b in the tasks.
// CHECK-NEXT:  %[[RES:.*]] = scf.forall (%[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0) to (2, 6) step (1, 48) shared_outs(%[[DQA:[a-z0-9_]+]] = %[[DQ0]]) -> (tensor<2x2x6x4xf32>) {
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 6, 48)>(%[[I]])
// The task's slices, then its first_position p + i.
// CHECK-NEXT:    %[[QT:.*]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[I]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x2x6x4xf32> to tensor<2x1x?x4xf32>
// CHECK-NEXT:    %[[KT:.*]] = tensor.extract_slice %[[K]][0, %[[H]], 0, 0] [2, 1, 8, 4] [1, 1, 1, 1] : tensor<2x2x8x4xf32> to tensor<2x1x8x4xf32>
// CHECK-NEXT:    %[[VT:.*]] = tensor.extract_slice %[[V]][0, %[[H]], 0, 0] [2, 1, 8, 4] [1, 1, 1, 1] : tensor<2x2x8x4xf32> to tensor<2x1x8x4xf32>
// CHECK-NEXT:    %[[DOT:.*]] = tensor.extract_slice %[[DO]][0, %[[H]], %[[I]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x2x6x4xf32> to tensor<2x1x?x4xf32>
// CHECK-NEXT:    %[[LSET:.*]] = tensor.extract_slice %[[LSE]][0, %[[H]], %[[I]]] [2, 1, %[[ROWS]]] [1, 1, 1] : tensor<2x2x6xf32> to tensor<2x1x?xf32>
// CHECK-NEXT:    %[[DT:.*]] = tensor.extract_slice %[[DELTA]][0, %[[H]], %[[I]]] [2, 1, %[[ROWS]]] [1, 1, 1] : tensor<2x2x6xf32> to tensor<2x1x?xf32>
// CHECK-NEXT:    %[[DQT:.*]] = tensor.extract_slice %[[DQA]][0, %[[H]], %[[I]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x2x6x4xf32> to tensor<2x1x?x4xf32>
// CHECK-NEXT:    %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         %[[S:.*]] = arith.constant 8 : index
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// Positions of the first row (0 + p0) and of the last (rows - 1 + p0).
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[ONEB:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[LAST0:.*]] = arith.addi %[[ZERO]], %[[ROWS]] : index
// CHECK-NEXT:    %[[LAST:.*]] = arith.subi %[[LAST0]], %[[ONEB]] : index
// CHECK-NEXT:    %{{.*}} = arith.addi %[[ZERO]], %[[P0]] : index
// CHECK:         %{{.*}} = arith.addi %[[LAST]], %[[P0]] : index
// n1 + n2 key tiles; the second range starts at r2lo.
// CHECK:         %[[R2LO:.*]] = arith.maxsi %{{[0-9]+}}, %{{[0-9]+}} : index
// CHECK-NEXT:    %{{.*}} = arith.maxsi %{{.*}}, %[[R2LO]] : index
// CHECK:         %[[N1:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// CHECK:         %[[N2:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// One head per task (h = 0 in the tile), a loop over b carrying the tile of
// the q̄ init.
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[BONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[BN:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[BZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[BT:.*]] = scf.for %[[B:[a-z0-9_]+]] = %[[BZERO]] to %[[BN]] step %[[BONE]] iter_args(%[[DQB:[a-z0-9_]+]] = %[[DQT]]) -> (tensor<2x1x?x4xf32>) {
// CHECK-NEXT:      %[[QR:.*]] = tensor.extract_slice %[[QT]][%[[B]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[DOR:.*]] = tensor.extract_slice %[[DOT]][%[[B]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[LSEV:.*]] = tensor.extract_slice %[[LSET]][%[[B]], %[[H0]], %[[ZERO]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<2x1x?xf32> to tensor<?xf32>
// CHECK-NEXT:      %[[DV:.*]] = tensor.extract_slice %[[DT]][%[[B]], %[[H0]], %[[ZERO]]] [1, 1, %[[ROWS]]] [1, 1, 1] : tensor<2x1x?xf32> to tensor<?xf32>
// Q̄ = 0 per b, then one loop over the n1 + n2 key tiles.
// CHECK-NEXT:      %[[ACCE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x4xf32>
// CHECK-NEXT:      %[[ACCZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[ACC0:.*]] = linalg.fill ins(%[[ACCZ]] : f32) outs(%[[ACCE]] : tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:      %[[NT:.*]] = arith.addi %[[N1]], %[[N2]] : index
// CHECK-NEXT:      %[[KEYS:.*]] = scf.for %[[TI:[a-z0-9_]+]] = %[[ZERO]] to %[[NT]] step %[[ONE]] iter_args(%[[ACC:[a-z0-9_]+]] = %[[ACC0]]) -> (tensor<?x4xf32>) {
// CHECK-NEXT:        %[[C64:.*]] = arith.constant 64 : index
// CHECK-NEXT:        %[[INF:.*]] = arith.cmpi ult, %[[TI]], %[[N1]] : index
// CHECK:             %[[J:.*]] = arith.select %[[INF]], %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        %[[END:.*]] = arith.select %[[INF]], %[[R2LO]], %[[S]] : index
// CHECK-NEXT:        %[[COLS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[END]], %[[J]]]
// The key tile of b's K and V.
// CHECK-NEXT:        %[[KJ:.*]] = tensor.extract_slice %[[KT]][%[[B]], %[[H0]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<2x1x8x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:        %[[VJ:.*]] = tensor.extract_slice %[[VT]][%[[B]], %[[H0]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<2x1x8x4xf32> to tensor<?x4xf32>
// S = Q·Kᵀ over (r, d, c) from a zero fill (Q not pre-scaled).
// CHECK:             %[[KTT:.*]] = linalg.transpose ins(%[[KJ]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:             %[[SZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT:        %[[SC:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[QR]], %[[KTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%[[SZ]] : tensor<?x?xf32>)
// Mask, per pair (row 0 + r at position (0 + r) + p0, key j + c): j <= pos
// and pos - j <= W; the raw product scaled, -inf where not visible.
// CHECK:             %[[MS:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:        ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:          %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:          %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:          %[[RI:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// CHECK-NEXT:          %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:          %[[PE:.*]] = arith.addi %[[RI]], %[[P0]] : index
// CHECK-NEXT:          %[[CAUSAL:.*]] = arith.cmpi sle, %[[CJ]], %[[PE]] : index
// CHECK-NEXT:          %[[W:.*]] = arith.constant 2 : index
// CHECK-NEXT:          %[[DIST:.*]] = arith.subi %[[PE]], %[[CJ]] : index
// CHECK-NEXT:          %[[NEAR:.*]] = arith.cmpi sle, %[[DIST]], %[[W]] : index
// CHECK-NEXT:          %[[VIS:.*]] = arith.andi %[[CAUSAL]], %[[NEAR]] : i1
// CHECK-NEXT:          %[[SS:.*]] = arith.mulf %[[SIN]], %[[SCALE]] : f32
// CHECK-NEXT:          %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:          %[[SM:.*]] = arith.select %[[VIS]], %[[SS]], %[[NI]] : f32
// CHECK-NEXT:          linalg.yield %[[SM]] : f32
// dP = Ȯ·Vᵀ.
// CHECK:             %[[VTT:.*]] = linalg.transpose ins(%[[VJ]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:             %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[DOR]], %[[VTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// s̄ = e·(dP − δ), e = exp(s − lse) or 0 when lse = -inf; lse, δ per row.
// CHECK:             %[[DSB:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[MS]], %[[DP]], %[[LSEV]], %[[DV]] : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:        ^bb0(%[[SA:[a-z0-9_]+]]: f32, %[[PA:[a-z0-9_]+]]: f32, %[[LA:[a-z0-9_]+]]: f32, %[[DA:[a-z0-9_]+]]: f32,
// CHECK-NEXT:          %[[ENI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:          %[[NONE:.*]] = arith.cmpf oeq, %[[LA]], %[[ENI]] : f32
// CHECK-NEXT:          %[[SL:.*]] = arith.subf %[[SA]], %[[LA]] : f32
// CHECK-NEXT:          %[[EXP:.*]] = math.exp %[[SL]] : f32
// CHECK-NEXT:          %[[EZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:          %[[E:.*]] = arith.select %[[NONE]], %[[EZ]], %[[EXP]] : f32
// CHECK-NEXT:          %[[G:.*]] = arith.subf %[[PA]], %[[DA]] : f32
// CHECK-NEXT:          %[[DSV:.*]] = arith.mulf %[[E]], %[[G]] : f32
// CHECK-NEXT:          linalg.yield %[[DSV]] : f32
// Q̄ += s̄·K into the loop-carried accumulator (no fill).
// CHECK:             %[[DQN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[DSB]], %[[KJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[ACC]] : tensor<?x4xf32>)
// CHECK-NEXT:        ^bb0(%[[XA:[a-z0-9_]+]]: f32, %[[XK:[a-z0-9_]+]]: f32, %[[XO:[a-z0-9_]+]]: f32):
// CHECK-NEXT:          %[[XM:.*]] = arith.mulf %[[XA]], %[[XK]] : f32
// CHECK-NEXT:          arith.addf %[[XO]], %[[XM]] : f32
// CHECK:             scf.yield %[[DQN]] : tensor<?x4xf32>
// CHECK-NEXT:      }
// Q̄ scaled once, into b's rows of the tile's init; back into it.
// CHECK-NEXT:      %[[DQR:.*]] = tensor.extract_slice %[[DQB]][%[[B]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[DQS:.*]] = linalg.generic {{.*}} ins(%[[KEYS]] : tensor<?x4xf32>) outs(%[[DQR]] : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[QX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:        %[[QXS:.*]] = arith.mulf %[[QX]], %[[SCALE]] : f32
// CHECK-NEXT:        linalg.yield %[[QXS]] : f32
// CHECK:           %[[DQI:.*]] = tensor.insert_slice %[[DQS]] into %[[DQB]][%[[B]], %[[H0]], 0, 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<2x1x?x4xf32>
// CHECK-NEXT:      scf.yield %[[DQI]] : tensor<2x1x?x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BT]] into %[[DQA]][0, %[[H]], %[[I]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<2x1x?x4xf32> into tensor<2x2x6x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]] : tensor<2x2x6x4xf32>
func.func @query_grad(%q: tensor<2x2x6x4xf32>, %k: tensor<2x2x8x4xf32>, %v: tensor<2x2x8x4xf32>, %do: tensor<2x2x6x4xf32>, %lse: tensor<2x2x6xf32>, %delta: tensor<2x2x6xf32>, %p: index) -> tensor<2x2x6x4xf32> {
  %dq0 = tensor.empty() : tensor<2x2x6x4xf32>
  %dq = rotary.online_attention_query_grad ins(%q, %k, %v, %do, %lse, %delta : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x6xf32>)
      first_position(%p) outs(%dq0 : tensor<2x2x6x4xf32>)
      {causal, window = 2 : i64, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x2x6x4xf32>
  return %dq : tensor<2x2x6x4xf32>
}

// -----

// The query pass with a bias table [H, 2W'+1] (W' = 9 / 2 = 4) and a span
// (R = 4), B = 1: the task takes its head's row of the table and its span,
// and the (h, rows) slices of the two partials' inits [H, T, 9] and [H, T].
// Per key tile the mask also yields the span weight and its derivative;
// s̄ = w·e·g and e·g·∂w in one generic; the table partial gets s̄ by a
// scalar scatter (the column depends on the pair), the span partial the row
// sums of e·g·∂w; both zero per task and written (not accumulated) into the
// init slices.
// CHECK-LABEL: func.func @query_grad_table_span(
// CHECK-SAME:    %[[TABLE:[^:]*]]: tensor<2x9xf32>, %[[SPAN:[^:]*]]: tensor<2xf32>, %[[P:[^:]*]]: index)
// CHECK:       %[[DQ0:.*]] = tensor.empty() : tensor<1x2x6x4xf32>
// CHECK-NEXT:  %[[DB0:.*]] = tensor.empty() : tensor<2x6x9xf32>
// CHECK-NEXT:  %[[DS0:.*]] = tensor.empty() : tensor<2x6xf32>
// CHECK-NEXT:  %[[RES:.*]]:3 = scf.forall (%[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0) to (2, 6) step (1, 48) shared_outs(%[[DQA:[a-z0-9_]+]] = %[[DQ0]], %[[DBA:[a-z0-9_]+]] = %[[DB0]], %[[DSA:[a-z0-9_]+]] = %[[DS0]]) -> (tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>) {
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 6, 48)>(%[[I]])
// Table and span on h; the partials' inits on (h, rows); then p + i.
// CHECK:         %[[TROW:.*]] = tensor.extract_slice %[[TABLE]][%[[H]], 0] [1, 9] [1, 1] : tensor<2x9xf32> to tensor<1x9xf32>
// CHECK-NEXT:    %[[SPANH:.*]] = tensor.extract_slice %[[SPAN]][%[[H]]] [1] [1] : tensor<2xf32> to tensor<1xf32>
// CHECK-NEXT:    %[[DQT:.*]] = tensor.extract_slice %[[DQA]][0, %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[DBT:.*]] = tensor.extract_slice %[[DBA]][%[[H]], %[[I]], 0] [1, %[[ROWS]], 9] [1, 1, 1] : tensor<2x6x9xf32> to tensor<1x?x9xf32>
// CHECK-NEXT:    %[[DST:.*]] = tensor.extract_slice %[[DSA]][%[[H]], %[[I]]] [1, %[[ROWS]]] [1, 1] : tensor<2x6xf32> to tensor<1x?xf32>
// CHECK-NEXT:    %[[P0:.*]] = arith.addi %[[P]], %[[I]] : index
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C9:.*]] = arith.constant 9 : index
// CHECK:         %[[RADIUS:.*]] = arith.divui %[[C9]], %[[C2]] : index
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// Per task (h = 0 in the tile): table rows [rows, 9] and span sums [rows]
// start at 0, then b = 0 straight-line (B = 1); after n1 and n2.
// CHECK:         arith.divui
// CHECK:         arith.divui
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[DBE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x9xf32>
// CHECK-NEXT:    %[[DBZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DBI:.*]] = linalg.fill ins(%[[DBZ]] : f32) outs(%[[DBE]] : tensor<?x9xf32>) -> tensor<?x9xf32>
// CHECK-NEXT:    %[[DSE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?xf32>
// CHECK-NEXT:    %[[DSZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DSI:.*]] = linalg.fill ins(%[[DSZ]] : f32) outs(%[[DSE]] : tensor<?xf32>) -> tensor<?xf32>
// CHECK-NEXT:    %[[B0:.*]] = arith.constant 0 : index
// CHECK-NOT:     scf.for
// CHECK:         %[[G:.*]]:3 = scf.for %{{.*}} iter_args(%[[ACC:[a-z0-9_]+]] = %{{.*}}, %[[DBACC:[a-z0-9_]+]] = %[[DBI]], %[[DSACC:[a-z0-9_]+]] = %[[DSI]]) -> (tensor<?x4xf32>, tensor<?x9xf32>, tensor<?xf32>) {
// CHECK:           %[[J:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      arith.select
// CHECK-NEXT:      affine.min
// CHECK-NEXT:      %[[KJ:.*]] = tensor.extract_slice %{{.*}}[%[[B0]], %[[H0]], %[[J]], 0] [1, 1, %{{.*}}, 4] [1, 1, 1, 1] : tensor<1x1x8x4xf32> to tensor<?x4xf32>
// The mask: s·scale + row[clamp(j - pos + W', 0, 2W')] where visible; the
// span weight w = clamp((span + R - (pos - j)) / R, 0, 1) and ∂w = 1/R
// strictly inside the ramp, both 0 where not visible.
// CHECK:           %[[MS:.*]]:3 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:        %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %[[C]] : index
// CHECK-NEXT:        %[[PE:.*]] = arith.addi %[[RI]], %[[P0]] : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.cmpi sle, %[[CJ]], %[[PE]] : index
// CHECK-NEXT:        %[[SS:.*]] = arith.mulf %[[SIN]], %[[SCALE]] : f32
// CHECK-NEXT:        %[[JR:.*]] = arith.addi %[[CJ]], %[[RADIUS]] : index
// CHECK-NEXT:        %[[JP:.*]] = arith.subi %[[JR]], %[[PE]] : index
// CHECK-DAG:         %[[Z:.*]] = arith.constant 0 : index
// CHECK-DAG:         %[[TWO:.*]] = arith.constant 2 : index
// CHECK-DAG:         %[[DIAM:.*]] = arith.muli %[[RADIUS]], %[[TWO]] : index
// CHECK-DAG:         %[[UP:.*]] = arith.minsi %[[JP]], %[[DIAM]] : index
// CHECK:             %[[COL:.*]] = arith.maxsi %[[UP]], %[[Z]] : index
// CHECK-NEXT:        %[[BV:.*]] = tensor.extract %[[TROW]][%[[H0]], %[[COL]]] : tensor<1x9xf32>
// CHECK-NEXT:        %[[SB:.*]] = arith.addf %[[SS]], %[[BV]] : f32
// CHECK-NEXT:        %[[MNI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:        %[[SM:.*]] = arith.select %[[VIS]], %[[SB]], %[[MNI]] : f32
// CHECK-NEXT:        %[[SP:.*]] = tensor.extract %[[SPANH]][%[[H0]]] : tensor<1xf32>
// CHECK-NEXT:        %[[DIST:.*]] = arith.subi %[[PE]], %[[CJ]] : index
// CHECK-NEXT:        %[[DI:.*]] = arith.index_cast %[[DIST]] : index to i64
// CHECK-NEXT:        %[[DF:.*]] = arith.sitofp %[[DI]] : i64 to f32
// CHECK-NEXT:        %[[RAMP:.*]] = arith.constant 4.000000e+00 : f32
// CHECK-NEXT:        %[[SR:.*]] = arith.addf %[[SP]], %[[RAMP]] : f32
// CHECK-NEXT:        %[[NUM:.*]] = arith.subf %[[SR]], %[[DF]] : f32
// CHECK-NEXT:        %[[RAW:.*]] = arith.divf %[[NUM]], %[[RAMP]] : f32
// CHECK-NEXT:        %[[F0:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[F1:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:        %[[LOW:.*]] = arith.maximumf %[[F0]], %[[RAW]] : f32
// CHECK-NEXT:        %[[WT:.*]] = arith.minimumf %[[F1]], %[[LOW]] : f32
// CHECK-NEXT:        %[[BELOW:.*]] = arith.cmpf olt, %[[RAW]], %[[F1]] : f32
// CHECK-NEXT:        %[[ABOVE:.*]] = arith.cmpf ogt, %[[RAW]], %[[F0]] : f32
// CHECK-NEXT:        %[[INSIDE:.*]] = arith.andi %[[ABOVE]], %[[BELOW]] : i1
// CHECK-NEXT:        %[[INVR:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-NEXT:        %[[DWT:.*]] = arith.select %[[INSIDE]], %[[INVR]], %[[F0]] : f32
// CHECK-NEXT:        %[[WZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[WM:.*]] = arith.select %[[VIS]], %[[WT]], %[[WZ]] : f32
// CHECK-NEXT:        %[[DWZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[DWM:.*]] = arith.select %[[VIS]], %[[DWT]], %[[DWZ]] : f32
// CHECK-NEXT:        linalg.yield %[[SM]], %[[WM]], %[[DWM]] : f32, f32, f32
// CHECK:           %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// s̄ = w·e·g and e·g·∂w, from s, dP, w, ∂w, lse and δ.
// CHECK:           %[[PG:.*]]:2 = linalg.generic {{.*}} ins(%[[MS]]#0, %[[DP]], %[[MS]]#1, %[[MS]]#2, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[GS:[a-z0-9_]+]]: f32, %[[GP:[a-z0-9_]+]]: f32, %[[GW:[a-z0-9_]+]]: f32, %[[GDW:[a-z0-9_]+]]: f32, %[[GL:[a-z0-9_]+]]: f32, %[[GD:[a-z0-9_]+]]: f32,
// CHECK:             %[[GE:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:        %[[PW:.*]] = arith.mulf %[[GW]], %[[GE]] : f32
// CHECK-NEXT:        %[[GG:.*]] = arith.subf %[[GP]], %[[GD]] : f32
// CHECK-NEXT:        %[[GDS:.*]] = arith.mulf %[[PW]], %[[GG]] : f32
// CHECK-NEXT:        %[[EG:.*]] = arith.mulf %[[GE]], %[[GG]] : f32
// CHECK-NEXT:        %[[EGDW:.*]] = arith.mulf %[[EG]], %[[GDW]] : f32
// CHECK-NEXT:        linalg.yield %[[GDS]], %[[EGDW]] : f32, f32
// CHECK:           %[[DQN:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#0, %[[KJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[ACC]] : tensor<?x4xf32>)
// The table scatter: over the tile's rows (position row + p0), then its
// keys j + c: row[r, clamp(j + c - pos + W', 0, 2W')] += s̄[r, c].
// CHECK:           %[[SCAT:.*]] = scf.for %[[SR2:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ROW:[a-z0-9_]+]] = %[[DBACC]]) -> (tensor<?x9xf32>) {
// CHECK-NEXT:        %[[SRI:.*]] = arith.addi %[[ZERO]], %[[SR2]] : index
// CHECK-NEXT:        %[[SPOS:.*]] = arith.addi %[[SRI]], %[[P0]] : index
// CHECK:             %[[INNER:.*]] = scf.for %[[SC2:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ROW2:[a-z0-9_]+]] = %[[ROW]]) -> (tensor<?x9xf32>) {
// CHECK-NEXT:          %[[SKEY:.*]] = arith.addi %[[J]], %[[SC2]] : index
// CHECK-NEXT:          %[[SKR:.*]] = arith.addi %[[SKEY]], %[[RADIUS]] : index
// CHECK-NEXT:          %[[SJP:.*]] = arith.subi %[[SKR]], %[[SPOS]] : index
// CHECK:               %[[SCOL:.*]] = arith.maxsi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:          %[[SDS:.*]] = tensor.extract %[[PG]]#0[%[[SR2]], %[[SC2]]] : tensor<?x?xf32>
// CHECK-NEXT:          %[[SOLD:.*]] = tensor.extract %[[ROW2]][%[[SR2]], %[[SCOL]]] : tensor<?x9xf32>
// CHECK-NEXT:          %[[SNEW:.*]] = arith.addf %[[SOLD]], %[[SDS]] : f32
// CHECK-NEXT:          %[[SINS:.*]] = tensor.insert %[[SNEW]] into %[[ROW2]][%[[SR2]], %[[SCOL]]] : tensor<?x9xf32>
// CHECK-NEXT:          scf.yield %[[SINS]] : tensor<?x9xf32>
// CHECK-NEXT:        }
// CHECK-NEXT:        scf.yield %[[INNER]] : tensor<?x9xf32>
// CHECK-NEXT:      }
// The span partial: row sums of e·g·∂w.
// CHECK-NEXT:      %[[SPN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[PG]]#1 : tensor<?x?xf32>) outs(%[[DSACC]] : tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[RX:[a-z0-9_]+]]: f32, %[[RY:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[RXY:.*]] = arith.addf %[[RY]], %[[RX]] : f32
// CHECK-NEXT:        linalg.yield %[[RXY]] : f32
// CHECK:           scf.yield %[[DQN]], %[[SCAT]], %[[SPN]] : tensor<?x4xf32>, tensor<?x9xf32>, tensor<?xf32>
// CHECK-NEXT:    }
// q̄ scaled into the tile's init; the partials into theirs, at (h = 0, rows).
// CHECK:         %[[DQI:.*]] = tensor.insert_slice %{{.*}} into %[[DQT]][%[[B0]], %[[H0]], 0, 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[DBI2:.*]] = tensor.insert_slice %[[G]]#1 into %[[DBT]][%[[H0]], 0, 0] [1, %[[ROWS]], 9] [1, 1, 1] : tensor<?x9xf32> into tensor<1x?x9xf32>
// CHECK-NEXT:    %[[DSI2:.*]] = tensor.insert_slice %[[G]]#2 into %[[DST]][%[[H0]], 0] [1, %[[ROWS]]] [1, 1] : tensor<?xf32> into tensor<1x?xf32>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DQI]] into %[[DQA]][0, %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> into tensor<1x2x6x4xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DBI2]] into %[[DBA]][%[[H]], %[[I]], 0] [1, %[[ROWS]], 9] [1, 1, 1] : tensor<1x?x9xf32> into tensor<2x6x9xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DSI2]] into %[[DSA]][%[[H]], %[[I]]] [1, %[[ROWS]]] [1, 1] : tensor<1x?xf32> into tensor<2x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1, %[[RES]]#2 : tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>
func.func @query_grad_table_span(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %do: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %delta: tensor<1x2x6xf32>, %b: tensor<2x9xf32>, %s: tensor<2xf32>, %p: index) -> (tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>) {
  %dq0 = tensor.empty() : tensor<1x2x6x4xf32>
  %db0 = tensor.empty() : tensor<2x6x9xf32>
  %ds0 = tensor.empty() : tensor<2x6xf32>
  %dq, %db, %ds = rotary.online_attention_query_grad ins(%q, %k, %k, %do, %lse, %delta : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>)
      bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>)
      first_position(%p) outs(%dq0, %db0, %ds0 : tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>)
      {causal, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>
  return %dq, %db, %ds : tensor<1x2x6x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>
}

// -----

// The query pass, bf16 data (f32 math), a full bias [H, T, S]: the task reads
// its (h, rows) block of the bias [1, rows, S] in the mask and writes the
// same block of the partial [H, T, S] (the bias gradient itself); each key
// tile adds s̄ into its columns [j, j + cols) of the rows. q̄ narrowed once.
// CHECK-LABEL: func.func @query_grad_full_bias(
// CHECK-SAME:    %[[BIAS:[^:]*]]: tensor<2x6x8xf32>, %[[P:[^:]*]]: index)
// CHECK:       %[[RES:.*]]:2 = scf.forall (%[[H:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (0, 0) to (2, 6) step (1, 48) shared_outs(%[[DQA:[a-z0-9_]+]] = %{{.*}}, %[[DBA:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>) {
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 6, 48)>(%[[I]])
// CHECK:         %[[BT:.*]] = tensor.extract_slice %[[BIAS]][%[[H]], %[[I]], 0] [1, %[[ROWS]], 8] [1, 1, 1] : tensor<2x6x8xf32> to tensor<1x?x8xf32>
// CHECK-NEXT:    %[[DQT:.*]] = tensor.extract_slice %[[DQA]][0, %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x2x6x4xbf16> to tensor<1x1x?x4xbf16>
// CHECK-NEXT:    %[[DBT:.*]] = tensor.extract_slice %[[DBA]][%[[H]], %[[I]], 0] [1, %[[ROWS]], 8] [1, 1, 1] : tensor<2x6x8xf32> to tensor<1x?x8xf32>
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// CHECK:         arith.divui
// CHECK:         arith.divui
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[DBE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x8xf32>
// CHECK-NEXT:    %[[DBZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DBI:.*]] = linalg.fill ins(%[[DBZ]] : f32) outs(%[[DBE]] : tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK:         %[[G:.*]]:2 = scf.for %{{.*}} iter_args(%[[ACC:[a-z0-9_]+]] = %{{.*}}, %[[DBACC:[a-z0-9_]+]] = %[[DBI]]) -> (tensor<?x4xf32>, tensor<?x8xf32>) {
// CHECK:           %[[J:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK:           %[[KJ:.*]] = tensor.extract_slice %{{.*}} : tensor<1x1x8x4xbf16> to tensor<?x4xbf16>
// The bias of pair (row r of the task, key j + c), added to the scaled score.
// CHECK:           linalg.generic {{.*}} ins(%{{[a-z0-9_]+}} : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        linalg.index 0 : index
// CHECK-NEXT:        linalg.index 1 : index
// CHECK-NEXT:        %[[RI:.*]] = arith.addi %[[ZERO]], %{{.*}} : index
// CHECK-NEXT:        %[[CJ:.*]] = arith.addi %[[J]], %{{.*}} : index
// CHECK:             %[[SS:.*]] = arith.mulf %[[SIN]], %[[SCALE]] : f32
// CHECK-NEXT:        %[[BV:.*]] = tensor.extract %[[BT]][%[[H0]], %[[RI]], %[[CJ]]] : tensor<1x?x8xf32>
// CHECK-NEXT:        arith.addf %[[SS]], %[[BV]] : f32
// s̄ (one result without a span), then Q̄ += s̄·K with K widened in the body.
// CHECK:           %[[DSB:.*]] = linalg.generic {{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK:           %[[DQN:.*]] = linalg.generic {{.*}} ins(%[[DSB]], %[[KJ]] : tensor<?x?xf32>, tensor<?x4xbf16>) outs(%[[ACC]] : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%[[XA:[a-z0-9_]+]]: f32, %[[XK:[a-z0-9_]+]]: bf16, %[[XO:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[XKF:.*]] = arith.extf %[[XK]] : bf16 to f32
// CHECK-NEXT:        %[[XM:.*]] = arith.mulf %[[XA]], %[[XKF]] : f32
// CHECK-NEXT:        arith.addf %[[XO]], %[[XM]] : f32
// The key tile's columns of the rows: s̄ added in place.
// CHECK:           %[[COLS:.*]] = tensor.extract_slice %[[DBACC]][0, %[[J]]] [%[[CR:.*]], %[[CC:.*]]] [1, 1] : tensor<?x8xf32> to tensor<?x?xf32>
// CHECK-NEXT:      %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[DSB]] : tensor<?x?xf32>) outs(%[[COLS]] : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[CX:[a-z0-9_]+]]: f32, %[[CY:[a-z0-9_]+]]: f32):
// CHECK-NEXT:        %[[CXY:.*]] = arith.addf %[[CY]], %[[CX]] : f32
// CHECK-NEXT:        linalg.yield %[[CXY]] : f32
// CHECK:           %[[DBN:.*]] = tensor.insert_slice %[[SUM]] into %[[DBACC]][0, %[[J]]] [%[[CR]], %[[CC]]] [1, 1] : tensor<?x?xf32> into tensor<?x8xf32>
// CHECK-NEXT:      scf.yield %[[DQN]], %[[DBN]] : tensor<?x4xf32>, tensor<?x8xf32>
// CHECK-NEXT:    }
// q̄ = scale·Q̄ narrowed to bf16; the rows of the partial into its init.
// CHECK:         linalg.generic {{.*}} ins(%[[G]]#0 : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xbf16>)
// CHECK-NEXT:    ^bb0(%[[OX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: bf16):
// CHECK-NEXT:      %[[OXS:.*]] = arith.mulf %[[OX]], %[[SCALE]] : f32
// CHECK-NEXT:      %[[OXB:.*]] = arith.truncf %[[OXS]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[OXB]] : bf16
// CHECK:         %[[DQI:.*]] = tensor.insert_slice %{{.*}} into %[[DQT]]{{.*}} : tensor<?x4xbf16> into tensor<1x1x?x4xbf16>
// CHECK-NEXT:    %[[DBI2:.*]] = tensor.insert_slice %[[G]]#1 into %[[DBT]][%[[H0]], 0, 0] [1, %[[ROWS]], 8] [1, 1, 1] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DQI]] into %[[DQA]][0, %[[H]], %[[I]], 0] [1, 1, %[[ROWS]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xbf16> into tensor<1x2x6x4xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DBI2]] into %[[DBA]][%[[H]], %[[I]], 0] [1, %[[ROWS]], 8] [1, 1, 1] : tensor<1x?x8xf32> into tensor<2x6x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>
func.func @query_grad_full_bias(%q: tensor<1x2x6x4xbf16>, %k: tensor<1x2x8x4xbf16>, %do: tensor<1x2x6x4xbf16>, %lse: tensor<1x2x6xf32>, %delta: tensor<1x2x6xf32>, %b: tensor<2x6x8xf32>, %p: index) -> (tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>) {
  %dq0 = tensor.empty() : tensor<1x2x6x4xbf16>
  %db0 = tensor.empty() : tensor<2x6x8xf32>
  %dq, %db = rotary.online_attention_query_grad ins(%q, %k, %k, %do, %lse, %delta : tensor<1x2x6x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x8x4xbf16>, tensor<1x2x6xf32>)
      bias(%b : tensor<2x6x8xf32>)
      first_position(%p) outs(%dq0, %db0 : tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>)
      {causal, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>
  return %dq, %db : tensor<1x2x6x4xbf16>, tensor<2x6x8xf32>
}

// -----

// rotary.online_attention_key_grad (the key pass). Tiling: one scf.forall
// task per (b, h, block of `query` = 48 keys): k, v and the k̄, v̄ inits on
// (b, h, keys), q, ȯ, lse and δ on (b, h, all queries); first_key + j.
// Decomposition per (b, h) (one here): the queries that see any key of the
// block, from the first query of its first key (absolute index row +
// first_key) to the later end of its first and last keys' ranges; one
// scf.for over those queries in tiles of `key` = 64 rows, keys along the
// rows: Sᵀ = K·Qᵀ, mask, dPᵀ = V·Ȯᵀ, s̄ and p in one generic (lse, δ along
// the columns), K̄ += s̄ᵀ·Q, V̄ += pᵀ·Ȯ; K̄ scaled once into the k̄ init's
// slice, V̄ as is into v̄'s.
// CHECK-LABEL: func.func @key_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[DO:[^:]*]]: tensor<1x2x6x4xf32>, %[[LSE:[^:]*]]: tensor<1x2x6xf32>, %[[DELTA:[^:]*]]: tensor<1x2x6xf32>, %[[P:[^:]*]]: index, %[[FK:[^:]*]]: index)
// CHECK-NEXT:  %[[DK0:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// CHECK-NEXT:  %[[DV0:.*]] = tensor.empty() : tensor<1x2x8x4xf32>
// Tiling: tasks (b, h, j), j a multiple of 48 below S.
// CHECK-NEXT:  %[[RES:.*]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[JT:[a-z0-9_]+]]) = (0, 0, 0) to (1, 2, 8) step (1, 1, 48) shared_outs(%[[DKA:[a-z0-9_]+]] = %[[DK0]], %[[DVA:[a-z0-9_]+]] = %[[DV0]]) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
// CHECK:         %[[KR:.*]] = affine.min affine_map<(d0) -> (-d0 + 8, 48)>(%[[JT]])
// The task's slices, then its first_key j + jt.
// CHECK-NEXT:    %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<1x1x6x4xf32>
// CHECK-NEXT:    %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[DOT:.*]] = tensor.extract_slice %[[DO]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<1x2x6x4xf32> to tensor<1x1x6x4xf32>
// CHECK-NEXT:    %[[LSET:.*]] = tensor.extract_slice %[[LSE]][%[[B]], %[[H]], 0] [1, 1, 6] [1, 1, 1] : tensor<1x2x6xf32> to tensor<1x1x6xf32>
// CHECK-NEXT:    %[[DT:.*]] = tensor.extract_slice %[[DELTA]][%[[B]], %[[H]], 0] [1, 1, 6] [1, 1, 1] : tensor<1x2x6xf32> to tensor<1x1x6xf32>
// CHECK-NEXT:    %[[DKT:.*]] = tensor.extract_slice %[[DKA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[DVT:.*]] = tensor.extract_slice %[[DVA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[J0:.*]] = arith.addi %[[FK]], %[[JT]] : index
// CHECK-NEXT:    %[[T:.*]] = arith.constant 6 : index
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// The block's first key (0 + j0) and last (first + keys - 1).
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[JF:.*]] = arith.addi %[[ZERO]], %[[J0]] : index
// CHECK-NEXT:    %[[JL0:.*]] = arith.addi %[[JF]], %[[KR]] : index
// CHECK-NEXT:    %[[JL:.*]] = arith.subi %[[JL0]], %[[ONE]] : index
// The first key's queries [clamp(j - p), clamp(j + W + 1 - p)) (causal,
// W = 2), clamped to [0, T].
// CHECK-NEXT:    %[[QZ:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[FLO0:.*]] = arith.subi %[[JF]], %[[P]] : index
// CHECK-NEXT:    %[[FLO1:.*]] = arith.maxsi %[[FLO0]], %[[QZ]] : index
// CHECK-NEXT:    %[[FLO:.*]] = arith.minsi %[[FLO1]], %[[T]] : index
// CHECK-NEXT:    arith.constant 0 : index
// CHECK-NEXT:    %[[W1:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[FHI0:.*]] = arith.addi %[[JF]], %[[W1]] : index
// CHECK-NEXT:    %[[FHI1:.*]] = arith.maxsi %[[FHI0]], %{{.*}} : index
// CHECK-NEXT:    %[[FHI2:.*]] = arith.subi %[[FHI1]], %[[P]] : index
// CHECK-NEXT:    %[[FHI3:.*]] = arith.maxsi %[[FHI2]], %[[QZ]] : index
// CHECK-NEXT:    %[[FHI:.*]] = arith.minsi %[[FHI3]], %[[T]] : index
// CHECK-NEXT:    %[[QLO:.*]] = arith.minsi %[[FLO]], %[[FHI]] : index
// The last key's range: its end.
// CHECK-NEXT:    arith.constant 0 : index
// CHECK-NEXT:    %{{.*}} = arith.subi %[[JL]], %[[P]] : index
// CHECK:         %[[LHI0:.*]] = arith.addi %[[JL]], %{{.*}} : index
// CHECK:         %[[LHI:.*]] = arith.minsi %{{.*}}, %[[T]] : index
// CHECK-NEXT:    arith.minsi
// CHECK-NEXT:    %[[QHI:.*]] = arith.maxsi %[[FHI]], %[[LHI]] : index
// ceil((qhi - qlo) / 64) query tiles.
// CHECK-NEXT:    %[[NQ0:.*]] = arith.subi %[[QHI]], %[[QLO]] : index
// CHECK-NEXT:    %[[C64:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[C63:.*]] = arith.constant 63 : index
// CHECK-NEXT:    %[[NQ1:.*]] = arith.addi %[[NQ0]], %[[C63]] : index
// CHECK-NEXT:    %[[NQ:.*]] = arith.divui %[[NQ1]], %[[C64]] : index
// One (b, h) per task: both 0 in the tile; the block's keys of K and V.
// CHECK-NEXT:    %[[B0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[KB:.*]] = tensor.extract_slice %[[KT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:    %[[VB:.*]] = tensor.extract_slice %[[VT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// K̄ = V̄ = 0, then one loop over the query tiles.
// CHECK-NEXT:    %[[DKE:.*]] = tensor.empty(%[[KR]]) : tensor<?x4xf32>
// CHECK-NEXT:    %[[DKZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DKI:.*]] = linalg.fill ins(%[[DKZ]] : f32) outs(%[[DKE]] : tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    %[[DVE:.*]] = tensor.empty(%[[KR]]) : tensor<?x4xf32>
// CHECK-NEXT:    %[[DVZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[DVI:.*]] = linalg.fill ins(%[[DVZ]] : f32) outs(%[[DVE]] : tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    %[[L:.*]]:2 = scf.for %[[QI:[a-z0-9_]+]] = %[[ZERO]] to %[[NQ]] step %[[ONE]] iter_args(%[[DKACC:[a-z0-9_]+]] = %[[DKI]], %[[DVACC:[a-z0-9_]+]] = %[[DVI]]) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
// Queries [i0, i0 + rows), i0 = qlo + 64·t, rows = min(64, T - i0).
// CHECK-NEXT:      %[[C64I:.*]] = arith.constant 64 : index
// CHECK-NEXT:      %[[QOFF:.*]] = arith.muli %[[QI]], %[[C64I]] : index
// CHECK-NEXT:      %[[I0:.*]] = arith.addi %[[QLO]], %[[QOFF]] : index
// CHECK-NEXT:      %[[QROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 6)>()[%[[I0]]]
// CHECK-NEXT:      %[[QJ:.*]] = tensor.extract_slice %[[QT]][%[[B0]], %[[H0]], %[[I0]], 0] [1, 1, %[[QROWS]], 4] [1, 1, 1, 1] : tensor<1x1x6x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[DOJ:.*]] = tensor.extract_slice %[[DOT]][%[[B0]], %[[H0]], %[[I0]], 0] [1, 1, %[[QROWS]], 4] [1, 1, 1, 1] : tensor<1x1x6x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:      %[[LSEV:.*]] = tensor.extract_slice %[[LSET]][%[[B0]], %[[H0]], %[[I0]]] [1, 1, %[[QROWS]]] [1, 1, 1] : tensor<1x1x6xf32> to tensor<?xf32>
// CHECK-NEXT:      %[[DV:.*]] = tensor.extract_slice %[[DT]][%[[B0]], %[[H0]], %[[I0]]] [1, 1, %[[QROWS]]] [1, 1, 1] : tensor<1x1x6xf32> to tensor<?xf32>
// Sᵀ = K·Qᵀ over (key, d, query).
// CHECK:           %[[QTT:.*]] = linalg.transpose ins(%[[QJ]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:           %[[SC:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[KB]], %[[QTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// Mask, transposed: row r is key r + j0 (absolute: first_key + j + r),
// column c is query i0 + c at position i0 + c + p.
// CHECK:           %[[MS:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:        %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[QIDX:.*]] = arith.addi %[[I0]], %[[C]] : index
// CHECK-NEXT:        %[[KROW:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// CHECK-NEXT:        %[[KEY:.*]] = arith.addi %[[KROW]], %[[J0]] : index
// CHECK-NEXT:        %[[POS:.*]] = arith.addi %[[QIDX]], %[[P]] : index
// CHECK-NEXT:        %[[CAUSAL:.*]] = arith.cmpi sle, %[[KEY]], %[[POS]] : index
// CHECK-NEXT:        %[[W:.*]] = arith.constant 2 : index
// CHECK-NEXT:        %[[DIST:.*]] = arith.subi %[[POS]], %[[KEY]] : index
// CHECK-NEXT:        %[[NEAR:.*]] = arith.cmpi sle, %[[DIST]], %[[W]] : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.andi %[[CAUSAL]], %[[NEAR]] : i1
// CHECK-NEXT:        %[[SS:.*]] = arith.mulf %[[SIN]], %[[SCALE]] : f32
// CHECK-NEXT:        %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:        %[[SM:.*]] = arith.select %[[VIS]], %[[SS]], %[[NI]] : f32
// CHECK-NEXT:        linalg.yield %[[SM]] : f32
// dPᵀ = V·Ȯᵀ.
// CHECK:           %[[DOTT:.*]] = linalg.transpose ins(%[[DOJ]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:           %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[VB]], %[[DOTT]] : tensor<?x4xf32>, tensor<4x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// s̄ and p = e in one generic; lse and δ run along the columns (d1).
// CHECK:           %[[PG:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[MS]], %[[DP]], %[[LSEV]], %[[DV]] : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%[[SA:[a-z0-9_]+]]: f32, %[[PA:[a-z0-9_]+]]: f32, %[[LA:[a-z0-9_]+]]: f32, %[[DA:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[ENI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:        %[[NONE:.*]] = arith.cmpf oeq, %[[LA]], %[[ENI]] : f32
// CHECK-NEXT:        %[[SL:.*]] = arith.subf %[[SA]], %[[LA]] : f32
// CHECK-NEXT:        %[[EXP:.*]] = math.exp %[[SL]] : f32
// CHECK-NEXT:        %[[EZ:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        %[[E:.*]] = arith.select %[[NONE]], %[[EZ]], %[[EXP]] : f32
// CHECK-NEXT:        %[[G:.*]] = arith.subf %[[PA]], %[[DA]] : f32
// CHECK-NEXT:        %[[DSV:.*]] = arith.mulf %[[E]], %[[G]] : f32
// CHECK-NEXT:        linalg.yield %[[DSV]], %[[E]] : f32, f32
// K̄ += s̄ᵀ·Q and V̄ += pᵀ·Ȯ into the carried accumulators.
// CHECK:           %[[DKN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#0, %[[QJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[DKACC]] : tensor<?x4xf32>)
// CHECK:           %[[DVN:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PG]]#1, %[[DOJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[DVACC]] : tensor<?x4xf32>)
// CHECK:           scf.yield %[[DKN]], %[[DVN]] : tensor<?x4xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// K̄ scaled into the k̄ tile's keys, V̄ copied into v̄'s; back into the tiles.
// CHECK-NEXT:    %[[DKR:.*]] = tensor.extract_slice %[[DKT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:    %[[DKS:.*]] = linalg.generic {{.*}} ins(%[[L]]#0 : tensor<?x4xf32>) outs(%[[DKR]] : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[KX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:      %[[KXS:.*]] = arith.mulf %[[KX]], %[[SCALE]] : f32
// CHECK-NEXT:      linalg.yield %[[KXS]] : f32
// CHECK:         %[[DKI2:.*]] = tensor.insert_slice %[[DKS]] into %[[DKT]][%[[B0]], %[[H0]], 0, 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<1x1x?x4xf32>
// CHECK-NEXT:    %[[DVR:.*]] = tensor.extract_slice %[[DVT]][%[[B0]], %[[H0]], %[[ZERO]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> to tensor<?x4xf32>
// CHECK-NEXT:    %[[DVS:.*]] = linalg.generic {{.*}} ins(%[[L]]#1 : tensor<?x4xf32>) outs(%[[DVR]] : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[VX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32):
// CHECK-NEXT:      linalg.yield %[[VX]] : f32
// CHECK:         %[[DVI2:.*]] = tensor.insert_slice %[[DVS]] into %[[DVT]][%[[B0]], %[[H0]], 0, 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<?x4xf32> into tensor<1x1x?x4xf32>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DKI2]] into %[[DKA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> into tensor<1x2x8x4xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DVI2]] into %[[DVA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xf32> into tensor<1x2x8x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
func.func @key_grad(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %do: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %delta: tensor<1x2x6xf32>, %p: index, %j: index) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  %dk0 = tensor.empty() : tensor<1x2x8x4xf32>
  %dv0 = tensor.empty() : tensor<1x2x8x4xf32>
  %dk, %dv = rotary.online_attention_key_grad ins(%q, %k, %v, %do, %lse, %delta : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>)
      first_position(%p) first_key(%j) outs(%dk0, %dv0 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      {causal, window = 2 : i64, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %dk, %dv : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}

// -----

// rotary.online_attention_grad (the fused gradient). Tiling: one scf.forall
// task per (b, h), every tensor cut on (b, h). Decomposition: q̄ of the task
// accumulates in an f32 [T, D] tile that a loop over the blocks of
// `query` = 48 keys threads through, with the k̄ and v̄ results; per block,
// the key pass's loop over the query tiles that see it (`key` = 64 rows),
// keys along the rows: Sᵀ = K·Qᵀ, mask, dPᵀ = V·Ȯᵀ, s̄ and p, K̄ += s̄ᵀ·Q,
// V̄ += pᵀ·Ȯ, then s̄ transposed back to query rows and q̄[i0 .. i0 + rows)
// += s̄·K. K̄ is scaled into k̄'s rows of the block, V̄ copied into v̄'s, and
// after the last block the q̄ accumulator scaled into q̄.
// CHECK-LABEL: func.func @attention_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x6x4xf32>, %[[K:[^:]*]]: tensor<1x2x8x4xf32>, %[[V:[^:]*]]: tensor<1x2x8x4xf32>, %[[DO:[^:]*]]: tensor<1x2x6x4xf32>, %[[LSE:[^:]*]]: tensor<1x2x6xf32>, %[[DELTA:[^:]*]]: tensor<1x2x6xf32>, %[[P:[^:]*]]: index)
// CHECK:       %[[RES:.*]]:3 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (1, 2) shared_outs(%[[DQA:[a-z0-9_]+]] = %{{.*}}, %[[DKA:[a-z0-9_]+]] = %{{.*}}, %[[DVA:[a-z0-9_]+]] = %{{.*}})
// CHECK-DAG:     %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK-DAG:     %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1]
// CHECK-DAG:     %[[DQT:.*]] = tensor.extract_slice %[[DQA]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK-DAG:     %[[DKT:.*]] = tensor.extract_slice %[[DKA]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1]
// CHECK-DAG:     %[[DVT:.*]] = tensor.extract_slice %[[DVA]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1]
// The q̄ accumulator, zero, and the loop over the key blocks.
// CHECK:         %[[DQ0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<6x4xf32>) -> tensor<6x4xf32>
// CHECK:         %[[BLOCKS:.*]]:3 = scf.for %{{.*}} iter_args(%[[DKB:[a-z0-9_]+]] = %[[DKT]], %[[DVB:[a-z0-9_]+]] = %[[DVT]], %[[DQB:[a-z0-9_]+]] = %[[DQ0]]) -> (tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<6x4xf32>) {
// CHECK:           %[[KB:.*]] = tensor.extract_slice %[[KT]][%{{.*}}, %{{.*}}, %[[J0:.*]], 0] [1, 1, %[[KR:.*]], 4] [1, 1, 1, 1] : tensor<1x1x8x4xf32> to tensor<?x4xf32>
// CHECK:           %[[PAIRS:.*]]:3 = scf.for %{{.*}} iter_args(%[[DKACC:[a-z0-9_]+]] = %{{.*}}, %[[DVACC:[a-z0-9_]+]] = %{{.*}}, %[[DQACC:[a-z0-9_]+]] = %[[DQB]]) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<6x4xf32>) {
// CHECK:             %[[QJ:.*]] = tensor.extract_slice %[[QT]][%{{.*}}, %{{.*}}, %[[I0:.*]], 0] [1, 1, %[[QROWS:.*]], 4] [1, 1, 1, 1] : tensor<1x1x6x4xf32> to tensor<?x4xf32>
// CHECK:             %[[QTT:.*]] = linalg.transpose ins(%[[QJ]] : tensor<?x4xf32>)
// CHECK:             %[[SC:.*]] = linalg.generic {{.*}} ins(%[[KB]], %[[QTT]] : tensor<?x4xf32>, tensor<4x?xf32>)
// CHECK:             %[[MS:.*]] = linalg.generic {{.*}} ins(%[[SC]] : tensor<?x?xf32>)
// CHECK:             %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK:             %[[PG:.*]]:2 = linalg.generic {{.*}} ins(%[[MS]], %[[DP]], %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK:             %[[DKN:.*]] = linalg.generic {{.*}} ins(%[[PG]]#0, %[[QJ]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[DKACC]] : tensor<?x4xf32>)
// CHECK:             %[[DVN:.*]] = linalg.generic {{.*}} ins(%[[PG]]#1, %{{.*}} : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[DVACC]] : tensor<?x4xf32>)
// CHECK:             %[[DS:.*]] = linalg.transpose ins(%[[PG]]#0 : tensor<?x?xf32>)
// CHECK:             %[[DQROWS:.*]] = tensor.extract_slice %[[DQACC]][%[[I0]], 0] [%[[QROWS]], 4] [1, 1] : tensor<6x4xf32> to tensor<?x4xf32>
// CHECK:             %[[DQN:.*]] = linalg.generic {{.*}} ins(%[[DS]], %[[KB]] : tensor<?x?xf32>, tensor<?x4xf32>) outs(%[[DQROWS]] : tensor<?x4xf32>)
// CHECK:             %[[DQI:.*]] = tensor.insert_slice %[[DQN]] into %[[DQACC]][%[[I0]], 0] [%[[QROWS]], 4] [1, 1] : tensor<?x4xf32> into tensor<6x4xf32>
// CHECK:             scf.yield %[[DKN]], %[[DVN]], %[[DQI]] : tensor<?x4xf32>, tensor<?x4xf32>, tensor<6x4xf32>
// CHECK:           }
// CHECK:           %[[DKS:.*]] = linalg.generic {{.*}} ins(%[[PAIRS]]#0 : tensor<?x4xf32>)
// CHECK:           arith.mulf
// CHECK:           %[[DKW:.*]] = tensor.insert_slice %[[DKS]] into %[[DKB]][%{{.*}}, %{{.*}}, %[[J0]], 0] [1, 1, %[[KR]], 4]
// CHECK:           %[[DVS:.*]] = linalg.generic {{.*}} ins(%[[PAIRS]]#1 : tensor<?x4xf32>)
// CHECK:           %[[DVW:.*]] = tensor.insert_slice %[[DVS]] into %[[DVB]][%{{.*}}, %{{.*}}, %[[J0]], 0] [1, 1, %[[KR]], 4]
// CHECK:           scf.yield %[[DKW]], %[[DVW]], %[[PAIRS]]#2 : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<6x4xf32>
// CHECK:         }
// CHECK:         %[[DQS:.*]] = linalg.generic {{.*}} ins(%[[BLOCKS]]#2 : tensor<6x4xf32>)
// CHECK:         arith.mulf
// CHECK:         %[[DQW:.*]] = tensor.insert_slice %[[DQS]] into %[[DQT]][%{{.*}}, %{{.*}}, 0, 0] [1, 1, 6, 4]
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DQW]] into %[[DQA]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BLOCKS]]#0 into %[[DKA]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BLOCKS]]#1 into %[[DVA]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1]
// CHECK:       return %[[RES]]#0, %[[RES]]#1, %[[RES]]#2
func.func @attention_grad(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %do: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %delta: tensor<1x2x6xf32>, %p: index) -> (tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  %dq0 = tensor.empty() : tensor<1x2x6x4xf32>
  %dk0 = tensor.empty() : tensor<1x2x8x4xf32>
  %dv0 = tensor.empty() : tensor<1x2x8x4xf32>
  %dq, %dk, %dv = rotary.online_attention_grad ins(%q, %k, %v, %do, %lse, %delta : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x6xf32>)
      first_position(%p) outs(%dq0, %dk0, %dv0 : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      {causal, window = 2 : i64, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %dq, %dk, %dv : tensor<1x2x6x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}

// -----

// The fused gradient with a bias table and a span: b is a reduction, so a
// task is one head and every batch entry (B = 2 here: an scf.for over b
// inside the task). The partials of the head start from their inits (the
// op adds to them: a sum over b) and gather, per pair tile, the bias table's s̄ (a scalar scatter at each pair's
// clamped relative position) and the span's e·g·∂w of the tile's rows.
// CHECK-LABEL: func.func @attention_grad_partials(
// CHECK:       scf.forall (%[[H:[a-z0-9_]+]]) in (2) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[DBA:[a-z0-9_]+]] = %{{.*}}, %[[DSA:[a-z0-9_]+]] = %{{.*}})
// CHECK:         %[[DB0:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0, 0] [1, 6, 9] [1, 1, 1] : tensor<1x6x9xf32> to tensor<6x9xf32>
// CHECK:         %[[DS0:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [1, 6] [1, 1] : tensor<1x6xf32> to tensor<6xf32>
// CHECK:         %[[OVERB:.*]]:5 = scf.for %{{.*}} iter_args({{.*}}, %{{.*}} = %[[DB0]], %{{.*}} = %[[DS0]])
// CHECK:           scf.for
// CHECK:             scf.for
// The bias rows of the tile's queries: a scatter over (row, column).
// CHECK:               %[[DBROWS:.*]] = tensor.extract_slice %{{.*}}[%[[I0:.*]], 0] [%[[ROWS:.*]], 9] [1, 1] : tensor<6x9xf32> to tensor<?x9xf32>
// CHECK:               scf.for
// CHECK:                 scf.for
// CHECK:                   tensor.extract %{{.*}} : tensor<?x9xf32>
// CHECK:                   tensor.insert %{{.*}} : tensor<?x9xf32>
// CHECK:               tensor.insert_slice %{{.*}} into %{{.*}}[%[[I0]], 0] [%[[ROWS]], 9] [1, 1] : tensor<?x9xf32> into tensor<6x9xf32>
// The span rows: e·g·∂w back along the queries, summed over the keys.
// CHECK:               %[[DSROWS:.*]] = tensor.extract_slice %{{.*}}[%[[I0]]] [%[[ROWS]]] [1] : tensor<6xf32> to tensor<?xf32>
// CHECK:               %[[EGDW:.*]] = linalg.transpose
// CHECK:               linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[EGDW]] : tensor<?x?xf32>) outs(%[[DSROWS]] : tensor<?xf32>)
// CHECK:         tensor.insert_slice %[[OVERB]]#3 into %{{.*}}[%{{.*}}, 0, 0] [1, 6, 9] [1, 1, 1] : tensor<6x9xf32> into tensor<1x6x9xf32>
// CHECK:         tensor.insert_slice %[[OVERB]]#4 into %{{.*}}[%{{.*}}, 0] [1, 6] [1, 1] : tensor<6xf32> into tensor<1x6xf32>
// CHECK:         scf.forall.in_parallel {
// CHECK:           tensor.parallel_insert_slice %{{.*}} into %[[DBA]][%[[H]], 0, 0] [1, 6, 9] [1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %[[DSA]][%[[H]], 0] [1, 6] [1, 1]
func.func @attention_grad_partials(%q: tensor<2x2x6x4xf32>, %k: tensor<2x2x8x4xf32>, %do: tensor<2x2x6x4xf32>, %lse: tensor<2x2x6xf32>, %delta: tensor<2x2x6xf32>, %b: tensor<2x9xf32>, %s: tensor<2xf32>, %p: index) -> (tensor<2x6x9xf32>, tensor<2x6xf32>) {
  %db0 = tensor.empty() : tensor<2x6x9xf32>
  %ds0 = tensor.empty() : tensor<2x6xf32>
  %dq, %dk, %dv, %db, %ds = rotary.online_attention_grad ins(%q, %k, %k, %do, %lse, %delta : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x6xf32>)
      bias(%b : tensor<2x9xf32>) span(%s : tensor<2xf32>) first_position(%p) outs(%q, %k, %k, %db0, %ds0 : tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>)
      {causal, window = 2 : i64, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x2x6x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x6x9xf32>, tensor<2x6xf32>
  return %db, %ds : tensor<2x6x9xf32>, tensor<2x6xf32>
}

// -----

// The key pass, bf16 data, B = 2, a full bias [H, T, S] and a span: the task
// (b, h, j) reads the bias on (h, all T, its keys) and its head's span. In
// the mask (keys along the rows) the bias of pair (key row r, query i0 + c)
// is bias[h][i0 + c][r] (r relative to the task's block, not first_key + j);
// the span weight w feeds p = w·e (no ∂w: the key pass writes no span
// gradient). K̄ and V̄ narrowed once into the bf16 tiles.
// CHECK-LABEL: func.func @key_grad_full_bias(
// CHECK-SAME:    %[[BIAS:[^:]*]]: tensor<2x6x8xf32>, %[[SPAN:[^:]*]]: tensor<2xf32>, %[[P:[^:]*]]: index, %[[FK:[^:]*]]: index)
// CHECK:       %[[RES:.*]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[JT:[a-z0-9_]+]]) = (0, 0, 0) to (2, 2, 8) step (1, 1, 48) shared_outs(%[[DKA:[a-z0-9_]+]] = %{{.*}}, %[[DVA:[a-z0-9_]+]] = %{{.*}}) -> (tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>) {
// CHECK:         %[[KR:.*]] = affine.min affine_map<(d0) -> (-d0 + 8, 48)>(%[[JT]])
// CHECK:         %[[BT:.*]] = tensor.extract_slice %[[BIAS]][%[[H]], 0, %[[JT]]] [1, 6, %[[KR]]] [1, 1, 1] : tensor<2x6x8xf32> to tensor<1x6x?xf32>
// CHECK-NEXT:    %[[SPANH:.*]] = tensor.extract_slice %[[SPAN]][%[[H]]] [1] [1] : tensor<2xf32> to tensor<1xf32>
// CHECK-NEXT:    %[[DKT:.*]] = tensor.extract_slice %[[DKA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<2x2x8x4xbf16> to tensor<1x1x?x4xbf16>
// CHECK-NEXT:    %[[DVT:.*]] = tensor.extract_slice %[[DVA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<2x2x8x4xbf16> to tensor<1x1x?x4xbf16>
// CHECK-NEXT:    %[[J0:.*]] = arith.addi %[[FK]], %[[JT]] : index
// CHECK:         %[[SCALE:.*]] = math.rsqrt %{{.*}} : f32
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// CHECK:         arith.divui
// CHECK-NEXT:    %[[B0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[H0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    tensor.extract_slice %{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK-NEXT:    tensor.extract_slice %{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK:         %[[L:.*]]:2 = scf.for %{{.*}} -> (tensor<?x4xf32>, tensor<?x4xf32>) {
// CHECK:           %[[I0:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      affine.min
// The mask yields s (bias added) and w.
// CHECK:           %[[MS:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NEXT:      ^bb0(%[[SIN:[a-z0-9_]+]]: f32,
// CHECK-NEXT:        %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:        %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT:        %[[QIDX:.*]] = arith.addi %[[I0]], %[[C]] : index
// CHECK-NEXT:        %[[KROW:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// CHECK-NEXT:        %[[KEY:.*]] = arith.addi %[[KROW]], %[[J0]] : index
// CHECK-NEXT:        %[[POS:.*]] = arith.addi %[[QIDX]], %[[P]] : index
// CHECK-NEXT:        %[[VIS:.*]] = arith.cmpi sle, %[[KEY]], %[[POS]] : index
// CHECK-NEXT:        %[[SS:.*]] = arith.mulf %[[SIN]], %[[SCALE]] : f32
// CHECK-NEXT:        %[[BV:.*]] = tensor.extract %[[BT]][%[[H0]], %[[QIDX]], %[[KROW]]] : tensor<1x6x?xf32>
// CHECK-NEXT:        %[[SB:.*]] = arith.addf %[[SS]], %[[BV]] : f32
// CHECK-NEXT:        %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NEXT:        %[[SM:.*]] = arith.select %[[VIS]], %[[SB]], %[[NI]] : f32
// CHECK-NEXT:        %[[SP:.*]] = tensor.extract %[[SPANH]][%[[H0]]] : tensor<1xf32>
// CHECK-NEXT:        %[[DIST:.*]] = arith.subi %[[POS]], %[[KEY]] : index
// CHECK:             %[[WT:.*]] = arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK:             %[[WM:.*]] = arith.select %[[VIS]], %[[WT]], %{{.*}} : f32
// CHECK-NEXT:        linalg.yield %[[SM]], %[[WM]] : f32, f32
// s̄ = w·e·g and p = w·e (w in, lse and δ along the columns).
// CHECK:           %[[PG:.*]]:2 = linalg.generic {{.*}} ins(%[[MS]]#0, %{{.*}}, %[[MS]]#1, %{{.*}}, %{{.*}} : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK-NEXT:      ^bb0(%{{[a-z0-9_]+}}: f32, %[[GP:[a-z0-9_]+]]: f32, %[[GW:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: f32, %[[GD:[a-z0-9_]+]]: f32,
// CHECK:             %[[GE:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:        %[[PW:.*]] = arith.mulf %[[GW]], %[[GE]] : f32
// CHECK-NEXT:        %[[GG:.*]] = arith.subf %[[GP]], %[[GD]] : f32
// CHECK-NEXT:        %[[GDS:.*]] = arith.mulf %[[PW]], %[[GG]] : f32
// CHECK-NEXT:        linalg.yield %[[GDS]], %[[PW]] : f32, f32
// Q and Ȯ widened in the bodies of the accumulations.
// CHECK:           linalg.generic {{.*}} ins(%[[PG]]#0, %{{.*}} : tensor<?x?xf32>, tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%{{[a-z0-9_]+}}: f32, %[[KQ:[a-z0-9_]+]]: bf16,
// CHECK-NEXT:        arith.extf %[[KQ]] : bf16 to f32
// CHECK:           linalg.generic {{.*}} ins(%[[PG]]#1, %{{.*}} : tensor<?x?xf32>, tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:      ^bb0(%{{[a-z0-9_]+}}: f32, %[[VO:[a-z0-9_]+]]: bf16,
// CHECK-NEXT:        arith.extf %[[VO]] : bf16 to f32
// CHECK:           scf.yield %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    tensor.extract_slice %[[DKT]]{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK-NEXT:    linalg.generic {{.*}} ins(%[[L]]#0 : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xbf16>)
// CHECK-NEXT:    ^bb0(%[[KX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: bf16):
// CHECK-NEXT:      %[[KXS:.*]] = arith.mulf %[[KX]], %[[SCALE]] : f32
// CHECK-NEXT:      %[[KXB:.*]] = arith.truncf %[[KXS]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[KXB]] : bf16
// CHECK:         %[[DKI:.*]] = tensor.insert_slice %{{.*}} into %[[DKT]]{{.*}} : tensor<?x4xbf16> into tensor<1x1x?x4xbf16>
// CHECK-NEXT:    tensor.extract_slice %[[DVT]]{{.*}} : tensor<1x1x?x4xbf16> to tensor<?x4xbf16>
// CHECK-NEXT:    linalg.generic {{.*}} ins(%[[L]]#1 : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xbf16>)
// CHECK-NEXT:    ^bb0(%[[VX:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: bf16):
// CHECK-NEXT:      %[[VXB:.*]] = arith.truncf %[[VX]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[VXB]] : bf16
// CHECK:         %[[DVI:.*]] = tensor.insert_slice %{{.*}} into %[[DVT]]{{.*}} : tensor<?x4xbf16> into tensor<1x1x?x4xbf16>
// CHECK-NEXT:    scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DKI]] into %[[DKA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xbf16> into tensor<2x2x8x4xbf16>
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DVI]] into %[[DVA]][%[[B]], %[[H]], %[[JT]], 0] [1, 1, %[[KR]], 4] [1, 1, 1, 1] : tensor<1x1x?x4xbf16> into tensor<2x2x8x4xbf16>
// CHECK-NEXT:    }
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>
func.func @key_grad_full_bias(%q: tensor<2x2x6x4xbf16>, %k: tensor<2x2x8x4xbf16>, %do: tensor<2x2x6x4xbf16>, %lse: tensor<2x2x6xf32>, %delta: tensor<2x2x6xf32>, %b: tensor<2x6x8xf32>, %s: tensor<2xf32>, %p: index, %j: index) -> (tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>) {
  %dk0 = tensor.empty() : tensor<2x2x8x4xbf16>
  %dv0 = tensor.empty() : tensor<2x2x8x4xbf16>
  %dk, %dv = rotary.online_attention_key_grad ins(%q, %k, %k, %do, %lse, %delta : tensor<2x2x6x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>, tensor<2x2x6xf32>)
      bias(%b : tensor<2x6x8xf32>) span(%s : tensor<2xf32>)
      first_position(%p) first_key(%j) outs(%dk0, %dv0 : tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>)
      {causal, span_ramp = 4.0 : f32, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>
  return %dk, %dv : tensor<2x2x8x4xbf16>, tensor<2x2x8x4xbf16>
}

// -----

// The query pass, B = 2, H = 3. Tiled (CHECK): one forall over (h, row
// blocks) with b inside the tasks. Whole (tile=false, WHOLE): no forall; the
// key ranges of all T = 6 rows once (from position 0 + p), then scf.for over
// h carrying q̄, in it scf.for over b; per (b, h) one key loop over that
// (b, h)'s keys, Q̄ scaled into (b, h)'s rows of the carried q̄ and inserted.
// CHECK-LABEL: func.func @query_grad_whole(
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) = (0, 0) to (3, 6) step (1, 48)
// CHECK-SAME:    -> (tensor<2x3x6x4xf32>)
// CHECK:         scf.for %{{.*}} -> (tensor<2x1x?x4xf32>)

// WHOLE-LABEL: func.func @query_grad_whole(
// WHOLE-SAME:    %[[Q:[^:]*]]: tensor<2x3x6x4xf32>, %[[K:[^:]*]]: tensor<2x3x8x4xf32>, %[[V:[^:]*]]: tensor<2x3x8x4xf32>, %[[DO:[^:]*]]: tensor<2x3x6x4xf32>, %[[LSE:[^:]*]]: tensor<2x3x6xf32>, %[[DELTA:[^:]*]]: tensor<2x3x6xf32>, %[[P:[^:]*]]: index)
// WHOLE-NEXT:  %[[DQ0:.*]] = tensor.empty() : tensor<2x3x6x4xf32>
// WHOLE-NOT:   scf.forall
// WHOLE:       %[[ZERO:.*]] = arith.constant 0 : index
// WHOLE:       arith.addi %[[ZERO]], %[[P]] : index
// WHOLE:       arith.divui
// WHOLE:       arith.divui
// WHOLE-NEXT:  %[[HONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:  %[[HN:.*]] = arith.constant 3 : index
// WHOLE-NEXT:  %[[HZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:  %[[RES:.*]] = scf.for %[[H:[a-z0-9_]+]] = %[[HZERO]] to %[[HN]] step %[[HONE]] iter_args(%[[DQH:[a-z0-9_]+]] = %[[DQ0]]) -> (tensor<2x3x6x4xf32>) {
// WHOLE-NEXT:    %[[BONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:    %[[BN:.*]] = arith.constant 2 : index
// WHOLE-NEXT:    %[[BZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:    %[[HRES:.*]] = scf.for %[[B:[a-z0-9_]+]] = %[[BZERO]] to %[[BN]] step %[[BONE]] iter_args(%[[DQB:[a-z0-9_]+]] = %[[DQH]]) -> (tensor<2x3x6x4xf32>) {
// WHOLE-NEXT:      tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<6x4xf32>
// WHOLE-NEXT:      tensor.extract_slice %[[DO]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<6x4xf32>
// WHOLE-NEXT:      tensor.extract_slice %[[LSE]][%[[B]], %[[H]], %[[ZERO]]] [1, 1, 6] [1, 1, 1] : tensor<2x3x6xf32> to tensor<6xf32>
// WHOLE-NEXT:      tensor.extract_slice %[[DELTA]][%[[B]], %[[H]], %[[ZERO]]] [1, 1, 6] [1, 1, 1] : tensor<2x3x6xf32> to tensor<6xf32>
// WHOLE:           %[[G:.*]] = scf.for %{{.*}} -> (tensor<6x4xf32>) {
// WHOLE:             tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[J:[0-9]+]], 0] [1, 1, %[[COLS:[0-9]+]], 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<?x4xf32>
// WHOLE-NEXT:        tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[J]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<?x4xf32>
// WHOLE:               %[[R:.*]] = linalg.index 0 : index
// WHOLE-NEXT:          linalg.index 1 : index
// WHOLE-NEXT:          %[[RI:.*]] = arith.addi %[[ZERO]], %[[R]] : index
// WHOLE-NEXT:          arith.addi %[[J]], %{{.*}} : index
// WHOLE-NEXT:          arith.addi %[[RI]], %[[P]] : index
// WHOLE:             scf.yield %{{.*}} : tensor<6x4xf32>
// WHOLE-NEXT:      }
// WHOLE-NEXT:      %[[DQR:.*]] = tensor.extract_slice %[[DQB]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<6x4xf32>
// WHOLE-NEXT:      %[[DQS:.*]] = linalg.generic {{.*}} ins(%[[G]] : tensor<6x4xf32>) outs(%[[DQR]] : tensor<6x4xf32>)
// WHOLE:           %[[DQI:.*]] = tensor.insert_slice %[[DQS]] into %[[DQB]][%[[B]], %[[H]], 0, 0] [1, 1, 6, 4] [1, 1, 1, 1] : tensor<6x4xf32> into tensor<2x3x6x4xf32>
// WHOLE-NEXT:      scf.yield %[[DQI]] : tensor<2x3x6x4xf32>
// WHOLE-NEXT:    }
// WHOLE-NEXT:    scf.yield %[[HRES]] : tensor<2x3x6x4xf32>
// WHOLE-NEXT:  }
// WHOLE-NEXT:  return %[[RES]] : tensor<2x3x6x4xf32>
func.func @query_grad_whole(%q: tensor<2x3x6x4xf32>, %k: tensor<2x3x8x4xf32>, %v: tensor<2x3x8x4xf32>, %do: tensor<2x3x6x4xf32>, %lse: tensor<2x3x6xf32>, %delta: tensor<2x3x6xf32>, %p: index) -> tensor<2x3x6x4xf32> {
  %dq0 = tensor.empty() : tensor<2x3x6x4xf32>
  %dq = rotary.online_attention_query_grad ins(%q, %k, %v, %do, %lse, %delta : tensor<2x3x6x4xf32>, tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>, tensor<2x3x6xf32>)
      first_position(%p) outs(%dq0 : tensor<2x3x6x4xf32>)
      {causal, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x3x6x4xf32>
  return %dq : tensor<2x3x6x4xf32>
}

// -----

// The key pass, B = 2, H = 3. Tiled (CHECK): one forall over (b, h, key
// blocks). Whole (WHOLE): no forall; the query range of all S = 8 keys once
// (from key 0 + first_key), then scf.for over b, in it over h, each carrying
// k̄ and v̄; per (b, h) one loop over query tiles, K̄ and V̄ written into
// (b, h)'s keys of the carried outputs.
// CHECK-LABEL: func.func @key_grad_whole(
// CHECK:       scf.forall (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) = (0, 0, 0) to (2, 3, 8) step (1, 1, 48)
// CHECK-SAME:    -> (tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>)

// WHOLE-LABEL: func.func @key_grad_whole(
// WHOLE-SAME:    %[[Q:[^:]*]]: tensor<2x3x6x4xf32>, %[[K:[^:]*]]: tensor<2x3x8x4xf32>, %[[V:[^:]*]]: tensor<2x3x8x4xf32>, %[[DO:[^:]*]]: tensor<2x3x6x4xf32>, %[[LSE:[^:]*]]: tensor<2x3x6xf32>, %[[DELTA:[^:]*]]: tensor<2x3x6xf32>, %[[P:[^:]*]]: index, %[[FK:[^:]*]]: index)
// WHOLE-NEXT:  %[[DK0:.*]] = tensor.empty() : tensor<2x3x8x4xf32>
// WHOLE-NEXT:  %[[DV0:.*]] = tensor.empty() : tensor<2x3x8x4xf32>
// WHOLE-NOT:   scf.forall
// WHOLE:       %[[ZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:  arith.constant 1 : index
// WHOLE-NEXT:  %[[JF:.*]] = arith.addi %[[ZERO]], %[[FK]] : index
// WHOLE:       arith.subi %[[JF]], %[[P]] : index
// WHOLE:       %[[NQ:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// WHOLE-NEXT:  %[[BONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:  %[[BN:.*]] = arith.constant 2 : index
// WHOLE-NEXT:  %[[BZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:  %[[RES:.*]]:2 = scf.for %[[B:[a-z0-9_]+]] = %[[BZERO]] to %[[BN]] step %[[BONE]] iter_args(%[[DKB:[a-z0-9_]+]] = %[[DK0]], %[[DVB:[a-z0-9_]+]] = %[[DV0]]) -> (tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>) {
// WHOLE-NEXT:    %[[HONE:.*]] = arith.constant 1 : index
// WHOLE-NEXT:    %[[HN:.*]] = arith.constant 3 : index
// WHOLE-NEXT:    %[[HZERO:.*]] = arith.constant 0 : index
// WHOLE-NEXT:    %[[BRES:.*]]:2 = scf.for %[[H:[a-z0-9_]+]] = %[[HZERO]] to %[[HN]] step %[[HONE]] iter_args(%[[DKH:[a-z0-9_]+]] = %[[DKB]], %[[DVH:[a-z0-9_]+]] = %[[DVB]]) -> (tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>) {
// WHOLE-NEXT:      %[[KB:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<8x4xf32>
// WHOLE-NEXT:      %[[VB:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<8x4xf32>
// WHOLE:           %[[L:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[NQ]] step %{{.*}} iter_args({{.*}}) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
// WHOLE:             %[[I0:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// WHOLE-NEXT:        %[[QROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 6)>()[%[[I0]]]
// WHOLE-NEXT:        tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[QROWS]], 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<?x4xf32>
// WHOLE-NEXT:        tensor.extract_slice %[[DO]][%[[B]], %[[H]], %[[I0]], 0] [1, 1, %[[QROWS]], 4] [1, 1, 1, 1] : tensor<2x3x6x4xf32> to tensor<?x4xf32>
// WHOLE-NEXT:        tensor.extract_slice %[[LSE]][%[[B]], %[[H]], %[[I0]]] [1, 1, %[[QROWS]]] [1, 1, 1] : tensor<2x3x6xf32> to tensor<?xf32>
// WHOLE-NEXT:        tensor.extract_slice %[[DELTA]][%[[B]], %[[H]], %[[I0]]] [1, 1, %[[QROWS]]] [1, 1, 1] : tensor<2x3x6xf32> to tensor<?xf32>
// WHOLE:               linalg.index 1 : index
// WHOLE-NEXT:          arith.addi %[[I0]], %{{.*}} : index
// WHOLE-NEXT:          %[[KROW:.*]] = arith.addi %[[ZERO]], %{{.*}} : index
// WHOLE-NEXT:          arith.addi %[[KROW]], %[[FK]] : index
// WHOLE:             scf.yield %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<8x4xf32>
// WHOLE-NEXT:      }
// WHOLE-NEXT:      %[[DKR:.*]] = tensor.extract_slice %[[DKH]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<8x4xf32>
// WHOLE-NEXT:      %[[DKS:.*]] = linalg.generic {{.*}} ins(%[[L]]#0 : tensor<8x4xf32>) outs(%[[DKR]] : tensor<8x4xf32>)
// WHOLE:           %[[DKI:.*]] = tensor.insert_slice %[[DKS]] into %[[DKH]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<8x4xf32> into tensor<2x3x8x4xf32>
// WHOLE-NEXT:      %[[DVR:.*]] = tensor.extract_slice %[[DVH]][%[[B]], %[[H]], %[[ZERO]], 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<2x3x8x4xf32> to tensor<8x4xf32>
// WHOLE-NEXT:      %[[DVS:.*]] = linalg.generic {{.*}} ins(%[[L]]#1 : tensor<8x4xf32>) outs(%[[DVR]] : tensor<8x4xf32>)
// WHOLE:           %[[DVI:.*]] = tensor.insert_slice %[[DVS]] into %[[DVH]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 4] [1, 1, 1, 1] : tensor<8x4xf32> into tensor<2x3x8x4xf32>
// WHOLE-NEXT:      scf.yield %[[DKI]], %[[DVI]] : tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>
// WHOLE-NEXT:    }
// WHOLE-NEXT:    scf.yield %[[BRES]]#0, %[[BRES]]#1 : tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>
// WHOLE-NEXT:  }
// WHOLE-NEXT:  return %[[RES]]#0, %[[RES]]#1 : tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>
func.func @key_grad_whole(%q: tensor<2x3x6x4xf32>, %k: tensor<2x3x8x4xf32>, %v: tensor<2x3x8x4xf32>, %do: tensor<2x3x6x4xf32>, %lse: tensor<2x3x6xf32>, %delta: tensor<2x3x6xf32>, %p: index, %j: index) -> (tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>) {
  %dk0 = tensor.empty() : tensor<2x3x8x4xf32>
  %dv0 = tensor.empty() : tensor<2x3x8x4xf32>
  %dk, %dv = rotary.online_attention_key_grad ins(%q, %k, %v, %do, %lse, %delta : tensor<2x3x6x4xf32>, tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>, tensor<2x3x6xf32>)
      first_position(%p) first_key(%j) outs(%dk0, %dv0 : tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>)
      {causal, rotary.tiles = {query = 48 : i64, key = 64 : i64}}
      -> tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>
  return %dk, %dv : tensor<2x3x8x4xf32>, tensor<2x3x8x4xf32>
}

// -----

// The gradient's passes need their tiles too (bad sizes are refused alike).
func.func @key_grad_bad_tiles(%q: tensor<1x2x6x4xf32>, %lse: tensor<1x2x6xf32>, %p: index) -> tensor<1x2x6x4xf32> {
  // expected-error @+1 {{'rotary.online_attention_key_grad' op needs its tile sizes, 'rotary.tiles' = {query = Q, key = K} with Q, K > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %0:2 = rotary.online_attention_key_grad ins(%q, %q, %q, %q, %lse, %lse : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6xf32>)
      first_position(%p) first_key(%p) outs(%q, %q : tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>)
      {rotary.tiles = {query = 0 : i64, key = 64 : i64}} -> tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>
  return %0#0 : tensor<1x2x6x4xf32>
}

// -----

// Fused HDD-RoPE on lanes needs its lanes per task.
func.func @hdd_lanes_untiled(%x: tensor<1x4x8xf32>, %a: tensor<1x4x12xf32>, %l: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{'rotary.hdd_rope_lanes' op needs its lanes per task, 'rotary.tiles' = {lanes = N} with N > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %y = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x4x8xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%x : tensor<1x4x8xf32>) {chunk = 4 : i64} -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// Fused HDD-RoPE on lanes, 5 lanes of c = 2 in tasks of 2: tiled, a task's
// block is provably at most 2 lanes and runs as one group (no loop of its
// own around the scan over T); decomposed whole, the block loops over
// ceil(5 / 2) groups of at most 2 lanes (the size of P's buffer).
// CHECK-LABEL: func.func @hdd_lanes_groups(
// CHECK:       scf.forall (%{{.*}}, %[[L:[a-z0-9_]+]]) = (0, 0) to (1, 5) step (1, 2)
// CHECK:         %[[FIRST:.*]] = arith.addi %{{.*}}, %[[L]] : index
// CHECK-NOT:     arith.ceildivui
// The group's first lane in x (first_lane + l0), then + m per lane.
// CHECK:         %[[GFIRST:.*]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK:         %[[P0:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2xf32>)
// CHECK:         scf.for %[[T:[a-z0-9_]+]] = %{{.*}} to %c3{{.*}} step
// CHECK-NEXT:      scf.for %[[M:[a-z0-9_]+]] =
// CHECK-NEXT:        arith.addi %[[GFIRST]], %[[M]] : index
// CHECK:         scf.forall.in_parallel
// WHOLE-LABEL: func.func @hdd_lanes_groups(
// WHOLE:         %[[R:.*]] = scf.for %[[G:[a-z0-9_]+]] = %{{.*}} to %c3{{[_0-9]*}} step %{{.*}} iter_args(%[[Y:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x3x10xf32>)
// WHOLE-NEXT:      %[[L0:.*]] = arith.muli %[[G]], %c2{{.*}} : index
// WHOLE-NEXT:      affine.min affine_map<()[s0] -> (2, -s0 + 5)>()[%[[L0]]]
// WHOLE:           linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2xf32>)
// WHOLE:           tensor.insert_slice %{{.*}} into %[[Y]]
// WHOLE:         return %[[R]]
func.func @hdd_lanes_groups(%x: tensor<1x3x10xf32>, %a: tensor<1x3x5xf32>, %l: index) -> tensor<1x3x10xf32> {
  %y = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x3x10xf32>, tensor<1x3x5xf32>) first_lane(%l) outs(%x : tensor<1x3x10xf32>) {chunk = 2 : i64, rotary.tiles = {lanes = 2 : i64}} -> tensor<1x3x10xf32>
  return %y : tensor<1x3x10xf32>
}

// -----

// With {block = 2} (a GPU's schedule) the op runs as a blocked scan with P
// in c² = 9 scalars, never stored (decomposed whole, without tiling, it is
// the scan per lane of its {lanes}). Per (b, block, lane) the block's product
// of the G_t from the angles, its total inserted in place; the exclusive
// scan of the totals per (b, lane) (a rotation_scan, tiled and decomposed
// here); per (b, block, lane) the block again from its carry, writing its
// tokens of y.
// CHECK-LABEL: func.func @hdd_lanes_blocks(
// CHECK:       %[[NB:.*]] = arith.ceildivui %c5{{.*}}, %c2{{.*}} : index
// CHECK:       %[[TOT:.*]] = scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (2, %[[NB]], 2) shared_outs(%{{.*}}) -> (tensor<2x?x2x3x3xf32>)
// CHECK:         scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-3:   math.cos
// CHECK:         tensor.parallel_insert_slice %{{.*}} [1, 1, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<3x3xf32> into tensor<2x?x2x3x3xf32>
// CHECK:       %[[CARRY:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}) in (2, 2) shared_outs({{.*}}) -> (tensor<2x?x2x3x3xf32>, tensor<2x2x3x3xf32>)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (2, %[[NB]], 2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<2x5x6xf32>)
// CHECK:         %[[MINE:.*]] = tensor.extract_slice %[[CARRY]]#0[{{.*}}] [1, 1, 1, 3, 3] [1, 1, 1, 1, 1] : tensor<2x?x2x3x3xf32> to tensor<1x1x1x3x3xf32>
// CHECK:         tensor.extract %[[MINE]]
// CHECK:         scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, tensor<1x?x3xf32>)
// CHECK-COUNT-3:   tensor.insert %{{.*}} : tensor<1x?x3xf32>
// CHECK:         tensor.parallel_insert_slice %{{.*}} [1, %{{.*}}, 3] [1, 1, 1] : tensor<1x?x3xf32> into tensor<2x5x6xf32>
// WHOLE-LABEL: func.func @hdd_lanes_blocks(
// WHOLE-NOT:     tensor<2x?x2x3x3xf32>
// WHOLE:         return
func.func @hdd_lanes_blocks(%x: tensor<2x5x6xf32>, %a: tensor<2x5x6xf32>, %l: index) -> tensor<2x5x6xf32> {
  %y = rotary.hdd_rope_lanes ins(%x, %a : tensor<2x5x6xf32>, tensor<2x5x6xf32>) first_lane(%l) outs(%x : tensor<2x5x6xf32>) {chunk = 3 : i64, inverse, rotary.tiles = {block = 2 : i64, lanes = 2 : i64}} -> tensor<2x5x6xf32>
  return %y : tensor<2x5x6xf32>
}

// -----

// With {rows = 2} too (a GPU's schedule for chunks over 8, here c = 4) a
// task holds 2 of P's 4 rows: cos and sin of every angle first; per (b,
// block, lane, pair of rows) the block's product of those rows (8
// scalars, each step's rotations read from the table), their rows of the
// total; the totals' scan by pairs of rows; per (b, block, lane, pair)
// the block again, y = Pᵀ·x as the pair's share of every entry, summed
// over the two pairs after.
// CHECK-LABEL: func.func @hdd_lanes_rows(
// CHECK:       %[[NB:.*]] = arith.ceildivui %c5{{.*}}, %c2{{.*}} : index
// CHECK:       %[[TRIG:.*]]:2 = linalg.generic
// CHECK:         math.cos
// CHECK:         math.sin
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) in (1, %[[NB]], 2, 2) shared_outs(%{{.*}}) -> (tensor<1x?x2x4x4xf32>)
// CHECK-NOT:     math.cos
// CHECK:         scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:           tensor.extract %[[TRIG]]#0
// CHECK:         tensor.parallel_insert_slice %{{.*}} [1, 1, 1, 2, 4] [1, 1, 1, 1, 1] : tensor<2x4xf32> into tensor<1x?x2x4x4xf32>
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0) to (1, 2, 4) step (1, 1, 2) shared_outs({{.*}}) -> (tensor<1x?x2x4x4xf32>, tensor<1x2x4x4xf32>)
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) in (1, %[[NB]], 2, 2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<1x5x2x2x4xf32>)
// CHECK:         scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, tensor<1x?x1x1x4xf32>)
// CHECK-COUNT-4:   tensor.insert %{{.*}} : tensor<1x?x1x1x4xf32>
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:    ins(%{{.*}} : tensor<1x5x2x2x4xf32>)
func.func @hdd_lanes_rows(%x: tensor<1x5x8xf32>, %a: tensor<1x5x12xf32>, %l: index) -> tensor<1x5x8xf32> {
  %y = rotary.hdd_rope_lanes ins(%x, %a : tensor<1x5x8xf32>, tensor<1x5x12xf32>) first_lane(%l) outs(%x : tensor<1x5x8xf32>) {chunk = 4 : i64, inverse, rotary.tiles = {block = 2 : i64, lanes = 2 : i64, rows = 2 : i64}} -> tensor<1x5x8xf32>
  return %y : tensor<1x5x8xf32>
}

// -----

// And its gradient.
func.func @hdd_lanes_grad_untiled(%x: tensor<1x4x8xf32>, %a: tensor<1x4x12xf32>, %l: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{'rotary.hdd_rope_lanes_grad' op needs its lanes per task, 'rotary.tiles' = {lanes = N} with N > 0}}
  %dx, %da = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<1x4x8xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%x, %a : tensor<1x4x8xf32>, tensor<1x4x12xf32>) {chunk = 4 : i64} -> tensor<1x4x8xf32>, tensor<1x4x12xf32>
  return %dx : tensor<1x4x8xf32>
}

// -----

// A Givens chain over rows needs its rows per group.
func.func @givens_rows_untiled(%x: tensor<4x1x16xf32>, %c: tensor<1x8xf32>, %p: tensor<8x2xindex>) -> tensor<4x1x16xf32> {
  // expected-error @+1 {{'rotary.givens_rows' op needs its rows per group, 'rotary.tiles' = {rows = W} with W > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %y = rotary.givens_rows ins(%x, %c, %c, %p : tensor<4x1x16xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) outs(%x : tensor<4x1x16xf32>) -> tensor<4x1x16xf32>
  return %y : tensor<4x1x16xf32>
}

// -----

// 40 rows of 2 heads in groups of 16: tiled, one task per (group, head)
// whose block is provably at most 16 rows, so it runs as one group with no
// loop of its own (the chain's scf.for over the 8 rotations is the task's
// outer loop); decomposed whole, the block loops over its heads and over
// ceil(40 / 16) groups. A group is a [16, 16] f32 tile: full groups take
// the block transposes (vector.shuffle), the last, partial group of 8 rows
// the scalar loops.
// CHECK-LABEL: func.func @givens_rows_groups(
// CHECK:       scf.forall (%[[R0:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) = (0, 0) to (40, 2) step (16, 1)
// CHECK:         %[[ROWS:[a-z0-9_]+]] = affine.min affine_map<(d0) -> (-d0 + 40, 16)>(%[[R0]])
// CHECK-NOT:     scf.for {{.*}} to %c3
// CHECK:         %[[GROWS:[a-z0-9_]+]] = affine.min affine_map<()[s0, s1] -> (16, s0 - s1)>()[%[[ROWS]], %{{.*}}]
// CHECK:         %[[FULL:[a-z0-9_]+]] = arith.cmpi eq, %[[GROWS]], %c16{{.*}} : index
// CHECK:         scf.if %[[FULL]] -> (tensor<16x16xf32>)
// CHECK:           vector.shuffle
// CHECK:         } else {
// CHECK:           linalg.generic {{.*}} outs(%{{.*}} : tensor<16x16xf32>)
// CHECK:         scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c1{{.*}} iter_args(%[[T:[a-z0-9_]+]] = %{{.*}}) -> (tensor<16x16xf32>)
// CHECK:           %[[I:.*]] = tensor.extract %{{.*}}[%{{.*}}, %c0{{.*}}] : tensor<8x2xindex>
// CHECK:           %[[J:.*]] = tensor.extract %{{.*}}[%{{.*}}, %c1{{.*}}] : tensor<8x2xindex>
// CHECK-DAG:       %[[XI:.*]] = vector.transfer_read %[[T]][%[[I]], %c0{{.*}}], {{.*}} : tensor<16x16xf32>, vector<16xf32>
// CHECK-DAG:       %[[XJ:.*]] = vector.transfer_read %[[T]][%[[J]], %c0{{.*}}], {{.*}} : tensor<16x16xf32>, vector<16xf32>
// CHECK:           math.fma %[[XJ]]
// CHECK:           math.fma %[[XI]]
// CHECK:         tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, 0] [%[[GROWS]], 1, 16] [1, 1, 1] : tensor<?x16xf32> into tensor<?x1x16xf32>
// CHECK:         scf.forall.in_parallel
// WHOLE-LABEL: func.func @givens_rows_groups(
// WHOLE:         scf.for %[[H:[a-z0-9_]+]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args(%[[YH:.*]] = %{{.*}}) -> (tensor<40x2x16xf32>)
// WHOLE:           scf.for %[[G:[a-z0-9_]+]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%[[Y:.*]] = %[[YH]]) -> (tensor<40x2x16xf32>)
// WHOLE:             %[[R0:.*]] = arith.muli %[[G]], %c16{{.*}} : index
// WHOLE:             %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (16, -s0 + 40)>()[%[[R0]]]
// WHOLE:             vector<16xf32>
// WHOLE:             tensor.insert_slice %{{.*}} into %[[Y]][%[[R0]], %[[H]], 0] [%[[ROWS]], 1, 16] [1, 1, 1] : tensor<?x16xf32> into tensor<40x2x16xf32>
func.func @givens_rows_groups(%x: tensor<40x2x16xf32>, %c: tensor<2x8xf32>, %p: tensor<8x2xindex>) -> tensor<40x2x16xf32> {
  %y = rotary.givens_rows ins(%x, %c, %c, %p : tensor<40x2x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x2xindex>) outs(%x : tensor<40x2x16xf32>) {rotary.tiles = {rows = 16 : i64}} -> tensor<40x2x16xf32>
  return %y : tensor<40x2x16xf32>
}

// -----

// The chain gradient needs its rows per group too.
func.func @givens_rows_grad_untiled(%x: tensor<4x1x16xf32>, %c: tensor<1x8xf64>, %p: tensor<8x2xindex>) -> tensor<1x8xf64> {
  // expected-error @+1 {{'rotary.givens_rows_grad' op needs its rows per group, 'rotary.tiles' = {rows = W} with W > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %dx, %da = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<4x1x16xf32>, tensor<1x8xf64>, tensor<8x2xindex>) outs(%x, %c : tensor<4x1x16xf32>, tensor<1x8xf64>) -> tensor<4x1x16xf32>, tensor<1x8xf64>
  return %da : tensor<1x8xf64>
}

// -----

// 40 rows of 2 heads in groups of 16. Tiled: rows are a reduction for ψ̄,
// so a task takes 16 rows of every head and writes its own row of a
// [3, 2, 8] table of partials (zeroed), which one linalg.reduce adds to
// ψ̄'s init; x̄ goes straight into place. Decomposed whole: heads, then
// ceil(40 / 16) groups, each adding to the head's row of ψ̄'s init.
// CHECK-LABEL: func.func @givens_rows_grad_groups(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<40x2x16xf32>, %[[C:[^:]*]]: tensor<2x8xf64>, %[[P:[^:]*]]: tensor<8x2xindex>, %[[DA0:[^:]*]]: tensor<2x8xf64>)
// CHECK:       %[[E:.*]] = tensor.empty() : tensor<3x2x8xf64>
// CHECK:       %[[Z:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%[[E]] : tensor<3x2x8xf64>)
// CHECK:       %[[F:.*]]:2 = scf.forall (%[[R0:[a-z0-9_]+]]) = (0) to (40) step (16) shared_outs(%[[DXA:[a-z0-9_]+]] = %[[X]], %[[PA:[a-z0-9_]+]] = %[[Z]])
// CHECK:         %[[T:.*]] = affine.apply affine_map<()[s0] -> (s0 floordiv 16)>()[%[[R0]]]
// CHECK:         tensor.extract_slice %[[PA]][%[[T]], 0, 0] [1, 2, 8] [1, 1, 1] : tensor<3x2x8xf64> to tensor<2x8xf64>
// CHECK:         scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args(%{{.*}}, %{{.*}}) -> (tensor<?x2x16xf32>, tensor<2x8xf64>)
// CHECK-NOT:       scf.for {{.*}} to %c3
// CHECK:         scf.forall.in_parallel
// CHECK:       linalg.reduce ins(%[[F]]#1 : tensor<3x2x8xf64>) outs(%[[DA0]] : tensor<2x8xf64>) dimensions = [0]
// WHOLE-LABEL: func.func @givens_rows_grad_groups(
// WHOLE-SAME:    %[[X:[^:]*]]: tensor<40x2x16xf32>, %[[C:[^:]*]]: tensor<2x8xf64>, %[[P:[^:]*]]: tensor<8x2xindex>, %[[DA0:[^:]*]]: tensor<2x8xf64>)
// WHOLE-NOT:     scf.forall
// WHOLE:         scf.for %[[H:[a-z0-9_]+]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args(%{{.*}} = %[[X]], %{{.*}} = %[[DA0]]) -> (tensor<40x2x16xf32>, tensor<2x8xf64>)
// WHOLE:           scf.for %[[G:[a-z0-9_]+]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%{{.*}}, %[[DA:[a-z0-9_]+]] = %{{.*}}) -> (tensor<40x2x16xf32>, tensor<2x8xf64>)
// WHOLE:             tensor.extract_slice %[[DA]][%[[H]], 0] [1, 8] [1, 1] : tensor<2x8xf64> to tensor<8xf64>
// WHOLE:             tensor.insert_slice %{{.*}} into %[[DA]][%[[H]], 0] [1, 8] [1, 1] : tensor<8xf64> into tensor<2x8xf64>
// WHOLE-NOT:     linalg.reduce
func.func @givens_rows_grad_groups(%x: tensor<40x2x16xf32>, %c: tensor<2x8xf64>, %p: tensor<8x2xindex>, %da0: tensor<2x8xf64>) -> (tensor<40x2x16xf32>, tensor<2x8xf64>) {
  %dx, %da = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<40x2x16xf32>, tensor<2x8xf64>, tensor<8x2xindex>) outs(%x, %da0 : tensor<40x2x16xf32>, tensor<2x8xf64>) {rotary.tiles = {rows = 16 : i64}} -> tensor<40x2x16xf32>, tensor<2x8xf64>
  return %dx, %da : tensor<40x2x16xf32>, tensor<2x8xf64>
}

// -----

// ... and the interval at which its forward scan saves P, which sets the
// size of the checkpoint buffer (ceil(T / K) saved P) and where the
// backward scan resets P.
func.func @hdd_lanes_grad_no_checkpoint(%x: tensor<1x4x8xf32>, %a: tensor<1x4x12xf32>, %l: index) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{'rotary.hdd_rope_lanes_grad' op needs its checkpoint interval, 'rotary.tiles' = {checkpoint = K} with K > 0 (tokens between saved P)}}
  %dx, %da = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<1x4x8xf32>, tensor<1x4x12xf32>) first_lane(%l) outs(%x, %a : tensor<1x4x8xf32>, tensor<1x4x12xf32>) {chunk = 4 : i64, rotary.tiles = {lanes = 2 : i64}} -> tensor<1x4x8xf32>, tensor<1x4x12xf32>
  return %dx : tensor<1x4x8xf32>
}

// -----

// 40 tokens saved every 16: ceil(40 / 16) = 3 saved P of the task's lanes
// ([4, 2]: c² by lanes); the forward scan saves at t mod 16 = 15, the
// backward one resets there.
// CHECK-LABEL: func.func @hdd_lanes_grad_checkpoint(
// CHECK:         %[[NCK:.*]] = arith.ceildivui %c40{{.*}}, %c16{{.*}} : index
// CHECK-NEXT:    tensor.empty(%[[NCK]]) : tensor<?x4x2xf32>
// CHECK:         %[[M1:.*]] = arith.remui %{{.*}}, %c16{{.*}} : index
// CHECK-NEXT:    arith.cmpi eq, %[[M1]], %c15{{.*}} : index
// CHECK:         %[[M2:.*]] = arith.remui %{{.*}}, %c16{{.*}} : index
// CHECK-NEXT:    arith.cmpi eq, %[[M2]], %c15{{.*}} : index
// WHOLE-LABEL: func.func @hdd_lanes_grad_checkpoint(
// WHOLE:         %[[NCK:.*]] = arith.ceildivui %c40{{.*}}, %c16{{.*}} : index
func.func @hdd_lanes_grad_checkpoint(%x: tensor<1x40x4xf32>, %a: tensor<1x40x2xf32>, %l: index) -> tensor<1x40x4xf32> {
  %dx, %da = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<1x40x4xf32>, tensor<1x40x2xf32>) first_lane(%l) outs(%x, %a : tensor<1x40x4xf32>, tensor<1x40x2xf32>) {chunk = 2 : i64, rotary.tiles = {checkpoint = 16 : i64, lanes = 2 : i64}} -> tensor<1x40x4xf32>, tensor<1x40x2xf32>
  return %dx : tensor<1x40x4xf32>
}

// -----

// A rope gradient with parameter sums needs its tokens per task.
func.func @rope_tokens_grad_untiled(%x: tensor<1x4x1x8xf32>, %c: tensor<4x4xf32>, %p: tensor<4xi64>, %s: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{'rotary.rope_tokens_grad' op needs its tokens per task, 'rotary.tiles' = {tokens = N} with N > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<1x4x1x8xf32>, tensor<4x4xf32>, tensor<4xi64>) outs(%x, %s, %s : tensor<1x4x1x8xf32>, tensor<4xf64>) layout = half -> tensor<1x4x1x8xf32>, tensor<4xf64>, tensor<4xf64>
  return %a : tensor<4xf64>
}

// -----

// 3 batch entries of 40 tokens in tasks of 16: batch and tokens are
// reductions for the sums, so each (b, tile of tokens) task writes its own
// row of two [3, 3, 4] tables of partials (zeroed), which two linalg.reduce
// over both dims add to the inits; x̄ goes straight into place. A tile is
// one generic over the interleaved 5-D pair views, d0..d3 reducing into
// the tile's rows of partials. Decomposed whole: the same generic over
// every token, accumulating into the inits.
// CHECK-LABEL: func.func @rope_tokens_grad_tiles(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<3x40x2x8xf32>, %[[DY:[^:]*]]: tensor<3x40x2x8xf32>, %[[C:[^:]*]]: tensor<40x4xf32>, %[[P:[^:]*]]: tensor<40xi64>, %[[S0:[^:]*]]: tensor<4xf64>, %[[S1:[^:]*]]: tensor<4xf64>)
// CHECK-DAG:   %[[Z0:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<3x3x4xf64>)
// CHECK-DAG:   %[[Z1:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<3x3x4xf64>)
// CHECK:       %[[F:.*]]:3 = scf.forall (%[[B:[a-z0-9_]+]], %[[T0:[a-z0-9_]+]]) = (0, 0) to (3, 40) step (1, 16) shared_outs(%[[DXA:[a-z0-9_]+]] = %[[X]], %[[PA:[a-z0-9_]+]] = %[[Z0]], %[[PB:[a-z0-9_]+]] = %[[Z1]])
// CHECK:         %[[N:.*]] = affine.min affine_map<(d0) -> (-d0 + 40, 16)>(%[[T0]])
// CHECK:         %[[TI:.*]] = affine.apply affine_map<()[s0] -> (s0 floordiv 16)>()[%[[T0]]]
// CHECK:         %[[RA:.*]] = tensor.extract_slice %[[PA]][%[[B]], %[[TI]], 0] [1, 1, 4] [1, 1, 1] : tensor<3x3x4xf64> to tensor<4xf64>
// CHECK:         %[[RB:.*]] = tensor.extract_slice %[[PB]][%[[B]], %[[TI]], 0] [1, 1, 4] [1, 1, 1] : tensor<3x3x4xf64> to tensor<4xf64>
// CHECK:         %[[XT:.*]] = tensor.extract_slice %[[X]][%[[B]], %[[T0]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1]
// CHECK:         %[[GT:.*]] = tensor.extract_slice %[[DY]][%[[B]], %[[T0]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1]
// CHECK:         %[[CT:.*]] = tensor.extract_slice %[[C]][%[[T0]], 0] [%[[N]], 4] [1, 1] : tensor<40x4xf32> to tensor<?x4xf32>
// CHECK:         %[[PT:.*]] = tensor.extract_slice %[[P]][%[[T0]]] [%[[N]]] [1] : tensor<40xi64> to tensor<?xi64>
// CHECK:         %[[DT:.*]] = tensor.extract_slice %[[DXA]][%[[B]], %[[T0]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1]
// CHECK-DAG:     %[[XV:.*]] = tensor.expand_shape %[[XT]] {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, %[[N]], 2, 4, 2]
// CHECK-DAG:     %[[GV:.*]] = tensor.expand_shape %[[GT]] {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, %[[N]], 2, 4, 2]
// CHECK-DAG:     %[[DV:.*]] = tensor.expand_shape %[[DT]] {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, %[[N]], 2, 4, 2]
// CHECK:         %[[G:.*]]:3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d4)>], iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]}
// CHECK-SAME:      ins(%[[XV]], %[[XV]], %[[GV]], %[[GV]], %[[CT]], %{{.*}}, %[[PT]] :
// CHECK-SAME:      outs(%[[DV]], %[[RA]], %[[RB]] : tensor<1x?x2x4x2xf32>, tensor<4xf64>, tensor<4xf64>)
// CHECK:         %[[DX:.*]] = tensor.collapse_shape %[[G]]#0 {{\[\[}}0], [1], [2], [3, 4]]
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[DX]] into %[[DXA]][%[[B]], %[[T0]], 0, 0] [1, %[[N]], 2, 8] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[G]]#1 into %[[PA]][%[[B]], %{{.*}}, 0] [1, 1, 4] [1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[G]]#2 into %[[PB]][%[[B]], %{{.*}}, 0] [1, 1, 4] [1, 1, 1]
// CHECK:       %[[RS0:.*]] = linalg.reduce ins(%[[F]]#1 : tensor<3x3x4xf64>) outs(%[[S0]] : tensor<4xf64>) dimensions = [0, 1]
// CHECK:       %[[RS1:.*]] = linalg.reduce ins(%[[F]]#2 : tensor<3x3x4xf64>) outs(%[[S1]] : tensor<4xf64>) dimensions = [0, 1]
// CHECK:       return %[[F]]#0, %[[RS0]], %[[RS1]]
// WHOLE-LABEL: func.func @rope_tokens_grad_tiles(
// WHOLE-SAME:    %[[X:[^:]*]]: tensor<3x40x2x8xf32>, %{{[^:]*}}: tensor<3x40x2x8xf32>, %[[C:[^:]*]]: tensor<40x4xf32>, %[[P:[^:]*]]: tensor<40xi64>, %[[S0:[^:]*]]: tensor<4xf64>, %[[S1:[^:]*]]: tensor<4xf64>)
// WHOLE-NOT:     scf.forall
// WHOLE:         %[[G:.*]]:3 = linalg.generic {{.*}}iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]}
// WHOLE-SAME:      outs(%{{.*}}, %[[S0]], %[[S1]] : tensor<3x40x2x4x2xf32>, tensor<4xf64>, tensor<4xf64>)
// WHOLE:         tensor.collapse_shape %[[G]]#0
// WHOLE-NOT:     linalg.reduce
func.func @rope_tokens_grad_tiles(%x: tensor<3x40x2x8xf32>, %dy: tensor<3x40x2x8xf32>, %c: tensor<40x4xf32>, %p: tensor<40xi64>, %s0: tensor<4xf64>, %s1: tensor<4xf64>) -> (tensor<3x40x2x8xf32>, tensor<4xf64>, tensor<4xf64>) {
  %dx, %s, %sp = rotary.rope_tokens_grad ins(%x, %dy, %c, %c, %p : tensor<3x40x2x8xf32>, tensor<40x4xf32>, tensor<40xi64>) outs(%x, %s0, %s1 : tensor<3x40x2x8xf32>, tensor<4xf64>) layout = interleaved {rotary.tiles = {tokens = 16 : i64}} -> tensor<3x40x2x8xf32>, tensor<4xf64>, tensor<4xf64>
  return %dx, %s, %sp : tensor<3x40x2x8xf32>, tensor<4xf64>, tensor<4xf64>
}

// -----

// Per-batch positions: the table and positions are sliced on (b, t), and
// the one sum init shared by both sums (as CSE leaves zero inits) still
// gets two tables of partials.
// CHECK-LABEL: func.func @rope_tokens_grad_per_batch(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x1x4xbf16>, %[[C:[^:]*]]: tensor<2x?x2xf32>, %[[P:[^:]*]]: tensor<2x?xi32>, %[[S:[^:]*]]: tensor<2xf64>)
// CHECK:       %[[F:.*]]:3 = scf.forall (%[[B:[a-z0-9_]+]], %[[T0:[a-z0-9_]+]]) = (0, 0) to (2, %{{.*}}) step (1, 5) shared_outs(%{{.*}} = %[[X]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x?x1x4xbf16>, tensor<2x?x2xf64>, tensor<2x?x2xf64>)
// CHECK:         tensor.extract_slice %[[C]][%[[B]], %[[T0]], 0] [1, %{{.*}}, 2] [1, 1, 1] : tensor<2x?x2xf32> to tensor<1x?x2xf32>
// CHECK:         tensor.extract_slice %[[P]][%[[B]], %[[T0]]] [1, %{{.*}}] [1, 1] : tensor<2x?xi32> to tensor<1x?xi32>
// CHECK:         linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>,
// CHECK:           arith.negf %{{.*}} : f32
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:       linalg.reduce ins(%[[F]]#1 : tensor<2x?x2xf64>) outs(%[[S]] : tensor<2xf64>) dimensions = [0, 1]
// CHECK:       linalg.reduce ins(%[[F]]#2 : tensor<2x?x2xf64>) outs(%[[S]] : tensor<2xf64>) dimensions = [0, 1]
func.func @rope_tokens_grad_per_batch(%x: tensor<2x?x1x4xbf16>, %c: tensor<2x?x2xf32>, %p: tensor<2x?xi32>, %s: tensor<2xf64>) -> (tensor<2x?x1x4xbf16>, tensor<2xf64>, tensor<2xf64>) {
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<2x?x1x4xbf16>, tensor<2x?x2xf32>, tensor<2x?xi32>) outs(%x, %s, %s : tensor<2x?x1x4xbf16>, tensor<2xf64>) layout = half {inverse, rotary.tiles = {tokens = 5 : i64}} -> tensor<2x?x1x4xbf16>, tensor<2xf64>, tensor<2xf64>
  return %dx, %a, %b : tensor<2x?x1x4xbf16>, tensor<2xf64>, tensor<2xf64>
}

// -----

// Running products need their steps per block.
func.func @rotation_scan_no_block(%g: tensor<2x4x3x2x2xf32>, %c: tensor<2x3x2x2xf32>) -> tensor<2x4x3x2x2xf32> {
  // expected-error @+1 {{'rotary.rotation_scan' op needs its steps per block, 'rotary.tiles' = {block = K} with K > 0, chosen by a target's schedule (rotary-cpu-configure for the CPU) before rotary-tile-and-decompose}}
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x4x3x2x2xf32>) outs(%g, %c : tensor<2x4x3x2x2xf32>, tensor<2x3x2x2xf32>) -> tensor<2x4x3x2x2xf32>, tensor<2x3x2x2xf32>
  return %p : tensor<2x4x3x2x2xf32>
}

// -----

// 40 steps of 2 × 3 columns in blocks of 16, as a blocked scan: one task
// per (a, block, bm) runs its block's products from the identity (the last
// block is 8 steps) and keeps its total, computed in place in its slice of
// the totals, which start as identities; the exclusive scan of the
// ceil(40 / 16) = 3 totals from the op's carry runs per (a, bm), whose
// carry is the op's, and a batched product P_t = carry[t floordiv 16] ·
// local_t finishes. Decomposed whole: one sequential scan per column from
// its carry (no tasks, no second product).
// CHECK-LABEL: func.func @rotation_scan_blocks(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[P0:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[C0:[^:]*]]: tensor<2x3x2x2xf32>)
// CHECK:       %[[NB:.*]] = arith.ceildivui %c40{{.*}}, %c16{{.*}} : index
// CHECK:       %[[TOT0:.*]] = tensor.empty(%[[NB]]) : tensor<2x?x3x2x2xf32>
// CHECK:       %[[ID:.*]] = linalg.generic {{.*}} outs(%[[TOT0]] : tensor<2x?x3x2x2xf32>)
// CHECK:       %[[B:.*]]:2 = scf.forall (%[[A:[a-z0-9_]+]], %[[K:[a-z0-9_]+]], %[[BM:[a-z0-9_]+]]) in (2, %[[NB]], 3) shared_outs(%[[LA:[a-z0-9_]+]] = %{{.*}}, %[[TA:[a-z0-9_]+]] = %[[ID]]) -> (tensor<2x40x3x2x2xf32>, tensor<2x?x3x2x2xf32>)
// CHECK:         %[[S:.*]] = arith.muli %[[K]], %c16{{.*}} : index
// CHECK:         %[[E:.*]] = arith.addi %[[S]], %c16{{.*}} : index
// CHECK:         %[[EM:.*]] = arith.minui %[[E]], %c40{{.*}} : index
// CHECK:         %[[LEN:.*]] = arith.subi %[[EM]], %[[S]] : index
// CHECK:         %[[LS:.*]] = tensor.extract_slice %[[LA]][%[[A]], %[[S]], %[[BM]], 0, 0] [1, %[[LEN]], 1, 2, 2]
// CHECK:         %[[IS:.*]] = tensor.extract_slice %[[TA]][%[[A]], %[[K]], %[[BM]], 0, 0] [1, 1, 1, 2, 2]
// CHECK:         %[[GS:.*]] = tensor.extract_slice %[[G]][%[[A]], %[[S]], %[[BM]], 0, 0] [1, %[[LEN]], 1, 2, 2]
// CHECK:         %[[BS:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %[[LS]], %{{.*}} = %[[IS]])
// CHECK:           scf.for %{{.*}} = %{{.*}} to %[[LEN]] step %{{.*}} iter_args(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32)
// CHECK:             tensor.extract %[[GS]]
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BS]]#0 into %[[LA]][%[[A]], %[[S]], %[[BM]], 0, 0] [1, %[[LEN]], 1, 2, 2]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[BS]]#1 into %[[TA]][%[[A]], %[[K]], %[[BM]], 0, 0] [1, 1, 1, 2, 2]
// CHECK:       %[[CI:.*]]:2 = scf.forall (%[[A2:[a-z0-9_]+]], %[[BM2:[a-z0-9_]+]]) in (2, 3) shared_outs(%{{.*}} = %{{.*}}, %[[CA:[a-z0-9_]+]] = %[[C0]]) -> (tensor<2x?x3x2x2xf32>, tensor<2x3x2x2xf32>)
// CHECK:         tensor.extract_slice %[[B]]#1[%[[A2]], 0, %[[BM2]], 0, 0]
// CHECK:         tensor.extract_slice %[[CA]][%[[A2]], %[[BM2]], 0, 0] [1, 1, 2, 2]
// The exclusive scan stores the carry before multiplying by the total.
// CHECK:           scf.for {{.*}} -> (tensor<1x?x1x2x2xf32>, f32, f32, f32, f32)
// CHECK-NOT:         arith.mulf
// CHECK-COUNT-4:     tensor.insert
// CHECK:             arith.mulf
// CHECK:       %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[P0]] : tensor<2x40x3x2x2xf32>)
// CHECK:       %[[P:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 16, d2, d3, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5, d4)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[CI]]#0, %[[B]]#0 : tensor<2x?x3x2x2xf32>, tensor<2x40x3x2x2xf32>) outs(%[[Z]] : tensor<2x40x3x2x2xf32>)
// CHECK:       return %[[P]], %[[CI]]#1
// WHOLE-LABEL: func.func @rotation_scan_blocks(
// WHOLE-SAME:    %[[G:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[P0:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[C0:[^:]*]]: tensor<2x3x2x2xf32>)
// WHOLE-NOT:     scf.forall
// WHOLE:         %[[R:.*]]:2 = scf.for %[[A:[a-z0-9_]+]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args(%{{.*}} = %[[P0]], %{{.*}} = %[[C0]])
// WHOLE:           scf.for %[[BM:[a-z0-9_]+]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%{{.*}}, %[[CC:[a-z0-9_]+]] = %{{.*}})
// WHOLE:             tensor.extract %[[CC]][%[[A]], %[[BM]], %c0{{.*}}, %c0{{.*}}]
// WHOLE:             scf.for %[[T:[a-z0-9_]+]] = %c0{{.*}} to %c40{{.*}} step %c1{{.*}} iter_args({{.*}}) -> (tensor<2x40x3x2x2xf32>, f32, f32, f32, f32)
// WHOLE:               tensor.extract %[[G]][%[[A]], %[[T]], %[[BM]], %c0{{.*}}, %c0{{.*}}]
// WHOLE-NOT:     linalg.generic
// WHOLE:         return %[[R]]#0, %[[R]]#1
func.func @rotation_scan_blocks(%g: tensor<2x40x3x2x2xf32>, %p0: tensor<2x40x3x2x2xf32>, %c0: tensor<2x3x2x2xf32>) -> (tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {
  %p, %c = rotary.rotation_scan ins(%g : tensor<2x40x3x2x2xf32>) outs(%p0, %c0 : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {rotary.tiles = {block = 16 : i64}} -> tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
  return %p, %c : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
}
