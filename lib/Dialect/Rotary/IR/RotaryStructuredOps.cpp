//===- RotaryStructuredOps.cpp - the destination-passing ops --------------===//
//
// Verifiers and TilingInterface of the structured level. A tile is the same
// op on slices: the tiling driver (scf::tileUsingSCF, the transform
// dialect's tile_using_forall) needs nothing else.
//
//===----------------------------------------------------------------------===//

#include "Structured.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::detail;

// Shared with RotaryPartialReductions.cpp (Structured.h).
namespace rotary::detail {
Value sliceOf(OpBuilder &b, Location loc, Value v,
              ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
              SmallVectorImpl<Operation *> &slices) {
  auto slice = tensor::ExtractSliceOp::create(
      b, loc, v, offsets, sizes,
      SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1)));
  slices.push_back(slice);
  return slice;
}

/// The offsets and sizes of `v`'s part with the leading dims given by
/// (offsets, sizes) and the rest whole.
static void leadingRange(OpBuilder &b, Location loc, Value v,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes,
                         SmallVector<OpFoldResult> &off,
                         SmallVector<OpFoldResult> &sz) {
  off.assign(offsets.begin(), offsets.end());
  sz.assign(sizes.begin(), sizes.end());
  SmallVector<OpFoldResult> all = tensor::getMixedSizes(b, loc, v);
  for (size_t d = offsets.size(); d < all.size(); ++d) {
    off.push_back(b.getIndexAttr(0));
    sz.push_back(all[d]);
  }
}

Value leadingSlice(OpBuilder &b, Location loc, Value v,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   SmallVectorImpl<Operation *> &slices) {
  SmallVector<OpFoldResult> off, sz;
  leadingRange(b, loc, v, offsets, sizes, off, sz);
  return sliceOf(b, loc, v, off, sz, slices);
}

Value shifted(OpBuilder &b, Location loc, Value base, OpFoldResult offset) {
  if (isConstantIntValue(offset, 0))
    return base;
  return arith::AddIOp::create(b, loc, base,
                               getValueOrCreateConstantIndexOp(b, loc, offset));
}

SmallVector<Range> domainOf(OpBuilder &b, Location loc, Value v,
                            ArrayRef<int64_t> dims) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  return llvm::map_to_vector(dims, [&](int64_t d) {
    return Range{b.getIndexAttr(0), sizes[d], b.getIndexAttr(1)};
  });
}

FailureOr<TilingResult> cloneOnSlices(OpBuilder &b, Operation *op,
                                      SmallVectorImpl<Operation *> &slices,
                                      function_ref<Value(OpOperand &)> slice,
                                      function_ref<Value(OpOperand &)> index) {
  // Tensors first, then the positions (the IR reads slices, then shifts).
  SmallVector<Value> operands(op->getOperands());
  for (OpOperand &o : op->getOpOperands())
    if (!o.get().getType().isIndex())
      operands[o.getOperandNumber()] = slice(o);
  for (OpOperand &o : op->getOpOperands())
    if (o.get().getType().isIndex())
      operands[o.getOperandNumber()] = index(o);
  TypeRange types =
      ValueRange(operands).take_back(op->getNumResults()).getTypes();
  Operation *tiled = mlir::clone(b, op, types, operands);
  return TilingResult{{tiled},
                      SmallVector<Value>(tiled->getResults()),
                      {slices.begin(), slices.end()}};
}

} // namespace rotary::detail

namespace {
/// `rows` of `op` must be [B, H, T] like q.
LogicalResult verifyRowsLikeQ(Operation *op, StringRef name, Value rows,
                              Value q) {
  RankedTensorType r = rtt(rows);
  SmallVector<int64_t> expected(rtt(q).getShape().take_front(3));
  if (!sameShape(r, expected))
    return shapeError(op, name, fmtShape(expected) + " ([B, H, T] like 'q')",
                      r);
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// rotary.online_attention
//===----------------------------------------------------------------------===//

LogicalResult OnlineAttentionOp::verify() {
  ShapeRules rules(*this);
  if (failed(verifyAttention(rules, getQ(), getK(), getV(), getBias(),
                             getSpan(), getWindow(), getGlobalTokens(),
                             getScale(), getSpanRamp())))
    return failure();
  return verifyRowsLikeQ(*this, "lse_init", getLseInit(), getQ());
}

SmallVector<utils::IteratorType> OnlineAttentionOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel);
}

