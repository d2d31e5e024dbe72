//===- LowerAttentionGrad.cpp - rotary.attention_grad to scf + linalg -----===//
//
// The FlashAttention-2 backward: scores are recomputed tile by tile from q,
// k and the saved log-sum-exp, never stored. With δ_i = ȯ_i·o_i − l̄se_i
// and, for every pair (i, j) the forward's pattern lets through,
//   e = exp(s − lse_i), p = w·e, g = ȯ_i·v_j − δ_i, s̄ = p·g,
//   q̄_i += scale·s̄·k_j, k̄_j += scale·s̄·q_i, v̄_j += p·ȯ_i,
//   b̄ias gathers s̄, s̄pan_h += e·g·∂w/∂span_h
// (w the span weight, 1 without a span). Three race-free passes:
//  1. δ for every row (a reduction over D);
//  2. one task per (h, tile of queries), looping over b and the key tiles
//     those queries see: Q̄ = scale·S̄·K per tile, and the bias rows and
//     span partials of (h, those queries) summed over b, so no two tasks
//     write the same element;
//  3. one task per (b, h, tile of keys), looping over the query tiles
//     that see them, in the transposed orientation (keys along the rows):
//     V̄ += Pᵀ·Ȯ and K̄ += scale·S̄ᵀ·Q.
// Each pair tile is two contractions (scores and ȮVᵀ) and one or two
// accumulations, all on the CPU schedule; pass 2 recomputes the products
// pass 3 makes, the price of writing every gradient from one task. The
// bias table and span partials [H, T, ·] are then summed over T. A row
// with lse = -inf (no visible weight) contributes nothing.
//
//===----------------------------------------------------------------------===//

#include "AttentionTiles.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
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

/// An f32 accumulator tile times `c` (when given), in element type `elt`.
Value finishTile(OpBuilder &b, Location loc, Value acc, Value c, Type elt) {
  return overTile(
      b, loc, acc, {}, {},
      ValueRange{emptyOf(b, loc, tensor::getMixedSizes(b, loc, acc), elt)},
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        Value x = c ? arith::MulFOp::create(nb, l, a[0], c) : a[0];
        return {castFloat(nb, l, x, elt)};
      })[0];
}

/// The per-pair values of one tile pair: s̄ = p·g and, when asked, p and
/// e·g·∂w/∂span. `lse` and `delta` run along the queries: the rows of the
/// tile, or its columns when `keyRows`.
struct PairGrads {
  Value ds, p, egdw;
};
PairGrads pairGrads(OpBuilder &b, Location loc, const TileScores &ts, Value dp,
                    Value lse, Value delta, bool keyRows, bool wantP) {
  Type f32 = b.getF32Type();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, dp);
  SmallVector<Value> tileIns = {ts.s, dp};
  if (ts.w)
    tileIns.push_back(ts.w);
  if (ts.dw)
    tileIns.push_back(ts.dw);
  unsigned nOut = 1 + (wantP ? 1 : 0) + (ts.dw ? 1 : 0);
  SmallVector<Value> inits(nOut, emptyOf(b, loc, sizes, f32));
  Value lseDelta[] = {lse, delta};
  SmallVector<Value> r = overTile(
      b, loc, tileIns, keyRows ? ValueRange{} : ValueRange(lseDelta),
      keyRows ? ValueRange(lseDelta) : ValueRange{}, inits,
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        unsigned n = tileIns.size();
        Value lseI = a[n], deltaI = a[n + 1];
        // lse = -inf: the row has no weight; exp(s + inf) must not appear.
        Value none = arith::CmpFOp::create(
            nb, l, arith::CmpFPredicate::OEQ, lseI,
            f32c(nb, l, -std::numeric_limits<float>::infinity()));
        Value e = arith::SelectOp::create(
            nb, l, none, f32c(nb, l, 0.0),
            math::ExpOp::create(nb, l,
                                arith::SubFOp::create(nb, l, a[0], lseI)));
        Value p = ts.w ? arith::MulFOp::create(nb, l, a[2], e) : e;
        Value g = arith::SubFOp::create(nb, l, a[1], deltaI);
        SmallVector<Value> out = {arith::MulFOp::create(nb, l, p, g)};
        if (wantP)
          out.push_back(p);
        if (ts.dw)
          out.push_back(arith::MulFOp::create(
              nb, l, arith::MulFOp::create(nb, l, e, g), a[n - 1]));
        return out;
      });
  PairGrads pg{r[0], Value(), Value()};
  if (wantP)
    pg.p = r[1];
  if (ts.dw)
    pg.egdw = r.back();
  return pg;
}

