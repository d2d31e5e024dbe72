//===- LowerChainGrads.cpp - givens/orthogonal/quaternion backward -------===//
//
// givens_grad: the tables (pairs, cos/sin of the applied angles in f64)
// once per call, then the structured op rotary.givens_rows_grad, whose
// tiles run the chain forward and back over a group of rows (ChainRows.cpp)
// and add their φ̄ to a table of partial sums per tile; or, when the cost
// model says so, folded: two products with Q and the chain's gradient over
// the D rows of the identity.
//
// orthogonal_grad and orthogonality_penalty_grad are contractions;
// quaternion_rotate_grad is one generic over the vectors that writes x̄ (and
// per-vector ā, θ̄) and accumulates the shared ones in f64.
//
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
//===----------------------------------------------------------------------===//
// givens_grad
//===----------------------------------------------------------------------===//

struct LowerGivensGrad : OpRewritePattern<GivensGradOp> {
  LowerGivensGrad(MLIRContext *ctx, ChainStrategy strategy)
      : OpRewritePattern(ctx), strategy(strategy) {}

  LogicalResult matchAndRewrite(GivensGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), angles = op.getAngles(), dy = op.getDy();
    auto xType = cast<RankedTensorType>(x.getType());
    auto aType = cast<RankedTensorType>(angles.getType());
    Type elt = xType.getElementType(), f64 = b.getF64Type();
    bool perHead = aType.getRank() == 2;
    bool inverse = op.getInverse();
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);

    // Rows [M, H, D]: a shared chain folds the heads into the rows (H = 1).
    Value x3 = chainRows(b, loc, x, perHead);
    Value dy3 = chainRows(b, loc, dy, perHead);
    Value a2 = chainAngles(b, loc, angles);
    Value pairs = chainPairTable(b, loc, op.getPairs(), xType.getShape().back(),
                                 dimOf(b, loc, x3, 2), a2);
    // cos ψ, sin ψ [H, N] of the applied angles (ψ = ±φ) in f64, so that
    // undoing thousands of rotations does not drift.
    auto [cosT, sinT] = chainCosSin(b, loc, a2, inverse, f64);
    SmallVector<OpFoldResult> a2Sizes = tensor::getMixedSizes(b, loc, a2);
    Value dxInit = emptyLike(b, loc, x3, elt);
    Value daInit = zerosOf(b, loc, a2Sizes, f64);
    SmallVector<Type, 2> types = {dxInit.getType(), daInit.getType()};
    Attribute tiles = op->getAttr(kTilesAttr);

    // Every row's chain forward and back.
    auto chain = [&](OpBuilder &cb, Location l) -> SmallVector<Value> {
      auto grad = GivensRowsGradOp::create(cb, l, types, x3, dy3, cosT, sinT,
                                           pairs, dxInit, daInit, inverse);
      if (tiles)
        grad->setAttr(kTilesAttr, tiles);
      return {grad.getDx(), grad.getDangles()};
    };
    // Folded: y = x·Q, Q per head the chain over the identity's rows, so
    // x̄ = ȳ·Qᵀ and ψ̄ is the chain's gradient over those D rows with
    // Q̄ = Σ_rows xᵀ·ȳ as their ȳ.
    auto fold = [&](OpBuilder &fb, Location l) -> SmallVector<Value> {
      MLIRContext *ctx = fb.getContext();
      Type f32 = fb.getF32Type();
      SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(fb, l, x3);
      // [D, H, D]: row d of head h's Q at [d, h, :].
      Value eye = identityF32(fb, l, {s3[2], s3[1], s3[2]}, 0, 2);
      auto [cos32, sin32] = chainCosSin(fb, l, a2, inverse, f32);
      Value q3 = GivensRowsOp::create(fb, l, eye.getType(), eye, cos32, sin32,
                                      pairs, /*matrix=*/Value(),
                                      emptyLike(fb, l, eye, f32), inverse);
      // x̄[m, h, d] = Σ_e ȳ[m, h, e]·Q_h[d, e]: R[h, e, d] = q3[d, h, e].
      Value dx3 = contractRows(fb, l, dy3, permuted(fb, l, q3, {1, 2, 0}),
                               /*perHead=*/true, dxInit);
      // Q̄ as the rows of the identity's gradient, [d, h, e] = Σ_m
      // x[m, h, d]·ȳ[m, h, e] in f64, the rows reduced outside Q's dims so
      // the inner loop runs along contiguous rows. Q's dims alone are too
      // little parallel work (D·D per head) for rows by the ten thousand,
      // so the rows are summed in chunks of kChunk, one partial Q̄ per
      // chunk (a parallel dimension), then the partials and the last,
      // partial chunk's sum: a split reduction, in any target's terms.
      constexpr int64_t kChunk = 1024;
      auto map = [&](unsigned n, std::initializer_list<int64_t> dims) {
        SmallVector<AffineExpr> exprs;
        for (int64_t d : dims)
          exprs.push_back(getAffineDimExpr(d, ctx));
        return AffineMap::get(n, 0, exprs, ctx);
      };
      using Iter = utils::IteratorType;
      auto multiplyAdd = [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value p = arith::MulFOp::create(nb, nl, castFloat(nb, nl, a[0], f64),
                                        castFloat(nb, nl, a[1], f64));
        linalg::YieldOp::create(nb, nl,
                                Value(arith::AddFOp::create(nb, nl, a[2], p)));
      };
      auto rowsOf = [&](Value v, OpFoldResult start, OpFoldResult size) {
        return tensor::ExtractSliceOp::create(
                   fb, l, v, {start, fb.getIndexAttr(0), fb.getIndexAttr(0)},
                   {size, s3[1], s3[2]},
                   {fb.getIndexAttr(1), fb.getIndexAttr(1), fb.getIndexAttr(1)})
            .getResult();
      };
      AffineExpr m0;
      bindSymbols(ctx, m0);
      OpFoldResult chunks = affine::makeComposedFoldedAffineApply(
          fb, l, m0.floorDiv(kChunk), {s3[0]});
      OpFoldResult whole = affine::makeComposedFoldedAffineApply(
          fb, l, m0.floorDiv(kChunk) * kChunk, {s3[0]});
      OpFoldResult rest =
          affine::makeComposedFoldedAffineApply(fb, l, m0 % kChunk, {s3[0]});
      // Whole chunks: [P, C, H, D] views; loops (p, c, h, d, e).
      SmallVector<OpFoldResult> chunked = {chunks, fb.getIndexAttr(kChunk),
                                           s3[1], s3[2]};
      auto chunkView = [&](Value v) {
        auto t = cast<RankedTensorType>(v.getType());
        return tensor::ExpandShapeOp::create(
                   fb, l,
                   RankedTensorType::get({getConstantIntValue(chunks).value_or(
                                              ShapedType::kDynamic),
                                          kChunk, t.getDimSize(1),
                                          t.getDimSize(2)},
                                         t.getElementType()),
                   rowsOf(v, fb.getIndexAttr(0), whole),
                   SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}}, chunked)
            .getResult();
      };
      Value partials = zerosOf(fb, l, {chunks, s3[2], s3[1], s3[2]}, f64);
      partials =
          linalg::GenericOp::create(
              fb, l, TypeRange{partials.getType()},
              ValueRange{chunkView(x3), chunkView(dy3)}, ValueRange{partials},
              SmallVector<AffineMap>{map(5, {0, 1, 2, 3}), map(5, {0, 1, 2, 4}),
                                     map(5, {0, 3, 2, 4})},
              SmallVector<Iter>{Iter::parallel, Iter::reduction, Iter::parallel,
                                Iter::parallel, Iter::parallel},
              multiplyAdd)
              .getResult(0);
      // The rows after the whole chunks, then the partials added to them.
      Value qbar = zerosOf(fb, l, {s3[2], s3[1], s3[2]}, f64);
      qbar = linalg::GenericOp::create(
                 fb, l, TypeRange{qbar.getType()},
                 ValueRange{rowsOf(x3, whole, rest), rowsOf(dy3, whole, rest)},
                 ValueRange{qbar},
                 SmallVector<AffineMap>{map(4, {0, 1, 2}), map(4, {0, 1, 3}),
                                        map(4, {2, 1, 3})},
                 SmallVector<Iter>{Iter::reduction, Iter::parallel,
                                   Iter::parallel, Iter::parallel},
                 multiplyAdd)
                 .getResult(0);
      qbar =
          linalg::GenericOp::create(
              fb, l, TypeRange{qbar.getType()}, ValueRange{partials},
              ValueRange{qbar},
              SmallVector<AffineMap>{map(4, {0, 1, 2, 3}), map(4, {1, 2, 3})},
              SmallVector<Iter>{Iter::reduction, Iter::parallel, Iter::parallel,
                                Iter::parallel},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                linalg::YieldOp::create(
                    nb, nl, Value(arith::AddFOp::create(nb, nl, a[1], a[0])));
              })
              .getResult(0);
      Value qbar32 = convertTensor(fb, l, qbar, f32);
      auto grad = GivensRowsGradOp::create(
          fb, l, TypeRange{eye.getType(), daInit.getType()}, eye, qbar32, cosT,
          sinT, pairs, emptyLike(fb, l, eye, f32), daInit, inverse);
      return {dx3, grad.getDangles()};
    };
    // Per row and head the chain costs 25·N (forward 6, undone 6, the
    // angle's term 7, ȳ turned 6); the fold 4·D² (two products), plus per
    // head Q (6·N·D) and the chain's gradient over D rows (25·N·D). The
    // products count twice: Q̄'s reduction runs in f64, and below a few
    // chunks of rows on few tasks (measured with x[65536, 64] and 2016
    // rotations: one task 25 ms, chunked 15 ms, the chain 39 ms, where the
    // flops promise 3×). A recorded group of rows (an experiment's) keeps
    // the chain; so do narrow data (the products accumulate into the f32
    // x̄).
    std::variant<bool, Value> folded = false;
    if (elt.isF32() && !tiles)
      folded = chooseFold(b, loc, strategy, [&](FlopCounter &f) -> ChainCosts {
        SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(b, loc, x3);
        OpFoldResult n = a2Sizes[1];
        return {f.mul(s3[0], s3[1]), f.mul(f.c(25), n),
                f.mul(f.c(8), f.mul(s3[2], s3[2])),
                f.mul(f.mul(s3[1], s3[2]), f.mul(f.c(31), n))};
      });
    // Both forms write into the same inits.
    SmallVector<Value> grads =
        foldOrChainResults(b, loc, folded, types, fold, chain);
    Value dx = chainUnrows(b, loc, grads[0], xSizes, perHead, xType);
    // φ̄ in f32: ψ̄, negated where ψ = −φ (inverse).
    Value da = elementwise(b, loc, grads[1],
                           emptyOf(b, loc, a2Sizes, b.getF32Type()), 2,
                           [&](OpBuilder &nb, Location l, ValueRange args) {
                             Value v = args[0];
                             if (inverse)
                               v = arith::NegFOp::create(nb, l, v);
                             linalg::YieldOp::create(
                                 nb, l, castFloat(nb, l, v, nb.getF32Type()));
                           })
                   .getResult(0);
    if (!perHead)
      da = tensor::CollapseShapeOp::create(
          b, loc, da, SmallVector<ReassociationIndices>{{0, 1}});
    da = castTo(b, loc, da, aType);
    rewriter.replaceOp(op, ValueRange{dx, da});
    return success();
  }

  ChainStrategy strategy;
};

