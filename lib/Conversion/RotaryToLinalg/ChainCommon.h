//===- ChainCommon.h - what the chain lowerings share -----------*- C++ -*-===//
#ifndef LIB_CONVERSION_ROTARYTOLINALG_CHAINCOMMON_H
#define LIB_CONVERSION_ROTARYTOLINALG_CHAINCOMMON_H

#include "Lowering.h"

#include <variant>

namespace rotary::lowering {

/// The rows per group a Givens chain op (or its gradient) was given by its
/// target's schedule (an error on the op when missing).
FailureOr<int64_t> chainRowsPerGroup(Operation *op);

/// One group of a chain block: rows r0 .. r0 + rows − 1 of head `head`.
struct RowGroup {
  Value head, r0, rows;
};
/// The decompositions' walk over a block x3 [M, H, D]: per head and group
/// of at most `width` rows, `body` gets the group and the current values of
/// `inits` and returns their new values. A block provably no taller than
/// one group (a tile of the schedule's) gets no loop over groups.
SmallVector<Value> forEachRowGroup(
    OpBuilder &b, Location loc, Value x3, int64_t width, ValueRange inits,
    function_ref<SmallVector<Value>(const RowGroup &, ValueRange)> body);

/// The operands of a chain op over rows: the pairs [N, 2], cos and sin
/// [H, N], and whether the rotations run last to first.
struct ChainOperands {
  Value pairs, cos, sin;
  bool reverse;
};
template <typename ChainOp> ChainOperands operandsOf(ChainOp op) {
  return {op.getPairs(), op.getCos(), op.getSin(), op.getReverse()};
}

/// Rotation `step` of a chain of `n` rotations in the order the chain runs
/// (the last first with `reverse`): its index k, its features (i, j) and
/// its c, s from row `angleRow` of the tables. `c0`, `c1`: the index
/// constants of the loop's scope.
struct ChainRotation {
  Value k, i, j, cos, sin;
};
ChainRotation chainRotation(OpBuilder &b, Location loc,
                            const ChainOperands &tables, Value step,
                            Value angleRow, Value n, Value c0, Value c1);
/// (x_i, x_j) turned: (x_i·c + x_j·s, x_j·c − x_i·s) as FMAs, on scalars
/// or vectors (c, s and −s of the operands' type).
std::pair<Value, Value> rotatePair(OpBuilder &b, Location loc, Value xi,
                                   Value xj, Value c, Value s, Value negS);

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

/// The flops of a chain and of its fold, both linear in the rows: the
/// chain chainPerRow·rows, the fold foldPerRow·rows + foldFixed.
struct ChainCosts {
  OpFoldResult rows, chainPerRow, foldPerRow, foldFixed;
};

/// Whether to fold: the strategy when it is not auto, else the cheaper
/// form by the flop counts `costs` returns — a constant when the sizes are
/// static or when the fold costs at least as much per row, else an i1
/// computed at run time.
std::variant<bool, Value>
chooseFold(OpBuilder &b, Location loc, ChainStrategy strategy,
           function_ref<ChainCosts(FlopCounter &)> costs);

/// Builds `fold` or `chain` (each returning values of `types` built at the
/// builder's point) as `choice` says: one of them when it is a constant,
/// else both under an scf.if whose results are returned. Branches that
/// compute into the same destinations bufferize to one buffer each.
SmallVector<Value> foldOrChainResults(
    OpBuilder &b, Location loc, std::variant<bool, Value> choice,
    TypeRange types,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> fold,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> chain);

/// The GPU's decompositions of rotary.givens_rows and givens_rows_grad
/// tiles (ChainThreads.cpp).
void populateChainThreadPatterns(RewritePatternSet &patterns);

/// `v` with its dims permuted by `perm` (linalg.transpose).
Value permuted(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm);

/// x [..., D] as [M, H, D] (per-head chains) or [M, 1, D].
Value chainRows(OpBuilder &b, Location loc, Value x, bool perHead);
/// The inverse of chainRows, cast to `xType`.
Value chainUnrows(OpBuilder &b, Location loc, Value y3,
                  ArrayRef<OpFoldResult> xSizes, bool perHead, Type xType);
/// angles [N] as [1, N]; [H, N] unchanged.
Value chainAngles(OpBuilder &b, Location loc, Value angles);
/// cos ψ and sin ψ of the angles `a2` [H, N] in float type `elt`, ψ = −φ
/// when `negate` (an inverse chain): once per call, not once per tile.
std::pair<Value, Value> chainCosSin(OpBuilder &b, Location loc, Value a2,
                                    bool negate, Type elt);
/// The [N, 2] index table of a chain's pairs for its angles `a2` [H, N]:
/// the attribute, else the default schedule (a constant when D (`staticD`)
/// and N are static, else computed once per call from `d`).
Value chainPairTable(OpBuilder &b, Location loc,
                     std::optional<ArrayRef<int64_t>> pairs, int64_t staticD,
                     Value d, Value a2);

} // namespace rotary::lowering

#endif // LIB_CONVERSION_ROTARYTOLINALG_CHAINCOMMON_H
