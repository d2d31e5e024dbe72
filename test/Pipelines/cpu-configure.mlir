// RUN: rotary-opt %s -rotary-cpu-configure -split-input-file | FileCheck %s --check-prefix=AVX512
// RUN: rotary-opt %s -rotary-cpu-configure=vector-bits=256 -split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: rotary-opt %s -rotary-cpu-configure=vector-bits=128 -split-input-file | FileCheck %s --check-prefix=SSE
// RUN: rotary-opt %s "-rotary-cpu-configure=register-rows=4 register-cols=32 rows-per-task=8" -split-input-file | FileCheck %s --check-prefix=OVERRIDE
// RUN: not rotary-opt %s -rotary-cpu-configure=vector-bits=100 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADBITS
// RUN: rotary-opt %s "-rotary-cpu-configure=attention-query-tile=24 attention-key-tile=128" -split-input-file | FileCheck %s --check-prefix=TILES
// RUN: rotary-opt %s -rotary-cpu-configure=hdd-lanes=3 -split-input-file | FileCheck %s --check-prefix=LANES
// RUN: not rotary-opt %s -rotary-cpu-configure=register-rows=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: rotary-opt %s -rotary-cpu-configure=chain-rows=24 -split-input-file | FileCheck %s --check-prefix=CHAIN
// RUN: rotary-opt %s -rotary-cpu-configure=hdd-checkpoint=16 -split-input-file | FileCheck %s --check-prefix=CKPT
// RUN: not rotary-opt %s -rotary-cpu-configure=hdd-checkpoint=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: not rotary-opt %s -rotary-cpu-configure=chain-rows=-8 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: rotary-opt %s -rotary-cpu-configure=rope-tokens=7 -split-input-file | FileCheck %s --check-prefix=TOKENS
// RUN: rotary-opt %s -rotary-cpu-configure=scan-block=8 -split-input-file | FileCheck %s --check-prefix=SCAN
// RUN: not rotary-opt %s -rotary-cpu-configure=scan-block=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: not rotary-opt %s -rotary-cpu-configure=rope-tokens=-2 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: rotary-opt %s -rotary-cpu-configure=split-attention-grad=true -split-input-file | FileCheck %s --check-prefix=SPLIT

// rotary-cpu-configure records the CPU schedule of each matmul-like
// contraction as `rotary.cpu_schedule`: a register block of
// register_rows x register_cols accumulators (6 rows; 4 vectors wide with
// 32 vector registers, 2 with 16) and tasks of 16 blocks of rows.

// BADBITS: error: rotary-cpu-configure: vector-bits must be a multiple of 32 and at least 128, got 100
// BADTILE: error: rotary-cpu-configure: tile sizes must not be negative

#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>

