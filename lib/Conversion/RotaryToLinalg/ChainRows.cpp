//===- ChainRows.cpp - decomposition of the Givens chains over rows -------===//
//
// A Givens chain is sequential in its rotations and parallel in rows. A
// block of rotary.givens_rows is walked per head, in groups of W rows (W =
// the `rows` its target's schedule recorded): the group is transposed (and
// widened) into a column-major f32 tile [D, W], so that a rotation updates
// two contiguous vector<W x f32>: two loads, four vector ops (two FMAs),
// two stores, all in L1. With a matrix, y = t·R is one vector accumulator
// per output feature. The tile is transposed (and narrowed) back into the
// block. Rows past the end of a group repeat its last row, so a partial
// group costs a full one but every lane holds finite data and no vector op
// needs a mask.
//
// A block of rotary.givens_rows_grad keeps its groups in f64 (thousands of
// rotations are undone without drift) in scalar row loops that LLVM
// vectorises, and adds each group's angle gradient into the block's ψ̄.
//
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
/// Full groups with D a multiple of kBlock are transposed kBlock × kBlock at
/// a time in registers (contiguous vector loads and stores on both sides);
/// other groups take the scalar loops.
constexpr int64_t kBlock = 16;

/// What every step of one block's decomposition needs.
struct ChainTile {
  int64_t width; ///< W: rows per group, the length of a feature vector
  Value d;       ///< D
  VectorType vector() const {
    return VectorType::get({width}, Float32Type::get(d.getContext()));
  }
};

/// Feature `f` of the column-major tile `t` [D, W]: W rows.
Value readFeature(OpBuilder &b, Location loc, const ChainTile &tile, Value t,
                  Value f) {
  return vector::TransferReadOp::create(
      b, loc, tile.vector(), t, ValueRange{f, indexConst(b, loc, 0)},
      /*padding=*/std::nullopt, ArrayRef<bool>{true});
}
Value writeFeature(OpBuilder &b, Location loc, Value v, Value t, Value f) {
  return vector::TransferWriteOp::create(b, loc, v, t,
                                         ValueRange{f, indexConst(b, loc, 0)},
                                         ArrayRef<bool>{true})
      ->getResult(0);
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

/// Whether a group of `rows` rows takes the block transposes: a full group
/// and D % kBlock == 0 (known when D is static). Null when that can never
/// hold (W or a static D not a multiple of kBlock).
Value blockTransposable(OpBuilder &b, Location loc, const ChainTile &tile,
                        Value rows) {
  std::optional<int64_t> dc = getConstantIntValue(tile.d);
  if (tile.width % kBlock != 0 || (dc && *dc % kBlock != 0))
    return Value();
  Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rows,
                                     indexConst(b, loc, tile.width));
  if (dc)
    return full;
  Value aligned = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::RemUIOp::create(b, loc, tile.d, indexConst(b, loc, kBlock)),
      indexConst(b, loc, 0));
  return arith::AndIOp::create(b, loc, full, aligned);
}

/// A loop over blocks k = 0, kBlock, .. < end carrying one tensor (a loop
/// rather than unrolled: the block transposes are large, and one copy
/// keeps the IR, and the compile time, small).
Value forBlocks(OpBuilder &b, Location loc, OpFoldResult end, Value init,
                function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  return scf::ForOp::create(
             b, loc, indexConst(b, loc, 0),
             getValueOrCreateConstantIndexOp(b, loc, end),
             indexConst(b, loc, kBlock), ValueRange{init},
             [&](OpBuilder &lb, Location l, Value k, ValueRange iter) {
               scf::YieldOp::create(lb, l, body(lb, l, k, iter[0]));
             })
      .getResult(0);
}

/// `v` when `fast` is null, else scf.if fast { blocks } else { scalar }.
Value fastOrScalar(OpBuilder &b, Location loc, Value fast,
                   function_ref<Value(OpBuilder &, Location)> blocks,
                   function_ref<Value(OpBuilder &, Location)> scalar) {
  if (!fast)
    return scalar(b, loc);
  return scf::IfOp::create(
             b, loc, fast,
             [&](OpBuilder &tb, Location tl) {
               scf::YieldOp::create(tb, tl, blocks(tb, tl));
             },
             [&](OpBuilder &eb, Location el) {
               scf::YieldOp::create(eb, el, scalar(eb, el));
             })
      .getResult(0);
}

