//===- LowerChains.cpp - givens, rotation_block, orthogonal, penalty ------===//
//
// A Givens chain is sequential in its rotations but parallel in rows: x is
// viewed as [M, H, D] (H = 1 for a shared chain), and one scf.forall task per
// (tile of kChainRowTile rows, head) transposes its rows into a column-major f32
// scratch tile [D, kChainRowTile], so that a rotation updates two contiguous
// row-vectors: two vector loads, four vector ops (two FMAs), two stores, all
// in L1. cos/sin of every angle ([H, N]) and the pair table ([N, 2]: a
// constant, or computed once per call when D is dynamic) are built once per
// call, before the row loop. The transposes widen and narrow the data, so
// bf16/f16 rows are converted exactly once each way.
//
// rotation_block (SPEC §4) left unfolded by rotary-fuse-rotations runs as
// one kernel of the same shape: rope while transposing the tile in (angle
// table once per call, as for rotary.rope), the chain, then x·R on the tile
// (per output feature, a vector accumulator over D), one read of x and one
// write of y.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

/// (i, j) of rotation `k` of the round-robin schedule over `d` features.
std::pair<Value, Value> lowering::roundRobinPair(OpBuilder &b, Location loc,
                                                 Value k, Value d) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value perStage = arith::DivUIOp::create(b, loc, d, two);
  Value m = arith::SubIOp::create(b, loc, d, one);
  Value s = arith::DivUIOp::create(b, loc, k, perStage);
  Value t = arith::RemUIOp::create(b, loc, k, perStage);
  // t = 0: (s, d - 1); else ((s + t) mod m, (s - t) mod m) ordered.
  Value a =
      arith::RemUIOp::create(b, loc, arith::AddIOp::create(b, loc, s, t), m);
  Value bIdx = arith::RemUIOp::create(
      b, loc,
      arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, s, m), t), m);
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, t, zero);
  Value lo = arith::MinUIOp::create(b, loc, a, bIdx);
  Value hi = arith::MaxUIOp::create(b, loc, a, bIdx);
  return {arith::SelectOp::create(b, loc, first, s, lo),
          arith::SelectOp::create(b, loc, first, m, hi)};
}

Value lowering::chainRows(OpBuilder &b, Location loc, Value x, bool perHead) {
  if (perHead)
    return collapseLeading(b, loc, x, 2);
  Value x2 = collapseLeading(b, loc, x, 1);
  auto t2 = cast<RankedTensorType>(x2.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x2);
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({t2.getDimSize(0), 1, t2.getDimSize(1)},
                            t2.getElementType()),
      x2, SmallVector<ReassociationIndices>{{0}, {1, 2}},
      SmallVector<OpFoldResult>{sizes[0], b.getIndexAttr(1), sizes[1]});
}

Value lowering::chainUnrows(OpBuilder &b, Location loc, Value y3,
                            ArrayRef<OpFoldResult> xSizes, bool perHead,
                            Type xType) {
  Value y;
  if (perHead) {
    y = expandLeading(b, loc, y3, xSizes.drop_back(2), 2);
  } else {
    Value y2 = tensor::CollapseShapeOp::create(
        b, loc, y3, SmallVector<ReassociationIndices>{{0}, {1, 2}});
    y = expandLeading(b, loc, y2, xSizes.drop_back(1), 1);
  }
  if (y.getType() != xType)
    y = tensor::CastOp::create(b, loc, xType, y);
  return y;
}

Value lowering::chainAngles(OpBuilder &b, Location loc, Value angles) {
  auto aType = cast<RankedTensorType>(angles.getType());
  if (aType.getRank() == 2)
    return angles;
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({1, aType.getDimSize(0)}, aType.getElementType()),
      angles, SmallVector<ReassociationIndices>{{0, 1}},
      SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                tensor::getMixedSizes(b, loc, angles)[0]});
}

Value lowering::chainPairTable(OpBuilder &b, Location loc,
                               std::optional<ArrayRef<int64_t>> pairs) {
  if (!pairs)
    return Value();
  int64_t count = pairs->size() / 2;
  auto type = RankedTensorType::get({count, 2}, b.getIndexType());
  SmallVector<APInt> values;
  for (int64_t v : *pairs)
    values.push_back(APInt(64, v));
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}

std::pair<Value, Value> lowering::chainPair(OpBuilder &b, Location loc,
                                            Value table, Value k, Value d,
                                            Value c0, Value c1) {
  if (!table)
    return roundRobinPair(b, loc, k, d);
  return {tensor::ExtractOp::create(b, loc, table, ValueRange{k, c0}),
          tensor::ExtractOp::create(b, loc, table, ValueRange{k, c1})};
}