SmallVector<Range> OnlineAttentionOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getQ(), {0, 1, 2});
}

FailureOr<TilingResult>
OnlineAttentionOp::getTiledImplementation(OpBuilder &b,
                                          ArrayRef<OpFoldResult> offsets,
                                          ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  SmallVector<Operation *> slices;
  // (b, h, i) of q and the outputs; (b, h) of the keys; h (and i) of the
  // per-head operands.
  Value bias = getBias();
  auto slice = [&](OpOperand &o) -> Value {
    Value v = o.get();
    bool isBias = isOperand(o, getBiasMutable());
    if (isOperand(o, getKMutable()) || isOperand(o, getVMutable()))
      return leadingSlice(b, loc, v, offsets.take_front(2), sizes.take_front(2),
                          slices);
    if (isOperand(o, getSpanMutable()) || (isBias && rtt(bias).getRank() == 2))
      return leadingSlice(b, loc, v, offsets.slice(1, 1), sizes.slice(1, 1),
                          slices);
    if (isBias) // [H, T, S]
      return leadingSlice(b, loc, v, offsets.slice(1, 2), sizes.slice(1, 2),
                          slices);
    return leadingSlice(b, loc, v, offsets, sizes, slices); // q, the inits
  };
  return cloneOnSlices(b, *this, slices, slice, [&](OpOperand &first) {
    return shifted(b, loc, first.get(), offsets[2]);
  });
}

LogicalResult OnlineAttentionOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  // The output's D is never split.
  Value init = resultNumber == 0 ? getOutputInit() : getLseInit();
  leadingRange(b, getLoc(), init, offsets, sizes, resultOffsets, resultSizes);
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.online_attention_query_grad / rotary.online_attention_key_grad
//===----------------------------------------------------------------------===//

namespace {
/// The checks of both passes: the forward's, then lse (and δ, of its type)
/// [B, H, T], then the inits against `expected` (name, type).
template <typename OpTy>
LogicalResult
verifyGradPass(OpTy op,
               ArrayRef<std::pair<StringRef, RankedTensorType>> expected) {
  ShapeRules rules(op);
  if (failed(verifyAttention(rules, op.getQ(), op.getK(), op.getV(),
                             op.getBias(), op.getSpan(), op.getWindow(),
                             op.getGlobalTokens(), op.getScale(),
                             op.getSpanRamp())))
    return failure();
  if (failed(verifyRowsLikeQ(op, "lse", op.getLse(), op.getQ())))
    return failure();
  ValueRange inits = op.getInits();
  if (inits.size() != expected.size()) {
    std::string names;
    for (auto [name, type] : expected)
      names += (names.empty() ? "" : ", ") + name.str();
    return op.emitOpError() << "expects " << expected.size() << " inits ("
                            << names << "), but got " << inits.size();
  }
  for (auto [init, want] : llvm::zip(inits, expected)) {
    auto t = dyn_cast<RankedTensorType>(init.getType());
    bool ok = t && t.getElementType() == want.second.getElementType() &&
              sameShape(t, want.second.getShape());
    if (!ok)
      return op.emitOpError() << "init '" << want.first << "' must have type "
                              << want.second << ", but got " << init.getType();
  }
  return success();
}

/// The per-(h, query) partial inits of a pass that writes q̄: the bias rows
/// [H, T, 2W'+1 or S] with a bias, the span rows [H, T] with a span.
template <typename OpTy>
void appendPartialInits(
    OpTy op, SmallVectorImpl<std::pair<StringRef, RankedTensorType>> &out) {
  RankedTensorType q = rtt(op.getQ()), k = rtt(op.getK());
  Type f32 = Float32Type::get(op.getContext());
  int64_t h = q.getRank() == 4 ? q.getDimSize(1) : kDyn,
          t = q.getRank() == 4 ? q.getDimSize(2) : kDyn;
  if (Value bias = op.getBias()) {
    RankedTensorType bt = rtt(bias);
    int64_t width = bt.getRank() == 2
                        ? bt.getDimSize(1)
                        : (k.getRank() == 4 ? k.getDimSize(2) : kDyn);
    out.push_back({"bias rows", RankedTensorType::get({h, t, width}, f32)});
  }
  if (op.getSpan())
    out.push_back({"span rows", RankedTensorType::get({h, t}, f32)});
}

} // namespace

