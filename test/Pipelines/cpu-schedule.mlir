// RUN: rotary-opt %s -rotary-cpu-schedule -canonicalize -cse -split-input-file -verify-diagnostics -mlir-print-local-scope | FileCheck %s --enable-var-scope

// rotary-cpu-schedule applies the `rotary.cpu_schedule` of each op: tasks
// of rows_per_task rows (scf.forall, the destination's fill fused), the
// task's unit dims dropped, register blocks of register_rows x
// register_cols with the row loop peeled so that full blocks are static,
// the reduction innermost with the accumulator carried as a vector (one
// broadcast FMA per row and reduction step), and the remainder rows left
// to a plain linalg op (scalar loops).

#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
// CHECK-LABEL: func.func @rows_times_matrix(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[W:[^:]*]]: tensor<?x64xf32>)
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<6x64xf32>
// CHECK-DAG:   %[[M:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?xf32>
// CHECK-DAG:   %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?xf32>
// CHECK:       scf.forall (%[[T:.*]]) = (0) to (%[[M]]) step (96) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<?x64xf32>) {
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0)[s0] -> (-d0 + s0, 96)>(%[[T]])[%[[M]]]
// CHECK:         %[[FULL:.*]] = affine.apply affine_map<()[s0] -> ((s0 floordiv 6) * 6)>()[%[[ROWS]]]
// Full blocks: static 6 x 64, the reduction over D innermost, the
// accumulator a vector that starts at zero (the fill, fused and forwarded).
// CHECK:         %[[MAIN:.*]] = scf.for %[[R:.*]] = %{{.*}} to %[[FULL]] step %{{.*}} iter_args(
// CHECK:           %[[ACC:.*]] = scf.for %[[K:.*]] = %{{.*}} to %[[D]] step %{{.*}} iter_args(%[[A:.*]] = %[[ZERO]]) -> (vector<6x64xf32>) {
// The left operand: one scalar per row, splat across the row (not a
// broadcasting transfer read, which would lower lane by lane).
// CHECK-COUNT-6:     tensor.extract %{{.*}} : tensor<6x1xf32>
// CHECK:             %[[COL:.*]] = vector.from_elements {{.*}} : vector<6x1x1xf32>
// CHECK:             vector.broadcast %[[COL]] : vector<6x1x1xf32> to vector<6x1x64xf32>
// CHECK:             vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<6x1x64xf32>
// CHECK:             %[[F:.*]] = math.fma %{{.*}}, %{{.*}}, %[[A]] : vector<6x64xf32>
// CHECK-NEXT:        scf.yield %[[F]] : vector<6x64xf32>
// CHECK:           vector.transfer_write %[[ACC]], %{{.*}} : vector<6x64xf32>, tensor<6x64xf32>
// The remainder rows (fewer than 6): a plain contraction, no schedule left.
// CHECK:         scf.for %{{.*}} = %[[FULL]] to %[[ROWS]] step %{{.*}} iter_args(%{{.*}} = %[[MAIN]])
// CHECK:           linalg.fill
// CHECK:           linalg.generic
// CHECK-NOT:       rotary.cpu_schedule
// CHECK:         scf.forall.in_parallel
func.func @rows_times_matrix(%x: tensor<?x?xf32>, %w: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x?xf32>, tensor<?x64xf32>) outs(%acc : tensor<?x64xf32>)
      attrs = {rotary.cpu_schedule = {kind = "matmul", rows_per_task = 96 : i64, register_rows = 6 : i64, register_cols = 64 : i64}} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// Per head: tasks over (rows, heads); a task is a 2-d matmul of its rows of
