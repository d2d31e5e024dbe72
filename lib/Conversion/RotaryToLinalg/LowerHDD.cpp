//===- LowerHDD.cpp - so_generator, cumulative_rotation, hdd_rope ---------===//
//
// - so_generator (givens): row r of G = e_r·G_(0,1)·G_(0,2)⋯, unrolled (c is
//   a static attribute); (exp): exp of the skew matrix (HDDBlocks.cpp).
// - cumulative_rotation: rotary.rotation_scan over [A, T, Bm, c, c]
//   (decomposed in HDDScan.cpp).
// - hdd_rope with P: a batched c×c mat-vec; fused (angles):
//   rotary.hdd_rope_lanes, every (h, chunk) a lane whose tile scans T with
//   P_t = P_{t-1}·G_t per lane (G_t from the lane's Givens rotations, or
//   exp of its skew matrix for c ≤ kMaxExpChunk), so P is never stored.
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;
using namespace rotary::lowering::hdd;

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
/// so_generator (exp) for chunks too large to unroll: per matrix, the skew
/// matrix from a constant pair table, then batchedLargeExp.
Value largeSkewExp(OpBuilder &b, Location loc, Value angles, int64_t c) {
  SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
  leadSizes.pop_back();
  Value a2 = collapseLeading(b, loc, angles, 1); // [M, K]
  Value m = dimOf(b, loc, a2, 0);
  OpFoldResult cc = b.getIndexAttr(c);
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  auto pairType = RankedTensorType::get({static_cast<int64_t>(pairs.size()), 2},
                                        b.getIndexType());
  SmallVector<APInt> flat;
  for (auto [p, q] : pairs)
    flat.append({APInt(64, p), APInt(64, q)});
  Value pairTable = arith::ConstantOp::create(
      b, loc, pairType, DenseElementsAttr::get(pairType, flat));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value numAngles = arith::ConstantIndexOp::create(b, loc, pairs.size());
  Value exps = batchedLargeExp(
      b, loc, c, m, [&](OpBuilder &ib, Location il, Value mi) {
        // The skew matrix and a bound on its norm.
        auto build = scf::ForOp::create(
            ib, il, zero, numAngles, one,
            ValueRange{zerosF32(ib, il, {cc, cc}), f32c(ib, il, 0.0)},
            [&](OpBuilder &lb, Location l, Value k, ValueRange it) {
              Value a = tensor::ExtractOp::create(lb, l, a2, ValueRange{mi, k});
              Value p = tensor::ExtractOp::create(lb, l, pairTable,
                                                  ValueRange{k, zero});
              Value q = tensor::ExtractOp::create(lb, l, pairTable,
                                                  ValueRange{k, one});
              Value t =
                  tensor::InsertOp::create(lb, l, a, it[0], ValueRange{p, q});
              t = tensor::InsertOp::create(
                  lb, l, arith::NegFOp::create(lb, l, a), t, ValueRange{q, p});
              Value norm = arith::AddFOp::create(
                  lb, l, it[1], math::AbsFOp::create(lb, l, a));
              scf::YieldOp::create(lb, l, ValueRange{t, norm});
            });
        return std::pair<Value, Value>{build.getResult(0), build.getResult(1)};
      });
  return expandLeading(b, loc, convertTensor(b, loc, exps, b.getF32Type()),
                       leadSizes, 2);
}

