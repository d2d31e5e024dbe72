//===- TileAndDecompose.cpp - the rotary-tile-and-decompose pass ----------===//
//
// Tiles each structured op by the sizes its target's schedule recorded,
// through TilingInterface (scf::tileUsingSCF into scf.forall), then
// decomposes the tiles. The tiling is generic; what is per op is only which
// recorded size tiles which dimension of the iteration domain.
//
//===----------------------------------------------------------------------===//

#include "AttentionTiles.h"
#include "ChainCommon.h"
#include "HDDCommon.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Transforms/DialectConversion.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYTILEANDDECOMPOSE
#include "rotary/Conversion/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
/// The tile of each dimension of `op`'s iteration domain (0: not tiled).
FailureOr<SmallVector<int64_t>> parallelTiles(Operation *op) {
  if (isa<OnlineAttentionOp, OnlineAttentionQueryGradOp,
          OnlineAttentionKeyGradOp, OnlineAttentionGradOp>(op)) {
    FailureOr<AttentionTileSizes> tiles = attentionTileSizes(op);
    if (failed(tiles))
      return failure();
    // The fused gradient: one (b, h) per task, or one h and every b when
    // the bias and span partials sum over the batch (a reduction).
    if (auto fused = dyn_cast<OnlineAttentionGradOp>(op))
      return SmallVector<int64_t>{fused.getBias() || fused.getSpan() ? 0 : 1,
                                  1};
    // The gradient's query pass over (h, queries) sums the batch inside a
    // task; the others over (b, h, queries or keys), one (b, h) per task.
    // Every product of a task has `query` rows (queries, or keys in the
    // key pass, whose products are transposed).
    if (isa<OnlineAttentionQueryGradOp>(op))
      return SmallVector<int64_t>{1, tiles->query};
    return SmallVector<int64_t>{1, 1, tiles->query};
  }
  if (isa<HDDRopeLanesOp, HDDRopeLanesGradOp>(op)) {
    // (b, lanes): one batch entry and `lanes` lanes per task.
    FailureOr<int64_t> lanes = hdd::lanesPerTask(op);
    if (failed(lanes) ||
        (isa<HDDRopeLanesGradOp>(op) && failed(hdd::checkpointInterval(op))))
      return failure();
    return SmallVector<int64_t>{1, *lanes};
  }
  if (isa<GivensRowsOp, GivensRowsGradOp>(op)) {
    // (rows, heads): one group of the schedule's rows of one head per task.
    // The gradient's rows are a reduction (ψ̄), tiled into partial sums,
    // which MLIR's tiling does not combine with tiling the heads: a task
    // takes every head of its rows.
    FailureOr<int64_t> rows = chainRowsPerGroup(op);
    if (failed(rows))
      return failure();
    return SmallVector<int64_t>{*rows, isa<GivensRowsGradOp>(op) ? 0 : 1};
  }
  if (isa<RopeTokensGradOp>(op)) {
    // (b, t): one batch entry and `tokens` tokens per task, both reductions
    // for the parameter sums (partial sums per task).
    FailureOr<SmallVector<int64_t>> tokens = recordedTiles(
        op, {"tokens"}, "tokens per task", "{tokens = N} with N > 0");
    if (failed(tokens))
      return failure();
    return SmallVector<int64_t>{1, tokens->front()};
  }
  return op->emitOpError("has no tiling in rotary-tile-and-decompose");
}

struct TileAndDecomposePass
    : rotary::impl::RotaryTileAndDecomposeBase<TileAndDecomposePass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<TilingInterface> ops;
    getOperation()->walk([&](TilingInterface op) {
      if (op->getDialect() == ctx->getLoadedDialect<RotaryDialect>())
        ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (TilingInterface op : ops) {
      // A scan's steps run as a blocked scan of `block` steps per block,
      // with `rows` rows of a product per task when the target asks.
      if (auto scan = dyn_cast<RotationScanOp>(op.getOperation())) {
        FailureOr<SmallVector<int64_t>> block = recordedTiles(
            op, {"block"}, "steps per block", "{block = K} with K > 0");
        FailureOr<SmallVector<int64_t>> rows = SmallVector<int64_t>{0};
        if (hasTile(op, "rows"))
          rows = recordedTiles(op, {"rows"}, "rows per task",
                               "{rows = R} with R > 0");
        if (failed(block) || failed(rows) ||
            (tile && failed(hdd::splitScan(rewriter, scan, block->front(),
                                           rows->front()))))
          return signalPassFailure();
        continue;
      }
      // A fused HDD-RoPE with `block` tokens per block (a GPU's choice) runs
      // as a blocked scan instead of a scan per lane.
      if (auto lanesOp = dyn_cast<HDDRopeLanesOp>(op.getOperation());
          lanesOp && hasTile(op, "block")) {
        FailureOr<SmallVector<int64_t>> block = recordedTiles(
            op, {"block"}, "tokens per block", "{block = K} with K > 0");
        FailureOr<SmallVector<int64_t>> rows = SmallVector<int64_t>{0};
        if (hasTile(op, "rows"))
          rows = recordedTiles(op, {"rows"}, "rows per task",
                               "{rows = R} with R > 0");
        if (failed(block) || failed(rows) ||
            (tile && failed(hdd::splitLaneScan(rewriter, lanesOp,
                                               block->front(), rows->front()))))
          return signalPassFailure();
        continue;
      }
      // Checked even when not tiling: the decomposition needs the tiles.
      FailureOr<SmallVector<int64_t>> tiles = parallelTiles(op);
      if (failed(tiles))
        return signalPassFailure();
      if (!tile)
        continue;
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(ctx, *tiles));
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      // The chain gradient's rows are a reduction for ψ̄: every task adds
      // into its own row of partial sums, merged after the loop.
      // So are a rope gradient's batch and tokens for its parameter sums.
      if (isa<GivensRowsGradOp, RopeTokensGradOp>(op)) {
        SmallVector<unsigned> dims = {0};
        if (isa<RopeTokensGradOp>(op))
          dims.push_back(1);
        options
            .setReductionTilingStrategy(
                ReductionTilingStrategy::PartialReductionOuterParallel)
            .setReductionDims(dims);
      }
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, op, options);
      if (failed(tiled)) {
        op->emitOpError("could not be tiled by ") << *tiles;
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
    RewritePatternSet patterns(ctx);
    populateAttentionDecompositionPatterns(patterns);
    populateAttentionGradDecompositionPatterns(patterns);
    populateHDDDecompositionPatterns(patterns);
    populateScanDecompositionPatterns(patterns);
    populateHDDGradDecompositionPatterns(patterns);
    populateChainDecompositionPatterns(patterns);
    populateRopeGradDecompositionPatterns(patterns);
    ConversionTarget target(*ctx);
    target.addIllegalOp<OnlineAttentionOp, OnlineAttentionQueryGradOp,
                        OnlineAttentionKeyGradOp, OnlineAttentionGradOp,
                        HDDRopeLanesOp, HDDRopeLanesGradOp, GivensRowsOp,
                        GivensRowsGradOp, RopeTokensGradOp, RotationScanOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
