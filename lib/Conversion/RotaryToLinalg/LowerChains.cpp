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

#include <variant>

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

Value lowering::contractRows(OpBuilder &b, Location loc, Value x, Value mat,
                             bool perHead, Value into) {
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x),
                            ms = tensor::getMixedSizes(b, loc, mat);
  SmallVector<OpFoldResult> accSizes = {xs[0]};
  if (perHead)
    accSizes.push_back(ms[0]);
  accSizes.push_back(ms.back());
  Value acc =
      into
          ? linalg::FillOp::create(b, loc, f32c(b, loc, 0.0), into).getResult(0)
          : zerosF32(b, loc, accSizes);
  return accumulateRows(b, loc, x, mat, acc, perHead);
}

Value lowering::accumulateRows(OpBuilder &b, Location loc, Value x, Value mat,
                               Value acc, bool perHead) {
  MLIRContext *ctx = b.getContext();
  // Loops (m, [h,] d, e) with d reduced: the output dim innermost,
  // contiguous in R and y.
  int64_t loops = perHead ? 4 : 3;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineExpr mE = dim(0), hE = dim(1), dE = dim(loops - 2), eE = dim(loops - 1);
  SmallVector<AffineExpr> xMap = {mE}, rMap, oMap = {mE};
  if (perHead) {
    xMap.push_back(hE);
    rMap.push_back(hE);
    oMap.push_back(hE);
  }
  xMap.push_back(dE);
  rMap.append({dE, eE});
  oMap.push_back(eE);
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters[loops - 2] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{x, mat},
             ValueRange{acc},
             SmallVector<AffineMap>{AffineMap::get(loops, 0, xMap, ctx),
                                    AffineMap::get(loops, 0, rMap, ctx),
                                    AffineMap::get(loops, 0, oMap, ctx)},
             iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                                  toF32(nb, l, a[1]));
               linalg::YieldOp::create(
                   nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
             })
      .getResult(0);
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

/// A loop over blocks k = 0, kBlock, .. < end carrying one tensor.
Value forBlocks(OpBuilder &b, Location loc, Value end, Value init,
                function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, kBlock);
  return scf::ForOp::create(
             b, loc, c0, end, step, ValueRange{init},
             [&](OpBuilder &lb, Location l, Value k, ValueRange iter) {
               scf::YieldOp::create(lb, l, body(lb, l, k, iter[0]));
             })
      .getResult(0);
}

/// Feature blocks fb of a D-wide row.
Value forFeatureBlocks(
    OpBuilder &b, Location loc, Value d, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  return forBlocks(b, loc, d, init, body);
}

