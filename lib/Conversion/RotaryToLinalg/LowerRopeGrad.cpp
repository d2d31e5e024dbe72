//===- LowerRopeGrad.cpp - rotary.rope_grad to linalg/scf -----------------===//
//
// With xPos the angle table holds s·cos θ', s·sin θ' (RopeCommon.h), so x̄
// and θ̄ below carry the pair's scale s without further work.
//
// x̄ is the inverse rotation of ȳ (Math §1): without parameter gradients the
// op is rotary.rope on ȳ with `inverse` flipped (the inverse layout map
// included), lowered by LowerRope.cpp.
//
// With parameter gradients, rotary.rope_tokens_grad computes x̄ of the
// rotated features and accumulates, per frequency i and in f64,
//   Φ_i = Σ θ̄  and  S_i = Σ θ̄·p      (θ̄ split over the pair's two elements)
// over (batch, tokens), the dims a target tiles into tasks of partial sums.
// One small generic then gives f̄_i = scale·S_i, φ̄_i = Φ_i,
// scalē = Σ_i f_i·S_i and basē = Σ_i f̄_i·(−2i/r)·f_i/base.
//
// A tile of rope_tokens_grad decomposes into one generic over the 5-D pair
// views of LowerRope.cpp that reads x and ȳ once, writes x̄ and adds into
// the tile's sums.
//
//===----------------------------------------------------------------------===//

#include "RopeCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
constexpr int64_t kTokenTile = 16;

