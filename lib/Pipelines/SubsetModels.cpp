//===- SubsetModels.cpp - cheap slice equivalence for bufferization -------===//
//
// Empty-tensor elimination and one-shot bufferization ask, for every pair
// of an extract_slice and an insert_slice on the same tensor, whether they
// touch the same subset. MLIR 22's answer (ValueBoundsConstraintSet::
// areEquivalentSlices) builds a Presburger constraint set for every offset,
// size and stride, even for two uses of the same SSA value or two equal
// constants: 40 % of the MLIR time of the attention backward, whose tiles
// have hundreds of such slices. These models answer those cases directly and
// leave the rest to the constraint sets, as before.
//
//===----------------------------------------------------------------------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SubsetOpInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;

namespace {
/// Whether `a` and `b` are equal: true or false when it shows without
/// analysis (the same value, two constants), else the constraint sets'
/// answer (which may be "unknown").
FailureOr<bool> areEqual(OpFoldResult a, OpFoldResult b) {
  if (a == b)
    return true;
  std::optional<int64_t> ca = getConstantIntValue(a);
  std::optional<int64_t> cb = getConstantIntValue(b);
  if (ca && cb)
    return *ca == *cb;
  return ValueBoundsConstraintSet::areEqual(a, b);
}

FailureOr<bool> areEquivalent(const HyperrectangularSlice &x,
                              const HyperrectangularSlice &y) {
  if (x.getMixedOffsets().size() != y.getMixedOffsets().size())
    return false;
  // Cheap components first: a difference there ends the comparison before
  // any constraint set is built.
  bool unknown = false;
  auto compareAll = [&](ArrayRef<OpFoldResult> as,
                        ArrayRef<OpFoldResult> bs) -> std::optional<bool> {
    for (auto [a, b] : llvm::zip_equal(as, bs)) {
      FailureOr<bool> equal = areEqual(a, b);
      if (failed(equal))
        unknown = true;
      else if (!*equal)
        return false;
    }
    return std::nullopt;
  };
  for (auto [as, bs] : {std::pair(x.getMixedStrides(), y.getMixedStrides()),
                        std::pair(x.getMixedSizes(), y.getMixedSizes()),
                        std::pair(x.getMixedOffsets(), y.getMixedOffsets())})
    if (std::optional<bool> differs = compareAll(as, bs))
      return *differs;
  if (unknown)
    return failure();
  return true;
}

template <typename OpTy>
struct SliceSubsetModel
    : public SubsetOpInterface::ExternalModel<SliceSubsetModel<OpTy>, OpTy> {
  FailureOr<HyperrectangularSlice>
  getAccessedHyperrectangularSlice(Operation *op) const {
    return HyperrectangularSlice(cast<OffsetSizeAndStrideOpInterface>(op));
  }

  bool operatesOnEquivalentSubset(
      Operation *op, SubsetOpInterface candidate,
      function_ref<bool(Value, Value)> equivalenceFn) const {
    FailureOr<HyperrectangularSlice> other =
        candidate.getAccessedHyperrectangularSlice();
    if (failed(other) ||
        !equivalenceFn(cast<SubsetOpInterface>(op).getTensorContainer(),
                       candidate.getTensorContainer()))
      return false;
    FailureOr<bool> equivalent =
        areEquivalent(*getAccessedHyperrectangularSlice(op), *other);
    return succeeded(equivalent) && *equivalent;
  }
  // operatesOnDisjointSubset: the interface's default.
};
} // namespace

void rotary::registerSubsetModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExtractSliceOp::attachInterface<
        SliceSubsetModel<tensor::ExtractSliceOp>>(*ctx);
    tensor::InsertSliceOp::attachInterface<
        SliceSubsetModel<tensor::InsertSliceOp>>(*ctx);
    tensor::ParallelInsertSliceOp::attachInterface<
        SliceSubsetModel<tensor::ParallelInsertSliceOp>>(*ctx);
  });
}
