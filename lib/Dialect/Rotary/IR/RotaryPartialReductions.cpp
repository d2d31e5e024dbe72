//===- RotaryPartialReductions.cpp - structured ops with reductions -------===//
//
// Verifiers, TilingInterface and PartialReductionOpInterface of the
// structured gradients whose parameter sums reduce over the dims a target
// tiles in parallel (rows of a Givens chain, batch and tokens of a rope).
// Each parallel tile writes its own row of a table of partial sums, zeroed
// before the loop and reduced into the op's inits after it
// (scf::tileUsingSCF's outer-parallel partial reduction). The driver calls
// the interface on a clone whose sum inits are already the partial tables,
// and passes, as the "tile size" of each reduction dim, the number of its
// tiles: the size of that dim of the table.
//
//===----------------------------------------------------------------------===//

#include "Structured.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::detail;

namespace {
/// Zeroed f64 partial sums of `init`: one copy of it per tile, indexed by
/// the leading dims `tiles`.
Value zeroPartials(OpBuilder &b, Location loc, Value init,
                   ArrayRef<OpFoldResult> tiles) {
  SmallVector<OpFoldResult> sizes(tiles);
  llvm::append_range(sizes, tensor::getMixedSizes(b, loc, init));
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF64Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// The position of a tile's partial sums in a table of them: the tile's
/// indices `ivs` along the leading dims, then `offsets` / `sizes` of the
/// init's own dims (the last `sizes.size()` dims of `partial`).
void partialPosition(OpBuilder &b, ArrayRef<OpFoldResult> ivs,
                     ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes,
                     SmallVector<OpFoldResult> &resultOffsets,
                     SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(ivs.begin(), ivs.end());
  resultSizes.assign(ivs.size(), b.getIndexAttr(1));
  llvm::append_range(resultOffsets, offsets);
  llvm::append_range(resultSizes, sizes);
}

/// The slice of `partial` at a position from partialPosition, without its
/// unit leading dims.
Value partialSlice(OpBuilder &b, Location loc, Value partial,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   int64_t leading, SmallVectorImpl<Operation *> &slices) {
  auto type = cast<RankedTensorType>(partial.getType());
  auto slice = tensor::ExtractSliceOp::create(
      b, loc,
      tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
          type.getRank() - leading, type, sizes),
      partial, offsets, sizes,
      SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1)));
  slices.push_back(slice);
  return slice;
}

/// `init` + the sum of `partial` over its `leading` leading dims.
linalg::ReduceOp mergeInto(OpBuilder &b, Location loc, Value partial,
                           Value init, int64_t leading) {
  return linalg::ReduceOp::create(
      b, loc, ValueRange{partial}, ValueRange{init},
      llvm::to_vector(llvm::seq<int64_t>(0, leading)),
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(
            nb, l, Value(arith::AddFOp::create(nb, l, args[0], args[1])));
      });
}
} // namespace

//===----------------------------------------------------------------------===//
// rotary.givens_rows_grad
//===----------------------------------------------------------------------===//

LogicalResult GivensRowsGradOp::verify() {
  RankedTensorType x = rtt(getX()), cs = rtt(getCos()), pairs = rtt(getPairs());
  if (x.getRank() != 3)
    return shapeError(*this, "x", "[M, H, D] (rank 3)", x);
  int64_t h = x.getDimSize(1);
  if (cs.getRank() != 2 || !compatible(cs.getDimSize(0), h))
    return shapeError(*this, "cos", fmtShape({h, kDyn}) + " ([H, N])", cs);
  int64_t n = cs.getDimSize(1);
  if (pairs.getRank() != 2 || !compatible(pairs.getDimSize(0), n) ||
      pairs.getDimSize(1) != 2)
    return shapeError(*this, "pairs", fmtShape({n, 2}) + " ([N, 2])", pairs);
  RankedTensorType dx = rtt(getDxInit()), da = rtt(getDaInit());
  if (!sameShape(dx, x.getShape()))
    return shapeError(*this, "dx_init", fmtShape(x.getShape()) + " (like 'x')",
                      dx);
  if (!sameShape(da, cs.getShape()))
    return shapeError(*this, "da_init",
                      fmtShape(cs.getShape()) + " (like 'cos')", da);
  return success();
}

SmallVector<utils::IteratorType> GivensRowsGradOp::getLoopIteratorTypes() {
  return {utils::IteratorType::reduction, utils::IteratorType::parallel};
}

SmallVector<Range> GivensRowsGradOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getX(), {0, 1});
}