/// so_generator: givens, one generic per element (..., r, col) up to
/// kMaxUnrolledChunk and a task per row of G above; exp, c² outputs of one
/// generic over (...), reassembled (batched loops above kMaxExpChunk).
struct LowerSOGenerator : OpRewritePattern<SOGeneratorOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SOGeneratorOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t c = op.getChunk();
    Value angles = op.getAngles();
    auto at = cast<RankedTensorType>(angles.getType());
    if (at.isDynamicDim(at.getRank() - 1))
      angles =
          tensor::CastOp::create(b, loc,
                                 RankedTensorType::get(
                                     [&] {
                                       SmallVector<int64_t> s(at.getShape());
                                       s.back() = numGeneratorAngles(c);
                                       return s;
                                     }(),
                                     b.getF32Type()),
                                 angles);
    int64_t lead = at.getRank() - 1;
    SmallVector<Value> slices = lastDimSlices(b, loc, angles);
    SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
    leadSizes.pop_back();
    if (op.getForm() == SOForm::exp && c > kMaxExpChunk) {
      Value result = largeSkewExp(b, loc, angles, c);
      if (result.getType() != op.getType())
        result = tensor::CastOp::create(b, loc, op.getType(), result);
      rewriter.replaceOp(op, result);
      return success();
    }
    if (op.getForm() == SOForm::givens && c > kMaxUnrolledChunk) {
      // A task per row of G, cos and sin once per angle.
      Value rows = givensByRows(b, loc, collapseLeading(b, loc, angles, 1), c);
      Value result = expandLeading(b, loc, rows, leadSizes, 2);
      if (result.getType() != op.getType())
        result = tensor::CastOp::create(b, loc, op.getType(), result);
      rewriter.replaceOp(op, result);
      return success();
    }
    SmallVector<OpFoldResult> outSizes = leadSizes;
    outSizes.push_back(b.getIndexAttr(c));
    outSizes.push_back(b.getIndexAttr(c));
    if (op.getForm() == SOForm::givens) {
      int64_t loops = lead + 2;
      SmallVector<AffineMap> maps(
          slices.size(),
          AffineMap::getMultiDimIdentityMap(loops, ctx).getMajorSubMap(lead));
      maps.push_back(AffineMap::getMultiDimIdentityMap(loops, ctx));
      Value out = emptyOf(b, loc, outSizes, b.getF32Type());
      auto g = linalg::GenericOp::create(
          b, loc, TypeRange{out.getType()}, slices, ValueRange{out}, maps,
          SmallVector<utils::IteratorType>(loops,
                                           utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value r = linalg::IndexOp::create(nb, l, lead);
            Value col = linalg::IndexOp::create(nb, l, lead + 1);
            // Row r of the identity, then the chain, as c scalars.
            SmallVector<Value> row;
            for (int64_t q = 0; q < c; ++q)
              row.push_back(arith::SelectOp::create(
                  nb, l,
                  arith::CmpIOp::create(
                      nb, l, arith::CmpIPredicate::eq, r,
                      arith::ConstantIndexOp::create(nb, l, q)),
                  f32c(nb, l, 1.0), f32c(nb, l, 0.0)));
            for (auto [k, pq] : llvm::enumerate(generatorPairs(c))) {
              auto [i, j] = pq;
              Value cs = math::CosOp::create(nb, l, a[k]);
              Value sn = math::SinOp::create(nb, l, a[k]);
              std::tie(row[i], row[j]) =
                  rotatePair(nb, l, row[i], row[j], cs, sn);
            }
            Value v = row[0];
            for (int64_t q = 1; q < c; ++q)
              v = arith::SelectOp::create(
                  nb, l,
                  arith::CmpIOp::create(
                      nb, l, arith::CmpIPredicate::eq, col,
                      arith::ConstantIndexOp::create(nb, l, q)),
                  row[q], v);
            linalg::YieldOp::create(nb, l, v);
          });
      Value result = g.getResult(0);
      if (result.getType() != op.getType())
        result = tensor::CastOp::create(b, loc, op.getType(), result);
      rewriter.replaceOp(op, result);
      return success();
    }
    // exp: c² outputs [...] from one generic, inserted into [..., c, c].
    SmallVector<Value> outs;
    for (int64_t e = 0; e < c * c; ++e)
      outs.push_back(emptyOf(b, loc, leadSizes, b.getF32Type()));
    auto g = elementwise(b, loc, slices, outs, lead,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           SmallVector<Value> ang(a.take_front(slices.size()));
                           SmallVector<Value> m = skewExp(nb, l, c, ang);
                           linalg::YieldOp::create(nb, l, m);
                         });
    Value result = stackTrailing(b, loc, g.getResults(), {c, c});
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(b, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// cumulative_rotation as rotary.rotation_scan over [A, T, Bm, c, c].
struct LowerCumulativeRotation : OpRewritePattern<CumulativeRotationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CumulativeRotationOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t rank = cast<RankedTensorType>(op.getRotations().getType()).getRank(),
            axis = op.getAxis();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static c");
    Value g = withStaticTrailing(b, loc, op.getRotations(), {c, c});
    auto gt = cast<RankedTensorType>(g.getType());
    // Collapse to [A, T, Bm, c, c].
    SmallVector<ReassociationIndices> re;
    ReassociationIndices before, after;
    for (int64_t i = 0; i < axis; ++i)
      before.push_back(i);
    for (int64_t i = axis + 1; i < rank - 2; ++i)
      after.push_back(i);
    SmallVector<int64_t> shape5;
    auto collapsedSize = [&](ArrayRef<int64_t> dims) {
      int64_t s = 1;
      for (int64_t d : dims) {
        if (gt.isDynamicDim(d))
          return ShapedType::kDynamic;
        s *= gt.getDimSize(d);
      }
      return s;
    };
    Value g5;
    {
      SmallVector<int64_t> beforeDims(before.begin(), before.end()),
          afterDims(after.begin(), after.end());
      shape5 = {collapsedSize(beforeDims), gt.getDimSize(axis),
                collapsedSize(afterDims), c, c};
      // Empty groups become unit dims through an expand first.
      Value src = g;
      SmallVector<int64_t> expShape;
      SmallVector<OpFoldResult> expSizes;
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, g);
      SmallVector<ReassociationIndices> expRe;
      int64_t pos = 0;
      auto push = [&](int64_t d, bool withUnit) {
        ReassociationIndices grp;
        if (withUnit) {
          expShape.push_back(1);
          expSizes.push_back(b.getIndexAttr(1));
          grp.push_back(pos++);
        }
        expShape.push_back(gt.getDimSize(d));
        expSizes.push_back(sizes[d]);
        grp.push_back(pos++);
        expRe.push_back(grp);
      };
      for (int64_t d = 0; d < rank; ++d)
        push(d,
             (d == axis && before.empty()) || (d == rank - 2 && after.empty()));
      src = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(expShape, gt.getElementType()), g,
          expRe, expSizes);
      // Now collapse: [0..axis'] [axis'] [..] [c] [c] in the expanded dims.
      int64_t axisE = axis + (before.empty() ? 1 : 0);
      ReassociationIndices r0, r2;
      for (int64_t i = 0; i < axisE; ++i)
        r0.push_back(i);
      int64_t cFirst = expShape.size() - 2;
      for (int64_t i = axisE + 1; i < cFirst; ++i)
        r2.push_back(i);
      re = {r0, {axisE}, r2, {cFirst}, {cFirst + 1}};
      g5 = tensor::CollapseShapeOp::create(b, loc, src, re);
    }
    // The running products from the identity: the structured op, which a
    // target's schedule tiles (a blocked scan on the CPU).
    SmallVector<OpFoldResult> s5 = tensor::getMixedSizes(b, loc, g5);
    Value carry = identityF32(b, loc, {s5[0], s5[2], s5[3], s5[4]}, 2, 3);
    auto scan = RotationScanOp::create(
        b, loc, TypeRange{g5.getType(), carry.getType()}, g5,
        emptyLike(b, loc, g5, b.getF32Type()), carry, /*exclusive=*/false);
    if (Attribute tiles = op->getAttr(kTilesAttr))
      scan->setAttr(kTilesAttr, tiles);
    Value p5 = scan.getP();
    // Back to the original shape.
    Value expanded = tensor::ExpandShapeOp::create(
        b, loc,
        cast<RankedTensorType>(cast<tensor::CollapseShapeOp>(g5.getDefiningOp())
                                   .getSrc()
                                   .getType()),
        p5, re,
        tensor::getMixedSizes(
            b, loc,
            cast<tensor::CollapseShapeOp>(g5.getDefiningOp()).getSrc()));
    auto expOp = cast<tensor::ExpandShapeOp>(
        cast<tensor::CollapseShapeOp>(g5.getDefiningOp())
            .getSrc()
            .getDefiningOp());
    Value result = tensor::CollapseShapeOp::create(
        b, loc, gt, expanded, expOp.getReassociationIndices());
    rewriter.replaceOp(op, castTo(b, loc, result, op.getType()));
    return success();
  }
};


