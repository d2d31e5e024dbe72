//===- ChainThreads.cpp - a Givens chain tile as a thread per row ---------===//
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
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

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

/// The chain on every column of `tile` [D, rows]: a thread per row (an
/// scf.forall), the rotations in order (reversed with `reverse`).
Value chainColumns(OpBuilder &b, Location loc, GivensRowsOp op, Value tile,
                   OpFoldResult rows, Value angleRow) {
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value n = dimOf(b, loc, op.getCos(), 1);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult d = tensor::getMixedSizes(b, loc, tile)[0];
  auto forall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{rows},
                            ValueRange{tile}, /*mapping=*/std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value r = forall.getInductionVars()[0];
  Value shared = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets = {zero, r}, sizes = {d, one},
                            strides = {one, one};
  auto columnType = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      1, cast<RankedTensorType>(shared.getType()), sizes);
  Value column = tensor::ExtractSliceOp::create(b, loc, columnType, shared,
                                                offsets, sizes, strides);
  column = scf::ForOp::create(
               b, loc, c0, n, c1, ValueRange{column},
               [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
                 ChainRotation g =
                     chainRotation(lb, l, op, step, angleRow, n, c0, c1);
                 Value xi = tensor::ExtractOp::create(lb, l, iter[0], g.i);
                 Value xj = tensor::ExtractOp::create(lb, l, iter[0], g.j);
                 auto [yi, yj] =
                     rotatePair(lb, l, xi, xj, g.cos, g.sin,
                                arith::NegFOp::create(lb, l, g.sin));
                 Value next = tensor::InsertOp::create(lb, l, yi, iter[0], g.i);
                 next = tensor::InsertOp::create(lb, l, yj, next, g.j);
                 scf::YieldOp::create(lb, l, next);
               })
               .getResult(0);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, column, shared, offsets, sizes,
                                        strides);
  return forall.getResult(0);
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
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    // A shared chain reads row 0 of its tables.
    Value sharedRow = op.perHeadAngles() ? Value() : indexConst(b, loc, 0);
    SmallVector<Value> y = forEachRowGroup(
        b, loc, x3, *width, op.getInit(),
        [&](const RowGroup &g, ValueRange dests) {
          Value angleRow = sharedRow ? sharedRow : g.head;
          OpFoldResult rows = getAsOpFoldResult(g.rows);
          // [D, W + 1], of which the group uses [D, rows].
          Value padded =
              emptyOf(b, loc, {d, b.getIndexAttr(*width + 1)}, b.getF32Type());
          Value tile = tensor::ExtractSliceOp::create(
              b, loc, padded, SmallVector<OpFoldResult>{zero, zero},
              SmallVector<OpFoldResult>{d, rows},
              SmallVector<OpFoldResult>{one, one});
          tile = loadRows(b, loc, x3, g, tile);
          tile = chainColumns(b, loc, op, tile, rows, angleRow);
          // The rows to write: the tile read transposed, or t·R.
          Value source = tile;
          AffineMap sourceMap = swapped(ctx);
          if (Value matrix = op.getMatrix()) {
            source = mixRows(b, loc, tile, matrix, g.head);
            sourceMap = AffineMap::getMultiDimIdentityMap(2, ctx);
          }
          SmallVector<OpFoldResult> offsets = {g.r0, g.head, zero},
                                    sizes = {rows, one, d},
                                    strides = {one, one, one};
          auto rowsType =
              tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
                  2, cast<RankedTensorType>(dests[0].getType()), sizes);
          Value out = tensor::ExtractSliceOp::create(b, loc, rowsType, dests[0],
                                                     offsets, sizes, strides);
          out =
              linalg::GenericOp::create(
                  b, loc, TypeRange{out.getType()}, ValueRange{source},
                  ValueRange{out},
                  SmallVector<AffineMap>{
                      sourceMap, AffineMap::getMultiDimIdentityMap(2, ctx)},
                  SmallVector<utils::IteratorType>(
                      2, utils::IteratorType::parallel),
                  [&](OpBuilder &nb, Location l, ValueRange a) {
                    linalg::YieldOp::create(nb, l, castFloat(nb, l, a[0], elt));
                  })
                  .getResult(0);
          return SmallVector<Value>{tensor::InsertSliceOp::create(
              b, loc, out, dests[0], offsets, sizes, strides)};
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};
} // namespace

void lowering::populateChainThreadPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeGivensRowThreads>(patterns.getContext());
}