/// acc[r, column(p_r, j0 + c)] += ds[r, c] for the bias table, whose column
/// depends on the pair (clamped relative position): a scalar scatter.
Value scatterTable(OpBuilder &b, Location loc, const AttentionParts &at,
                   Value ds, Value acc, Value i0, Value j0) {
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  auto outer = scf::ForOp::create(b, loc, zero, dimOf(b, loc, ds, 0), one,
                                  ValueRange{acc});
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(outer.getBody());
  Value r = outer.getInductionVar();
  Value p = at.position(b, loc, arith::AddIOp::create(b, loc, i0, r));
  auto inner = scf::ForOp::create(b, loc, zero, dimOf(b, loc, ds, 1), one,
                                  outer.getRegionIterArgs());
  scf::YieldOp::create(b, loc, inner.getResults());
  b.setInsertionPointToStart(inner.getBody());
  Value c = inner.getInductionVar();
  Value col = at.tableColumn(b, loc, p, arith::AddIOp::create(b, loc, j0, c));
  Value row = inner.getRegionIterArgs()[0];
  Value sum = arith::AddFOp::create(
      b, loc, tensor::ExtractOp::create(b, loc, row, ValueRange{r, col}),
      tensor::ExtractOp::create(b, loc, ds, ValueRange{r, c}));
  scf::YieldOp::create(
      b, loc,
      Value(tensor::InsertOp::create(b, loc, sum, row, ValueRange{r, col})));
  return outer.getResult(0);
}

/// acc[:, j0 .. j0 + cols) += ds for a full bias.
Value addColumns(OpBuilder &b, Location loc, Value ds, Value acc, Value j0) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, ds);
  SmallVector<OpFoldResult> offs = {b.getIndexAttr(0), j0};
  Value part =
      tensor::ExtractSliceOp::create(b, loc, acc, offs, sizes, unitSizes(b, 2));
  Value sum = overTile(
      b, loc, ds, {}, {}, part,
      [](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        return {arith::AddFOp::create(nb, l, a[1], a[0])};
      })[0];
  return tensor::InsertSliceOp::create(b, loc, sum, acc, offs, sizes,
                                       unitSizes(b, 2));
}

