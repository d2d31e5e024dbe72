// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --implicit-check-not=rotary.rotation_block --implicit-check-not=rotary.rope
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -canonicalize -cse -rotary-cpu-configure -rotary-tile-and-decompose -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope --check-prefix=BODY --implicit-check-not=rotary.
// RUN: rotary-opt %s -convert-rotary-to-linalg=chain-strategy=chain -canonicalize -cse -rotary-cpu-configure=vector-bits=256 -rotary-tile-and-decompose -split-input-file | FileCheck %s --enable-var-scope --check-prefix=V256 --implicit-check-not='vector<64xf32>'

// rotary.rotation_block (what rotary-fuse-rotations leaves unfolded) with
// chain-strategy=chain lowers to [rotary.rope's own lowering, in f32,] then
// one rotary.givens_rows with R as its `matrix`, fed the chain's cos/sin and
// pair tables (CHECK). After rotary-tile-and-decompose (BODY), each
// (64 rows, head) task runs the chain on vector<64xf32> feature pairs of its
// f32 tile, then x·R with one vector accumulator per output feature, so x is
// read once and y written once.

// Without rope, per-head angles and per-head bf16 R on bf16 data.
// CHECK-LABEL: func.func @rotation_block_plain(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8x4xbf16>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<8x4x4xbf16>)
// No rope: no f64 angle table, no pass over x before the row kernel.
// CHECK-NEXT:  %[[X3:.*]] = tensor.collapse_shape %[[X]] {{.*}} into tensor<4x8x4xbf16>
// CHECK-NOT:   f64
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK-NOT:   f64
// Per-head angles: cos/sin [H, N] = [8, 2].
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<8x2xf32>) outs(%{{.*}}, %{{.*}} : tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK-NEXT:  ^bb0(%[[PHI:[^:]*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[C:.*]] = math.cos %[[PHI]] : f32
// CHECK-NEXT:    %[[S:.*]] = math.sin %[[PHI]] : f32
// CHECK-NEXT:    linalg.yield %[[C]], %[[S]] : f32, f32
// CHECK-NOT:   {{linalg.generic|f64}}
// The chain and x·R in one op: x (bf16) read once, R as its matrix, y
// written once in bf16; no `reverse`.
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<4x8x4xbf16>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[X3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<2x2xindex>) matrix(%[[R]] : tensor<8x4x4xbf16>) outs(%[[INIT]] : tensor<4x8x4xbf16>) -> tensor<4x8x4xbf16>
// CHECK-NEXT:  %[[Y:.*]] = tensor.expand_shape %[[Y3]] {{.*}} : tensor<4x8x4xbf16> into tensor<4x8x4xbf16>
// CHECK-NEXT:  return %[[Y]]

// BODY-LABEL: func.func @rotation_block_plain(
// BODY-SAME:    %[[X:[^:]*]]: tensor<4x8x4xbf16>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<8x4x4xbf16>)
// BODY:        %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<8x2xf32>)
// BODY:        %[[OUT:.*]] = tensor.empty() : tensor<4x8x4xbf16>
// A task slices its rows of x and y, and its head's cos/sin row and R.
// BODY-NEXT:   %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (4, 8) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %[[OUT]]) -> (tensor<4x8x4xbf16>) {
// BODY:          %[[NT:.*]] = affine.min affine_map<(d0) -> (-d0 + 4, 64)>(%[[ROW]])
// BODY-NEXT:     %[[XT:.*]] = tensor.extract_slice %[[X]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 4] [1, 1, 1] : tensor<4x8x4xbf16> to tensor<?x1x4xbf16>
// BODY-NEXT:     %[[CT:.*]] = tensor.extract_slice %[[TAB]]#0[%[[HEAD]], 0] [1, 2] [1, 1] : tensor<8x2xf32> to tensor<1x2xf32>
// BODY-NEXT:     %[[ST:.*]] = tensor.extract_slice %[[TAB]]#1[%[[HEAD]], 0] [1, 2] [1, 1] : tensor<8x2xf32> to tensor<1x2xf32>
// BODY-NEXT:     %[[RT:.*]] = tensor.extract_slice %[[R]][%[[HEAD]], 0, 0] [1, 4, 4] [1, 1, 1] : tensor<8x4x4xbf16> to tensor<1x4x4xbf16>
// BODY-NEXT:     %[[YT:.*]] = tensor.extract_slice %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 4] [1, 1, 1] : tensor<4x8x4xbf16> to tensor<?x1x4xbf16>
// BODY-NOT:      {{arith.extf|scf.if|vector.shuffle}}
// BODY:          %[[R0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// BODY-NEXT:     %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>()[%[[NT]], %[[R0]]]
// Load: D = 4, scalar transposes only; each element widened once.
// BODY-NEXT:     %[[EMPTY:.*]] = tensor.empty() : tensor<4x64xf32>
// BODY-NEXT:     %[[T0:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} outs(%[[EMPTY]] : tensor<4x64xf32>) {
// BODY-NOT:          arith.extf
// BODY:            %[[E:.*]] = tensor.extract %[[XT]][%{{.*}}, %{{.*}}, %{{.*}}] : tensor<?x1x4xbf16>
// BODY-NEXT:       %[[EW:.*]] = arith.extf %[[E]] : bf16 to f32
// BODY-NEXT:       linalg.yield %[[EW]] : f32
// BODY-NEXT:     } -> tensor<4x64xf32>
// BODY-NOT:      scf.if
// BODY-NOT:      vector.shuffle
// The chain, with the head's angles, in f32.
// BODY:          %[[T1:.*]] = scf.for %[[K:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[T:[a-z0-9_]+]] = %[[T0]]) -> (tensor<4x64xf32>) {
// BODY-NEXT:       %[[I:.*]] = tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<2x2xindex>
// BODY-NEXT:       %[[J:.*]] = tensor.extract %[[PAIRS]][%[[K]], %{{.*}}] : tensor<2x2xindex>
// BODY-NEXT:       tensor.extract %[[CT]][%{{.*}}, %[[K]]] : tensor<1x2xf32>
// BODY-NEXT:       tensor.extract %[[ST]][%{{.*}}, %[[K]]] : tensor<1x2xf32>
// BODY-NOT:        bf16
// BODY:            vector.transfer_read %[[T]][%[[I]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY-NOT:        bf16
// BODY:            vector.transfer_read %[[T]][%[[J]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY-NEXT:       arith.mulf {{.*}} : vector<64xf32>
// BODY-NEXT:       math.fma {{.*}} : vector<64xf32>
// BODY-NEXT:       arith.mulf {{.*}} : vector<64xf32>
// BODY-NEXT:       math.fma {{.*}} : vector<64xf32>
// BODY-NOT:        bf16
// BODY:            vector.transfer_write %{{.*}}, %[[T]][%[[I]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// BODY-NOT:        bf16
// BODY:            vector.transfer_write %{{.*}}, %{{.*}}[%[[J]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// BODY-NEXT:       scf.yield
// x·R into a second tile: per output feature e, a vector accumulator summed
// over f of t[f, :]·R[head, f, e] (R widened per element read).
// BODY:          %[[YE:.*]] = tensor.empty() : tensor<4x64xf32>
// BODY-NEXT:     %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<64xf32>
// BODY-NEXT:     %[[T2:.*]] = scf.for %[[EI:[a-z0-9_]+]] = %[[LB:[a-z0-9_]+]] to %[[D:[a-z0-9_]+]] step %[[ST1:[a-z0-9_]+]] iter_args(%[[YI:[a-z0-9_]+]] = %[[YE]]) -> (tensor<4x64xf32>) {
// BODY-NEXT:       %[[ACC:.*]] = scf.for %[[F:[a-z0-9_]+]] = %[[LB]] to %[[D]] step %[[ST1]] iter_args(%[[AC:[a-z0-9_]+]] = %[[ZERO]]) -> (vector<64xf32>) {
// BODY-NEXT:         %[[RFE:.*]] = tensor.extract %[[RT]][%{{.*}}, %[[F]], %[[EI]]] : tensor<1x4x4xbf16>
// BODY-NEXT:         %[[RW:.*]] = arith.extf %[[RFE]] : bf16 to f32
// BODY-NEXT:         %[[RB:.*]] = vector.broadcast %[[RW]] : f32 to vector<64xf32>
// BODY:              %[[TF:.*]] = vector.transfer_read %[[T1]][%[[F]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<4x64xf32>, vector<64xf32>
// BODY-NEXT:         %[[NEXT:.*]] = math.fma %[[TF]], %[[RB]], %[[AC]] : vector<64xf32>
// BODY-NEXT:         scf.yield %[[NEXT]] : vector<64xf32>
// BODY-NEXT:       }
// BODY:            %[[W:.*]] = vector.transfer_write %[[ACC]], %[[YI]][%[[EI]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, tensor<4x64xf32>
// BODY-NEXT:       scf.yield %[[W]] : tensor<4x64xf32>
// BODY-NEXT:     }
// Narrowed once while transposing back: the task's rows of y.
// BODY-NEXT:     %[[VALID:.*]] = tensor.extract_slice %[[T2]][0, 0] [4, %[[ROWS]]] [1, 1] : tensor<4x64xf32> to tensor<4x?xf32>
// BODY-NEXT:     %[[NE:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x4xbf16>
// BODY-NEXT:     %[[NARROW:.*]] = linalg.generic {{.*}} ins(%[[VALID]] : tensor<4x?xf32>) outs(%[[NE]] : tensor<?x4xbf16>) {
// BODY-NEXT:     ^bb0(%[[IN:[^:]*]]: f32, %{{.*}}: bf16):
// BODY-NEXT:       %[[NW:.*]] = arith.truncf %[[IN]] : f32 to bf16
// BODY-NEXT:       linalg.yield %[[NW]] : bf16
// BODY-NEXT:     } -> tensor<?x4xbf16>
// BODY-NEXT:     %[[INS:.*]] = tensor.insert_slice %[[NARROW]] into %[[YT]][%[[R0]], %{{.*}}, 0] [%[[ROWS]], 1, 4] [1, 1, 1] : tensor<?x4xbf16> into tensor<?x1x4xbf16>
// BODY-NEXT:     scf.forall.in_parallel {
// BODY-NEXT:       tensor.parallel_insert_slice %[[INS]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%[[NT]], 1, 4] [1, 1, 1] : tensor<?x1x4xbf16> into tensor<4x8x4xbf16>
// BODY-NEXT:     }
// BODY-NEXT:   }
// BODY-NEXT:   return %[[RES]] : tensor<4x8x4xbf16>

// 256-bit vectors: the chain and the x·R accumulator on vector<32xf32>.
// V256-LABEL:  func.func @rotation_block_plain(
// V256:          scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 8) step (32, 1)
// V256:            scf.for {{.*}} -> (tensor<4x32xf32>) {
// V256-COUNT-2:      math.fma {{.*}} : vector<32xf32>
// V256:            arith.constant dense<0.000000e+00> : vector<32xf32>
// V256:            scf.for {{.*}} -> (tensor<4x32xf32>) {
// V256-NEXT:         scf.for {{.*}} -> (vector<32xf32>) {
func.func @rotation_block_plain(%x: tensor<4x8x4xbf16>, %a: tensor<8x2xf32>, %r: tensor<8x4x4xbf16>) -> tensor<4x8x4xbf16> {
  %0 = rotary.rotation_block %x, %a, %r pairs = [(0, 3), (1, 2)] : tensor<4x8x4xbf16>, tensor<8x2xf32>, tensor<8x4x4xbf16>
  return %0 : tensor<4x8x4xbf16>
}

// -----

// With rope: its layout, rotary_dim and base are kept (interleaved pairs
// (2i, 2i+1) of the first 32 of 64 features, base 100, features 32..63
// passed through), as rotary.rope lowered before the chain: its [T, 16]
// table from the [T] positions, read at (t, i) for every (b, h). The roped
// rows [B·T, H, D] feed one givens_rows with the shared [D, D] R.
// CHECK-LABEL: func.func @rotation_block_rope(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<1x?x8x64xf32>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[P:[^:]*]]: tensor<?xi64>)
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 1], [62, 63]]> : tensor<2x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<8x2xf32>) outs(%{{.*}}, %{{.*}} : tensor<8x2xf32>, tensor<8x2xf32>)
// The rope's base (100) and rotary_dim (32: 16 frequencies), its table once.
// CHECK:       %[[FREQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16xf64>)
// CHECK:         arith.constant 1.000000e+02 : f64
// CHECK:       %[[RT:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %[[FREQ]] : tensor<?xi64>, tensor<16xf64>) outs(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32>)
// Interleaved: the first 32 features as 16 pairs (2i, 2i+1); element e of
// pair i reads its partner 1 − e; cos/sin at (t, i).
// CHECK:       %[[XR:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, %{{.*}}, 8, 32] [1, 1, 1, 1] : tensor<1x?x8x64xf32> to tensor<1x?x8x32xf32>
// CHECK-NEXT:  %[[X5:.*]] = tensor.expand_shape %[[XR]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, %{{.*}}, 8, 16, 2] : tensor<1x?x8x32xf32> into tensor<1x?x8x16x2xf32>
// CHECK:       %[[ROPED:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, -d3 + 1)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>], {{.*}} ins(%[[X5]], %[[X5]], %[[RT]]#0, %[[RT]]#1 : tensor<1x?x8x16x2xf32>, tensor<1x?x8x16x2xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
// The first of a pair: x·c − partner·s; the second: x·c + partner·s.
// CHECK-NEXT:  ^bb0(%[[XS:[^:]*]]: f32, %[[XP:[^:]*]]: f32, %[[RC:[^:]*]]: f32, %[[RS:[^:]*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[EL:.*]] = linalg.index 3 : index
// CHECK-NEXT:    %[[ZI:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.cmpi eq, %[[EL]], %[[ZI]] : index
// CHECK-NEXT:    %[[NS:.*]] = arith.negf %[[RS]] : f32
// CHECK-NEXT:    %[[SS:.*]] = arith.select %[[FIRST]], %[[NS]], %[[RS]] : f32
// CHECK-NEXT:    %[[PS:.*]] = arith.mulf %[[XP]], %[[SS]] : f32
// CHECK-NEXT:    %[[XC:.*]] = arith.mulf %[[XS]], %[[RC]] : f32
// CHECK-NEXT:    %[[YV:.*]] = arith.addf %[[XC]], %[[PS]] : f32
// CHECK-NEXT:    linalg.yield %[[YV]] : f32
// CHECK:       %[[ROPED4:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0], [1], [2], [3, 4]] : tensor<1x?x8x16x2xf32> into tensor<1x?x8x32xf32>
// Features 32..63 pass through.
// CHECK:       %[[PASS:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 32] [1, %{{.*}}, 8, %{{.*}}] [1, 1, 1, 1] : tensor<1x?x8x64xf32> to tensor<1x?x8x?xf32>
// CHECK-NEXT:  %[[Y0:.*]] = tensor.insert_slice %[[PASS]] into %{{.*}}[0, 0, 0, 32] [1, %{{.*}}, 8, %{{.*}}] [1, 1, 1, 1] : tensor<1x?x8x?xf32> into tensor<1x?x8x64xf32>
// CHECK-NEXT:  %[[Y1:.*]] = tensor.insert_slice %[[ROPED4]] into %[[Y0]][0, 0, 0, 0] [1, %{{.*}}, 8, 32] [1, 1, 1, 1] : tensor<1x?x8x32xf32> into tensor<1x?x8x64xf32>
// CHECK-NEXT:  %[[XR3:.*]] = tensor.collapse_shape %[[Y1]] {{\[}}[0, 1], [2], [3]] : tensor<1x?x8x64xf32> into tensor<?x8x64xf32>
// The chain and x·R on the roped rows (f32, as the rope left them).
// CHECK:       %[[INIT:.*]] = tensor.empty(%{{.*}}) : tensor<?x8x64xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[XR3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<?x8x64xf32>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<2x2xindex>) matrix(%[[R]] : tensor<64x64xf32>) outs(%[[INIT]] : tensor<?x8x64xf32>) -> tensor<?x8x64xf32>
// CHECK:       %[[Y:.*]] = tensor.expand_shape %[[Y3]] {{\[}}[0, 1], [2], [3]] output_shape [1, %{{.*}}, 8, 64] : tensor<?x8x64xf32> into tensor<1x?x8x64xf32>
// CHECK-NEXT:  return %[[Y]]

