//===- AttentionTiles.cpp - the attention kernels' shared parts -----------===//
//
// The pattern of decision 0011 in two forms: ranges (keysOf, queriesOf)
// that let a loop skip every tile the pattern hides, and a per-pair test
// (sees) for the tiles a range only partly covers. Both state the same
// rule: a query at position p sees key j when j <= p (causal) and, with a
// window W, p - j <= W or either of them is global (< n_g).
//
//===----------------------------------------------------------------------===//

#include "AttentionTiles.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

FailureOr<AttentionTileSizes> lowering::attentionTileSizes(Operation *op) {
  FailureOr<SmallVector<int64_t>> sizes = recordedTiles(
      op, {"query", "key"}, "tile sizes", "{query = Q, key = K} with Q, K > 0");
  if (failed(sizes))
    return failure();
  return AttentionTileSizes{(*sizes)[0], (*sizes)[1]};
}

AttentionParts::AttentionParts(OpBuilder &b, Location loc, Value q, Value k,
                               Value bias, Value span, bool causal,
                               int64_t window, int64_t globals,
                               std::optional<APFloat> scaleAttr,
                               std::optional<APFloat> spanRamp,
                               AttentionTileSizes tiles, Value firstPosition,
                               Value firstKey)
    : q(q), k(k), bias(bias), span(span),
      elt(cast<RankedTensorType>(q.getType()).getElementType()), causal(causal),
      window(window), globals(globals), firstKey(firstKey), tiles(tiles) {
  SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);
  dSize = qs[3];
  tLen = getValueOrCreateConstantIndexOp(b, loc, qs[2]);
  sLen = dimOf(b, loc, k, 2);
  shift = firstPosition ? firstPosition
                        : arith::SubIOp::create(b, loc, sLen, tLen).getResult();
  if (scaleAttr) {
    scale = f32c(b, loc, scaleAttr->convertToFloat());
  } else {
    Value dLen = getValueOrCreateConstantIndexOp(b, loc, dSize);
    Value dF = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(), dLen));
    scale = math::RsqrtOp::create(b, loc, dF);
  }
  if (bias && cast<RankedTensorType>(bias.getType()).getRank() == 2)
    radius = arith::DivUIOp::create(b, loc, dimOf(b, loc, bias, 1),
                                    indexConst(b, loc, 2));
  ramp = spanRamp ? spanRamp->convertToFloat() : 1.0f;
}

Value AttentionParts::keyIndex(OpBuilder &b, Location loc, Value j) const {
  return firstKey ? arith::AddIOp::create(b, loc, j, firstKey).getResult() : j;
}

Value AttentionParts::position(OpBuilder &b, Location loc, Value i) const {
  return arith::AddIOp::create(b, loc, i, shift);
}

AttentionParts::KeyRanges AttentionParts::keysOf(OpBuilder &b, Location loc,
                                                 Value p) const {
  // Signed index arithmetic: p may be negative.
  Value zero = indexConst(b, loc, 0);
  auto clampToKeys = [&](Value v) {
    return arith::MinSIOp::create(b, loc,
                                  arith::MaxSIOp::create(b, loc, v, zero), sLen)
        .getResult();
  };
  Value hi =
      causal
          ? clampToKeys(arith::AddIOp::create(b, loc, p, indexConst(b, loc, 1)))
          : sLen;
  Value lo = zero;
  if (window >= 0)
    lo = clampToKeys(
        arith::SubIOp::create(b, loc, p, indexConst(b, loc, window)));
  Value nG = indexConst(b, loc, globals);
  if (globals > 0) {
    // A global query sees every key (still causal).
    Value globalQuery =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, p, nG);
    lo = arith::SelectOp::create(b, loc, globalQuery, zero, lo);
  }
  lo = arith::MinSIOp::create(b, loc, lo, hi);
  // Global keys left of the window: [0, min(n_g, lo, S)).
  Value gEnd = arith::MinSIOp::create(
      b, loc, arith::MinSIOp::create(b, loc, nG, lo), sLen);
  return {gEnd, lo, hi};
}

std::pair<Value, Value> AttentionParts::queriesOf(OpBuilder &b, Location loc,
                                                  Value j) const {
  // Key j is seen from positions p with j <= p when causal, and, unless it
  // is global (j < n_g) or the window unlimited, p <= j + W or p < n_g.
  // Both upper limits start at the causal bound, so the positions form the
  // one range [causal ? j : -inf, max(j + W + 1, n_g)).
  Value zero = indexConst(b, loc, 0);
  auto clampToQueries = [&](Value pos) {
    Value i = arith::SubIOp::create(b, loc, pos, shift);
    return arith::MinSIOp::create(b, loc,
                                  arith::MaxSIOp::create(b, loc, i, zero), tLen)
        .getResult();
  };
  Value lo = causal ? clampToQueries(j) : zero;
  Value hi = tLen;
  if (window >= 0) {
    Value nG = indexConst(b, loc, globals);
    Value local = arith::MaxSIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, j, indexConst(b, loc, window + 1)), nG);
    hi = clampToQueries(local);
    if (globals > 0) {
      Value globalKey =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j, nG);
      hi = arith::SelectOp::create(b, loc, globalKey, tLen, hi);
    }
  }
  lo = arith::MinSIOp::create(b, loc, lo, hi);
  return {lo, hi};
}