LogicalResult OnlineAttentionQueryGradOp::verify() {
  SmallVector<std::pair<StringRef, RankedTensorType>> expected = {
      {"dq", rtt(getQ())}};
  appendPartialInits(*this, expected);
  return verifyGradPass(*this, expected);
}

SmallVector<utils::IteratorType>
OnlineAttentionQueryGradOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
}

SmallVector<Range>
OnlineAttentionQueryGradOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getQ(), {1, 2});
}

FailureOr<TilingResult> OnlineAttentionQueryGradOp::getTiledImplementation(
    OpBuilder &b, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  SmallVector<Operation *> slices;
  OpFoldResult zero = b.getIndexAttr(0);
  OpFoldResult batch = tensor::getMixedSize(b, loc, getQ(), 0);
  Value bias = getBias();
  bool table = bias && rtt(bias).getRank() == 2;
  // Per-head tensors [H, ...] cut on h, the per-(h, query) ones [H, T, ...]
  // on (h, i), the per-(b, h) ones on h and the per-(b, h, query) ones on
  // (h, i), all batch entries.
  MutableOperandRange inits = getInitsMutable();
  auto slice = [&](OpOperand &o) -> Value {
    Value v = o.get();
    bool isBias = isOperand(o, getBiasMutable());
    if (isOperand(o, getSpanMutable()) || (isBias && table))
      return leadingSlice(b, loc, v, offsets.take_front(1), sizes.take_front(1),
                          slices);
    if (isBias || (isOperand(o, inits) && &o != &inits[0]))
      return leadingSlice(b, loc, v, offsets, sizes, slices);
    if (isOperand(o, getKMutable()) || isOperand(o, getVMutable()))
      return leadingSlice(b, loc, v, {zero, offsets[0]}, {batch, sizes[0]},
                          slices);
    return leadingSlice(b, loc, v, {zero, offsets[0], offsets[1]},
                        {batch, sizes[0], sizes[1]}, slices);
  };
  return cloneOnSlices(b, *this, slices, slice, [&](OpOperand &first) {
    return shifted(b, loc, first.get(), offsets[1]);
  });
}

LogicalResult OnlineAttentionQueryGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  Value init = getInits()[resultNumber];
  SmallVector<OpFoldResult> off(offsets), sz(sizes);
  if (resultNumber == 0) {
    // q̄ [B, H, T, D]: every batch entry, the whole D.
    off.insert(off.begin(), b.getIndexAttr(0));
    sz.insert(sz.begin(), tensor::getMixedSize(b, getLoc(), init, 0));
  }
  leadingRange(b, getLoc(), init, off, sz, resultOffsets, resultSizes);
  return success();
}

LogicalResult OnlineAttentionKeyGradOp::verify() {
  return verifyGradPass(*this, {{"dk", rtt(getK())}, {"dv", rtt(getV())}});
}

SmallVector<utils::IteratorType>
OnlineAttentionKeyGradOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel);
}

SmallVector<Range> OnlineAttentionKeyGradOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getK(), {0, 1, 2});
}

FailureOr<TilingResult>
OnlineAttentionKeyGradOp::getTiledImplementation(OpBuilder &b,
                                                 ArrayRef<OpFoldResult> offsets,
                                                 ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  SmallVector<Operation *> slices;
  Value bias = getBias();
  auto slice = [&](OpOperand &o) -> Value {
    Value v = o.get();
    bool isBias = isOperand(o, getBiasMutable());
    if (isOperand(o, getQMutable()) || isOperand(o, getDoutputMutable()) ||
        isOperand(o, getLseMutable()) || isOperand(o, getDeltaMutable()))
      return leadingSlice(b, loc, v, offsets.take_front(2), sizes.take_front(2),
                          slices);
    if (isOperand(o, getSpanMutable()) || (isBias && rtt(bias).getRank() == 2))
      return leadingSlice(b, loc, v, offsets.slice(1, 1), sizes.slice(1, 1),
                          slices);
    if (isBias) // [H, T, S]: the tile's heads and keys, every query
      return sliceOf(b, loc, v, {offsets[1], b.getIndexAttr(0), offsets[2]},
                     {sizes[1], tensor::getMixedSize(b, loc, v, 1), sizes[2]},
                     slices);
    return leadingSlice(b, loc, v, offsets, sizes, slices); // k, v, inits
  };
  // Positions stay; the first key moves by the tile's.
  return cloneOnSlices(b, *this, slices, slice, [&](OpOperand &index) {
    return isOperand(index, getFirstKeyMutable())
               ? shifted(b, loc, index.get(), offsets[2])
               : index.get();
  });
}