namespace {
/// The tile of a rotary.givens_rows_grad: x, ȳ and x̄'s init on (m, h), the
/// tables on h; ψ̄'s init is `daInit` (already the tile's).
FailureOr<TilingResult> tileChainGrad(OpBuilder &b, GivensRowsGradOp op,
                                      ArrayRef<OpFoldResult> offsets,
                                      ArrayRef<OpFoldResult> sizes,
                                      Value dxInit, Value daInit,
                                      SmallVectorImpl<Operation *> &slices) {
  Location loc = op.getLoc();
  auto slice = [&](OpOperand &o) -> Value {
    if (isOperand(o, op.getPairsMutable()))
      return o.get();
    if (isOperand(o, op.getCosMutable()) || isOperand(o, op.getSinMutable()))
      return leadingSlice(b, loc, o.get(), offsets.drop_front(),
                          sizes.drop_front(), slices);
    if (isOperand(o, op.getDaInitMutable()))
      return daInit;
    Value v = isOperand(o, op.getDxInitMutable()) ? dxInit : o.get();
    return leadingSlice(b, loc, v, offsets, sizes, slices);
  };
  return cloneOnSlices(b, op, slices, slice, sameIndex);
}
} // namespace

FailureOr<TilingResult>
GivensRowsGradOp::getTiledImplementation(OpBuilder &b,
                                         ArrayRef<OpFoldResult> offsets,
                                         ArrayRef<OpFoldResult> sizes) {
  // A tile of rows accumulates into the heads' rows of ψ̄ (sequential
  // tiling of the reduction, or a tile of heads).
  SmallVector<Operation *> slices;
  Value da = leadingSlice(b, getLoc(), getDaInit(), offsets.drop_front(),
                          sizes.drop_front(), slices);
  return tileChainGrad(b, *this, offsets, sizes, getDxInit(), da, slices);
}

LogicalResult GivensRowsGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  Location loc = getLoc();
  if (resultNumber == 0) {
    resultOffsets = {offsets[0], offsets[1], b.getIndexAttr(0)};
    resultSizes = {sizes[0], sizes[1],
                   tensor::getMixedSize(b, loc, getDxInit(), 2)};
  } else {
    resultOffsets = {offsets[1], b.getIndexAttr(0)};
    resultSizes = {sizes[1], tensor::getMixedSize(b, loc, getDaInit(), 1)};
  }
  return success();
}

FailureOr<SmallVector<Value>>
GivensRowsGradOp::generateInitialTensorForPartialReduction(
    OpBuilder &b, Location loc, ArrayRef<OpFoldResult> tileSizes,
    const SetVector<unsigned> &reductionDims) {
  if (reductionDims.size() != 1 || reductionDims.front() != 0 ||
      isConstantIntValue(tileSizes[0], 0))
    return failure();
  // x̄ is written in place; ψ̄ gets one zeroed [H, N] per tile of rows.
  return SmallVector<Value>{getDxInit(),
                            zeroPartials(b, loc, getDaInit(), tileSizes[0])};
}

FailureOr<TilingResult> GivensRowsGradOp::tileToPartialReduction(
    OpBuilder &b, Location loc, ReductionTilingStrategy tilingStrategy,
    ValueRange init, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, const SetVector<unsigned> &reductionDims,
    ArrayRef<OpFoldResult> splitReductionIvs) {
  if (tilingStrategy != ReductionTilingStrategy::PartialReductionOuterParallel)
    return failure();
  SmallVector<Operation *> slices;
  SmallVector<OpFoldResult> pOffsets, pSizes;
  if (failed(getPartialResultTilePosition(b, 1, tilingStrategy, offsets, sizes,
                                          reductionDims, splitReductionIvs,
                                          pOffsets, pSizes)))
    return failure();
  Value da = partialSlice(b, loc, init[1], pOffsets, pSizes, 1, slices);
  return tileChainGrad(b, *this, offsets, sizes, init[0], da, slices);
}

FailureOr<MergeResult>
GivensRowsGradOp::mergeReductions(OpBuilder &b, Location loc,
                                  ValueRange partialReduce,
                                  const SetVector<unsigned> &reductionDims) {
  // da_init + Σ over tiles of the partials; x̄ is complete. (Called on the
  // op itself, whose ψ̄ init is the caller's [H, N].)
  if (rtt(getDaInit()).getRank() != 2 || rtt(partialReduce[1]).getRank() != 3)
    return failure();
  linalg::ReduceOp sum = mergeInto(b, loc, partialReduce[1], getDaInit(), 1);
  return MergeResult{{sum}, {partialReduce[0], sum.getResult(0)}};
}

