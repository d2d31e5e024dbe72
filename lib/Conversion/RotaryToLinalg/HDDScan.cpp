//===- HDDScan.cpp - the tile of rotary.rotation_scan, and its blocks -----===//
//
// A tile of rotation_scan is a sequential scan per column, P_t = P_{t-1}·G_t
// (c ≤ 8 as unrolled scalars, larger c as one c×c product per step into a
// scratch matrix). splitScan lets a target cut a long scan into a blocked
// one: products inside blocks of `block` steps, parallel over blocks, the
// exclusive scan of the block totals, and a parallel fix-up
// P_t = carry_block·local_t.
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;
using namespace rotary::lowering::hdd;

namespace {
/// The R×c matrix of `v` ([A, T, Bm, R, c] or a carry [A, Bm, R, c]) at the
/// leading indices `lead`, and its insertion back.
Value matrixAt(OpBuilder &b, Location loc, Value v, ValueRange lead,
               int64_t rows, int64_t c) {
  SmallVector<OpFoldResult> offs = getAsOpFoldResult(lead);
  SmallVector<OpFoldResult> sizes(lead.size(), b.getIndexAttr(1));
  offs.append(2, b.getIndexAttr(0));
  sizes.append({b.getIndexAttr(rows), b.getIndexAttr(c)});
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({rows, c}, b.getF32Type()), v, offs, sizes,
      SmallVector<OpFoldResult>(offs.size(), b.getIndexAttr(1)));
}
Value insertMatrixAt(OpBuilder &b, Location loc, Value m, Value v,
                     ValueRange lead) {
  auto type = cast<RankedTensorType>(m.getType());
  SmallVector<OpFoldResult> offs = getAsOpFoldResult(lead);
  SmallVector<OpFoldResult> sizes(lead.size(), b.getIndexAttr(1));
  offs.append(2, b.getIndexAttr(0));
  sizes.append(
      {b.getIndexAttr(type.getDimSize(0)), b.getIndexAttr(type.getDimSize(1))});
  return tensor::InsertSliceOp::create(
      b, loc, m, v, offs, sizes,
      SmallVector<OpFoldResult>(offs.size(), b.getIndexAttr(1)));
}

/// One column (a, bm) of a rotation_scan tile whose rows are too many to
/// unroll: one small product per step (so the IR does not grow with c³)
/// between two R×c scratch matrices carried through the loop, the running
/// product S (from the carry) and the step's N = S·G_t, copied back into S
/// and into the result's slice t. Written straight into the result's
/// slices instead (reading slice t − 1, writing slice t), bufferization
/// allocated at every step. Returns the new (p, carry).
SmallVector<Value> scanColumnLooped(OpBuilder &b, Location loc,
                                    RotationScanOp op, Value a, Value bm,
                                    Value p, Value carry) {
  int64_t c = op.getChunkSize(), rows = op.getNumRows();
  bool exclusive = op.getExclusive();
  Value g = op.getRotations();
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  SmallVector<OpFoldResult> rc = {b.getIndexAttr(rows), b.getIndexAttr(c)};
  Type f32 = b.getF32Type();
  Value running = copyInto(b, loc, matrixAt(b, loc, carry, {a, bm}, rows, c),
                           emptyOf(b, loc, rc, f32));
  auto loop = scf::ForOp::create(
      b, loc, zero, dimOf(b, loc, g, 1), one,
      ValueRange{p, running, emptyOf(b, loc, rc, f32)},
      [&](OpBuilder &lb, Location l, Value t, ValueRange it) {
        SmallVector<Value> here = {a, t, bm};
        Value pt = it[0];
        // Exclusive: P_t is the product before step t.
        if (exclusive)
          pt = insertMatrixAt(lb, l, it[1], pt, here);
        Value next =
            matmulInto(lb, l, it[1], matrixAt(lb, l, g, here, c, c), it[2]);
        if (!exclusive)
          pt = insertMatrixAt(lb, l, next, pt, here);
        scf::YieldOp::create(
            lb, l, ValueRange{pt, copyInto(lb, l, next, it[1]), next});
      });
  Value out = copyInto(b, loc, loop.getResult(1),
                       matrixAt(b, loc, carry, {a, bm}, rows, c));
  return {loop.getResult(0), insertMatrixAt(b, loc, out, carry, {a, bm})};
}