LogicalResult OnlineAttentionKeyGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  leadingRange(b, getLoc(), getInits()[resultNumber], offsets, sizes,
               resultOffsets, resultSizes);
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.online_attention_grad
//===----------------------------------------------------------------------===//

LogicalResult OnlineAttentionGradOp::verify() {
  SmallVector<std::pair<StringRef, RankedTensorType>> expected = {
      {"dq", rtt(getQ())}, {"dk", rtt(getK())}, {"dv", rtt(getV())}};
  appendPartialInits(*this, expected);
  return verifyGradPass(*this, expected);
}

SmallVector<utils::IteratorType> OnlineAttentionGradOp::getLoopIteratorTypes() {
  // The partials of a bias or a span sum over the batch.
  bool partials = getBias() || getSpan();
  return {partials ? utils::IteratorType::reduction
                   : utils::IteratorType::parallel,
          utils::IteratorType::parallel};
}

SmallVector<Range> OnlineAttentionGradOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getQ(), {0, 1});
}

/// Whether `o` is one of the per-head operands or inits of `op`, cut on h
/// only: the bias, the span and the partials.
static bool isPerHead(OnlineAttentionGradOp op, OpOperand &o) {
  MutableOperandRange inits = op.getInitsMutable();
  return isOperand(o, op.getBiasMutable()) ||
         isOperand(o, op.getSpanMutable()) ||
         (isOperand(o, inits) &&
          o.getOperandNumber() >= inits[0].getOperandNumber() + 3);
}

FailureOr<TilingResult>
OnlineAttentionGradOp::getTiledImplementation(OpBuilder &b,
                                              ArrayRef<OpFoldResult> offsets,
                                              ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  SmallVector<Operation *> slices;
  auto slice = [&](OpOperand &o) -> Value {
    if (isPerHead(*this, o))
      return leadingSlice(b, loc, o.get(), offsets.drop_front(),
                          sizes.drop_front(), slices);
    return leadingSlice(b, loc, o.get(), offsets, sizes, slices);
  };
  // Positions stay: a tile has every query and key of its (b, h).
  return cloneOnSlices(b, *this, slices, slice,
                       [](OpOperand &index) { return index.get(); });
}

LogicalResult OnlineAttentionGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  // q̄, k̄, v̄ on (b, h), the partials on h.
  bool perHead = resultNumber >= 3;
  leadingRange(b, getLoc(), getInits()[resultNumber],
               offsets.drop_front(perHead), sizes.drop_front(perHead),
               resultOffsets, resultSizes);
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.hdd_rope_lanes / rotary.hdd_rope_lanes_grad
//===----------------------------------------------------------------------===//