// D = 64 is a multiple of 16: full groups are loaded and stored by block
// transposes (scf.if), others by the scalar loops.
// BODY-LABEL: func.func @rotation_block_rope(
// BODY-SAME:    %[[X:[^:]*]]: tensor<1x?x8x64xf32>, %[[A:[^:]*]]: tensor<8x2xf32>, %[[R:[^:]*]]: tensor<64x64xf32>, %[[P:[^:]*]]: tensor<?xi64>)
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A]] : tensor<8x2xf32>)
// The rope's lowering comes first, outside the row kernel.
// BODY:        %[[RT:.*]]:2 = linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<?xi64>, tensor<16xf64>)
// BODY:        %[[ROPED:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[RT]]#0, %[[RT]]#1 : {{.*}})
// BODY:        %[[XR3:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2], [3]] : tensor<1x?x8x64xf32> into tensor<?x8x64xf32>
// BODY-NOT:    scf.forall
// BODY:        %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (%{{.*}}, 8) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x8x64xf32>) {
// BODY:          %[[XT:.*]] = tensor.extract_slice %[[XR3]][%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 64] [1, 1, 1] : tensor<?x8x64xf32> to tensor<?x1x64xf32>
// BODY:          %[[ROWS:.*]] = affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>
// BODY-NEXT:     %[[INIT:.*]] = tensor.empty() : tensor<64x64xf32>
// D is static and a multiple of 16: the test is only whether the group is
// full (no run-time D % 16).
// BODY-NOT:      arith.remui
// BODY:          %[[FULL:.*]] = arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// BODY-NEXT:     %[[T0:.*]] = scf.if %[[FULL]] -> (tensor<64x64xf32>) {
// BODY:            scf.for %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<64x64xf32>) {
// BODY-COUNT-16:       vector.transfer_read %[[XT]][{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<?x1x64xf32>, vector<16xf32>
// BODY-COUNT-64:       vector.shuffle
// BODY-COUNT-16:       vector.transfer_write {{.*}} : vector<16xf32>, tensor<64x64xf32>
// BODY:          } else {
// BODY-NEXT:       linalg.generic {{.*}} outs(%[[INIT]] : tensor<64x64xf32>)
// The roped rows are f32 already: no conversion.
// BODY-NOT:          arith.extf
// BODY:              tensor.extract %[[XT]]
// BODY:          %[[T1:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[T0]]) -> (tensor<64x64xf32>) {
// BODY-COUNT-2:    math.fma {{.*}} : vector<64xf32>
// The shared R, read at [f, e].
// BODY:          %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<64xf32>
// BODY-NEXT:     %[[T2:.*]] = scf.for %[[EI:[a-z0-9_]+]] = {{.*}} -> (tensor<64x64xf32>) {
// BODY-NEXT:       scf.for %[[F:[a-z0-9_]+]] = {{.*}} iter_args(%{{.*}} = %[[ZERO]]) -> (vector<64xf32>) {
// BODY-NEXT:         tensor.extract %[[R]][%[[F]], %[[EI]]] : tensor<64x64xf32>
// BODY:              vector.transfer_read %[[T1]][%[[F]], %{{.*}}]
// BODY-NOT:      arith.remui
// BODY:          %[[FULL2:.*]] = arith.cmpi eq, %[[ROWS]], %{{.*}} : index
// BODY-NEXT:     %[[BACK:.*]] = scf.if %[[FULL2]] -> (tensor<?x64xf32>) {
// BODY:              vector.transfer_read %[[T2]]{{.*}} : tensor<64x64xf32>, vector<16xf32>
// BODY:          } else {
// BODY-NEXT:       tensor.extract_slice %[[T2]][0, 0] [64, %[[ROWS]]] [1, 1] : tensor<64x64xf32> to tensor<64x?xf32>
// BODY-NOT:      arith.truncf
// BODY:          %[[INS:.*]] = tensor.insert_slice %[[BACK]] into
// BODY:          tensor.parallel_insert_slice %[[INS]] into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 64] [1, 1, 1] : tensor<?x1x64xf32> into tensor<?x8x64xf32>
// BODY:        tensor.expand_shape %[[RES]] {{\[}}[0, 1], [2], [3]] output_shape [1, %{{.*}}, 8, 64] : tensor<?x8x64xf32> into tensor<1x?x8x64xf32>
func.func @rotation_block_rope(%x: tensor<1x?x8x64xf32>, %a: tensor<8x2xf32>, %r: tensor<64x64xf32>, %p: tensor<?xi64>) -> tensor<1x?x8x64xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<?xi64>) pairs = [(0, 1), (62, 63)] layout = interleaved {rotary_dim = 32 : i64, base = 100.0 : f32} : tensor<1x?x8x64xf32>, tensor<8x2xf32>, tensor<64x64xf32>
  return %0 : tensor<1x?x8x64xf32>
}

