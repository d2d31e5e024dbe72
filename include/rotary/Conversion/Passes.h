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
  /// The same choice for the gradients of Givens chains (givens_grad):
  /// folded, Q̄ = xᵀ·ȳ is summed over chunks of 1024 rows (a parallel
  /// dimension of the partial sums), then over the chunks.
  ChainStrategy gradChains = ChainStrategy::Auto;
  /// How the fused HDD-RoPE's gradient runs: `lanes`, the forward and
  /// reverse scans over T per chunk (rotary.hdd_rope_lanes_grad: P and W
  /// never leave registers, parallel over batch and chunks only), or
  /// `scan`, the unfused chain of gradient ops, whose cumulative products
  /// are blocked scans (rotary.rotation_scan: parallel over T too, at the
  /// price of writing and reading P). The forward is rotary.hdd_rope_lanes
  /// either way; a schedule runs it per lane or as a blocked scan.
  bool hddScan = false;
};

/// The rewrite patterns of convert-rotary-to-linalg.
void populateRotaryToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                    const LoweringOptions &options = {});

#define GEN_PASS_REGISTRATION
#include "rotary/Conversion/Passes.h.inc"

} // namespace rotary

#endif // ROTARY_CONVERSION_PASSES_H
