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
/// The tile of a structured op: the same op on `slice(o)` of each tensor
/// operand o and `index(o)` of each index operand (a position shifted by the
/// tile's offset), in operand order; its results have the types of its
/// sliced inits, which are the last operands. `slice` records the slices it
/// makes in `slices`. The callbacks get the operand, not its value, so a
/// tile's cut follows the operand's role even where one value feeds two
/// roles (rope_tokens_grad's two sum inits are often one CSE'd zero
/// tensor; tests pass x as its own cotangent or init).
FailureOr<TilingResult> cloneOnSlices(OpBuilder &b, Operation *op,
                                      SmallVectorImpl<Operation *> &slices,
                                      function_ref<Value(OpOperand &)> slice,
                                      function_ref<Value(OpOperand &)> index);
/// `index` of cloneOnSlices for ops whose index operands stay as they are.
inline Value sameIndex(OpOperand &o) { return o.get(); }
/// Whether `o` is one of `operands` (an op's getXMutable()).
inline bool isOperand(OpOperand &o, MutableOperandRange operands) {
  return llvm::any_of(operands, [&](OpOperand &x) { return &x == &o; });
}
} // namespace rotary::detail

#endif // LIB_DIALECT_ROTARY_IR_STRUCTURED_H
