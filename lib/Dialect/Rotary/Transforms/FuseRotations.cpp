//===- FuseRotations.cpp - fuse rotation chains ---------------------------===//
//
// Dialect-level fusion decisions (Math §4, §5). The lowering then emits one
// kernel per fused op.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSwitch.h"

#include <limits>

namespace rotary {
#define GEN_PASS_DEF_ROTARYFUSEROTATIONS
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

bool rotary::shouldFoldChainIntoMatrix(int64_t rows, int64_t heads, int64_t n,
                                       int64_t d, int64_t e) {
  // Flops: a rotation is 4 mul + 2 add per row; x·R is 2·D·E per row. Folding
  // runs the chain over the E rows of Rᵀ and transposes R and Qᵀ (D·E moves
  // per head each, counted like flops).
  double m = rows, h = heads, nn = n, dd = d, ee = e;
  double chain = m * (6 * nn + 2 * dd * ee);
  double fold = h * (6 * nn * ee + 2 * dd * ee) + 2 * m * dd * ee;
  return fold < chain;
}

namespace {
using Strategy = ChainStrategy;

/// hdd_rope(x, cumulative_rotation(so_generator(a))) -> hdd_rope(x, a, form).
struct FuseHDDRopeChain : OpRewritePattern<HDDRopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HDDRopeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isFused())
      return rewriter.notifyMatchFailure(op, "already fused");
    auto scan = op.getRotation().getDefiningOp<CumulativeRotationOp>();
    if (!scan || scan.getAxis() != 1)
      return rewriter.notifyMatchFailure(op, "P is not a scan along T");
    auto gen = scan.getRotations().getDefiningOp<SOGeneratorOp>();
    if (!gen)
      return rewriter.notifyMatchFailure(op, "G is not an so_generator");
    // Fuse only when P feeds hdd_rope ops alone: otherwise P is needed in
    // memory anyway and recomputing the scan would not save traffic.
    if (!llvm::all_of(scan->getUsers(),
                      [](Operation *u) { return isa<HDDRopeOp>(u); }))
      return rewriter.notifyMatchFailure(op, "P has other users");
    rewriter.replaceOpWithNewOp<HDDRopeOp>(op, op.getX(), gen.getAngles(),
                                           gen.getChunk(), gen.getForm(),
                                           op.getInverse());
    return success();
  }
};

/// The backward of FuseHDDRopeChain:
///   so_generator_grad(a, cumulative_rotation_grad(G, dP)), with
///   dP = hdd_rope_grad(x, P, dy)'s dP, P = cumulative_rotation(G) along T
///   and G = so_generator(a)
/// -> hdd_rope_grad(x, a, dy) in the fused form (dx and da), which never
/// stores P, dP or dG. The unfused forward ops it leaves unused go away.
struct FuseHDDRopeGradChain : OpRewritePattern<SOGeneratorGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SOGeneratorGradOp op,
                                PatternRewriter &rewriter) const override {
    auto scanGrad = op.getDresult().getDefiningOp<CumulativeRotationGradOp>();
    if (!scanGrad || scanGrad.getAxis() != 1 || !scanGrad->hasOneUse())
      return rewriter.notifyMatchFailure(op, "dG is not a scan gradient");
    auto hddGrad = scanGrad.getDresult().getDefiningOp<HDDRopeGradOp>();
    if (!hddGrad || hddGrad.isFused() || !hddGrad.getDrotation().hasOneUse())
      return rewriter.notifyMatchFailure(op, "dP is not hdd_rope_grad's");
    auto gen = scanGrad.getRotations().getDefiningOp<SOGeneratorOp>();
    if (!gen || gen.getAngles() != op.getAngles() ||
        gen.getChunk() != op.getChunk() || gen.getForm() != op.getForm())
      return rewriter.notifyMatchFailure(op, "G is not so_generator(a)");
    auto scan = hddGrad.getRotation().getDefiningOp<CumulativeRotationOp>();
    if (!scan || scan.getRotations() != gen.getResult() || scan.getAxis() != 1)
      return rewriter.notifyMatchFailure(op, "P is not the scan of G");
    auto fused = HDDRopeGradOp::create(
        rewriter, op.getLoc(), hddGrad.getX(), op.getAngles(), hddGrad.getDy(),
        op.getChunkAttr(), op.getFormAttr(), hddGrad.getInverseAttr());
    rewriter.replaceAllUsesWith(hddGrad.getDx(), fused.getDx());
    rewriter.replaceOp(op, fused.getDrotation());
    return success();
  }
};

