//===- LowerAttentionGrad.cpp - rotary.attention_grad to scf + linalg -----===//
//
// The FlashAttention-2 backward (SPEC §6): scores are recomputed from q, k
// and the saved log-sum-exp, never stored. With δ_i = ȯ_i·o_i − l̄se_i and,
// for every pair (i, j) the forward's pattern lets through,
//   e = exp(s − lse_i), p = m·e, g = ȯ_i·v_j − δ_i, s̄ = p·g,
//   q̄_i += scale·s̄·k_j, k̄_j += scale·s̄·q_i, v̄_j += p·ȯ_i,
//   b̄ias gathers s̄, s̄pan_h += e·g·∂m/∂span_h.
// Three race-free passes, each visiting only the visible pairs (the ranges
// of AttentionParts, shared with the forward):
//  1. δ for every row (a reduction over D);
//  2. one task per (h, query i), looping over b and the keys i sees: q̄_i
//     for every b, and the bias row and span partial of (h, i) summed over
//     b, so no two tasks write the same element;
//  3. one task per (b, h, key j), looping over the queries that see j:
//     k̄_j and v̄_j.
// The bias table and span partials [H, T, ·] are then summed over T. A row
// with lse = -inf (no visible weight) contributes nothing.
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
SmallVector<OpFoldResult> unitSizes(OpBuilder &b, int64_t n) {
  return SmallVector<OpFoldResult>(n, b.getIndexAttr(1));
}

/// Sums `partial` [H, T, rest...] over T.
Value sumOverRows(OpBuilder &b, Location loc, Value partial) {
  auto t = cast<RankedTensorType>(partial.getType());
  int64_t rank = t.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, partial);
  SmallVector<OpFoldResult> outSizes = {sizes[0]};
  SmallVector<AffineExpr> outExprs = {b.getAffineDimExpr(0)};
  SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                            utils::IteratorType::reduction};
  for (int64_t d = 2; d < rank; ++d) {
    outSizes.push_back(sizes[d]);
    outExprs.push_back(b.getAffineDimExpr(d));
    iters.push_back(utils::IteratorType::parallel);
  }
  MLIRContext *ctx = b.getContext();
  Value init = zerosF32(b, loc, outSizes);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{partial},
             ValueRange{init},
             SmallVector<AffineMap>{
                 AffineMap::getMultiDimIdentityMap(rank, ctx),
                 AffineMap::get(rank, 0, outExprs, ctx)},
             iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l, Value(arith::AddFOp::create(nb, l, a[0], a[1])));
             })
      .getResult(0);
}

/// An f32 accumulator row [D] in the data type `elt` (itself when f32).
Value rowAs(OpBuilder &b, Location loc, Value acc, Type elt,
            OpFoldResult dSize) {
  if (elt == b.getF32Type())
    return acc;
  return elementwise(b, loc, acc, emptyOf(b, loc, {dSize}, elt), 1,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       linalg::YieldOp::create(nb, l,
                                               castFloat(nb, l, a[0], elt));
                     })
      .getResult(0);
}

