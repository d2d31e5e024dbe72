// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not='rotary.givens '
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=BODY --implicit-check-not=rotary.givens
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -canonicalize -cse -rotary-cpu-configure=vector-bits=256 -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=V256 --implicit-check-not='vector<64xf32>'
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -canonicalize -cse -rotary-cpu-configure=chain-rows=16 -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=ROWS16 --implicit-check-not='vector<64xf32>'

// rotary.givens with chain-strategy=chain lowers to one rotary.givens_rows
// on x viewed as [M, H, D], fed cos/sin ([H, N], negated angles and
// `reverse` for inverse) and the [N, 2] pair table, all built once per call
// (CHECK). After rotary-cpu-configure and rotary-tile-and-decompose (BODY),
// each (64 rows, head) task widens its rows once into a column-major f32
// tile, runs the rotations on vector<64xf32> feature pairs and narrows once
// on store, with register block transposes only where D % 16 == 0; V256 and
// ROWS16 check that the row group follows vector-bits and chain-rows.

// Explicit pairs, per-head [H, N] angles, bf16 data.
// CHECK-LABEL: func.func @givens_pairs_per_head_bf16(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x16x8x4xbf16>, %[[ANG:[^:]*]]: tensor<8x2xf32>)
// Leading dims collapse into M = 64 rows; heads stay a dim; x stays bf16.
// CHECK:       %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<4x16x8x4xbf16> into tensor<64x8x4xbf16>
// The pairs as a constant [N, 2] index table, in the order given.
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 1], [3, 2]]> : tensor<2x2xindex>
// cos/sin once per (head, angle): [H, N] = [8, 2].
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[ANG]] : tensor<8x2xf32>) outs(%{{.*}}, %{{.*}} : tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[C:.*]] = math.cos %[[PHI]] : f32
// CHECK-NEXT:    %[[S:.*]] = math.sin %[[PHI]] : f32
// CHECK-NEXT:    linalg.yield %[[C]], %[[S]] : f32, f32
// Not inverse: no `reverse`, no attributes at all.
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<64x8x4xbf16>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<64x8x4xbf16>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<2x2xindex>) outs(%[[INIT]] : tensor<64x8x4xbf16>) -> tensor<64x8x4xbf16>
// CHECK-NEXT:  %[[Y:.*]] = tensor.expand_shape %[[Y3]] {{\[}}[0, 1], [2], [3]] output_shape [4, 16, 8, 4] : tensor<64x8x4xbf16> into tensor<4x16x8x4xbf16>
// CHECK-NEXT:  return %[[Y]]