namespace {
// Rows per task (kChainRowTile, Lowering.h): one feature of the
// column-major tile is one vector<kChainRowTile x f32> (4 zmm or 8 ymm
// registers). Rows past the end of x repeat the last row, so a partial tile
// costs a full one but every lane holds finite data and no vector op needs
// a mask.
/// Larger default schedules are computed at run time rather than stored.
constexpr int64_t kMaxConstantPairs = int64_t(1) << 16;

/// What the tile loop of a chain needs, all built once per call.
struct ChainTables {
  Value pairs;      ///< [N, 2] index
  Value cos, sin;   ///< [H, N] f32, of the negated angles for `inverse`
  Value n;          ///< N
  bool inverse;
};

/// `a2` is the [H, N] angle tensor; `pairs` the op's attribute (if any).
ChainTables buildChainTables(OpBuilder &b, Location loc, Value a2,
                             std::optional<ArrayRef<int64_t>> pairs,
                             int64_t staticD, Value d, bool inverse) {
  ChainTables c;
  c.inverse = inverse;
  c.n = dimOf(b, loc, a2, 1);
  int64_t staticN = cast<RankedTensorType>(a2.getType()).getDimSize(1);
  // Pairs: the attribute, else the schedule (static D and N), else the
  // round-robin formula evaluated once per rotation at run time (dynamic D):
  // the tile loop never divides.
  SmallVector<int64_t> known;
  bool isKnown = pairs.has_value();
  if (pairs)
    known.assign(pairs->begin(), pairs->end());
  else if (!ShapedType::isDynamic(staticD) && !ShapedType::isDynamic(staticN) &&
           staticN <= kMaxConstantPairs) {
    known = roundRobinPairs(staticD, staticN);
    isKnown = true;
  }
  if (isKnown) {
    auto type = RankedTensorType::get({int64_t(known.size() / 2), 2},
                                      b.getIndexType());
    SmallVector<APInt> values;
    for (int64_t v : known)
      values.push_back(APInt(64, v));
    c.pairs = arith::ConstantOp::create(b, loc, type,
                                        DenseElementsAttr::get(type, values));
  } else {
    Value init = tensor::EmptyOp::create(
        b, loc, SmallVector<OpFoldResult>{c.n, b.getIndexAttr(2)},
        b.getIndexType());
    c.pairs = elementwise(b, loc, ValueRange{}, init, 2,
                          [&](OpBuilder &nb, Location l, ValueRange) {
                            Value k = linalg::IndexOp::create(nb, l, 0);
                            Value which = linalg::IndexOp::create(nb, l, 1);
                            auto [i, j] = roundRobinPair(nb, l, k, d);
                            Value isI = arith::CmpIOp::create(
                                nb, l, arith::CmpIPredicate::eq, which,
                                arith::ConstantIndexOp::create(nb, l, 0));
                            linalg::YieldOp::create(
                                nb, l,
                                Value(arith::SelectOp::create(nb, l, isI, i,
                                                              j)));
                          })
                  .getResult(0);
  }
  // cos/sin once per angle and head (not once per tile).
  Type f32 = b.getF32Type();
  auto tables = elementwise(
      b, loc, a2, ValueRange{emptyLike(b, loc, a2, f32), emptyLike(b, loc, a2, f32)},
      2, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value phi = args[0];
        if (inverse)
          phi = arith::NegFOp::create(nb, l, phi);
        linalg::YieldOp::create(
            nb, l,
            ValueRange{math::CosOp::create(nb, l, phi),
                       math::SinOp::create(nb, l, phi)});
      });
  c.cos = tables.getResult(0);
  c.sin = tables.getResult(1);
  return c;
}

VectorType tileVectorType(OpBuilder &b) {
  return VectorType::get({kChainRowTile}, b.getF32Type());
}

/// Feature `f` of the column-major tile `t` [D, kChainRowTile]: kChainRowTile rows.
Value readFeature(OpBuilder &b, Location loc, Value t, Value f) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  return vector::TransferReadOp::create(b, loc, tileVectorType(b), t,
                                        ValueRange{f, c0},
                                        /*padding=*/std::nullopt,
                                        ArrayRef<bool>{true});
}
Value writeFeature(OpBuilder &b, Location loc, Value v, Value t, Value f) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  return vector::TransferWriteOp::create(b, loc, v, t, ValueRange{f, c0},
                                         ArrayRef<bool>{true})
      ->getResult(0);
}

/// Full tiles with D a multiple of kBlock are transposed kBlock × kBlock at
/// a time in registers (contiguous vector loads and stores on both sides);
/// other tiles take the scalar loops.
constexpr int64_t kBlock = 16;

