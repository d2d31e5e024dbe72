// RUN: rotary-opt %s -rotary-gpu-configure | FileCheck %s
// RUN: rotary-opt %s -rotary-gpu-configure=rope-tokens=32 | FileCheck %s --check-prefix=TOKENS
// RUN: not rotary-opt %s -rotary-gpu-configure=rope-tokens=0 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: rotary-opt %s -rotary-gpu-configure=scan-block=8 | FileCheck %s --check-prefix=BLOCK
// RUN: not rotary-opt %s -rotary-gpu-configure=scan-block=-1 2>&1 | FileCheck %s --check-prefix=BADBLOCK
// RUN: rotary-opt %s -rotary-gpu-configure=attention-tile=24 | FileCheck %s --check-prefix=ATILE
// RUN: not rotary-opt %s -rotary-gpu-configure=attention-tile=-3 2>&1 | FileCheck %s --check-prefix=BADTILE

// rotary-gpu-configure (lib/Pipelines/GpuSchedule.cpp): a rope gradient
// with parameter sums gets blocks of 16 tokens of one batch entry;
// rope-tokens overrides it; a recorded choice is kept.
// CHECK-LABEL:  func.func @rope_tokens(
// CHECK:        rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 16 : i64}}
// CHECK:        rotary.rope_tokens_grad {{.*}} layout = half {rotary.tiles = {tokens = 3 : i64}}
// TOKENS-LABEL: func.func @rope_tokens(
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 32 : i64}}
// TOKENS:       rotary.rope_tokens_grad {{.*}} {rotary.tiles = {tokens = 3 : i64}}
// BAD:          error: rotary-gpu-configure: rope-tokens 0 is not positive
func.func @rope_tokens(%x: tensor<?x?x4x16xf32>, %c: tensor<?x8xf32>, %p: tensor<?xi64>, %s: tensor<8xf64>) -> (tensor<8xf64>, tensor<8xf64>) {
  %dx, %a, %b = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  %dx2, %a2, %b2 = rotary.rope_tokens_grad ins(%x, %x, %c, %c, %p : tensor<?x?x4x16xf32>, tensor<?x8xf32>, tensor<?xi64>) outs(%x, %s, %s : tensor<?x?x4x16xf32>, tensor<8xf64>) layout = half {rotary.tiles = {tokens = 3 : i64}} -> tensor<?x?x4x16xf32>, tensor<8xf64>, tensor<8xf64>
  return %a, %b2 : tensor<8xf64>, tensor<8xf64>
}

// A scan gets blocks of 32 steps (a thread's), scan-block overrides it, a
// recorded choice is kept.
// CHECK-LABEL:  func.func @scan(
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 32 : i64}}
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
// BLOCK-LABEL:  func.func @scan(
// BLOCK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 8 : i64}}
// BLOCK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 5 : i64}}
// BADBLOCK:     error: rotary-gpu-configure: scan-block -1 is not positive
func.func @scan(%g: tensor<2x?x3x4x4xf32>, %c: tensor<2x3x4x4xf32>) -> (tensor<2x?x3x4x4xf32>, tensor<2x?x3x4x4xf32>) {
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x3x4x4xf32>) outs(%g, %c : tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>) -> tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>
  %p2, %carry2 = rotary.rotation_scan ins(%g : tensor<2x?x3x4x4xf32>) outs(%g, %c : tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>) {rotary.tiles = {block = 5 : i64}} -> tensor<2x?x3x4x4xf32>, tensor<2x3x4x4xf32>
  return %p, %p2 : tensor<2x?x3x4x4xf32>, tensor<2x?x3x4x4xf32>
}