// BODY-LABEL: func.func @givens_pairs_per_head_bf16(
// BODY-SAME:    %[[X:[^:]*]]: tensor<4x16x8x4xbf16>, %[[ANG:[^:]*]]: tensor<8x2xf32>)
// BODY-DAG:    %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 1], [3, 2]]> : tensor<2x2xindex>
// BODY-DAG:    %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<4x16x8x4xbf16> into tensor<64x8x4xbf16>
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[ANG]] : tensor<8x2xf32>)
// BODY:        %[[OUT:.*]] = tensor.empty() : tensor<64x8x4xbf16>
// Tasks (64 rows, head); a task slices its rows of x and of the result and
// its head's row of cos/sin.
// BODY-NEXT:   %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (64, 8) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %[[OUT]]) -> (tensor<64x8x4xbf16>) {
// BODY-NEXT:     %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[ROW]], %[[HEAD]], 0] [64, 1, 4] [1, 1, 1] : tensor<64x8x4xbf16> to tensor<64x1x4xbf16>
// BODY-NEXT:     %[[CT:.*]] = tensor.extract_slice %[[TAB]]#0[%[[HEAD]], 0] [1, 2] [1, 1] : tensor<8x2xf32> to tensor<1x2xf32>
// BODY-NEXT:     %[[ST:.*]] = tensor.extract_slice %[[TAB]]#1[%[[HEAD]], 0] [1, 2] [1, 1] : tensor<8x2xf32> to tensor<1x2xf32>
// BODY-NEXT:     %[[YT:.*]] = tensor.extract_slice %[[SH]][%[[ROW]], %[[HEAD]], 0] [64, 1, 4] [1, 1, 1] : tensor<64x8x4xbf16> to tensor<64x1x4xbf16>
// BODY-NOT:      {{arith.extf|scf.if|vector.shuffle}}
// The column-major f32 tile [D, 64]: t[f, r] = x[r0 + min(r, rows - 1), f],
// each element widened once.
// BODY:          %[[R0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// BODY-NEXT:     %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 64)>()[%[[R0]]]
// BODY-NEXT:     %[[EMPTY:.*]] = tensor.empty() : tensor<4x64xf32>
// BODY-NEXT:     %[[TILE:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} outs(%[[EMPTY]] : tensor<4x64xf32>) {
// BODY-NEXT:     ^bb0(%{{.*}}: f32):
// BODY-NEXT:       %[[R:.*]] = linalg.index 0 : index
// BODY-NEXT:       %[[F:.*]] = linalg.index 1 : index
// BODY-NEXT:       %[[ONE:.*]] = arith.constant 1 : index
// BODY-NEXT:       %[[LAST:.*]] = arith.subi %[[ROWS]], %[[ONE]] : index
// BODY-NEXT:       %[[RC:.*]] = arith.minui %[[R]], %[[LAST]] : index
// BODY-NEXT:       %[[M:.*]] = arith.addi %[[R0]], %[[RC]] : index
// BODY-NEXT:       %[[E:.*]] = tensor.extract %[[XT]][%[[M]], %{{.*}}, %[[F]]] : tensor<64x1x4xbf16>
// BODY-NEXT:       %[[W:.*]] = arith.extf %[[E]] : bf16 to f32
// BODY-NEXT:       linalg.yield %[[W]] : f32
// BODY-NEXT:     } -> tensor<4x64xf32>
// D = 4 is not a multiple of 16: no block transposes.
// BODY-NOT:      scf.if
// BODY-NOT:      vector.shuffle
// BODY:          %[[N:.*]] = arith.constant 2 : index
// The chain: rotation k reads features i and j of the 64 rows as two
// vectors, y_i = x_i·c + x_j·s, y_j = x_j·c − x_i·s, writes them back; all
// f32 (nothing bf16 inside the loop).
// BODY-NEXT:     %[[CHAIN:.*]] = scf.for %[[K:[a-z0-9_]+]] = %[[C0:[a-z0-9_]+]] to %[[N]] step %[[C1:[a-z0-9_]+]] iter_args(%[[T:[a-z0-9_]+]] = %[[TILE]]) -> (tensor<4x64xf32>) {
// BODY-NEXT:       %[[I:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C0]]] : tensor<2x2xindex>
// BODY-NEXT:       %[[J:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C1]]] : tensor<2x2xindex>
// BODY-NEXT:       %[[COS:.*]] = tensor.extract %[[CT]][%{{.*}}, %[[K]]] : tensor<1x2xf32>
// BODY-NEXT:       %[[SIN:.*]] = tensor.extract %[[ST]][%{{.*}}, %[[K]]] : tensor<1x2xf32>
// BODY-NEXT:       %[[VC:.*]] = vector.broadcast %[[COS]] : f32 to vector<64xf32>
// BODY-NEXT:       %[[VS:.*]] = vector.broadcast %[[SIN]] : f32 to vector<64xf32>
// BODY-NEXT:       %[[NS:.*]] = arith.negf %[[SIN]] : f32
// BODY-NEXT:       %[[VNS:.*]] = vector.broadcast %[[NS]] : f32 to vector<64xf32>
// BODY-NOT:        bf16
// BODY:            %[[XI:.*]] = vector.transfer_read %[[T]][%[[I]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY-NOT:        bf16
// BODY:            %[[XJ:.*]] = vector.transfer_read %[[T]][%[[J]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY-NEXT:       %[[XIC:.*]] = arith.mulf %[[XI]], %[[VC]] : vector<64xf32>
// BODY-NEXT:       %[[YI:.*]] = math.fma %[[XJ]], %[[VS]], %[[XIC]] : vector<64xf32>
// BODY-NEXT:       %[[XJC:.*]] = arith.mulf %[[XJ]], %[[VC]] : vector<64xf32>
// BODY-NEXT:       %[[YJ:.*]] = math.fma %[[XI]], %[[VNS]], %[[XJC]] : vector<64xf32>
// BODY-NOT:        bf16
// BODY:            %[[T1:.*]] = vector.transfer_write %[[YI]], %[[T]][%[[I]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// BODY-NOT:        bf16
// BODY:            %[[T2:.*]] = vector.transfer_write %[[YJ]], %[[T1]][%[[J]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// BODY-NEXT:       scf.yield %[[T2]] : tensor<4x64xf32>
// BODY-NEXT:     }
// The valid rows, narrowed once each while transposing back (scalar path
// only), inserted into the task's block, then into the result.
// BODY-NEXT:     %[[VALID:.*]] = tensor.extract_slice %[[CHAIN]][0, 0] [4, %[[ROWS]]] [1, 1] : tensor<4x64xf32> to tensor<4x?xf32>
// BODY-NEXT:     %[[YE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x4xbf16>
// BODY-NEXT:     %[[NARROW:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[VALID]] : tensor<4x?xf32>) outs(%[[YE]] : tensor<?x4xbf16>) {
// BODY-NEXT:     ^bb0(%[[IN:[^:]*]]: f32, %{{.*}}: bf16):
// BODY-NEXT:       %[[NW:.*]] = arith.truncf %[[IN]] : f32 to bf16
// BODY-NEXT:       linalg.yield %[[NW]] : bf16
// BODY-NEXT:     } -> tensor<?x4xbf16>
// BODY-NEXT:     %[[INS:.*]] = tensor.insert_slice %[[NARROW]] into %[[YT]][%[[R0]], %{{.*}}, 0] [%[[ROWS]], 1, 4] [1, 1, 1] : tensor<?x4xbf16> into tensor<64x1x4xbf16>
// BODY-NEXT:     scf.forall.in_parallel {
// BODY-NEXT:       tensor.parallel_insert_slice %[[INS]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [64, 1, 4] [1, 1, 1] : tensor<64x1x4xbf16> into tensor<64x8x4xbf16>
// BODY-NEXT:     }
// BODY-NEXT:   }
// BODY-NEXT:   %[[Y:.*]] = tensor.expand_shape %[[RES]] {{\[}}[0, 1], [2], [3]] output_shape [4, 16, 8, 4] : tensor<64x8x4xbf16> into tensor<4x16x8x4xbf16>
// BODY-NEXT:   return %[[Y]]