// -----

// rope without a layout is half (pair i = (i, i + r/2)); [B, T] positions
// give a [B, T, r/2] table read at (b, t, i); the default schedule over a
// static D = 8 is a constant table; shared [N] angles give a [1, N] table.
// CHECK-LABEL: func.func @rotation_block_rope_default_layout(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x4x1x8xf32>, %[[A:[^:]*]]: tensor<28xf32>, %[[R:[^:]*]]: tensor<8x8xf32>, %[[P:[^:]*]]: tensor<2x4xi64>)
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[A]] {{\[}}[0, 1]] output_shape [1, 28] : tensor<28xf32> into tensor<1x28xf32>
// CHECK:       %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 7], [1, 6], [2, 5], [3, 4], [1, 7]{{.*}}]> : tensor<28x2xindex>
// CHECK:       %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%[[A2]] : tensor<1x28xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x28xf32>, tensor<1x28xf32>)
// Default base 10000, r = D = 8: 4 frequencies.
// CHECK:       %[[FREQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf64>)
// CHECK:         arith.constant 1.000000e+04 : f64
// CHECK:       %[[RT:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d2)>, {{.*}} ins(%[[P]], %[[FREQ]] : tensor<2x4xi64>, tensor<4xf64>) outs(%{{.*}}, %{{.*}} : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// Half: x as [B, T, H, 2, r/2]; element e of pair i reads its partner 1 − e.
// CHECK:       %[[X5:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 4, 1, 2, 4] : tensor<2x4x1x8xf32> into tensor<2x4x1x2x4xf32>
// CHECK:       %[[ROPED:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], {{.*}} ins(%[[X5]], %[[X5]], %[[RT]]#0, %[[RT]]#1 : tensor<2x4x1x2x4xf32>, tensor<2x4x1x2x4xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>)
// rotary_dim = D: nothing passes through; the roped rows [B·T, H, D] go
// straight into the chain.
// CHECK:       %[[ROPED4:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0], [1], [2], [3, 4]] : tensor<2x4x1x2x4xf32> into tensor<2x4x1x8xf32>
// CHECK-NEXT:  %[[XR3:.*]] = tensor.collapse_shape %[[ROPED4]] {{\[}}[0, 1], [2], [3]] : tensor<2x4x1x8xf32> into tensor<8x1x8xf32>
// CHECK-NEXT:  %[[INIT:.*]] = tensor.empty() : tensor<8x1x8xf32>
// CHECK-NEXT:  %[[Y3:.*]] = rotary.givens_rows ins(%[[XR3]], %[[TAB]]#0, %[[TAB]]#1, %[[PAIRS]] : tensor<8x1x8xf32>, tensor<1x28xf32>, tensor<1x28xf32>, tensor<28x2xindex>) matrix(%[[R]] : tensor<8x8xf32>) outs(%[[INIT]] : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
// CHECK-NEXT:  %[[Y:.*]] = tensor.expand_shape %[[Y3]] {{\[}}[0, 1], [2], [3]] output_shape [2, 4, 1, 8] : tensor<8x1x8xf32> into tensor<2x4x1x8xf32>
// CHECK-NEXT:  return %[[Y]]

