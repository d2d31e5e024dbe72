//===- RotaryGradOps.cpp - gradient op verifiers and type inference -------===//
//
// A gradient op is valid exactly when its forward op would be, and its
// cotangents have the shapes of the forward's results: its contract is the
// forward's plus the cotangents' (the verifier and the run-time check alike).
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

LogicalResult rotary::detail::verifyContract(RopeGradOp op, ShapeRules &r) {
  if (failed(verifyRope(r, op.getX(), op.getPositions(), op.getInvFreq(),
                        op.getPhase(), op.getRuntimeBase(), op.getRotaryDim(),
                        op.getBase())) ||
      failed(verifyXPos(r, op.getXpos(), op.getXposScaleBase(),
                        op.getXposGamma())))
    return failure();
  return verifyLike(r, "dy", op.getDy(), "x", op.getX());
}

Value RopeGradOp::getGradOf(Value operand) {
  int64_t k = presentIndex(
      {getInvFreq(), getPhase(), getScale(), getRuntimeBase()}, operand);
  return k < 0 ? Value() : getParamGrads()[k];
}

//===----------------------------------------------------------------------===//
// rotary.givens_grad / orthogonal_grad / orthogonality_penalty_grad
//===----------------------------------------------------------------------===//

LogicalResult rotary::detail::verifyContract(GivensGradOp op, ShapeRules &r) {
  if (failed(verifyChain(r, op.getX(), op.getAngles(), op.getPairs())))
    return failure();
  return verifyLike(r, "dy", op.getDy(), "x", op.getX());
}

FailureOr<SmallVector<int64_t>> GivensGradOp::getEffectivePairs() {
  return effectivePairs(getPairs(), getX(), getAngles());
}

LogicalResult rotary::detail::verifyContract(OrthogonalGradOp op,
                                             ShapeRules &r) {
  Value x = op.getX(), m = op.getMatrix();
  if (failed(verifyMatrix(r, x, m, op.getTranspose(), /*square=*/false)))
    return failure();
  SmallVector<Size> shape = r.shape(x);
  shape.back() = r.dim(m, op.getTranspose() ? -2 : -1);
  return verifyCotangent(r, "dy", op.getDy(), shape, rtt(x).getElementType());
}

LogicalResult rotary::detail::verifyContract(OrthogonalityPenaltyGradOp op,
                                             ShapeRules &r) {
  return verifyPenaltyMatrix(r, op.getMatrix());
}

//===----------------------------------------------------------------------===//
// HDD-RoPE gradients
//===----------------------------------------------------------------------===//

LogicalResult rotary::detail::verifyContract(SOGeneratorGradOp op,
                                             ShapeRules &r) {
  Value a = op.getAngles();
  if (failed(verifyGeneratorAngles(r, a, op.getChunk())))
    return failure();
  SmallVector<Size> shape = r.shape(a);
  shape.back() = r.constant(op.getChunk());
  shape.push_back(r.constant(op.getChunk()));
  return verifyCotangent(r, "dresult", op.getDresult(), shape,
                         rtt(a).getElementType());
}

LogicalResult rotary::detail::verifyContract(CumulativeRotationGradOp op,
                                             ShapeRules &r) {
  if (failed(verifyScan(r, op.getRotations(), op.getAxis())))
    return failure();
  return verifyLike(r, "dresult", op.getDresult(), "rotations",
                    op.getRotations());
}

LogicalResult rotary::detail::verifyContract(HDDRopeGradOp op, ShapeRules &r) {
  if (failed(verifyHDD(r, op.getX(), op.getRotation(), op.getChunk(),
                       op.isFused())))
    return failure();
  return verifyLike(r, "dy", op.getDy(), "x", op.getX());
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

LogicalResult rotary::detail::verifyContract(AttentionGradOp op,
                                             ShapeRules &r) {
  Value q = op.getQ();
  if (failed(verifyAttention(r, q, op.getK(), op.getV(), op.getBias(),
                             op.getSpan(), op.getWindow(), op.getGlobalTokens(),
                             op.getScale(), op.getSpanRamp())) ||
      failed(verifyLike(r, "output", op.getOutput(), "q", q)) ||
      failed(verifyLike(r, "doutput", op.getDoutput(), "q", q)))
    return failure();
  SmallVector<Size> rows = r.shape(q);
  rows.pop_back();
  Type f32 = Float32Type::get(op.getContext());
  if (failed(verifyCotangent(r, "lse", op.getLse(), rows, f32)))
    return failure();
  if (op.getDlse() &&
      failed(verifyCotangent(r, "dlse", op.getDlse(), rows, f32)))
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

LogicalResult rotary::detail::verifyContract(QuaternionRotateGradOp op,
                                             ShapeRules &r) {
  if (failed(verifyQuaternion(r, op.getX(), op.getAxis(), op.getAngle())))
    return failure();
  return verifyLike(r, "dy", op.getDy(), "x", op.getX());
}
