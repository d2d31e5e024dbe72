//===- LowerRope.cpp - rotary.rope to linalg ------------------------------===//
//
// An angle table cos/sin [..positions.., r/2] computed once per (position,
// frequency) in f64 and rounded to f32 (times the pair's scale with xPos),
// then one generic over a 5-D view of the rotated features in which a pair's
// partner is an affine index:
//   half         [..., 2, r/2]   pair i = (i, i + r/2)
//   interleaved  [..., r/2, 2]   pair i = (2i, 2i + 1)
//   deinterleave reads the interleaved view, writes the half one (the
//                inverse: the converse).
//
//===----------------------------------------------------------------------===//

#include "RopeCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
Value f64Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
}
} // namespace

namespace {
/// cos θ and sin θ from the reduced r (|r| ≤ π/4, either precision) and
/// the quadrant k mod 4 (i64): k = 0: (c, s); 1: (-s, c); 2: (-c, -s);
/// 3: (s, -c).
std::pair<Value, Value> byQuadrant(OpBuilder &b, Location loc, Value q,
                                   Value cs, Value sn) {
  auto is = [&](int64_t v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, q,
                                 arith::ConstantIntOp::create(b, loc, v, 64))
        .getResult();
  };
  auto sel = [&](Value c, Value t, Value f) {
    return arith::SelectOp::create(b, loc, c, t, f).getResult();
  };
  Value nS = arith::NegFOp::create(b, loc, sn),
        nC = arith::NegFOp::create(b, loc, cs);
  return {sel(is(0), cs, sel(is(1), nS, sel(is(2), nC, sn))),
          sel(is(0), sn, sel(is(1), cs, sel(is(2), nS, nC)))};
}
} // namespace

/// θ = k·π/2 + r with k = round(2θ/π) (Cody-Waite, two-part π/2), |r| ≤ π/4,
/// Taylor polynomials to r^14 / r^13 (error < 3e-14), quadrant from k mod 4.
std::pair<Value, Value> lowering::sinCosF64(OpBuilder &b, Location loc,
                                            Value theta) {
  auto mul = [&](Value x, Value y) {
    return arith::MulFOp::create(b, loc, x, y).getResult();
  };
  auto sub = [&](Value x, Value y) {
    return arith::SubFOp::create(b, loc, x, y).getResult();
  };
  Value kf = math::RoundEvenOp::create(
      b, loc, mul(theta, f64Const(b, loc, 0.63661977236758134308)));
  // π/2 = hi + lo, hi with trailing zero bits so k·hi is exact.
  Value r = sub(sub(theta, mul(kf, f64Const(b, loc, 1.5707963267341256))),
                mul(kf, f64Const(b, loc, 6.077100506506192e-11)));
  Value r2 = mul(r, r);
  Value one = f64Const(b, loc, 1.0);
  // sin r = r(1 - r²/(2·3)(1 - r²/(4·5)(1 - ...))), cos likewise.
  Value sp = one, cp = one;
  for (int n = 13; n >= 3; n -= 2)
    sp = sub(one, mul(mul(r2, f64Const(b, loc, 1.0 / ((n - 1) * n))), sp));
  for (int n = 14; n >= 2; n -= 2)
    cp = sub(one, mul(mul(r2, f64Const(b, loc, 1.0 / ((n - 1) * n))), cp));
  Value sn = mul(r, sp), cs = cp;
  Value q = arith::AndIOp::create(
      b, loc, arith::FPToSIOp::create(b, loc, b.getI64Type(), kf),
      arith::ConstantIntOp::create(b, loc, 3, 64));
  return byQuadrant(b, loc, q, cs, sn);
}

