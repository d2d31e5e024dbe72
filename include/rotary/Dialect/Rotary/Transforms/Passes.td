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
    - `rotation_block` is expanded into its parts.
    - `orthogonal(givens(x, a), R)` (SPEC §4) is run either as the chain
      applied per row followed by x·R ("chain"), or by folding
      Q = (∏G)·R once and multiplying x·Q ("fold"). Qᵀ is computed as the
      inverse chain applied to the E rows of Rᵀ (6·N·E flops per head), so
      with M rows, H heads, N rotations and R [D, E]:
        chain = M·(6N + 2DE),  fold = H·(6NE + 2DE) + 2MDE,
      and "fold" is chosen when it is cheaper, i.e. roughly when M > H·E.
      A dynamic row count counts as `dynamic-rows`. Folding needs static D
      and E and an f32 R (Q is computed in f32).
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