/// The column-major f32 tile [D, W] of rows r0 .. r0 + rows − 1 of head
/// `head` of x3 [M, H, D]: t[f, r] = x3[r0 + min(r, rows − 1), head, f].
/// The scalar loop runs r outer, f inner, so x is read along its rows.
Value loadTile(OpBuilder &b, Location loc, const ChainTile &tile, Value x3,
               Value head, Value r0, Value rows) {
  MLIRContext *ctx = b.getContext();
  // A static D gives a static tile (constant strides in the chain loop).
  Value init =
      emptyOf(b, loc, {getAsOpFoldResult(tile.d), b.getIndexAttr(tile.width)},
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
                 Value last =
                     arith::SubIOp::create(nb, l, rows, indexConst(nb, l, 1));
                 Value m = arith::AddIOp::create(
                     nb, l, r0, arith::MinUIOp::create(nb, l, ri, last));
                 linalg::YieldOp::create(
                     nb, l,
                     toF32(nb, l,
                           tensor::ExtractOp::create(nb, l, x3,
                                                     ValueRange{m, head, fi})));
               })
        .getResult(0);
  };
  // Rows r0 + rb + k (k < kBlock) of features fb..fb+kBlock: contiguous
  // loads of x, transposed into contiguous stores of the tile.
  Type elt = cast<RankedTensorType>(x3.getType()).getElementType();
  auto blockLoad = [&](OpBuilder &fb0, Location fl) -> Value {
    return forBlocks(
        fb0, fl, tile.d, init,
        [&](OpBuilder &lb, Location l, Value fb, Value t) {
          return forBlocks(
              lb, l, lb.getIndexAttr(tile.width), t,
              [&](OpBuilder &rbb, Location rl, Value rb, Value t) {
                Value base = arith::AddIOp::create(rbb, rl, r0, rb);
                SmallVector<Value> rowsV;
                for (int64_t k = 0; k < kBlock; ++k) {
                  Value m = arith::AddIOp::create(rbb, rl, base,
                                                  indexConst(rbb, rl, k));
                  Value v = vector::TransferReadOp::create(
                      rbb, rl, VectorType::get({kBlock}, elt), x3,
                      ValueRange{m, head, fb}, /*padding=*/std::nullopt,
                      ArrayRef<bool>{true});
                  rowsV.push_back(castFloat(rbb, rl, v, rbb.getF32Type()));
                }
                SmallVector<Value> cols = transposeBlock(rbb, rl, rowsV);
                for (int64_t c = 0; c < kBlock; ++c) {
                  Value feature = arith::AddIOp::create(rbb, rl, fb,
                                                        indexConst(rbb, rl, c));
                  t = vector::TransferWriteOp::create(rbb, rl, cols[c], t,
                                                      ValueRange{feature, rb},
                                                      ArrayRef<bool>{true})
                          ->getResult(0);
                }
                return t;
              });
        });
  };
  return fastOrScalar(b, loc, blockTransposable(b, loc, tile, rows), blockLoad,
                      scalarLoad);
}

/// The chain on the tile: per rotation k (last to first with `reverse`),
/// two features of W rows each, y_i = x_i·c + x_j·s, y_j = x_j·c − x_i·s
/// (as FMAs), with c, s from row `angleRow` of the tables.
Value applyChain(OpBuilder &b, Location loc, const ChainTile &tile, Value t,
                 GivensRowsOp op, Value angleRow) {
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value n = dimOf(b, loc, op.getCos(), 1);
  VectorType vt = tile.vector();
  return scf::ForOp::create(
             b, loc, c0, n, c1, ValueRange{t},
             [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
               ChainRotation g = chainRotation(lb, l, operandsOf(op), step,
                                               angleRow, n, c0, c1);
               Value vc = vector::BroadcastOp::create(lb, l, vt, g.cos);
               Value vs = vector::BroadcastOp::create(lb, l, vt, g.sin);
               Value vns = vector::BroadcastOp::create(
                   lb, l, vt, arith::NegFOp::create(lb, l, g.sin));
               Value xi = readFeature(lb, l, tile, iter[0], g.i);
               Value xj = readFeature(lb, l, tile, iter[0], g.j);
               auto [yi, yj] = rotatePair(lb, l, xi, xj, vc, vs, vns);
               Value next = writeFeature(lb, l, yi, iter[0], g.i);
               scf::YieldOp::create(lb, l, writeFeature(lb, l, yj, next, g.j));
             })
      .getResult(0);
}

