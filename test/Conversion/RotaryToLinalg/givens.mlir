// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file | FileCheck %s --check-prefix=BODY

// rotary.givens lowering (lib/Conversion/RotaryToLinalg/LowerChains.cpp):
// x viewed as [M, H, D]; cos/sin of every angle ([H, N]) and the pair table
// ([N, 2]) are built once per call, before the row loop; one scf.forall task
// per (tile of 64 rows, head) transposes (and widens) its rows into a
// column-major f32 tile [D, 64], runs the N rotations in an scf.for (each
// reads, rotates and writes two features as vector<64xf32>), and transposes
// (and narrows) the tile back.

// Explicit pairs, per-head [H, N] angles, bf16 data.
// BODY-LABEL: func.func @givens_pairs_per_head_bf16(
// One widening per element, while transposing in; nothing in bf16 inside
// the chain; one narrowing per element, while transposing out.
// BODY:       scf.forall
// BODY:         arith.extf %{{.*}} : bf16 to f32
// BODY-NOT:     arith.extf
// BODY:         scf.for
// BODY-NOT:       bf16
// BODY:           scf.yield
// BODY-NOT:     arith.extf
// BODY:         arith.truncf %{{.*}} : f32 to bf16
// BODY-NOT:     arith.extf
// BODY:         scf.forall.in_parallel
// CHECK-LABEL: func.func @givens_pairs_per_head_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x16x8x4xbf16>, %[[ANG:[^:]*]]: tensor<8x2xf32>)
// CHECK-NOT:   rotary.givens
// Leading dims collapse into M = 64 rows; heads stay a dim.
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<4x16x8x4xbf16> into tensor<64x8x4xbf16>
// CHECK-DAG:   %[[N:.*]] = arith.constant 2 : index
// The pairs as a constant [N, 2] index table, in the order given.
// CHECK-DAG:   %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 1], [3, 2]]> : tensor<2x2xindex>
// cos/sin once per (head, angle), before the row loop.
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[ANG]] : tensor<8x2xf32>) outs(%{{.*}}, %{{.*}} : tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[C:.*]] = math.cos %[[PHI]] : f32
// CHECK-NEXT:    %[[S:.*]] = math.sin %[[PHI]] : f32
// CHECK-NEXT:    linalg.yield %[[C]], %[[S]] : f32, f32
// CHECK-DAG:   %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK:       %[[OUT:.*]] = tensor.empty() : tensor<64x8x4xbf16>
// CHECK:       %[[RES:.*]] = scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%[[C64]], %[[C8]]) step (64, 1) shared_outs(%[[SH:.*]] = %[[OUT]]) -> (tensor<64x8x4xbf16>) {
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 64)>()[%[[ROW]]]
// The column-major f32 tile [D, 64]: t[f, r] = x[row + min(r, rows - 1), head, f].
// CHECK-NEXT:    %[[EMPTY:.*]] = tensor.empty() : tensor<4x64xf32>
// CHECK-NEXT:    %[[TILE:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} outs(%[[EMPTY]] : tensor<4x64xf32>)
// CHECK:           %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT:      %[[F:.*]] = linalg.index 1 : index
// CHECK:           %[[LAST:.*]] = arith.subi %[[ROWS]], %{{.*}} : index
// CHECK-NEXT:      %[[RC:.*]] = arith.minui %[[R]], %[[LAST]] : index
// CHECK-NEXT:      %[[M:.*]] = arith.addi %[[ROW]], %[[RC]] : index
// CHECK-NEXT:      %[[E:.*]] = tensor.extract %[[X3]][%[[M]], %[[HEAD]], %[[F]]] : tensor<64x8x4xbf16>
// CHECK-NEXT:      %[[W:.*]] = arith.extf %[[E]] : bf16 to f32
// CHECK-NEXT:      linalg.yield %[[W]] : f32
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[CHAIN:.*]] = scf.for %[[K:.*]] = %[[C0]] to %[[N]] step %[[C1]] iter_args(%[[T:.*]] = %[[TILE]]) -> (tensor<4x64xf32>) {
// Rotation k: its pair from the table, cos/sin from the head's row.
// CHECK-NEXT:      %[[I:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C0]]] : tensor<2x2xindex>
// CHECK-NEXT:      %[[J:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C1]]] : tensor<2x2xindex>
// CHECK-NEXT:      %[[COS:.*]] = tensor.extract %[[TAB]]#0[%[[HEAD]], %[[K]]] : tensor<8x2xf32>
// CHECK-NEXT:      %[[SIN:.*]] = tensor.extract %[[TAB]]#1[%[[HEAD]], %[[K]]] : tensor<8x2xf32>
// CHECK-NOT:       math.cos
// CHECK-DAG:       %[[VC:.*]] = vector.broadcast %[[COS]] : f32 to vector<64xf32>
// CHECK-DAG:       %[[VS:.*]] = vector.broadcast %[[SIN]] : f32 to vector<64xf32>
// CHECK-DAG:       %[[NS:.*]] = arith.negf %[[SIN]] : f32
// CHECK-DAG:       %[[VNS:.*]] = vector.broadcast %[[NS]] : f32 to vector<64xf32>
// Features i and j of all 64 rows: contiguous vectors of the tile.
// CHECK:           %[[XI:.*]] = vector.transfer_read %[[T]][%[[I]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// CHECK:           %[[XJ:.*]] = vector.transfer_read %[[T]][%[[J]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// y_i = x_i·c + x_j·s; y_j = x_j·c − x_i·s.
// CHECK-NEXT:      %[[XIC:.*]] = arith.mulf %[[XI]], %[[VC]] : vector<64xf32>
// CHECK-NEXT:      %[[YI:.*]] = math.fma %[[XJ]], %[[VS]], %[[XIC]] : vector<64xf32>
// CHECK-NEXT:      %[[XJC:.*]] = arith.mulf %[[XJ]], %[[VC]] : vector<64xf32>
// CHECK-NEXT:      %[[YJ:.*]] = math.fma %[[XI]], %[[VNS]], %[[XJC]] : vector<64xf32>
// CHECK:           %[[T1:.*]] = vector.transfer_write %[[YI]], %[[T]][%[[I]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// CHECK:           %[[T2:.*]] = vector.transfer_write %[[YJ]], %[[T1]][%[[J]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// CHECK-NEXT:      scf.yield %[[T2]] : tensor<4x64xf32>
// CHECK-NEXT:    }
// The valid rows, narrowed while transposing back, stored into the slice
// (D = 4 is not a multiple of 16: scalar transposes only, no scf.if).
// CHECK-NOT:     scf.if
// CHECK-NEXT:    %[[VALID:.*]] = tensor.extract_slice %[[CHAIN]][0, 0] [4, %[[ROWS]]] [1, 1] : tensor<4x64xf32> to tensor<4x?xf32>
// CHECK-NEXT:    %[[YE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x4xbf16>
// CHECK-NEXT:    %[[NARROW:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[VALID]] : tensor<4x?xf32>) outs(%[[YE]] : tensor<?x4xbf16>)
// CHECK-NEXT:    ^bb0(%[[IN2:[^:]*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT:      %[[NW:.*]] = arith.truncf %[[IN2]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[NW]] : bf16
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[NARROW]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[ROWS]], 1, 4] [1, 1, 1] : tensor<?x4xbf16> into tensor<64x8x4xbf16>
// CHECK:       %[[Y:.*]] = tensor.expand_shape %[[RES]] {{\[}}[0, 1], [2], [3]] output_shape [4, 16, 8, 4] : tensor<64x8x4xbf16> into tensor<4x16x8x4xbf16>
// CHECK-NEXT:  return %[[Y]]
func.func @givens_pairs_per_head_bf16(%x: tensor<4x16x8x4xbf16>, %a: tensor<8x2xf32>) -> tensor<4x16x8x4xbf16> {
  %0 = rotary.givens %x, %a pairs = [(0, 1), (3, 2)] : tensor<4x16x8x4xbf16>, tensor<8x2xf32>
  return %0 : tensor<4x16x8x4xbf16>
}