// AVX512-LABEL: func.func @rows_times_matrix(
// AVX512:       linalg.generic
// AVX512-SAME:    rotary.cpu_schedule = {kind = "matmul", register_cols = 64 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64}
// AVX2-LABEL:   func.func @rows_times_matrix(
// AVX2:         rotary.cpu_schedule = {kind = "matmul", register_cols = 16 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64}
// SSE-LABEL:    func.func @rows_times_matrix(
// SSE:          rotary.cpu_schedule = {kind = "matmul", register_cols = 8 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64}
// OVERRIDE-LABEL: func.func @rows_times_matrix(
// OVERRIDE:     rotary.cpu_schedule = {kind = "matmul", register_cols = 32 : i64, register_rows = 4 : i64, rows_per_task = 8 : i64}
func.func @rows_times_matrix(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>,
                             %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x64xf32>, tensor<64x64xf32>) outs(%acc : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// A static output width gets blocks that divide it: the whole width when it
// fits in one block, else the widest multiple of the vector width that
// divides it (96 = 2 x 48 with 16 lanes), so that no column is left to a
// scalar remainder. A dynamic width keeps the full block.
#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
// AVX512-LABEL: func.func @widths(
// AVX512:       register_cols = 8 : i64
// AVX512:       register_cols = 48 : i64
// AVX512:       register_cols = 64 : i64
// AVX2-LABEL:   func.func @widths(
// AVX2:         register_cols = 8 : i64
// AVX2:         register_cols = 16 : i64
// AVX2:         register_cols = 16 : i64
func.func @widths(%x: tensor<?x8xf32>, %w8: tensor<8x8xf32>, %a8: tensor<?x8xf32>,
                  %w96: tensor<8x96xf32>, %a96: tensor<?x96xf32>,
                  %wd: tensor<8x?xf32>, %ad: tensor<?x?xf32>)
    -> (tensor<?x8xf32>, tensor<?x96xf32>, tensor<?x?xf32>) {
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w8 : tensor<?x8xf32>, tensor<8x8xf32>) outs(%a8 : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %1 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w96 : tensor<?x8xf32>, tensor<8x96xf32>) outs(%a96 : tensor<?x96xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x96xf32>
  %2 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %wd : tensor<?x8xf32>, tensor<8x?xf32>) outs(%ad : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %0, %1, %2 : tensor<?x8xf32>, tensor<?x96xf32>, tensor<?x?xf32>
}

// -----

// Per-head contractions (a batch dim h) and bf16 operands widened in the
// body are scheduled the same way.
// AVX512-LABEL: func.func @per_head_bf16(
// AVX512:       rotary.cpu_schedule = {kind = "matmul", register_cols = 16 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64}
func.func @per_head_bf16(%x: tensor<?x4x16xbf16>, %w: tensor<4x16x16xbf16>,
                         %acc: tensor<?x4x16xf32>) -> tensor<?x4x16xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(m, h, d, e) -> (m, h, d)>,
                                        affine_map<(m, h, d, e) -> (h, d, e)>,
                                        affine_map<(m, h, d, e) -> (m, h, e)>],
                       iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x4x16xbf16>, tensor<4x16x16xbf16>) outs(%acc : tensor<?x4x16xf32>) {
  ^bb0(%a: bf16, %b: bf16, %c: f32):
    %aw = arith.extf %a : bf16 to f32
    %bw = arith.extf %b : bf16 to f32
    %p = arith.mulf %aw, %bw : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x4x16xf32>
  return %0 : tensor<?x4x16xf32>
}

// -----