struct LowerAttentionGrad : OpRewritePattern<AttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    AttentionParts at = AttentionParts::of(b, op);
    Value v = op.getV(), o = op.getOutput(), lse = op.getLse(),
          dO = op.getDoutput(), dlse = op.getDlse();
    Type elt = at.elt;
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    SmallVector<OpFoldResult> ks = tensor::getMixedSizes(b, loc, at.k);
    Value zero = cIdx(b, loc, 0), one = cIdx(b, loc, 1);
    Value zeroF = f32c(b, loc, 0.0);
    Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());
    Value bLen = getValueOrCreateConstantIndexOp(b, loc, qs[0]);

    // 1. δ_i = Σ_d ȯ_id·o_id − l̄se_i, so that g_ij = ȯ_i·v_j − δ_i.
    SmallVector<OpFoldResult> rowSizes = {qs[0], qs[1], qs[2]};
    Value deltaInit = zerosF32(b, loc, rowSizes);
    if (dlse)
      deltaInit = elementwise(b, loc, dlse, emptyOf(b, loc, rowSizes,
                                                    b.getF32Type()),
                              3,
                              [&](OpBuilder &nb, Location l, ValueRange a) {
                                linalg::YieldOp::create(
                                    nb, l,
                                    Value(arith::NegFOp::create(nb, l, a[0])));
                              })
                      .getResult(0);
    AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap rows4 = AffineMap::get(
        4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1),
               b.getAffineDimExpr(2)},
        ctx);
    Value delta =
        linalg::GenericOp::create(
            b, loc, TypeRange{deltaInit.getType()}, ValueRange{dO, o},
            ValueRange{deltaInit}, SmallVector<AffineMap>{id4, id4, rows4},
            SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                             utils::IteratorType::parallel,
                                             utils::IteratorType::parallel,
                                             utils::IteratorType::reduction},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  nb, l,
                  Value(arith::AddFOp::create(
                      nb, l, a[2],
                      arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                            toF32(nb, l, a[1])))));
            })
            .getResult(0);

    // The parts of one visible pair both passes need.
    struct Pair {
      Value e, p, g; // exp(s − lse), m·e, ȯ·v − δ
      Value dm;      // ∂m/∂span (span only)
    };
    auto pairOf = [&](OpBuilder &lb, Location l, Value qRow, Value kRow,
                      Value doRow, Value vRow, Value hi, Value i, Value pos,
                      Value j, Value lseI, Value deltaI) {
      Value s = at.score(lb, l, qRow, kRow, hi, i, pos, j);
      // lse = -inf: the row has no weight; exp(s + inf) must not appear.
      Value live =
          arith::CmpFOp::create(lb, l, arith::CmpFPredicate::OGT, lseI, negInf);
      Value e = arith::SelectOp::create(
          lb, l, live,
          math::ExpOp::create(lb, l, arith::SubFOp::create(lb, l, s, lseI)),
          zeroF);
      Pair pr{e, e, Value(), Value()};
      if (at.span) {
        auto [m, dm] = at.spanMask(lb, l, hi, pos, j);
        pr.p = arith::MulFOp::create(lb, l, m, e);
        pr.dm = dm;
      }
      pr.g =
          arith::SubFOp::create(lb, l, at.dot(lb, l, doRow, vRow), deltaI);
      return pr;
    };

    // 2. One task per (h, i): q̄_i for every b; bias and span partials.
    int biasKind = !op.getBias() ? 0 : at.tableBias() ? 1 : 2; // none/table/full
    Value biasRowLen;
    if (biasKind == 1)
      biasRowLen = dimOf(b, loc, op.getBias(), 1);
    if (biasKind == 2)
      biasRowLen = at.sLen;
    SmallVector<Value> outs1 = {emptyLike(b, loc, at.q, elt)};
    if (biasKind)
      outs1.push_back(emptyOf(b, loc, {qs[1], qs[2], biasRowLen},
                              b.getF32Type()));
    if (at.span)
      outs1.push_back(emptyOf(b, loc, {qs[1], qs[2]}, b.getF32Type()));
    auto pass1 = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(2, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{qs[1], qs[2]}, unitSizes(b, 2), outs1,
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(pass1.getBody());
      Value hi = pass1.getInductionVar(0), i = pass1.getInductionVar(1);
      Value pos = at.position(b, loc, i);
      AttentionParts::KeyRanges keys = at.keysOf(b, loc, pos);
      SmallVector<Value> init = {emptyOf(b, loc, {qs[0], qs[3]}, elt)};
      if (biasKind)
        init.push_back(zerosF32(b, loc, {biasRowLen}));
      if (at.span)
        init.push_back(zeroF);
      auto overBatch = scf::ForOp::create(
          b, loc, zero, bLen, one, init,
          [&](OpBuilder &bb, Location l, Value bi, ValueRange iter) {
            Value qRow = at.row(bb, l, at.q, bi, hi, i);
            Value doRow = at.row(bb, l, dO, bi, hi, i);
            Value lseI = tensor::ExtractOp::create(bb, l, lse,
                                                   ValueRange{bi, hi, i});
            Value deltaI = tensor::ExtractOp::create(bb, l, delta,
                                                     ValueRange{bi, hi, i});
            // Per key: accumulators q̄_i [D], then the bias row and span
            // partial carried over b.
            auto visit = [&](OpBuilder &lb, Location ll, Value j,
                             ValueRange acc) {
              Value kRow = at.row(lb, ll, at.k, bi, hi, j);
              Value vRow = at.row(lb, ll, v, bi, hi, j);
              Pair pr = pairOf(lb, ll, qRow, kRow, doRow, vRow, hi, i, pos, j,
                               lseI, deltaI);
              Value ds = arith::MulFOp::create(lb, ll, pr.p, pr.g);
              Value c = arith::MulFOp::create(lb, ll, ds, at.scale);
              SmallVector<Value> next;
              next.push_back(
                  elementwise(lb, ll, ValueRange{kRow}, ValueRange{acc[0]}, 1,
                              [&](OpBuilder &nb, Location bl, ValueRange a) {
                                linalg::YieldOp::create(
                                    nb, bl,
                                    Value(arith::AddFOp::create(
                                        nb, bl, a[1],
                                        arith::MulFOp::create(
                                            nb, bl, c, toF32(nb, bl, a[0])))));
                              })
                      .getResult(0));
              unsigned k = 1;
              if (biasKind) {
                Value col = biasKind == 1 ? at.tableColumn(lb, ll, pos, j) : j;
                Value old =
                    tensor::ExtractOp::create(lb, ll, acc[k], ValueRange{col});
                next.push_back(tensor::InsertOp::create(
                    lb, ll, arith::AddFOp::create(lb, ll, old, ds), acc[k],
                    ValueRange{col}));
                ++k;
              }
              if (at.span)
                next.push_back(arith::AddFOp::create(
                    lb, ll, acc[k],
                    arith::MulFOp::create(
                        lb, ll, arith::MulFOp::create(lb, ll, pr.e, pr.g),
                        pr.dm)));
              scf::YieldOp::create(lb, ll, next);
            };
            SmallVector<Value> acc = {zerosF32(bb, l, {qs[3]})};
            llvm::append_range(acc, iter.drop_front());
            auto first =
                scf::ForOp::create(bb, l, zero, keys.gEnd, one, acc, visit);
            auto second = scf::ForOp::create(bb, l, keys.lo, keys.hi, one,
                                             first.getResults(), visit);
            Value dqRow = rowAs(bb, l, second.getResult(0), elt, qs[3]);
            SmallVector<Value> next = {tensor::InsertSliceOp::create(
                bb, l, dqRow, iter[0],
                SmallVector<OpFoldResult>{bi, bb.getIndexAttr(0)},
                SmallVector<OpFoldResult>{bb.getIndexAttr(1), qs[3]},
                unitSizes(bb, 2))};
            llvm::append_range(next, second.getResults().drop_front());
            scf::YieldOp::create(bb, l, next);
          });
      unsigned spanIdx = biasKind ? 2 : 1;
      Value spanPart;
      if (at.span)
        spanPart = tensor::FromElementsOp::create(
            b, loc, RankedTensorType::get({}, b.getF32Type()),
            ValueRange{overBatch.getResult(spanIdx)});
      b.setInsertionPointToStart(pass1.getTerminator().getBody());
      ValueRange shared = pass1.getRegionIterArgs();
      tensor::ParallelInsertSliceOp::create(
          b, loc, overBatch.getResult(0), shared[0],
          SmallVector<OpFoldResult>{b.getIndexAttr(0), hi, i,
                                    b.getIndexAttr(0)},
          SmallVector<OpFoldResult>{qs[0], b.getIndexAttr(1),
                                    b.getIndexAttr(1), qs[3]},
          unitSizes(b, 4));
      if (biasKind)
        tensor::ParallelInsertSliceOp::create(
            b, loc, overBatch.getResult(1), shared[1],
            SmallVector<OpFoldResult>{hi, i, b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                      biasRowLen},
            unitSizes(b, 3));
      if (at.span)
        tensor::ParallelInsertSliceOp::create(
            b, loc, spanPart, shared[spanIdx], SmallVector<OpFoldResult>{hi, i},
            unitSizes(b, 2), unitSizes(b, 2));
    }

    // 3. One task per (b, h, j): k̄_j and v̄_j over the queries that see j.
    auto pass2 = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{ks[0], ks[1], ks[2]}, unitSizes(b, 3),
        ValueRange{emptyLike(b, loc, at.k, elt), emptyLike(b, loc, v, elt)},
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(pass2.getBody());
      Value bi = pass2.getInductionVar(0), hi = pass2.getInductionVar(1),
            j = pass2.getInductionVar(2);
      auto [lo, up] = at.queriesOf(b, loc, j);
      Value kRow = at.row(b, loc, at.k, bi, hi, j);
      Value vRow = at.row(b, loc, v, bi, hi, j);
      Value acc0 = zerosF32(b, loc, {qs[3]});
      auto overQueries = scf::ForOp::create(
          b, loc, lo, up, one, ValueRange{acc0, zerosF32(b, loc, {qs[3]})},
          [&](OpBuilder &lb, Location l, Value i, ValueRange acc) {
            Value pos = at.position(lb, l, i);
            Value qRow = at.row(lb, l, at.q, bi, hi, i);
            Value doRow = at.row(lb, l, dO, bi, hi, i);
            Value lseI =
                tensor::ExtractOp::create(lb, l, lse, ValueRange{bi, hi, i});
            Value deltaI =
                tensor::ExtractOp::create(lb, l, delta, ValueRange{bi, hi, i});
            Pair pr = pairOf(lb, l, qRow, kRow, doRow, vRow, hi, i, pos, j,
                             lseI, deltaI);
            Value c = arith::MulFOp::create(
                lb, l, arith::MulFOp::create(lb, l, pr.p, pr.g), at.scale);
            auto upd = elementwise(
                lb, l, ValueRange{qRow, doRow}, acc, 1,
                [&](OpBuilder &nb, Location bl, ValueRange a) {
                  Value dk = arith::AddFOp::create(
                      nb, bl, a[2],
                      arith::MulFOp::create(nb, bl, c, toF32(nb, bl, a[0])));
                  Value dv = arith::AddFOp::create(
                      nb, bl, a[3],
                      arith::MulFOp::create(nb, bl, pr.p,
                                            toF32(nb, bl, a[1])));
                  linalg::YieldOp::create(nb, bl, ValueRange{dk, dv});
                });
            scf::YieldOp::create(lb, l, upd.getResults());
          });
      SmallVector<Value> rows;
      for (Value r : overQueries.getResults())
        rows.push_back(rowAs(b, loc, r, elt, qs[3]));
      b.setInsertionPointToStart(pass2.getTerminator().getBody());
      for (auto [r, dest] : llvm::zip(rows, pass2.getRegionIterArgs()))
        tensor::ParallelInsertSliceOp::create(
            b, loc, r, dest,
            SmallVector<OpFoldResult>{bi, hi, j, b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                      b.getIndexAttr(1), qs[3]},
            unitSizes(b, 4));
    }

    SmallVector<Value> results = {pass1.getResult(0), pass2.getResult(0),
                                  pass2.getResult(1)};
    unsigned k = 1;
    if (biasKind) {
      Value g = pass1.getResult(k++);
      results.push_back(biasKind == 1 ? sumOverRows(b, loc, g) : g);
    }
    if (at.span)
      results.push_back(sumOverRows(b, loc, pass1.getResult(k)));
    for (auto [r, t] : llvm::zip(results, op.getResultTypes()))
      if (r.getType() != t)
        r = tensor::CastOp::create(b, loc, t, r);
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

void lowering::populateAttentionGradPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAttentionGrad>(patterns.getContext());
}
