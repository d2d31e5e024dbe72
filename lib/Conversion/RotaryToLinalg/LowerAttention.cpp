//===- LowerAttention.cpp - rotary.attention to scf + linalg --------------===//
//
// One task per (b, h, query): an online softmax (running max m, running sum
// l, f32 accumulator [D]) over the keys the pattern lets it see, visited as
// two ranges — the global keys left of the window, then the window itself —
// so masked keys cost nothing and the T×S score matrix never exists.
// Query i sits at position p = i + S - T (decision 0011). The adaptive span
// multiplies each weight by m_h(p - j) inside the same sums, which is the
// renormalised mask of SPEC §6; lse = log Σ mask·exp(s). A row that sees no
// key gets a zero output and lse = -inf.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value q = op.getQ(), k = op.getK(), v = op.getV();
    Value bias = op.getBias(), span = op.getSpan();
    Type elt = cast<RankedTensorType>(q.getType()).getElementType();
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);
    Value tLen = getValueOrCreateConstantIndexOp(b, loc, qs[2]);
    Value sLen = dimOf(b, loc, k, 2);
    Value dLen = getValueOrCreateConstantIndexOp(b, loc, qs[3]);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto cIdx = [&](OpBuilder &nb, Location l, int64_t val) {
      return arith::ConstantIndexOp::create(nb, l, val).getResult();
    };
    auto cF = [&](OpBuilder &nb, Location l, double val) {
      return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(val))
          .getResult();
    };
    Value scale;
    if (auto s = op.getScale()) {
      scale = cF(b, loc, s->convertToDouble());
    } else {
      Value dF = arith::UIToFPOp::create(
          b, loc, f32,
          arith::IndexCastUIOp::create(b, loc, b.getI64Type(), dLen));
      scale = math::RsqrtOp::create(b, loc, dF);
    }
    bool causal = op.getCausal();
    int64_t window = op.getWindow(), globals = op.getGlobalTokens();
    bool tableBias =
        bias && cast<RankedTensorType>(bias.getType()).getRank() == 2;
    Value radius; // W' of a bias table [H, 2W'+1]
    if (tableBias)
      radius = arith::DivUIOp::create(b, loc, dimOf(b, loc, bias, 1),
                                      cIdx(b, loc, 2));
    float ramp = op.getSpanRamp() ? op.getSpanRamp()->convertToFloat() : 1.0f;

    Value out = emptyLike(b, loc, q, elt);
    Value lse = emptyOf(b, loc, {qs[0], qs[1], qs[2]}, f32);
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{qs[0], qs[1], qs[2]},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)), ValueRange{out, lse},
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value bi = forall.getInductionVar(0), hi = forall.getInductionVar(1),
            i = forall.getInductionVar(2);
      // Position of the query (negative when T > S) and its visible key
      // ranges, in signed index arithmetic.
      Value p = arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, i, sLen), tLen);
      auto clampToKeys = [&](Value v) {
        return arith::MinSIOp::create(
                   b, loc, arith::MaxSIOp::create(b, loc, v, zero), sLen)
            .getResult();
      };
      Value hiKey =
          causal ? clampToKeys(arith::AddIOp::create(b, loc, p, one)) : sLen;
      Value lo = zero;
      if (window >= 0)
        lo =
            clampToKeys(arith::SubIOp::create(b, loc, p, cIdx(b, loc, window)));
      Value nG = cIdx(b, loc, globals);
      if (globals > 0) {
        // A global query sees every key (still causal).
        Value globalQuery =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, p, nG);
        lo = arith::SelectOp::create(b, loc, globalQuery, zero, lo);
      }
      lo = arith::MinSIOp::create(b, loc, lo, hiKey);
      // Global keys left of the window: [0, min(n_g, lo, S)).
      Value gEnd = arith::MinSIOp::create(
          b, loc, arith::MinSIOp::create(b, loc, nG, lo), sLen);

      // Query row in f32 (reused for every key).
      SmallVector<OpFoldResult> rowOffs = {bi, hi, i, b.getIndexAttr(0)};
      SmallVector<OpFoldResult> rowSizes = {
          b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1), qs[3]};
      SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
      auto rowOf = [&](OpBuilder &nb, Location l, Value src, Value r) {
        SmallVector<OpFoldResult> offs = {bi, hi, r, nb.getIndexAttr(0)};
        return tensor::ExtractSliceOp::create(
            nb, l, sliceType(rowSizes, {0, 1, 2}, elt), src, offs, rowSizes,
            unit);
      };
      Value qRow = rowOf(b, loc, q, i);
      Value acc0 = zerosF32(b, loc, {qs[3]});
      Value negInf = cF(b, loc, -std::numeric_limits<float>::infinity());

      // One key: s = scale·q·k + bias; mask from the span; online update.
      auto visit = [&](OpBuilder &lb, Location l, Value j, ValueRange iter) {
        Value m = iter[0], lsum = iter[1], acc = iter[2];
        Value kRow = rowOf(lb, l, k, j);
        auto dotT = RankedTensorType::get({}, f32);
        Value dot =
            linalg::GenericOp::create(
                lb, l, TypeRange{dotT}, ValueRange{qRow, kRow},
                ValueRange{zerosF32(lb, l, {})},
                SmallVector<AffineMap>{
                    AffineMap::getMultiDimIdentityMap(1, lb.getContext()),
                    AffineMap::getMultiDimIdentityMap(1, lb.getContext()),
                    AffineMap::get(1, 0, {}, lb.getContext())},
                SmallVector<utils::IteratorType>{
                    utils::IteratorType::reduction},
                [&](OpBuilder &nb, Location bl, ValueRange a) {
                  linalg::YieldOp::create(
                      nb, bl,
                      Value(arith::AddFOp::create(
                          nb, bl, a[2],
                          arith::MulFOp::create(nb, bl, toF32(nb, bl, a[0]),
                                                toF32(nb, bl, a[1])))));
                })
                .getResult(0);
        Value s = arith::MulFOp::create(
            lb, l, tensor::ExtractOp::create(lb, l, dot, ValueRange{}), scale);
        if (bias) {
          Value bv;
          if (tableBias) {
            // clamp(j - p, -W', W') + W' = clamp(j - p + W', 0, 2W').
            Value jp = arith::SubIOp::create(
                lb, l, arith::AddIOp::create(lb, l, j, radius), p);
            Value cl = arith::MaxSIOp::create(
                lb, l,
                arith::MinSIOp::create(
                    lb, l, jp,
                    arith::MulIOp::create(lb, l, radius, cIdx(lb, l, 2))),
                cIdx(lb, l, 0));
            bv = tensor::ExtractOp::create(lb, l, bias, ValueRange{hi, cl});
          } else {
            bv = tensor::ExtractOp::create(lb, l, bias, ValueRange{hi, i, j});
          }
          s = arith::AddFOp::create(lb, l, s, bv);
        }
        Value weight = cF(lb, l, 1.0);
        if (span) {
          Value sp = tensor::ExtractOp::create(lb, l, span, ValueRange{hi});
          Value d = arith::SIToFPOp::create(
              lb, l, f32,
              arith::IndexCastOp::create(lb, l, lb.getI64Type(),
                                         arith::SubIOp::create(lb, l, p, j)));
          Value r = cF(lb, l, ramp);
          Value raw = arith::DivFOp::create(
              lb, l,
              arith::SubFOp::create(lb, l, arith::AddFOp::create(lb, l, sp, r),
                                    d),
              r);
          weight = arith::MinimumFOp::create(
              lb, l, cF(lb, l, 1.0),
              arith::MaximumFOp::create(lb, l, cF(lb, l, 0.0), raw));
        }
        // Online softmax: m' = max(m, s); rescale the running sums.
        // A score of -inf (from the bias) before any finite one would give
        // exp(-inf + inf): keep the sums as they are instead.
        Value mNew = arith::MaximumFOp::create(lb, l, m, s);
        Value none = arith::CmpFOp::create(lb, l, arith::CmpFPredicate::OEQ,
                                           mNew, negInf);
        Value alpha = arith::SelectOp::create(
            lb, l, none, cF(lb, l, 1.0),
            math::ExpOp::create(lb, l, arith::SubFOp::create(lb, l, m, mNew)));
        Value pj = arith::SelectOp::create(
            lb, l, none, cF(lb, l, 0.0),
            arith::MulFOp::create(
                lb, l, weight,
                math::ExpOp::create(lb, l,
                                    arith::SubFOp::create(lb, l, s, mNew))));
        Value lNew = arith::AddFOp::create(
            lb, l, arith::MulFOp::create(lb, l, lsum, alpha), pj);
        Value vRow = rowOf(lb, l, v, j);
        // In place into the loop-carried accumulator.
        Value accNew =
            elementwise(
                lb, l, ValueRange{vRow}, ValueRange{acc}, 1,
                [&](OpBuilder &nb, Location bl, ValueRange a) {
                  Value upd = arith::AddFOp::create(
                      nb, bl, arith::MulFOp::create(nb, bl, a[1], alpha),
                      arith::MulFOp::create(nb, bl, pj, toF32(nb, bl, a[0])));
                  linalg::YieldOp::create(nb, bl, upd);
                })
                .getResult(0);
        scf::YieldOp::create(lb, l, ValueRange{mNew, lNew, accNew});
      };
      Value zeroF = cF(b, loc, 0.0);
      auto first = scf::ForOp::create(b, loc, zero, gEnd, one,
                                      ValueRange{negInf, zeroF, acc0}, visit);
      auto second =
          scf::ForOp::create(b, loc, lo, hiKey, one, first.getResults(), visit);
      Value m = second.getResult(0), lsum = second.getResult(1),
            acc = second.getResult(2);
      // o = acc / l (0 when nothing was visible); lse = m + log l.
      Value seen =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, lsum, zeroF);
      Value inv = arith::SelectOp::create(
          b, loc, seen, arith::DivFOp::create(b, loc, cF(b, loc, 1.0), lsum),
          zeroF);
      Value row =
          elementwise(b, loc, acc, emptyOf(b, loc, {qs[3]}, elt), 1,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(
                            nb, l,
                            castFloat(nb, l,
                                      arith::MulFOp::create(nb, l, a[0], inv),
                                      elt));
                      })
              .getResult(0);
      Value lseV = arith::SelectOp::create(
          b, loc, seen,
          arith::AddFOp::create(b, loc, m, math::LogOp::create(b, loc, lsum)),
          negInf);
      Value lseT = tensor::FromElementsOp::create(
          b, loc, RankedTensorType::get({}, f32), ValueRange{lseV});
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(
          b, loc, row, forall.getRegionIterArgs()[0], rowOffs, rowSizes, unit);
      tensor::ParallelInsertSliceOp::create(
          b, loc, lseT, forall.getRegionIterArgs()[1],
          SmallVector<OpFoldResult>{bi, hi, i},
          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)),
          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
    }
    SmallVector<Value> results(forall.getResults());
    for (auto [r, t] : llvm::zip(results, op.getResultTypes()))
      if (r.getType() != t)
        r = tensor::CastOp::create(b, loc, t, r);
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

void lowering::populateAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAttention>(patterns.getContext());
}