/// θ = k·π/2 + r as in sinCosF64 but with fused multiply-adds, in f64;
/// then Cephes' single-precision minimax polynomials for |r| ≤ π/4.
std::pair<Value, Value> lowering::sinCosF32(OpBuilder &b, Location loc,
                                            Value theta) {
  Type f32 = b.getF32Type();
  Value t = arith::ExtFOp::create(b, loc, b.getF64Type(), theta);
  Value kf = math::RoundEvenOp::create(
      b, loc,
      arith::MulFOp::create(b, loc, t,
                            f64Const(b, loc, 0.63661977236758134308)));
  Value negK = arith::NegFOp::create(b, loc, kf);
  Value r64 = math::FmaOp::create(
      b, loc, negK, f64Const(b, loc, 6.077100506506192e-11),
      math::FmaOp::create(b, loc, negK, f64Const(b, loc, 1.5707963267341256),
                          t));
  Value r = arith::TruncFOp::create(b, loc, f32, r64);
  Value r2 = arith::MulFOp::create(b, loc, r, r);
  auto fma = [&](Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z).getResult();
  };
  auto c32 = [&](double v) { return f32c(b, loc, v); };
  // sin r = r + r³·(S1 + r²·(S2 + r²·S3)).
  Value sp = fma(r2, fma(r2, c32(-1.9515295891e-4), c32(8.3321608736e-3)),
                 c32(-1.6666654611e-1));
  Value sn = fma(arith::MulFOp::create(b, loc, r, r2), sp, r);
  // cos r = 1 − r²/2 + r⁴·(C1 + r²·(C2 + r²·C3)).
  Value cp =
      fma(r2, fma(r2, c32(2.443315711809948e-5), c32(-1.388731625493765e-3)),
          c32(4.166664568298827e-2));
  Value cs = fma(arith::MulFOp::create(b, loc, r2, r2), cp,
                 fma(r2, c32(-0.5), c32(1.0)));
  Value q = arith::AndIOp::create(
      b, loc, arith::FPToSIOp::create(b, loc, b.getI64Type(), kf),
      arith::ConstantIntOp::create(b, loc, 3, 64));
  return byQuadrant(b, loc, q, cs, sn);
}

