//===- LowerAttention.cpp - rotary.attention to scf + linalg --------------===//
//
// The FlashAttention forward: one task per (b, h, tile of queries) runs an
// online softmax (running max m, running sum l, f32
// accumulator [rows, D]) over the key tiles its queries can see, visited as
// two ranges (the global keys left of the windows, then the windows), so
// fully masked tiles cost nothing and the T×S score matrix never exists.
// Per key tile: S = (scale·Q)·Kᵀ and acc' = α·acc + P·V are contractions
// the CPU schedule tiles; the mask, exp and row updates are elementwise.
// The adaptive span multiplies each weight by m_h(p - j) inside the same
// sums (the renormalised mask); lse = log Σ mask·exp(s). A row that sees no
// key gets a zero output and lse = -inf.
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

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    FailureOr<AttentionTileSizes> tileSizes = attentionTileSizes(op);
    if (failed(tileSizes))
      return failure();
    AttentionParts at = AttentionParts::of(b, op, *tileSizes);
    Value v = op.getV();
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());

    Value out = emptyLike(b, loc, at.q, at.elt);
    Value lse = emptyOf(b, loc, {qs[0], qs[1], qs[2]}, f32);
    Value tiles = tilesOf(b, loc, at.tLen, at.tiles.query);
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{qs[0], qs[1], getAsOpFoldResult(tiles)},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)), ValueRange{out, lse},
        std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value bi = forall.getInductionVar(0), hi = forall.getInductionVar(1);
    Value i0 = arith::MulIOp::create(b, loc, forall.getInductionVar(2),
                                     indexConst(b, loc, at.tiles.query));
    OpFoldResult rowsOfr =
        tileExtent(b, loc, getAsOpFoldResult(at.tLen), i0, at.tiles.query);
    Value rows = getValueOrCreateConstantIndexOp(b, loc, rowsOfr);
    OpFoldResult dOfr = qs[3];
    OpFoldResult unitI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);

    // The query tile in f32, scaled once: Qs = scale · q[i0 .. i0+rows).
    Value qTile = rowsOf(b, loc, at.q, bi, hi, i0, rowsOfr);
    Value qs32 =
        elementwise(b, loc, qTile, emptyOf(b, loc, {rowsOfr, dOfr}, f32), 2,
                    [&](OpBuilder &nb, Location l, ValueRange a) {
                      linalg::YieldOp::create(
                          nb, l,
                          Value(arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                                      at.scale)));
                    })
            .getResult(0);

    KeyTiles kt = keyTilesOf(b, loc, at, i0, rows);
    Softmax st;
    st.m =
        linalg::FillOp::create(b, loc, negInf, emptyOf(b, loc, {rowsOfr}, f32))
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
          b, loc, at, v, bi, hi, i0, qs32, rowsOfr, j0,
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
        ValueRange{emptyOf(b, loc, {rowsOfr, dOfr}, at.elt)},
        [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
          Value q = arith::SelectOp::create(
              nb, l, seen(nb, l, a[1]),
              arith::DivFOp::create(nb, l, a[0], a[1]), f32c(nb, l, 0.0));
          return {castFloat(nb, l, q, at.elt)};
        })[0];
    Value lseRow = perRow(
        b, loc, ValueRange{m, lsum}, emptyOf(b, loc, {rowsOfr}, f32),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return arith::SelectOp::create(
                     nb, l, seen(nb, l, a[1]),
                     arith::AddFOp::create(nb, l, a[0],
                                           math::LogOp::create(nb, l, a[1])),
                     f32c(nb, l, -std::numeric_limits<float>::infinity()))
              .getResult();
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, o, forall.getRegionIterArgs()[0],
        SmallVector<OpFoldResult>{bi, hi, i0, zeroI},
        SmallVector<OpFoldResult>{unitI, unitI, rowsOfr, dOfr},
        SmallVector<OpFoldResult>(4, unitI));
    tensor::ParallelInsertSliceOp::create(
        b, loc, lseRow, forall.getRegionIterArgs()[1],
        SmallVector<OpFoldResult>{bi, hi, i0},
        SmallVector<OpFoldResult>{unitI, unitI, rowsOfr},
        SmallVector<OpFoldResult>(3, unitI));
    b.setInsertionPointAfter(forall);
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
