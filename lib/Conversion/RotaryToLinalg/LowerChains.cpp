//===- LowerChains.cpp - givens, orthogonal, penalty to linalg/scf --------===//
//
// A Givens chain is sequential in its rotations but parallel in rows: x is
// viewed as [M, H, D] (H = 1 for a shared chain), and one scf.forall task per
// (tile of kChainRowTile rows, head) widens its tile to f32, applies the N
// rotations in order (each touches two columns of the tile, which stays in
// cache), and narrows it back. The pairs come from a constant table, or from
// the round-robin formula of SPEC §2 when D is only known at run time.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

std::pair<Value, Value> lowering::roundRobinPair(OpBuilder &b, Location loc,
                                                 Value k, Value d) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value perStage = arith::DivUIOp::create(b, loc, d, two);
  Value m = arith::SubIOp::create(b, loc, d, one);
  Value s = arith::DivUIOp::create(b, loc, k, perStage);
  Value t = arith::RemUIOp::create(b, loc, k, perStage);
  // t = 0: (s, d - 1); else ((s + t) mod m, (s - t) mod m) ordered.
  Value a =
      arith::RemUIOp::create(b, loc, arith::AddIOp::create(b, loc, s, t), m);
  Value bIdx = arith::RemUIOp::create(
      b, loc,
      arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, s, m), t), m);
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, t, zero);
  Value lo = arith::MinUIOp::create(b, loc, a, bIdx);
  Value hi = arith::MaxUIOp::create(b, loc, a, bIdx);
  return {arith::SelectOp::create(b, loc, first, s, lo),
          arith::SelectOp::create(b, loc, first, m, hi)};
}

Value lowering::chainRows(OpBuilder &b, Location loc, Value x, bool perHead) {
  if (perHead)
    return collapseLeading(b, loc, x, 2);
  Value x2 = collapseLeading(b, loc, x, 1);
  auto t2 = cast<RankedTensorType>(x2.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x2);
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({t2.getDimSize(0), 1, t2.getDimSize(1)},
                            t2.getElementType()),
      x2, SmallVector<ReassociationIndices>{{0}, {1, 2}},
      SmallVector<OpFoldResult>{sizes[0], b.getIndexAttr(1), sizes[1]});
}

Value lowering::chainUnrows(OpBuilder &b, Location loc, Value y3,
                            ArrayRef<OpFoldResult> xSizes, bool perHead,
                            Type xType) {
  Value y;
  if (perHead) {
    y = expandLeading(b, loc, y3, xSizes.drop_back(2), 2);
  } else {
    Value y2 = tensor::CollapseShapeOp::create(
        b, loc, y3, SmallVector<ReassociationIndices>{{0}, {1, 2}});
    y = expandLeading(b, loc, y2, xSizes.drop_back(1), 1);
  }
  if (y.getType() != xType)
    y = tensor::CastOp::create(b, loc, xType, y);
  return y;
}

Value lowering::chainAngles(OpBuilder &b, Location loc, Value angles) {
  auto aType = cast<RankedTensorType>(angles.getType());
  if (aType.getRank() == 2)
    return angles;
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({1, aType.getDimSize(0)}, aType.getElementType()),
      angles, SmallVector<ReassociationIndices>{{0, 1}},
      SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                tensor::getMixedSizes(b, loc, angles)[0]});
}

Value lowering::chainPairTable(OpBuilder &b, Location loc,
                               std::optional<ArrayRef<int64_t>> pairs) {
  if (!pairs)
    return Value();
  int64_t count = pairs->size() / 2;
  auto type = RankedTensorType::get({count, 2}, b.getIndexType());
  SmallVector<APInt> values;
  for (int64_t v : *pairs)
    values.push_back(APInt(64, v));
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}

