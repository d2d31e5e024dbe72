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
// AttentionParts (the pattern, the scores, the span mask) is shared with the
// backward in LowerAttentionGrad.cpp.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
} // namespace

AttentionParts::AttentionParts(OpBuilder &b, Location loc, Value q, Value k,
                               Value bias, Value span, bool causal,
                               int64_t window, int64_t globals,
                               std::optional<APFloat> scaleAttr,
                               std::optional<APFloat> spanRamp)
    : q(q), k(k), bias(bias), span(span),
      elt(cast<RankedTensorType>(q.getType()).getElementType()),
      causal(causal), window(window), globals(globals) {
  SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);
  dSize = qs[3];
  tLen = getValueOrCreateConstantIndexOp(b, loc, qs[2]);
  sLen = dimOf(b, loc, k, 2);
  if (scaleAttr) {
    scale = f32c(b, loc, scaleAttr->convertToFloat());
  } else {
    Value dLen = getValueOrCreateConstantIndexOp(b, loc, dSize);
    Value dF = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(), dLen));
    scale = math::RsqrtOp::create(b, loc, dF);
  }
  if (bias && cast<RankedTensorType>(bias.getType()).getRank() == 2)
    radius = arith::DivUIOp::create(b, loc, dimOf(b, loc, bias, 1),
                                    cIdx(b, loc, 2));
  ramp = spanRamp ? spanRamp->convertToFloat() : 1.0f;
}

Value AttentionParts::position(OpBuilder &b, Location loc, Value i) const {
  return arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, i, sLen),
                               tLen);
}

AttentionParts::KeyRanges AttentionParts::keysOf(OpBuilder &b, Location loc,
                                                 Value p) const {
  // Signed index arithmetic: p may be negative.
  Value zero = cIdx(b, loc, 0);
  auto clampToKeys = [&](Value v) {
    return arith::MinSIOp::create(
               b, loc, arith::MaxSIOp::create(b, loc, v, zero), sLen)
        .getResult();
  };
  Value hi = causal ? clampToKeys(arith::AddIOp::create(b, loc, p,
                                                        cIdx(b, loc, 1)))
                    : sLen;
  Value lo = zero;
  if (window >= 0)
    lo = clampToKeys(arith::SubIOp::create(b, loc, p, cIdx(b, loc, window)));
  Value nG = cIdx(b, loc, globals);
  if (globals > 0) {
    // A global query sees every key (still causal).
    Value globalQuery =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, p, nG);
    lo = arith::SelectOp::create(b, loc, globalQuery, zero, lo);
  }
  lo = arith::MinSIOp::create(b, loc, lo, hi);
  // Global keys left of the window: [0, min(n_g, lo, S)).
  Value gEnd = arith::MinSIOp::create(
      b, loc, arith::MinSIOp::create(b, loc, nG, lo), sLen);
  return {gEnd, lo, hi};
}

std::pair<Value, Value> AttentionParts::queriesOf(OpBuilder &b, Location loc,
                                                  Value j) const {
  // Key j is seen from positions p with j <= p when causal, and, unless it
  // is global (j < n_g) or the window unlimited, p <= j + W or p < n_g.
  // Both upper limits start at the causal bound, so the positions form the
  // one range [causal ? j : -inf, max(j + W + 1, n_g)).
  Value zero = cIdx(b, loc, 0);
  Value shift = arith::SubIOp::create(b, loc, sLen, tLen); // p = i + shift
  auto clampToQueries = [&](Value pos) {
    Value i = arith::SubIOp::create(b, loc, pos, shift);
    return arith::MinSIOp::create(
               b, loc, arith::MaxSIOp::create(b, loc, i, zero), tLen)
        .getResult();
  };
  Value lo = causal ? clampToQueries(j) : zero;
  Value hi = tLen;
  if (window >= 0) {
    Value nG = cIdx(b, loc, globals);
    Value local = arith::MaxSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, j, cIdx(b, loc, window + 1)), nG);
    hi = clampToQueries(local);
    if (globals > 0) {
      Value globalKey =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j, nG);
      hi = arith::SelectOp::create(b, loc, globalKey, tLen, hi);
    }
  }
  lo = arith::MinSIOp::create(b, loc, lo, hi);
  return {lo, hi};
}

Value AttentionParts::row(OpBuilder &b, Location loc, Value src, Value bi,
                          Value hi, Value r) const {
  SmallVector<OpFoldResult> offs = {bi, hi, r, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(1), dSize};
  SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
  Type srcElt = cast<RankedTensorType>(src.getType()).getElementType();
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType(sizes, {0, 1, 2}, srcElt), src, offs, sizes, unit);
}

Value AttentionParts::dot(OpBuilder &b, Location loc, Value x, Value y) const {
  // A loop carrying an f32 scalar: a reduction generic into a 0-d tensor
  // would bufferize to a heap allocation per call, i.e. per (query, key).
  auto loop = scf::ForOp::create(
      b, loc, cIdx(b, loc, 0), dimOf(b, loc, x, 0), cIdx(b, loc, 1),
      ValueRange{f32c(b, loc, 0.0)},
      [&](OpBuilder &lb, Location l, Value d, ValueRange acc) {
        Value xv = toF32(lb, l, tensor::ExtractOp::create(lb, l, x, d));
        Value yv = toF32(lb, l, tensor::ExtractOp::create(lb, l, y, d));
        scf::YieldOp::create(
            lb, l,
            Value(arith::AddFOp::create(
                lb, l, acc[0], arith::MulFOp::create(lb, l, xv, yv))));
      });
  return loop.getResult(0);
}