//===----------------------------------------------------------------------===//
// orthogonal_grad
//===----------------------------------------------------------------------===//

/// x̄ = ȳ·Rᵀ (ȳ·R with `transpose`) and R̄ = Σ_rows xᵀ·ȳ (ȳᵀ·x), per head
/// for R [H, ·, ·]; R̄ accumulated in f64 over all rows.
struct LowerOrthogonalGrad : OpRewritePattern<OrthogonalGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX(), mat = op.getMatrix(), dy = op.getDy();
    auto xType = cast<RankedTensorType>(x.getType());
    auto mType = cast<RankedTensorType>(mat.getType());
    Type f64 = b.getF64Type();
    bool perHead = mType.getRank() == 3;
    bool transpose = op.getTranspose();
    int64_t keep = perHead ? 2 : 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value xc = collapseLeading(b, loc, x, keep);
    Value gc = collapseLeading(b, loc, dy, keep);
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    auto mul = [](OpBuilder &nb, Location l, Value p, Value q) {
      return arith::MulFOp::create(nb, l, p, q).getResult();
    };

    // x̄ = ȳ·Rᵀ is the forward op with the other orientation; the
    // conversion lowers it with the forward's pattern.
    Value dx = OrthogonalOp::create(b, loc, dy, mat, !transpose).getResult();
    if (dx.getType() != xType)
      dx = tensor::CastOp::create(b, loc, xType, dx);
    Value dr;

    // R̄: loops ([h,] m, p, q), the rows m reduced outside R's dims, so the
    // inner loop runs along contiguous rows of ȳ and R̄ (a reduction
    // innermost would stride through x and ȳ by a whole row per step).
    {
      int64_t rl = perHead ? 4 : 3;
      AffineExpr hE = dim(0), mE = dim(rl - 3), pE = dim(rl - 2),
                 qE = dim(rl - 1);
      // R[p, q] pairs x's d with ȳ's e: (d, e) = (p, q), or (q, p) with
      // `transpose`.
      AffineExpr dE = transpose ? qE : pE, eE = transpose ? pE : qE;
      SmallVector<AffineExpr> xMap = {mE}, gMap = {mE}, oMap;
      if (perHead) {
        xMap.push_back(hE);
        gMap.push_back(hE);
        oMap.push_back(hE);
      }
      xMap.push_back(dE);
      gMap.push_back(eE);
      oMap.append({pE, qE});
      SmallVector<utils::IteratorType> iters(rl, utils::IteratorType::parallel);
      iters[rl - 3] = utils::IteratorType::reduction;
      Value acc = zerosOf(b, loc, tensor::getMixedSizes(b, loc, mat), f64);
      auto contraction = linalg::GenericOp::create(
          b, loc, TypeRange{acc.getType()}, ValueRange{xc, gc}, ValueRange{acc},
          SmallVector<AffineMap>{AffineMap::get(rl, 0, xMap, ctx),
                                 AffineMap::get(rl, 0, gMap, ctx),
                                 AffineMap::get(rl, 0, oMap, ctx)},
          iters, [&](OpBuilder &nb, Location l, ValueRange a) {
            Value prod = mul(nb, l, toF32(nb, l, a[0]), toF32(nb, l, a[1]));
            linalg::YieldOp::create(
                nb, l,
                Value(arith::AddFOp::create(nb, l, a[2],
                                            castFloat(nb, l, prod, f64))));
          });
      dr = convertTensor(b, loc, contraction.getResult(0),
                         mType.getElementType());
      dr = castTo(b, loc, dr, mType);
    }
    rewriter.replaceOp(op, ValueRange{dx, dr});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// orthogonality_penalty_grad
