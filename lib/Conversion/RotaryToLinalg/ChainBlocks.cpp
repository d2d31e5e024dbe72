//===- ChainBlocks.cpp - pieces of the Givens chain lowerings -------------===//
//
// What the forward and gradient lowerings of givens, rotation_block and
// orthogonal share (Lowering.h): rows of x as [M, H, D], the pair table of
// a schedule, cos/sin of the angles, and row-wise contractions.
//
//===----------------------------------------------------------------------===//

#include "ChainCommon.h"

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

/// `v` with its dims permuted by `perm` (linalg.transpose).
Value lowering::permuted(OpBuilder &b, Location loc, Value v,
                         ArrayRef<int64_t> perm) {
  SmallVector<OpFoldResult> in = tensor::getMixedSizes(b, loc, v), sizes;
  for (int64_t p : perm)
    sizes.push_back(in[p]);
  Type elt = cast<RankedTensorType>(v.getType()).getElementType();
  return linalg::TransposeOp::create(b, loc, v, emptyOf(b, loc, sizes, elt),
                                     perm)
      ->getResult(0);
}