/// Row blocks r0 of a tile (a loop rather than unrolled: the block
/// transposes are large, and one copy keeps the IR, and the compile time,
/// small).
Value forRowBlocks(
    OpBuilder &b, Location loc, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  return forBlocks(b, loc,
                   arith::ConstantIndexOp::create(b, loc, kChainRowTile), init,
                   body);
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
          return forRowBlocks(
              lb, l, t, [&](OpBuilder &rbb, Location rl, Value r0, Value t) {
                Value base = arith::AddIOp::create(rbb, rl, row, r0);
                SmallVector<Value> rowsV;
                for (int64_t k = 0; k < kBlock; ++k) {
                  Value m = arith::AddIOp::create(
                      rbb, rl, base,
                      arith::ConstantIndexOp::create(rbb, rl, k));
                  Value v = vector::TransferReadOp::create(
                      rbb, rl, VectorType::get({kBlock}, elt), x3,
                      ValueRange{m, head, fb}, /*padding=*/std::nullopt,
                      ArrayRef<bool>{true});
                  rowsV.push_back(castVector(rbb, rl, v, rbb.getF32Type()));
                }
                SmallVector<Value> cols = transposeBlock(rbb, rl, rowsV);
                for (int64_t c = 0; c < kBlock; ++c) {
                  Value feature = arith::AddIOp::create(
                      rbb, rl, fb, arith::ConstantIndexOp::create(rbb, rl, c));
                  t = vector::TransferWriteOp::create(rbb, rl, cols[c], t,
                                                      ValueRange{feature, r0},
                                                      ArrayRef<bool>{true})
                          ->getResult(0);
                }
                return t;
              });
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

/// x3 [M, H, D] -> y3 [M, H, D] of element type `elt` (written into `dest`
/// when given): one scf.forall task per
/// (tile of kChainRowTile rows, head); `tile` returns the task's result as a
/// column-major f32 tile [D, kChainRowTile], which is narrowed while it is
/// transposed back into the task's rows of y3.
Value rowTileKernel(
    OpBuilder &b, Location loc, Value x3, Type elt,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> tile,
    Value dest = Value()) {
  MLIRContext *ctx = b.getContext();
  Value m = dimOf(b, loc, x3, 0), h = dimOf(b, loc, x3, 1),
        d = dimOf(b, loc, x3, 2);
  Value out = dest ? dest : emptyLike(b, loc, x3, elt);
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
  // Each branch below writes a tensor.empty of its own: with one shared by
  // both, empty-tensor elimination can turn only one of them into the
  // output slice, and which one depended on pointer order (the compiler's
  // output changed from run to run).
  auto yInit = [&](OpBuilder &eb, Location el) {
    return emptyOf(eb, el, {rows, dO}, elt);
  };
  AffineExpr r = getAffineDimExpr(0, ctx), f = getAffineDimExpr(1, ctx);
  // Transpose back the `rows` valid columns (the slice bounds the loops).
  auto scalarStore = [&](OpBuilder &sb, Location sl) -> Value {
    Value valid = tensor::ExtractSliceOp::create(
        sb, sl, t, SmallVector<OpFoldResult>{zero, zero},
        SmallVector<OpFoldResult>{dO, rows},
        SmallVector<OpFoldResult>{one, one});
    Value init = yInit(sb, sl);
    return linalg::GenericOp::create(
               sb, sl, TypeRange{init.getType()}, ValueRange{valid},
               ValueRange{init},
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
        bb, bl, d, yInit(bb, bl),
        [&](OpBuilder &lb, Location l, Value fb, Value y) {
          return forRowBlocks(
              lb, l, y, [&](OpBuilder &rbb, Location rl, Value r0, Value y) {
                SmallVector<Value> feats;
                for (int64_t c = 0; c < kBlock; ++c) {
                  Value feature = arith::AddIOp::create(
                      rbb, rl, fb, arith::ConstantIndexOp::create(rbb, rl, c));
                  feats.push_back(vector::TransferReadOp::create(
                      rbb, rl, VectorType::get({kBlock}, rbb.getF32Type()), t,
                      ValueRange{feature, r0}, /*padding=*/std::nullopt,
                      ArrayRef<bool>{true}));
                }
                SmallVector<Value> rowsOut = transposeBlock(rbb, rl, feats);
                for (int64_t k = 0; k < kBlock; ++k) {
                  Value rk = arith::AddIOp::create(
                      rbb, rl, r0, arith::ConstantIndexOp::create(rbb, rl, k));
                  y = vector::TransferWriteOp::create(
                          rbb, rl, castVector(rbb, rl, rowsOut[k], elt), y,
                          ValueRange{rk, fb}, ArrayRef<bool>{true})
                          ->getResult(0);
                }
                return y;
              });
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

/// `v` with its dims permuted by `perm` (linalg.transpose).
Value permuted(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm) {
  SmallVector<OpFoldResult> in = tensor::getMixedSizes(b, loc, v), sizes;
  for (int64_t p : perm)
    sizes.push_back(in[p]);
  Type elt = cast<RankedTensorType>(v.getType()).getElementType();
  return linalg::TransposeOp::create(b, loc, v, emptyOf(b, loc, sizes, elt),
                                     perm)
      ->getResult(0);
}

/// The chain folded into matrices: q3 [D, Hq, D] f32 with q3[d, h, :] =
/// e_d·G_1⋯G_N, the chain of head h applied to row d of the identity, i.e.
/// row d of Q_h (Hq = the heads of the angles). The identity is generated
/// inside the tile loader, never stored.
Value foldChainRows(OpBuilder &b, Location loc, const ChainTables &chain,
                    Value heads, Value d) {
  Type f32 = b.getF32Type();
  Value shape = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{getAsOpFoldResult(d), getAsOpFoldResult(heads),
                                getAsOpFoldResult(d)},
      f32);
  return rowTileKernel(
      b, loc, shape, f32,
      [&](OpBuilder &tb, Location l, Value row, Value rows, Value head) {
        Value t = loadTile(
            tb, l, d, row, rows,
            [&](OpBuilder &nb, Location el, Value m, Value f) {
              Value diag =
                  arith::CmpIOp::create(nb, el, arith::CmpIPredicate::eq, m, f);
              return arith::SelectOp::create(nb, el, diag, f32c(nb, el, 1.0),
                                             f32c(nb, el, 0.0))
                  .getResult();
            });
        return applyChain(tb, l, t, chain, head);
      });
}

/// Flop counts over sizes that are constants (no IR) when static, index
/// values otherwise (sizes of real tensors keep them far below 2^63).
struct FlopCounter {
  OpBuilder &b;
  Location loc;
  OpFoldResult c(int64_t v) { return b.getIndexAttr(v); }
  OpFoldResult mul(OpFoldResult x, OpFoldResult y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    if (cx && cy)
      return b.getIndexAttr(*cx * *cy);
    return arith::MulIOp::create(b, loc,
                                 getValueOrCreateConstantIndexOp(b, loc, x),
                                 getValueOrCreateConstantIndexOp(b, loc, y))
        .getResult();
  }
  OpFoldResult add(OpFoldResult x, OpFoldResult y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    if (cx && cy)
      return b.getIndexAttr(*cx + *cy);
    return arith::AddIOp::create(b, loc,
                                 getValueOrCreateConstantIndexOp(b, loc, x),
                                 getValueOrCreateConstantIndexOp(b, loc, y))
        .getResult();
  }
};

/// Whether to fold: the strategy when it is not auto, else the cheaper
/// form by the flop counts `costs` returns as (chain, fold) — a constant
/// when the sizes are static, else an i1 computed at run time.
std::variant<bool, Value>
chooseFold(OpBuilder &b, Location loc, ChainStrategy strategy,
           function_ref<std::pair<OpFoldResult, OpFoldResult>()> costs) {
  if (strategy != ChainStrategy::Auto)
    return strategy == ChainStrategy::Fold;
  auto [chainFlops, foldFlops] = costs();
  std::optional<int64_t> c = getConstantIntValue(chainFlops),
                         f = getConstantIntValue(foldFlops);
  if (c && f)
    return *f < *c;
  return arith::CmpIOp::create(
             b, loc, arith::CmpIPredicate::ult,
             getValueOrCreateConstantIndexOp(b, loc, foldFlops),
             getValueOrCreateConstantIndexOp(b, loc, chainFlops))
      .getResult();
}

/// `dest` when the contraction can accumulate into it (f32), else null.
Value f32Into(Value dest) {
  return dest && cast<RankedTensorType>(dest.getType()).getElementType().isF32()
             ? dest
             : Value();
}

/// Runs `fold` or `chain` (each building y at the builder's point, with the
/// sizes of `like` and element type `elt`, computing into the destination
/// it is given, if any, where it can) as `choice` says: one of them when it
/// is a constant, else both under an scf.if. Both branches compute into that
/// one destination, so the scf.if result bufferizes to one identity-layout
/// buffer (branches yielding different buffers would get a fully dynamic
/// layout, which the reshapes after it cannot take).
Value foldOrChain(OpBuilder &b, Location loc, std::variant<bool, Value> choice,
                  Value like, Type elt,
                  function_ref<Value(OpBuilder &, Location, Value)> fold,
                  function_ref<Value(OpBuilder &, Location, Value)> chain) {
  if (auto *constant = std::get_if<bool>(&choice))
    return *constant ? fold(b, loc, Value()) : chain(b, loc, Value());
  Value out = emptyLike(b, loc, like, elt);
  Type type = out.getType();
  // Built after creation (not in body callbacks), so that the nested ops
  // are inside a function while they are built (affine folding walks up).
  auto ifOp =
      scf::IfOp::create(b, loc, TypeRange{type}, std::get<Value>(choice),
                        /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  for (auto [block, build] : {std::pair{ifOp.thenBlock(), fold},
                              std::pair{ifOp.elseBlock(), chain}}) {
    b.setInsertionPointToStart(block);
    scf::YieldOp::create(b, loc, castTo(b, loc, build(b, loc, out), type));
  }
  return ifOp.getResult(0);
}

struct LowerGivens : OpRewritePattern<GivensOp> {
  LowerGivens(MLIRContext *ctx, ChainStrategy strategy)
      : OpRewritePattern(ctx), strategy(strategy) {}

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
    // Per head and row: chain 6·N; fold 2·D² plus 6·N·D per head for Q.
    auto costs = [&]() -> std::pair<OpFoldResult, OpFoldResult> {
      SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(b, loc, x3);
      OpFoldResult n = getAsOpFoldResult(chain.n);
      FlopCounter f{b, loc};
      OpFoldResult rows = f.mul(s3[0], s3[1]);
      return {f.mul(rows, f.mul(f.c(6), n)),
              f.add(f.mul(s3[1], f.mul(f.c(6), f.mul(n, s3[2]))),
                    f.mul(rows, f.mul(f.c(2), f.mul(s3[2], s3[2]))))};
    };
    Value y3 = foldOrChain(
        b, loc, chooseFold(b, loc, strategy, costs), x3, elt,
        [&](OpBuilder &fb, Location l, Value dest) {
          // y = x·Q, Q [H, D, D] from the rows of Q.
          Value h = dimOf(fb, l, x3, 1);
          Value q =
              permuted(fb, l, foldChainRows(fb, l, chain, h, d), {1, 0, 2});
          return convertTensor(
              fb, l, contractRows(fb, l, x3, q, true, f32Into(dest)), elt);
        },
        [&](OpBuilder &cb, Location l, Value dest) {
          return rowTileKernel(
              cb, l, x3, elt,
              [&](OpBuilder &tb, Location tl, Value row, Value rows,
                  Value head) {
                Value t = loadTile(
                    tb, tl, d, row, rows,
                    [&](OpBuilder &nb, Location el, Value r, Value f) {
                      return toF32(nb, el,
                                   tensor::ExtractOp::create(
                                       nb, el, x3, ValueRange{r, head, f}));
                    },
                    x3, head);
                return applyChain(tb, tl, t, chain, head);
              },
              dest);
        });
    rewriter.replaceOp(op,
                       chainUnrows(b, loc, y3, xSizes, perHead, xType));
    return success();
  }

  ChainStrategy strategy;
};

/// rotation_block as one kernel per row tile: [rope while loading the tile,]
/// the chain, then x·R on the tile.
struct LowerRotationBlock : OpRewritePattern<RotationBlockOp> {
  LowerRotationBlock(MLIRContext *ctx, ChainStrategy strategy)
      : OpRewritePattern(ctx), strategy(strategy) {}

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

    auto chainKernel = [&](OpBuilder &b, Location loc, Value dest) -> Value {
      VectorType vt = tileVectorType(b);
      return rowTileKernel(
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
                      [&](OpBuilder &ib, Location il, Value f, ValueRange acc) {
                        SmallVector<Value> idx;
                        if (perHeadR)
                          idx.push_back(head);
                        idx.append({f, e});
                        Value rfe =
                            toF32(ib, il,
                                  tensor::ExtractOp::create(ib, il, mat, idx));
                        Value next = math::FmaOp::create(
                            ib, il, readFeature(ib, il, t, f),
                            vector::BroadcastOp::create(ib, il, vt, rfe),
                            acc[0]);
                        scf::YieldOp::create(ib, il, next);
                      });
                  scf::YieldOp::create(
                      ob, ol,
                      writeFeature(ob, ol, inner.getResult(0), yIter[0], e));
                });
            return outer.getResult(0);
          },
          dest);
    };

    // Per row: chain 6·N + 2·D² (x·R on the tile), fold 2·D²; the fold
    // adds 6·N·D per head of the angles (Q) and 2·D³ per head of Q·R.
    auto costs = [&]() -> std::pair<OpFoldResult, OpFoldResult> {
      SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(b, loc, x3);
      OpFoldResult n = getAsOpFoldResult(chain.n), dd = s3[2];
      OpFoldResult one = b.getIndexAttr(1);
      OpFoldResult ha = perHeadA ? s3[1] : one;
      OpFoldResult hqr = perHeadA || perHeadR ? s3[1] : one;
      FlopCounter f{b, loc};
      OpFoldResult rows = f.mul(s3[0], s3[1]), d2 = f.mul(dd, dd);
      return {f.mul(rows, f.add(f.mul(f.c(6), n), f.mul(f.c(2), d2))),
              f.add(f.add(f.mul(ha, f.mul(f.c(6), f.mul(n, dd))),
                          f.mul(hqr, f.mul(f.c(2), f.mul(d2, dd)))),
                    f.mul(rows, f.mul(f.c(2), d2)))};
    };
    auto foldKernel = [&](OpBuilder &b, Location loc, Value dest) -> Value {
      Value m = dimOf(b, loc, x3, 0), h = dimOf(b, loc, x3, 1);
      Value headsA = perHeadA ? h : arith::ConstantIndexOp::create(b, loc, 1);
      Value q3 = foldChainRows(b, loc, chain, headsA, d); // [D, Ha, D]
      // Q·R per head ([H, D, E]) or shared ([D, E]).
      Value qr;
      if (perHeadR) {
        if (!perHeadA) {
          Value q2 = tensor::CollapseShapeOp::create(
              b, loc, q3, SmallVector<ReassociationIndices>{{0, 1}, {2}});
          Value init = emptyOf(b, loc,
                               {getAsOpFoldResult(d), getAsOpFoldResult(h),
                                getAsOpFoldResult(d)},
                               b.getF32Type());
          q3 = linalg::BroadcastOp::create(b, loc, q2, init,
                                           ArrayRef<int64_t>{1})
                   ->getResult(0);
        }
        qr = permuted(b, loc, contractRows(b, loc, q3, mat, true), {1, 0, 2});
      } else {
        Value q2 = tensor::CollapseShapeOp::create(
            b, loc, q3, SmallVector<ReassociationIndices>{{0, 1}, {2}});
        qr = contractRows(b, loc, q2, mat, false); // [D·Ha, E]
        if (perHeadA) {
          SmallVector<OpFoldResult> sizes = {
              getAsOpFoldResult(d), getAsOpFoldResult(h), getAsOpFoldResult(d)};
          SmallVector<int64_t> shape;
          for (OpFoldResult size : sizes)
            shape.push_back(
                getConstantIntValue(size).value_or(ShapedType::kDynamic));
          qr = permuted(
              b, loc,
              tensor::ExpandShapeOp::create(
                  b, loc, RankedTensorType::get(shape, b.getF32Type()), qr,
                  SmallVector<ReassociationIndices>{{0, 1}, {2}}, sizes),
              {1, 0, 2});
        }
      }
      // The rows after the rope: rotary.rope itself (lowered by its own
      // pattern, one vectorised pass), on x widened to f32 so that the
      // contraction reads what the fused kernel would have kept in f32.
      Value xr = x3;
      if (positions) {
        Value xf = convertTensor(b, loc, x, b.getF32Type());
        Value roped = RopeOp::create(
            b, loc, xf.getType(), xf, positions, /*inv_freq=*/Value(),
            /*phase=*/Value(), /*scale=*/Value(), /*runtime_base=*/Value(),
            RopeLayoutAttr::get(b.getContext(), layout), op.getRotaryDimAttr(),
            op.getBaseAttr(), /*inverse=*/nullptr);
        xr = chainRows(b, loc, roped, headed);
      }
      Value y, into = f32Into(dest);
      if (cast<RankedTensorType>(qr.getType()).getRank() == 3) {
        y = contractRows(b, loc, xr, qr, true, into);
      } else {
        SmallVector<ReassociationIndices> re = {{0, 1}, {2}};
        Value xr2 = tensor::CollapseShapeOp::create(b, loc, xr, re);
        if (into)
          into = tensor::CollapseShapeOp::create(b, loc, into, re);
        Value y2 = contractRows(b, loc, xr2, qr, false, into);
        y = tensor::ExpandShapeOp::create(
            b, loc,
            RankedTensorType::get(
                cast<RankedTensorType>(x3.getType()).getShape(),
                b.getF32Type()),
            y2, re,
            SmallVector<OpFoldResult>{getAsOpFoldResult(m),
                                      getAsOpFoldResult(h),
                                      getAsOpFoldResult(d)});
      }
      return convertTensor(b, loc, y, elt);
    };
    Value y3 = foldOrChain(b, loc, chooseFold(b, loc, strategy, costs), x3, elt,
                           foldKernel, chainKernel);
    rewriter.replaceOp(op, chainUnrows(b, loc, y3, xSizes, headed, xType));
    return success();
  }

  ChainStrategy strategy;
};