// head h with that head's matrix (the unit head dim dropped by rank-reducing
// slices).
// CHECK-LABEL: func.func @per_head(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x4x16xf32>, %[[W:[^:]*]]: tensor<4x16x16xf32>)
// CHECK:       scf.forall (%[[T:.*]], %[[H:.*]]) = (0, 0) to (%{{.*}}, 4) step (96, 1)
// CHECK-DAG:     tensor.extract_slice %[[X]][%[[T]], %[[H]], 0] [%{{.*}}, 1, 16] [1, 1, 1] : tensor<?x4x16xf32> to tensor<?x16xf32>
// CHECK-DAG:     tensor.extract_slice %[[W]][%[[H]], 0, 0] [1, 16, 16] [1, 1, 1] : tensor<4x16x16xf32> to tensor<16x16xf32>
// CHECK:         scf.for
// CHECK:           scf.for {{.*}} -> (vector<6x16xf32>) {
// CHECK:             math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<6x16xf32>
func.func @per_head(%x: tensor<?x4x16xf32>, %w: tensor<4x16x16xf32>) -> tensor<?x4x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x4x16xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x4x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x4x16xf32>) -> tensor<?x4x16xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(m, h, d, e) -> (m, h, d)>,
                                        affine_map<(m, h, d, e) -> (h, d, e)>,
                                        affine_map<(m, h, d, e) -> (m, h, e)>],
                       iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x4x16xf32>, tensor<4x16x16xf32>) outs(%acc : tensor<?x4x16xf32>)
      attrs = {rotary.cpu_schedule = {kind = "matmul", rows_per_task = 96 : i64, register_rows = 6 : i64, register_cols = 16 : i64}} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// -----

func.func @unknown_kind(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{rotary-cpu-schedule: unknown schedule {kind = "gather"}}}
  %0 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%y : tensor<4xf32>)
      attrs = {rotary.cpu_schedule = {kind = "gather"}} {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
func.func @bad_sizes(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>, %acc: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{rotary-cpu-schedule: not a schedulable matmul or a bad rotary.cpu_schedule}}
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<8x8xf32>) outs(%acc : tensor<?x8xf32>)
      attrs = {rotary.cpu_schedule = {kind = "matmul", rows_per_task = 96 : i64, register_rows = 0 : i64, register_cols = 8 : i64}} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// tail_cols: the column remainder of the full rows (fewer than 64 columns
// of a run-time width) in blocks of 16 columns, vectorised like the full
// blocks; only its last < 16 columns, and the remainder rows, stay scalar
// (marked for rotary-scalar-loops).
#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
// CHECK-LABEL: func.func @column_tail(
// CHECK:       scf.for %{{.*}} step %c6{{.*}} iter_args(
// CHECK:         scf.for %{{.*}} step %c64{{.*}} iter_args(
// CHECK:           math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<6x64xf32>
// The 64-column remainder: full 16-column blocks, then the rest.
// CHECK:         scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64{{.*}} iter_args(
// CHECK:           %[[FULL16:.*]] = affine.apply affine_map<(d0)[s0] -> (((-d0 + s0) floordiv 16) * 16)>(%[[J]])
// CHECK:           scf.for %{{.*}} = %{{.*}} to %[[FULL16]] step %c16{{.*}} iter_args(%{{.*}}) -> (tensor<6x?xf32>) {
// CHECK:             tensor.extract_slice %{{.*}} [6, 16] [1, 1] : tensor<6x?xf32> to tensor<6x16xf32>
// CHECK:             scf.for {{.*}} -> (vector<6x16xf32>) {
// CHECK:               math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<6x16xf32>
// CHECK:           scf.for %{{.*}} = %[[FULL16]] to %{{.*}} step %c16{{.*}} iter_args(%{{.*}}) -> (tensor<6x?xf32>) {
// CHECK-NOT:         vector.
// CHECK:             linalg.generic {{.*}} outs(%{{.*}} : tensor<6x?xf32>) attrs = {rotary.scalar_loops}
// The remainder rows: one scalar contraction over all the columns, not cut
// into column blocks.
// CHECK:       scf.for %{{.*}} step %c6{{.*}} iter_args(
// CHECK-NOT:     scf.for
// CHECK:         linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?xf32>) attrs = {rotary.scalar_loops}
// CHECK-NOT:     scf.for
// CHECK-NOT:   rotary.cpu_schedule
func.func @column_tail(%x: tensor<?x?xf32>, %w: tensor<?x?xf32>, %acc: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?x?xf32>)
      attrs = {rotary.cpu_schedule = {kind = "matmul", rows_per_task = 0 : i64, register_rows = 6 : i64, register_cols = 64 : i64, tail_cols = 16 : i64}} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// One row (x of rank 1 as the model library builds it, here 1 x D): the
