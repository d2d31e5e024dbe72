//===- RotaryGradOps.cpp - gradient op verifiers and type inference -------===//
//
// A gradient op is valid exactly when its forward op would be, and its
// cotangents have the shapes of the forward's results.
//
//===----------------------------------------------------------------------===//

#include "Verifiers.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::detail;

namespace {
/// The position of `operand` among the present `optionals`, or -1.
int64_t presentIndex(ArrayRef<Value> optionals, Value operand) {
  int64_t k = 0;
  for (Value v : optionals) {
    if (!v)
      continue;
    if (v == operand)
      return k;
    ++k;
  }
  return -1;
}

/// The cotangent `name` must have type `expected` (the forward result's).
LogicalResult verifyCotangent(Operation *op, StringRef name, Value v,
                              RankedTensorType expected) {
  RankedTensorType t = rtt(v);
  bool ok = t.getElementType() == expected.getElementType() &&
            sameShape(t, expected.getShape());
  if (!ok)
    return op->emitOpError()
           << "cotangent '" << name << "' must have type " << expected
           << " (the forward result's), but got " << t;
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// rotary.rope_grad
//===----------------------------------------------------------------------===//

LogicalResult RopeGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  if (operands.size() < 3)
    return emitOptionalError(loc, "'rotary.rope_grad' op needs x, positions "
                                  "and dy");
  inferred.push_back(operands[0].getType());
  // Every operand after x, positions and dy is a differentiable parameter.
  for (Value v : operands.drop_front(3))
    inferred.push_back(v.getType());
  return success();
}

LogicalResult RopeGradOp::verify() {
  return verifyRope(*this, getX(), getPositions(), getInvFreq(), getPhase(),
                    getRuntimeBase(), getRotaryDim(), getBase());
}

Value RopeGradOp::getGradOf(Value operand) {
  int64_t k = presentIndex(
      {getInvFreq(), getPhase(), getScale(), getRuntimeBase()}, operand);
  return k < 0 ? Value() : getParamGrads()[k];
}

//===----------------------------------------------------------------------===//
// rotary.givens_grad / orthogonal_grad / orthogonality_penalty_grad
//===----------------------------------------------------------------------===//

LogicalResult GivensGradOp::verify() {
  return verifyChain(*this, rtt(getX()), rtt(getAngles()), getPairs());
}

FailureOr<SmallVector<int64_t>> GivensGradOp::getEffectivePairs() {
  return effectivePairs(getPairs(), getX(), getAngles());
}

LogicalResult OrthogonalGradOp::verify() {
  RankedTensorType x = rtt(getX()), m = rtt(getMatrix());
  if (failed(verifyMatrix(*this, x, m, getTranspose(), /*square=*/false)))
    return failure();
  SmallVector<int64_t> shape(x.getShape());
  shape.back() = m.getDimSize(m.getRank() - (getTranspose() ? 2 : 1));
  return verifyCotangent(*this, "dy", getDy(),
                         RankedTensorType::get(shape, x.getElementType()));
}

LogicalResult OrthogonalityPenaltyGradOp::verify() {
  return verifyPenaltyMatrix(*this, getMatrix());
}

//===----------------------------------------------------------------------===//
// HDD-RoPE gradients
//===----------------------------------------------------------------------===//

LogicalResult SOGeneratorGradOp::verify() {
  if (failed(verifyGeneratorAngles(*this, getAngles(), getChunk())))
    return failure();
  RankedTensorType a = rtt(getAngles());
  SmallVector<int64_t> shape(a.getShape().drop_back());
  shape.append({getChunk(), getChunk()});
  return verifyCotangent(*this, "dresult", getDresult(),
                         RankedTensorType::get(shape, a.getElementType()));
}

LogicalResult CumulativeRotationGradOp::verify() {
  return verifyScan(*this, getRotations(), getAxis());
}

LogicalResult HDDRopeGradOp::verify() {
  return verifyHDD(*this, getX(), getRotation(), getChunk(), isFused());
}

//===----------------------------------------------------------------------===//
// rotary.attention_grad
//===----------------------------------------------------------------------===//

LogicalResult AttentionGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  Adaptor adaptor(operands, attributes, properties, regions);
  if (operands.size() < 6)
    return emitOptionalError(loc, "'rotary.attention_grad' op needs q, k, v, "
                                  "output, lse and doutput");
  inferred.append({adaptor.getQ().getType(), adaptor.getK().getType(),
                   adaptor.getV().getType()});
  for (Value v : {adaptor.getBias(), adaptor.getSpan()})
    if (v)
      inferred.push_back(v.getType());
  return success();
}

LogicalResult AttentionGradOp::verify() {
  if (failed(verifyAttention(*this, getQ(), getK(), getV(), getBias(),
                             getSpan(), getWindow(), getGlobalTokens(),
                             getScale(), getSpanRamp())))
    return failure();
  RankedTensorType q = rtt(getQ());
  auto lseType = RankedTensorType::get(q.getShape().take_front(3),
                                       Float32Type::get(getContext()));
  if (failed(verifyCotangent(*this, "lse", getLse(), lseType)))
    return failure();
  if (getDlse() && failed(verifyCotangent(*this, "dlse", getDlse(), lseType)))
    return failure();
  return success();
}

Value AttentionGradOp::getGradOf(Value operand) {
  int64_t k = presentIndex({getBias(), getSpan()}, operand);
  return k < 0 ? Value() : getParamGrads()[k];
}

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate_grad
//===----------------------------------------------------------------------===//

LogicalResult QuaternionRotateGradOp::verify() {
  return verifyQuaternion(*this, getX(), getAxis(), getAngle());
}