/// y[:, e] = Σ_f t[f, :]·R[(head,) f, e]: one vector accumulator per e,
/// summed over f in order, into a new tile.
Value mixTile(OpBuilder &b, Location loc, const ChainTile &tile, Value t,
              Value matrix, Value head) {
  bool perHead = cast<RankedTensorType>(matrix.getType()).getRank() == 3;
  VectorType vt = tile.vector();
  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value yInit =
      emptyOf(b, loc, {getAsOpFoldResult(tile.d), b.getIndexAttr(tile.width)},
              b.getF32Type());
  Value zeros =
      arith::ConstantOp::create(b, loc, vt, DenseElementsAttr::get(vt, 0.0f));
  return scf::ForOp::create(
             b, loc, c0, tile.d, c1, ValueRange{yInit},
             [&](OpBuilder &ob, Location ol, Value e, ValueRange yIter) {
               auto inner = scf::ForOp::create(
                   ob, ol, c0, tile.d, c1, ValueRange{zeros},
                   [&](OpBuilder &ib, Location il, Value f, ValueRange acc) {
                     SmallVector<Value> idx;
                     if (perHead)
                       idx.push_back(head);
                     idx.append({f, e});
                     Value rfe =
                         toF32(ib, il,
                               tensor::ExtractOp::create(ib, il, matrix, idx));
                     scf::YieldOp::create(
                         ib, il,
                         Value(math::FmaOp::create(
                             ib, il, readFeature(ib, il, tile, t, f),
                             vector::BroadcastOp::create(ib, il, vt, rfe),
                             acc[0])));
                   });
               scf::YieldOp::create(
                   ob, ol,
                   writeFeature(ob, ol, inner.getResult(0), yIter[0], e));
             })
      .getResult(0);
}

