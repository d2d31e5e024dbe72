//===- Structured.h - tiling helpers of the structured ops ------*- C++ -*-===//
//
// What every structured op's TilingInterface does the same way: slice its
// operands and clone it on the slices.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_ROTARY_IR_STRUCTURED_H
#define LIB_DIALECT_ROTARY_IR_STRUCTURED_H

#include "Verifiers.h"

#include "mlir/Interfaces/TilingInterface.h"

namespace rotary::detail {
/// A slice of `v` at `offsets` / `sizes` (unit strides), recorded in
/// `slices`.
Value sliceOf(OpBuilder &b, Location loc, Value v,
              ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
              SmallVectorImpl<Operation *> &slices);
/// `v` with the leading dims given by (offsets, sizes) and the rest whole.
Value leadingSlice(OpBuilder &b, Location loc, Value v,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   SmallVectorImpl<Operation *> &slices);
/// `base + offset` (base itself when the offset is 0).
Value shifted(OpBuilder &b, Location loc, Value base, OpFoldResult offset);
/// The iteration domain over dims `dims` of `v`.
SmallVector<Range> domainOf(OpBuilder &b, Location loc, Value v,
                            ArrayRef<int64_t> dims);
/// The tile of a structured op: the same op on `slice(v)` of each tensor
/// operand and `index(v)` of each index operand (a position shifted by the
/// tile's offset), in operand order; its results have the types of its
/// sliced inits, which are the last operands. `slice` records the slices it
/// makes in `slices`.
FailureOr<TilingResult> cloneOnSlices(OpBuilder &b, Operation *op,
                                      SmallVectorImpl<Operation *> &slices,
                                      function_ref<Value(Value)> slice,
                                      function_ref<Value(Value)> index);
/// Whether `t` has `want`'s rank and sizes (where both are static).
bool sameShape(RankedTensorType t, RankedTensorType want);
} // namespace rotary::detail

#endif // LIB_DIALECT_ROTARY_IR_STRUCTURED_H