// Not scheduled: an elementwise op, and a contraction whose right operand
// is not contiguous along the output's last dim (x·Rᵀ without the
// transpose the lowering inserts).
// AVX512-LABEL: func.func @not_matmuls(
// AVX512-NOT:   rotary.cpu_schedule
// AVX512:       return
func.func @not_matmuls(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>,
                       %acc: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = linalg.generic {indexing_maps = [affine_map<(m, e) -> (m, e)>, affine_map<(m, e) -> (m, e)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%acc : tensor<?x8xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(m, d, e) -> (m, d)>,
                                        affine_map<(m, d, e) -> (e, d)>,
                                        affine_map<(m, d, e) -> (m, e)>],
                       iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<8x8xf32>) outs(%acc : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A run-time output width: the blocks may not divide it, so its remainder
// gets blocks of one vector (tail_cols = the vector width in f32).
// AVX512-LABEL: func.func @runtime_width(
// AVX512:       rotary.cpu_schedule = {kind = "matmul", register_cols = 64 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64, tail_cols = 16 : i64}
// AVX2-LABEL:   func.func @runtime_width(
// AVX2:         rotary.cpu_schedule = {kind = "matmul", register_cols = 16 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64, tail_cols = 8 : i64}
// SSE-LABEL:    func.func @runtime_width(
// SSE:          rotary.cpu_schedule = {kind = "matmul", register_cols = 8 : i64, register_rows = 6 : i64, rows_per_task = 96 : i64, tail_cols = 4 : i64}
// OVERRIDE-LABEL: func.func @runtime_width(
// OVERRIDE:     rotary.cpu_schedule = {kind = "matmul", register_cols = 32 : i64, register_rows = 4 : i64, rows_per_task = 8 : i64, tail_cols = 16 : i64}
#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
func.func @runtime_width(%x: tensor<?x64xf32>, %w: tensor<64x?xf32>,
                         %acc: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x64xf32>, tensor<64x?xf32>) outs(%acc : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// The tile sizes of attention and of its gradient's two passes (the
// structured ops, after the lowering): 8 register blocks of queries and
// keys in whole register blocks of at least 64 (one 64-column block on
// AVX-512, four of 16 on AVX2, eight of 8 with SSE), so the contractions of
// a tile get full blocks. An op that already has its tiles keeps them; the
// unlowered attention_grad gets none (its passes do).
// AVX512-LABEL: func.func @attention_tiles(
// AVX512:       rotary.online_attention {{.*}}rotary.tiles = {key = 64 : i64, query = 48 : i64}
// AVX512-NOT:   rotary.tiles
// AVX512:       rotary.attention_grad
// AVX512-SAME:  {causal} :
// AVX512:       rotary.online_attention_query_grad {{.*}}rotary.tiles = {key = 64 : i64, query = 48 : i64}
// AVX512:       rotary.online_attention_key_grad {{.*}}rotary.tiles = {key = 64 : i64, query = 48 : i64}
// AVX512:       rotary.online_attention {{.*}}rotary.tiles = {key = 8 : i64, query = 4 : i64}
// AVX2-LABEL:   func.func @attention_tiles(
// AVX2:         rotary.online_attention {{.*}}rotary.tiles = {key = 64 : i64, query = 48 : i64}
// SSE-LABEL:    func.func @attention_tiles(
// SSE:          rotary.online_attention {{.*}}rotary.tiles = {key = 64 : i64, query = 48 : i64}
// OVERRIDE-LABEL: func.func @attention_tiles(
// OVERRIDE:     rotary.online_attention {{.*}}rotary.tiles = {key = 64 : i64, query = 32 : i64}
// TILES-LABEL:  func.func @attention_tiles(
// TILES:        rotary.online_attention {{.*}}rotary.tiles = {key = 128 : i64, query = 24 : i64}
func.func @attention_tiles(%q: tensor<1x2x9x8xf32>, %k: tensor<1x2x9x8xf32>,
                           %v: tensor<1x2x9x8xf32>, %do: tensor<1x2x9x8xf32>,
                           %lse: tensor<1x2x9xf32>, %p: index)
    -> (tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) {
  %o, %l = rotary.online_attention ins(%q, %k, %v : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
      first_position(%p) outs(%do, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9xf32>) {causal}
      -> tensor<1x2x9x8xf32>, tensor<1x2x9xf32>
  %dq, %dk, %dv = rotary.attention_grad %q, %k, %v, %o, %lse, %do {causal}
      : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>
  %gq = rotary.online_attention_query_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      first_position(%p) outs(%do : tensor<1x2x9x8xf32>) {causal} -> tensor<1x2x9x8xf32>
  %gk:2 = rotary.online_attention_key_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      first_position(%p) first_key(%p) outs(%do, %do : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) {causal} -> tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
  %o2, %l2 = rotary.online_attention ins(%q, %k, %v : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
      first_position(%p) outs(%do, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9xf32>) {causal, rotary.tiles = {query = 4 : i64, key = 8 : i64}}
      -> tensor<1x2x9x8xf32>, tensor<1x2x9xf32>
  return %o, %dq, %dk, %o2 : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
}

// -----

// Inside a kernel's loop (the tile pairs of attention): a contraction whose
// rows are a tile of at most 64 gets blocks of 4 rows (16 of them, none
// left to a scalar remainder), one of at most 48 keeps 6; a 2-d f32
// transpose gets 16 x 16 blocks (8 x 8 with AVX2), outside a loop none.
#x = affine_map<(m, d, e) -> (m, d)>
#w = affine_map<(m, d, e) -> (d, e)>
#y = affine_map<(m, d, e) -> (m, e)>
// AVX512-LABEL: func.func @tile_rows(
// AVX512:       linalg.transpose {{.*}} {rotary.cpu_schedule = {block = 16 : i64, kind = "transpose"}}
// AVX512:       linalg.generic {{.*}}rotary.cpu_schedule = {kind = "matmul", register_cols = 64 : i64, register_rows = 4 : i64, rows_per_task = 0 : i64, tail_cols = 16 : i64}
// AVX512:       linalg.generic {{.*}}rotary.cpu_schedule = {kind = "matmul", register_cols = 64 : i64, register_rows = 6 : i64, rows_per_task = 0 : i64, tail_cols = 16 : i64}
// AVX512:       linalg.transpose
// AVX512-NOT:   rotary.cpu_schedule
// AVX512:       return
// AVX2-LABEL:   func.func @tile_rows(
// AVX2:         linalg.transpose {{.*}} {rotary.cpu_schedule = {block = 8 : i64, kind = "transpose"}}
// OVERRIDE-LABEL: func.func @tile_rows(
// OVERRIDE:     linalg.transpose
// OVERRIDE:     register_rows = 4 : i64
// OVERRIDE:     register_rows = 4 : i64
func.func @tile_rows(%x: tensor<?x?xf32>, %w: tensor<?x?xf32>, %n: index) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d = tensor.dim %w, %c1 : tensor<?x?xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> (tensor<?x?xf32>) {
    %m64 = affine.min affine_map<(d0)[s0] -> (64, s0 - d0)>(%i)[%n]
    %m48 = affine.min affine_map<(d0)[s0] -> (48, s0 - d0)>(%i)[%n]
    %t0 = tensor.empty(%d, %m64) : tensor<?x?xf32>
    %rows = tensor.extract_slice %x[%i, 0] [%m64, %d] [1, 1] : tensor<?x?xf32> to tensor<?x?xf32>
    %t = linalg.transpose ins(%rows : tensor<?x?xf32>) outs(%t0 : tensor<?x?xf32>) permutation = [1, 0]
    %a64 = tensor.empty(%m64, %m64) : tensor<?x?xf32>
    %p64 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%rows, %t : tensor<?x?xf32>, tensor<?x?xf32>) outs(%a64 : tensor<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x?xf32>
    %rows48 = tensor.extract_slice %p64[0, 0] [%m48, %m64] [1, 1] : tensor<?x?xf32> to tensor<?x?xf32>
    %a48 = tensor.empty(%m48, %d) : tensor<?x?xf32>
    %p48 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%rows48, %rows : tensor<?x?xf32>, tensor<?x?xf32>) outs(%a48 : tensor<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x?xf32>
    %next = tensor.insert_slice %p48 into %acc[%i, 0] [%m48, %d] [1, 1] : tensor<?x?xf32> into tensor<?x?xf32>
    scf.yield %next : tensor<?x?xf32>
  }
  %u0 = tensor.empty(%d, %n) : tensor<?x?xf32>
  %u = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%u0 : tensor<?x?xf32>) permutation = [1, 0]
  return %r, %u : tensor<?x?xf32>, tensor<?x?xf32>
}

// -----

// The gradient's two passes over the same operands, as the lowering leaves
// them (first_key 0): fused into one pass per (b, h), q̄ and the span
// partial from the query pass (zeroed: the fused op adds to it), k̄ and v̄
// from the key pass; with
// split-attention-grad they stay apart. Passes that differ in an operand
// are not fused.
// AVX512-LABEL: func.func @fuse_attention_grad(
// AVX512:       %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%arg6 : tensor<2x9xf32>) -> tensor<2x9xf32>
// AVX512-NEXT:  %[[F:.*]]:4 = rotary.online_attention_grad ins(%arg0, %arg1, %arg2, %arg3, %arg4, %arg4 : {{.*}}) span(%arg5 : tensor<2xf32>) first_position(%arg7) outs(%arg3, %arg1, %arg2, %[[Z]] : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<2x9xf32>) {causal, rotary.tiles = {key = 64 : i64, query = 48 : i64}, span_ramp = 4.000000e+00 : f32}
// AVX512-NEXT:  rotary.online_attention_query_grad {{.*}}first_position(%c0)
// AVX512-NEXT:  rotary.online_attention_key_grad
// AVX512-NEXT:  return %[[F]]#0, %[[F]]#1, %[[F]]#2, %[[F]]#3,
// SPLIT-LABEL:  func.func @fuse_attention_grad(
// SPLIT-NOT:    rotary.online_attention_grad
// SPLIT:        rotary.online_attention_query_grad
// SPLIT:        rotary.online_attention_key_grad
// SPLIT:        rotary.online_attention_query_grad
// SPLIT:        rotary.online_attention_key_grad
func.func @fuse_attention_grad(%q: tensor<1x2x9x8xf32>, %k: tensor<1x2x9x8xf32>,
                               %v: tensor<1x2x9x8xf32>, %do: tensor<1x2x9x8xf32>,
                               %lse: tensor<1x2x9xf32>, %s: tensor<2xf32>,
                               %ds: tensor<2x9xf32>, %p: index)
    -> (tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<2x9xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) {
  %c0 = arith.constant 0 : index
  %gq:2 = rotary.online_attention_query_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      span(%s : tensor<2xf32>) first_position(%p) outs(%do, %ds : tensor<1x2x9x8xf32>, tensor<2x9xf32>) {causal, span_ramp = 4.0 : f32} -> tensor<1x2x9x8xf32>, tensor<2x9xf32>
  %gk:2 = rotary.online_attention_key_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      span(%s : tensor<2xf32>) first_position(%p) first_key(%c0) outs(%k, %v : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) {causal, span_ramp = 4.0 : f32} -> tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
  // Another first position: a different gradient.
  %hq = rotary.online_attention_query_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      first_position(%c0) outs(%do : tensor<1x2x9x8xf32>) -> tensor<1x2x9x8xf32>
  %hk:2 = rotary.online_attention_key_grad ins(%q, %k, %v, %do, %lse, %lse : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
      first_position(%p) first_key(%c0) outs(%k, %v : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) -> tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
  return %gq#0, %gk#0, %gk#1, %gq#1, %hq, %hk#0 : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<2x9xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
}

// -----

// Fused Givens-form HDD-RoPE and its gradient (the structured ops, after
// the lowering): chunks (lanes) per task, 128 for c <= 4, 2048 / c² for
// larger chunks, at least 16; the gradient also saves P every 64 tokens
// (hdd-checkpoint overrides it); the unlowered ops get none.
// AVX512-LABEL: func.func @hdd_lanes(
// AVX512:       rotary.hdd_rope_lanes {{.*}} {chunk = 4 : i64, rotary.tiles = {lanes = 128 : i64}}
// AVX512:       rotary.hdd_rope_lanes {{.*}} {chunk = 8 : i64, rotary.tiles = {lanes = 32 : i64}}
// AVX512:       rotary.hdd_rope_lanes {{.*}} {chunk = 16 : i64, rotary.tiles = {lanes = 16 : i64}}
// AVX512:       rotary.hdd_rope_lanes_grad {{.*}} {chunk = 4 : i64, rotary.tiles = {checkpoint = 64 : i64, lanes = 128 : i64}}
// A choice recorded in part (lanes) is kept and completed.
// AVX512:       rotary.hdd_rope_lanes_grad {{.*}} {chunk = 4 : i64, rotary.tiles = {checkpoint = 64 : i64, lanes = 8 : i64}}
// AVX512-NOT:   rotary.tiles
// AVX512:       rotary.hdd_rope_grad {{.*}}form = givens {chunk = 4 : i64} :
// AVX512:       rotary.hdd_rope {{.*}}form = exp {chunk = 4 : i64} :
// AVX512:       rotary.hdd_rope {{.*}}form = givens {chunk = 4 : i64} :
// AVX512-NOT:   rotary.tiles
// AVX512:       return
// TILES-LABEL:  func.func @hdd_lanes(
// TILES:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {lanes = 128 : i64}
// CKPT-LABEL:   func.func @hdd_lanes(
// CKPT:         rotary.hdd_rope_lanes {{.*}} {chunk = 4 : i64, rotary.tiles = {lanes = 128 : i64}}
// CKPT:         rotary.hdd_rope_lanes_grad {{.*}} {chunk = 4 : i64, rotary.tiles = {checkpoint = 16 : i64, lanes = 128 : i64}}
// LANES-LABEL:  func.func @hdd_lanes(
// LANES:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {lanes = 3 : i64}
// LANES:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {lanes = 3 : i64}
func.func @hdd_lanes(%x: tensor<1x4x2x16xf32>, %a4: tensor<1x4x2x4x6xf32>,
                     %x3: tensor<1x4x32xf32>, %l4: tensor<1x4x48xf32>,
                     %l8: tensor<1x4x112xf32>, %l16: tensor<1x4x240xf32>,
                     %first: index)
    -> (tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>,
        tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>) {
  %y4 = rotary.hdd_rope_lanes ins(%x3, %l4 : tensor<1x4x32xf32>, tensor<1x4x48xf32>) first_lane(%first) outs(%x3 : tensor<1x4x32xf32>) {chunk = 4 : i64} -> tensor<1x4x32xf32>
  %y8 = rotary.hdd_rope_lanes ins(%x3, %l8 : tensor<1x4x32xf32>, tensor<1x4x112xf32>) first_lane(%first) outs(%x3 : tensor<1x4x32xf32>) {chunk = 8 : i64} -> tensor<1x4x32xf32>
  %y16 = rotary.hdd_rope_lanes ins(%x3, %l16 : tensor<1x4x32xf32>, tensor<1x4x240xf32>) first_lane(%first) outs(%x3 : tensor<1x4x32xf32>) {chunk = 16 : i64} -> tensor<1x4x32xf32>
  %gl:2 = rotary.hdd_rope_lanes_grad ins(%x3, %l4, %x3 : tensor<1x4x32xf32>, tensor<1x4x48xf32>) first_lane(%first) outs(%x3, %l4 : tensor<1x4x32xf32>, tensor<1x4x48xf32>) {chunk = 4 : i64} -> tensor<1x4x32xf32>, tensor<1x4x48xf32>
  %gk:2 = rotary.hdd_rope_lanes_grad ins(%x3, %l4, %x3 : tensor<1x4x32xf32>, tensor<1x4x48xf32>) first_lane(%first) outs(%x3, %l4 : tensor<1x4x32xf32>, tensor<1x4x48xf32>) {chunk = 4 : i64, rotary.tiles = {lanes = 8 : i64}} -> tensor<1x4x32xf32>, tensor<1x4x48xf32>
  %dx, %da = rotary.hdd_rope_grad %x, %a4, %x form = givens {chunk = 4 : i64} : tensor<1x4x2x16xf32>, tensor<1x4x2x4x6xf32>
  %e4 = rotary.hdd_rope %x, %a4 form = exp {chunk = 4 : i64} : tensor<1x4x2x16xf32>, tensor<1x4x2x4x6xf32>
  %g4 = rotary.hdd_rope %x, %a4 form = givens {chunk = 4 : i64} : tensor<1x4x2x16xf32>, tensor<1x4x2x4x6xf32>
  return %y4, %y8, %y16, %dx, %e4, %g4 : tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x32xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>
}

// -----

// Givens chains over rows (the structured op, after the lowering): a row
// group's feature is one vector of four registers, 64 rows with AVX-512,
// 32 with AVX2, 16 with SSE; the gradient's f64 tiles are a cache block of
// 64 rows on every target; chain-rows overrides both; the unlowered op gets
// none, and a recorded choice is kept.
// AVX512-LABEL: func.func @chain_rows(
// AVX512:       rotary.givens_rows {{.*}} {rotary.tiles = {rows = 64 : i64}}
// AVX512:       rotary.givens_rows {{.*}} {reverse, rotary.tiles = {rows = 64 : i64}}
// AVX512:       rotary.givens_rows {{.*}} {rotary.tiles = {rows = 8 : i64}}
// AVX512:       rotary.givens_rows_grad {{.*}} {rotary.tiles = {rows = 64 : i64}}
// AVX512-NOT:   rotary.tiles
// AVX512:       return
// AVX2-LABEL:   func.func @chain_rows(
// AVX2:         rotary.givens_rows {{.*}} {rotary.tiles = {rows = 32 : i64}}
// AVX2:         rotary.givens_rows {{.*}} {reverse, rotary.tiles = {rows = 32 : i64}}
// AVX2:         rotary.givens_rows_grad {{.*}} {rotary.tiles = {rows = 64 : i64}}
// SSE-LABEL:    func.func @chain_rows(
// SSE:          rotary.givens_rows {{.*}} {rotary.tiles = {rows = 16 : i64}}
// CHAIN-LABEL:  func.func @chain_rows(
// CHAIN:        rotary.givens_rows {{.*}} {rotary.tiles = {rows = 24 : i64}}
// CHAIN:        rotary.givens_rows {{.*}} {reverse, rotary.tiles = {rows = 24 : i64}}
// CHAIN:        rotary.givens_rows {{.*}} {rotary.tiles = {rows = 8 : i64}}
// CHAIN:        rotary.givens_rows_grad {{.*}} {rotary.tiles = {rows = 24 : i64}}
func.func @chain_rows(%x: tensor<?x1x64xf32>, %c: tensor<1x2016xf32>, %p: tensor<2016x2xindex>, %x2: tensor<?x64xf32>, %a: tensor<2016xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x64xf32>) {
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>) outs(%x : tensor<?x1x64xf32>) -> tensor<?x1x64xf32>
  %1 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>) outs(%x : tensor<?x1x64xf32>) {reverse} -> tensor<?x1x64xf32>
  %2 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>) outs(%x : tensor<?x1x64xf32>) {rotary.tiles = {rows = 8 : i64}} -> tensor<?x1x64xf32>
  %d64 = arith.constant dense<0.0> : tensor<1x2016xf64>
  %dx, %da = rotary.givens_rows_grad ins(%x, %x, %d64, %d64, %p : tensor<?x1x64xf32>, tensor<1x2016xf64>, tensor<2016x2xindex>) outs(%x, %d64 : tensor<?x1x64xf32>, tensor<1x2016xf64>) -> tensor<?x1x64xf32>, tensor<1x2016xf64>
  %3 = rotary.givens %x2, %a : tensor<?x64xf32>, tensor<2016xf32>
  return %0, %1, %2, %3 : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x64xf32>
}

// -----

// A rope gradient with parameter sums: 16 tokens of one batch entry per
// task on every target; rope-tokens overrides it; a recorded choice is
// kept.
// AVX512-LABEL: func.func @rope_tokens(
// AVX512:       rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 16 : i64}}
// AVX512:       rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 3 : i64}}
// AVX2-LABEL:   func.func @rope_tokens(
// AVX2:         rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 16 : i64}}
// SSE-LABEL:    func.func @rope_tokens(
// SSE:          rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 16 : i64}}
// TOKENS-LABEL: func.func @rope_tokens(
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 7 : i64}}
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 3 : i64}}
func.func @rope_tokens(%x: tensor<?x?x4x16xf32>, %c: tensor<?x8xf32>, %p: tensor<?xi64>, %s: tensor<8xf64>) -> (tensor<8xf64>, tensor<8xf64>) {
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  %dx2, %a2, %b2 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half {rotary.tiles = {tokens = 3 : i64}} -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  return %a, %b2 : tensor<8xf64>, tensor<8xf64>
}