Value AttentionParts::tableColumn(OpBuilder &b, Location loc, Value p,
                                  Value j) const {
  // clamp(j - p, -W', W') + W' = clamp(j - p + W', 0, 2W').
  Value jp =
      arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, j, radius), p);
  return arith::MaxSIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, jp, arith::MulIOp::create(b, loc, radius, cIdx(b, loc, 2))),
      cIdx(b, loc, 0));
}

Value AttentionParts::score(OpBuilder &b, Location loc, Value qRow, Value kRow,
                            Value hi, Value i, Value p, Value j) const {
  Value s = arith::MulFOp::create(b, loc, dot(b, loc, qRow, kRow), scale);
  if (!bias)
    return s;
  Value bv = tableBias()
                 ? tensor::ExtractOp::create(
                       b, loc, bias, ValueRange{hi, tableColumn(b, loc, p, j)})
                 : tensor::ExtractOp::create(b, loc, bias, ValueRange{hi, i, j});
  return arith::AddFOp::create(b, loc, s, bv);
}

std::pair<Value, Value> AttentionParts::spanMask(OpBuilder &b, Location loc,
                                                 Value hi, Value p,
                                                 Value j) const {
  Type f32 = b.getF32Type();
  Value sp = tensor::ExtractOp::create(b, loc, span, ValueRange{hi});
  Value d = arith::SIToFPOp::create(
      b, loc, f32,
      arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                 arith::SubIOp::create(b, loc, p, j)));
  Value r = f32c(b, loc, ramp);
  Value raw = arith::DivFOp::create(
      b, loc,
      arith::SubFOp::create(b, loc, arith::AddFOp::create(b, loc, sp, r), d),
      r);
  Value zeroF = f32c(b, loc, 0.0), oneF = f32c(b, loc, 1.0);
  Value m = arith::MinimumFOp::create(
      b, loc, oneF, arith::MaximumFOp::create(b, loc, zeroF, raw));
  Value inside = arith::AndIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, raw, zeroF),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, raw, oneF));
  Value dm = arith::SelectOp::create(b, loc, inside,
                                     f32c(b, loc, 1.0 / ramp), zeroF);
  return {m, dm};
}

namespace {
struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    AttentionParts at = AttentionParts::of(b, op);
    Value v = op.getV();
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value zero = cIdx(b, loc, 0), one = cIdx(b, loc, 1);

    Value out = emptyLike(b, loc, at.q, at.elt);
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
      Value p = at.position(b, loc, i);
      AttentionParts::KeyRanges keys = at.keysOf(b, loc, p);

      // Query row reused for every key.
      Value qRow = at.row(b, loc, at.q, bi, hi, i);
      Value acc0 = zerosF32(b, loc, {qs[3]});
      Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());

      // One key: s = scale·q·k + bias; mask from the span; online update.
      auto visit = [&](OpBuilder &lb, Location l, Value j, ValueRange iter) {
        Value m = iter[0], lsum = iter[1], acc = iter[2];
        Value kRow = at.row(lb, l, at.k, bi, hi, j);
        Value s = at.score(lb, l, qRow, kRow, hi, i, p, j);
        Value weight =
            at.span ? at.spanMask(lb, l, hi, p, j).first : f32c(lb, l, 1.0);
        // Online softmax: m' = max(m, s); rescale the running sums.
        // A score of -inf (from the bias) before any finite one would give
        // exp(-inf + inf): keep the sums as they are instead.
        Value mNew = arith::MaximumFOp::create(lb, l, m, s);
        Value none = arith::CmpFOp::create(lb, l, arith::CmpFPredicate::OEQ,
                                           mNew, negInf);
        Value alpha = arith::SelectOp::create(
            lb, l, none, f32c(lb, l, 1.0),
            math::ExpOp::create(lb, l, arith::SubFOp::create(lb, l, m, mNew)));
        Value pj = arith::SelectOp::create(
            lb, l, none, f32c(lb, l, 0.0),
            arith::MulFOp::create(
                lb, l, weight,
                math::ExpOp::create(lb, l,
                                    arith::SubFOp::create(lb, l, s, mNew))));
        Value lNew = arith::AddFOp::create(
            lb, l, arith::MulFOp::create(lb, l, lsum, alpha), pj);
        Value vRow = at.row(lb, l, v, bi, hi, j);
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
      Value zeroF = f32c(b, loc, 0.0);
      auto first = scf::ForOp::create(b, loc, zero, keys.gEnd, one,
                                      ValueRange{negInf, zeroF, acc0}, visit);
      auto second = scf::ForOp::create(b, loc, keys.lo, keys.hi, one,
                                       first.getResults(), visit);
      Value m = second.getResult(0), lsum = second.getResult(1),
            acc = second.getResult(2);
      // o = acc / l (0 when nothing was visible); lse = m + log l.
      Value seen =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, lsum, zeroF);
      Value inv = arith::SelectOp::create(
          b, loc, seen, arith::DivFOp::create(b, loc, f32c(b, loc, 1.0), lsum),
          zeroF);
      Type elt = at.elt;
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
      SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
      tensor::ParallelInsertSliceOp::create(
          b, loc, row, forall.getRegionIterArgs()[0],
          SmallVector<OpFoldResult>{bi, hi, i, b.getIndexAttr(0)},
          SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                    b.getIndexAttr(1), qs[3]},
          unit);
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
