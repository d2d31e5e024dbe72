//===- LowerElementwise.cpp - fam_step, quaternion_rotate, inv_freq -------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// g' = g + wd·p; m' = α·m + (1 − α)·g'; p' = p − lr·m', in one pass.
struct LowerFamStep : OpRewritePattern<FamStepOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FamStepOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value p = op.getParam(), m = op.getMomentum();
    Type pElt = cast<RankedTensorType>(p.getType()).getElementType();
    Type mElt = cast<RankedTensorType>(m.getType()).getElementType();
    int64_t rank = cast<RankedTensorType>(p.getType()).getRank();
    float wd = op.getWeightDecay().convertToFloat();
    auto generic = elementwise(
        b, loc, ValueRange{p, op.getGrad(), m, op.getLr(), op.getAlpha()},
        ValueRange{emptyLike(b, loc, p, pElt), emptyLike(b, loc, m, mElt)},
        rank, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value pv = toF32(nb, l, a[0]), g = toF32(nb, l, a[1]),
                mv = toF32(nb, l, a[2]), lr = a[3], alpha = a[4];
          if (wd != 0.0f)
            g = arith::AddFOp::create(
                nb, l, g,
                arith::MulFOp::create(nb, l, f32Const(nb, l, wd), pv));
          Value keep = arith::MulFOp::create(nb, l, alpha, mv);
          Value rest = arith::MulFOp::create(
              nb, l, arith::SubFOp::create(nb, l, f32Const(nb, l, 1.0), alpha),
              g);
          Value mNew = arith::AddFOp::create(nb, l, keep, rest);
          Value pNew = arith::SubFOp::create(
              nb, l, pv, arith::MulFOp::create(nb, l, lr, mNew));
          linalg::YieldOp::create(nb, l,
                                  ValueRange{castFloat(nb, l, pNew, pElt),
                                             castFloat(nb, l, mNew, mElt)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// x' = x + w·t + v × t with t = 2·(v × x), w = cos(θ/2), v = sin(θ/2)·u,
/// over the three components held as separate [...] slices of x.
} // namespace

Value lowering::indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

OpFoldResult lowering::tileExtent(OpBuilder &b, Location loc,
                                  OpFoldResult total, Value start,
                                  int64_t tile) {
  MLIRContext *ctx = b.getContext();
  AffineExpr s0, s1;
  bindSymbols(ctx, s0, s1);
  return affine::makeComposedFoldedAffineMin(
      b, loc, AffineMap::get(0, 2, {b.getAffineConstantExpr(tile), s0 - s1}, ctx),
      {total, start});
}

Value lowering::lastDimComponent(OpBuilder &b, Location loc, Value src,
                                 int64_t c) {
  auto t = cast<RankedTensorType>(src.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> offs(t.getRank(), zero), strides(t.getRank(), one);
  offs.back() = b.getIndexAttr(c);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, src);
  sizes.back() = one;
  RankedTensorType type =
      sliceType(sizes, {t.getRank() - 1}, t.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, src, offs, sizes,
                                        strides);
}

Value lowering::stackLastDim(OpBuilder &b, Location loc, ArrayRef<Value> comps,
                             ArrayRef<OpFoldResult> sizes, Type elt) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Value v = emptyOf(b, loc, sizes, elt);
  for (auto [c, comp] : llvm::enumerate(comps)) {
    SmallVector<OpFoldResult> offs(sizes.size(), zero),
        strides(sizes.size(), one);
    offs.back() = b.getIndexAttr(c);
    SmallVector<OpFoldResult> compSizes(sizes);
    compSizes.back() = one;
    v = tensor::InsertSliceOp::create(b, loc, comp, v, offs, compSizes,
                                      strides);
  }
  return v;
}

namespace {
struct LowerQuaternionRotate : OpRewritePattern<QuaternionRotateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuaternionRotateOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), axis = op.getAxis(), angle = op.getAngle();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType();
    int64_t lead = xType.getRank() - 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    SmallVector<OpFoldResult> leadSizes(xSizes.begin(), xSizes.end() - 1);
    SmallVector<Value> ins;
    for (int64_t c = 0; c < 3; ++c)
      ins.push_back(lastDimComponent(b, loc, x, c));
    // A shared axis [3] gives 0-d components, broadcast by the generic (not
    // scalars read on the host: on a GPU the axis is device memory).
    for (int64_t c = 0; c < 3; ++c)
      ins.push_back(lastDimComponent(b, loc, axis, c));
    ins.push_back(angle);
    SmallVector<Value> outs;
    for (int c = 0; c < 3; ++c)
      outs.push_back(emptyOf(b, loc, leadSizes, elt));
    auto generic = elementwise(
        b, loc, ins, outs, lead, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value xv[3], uv[3];
          for (int c = 0; c < 3; ++c) {
            xv[c] = toF32(nb, l, a[c]);
            uv[c] = a[3 + c];
          }
          Value theta = a[6];
          auto mul = [&](Value p, Value q) {
            return arith::MulFOp::create(nb, l, p, q).getResult();
          };
          auto add = [&](Value p, Value q) {
            return arith::AddFOp::create(nb, l, p, q).getResult();
          };
          auto sub = [&](Value p, Value q) {
            return arith::SubFOp::create(nb, l, p, q).getResult();
          };
          Value norm = math::SqrtOp::create(
              nb, l,
              add(add(mul(uv[0], uv[0]), mul(uv[1], uv[1])),
                  mul(uv[2], uv[2])));
          norm = arith::MaximumFOp::create(nb, l, norm, f32Const(nb, l, 1e-8));
          Value halfTheta = mul(theta, f32Const(nb, l, 0.5));
          Value w = math::CosOp::create(nb, l, halfTheta);
          Value sOverN = arith::DivFOp::create(
              nb, l, math::SinOp::create(nb, l, halfTheta), norm);
          Value v[3] = {mul(uv[0], sOverN), mul(uv[1], sOverN),
                        mul(uv[2], sOverN)};
          auto cross = [&](Value *p, Value *q, Value *r) {
            r[0] = sub(mul(p[1], q[2]), mul(p[2], q[1]));
            r[1] = sub(mul(p[2], q[0]), mul(p[0], q[2]));
            r[2] = sub(mul(p[0], q[1]), mul(p[1], q[0]));
          };
          Value t[3], vt[3];
          cross(v, xv, t);
          for (Value &tc : t)
            tc = mul(tc, f32Const(nb, l, 2.0));
          cross(v, t, vt);
          SmallVector<Value> ys;
          for (int c = 0; c < 3; ++c)
            ys.push_back(
                castFloat(nb, l, add(add(xv[c], mul(w, t[c])), vt[c]), elt));
          linalg::YieldOp::create(nb, l, ys);
        });
    Value y = stackLastDim(b, loc, SmallVector<Value>(generic.getResults()),
                           xSizes, elt);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// f_i = (base·s_k)^(−2i/dim), k = i / (dim/2/S), in f64 rounded to f32.
