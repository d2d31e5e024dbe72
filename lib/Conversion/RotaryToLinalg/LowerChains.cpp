//===- LowerChains.cpp - givens and rotation_block ------------------------===//
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

#include "ChainCommon.h"

#include <variant>

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {

/// The operands of rotary.givens_rows for a chain, built once per call.
struct ChainTables {
  Value pairs;    ///< [N, 2] index
  Value cos, sin; ///< [H, N] f32, of the negated angles for `inverse`
  Value n;        ///< N
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
  auto branch = [&](function_ref<Value(OpBuilder &, Location, Value)> build) {
    return [&, build](OpBuilder &bb, Location l) -> SmallVector<Value> {
      return {castTo(bb, l, build(bb, l, out), type)};
    };
  };
  return foldOrChainResults(b, loc, choice, TypeRange{type}, branch(fold),
                            branch(chain))
      .front();
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
    bool perHead =
        cast<RankedTensorType>(op.getAngles().getType()).getRank() == 2;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    Value x3 = chainRows(b, loc, x, perHead);
    Value a2 = chainAngles(b, loc, op.getAngles());
    Value d = dimOf(b, loc, x3, 2);
    ChainTables chain = buildChainTables(
        b, loc, a2, op.getPairs(), xType.getShape().back(), d, op.getInverse());
    chain.tiles = op->getAttr(kTilesAttr);
    // Per head and row: chain 6·N; fold 2·D² plus 6·N·D per head for Q.
    auto costs = [&](FlopCounter &f) -> ChainCosts {
      SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(b, loc, x3);
      OpFoldResult n = getAsOpFoldResult(chain.n);
      return {f.mul(s3[0], s3[1]), f.mul(f.c(6), n),
              f.mul(f.c(2), f.mul(s3[2], s3[2])),
              f.mul(s3[1], f.mul(f.c(6), f.mul(n, s3[2])))};
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
    rewriter.replaceOp(op, chainUnrows(b, loc, y3, xSizes, perHead, xType));
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
          op.getBaseAttr(), /*inverse=*/nullptr, /*xpos=*/nullptr,
          /*xpos_scale_base=*/nullptr, /*xpos_gamma=*/nullptr);
      xr = chainRows(b, loc, roped, headed);
    }
    auto chainKernel = [&](OpBuilder &b, Location loc, Value dest) -> Value {
      return givensRows(b, loc, xr, chain, mat, elt, dest);
    };

    // Per row: chain 6·N + 2·D² (x·R on the tile), fold 2·D²; the fold
    // adds 6·N·D per head of the angles (Q) and 2·D³ per head of Q·R.
    auto costs = [&](FlopCounter &f) -> ChainCosts {
      SmallVector<OpFoldResult> s3 = tensor::getMixedSizes(b, loc, x3);
      OpFoldResult n = getAsOpFoldResult(chain.n), dd = s3[2];
      OpFoldResult one = b.getIndexAttr(1);
      OpFoldResult ha = perHeadA ? s3[1] : one;
      OpFoldResult hqr = perHeadA || perHeadR ? s3[1] : one;
      OpFoldResult d2 = f.mul(dd, dd);
      return {f.mul(s3[0], s3[1]), f.add(f.mul(f.c(6), n), f.mul(f.c(2), d2)),
              f.mul(f.c(2), d2),
              f.add(f.mul(ha, f.mul(f.c(6), f.mul(n, dd))),
                    f.mul(hqr, f.mul(f.c(2), f.mul(d2, dd))))};
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

} // namespace

std::variant<bool, Value>
lowering::chooseFold(OpBuilder &b, Location loc, ChainStrategy strategy,
                     function_ref<ChainCosts(FlopCounter &)> costs) {
  if (strategy != ChainStrategy::Auto)
    return strategy == ChainStrategy::Fold;
  FlopCounter f{b, loc};
  ChainCosts k = costs(f);
  // A fold no cheaper per row never pays, whatever the rows (a short chain
  // with a dynamic row count gets no run-time test and no second kernel).
  std::optional<int64_t> chainRow = getConstantIntValue(k.chainPerRow),
                         foldRow = getConstantIntValue(k.foldPerRow);
  if (chainRow && foldRow && *chainRow <= *foldRow)
    return false;
  OpFoldResult chainFlops = f.mul(k.rows, k.chainPerRow);
  OpFoldResult foldFlops = f.add(f.mul(k.rows, k.foldPerRow), k.foldFixed);
  std::optional<int64_t> chainAll = getConstantIntValue(chainFlops),
                         foldAll = getConstantIntValue(foldFlops);
  if (chainAll && foldAll)
    return *foldAll < *chainAll;
  return arith::CmpIOp::create(
             b, loc, arith::CmpIPredicate::ult,
             getValueOrCreateConstantIndexOp(b, loc, foldFlops),
             getValueOrCreateConstantIndexOp(b, loc, chainFlops))
      .getResult();
}

SmallVector<Value> lowering::foldOrChainResults(
    OpBuilder &b, Location loc, std::variant<bool, Value> choice,
    TypeRange types,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> fold,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> chain) {
  if (auto *constant = std::get_if<bool>(&choice))
    return *constant ? fold(b, loc) : chain(b, loc);
  // Built after creation (not in body callbacks), so that the nested ops
  // are inside a function while they are built (affine folding walks up).
  auto ifOp = scf::IfOp::create(b, loc, types, std::get<Value>(choice),
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, fold(b, loc));
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, loc, chain(b, loc));
  return SmallVector<Value>(ifOp.getResults());
}

void lowering::populateChainPatterns(RewritePatternSet &patterns,
                                     ChainStrategy chains) {
  patterns.add<LowerGivens, LowerRotationBlock>(patterns.getContext(), chains);
}