LogicalResult GivensRowsGradOp::getPartialResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ReductionTilingStrategy tilingStrategy,
    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
    const SetVector<unsigned> &reductionDims,
    ArrayRef<OpFoldResult> splitReductionIvs,
    SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  if (resultNumber == 0)
    return getResultTilePosition(b, 0, offsets, sizes, resultOffsets,
                                 resultSizes);
  if (splitReductionIvs.size() != 1)
    return failure();
  // N is the last dim of ψ̄'s init: [H, N], or the partials [tiles, H, N]
  // of the clone the tiling driver calls this on.
  Value da = getDaInit();
  partialPosition(
      b, splitReductionIvs, {offsets[1], b.getIndexAttr(0)},
      {sizes[1], tensor::getMixedSize(b, getLoc(), da, rtt(da).getRank() - 1)},
      resultOffsets, resultSizes);
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.rope_tokens_grad
//===----------------------------------------------------------------------===//

LogicalResult RopeTokensGradOp::verify() {
  RankedTensorType x = rtt(getX()), pos = rtt(getPositions());
  int64_t r = x.getRank() == 4 ? x.getDimSize(3) : kDyn;
  if (x.getRank() != 4 || (!isDyn(r) && r % 2 != 0))
    return shapeError(*this, "x", "[B, T, H, r] (rank 4, r even)", x);
  int64_t batch = x.getDimSize(0), tokens = x.getDimSize(1);
  int64_t half = isDyn(r) ? kDyn : r / 2;
  if (!sameShape(pos, {tokens}) && !sameShape(pos, {batch, tokens}))
    return shapeError(*this, "positions",
                      fmtShape({tokens}) + " ([T]) or " +
                          fmtShape({batch, tokens}) + " ([B, T])",
                      pos);
  SmallVector<int64_t> table = perBatchPositions()
                                   ? SmallVector<int64_t>{batch, tokens, half}
                                   : SmallVector<int64_t>{tokens, half};
  if (!sameShape(rtt(getCos()), table))
    return shapeError(*this, "cos",
                      fmtShape(table) + (perBatchPositions() ? " ([B, T, r/2])"
                                                             : " ([T, r/2])"),
                      getCos().getType());
  if (!sameShape(rtt(getDthetaInit()), {half}))
    return shapeError(*this, "dtheta_init", fmtShape({half}) + " ([r/2])",
                      getDthetaInit().getType());
  return success();
}

SmallVector<utils::IteratorType> RopeTokensGradOp::getLoopIteratorTypes() {
  return {utils::IteratorType::reduction, utils::IteratorType::reduction};
}

SmallVector<Range> RopeTokensGradOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getX(), {0, 1});
}

namespace {
/// The tile (b, t) of a rotary.rope_tokens_grad: x, ȳ and x̄'s init
/// (`dxInit`) on (b, t), the table and positions on t (on (b, t) when per
/// batch); the sums accumulate into `dtheta` and `dthetaP`.
FailureOr<TilingResult> tileRopeGrad(OpBuilder &b, RopeTokensGradOp op,
                                     ArrayRef<OpFoldResult> offsets,
                                     ArrayRef<OpFoldResult> sizes, Value dxInit,
                                     Value dtheta, Value dthetaP,
                                     SmallVectorImpl<Operation *> &slices) {
  Location loc = op.getLoc();
  auto slice = [&](OpOperand &o) -> Value {
    if (isOperand(o, op.getDthetaInitMutable()))
      return dtheta;
    if (isOperand(o, op.getDthetaPInitMutable()))
      return dthetaP;
    bool table = isOperand(o, op.getCosMutable()) ||
                 isOperand(o, op.getSinMutable()) ||
                 isOperand(o, op.getPositionsMutable());
    if (table && !op.perBatchPositions())
      return leadingSlice(b, loc, o.get(), offsets.drop_front(),
                          sizes.drop_front(), slices);
    Value v = isOperand(o, op.getDxInitMutable()) ? dxInit : o.get();
    return leadingSlice(b, loc, v, offsets, sizes, slices);
  };
  return cloneOnSlices(b, op, slices, slice, sameIndex);
}
} // namespace