/// The exclusive scan of block totals [A, nb, Bm, c, c] from `carryInit`
/// [A, Bm, R, c], tiled per (a, bm, `rows` rows; all when 0): the carry
/// into each block, and the carry after the last.
FailureOr<std::pair<Value, Value>> blockCarries(RewriterBase &rewriter,
                                                Location loc, Value totals,
                                                Value carryInit, int64_t rows) {
  OpBuilder &b = rewriter;
  // P [A, nb, Bm, R, c]: the totals' leading dims, the carry's rows.
  SmallVector<OpFoldResult> pSizes = tensor::getMixedSizes(b, loc, totals);
  pSizes[3] = tensor::getMixedSizes(b, loc, carryInit)[2];
  Value pInit = emptyOf(b, loc, pSizes, b.getF32Type());
  auto carries = RotationScanOp::create(
      b, loc, TypeRange{pInit.getType(), carryInit.getType()}, totals, pInit,
      carryInit, /*exclusive=*/true);
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(b.getContext(), {1, 0, 1, rows}));
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(carries.getOperation()), options);
  if (failed(tiled))
    return carries->emitOpError("could not be tiled by [1, 0, 1, ")
           << rows << "]";
  rewriter.replaceOp(carries, tiled->replacements);
  return std::pair<Value, Value>{tiled->replacements[0],
                                 tiled->replacements[1]};
}

/// One tile of rotary.rotation_scan: per column (a, bm) of the tile, the
/// running product of its R rows over its steps from the column's carry, in
/// R·c scalars (up to kMaxUnrolledChunk², as a c ≤ 8 matrix or a GPU
/// thread's rows of a larger one) or one small product per step.
struct DecomposeRotationScan : OpRewritePattern<RotationScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RotationScanOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunkSize();
    bool unrolled =
        op.getNumRows() * c <= kMaxUnrolledChunk * kMaxUnrolledChunk;
    bool exclusive = op.getExclusive();
    Value g = op.getRotations();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value cols = dimOf(b, loc, g, 2), steps = dimOf(b, loc, g, 1);
    auto outer = scf::ForOp::create(
        b, loc, zero, dimOf(b, loc, g, 0), one,
        ValueRange{op.getPInit(), op.getCarryInit()},
        [&](OpBuilder &ab, Location l, Value a, ValueRange aIter) {
          auto inner = scf::ForOp::create(
              ab, l, zero, cols, one, aIter,
              [&](OpBuilder &cb, Location cl, Value bm, ValueRange cIter) {
                if (!unrolled) {
                  scf::YieldOp::create(
                      cb, cl,
                      scanColumnLooped(cb, cl, op, a, bm, cIter[0], cIter[1]));
                  return;
                }
                SmallVector<Value> iterInit = {cIter[0]};
                llvm::append_range(iterInit, loadMatrix(cb, cl, cIter[1],
                                                        ValueRange{a, bm}, c));
                auto scan = scf::ForOp::create(
                    cb, cl, zero, steps, one, iterInit,
                    [&](OpBuilder &sb, Location sl, Value t, ValueRange it) {
                      SmallVector<Value> cur(it.drop_front());
                      SmallVector<Value> at = {a, t, bm};
                      Value p = it[0];
                      if (exclusive)
                        p = storeMatrix(sb, sl, p, at, c, cur);
                      SmallVector<Value> next =
                          matmul(sb, sl, c, cur, loadMatrix(sb, sl, g, at, c));
                      if (!exclusive)
                        p = storeMatrix(sb, sl, p, at, c, next);
                      SmallVector<Value> yields = {p};
                      llvm::append_range(yields, next);
                      scf::YieldOp::create(sb, sl, yields);
                    });
                SmallVector<Value> total(scan.getResults().drop_front());
                scf::YieldOp::create(
                    cb, cl,
                    ValueRange{scan.getResult(0),
                               storeMatrix(cb, cl, cIter[1], ValueRange{a, bm},
                                           c, total)});
              });
          scf::YieldOp::create(ab, l, inner.getResults());
        });
    rewriter.replaceOp(op, outer.getResults());
    return success();
  }
};
} // namespace