/// Whether x·(∏G)·R, with x [..., D], R [D, E] or [H, D, E] and angles [N]
/// or [H, N], runs folded (Q = (∏G)·R once, then x·Q) rather than as the
/// chain per row. `pairsKnown`: the pairs are known at compile time. Fails
/// with the reason when it does not fold.
LogicalResult chooseFold(RankedTensorType x, RankedTensorType r,
                         RankedTensorType angles, bool pairsKnown,
                         Strategy strategy, int64_t dynamicRows,
                         std::string &reason) {
  if (strategy == Strategy::Chain)
    return reason = "strategy=chain", failure();
  int64_t d = x.getShape().back();
  int64_t e = r.getShape().back();
  int64_t n = angles.getShape().back();
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(e) ||
      !r.getElementType().isF32())
    return reason = "needs static D, E and f32 R", failure();
  bool perHead = r.getRank() == 3;
  // Per-head chains with one shared R (or the converse) cannot fold into
  // one Q per head without broadcasting; keep them as a chain.
  if (perHead != (angles.getRank() == 2))
    return reason = "mixed per-head operands", failure();
  if (!pairsKnown)
    return reason = "pairs not known", failure();
  if (strategy == Strategy::Auto) {
    int64_t heads = perHead ? r.getDimSize(0) : 1;
    if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(n))
      return reason = "cost model needs H and N", failure();
    uint64_t rows = 1;
    for (int64_t s : x.getShape().drop_back())
      rows = llvm::SaturatingMultiply<uint64_t>(
          rows, ShapedType::isDynamic(s) ? dynamicRows : s);
    rows = std::min<uint64_t>(rows, std::numeric_limits<int64_t>::max());
    if (!shouldFoldChainIntoMatrix(rows, heads, n, d, e))
      return reason = "cost model keeps the chain", failure();
  }
  return success();
}

/// The plain x·(∏G)·R chain ending at `op`, if it is one.
GivensOp chainOf(OrthogonalOp op) {
  auto chain = op.getX().getDefiningOp<GivensOp>();
  if (!chain || chain.getInverse() || op.getTranspose() || !chain->hasOneUse())
    return {};
  return chain;
}

/// orthogonal(givens(x, a), R) -> orthogonal(x, givens(Rᵀ, a, inverse),
/// transpose) when the cost model (or the strategy) says so:
/// Qᵀ = (G_1⋯G_N·R)ᵀ = Rᵀ·G_Nᵀ⋯G_1ᵀ, and x·Q = orthogonal(x, Qᵀ) transposed.
struct FoldChainIntoMatrix : OpRewritePattern<OrthogonalOp> {
  FoldChainIntoMatrix(MLIRContext *ctx, Strategy strategy, int64_t dynamicRows)
      : OpRewritePattern(ctx), strategy(strategy), dynamicRows(dynamicRows) {}

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    GivensOp chain = chainOf(op);
    if (!chain)
      return rewriter.notifyMatchFailure(op, "not x·(∏G)·R");
    FailureOr<SmallVector<int64_t>> pairs = chain.getEffectivePairs();
    std::string reason;
    if (failed(chooseFold(cast<RankedTensorType>(chain.getX().getType()),
                          cast<RankedTensorType>(op.getMatrix().getType()),
                          cast<RankedTensorType>(chain.getAngles().getType()),
                          succeeded(pairs), strategy, dynamicRows, reason)))
      return rewriter.notifyMatchFailure(op, reason);

    Location loc = op.getLoc();
    Value rm = op.getMatrix();
    bool perHead = cast<RankedTensorType>(rm.getType()).getRank() == 3;
    // Shared: rows of Rᵀ. Per head: [D(j), H, D(i)] so that H is dim -2.
    SmallVector<int64_t> toRows =
        perHead ? SmallVector<int64_t>{2, 0, 1} : SmallVector<int64_t>{1, 0};
    auto transposed = [&](Value v, ArrayRef<int64_t> perm) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<OpFoldResult> sizes;
      SmallVector<OpFoldResult> in = tensor::getMixedSizes(rewriter, loc, v);
      for (int64_t p : perm)
        sizes.push_back(in[p]);
      Value init =
          tensor::EmptyOp::create(rewriter, loc, sizes, t.getElementType());
      return linalg::TransposeOp::create(rewriter, loc, v, init, perm)
          ->getResult(0);
    };
    Value rowsOfRT = transposed(rm, toRows);
    Value qt = GivensOp::create(rewriter, loc, rowsOfRT.getType(), rowsOfRT,
                                chain.getAngles(),
                                rewriter.getDenseI64ArrayAttr(*pairs),
                                /*inverse=*/true);
    if (perHead)
      qt = transposed(qt, {1, 0, 2});
    rewriter.replaceOpWithNewOp<OrthogonalOp>(op, op.getType(), chain.getX(),
                                              qt, /*transpose=*/true);
    return success();
  }

  Strategy strategy;
  int64_t dynamicRows;
};