namespace {
/// x [B, T, L·c] and the angles [B, T, L·k] of a lane op with chunk c.
LogicalResult verifyLaneOperands(Operation *op, int64_t c, SOForm form,
                                 Value xv, Value anglesV) {
  if (failed(verifyChunk(op, c)))
    return failure();
  if (form == SOForm::exp && c > kMaxExpLaneChunk)
    return op->emitOpError()
           << "attribute 'form' = exp needs 'chunk' <= " << kMaxExpLaneChunk
           << " (the exp is unrolled per lane), got " << c;
  RankedTensorType x = rtt(xv), a = rtt(anglesV);
  if (x.getRank() != 3 || (!isDyn(x.getDimSize(2)) && x.getDimSize(2) % c))
    return shapeError(op, "x", "[B, T, L·c] (rank 3, a multiple of c)", x);
  int64_t lanes = isDyn(x.getDimSize(2)) ? kDyn : x.getDimSize(2) / c;
  SmallVector<int64_t> expected = {
      x.getDimSize(0), x.getDimSize(1),
      isDyn(lanes) ? kDyn : lanes * numGeneratorAngles(c)};
  if (!sameShape(a, expected))
    return shapeError(op, "angles",
                      fmtShape(expected) + " ([B, T, L·c(c−1)/2])", a);
  return success();
}

/// Init `name` [B, T, n·per] of a lane op: whole lanes, at most x's.
LogicalResult verifyLaneInit(Operation *op, StringRef name, Value init,
                             Value xv, int64_t c, int64_t per) {
  RankedTensorType x = rtt(xv), y = rtt(init);
  bool ok = y.getRank() == 3 &&
            (isDyn(y.getDimSize(2)) || y.getDimSize(2) % per == 0) &&
            compatible(y.getDimSize(0), x.getDimSize(0)) &&
            compatible(y.getDimSize(1), x.getDimSize(1)) &&
            (isDyn(y.getDimSize(2)) || isDyn(x.getDimSize(2)) ||
             y.getDimSize(2) / per <= x.getDimSize(2) / c);
  if (!ok)
    return shapeError(op, name,
                      fmtShape({x.getDimSize(0), x.getDimSize(1), kDyn}) +
                          " ([B, T, n·" + (per == c ? "c" : "c(c−1)/2") +
                          "], at most x's lanes)",
                      y);
  return success();
}

/// (B, lanes) of a lane op whose first init holds `per` values per lane.
SmallVector<Range> laneDomain(OpBuilder &b, Location loc, Value init,
                              int64_t per) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, init);
  Value lanes = b.createOrFold<arith::DivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, sizes[2]),
      arith::ConstantIndexOp::create(b, loc, per));
  return {
      Range{b.getIndexAttr(0), sizes[0], b.getIndexAttr(1)},
      Range{b.getIndexAttr(0), getAsOpFoldResult(lanes), b.getIndexAttr(1)}};
}

/// Columns [l·per, (l + n)·per) of every token of batch entries
/// [b, b + nb) of a [B, T, L·per] tensor, as (offsets, sizes).
std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
laneColumns(OpBuilder &b, Location loc, Value v, ArrayRef<OpFoldResult> offsets,
            ArrayRef<OpFoldResult> sizes, int64_t per) {
  auto scaled = [&](OpFoldResult ofr) -> OpFoldResult {
    if (std::optional<int64_t> c = getConstantIntValue(ofr))
      return b.getIndexAttr(*c * per);
    return arith::MulIOp::create(b, loc,
                                 getValueOrCreateConstantIndexOp(b, loc, ofr),
                                 arith::ConstantIndexOp::create(b, loc, per))
        .getResult();
  };
  return {{offsets[0], b.getIndexAttr(0), scaled(offsets[1])},
          {sizes[0], tensor::getMixedSize(b, loc, v, 1), scaled(sizes[1])}};
}

/// A tile (b, l) of a lane op: its inputs on the batch entries only (every
/// lane), init i on the tile's lanes (`per[i]` values per lane), and
/// first_lane + l.
FailureOr<TilingResult> tileLanes(OpBuilder &b, DestinationStyleOpInterface op,
                                  ArrayRef<int64_t> per,
                                  ArrayRef<OpFoldResult> offsets,
                                  ArrayRef<OpFoldResult> sizes) {
  Location loc = op->getLoc();
  SmallVector<Operation *> slices;
  auto slice = [&](OpOperand &o) -> Value {
    Value v = o.get();
    if (op.isDpsInit(&o)) {
      auto [off, sz] =
          laneColumns(b, loc, v, offsets, sizes,
                      per[op.getTiedOpResult(&o).getResultNumber()]);
      return sliceOf(b, loc, v, off, sz, slices);
    }
    return leadingSlice(b, loc, v, offsets.take_front(1), sizes.take_front(1),
                        slices);
  };
  return cloneOnSlices(b, op, slices, slice, [&](OpOperand &firstLane) {
    return shifted(b, loc, firstLane.get(), offsets[1]);
  });
}
} // namespace

LogicalResult HDDRopeLanesOp::verify() {
  int64_t c = getChunk();
  if (failed(verifyLaneOperands(*this, c, getForm(), getX(), getAngles())))
    return failure();
  return verifyLaneInit(*this, "init", getInit(), getX(), c, c);
}

SmallVector<utils::IteratorType> HDDRopeLanesOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
}

SmallVector<Range> HDDRopeLanesOp::getIterationDomain(OpBuilder &b) {
  return laneDomain(b, getLoc(), getInit(), getChunk());
}