/// `v` (a vector of floats) converted to element type `to`.
Value castVector(OpBuilder &b, Location loc, Value v, Type to) {
  auto type = cast<VectorType>(v.getType());
  Type from = type.getElementType();
  if (from == to)
    return v;
  auto result = VectorType::get(type.getShape(), to);
  if (cast<FloatType>(from).getWidth() < cast<FloatType>(to).getWidth())
    return arith::ExtFOp::create(b, loc, result, v);
  return arith::TruncFOp::create(b, loc, result, v);
}

/// out[c][r] = in[r][c] for kBlock vectors of kBlock lanes: four stages of
/// two-input shuffles; stage h pairs rows i and i + h and swaps the h-lane
/// blocks between them.
SmallVector<Value> transposeBlock(OpBuilder &b, Location loc,
                                  SmallVector<Value> rows) {
  for (int64_t h = kBlock / 2; h >= 1; h /= 2) {
    SmallVector<int64_t> lo, hi;
    for (int64_t c = 0; c < kBlock; ++c) {
      bool low = (c & h) == 0;
      lo.push_back(low ? c : kBlock + c - h);
      hi.push_back(low ? c + h : kBlock + c);
    }
    SmallVector<Value> next(rows);
    for (int64_t i = 0; i < kBlock; ++i) {
      if (i & h)
        continue;
      next[i] = vector::ShuffleOp::create(b, loc, rows[i], rows[i + h],
                                          b.getDenseI64ArrayAttr(lo));
      next[i + h] = vector::ShuffleOp::create(b, loc, rows[i], rows[i + h],
                                              b.getDenseI64ArrayAttr(hi));
    }
    rows = std::move(next);
  }
  return rows;
}

/// Whether a tile of `rows` rows takes the block transposes: a full tile and
/// D % kBlock == 0. Null when D is static and not a multiple of kBlock.
Value blockTransposable(OpBuilder &b, Location loc, Value rows, Value d) {
  if (std::optional<int64_t> dc = getConstantIntValue(d);
      dc && *dc % kBlock != 0)
    return Value();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value full = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq, rows,
      arith::ConstantIndexOp::create(b, loc, kChainRowTile));
  Value aligned = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::RemUIOp::create(b, loc, d,
                             arith::ConstantIndexOp::create(b, loc, kBlock)),
      zero);
  return arith::AndIOp::create(b, loc, full, aligned);
}

/// A loop over feature blocks fb = 0, kBlock, .. < d carrying one tensor.
Value forFeatureBlocks(OpBuilder &b, Location loc, Value d, Value init,
                       function_ref<Value(OpBuilder &, Location, Value, Value)>
                           body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, kBlock);
  return scf::ForOp::create(
             b, loc, c0, d, step, ValueRange{init},
             [&](OpBuilder &lb, Location l, Value fb, ValueRange iter) {
               scf::YieldOp::create(lb, l, body(lb, l, fb, iter[0]));
             })
      .getResult(0);
}

