//===- LowerAttention.cpp - rotary.attention through the structured op ----===//
//
// rotary.attention becomes rotary.online_attention over all its queries (no
// tile size: the target's schedule records them); rotary-tile-and-decompose
// tiles that into blocks of queries and decomposes a block here.
//
// A block is FlashAttention's forward: per (b, h), an online softmax
// (running max m, running sum l, f32 accumulator [rows, D]) over the key
// tiles its queries can see, visited as two ranges (the global keys left of
// the windows, then the windows), so fully masked tiles cost nothing and
// the T×S score matrix never exists. Per key tile: S = (scale·Q)·Kᵀ and
// acc' = α·acc + P·V are contractions the CPU schedule tiles; the mask, exp
// and row updates are elementwise. The adaptive span multiplies each weight
// by m_h(p - j) inside the same sums (the renormalised mask);
// lse = log Σ mask·exp(s). A row that sees no key gets a zero output and
// lse = -inf.
//
//===----------------------------------------------------------------------===//

#include "AttentionTiles.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
/// m = -inf: the row has seen no visible key yet.
Value noneSeen(OpBuilder &b, Location loc, Value m) {
  return arith::CmpFOp::create(
             b, loc, arith::CmpFPredicate::OEQ, m,
             f32c(b, loc, -std::numeric_limits<float>::infinity()))
      .getResult();
}

/// The loop-carried state of the online softmax of one query tile.
struct Softmax {
  Value m, l, acc; ///< [rows], [rows], [rows, D], all f32
};

/// One key tile [j0, j0 + cols) of the query tile: the online-softmax
/// update of `st` with the tile's scores.
Softmax visitKeyTile(OpBuilder &b, Location loc, const AttentionParts &at,
                     Value v, Value bi, Value hi, Value i0, Value qs32,
                     OpFoldResult rows, Value j0, OpFoldResult cols,
                     const Softmax &st) {
  Type f32 = b.getF32Type();
  Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());
  Value kTile = rowsOf(b, loc, at.k, bi, hi, j0, cols);
  Value vTile = rowsOf(b, loc, v, bi, hi, j0, cols);
  // Scores of the tile (a contraction the CPU schedule tiles), then bias
  // and pattern: hidden pairs get -inf and weight 0.
  Value sc = contractRows(b, loc, qs32, transposeTile(b, loc, kTile),
                          /*perHead=*/false);
  TileScores ts = maskTile(b, loc, at, sc, hi, i0, j0, /*keyRows=*/false,
                           /*scale=*/Value(), /*withDerivative=*/false);
  // m' = max(m, max_c s); α = exp(m − m'); rows whose scores are all -inf
  // so far keep their sums (exp(-inf + inf) must not appear).
  Value tileMax = reduceRows(
      b, loc, ts.s,
      linalg::FillOp::create(b, loc, negInf, emptyOf(b, loc, {rows}, f32))
          .getResult(0),
      [](OpBuilder &nb, Location l, Value acc, Value x) {
        return arith::MaximumFOp::create(nb, l, acc, x).getResult();
      });
  Value alpha =
      perRow(b, loc, ValueRange{st.m, tileMax}, emptyOf(b, loc, {rows}, f32),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value mn = arith::MaximumFOp::create(nb, l, a[0], a[1]);
               return arith::SelectOp::create(
                          nb, l, noneSeen(nb, l, mn), f32c(nb, l, 1.0),
                          math::ExpOp::create(
                              nb, l, arith::SubFOp::create(nb, l, a[0], mn)))
                   .getResult();
             });
  // The loop-carried values are updated in place (each yield is its
  // iteration argument's buffer: bufferization requires it), after every
  // read of the old value.
  Softmax next;
  next.m =
      perRow(b, loc, ValueRange{tileMax}, st.m,
             [](OpBuilder &nb, Location l, ValueRange a) {
               return arith::MaximumFOp::create(nb, l, a[1], a[0]).getResult();
             });
  // p = w·exp(s − m') (0 for rows that saw nothing yet).
  SmallVector<Value> tileIns = {ts.s};
  if (ts.w)
    tileIns.push_back(ts.w);
  Value p = overTile(
      b, loc, tileIns, ValueRange{next.m}, {},
      ValueRange{emptyOf(b, loc, {rows, cols}, f32)},
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        Value mRow = a[tileIns.size()];
        Value e = math::ExpOp::create(nb, l,
                                      arith::SubFOp::create(nb, l, a[0], mRow));
        if (ts.w)
          e = arith::MulFOp::create(nb, l, a[1], e);
        return {arith::SelectOp::create(nb, l, noneSeen(nb, l, mRow),
                                        f32c(nb, l, 0.0), e)};
      })[0];
  Value tileSum =
      reduceRows(b, loc, p, zerosF32(b, loc, {rows}),
                 [](OpBuilder &nb, Location l, Value acc, Value x) {
                   return arith::AddFOp::create(nb, l, acc, x).getResult();
                 });
  next.l =
      perRow(b, loc, ValueRange{st.l, alpha, tileSum}, st.l,
             [](OpBuilder &nb, Location l, ValueRange a) {
               return arith::AddFOp::create(
                          nb, l, arith::MulFOp::create(nb, l, a[0], a[1]), a[2])
                   .getResult();
             });
  // acc' = α·acc + p·V (the second contraction of the tile).
  Value scaled = overTile(
      b, loc, {}, ValueRange{alpha}, {}, ValueRange{st.acc},
      [](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        return {arith::MulFOp::create(nb, l, a[1], a[0])};
      })[0];
  next.acc = accumulateRows(b, loc, p, vTile, scaled, false);
  return next;
}