FailureOr<TilingResult>
HDDRopeLanesOp::getTiledImplementation(OpBuilder &b,
                                       ArrayRef<OpFoldResult> offsets,
                                       ArrayRef<OpFoldResult> sizes) {
  return tileLanes(b, *this, {getChunk()}, offsets, sizes);
}

LogicalResult HDDRopeLanesOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  std::tie(resultOffsets, resultSizes) =
      laneColumns(b, getLoc(), getInit(), offsets, sizes, getChunk());
  return success();
}

LogicalResult HDDRopeLanesGradOp::verify() {
  int64_t c = getChunk();
  if (failed(verifyLaneOperands(*this, c, getForm(), getX(), getAngles())) ||
      failed(verifyLaneInit(*this, "dx_init", getDxInit(), getX(), c, c)) ||
      failed(verifyLaneInit(*this, "da_init", getDaInit(), getX(), c,
                            numGeneratorAngles(c))))
    return failure();
  return success();
}

SmallVector<utils::IteratorType> HDDRopeLanesGradOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
}

SmallVector<Range> HDDRopeLanesGradOp::getIterationDomain(OpBuilder &b) {
  return laneDomain(b, getLoc(), getDxInit(), getChunk());
}

FailureOr<TilingResult>
HDDRopeLanesGradOp::getTiledImplementation(OpBuilder &b,
                                           ArrayRef<OpFoldResult> offsets,
                                           ArrayRef<OpFoldResult> sizes) {
  int64_t c = getChunk();
  return tileLanes(b, *this, {c, numGeneratorAngles(c)}, offsets, sizes);
}

LogicalResult HDDRopeLanesGradOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  int64_t c = getChunk();
  std::tie(resultOffsets, resultSizes) = laneColumns(
      b, getLoc(), resultNumber == 0 ? getDxInit() : getDaInit(), offsets,
      sizes, resultNumber == 0 ? c : numGeneratorAngles(c));
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.givens_rows
//===----------------------------------------------------------------------===//

LogicalResult GivensRowsOp::verify() {
  RankedTensorType x = rtt(getX()), cs = rtt(getCos()), pairs = rtt(getPairs());
  if (x.getRank() != 3)
    return shapeError(*this, "x", "[M, H, D] (rank 3)", x);
  int64_t h = x.getDimSize(1), d = x.getDimSize(2);
  if (cs.getRank() != 2 ||
      !(cs.getDimSize(0) == 1 || compatible(cs.getDimSize(0), h)))
    return shapeError(*this, "cos",
                      fmtShape({h, kDyn}) + " or [1, N] ([H, N] per head)", cs);
  int64_t n = cs.getDimSize(1);
  if (pairs.getRank() != 2 || !compatible(pairs.getDimSize(0), n) ||
      pairs.getDimSize(1) != 2)
    return shapeError(*this, "pairs", fmtShape({n, 2}) + " ([N, 2])", pairs);
  if (Value m = getMatrix()) {
    RankedTensorType r = rtt(m);
    bool perHead = r.getRank() == 3;
    bool ok = (r.getRank() == 2 || perHead) &&
              (!perHead || compatible(r.getDimSize(0), h)) &&
              compatible(r.getDimSize(r.getRank() - 2), d) &&
              compatible(r.getDimSize(r.getRank() - 1), d);
    if (!ok)
      return shapeError(*this, "matrix",
                        fmtShape({d, d}) + " or " + fmtShape({h, d, d}), r);
  }
  RankedTensorType y = rtt(getInit());
  if (!sameShape(y, x.getShape()))
    return shapeError(*this, "init", fmtShape(x.getShape()) + " (like 'x')", y);
  return success();
}

SmallVector<utils::IteratorType> GivensRowsOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
}

SmallVector<Range> GivensRowsOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getInit(), {0, 1});
}

FailureOr<TilingResult>
GivensRowsOp::getTiledImplementation(OpBuilder &b,
                                     ArrayRef<OpFoldResult> offsets,
                                     ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  SmallVector<Operation *> slices;
  Value matrix = getMatrix();
  bool perHeadMatrix = matrix && rtt(matrix).getRank() == 3;
  auto slice = [&](OpOperand &o) -> Value {
    Value v = o.get();
    if (isOperand(o, getXMutable()) || isOperand(o, getInitMutable()))
      return leadingSlice(b, loc, v, offsets, sizes, slices);
    // A shared chain's tables, the pairs and a shared matrix stay whole.
    bool table = isOperand(o, getCosMutable()) || isOperand(o, getSinMutable());
    bool perHead = (table && perHeadAngles()) ||
                   (isOperand(o, getMatrixMutable()) && perHeadMatrix);
    if (!perHead)
      return v;
    return leadingSlice(b, loc, v, offsets.slice(1, 1), sizes.slice(1, 1),
                        slices);
  };
  return cloneOnSlices(b, *this, slices, slice, sameIndex);
}