// -----

// Default round-robin schedule with a shared [N] chain over 130 rows: the
// rows split into tiles of 64 (the last one partial), H = 1. With D and N
// static the schedule is a constant table (no index arithmetic per
// rotation); f32 data is read straight into the tile (no extf/truncf).
// CHECK-LABEL: func.func @givens_default_schedule_tiles(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<130x6xf32>, %[[ANG:[^:]*]]: tensor<15xf32>)
// CHECK:       %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [130, 1, 6] : tensor<130x6xf32> into tensor<130x1x6xf32>
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, 15] : tensor<15xf32> into tensor<1x15xf32>
// Stage s lists (s, 5) first, then ((s+k) mod 5, (s−k) mod 5) ordered.
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 5], [1, 4], [2, 3], [1, 5], [0, 2], [3, 4], [2, 5], [1, 3], [0, 4], [3, 5], [2, 4], [0, 1], [4, 5], [0, 3], [1, 2]]> : tensor<15x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x15xf32>)
// CHECK-NOT:     arith.negf
// CHECK:       scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1)
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 130)>()[%[[ROW]]]
// CHECK-NEXT:    tensor.empty() : tensor<6x64xf32>
// CHECK-NOT:     arith.extf
// CHECK:         tensor.extract %[[X3]]
// CHECK-NOT:     arith.remui
// CHECK:         scf.for %[[K:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK-NEXT:      tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<15x2xindex>
// CHECK:           vector.transfer_read {{.*}} : tensor<6x64xf32>, vector<64xf32>
// CHECK:           scf.yield
// CHECK:         tensor.extract_slice %{{.*}}[0, 0] [6, %[[ROWS]]] [1, 1] : tensor<6x64xf32> to tensor<6x?xf32>
// CHECK-NOT:     arith.truncf
// CHECK:         tensor.parallel_insert_slice %{{.*}}[%[[ROW]], %[[HEAD]], 0] [%[[ROWS]], 1, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<130x1x6xf32>
// CHECK:       tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<130x1x6xf32> into tensor<130x6xf32>
func.func @givens_default_schedule_tiles(%x: tensor<130x6xf32>, %a: tensor<15xf32>) -> tensor<130x6xf32> {
  %0 = rotary.givens %x, %a : tensor<130x6xf32>, tensor<15xf32>
  return %0 : tensor<130x6xf32>
}

