//===- Passes.td - rotary conversion passes ----------------*- tablegen -*-===//

#ifndef ROTARY_CONVERSION_PASSES_TD
#define ROTARY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertRotaryToLinalg : Pass<"convert-rotary-to-linalg"> {
  let summary = "Lower rotary ops to linalg, scf, tensor, arith and math";
  let description = [{
    Every forward op becomes destination-passing linalg.generic / scf code on
    tensors, or structured ops (attention: `rotary.online_attention`; its
    gradient: δ, then `rotary.online_attention_query_grad` and
    `rotary.online_attention_key_grad`; the fused Givens-form HDD-RoPE and
    its gradient: `rotary.hdd_rope_lanes`, `rotary.hdd_rope_lanes_grad`)
    that
    `rotary-tile-and-decompose` lowers once a target's schedule has chosen
    its tiles. Data are widened to f32 for the math and narrowed on store;
    RoPE's angle tables are computed once per (position, frequency) in f64
    and rounded to f32 (decision 0013), and reused across batch and heads.
    Givens chains run over row tiles kept in f32 (one parallel task per tile
    and head), so the chain never round-trips through bf16. An op without a
    lowering is reported as an error naming it.

    A Givens chain (`givens`, `rotation_block`) runs either as the chain per
    row or folded: Q = G_1⋯G_N computed once per head by running the chain
    over the rows of the identity, then one contraction x·Q (x·(Q·R) for
    the block). With M rows, H heads, N rotations and D features the chain
    costs 6·N flops per row and the fold H·6·N·D + 2·M·D² in all;
    `chain-strategy=auto` picks the cheaper from the real sizes, at compile
    time when they are static and at run time otherwise. The gradient
    (`givens_grad`) folds the same way (`chain-grad-strategy`): x̄ = ȳ·Qᵀ,
    and the chain's gradient over the identity's D rows with Q̄ = xᵀ·ȳ as
    their ȳ.

    The fused HDD-RoPE (`hdd_rope %x, %angles form = ...`) becomes
    `rotary.hdd_rope_lanes`, which a schedule runs as one scan over T per
    chunk (`{lanes}`, the CPU's) or as a blocked scan (`{block}`, the
    GPU's). Its gradient becomes `rotary.hdd_rope_lanes_grad`
    (`hdd-strategy=lanes`, the default: the forward and reverse scans per
    chunk, parallel over batch entries and chunks) or, with
    `hdd-strategy=scan`, the unfused chain of gradient ops, whose
    cumulative products are `rotary.rotation_scan`s that a schedule splits
    into blocked scans (parallel over blocks of T): the chunks are too few
    to fill a GPU (B·H·C of them), so the GPU pipeline takes `scan`. An
    exp-form chunk larger than the lane kernels unroll runs unfused either
    way.
    Givens-form generators and their gradients with chunks larger than 8
    run a task per row of G (rows are independent under the rotations).
  }];
  let options = [
    Option<"chainStrategy", "chain-strategy", "std::string",
           /*default=*/"\"auto\"",
           "How Givens chains run: auto (cost model), chain or fold">,
    Option<"chainGradStrategy", "chain-grad-strategy", "std::string",
           /*default=*/"\"auto\"",
           "How the gradients of Givens chains run: auto (cost model), "
           "chain or fold">,
    Option<"hddStrategy", "hdd-strategy", "std::string",
           /*default=*/"\"lanes\"",
           "How the fused HDD-RoPE's gradient runs: lanes (the scans over "
           "T per chunk, P kept in registers) or scan (the unfused chain of "
           "gradient ops, blocked scans over T)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def RotaryTileAndDecompose : Pass<"rotary-tile-and-decompose"> {
  let summary = "Tile the structured rotary ops by their recorded tiles and "
                "decompose each tile into linalg";
  let description = [{
    The second half of the lowering, after a target's schedule has chosen
    the tiles (`rotary.tiles` on each structured op, see
    `rotary-cpu-configure`). Each structured op is tiled through its
    TilingInterface into one `scf.forall` over its parallel dimensions:
    `rotary.online_attention` and the gradient's key pass by one batch
    entry, one head and `query` queries (keys), the gradient's query pass
    by one head and `query` queries (it sums the batch inside a task),
    the HDD-RoPE lane ops by one batch entry and `lanes` lanes.
    Then every tile, which is the same op on slices, is decomposed into
    linalg, scf and tensor ops: per (b, h) of the tile, FlashAttention's
    loop over tiles of `key` keys (queries, in the key pass) with an online
    softmax, or the gradient's products, all contractions that the CPU
    schedule tiles into register blocks. Nothing here depends on a target:
    the tile sizes are the schedule's, and a target maps the `scf.forall`
    to its parallelism (threads on the CPU). An op without its tiles is an
    error naming the op and the expected attribute. With `tile=false` the
    ops are decomposed whole (a block of several batch entries or heads
    loops over them), which isolates the decomposition for tests and for
    a target that tiles by other means.
  }];
  let options = [
    Option<"tile", "tile", "bool", /*default=*/"true",
           "Tile by the recorded sizes before decomposing">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

#endif // ROTARY_CONVERSION_PASSES_TD