LogicalResult GivensRowsOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  resultOffsets.push_back(b.getIndexAttr(0));
  resultSizes.push_back(tensor::getMixedSize(b, getLoc(), getInit(), 2));
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.rotation_scan
//===----------------------------------------------------------------------===//

LogicalResult RotationScanOp::verify() {
  RankedTensorType g = rtt(getRotations()), carry = rtt(getCarryInit());
  int64_t c = g.getRank() == 5 ? g.getDimSize(4) : kDyn;
  if (g.getRank() != 5 || isDyn(c) || g.getDimSize(3) != c || c < 2 ||
      c > kMaxChunk)
    return shapeError(*this, "rotations",
                      "[A, T, Bm, c, c] with a static c in [2, " +
                          std::to_string(kMaxChunk) + "]",
                      g);
  // R rows of the carry, static (a tile's rows are unrolled), at most c.
  int64_t rows = carry.getRank() == 4 ? carry.getDimSize(2) : kDyn;
  if (isDyn(rows) || rows < 1 || rows > c)
    rows = c;
  SmallVector<int64_t> expected = {g.getDimSize(0), g.getDimSize(2), rows, c};
  if (!sameShape(carry, expected))
    return shapeError(*this, "carry_init",
                      fmtShape(expected) +
                          " ([A, Bm, R, c] with a static R in [1, c])",
                      carry);
  SmallVector<int64_t> pShape = {g.getDimSize(0), g.getDimSize(1),
                                 g.getDimSize(2), rows, c};
  if (!sameShape(rtt(getPInit()), pShape))
    return shapeError(*this, "p_init",
                      fmtShape(pShape) + " ([A, T, Bm, R, c] like the carry)",
                      rtt(getPInit()));
  return success();
}

SmallVector<utils::IteratorType> RotationScanOp::getLoopIteratorTypes() {
  return {utils::IteratorType::parallel, utils::IteratorType::reduction,
          utils::IteratorType::parallel, utils::IteratorType::parallel};
}

SmallVector<Range> RotationScanOp::getIterationDomain(OpBuilder &b) {
  return domainOf(b, getLoc(), getPInit(), {0, 1, 2, 3});
}

FailureOr<TilingResult>
RotationScanOp::getTiledImplementation(OpBuilder &b,
                                       ArrayRef<OpFoldResult> offsets,
                                       ArrayRef<OpFoldResult> sizes) {
  // The steps on (a, t, bm), P on (a, t, bm, r), the carry on (a, bm, r).
  SmallVector<Operation *> slices;
  Location loc = getLoc();
  SmallVector<OpFoldResult> carryOffsets = {offsets[0], offsets[2], offsets[3]},
                            carrySizes = {sizes[0], sizes[2], sizes[3]};
  auto slice = [&](OpOperand &o) -> Value {
    if (isOperand(o, getCarryInitMutable()))
      return leadingSlice(b, loc, o.get(), carryOffsets, carrySizes, slices);
    if (isOperand(o, getRotationsMutable()))
      return leadingSlice(b, loc, o.get(), offsets.take_front(3),
                          sizes.take_front(3), slices);
    return leadingSlice(b, loc, o.get(), offsets, sizes, slices);
  };
  return cloneOnSlices(b, *this, slices, slice, sameIndex);
}

LogicalResult RotationScanOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  OpFoldResult zero = b.getIndexAttr(0), c = b.getIndexAttr(getChunkSize());
  if (resultNumber == 0) {
    resultOffsets = {offsets[0], offsets[1], offsets[2], offsets[3], zero};
    resultSizes = {sizes[0], sizes[1], sizes[2], sizes[3], c};
  } else {
    resultOffsets = {offsets[0], offsets[2], offsets[3], zero};
    resultSizes = {sizes[0], sizes[2], sizes[3], c};
  }
  return success();
}
