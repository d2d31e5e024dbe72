//===- LowerAttention.cpp - rotary.attention to scf + linalg --------------===//
//
// One task per (b, h, query): an online softmax (running max m, running sum
// l, f32 accumulator [D]) over the keys the pattern lets it see, visited as
// two ranges — the global keys left of the window, then the window itself —
// so masked keys cost nothing and the T×S score matrix never exists.
// Query i sits at position p = i + S - T (decision 0011). The adaptive span
// multiplies each weight by m_h(p - j) inside the same sums, which is the
// renormalised mask of SPEC §6; lse = log Σ mask·exp(s). A row that sees no
// key gets a zero output and lse = -inf.
//
// AttentionParts (the pattern, the scores, the span mask) is shared with the
// backward in LowerAttentionGrad.cpp.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
} // namespace

AttentionParts::AttentionParts(OpBuilder &b, Location loc, Value q, Value k,
                               Value bias, Value span, bool causal,
                               int64_t window, int64_t globals,
                               std::optional<APFloat> scaleAttr,
                               std::optional<APFloat> spanRamp)
    : q(q), k(k), bias(bias), span(span),
      elt(cast<RankedTensorType>(q.getType()).getElementType()),
      causal(causal), window(window), globals(globals) {
  SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, q);
  dSize = qs[3];
  tLen = getValueOrCreateConstantIndexOp(b, loc, qs[2]);
  sLen = dimOf(b, loc, k, 2);
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
                                    cIdx(b, loc, 2));
  ramp = spanRamp ? spanRamp->convertToFloat() : 1.0f;
}

Value AttentionParts::position(OpBuilder &b, Location loc, Value i) const {
  return arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, i, sLen),
                               tLen);
}

AttentionParts::KeyRanges AttentionParts::keysOf(OpBuilder &b, Location loc,
                                                 Value p) const {
  // Signed index arithmetic: p may be negative.
  Value zero = cIdx(b, loc, 0);
  auto clampToKeys = [&](Value v) {
    return arith::MinSIOp::create(
               b, loc, arith::MaxSIOp::create(b, loc, v, zero), sLen)
        .getResult();
  };
  Value hi = causal ? clampToKeys(arith::AddIOp::create(b, loc, p,
                                                        cIdx(b, loc, 1)))
                    : sLen;
  Value lo = zero;
  if (window >= 0)
    lo = clampToKeys(arith::SubIOp::create(b, loc, p, cIdx(b, loc, window)));
  Value nG = cIdx(b, loc, globals);
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
  Value zero = cIdx(b, loc, 0);
  Value shift = arith::SubIOp::create(b, loc, sLen, tLen); // p = i + shift
  auto clampToQueries = [&](Value pos) {
    Value i = arith::SubIOp::create(b, loc, pos, shift);
    return arith::MinSIOp::create(
               b, loc, arith::MaxSIOp::create(b, loc, i, zero), tLen)
        .getResult();
  };
  Value lo = causal ? clampToQueries(j) : zero;
  Value hi = tLen;
  if (window >= 0) {
    Value nG = cIdx(b, loc, globals);
    Value local = arith::MaxSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, j, cIdx(b, loc, window + 1)), nG);
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

Value AttentionParts::row(OpBuilder &b, Location loc, Value src, Value bi,
                          Value hi, Value r) const {
  SmallVector<OpFoldResult> offs = {bi, hi, r, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(1), dSize};
  SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
  Type srcElt = cast<RankedTensorType>(src.getType()).getElementType();
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType(sizes, {0, 1, 2}, srcElt), src, offs, sizes, unit);
}

Value AttentionParts::dot(OpBuilder &b, Location loc, Value x, Value y) const {
  // A loop carrying an f32 scalar: a reduction generic into a 0-d tensor
  // would bufferize to a heap allocation per call, i.e. per (query, key).
  auto loop = scf::ForOp::create(
      b, loc, cIdx(b, loc, 0), dimOf(b, loc, x, 0), cIdx(b, loc, 1),
      ValueRange{f32c(b, loc, 0.0)},
      [&](OpBuilder &lb, Location l, Value d, ValueRange acc) {
        Value xv = toF32(lb, l, tensor::ExtractOp::create(lb, l, x, d));
        Value yv = toF32(lb, l, tensor::ExtractOp::create(lb, l, y, d));
        scf::YieldOp::create(
            lb, l,
            Value(arith::AddFOp::create(
                lb, l, acc[0], arith::MulFOp::create(lb, l, xv, yv))));
      });
  return loop.getResult(0);
}