struct LowerRopeGrad : OpRewritePattern<RopeGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX(), positions = op.getPositions(), dy = op.getDy();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType(), f64 = b.getF64Type();
    bool inverse = op.getInverse();

    if (op.getParamGrads().empty()) {
      RopeOptions options;
      options.layout = op.getLayout();
      options.rotaryDim = op.getRotaryDim();
      if (op.getBase())
        options.base = op.getBase()->convertToFloat();
      options.invFreq = op.getInvFreq();
      options.phase = op.getPhase();
      options.scale = op.getScale();
      options.runtimeBase = op.getRuntimeBase();
      options.inverse = !inverse;
      // xPos: x̄ = s·R(−θ)ȳ, the same scale under the flipped rotation.
      options.xpos = op.getXpos();
      if (auto v = op.getXposScaleBase())
        options.xposScaleBase = v->convertToFloat();
      if (auto v = op.getXposGamma())
        options.xposGamma = v->convertToFloat();
      rewriter.replaceOp(op, RopeOp::create(b, loc, dy, positions, options));
      return success();
    }

    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    OpFoldResult rOfr = op.getRotaryDim()
                            ? OpFoldResult(b.getIndexAttr(*op.getRotaryDim()))
                            : xSizes[3];
    // The table holds cos/sin of θ' = ±θ, the angle the forward rotated by.
    RopeTables tables = buildRopeTables(
        b, loc, positions, op.getInvFreq(), op.getPhase(), op.getScale(),
        op.getRuntimeBase(), rOfr,
        op.getBase() ? op.getBase()->convertToFloat() : RopeOp::kDefaultBase,
        inverse, ropeXPos(op));
    OpFoldResult half = tables.half;
    Value r = tables.r;

    RopeLayout layout = op.getLayout();
    bool fullRotation = ropeRotatesAll(op.getRotaryDim(), xType);
    SmallVector<OpFoldResult> rotSizes = {xSizes[0], xSizes[1], xSizes[2],
                                          rOfr};
    Value xr = ropeRotated(b, loc, x, rotSizes, fullRotation);

    // x̄ and the sums Φ_i, S_i: the structured op, tiled by the target.
    Value sum0 = zerosOf(b, loc, {half}, f64),
          sum1 = zerosOf(b, loc, {half}, f64);
    auto grad = RopeTokensGradOp::create(
        b, loc, TypeRange{xr.getType(), sum0.getType(), sum1.getType()}, xr,
        ropeRotated(b, loc, dy, rotSizes, fullRotation), tables.cos, tables.sin,
        positions, emptyOf(b, loc, rotSizes, elt), sum0, sum1, layout, inverse);
    if (Attribute tiles = op->getAttr(kTilesAttr))
      grad->setAttr(kTilesAttr, tiles);

    // x̄: the rotated features, and ȳ's pass-through features r..D.
    Value dx = ropeAssemble(b, loc, grad.getDx(), dy, x, xSizes, rOfr,
                            fullRotation, xType);
    Value phiSum = grad.getDtheta(), posSum = grad.getDthetaP();

    // The parameter gradients, one small generic over i.
    Value invFreq = op.getInvFreq(), phase = op.getPhase(),
          scale = op.getScale(), base = op.getRuntimeBase();
    SmallVector<Value> ins = {phiSum, posSum, tables.freq};
    int scaleIdx = -1, baseIdx = -1;
    if (scale) {
      scaleIdx = ins.size();
      ins.push_back(scale);
    }
    if (base) {
      baseIdx = ins.size();
      ins.push_back(base);
    }
    SmallVector<Value> outs;
    if (invFreq)
      outs.push_back(emptyOf(b, loc, {half}, b.getF32Type()));
    if (phase)
      outs.push_back(emptyOf(b, loc, {half}, b.getF32Type()));
    if (scale)
      outs.push_back(zerosOf(b, loc, {}, f64));
    if (base)
      outs.push_back(zerosOf(b, loc, {}, f64));
    SmallVector<AffineMap> maps;
    for (Value v : llvm::concat<Value>(ins, outs))
      maps.push_back(cast<RankedTensorType>(v.getType()).getRank() == 0
                         ? AffineMap::get(1, 0, {}, ctx)
                         : AffineMap::getMultiDimIdentityMap(1, ctx));
    SmallVector<Type> outTypes;
    for (Value v : outs)
      outTypes.push_back(v.getType());
    int64_t numIns = ins.size();
    auto grads = linalg::GenericOp::create(
        b, loc, outTypes, ins, outs, maps,
        SmallVector<utils::IteratorType>{(scale || base)
                                             ? utils::IteratorType::reduction
                                             : utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          auto mul = [&](Value p, Value q) {
            return arith::MulFOp::create(nb, l, p, q).getResult();
          };
          Value phi = a[0], s = a[1], f = a[2];
          Value sc = scale ? castFloat(nb, l, a[scaleIdx], f64) : Value();
          // f̄_i = scale·S_i.
          Value fBar = sc ? mul(sc, s) : s;
          SmallVector<Value> yields;
          int64_t o = numIns;
          if (invFreq) {
            yields.push_back(castFloat(nb, l, fBar, nb.getF32Type()));
            ++o;
          }
          if (phase) {
            yields.push_back(castFloat(nb, l, phi, nb.getF32Type()));
            ++o;
          }
          if (scale) {
            yields.push_back(
                arith::AddFOp::create(nb, l, a[o], mul(f, s)).getResult());
            ++o;
          }
          if (base) {
            // ∂f_i/∂base = (−2i/r)·f_i/base.
            Value i = arith::UIToFPOp::create(
                nb, l, f64,
                arith::IndexCastUIOp::create(
                    nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, 0)));
            Value rF = arith::UIToFPOp::create(
                nb, l, f64,
                arith::IndexCastUIOp::create(nb, l, nb.getI64Type(), r));
            Value dfdb = arith::DivFOp::create(
                nb, l,
                mul(arith::DivFOp::create(
                        nb, l,
                        mul(arith::ConstantOp::create(nb, l,
                                                      nb.getF64FloatAttr(-2.0)),
                            i),
                        rF),
                    f),
                castFloat(nb, l, a[baseIdx], f64));
            yields.push_back(arith::AddFOp::create(nb, l, a[o], mul(fBar, dfdb))
                                 .getResult());
          }
          linalg::YieldOp::create(nb, l, yields);
        });

    SmallVector<Value> results = {dx};
    for (auto [grad, type] :
         llvm::zip(grads.getResults(), op.getParamGrads().getTypes())) {
      Value g = grad;
      if (cast<RankedTensorType>(g.getType()).getElementType() == f64)
        g = elementwise(b, loc, g, emptyOf(b, loc, {}, b.getF32Type()), 0,
                        [&](OpBuilder &nb, Location l, ValueRange a) {
                          linalg::YieldOp::create(
                              nb, l, castFloat(nb, l, a[0], nb.getF32Type()));
                        })
                .getResult(0);
      if (g.getType() != type)
        g = tensor::CastOp::create(b, loc, type, g);
      results.push_back(g);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// One tile of rotary.rope_tokens_grad: a single generic over (b, t, h, k, i)
/// (k = element within the pair, i = pair) whose every dim but i reduces
/// into the sums.
struct DecomposeRopeTokensGrad : OpRewritePattern<RopeTokensGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeTokensGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type elt = op.getX().getType().getElementType();
    bool inverse = op.getInverse();
    // The forward read x in readLayout and wrote y in writeLayout: x̄ goes
    // where x came from, ȳ is read where y went.
    RopeLayout readLayout, writeLayout;
    std::tie(readLayout, writeLayout) =
        ropeReadWriteLayouts(op.getLayout(), inverse);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, op.getX());
    OpFoldResult half;
    if (std::optional<int64_t> r = getConstantIntValue(sizes[3]))
      half = b.getIndexAttr(*r / 2);
    else
      half = getAsOpFoldResult(arith::DivUIOp::create(
          b, loc, getValueOrCreateConstantIndexOp(b, loc, sizes[3]),
          arith::ConstantIndexOp::create(b, loc, 2)));
    ArrayRef<OpFoldResult> lead = ArrayRef(sizes).take_front(3);
    Value x5 = ropeView5(b, loc, op.getX(), readLayout, lead, half);
    Value dy5 = ropeView5(b, loc, op.getDy(), writeLayout, lead, half);
    Value dx5 = ropeView5(b, loc, op.getDxInit(), readLayout, lead, half);

    RopePairMaps maps(ctx, op.perBatchPositions());
    AffineExpr k = maps.k;
    auto at = [&](RopeLayout l, AffineExpr e) { return maps.element(l, e); };
    AffineMap sumMap = AffineMap::get(5, 0, {getAffineDimExpr(4, ctx)}, ctx);
    SmallVector<utils::IteratorType> iters(4, utils::IteratorType::reduction);
    iters.push_back(utils::IteratorType::parallel);
    Value dtheta = op.getDthetaInit(), dthetaP = op.getDthetaPInit();
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{dx5.getType(), dtheta.getType(), dthetaP.getType()},
        ValueRange{x5, x5, dy5, dy5, op.getCos(), op.getSin(),
                   op.getPositions()},
        ValueRange{dx5, dtheta, dthetaP},
        SmallVector<AffineMap>{at(readLayout, k), at(readLayout, 1 - k),
                               at(writeLayout, k), at(writeLayout, 1 - k),
                               maps.table, maps.table, maps.position,
                               at(readLayout, k), sumMap, sumMap},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          auto mul = [&](Value p, Value q) {
            return arith::MulFOp::create(nb, l, p, q).getResult();
          };
          Value self = toF32(nb, l, a[0]), partner = toF32(nb, l, a[1]);
          Value gSelf = toF32(nb, l, a[2]), gPartner = toF32(nb, l, a[3]);
          Value c = a[4], s = a[5];
          Value k = linalg::IndexOp::create(nb, l, 3);
          Value first =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, k,
                                    arith::ConstantIndexOp::create(nb, l, 0));
          auto negIfFirst = [&](Value v) {
            return arith::SelectOp::create(nb, l, first,
                                           arith::NegFOp::create(nb, l, v), v)
                .getResult();
          };
          // x̄ = ȳ rotated by −θ': first ȳ_a·c + ȳ_b·s, second ȳ_b·c − ȳ_a·s.
          Value dxv = arith::SubFOp::create(nb, l, mul(gSelf, c),
                                            mul(gPartner, negIfFirst(s)));
          // This element's share of θ̄': first ȳ_a·(−a·s − b·c), second
          // ȳ_b·(a·c − b·s).
          Value share =
              mul(gSelf, arith::SubFOp::create(
                             nb, l, negIfFirst(mul(partner, c)), mul(self, s)));
          // θ' = −θ under `inverse`.
          if (inverse)
            share = arith::NegFOp::create(nb, l, share);
          Value share64 = castFloat(nb, l, share, nb.getF64Type());
          Value p = positionToF64(nb, l, a[6]);
          linalg::YieldOp::create(
              nb, l,
              ValueRange{castFloat(nb, l, dxv, elt),
                         arith::AddFOp::create(nb, l, a[8], share64),
                         arith::AddFOp::create(nb, l, a[9], mul(share64, p))});
        });
    Value dx = tensor::CollapseShapeOp::create(
        b, loc, generic.getResult(0),
        SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
    rewriter.replaceOp(op, {castTo(b, loc, dx, op.getDx().getType()),
                            generic.getResult(1), generic.getResult(2)});
    return success();
  }
};
} // namespace

void lowering::populateRopeGradPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRopeGrad>(patterns.getContext());
}

void lowering::populateRopeGradDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeRopeTokensGrad>(patterns.getContext());
}
