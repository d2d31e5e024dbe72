//===- LowerAttentionGrad.cpp - rotary.attention_grad, structured -------===//
//
// The FlashAttention-2 backward: scores are recomputed tile by tile from q,
// k and the saved log-sum-exp, never stored. With δ_i = ȯ_i·o_i − l̄se_i
// and, for every pair (i, j) the forward's pattern lets through,
//   e = exp(s − lse_i), p = w·e, g = ȯ_i·v_j − δ_i, s̄ = p·g,
//   q̄_i += scale·s̄·k_j, k̄_j += scale·s̄·q_i, v̄_j += p·ȯ_i,
//   b̄ias gathers s̄, s̄pan_h += e·g·∂w/∂span_h
// (w the span weight, 1 without a span). convert-rotary-to-linalg emits δ
// (a reduction over D) and two race-free passes as structured ops, which
// rotary-tile-and-decompose tiles and decomposes here:
//  - the query pass (rotary.online_attention_query_grad) over (h, queries):
//    per block, a loop over b and the key tiles those queries see:
//    Q̄ = scale·S̄·K per tile, and the bias rows and span partials of
//    (h, those queries) summed over b, so no two tasks write the same
//    element;
//  - the key pass (rotary.online_attention_key_grad) over (b, h, keys): per
//    block, a loop over the query tiles that see them, in the transposed
//    orientation (keys along the rows): V̄ += Pᵀ·Ȯ and K̄ += scale·S̄ᵀ·Q.
// Each pair tile is two contractions (scores and ȮVᵀ) and one or two
// accumulations; the query pass recomputes the products the key pass
// makes, the price of many race-free tasks. A schedule with few, large
// tasks fuses the two into rotary.online_attention_grad over (b, h): the
// key pass's loops that also accumulate q̄ of the (b, h) and the partials,
// five products per pair tile instead of seven. The bias table and span
// partials [H, T, ·] are then summed over T. A row with lse = -inf (no
// visible weight) contributes nothing.
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

/// An f32 accumulator tile times `c` (when given), written into `into`
/// (a tile of the result, in its element type).
Value finishTile(OpBuilder &b, Location loc, Value acc, Value c, Value into) {
  Type elt = cast<RankedTensorType>(into.getType()).getElementType();
  return overTile(
      b, loc, acc, {}, {}, ValueRange{into},
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
  Value col = at.tableColumn(
      b, loc, p, at.keyIndex(b, loc, arith::AddIOp::create(b, loc, j0, c)));
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

/// An f32 accumulator [n, D] times `c` (when given), written into rows
/// [r0, r0 + n) of (bi, hi) of `dest` [B, H, ·, D].
Value writeRows(OpBuilder &b, Location loc, Value acc, Value c, Value dest,
                Value bi, Value hi, Value r0, OpFoldResult n, OpFoldResult d) {
  Value rowsOut =
      finishTile(b, loc, acc, c, rowsOf(b, loc, dest, bi, hi, r0, n));
  return tensor::InsertSliceOp::create(
      b, loc, rowsOut, dest,
      SmallVector<OpFoldResult>{bi, hi, getAsOpFoldResult(r0),
                                b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), n, d},
      unitSizes(b, 4));
}

/// The offsets and sizes of head hi of a per-head partial [H, rest...].
std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
headRange(OpBuilder &b, Value hi, ArrayRef<OpFoldResult> rest) {
  SmallVector<OpFoldResult> offs(rest.size() + 1, b.getIndexAttr(0));
  offs[0] = hi;
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  llvm::append_range(sizes, rest);
  return {offs, sizes};
}

/// Head hi of a per-head f32 partial `all` [H, rest...] (rank-reduced to
/// `rest`), and a head's slice written back.
Value headSlice(OpBuilder &b, Location loc, Value all, Value hi,
                ArrayRef<OpFoldResult> rest) {
  auto [offs, sizes] = headRange(b, hi, rest);
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType(sizes, {0}, b.getF32Type()), all, offs, sizes,
      unitSizes(b, sizes.size()));
}
Value insertHeadSlice(OpBuilder &b, Location loc, Value part, Value all,
                      Value hi, ArrayRef<OpFoldResult> rest) {
  auto [offs, sizes] = headRange(b, hi, rest);
  return tensor::InsertSliceOp::create(b, loc, part, all, offs, sizes,
                                       unitSizes(b, sizes.size()));
}