/// y = x·R (or x·Rᵀ) as an f32 contraction (contractRows), per head when R
/// is [H, D, E]. x·Rᵀ transposes R first (D·E elements against M·D·E
/// multiply-adds), so the output dim stays contiguous in the right operand.
struct LowerOrthogonal : OpRewritePattern<OrthogonalOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(OrthogonalOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x = op.getX(), mat = op.getMatrix();
    auto xType = cast<RankedTensorType>(x.getType());
    auto rType = cast<RankedTensorType>(op.getType());
    auto mType = cast<RankedTensorType>(mat.getType());
    bool perHead = mType.getRank() == 3;
    int64_t keep = perHead ? 2 : 1;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value xc = collapseLeading(b, loc, x, keep);
    if (op.getTranspose())
      mat = permuted(b, loc, mat,
                     perHead ? ArrayRef<int64_t>{0, 2, 1}
                             : ArrayRef<int64_t>{1, 0});
    Value y = contractRows(b, loc, xc, mat, perHead);
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

void lowering::populateChainPatterns(RewritePatternSet &patterns,
                                     ChainStrategy chains) {
  patterns.add<LowerGivens, LowerRotationBlock>(patterns.getContext(), chains);
  patterns.add<LowerOrthogonal, LowerPenalty>(patterns.getContext());
}
