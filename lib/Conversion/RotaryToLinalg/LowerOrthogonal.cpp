//===- LowerOrthogonal.cpp - orthogonal and orthogonality_penalty ---------===//
//
// x·R (or x·Rᵀ) as one contraction over the rows of x, per head when R is;
// ‖RᵀR − I‖² as a reduction of RᵀR − I.
//
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
/// y = x·R (or x·Rᵀ) as an f32 contraction (contractRows), per head when R
/// is [H, D, E]. x·Rᵀ transposes R first (D·E elements against M·D·E
/// multiply-adds), so the output dim stays contiguous in the right operand.
struct LowerOrthogonal : OpRewritePattern<OrthogonalOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), mat = op.getMatrix();
    auto xType = cast<RankedTensorType>(x.getType());
    auto rType = cast<RankedTensorType>(op.getType());
    auto mType = cast<RankedTensorType>(mat.getType());
    bool perHead = mType.getRank() == 3;
    int64_t keep = perHead ? 2 : 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value xc = collapseLeading(b, loc, x, keep);
    if (op.getTranspose())
      mat = permuted(b, loc, mat,
                     perHead ? ArrayRef<int64_t>{0, 2, 1}
                             : ArrayRef<int64_t>{1, 0});
    Value y = contractRows(b, loc, xc, mat, perHead);
    y = convertTensor(b, loc, y, xType.getElementType());
    y = expandLeading(b, loc, y, ArrayRef(xSizes).drop_back(keep), keep);
    if (y.getType() != rType)
      y = tensor::CastOp::create(b, loc, rType, y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// ‖RᵀR − I‖²: a Gram contraction, then a full reduction.
struct LowerPenalty : OpRewritePattern<OrthogonalityPenaltyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalityPenaltyOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value r = op.getMatrix();
    if (cast<RankedTensorType>(r.getType()).getRank() == 2)
      r = collapseLeading(b, loc, r, 2); // [1, D, E]
    SmallVector<OpFoldResult> rs = tensor::getMixedSizes(b, loc, r);
    Value gram = zerosF32(b, loc, {rs[0], rs[2], rs[2]});
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // (h, e1, e2, d): G[h, e1, e2] += R[h, d, e1]·R[h, d, e2].
    auto g = linalg::GenericOp::create(
        b, loc, TypeRange{gram.getType()}, ValueRange{r, r}, ValueRange{gram},
        SmallVector<AffineMap>{
            AffineMap::get(4, 0, {dim(0), dim(3), dim(1)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, ctx)},
        SmallVector<utils::IteratorType>{
            utils::IteratorType::parallel, utils::IteratorType::parallel,
            utils::IteratorType::parallel, utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                             toF32(nb, l, a[1]));
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
        });
    Value sum = zerosF32(b, loc, {});
    SmallVector<utils::IteratorType> red(3, utils::IteratorType::reduction);
    auto total = linalg::GenericOp::create(
        b, loc, TypeRange{sum.getType()}, ValueRange{g.getResult(0)},
        ValueRange{sum},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx),
                               AffineMap::get(3, 0, {}, ctx)},
        red, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value row = linalg::IndexOp::create(nb, l, 1);
          Value col = linalg::IndexOp::create(nb, l, 2);
          Value delta = kroneckerDelta(nb, l, row, col);
          Value diff = arith::SubFOp::create(nb, l, a[0], delta);
          Value sq = arith::MulFOp::create(nb, l, diff, diff);
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[1], sq)));
        });
    rewriter.replaceOp(op, total.getResult(0));
    return success();
  }
};
} // namespace

void lowering::populateOrthogonalPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerOrthogonal, LowerPenalty>(patterns.getContext());
}
