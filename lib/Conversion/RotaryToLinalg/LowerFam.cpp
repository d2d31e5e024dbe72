//===- LowerFam.cpp - spectral_bands and adaptive_momentum to linalg ------===//
//
// Both are small per-tensor statistics (Math §7 steps 2-3): band ranges are
// computed from the band index with the integer divisions of Math §7, and each
// band sums the spectrum over a masked range (n·L work, n ≤ a few dozen).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
Value idx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// [lo, hi) of band `i` of `n` over a spectrum of length `len` (Math §7).
std::pair<Value, Value> bandRange(OpBuilder &b, Location loc, BandLayout layout,
                                  Value i, Value n, Value len) {
  auto mul = [&](Value x, Value y) {
    return arith::MulIOp::create(b, loc, x, y).getResult();
  };
  auto add = [&](Value x, Value y) {
    return arith::AddIOp::create(b, loc, x, y).getResult();
  };
  auto sub = [&](Value x, Value y) {
    return arith::SubIOp::create(b, loc, x, y).getResult();
  };
  auto div = [&](Value x, Value y) {
    return arith::DivUIOp::create(b, loc, x, y).getResult();
  };
  auto minU = [&](Value x, Value y) {
    return arith::MinUIOp::create(b, loc, x, y).getResult();
  };
  Value one = idx(b, loc, 1);
  switch (layout) {
  case BandLayout::linear: {
    Value w = div(len, n);
    return {mul(i, w), minU(mul(add(i, one), w), len)};
  }
  case BandLayout::log: {
    // floor(L^(k/n)) - 1, in f64 like the reference.
    Type f64 = b.getF64Type();
    auto toF = [&](Value v) {
      return arith::UIToFPOp::create(
          b, loc, f64, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), v));
    };
    auto edge = [&](Value k) {
      Value e = arith::DivFOp::create(b, loc, toF(k), toF(n));
      // floor(L^e), exact at perfect powers: pow gives 3.999... for
      // 64^(1/3), so an integer within 1e-9 relative is taken as is.
      Value x = math::PowFOp::create(b, loc, toF(len), e);
      Value nearest = math::RoundEvenOp::create(b, loc, x);
      Value close = arith::CmpFOp::create(
          b, loc, arith::CmpFPredicate::OLE,
          math::AbsFOp::create(b, loc,
                               arith::SubFOp::create(b, loc, x, nearest)),
          arith::MulFOp::create(
              b, loc, x,
              arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1e-9))));
      Value p = arith::SelectOp::create(b, loc, close, nearest,
                                        math::FloorOp::create(b, loc, x));
      Value pi = arith::IndexCastOp::create(
          b, loc, b.getIndexType(),
          arith::FPToSIOp::create(b, loc, b.getI64Type(), p));
      return sub(pi, one); // may be -1 for k = 0 (clamped below)
    };
    Value lo = arith::MaxSIOp::create(b, loc, edge(i), idx(b, loc, 0));
    Value hi = arith::MinSIOp::create(b, loc, edge(add(i, one)), len);
    return {lo, hi};
  }
  case BandLayout::split: {
    Value two = idx(b, loc, 2);
    Value h = div(n, two), bigH = div(len, two);
    Value firstHalf =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, h);
    // First half: width H/h from 0, capped at H (h > 0 whenever i < h).
    Value hSafe = arith::MaxUIOp::create(b, loc, h, one);
    Value w1 = div(bigH, hSafe);
    Value lo1 = mul(i, w1), hi1 = minU(mul(add(i, one), w1), bigH);
    // Second half: width (L-H)/(n-h) from H, capped at L.
    Value w2 = div(sub(len, bigH), sub(n, h));
    Value j = sub(i, h);
    Value lo2 = add(bigH, mul(j, w2));
    Value hi2 = minU(add(bigH, mul(add(j, one), w2)), len);
    return {arith::SelectOp::create(b, loc, firstHalf, lo1, lo2),
            arith::SelectOp::create(b, loc, firstHalf, hi1, hi2)};
  }
  }
  llvm_unreachable("unknown band layout");
}