/// rotary.attention -> its structured form over all queries (the first at
/// position S - T), written into new tensors. No tile size: the target's
/// schedule records them on the structured op.
struct ConvertAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value q = op.getQ();
    auto qType = cast<RankedTensorType>(q.getType());
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);
    Value out = emptyLike(b, loc, q, qType.getElementType());
    Value lse = emptyOf(b, loc, {qs[0], qs[1], qs[2]}, b.getF32Type());
    // S - T (sizes made in a fixed order: the IR must not depend on the
    // host compiler's argument evaluation order).
    Value sLen = dimOf(b, loc, op.getK(), 2), tLen = dimOf(b, loc, q, 2);
    Value first = arith::SubIOp::create(b, loc, sLen, tLen);
    auto online = OnlineAttentionOp::create(
        b, loc, TypeRange{out.getType(), lse.getType()}, q, op.getK(),
        op.getV(), op.getBias(), op.getSpan(), first, out, lse,
        op.getCausalAttr(), op.getWindowAttr(), op.getGlobalTokensAttr(),
        op.getScaleAttr(), op.getSpanRampAttr());
    // Tiles recorded on the op itself (for experiments) stay the op's.
    if (Attribute tiles = op->getAttr(kTilesAttr))
      online->setAttr(kTilesAttr, tiles);
    SmallVector<Value> results;
    for (auto [r, t] : llvm::zip(online.getResults(), op.getResultTypes()))
      results.push_back(castTo(b, loc, r, t));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// One block of queries at one (b, h): the online softmax over the key