// 256-bit vectors: groups of 4 · 256 / 32 = 32 rows.
// V256-LABEL:  func.func @givens_pairs_per_head_bf16(
// V256:          scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (64, 8) step (32, 1)
// V256:            tensor.empty() : tensor<4x32xf32>
// V256:            scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<4x32xf32>) {
// V256-COUNT-2:      vector.transfer_read {{.*}} : tensor<4x32xf32>, vector<32xf32>
// V256-COUNT-2:      math.fma {{.*}} : vector<32xf32>
// V256-COUNT-2:      vector.transfer_write {{.*}} : vector<32xf32>, tensor<4x32xf32>
// V256-NEXT:         scf.yield

// chain-rows=16 overrides the default: groups of 16 rows.
// ROWS16-LABEL: func.func @givens_pairs_per_head_bf16(
// ROWS16:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (64, 8) step (16, 1)
// ROWS16:           tensor.empty() : tensor<4x16xf32>
// ROWS16:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<4x16xf32>) {
// ROWS16-COUNT-2:     vector.transfer_read {{.*}} : tensor<4x16xf32>, vector<16xf32>
// ROWS16-COUNT-2:     math.fma {{.*}} : vector<16xf32>
// ROWS16-COUNT-2:     vector.transfer_write {{.*}} : vector<16xf32>, tensor<4x16xf32>
// ROWS16-NEXT:        scf.yield
func.func @givens_pairs_per_head_bf16(%x: tensor<4x16x8x4xbf16>, %a: tensor<8x2xf32>) -> tensor<4x16x8x4xbf16> {
  %0 = rotary.givens %x, %a pairs = [(0, 1), (3, 2)] : tensor<4x16x8x4xbf16>, tensor<8x2xf32>
  return %0 : tensor<4x16x8x4xbf16>
}

// -----