RopeTables lowering::buildRopeTables(OpBuilder &b, Location loc,
                                     Value positions, Value invFreq,
                                     Value phase, Value scale,
                                     Value runtimeBase, OpFoldResult rotaryDim,
                                     float baseAttr, bool negate,
                                     std::optional<RopeXPos> xpos) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  int64_t posRank = cast<RankedTensorType>(positions.getType()).getRank();
  RopeTables tables;
  tables.rotaryDim = rotaryDim;
  Value r = tables.r =
      getValueOrCreateConstantIndexOp(b, loc, tables.rotaryDim);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  OpFoldResult half = tables.half =
      getAsOpFoldResult(b.createOrFold<arith::DivUIOp>(loc, r, two));

  // --- frequencies [r/2] in f64, once per call ---
  Value freqT = emptyOf(b, loc, {half}, f64);
  SmallVector<Value> freqIns;
  if (invFreq)
    freqIns.push_back(invFreq);
  else if (runtimeBase)
    freqIns.push_back(runtimeBase);
  tables.freq =
      elementwise(
          b, loc, freqIns, freqT, 1,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            if (invFreq) {
              linalg::YieldOp::create(nb, l, castFloat(nb, l, args[0], f64));
              return;
            }
            // f_i = base^(-2i/r) = exp(-(2i/r)·ln(base)).
            Value i = linalg::IndexOp::create(nb, l, 0);
            auto toF = [&](Value v) {
              return arith::UIToFPOp::create(
                  nb, l, f64,
                  arith::IndexCastUIOp::create(nb, l, nb.getI64Type(), v));
            };
            Value base = runtimeBase ? castFloat(nb, l, args[0], f64)
                                     : arith::ConstantOp::create(
                                           nb, l, nb.getF64FloatAttr(baseAttr))
                                           .getResult();
            Value exponent = arith::DivFOp::create(
                nb, l,
                arith::MulFOp::create(nb, l, f64Const(nb, l, -2.0), toF(i)),
                toF(r));
            linalg::YieldOp::create(
                nb, l,
                Value(math::ExpOp::create(
                    nb, l,
                    arith::MulFOp::create(nb, l, exponent,
                                          math::LogOp::create(nb, l, base)))));
          })
          .getResult(0);

  // --- xPos: L_i = sign·ln(ζ_i)/scale_base [r/2] in f64, s = exp(n·L_i) ---
  Value logZeta;
  if (xpos) {
    logZeta =
        elementwise(
            b, loc, ValueRange{}, emptyOf(b, loc, {half}, f64), 1,
            [&](OpBuilder &nb, Location l, ValueRange) {
              auto toF = [&](Value v) {
                return arith::UIToFPOp::create(
                    nb, l, f64,
                    arith::IndexCastUIOp::create(nb, l, nb.getI64Type(), v));
              };
              Value i = toF(linalg::IndexOp::create(nb, l, 0));
              Value h = toF(getValueOrCreateConstantIndexOp(nb, l, half));
              Value gamma = f64Const(nb, l, xpos->gamma);
              // ζ_i = (i/(r/2) + γ)/(1 + γ).
              Value zeta = arith::DivFOp::create(
                  nb, l,
                  arith::AddFOp::create(
                      nb, l, arith::DivFOp::create(nb, l, i, h), gamma),
                  f64Const(nb, l, 1.0 + xpos->gamma));
              Value lz = arith::MulFOp::create(
                  nb, l, math::LogOp::create(nb, l, zeta),
                  f64Const(nb, l, xpos->sign / xpos->scaleBase));
              linalg::YieldOp::create(nb, l, lz);
            })
            .getResult(0);
  }

  // --- angle table: cos/sin [positions..., r/2], no libm calls but xPos's
  // exp ---
  int64_t tableRank = posRank + 1;
  SmallVector<OpFoldResult> tableSizes =
      tensor::getMixedSizes(b, loc, positions);
  tableSizes.push_back(half);
  AffineMap freqMap =
      AffineMap::get(tableRank, 0, {getAffineDimExpr(posRank, ctx)}, ctx);
  AffineMap scalarMap = AffineMap::get(tableRank, 0, {}, ctx);
  SmallVector<Value> ins = {positions, tables.freq};
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(tableRank, ctx).getMajorSubMap(posRank),
      freqMap};
  int phaseIdx = -1, scaleIdx = -1;
  auto addInput = [&](Value v, AffineMap m, int &idx) {
    if (!v)
      return;
    idx = ins.size();
    ins.push_back(v);
    maps.push_back(m);
  };
  int zetaIdx = -1;
  addInput(phase, freqMap, phaseIdx);
  addInput(scale, scalarMap, scaleIdx);
  addInput(logZeta, freqMap, zetaIdx);
  Value cosT = emptyOf(b, loc, tableSizes, f32);
  Value sinT = emptyOf(b, loc, tableSizes, f32);
  maps.push_back(AffineMap::getMultiDimIdentityMap(tableRank, ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(tableRank, ctx));
  SmallVector<utils::IteratorType> tableIters(tableRank,
                                              utils::IteratorType::parallel);
  auto table = linalg::GenericOp::create(
      b, loc, TypeRange{cosT.getType(), sinT.getType()}, ins,
      ValueRange{cosT, sinT}, maps, tableIters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value p = positionToF64(nb, l, args[0]);
        // xPos scales by the position itself, not by scale·p.
        Value xposScale =
            zetaIdx >= 0
                ? Value(math::ExpOp::create(
                      nb, l, arith::MulFOp::create(nb, l, p, args[zetaIdx])))
                : Value();
        if (scaleIdx >= 0)
          p = arith::MulFOp::create(nb, l, p,
                                    castFloat(nb, l, args[scaleIdx], f64));
        Value theta = arith::MulFOp::create(nb, l, p, args[1]);
        if (phaseIdx >= 0)
          theta = arith::AddFOp::create(nb, l, theta,
                                        castFloat(nb, l, args[phaseIdx], f64));
        if (negate)
          theta = arith::NegFOp::create(nb, l, theta);
        auto [c, sn] = sinCosF64(nb, l, theta);
        if (xposScale) {
          c = arith::MulFOp::create(nb, l, c, xposScale);
          sn = arith::MulFOp::create(nb, l, sn, xposScale);
        }
        linalg::YieldOp::create(
            nb, l,
            ValueRange{castFloat(nb, l, c, f32), castFloat(nb, l, sn, f32)});
      });
  tables.cos = table.getResult(0);
  tables.sin = table.getResult(1);
  return tables;
}

