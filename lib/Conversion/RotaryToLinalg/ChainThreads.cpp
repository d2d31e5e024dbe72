//===- ChainThreads.cpp - Givens chain tiles as a thread per row ----------===//
//
// The GPU's decomposition of a rotary.givens_rows tile, recorded as
// {rows = W, row_threads = 1}: the tile's rows, widened to f32, are
// transposed into a column-major buffer [D, W + 1] (a block's shared
// memory once mapped; the column of padding puts the features of one
// row, which the load and store steps walk in consecutive threads, on
// distinct banks); each row then runs the whole chain in a thread of its
// own, a sequential loop over the rotations reading and writing its
// column (consecutive threads, consecutive rows: distinct banks again;
// the chain is sequential because any two rotations may share a feature);
// with a matrix, y = t·R, a thread per output element; then the rows are
// written back, narrowed. Global memory is read and written along the
// features, so consecutive threads touch consecutive addresses.
//
// Its gradient's, {rows = W, row_threads = 1, steps = C}: the x and ȳ
// rows in two such tiles (stacked [2, D, W + 1]), the chain forward on the
// x tile, then walked
// back in chunks of C rotations, each row's thread writing its terms of
// ψ̄ into a [C, W + 1] tile that a thread per rotation then sums over the
// rows, in f64, into the group's partial sums.
//
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
/// (r, f) -> (f, r): a group's row r and feature f in its column-major
/// tile, for a generic over the rows and features.
AffineMap swapped(MLIRContext *ctx) {
  return AffineMap::get(
      2, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(0, ctx)}, ctx);
}

/// t[f, r] = x3[r0 + r, head, f] in f32, into `tile` [D, rows]; iterated
/// with f fastest (x read along its rows).
Value loadRows(OpBuilder &b, Location loc, Value x3, const RowGroup &g,
               Value tile) {
  MLIRContext *ctx = b.getContext();
  return linalg::GenericOp::create(
             b, loc, TypeRange{tile.getType()}, ValueRange{}, ValueRange{tile},
             SmallVector<AffineMap>{swapped(ctx)},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange) {
               Value r = arith::AddIOp::create(
                   nb, l, g.r0, linalg::IndexOp::create(nb, l, 0));
               Value f = linalg::IndexOp::create(nb, l, 1);
               linalg::YieldOp::create(
                   nb, l,
                   toF32(nb, l,
                         tensor::ExtractOp::create(nb, l, x3,
                                                   ValueRange{r, g.head, f})));
             })
      .getResult(0);
}

/// The offsets, sizes and strides of column `r` of a column-major tile,
/// its first `length` features.
struct ColumnSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
ColumnSlice columnAt(OpBuilder &b, Value r, OpFoldResult length) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return {{zero, r}, {length, one}, {one, one}};
}
/// Column `r` of both planes of a stack of two tiles [2, D, W + 1].
ColumnSlice pairColumnAt(OpBuilder &b, Value r, OpFoldResult length) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return {{zero, zero, r}, {b.getIndexAttr(2), length, one}, {one, one, one}};
}
/// Column `c` of `tile` as a tensor of rank `rank` (1: one column; 2: a
/// column of each plane, [2, D]).
Value extractColumn(OpBuilder &b, Location loc, Value tile,
                    const ColumnSlice &c, unsigned rank = 1) {
  auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      rank, cast<RankedTensorType>(tile.getType()), c.sizes);
  return tensor::ExtractSliceOp::create(b, loc, type, tile, c.offsets, c.sizes,
                                        c.strides);
}
/// `column` back into `tile` at `c`, from the thread of an scf.forall.
void insertColumn(OpBuilder &b, Location loc, scf::ForallOp forall,
                  Value column, Value tile, const ColumnSlice &c) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, column, tile, c.offsets,
                                        c.sizes, c.strides);
}

/// A group's column-major f32 tile [D, rows] in a buffer [D, W + 1] of its
/// own (an alloc_tensor: two tiles' empty tensors would be merged by CSE,
/// and bufferization would then copy one of them into an unpadded buffer).
Value paddedTile(OpBuilder &b, Location loc, OpFoldResult d, int64_t width,
                 OpFoldResult rows) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  dispatchIndexOpFoldResult(d, dynamic, shape);
  shape.push_back(width + 1);
  Value padded = bufferization::AllocTensorOp::create(
      b, loc, RankedTensorType::get(shape, b.getF32Type()), dynamic);
  return tensor::ExtractSliceOp::create(
      b, loc, padded, SmallVector<OpFoldResult>{zero, zero},
      SmallVector<OpFoldResult>{d, rows}, SmallVector<OpFoldResult>{one, one});
}