Value AttentionParts::tableColumn(OpBuilder &b, Location loc, Value p,
                                  Value j) const {
  // clamp(j - p, -W', W') + W' = clamp(j - p + W', 0, 2W').
  Value jp =
      arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, j, radius), p);
  return arith::MaxSIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, jp, arith::MulIOp::create(b, loc, radius, cIdx(b, loc, 2))),
      cIdx(b, loc, 0));
}

Value AttentionParts::withBias(OpBuilder &b, Location loc, Value s, Value hi,
                               Value i, Value p, Value j) const {
  if (!bias)
    return s;
  Value bv = tableBias()
                 ? tensor::ExtractOp::create(
                       b, loc, bias, ValueRange{hi, tableColumn(b, loc, p, j)})
                 : tensor::ExtractOp::create(b, loc, bias, ValueRange{hi, i, j});
  return arith::AddFOp::create(b, loc, s, bv);
}

Value AttentionParts::score(OpBuilder &b, Location loc, Value qRow, Value kRow,
                            Value hi, Value i, Value p, Value j) const {
  return withBias(b, loc,
                  arith::MulFOp::create(b, loc, dot(b, loc, qRow, kRow), scale),
                  hi, i, p, j);
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
  Value dm = arith::SelectOp::create(b, loc, inside,
                                     f32c(b, loc, 1.0 / ramp), zeroF);
  return {m, dm};
}

namespace {
/// Rows of a query tile and keys of a key tile: the granularity of the
/// online softmax. 48 query rows are 8 register blocks of the CPU
/// schedule's 6 rows; 64 keys one block of 64 columns.
constexpr int64_t kQueryTile = 48, kKeyTile = 64;

/// 1-d generic over `rows` (every operand indexed by the row).
Value perRow(OpBuilder &b, Location loc, ValueRange inputs, Value init,
             function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return elementwise(b, loc, inputs, init, 1,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       linalg::YieldOp::create(nb, l, body(nb, l, a));
                     })
      .getResult(0);
}