/// The column-major f32 tile [D, kChainRowTile] of rows row .. row + rows − 1:
/// t[f, r] = value(m, f) with m = row + min(r, rows − 1). The loop runs r
/// outer, f inner, so x is read along its rows.
/// With `x3` (and `head`), a full tile whose values are plain x3 elements is
/// loaded by block transposes instead.
Value loadTile(OpBuilder &b, Location loc, Value d, Value row, Value rows,
               function_ref<Value(OpBuilder &, Location, Value, Value)> value,
               Value x3 = Value(), Value head = Value()) {
  MLIRContext *ctx = b.getContext();
  // A static D gives a static tile (constant strides in the chain loop).
  Value init = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{getAsOpFoldResult(d),
                                b.getIndexAttr(kChainRowTile)},
      b.getF32Type());
  AffineExpr r = getAffineDimExpr(0, ctx), f = getAffineDimExpr(1, ctx);
  auto scalarLoad = [&](OpBuilder &sb, Location sl) -> Value {
    return linalg::GenericOp::create(
               sb, sl, TypeRange{init.getType()}, ValueRange{},
               ValueRange{init},
               SmallVector<AffineMap>{AffineMap::get(2, 0, {f, r}, ctx)},
               SmallVector<utils::IteratorType>(2,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange) {
                 Value ri = linalg::IndexOp::create(nb, l, 0);
                 Value fi = linalg::IndexOp::create(nb, l, 1);
                 Value last = arith::SubIOp::create(
                     nb, l, rows, arith::ConstantIndexOp::create(nb, l, 1));
                 Value m = arith::AddIOp::create(
                     nb, l, row, arith::MinUIOp::create(nb, l, ri, last));
                 linalg::YieldOp::create(nb, l, value(nb, l, m, fi));
               })
        .getResult(0);
  };
  Value fast = x3 ? blockTransposable(b, loc, rows, d) : Value();
  if (!fast)
    return scalarLoad(b, loc);
  // Rows row + rb + k (k < kBlock) of features fb..fb+kBlock: contiguous
  // loads of x, transposed into contiguous stores of the tile.
  Type elt = cast<RankedTensorType>(x3.getType()).getElementType();
  auto blockLoad = [&](OpBuilder &fb0, Location fl) -> Value {
    return forFeatureBlocks(
        fb0, fl, d, init, [&](OpBuilder &lb, Location l, Value fb, Value t) {
          for (int64_t rb = 0; rb < kChainRowTile; rb += kBlock) {
            SmallVector<Value> rowsV;
            for (int64_t k = 0; k < kBlock; ++k) {
              Value m = arith::AddIOp::create(
                  lb, l, row,
                  arith::ConstantIndexOp::create(lb, l, rb + k));
              Value v = vector::TransferReadOp::create(
                  lb, l, VectorType::get({kBlock}, elt), x3,
                  ValueRange{m, head, fb}, /*padding=*/std::nullopt,
                  ArrayRef<bool>{true});
              rowsV.push_back(castVector(lb, l, v, lb.getF32Type()));
            }
            SmallVector<Value> cols = transposeBlock(lb, l, rowsV);
            Value r0 = arith::ConstantIndexOp::create(lb, l, rb);
            for (int64_t c = 0; c < kBlock; ++c) {
              Value feature = arith::AddIOp::create(
                  lb, l, fb, arith::ConstantIndexOp::create(lb, l, c));
              t = vector::TransferWriteOp::create(lb, l, cols[c], t,
                                                  ValueRange{feature, r0},
                                                  ArrayRef<bool>{true})
                      ->getResult(0);
            }
          }
          return t;
        });
  };
  return scf::IfOp::create(
             b, loc, fast,
             [&](OpBuilder &tb, Location tl) {
               scf::YieldOp::create(tb, tl, blockLoad(tb, tl));
             },
             [&](OpBuilder &eb, Location el) {
               scf::YieldOp::create(eb, el, scalarLoad(eb, el));
             })
      .getResult(0);
}

/// Applies the chain to the tile: per rotation, two features of kChainRowTile
/// rows each, y_i = x_i·c + x_j·s, y_j = x_j·c − x_i·s (as FMAs).
Value applyChain(OpBuilder &b, Location loc, Value t, const ChainTables &c,
                 Value angleRow) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  VectorType vt = tileVectorType(b);
  auto loop = scf::ForOp::create(
      b, loc, c0, c.n, c1, ValueRange{t},
      [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
        // Inverse: the chain reversed (the tables hold the negated angles).
        Value k = c.inverse
                      ? arith::SubIOp::create(
                            lb, l, arith::SubIOp::create(lb, l, c.n, c1), step)
                      : step;
        Value i = tensor::ExtractOp::create(lb, l, c.pairs, ValueRange{k, c0});
        Value j = tensor::ExtractOp::create(lb, l, c.pairs, ValueRange{k, c1});
        Value cs =
            tensor::ExtractOp::create(lb, l, c.cos, ValueRange{angleRow, k});
        Value sn =
            tensor::ExtractOp::create(lb, l, c.sin, ValueRange{angleRow, k});
        Value vc = vector::BroadcastOp::create(lb, l, vt, cs);
        Value vs = vector::BroadcastOp::create(lb, l, vt, sn);
        Value vns = vector::BroadcastOp::create(
            lb, l, vt, arith::NegFOp::create(lb, l, sn));
        Value xi = readFeature(lb, l, iter[0], i);
        Value xj = readFeature(lb, l, iter[0], j);
        Value yi = math::FmaOp::create(
            lb, l, xj, vs, arith::MulFOp::create(lb, l, xi, vc));
        Value yj = math::FmaOp::create(
            lb, l, xi, vns, arith::MulFOp::create(lb, l, xj, vc));
        Value next = writeFeature(lb, l, yi, iter[0], i);
        next = writeFeature(lb, l, yj, next, j);
        scf::YieldOp::create(lb, l, next);
      });
  return loop.getResult(0);
}