// Default round-robin schedule with a shared [N] chain over 130 rows, H = 1.
// With D and N static the schedule is a constant table; the shared angles
// give a [1, N] table, read at row 0 by every task (not sliced per head);
// f32 data is read straight into the tile (no extf/truncf). The rows split
// into tiles of 64, the last one partial (2 rows).
// CHECK-LABEL: func.func @givens_default_schedule_tiles(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<130x6xf32>, %[[ANG:[^:]*]]: tensor<15xf32>)
// CHECK:       %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [130, 1, 6] : tensor<130x6xf32> into tensor<130x1x6xf32>
// CHECK-NEXT:  %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, 15] : tensor<15xf32> into tensor<1x15xf32>
// Stage s lists (s, 5) first, then ((s+k) mod 5, (s−k) mod 5) ordered.
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 5], [1, 4], [2, 3], [1, 5], [0, 2], [3, 4], [2, 5], [1, 3], [0, 4], [3, 5], [2, 4], [0, 1], [4, 5], [0, 3], [1, 2]]> : tensor<15x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x15xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x15xf32>, tensor<1x15xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    math.cos %[[PHI]] : f32
// CHECK-NEXT:    math.sin %[[PHI]] : f32
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<130x1x6xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<130x1x6xf32>, tensor<1x15xf32>, tensor<1x15xf32>, tensor<15x2xindex>) outs(%[[INIT]] : tensor<130x1x6xf32>) -> tensor<130x1x6xf32>{{$}}
// CHECK-NEXT:  %{{.*}} = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<130x1x6xf32> into tensor<130x6xf32>

// BODY-LABEL: func.func @givens_default_schedule_tiles(
// BODY-SAME:    %[[X:[^:]*]]: tensor<130x6xf32>, %[[ANG:[^:]*]]: tensor<15xf32>)
// BODY-DAG:    %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 5], {{.*}}, [1, 2]]> : tensor<15x2xindex>
// BODY-DAG:    %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [130, 1, 6] : tensor<130x6xf32> into tensor<130x1x6xf32>
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x15xf32>)
// BODY:        %[[OUT:.*]] = tensor.empty() : tensor<130x1x6xf32>
// BODY-NEXT:   %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (130, 1) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %[[OUT]]) -> (tensor<130x1x6xf32>) {
// BODY:          %[[NT:.*]] = affine.min affine_map<(d0) -> (-d0 + 130, 64)>(%[[ROW]])
// BODY-NEXT:     %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 6] [1, 1, 1] : tensor<130x1x6xf32> to tensor<?x1x6xf32>
// BODY-NEXT:     %[[YT:.*]] = tensor.extract_slice %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 6] [1, 1, 1] : tensor<130x1x6xf32> to tensor<?x1x6xf32>
// BODY-NOT:      tensor.extract_slice %[[TAB]]
// BODY:          %[[R0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// BODY-NEXT:     %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[NT]], %[[R0]]]
// BODY-NEXT:     %[[EMPTY:.*]] = tensor.empty() : tensor<6x64xf32>
// BODY-NEXT:     %[[TILE:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} outs(%[[EMPTY]] : tensor<6x64xf32>) {
// BODY:            %[[E:.*]] = tensor.extract %[[XT]][%{{.*}}, %{{.*}}, %{{.*}}] : tensor<?x1x6xf32>
// BODY-NEXT:       linalg.yield %[[E]] : f32
// BODY-NEXT:     } -> tensor<6x64xf32>
// BODY-NOT:      scf.if
// BODY:          %[[N:.*]] = arith.constant 15 : index
// BODY-NEXT:     %[[CHAIN:.*]] = scf.for %[[K:[a-z0-9_]+]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[T:[a-z0-9_]+]] = %[[TILE]]) -> (tensor<6x64xf32>) {
// BODY-NEXT:       %[[I:.*]] = tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<15x2xindex>
// BODY-NEXT:       %[[J:.*]] = tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<15x2xindex>
// BODY-NEXT:       %[[COS:.*]] = tensor.extract %[[TAB]]#0[%[[Z:[a-z0-9_]+]], %[[K]]] : tensor<1x15xf32>
// BODY-NEXT:       %[[SIN:.*]] = tensor.extract %[[TAB]]#1[%[[Z]], %[[K]]] : tensor<1x15xf32>
// BODY-NOT:        arith.remui
// BODY:            vector.transfer_read %[[T]][%[[I]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<6x64xf32>, vector<64xf32>
// BODY:            vector.transfer_read %[[T]][%[[J]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<6x64xf32>, vector<64xf32>
// BODY-COUNT-2:    math.fma {{.*}} : vector<64xf32>
// BODY-COUNT-2:    vector.transfer_write {{.*}} : vector<64xf32>, tensor<6x64xf32>
// BODY-NEXT:       scf.yield
// BODY-NEXT:     }
// BODY-NEXT:     %[[VALID:.*]] = tensor.extract_slice %[[CHAIN]][0, 0] [6, %[[ROWS]]] [1, 1] : tensor<6x64xf32> to tensor<6x?xf32>
// BODY-NEXT:     %[[YE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x6xf32>
// BODY-NEXT:     %[[BACK:.*]] = linalg.generic {{.*}} ins(%[[VALID]] : tensor<6x?xf32>) outs(%[[YE]] : tensor<?x6xf32>) {
// BODY-NEXT:     ^bb0(%[[IN:[^:]*]]: f32, %{{.*}}: f32):
// BODY-NEXT:       linalg.yield %[[IN]] : f32
// BODY-NEXT:     } -> tensor<?x6xf32>
// BODY-NEXT:     %[[INS:.*]] = tensor.insert_slice %[[BACK]] into %[[YT]][%[[R0]], %{{.*}}, 0] [%[[ROWS]], 1, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<?x1x6xf32>
// BODY-NEXT:     scf.forall.in_parallel {
// BODY-NEXT:       tensor.parallel_insert_slice %[[INS]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 6] [1, 1, 1] : tensor<?x1x6xf32> into tensor<130x1x6xf32>
// BODY:        %[[Y:.*]] = tensor.collapse_shape %[[RES]] {{\[}}[0], [1, 2]] : tensor<130x1x6xf32> into tensor<130x6xf32>
// BODY-NEXT:   return %[[Y]]

