// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file | FileCheck %s --check-prefix=BODY

// rotary.givens lowering (lib/Conversion/RotaryToLinalg/LowerChains.cpp):
// x viewed as [M, H, D]; one scf.forall task per (tile of 64 rows, head)
// widens its tile to f32 once, runs the N rotations in an scf.for (each
// rewrites two columns of the tile) and narrows the tile back.

// Explicit pairs, per-head [H, N] angles, bf16 data.
// BODY-LABEL: func.func @givens_pairs_per_head_bf16(
// One widening per task, before the chain; nothing in bf16 inside it.
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
// The pairs as a constant [N, 2] index table, in the order given.
// CHECK-DAG:   %[[PAIRS:.*]] = arith.constant dense<{{\[}}[0, 1], [3, 2]]> : tensor<2x2xindex>
// CHECK-DAG:   %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[N:.*]] = arith.constant 2 : index
// CHECK:       %[[OUT:.*]] = tensor.empty() : tensor<64x8x4xbf16>
// CHECK:       %[[RES:.*]] = scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%[[C64]], %[[C8]]) step (64, 1) shared_outs(%[[SH:.*]] = %[[OUT]]) -> (tensor<64x8x4xbf16>) {
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 64)>()[%[[ROW]]]
// CHECK-NEXT:    %[[TILE:.*]] = tensor.extract_slice %[[X3]][%[[ROW]], %[[HEAD]], 0] [%[[ROWS]], 1, 4] [1, 1, 1] : tensor<64x8x4xbf16> to tensor<?x4xbf16>
// The tile is widened to f32 once, before the chain.
// CHECK:         %[[WIDE:.*]] = linalg.generic {{.*}} ins(%[[TILE]] : tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[IN:[^:]*]]: bf16, %{{.*}}: f32):
// CHECK-NEXT:      %[[W:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT:      linalg.yield %[[W]] : f32
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[CHAIN:.*]] = scf.for %[[K:.*]] = %[[C0]] to %[[N]] step %[[C1]] iter_args(%[[T:.*]] = %[[WIDE]]) -> (tensor<?x4xf32>) {
// Rotation k: its pair from the table, its angle from the head's row.
// CHECK-NEXT:      %[[I:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C0]]] : tensor<2x2xindex>
// CHECK-NEXT:      %[[J:.*]] = tensor.extract %[[PAIRS]][%[[K]], %[[C1]]] : tensor<2x2xindex>
// CHECK-NEXT:      %[[PHI:.*]] = tensor.extract %[[ANG]][%[[HEAD]], %[[K]]] : tensor<8x2xf32>
// CHECK-NEXT:      %[[COS:.*]] = math.cos %[[PHI]] : f32
// CHECK-NEXT:      %[[SIN:.*]] = math.sin %[[PHI]] : f32
// Both columns are updated in place, one row at a time, in the f32 tile.
// CHECK-NEXT:      %[[INNER:.*]] = scf.for %[[R:.*]] = %[[C0]] to %[[ROWS]] step %[[C1]] iter_args(%[[TT:.*]] = %[[T]]) -> (tensor<?x4xf32>) {
// CHECK-NEXT:        %[[XI:.*]] = tensor.extract %[[TT]][%[[R]], %[[I]]] : tensor<?x4xf32>
// CHECK-NEXT:        %[[XJ:.*]] = tensor.extract %[[TT]][%[[R]], %[[J]]] : tensor<?x4xf32>
// CHECK-DAG:         %[[XJS:.*]] = arith.mulf %[[XJ]], %[[SIN]] : f32
// CHECK-DAG:         %[[XIC:.*]] = arith.mulf %[[XI]], %[[COS]] : f32
// CHECK-DAG:         %[[YI:.*]] = arith.addf %[[XIC]], %[[XJS]] : f32
// CHECK-DAG:         %[[XIS:.*]] = arith.mulf %[[XI]], %[[SIN]] : f32
// CHECK-DAG:         %[[XJC:.*]] = arith.mulf %[[XJ]], %[[COS]] : f32
// CHECK-DAG:         %[[YJ:.*]] = arith.subf %[[XJC]], %[[XIS]] : f32
// CHECK:             %[[P0:.*]] = tensor.insert %[[YI]] into %[[TT]][%[[R]], %[[I]]] : tensor<?x4xf32>
// CHECK-NEXT:        %[[P1:.*]] = tensor.insert %[[YJ]] into %[[P0]][%[[R]], %[[J]]] : tensor<?x4xf32>
// CHECK-NEXT:        scf.yield %[[P1]] : tensor<?x4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[INNER]] : tensor<?x4xf32>
// CHECK-NEXT:    }
// Narrowed once, after the chain, and stored into the task's slice.
// CHECK:         %[[NARROW:.*]] = linalg.generic {{.*}} ins(%[[CHAIN]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xbf16>)
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
// rows split into tiles of 64 (the last one partial), H = 1, and pair k is
// computed from k and D with the circle-method formula (no pair table).
// CHECK-LABEL: func.func @givens_default_schedule_tiles(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<130x6xf32>, %[[ANG:[^:]*]]: tensor<15xf32>)
// CHECK-NOT:   xindex>
// CHECK:       %[[X3:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [130, 1, 6] : tensor<130x6xf32> into tensor<130x1x6xf32>
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, 15] : tensor<15xf32> into tensor<1x15xf32>
// CHECK-DAG:   %[[M:.*]] = arith.constant 130 : index
// CHECK-DAG:   %[[H:.*]] = arith.constant 1 : index
// CHECK-DAG:   %[[D:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[N:.*]] = arith.constant 15 : index
// CHECK:       scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) = (0, 0) to (%[[M]], %[[H]]) step (64, 1)
// CHECK-NEXT:    %[[ROWS:.*]] = affine.min affine_map<()[s0] -> (64, -s0 + 130)>()[%[[ROW]]]
// CHECK:         scf.for %[[K:[^ ]*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(
// stage s = k / (D/2), t = k mod (D/2); t = 0: (s, D−1); else
// ((s+t) mod (D−1), (s−t) mod (D−1)) ordered.
// CHECK-DAG:       %[[PER:.*]] = arith.divui %[[D]], %{{.*}} : index
// CHECK-DAG:       %[[DM1:.*]] = arith.subi %[[D]], %{{.*}} : index
// CHECK-DAG:       %[[S:.*]] = arith.divui %[[K]], %[[PER]] : index
// CHECK-DAG:       %[[TT:.*]] = arith.remui %[[K]], %[[PER]] : index
// CHECK-DAG:       %[[SPT:.*]] = arith.addi %[[S]], %[[TT]] : index
// CHECK-DAG:       %[[AI:.*]] = arith.remui %[[SPT]], %[[DM1]] : index
// CHECK-DAG:       %[[SPM:.*]] = arith.addi %[[S]], %[[DM1]] : index
// CHECK-DAG:       %[[SMT:.*]] = arith.subi %[[SPM]], %[[TT]] : index
// CHECK-DAG:       %[[BI:.*]] = arith.remui %[[SMT]], %[[DM1]] : index
// CHECK-DAG:       %[[FIRST:.*]] = arith.cmpi eq, %[[TT]], %{{.*}} : index
// CHECK-DAG:       %[[LO:.*]] = arith.minui %[[AI]], %[[BI]] : index
// CHECK-DAG:       %[[HI:.*]] = arith.maxui %[[AI]], %[[BI]] : index
// CHECK-DAG:       %[[I:.*]] = arith.select %[[FIRST]], %[[S]], %[[LO]] : index
// CHECK-DAG:       %[[J:.*]] = arith.select %[[FIRST]], %[[DM1]], %[[HI]] : index
// CHECK:           %[[PHI:.*]] = tensor.extract %[[A2]][%[[HEAD]], %[[K]]] : tensor<1x15xf32>
// CHECK-NOT:       arith.negf
// CHECK:           math.cos %[[PHI]] : f32
// CHECK:           tensor.extract %{{.*}}[%{{.*}}, %[[I]]] : tensor<?x6xf32>
// CHECK-NEXT:      tensor.extract %{{.*}}[%{{.*}}, %[[J]]] : tensor<?x6xf32>
// CHECK:           scf.yield
// CHECK:         tensor.parallel_insert_slice %{{.*}}[%[[ROW]], %[[HEAD]], 0] [%[[ROWS]], 1, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<130x1x6xf32>
// CHECK:       tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<130x1x6xf32> into tensor<130x6xf32>
func.func @givens_default_schedule_tiles(%x: tensor<130x6xf32>, %a: tensor<15xf32>) -> tensor<130x6xf32> {
  %0 = rotary.givens %x, %a : tensor<130x6xf32>, tensor<15xf32>
  return %0 : tensor<130x6xf32>
}