/// A group's x and ȳ tiles, stacked: [2, D, W + 1]. One value carries both
/// through the gradient's row threads, so that the x plane, undone in
/// place, is never a dead result of them (which canonicalization would
/// drop, leaving each thread a private copy of its column).
Value pairedTiles(OpBuilder &b, Location loc, OpFoldResult d, int64_t width) {
  SmallVector<int64_t> shape = {2};
  SmallVector<Value> dynamic;
  dispatchIndexOpFoldResult(d, dynamic, shape);
  shape.push_back(width + 1);
  return bufferization::AllocTensorOp::create(
      b, loc, RankedTensorType::get(shape, b.getF32Type()), dynamic);
}
/// The offsets, sizes and strides of plane `plane`'s [D, rows] tile.
struct PlaneSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
PlaneSlice planeAt(OpBuilder &b, int64_t plane, OpFoldResult d,
                   OpFoldResult rows) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return {{b.getIndexAttr(plane), zero, zero}, {one, d, rows}, {one, one, one}};
}
Value extractPlane(OpBuilder &b, Location loc, Value tiles,
                   const PlaneSlice &p) {
  auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      2, cast<RankedTensorType>(tiles.getType()), p.sizes);
  return tensor::ExtractSliceOp::create(b, loc, type, tiles, p.offsets, p.sizes,
                                        p.strides);
}
Value insertPlane(OpBuilder &b, Location loc, Value tile, Value tiles,
                  const PlaneSlice &p) {
  return tensor::InsertSliceOp::create(b, loc, tile, tiles, p.offsets, p.sizes,
                                       p.strides);
}

/// The chain on every column of `tile` [D, rows]: a thread per row (an
/// scf.forall), the rotations in order (reversed with `reverse`).
Value chainColumns(OpBuilder &b, Location loc, const ChainOperands &tables,
                   Value tile, OpFoldResult rows, Value angleRow) {
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value n = dimOf(b, loc, tables.cos, 1);
  OpFoldResult d = tensor::getMixedSizes(b, loc, tile)[0];
  auto forall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{rows},
                            ValueRange{tile}, /*mapping=*/std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  ColumnSlice slice = columnAt(b, forall.getInductionVars()[0], d);
  Value shared = forall.getRegionIterArgs()[0];
  Value column = extractColumn(b, loc, shared, slice);
  column = scf::ForOp::create(
               b, loc, c0, n, c1, ValueRange{column},
               [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
                 ChainRotation g =
                     chainRotation(lb, l, tables, step, angleRow, n, c0, c1);
                 Value cs = toF32(lb, l, g.cos), sn = toF32(lb, l, g.sin);
                 Value xi = tensor::ExtractOp::create(lb, l, iter[0], g.i);
                 Value xj = tensor::ExtractOp::create(lb, l, iter[0], g.j);
                 auto [yi, yj] = rotatePair(lb, l, xi, xj, cs, sn,
                                            arith::NegFOp::create(lb, l, sn));
                 Value next = tensor::InsertOp::create(lb, l, yi, iter[0], g.i);
                 next = tensor::InsertOp::create(lb, l, yj, next, g.j);
                 scf::YieldOp::create(lb, l, next);
               })
               .getResult(0);
  insertColumn(b, loc, forall, column, shared, slice);
  return forall.getResult(0);
}

/// Rows r0 .. r0 + rows − 1 of head `head` of `dest` [M, H, D] written from
/// `source` (read through `sourceMap` from (row, feature)), narrowed to
/// `elt`, iterated with the feature fastest.
Value storeRows(OpBuilder &b, Location loc, Value source, AffineMap sourceMap,
                Value dest, const RowGroup &g, OpFoldResult d, Type elt) {
  MLIRContext *ctx = b.getContext();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> offsets = {g.r0, g.head, zero},
                            sizes = {getAsOpFoldResult(g.rows), one, d},
                            strides = {one, one, one};
  auto rowsType = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      2, cast<RankedTensorType>(dest.getType()), sizes);
  Value out = tensor::ExtractSliceOp::create(b, loc, rowsType, dest, offsets,
                                             sizes, strides);
  out =
      linalg::GenericOp::create(
          b, loc, TypeRange{out.getType()}, ValueRange{source}, ValueRange{out},
          SmallVector<AffineMap>{sourceMap,
                                 AffineMap::getMultiDimIdentityMap(2, ctx)},
          SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            linalg::YieldOp::create(nb, l, castFloat(nb, l, a[0], elt));
          })
          .getResult(0);
  return tensor::InsertSliceOp::create(b, loc, out, dest, offsets, sizes,
                                       strides);
}

