//===- Passes.h - rotary conversion passes ----------------------*- C++ -*-===//
#ifndef ROTARY_CONVERSION_PASSES_H
#define ROTARY_CONVERSION_PASSES_H

#include "rotary/Dialect/Rotary/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace rotary {

#define GEN_PASS_DECL
#include "rotary/Conversion/Passes.h.inc"

/// Tile sizes chosen by a target's schedule for a structured op (read by
/// rotary-tile-and-decompose), a dictionary of i64: {query = Q, key = K} on
/// online_attention and the two passes of its gradient (FlashAttention's
/// tile pairs), {lanes = N} on hdd_rope_lanes and its gradient (chunks per
/// task). rotary-cpu-configure sets them for the CPU; one on a rotary op
/// before the lowering (an experiment's choice) is carried over.
constexpr const char *kTilesAttr = "rotary.tiles";

/// What the rewrite patterns of convert-rotary-to-linalg may be told.
struct LoweringOptions {
  ChainStrategy chains = ChainStrategy::Auto;
};

/// The rewrite patterns of convert-rotary-to-linalg.
void populateRotaryToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                    const LoweringOptions &options = {});

/// A shape rule of a rotary op that only the run time can check (it involves
/// a dynamic size): `ok` is an i1 computed from tensor.dim of the operands.
struct RuntimeCheck {
  mlir::Value ok;
  std::string message;
};

/// Emits, at the builder's point, the run-time checks of `op` (nothing for
/// ops whose rules are all decided statically). Messages name the op, its
/// source location, the operand and the rule.
void emitRuntimeChecks(mlir::Operation *op, mlir::OpBuilder &b,
                       llvm::SmallVectorImpl<RuntimeCheck> &checks);

#define GEN_PASS_REGISTRATION
#include "rotary/Conversion/Passes.h.inc"

} // namespace rotary

#endif // ROTARY_CONVERSION_PASSES_H