Value AttentionParts::sees(OpBuilder &b, Location loc, Value p, Value j) const {
  auto cmp = [&](arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y).getResult();
  };
  Value ok;
  if (causal)
    ok = cmp(arith::CmpIPredicate::sle, j, p);
  if (window >= 0) {
    Value near =
        cmp(arith::CmpIPredicate::sle, arith::SubIOp::create(b, loc, p, j),
            indexConst(b, loc, window));
    if (globals > 0) {
      Value nG = indexConst(b, loc, globals);
      near = arith::OrIOp::create(
          b, loc, near,
          arith::OrIOp::create(b, loc, cmp(arith::CmpIPredicate::slt, j, nG),
                               cmp(arith::CmpIPredicate::slt, p, nG)));
    }
    ok = ok ? arith::AndIOp::create(b, loc, ok, near).getResult() : near;
  }
  return ok ? ok : arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
}

Value AttentionParts::tableColumn(OpBuilder &b, Location loc, Value p,
                                  Value j) const {
  // clamp(j - p, -W', W') + W' = clamp(j - p + W', 0, 2W').
  Value jp = arith::SubIOp::create(b, loc,
                                   arith::AddIOp::create(b, loc, j, radius), p);
  return arith::MaxSIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, jp,
          arith::MulIOp::create(b, loc, radius, indexConst(b, loc, 2))),
      indexConst(b, loc, 0));
}

Value AttentionParts::withBias(OpBuilder &b, Location loc, Value s, Value hi,
                               Value i, Value p, Value j, Value jRow) const {
  if (!bias)
    return s;
  Value bv =
      tableBias()
          ? tensor::ExtractOp::create(b, loc, bias,
                                      ValueRange{hi, tableColumn(b, loc, p, j)})
          : tensor::ExtractOp::create(b, loc, bias, ValueRange{hi, i, jRow});
  return arith::AddFOp::create(b, loc, s, bv);
}

std::pair<Value, Value> AttentionParts::spanMask(OpBuilder &b, Location loc,
                                                 Value hi, Value p,
                                                 Value j) const {
  Type f32 = b.getF32Type();
  Value sp = tensor::ExtractOp::create(b, loc, span, ValueRange{hi});
  Value d = arith::SIToFPOp::create(
      b, loc, f32,
      arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                 arith::SubIOp::create(b, loc, p, j)));
  Value r = f32c(b, loc, ramp);
  Value raw = arith::DivFOp::create(
      b, loc,
      arith::SubFOp::create(b, loc, arith::AddFOp::create(b, loc, sp, r), d),
      r);
  Value zeroF = f32c(b, loc, 0.0), oneF = f32c(b, loc, 1.0);
  Value m = arith::MinimumFOp::create(
      b, loc, oneF, arith::MaximumFOp::create(b, loc, zeroF, raw));
  Value inside = arith::AndIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, raw, zeroF),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, raw, oneF));
  Value dm =
      arith::SelectOp::create(b, loc, inside, f32c(b, loc, 1.0 / ramp), zeroF);
  return {m, dm};
}

Value lowering::tilesOf(OpBuilder &b, Location loc, Value length,
                        int64_t tile) {
  return arith::DivUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, length, indexConst(b, loc, tile - 1)),
      indexConst(b, loc, tile));
}

KeyTiles lowering::keyTilesOf(OpBuilder &b, Location loc,
                              const AttentionParts &at, Value i0, Value rows) {
  Value last = arith::SubIOp::create(
      b, loc, arith::AddIOp::create(b, loc, i0, rows), indexConst(b, loc, 1));
  AttentionParts::KeyRanges first = at.keysOf(b, loc, at.position(b, loc, i0));
  AttentionParts::KeyRanges lastK =
      at.keysOf(b, loc, at.position(b, loc, last));
  KeyTiles kt;
  kt.gEnd = lastK.gEnd;
  kt.lo = arith::MaxSIOp::create(b, loc, first.lo, lastK.gEnd);
  kt.hi = arith::MaxSIOp::create(b, loc, lastK.hi, kt.lo);
  kt.size = at.tiles.key;
  kt.n1 = tilesOf(b, loc, kt.gEnd, kt.size);
  kt.n2 = tilesOf(b, loc, arith::SubIOp::create(b, loc, kt.hi, kt.lo), kt.size);
  kt.sLen = at.sLen;
  return kt;
}

std::pair<Value, Value> KeyTiles::tile(OpBuilder &b, Location loc,
                                       Value t) const {
  Value size = indexConst(b, loc, this->size);
  Value inFirst =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, n1);
  Value j0 = arith::SelectOp::create(
      b, loc, inFirst, arith::MulIOp::create(b, loc, t, size),
      arith::AddIOp::create(
          b, loc, lo,
          arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, t, n1),
                                size)));
  return {j0, arith::SelectOp::create(b, loc, inFirst, lo, sLen)};
}