LogicalResult hdd::splitScan(RewriterBase &rewriter, RotationScanOp op,
                             int64_t block, int64_t rows) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  rewriter.setInsertionPoint(op);
  Value g = op.getRotations();
  int64_t c = op.getChunkSize();
  if (rows <= 0 || rows >= c)
    rows = c;
  if (c % rows != 0)
    return op->emitOpError("rows per task ")
           << rows << " do not divide the chunk size " << c;
  SmallVector<OpFoldResult> s5 = tensor::getMixedSizes(b, loc, g);
  Value steps = getValueOrCreateConstantIndexOp(b, loc, s5[1]);
  Value blk = arith::ConstantIndexOp::create(b, loc, block);
  Value numBlocks = arith::CeilDivUIOp::create(b, loc, steps, blk);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               cc = b.getIndexAttr(c), rr = b.getIndexAttr(rows);
  Type f32 = b.getF32Type();

  // 1. Every block's products from the identity (exclusive or not, as the
  //    op), one task per (a, block, bm) and, when rows < c, per tile of
  //    `rows` rows of the products (rows are independent: a row of
  //    S·G_t is that row of S times G_t); a block's total is its carry.
  //    The totals start as identities, so each task's carry is computed in
  //    place in its own slice (no copy of a shared identity per task).
  SmallVector<OpFoldResult> totalSizes = {s5[0], getAsOpFoldResult(numBlocks),
                                          s5[2], cc, cc};
  SmallVector<OpFoldResult> bounds = {s5[0], getAsOpFoldResult(numBlocks),
                                      s5[2]};
  if (rows < c)
    bounds.push_back(b.getIndexAttr(c / rows));
  auto blocks = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(bounds.size(), zero), bounds,
      SmallVector<OpFoldResult>(bounds.size(), one),
      ValueRange{emptyLike(b, loc, g, f32),
                 identityF32(b, loc, totalSizes, 3, 4)},
      std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(blocks.getBody());
    Value a = blocks.getInductionVar(0), k = blocks.getInductionVar(1),
          bm = blocks.getInductionVar(2);
    OpFoldResult row0 = zero;
    if (rows < c)
      row0 = Value(arith::MulIOp::create(b, loc, blocks.getInductionVar(3),
                                         indexConst(b, loc, rows)));
    Value start = arith::MulIOp::create(b, loc, k, blk);
    Value len = arith::SubIOp::create(
        b, loc,
        arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, start, blk), steps),
        start);
    SmallVector<OpFoldResult> strides(5, one);
    auto slice = [&](Value v, ArrayRef<OpFoldResult> o,
                     ArrayRef<OpFoldResult> sz) -> Value {
      return tensor::ExtractSliceOp::create(b, loc, v, o, sz, strides);
    };
    SmallVector<OpFoldResult> gOffs = {a, start, bm, zero, zero},
                              gSizes = {one, len, one, cc, cc};
    SmallVector<OpFoldResult> offs = {a, start, bm, row0, zero},
                              sizes = {one, len, one, rr, cc};
    SmallVector<OpFoldResult> carryOffs = {a, k, bm, row0, zero},
                              carrySizes = {one, one, one, rr, cc};
    ValueRange shared = blocks.getRegionIterArgs();
    Value local = slice(shared[0], offs, sizes);
    auto carryType = RankedTensorType::get({1, 1, rows, c}, f32);
    Value carry = tensor::ExtractSliceOp::create(
        b, loc, carryType, shared[1], carryOffs, carrySizes, strides);
    auto scan = RotationScanOp::create(
        b, loc, TypeRange{local.getType(), carryType}, slice(g, gOffs, gSizes),
        local, carry, op.getExclusive());
    b.setInsertionPointToStart(blocks.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, scan.getP(), shared[0], offs,
                                          sizes, strides);
    tensor::ParallelInsertSliceOp::create(b, loc, scan.getCarry(), shared[1],
                                          carryOffs, carrySizes, strides);
  }

  // 2. The carry into each block: the exclusive scan of the totals from the
  //    op's carry, parallel over (a, bm) and tiles of rows of the carry; its
  //    carry is the op's.
  FailureOr<std::pair<Value, Value>> carries =
      blockCarries(rewriter, loc, blocks.getResult(1), op.getCarryInit(),
                   rows < op.getNumRows() ? rows : 0);
  if (failed(carries))
    return failure();
  Value carryIn = carries->first;

  // 3. P_t = carry[t floordiv block]·local_t, a batched c×c product.
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  // Loops (a, t, bm, p, q, k).
  AffineExpr blockOf = d(1).floorDiv(block);
  Value out = linalg::FillOp::create(b, loc,
                                     ValueRange{arith::ConstantOp::create(
                                         b, loc, b.getF32FloatAttr(0.0f))},
                                     ValueRange{op.getPInit()})
                  .getResult(0);
  Value p = multiplyAccumulate(
      b, loc, carryIn, blocks.getResult(0), out,
      {AffineMap::get(6, 0, {d(0), blockOf, d(2), d(3), d(5)}, ctx),
       AffineMap::get(6, 0, {d(0), d(1), d(2), d(5), d(4)}, ctx),
       AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx)});
  rewriter.replaceOp(op, {p, carries->second});
  return success();
}

