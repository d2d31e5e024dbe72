//===- RotaryGradients.cpp - the backward of each differentiable op -------===//
//
// DifferentiableOpInterface for the forward ops: each emits its gradient op
// (RotaryGradOps.td) from the primal values and its results' cotangents.
// linalg.transpose gets the same interface as an external model: its adjoint
// is the inverse permutation.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace rotary;

using ValueFn = function_ref<Value(Value)>;

Value rotary::emptyLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::EmptyOp::create(b, loc, type, dyn);
}

Value rotary::zerosLike(OpBuilder &b, Location loc, Value like) {
  Value zero = arith::ConstantOp::create(
      b, loc,
      b.getZeroAttr(cast<RankedTensorType>(like.getType()).getElementType()));
  return linalg::FillOp::create(b, loc, zero, emptyLike(b, loc, like))
      .getResult(0);
}

namespace {
/// `primal` of an optional operand: null stays null.
Value primalOf(ValueFn primal, Value v) { return v ? primal(v) : Value(); }

/// `required` followed by the present ones of `optional`.
SmallVector<Value> withPresent(ArrayRef<Value> required,
                               ArrayRef<Value> optional) {
  SmallVector<Value> v(required);
  for (Value p : optional)
    if (p)
      v.push_back(p);
  return v;
}
} // namespace

//===----------------------------------------------------------------------===//
// RoPE, Givens chains, orthogonal mixing
//===----------------------------------------------------------------------===//

SmallVector<Value> RopeOp::getDifferentiableOperands() {
  return withPresent({getX()},
                     {getInvFreq(), getPhase(), getScale(), getRuntimeBase()});
}

SmallVector<Value> RopeOp::buildGradient(OpBuilder &b, ValueFn primal,
                                         ValueFn cotangent) {
  auto p = [&](Value v) { return primalOf(primal, v); };
  auto g = RopeGradOp::create(
      b, getLoc(), p(getX()), p(getPositions()), cotangent(getResult()),
      p(getInvFreq()), p(getPhase()), p(getScale()), p(getRuntimeBase()),
      getLayoutAttr(), getRotaryDimAttr(), getBaseAttr(), getInverseAttr(),
      getXposAttr(), getXposScaleBaseAttr(), getXposGammaAttr());
  SmallVector<Value> grads = {g.getDx()};
  llvm::append_range(grads, g.getParamGrads());
  return grads;
}

SmallVector<Value> GivensOp::getDifferentiableOperands() {
  return {getX(), getAngles()};
}

SmallVector<Value> GivensOp::buildGradient(OpBuilder &b, ValueFn primal,
                                           ValueFn cotangent) {
  auto g = GivensGradOp::create(b, getLoc(), primal(getX()),
                                primal(getAngles()), cotangent(getResult()),
                                getPairsAttr(), getInverseAttr());
  return {g.getDx(), g.getDangles()};
}

SmallVector<Value> OrthogonalOp::getDifferentiableOperands() {
  return {getX(), getMatrix()};
}

SmallVector<Value> OrthogonalOp::buildGradient(OpBuilder &b, ValueFn primal,
                                               ValueFn cotangent) {
  auto g =
      OrthogonalGradOp::create(b, getLoc(), primal(getX()), primal(getMatrix()),
                               cotangent(getResult()), getTransposeAttr());
  return {g.getDx(), g.getDmatrix()};
}

SmallVector<Value> OrthogonalityPenaltyOp::getDifferentiableOperands() {
  return {getMatrix()};
}

SmallVector<Value> OrthogonalityPenaltyOp::buildGradient(OpBuilder &b,
                                                         ValueFn primal,
                                                         ValueFn cotangent) {
  auto g = OrthogonalityPenaltyGradOp::create(b, getLoc(), primal(getMatrix()),
                                              cotangent(getResult()));
  return {g.getDmatrix()};
}

//===----------------------------------------------------------------------===//
// HDD-RoPE
//===----------------------------------------------------------------------===//

// G [..., c, c] from c(c-1)/2 angles, P a scan of G: rebuilt, not saved.
bool SOGeneratorOp::recomputeInBackward() { return true; }
bool CumulativeRotationOp::recomputeInBackward() { return true; }

SmallVector<Value> SOGeneratorOp::getDifferentiableOperands() {
  return {getAngles()};
}