/// tiles its rows see, written into the rows' slices of `outDest` and
/// `lseDest`. Returns the updated destinations.
std::pair<Value, Value> attendBlock(OpBuilder &b, Location loc,
                                    const AttentionParts &at, Value v, Value bi,
                                    Value hi, OpFoldResult rowsOfr,
                                    Value outDest, Value lseDest) {
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());
  Type f32 = b.getF32Type();
  Value rows = getValueOrCreateConstantIndexOp(b, loc, rowsOfr);
  OpFoldResult dOfr = at.dSize;
  OpFoldResult unitI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);

  // The rows in f32, scaled once: Qs = scale · q.
  Value qRows = rowsOf(b, loc, at.q, bi, hi, zero, rowsOfr);
  Value qs32 =
      elementwise(b, loc, qRows, emptyOf(b, loc, {rowsOfr, dOfr}, f32), 2,
                  [&](OpBuilder &nb, Location l, ValueRange a) {
                    linalg::YieldOp::create(
                        nb, l,
                        Value(arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                                    at.scale)));
                  })
          .getResult(0);

  KeyTiles kt = keyTilesOf(b, loc, at, zero, rows);
  Softmax st;
  st.m = linalg::FillOp::create(b, loc, negInf, emptyOf(b, loc, {rowsOfr}, f32))
             .getResult(0);
  st.l = zerosF32(b, loc, {rowsOfr});
  st.acc = zerosF32(b, loc, {rowsOfr, dOfr});

  // One loop over the key tiles of both ranges (one copy of the tile's
  // code). Its body is built after the loop is in place (not in a body
  // callback), so that affine folding inside it sees the function.
  auto loop = scf::ForOp::create(b, loc, zero,
                                 arith::AddIOp::create(b, loc, kt.n1, kt.n2),
                                 one, ValueRange{st.m, st.l, st.acc});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    auto [j0, end] = kt.tile(b, loc, loop.getInductionVar());
    ValueRange iter = loop.getRegionIterArgs();
    Softmax next = visitKeyTile(
        b, loc, at, v, bi, hi, zero, qs32, rowsOfr, j0,
        tileExtent(b, loc, getAsOpFoldResult(end), j0, at.tiles.key),
        Softmax{iter[0], iter[1], iter[2]});
    scf::YieldOp::create(b, loc, ValueRange{next.m, next.l, next.acc});
  }
  Value m = loop.getResult(0), lsum = loop.getResult(1),
        acc = loop.getResult(2);

  // o = acc / l (0 when nothing was visible); lse = m + log l (-inf).
  auto seen = [](OpBuilder &nb, Location l, Value lRow) {
    return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, lRow,
                                 f32c(nb, l, 0.0))
        .getResult();
  };
  Value o = overTile(
      b, loc, ValueRange{acc}, ValueRange{lsum}, {},
      ValueRange{rowsOf(b, loc, outDest, bi, hi, zero, rowsOfr)},
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        Value q = arith::SelectOp::create(
            nb, l, seen(nb, l, a[1]), arith::DivFOp::create(nb, l, a[0], a[1]),
            f32c(nb, l, 0.0));
        return {castFloat(nb, l, q, at.elt)};
      })[0];
  Value lseRow =
      perRow(b, loc, ValueRange{m, lsum},
             entriesOf(b, loc, lseDest, bi, hi, zero, rowsOfr),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               return arith::SelectOp::create(
                          nb, l, seen(nb, l, a[1]),
                          arith::AddFOp::create(
                              nb, l, a[0], math::LogOp::create(nb, l, a[1])),
                          f32c(nb, l, -std::numeric_limits<float>::infinity()))
                   .getResult();
             });
  Value outNext = tensor::InsertSliceOp::create(
      b, loc, o, outDest, SmallVector<OpFoldResult>{bi, hi, zeroI, zeroI},
      SmallVector<OpFoldResult>{unitI, unitI, rowsOfr, dOfr},
      SmallVector<OpFoldResult>(4, unitI));
  Value lseNext = tensor::InsertSliceOp::create(
      b, loc, lseRow, lseDest, SmallVector<OpFoldResult>{bi, hi, zeroI},
      SmallVector<OpFoldResult>{unitI, unitI, rowsOfr},
      SmallVector<OpFoldResult>(3, unitI));
  return {outNext, lseNext};
}

/// A block of rotary.online_attention (any B, H and rows; the CPU schedule
/// tiles it to one (b, h) and `query` rows first) -> scf + linalg: per
/// (b, h) of the block, FlashAttention's loop over the key tiles, whose
/// width the schedule recorded (`key`).
struct DecomposeOnlineAttention : OpRewritePattern<OnlineAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OnlineAttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    FailureOr<AttentionParts> parts = structuredParts(b, op);
    if (failed(parts))
      return failure();
    const AttentionParts &at = *parts;
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value out = op.getOutputInit(), lse = op.getLseInit();
    // A loop over b and h unless the block has one of them (a task's).
    SmallVector<Value> results = forEachIndex(
        b, loc, qs[0], ValueRange{out, lse},
        [&](Value bi, ValueRange outerDests) {
          return forEachIndex(
              b, loc, qs[1], outerDests, [&](Value hi, ValueRange dests) {
                auto [o, l] = attendBlock(b, loc, at, op.getV(), bi, hi, qs[2],
                                          dests[0], dests[1]);
                return SmallVector<Value>{o, l};
              });
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

void lowering::populateAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvertAttention>(patterns.getContext());
}

void lowering::populateAttentionDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeOnlineAttention>(patterns.getContext());
}