/// A row reduction of x [rows, cols] into init [rows] with `combine`.
Value reduceRows(
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

/// Elementwise generic over a tile [rows, cols] into `init`: `tileInputs`
/// are [rows, cols], `rowInputs` [rows] (broadcast along the row); the body
/// gets them in that order, then the output element, and yields one value.
Value overTile(OpBuilder &b, Location loc, ValueRange tileInputs,
               ValueRange rowInputs, Value init,
               function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx);
  AffineMap tile = AffineMap::get(2, 0, {r, c}, ctx),
            row = AffineMap::get(2, 0, {r}, ctx);
  SmallVector<AffineMap> maps(tileInputs.size(), tile);
  maps.append(rowInputs.size(), row);
  maps.push_back(tile);
  SmallVector<Value> inputs(tileInputs);
  llvm::append_range(inputs, rowInputs);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, body(nb, l, a));
             })
      .getResult(0);
}

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    AttentionParts at = AttentionParts::of(b, op);
    Value v = op.getV();
    Type f32 = b.getF32Type();
    SmallVector<OpFoldResult> qs = tensor::getMixedSizes(b, loc, at.q);
    Value zero = cIdx(b, loc, 0), one = cIdx(b, loc, 1);
    Value negInf = f32c(b, loc, -std::numeric_limits<float>::infinity());

    Value out = emptyLike(b, loc, at.q, at.elt);
    Value lse = emptyOf(b, loc, {qs[0], qs[1], qs[2]}, f32);
    Value tiles = arith::DivUIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, at.tLen, cIdx(b, loc, kQueryTile - 1)),
        cIdx(b, loc, kQueryTile));
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{qs[0], qs[1], getAsOpFoldResult(tiles)},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)), ValueRange{out, lse},
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value bi = forall.getInductionVar(0), hi = forall.getInductionVar(1);
      Value i0 = arith::MulIOp::create(b, loc, forall.getInductionVar(2),
                                       cIdx(b, loc, kQueryTile));
      OpFoldResult rowsOfr =
          tileExtent(b, loc, getAsOpFoldResult(at.tLen), i0, kQueryTile);
      Value rows = getValueOrCreateConstantIndexOp(b, loc, rowsOfr);
      OpFoldResult dOfr = qs[3];
      OpFoldResult unitI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);

      // Rows [r0, r0 + n) of a [B, H, ·, D] tensor, as [n, D].
      auto rowsOf = [&](OpBuilder &ob, Location l, Value src, Value r0,
                        OpFoldResult n) -> Value {
        SmallVector<OpFoldResult> offs = {bi, hi, r0, zeroI};
        SmallVector<OpFoldResult> sizes = {unitI, unitI, n, dOfr};
        Type elt = cast<RankedTensorType>(src.getType()).getElementType();
        return tensor::ExtractSliceOp::create(
            ob, l, sliceType(sizes, {0, 1}, elt), src, offs, sizes,
            SmallVector<OpFoldResult>(4, unitI));
      };

      // The query tile in f32, scaled once: Qs = scale · q[i0 .. i0+rows).
      Value qTile = rowsOf(b, loc, at.q, i0, rowsOfr);
      Value qs32 =
          elementwise(b, loc, qTile, emptyOf(b, loc, {rowsOfr, dOfr}, f32), 2,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        linalg::YieldOp::create(
                            nb, l,
                            Value(arith::MulFOp::create(
                                nb, l, toF32(nb, l, a[0]), at.scale)));
                      })
              .getResult(0);

      // The keys of the tile: the union of its rows' ranges, as two
      // disjoint ranges (ranges grow with the position): the global keys
      // [0, gEnd(last row)), then [max(lo(first row), that), hi(last row)).
      // Each element is masked by its own row's ranges below.
      Value last = arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, i0, rows), one);
      AttentionParts::KeyRanges first =
          at.keysOf(b, loc, at.position(b, loc, i0));
      AttentionParts::KeyRanges lastK =
          at.keysOf(b, loc, at.position(b, loc, last));
      Value r2lo = arith::MaxSIOp::create(b, loc, first.lo, lastK.gEnd);
      Value r2hi = arith::MaxSIOp::create(b, loc, lastK.hi, r2lo);

      Value m0 = linalg::FillOp::create(b, loc, negInf,
                                        emptyOf(b, loc, {rowsOfr}, f32))
                     .getResult(0);
      Value l0 = zerosF32(b, loc, {rowsOfr});
      Value acc0 = zerosF32(b, loc, {rowsOfr, dOfr});
      AffineExpr rE = getAffineDimExpr(0, ctx), cE = getAffineDimExpr(1, ctx);

      // One key tile [j0, j0 + cols) of a range ending at `end`.
      auto visitTile = [&](OpBuilder &lb, Location l, Value j0, Value end,
                           ValueRange iter) -> SmallVector<Value> {
        Value m = iter[0], lsum = iter[1], acc = iter[2];
        OpFoldResult colsOfr =
            tileExtent(lb, l, getAsOpFoldResult(end), j0, kKeyTile);
        Value kTile = rowsOf(lb, l, at.k, j0, colsOfr);
        Value vTile = rowsOf(lb, l, v, j0, colsOfr);
        Type kElt = cast<RankedTensorType>(kTile.getType()).getElementType();
        Value kT = linalg::TransposeOp::create(
                       lb, l, kTile, emptyOf(lb, l, {dOfr, colsOfr}, kElt),
                       ArrayRef<int64_t>{1, 0})
                       ->getResult(0);
        // Scores of the tile (a contraction the CPU schedule tiles), then
        // bias and pattern: invisible pairs get -inf and weight 0.
        Value sc = contractRows(lb, l, qs32, kT, /*perHead=*/false);
        Value sInit = emptyOf(lb, l, {rowsOfr, colsOfr}, f32);
        auto masked = linalg::GenericOp::create(
            lb, l, TypeRange{sInit.getType(), sInit.getType()}, ValueRange{sc},
            ValueRange{sInit, sInit},
            SmallVector<AffineMap>(3, AffineMap::get(2, 0, {rE, cE}, ctx)),
            SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location el, ValueRange a) {
              Value i = arith::AddIOp::create(
                  nb, el, i0, linalg::IndexOp::create(nb, el, 0));
              Value j = arith::AddIOp::create(
                  nb, el, j0, linalg::IndexOp::create(nb, el, 1));
              Value p = at.position(nb, el, i);
              AttentionParts::KeyRanges keys = at.keysOf(nb, el, p);
              auto lt = [&](Value x, Value y) {
                return arith::CmpIOp::create(nb, el, arith::CmpIPredicate::slt,
                                             x, y)
                    .getResult();
              };
              Value visible = arith::OrIOp::create(
                  nb, el, lt(j, keys.gEnd),
                  arith::AndIOp::create(
                      nb, el,
                      arith::CmpIOp::create(nb, el, arith::CmpIPredicate::sle,
                                            keys.lo, j),
                      lt(j, keys.hi)));
              Value s = at.withBias(nb, el, a[0], hi, i, p, j);
              Value w = at.span ? at.spanMask(nb, el, hi, p, j).first
                                : f32c(nb, el, 1.0);
              linalg::YieldOp::create(
                  nb, el,
                  ValueRange{arith::SelectOp::create(
                                 nb, el, visible, s,
                                 f32c(nb, el,
                                      -std::numeric_limits<float>::infinity())),
                             arith::SelectOp::create(nb, el, visible, w,
                                                     f32c(nb, el, 0.0))});
            });
        Value s = masked.getResult(0), w = masked.getResult(1);
        // Online softmax: m' = max(m, max_c s); α = exp(m − m'); rows whose
        // scores are all -inf so far keep their sums (exp(-inf + inf)).
        Value tileMax = reduceRows(
            lb, l, s,
            linalg::FillOp::create(lb, l, negInf,
                                   emptyOf(lb, l, {rowsOfr}, f32))
                .getResult(0),
            [](OpBuilder &nb, Location el, Value acc, Value x) {
              return arith::MaximumFOp::create(nb, el, acc, x).getResult();
            });
        auto none = [&](OpBuilder &nb, Location el, Value mn) {
          return arith::CmpFOp::create(
                     nb, el, arith::CmpFPredicate::OEQ, mn,
                     f32c(nb, el, -std::numeric_limits<float>::infinity()))
              .getResult();
        };
        Value alpha = perRow(
            lb, l, ValueRange{m, tileMax}, emptyOf(lb, l, {rowsOfr}, f32),
            [&](OpBuilder &nb, Location el, ValueRange a) {
              Value mn = arith::MaximumFOp::create(nb, el, a[0], a[1]);
              return arith::SelectOp::create(
                         nb, el, none(nb, el, mn), f32c(nb, el, 1.0),
                         math::ExpOp::create(
                             nb, el, arith::SubFOp::create(nb, el, a[0], mn)))
                  .getResult();
            });
        // The loop-carried values are updated in place (each yield is its
        // iteration argument's buffer: bufferization requires it), after
        // every read of the old value.
        Value mNew = perRow(
            lb, l, ValueRange{tileMax}, m,
            [](OpBuilder &nb, Location el, ValueRange a) {
              return arith::MaximumFOp::create(nb, el, a[1], a[0]).getResult();
            });
        // p = w·exp(s − m') (0 for rows that saw nothing yet).
        Value pT = overTile(
            lb, l, ValueRange{s, w}, ValueRange{mNew},
            emptyOf(lb, l, {rowsOfr, colsOfr}, f32),
            [&](OpBuilder &nb, Location el, ValueRange a) {
              Value e = arith::MulFOp::create(
                  nb, el, a[1],
                  math::ExpOp::create(
                      nb, el, arith::SubFOp::create(nb, el, a[0], a[2])));
              return arith::SelectOp::create(nb, el, none(nb, el, a[2]),
                                             f32c(nb, el, 0.0), e)
                  .getResult();
            });
        Value tileSum = reduceRows(
            lb, l, pT, zerosF32(lb, l, {rowsOfr}),
            [](OpBuilder &nb, Location el, Value acc, Value x) {
              return arith::AddFOp::create(nb, el, acc, x).getResult();
            });
        Value lNew =
            perRow(lb, l, ValueRange{lsum, alpha, tileSum}, lsum,
                   [](OpBuilder &nb, Location el, ValueRange a) {
                     return arith::AddFOp::create(
                                nb, el,
                                arith::MulFOp::create(nb, el, a[0], a[1]), a[2])
                         .getResult();
                   });
        // acc' = α·acc + p·V (the second contraction of the tile).
        Value scaled = overTile(
            lb, l, ValueRange{}, ValueRange{alpha}, acc,
            [](OpBuilder &nb, Location el, ValueRange a) {
              return arith::MulFOp::create(nb, el, a[1], a[0]).getResult();
            });
        Value accNew = accumulateRows(lb, l, pT, vTile, scaled, false);
        return {mNew, lNew, accNew};
      };
      // One loop over the tiles of both ranges (one copy of the tile's
      // code): tile t < n1 is [64·t, ...) of the first range, the others
      // [r2lo + 64·(t − n1), ...) of the second. Its body is built after
      // the loop is in place (not in a body callback), so that affine
      // folding inside it sees the function.
      Value tileK = cIdx(b, loc, kKeyTile);
      auto tilesOf = [&](Value length) {
        return arith::DivUIOp::create(
            b, loc,
            arith::AddIOp::create(b, loc, length, cIdx(b, loc, kKeyTile - 1)),
            tileK);
      };
      Value n1 = tilesOf(lastK.gEnd);
      Value n2 = tilesOf(arith::SubIOp::create(b, loc, r2hi, r2lo));
      auto loop = scf::ForOp::create(b, loc, zero,
                                     arith::AddIOp::create(b, loc, n1, n2), one,
                                     ValueRange{m0, l0, acc0});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value t = loop.getInductionVar();
        Value inFirst =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, n1);
        Value j0 = arith::SelectOp::create(
            b, loc, inFirst, arith::MulIOp::create(b, loc, t, tileK),
            arith::AddIOp::create(
                b, loc, r2lo,
                arith::MulIOp::create(
                    b, loc, arith::SubIOp::create(b, loc, t, n1), tileK)));
        Value end = arith::SelectOp::create(b, loc, inFirst, lastK.gEnd, r2hi);
        scf::YieldOp::create(
            b, loc, visitTile(b, loc, j0, end, loop.getRegionIterArgs()));
      }
      ValueRange done = loop.getResults();
      Value m = done[0], lsum = done[1], acc = done[2];

      // o = acc / l (0 when nothing was visible); lse = m + log l (-inf).
      Value o = overTile(
          b, loc, ValueRange{acc}, ValueRange{lsum},
          emptyOf(b, loc, {rowsOfr, dOfr}, at.elt),
          [&](OpBuilder &nb, Location el, ValueRange a) {
            Value seen = arith::CmpFOp::create(
                nb, el, arith::CmpFPredicate::OGT, a[1], f32c(nb, el, 0.0));
            Value q = arith::SelectOp::create(
                nb, el, seen, arith::DivFOp::create(nb, el, a[0], a[1]),
                f32c(nb, el, 0.0));
            return castFloat(nb, el, q, at.elt);
          });
      Value lseRow = perRow(
          b, loc, ValueRange{m, lsum}, emptyOf(b, loc, {rowsOfr}, f32),
          [&](OpBuilder &nb, Location el, ValueRange a) {
            Value seen = arith::CmpFOp::create(
                nb, el, arith::CmpFPredicate::OGT, a[1], f32c(nb, el, 0.0));
            return arith::SelectOp::create(
                       nb, el, seen,
                       arith::AddFOp::create(nb, el, a[0],
                                             math::LogOp::create(nb, el, a[1])),
                       f32c(nb, el, -std::numeric_limits<float>::infinity()))
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
    }
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
