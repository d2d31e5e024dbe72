//===- Passes.td - rotary dialect passes -------------------*- tablegen -*-===//

#ifndef ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_TD
#define ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def RotaryFuseRotations : Pass<"rotary-fuse-rotations"> {
  let summary = "Fuse rotation chains and pick how to run Givens chains + R";
  let description = [{
    - `so_generator → cumulative_rotation (axis 1) → hdd_rope` becomes the
      fused `hdd_rope %x, %angles form = ...`, whose kernel keeps P in
      registers while it scans; every hdd_rope that uses the same P is fused
      (queries and keys), and P is never materialised.
    - `orthogonal(givens(x, a), R)` (SPEC §4) is run either as the chain
      applied per row followed by x·R ("chain"), or by folding
      Q = (∏G)·R once and multiplying x·Q ("fold"). Qᵀ is computed as the
      inverse chain applied to the E rows of Rᵀ (6·N·E flops per head), so
      with M rows, H heads, N rotations and R [D, E]:
        chain = M·(6N + 2DE),  fold = H·(6NE + 2DE) + 2MDE,
      and "fold" is chosen when it is cheaper, i.e. roughly when M > H·E.
      A dynamic row count counts as `dynamic-rows`. Folding needs static D
      and E and an f32 R (Q is computed in f32).
    - A chain that stays a chain, `[rope →] givens → orthogonal` with a
      static square R (y of x's type), becomes one `rotation_block`, which
      the lowering runs as one kernel per row tile (one read of x, one
      write of y). The rope is absorbed when the block can express it
      (attribute frequencies, not `inverse`) and has no other user.
    - A `rotation_block` whose chain the model folds is expanded into
      `[rope →] givens → orthogonal` and folded; otherwise it stays one op.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"strategy", "strategy", "std::string", /*default=*/"\"auto\"",
           "How to run Givens chains followed by a matrix: auto (cost "
           "model), chain or fold">,
    Option<"dynamicRows", "dynamic-rows", "int64_t", /*default=*/"65536",
           "Row count the cost model assumes when it is dynamic">,
  ];
}

#endif // ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_TD
