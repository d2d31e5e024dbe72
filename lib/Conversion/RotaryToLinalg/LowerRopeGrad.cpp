//===- LowerRopeGrad.cpp - rotary.rope_grad to linalg/scf -----------------===//
//
// x̄ is the inverse rotation of ȳ (SPEC §1): without parameter gradients the
// op is rotary.rope on ȳ with `inverse` flipped (the inverse layout map
// included), lowered by LowerRope.cpp.
//
// With parameter gradients, one scf.forall task per (batch, tile of tokens)
// runs one generic over the 5-D pair views of LowerRope.cpp that reads x and
// ȳ once, writes x̄ and accumulates, per frequency i and in f64,
//   Φ_i = Σ θ̄  and  S_i = Σ θ̄·p      (θ̄ split over the pair's two elements)
// into the task's row of a [B, tiles, r/2] partial table. A small reduction
// over tiles then gives f̄_i = scale·S_i, φ̄_i = Φ_i, scalē = Σ_i f_i·S_i and
// basē = Σ_i f̄_i·(−2i/r)·f_i/base.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
constexpr int64_t kTokenTile = 16;

Value zerosF64(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  Value empty = emptyOf(b, loc, sizes, b.getF64Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

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
      rewriter.replaceOp(op, RopeOp::create(b, loc, dy, positions, options));
      return success();
    }

    int64_t posRank = cast<RankedTensorType>(positions.getType()).getRank();
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    OpFoldResult rOfr = op.getRotaryDim()
                            ? OpFoldResult(b.getIndexAttr(*op.getRotaryDim()))
                            : xSizes[3];
    // The table holds cos/sin of θ' = ±θ, the angle the forward rotated by.
    RopeTables tables = buildRopeTables(
        b, loc, positions, op.getInvFreq(), op.getPhase(), op.getScale(),
        op.getRuntimeBase(), rOfr,
        op.getBase() ? op.getBase()->convertToFloat() : RopeOp::kDefaultBase,
        inverse);
    OpFoldResult half = tables.half;
    Value r = tables.r;

    // The forward read x in readLayout and wrote y in writeLayout: x̄ goes
    // where x came from, ȳ is read where y went.
    RopeLayout layout = op.getLayout();
    RopeLayout readLayout, writeLayout;
    std::tie(readLayout, writeLayout) = ropeReadWriteLayouts(layout, inverse);
    bool fullRotation = ropeRotatesAll(op.getRotaryDim(), xType);
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> rotSizes = {xSizes[0], xSizes[1], xSizes[2],
                                          rOfr};
    auto rotated = [&](Value v) -> Value {
      if (fullRotation)
        return v;
      return tensor::ExtractSliceOp::create(
          b, loc, sliceType(rotSizes, {}, elt), v,
          SmallVector<OpFoldResult>(4, zero), rotSizes,
          SmallVector<OpFoldResult>(4, one));
    };
    ArrayRef<OpFoldResult> lead = ArrayRef(xSizes).take_front(3);
    Value x5 = ropeView5(b, loc, rotated(x), readLayout, lead, half);
    Value dy5 = ropeView5(b, loc, rotated(dy), writeLayout, lead, half);
    Value dx5 = ropeView5(b, loc, emptyOf(b, loc, rotSizes, elt), readLayout,
                          lead, half);

    Value batch = dimOf(b, loc, x, 0), tokens = dimOf(b, loc, x, 1);
    Value tileV = arith::ConstantIndexOp::create(b, loc, kTokenTile);
    Value tiles = arith::CeilDivUIOp::create(b, loc, tokens, tileV);
    SmallVector<OpFoldResult> partialSizes = {xSizes[0],
                                              getAsOpFoldResult(tiles), half};
    Value phiPart = emptyOf(b, loc, partialSizes, f64);
    Value posPart = emptyOf(b, loc, partialSizes, f64);

    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>{zero, zero},
        SmallVector<OpFoldResult>{getAsOpFoldResult(batch),
                                  getAsOpFoldResult(tokens)},
        SmallVector<OpFoldResult>{one, b.getIndexAttr(kTokenTile)},
        ValueRange{dx5, phiPart, posPart}, /*mapping=*/std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value bi = forall.getInductionVar(0), t0 = forall.getInductionVar(1);
      OpFoldResult tt = tileExtent(b, loc, tokens, t0, kTokenTile);
      Value tileIdx = arith::DivUIOp::create(b, loc, t0, tileV);
      auto slice5 = [&](Value v) -> Value {
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
        sizes[0] = one;
        sizes[1] = tt;
        SmallVector<OpFoldResult> offs = {bi, t0, zero, zero, zero};
        auto type = cast<RankedTensorType>(v.getType());
        return tensor::ExtractSliceOp::create(
            b, loc, sliceType(sizes, {}, type.getElementType()), v, offs, sizes,
            SmallVector<OpFoldResult>(5, one));
      };
      // Positions and table rows of this tile.
      auto slicePos = [&](Value v, bool withHalf) -> Value {
        auto type = cast<RankedTensorType>(v.getType());
        SmallVector<OpFoldResult> offs, sizes;
        if (posRank == 2) {
          offs.push_back(bi);
          sizes.push_back(one);
        }
        offs.push_back(t0);
        sizes.push_back(tt);
        if (withHalf) {
          offs.push_back(zero);
          sizes.push_back(half);
        }
        return tensor::ExtractSliceOp::create(
            b, loc, sliceType(sizes, {}, type.getElementType()), v, offs, sizes,
            SmallVector<OpFoldResult>(sizes.size(), one));
      };
      SmallVector<OpFoldResult> partOffs = {bi, getAsOpFoldResult(tileIdx),
                                            zero};
      SmallVector<OpFoldResult> partSizes = {one, one, half};
      SmallVector<OpFoldResult> partStrides = {one, one, one};
      RankedTensorType partType = sliceType(partSizes, {0, 1}, f64);
      auto accumulator = [&](Value shared) -> Value {
        Value s = tensor::ExtractSliceOp::create(
            b, loc, partType, shared, partOffs, partSizes, partStrides);
        Value z = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
        return linalg::FillOp::create(b, loc, z, s).getResult(0);
      };
      ValueRange shared = forall.getRegionIterArgs();
      Value xs = slice5(x5), dys = slice5(dy5), dxs = slice5(shared[0]);
      Value phiAcc = accumulator(shared[1]), posAcc = accumulator(shared[2]);

      // Loops (b, t, h, k, i): k = element within the pair, i = pair; all
      // but i reduce into the accumulators.
      AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
                 d2 = getAffineDimExpr(2, ctx), d3 = getAffineDimExpr(3, ctx),
                 d4 = getAffineDimExpr(4, ctx);
      auto at = [&](RopeLayout l, AffineExpr k) {
        return l == RopeLayout::half
                   ? AffineMap::get(5, 0, {d0, d1, d2, k, d4}, ctx)
                   : AffineMap::get(5, 0, {d0, d1, d2, d4, k}, ctx);
      };
      AffineMap tableMap = posRank == 1
                               ? AffineMap::get(5, 0, {d1, d4}, ctx)
                               : AffineMap::get(5, 0, {d0, d1, d4}, ctx);
      AffineMap posMap = posRank == 1 ? AffineMap::get(5, 0, {d1}, ctx)
                                      : AffineMap::get(5, 0, {d0, d1}, ctx);
      AffineMap accMap = AffineMap::get(5, 0, {d4}, ctx);
      SmallVector<utils::IteratorType> iters(4, utils::IteratorType::reduction);
      iters.push_back(utils::IteratorType::parallel);
      auto generic = linalg::GenericOp::create(
          b, loc, TypeRange{dxs.getType(), phiAcc.getType(), posAcc.getType()},
          ValueRange{xs, xs, dys, dys, slicePos(tables.cos, true),
                     slicePos(tables.sin, true), slicePos(positions, false)},
          ValueRange{dxs, phiAcc, posAcc},
          SmallVector<AffineMap>{at(readLayout, d3), at(readLayout, 1 - d3),
                                 at(writeLayout, d3), at(writeLayout, 1 - d3),
                                 tableMap, tableMap, posMap, at(readLayout, d3),
                                 accMap, accMap},
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
            Value share = mul(
                gSelf, arith::SubFOp::create(nb, l, negIfFirst(mul(partner, c)),
                                             mul(self, s)));
            // θ' = −θ under `inverse`.
            if (inverse)
              share = arith::NegFOp::create(nb, l, share);
            Value share64 = castFloat(nb, l, share, nb.getF64Type());
            Value p = positionToF64(nb, l, a[6]);
            linalg::YieldOp::create(
                nb, l,
                ValueRange{
                    castFloat(nb, l, dxv, elt),
                    arith::AddFOp::create(nb, l, a[8], share64),
                    arith::AddFOp::create(nb, l, a[9], mul(share64, p))});
          });
      SmallVector<OpFoldResult> dxOffs = {bi, t0, zero, zero, zero};
      SmallVector<OpFoldResult> dxSizes = tensor::getMixedSizes(b, loc, dxs);
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, generic.getResult(0),
                                            shared[0], dxOffs, dxSizes,
                                            SmallVector<OpFoldResult>(5, one));
      for (int i = 1; i <= 2; ++i)
        tensor::ParallelInsertSliceOp::create(b, loc, generic.getResult(i),
                                              shared[i], partOffs, partSizes,
                                              partStrides);
    }

    // x̄: the rotated features, and ȳ's pass-through features r..D.
    Value dx = ropeAssemble(b, loc, forall.getResult(0), dy, x, xSizes,
                            rOfr, fullRotation, xType);

    // Φ_i and S_i: the partial sums reduced over (batch, tile).
    SmallVector<utils::IteratorType> redIters = {utils::IteratorType::reduction,
                                                 utils::IteratorType::reduction,
                                                 utils::IteratorType::parallel};
    AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap last3 = AffineMap::get(3, 0, {getAffineDimExpr(2, ctx)}, ctx);
    auto sums = linalg::GenericOp::create(
        b, loc, TypeRange{vecF64Type(b, half), vecF64Type(b, half)},
        ValueRange{forall.getResult(1), forall.getResult(2)},
        ValueRange{zerosF64(b, loc, {half}), zerosF64(b, loc, {half})},
        SmallVector<AffineMap>{id3, id3, last3, last3}, redIters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::AddFOp::create(nb, l, a[2], a[0]),
                         arith::AddFOp::create(nb, l, a[3], a[1])});
        });
    Value phiSum = sums.getResult(0), posSum = sums.getResult(1);

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
      outs.push_back(zerosF64(b, loc, {}));
    if (base)
      outs.push_back(zerosF64(b, loc, {}));
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

  static RankedTensorType vecF64Type(OpBuilder &b, OpFoldResult half) {
    return sliceType({half}, {}, b.getF64Type());
  }
};
} // namespace

void lowering::populateRopeGradPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRopeGrad>(patterns.getContext());
}