/// The key pass's loops, shared by rotary.online_attention_key_grad and
/// the fused rotary.online_attention_grad: for a block of keys, a loop
/// over the query tiles (`key` tall) that see any of them, keys along the
/// rows of every product.
struct KeyPass {
  const AttentionParts &at;
  Value v, dO, lse, delta;
  Value zero, one;     ///< the decomposition's index constants
  OpFoldResult d;      ///< D
  bool withDerivative; ///< ∂w/∂span for the span partials

  /// The queries that see any key of rows [j, j + cols) of at.k: from the
  /// first key's first query to the later end of the first and last keys'
  /// ranges (a global first key is seen up to the end), as the first query
  /// and the number of query tiles from it.
  std::pair<Value, Value> queriesOf(OpBuilder &b, Location loc, Value j,
                                    OpFoldResult cols) const {
    Value jFirst = at.keyIndex(b, loc, j);
    Value jLast = arith::SubIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, jFirst,
                              getValueOrCreateConstantIndexOp(b, loc, cols)),
        one);
    auto [qLo, qHiFirst] = at.queriesOf(b, loc, jFirst);
    Value qHi = arith::MaxSIOp::create(b, loc, qHiFirst,
                                       at.queriesOf(b, loc, jLast).second);
    return {qLo, tilesOf(b, loc, arith::SubIOp::create(b, loc, qHi, qLo),
                         at.tiles.key)};
  }

  /// Each pair tile's extra work: its first query, rows, s̄ and p (and
  /// e·g·∂w) with keys along the rows, the key tile, and the values the
  /// loop carries; returns their next values.
  using PairFn = function_ref<SmallVector<Value>(
      Value i0, OpFoldResult rows, const PairGrads &pg, Value kTile,
      ValueRange carried)>;

  /// The block of rows [j0, j0 + cols) of (bi, hi): K̄ += s̄ᵀ·Q and
  /// V̄ += pᵀ·Ȯ over the query tiles `queries` (first query, count),
  /// written (K̄ scaled) into the block's rows of `dests` (k̄, v̄), while
  /// `carried` goes through the loop by `more`. Returns the new dests, then
  /// the carried results.
  SmallVector<Value> block(OpBuilder &b, Location loc, Value bi, Value hi,
                           Value j0, OpFoldResult cols,
                           std::pair<Value, Value> queries, ValueRange dests,
                           ValueRange carried, PairFn more) const {
    Value kTile = rowsOf(b, loc, at.k, bi, hi, j0, cols);
    Value vTile = rowsOf(b, loc, v, bi, hi, j0, cols);
    SmallVector<Value> init = {zerosF32(b, loc, {cols, d}),
                               zerosF32(b, loc, {cols, d})};
    llvm::append_range(init, carried);
    auto overQueries =
        scf::ForOp::create(b, loc, zero, queries.second, one, init);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(overQueries.getBody());
      Value i0 = arith::AddIOp::create(
          b, loc, queries.first,
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
          contractRows(b, loc, kTile, transposeTile(b, loc, qTile), false), hi,
          i0, j0, /*keyRows=*/true, at.scale, withDerivative);
      Value dpT =
          contractRows(b, loc, vTile, transposeTile(b, loc, doTile), false);
      PairGrads pg = pairGrads(b, loc, ts, dpT, lseV, deltaV, /*keyRows=*/true,
                               /*wantP=*/true);
      SmallVector<Value> next = {
          accumulateRows(b, loc, pg.ds, qTile, acc[0], false),
          accumulateRows(b, loc, pg.p, doTile, acc[1], false)};
      llvm::append_range(next, more(i0, rows, pg, kTile, acc.drop_front(2)));
      scf::YieldOp::create(b, loc, next);
    }
    SmallVector<Value> next;
    Value scales[] = {at.scale, Value()};
    for (auto [acc, dest, c] :
         llvm::zip(overQueries.getResults().take_front(2), dests, scales))
      next.push_back(writeRows(b, loc, acc, c, dest, bi, hi, j0, cols, d));
    llvm::append_range(next, overQueries.getResults().drop_front(2));
    return next;
  }
};