// V256-LABEL:  func.func @givens_default_schedule_tiles(
// V256:          scf.forall (%[[ROW:[a-z0-9_]+]], %{{.*}}) = (0, 0) to (130, 1) step (32, 1)
// V256:            affine.min affine_map<(d0) -> (-d0 + 130, 32)>(%[[ROW]])
// V256:            scf.for {{.*}} -> (tensor<6x32xf32>) {
// V256-COUNT-2:      math.fma {{.*}} : vector<32xf32>

// ROWS16-LABEL: func.func @givens_default_schedule_tiles(
// ROWS16:         scf.forall (%[[ROW:[a-z0-9_]+]], %{{.*}}) = (0, 0) to (130, 1) step (16, 1)
// ROWS16:           affine.min affine_map<(d0) -> (-d0 + 130, 16)>(%[[ROW]])
// ROWS16:           scf.for {{.*}} -> (tensor<6x16xf32>) {
// ROWS16-COUNT-2:     math.fma {{.*}} : vector<16xf32>
func.func @givens_default_schedule_tiles(%x: tensor<130x6xf32>, %a: tensor<15xf32>) -> tensor<130x6xf32> {
  %0 = rotary.givens %x, %a : tensor<130x6xf32>, tensor<15xf32>
  return %0 : tensor<130x6xf32>
}

// -----

// inverse with dynamic M, D and N: the pair table is computed once per call
// from the round-robin formula (stage s = k / (D/2), t = k mod (D/2); t = 0:
// (s, D−1); else ((s+t) mod (D−1), (s−t) mod (D−1)) ordered), the cos/sin
// table holds the negated angles, and givens_rows carries `reverse`: its
// chain loop walks k = N − 1 − step.
// CHECK-LABEL: func.func @givens_inverse_dynamic(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[ANG:[^:]*]]: tensor<?xf32>)
// CHECK:       %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 1, %{{.*}}] : tensor<?x?xf32> into tensor<?x1x?xf32>
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
// CHECK:       %[[D:.*]] = tensor.dim %[[X3]], %c2{{(_[0-9]+)?}} : tensor<?x1x?xf32>
// CHECK-NEXT:  %{{.*}} = arith.constant 1 : index
// CHECK-NEXT:  %[[N:.*]] = tensor.dim %[[A2]], %{{.*}} : tensor<1x?xf32>
// CHECK:       %[[NP:.*]] = tensor.dim %[[A2]], %{{.*}} : tensor<1x?xf32>
// CHECK-NEXT:  %[[PE:.*]] = tensor.empty(%[[NP]]) : tensor<?x2xindex>
// CHECK-NEXT:  %[[PAIRS:.*]] = linalg.generic {{.*}} outs(%[[PE]] : tensor<?x2xindex>)
// CHECK:         %[[KK:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[WHICH:.*]] = linalg.index 1 : index
// CHECK:         %[[PER:.*]] = arith.divui %[[D]], %{{.*}} : index
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
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x?xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x?xf32>, tensor<1x?xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[NEG:.*]] = arith.negf %[[PHI]] : f32
// CHECK-NEXT:    %[[C:.*]] = math.cos %[[NEG]] : f32
// CHECK-NEXT:    %[[SN:.*]] = math.sin %[[NEG]] : f32
// CHECK-NEXT:    linalg.yield %[[C]], %[[SN]] : f32, f32
// CHECK:       %[[INIT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x1x?xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<?x2xindex>) outs(%[[INIT]] : tensor<?x1x?xf32>) {reverse} -> tensor<?x1x?xf32>
// CHECK-NEXT:  %{{.*}} = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<?x1x?xf32> into tensor<?x?xf32>