FailureOr<TilingResult>
RopeTokensGradOp::getTiledImplementation(OpBuilder &b,
                                         ArrayRef<OpFoldResult> offsets,
                                         ArrayRef<OpFoldResult> sizes) {
  // A tile of (batch, tokens) accumulates into the whole sums (sequential
  // tiling of the reductions).
  SmallVector<Operation *> slices;
  return tileRopeGrad(b, *this, offsets, sizes, getDxInit(), getDthetaInit(),
                      getDthetaPInit(), slices);
}

LogicalResult RopeTokensGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0);
  if (resultNumber == 0) {
    resultOffsets = {offsets[0], offsets[1], zero, zero};
    resultSizes = {sizes[0], sizes[1],
                   tensor::getMixedSize(b, loc, getDxInit(), 2),
                   tensor::getMixedSize(b, loc, getDxInit(), 3)};
  } else {
    resultOffsets = {zero};
    resultSizes = {tensor::getMixedSize(b, loc, getDthetaInit(), 0)};
  }
  return success();
}

FailureOr<SmallVector<Value>>
RopeTokensGradOp::generateInitialTensorForPartialReduction(
    OpBuilder &b, Location loc, ArrayRef<OpFoldResult> tileSizes,
    const SetVector<unsigned> &reductionDims) {
  SmallVector<OpFoldResult> tiles;
  for (unsigned d : reductionDims) {
    if (isConstantIntValue(tileSizes[d], 0))
      return failure();
    tiles.push_back(tileSizes[d]);
  }
  // x̄ is written in place; each sum gets one zeroed [r/2] per tile.
  return SmallVector<Value>{getDxInit(),
                            zeroPartials(b, loc, getDthetaInit(), tiles),
                            zeroPartials(b, loc, getDthetaPInit(), tiles)};
}

FailureOr<TilingResult> RopeTokensGradOp::tileToPartialReduction(
    OpBuilder &b, Location loc, ReductionTilingStrategy tilingStrategy,
    ValueRange init, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, const SetVector<unsigned> &reductionDims,
    ArrayRef<OpFoldResult> splitReductionIvs) {
  if (tilingStrategy != ReductionTilingStrategy::PartialReductionOuterParallel)
    return failure();
  SmallVector<Operation *> slices;
  SmallVector<OpFoldResult> pOffsets, pSizes;
  if (failed(getPartialResultTilePosition(b, 1, tilingStrategy, offsets, sizes,
                                          reductionDims, splitReductionIvs,
                                          pOffsets, pSizes)))
    return failure();
  int64_t leading = splitReductionIvs.size();
  Value dtheta =
      partialSlice(b, loc, init[1], pOffsets, pSizes, leading, slices);
  Value dthetaP =
      partialSlice(b, loc, init[2], pOffsets, pSizes, leading, slices);
  return tileRopeGrad(b, *this, offsets, sizes, init[0], dtheta, dthetaP,
                      slices);
}

FailureOr<MergeResult>
RopeTokensGradOp::mergeReductions(OpBuilder &b, Location loc,
                                  ValueRange partialReduce,
                                  const SetVector<unsigned> &reductionDims) {
  // The inits + Σ over tiles of the partials; x̄ is complete.
  int64_t leading = reductionDims.size();
  if (rtt(getDthetaInit()).getRank() != 1 ||
      rtt(partialReduce[1]).getRank() != 1 + leading)
    return failure();
  linalg::ReduceOp dtheta =
      mergeInto(b, loc, partialReduce[1], getDthetaInit(), leading);
  linalg::ReduceOp dthetaP =
      mergeInto(b, loc, partialReduce[2], getDthetaPInit(), leading);
  return MergeResult{
      {dtheta, dthetaP},
      {partialReduce[0], dtheta.getResult(0), dthetaP.getResult(0)}};
}

LogicalResult RopeTokensGradOp::getPartialResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ReductionTilingStrategy tilingStrategy,
    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
    const SetVector<unsigned> &reductionDims,
    ArrayRef<OpFoldResult> splitReductionIvs,
    SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  if (resultNumber == 0)
    return getResultTilePosition(b, 0, offsets, sizes, resultOffsets,
                                 resultSizes);
  if (splitReductionIvs.size() != reductionDims.size())
    return failure();
  // r/2 is the last dim of the sums' init: [r/2], or the partials
  // [tiles..., r/2] of the clone the tiling driver calls this on.
  Value init = getDthetaInit();
  partialPosition(
      b, splitReductionIvs, {b.getIndexAttr(0)},
      {tensor::getMixedSize(b, getLoc(), init, rtt(init).getRank() - 1)},
      resultOffsets, resultSizes);
  return success();
}