/// rotary.attention_grad -> δ, then its two structured passes, then the
/// partial bias and span gradients summed over T. No tile size: the
/// target's schedule records them on the passes.
struct ConvertAttentionGrad : OpRewritePattern<AttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value q = op.getQ(), k = op.getK(), v = op.getV(), o = op.getOutput(),
          dO = op.getDoutput(), dlse = op.getDlse(), bias = op.getBias(),
          span = op.getSpan();
    Type elt = cast<RankedTensorType>(q.getType()).getElementType();
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);

    // δ_i = Σ_d ȯ_id·o_id − l̄se_i, so that g_ij = ȯ_i·v_j − δ_i.
    SmallVector<OpFoldResult> rowSizes = {qs[0], qs[1], qs[2]};
    Value deltaInit;
    if (!dlse)
      deltaInit = zerosF32(b, loc, rowSizes);
    else
      deltaInit =
          elementwise(b, loc, dlse, emptyOf(b, loc, rowSizes, f32), 3,
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

    // The query pass writes q̄ and, per (h, query), the bias and span
    // partials; the key pass k̄ and v̄.
    bool table = bias && cast<RankedTensorType>(bias.getType()).getRank() == 2;
    SmallVector<Value> queryInits = {emptyLike(b, loc, q, elt)};
    if (bias)
      queryInits.push_back(emptyOf(
          b, loc,
          {qs[1], qs[2],
           tensor::getMixedSize(b, loc, table ? bias : k, table ? 1 : 2)},
          f32));
    if (span)
      queryInits.push_back(emptyOf(b, loc, {qs[1], qs[2]}, f32));
    // S - T (sizes made in a fixed order: the IR must not depend on the
    // host compiler's argument evaluation order).
    Value sLen = dimOf(b, loc, k, 2), tLen = dimOf(b, loc, q, 2);
    Value first = arith::SubIOp::create(b, loc, sLen, tLen);
    auto queries = OnlineAttentionQueryGradOp::create(
        b, loc, ValueRange(queryInits).getTypes(), q, k, v, dO, op.getLse(),
        delta, bias, span, first, queryInits, op.getCausalAttr(),
        op.getWindowAttr(), op.getGlobalTokensAttr(), op.getScaleAttr(),
        op.getSpanRampAttr());
    Value keyInits[] = {emptyLike(b, loc, k, elt), emptyLike(b, loc, v, elt)};
    auto keys = OnlineAttentionKeyGradOp::create(
        b, loc, ValueRange(keyInits).getTypes(), q, k, v, dO, op.getLse(),
        delta, bias, span, first, indexConst(b, loc, 0), keyInits,
        op.getCausalAttr(), op.getWindowAttr(), op.getGlobalTokensAttr(),
        op.getScaleAttr(), op.getSpanRampAttr());
    // Tiles recorded on the op itself (for experiments) stay the passes'.
    if (Attribute tiles = op->getAttr(kTilesAttr)) {
      queries->setAttr(kTilesAttr, tiles);
      keys->setAttr(kTilesAttr, tiles);
    }

    SmallVector<Value> results = {queries.getResult(0), keys.getResult(0),
                                  keys.getResult(1)};
    unsigned n = 1;
    if (bias) {
      Value g = queries.getResult(n++);
      results.push_back(table ? sumOverRows(b, loc, g) : g);
    }
    if (span)
      results.push_back(sumOverRows(b, loc, queries.getResult(n)));
    for (auto [r, t] : llvm::zip(results, op.getResultTypes()))
      r = castTo(b, loc, r, t);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A block of the query pass (any H and rows; the CPU schedule tiles it to
/// one head and `query` rows): per head, a loop over b and, inside, over
/// the key tiles (`key` wide) the block's rows see.
struct DecomposeQueryGrad : OpRewritePattern<OnlineAttentionQueryGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OnlineAttentionQueryGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    FailureOr<AttentionParts> parts = structuredParts(b, op);
    if (failed(parts))
      return failure();
    const AttentionParts &at = *parts;
    Value v = op.getV(), dO = op.getDoutput(), lse = op.getLse(),
          delta = op.getDelta();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    OpFoldResult zeroI = b.getIndexAttr(0);
    OpFoldResult rows = qs[2];
    bool withBias = static_cast<bool>(op.getBias());
    OpFoldResult biasRowLen =
        withBias ? tensor::getMixedSize(b, loc, op.getInits()[1], 2) : zeroI;
    KeyTiles kt = keyTilesOf(b, loc, at, zero,
                             getValueOrCreateConstantIndexOp(b, loc, rows));

    SmallVector<Value> results = forEachIndex(
        b, loc, qs[1], op.getInits(), [&](Value hi, ValueRange dests) {
          // Over b: q̄ rows into the block's q̄, the partials summed.
          SmallVector<Value> init = {dests[0]};
          if (withBias)
            init.push_back(zerosF32(b, loc, {rows, biasRowLen}));
          if (at.span)
            init.push_back(zerosF32(b, loc, {rows}));
          SmallVector<Value> summed =
              forEachIndex(b, loc, qs[0], init, [&](Value bi, ValueRange iter) {
                Value qTile = rowsOf(b, loc, at.q, bi, hi, zero, rows);
                Value doTile = rowsOf(b, loc, dO, bi, hi, zero, rows);
                Value lseV = entriesOf(b, loc, lse, bi, hi, zero, rows);
                Value deltaV = entriesOf(b, loc, delta, bi, hi, zero, rows);
                SmallVector<Value> accInit = {zerosF32(b, loc, {rows, qs[3]})};
                llvm::append_range(accInit, iter.drop_front());
                auto overKeys = scf::ForOp::create(
                    b, loc, zero, arith::AddIOp::create(b, loc, kt.n1, kt.n2),
                    one, accInit);
                {
                  OpBuilder::InsertionGuard gk(b);
                  b.setInsertionPointToStart(overKeys.getBody());
                  auto [j0, end] = kt.tile(b, loc, overKeys.getInductionVar());
                  OpFoldResult cols = tileExtent(b, loc, getAsOpFoldResult(end),
                                                 j0, at.tiles.key);
                  ValueRange acc = overKeys.getRegionIterArgs();
                  Value kTile = rowsOf(b, loc, at.k, bi, hi, j0, cols);
                  Value vTile = rowsOf(b, loc, v, bi, hi, j0, cols);
                  TileScores ts = maskTile(
                      b, loc, at,
                      contractRows(b, loc, qTile, transposeTile(b, loc, kTile),
                                   false),
                      hi, zero, j0, /*keyRows=*/false, at.scale,
                      /*withDerivative=*/true);
                  Value dp = contractRows(b, loc, doTile,
                                          transposeTile(b, loc, vTile), false);
                  PairGrads pg = pairGrads(b, loc, ts, dp, lseV, deltaV, false,
                                           /*wantP=*/false);
                  SmallVector<Value> next = {
                      accumulateRows(b, loc, pg.ds, kTile, acc[0], false)};
                  unsigned k = 1;
                  if (withBias)
                    next.push_back(
                        at.tableBias()
                            ? scatterTable(b, loc, at, pg.ds, acc[k++], zero,
                                           j0)
                            : addColumns(b, loc, pg.ds, acc[k++], j0));
                  if (at.span)
                    next.push_back(reduceRows(
                        b, loc, pg.egdw, acc[k],
                        [](OpBuilder &nb, Location l, Value s, Value x) {
                          return arith::AddFOp::create(nb, l, s, x).getResult();
                        }));
                  scf::YieldOp::create(b, loc, next);
                }
                SmallVector<Value> next = {
                    writeRows(b, loc, overKeys.getResult(0), at.scale, iter[0],
                              bi, hi, zero, rows, qs[3])};
                llvm::append_range(next, overKeys.getResults().drop_front());
                return next;
              });
          SmallVector<Value> next = {summed[0]};
          unsigned k = 1;
          if (withBias) {
            next.push_back(insertHeadSlice(b, loc, summed[k], dests[k], hi,
                                           {rows, biasRowLen}));
            ++k;
          }
          if (at.span)
            next.push_back(
                insertHeadSlice(b, loc, summed[k], dests[k], hi, {rows}));
          return next;
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A block of the key pass (any B, H and keys; the CPU schedule tiles it to
/// one (b, h) and `query` keys): per (b, h), a loop over the query tiles
/// (`key` tall) that see any of the block's keys, keys along the rows of
/// every product.
struct DecomposeKeyGrad : OpRewritePattern<OnlineAttentionKeyGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OnlineAttentionKeyGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    FailureOr<AttentionParts> parts = structuredParts(b, op);
    if (failed(parts))
      return failure();
    const AttentionParts &at = *parts;
    Value v = op.getV(), dO = op.getDoutput(), lse = op.getLse(),
          delta = op.getDelta();
    SmallVector<OpFoldResult> ks = tensor::getMixedSizes(b, loc, at.k);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    OpFoldResult cols = ks[2];
    KeyPass pass{
        at, v, dO, lse, delta, zero, one, ks[3], /*withDerivative=*/false};
    // Every (b, h) of the block sees the same queries.
    std::pair<Value, Value> queries = pass.queriesOf(b, loc, zero, cols);

    SmallVector<Value> results = forEachIndex(
        b, loc, ks[0], op.getInits(), [&](Value bi, ValueRange outerDests) {
          return forEachIndex(
              b, loc, ks[1], outerDests, [&](Value hi, ValueRange dests) {
                return pass.block(
                    b, loc, bi, hi, zero, cols, queries, dests, ValueRange{},
                    [](Value, OpFoldResult, const PairGrads &, Value,
                       ValueRange) { return SmallVector<Value>(); });
              });
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A block of the fused gradient (any B and H; the CPU schedule tiles it to
/// one (b, h), or to one h and every b when partials sum over the batch):
/// per (h, b), a loop over blocks of `query` keys and, inside, over the
/// query tiles (`key` tall) that see them, keys along the rows of every
/// product as in the key pass. Each pair tile is two contractions and three
/// accumulations: k̄ and v̄ of the block stay in the inner loop's
/// accumulators, q̄ gathers in an f32 [T, D] accumulator of the (b, h) that
/// the key-block loop threads through, from s̄ transposed back to query
/// rows (which the bias and span partials read as the query pass does).
struct DecomposeAttentionGrad : OpRewritePattern<OnlineAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OnlineAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    FailureOr<AttentionParts> parts = structuredParts(b, op);
    if (failed(parts))
      return failure();
    const AttentionParts &at = *parts;
    Value v = op.getV(), dO = op.getDoutput(), lse = op.getLse(),
          delta = op.getDelta();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    OpFoldResult zeroI = b.getIndexAttr(0);
    OpFoldResult tRows = qs[2];
    bool withBias = static_cast<bool>(op.getBias());
    OpFoldResult biasRowLen =
        withBias ? tensor::getMixedSize(b, loc, op.getInits()[3], 2) : zeroI;
    Value nBlocks = tilesOf(b, loc, at.sLen, at.tiles.query);

    KeyPass pass{
        at, v, dO, lse, delta, zero, one, qs[3], /*withDerivative=*/true};

    // Per pair tile, after the key pass's work: q̄ and the partials of the
    // tile's queries, from s̄ transposed back to query rows.
    auto alongQueries = [&](Value j0, Value i0, OpFoldResult rows,
                            const PairGrads &pg, Value kTile, ValueRange acc) {
      Value ds = transposeTile(b, loc, pg.ds);
      auto updateRows = [&](Value all, OpFoldResult width,
                            function_ref<Value(Value)> update) {
        SmallVector<OpFoldResult> offs = {i0}, sizes = {rows};
        if (width) {
          offs.push_back(zeroI);
          sizes.push_back(width);
        }
        Value part = tensor::ExtractSliceOp::create(b, loc, all, offs, sizes,
                                                    unitSizes(b, offs.size()));
        return tensor::InsertSliceOp::create(b, loc, update(part), all, offs,
                                             sizes, unitSizes(b, offs.size()))
            .getResult();
      };
      SmallVector<Value> next = {updateRows(acc[0], qs[3], [&](Value dq) {
        return accumulateRows(b, loc, ds, kTile, dq, false);
      })};
      unsigned k = 1;
      if (withBias)
        next.push_back(updateRows(acc[k++], biasRowLen, [&](Value rowsAcc) {
          return at.tableBias() ? scatterTable(b, loc, at, ds, rowsAcc, i0, j0)
                                : addColumns(b, loc, ds, rowsAcc, j0);
        }));
      if (at.span)
        next.push_back(updateRows(acc[k], OpFoldResult(), [&](Value spanAcc) {
          return reduceRows(
              b, loc, transposeTile(b, loc, pg.egdw), spanAcc,
              [](OpBuilder &nb, Location l, Value s, Value x) {
                return arith::AddFOp::create(nb, l, s, x).getResult();
              });
        }));
      return next;
    };

    // One key block [j0, j0 + cols) of (b, h): k̄ and v̄ of its rows are
    // written into `dests`; q̄ and the partials (`carried`) accumulate.
    auto keyBlock = [&](Value bi, Value hi, Value j0, ValueRange dests,
                        ValueRange carried) {
      OpFoldResult cols =
          tileExtent(b, loc, getAsOpFoldResult(at.sLen), j0, at.tiles.query);
      return pass.block(b, loc, bi, hi, j0, cols,
                        pass.queriesOf(b, loc, j0, cols), dests, carried,
                        [&](Value i0, OpFoldResult rows, const PairGrads &pg,
                            Value kTile, ValueRange acc) {
                          return alongQueries(j0, i0, rows, pg, kTile, acc);
                        });
    };

    SmallVector<Value> results = forEachIndex(
        b, loc, qs[1], op.getInits(), [&](Value hi, ValueRange dests) {
          // The partials add to their inits (a reduction over b): head
          // hi's rows of each.
          SmallVector<Value> init(dests.take_front(3));
          if (withBias)
            init.push_back(
                headSlice(b, loc, dests[3], hi, {tRows, biasRowLen}));
          if (at.span)
            init.push_back(headSlice(b, loc, dests.back(), hi, {tRows}));
          SmallVector<Value> summed =
              forEachIndex(b, loc, qs[0], init, [&](Value bi, ValueRange iter) {
                // Over the key blocks: k̄, v̄ written, q̄ and the partials
                // accumulated.
                SmallVector<Value> blockInit = {
                    iter[1], iter[2], zerosF32(b, loc, {tRows, qs[3]})};
                llvm::append_range(blockInit, iter.drop_front(3));
                auto overBlocks =
                    scf::ForOp::create(b, loc, zero, nBlocks, one, blockInit);
                {
                  OpBuilder::InsertionGuard g(b);
                  b.setInsertionPointToStart(overBlocks.getBody());
                  Value j0 = arith::MulIOp::create(
                      b, loc, overBlocks.getInductionVar(),
                      indexConst(b, loc, at.tiles.query));
                  ValueRange it = overBlocks.getRegionIterArgs();
                  scf::YieldOp::create(
                      b, loc,
                      keyBlock(bi, hi, j0, it.take_front(2), it.drop_front(2)));
                }
                SmallVector<Value> next = {
                    writeRows(b, loc, overBlocks.getResult(2), at.scale,
                              iter[0], bi, hi, zero, tRows, qs[3])};
                next.push_back(overBlocks.getResult(0));
                next.push_back(overBlocks.getResult(1));
                llvm::append_range(next, overBlocks.getResults().drop_front(3));
                return next;
              });
          SmallVector<Value> next(summed.begin(), summed.begin() + 3);
          unsigned k = 3;
          if (withBias) {
            next.push_back(insertHeadSlice(b, loc, summed[k], dests[k], hi,
                                           {tRows, biasRowLen}));
            ++k;
          }
          if (at.span)
            next.push_back(
                insertHeadSlice(b, loc, summed[k], dests[k], hi, {tRows}));
          return next;
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

void lowering::populateAttentionGradPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvertAttentionGrad>(patterns.getContext());
}

void lowering::populateAttentionGradDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeQueryGrad, DecomposeKeyGrad, DecomposeAttentionGrad>(
      patterns.getContext());
}
