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
    - `orthogonal(givens(x, a), R)` (docs/Math.md §4) is run either as the chain
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

def RotaryGenerateGradients : Pass<"rotary-generate-gradients", "::mlir::ModuleOp"> {
  let summary = "Emit the backward functions of forward functions";
  let description = [{
    For a forward function `@f(args...) -> (results...)` this pass emits:
    - `@f_bwd(args..., cotangents...) -> (gradients...)`: recomputes what
      the backward needs from the arguments (one cotangent per result, one
      gradient per differentiable argument: a float tensor that reaches a
      differentiable operand, in argument order);
    - when the backward needs values that are not arguments,
      `@f_vjp(needed args..., needed results..., saved...,
      cotangents...) -> (gradients...)` (the backward that reads them), and
      when some are not results either, `@f_fwd(args...) -> (results...,
      saved...)` (the forward that keeps them).
    The forward function gets a `rotary.gradient` dictionary naming these
    functions, the inputs of the vjp and the argument each gradient belongs
    to; the bundle manifest copies it, so a runtime knows what to save.
    Gradients are the rotary gradient ops (RotaryGradOps.td); values used
    more than once accumulate with `arith.addf`.
    Without `functions`, every public function that has a differentiable
    argument, no `@<name>_bwd` yet, a name not ending in `_bwd`, `_fwd` or
    `_vjp`, and only differentiable ops on its path gets one; functions it cannot differentiate are left alone. A function
    named in `functions` that cannot be differentiated is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Forward functions to differentiate (default: all that can)">,
  ];
}

#endif // ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_TD