// D = 8: scalar transposes only; shared angles (row 0 of the [1, N] table)
// and shared R (not sliced per task).
// BODY-LABEL: func.func @rotation_block_rope_default_layout(
// BODY-SAME:    %[[X:[^:]*]]: tensor<2x4x1x8xf32>, %[[A:[^:]*]]: tensor<28xf32>, %[[R:[^:]*]]: tensor<8x8xf32>, %[[P:[^:]*]]: tensor<2x4xi64>)
// BODY:        %[[TAB:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x28xf32>)
// BODY:        %[[ROPED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x4x1x2x4xf32>)
// BODY:        %[[XR3:.*]] = tensor.collapse_shape %[[ROPED]] {{\[}}[0, 1], [2], [3, 4]] : tensor<2x4x1x2x4xf32> into tensor<8x1x8xf32>
// BODY:        %[[RES:.*]] = scf.forall (%[[ROW:[a-z0-9_]+]], %[[HEAD:[a-z0-9_]+]]) = (0, 0) to (8, 1) step (64, 1) shared_outs(%[[SH:[a-z0-9_]+]] = %{{.*}}) -> (tensor<8x1x8xf32>) {
// BODY:          %[[XT:.*]] = tensor.extract_slice %[[XR3]][%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<8x1x8xf32> to tensor<?x1x8xf32>
// BODY-NOT:      tensor.extract_slice %[[R]]
// BODY-NOT:      scf.if
// BODY-NOT:      vector.shuffle
// BODY:          %[[T0:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x64xf32>)
// BODY:            tensor.extract %[[XT]]
// BODY-NOT:      scf.if
// BODY-NOT:      vector.shuffle
// BODY:          %[[T1:.*]] = scf.for %[[K:[a-z0-9_]+]] = {{.*}} iter_args(%{{.*}} = %[[T0]]) -> (tensor<8x64xf32>) {
// BODY:            tensor.extract %[[TAB]]#0[%{{.*}}, %[[K]]] : tensor<1x28xf32>
// BODY:            tensor.extract %[[TAB]]#1[%{{.*}}, %[[K]]] : tensor<1x28xf32>
// BODY-COUNT-2:    math.fma {{.*}} : vector<64xf32>
// BODY:          %[[T2:.*]] = scf.for %[[EI:[a-z0-9_]+]] = {{.*}} -> (tensor<8x64xf32>) {
// BODY-NEXT:       scf.for %[[F:[a-z0-9_]+]] = {{.*}} -> (vector<64xf32>) {
// BODY-NEXT:         tensor.extract %[[R]][%[[F]], %[[EI]]] : tensor<8x8xf32>
// BODY-NOT:      scf.if
// BODY-NOT:      vector.shuffle
// BODY:          tensor.extract_slice %[[T2]][0, 0] [8, %{{.*}}] [1, 1] : tensor<8x64xf32> to tensor<8x?xf32>
// BODY:          tensor.parallel_insert_slice %{{.*}} into %[[SH]][%[[ROW]], %[[HEAD]], 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<?x1x8xf32> into tensor<8x1x8xf32>
// BODY:        tensor.expand_shape %[[RES]] {{\[}}[0, 1], [2], [3]] output_shape [2, 4, 1, 8] : tensor<8x1x8xf32> into tensor<2x4x1x8xf32>
func.func @rotation_block_rope_default_layout(%x: tensor<2x4x1x8xf32>, %a: tensor<28xf32>, %r: tensor<8x8xf32>, %p: tensor<2x4xi64>) -> tensor<2x4x1x8xf32> {
  %0 = rotary.rotation_block %x, %a, %r rope(%p : tensor<2x4xi64>) : tensor<2x4x1x8xf32>, tensor<28xf32>, tensor<8x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}