// -----

// inverse: the chain walked backwards (k = N − 1 − step) with negated
// angles; dynamic M, D and N come from tensor.dim.
// CHECK-LABEL: func.func @givens_inverse_dynamic(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[ANG:[^:]*]]: tensor<?xf32>)
// CHECK:       %[[A2:.*]] = tensor.expand_shape %[[ANG]] {{\[}}[0, 1]] output_shape [1, %{{.*}}] : tensor<?xf32> into tensor<1x?xf32>
// CHECK:       %[[N:.*]] = tensor.dim %[[A2]], %{{.*}} : tensor<1x?xf32>
// CHECK:       scf.forall (%{{.*}}, %[[HEAD:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (64, 1)
// CHECK-NEXT:    affine.min affine_map<()[s0, s1] -> (64, s0 - s1)>
// CHECK:         scf.for %[[STEP:.*]] = %{{.*}} to %[[N]] step %[[C1:[^ ]*]] iter_args(
// CHECK-NEXT:      %[[LAST:.*]] = arith.subi %[[N]], %[[C1]] : index
// CHECK-NEXT:      %[[K:.*]] = arith.subi %[[LAST]], %[[STEP]] : index
// CHECK:           arith.remui %[[K]], %{{.*}} : index
// CHECK:           %[[PHI:.*]] = tensor.extract %[[A2]][%[[HEAD]], %[[K]]] : tensor<1x?xf32>
// CHECK-NEXT:      %[[NEG:.*]] = arith.negf %[[PHI]] : f32
// CHECK-NEXT:      math.cos %[[NEG]] : f32
// CHECK-NEXT:      math.sin %[[NEG]] : f32
func.func @givens_inverse_dynamic(%x: tensor<?x?xf32>, %a: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a {inverse} : tensor<?x?xf32>, tensor<?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// A 1-D x is one row: a unit row dim is added and removed again.
// CHECK-LABEL: func.func @givens_single_row(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>
// CHECK:       tensor.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [1, 4] : tensor<4xf32> into tensor<1x4xf32>
// CHECK:       arith.constant dense<{{\[}}[0, 3], [1, 2]]> : tensor<2x2xindex>
// CHECK:       scf.forall
// CHECK-NOT:     arith.negf
// CHECK:       %[[Y:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<1x4xf32> into tensor<4xf32>
// CHECK-NEXT:  return %[[Y]] : tensor<4xf32>
func.func @givens_single_row(%x: tensor<4xf32>, %a: tensor<2xf32>) -> tensor<4xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 3), (1, 2)] : tensor<4xf32>, tensor<2xf32>
  return %0 : tensor<4xf32>
}