struct LowerAttentionGrad : OpRewritePattern<AttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    FailureOr<AttentionTileSizes> tileSizes = attentionTileSizes(op);
    if (failed(tileSizes))
      return failure();
    AttentionParts at = AttentionParts::of(b, op, *tileSizes);
    Value v = op.getV(), o = op.getOutput(), lse = op.getLse(),
          dO = op.getDoutput(), dlse = op.getDlse();
    Type elt = at.elt;
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    SmallVector<OpFoldResult> ks = tensor::getMixedSizes(b, loc, at.k);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);

    // 1. δ_i = Σ_d ȯ_id·o_id − l̄se_i, so that g_ij = ȯ_i·v_j − δ_i.
    SmallVector<OpFoldResult> rowSizes = {qs[0], qs[1], qs[2]};
    Value deltaInit = zerosF32(b, loc, rowSizes);
    if (dlse)
      deltaInit =
          elementwise(b, loc, dlse, emptyOf(b, loc, rowSizes, b.getF32Type()),
                      3,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(
                            nb, l, Value(arith::NegFOp::create(nb, l, a[0])));
                      })
              .getResult(0);
    AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap rows4 = AffineMap::get(
        4, 0,
        {b.getAffineDimExpr(0), b.getAffineDimExpr(1), b.getAffineDimExpr(2)},
        ctx);
    Value delta =
        linalg::GenericOp::create(
            b, loc, TypeRange{deltaInit.getType()}, ValueRange{dO, o},
            ValueRange{deltaInit}, SmallVector<AffineMap>{id4, id4, rows4},
            SmallVector<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::parallel, utils::IteratorType::reduction},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  nb, l,
                  Value(arith::AddFOp::create(
                      nb, l, a[2],
                      arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                            toF32(nb, l, a[1])))));
            })
            .getResult(0);

    // 2. One task per (h, query tile): q̄ for every b; bias and span
    // partials of those rows.
    int biasKind = !op.getBias()    ? 0
                   : at.tableBias() ? 1
                                    : 2; // none/table/full
    Value biasRowLen;
    if (biasKind == 1)
      biasRowLen = dimOf(b, loc, op.getBias(), 1);
    if (biasKind == 2)
      biasRowLen = at.sLen;
    SmallVector<Value> outs1 = {emptyLike(b, loc, at.q, elt)};
    if (biasKind)
      outs1.push_back(emptyOf(b, loc, {qs[1], qs[2], biasRowLen}, f32));
    if (at.span)
      outs1.push_back(emptyOf(b, loc, {qs[1], qs[2]}, f32));
    auto queryPass = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(2, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{
            qs[1], getAsOpFoldResult(tilesOf(b, loc, at.tLen, at.tiles.query))},
        unitSizes(b, 2), outs1, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(queryPass.getBody());
      Value hi = queryPass.getInductionVar(0);
      Value i0 = arith::MulIOp::create(b, loc, queryPass.getInductionVar(1),
                                       indexConst(b, loc, at.tiles.query));
      OpFoldResult rows =
          tileExtent(b, loc, getAsOpFoldResult(at.tLen), i0, at.tiles.query);
      KeyTiles kt = keyTilesOf(b, loc, at, i0,
                               getValueOrCreateConstantIndexOp(b, loc, rows));
      SmallVector<Value> init = {emptyOf(b, loc, {qs[0], rows, qs[3]}, elt)};
      if (biasKind)
        init.push_back(zerosF32(b, loc, {rows, biasRowLen}));
      if (at.span)
        init.push_back(zerosF32(b, loc, {rows}));
      auto overBatch = scf::ForOp::create(
          b, loc, zero, getValueOrCreateConstantIndexOp(b, loc, qs[0]), one,
          init);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(overBatch.getBody());
        Value bi = overBatch.getInductionVar();
        ValueRange iter = overBatch.getRegionIterArgs();
        Value qTile = rowsOf(b, loc, at.q, bi, hi, i0, rows);
        Value doTile = rowsOf(b, loc, dO, bi, hi, i0, rows);
        Value lseV = entriesOf(b, loc, lse, bi, hi, i0, rows);
        Value deltaV = entriesOf(b, loc, delta, bi, hi, i0, rows);
        SmallVector<Value> accInit = {zerosF32(b, loc, {rows, qs[3]})};
        llvm::append_range(accInit, iter.drop_front());
        auto overKeys = scf::ForOp::create(
            b, loc, zero, arith::AddIOp::create(b, loc, kt.n1, kt.n2), one,
            accInit);
        {
          OpBuilder::InsertionGuard gk(b);
          b.setInsertionPointToStart(overKeys.getBody());
          auto [j0, end] = kt.tile(b, loc, overKeys.getInductionVar());
          OpFoldResult cols =
              tileExtent(b, loc, getAsOpFoldResult(end), j0, at.tiles.key);
          ValueRange acc = overKeys.getRegionIterArgs();
          Value kTile = rowsOf(b, loc, at.k, bi, hi, j0, cols);
          Value vTile = rowsOf(b, loc, v, bi, hi, j0, cols);
          TileScores ts = maskTile(
              b, loc, at,
              contractRows(b, loc, qTile, transposeTile(b, loc, kTile), false),
              hi, i0, j0, /*keyRows=*/false, at.scale, /*withDerivative=*/true);
          Value dp =
              contractRows(b, loc, doTile, transposeTile(b, loc, vTile), false);
          PairGrads pg =
              pairGrads(b, loc, ts, dp, lseV, deltaV, false, /*wantP=*/false);
          SmallVector<Value> next = {
              accumulateRows(b, loc, pg.ds, kTile, acc[0], false)};
          unsigned k = 1;
          if (biasKind)
            next.push_back(
                biasKind == 1
                    ? scatterTable(b, loc, at, pg.ds, acc[k++], i0, j0)
                    : addColumns(b, loc, pg.ds, acc[k++], j0));
          if (at.span)
            next.push_back(reduceRows(
                b, loc, pg.egdw, acc[k],
                [](OpBuilder &nb, Location l, Value s, Value x) {
                  return arith::AddFOp::create(nb, l, s, x).getResult();
                }));
          scf::YieldOp::create(b, loc, next);
        }
        Value dqRows = finishTile(b, loc, overKeys.getResult(0), at.scale, elt);
        SmallVector<Value> next = {tensor::InsertSliceOp::create(
            b, loc, dqRows, iter[0],
            SmallVector<OpFoldResult>{bi, b.getIndexAttr(0), b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), rows, qs[3]},
            unitSizes(b, 3))};
        llvm::append_range(next, overKeys.getResults().drop_front());
        scf::YieldOp::create(b, loc, next);
      }
      b.setInsertionPointToStart(queryPass.getTerminator().getBody());
      ValueRange shared = queryPass.getRegionIterArgs();
      OpFoldResult zeroI = b.getIndexAttr(0), unitI = b.getIndexAttr(1);
      tensor::ParallelInsertSliceOp::create(
          b, loc, overBatch.getResult(0), shared[0],
          SmallVector<OpFoldResult>{zeroI, hi, i0, zeroI},
          SmallVector<OpFoldResult>{qs[0], unitI, rows, qs[3]},
          unitSizes(b, 4));
      unsigned k = 1;
      if (biasKind) {
        tensor::ParallelInsertSliceOp::create(
            b, loc, overBatch.getResult(k), shared[k],
            SmallVector<OpFoldResult>{hi, i0, zeroI},
            SmallVector<OpFoldResult>{unitI, rows, biasRowLen},
            unitSizes(b, 3));
        ++k;
      }
      if (at.span)
        tensor::ParallelInsertSliceOp::create(
            b, loc, overBatch.getResult(k), shared[k],
            SmallVector<OpFoldResult>{hi, i0},
            SmallVector<OpFoldResult>{unitI, rows}, unitSizes(b, 2));
    }

    // 3. One task per (b, h, key tile): k̄ and v̄ over the query tiles that
    // see those keys, keys along the rows of every product.
    auto keyPass = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{
            ks[0], ks[1],
            getAsOpFoldResult(tilesOf(b, loc, at.sLen, at.tiles.query))},
        unitSizes(b, 3),
        ValueRange{emptyLike(b, loc, at.k, elt), emptyLike(b, loc, v, elt)},
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(keyPass.getBody());
      Value bi = keyPass.getInductionVar(0), hi = keyPass.getInductionVar(1);
      Value j0 = arith::MulIOp::create(b, loc, keyPass.getInductionVar(2),
                                       indexConst(b, loc, at.tiles.query));
      OpFoldResult cols =
          tileExtent(b, loc, getAsOpFoldResult(at.sLen), j0, at.tiles.query);
      Value jLast = arith::SubIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, j0,
                                getValueOrCreateConstantIndexOp(b, loc, cols)),
          one);
      // The queries that see any key of the tile: from the first key's
      // first query to the last query of either end (a global first key
      // is seen up to the end).
      auto [qLo, qHiFirst] = at.queriesOf(b, loc, j0);
      Value qHi = arith::MaxSIOp::create(b, loc, qHiFirst,
                                         at.queriesOf(b, loc, jLast).second);
      Value kTile = rowsOf(b, loc, at.k, bi, hi, j0, cols);
      Value vTile = rowsOf(b, loc, v, bi, hi, j0, cols);
      auto overQueries = scf::ForOp::create(
          b, loc, zero,
          tilesOf(b, loc, arith::SubIOp::create(b, loc, qHi, qLo),
                  at.tiles.key),
          one,
          ValueRange{zerosF32(b, loc, {cols, qs[3]}),
                     zerosF32(b, loc, {cols, qs[3]})});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(overQueries.getBody());
        Value i0 = arith::AddIOp::create(
            b, loc, qLo,
            arith::MulIOp::create(b, loc, overQueries.getInductionVar(),
                                  indexConst(b, loc, at.tiles.key)));
        // Full tiles up to the last query (see KeyTiles).
        OpFoldResult rows =
            tileExtent(b, loc, getAsOpFoldResult(at.tLen), i0, at.tiles.key);
        ValueRange acc = overQueries.getRegionIterArgs();
        Value qTile = rowsOf(b, loc, at.q, bi, hi, i0, rows);
        Value doTile = rowsOf(b, loc, dO, bi, hi, i0, rows);
        Value lseV = entriesOf(b, loc, lse, bi, hi, i0, rows);
        Value deltaV = entriesOf(b, loc, delta, bi, hi, i0, rows);
        TileScores ts = maskTile(
            b, loc, at,
            contractRows(b, loc, kTile, transposeTile(b, loc, qTile), false),
            hi, i0, j0, /*keyRows=*/true, at.scale, /*withDerivative=*/false);
        Value dpT =
            contractRows(b, loc, vTile, transposeTile(b, loc, doTile), false);
        PairGrads pg =
            pairGrads(b, loc, ts, dpT, lseV, deltaV, true, /*wantP=*/true);
        Value dk = accumulateRows(b, loc, pg.ds, qTile, acc[0], false);
        Value dv = accumulateRows(b, loc, pg.p, doTile, acc[1], false);
        scf::YieldOp::create(b, loc, ValueRange{dk, dv});
      }
      Value dk = finishTile(b, loc, overQueries.getResult(0), at.scale, elt);
      Value dv = finishTile(b, loc, overQueries.getResult(1), Value(), elt);
      b.setInsertionPointToStart(keyPass.getTerminator().getBody());
      SmallVector<Value> grads = {dk, dv};
      for (auto [r, dest] : llvm::zip(grads, keyPass.getRegionIterArgs()))
        tensor::ParallelInsertSliceOp::create(
            b, loc, r, dest,
            SmallVector<OpFoldResult>{bi, hi, j0, b.getIndexAttr(0)},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                      cols, qs[3]},
            unitSizes(b, 4));
    }

    SmallVector<Value> results = {queryPass.getResult(0), keyPass.getResult(0),
                                  keyPass.getResult(1)};
    unsigned k = 1;
    if (biasKind) {
      Value g = queryPass.getResult(k++);
      results.push_back(biasKind == 1 ? sumOverRows(b, loc, g) : g);
    }
    if (at.span)
      results.push_back(sumOverRows(b, loc, queryPass.getResult(k)));
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
