//===- Verifiers.h - checks shared by forward and gradient ops --*- C++ -*-===//
//
// A gradient op takes the operands of its forward op (plus cotangents), so it
// runs the very same checks; they live here to be written once.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_ROTARY_IR_VERIFIERS_H
#define LIB_DIALECT_ROTARY_IR_VERIFIERS_H

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include <optional>
#include <string>

namespace rotary::detail {
using namespace mlir;

inline constexpr int64_t kDyn = ShapedType::kDynamic;
/// Largest chunk of HDD-RoPE: P[m] is kept in registers by the kernels.
inline constexpr int64_t kMaxChunk = 32;
/// Largest chunk of the exp form on lanes, whose exp is unrolled per lane.
inline constexpr int64_t kMaxExpLaneChunk = 8;

inline bool isDyn(int64_t d) { return ShapedType::isDynamic(d); }
inline bool compatible(int64_t a, int64_t b) {
  return isDyn(a) || isDyn(b) || a == b;
}
inline RankedTensorType rtt(Value v) {
  return cast<RankedTensorType>(v.getType());
}
/// Whether shape `t` can be `want`: the same rank, and equal sizes where
/// both are static.
inline bool sameShape(ArrayRef<int64_t> t, ArrayRef<int64_t> want) {
  return t.size() == want.size() &&
         llvm::all_of(llvm::zip(t, want), [](auto p) {
           return compatible(std::get<0>(p), std::get<1>(p));
         });
}
inline bool sameShape(RankedTensorType t, ArrayRef<int64_t> want) {
  return sameShape(t.getShape(), want);
}

/// "[2, ?, 8]" for a list of sizes (kDynamic prints as ?).
std::string fmtShape(ArrayRef<int64_t> dims);
/// "operand 'x' must have shape <expected>, but got <type>".
InFlightDiagnostic shapeError(Operation *op, StringRef operand,
                              StringRef expected, Type got);
int64_t dimFromEnd(RankedTensorType t, int64_t k);
LogicalResult verifyFeatureOperand(Operation *op, StringRef name,
                                   RankedTensorType x);
LogicalResult verifyRotaryDim(Operation *op, std::optional<int64_t> rotaryDim,
                              int64_t d);
LogicalResult verifyPositiveFinite(Operation *op, StringRef what, float v);
LogicalResult verifyRopeInputs(Operation *op, RankedTensorType x,
                               RankedTensorType positions,
                               std::optional<int64_t> rotaryDim,
                               std::optional<APFloat> base);
LogicalResult verifyChain(Operation *op, RankedTensorType x,
                          RankedTensorType angles,
                          std::optional<ArrayRef<int64_t>> pairs);
LogicalResult verifyMatrix(Operation *op, RankedTensorType x,
                           RankedTensorType m, bool transpose, bool square);
LogicalResult verifyChunk(Operation *op, int64_t c);

// Whole-op checks, one per forward op with a gradient.
LogicalResult verifyRope(Operation *op, Value x, Value positions,
                         Value invFreq, Value phase, Value runtimeBase,
                         std::optional<int64_t> rotaryDim,
                         std::optional<APFloat> base);
LogicalResult verifyPenaltyMatrix(Operation *op, Value matrix);
LogicalResult verifyGeneratorAngles(Operation *op, Value angles, int64_t c);
LogicalResult verifyScan(Operation *op, Value rotations, int64_t axis);
LogicalResult verifyHDD(Operation *op, Value x, Value rotation,
                        std::optional<int64_t> chunk, bool fused);
LogicalResult verifyAttention(Operation *op, Value q, Value k, Value v,
                              Value bias, Value span, int64_t window,
                              int64_t globalTokens,
                              std::optional<APFloat> scale,
                              std::optional<APFloat> spanRamp);
LogicalResult verifyQuaternion(Operation *op, Value x, Value axis,
                               Value angle);

/// The pairs of a Givens chain, materialising the default schedule; fails
/// when they depend on a dynamic size.
FailureOr<SmallVector<int64_t>>
effectivePairs(std::optional<ArrayRef<int64_t>> pairs, Value x, Value angles);
} // namespace rotary::detail

#endif // LIB_DIALECT_ROTARY_IR_VERIFIERS_H