// Chunks larger than 8: a thread takes R rows of a product, the most that
// divide c and fit in 32 values (2 at c = 16, 1 at c = 11 and c = 32).
// CHECK-LABEL:  func.func @scan_rows(
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 32 : i64, rows = 2 : i64}}
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 32 : i64, rows = 1 : i64}}
// CHECK:        rotary.rotation_scan {{.*}} {rotary.tiles = {block = 32 : i64, rows = 1 : i64}}
func.func @scan_rows(%g: tensor<2x?x3x16x16xf32>, %c: tensor<2x3x16x16xf32>, %g11: tensor<1x?x1x11x11xf32>, %c11: tensor<1x1x11x11xf32>, %g32: tensor<1x?x1x32x32xf32>, %c32: tensor<1x1x32x32xf32>) -> (tensor<2x?x3x16x16xf32>, tensor<1x?x1x11x11xf32>, tensor<1x?x1x32x32xf32>) {
  %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x3x16x16xf32>) outs(%g, %c : tensor<2x?x3x16x16xf32>, tensor<2x3x16x16xf32>) -> tensor<2x?x3x16x16xf32>, tensor<2x3x16x16xf32>
  %p11, %carry11 = rotary.rotation_scan ins(%g11 : tensor<1x?x1x11x11xf32>) outs(%g11, %c11 : tensor<1x?x1x11x11xf32>, tensor<1x1x11x11xf32>) -> tensor<1x?x1x11x11xf32>, tensor<1x1x11x11xf32>
  %p32, %carry32 = rotary.rotation_scan ins(%g32 : tensor<1x?x1x32x32xf32>) outs(%g32, %c32 : tensor<1x?x1x32x32xf32>, tensor<1x1x32x32xf32>) -> tensor<1x?x1x32x32xf32>, tensor<1x1x32x32xf32>
  return %p, %p11, %p32 : tensor<2x?x3x16x16xf32>, tensor<1x?x1x11x11xf32>, tensor<1x?x1x32x32xf32>
}

// The fused HDD-RoPE's blocked scan takes rows the same way: all of P up
// to c = 8, 3 rows at c = 9, 2 at c = 16.
// CHECK-LABEL:  func.func @lanes_rows(
// CHECK:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {block = 32 : i64}}
// CHECK:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {block = 32 : i64, rows = 3 : i64}}
// CHECK:        rotary.hdd_rope_lanes {{.*}}rotary.tiles = {block = 32 : i64, rows = 2 : i64}}
func.func @lanes_rows(%x8: tensor<1x?x16xf32>, %a8: tensor<1x?x56xf32>, %x9: tensor<1x?x18xf32>, %a9: tensor<1x?x72xf32>, %x16: tensor<1x?x32xf32>, %a16: tensor<1x?x240xf32>) -> (tensor<1x?x16xf32>, tensor<1x?x18xf32>, tensor<1x?x32xf32>) {
  %l = arith.constant 0 : index
  %y8 = rotary.hdd_rope_lanes ins(%x8, %a8 : tensor<1x?x16xf32>, tensor<1x?x56xf32>) first_lane(%l) outs(%x8 : tensor<1x?x16xf32>) {chunk = 8 : i64} -> tensor<1x?x16xf32>
  %y9 = rotary.hdd_rope_lanes ins(%x9, %a9 : tensor<1x?x18xf32>, tensor<1x?x72xf32>) first_lane(%l) outs(%x9 : tensor<1x?x18xf32>) {chunk = 9 : i64} -> tensor<1x?x18xf32>
  %y16 = rotary.hdd_rope_lanes ins(%x16, %a16 : tensor<1x?x32xf32>, tensor<1x?x240xf32>) first_lane(%l) outs(%x16 : tensor<1x?x32xf32>) {chunk = 16 : i64} -> tensor<1x?x32xf32>
  return %y8, %y9, %y16 : tensor<1x?x16xf32>, tensor<1x?x18xf32>, tensor<1x?x32xf32>
}