struct LowerInvFreq : OpRewritePattern<InvFreqOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(InvFreqOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t dim = op.getDim(), half = dim / 2;
    SmallVector<double> scales = {1.0};
    if (auto s = op.getScales())
      scales.assign(s->begin(), s->end());
    int64_t group = half / static_cast<int64_t>(scales.size());
    double base = op.getBase().convertToFloat();
    Value out = emptyOf(b, loc, {b.getIndexAttr(half)}, b.getF32Type());
    auto generic = elementwise(
        b, loc, ValueRange{}, out, 1,
        [&](OpBuilder &nb, Location l, ValueRange) {
          Value i = linalg::IndexOp::create(nb, l, 0);
          Value i64 = arith::IndexCastUIOp::create(nb, l, nb.getI64Type(), i);
          Value iF = arith::UIToFPOp::create(nb, l, nb.getF64Type(), i64);
          // ln(base·s_k) of i's group, chosen from the S constants.
          Value k = arith::DivUIOp::create(
              nb, l, i, arith::ConstantIndexOp::create(nb, l, group));
          Value logBase = arith::ConstantOp::create(
              nb, l, nb.getF64FloatAttr(std::log(base * scales[0])));
          for (size_t g = 1; g < scales.size(); ++g) {
            Value isG =
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, k,
                                      arith::ConstantIndexOp::create(nb, l, g));
            logBase = arith::SelectOp::create(
                nb, l, isG,
                arith::ConstantOp::create(
                    nb, l, nb.getF64FloatAttr(std::log(base * scales[g]))),
                logBase);
          }
          Value exponent = arith::MulFOp::create(
              nb, l, iF,
              arith::ConstantOp::create(nb, l, nb.getF64FloatAttr(-2.0 / dim)));
          Value f = math::ExpOp::create(
              nb, l, arith::MulFOp::create(nb, l, exponent, logBase));
          linalg::YieldOp::create(nb, l, castFloat(nb, l, f, nb.getF32Type()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};
} // namespace

void lowering::populateElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerFamStep, LowerQuaternionRotate, LowerInvFreq>(
      patterns.getContext());
}