LogicalResult hdd::splitLaneScan(RewriterBase &rewriter, HDDRopeLanesOp op,
                                 int64_t block, int64_t rows) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  rewriter.setInsertionPoint(op);
  int64_t c = op.getChunk();
  int64_t k = numGeneratorAngles(c);
  SOForm form = op.getForm();
  bool inverse = op.getInverse();
  if (rows <= 0 || rows >= c)
    rows = c;
  bool byRows = rows < c;
  if (c % rows != 0 || (byRows && form != SOForm::givens))
    return op->emitOpError("rows per task ")
           << rows << " must divide the chunk size " << c
           << " (and be all of it in the exp form)";
  int64_t rowTiles = c / rows;
  Type f32 = b.getF32Type();
  Value init = op.getInit();
  Type elt = cast<RankedTensorType>(init.getType()).getElementType();
  SmallVector<OpFoldResult> ys = tensor::getMixedSizes(b, loc, init);
  Value steps = getValueOrCreateConstantIndexOp(b, loc, ys[1]);
  Value lanes = b.createOrFold<arith::DivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, ys[2]),
      indexConst(b, loc, c));
  Value blk = indexConst(b, loc, block);
  Value numBlocks = arith::CeilDivUIOp::create(b, loc, steps, blk);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               cc = b.getIndexAttr(c), rr = b.getIndexAttr(rows);
  SmallVector<OpFoldResult> bounds = {ys[0], getAsOpFoldResult(numBlocks),
                                      getAsOpFoldResult(lanes)};
  if (byRows)
    bounds.push_back(b.getIndexAttr(rowTiles));
  int64_t loops = bounds.size();
  // Tokens [start, start + len) of block kb.
  auto blockOf = [&](Value kb) {
    Value start = arith::MulIOp::create(b, loc, kb, blk);
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, start, blk), steps);
    return std::pair<Value, Value>{start, end};
  };
  // The first row of a task's tile of rows.
  auto firstRow = [&](scf::ForallOp loop) -> Value {
    if (!byRows)
      return indexConst(b, loc, 0);
    return arith::MulIOp::create(b, loc, loop.getInductionVar(3),
                                 indexConst(b, loc, rows));
  };
  // By rows, cos and sin of every angle first (an elementwise op): the
  // c/R tasks of a lane and both passes read them rather than each
  // evaluating them (libdevice's range reduction in every task spilled).
  Value cosT, sinT;
  if (byRows)
    std::tie(cosT, sinT) = cosSinTables(b, loc, op.getAngles());
  // P ← P·G_t over tokens [from, to) of lane l at batch entry bi, P's
  // rows in R·c scalars; `each` (optional) sees every token and its P_t.
  auto scanTokens =
      [&](Value bi, Value l, Value from, Value to, SmallVector<Value> p,
          ValueRange carried,
          function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                          ArrayRef<Value>, ValueRange)>
              each) {
        Value lane = arith::AddIOp::create(b, loc, op.getFirstLane(), l);
        int64_t n = rows * c;
        SmallVector<Value> iterInit(p);
        llvm::append_range(iterInit, carried);
        auto loop = scf::ForOp::create(
            b, loc, from, to, indexConst(b, loc, 1), iterInit,
            [&](OpBuilder &lb, Location ll, Value t, ValueRange it) {
              SmallVector<Value> next(it.take_front(n));
              if (byRows) {
                // A few rows: turned by the step's rotations themselves,
                // each rotation's cos and sin read from the table where
                // used.
                Value first =
                    arith::MulIOp::create(lb, ll, lane, indexConst(lb, ll, k));
                applyGenerator(
                    lb, ll, c,
                    [&](int64_t q) {
                      Value at[] = {bi, t,
                                    arith::AddIOp::create(
                                        lb, ll, first, indexConst(lb, ll, q))};
                      return std::pair<Value, Value>{
                          tensor::ExtractOp::create(lb, ll, cosT, at),
                          tensor::ExtractOp::create(lb, ll, sinT, at)};
                    },
                    next);
              } else {
                SmallVector<Value> a =
                    laneFeatures(lb, ll, op.getAngles(), bi, t, lane, k);
                next = matmul(lb, ll, c, next, generator(lb, ll, c, form, a));
              }
              SmallVector<Value> yields(next);
              if (each)
                llvm::append_range(yields,
                                   each(lb, ll, t, next, it.drop_front(n)));
              scf::YieldOp::create(lb, ll, yields);
            });
        return loop.getResults();
      };

  // 1. Each block's product from the identity, its total (the task's rows
  //    of it) in place.
  SmallVector<OpFoldResult> totalSizes(bounds.begin(), bounds.begin() + 3);
  totalSizes.append({cc, cc});
  auto totals = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(loops, zero), bounds,
      SmallVector<OpFoldResult>(loops, one),
      ValueRange{emptyOf(b, loc, totalSizes, f32)}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(totals.getBody());
    Value bi = totals.getInductionVar(0), kb = totals.getInductionVar(1),
          l = totals.getInductionVar(2), row0 = firstRow(totals);
    auto [start, end] = blockOf(kb);
    ValueRange p = scanTokens(bi, l, start, end,
                              byRows ? identityRows(b, loc, c, row0, rows)
                                     : identity(b, loc, c),
                              {}, nullptr);
    Value total = storeMatrix(
        b, loc,
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{rows, c}, f32), {}, c,
        SmallVector<Value>(p));
    b.setInsertionPointToStart(totals.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, total, totals.getRegionIterArgs()[0], {bi, kb, l, row0, zero},
        {one, one, one, rr, cc}, SmallVector<OpFoldResult>(5, one));
  }

  // 2. The carry into each block, from the identity (by tiles of rows).
  FailureOr<std::pair<Value, Value>> carries = blockCarries(
      rewriter, loc, totals.getResult(0),
      identityF32(b, loc, {ys[0], getAsOpFoldResult(lanes), cc, cc}, 2, 3),
      byRows ? rows : 0);
  if (failed(carries))
    return failure();

  // 3. Each block again from its carry, y_t = P_t·x_t (P_tᵀ·x_t) written:
  //    a task's rows of y, or (P_tᵀ·x_t by rows) its rows' share of y into
  //    [B, T, L, row tiles, c] partial sums.
  Value partials;
  if (byRows && inverse)
    partials = emptyOf(
        b, loc,
        {ys[0], ys[1], getAsOpFoldResult(lanes), b.getIndexAttr(rowTiles), cc},
        f32);
  auto apply = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(loops, zero), bounds,
      SmallVector<OpFoldResult>(loops, one),
      ValueRange{partials ? partials : init}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(apply.getBody());
    Value bi = apply.getInductionVar(0), kb = apply.getInductionVar(1),
          l = apply.getInductionVar(2), row0 = firstRow(apply);
    auto [start, end] = blockOf(kb);
    Value len = arith::SubIOp::create(b, loc, end, start);
    Value col = arith::MulIOp::create(b, loc, l, indexConst(b, loc, c));
    // The task's tile of the output: [1, len, R] of y at its rows'
    // columns, or [1, len, 1, 1, c] of the partial sums.
    SmallVector<OpFoldResult> offs, sizes;
    if (partials) {
      offs = {bi, start, l, apply.getInductionVar(3), zero};
      sizes = {one, len, one, one, cc};
    } else {
      offs = {bi, start, arith::AddIOp::create(b, loc, col, row0).getResult()};
      sizes = {one, len, byRows ? rr : cc};
    }
    SmallVector<OpFoldResult> strides(offs.size(), one);
    Value tile = tensor::ExtractSliceOp::create(
        b, loc, apply.getRegionIterArgs()[0], offs, sizes, strides);
    Value carrySlice = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({1, 1, 1, rows, c}, f32), carries->first,
        SmallVector<OpFoldResult>{bi, kb, l, row0, zero},
        SmallVector<OpFoldResult>{one, one, one, rr, cc},
        SmallVector<OpFoldResult>(5, one));
    Value z = indexConst(b, loc, 0);
    SmallVector<Value> carry =
        loadMatrix(b, loc, carrySlice, ValueRange{z, z, z}, c);
    Value lane = arith::AddIOp::create(b, loc, op.getFirstLane(), l);
    ValueRange done = scanTokens(
        bi, l, start, end, carry, tile,
        [&](OpBuilder &lb, Location ll, Value t, ArrayRef<Value> pt,
            ValueRange it) -> SmallVector<Value> {
          SmallVector<Value> xv =
              laneFeatures(lb, ll, op.getX(), bi, t, lane, c);
          Value row = arith::SubIOp::create(lb, ll, t, start);
          Value out = it[0];
          auto put = [&](Value v, ArrayRef<Value> at) {
            out = tensor::InsertOp::create(
                lb, ll, partials ? v : castFloat(lb, ll, v, elt), out, at);
          };
          if (!partials) {
            // Rows of P·x (all of Pᵀ·x when the task holds all of P).
            for (int64_t r = 0; r < (byRows ? rows : c); ++r)
              put(matVecRow(lb, ll, c, pt, xv, r, inverse),
                  {z, row, indexConst(lb, ll, r)});
            return {out};
          }
          // Pᵀ·x over the task's rows: x's entries row0 + i.
          Value base = arith::AddIOp::create(
              lb, ll,
              arith::MulIOp::create(lb, ll, lane, indexConst(lb, ll, c)), row0);
          SmallVector<Value> xr;
          for (int64_t i = 0; i < rows; ++i)
            xr.push_back(toF32(
                lb, ll,
                tensor::ExtractOp::create(
                    lb, ll, op.getX(),
                    ValueRange{bi, t,
                               arith::AddIOp::create(lb, ll, base,
                                                     indexConst(lb, ll, i))})));
          for (int64_t q = 0; q < c; ++q) {
            Value acc = f32c(lb, ll, 0.0);
            for (int64_t i = 0; i < rows; ++i)
              acc = arith::AddFOp::create(
                  lb, ll, acc,
                  arith::MulFOp::create(lb, ll, pt[i * c + q], xr[i]));
            put(acc, {z, row, z, z, indexConst(lb, ll, q)});
          }
          return {out};
        });
    b.setInsertionPointToStart(apply.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, done.back(),
                                          apply.getRegionIterArgs()[0], offs,
                                          sizes, strides);
  }
  if (!partials) {
    rewriter.replaceOp(op, apply.getResults());
    return success();
  }
  // y[b, t, l·c + q] = Σ_j partials[b, t, l, j, q]; loops (b, t, l, q, j).
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<OpFoldResult> y4Sizes = {ys[0], ys[1], getAsOpFoldResult(lanes),
                                       cc};
  SmallVector<int64_t> y4Shape;
  SmallVector<Value> y4Dynamic;
  dispatchIndexOpFoldResults(y4Sizes, y4Dynamic, y4Shape);
  Value y4Init = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(y4Shape, elt), init,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}}, y4Sizes);
  Value zeros = zerosF32(b, loc, y4Sizes);
  Value sum = linalg::GenericOp::create(
                  b, loc, TypeRange{zeros.getType()},
                  ValueRange{apply.getResult(0)}, ValueRange{zeros},
                  {AffineMap::get(5, 0, {d(0), d(1), d(2), d(4), d(3)}, ctx),
                   AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx)},
                  {utils::IteratorType::parallel, utils::IteratorType::parallel,
                   utils::IteratorType::parallel, utils::IteratorType::parallel,
                   utils::IteratorType::reduction},
                  [&](OpBuilder &nb, Location l, ValueRange v) {
                    linalg::YieldOp::create(
                        nb, l, Value(arith::AddFOp::create(nb, l, v[1], v[0])));
                  })
                  .getResult(0);
  Value y4 =
      elementwise(b, loc, ValueRange{sum}, ValueRange{y4Init}, 4,
                  [&](OpBuilder &nb, Location l, ValueRange v) {
                    linalg::YieldOp::create(nb, l, castFloat(nb, l, v[0], elt));
                  })
          .getResult(0);
  Value y = tensor::CollapseShapeOp::create(
      b, loc, y4, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  if (y.getType() != init.getType())
    y = tensor::CastOp::create(b, loc, init.getType(), y);
  rewriter.replaceOp(op, y);
  return success();
}

void lowering::populateScanDecompositionPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeRotationScan>(patterns.getContext());
}