/// y = t·R per row (t [D, rows] column-major, R [D, D] or the head's of
/// [H, D, D]), in f32, as [rows, D]: a thread per output element summing
/// over the features.
Value mixRows(OpBuilder &b, Location loc, Value tile, Value matrix,
              Value head) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> ts = tensor::getMixedSizes(b, loc, tile);
  if (cast<RankedTensorType>(matrix.getType()).getRank() == 3) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> ms = tensor::getMixedSizes(b, loc, matrix);
    SmallVector<OpFoldResult> offsets = {head, zero, zero},
                              sizes = {one, ms[1], ms[2]},
                              strides = {one, one, one};
    auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
        2, cast<RankedTensorType>(matrix.getType()), sizes);
    matrix = tensor::ExtractSliceOp::create(b, loc, type, matrix, offsets,
                                            sizes, strides);
  }
  AffineExpr r = getAffineDimExpr(0, ctx), e = getAffineDimExpr(1, ctx),
             f = getAffineDimExpr(2, ctx);
  Value acc = zerosF32(b, loc, {ts[1], ts[0]});
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{tile, matrix},
             ValueRange{acc},
             SmallVector<AffineMap>{AffineMap::get(3, 0, {f, r}, ctx),
                                    AffineMap::get(3, 0, {f, e}, ctx),
                                    AffineMap::get(3, 0, {r, e}, ctx)},
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::parallel,
                                              utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l,
                   Value(math::FmaOp::create(nb, l, a[0], toF32(nb, l, a[1]),
                                             a[2])));
             })
      .getResult(0);
}

