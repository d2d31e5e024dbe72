//===- Verifiers.h - checks shared by forward and gradient ops --*- C++ -*-===//
//
// A gradient op takes the operands of its forward op (plus cotangents), so it
// runs the very same checks; they live here to be written once.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_ROTARY_IR_VERIFIERS_H
#define LIB_DIALECT_ROTARY_IR_VERIFIERS_H

#include "ShapeRules.h"
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
LogicalResult verifyChunk(Operation *op, int64_t c);

// Rules shared by several ops' contracts (RotaryContracts.cpp): each runs
// in the verifier and at run time (ShapeRules.h).
LogicalResult verifyPositiveFinite(ShapeRules &r, StringRef what, float v);
LogicalResult verifyRopeInputs(ShapeRules &r, Value x, Value positions,
                               std::optional<int64_t> rotaryDim,
                               std::optional<APFloat> base);
LogicalResult verifyRope(ShapeRules &r, Value x, Value positions, Value invFreq,
                         Value phase, Value runtimeBase,
                         std::optional<int64_t> rotaryDim,
                         std::optional<APFloat> base);
/// xPos's attributes: scale base and γ positive and finite, and given only
/// with `xpos`.
LogicalResult verifyXPos(ShapeRules &r, std::optional<XPosRole> xpos,
                         std::optional<APFloat> scaleBase,
                         std::optional<APFloat> gamma);
LogicalResult verifyChain(ShapeRules &r, Value x, Value angles,
                          std::optional<ArrayRef<int64_t>> pairs);
LogicalResult verifyMatrix(ShapeRules &r, Value x, Value matrix, bool transpose,
                           bool square);
LogicalResult verifyPenaltyMatrix(ShapeRules &r, Value matrix);
LogicalResult verifyGeneratorAngles(ShapeRules &r, Value angles, int64_t c);
LogicalResult verifyScan(ShapeRules &r, Value rotations, int64_t axis);
LogicalResult verifyHDD(ShapeRules &r, Value x, Value rotation,
                        std::optional<int64_t> chunk, bool fused);
LogicalResult verifyAttention(ShapeRules &r, Value q, Value k, Value v,
                              Value bias, Value span, int64_t window,
                              int64_t globalTokens,
                              std::optional<APFloat> scale,
                              std::optional<APFloat> spanRamp);
LogicalResult verifyQuaternion(ShapeRules &r, Value x, Value axis, Value angle);
/// A cotangent: the forward result's rank and element type, and `shape`.
LogicalResult verifyCotangent(ShapeRules &r, StringRef name, Value v,
                              ArrayRef<Size> shape, Type elementType);
/// Operand `name` has the shape of operand `likeName`.
LogicalResult verifyLike(ShapeRules &r, StringRef name, Value v,
                         StringRef likeName, Value like);

// The contract of each op with a shape contract (Rotary_ContractOp in ODS).
#define ROTARY_CONTRACT(Op) LogicalResult verifyContract(Op op, ShapeRules &r);
ROTARY_CONTRACT(RopeOp)
ROTARY_CONTRACT(GivensOp)
ROTARY_CONTRACT(OrthogonalOp)
ROTARY_CONTRACT(OrthogonalityPenaltyOp)
ROTARY_CONTRACT(RotationBlockOp)
ROTARY_CONTRACT(SOGeneratorOp)
ROTARY_CONTRACT(CumulativeRotationOp)
ROTARY_CONTRACT(HDDRopeOp)
ROTARY_CONTRACT(AttentionOp)
ROTARY_CONTRACT(SpectralBandsOp)
ROTARY_CONTRACT(AdaptiveMomentumOp)
ROTARY_CONTRACT(FamStepOp)
ROTARY_CONTRACT(QuaternionRotateOp)
ROTARY_CONTRACT(RopeGradOp)
ROTARY_CONTRACT(GivensGradOp)
ROTARY_CONTRACT(OrthogonalGradOp)
ROTARY_CONTRACT(OrthogonalityPenaltyGradOp)
ROTARY_CONTRACT(SOGeneratorGradOp)
ROTARY_CONTRACT(CumulativeRotationGradOp)
ROTARY_CONTRACT(HDDRopeGradOp)
ROTARY_CONTRACT(AttentionGradOp)
ROTARY_CONTRACT(QuaternionRotateGradOp)
#undef ROTARY_CONTRACT

/// The pairs of a Givens chain, materialising the default schedule; fails
/// when they depend on a dynamic size.
FailureOr<SmallVector<int64_t>>
effectivePairs(std::optional<ArrayRef<int64_t>> pairs, Value x, Value angles);
} // namespace rotary::detail

#endif // LIB_DIALECT_ROTARY_IR_VERIFIERS_H