/// hdd_rope with P [B,T,H,C,c,c]: y[.., m, p] = Σ_q P[.., m, p, q]·x[.., m, q].
struct LowerHDDRopeP : OpRewritePattern<HDDRopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isFused())
      return failure();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static chunk size");
    rewriter.replaceOp(op, applyChunkRotations(rewriter, op.getLoc(), op.getX(),
                                               op.getRotation(), c,
                                               op.getInverse()));
    return success();
  }
};

} // namespace

namespace {
/// Fused hdd_rope, Givens form -> rotary.hdd_rope_lanes on the lane views of
/// x [B, T, H·D] and of the angles [B, T, H·C·k] (laneRowsReassociation):
/// every (h, chunk) of a token is a lane. No lanes per task here: the
/// target's schedule records them on the structured op.
LogicalResult convertFusedToLanes(HDDRopeOp op, PatternRewriter &rewriter) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  Value x4 = op.getX();
  auto xType = cast<RankedTensorType>(x4.getType());
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x4);
  Value x =
      tensor::CollapseShapeOp::create(b, loc, x4, laneRowsReassociation());
  Value angles = tensor::CollapseShapeOp::create(b, loc, op.getRotation(),
                                                 laneAnglesReassociation());
  Value init = emptyLike(b, loc, x, xType.getElementType());
  auto lanes = HDDRopeLanesOp::create(
      b, loc, init.getType(), x, angles, indexConst(b, loc, 0), init,
      b.getI64IntegerAttr(*op.getChunk()), op.getInverseAttr(),
      SOFormAttr::get(op.getContext(), *op.getForm()));
  // Lanes recorded on the op itself (for experiments) stay the op's.
  if (Attribute tiles = op->getAttr(kTilesAttr))
    lanes->setAttr(kTilesAttr, tiles);
  rewriter.replaceOp(
      op, tensor::ExpandShapeOp::create(b, loc, xType, lanes.getResult(),
                                        laneRowsReassociation(), xs));
  return success();
}