/// The tile's `rows` valid columns, transposed (and narrowed to the block's
/// element type) into rows r0 .. r0 + rows − 1 of head `head` of `y3`.
Value storeTile(OpBuilder &b, Location loc, const ChainTile &tile, Value t,
                Value y3, Value head, Value r0, Value rows) {
  MLIRContext *ctx = b.getContext();
  Type elt = cast<RankedTensorType>(y3.getType()).getElementType();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult dO = getAsOpFoldResult(tile.d), rowsO = getAsOpFoldResult(rows);
  // Each branch writes a tensor.empty of its own: with one shared by both,
  // empty-tensor elimination can turn only one of them into the block's
  // slice, and which one depended on pointer order (the compiler's output
  // changed from run to run).
  auto yInit = [&](OpBuilder &eb, Location el) {
    return emptyOf(eb, el, {rowsO, dO}, elt);
  };
  AffineExpr r = getAffineDimExpr(0, ctx), f = getAffineDimExpr(1, ctx);
  auto scalarStore = [&](OpBuilder &sb, Location sl) -> Value {
    Value valid = tensor::ExtractSliceOp::create(
        sb, sl, t, SmallVector<OpFoldResult>{zero, zero},
        SmallVector<OpFoldResult>{dO, rowsO},
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
  // Features fb..fb+kBlock of rows rb..rb+kBlock, transposed in registers,
  // narrowed, stored as contiguous row pieces.
  auto blockStore = [&](OpBuilder &bb, Location bl) -> Value {
    return forBlocks(
        bb, bl, tile.d, yInit(bb, bl),
        [&](OpBuilder &lb, Location l, Value fb, Value y) {
          return forBlocks(
              lb, l, lb.getIndexAttr(tile.width), y,
              [&](OpBuilder &rbb, Location rl, Value rb, Value y) {
                SmallVector<Value> feats;
                for (int64_t c = 0; c < kBlock; ++c) {
                  Value feature = arith::AddIOp::create(rbb, rl, fb,
                                                        indexConst(rbb, rl, c));
                  feats.push_back(vector::TransferReadOp::create(
                      rbb, rl, VectorType::get({kBlock}, rbb.getF32Type()), t,
                      ValueRange{feature, rb}, /*padding=*/std::nullopt,
                      ArrayRef<bool>{true}));
                }
                SmallVector<Value> rowsOut = transposeBlock(rbb, rl, feats);
                for (int64_t k = 0; k < kBlock; ++k) {
                  Value rk = arith::AddIOp::create(rbb, rl, rb,
                                                   indexConst(rbb, rl, k));
                  y = vector::TransferWriteOp::create(
                          rbb, rl, castFloat(rbb, rl, rowsOut[k], elt), y,
                          ValueRange{rk, fb}, ArrayRef<bool>{true})
                          ->getResult(0);
                }
                return y;
              });
        });
  };
  Value rowsOut = fastOrScalar(b, loc, blockTransposable(b, loc, tile, rows),
                               blockStore, scalarStore);
  return tensor::InsertSliceOp::create(
      b, loc, rowsOut, y3, SmallVector<OpFoldResult>{r0, head, zero},
      SmallVector<OpFoldResult>{rowsO, one, dO},
      SmallVector<OpFoldResult>{one, one, one});
}

/// A block of rotary.givens_rows: per head, per group of W rows, load,
/// chain, [mix,] store.
struct DecomposeGivensRows : OpRewritePattern<GivensRowsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensRowsOp op,
                                PatternRewriter &rewriter) const override {
    // A thread per row: the GPU's form (ChainThreads.cpp).
    if (hasTile(op, "row_threads"))
      return failure();
    FailureOr<int64_t> rows = chainRowsPerGroup(op);
    if (failed(rows))
      return failure();
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x3 = op.getX();
    ChainTile tile{*rows, dimOf(b, loc, x3, 2)};
    // A shared chain reads row 0 of its tables.
    Value sharedRow = op.perHeadAngles() ? Value() : indexConst(b, loc, 0);
    SmallVector<Value> y = forEachRowGroup(
        b, loc, x3, tile.width, op.getInit(),
        [&](const RowGroup &g, ValueRange dests) {
          Value angleRow = sharedRow ? sharedRow : g.head;
          Value t = loadTile(b, loc, tile, x3, g.head, g.r0, g.rows);
          t = applyChain(b, loc, tile, t, op, angleRow);
          if (Value matrix = op.getMatrix())
            t = mixTile(b, loc, tile, t, matrix, g.head);
          return SmallVector<Value>{
              storeTile(b, loc, tile, t, dests[0], g.head, g.r0, g.rows)};
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};
/// v [R, C] as [C, R] of `elt`, transposed and cast in one generic.
Value transposeTo(OpBuilder &b, Location loc, Value v, Type elt) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  Value out = emptyOf(b, loc, {sizes[1], sizes[0]}, elt);
  AffineMap swapped = AffineMap::get(
      2, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(0, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{out.getType()}, ValueRange{v}, ValueRange{out},
             SmallVector<AffineMap>{swapped,
                                    AffineMap::getMultiDimIdentityMap(2, ctx)},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, castFloat(nb, l, a[0], elt));
             })
      .getResult(0);
}

/// A block of rotary.givens_rows_grad: per head and group of W rows, the
/// group's x and ȳ rows transposed into column-major f64 tiles [D, rows]
/// (a rotation then updates two contiguous rows of a tile, a loop LLVM
/// vectorises), the chain forward on the x tile, then backwards: undo the
/// rotation on the primal tile to get (a, b), add ψ̄_k over the group's
/// rows to the head's row of ψ̄, turn the gradient tile by Gᵀ; the gradient
/// tile transposed (and narrowed) into x̄.
struct DecomposeGivensRowsGrad : OpRewritePattern<GivensRowsGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GivensRowsGradOp op,
                                PatternRewriter &rewriter) const override {
    if (hasTile(op, "row_threads"))
      return failure();
    FailureOr<int64_t> rows = chainRowsPerGroup(op);
    if (failed(rows))
      return failure();
    int64_t width = *rows;
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value x3 = op.getX(), dy3 = op.getDy();
    Type elt = getElementTypeOrSelf(op.getDxInit().getType());
    Type f64 = b.getF64Type();
    Value d = dimOf(b, loc, x3, 2), n = dimOf(b, loc, op.getCos(), 1);
    Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
    Value nm1 = arith::SubIOp::create(b, loc, n, c1);
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    SmallVector<OpFoldResult> unit3(3, one);
    SmallVector<Value> results = forEachRowGroup(
        b, loc, x3, width, op.getDpsInits(),
        [&](const RowGroup &g, ValueRange dests) {
          Value head = g.head, r0 = g.r0, rowsV = g.rows;
          OpFoldResult rows = getAsOpFoldResult(rowsV);
          SmallVector<OpFoldResult> offs = {r0, head, zero};
          SmallVector<OpFoldResult> szs = {rows, one, getAsOpFoldResult(d)};
          auto widen = [&](Value src) {
            Type srcElt = getElementTypeOrSelf(src.getType());
            Value t = tensor::ExtractSliceOp::create(
                b, loc, sliceType(szs, {1}, srcElt), src, offs, szs, unit3);
            return transposeTo(b, loc, t, f64);
          };
          Value xt = widen(x3), gt = widen(dy3);
          // The head's row of ψ̄ [N].
          SmallVector<OpFoldResult> aOffs = {head, zero};
          SmallVector<OpFoldResult> aSizes = {one, getAsOpFoldResult(n)};
          SmallVector<OpFoldResult> unit2(2, one);
          Value acc = tensor::ExtractSliceOp::create(
              b, loc, sliceType(aSizes, {0}, f64), dests[1], aOffs, aSizes,
              unit2);
          // Application step s uses rotation k (last to first with
          // `reverse`) by the table's ψ_k.
          auto stepAt = [&](OpBuilder &lb, Location l, Value s) {
            return chainRotation(lb, l, operandsOf(op), s, head, n, c0, c1);
          };
          // The forward chain on the tile.
          auto fwd = scf::ForOp::create(
              b, loc, c0, n, c1, ValueRange{xt},
              [&](OpBuilder &lb, Location l, Value s, ValueRange iter) {
                ChainRotation st = stepAt(lb, l, s);
                auto inner = scf::ForOp::create(
                    lb, l, c0, rowsV, c1, ValueRange{iter[0]},
                    [&](OpBuilder &rb, Location rl, Value r, ValueRange it) {
                      Value t = it[0];
                      Value xi = tensor::ExtractOp::create(rb, rl, t,
                                                           ValueRange{st.i, r});
                      Value xj = tensor::ExtractOp::create(rb, rl, t,
                                                           ValueRange{st.j, r});
                      auto [yi, yj] =
                          rotatePair(rb, rl, xi, xj, st.cos, st.sin);
                      t = tensor::InsertOp::create(rb, rl, yi, t,
                                                   ValueRange{st.i, r});
                      t = tensor::InsertOp::create(rb, rl, yj, t,
                                                   ValueRange{st.j, r});
                      scf::YieldOp::create(rb, rl, t);
                    });
                scf::YieldOp::create(lb, l, inner.getResult(0));
              });
          // Backwards through the chain: primal tile, gradient tile, ψ̄.
          auto bwd = scf::ForOp::create(
              b, loc, c0, n, c1, ValueRange{fwd.getResult(0), gt, acc},
              [&](OpBuilder &lb, Location l, Value s, ValueRange iter) {
                ChainRotation st =
                    stepAt(lb, l, arith::SubIOp::create(lb, l, nm1, s));
                Value nsn = arith::NegFOp::create(lb, l, st.sin);
                Value zeroF =
                    arith::ConstantOp::create(lb, l, lb.getF64FloatAttr(0.0));
                auto inner = scf::ForOp::create(
                    lb, l, c0, rowsV, c1, ValueRange{iter[0], iter[1], zeroF},
                    [&](OpBuilder &rb, Location rl, Value r, ValueRange it) {
                      auto mul = [&](Value p, Value q) {
                        return arith::MulFOp::create(rb, rl, p, q).getResult();
                      };
                      Value t = it[0], gr = it[1];
                      SmallVector<Value, 2> ri = {st.i, r}, rj = {st.j, r};
                      Value yi = tensor::ExtractOp::create(rb, rl, t, ri);
                      Value yj = tensor::ExtractOp::create(rb, rl, t, rj);
                      // (a, b) before this rotation: G is orthogonal.
                      auto [a, bv] = rotatePair(rb, rl, yi, yj, st.cos, nsn);
                      Value gi = tensor::ExtractOp::create(rb, rl, gr, ri);
                      Value gj = tensor::ExtractOp::create(rb, rl, gr, rj);
                      // ψ̄ += ḡ_i·(−a·sin + b·cos) + ḡ_j·(−a·cos − b·sin).
                      Value di = arith::SubFOp::create(rb, rl, mul(bv, st.cos),
                                                       mul(a, st.sin));
                      Value dj = arith::NegFOp::create(
                          rb, rl,
                          arith::AddFOp::create(rb, rl, mul(a, st.cos),
                                                mul(bv, st.sin)));
                      // Reassociable, so that the row loop vectorises.
                      auto reassoc = arith::FastMathFlagsAttr::get(
                          rb.getContext(), arith::FastMathFlags::reassoc);
                      Value sum = arith::AddFOp::create(
                          rb, rl, it[2],
                          arith::AddFOp::create(rb, rl, mul(gi, di),
                                                mul(gj, dj)),
                          reassoc);
                      auto [ga, gb] = rotatePair(rb, rl, gi, gj, st.cos, nsn);
                      t = tensor::InsertOp::create(rb, rl, a, t, ri);
                      t = tensor::InsertOp::create(rb, rl, bv, t, rj);
                      gr = tensor::InsertOp::create(rb, rl, ga, gr, ri);
                      gr = tensor::InsertOp::create(rb, rl, gb, gr, rj);
                      scf::YieldOp::create(rb, rl, ValueRange{t, gr, sum});
                    });
                Value row = iter[2];
                Value old =
                    tensor::ExtractOp::create(lb, l, row, ValueRange{st.k});
                row = tensor::InsertOp::create(
                    lb, l,
                    arith::AddFOp::create(lb, l, old, inner.getResult(2)), row,
                    ValueRange{st.k});
                scf::YieldOp::create(
                    lb, l,
                    ValueRange{inner.getResult(0), inner.getResult(1), row});
              });
          Value dxt = transposeTo(b, loc, bwd.getResult(1), elt);
          Value dx = tensor::InsertSliceOp::create(b, loc, dxt, dests[0], offs,
                                                   szs, unit3);
          Value da = tensor::InsertSliceOp::create(
              b, loc, bwd.getResult(2), dests[1], aOffs, aSizes, unit2);
          return SmallVector<Value>{dx, da};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

ChainRotation lowering::chainRotation(OpBuilder &b, Location loc,
                                      const ChainOperands &tables, Value step,
                                      Value angleRow, Value n, Value c0,
                                      Value c1) {
  ChainRotation g;
  g.k = step;
  if (tables.reverse)
    g.k = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, n, c1),
                                step);
  g.i = tensor::ExtractOp::create(b, loc, tables.pairs, ValueRange{g.k, c0});
  g.j = tensor::ExtractOp::create(b, loc, tables.pairs, ValueRange{g.k, c1});
  g.cos =
      tensor::ExtractOp::create(b, loc, tables.cos, ValueRange{angleRow, g.k});
  g.sin =
      tensor::ExtractOp::create(b, loc, tables.sin, ValueRange{angleRow, g.k});
  return g;
}

std::pair<Value, Value> lowering::rotatePair(OpBuilder &b, Location loc,
                                             Value xi, Value xj, Value c,
                                             Value s, Value negS) {
  Value yi =
      math::FmaOp::create(b, loc, xj, s, arith::MulFOp::create(b, loc, xi, c));
  Value yj = math::FmaOp::create(b, loc, xi, negS,
                                 arith::MulFOp::create(b, loc, xj, c));
  return {yi, yj};
}

SmallVector<Value> lowering::forEachRowGroup(
    OpBuilder &b, Location loc, Value x3, int64_t width, ValueRange inits,
    function_ref<SmallVector<Value>(const RowGroup &, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x3);
  OpFoldResult groups = groupCount(b, loc, x3, 0, 1, width);
  return forEachIndex(
      b, loc, sizes[1], inits, [&](Value head, ValueRange outer) {
        return forEachIndex(
            b, loc, groups, outer, [&](Value g, ValueRange dests) {
              RowGroup group;
              group.head = head;
              group.r0 =
                  arith::MulIOp::create(b, loc, g, indexConst(b, loc, width));
              group.rows = getValueOrCreateConstantIndexOp(
                  b, loc, tileExtent(b, loc, sizes[0], group.r0, width));
              return body(group, dests);
            });
      });
}

void lowering::populateChainDecompositionPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeGivensRows, DecomposeGivensRowsGrad>(
      patterns.getContext());
  populateChainThreadPatterns(patterns);
}
