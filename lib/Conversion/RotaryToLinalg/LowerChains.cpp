//===- LowerChains.cpp - givens, rotation_block, orthogonal, penalty ------===//
//
// A Givens chain runs per row (rotary.givens_rows, the structured op that
// rotary-tile-and-decompose tiles into row groups: ChainRows.cpp) or, when
// the flop counts say so, folded into its matrix Q (the chain run over the
// rows of the identity, by the same op) and applied as one contraction.
// cos/sin of every angle ([H, N]) and the pair table ([N, 2]: a constant,
// or computed once per call when D is dynamic) are built once per call.
//
// rotation_block (rope, chain, x·R) left unfolded by rotary-fuse-rotations
// runs as rotary.rope (its own vectorised pass, in f32), then one
// rotary.givens_rows with R as its matrix: the chain and x·R on the same
// row group, one read of the roped rows and one write of y.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include <variant>

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

/// Larger default schedules are computed at run time rather than stored.
static constexpr int64_t kMaxConstantPairs = int64_t(1) << 16;

/// (i, j) of rotation `k` of the round-robin schedule over `d` features.
static std::pair<Value, Value> roundRobinPair(OpBuilder &b, Location loc,
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
                               std::optional<ArrayRef<int64_t>> pairs,
                               int64_t staticD, Value d, Value a2) {
  Value n = dimOf(b, loc, a2, 1);
  int64_t staticN = cast<RankedTensorType>(a2.getType()).getDimSize(1);
  // The attribute, else the schedule (static D and N), else the round-robin
  // formula evaluated once per rotation at run time (dynamic D): the row
  // loops never divide.
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
    auto type =
        RankedTensorType::get({int64_t(known.size() / 2), 2}, b.getIndexType());
    SmallVector<APInt> values;
    for (int64_t v : known)
      values.push_back(APInt(64, v));
    return arith::ConstantOp::create(b, loc, type,
                                     DenseElementsAttr::get(type, values));
  }
  Value init = emptyOf(b, loc, {n, b.getIndexAttr(2)}, b.getIndexType());
  return elementwise(
             b, loc, ValueRange{}, init, 2,
             [&](OpBuilder &nb, Location l, ValueRange) {
               Value k = linalg::IndexOp::create(nb, l, 0);
               Value which = linalg::IndexOp::create(nb, l, 1);
               auto [i, j] = roundRobinPair(nb, l, k, d);
               Value isI =
                   arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, which,
                                         indexConst(nb, l, 0));
               linalg::YieldOp::create(
                   nb, l, Value(arith::SelectOp::create(nb, l, isI, i, j)));
             })
      .getResult(0);
}

std::pair<Value, Value> lowering::chainCosSin(OpBuilder &b, Location loc,
                                              Value a2, bool negate, Type elt) {
  auto tables = elementwise(
      b, loc, a2,
      ValueRange{emptyLike(b, loc, a2, elt), emptyLike(b, loc, a2, elt)}, 2,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value psi = castFloat(nb, l, args[0], elt);
        if (negate)
          psi = arith::NegFOp::create(nb, l, psi);
        linalg::YieldOp::create(nb, l,
                                ValueRange{math::CosOp::create(nb, l, psi),
                                           math::SinOp::create(nb, l, psi)});
      });
  return {tables.getResult(0), tables.getResult(1)};
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

/// The operands of rotary.givens_rows for a chain, built once per call.
struct ChainTables {
  Value pairs;      ///< [N, 2] index
  Value cos, sin;   ///< [H, N] f32, of the negated angles for `inverse`
  Value n;          ///< N
  bool inverse;
  /// Tiles written on the rotary op (for experiments), carried over.
  Attribute tiles;
};

/// `a2` is the [H, N] angle tensor; `pairs` the op's attribute (if any).
ChainTables buildChainTables(OpBuilder &b, Location loc, Value a2,
                             std::optional<ArrayRef<int64_t>> pairs,
                             int64_t staticD, Value d, bool inverse) {
  ChainTables c;
  c.inverse = inverse;
  c.n = dimOf(b, loc, a2, 1);
  c.pairs = chainPairTable(b, loc, pairs, staticD, d, a2);
  // cos/sin once per angle and head (not once per tile).
  std::tie(c.cos, c.sin) = chainCosSin(b, loc, a2, inverse, b.getF32Type());
  return c;
}

/// rotary.givens_rows: x3 [M, H, D] through the chain (then times
/// `matrix`, if any) into `dest`, or a new tensor of element type `elt`.
Value givensRows(OpBuilder &b, Location loc, Value x3, const ChainTables &c,
                 Value matrix, Type elt, Value dest) {
  Value init = dest ? dest : emptyLike(b, loc, x3, elt);
  auto rows = GivensRowsOp::create(b, loc, init.getType(), x3, c.cos, c.sin,
                                   c.pairs, matrix, init, c.inverse);
  if (c.tiles)
    rows->setAttr(kTilesAttr, c.tiles);
  return rows.getResult();
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
/// row d of Q_h (Hq = the heads of the angles).
Value foldChainRows(OpBuilder &b, Location loc, const ChainTables &chain,
                    Value heads, Value d) {
  Type f32 = b.getF32Type();
  Value eye = identityF32(
      b, loc,
      {getAsOpFoldResult(d), getAsOpFoldResult(heads), getAsOpFoldResult(d)}, 0,
      2);
  return givensRows(b, loc, eye, chain, Value(), f32, Value());
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
    chain.tiles = op->getAttr(kTilesAttr);
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
          return givensRows(cb, l, x3, chain, Value(), elt, dest);
        });
    rewriter.replaceOp(op,
                       chainUnrows(b, loc, y3, xSizes, perHead, xType));
    return success();
  }

  ChainStrategy strategy;
};

/// rotation_block: [rope,] then the chain and x·R in one rotary.givens_rows,
/// or folded: [rope,] then x·(Q·R).
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
    ChainTables chain = buildChainTables(b, loc, a2, op.getPairs(),
                                         xType.getShape().back(), d, false);
    chain.tiles = op->getAttr(kTilesAttr);
    RopeLayout layout = op.getLayout().value_or(RopeLayout::half);
    // The rows after the rope, in f32 (so that the chain reads what it
    // would have kept in f32): rotary.rope itself, lowered by its own
    // pattern as one vectorised pass, once, before either form.
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
    auto chainKernel = [&](OpBuilder &b, Location loc, Value dest) -> Value {
      return givensRows(b, loc, xr, chain, mat, elt, dest);
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