std::pair<Value, Value> lowering::chainPair(OpBuilder &b, Location loc,
                                            Value table, Value k, Value d,
                                            Value c0, Value c1) {
  if (!table)
    return roundRobinPair(b, loc, k, d);
  return {tensor::ExtractOp::create(b, loc, table, ValueRange{k, c0}),
          tensor::ExtractOp::create(b, loc, table, ValueRange{k, c1})};
}

namespace {
struct LowerGivens : OpRewritePattern<GivensOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), angles = op.getAngles();
    auto xType = cast<RankedTensorType>(x.getType());
    auto aType = cast<RankedTensorType>(angles.getType());
    Type elt = xType.getElementType(), f32 = b.getF32Type();
    bool perHead = aType.getRank() == 2;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);

    // x as [M, H, D]; angles as [H, N].
    Value x3 = chainRows(b, loc, x, perHead);
    Value a2 = chainAngles(b, loc, angles);
    Value m = dimOf(b, loc, x3, 0), h = dimOf(b, loc, x3, 1),
          d = dimOf(b, loc, x3, 2), n = dimOf(b, loc, a2, 1);
    Value pairTable = chainPairTable(b, loc, op.getPairs());

    Value out = emptyLike(b, loc, x3, elt);
    OpFoldResult tile = b.getIndexAttr(kChainRowTile);
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        SmallVector<OpFoldResult>{m, h},
        SmallVector<OpFoldResult>{tile, b.getIndexAttr(1)}, ValueRange{out},
        /*mapping=*/std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value row = forall.getInductionVar(0), head = forall.getInductionVar(1);
      AffineExpr s0, s1;
      bindSymbols(b.getContext(), s0, s1);
      OpFoldResult rows = affine::makeComposedFoldedAffineMin(
          b, loc,
          AffineMap::get(0, 2,
                         {b.getAffineConstantExpr(kChainRowTile), s0 - s1},
                         b.getContext()),
          {m, row});
      OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
      SmallVector<OpFoldResult> offs = {row, head, zero};
      SmallVector<OpFoldResult> sizes = {rows, one, getAsOpFoldResult(d)};
      SmallVector<OpFoldResult> strides = {one, one, one};
      RankedTensorType tileType = sliceType(sizes, {1}, elt);
      Value xt = tensor::ExtractSliceOp::create(b, loc, tileType, x3, offs,
                                                sizes, strides);
      // Widen the tile once; all rotations run in f32.
      Value t32 =
          elementwise(b, loc, xt, emptyLike(b, loc, xt, f32), 2,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(nb, l, toF32(nb, l, a[0]));
                      })
              .getResult(0);
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      bool inverse = op.getInverse();
      auto loop = scf::ForOp::create(
          b, loc, c0, n, c1, ValueRange{t32},
          [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
            // Inverse: the chain reversed with negated angles.
            Value k =
                inverse ? arith::SubIOp::create(
                              lb, l, arith::SubIOp::create(lb, l, n, c1), step)
                        : step;
            auto [i, j] = chainPair(lb, l, pairTable, k, d, c0, c1);
            Value phi =
                tensor::ExtractOp::create(lb, l, a2, ValueRange{head, k});
            if (inverse)
              phi = arith::NegFOp::create(lb, l, phi);
            Value cs = math::CosOp::create(lb, l, phi);
            Value sn = math::SinOp::create(lb, l, phi);
            // Both columns updated in place, element by element (a
            // tensor.insert into the loop-carried tile bufferizes in place;
            // slices of two dynamic columns would be copied).
            // y_i = x_i cos + x_j sin; y_j = -x_i sin + x_j cos.
            Value rowsV = getValueOrCreateConstantIndexOp(lb, l, rows);
            auto inner = scf::ForOp::create(
                lb, l, c0, rowsV, c1, ValueRange{iter[0]},
                [&](OpBuilder &rb, Location rl, Value r, ValueRange it) {
                  Value t = it[0];
                  Value xi =
                      tensor::ExtractOp::create(rb, rl, t, ValueRange{r, i});
                  Value xj =
                      tensor::ExtractOp::create(rb, rl, t, ValueRange{r, j});
                  auto [yi, yj] = rotatePair(rb, rl, xi, xj, cs, sn);
                  t = tensor::InsertOp::create(rb, rl, yi, t, ValueRange{r, i});
                  t = tensor::InsertOp::create(rb, rl, yj, t, ValueRange{r, j});
                  scf::YieldOp::create(rb, rl, t);
                });
            Value next = inner.getResult(0);
            scf::YieldOp::create(lb, l, next);
          });
      Value narrowed =
          elementwise(b, loc, loop.getResult(0), emptyLike(b, loc, xt, elt), 2,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(nb, l,
                                                castFloat(nb, l, a[0], elt));
                      })
              .getResult(0);
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, narrowed,
                                            forall.getRegionIterArgs()[0], offs,
                                            sizes, strides);
    }
    rewriter.replaceOp(
        op, chainUnrows(b, loc, forall.getResult(0), xSizes, perHead, xType));
    return success();
  }
};