//===----------------------------------------------------------------------===//

/// R̄ = p̄·4·R·(RᵀR − I) per head: the Gram contraction of the forward, then
/// one contraction with R.
struct LowerPenaltyGrad : OpRewritePattern<OrthogonalityPenaltyGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalityPenaltyGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value r = op.getMatrix();
    auto mType = cast<RankedTensorType>(r.getType());
    bool shared = mType.getRank() == 2;
    if (shared)
      r = collapseLeading(b, loc, r, 2); // [1, D, E]
    SmallVector<OpFoldResult> rs = tensor::getMixedSizes(b, loc, r);
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<utils::IteratorType> iters = {
        utils::IteratorType::parallel, utils::IteratorType::parallel,
        utils::IteratorType::parallel, utils::IteratorType::reduction};
    // (h, e1, e2, d): G[h, e1, e2] += R[h, d, e1]·R[h, d, e2].
    Value gram = zerosF32(b, loc, {rs[0], rs[2], rs[2]});
    auto g = linalg::GenericOp::create(
        b, loc, TypeRange{gram.getType()}, ValueRange{r, r}, ValueRange{gram},
        SmallVector<AffineMap>{
            AffineMap::get(4, 0, {dim(0), dim(3), dim(1)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, ctx)},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                             toF32(nb, l, a[1]));
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
        });
    // (h, d, e, e2): A[h, d, e] += R[h, d, e2]·(G[h, e2, e] − δ(e2, e)).
    Value acc = zerosF32(b, loc, rs);
    auto prod = linalg::GenericOp::create(
        b, loc, TypeRange{acc.getType()}, ValueRange{r, g.getResult(0)},
        ValueRange{acc},
        SmallVector<AffineMap>{
            AffineMap::get(4, 0, {dim(0), dim(1), dim(3)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, ctx)},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value row = linalg::IndexOp::create(nb, l, 2);
          Value col = linalg::IndexOp::create(nb, l, 3);
          Value delta = kroneckerDelta(nb, l, row, col);
          Value diff = arith::SubFOp::create(nb, l, a[1], delta);
          Value term = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]), diff);
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], term)));
        });
    // Times 4·p̄, in R's element type.
    Type elt = mType.getElementType();
    Value dr = elementwise(
                   b, loc, ValueRange{prod.getResult(0), op.getDresult()},
                   emptyOf(b, loc, rs, elt), 3,
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     Value four = arith::ConstantOp::create(
                         nb, l, nb.getF32FloatAttr(4.0));
                     Value v = arith::MulFOp::create(
                         nb, l, a[0], arith::MulFOp::create(nb, l, four, a[1]));
                     linalg::YieldOp::create(nb, l, castFloat(nb, l, v, elt));
                   })
                   .getResult(0);
    if (shared)
      dr = tensor::CollapseShapeOp::create(
          b, loc, dr, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    rewriter.replaceOp(op, castTo(b, loc, dr, mType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// quaternion_rotate_grad
//===----------------------------------------------------------------------===//

/// Reverse mode through x' = x + w·t + v × t, t = 2·(v × x), w = cos(θ/2),
/// v = sin(θ/2)·u, u = axis / max(‖axis‖, 1e-8) (docs/Math.md §8):
///   t̄ = w·ȳ + ȳ × v,  v̄ = t × ȳ + 2·(x × t̄),  x̄ = ȳ + 2·(t̄ × v),
///   θ̄ = ½·(cos(θ/2)·(v̄·u) − sin(θ/2)·(t·ȳ)),  ū = sin(θ/2)·v̄,
///   ā = (ū − u·(u·ū))/‖axis‖ (ū/1e-8 where the norm is clamped).
/// A shared axis or angle reduces ū or θ̄ over the vectors (in f64) and
/// applies the chain rule to the axis once.
struct LowerQuaternionRotateGrad : OpRewritePattern<QuaternionRotateGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuaternionRotateGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX(), axis = op.getAxis(), angle = op.getAngle(),
          dy = op.getDy();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType(), f32 = b.getF32Type(),
         f64 = b.getF64Type();
    int64_t lead = xType.getRank() - 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    SmallVector<OpFoldResult> leadSizes(xSizes.begin(), xSizes.end() - 1);
    bool sharedAngle =
        cast<RankedTensorType>(angle.getType()).getRank() == 0 && lead != 0;

    // Inputs: x (3), ȳ (3), axis (3 per vector or 3 scalars), angle.
    SmallVector<Value> ins;
    for (int64_t c = 0; c < 3; ++c)
      ins.push_back(lastDimComponent(b, loc, x, c));
    for (int64_t c = 0; c < 3; ++c)
      ins.push_back(lastDimComponent(b, loc, dy, c));
    // A shared axis [3] is three 0-d components the generic broadcasts.
    bool sharedAxis =
        cast<RankedTensorType>(axis.getType()).getRank() == 1 && lead != 0;
    for (int64_t c = 0; c < 3; ++c)
      ins.push_back(lastDimComponent(b, loc, axis, c));
    ins.push_back(angle);
    // Outputs: x̄ (3); ā (3 per vector, or ū summed: 3 f64 scalars); θ̄ (per
    // vector, or summed: an f64 scalar).
    SmallVector<Value> outs;
    for (int c = 0; c < 3; ++c)
      outs.push_back(emptyOf(b, loc, leadSizes, elt));
    for (int c = 0; c < 3; ++c)
      outs.push_back(sharedAxis ? zerosOf(b, loc, {}, f64)
                                : emptyOf(b, loc, leadSizes, f32));
    outs.push_back(sharedAngle ? zerosOf(b, loc, {}, f64)
                               : emptyOf(b, loc, leadSizes, f32));
    SmallVector<AffineMap> maps;
    for (Value v : llvm::concat<Value>(ins, outs))
      maps.push_back(cast<RankedTensorType>(v.getType()).getRank() == 0
                         ? AffineMap::get(lead, 0, {}, ctx)
                         : AffineMap::getMultiDimIdentityMap(lead, ctx));
    SmallVector<Type> outTypes;
    for (Value v : outs)
      outTypes.push_back(v.getType());
    SmallVector<utils::IteratorType> iters(
        lead, (sharedAxis || sharedAngle) ? utils::IteratorType::reduction
                                          : utils::IteratorType::parallel);
    int64_t nIns = ins.size();
    auto generic = linalg::GenericOp::create(
        b, loc, outTypes, ins, outs, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          auto cst = [&](double v) {
            return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v))
                .getResult();
          };
          auto mul = [&](Value p, Value q) {
            return arith::MulFOp::create(nb, l, p, q).getResult();
          };
          auto add = [&](Value p, Value q) {
            return arith::AddFOp::create(nb, l, p, q).getResult();
          };
          auto sub = [&](Value p, Value q) {
            return arith::SubFOp::create(nb, l, p, q).getResult();
          };
          auto cross = [&](const Value *p, const Value *q, Value *r) {
            r[0] = sub(mul(p[1], q[2]), mul(p[2], q[1]));
            r[1] = sub(mul(p[2], q[0]), mul(p[0], q[2]));
            r[2] = sub(mul(p[0], q[1]), mul(p[1], q[0]));
          };
          auto dot = [&](const Value *p, const Value *q) {
            return add(add(mul(p[0], q[0]), mul(p[1], q[1])), mul(p[2], q[2]));
          };
          Value xv[3], g[3], av[3];
          for (int c = 0; c < 3; ++c) {
            xv[c] = toF32(nb, l, a[c]);
            g[c] = toF32(nb, l, a[3 + c]);
            av[c] = a[6 + c];
          }
          Value theta = a[9];
          Value rawNorm = math::SqrtOp::create(nb, l, dot(av, av));
          Value norm = arith::MaximumFOp::create(nb, l, rawNorm, cst(1e-8));
          Value uv[3];
          for (int c = 0; c < 3; ++c)
            uv[c] = arith::DivFOp::create(nb, l, av[c], norm);
          Value halfTheta = mul(theta, cst(0.5));
          Value w = math::CosOp::create(nb, l, halfTheta);
          Value sn = math::SinOp::create(nb, l, halfTheta);
          Value v[3], t[3];
          for (int c = 0; c < 3; ++c)
            v[c] = mul(uv[c], sn);
          cross(v, xv, t);
          for (Value &tc : t)
            tc = mul(tc, cst(2.0));
          // t̄ = w·ȳ + ȳ × v.
          Value tBar[3], gxv[3];
          cross(g, v, gxv);
          for (int c = 0; c < 3; ++c)
            tBar[c] = add(mul(w, g[c]), gxv[c]);
          // v̄ = t × ȳ + 2·(x × t̄).
          Value vBar[3], txg[3], xxt[3];
          cross(t, g, txg);
          cross(xv, tBar, xxt);
          for (int c = 0; c < 3; ++c)
            vBar[c] = add(txg[c], mul(cst(2.0), xxt[c]));
          // x̄ = ȳ + 2·(t̄ × v).
          Value dx[3], txv[3];
          cross(tBar, v, txv);
          for (int c = 0; c < 3; ++c)
            dx[c] = add(g[c], mul(cst(2.0), txv[c]));
          // θ̄ = ½·(cos(θ/2)·(v̄·u) − sin(θ/2)·(t·ȳ)).
          Value thetaBar =
              mul(cst(0.5), sub(mul(w, dot(vBar, uv)), mul(sn, dot(t, g))));
          Value uBar[3];
          for (int c = 0; c < 3; ++c)
            uBar[c] = mul(sn, vBar[c]);
          SmallVector<Value> yields;
          for (int c = 0; c < 3; ++c)
            yields.push_back(castFloat(nb, l, dx[c], elt));
          int64_t o = nIns + 3;
          if (sharedAxis) {
            for (int c = 0; c < 3; ++c)
              yields.push_back(
                  arith::AddFOp::create(nb, l, a[o + c],
                                        castFloat(nb, l, uBar[c], f64))
                      .getResult());
          } else {
            // ā = (ū − u·(u·ū))/‖axis‖, or ū/1e-8 where clamped.
            Value clamped = arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::OLT, rawNorm, cst(1e-8));
            Value uu = dot(uv, uBar);
            for (int c = 0; c < 3; ++c) {
              Value free = sub(uBar[c], mul(uv[c], uu));
              yields.push_back(arith::DivFOp::create(
                  nb, l, arith::SelectOp::create(nb, l, clamped, uBar[c], free),
                  norm));
            }
          }
          if (sharedAngle)
            yields.push_back(arith::AddFOp::create(
                nb, l, a[o + 3], castFloat(nb, l, thetaBar, f64)));
          else
            yields.push_back(thetaBar);
          linalg::YieldOp::create(nb, l, yields);
        });
    ValueRange res = generic.getResults();
    Value dx = stackLastDim(b, loc, {res[0], res[1], res[2]}, xSizes, elt);

    // The axis gradient.
    auto aType = cast<RankedTensorType>(axis.getType());
    SmallVector<Value> axisBar = {res[3], res[4], res[5]};
    if (sharedAxis) {
      // ā from the summed ū, in f64, once: a 0-d generic (one thread on a
      // GPU, where the sums are device memory).
      SmallVector<Value> chainIns = {res[3], res[4], res[5],
                                     ins[6], ins[7], ins[8]};
      SmallVector<Value> chainOuts;
      for (int c = 0; c < 3; ++c)
        chainOuts.push_back(emptyOf(b, loc, {}, f32));
      auto chain = elementwise(
          b, loc, chainIns, chainOuts, 0,
          [&](OpBuilder &nb, Location l, ValueRange a) {
            auto mul = [&](Value p, Value q) {
              return arith::MulFOp::create(nb, l, p, q).getResult();
            };
            auto add = [&](Value p, Value q) {
              return arith::AddFOp::create(nb, l, p, q).getResult();
            };
            Value ub[3], av[3];
            for (int c = 0; c < 3; ++c) {
              ub[c] = a[c];
              av[c] = castFloat(nb, l, a[3 + c], f64);
            }
            Value rawNorm = math::SqrtOp::create(
                nb, l,
                add(add(mul(av[0], av[0]), mul(av[1], av[1])),
                    mul(av[2], av[2])));
            // The forward clamps the f32 norm at 1e-8.
            Value clamped = arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::OLT,
                castFloat(nb, l, rawNorm, f32),
                arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1e-8)));
            Value norm = arith::SelectOp::create(
                nb, l, clamped,
                arith::ConstantOp::create(nb, l, nb.getF64FloatAttr(1e-8)),
                rawNorm);
            Value uv[3];
            for (int c = 0; c < 3; ++c)
              uv[c] = arith::DivFOp::create(nb, l, av[c], norm);
            Value uu = add(add(mul(uv[0], ub[0]), mul(uv[1], ub[1])),
                           mul(uv[2], ub[2]));
            SmallVector<Value> comps;
            for (int c = 0; c < 3; ++c) {
              Value free = arith::SubFOp::create(nb, l, ub[c], mul(uv[c], uu))
                               .getResult();
              Value g = arith::DivFOp::create(
                  nb, l, arith::SelectOp::create(nb, l, clamped, ub[c], free),
                  norm);
              comps.push_back(castFloat(nb, l, g, f32));
            }
            linalg::YieldOp::create(nb, l, comps);
          });
      axisBar.assign(chain.getResults().begin(), chain.getResults().end());
    }
    // A [3] axis (shared, or x itself [3]) stacks three 0-d components.
    Value daxis =
        stackLastDim(b, loc, axisBar, tensor::getMixedSizes(b, loc, axis), f32);
    Value dangle = res[6];
    if (sharedAngle)
      dangle = convertTensor(b, loc, dangle, f32);
    rewriter.replaceOp(op, ValueRange{castTo(b, loc, dx, xType),
                                      castTo(b, loc, daxis, aType),
                                      castTo(b, loc, dangle, angle.getType())});
    return success();
  }
};
} // namespace

void lowering::populateChainGradPatterns(RewritePatternSet &patterns,
                                         ChainStrategy chains) {
  patterns.add<LowerGivensGrad>(patterns.getContext(), chains);
  patterns
      .add<LowerOrthogonalGrad, LowerPenaltyGrad, LowerQuaternionRotateGrad>(
          patterns.getContext());
}