/// [rope ->] givens -> orthogonal that stays a chain becomes one
/// rotation_block, which is lowered as one kernel per row tile (one read of
/// x, one write of y). Needs a square R (y has x's type) and a rope that
/// rotation_block can express (attribute frequencies, not inverse).
struct FuseChainIntoBlock : OpRewritePattern<OrthogonalOp> {
  FuseChainIntoBlock(MLIRContext *ctx, Strategy strategy, int64_t dynamicRows)
      : OpRewritePattern(ctx), strategy(strategy), dynamicRows(dynamicRows) {}

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    GivensOp chain = chainOf(op);
    if (!chain)
      return rewriter.notifyMatchFailure(op, "not x·(∏G)·R");
    // rotation_block needs R [D, D]; a dynamic R may be [D, E] with E != D
    // at run time, which orthogonal allows and the block does not.
    auto rType = cast<RankedTensorType>(op.getMatrix().getType());
    int64_t rRank = rType.getRank();
    if (op.getType() != chain.getX().getType() ||
        ShapedType::isDynamic(rType.getDimSize(rRank - 1)) ||
        rType.getDimSize(rRank - 1) != rType.getDimSize(rRank - 2))
      return rewriter.notifyMatchFailure(op, "R is not a static [D, D]");
    std::string reason;
    if (succeeded(chooseFold(
            cast<RankedTensorType>(chain.getX().getType()),
            cast<RankedTensorType>(op.getMatrix().getType()),
            cast<RankedTensorType>(chain.getAngles().getType()),
            succeeded(chain.getEffectivePairs()), strategy, dynamicRows,
            reason)))
      return rewriter.notifyMatchFailure(op, "folded instead");
    Value x = chain.getX(), positions;
    RopeLayoutAttr layout;
    IntegerAttr rotaryDim;
    FloatAttr base;
    auto rope = x.getDefiningOp<RopeOp>();
    if (rope && rope->hasOneUse() && !rope.getInvFreq() && !rope.getPhase() &&
        !rope.getScale() && !rope.getRuntimeBase() && !rope.getInverse() &&
        !rope.getXpos()) {
      x = rope.getX();
      positions = rope.getPositions();
      layout = RopeLayoutAttr::get(rewriter.getContext(), rope.getLayout());
      rotaryDim = rope.getRotaryDimAttr();
      base = rope.getBaseAttr();
    }
    rewriter.replaceOpWithNewOp<RotationBlockOp>(
        op, op.getType(), x, chain.getAngles(), op.getMatrix(), positions,
        chain.getPairsAttr(), layout, rotaryDim, base);
    return success();
  }

  Strategy strategy;
  int64_t dynamicRows;
};

/// rotation_block whose chain the model folds: expanded, so that
/// FoldChainIntoMatrix folds its givens + orthogonal. Otherwise it stays one
/// op (the fused kernel).
struct ExpandBlockToFold : OpRewritePattern<RotationBlockOp> {
  ExpandBlockToFold(MLIRContext *ctx, Strategy strategy, int64_t dynamicRows)
      : OpRewritePattern(ctx), strategy(strategy), dynamicRows(dynamicRows) {}

  LogicalResult matchAndRewrite(RotationBlockOp op,
                                PatternRewriter &rewriter) const override {
    auto x = cast<RankedTensorType>(op.getX().getType());
    auto angles = cast<RankedTensorType>(op.getAngles().getType());
    // The rule of GivensOp::getEffectivePairs for the expanded chain.
    int64_t d = x.getShape().back(), n = angles.getShape().back();
    bool pairsKnown = op.getPairs() || (!ShapedType::isDynamic(d) &&
                                        !ShapedType::isDynamic(n) &&
                                        n <= kMaxMaterializedPairs);
    std::string reason;
    if (failed(chooseFold(x, cast<RankedTensorType>(op.getMatrix().getType()),
                          angles, pairsKnown, strategy, dynamicRows, reason)))
      return rewriter.notifyMatchFailure(op, reason);
    expandRotationBlock(rewriter, op);
    return success();
  }

  Strategy strategy;
  int64_t dynamicRows;
};

struct RotaryFuseRotationsPass
    : rotary::impl::RotaryFuseRotationsBase<RotaryFuseRotationsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<Strategy> s = parseChainStrategy(strategy);
    if (!s) {
      getOperation()->emitError()
          << "rotary-fuse-rotations: option 'strategy' must be auto, chain or "
             "fold, but got '"
          << strategy << "'";
      return signalPassFailure();
    }
    if (dynamicRows < 1) {
      getOperation()->emitError() << "rotary-fuse-rotations: option "
                                     "'dynamic-rows' must be >= 1";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<FuseHDDRopeChain, FuseHDDRopeGradChain>(ctx);
    patterns.add<FoldChainIntoMatrix, FuseChainIntoBlock, ExpandBlockToFold>(
        ctx, *s, dynamicRows);
    RotationBlockOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