// task's unit dims leave a vector-matrix product, not a matmul, so there
// are no register blocks; the product stays a plain contraction for the
// generic vectorization, and the schedule attribute is consumed.
#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
// CHECK-LABEL: func.func @one_row_times_matrix(
// CHECK:         linalg.fill
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-NOT:     rotary.cpu_schedule
// CHECK:         return
func.func @one_row_times_matrix(%x: tensor<1x4xf32>, %w: tensor<4x4xf32>) -> tensor<1x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4xf32>) -> tensor<1x4xf32>
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<1x4xf32>, tensor<4x4xf32>) outs(%acc : tensor<1x4xf32>)
      attrs = {rotary.cpu_schedule = {kind = "matmul", rows_per_task = 96 : i64, register_rows = 6 : i64, register_cols = 16 : i64}} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

// A transpose in 16 x 16 blocks: rows of the result (columns of x) in
// blocks of 16, peeled; the full rows' columns likewise. A full block is
// one 16 x 16 read, the shuffle network (4 stages of 16 two-source
// shuffles) and one write; the column remainder of the full rows and the
// remainder rows (over all columns) are marked scalar.
// CHECK-LABEL: func.func @transpose_blocks(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[Y:[^:]*]]: tensor<?x?xf32>)
// CHECK:         %[[ROWS:.*]] = affine.apply affine_map<()[s0] -> ((s0 floordiv 16) * 16)>()[%{{.*}}]
// CHECK:         %[[FULL:.*]] = scf.for %[[R:.*]] = %{{.*}} to %[[ROWS]] step %{{.*}} iter_args(%{{.*}} = %[[Y]])
// CHECK:           %[[COLS:.*]] = affine.apply affine_map<()[s0] -> ((s0 floordiv 16) * 16)>()[%{{.*}}]
// CHECK:           scf.for %{{.*}} = %{{.*}} to %[[COLS]] step
// CHECK:             %[[BLOCK:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true, true]} : tensor<16x16xf32>, vector<16x16xf32>
// CHECK-COUNT-64:    vector.shuffle
// CHECK-NOT:         vector.shuffle
// CHECK:             vector.transfer_write %{{.*}} {in_bounds = [true, true]} : vector<16x16xf32>, tensor<16x16xf32>
// CHECK:           scf.for %{{.*}} = %[[COLS]] to
// CHECK:             linalg.transpose ins(%{{.*}} : tensor<?x16xf32>) outs(%{{.*}} : tensor<16x?xf32>) permutation = [1, 0]  {rotary.scalar_loops}
// CHECK:         scf.for %{{.*}} = %[[ROWS]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[FULL]])
// CHECK:           linalg.transpose ins(%{{.*}} : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>) permutation = [1, 0]  {rotary.scalar_loops}
// CHECK-NOT:     linalg.transpose
func.func @transpose_blocks(%x: tensor<?x?xf32>, %y: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%y : tensor<?x?xf32>) permutation = [1, 0]
      {rotary.cpu_schedule = {kind = "transpose", block = 16 : i64}}
  return %0 : tensor<?x?xf32>
}

// -----

func.func @transpose_without_block(%x: tensor<?x?xf32>, %y: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{rotary-cpu-schedule: not a schedulable transpose or a bad rotary.cpu_schedule: {kind = "transpose"}}}
  %0 = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%y : tensor<?x?xf32>) permutation = [1, 0]
      {rotary.cpu_schedule = {kind = "transpose"}}
  return %0 : tensor<?x?xf32>
}