// -----

// Running products: blocks of 64 steps on every target; scan-block
// overrides it; a recorded choice is kept.
// AVX512-LABEL: func.func @scan_block(
// AVX512:       rotary.rotation_scan {{.*}} {rotary.tiles = {block = 64 : i64}}
// AVX512:       rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
// SSE-LABEL:    func.func @scan_block(
// SSE:          rotary.rotation_scan {{.*}} {rotary.tiles = {block = 64 : i64}}
// SCAN-LABEL:   func.func @scan_block(
// SCAN:         rotary.rotation_scan {{.*}} {rotary.tiles = {block = 8 : i64}}
// SCAN:         rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
func.func @scan_block(%g: tensor<2x?x8x4x4xf32>, %c: tensor<2x8x4x4xf32>) -> (tensor<2x?x8x4x4xf32>, tensor<2x?x8x4x4xf32>) {
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x8x4x4xf32>) outs(%g, %c : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>
  %q, %carry2 = rotary.rotation_scan ins(%g : tensor<2x?x8x4x4xf32>) outs(%g, %c : tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>) {rotary.tiles = {block = 5 : i64}} -> tensor<2x?x8x4x4xf32>, tensor<2x8x4x4xf32>
  return %p, %q : tensor<2x?x8x4x4xf32>, tensor<2x?x8x4x4xf32>
}