// Attention and its gradient's passes get square tiles, the largest of 32,
// 16, 8 and 4 whose f32 buffers fit in 48 KiB of shared memory at the
// head dimension: D = 64, 32 for all three; D = 128, 16 (the key pass too,
// whose five [t, D] buffers would need 85 KiB at 32); D = 256, 8.
// attention-tile overrides it; a recorded choice is kept.
// CHECK-LABEL:  func.func @attention(
// CHECK:        rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 32 : i64, query = 32 : i64}}
// CHECK:        rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 16 : i64, query = 16 : i64}}
// CHECK:        rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 8 : i64, query = 8 : i64}}
// CHECK:        rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}}
// CHECK:        rotary.online_attention_query_grad {{.*}} {causal, rotary.tiles = {key = 16 : i64, query = 16 : i64}}
// CHECK:        rotary.online_attention_key_grad {{.*}} {causal, rotary.tiles = {key = 16 : i64, query = 16 : i64}}
// CHECK:        rotary.online_attention_key_grad {{.*}} {causal, rotary.tiles = {key = 32 : i64, query = 32 : i64}}
// ATILE-LABEL:  func.func @attention(
// ATILE-COUNT-3: rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 24 : i64, query = 24 : i64}}
// ATILE:        rotary.online_attention {{.*}} {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}}
// BADTILE:      error: rotary-gpu-configure: attention-tile -3 is negative
func.func @attention(%q: tensor<1x2x40x64xf32>, %q2: tensor<1x2x40x128xf32>, %q3: tensor<1x2x40x256xf32>,
                     %l: tensor<1x2x40xf32>, %p: index) -> (tensor<1x2x40x64xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x256xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x64xf32>) {
  %o, %lse = rotary.online_attention ins(%q, %q, %q : tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>) first_position(%p) outs(%q, %l : tensor<1x2x40x64xf32>, tensor<1x2x40xf32>) {causal} -> tensor<1x2x40x64xf32>, tensor<1x2x40xf32>
  %o2, %lse2 = rotary.online_attention ins(%q2, %q2, %q2 : tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>) first_position(%p) outs(%q2, %l : tensor<1x2x40x128xf32>, tensor<1x2x40xf32>) {causal} -> tensor<1x2x40x128xf32>, tensor<1x2x40xf32>
  %o3, %lse3 = rotary.online_attention ins(%q3, %q3, %q3 : tensor<1x2x40x256xf32>, tensor<1x2x40x256xf32>, tensor<1x2x40x256xf32>) first_position(%p) outs(%q3, %l : tensor<1x2x40x256xf32>, tensor<1x2x40xf32>) {causal} -> tensor<1x2x40x256xf32>, tensor<1x2x40xf32>
  %o4, %lse4 = rotary.online_attention ins(%q, %q, %q : tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>) first_position(%p) outs(%q, %l : tensor<1x2x40x64xf32>, tensor<1x2x40xf32>) {causal, rotary.tiles = {key = 5 : i64, query = 7 : i64}} -> tensor<1x2x40x64xf32>, tensor<1x2x40xf32>
  %dq = rotary.online_attention_query_grad ins(%q2, %q2, %q2, %q2, %l, %l : tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40xf32>) first_position(%p) outs(%q2 : tensor<1x2x40x128xf32>) {causal} -> tensor<1x2x40x128xf32>
  %dk:2 = rotary.online_attention_key_grad ins(%q2, %q2, %q2, %q2, %l, %l : tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40xf32>) first_position(%p) first_key(%p) outs(%q2, %q2 : tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>) {causal} -> tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>
  %dk2:2 = rotary.online_attention_key_grad ins(%q, %q, %q, %q, %l, %l : tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40xf32>) first_position(%p) first_key(%p) outs(%q, %q : tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>) {causal} -> tensor<1x2x40x64xf32>, tensor<1x2x40x64xf32>
  return %o, %o2, %o3, %o4, %dq, %dk#0, %dk2#0 : tensor<1x2x40x64xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x256xf32>, tensor<1x2x40x64xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x128xf32>, tensor<1x2x40x64xf32>
}