struct LowerSpectralBands : OpRewritePattern<SpectralBandsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SpectralBandsOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value spectrum = op.getSpectrum();
    Value len = dimOf(b, loc, spectrum, 0);
    int64_t n = op.getNBands();
    // Total, for the normalisation P / (ΣP + eps) when ΣP > 0.
    Value total =
        linalg::GenericOp::create(
            b, loc, TypeRange{RankedTensorType::get({}, b.getF32Type())},
            ValueRange{spectrum}, ValueRange{zerosF32(b, loc, {})},
            SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx),
                                   AffineMap::get(1, 0, {}, ctx)},
            SmallVector<utils::IteratorType>{utils::IteratorType::reduction},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  nb, l, Value(arith::AddFOp::create(nb, l, a[1], a[0])));
            })
            .getResult(0);
    BandLayout layout = op.getLayout();
    Value sums = zerosF32(b, loc, {b.getIndexAttr(n)});
    // (band, j): sums[band] += P[j] if j in the band's range.
    auto banded = linalg::GenericOp::create(
        b, loc, TypeRange{sums.getType()}, ValueRange{spectrum},
        ValueRange{sums},
        SmallVector<AffineMap>{
            AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx),
            AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx)},
        SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                         utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value band = linalg::IndexOp::create(nb, l, 0);
          Value j = linalg::IndexOp::create(nb, l, 1);
          auto [lo, hi] = bandRange(nb, l, layout, band, idx(nb, l, n), len);
          Value inside = arith::AndIOp::create(
              nb, l,
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, j, lo),
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, j, hi));
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          Value v = arith::SelectOp::create(nb, l, inside, a[0], zero);
          linalg::YieldOp::create(nb, l,
                                  Value(arith::AddFOp::create(nb, l, a[1], v)));
        });
    float eps = op.getEps().convertToFloat();
    Value out = emptyOf(b, loc, {b.getIndexAttr(n)}, b.getF32Type());
    auto normalized = linalg::GenericOp::create(
        b, loc, TypeRange{out.getType()},
        ValueRange{banded.getResult(0), total}, ValueRange{out},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx),
                               AffineMap::get(1, 0, {}, ctx),
                               AffineMap::getMultiDimIdentityMap(1, ctx)},
        SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          Value positive = arith::CmpFOp::create(
              nb, l, arith::CmpFPredicate::OGT, a[1], zero);
          Value scaled = arith::DivFOp::create(
              nb, l, a[0],
              arith::AddFOp::create(
                  nb, l, a[1],
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(eps))));
          linalg::YieldOp::create(
              nb, l,
              Value(arith::SelectOp::create(nb, l, positive, scaled, a[0])));
        });
    rewriter.replaceOp(op, normalized.getResult(0));
    return success();
  }
};