SmallVector<Value> SOGeneratorOp::buildGradient(OpBuilder &b, ValueFn primal,
                                                ValueFn cotangent) {
  auto g = SOGeneratorGradOp::create(b, getLoc(), primal(getAngles()),
                                     cotangent(getResult()), getChunkAttr(),
                                     getFormAttr());
  return {g.getDangles()};
}

SmallVector<Value> CumulativeRotationOp::getDifferentiableOperands() {
  return {getRotations()};
}

SmallVector<Value> CumulativeRotationOp::buildGradient(OpBuilder &b,
                                                       ValueFn primal,
                                                       ValueFn cotangent) {
  auto g =
      CumulativeRotationGradOp::create(b, getLoc(), primal(getRotations()),
                                       cotangent(getResult()), getAxisAttr());
  return {g.getDrotations()};
}

SmallVector<Value> HDDRopeOp::getDifferentiableOperands() {
  return {getX(), getRotation()};
}

SmallVector<Value> HDDRopeOp::buildGradient(OpBuilder &b, ValueFn primal,
                                            ValueFn cotangent) {
  auto g = HDDRopeGradOp::create(
      b, getLoc(), primal(getX()), primal(getRotation()),
      cotangent(getResult()), getChunkAttr(), getFormAttr(), getInverseAttr());
  return {g.getDx(), g.getDrotation()};
}

//===----------------------------------------------------------------------===//
// Attention and 3-D rotations
//===----------------------------------------------------------------------===//

SmallVector<Value> AttentionOp::getDifferentiableOperands() {
  return withPresent({getQ(), getK(), getV()}, {getBias(), getSpan()});
}

SmallVector<Value> AttentionOp::buildGradient(OpBuilder &b, ValueFn primal,
                                              ValueFn cotangent) {
  auto p = [&](Value v) { return primalOf(primal, v); };
  // The output's cotangent is required; the lse's is optional.
  Value dout = cotangent(getOutput());
  if (!dout)
    dout = zerosLike(b, getLoc(), p(getOutput()));
  auto g = AttentionGradOp::create(
      b, getLoc(), p(getQ()), p(getK()), p(getV()), p(getOutput()), p(getLse()),
      dout, cotangent(getLse()), p(getBias()), p(getSpan()), getCausalAttr(),
      getWindowAttr(), getGlobalTokensAttr(), getScaleAttr(),
      getSpanRampAttr());
  SmallVector<Value> grads = {g.getDq(), g.getDk(), g.getDv()};
  llvm::append_range(grads, g.getParamGrads());
  return grads;
}

SmallVector<Value> QuaternionRotateOp::getDifferentiableOperands() {
  return {getX(), getAxis(), getAngle()};
}

SmallVector<Value> QuaternionRotateOp::buildGradient(OpBuilder &b,
                                                     ValueFn primal,
                                                     ValueFn cotangent) {
  auto g = QuaternionRotateGradOp::create(b, getLoc(), primal(getX()),
                                          primal(getAxis()), primal(getAngle()),
                                          cotangent(getResult()));
  return {g.getDx(), g.getDaxis(), g.getDangle()};
}

//===----------------------------------------------------------------------===//
// linalg.transpose
//===----------------------------------------------------------------------===//

namespace {
struct TransposeDifferentiable
    : DifferentiableOpInterface::ExternalModel<TransposeDifferentiable,
                                               linalg::TransposeOp> {
  SmallVector<Value> getDifferentiableOperands(Operation *op) const {
    return {cast<linalg::TransposeOp>(op).getInput()};
  }
  SmallVector<Value> buildGradient(Operation *op, OpBuilder &b, ValueFn primal,
                                   ValueFn cotangent) const {
    auto t = cast<linalg::TransposeOp>(op);
    ArrayRef<int64_t> perm = t.getPermutation();
    SmallVector<int64_t> inverse(perm.size());
    for (auto [i, d] : llvm::enumerate(perm))
      inverse[d] = static_cast<int64_t>(i);
    auto adjoint = linalg::TransposeOp::create(
        b, t.getLoc(), cotangent(t->getResult(0)),
        emptyLike(b, t.getLoc(), primal(t.getInput())), inverse);
    return {adjoint->getResult(0)};
  }
};
} // namespace

void rotary::registerDifferentiableExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    linalg::TransposeOp::attachInterface<TransposeDifferentiable>(*ctx);
  });
}

#include "rotary/Dialect/Rotary/IR/RotaryInterfaces.cpp.inc"