/// x3 [M, H, D] -> y3 [M, H, D] of element type `elt`: one scf.forall task per
/// (tile of kChainRowTile rows, head); `tile` returns the task's result as a
/// column-major f32 tile [D, kChainRowTile], which is narrowed while it is
/// transposed back into the task's rows of y3.
Value rowTileKernel(
    OpBuilder &b, Location loc, Value x3, Type elt,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> tile) {
  MLIRContext *ctx = b.getContext();
  Value m = dimOf(b, loc, x3, 0), h = dimOf(b, loc, x3, 1),
        d = dimOf(b, loc, x3, 2);
  Value out = emptyLike(b, loc, x3, elt);
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{m, h},
      SmallVector<OpFoldResult>{b.getIndexAttr(kChainRowTile), b.getIndexAttr(1)},
      ValueRange{out}, /*mapping=*/std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value row = forall.getInductionVar(0), head = forall.getInductionVar(1);
  OpFoldResult rows = tileExtent(b, loc, m, row, kChainRowTile);
  Value rowsV = getValueOrCreateConstantIndexOp(b, loc, rows);
  Value t = tile(b, loc, row, rowsV, head);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult dO = getAsOpFoldResult(d);
  SmallVector<OpFoldResult> offs = {row, head, zero};
  SmallVector<OpFoldResult> sizes = {rows, one, dO};
  SmallVector<OpFoldResult> strides = {one, one, one};
  Value yInit = emptyOf(b, loc, {rows, dO}, elt);
  AffineExpr r = getAffineDimExpr(0, ctx), f = getAffineDimExpr(1, ctx);
  // Transpose back the `rows` valid columns (the slice bounds the loops).
  auto scalarStore = [&](OpBuilder &sb, Location sl) -> Value {
    Value valid = tensor::ExtractSliceOp::create(
        sb, sl, t, SmallVector<OpFoldResult>{zero, zero},
        SmallVector<OpFoldResult>{dO, rows},
        SmallVector<OpFoldResult>{one, one});
    return linalg::GenericOp::create(
               sb, sl, TypeRange{yInit.getType()}, ValueRange{valid},
               ValueRange{yInit},
               SmallVector<AffineMap>{AffineMap::get(2, 0, {f, r}, ctx),
                                      AffineMap::get(2, 0, {r, f}, ctx)},
               SmallVector<utils::IteratorType>(2,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange a) {
                 linalg::YieldOp::create(nb, l, castFloat(nb, l, a[0], elt));
               })
        .getResult(0);
  };
  // Full tiles: features fb..fb+kBlock of rows rb..rb+kBlock, transposed in
  // registers, narrowed, stored as contiguous row pieces.
  auto blockStore = [&](OpBuilder &bb, Location bl) -> Value {
    return forFeatureBlocks(
        bb, bl, d, yInit, [&](OpBuilder &lb, Location l, Value fb, Value y) {
          for (int64_t rb = 0; rb < kChainRowTile; rb += kBlock) {
            Value r0 = arith::ConstantIndexOp::create(lb, l, rb);
            SmallVector<Value> feats;
            for (int64_t c = 0; c < kBlock; ++c) {
              Value feature = arith::AddIOp::create(
                  lb, l, fb, arith::ConstantIndexOp::create(lb, l, c));
              feats.push_back(vector::TransferReadOp::create(
                  lb, l, VectorType::get({kBlock}, lb.getF32Type()), t,
                  ValueRange{feature, r0}, /*padding=*/std::nullopt,
                  ArrayRef<bool>{true}));
            }
            SmallVector<Value> rowsOut = transposeBlock(lb, l, feats);
            for (int64_t k = 0; k < kBlock; ++k) {
              Value rk = arith::ConstantIndexOp::create(lb, l, rb + k);
              y = vector::TransferWriteOp::create(
                      lb, l, castVector(lb, l, rowsOut[k], elt), y,
                      ValueRange{rk, fb}, ArrayRef<bool>{true})
                      ->getResult(0);
            }
          }
          return y;
        });
  };
  Value y;
  if (Value fast = blockTransposable(b, loc, rowsV, d))
    y = scf::IfOp::create(
            b, loc, fast,
            [&](OpBuilder &tb, Location tl) {
              scf::YieldOp::create(tb, tl, blockStore(tb, tl));
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(eb, el, scalarStore(eb, el));
            })
            .getResult(0);
  else
    y = scalarStore(b, loc);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, y,
                                        forall.getRegionIterArgs()[0], offs,
                                        sizes, strides);
  return forall.getResult(0);
}