/// A tile of rotary.givens_rows as a thread per row (see the file comment).
struct DecomposeGivensRowThreads : OpRewritePattern<GivensRowsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensRowsOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasTile(op, "row_threads"))
      return failure();
    FailureOr<int64_t> width = chainRowsPerGroup(op);
    if (failed(width))
      return failure();
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x3 = op.getX();
    Type elt = getElementTypeOrSelf(op.getInit().getType());
    OpFoldResult d = tensor::getMixedSizes(b, loc, x3)[2];
    // A shared chain reads row 0 of its tables.
    Value sharedRow = op.perHeadAngles() ? Value() : indexConst(b, loc, 0);
    SmallVector<Value> y = forEachRowGroup(
        b, loc, x3, *width, op.getInit(),
        [&](const RowGroup &g, ValueRange dests) {
          Value angleRow = sharedRow ? sharedRow : g.head;
          OpFoldResult rows = getAsOpFoldResult(g.rows);
          Value tile =
              loadRows(b, loc, x3, g, paddedTile(b, loc, d, *width, rows));
          tile = chainColumns(b, loc, operandsOf(op), tile, rows, angleRow);
          // The rows to write: the tile read transposed, or t·R.
          if (Value matrix = op.getMatrix())
            return SmallVector<Value>{
                storeRows(b, loc, mixRows(b, loc, tile, matrix, g.head),
                          AffineMap::getMultiDimIdentityMap(2, ctx), dests[0],
                          g, d, elt)};
          return SmallVector<Value>{
              storeRows(b, loc, tile, swapped(ctx), dests[0], g, d, elt)};
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// One chunk of the backward walk of a row's chain, in the thread of row
/// `r`: application steps hi − 1 down to lo (count = hi − lo) undo
/// themselves on the primal column, turn the gradient column by Gᵀ and
/// write their term of ψ̄ into the row's column of `terms`, at the
/// rotation's index k minus `kLo`.
struct GradChunk {
  Value hi, count, kLo;
};
void chainGradColumns(OpBuilder &b, Location loc, const ChainOperands &tables,
                      scf::ForallOp forall, const GradChunk &chunk,
                      Value angleRow, OpFoldResult d) {
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value n = dimOf(b, loc, tables.cos, 1);
  Value r = forall.getInductionVars()[0];
  // The row's x and ȳ columns as one [2, D] value: two values both views
  // of the stacked tiles would alias, and bufferization would copy one.
  ColumnSlice pair = pairColumnAt(b, r, d);
  ColumnSlice term = columnAt(b, r, getAsOpFoldResult(chunk.count));
  ValueRange shared = forall.getRegionIterArgs();
  SmallVector<Value> columns = {extractColumn(b, loc, shared[0], pair, 2),
                                extractColumn(b, loc, shared[1], term)};
  auto walk = scf::ForOp::create(
      b, loc, c0, chunk.count, c1, columns,
      [&](OpBuilder &lb, Location l, Value s, ValueRange it) {
        auto mul = [&](Value p, Value q) {
          return arith::MulFOp::create(lb, l, p, q).getResult();
        };
        Value step = arith::SubIOp::create(
            lb, l, arith::SubIOp::create(lb, l, chunk.hi, c1), s);
        ChainRotation g =
            chainRotation(lb, l, tables, step, angleRow, n, c0, c1);
        Value cs = toF32(lb, l, g.cos), sn = toF32(lb, l, g.sin);
        Value nsn = arith::NegFOp::create(lb, l, sn);
        // Feature f of the x (plane 0) or ȳ (plane 1) column.
        auto at = [&](Value plane, Value f) {
          return SmallVector<Value, 2>{plane, f};
        };
        Value yi = tensor::ExtractOp::create(lb, l, it[0], at(c0, g.i));
        Value yj = tensor::ExtractOp::create(lb, l, it[0], at(c0, g.j));
        // (a, b) before this rotation: G is orthogonal.
        auto [a, bv] = rotatePair(lb, l, yi, yj, cs, nsn, sn);
        Value gi = tensor::ExtractOp::create(lb, l, it[0], at(c1, g.i));
        Value gj = tensor::ExtractOp::create(lb, l, it[0], at(c1, g.j));
        // ψ̄_k's term: ḡ_i·(b·cos − a·sin) − ḡ_j·(a·cos + b·sin).
        Value di = arith::SubFOp::create(lb, l, mul(bv, cs), mul(a, sn));
        Value dj = arith::AddFOp::create(lb, l, mul(a, cs), mul(bv, sn));
        Value t = arith::SubFOp::create(lb, l, mul(gi, di), mul(gj, dj));
        auto [ga, gb] = rotatePair(lb, l, gi, gj, cs, nsn, sn);
        Value cols = tensor::InsertOp::create(lb, l, a, it[0], at(c0, g.i));
        cols = tensor::InsertOp::create(lb, l, bv, cols, at(c0, g.j));
        cols = tensor::InsertOp::create(lb, l, ga, cols, at(c1, g.i));
        cols = tensor::InsertOp::create(lb, l, gb, cols, at(c1, g.j));
        Value slot = arith::SubIOp::create(lb, l, g.k, chunk.kLo);
        Value terms = tensor::InsertOp::create(lb, l, t, it[1], slot);
        scf::YieldOp::create(lb, l, ValueRange{cols, terms});
      });
  insertColumn(b, loc, forall, walk.getResult(0), shared[0], pair);
  insertColumn(b, loc, forall, walk.getResult(1), shared[1], term);
}

/// acc[c] += Σ_r terms[c, r] in f64, c < count, r < rows: a thread per
/// rotation summing over the group's rows.
Value sumTerms(OpBuilder &b, Location loc, Value terms, Value acc,
               OpFoldResult count, OpFoldResult rows) {
  MLIRContext *ctx = b.getContext();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Value used = tensor::ExtractSliceOp::create(
      b, loc, terms, SmallVector<OpFoldResult>{zero, zero},
      SmallVector<OpFoldResult>{count, rows},
      SmallVector<OpFoldResult>{one, one});
  AffineExpr c = getAffineDimExpr(0, ctx), r = getAffineDimExpr(1, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{used},
             ValueRange{acc},
             SmallVector<AffineMap>{AffineMap::get(2, 0, {c, r}, ctx),
                                    AffineMap::get(2, 0, {c}, ctx)},
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value term = castFloat(nb, l, a[0], nb.getF64Type());
               linalg::YieldOp::create(
                   nb, l, Value(arith::AddFOp::create(nb, l, a[1], term)));
             })
      .getResult(0);
}

/// A tile of rotary.givens_rows_grad as a thread per row, recorded as
/// {rows = W, row_threads = 1, steps = C}: per head, the group's x and ȳ
/// rows into padded column-major f32 tiles (as in the forward), the chain
/// forward on the x tile, then backwards in chunks of C rotations: each
/// row's thread walks the chunk, writing its terms of ψ̄ into a [C, W + 1]
/// tile, and a thread per rotation adds the chunk's terms over the rows to
/// the head's row of ψ̄ (the tile's partial sums). x̄ is the gradient tile,
/// written back as the forward writes y.
struct DecomposeGivensRowGradThreads : OpRewritePattern<GivensRowsGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensRowsGradOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasTile(op, "row_threads"))
      return failure();
    FailureOr<int64_t> width = chainRowsPerGroup(op);
    FailureOr<SmallVector<int64_t>> steps = recordedTiles(
        op, {"steps"}, "rotations per chunk", "{steps = C} with C > 0");
    if (failed(width) || failed(steps))
      return failure();
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x3 = op.getX();
    Type elt = getElementTypeOrSelf(op.getDxInit().getType());
    OpFoldResult d = tensor::getMixedSizes(b, loc, x3)[2];
    OpFoldResult one = b.getIndexAttr(1);
    ChainOperands tables = operandsOf(op);
    Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
    Value chunkSize = indexConst(b, loc, steps->front());
    Value n = dimOf(b, loc, op.getCos(), 1);
    Value chunks = arith::CeilDivUIOp::create(b, loc, n, chunkSize);
    SmallVector<Value> results = forEachRowGroup(
        b, loc, x3, *width, op.getDpsInits(),
        [&](const RowGroup &g, ValueRange dests) {
          OpFoldResult rows = getAsOpFoldResult(g.rows);
          PlaneSlice primal = planeAt(b, 0, d, rows),
                     gradient = planeAt(b, 1, d, rows);
          Value tiles = pairedTiles(b, loc, d, *width);
          tiles = insertPlane(
              b, loc,
              loadRows(b, loc, x3, g, extractPlane(b, loc, tiles, primal)),
              tiles, primal);
          tiles = insertPlane(b, loc,
                              loadRows(b, loc, op.getDy(), g,
                                       extractPlane(b, loc, tiles, gradient)),
                              tiles, gradient);
          tiles = insertPlane(b, loc,
                              chainColumns(b, loc, tables,
                                           extractPlane(b, loc, tiles, primal),
                                           rows, g.head),
                              tiles, primal);
          Value terms = emptyOf(
              b, loc,
              {b.getIndexAttr(steps->front()), b.getIndexAttr(*width + 1)},
              b.getF32Type());
          auto loop = scf::ForOp::create(
              b, loc, c0, chunks, c1, ValueRange{tiles, terms, dests[1]},
              [&](OpBuilder &lb, Location l, Value j, ValueRange it) {
                // Application steps [lo, hi), rotations [kLo, kLo + count).
                GradChunk chunk;
                chunk.hi = arith::SubIOp::create(
                    lb, l, n, arith::MulIOp::create(lb, l, j, chunkSize));
                Value lo = arith::MaxSIOp::create(
                    lb, l, arith::SubIOp::create(lb, l, chunk.hi, chunkSize),
                    c0);
                chunk.count = arith::SubIOp::create(lb, l, chunk.hi, lo);
                chunk.kLo = tables.reverse
                                ? arith::SubIOp::create(lb, l, n, chunk.hi)
                                : lo;
                auto forall = scf::ForallOp::create(
                    lb, l, ArrayRef<OpFoldResult>{rows}, it.take_front(2),
                    /*mapping=*/std::nullopt);
                {
                  OpBuilder::InsertionGuard guard(lb);
                  lb.setInsertionPoint(forall.getTerminator());
                  chainGradColumns(lb, l, tables, forall, chunk, g.head, d);
                }
                // The head's ψ̄ at the chunk's rotations.
                SmallVector<OpFoldResult> offsets = {g.head, chunk.kLo},
                                          sizes = {one, getAsOpFoldResult(
                                                            chunk.count)},
                                          strides = {one, one};
                auto accType =
                    tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
                        1, cast<RankedTensorType>(it[2].getType()), sizes);
                Value acc = tensor::ExtractSliceOp::create(
                    lb, l, accType, it[2], offsets, sizes, strides);
                acc = sumTerms(lb, l, forall.getResult(1), acc,
                               getAsOpFoldResult(chunk.count), rows);
                Value da = tensor::InsertSliceOp::create(
                    lb, l, acc, it[2], offsets, sizes, strides);
                scf::YieldOp::create(
                    lb, l,
                    ValueRange{forall.getResult(0), forall.getResult(1), da});
              });
          Value gt = extractPlane(b, loc, loop.getResult(0), gradient);
          return SmallVector<Value>{
              storeRows(b, loc, gt, swapped(ctx), dests[0], g, d, elt),
              loop.getResult(2)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

void lowering::populateChainThreadPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeGivensRowThreads, DecomposeGivensRowGradThreads>(
      patterns.getContext());
}