std::pair<RopeLayout, RopeLayout>
lowering::ropeReadWriteLayouts(RopeLayout layout, bool inverse) {
  if (layout != RopeLayout::deinterleave)
    return {layout, layout};
  return inverse ? std::pair{RopeLayout::half, RopeLayout::interleaved}
                 : std::pair{RopeLayout::interleaved, RopeLayout::half};
}

bool lowering::ropeRotatesAll(std::optional<int64_t> rotaryDim,
                              RankedTensorType xType) {
  return !rotaryDim ||
         (!xType.isDynamicDim(3) && *rotaryDim == xType.getDimSize(3));
}

Value lowering::ropeAssemble(OpBuilder &b, Location loc, Value rotated,
                             Value passFrom, Value like,
                             ArrayRef<OpFoldResult> sizes, OpFoldResult rOfr,
                             bool fullRotation, RankedTensorType type) {
  Type elt = type.getElementType();
  Value result = rotated;
  if (cast<RankedTensorType>(rotated.getType()).getRank() == 5)
    result = tensor::CollapseShapeOp::create(
        b, loc, rotated,
        SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  if (!fullRotation) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> rotSizes = {sizes[0], sizes[1], sizes[2], rOfr};
    Value r = getValueOrCreateConstantIndexOp(b, loc, rOfr);
    Value full = emptyLike(b, loc, like, elt);
    SmallVector<OpFoldResult> passSizes = {
        sizes[0], sizes[1], sizes[2],
        getAsOpFoldResult(
            arith::SubIOp::create(b, loc, dimOf(b, loc, like, 3), r))};
    SmallVector<OpFoldResult> passOffs = {zero, zero, zero, rOfr};
    Value pass = tensor::ExtractSliceOp::create(
        b, loc, sliceType(passSizes, {}, elt), passFrom, passOffs, passSizes,
        SmallVector<OpFoldResult>(4, one));
    full = tensor::InsertSliceOp::create(b, loc, pass, full, passOffs,
                                         passSizes,
                                         SmallVector<OpFoldResult>(4, one));
    result = tensor::InsertSliceOp::create(
        b, loc, result, full, SmallVector<OpFoldResult>(4, zero), rotSizes,
        SmallVector<OpFoldResult>(4, one));
  }
  if (result.getType() != type)
    result = tensor::CastOp::create(b, loc, type, result);
  return result;
}

RopePairMaps::RopePairMaps(MLIRContext *ctx, bool perBatch)
    : k(getAffineDimExpr(3, ctx)) {
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d4 = getAffineDimExpr(4, ctx);
  table = perBatch ? AffineMap::get(5, 0, {d0, d1, d4}, ctx)
                   : AffineMap::get(5, 0, {d1, d4}, ctx);
  position = perBatch ? AffineMap::get(5, 0, {d0, d1}, ctx)
                      : AffineMap::get(5, 0, {d1}, ctx);
}

AffineMap RopePairMaps::element(RopeLayout layout, AffineExpr kExpr) const {
  MLIRContext *ctx = k.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx), d4 = getAffineDimExpr(4, ctx);
  return layout == RopeLayout::half
             ? AffineMap::get(5, 0, {d0, d1, d2, kExpr, d4}, ctx)
             : AffineMap::get(5, 0, {d0, d1, d2, d4, kExpr}, ctx);
}

Value lowering::ropeRotated(OpBuilder &b, Location loc, Value v,
                            ArrayRef<OpFoldResult> rotSizes,
                            bool fullRotation) {
  if (fullRotation)
    return v;
  Type elt = cast<RankedTensorType>(v.getType()).getElementType();
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType(rotSizes, {}, elt), v,
      SmallVector<OpFoldResult>(4, b.getIndexAttr(0)), rotSizes,
      SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
}