struct LowerGivens : OpRewritePattern<GivensOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType();
    bool perHead = cast<RankedTensorType>(op.getAngles().getType()).getRank() == 2;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value x3 = chainRows(b, loc, x, perHead);
    Value a2 = chainAngles(b, loc, op.getAngles());
    Value d = dimOf(b, loc, x3, 2);
    ChainTables chain =
        buildChainTables(b, loc, a2, op.getPairs(), xType.getShape().back(), d,
                         op.getInverse());
    Value y3 = rowTileKernel(
        b, loc, x3, elt,
        [&](OpBuilder &tb, Location l, Value row, Value rows, Value head) {
          Value t = loadTile(
              tb, l, d, row, rows,
              [&](OpBuilder &nb, Location el, Value m, Value f) {
                return toF32(nb, el,
                             tensor::ExtractOp::create(nb, el, x3,
                                                       ValueRange{m, head, f}));
              },
              x3, head);
          return applyChain(tb, l, t, chain, head);
        });
    rewriter.replaceOp(op,
                       chainUnrows(b, loc, y3, xSizes, perHead, xType));
    return success();
  }
};

/// rotation_block as one kernel per row tile: [rope while loading the tile,]
/// the chain, then x·R on the tile.
struct LowerRotationBlock : OpRewritePattern<RotationBlockOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RotationBlockOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), mat = op.getMatrix(), positions = op.getPositions();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elt = xType.getElementType();
    bool perHeadA =
        cast<RankedTensorType>(op.getAngles().getType()).getRank() == 2;
    bool perHeadR = cast<RankedTensorType>(mat.getType()).getRank() == 3;
    // With rope, x is [B, T, H, D] and rows are (b, t).
    bool headed = perHeadA || perHeadR || positions;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value x3 = chainRows(b, loc, x, headed);
    Value a2 = chainAngles(b, loc, op.getAngles());
    Value d = dimOf(b, loc, x3, 2);
    ChainTables chain = buildChainTables(
        b, loc, a2, op.getPairs(), xType.getShape().back(), d, false);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);

    // Rope: the angle table once per call, rows of the table by position.
    RopeTables rope;
    Value r, half, seqLen;
    RopeLayout layout = op.getLayout().value_or(RopeLayout::half);
    if (positions) {
      OpFoldResult rOfr = op.getRotaryDim()
                              ? OpFoldResult(b.getIndexAttr(*op.getRotaryDim()))
                              : xSizes[3];
      float base = op.getBase() ? op.getBase()->convertToFloat()
                                : RopeOp::kDefaultBase;
      rope = buildRopeTables(b, loc, positions, Value(), Value(), Value(),
                             Value(), rOfr, base, /*negate=*/false);
      // [B, T, r/2] positions give a [B·T, r/2] table indexed by the row.
      if (cast<RankedTensorType>(positions.getType()).getRank() == 2) {
        SmallVector<ReassociationIndices> re = {{0, 1}, {2}};
        rope.cos = tensor::CollapseShapeOp::create(b, loc, rope.cos, re);
        rope.sin = tensor::CollapseShapeOp::create(b, loc, rope.sin, re);
      } else {
        seqLen = dimOf(b, loc, x, 1);
      }
      r = getValueOrCreateConstantIndexOp(b, loc, rOfr);
      half = getValueOrCreateConstantIndexOp(b, loc, rope.half);
    }

    // x[m, head, f] after the rope, in f32.
    auto ropedElement = [&](OpBuilder &nb, Location l, Value m, Value head,
                            Value f) -> Value {
      auto at = [&](Value feature) {
        return toF32(nb, l,
                     tensor::ExtractOp::create(nb, l, x3,
                                               ValueRange{m, head, feature}));
      };
      if (!positions)
        return at(f);
      auto cmp = [&](arith::CmpIPredicate p, Value u, Value v) {
        return arith::CmpIOp::create(nb, l, p, u, v).getResult();
      };
      auto sel = [&](Value c, Value u, Value v) {
        return arith::SelectOp::create(nb, l, c, u, v).getResult();
      };
      auto add = [&](Value u, Value v) {
        return arith::AddIOp::create(nb, l, u, v).getResult();
      };
      auto sub = [&](Value u, Value v) {
        return arith::SubIOp::create(nb, l, u, v).getResult();
      };
      Value one = arith::ConstantIndexOp::create(nb, l, 1);
      Value two = arith::ConstantIndexOp::create(nb, l, 2);
      // Output feature f is the first or second element of pair i; `self`
      // and `partner` are where that pair's elements are read.
      Value first, i, self, partner;
      if (layout == RopeLayout::interleaved) {
        i = arith::DivUIOp::create(nb, l, f, two);
        first = cmp(arith::CmpIPredicate::eq,
                    arith::RemUIOp::create(nb, l, f, two),
                    arith::ConstantIndexOp::create(nb, l, 0));
        self = f;
        partner = sel(first, add(f, one), sub(f, one));
      } else {
        first = cmp(arith::CmpIPredicate::ult, f, half);
        i = sel(first, f, sub(f, half));
        if (layout == RopeLayout::half) {
          self = f;
          partner = sel(first, add(f, half), i);
        } else { // deinterleave: reads pairs (2i, 2i+1), writes (i, i + r/2)
          Value lo = arith::MulIOp::create(nb, l, i, two);
          Value hi = add(lo, one);
          self = sel(first, lo, hi);
          partner = sel(first, hi, lo);
        }
      }
      // Features r..D pass through (indices kept in bounds for them).
      Value rotated = cmp(arith::CmpIPredicate::ult, f, r);
      Value zeroI = arith::ConstantIndexOp::create(nb, l, 0);
      i = sel(rotated, i, zeroI);
      self = sel(rotated, self, f);
      partner = sel(rotated, partner, f);
      Value p = seqLen ? Value(arith::RemUIOp::create(nb, l, m, seqLen)) : m;
      Value cs = tensor::ExtractOp::create(nb, l, rope.cos, ValueRange{p, i});
      Value sn = tensor::ExtractOp::create(nb, l, rope.sin, ValueRange{p, i});
      Value a = at(self), pv = at(partner);
      // First of a pair: a·c − b·s; second: b·c + a·s.
      Value signedS = sel(first, arith::NegFOp::create(nb, l, sn), sn);
      Value y = arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, a, cs),
                                      arith::MulFOp::create(nb, l, pv, signedS));
      return sel(rotated, y, a);
    };

    VectorType vt = tileVectorType(b);
    Value y3 = rowTileKernel(
        b, loc, x3, elt,
        [&](OpBuilder &tb, Location l, Value row, Value rows, Value head) {
          // Without rope the values are plain x elements: block loads.
          Value t = loadTile(
              tb, l, d, row, rows,
              [&](OpBuilder &nb, Location el, Value m, Value f) {
                return ropedElement(nb, el, m, head, f);
              },
              positions ? Value() : x3, head);
          t = applyChain(tb, l, t, chain, perHeadA ? head : c0);
          // y[:, e] = Σ_f t[f, :]·R[f, e]: one vector accumulator per e,
          // summed over f in order.
          Value yInit = tensor::EmptyOp::create(
              tb, l,
              SmallVector<OpFoldResult>{getAsOpFoldResult(d),
                                        tb.getIndexAttr(kChainRowTile)},
              tb.getF32Type());
          Value zeros = arith::ConstantOp::create(
              tb, l, vt, DenseElementsAttr::get(vt, 0.0f));
          auto outer = scf::ForOp::create(
              tb, l, c0, d, c1, ValueRange{yInit},
              [&](OpBuilder &ob, Location ol, Value e, ValueRange yIter) {
                auto inner = scf::ForOp::create(
                    ob, ol, c0, d, c1, ValueRange{zeros},
                    [&](OpBuilder &ib, Location il, Value f,
                        ValueRange acc) {
                      SmallVector<Value> idx;
                      if (perHeadR)
                        idx.push_back(head);
                      idx.append({f, e});
                      Value rfe = toF32(
                          ib, il, tensor::ExtractOp::create(ib, il, mat, idx));
                      Value next = math::FmaOp::create(
                          ib, il, readFeature(ib, il, t, f),
                          vector::BroadcastOp::create(ib, il, vt, rfe), acc[0]);
                      scf::YieldOp::create(ib, il, next);
                    });
                scf::YieldOp::create(
                    ob, ol,
                    writeFeature(ob, ol, inner.getResult(0), yIter[0], e));
              });
          return outer.getResult(0);
        });
    rewriter.replaceOp(op, chainUnrows(b, loc, y3, xSizes, headed, xType));
    return success();
  }
};