// BODY-LABEL: func.func @givens_inverse_dynamic(
// BODY:        %[[X3:.*]] = tensor.expand_shape %{{.*}} : tensor<?x?xf32> into tensor<?x1x?xf32>
// BODY:        %[[PAIRS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xindex>)
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x?xf32>)
// BODY-NEXT:   ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// BODY-NEXT:     arith.negf %[[PHI]] : f32
// BODY:        %[[OUT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x1x?xf32>
// BODY:        %[[M:.*]] = tensor.dim %[[OUT]], %{{.*}} : tensor<?x1x?xf32>
// BODY:        %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (%[[M]], 1) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %[[OUT]]) -> (tensor<?x1x?xf32>) {
// BODY-NEXT:     %[[NT:.*]] = affine.min affine_map<(d0)[s0] -> (-d0 + s0, 64)>(%[[ROW]])[%[[M]]]
// BODY:          %[[D:.*]] = tensor.dim %[[X3]], %c2{{(_[0-9]+)?}} : tensor<?x1x?xf32>
// BODY-NEXT:     %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, %[[D]]] [1, 1, 1] : tensor<?x1x?xf32> to tensor<?x1x?xf32>
// BODY:          %[[YT:.*]] = tensor.extract_slice %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, %{{.*}}] [1, 1, 1] : tensor<?x1x?xf32> to tensor<?x1x?xf32>
// BODY:          %[[R0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// BODY-NEXT:     %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[NT]], %[[R0]]]
// BODY-NEXT:     %[[INIT:.*]] = tensor.empty(%[[D]]) : tensor<?x64xf32>
// A full group (64 rows) with D % 16 == 0 is transposed in 16 × 16 blocks in
// registers (16 contiguous row loads, 4 × 16 shuffles, 16 contiguous
// stores per block); other groups use the scalar loop.
// BODY:          %[[FULL:.*]] = arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// BODY:          %[[REM:.*]] = arith.remui %[[D]], %{{.*}} : index
// BODY-NEXT:     %[[ALIGNED:.*]] = arith.cmpi eq, %[[REM]], %{{.*}} : index
// BODY-NEXT:     %[[FAST:.*]] = arith.andi %[[FULL]], %[[ALIGNED]] : i1
// BODY-NEXT:     %[[TILE:.*]] = scf.if %[[FAST]] -> (tensor<?x64xf32>) {
// BODY:            scf.for %[[FB:[a-z0-9_]+]] = %{{.*}} to %[[D]] step %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<?x64xf32>) {
// BODY:              scf.for %[[RB:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?x64xf32>) {
// BODY-COUNT-16:       vector.transfer_read %[[XT]][%{{.*}}, %{{.*}}, %[[FB]]], %{{.*}} {in_bounds = [true]} : tensor<?x1x?xf32>, vector<16xf32>
// BODY-NEXT:           vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// BODY-COUNT-63:       vector.shuffle
// BODY-COUNT-16:       vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %[[RB]]] {in_bounds = [true]} : vector<16xf32>, tensor<?x64xf32>
// BODY-NEXT:           scf.yield
// BODY:          } else {
// BODY-NEXT:       linalg.generic {{.*}} outs(%[[INIT]] : tensor<?x64xf32>)
// BODY:              tensor.extract %[[XT]]
// BODY-NOT:      arith.remui
// BODY:          %[[N:.*]] = tensor.dim %[[TAB]]#0, %{{.*}} : tensor<1x?xf32>
// BODY-NEXT:     %[[CHAIN:.*]] = scf.for %[[STEP:[a-z0-9_]+]] = %{{.*}} to %[[N]] step %[[C1:[a-z0-9_]+]] iter_args(%{{.*}} = %[[TILE]]) -> (tensor<?x64xf32>) {
// BODY-NEXT:       %[[LAST:.*]] = arith.subi %[[N]], %[[C1]] : index
// BODY-NEXT:       %[[K:.*]] = arith.subi %[[LAST]], %[[STEP]] : index
// BODY-NEXT:       tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<?x2xindex>
// BODY-NEXT:       tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<?x2xindex>
// BODY-NEXT:       tensor.extract %[[TAB]]#0[%{{.*}}, %[[K]]] : tensor<1x?xf32>
// BODY-NEXT:       tensor.extract %[[TAB]]#1[%{{.*}}, %[[K]]] : tensor<1x?xf32>
// BODY-NOT:        arith.remui
// BODY-COUNT-2:    math.fma {{.*}} : vector<64xf32>
// The store side has the same two paths, back into x's row layout.
// BODY:          %[[FULL2:.*]] = arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// BODY:          %[[REM2:.*]] = arith.remui %[[D]], %{{.*}} : index
// BODY-NEXT:     %[[ALIGNED2:.*]] = arith.cmpi eq, %[[REM2]], %{{.*}} : index
// BODY-NEXT:     %[[FAST2:.*]] = arith.andi %[[FULL2]], %[[ALIGNED2]] : i1
// BODY-NEXT:     %[[BACK:.*]] = scf.if %[[FAST2]] -> (tensor<?x?xf32>) {
// BODY-NEXT:       %[[YE:.*]] = tensor.empty(%[[ROWS]], %[[D]]) : tensor<?x?xf32>
// BODY:            scf.for %[[FB2:[a-z0-9_]+]] = %{{.*}} to %[[D]] step %{{.*}} iter_args(%{{.*}} = %[[YE]]) -> (tensor<?x?xf32>) {
// BODY:              scf.for %[[RB2:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?x?xf32>) {
// BODY-COUNT-16:       vector.transfer_read %[[CHAIN]][%{{.*}}, %[[RB2]]], %{{.*}} {in_bounds = [true]} : tensor<?x64xf32>, vector<16xf32>
// BODY-COUNT-64:       vector.shuffle
// BODY-COUNT-16:       vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %[[FB2]]] {in_bounds = [true]} : vector<16xf32>, tensor<?x?xf32>
// BODY:          } else {
// BODY-NEXT:       %[[VALID:.*]] = tensor.extract_slice %[[CHAIN]][0, 0] [%[[D]], %[[ROWS]]] [1, 1] : tensor<?x64xf32> to tensor<?x?xf32>
// BODY-NEXT:       %[[YE2:.*]] = tensor.empty(%[[ROWS]], %[[D]]) : tensor<?x?xf32>
// BODY-NEXT:       linalg.generic {{.*}} ins(%[[VALID]] : tensor<?x?xf32>) outs(%[[YE2]] : tensor<?x?xf32>)
// f32 data: no conversion either way.
// BODY-NOT:        arith.truncf
// BODY:          %[[INS:.*]] = tensor.insert_slice %[[BACK]] into %[[YT]][%[[R0]], %{{.*}}, 0] [%[[ROWS]], 1, %[[D]]] [1, 1, 1] : tensor<?x?xf32> into tensor<?x1x?xf32>
// BODY:          tensor.parallel_insert_slice %[[INS]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, %{{.*}}] [1, 1, 1] : tensor<?x1x?xf32> into tensor<?x1x?xf32>
// BODY:        tensor.collapse_shape %[[RES]] {{\[}}[0], [1, 2]] : tensor<?x1x?xf32> into tensor<?x?xf32>
func.func @givens_inverse_dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a {inverse} : tensor<?x?xf32>, tensor<?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A 1-D x is one row: unit row and head dims are added and removed again;
// the group is still 64 wide (the row repeated: min(r, rows − 1)), so the
// vector code has no remainder.
// CHECK-LABEL: func.func @givens_single_row(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>, %[[ANG:[^:]*]]: tensor<2xf32>)
// CHECK:       %[[X2:.*]] = tensor.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [1, 4] : tensor<4xf32> into tensor<1x4xf32>
// CHECK-NEXT:  %[[X3:.*]] = tensor.expand_shape %[[X2]] {{\[}}[0], [1, 2]] output_shape [1, 1, 4] : tensor<1x4xf32> into tensor<1x1x4xf32>
// CHECK-NEXT:  %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, 2] : tensor<2xf32> into tensor<1x2xf32>
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x2xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32
// CHECK-NEXT:    math.cos %[[PHI]] : f32
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<1x1x4xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<1x1x4xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<2x2xindex>) outs(%[[INIT]] : tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
// CHECK-NEXT:  %[[Y2:.*]] = tensor.collapse_shape %[[Y3]] {{\[}}[0], [1, 2]] : tensor<1x1x4xf32> into tensor<1x4xf32>
// CHECK-NEXT:  %[[Y:.*]] = tensor.collapse_shape %[[Y2]] {{\[}}[0, 1]] : tensor<1x4xf32> into tensor<4xf32>
// CHECK-NEXT:  return %[[Y]] : tensor<4xf32>

// BODY-LABEL: func.func @givens_single_row(
// BODY-SAME:    %[[X:[^:]*]]: tensor<4xf32>
// BODY:        %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0, 1, 2]] output_shape [1, 1, 4] : tensor<4xf32> into tensor<1x1x4xf32>
// BODY:        %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %{{.*}}) = (0, 0) to (1, 1) step (64, 1)
// BODY:          %[[NT:.*]] = affine.min affine_map<(d0) -> (-d0 + 1, 64)>(%[[ROW]])
// BODY-NEXT:     %[[XT:.*]] = tensor.extract_slice %[[X3]][%[[ROW]], %{{.*}}, 0] [%[[NT]], 1, 4] [1, 1, 1] : tensor<1x1x4xf32> to tensor<?x1x4xf32>
// BODY:          %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[NT]], %{{.*}}]
// BODY-NEXT:     tensor.empty() : tensor<4x64xf32>
// BODY-NEXT:     %[[TILE:.*]] = linalg.generic
// BODY:            %[[LAST:.*]] = arith.subi %[[ROWS]], %{{.*}} : index
// BODY-NEXT:       arith.minui %{{.*}}, %[[LAST]] : index
// BODY:            tensor.extract %[[XT]]
// BODY:          scf.for %{{.*}} iter_args(%{{.*}} = %[[TILE]]) -> (tensor<4x64xf32>) {
// BODY-COUNT-2:    vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY:          tensor.extract_slice %{{.*}}[0, 0] [4, %[[ROWS]]] [1, 1] : tensor<4x64xf32> to tensor<4x?xf32>
// BODY:        %[[Y:.*]] = tensor.collapse_shape %[[RES]] {{\[}}[0, 1, 2]] : tensor<1x1x4xf32> into tensor<4xf32>
// BODY-NEXT:   return %[[Y]] : tensor<4xf32>
func.func @givens_single_row(%x: tensor<4xf32>, %a: tensor<2xf32>) -> tensor<4xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 3), (1, 2)] : tensor<4xf32>, tensor<2xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tiles written on the rotary op (for experiments) are carried over to the
// structured op, where rotary-cpu-configure keeps them (ROWS16 too).
// CHECK-LABEL: func.func @givens_recorded_rows(
// CHECK:       rotary.givens_rows {{.*}} {rotary.tiles = {rows = 24 : i64}}
// ROWS16-LABEL: func.func @givens_recorded_rows(
// ROWS16:       vector<24xf32>
// ROWS16-NOT:   vector<16xf32>
// ROWS16:       return
func.func @givens_recorded_rows(%x: tensor<?x64xf32>, %a: tensor<100xf32>) -> tensor<?x64xf32> {
  %y = rotary.givens %x, %a {rotary.tiles = {rows = 24 : i64}} : tensor<?x64xf32>, tensor<100xf32>
  return %y : tensor<?x64xf32>
}