/// A block of rotary.hdd_rope_lanes (any batch entries and lanes; the CPU
/// schedule tiles it to one batch entry and `lanes` lanes): per batch entry
/// and group of at most `lanes` lanes, a scan over T whose step is a loop
/// over the group's lanes: cos and sin of the lane's angles (a branch-free
/// polynomial, no libm call), P_t = P_{t-1}·G_t, y = P_t·x (P_tᵀ·x for the
/// inverse). What a lane's step looks like depends on c (GivensLanes): for
/// small chunks the lane loop carries no dependence from one lane to the
/// next and its accesses are unit-stride (P) or interleaved groups of
/// constant stride (x and y with c, the angles with c(c-1)/2), so LLVM
/// vectorises it with one lane per vector element. The scan over T stays
/// sequential.
struct DecomposeHDDRopeLanes : OpRewritePattern<HDDRopeLanesOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeLanesOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunk();
    FailureOr<std::unique_ptr<GivensLanes>> layout =
        givensLanes(b, op, c, op.getInverse(), op.getForm(), op.getAngles());
    if (failed(layout))
      return failure();
    std::unique_ptr<GivensLanes> lanes = std::move(*layout);
    Value x = op.getX();
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    OpFoldResult tLen = tensor::getMixedSize(b, loc, op.getInit(), 1);
    SmallVector<Value> results = forEachLaneGroup(
        b, loc, op.getInit(), op.getFirstLane(), {c}, lanes->lanes,
        [&](const LaneGroup &group, ValueRange blocks) {
          // The scan writes the group's features of every token in place.
          Value first = group.first;
          SmallVector<Value> init = {lanes->matrices(b, loc, /*identity=*/true),
                                     blocks[0]};
          llvm::append_range(init, lanes->scratch(b, loc, /*backward=*/false));
          auto scan = scf::ForOp::create(
              b, loc, zero, getValueOrCreateConstantIndexOp(b, loc, tLen), one,
              init);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(scan.getBody());
          Value t = scan.getInductionVar();
          auto step = scf::ForOp::create(b, loc, zero, group.n, one,
                                         scan.getRegionIterArgs());
          scf::YieldOp::create(b, loc, step.getResults());
          b.setInsertionPointToStart(step.getBody());
          Value m = step.getInductionVar();
          GivensLanes::Step s{group.bi, t, m,
                              arith::AddIOp::create(b, loc, first, m)};
          SmallVector<Value> it(step.getRegionIterArgs());
          lanes->forward(b, loc, s, x, it[0], &it[1],
                         MutableArrayRef<Value>(it).drop_front(2));
          scf::YieldOp::create(b, loc, it);
          return SmallVector<Value>{scan.getResult(1)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Fused hdd_rope (angles): rotary.hdd_rope_lanes (convertFusedToLanes) for
/// the Givens form and the exp form with c ≤ kMaxExpChunk (a target's
/// schedule runs it as a scan per lane or a blocked scan); a larger exp
/// form runs unfused.
struct LowerHDDRopeFused : OpRewritePattern<HDDRopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.isFused())
      return failure();
    int64_t c = *op.getChunk();
    if (op.isFusedGivens() || c <= kMaxExpChunk)
      return convertFusedToLanes(op, rewriter);
    // An exp-form P too large to unroll per lane: generator, scan, apply.
    Value g = SOGeneratorOp::create(rewriter, op.getLoc(), op.getRotation(), c,
                                    SOForm::exp);
    Value p = CumulativeRotationOp::create(rewriter, op.getLoc(), g);
    rewriter.replaceOpWithNewOp<HDDRopeOp>(op, op.getX(), p, op.getInverse());
    return success();
  }
};
} // namespace

void lowering::populateHDDPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSOGenerator, LowerCumulativeRotation, LowerHDDRopeP,
               LowerHDDRopeFused>(patterns.getContext());
}

void lowering::populateHDDDecompositionPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeHDDRopeLanes>(patterns.getContext());
}