struct LowerAdaptiveMomentum : OpRewritePattern<AdaptiveMomentumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AdaptiveMomentumOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value ema = op.getEma();
    Value n = dimOf(b, loc, ema, 0);
    Type f32 = b.getF32Type(), i = b.getIndexType();
    auto scalar = RankedTensorType::get({}, f32);
    // One pass: Σ[n/2, n), Σ[n/4, 3n/4), Σ[3n/4, n) and the first argmax.
    Value negInf = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value maxInit =
        linalg::FillOp::create(b, loc, negInf, emptyOf(b, loc, {}, f32))
            .getResult(0);
    Value argInit =
        linalg::FillOp::create(
            b, loc, ValueRange{arith::ConstantIndexOp::create(b, loc, 0)},
            ValueRange{emptyOf(b, loc, {}, i)})
            .getResult(0);
    SmallVector<Value> inits = {zerosF32(b, loc, {}), zerosF32(b, loc, {}),
                                zerosF32(b, loc, {}), maxInit, argInit};
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    AffineMap red = AffineMap::get(1, 0, {}, ctx);
    auto stats = linalg::GenericOp::create(
        b, loc,
        TypeRange{scalar, scalar, scalar, scalar, RankedTensorType::get({}, i)},
        ValueRange{ema}, inits,
        SmallVector<AffineMap>{id, red, red, red, red, red},
        SmallVector<utils::IteratorType>{utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value j = linalg::IndexOp::create(nb, l, 0);
          auto q = [&](int64_t num, int64_t den) { // ⌊num·n/den⌋
            return arith::DivUIOp::create(
                nb, l,
                arith::MulIOp::create(
                    nb, l, n, arith::ConstantIndexOp::create(nb, l, num)),
                arith::ConstantIndexOp::create(nb, l, den));
          };
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          auto masked = [&](Value lo, Value acc) {
            Value in =
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::uge, j, lo);
            return arith::AddFOp::create(
                nb, l, acc, arith::SelectOp::create(nb, l, in, a[0], zero));
          };
          Value half = masked(q(1, 2), a[1]);
          Value quarter = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::uge, j, q(1, 4));
          Value belowThreeQ = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::ult, j, q(3, 4));
          Value mid = arith::AddFOp::create(
              nb, l, a[2],
              arith::SelectOp::create(
                  nb, l, arith::AndIOp::create(nb, l, quarter, belowThreeQ),
                  a[0], zero));
          Value high = masked(q(3, 4), a[3]);
          Value better = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                               a[0], a[4]);
          Value maxV = arith::SelectOp::create(nb, l, better, a[0], a[4]);
          Value arg = arith::SelectOp::create(nb, l, better, j, a[5]);
          linalg::YieldOp::create(nb, l,
                                  ValueRange{half, mid, high, maxV, arg});
        });
    FamHandler handler = op.getHandler();
    Value out = emptyOf(b, loc, {}, f32);
    auto rule = linalg::GenericOp::create(
        b, loc, TypeRange{scalar},
        ValueRange{op.getAlpha(), stats.getResult(0), stats.getResult(1),
                   stats.getResult(2), stats.getResult(4)},
        ValueRange{out}, SmallVector<AffineMap>(6, AffineMap::get(0, 0, ctx)),
        SmallVector<utils::IteratorType>{},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value alpha = a[0], half = a[1], mid = a[2], high = a[3], arg = a[4];
          auto c = [&](double v) {
            return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v))
                .getResult();
          };
          auto gt = [&](Value x, double t) {
            return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x,
                                         c(t))
                .getResult();
          };
          auto raise = [&](double delta, double cap) {
            return arith::MinimumFOp::create(
                       nb, l, c(cap),
                       arith::AddFOp::create(nb, l, alpha, c(delta)))
                .getResult();
          };
          auto sel = [&](Value cond, Value t, Value f) {
            return arith::SelectOp::create(nb, l, cond, t, f).getResult();
          };
          Value result = alpha;
          switch (handler) {
          case FamHandler::Default:
            result = sel(gt(half, 0.3), raise(0.05, 0.95), alpha);
            break;
          case FamHandler::conv:
            result = sel(gt(mid, 0.4), raise(0.07, 0.97),
                         sel(gt(high, 0.3), raise(0.05, 0.95), alpha));
            break;
          case FamHandler::embedding:
            result = sel(gt(high, 0.2), raise(0.08, 0.98), alpha);
            break;
          case FamHandler::attention: {
            Value q1 = arith::DivUIOp::create(
                nb, l, n, arith::ConstantIndexOp::create(nb, l, 4));
            Value q3 = arith::DivUIOp::create(
                nb, l,
                arith::MulIOp::create(nb, l, n,
                                      arith::ConstantIndexOp::create(nb, l, 3)),
                arith::ConstantIndexOp::create(nb, l, 4));
            Value low = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult,
                                              arg, q1);
            Value top = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ugt,
                                              arg, q3);
            Value lowered = arith::MaximumFOp::create(
                nb, l, c(0.85), arith::SubFOp::create(nb, l, alpha, c(0.05)));
            result = sel(low, lowered, sel(top, raise(0.08, 0.98), alpha));
            break;
          }
          }
          linalg::YieldOp::create(nb, l, result);
        });
    rewriter.replaceOp(op, rule.getResult(0));
    return success();
  }
};
} // namespace

void lowering::populateFamPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSpectralBands, LowerAdaptiveMomentum>(
      patterns.getContext());
}