Value lowering::ropeView5(OpBuilder &b, Location loc, Value v,
                          RopeLayout layout, ArrayRef<OpFoldResult> lead,
                          OpFoldResult half) {
  SmallVector<OpFoldResult> sizes(lead);
  if (layout == RopeLayout::half)
    sizes.append({b.getIndexAttr(2), half});
  else
    sizes.append({half, b.getIndexAttr(2)});
  SmallVector<int64_t> shape;
  SmallVector<Value> dyn;
  dispatchIndexOpFoldResults(sizes, dyn, shape);
  Type elt = cast<RankedTensorType>(v.getType()).getElementType();
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, elt), v,
      SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}}, sizes);
}

namespace {
struct LowerRope : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX();
    Value positions = op.getPositions();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType();
    auto posType = cast<RankedTensorType>(positions.getType());
    int64_t posRank = posType.getRank();

    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    bool inverse = op.getInverse();
    OpFoldResult rOfr = op.getRotaryDim()
                            ? OpFoldResult(b.getIndexAttr(*op.getRotaryDim()))
                            : xSizes[3];
    RopeTables tables =
        buildRopeTables(b, loc, positions, op.getInvFreq(), op.getPhase(),
                        op.getScale(), op.getRuntimeBase(), rOfr,
                        op.getBaseOrDefault(), inverse, ropeXPos(op));
    OpFoldResult half = tables.half;

    // --- the rotation, on a 5-D view of the rotated features ---
    // half:        [..., 2, r/2]  pair i = (k = 0, i), (k = 1, i)
    // interleaved: [..., r/2, 2]  pair i = (i, k = 0), (i, k = 1)
    // The pair partner of element k is 1 - k: an affine map, so one generic
    // with one output writes y directly (no temporaries, no copies).
    RopeLayout layout = op.getLayout();
    RopeLayout readLayout, writeLayout;
    std::tie(readLayout, writeLayout) = ropeReadWriteLayouts(layout, inverse);
    bool fullRotation = ropeRotatesAll(op.getRotaryDim(), xType);
    SmallVector<OpFoldResult> rotSizes = {xSizes[0], xSizes[1], xSizes[2],
                                          rOfr};
    Value xr = ropeRotated(b, loc, x, rotSizes, fullRotation);
    ArrayRef<OpFoldResult> lead = ArrayRef(xSizes).take_front(3);
    Value in5 = ropeView5(b, loc, xr, readLayout, lead, half);
    Value out5 = ropeView5(b, loc, emptyOf(b, loc, rotSizes, elt), writeLayout,
                           lead, half);
    // Loops (b, t, h, k, i): k = element within the pair, i = pair.
    RopePairMaps maps(ctx, /*perBatch=*/posRank == 2);
    AffineExpr k = maps.k;
    SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
    auto rot = linalg::GenericOp::create(
        b, loc, TypeRange{out5.getType()},
        ValueRange{in5, in5, tables.cos, tables.sin}, ValueRange{out5},
        SmallVector<AffineMap>{maps.element(readLayout, k),
                               maps.element(readLayout, 1 - k), maps.table,
                               maps.table, maps.element(writeLayout, k)},
        iters, [&](OpBuilder &nb, Location l, ValueRange args) {
          // First of a pair: a·c − b·s; second: b·c + a·s.
          Value self = toF32(nb, l, args[0]), partner = toF32(nb, l, args[1]);
          Value c = args[2], s = args[3];
          Value k = linalg::IndexOp::create(nb, l, 3);
          Value first =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, k,
                                    arith::ConstantIndexOp::create(nb, l, 0));
          Value signedS = arith::SelectOp::create(
              nb, l, first, arith::NegFOp::create(nb, l, s), s);
          Value y = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, self, c),
              arith::MulFOp::create(nb, l, partner, signedS));
          linalg::YieldOp::create(nb, l, castFloat(nb, l, y, elt));
        });
    Value result = ropeAssemble(b, loc, rot.getResult(0), x, x, xSizes,
                                rOfr, fullRotation, xType);
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

void lowering::populateRopePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRope>(patterns.getContext());
}