/// y = x·R (or x·Rᵀ) as an f32 contraction, per head when R is [H, D, E].
struct LowerOrthogonal : OpRewritePattern<OrthogonalOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX(), mat = op.getMatrix();
    auto xType = cast<RankedTensorType>(x.getType());
    auto rType = cast<RankedTensorType>(op.getType());
    bool perHead = cast<RankedTensorType>(mat.getType()).getRank() == 3;
    bool transpose = op.getTranspose();
    int64_t keep = perHead ? 2 : 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value xc = collapseLeading(b, loc, x, keep);
    SmallVector<OpFoldResult> matSizes = tensor::getMixedSizes(b, loc, mat);
    OpFoldResult e = matSizes[matSizes.size() - (transpose ? 2 : 1)];
    SmallVector<OpFoldResult> accSizes = {tensor::getMixedSizes(b, loc, xc)[0]};
    if (perHead)
      accSizes.push_back(matSizes[0]);
    accSizes.push_back(e);
    Value acc = zerosF32(b, loc, accSizes);

    // Loops: (m, [h,] e, d) with d reduced.
    int64_t loops = perHead ? 4 : 3;
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    AffineExpr mE = dim(0), hE = dim(1), eE = dim(loops - 2),
               dE = dim(loops - 1);
    SmallVector<AffineExpr> xMap = {mE}, rMap, oMap = {mE};
    if (perHead) {
      xMap.push_back(hE);
      rMap.push_back(hE);
      oMap.push_back(hE);
    }
    xMap.push_back(dE);
    rMap.push_back(transpose ? eE : dE);
    rMap.push_back(transpose ? dE : eE);
    oMap.push_back(eE);
    SmallVector<utils::IteratorType> iters(loops,
                                           utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    auto contraction = linalg::GenericOp::create(
        b, loc, TypeRange{acc.getType()}, ValueRange{xc, mat}, ValueRange{acc},
        SmallVector<AffineMap>{AffineMap::get(loops, 0, xMap, ctx),
                               AffineMap::get(loops, 0, rMap, ctx),
                               AffineMap::get(loops, 0, oMap, ctx)},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                             toF32(nb, l, a[1]));
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
        });
    Value y = contraction.getResult(0);
    Type elt = xType.getElementType();
    if (!elt.isF32())
      y = elementwise(b, loc, y, emptyLike(b, loc, y, elt), keep + 1,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(nb, l,
                                                castFloat(nb, l, a[0], elt));
                      })
              .getResult(0);
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
          Value e1 = linalg::IndexOp::create(nb, l, 1);
          Value e2 = linalg::IndexOp::create(nb, l, 2);
          Value diag =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, e1, e2);
          Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1));
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          Value delta = arith::SelectOp::create(nb, l, diag, one, zero);
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

void lowering::populateChainPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerGivens, LowerOrthogonal, LowerPenalty>(
      patterns.getContext());
}