// A Givens chain gets groups of 64 rows, a thread per row, halved until
// the column-major tile [D, rows + 1] (with a matrix, and the product
// [rows, D]) fits in 48 KiB: D = 64 and 128, 64; D = 256, 32; D = 128
// with a matrix, 32. A recorded group keeps its rows.
// CHECK-LABEL:  func.func @givens_rows(
// CHECK:        rotary.givens_rows {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 64 : i64}}
// CHECK:        rotary.givens_rows {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 64 : i64}}
// CHECK:        rotary.givens_rows {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 32 : i64}}
// CHECK:        rotary.givens_rows {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 32 : i64}}
// CHECK:        rotary.givens_rows {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 7 : i64}}
func.func @givens_rows(%x: tensor<?x1x64xf32>, %x2: tensor<?x1x128xf32>, %x3: tensor<?x1x256xf32>,
                       %c: tensor<1x10xf32>, %p: tensor<10x2xindex>, %r: tensor<128x128xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x1x128xf32>, tensor<?x1x256xf32>, tensor<?x1x128xf32>, tensor<?x1x64xf32>) {
  %y = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<10x2xindex>) outs(%x : tensor<?x1x64xf32>) -> tensor<?x1x64xf32>
  %y2 = rotary.givens_rows ins(%x2, %c, %c, %p : tensor<?x1x128xf32>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<10x2xindex>) outs(%x2 : tensor<?x1x128xf32>) -> tensor<?x1x128xf32>
  %y3 = rotary.givens_rows ins(%x3, %c, %c, %p : tensor<?x1x256xf32>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<10x2xindex>) outs(%x3 : tensor<?x1x256xf32>) -> tensor<?x1x256xf32>
  %y4 = rotary.givens_rows ins(%x2, %c, %c, %p : tensor<?x1x128xf32>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<10x2xindex>) matrix(%r : tensor<128x128xf32>) outs(%x2 : tensor<?x1x128xf32>) -> tensor<?x1x128xf32>
  %y5 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<10x2xindex>) outs(%x : tensor<?x1x64xf32>) {rotary.tiles = {rows = 7 : i64}} -> tensor<?x1x64xf32>
  return %y, %y2, %y3, %y4, %y5 : tensor<?x1x64xf32>, tensor<?x1x128xf32>, tensor<?x1x256xf32>, tensor<?x1x128xf32>, tensor<?x1x64xf32>
}

// Its gradient holds the x and ȳ tiles [D, rows + 1] and a chunk of 32
// rotations' terms [32, rows + 1]: D = 64, 64 rows (41600 bytes); D = 128,
// 32; D = 256, 16.
// CHECK-LABEL:  func.func @givens_rows_grad(
// CHECK:        rotary.givens_rows_grad {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 64 : i64, steps = 32 : i64}}
// CHECK:        rotary.givens_rows_grad {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 32 : i64, steps = 32 : i64}}
// CHECK:        rotary.givens_rows_grad {{.*}} {rotary.tiles = {row_threads = 1 : i64, rows = 16 : i64, steps = 32 : i64}}
func.func @givens_rows_grad(%x: tensor<?x1x64xf32>, %x2: tensor<?x1x128xf32>, %x3: tensor<?x1x256xf32>,
                            %c: tensor<1x10xf64>, %p: tensor<10x2xindex>)
    -> (tensor<?x1x64xf32>, tensor<?x1x128xf32>, tensor<?x1x256xf32>) {
  %dx, %da = rotary.givens_rows_grad ins(%x, %x, %c, %c, %p : tensor<?x1x64xf32>, tensor<1x10xf64>, tensor<10x2xindex>) outs(%x, %c : tensor<?x1x64xf32>, tensor<1x10xf64>) -> tensor<?x1x64xf32>, tensor<1x10xf64>
  %dx2, %da2 = rotary.givens_rows_grad ins(%x2, %x2, %c, %c, %p : tensor<?x1x128xf32>, tensor<1x10xf64>, tensor<10x2xindex>) outs(%x2, %c : tensor<?x1x128xf32>, tensor<1x10xf64>) -> tensor<?x1x128xf32>, tensor<1x10xf64>
  %dx3, %da3 = rotary.givens_rows_grad ins(%x3, %x3, %c, %c, %p : tensor<?x1x256xf32>, tensor<1x10xf64>, tensor<10x2xindex>) outs(%x3, %c : tensor<?x1x256xf32>, tensor<1x10xf64>) -> tensor<?x1x256xf32>, tensor<1x10xf64>
  return %dx, %dx2, %dx3 : tensor<?x1x64xf32>, tensor<?x1x128xf32>, tensor<?x1x256xf32>
}