/// y = x·R (or x·Rᵀ) as an f32 contraction, per head when R is [H, D, E].
/// Loops (m, [h,] d, e): the output dim innermost, contiguous in R and y,
/// so LLVM vectorises it as y_row += x[d]·R_row; with d innermost the sum
/// would live in memory, one scalar add and store per term. x·Rᵀ
/// transposes R first (D·E elements against M·D·E multiply-adds).
struct LowerOrthogonal : OpRewritePattern<OrthogonalOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getX(), mat = op.getMatrix();
    auto xType = cast<RankedTensorType>(x.getType());
    auto rType = cast<RankedTensorType>(op.getType());
    auto mType = cast<RankedTensorType>(mat.getType());
    bool perHead = mType.getRank() == 3;
    int64_t keep = perHead ? 2 : 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value xc = collapseLeading(b, loc, x, keep);
    if (op.getTranspose()) {
      SmallVector<int64_t> perm =
          perHead ? SmallVector<int64_t>{0, 2, 1} : SmallVector<int64_t>{1, 0};
      SmallVector<OpFoldResult> in = tensor::getMixedSizes(b, loc, mat), sizes;
      for (int64_t p : perm)
        sizes.push_back(in[p]);
      mat = linalg::TransposeOp::create(
                b, loc, mat, emptyOf(b, loc, sizes, mType.getElementType()),
                perm)
                ->getResult(0);
    }
    SmallVector<OpFoldResult> matSizes = tensor::getMixedSizes(b, loc, mat);
    SmallVector<OpFoldResult> accSizes = {tensor::getMixedSizes(b, loc, xc)[0]};
    if (perHead)
      accSizes.push_back(matSizes[0]);
    accSizes.push_back(matSizes.back());
    Value acc = zerosF32(b, loc, accSizes);

    // Loops: (m, [h,] d, e) with d reduced.
    int64_t loops = perHead ? 4 : 3;
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    AffineExpr mE = dim(0), hE = dim(1), dE = dim(loops - 2),
               eE = dim(loops - 1);
    SmallVector<AffineExpr> xMap = {mE}, rMap, oMap = {mE};
    if (perHead) {
      xMap.push_back(hE);
      rMap.push_back(hE);
      oMap.push_back(hE);
    }
    xMap.push_back(dE);
    rMap.append({dE, eE});
    oMap.push_back(eE);
    SmallVector<utils::IteratorType> iters(loops,
                                           utils::IteratorType::parallel);
    iters[loops - 2] = utils::IteratorType::reduction;
    auto contraction = linalg::GenericOp::create(
        b, loc, TypeRange{acc.getType()}, ValueRange{xc, mat}, ValueRange{acc},
        SmallVector<AffineMap>{AffineMap::get(loops, 0, xMap, ctx),
                               AffineMap::get(loops, 0, rMap, ctx),
                               AffineMap::get(loops, 0, oMap, ctx)},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                             toF32(nb, l, a[1]));
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
        });
    Value y = contraction.getResult(0);
    y = convertTensor(b, loc, y, xType.getElementType());
    y = expandLeading(b, loc, y, ArrayRef(xSizes).drop_back(keep), keep);
    if (y.getType() != rType)
      y = tensor::CastOp::create(b, loc, rType, y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// ‖RᵀR − I‖²: a Gram contraction, then a full reduction.
struct LowerPenalty : OpRewritePattern<OrthogonalityPenaltyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalityPenaltyOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value r = op.getMatrix();
    if (cast<RankedTensorType>(r.getType()).getRank() == 2)
      r = collapseLeading(b, loc, r, 2); // [1, D, E]
    SmallVector<OpFoldResult> rs = tensor::getMixedSizes(b, loc, r);
    Value gram = zerosF32(b, loc, {rs[0], rs[2], rs[2]});
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // (h, e1, e2, d): G[h, e1, e2] += R[h, d, e1]·R[h, d, e2].
    auto g = linalg::GenericOp::create(
        b, loc, TypeRange{gram.getType()}, ValueRange{r, r}, ValueRange{gram},
        SmallVector<AffineMap>{
            AffineMap::get(4, 0, {dim(0), dim(3), dim(1)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, ctx),
            AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, ctx)},
        SmallVector<utils::IteratorType>{
            utils::IteratorType::parallel, utils::IteratorType::parallel,
            utils::IteratorType::parallel, utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                             toF32(nb, l, a[1]));
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
        });
    Value sum = zerosF32(b, loc, {});
    SmallVector<utils::IteratorType> red(3, utils::IteratorType::reduction);
    auto total = linalg::GenericOp::create(
        b, loc, TypeRange{sum.getType()}, ValueRange{g.getResult(0)},
        ValueRange{sum},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx),
                               AffineMap::get(3, 0, {}, ctx)},
        red, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value e1 = linalg::IndexOp::create(nb, l, 1);
          Value e2 = linalg::IndexOp::create(nb, l, 2);
          Value diag =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, e1, e2);
          Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1));
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          Value delta = arith::SelectOp::create(nb, l, diag, one, zero);
          Value diff = arith::SubFOp::create(nb, l, a[0], delta);
          Value sq = arith::MulFOp::create(nb, l, diff, diff);
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, a[1], sq)));
        });
    rewriter.replaceOp(op, total.getResult(0));
    return success();
  }
};
} // namespace

void lowering::populateChainPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerGivens, LowerRotationBlock, LowerOrthogonal, LowerPenalty>(
      patterns.getContext());
}