Value lowering::rowsOf(OpBuilder &b, Location loc, Value src, Value bi,
                       Value hi, Value r0, OpFoldResult n) {
  OpFoldResult unit = b.getIndexAttr(1);
  SmallVector<OpFoldResult> offs = {bi, hi, r0, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {unit, unit, n,
                                     tensor::getMixedSize(b, loc, src, 3)};
  Type elt = cast<RankedTensorType>(src.getType()).getElementType();
  return tensor::ExtractSliceOp::create(b, loc, sliceType(sizes, {0, 1}, elt),
                                        src, offs, sizes,
                                        SmallVector<OpFoldResult>(4, unit));
}

Value lowering::entriesOf(OpBuilder &b, Location loc, Value src, Value bi,
                          Value hi, Value r0, OpFoldResult n) {
  OpFoldResult unit = b.getIndexAttr(1);
  SmallVector<OpFoldResult> sizes = {unit, unit, n};
  Type elt = cast<RankedTensorType>(src.getType()).getElementType();
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType(sizes, {0, 1}, elt), src,
      SmallVector<OpFoldResult>{bi, hi, r0}, sizes,
      SmallVector<OpFoldResult>(3, unit));
}

Value lowering::transposeTile(OpBuilder &b, Location loc, Value tile) {
  SmallVector<OpFoldResult> s = tensor::getMixedSizes(b, loc, tile);
  Type elt = cast<RankedTensorType>(tile.getType()).getElementType();
  return linalg::TransposeOp::create(b, loc, tile,
                                     emptyOf(b, loc, {s[1], s[0]}, elt),
                                     ArrayRef<int64_t>{1, 0})
      ->getResult(0);
}

SmallVector<Value> lowering::overTile(
    OpBuilder &b, Location loc, ValueRange tileInputs, ValueRange rowInputs,
    ValueRange colInputs, ValueRange inits,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx);
  AffineMap tile = AffineMap::get(2, 0, {r, c}, ctx),
            row = AffineMap::get(2, 0, {r}, ctx),
            col = AffineMap::get(2, 0, {c}, ctx);
  SmallVector<AffineMap> maps(tileInputs.size(), tile);
  maps.append(rowInputs.size(), row);
  maps.append(colInputs.size(), col);
  maps.append(inits.size(), tile);
  SmallVector<Value> inputs(tileInputs);
  llvm::append_range(inputs, rowInputs);
  llvm::append_range(inputs, colInputs);
  return linalg::GenericOp::create(
             b, loc, inits.getTypes(), inputs, inits, maps,
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, body(nb, l, a));
             })
      ->getResults();
}

Value lowering::perRow(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return elementwise(b, loc, inputs, init, 1,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       linalg::YieldOp::create(nb, l, body(nb, l, a));
                     })
      .getResult(0);
}

Value lowering::reduceRows(
    OpBuilder &b, Location loc, Value x, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{x}, ValueRange{init},
             SmallVector<AffineMap>{AffineMap::get(2, 0, {r, c}, ctx),
                                    AffineMap::get(2, 0, {r}, ctx)},
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, combine(nb, l, a[1], a[0]));
             })
      .getResult(0);
}

TileScores lowering::maskTile(OpBuilder &b, Location loc,
                              const AttentionParts &at, Value sc, Value hi,
                              Value i0, Value j0, bool keyRows, Value scale,
                              bool withDerivative) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, sc);
  Type f32 = b.getF32Type();
  unsigned n = at.span ? (withDerivative ? 3 : 2) : 1;
  SmallVector<Value> inits(n, emptyOf(b, loc, sizes, f32));
  SmallVector<Value> r = overTile(
      b, loc, sc, {}, {}, inits,
      [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
        Value rIdx = linalg::IndexOp::create(nb, l, 0),
              cIdx = linalg::IndexOp::create(nb, l, 1);
        Value i = arith::AddIOp::create(nb, l, i0, keyRows ? cIdx : rIdx);
        Value jRow = arith::AddIOp::create(nb, l, j0, keyRows ? rIdx : cIdx);
        Value j = at.keyIndex(nb, l, jRow);
        Value p = at.position(nb, l, i);
        Value visible = at.sees(nb, l, p, j);
        Value s = scale ? arith::MulFOp::create(nb, l, a[0], scale) : a[0];
        s = at.withBias(nb, l, s, hi, i, p, j, jRow);
        auto orElse = [&](Value x, double hidden) {
          return arith::SelectOp::create(nb, l, visible, x, f32c(nb, l, hidden))
              .getResult();
        };
        SmallVector<Value> out = {
            orElse(s, -std::numeric_limits<double>::infinity())};
        if (at.span) {
          auto [w, dw] = at.spanMask(nb, l, hi, p, j);
          out.push_back(orElse(w, 0.0));
          if (withDerivative)
            out.push_back(orElse(dw, 0.0));
        }
        return out;
      });
  TileScores t{r[0], Value(), Value()};
  if (at.span) {
    t.w = r[1];
    if (withDerivative)
      t.dw = r[2];
  }
  return t;
}