// -----

// inverse with dynamic M, D and N: the pair table is computed once per call
// from the round-robin formula (stage s = k / (D/2), t = k mod (D/2); t = 0:
// (s, D−1); else ((s+t) mod (D−1), (s−t) mod (D−1)) ordered), the cos/sin
// table holds the negated angles, and the loop walks k = N − 1 − step.
// CHECK-LABEL: func.func @givens_inverse_dynamic(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[ANG:[^:]*]]: tensor<?xf32>)
// CHECK:       %[[X3:.*]] = tensor.expand_shape %{{.*}} : tensor<?x?xf32> into tensor<?x1x?xf32>
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
// CHECK:       %[[N:.*]] = tensor.dim %[[A2]], %{{.*}} : tensor<1x?xf32>
// CHECK:       %[[PE:.*]] = tensor.empty(%[[N]]) : tensor<?x2xindex>
// CHECK:       %[[PAIRS:.*]] = linalg.generic {{.*}} outs(%[[PE]] : tensor<?x2xindex>)
// CHECK:         %[[KK:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[WHICH:.*]] = linalg.index 1 : index
// CHECK:         %[[PER:.*]] = arith.divui %[[D:[^,]*]], %{{.*}} : index
// CHECK-DAG:     %[[DM1:.*]] = arith.subi %[[D]], %{{.*}} : index
// CHECK-DAG:     %[[S:.*]] = arith.divui %[[KK]], %[[PER]] : index
// CHECK-DAG:     %[[TT:.*]] = arith.remui %[[KK]], %[[PER]] : index
// CHECK-DAG:     %[[SPT:.*]] = arith.addi %[[S]], %[[TT]] : index
// CHECK-DAG:     %[[AI:.*]] = arith.remui %[[SPT]], %[[DM1]] : index
// CHECK-DAG:     %[[SPM:.*]] = arith.addi %[[S]], %[[DM1]] : index
// CHECK-DAG:     %[[SMT:.*]] = arith.subi %[[SPM]], %[[TT]] : index
// CHECK-DAG:     %[[BI:.*]] = arith.remui %[[SMT]], %[[DM1]] : index
// CHECK-DAG:     %[[FIRST:.*]] = arith.cmpi eq, %[[TT]], %{{.*}} : index
// CHECK-DAG:     %[[LO:.*]] = arith.minui %[[AI]], %[[BI]] : index
// CHECK-DAG:     %[[HI:.*]] = arith.maxui %[[AI]], %[[BI]] : index
// CHECK-DAG:     %[[I:.*]] = arith.select %[[FIRST]], %[[S]], %[[LO]] : index
// CHECK-DAG:     %[[J:.*]] = arith.select %[[FIRST]], %[[DM1]], %[[HI]] : index
// CHECK-DAG:     %[[ISI:.*]] = arith.cmpi eq, %[[WHICH]], %{{.*}} : index
// CHECK:         %[[P:.*]] = arith.select %[[ISI]], %[[I]], %[[J]] : index
// CHECK-NEXT:    linalg.yield %[[P]] : index
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x?xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[NEG:.*]] = arith.negf %[[PHI]] : f32
// CHECK-NEXT:    math.cos %[[NEG]] : f32
// CHECK-NEXT:    math.sin %[[NEG]] : f32
// CHECK:       scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1)
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>
// CHECK-NEXT:    %[[INIT:.*]] = tensor.empty(%[[D]]) : tensor<?x64xf32>
// A full tile (64 rows) with D % 16 == 0 is transposed in 16 × 16 blocks in
// registers (16 contiguous row loads, shuffles, 16 contiguous stores);
// other tiles use the scalar loop.
// CHECK:         %[[FULL:.*]] = arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// CHECK:         %[[REM:.*]] = arith.remui %[[D]], %{{.*}} : index
// CHECK-NEXT:    %[[ALIGNED:.*]] = arith.cmpi eq, %[[REM]], %{{.*}} : index
// CHECK-NEXT:    %[[FAST:.*]] = arith.andi %[[FULL]], %[[ALIGNED]] : i1
// CHECK-NEXT:    %[[TILE:.*]] = scf.if %[[FAST]] -> (tensor<?x64xf32>) {
// CHECK:           scf.for %[[FB:.*]] = %{{.*}} to %[[D]] step %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<?x64xf32>) {
// CHECK:             vector.transfer_read %[[X3]][%{{.*}}, %[[HEAD]], %[[FB]]], %{{.*}} {in_bounds = [true]} : tensor<?x1x?xf32>, vector<16xf32>
// CHECK:             vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// CHECK:             vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] {in_bounds = [true]} : vector<16xf32>, tensor<?x64xf32>
// CHECK:         } else {
// CHECK:           linalg.generic {{.*}} outs(%[[INIT]] : tensor<?x64xf32>)
// CHECK:         }
// CHECK-NOT:     arith.remui
// CHECK:         scf.for %[[STEP:.*]] = %{{.*}} to %[[N]] step %[[C1:[^ ]*]] iter_args(%{{.*}} = %[[TILE]])
// CHECK-NEXT:      %[[LAST:.*]] = arith.subi %[[N]], %[[C1]] : index
// CHECK-NEXT:      %[[K:.*]] = arith.subi %[[LAST]], %[[STEP]] : index
// CHECK-NEXT:      tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<?x2xindex>
// CHECK-NEXT:      tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<?x2xindex>
// CHECK-NEXT:      tensor.extract %[[TAB]]#0[%[[HEAD]], %[[K]]] : tensor<1x?xf32>
// CHECK-NEXT:      tensor.extract %[[TAB]]#1[%[[HEAD]], %[[K]]] : tensor<1x?xf32>
// CHECK-NOT:       arith.remui
// CHECK:           scf.yield
// The store side has the same two paths, back into x's row layout.
// CHECK:         scf.if %{{.*}} -> (tensor<?x?xf32>) {
// CHECK:           vector.transfer_read %{{.*}} : tensor<?x64xf32>, vector<16xf32>
// CHECK:           vector.transfer_write %{{.*}} : vector<16xf32>, tensor<?x?xf32>
// CHECK:         } else {
// CHECK:           tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, %[[ROWS]]] [1, 1] : tensor<?x64xf32> to tensor<?x?xf32>
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[ROW]], %[[HEAD]], 0]
func.func @givens_inverse_dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a {inverse} : tensor<?x?xf32>, tensor<?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A 1-D x is one row: a unit row dim is added and removed again; the tile is
// still 64 wide (the row repeated), so the vector code has no remainder.
// CHECK-LABEL: func.func @givens_single_row(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>
// CHECK:       tensor.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [1, 4] : tensor<4xf32> into tensor<1x4xf32>
// CHECK:       arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK:       linalg.generic
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32
// CHECK-NEXT:    math.cos %[[PHI]] : f32
// CHECK:       scf.forall
// CHECK:         affine.min affine_map<()[s0] -> (64, -s0 + 1)>
// CHECK:         tensor.empty() : tensor<4x64xf32>
// CHECK:         vector.transfer_read {{.*}} : tensor<4x64xf32>, vector<64xf32>
// CHECK:       %[[Y:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<1x4xf32> into tensor<4xf32>
// CHECK-NEXT:  return %[[Y]] : tensor<4xf32>
func.func @givens_single_row(%x: tensor<4xf32>, %a: tensor<2xf32>) -> tensor<4xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 3), (1, 2)] : tensor<4xf32>, tensor<2xf32>
  return %0 : tensor<4xf32>
}
