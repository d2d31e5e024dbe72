//===- RotaryShapes.cpp - result shapes in terms of operand shapes --------===//
//
// ReifyRankedShapedTypeOpInterface for every op with a dynamic result: the
// compiler uses it to express output shapes and run-time checks through the
// entry point's arguments.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "Verifiers.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace rotary;

namespace {
/// The sizes of `v`, static ones as attributes.
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

LogicalResult sameAs(OpBuilder &b, Operation *op, Value v,
                     ReifiedRankedShapedTypeDims &shapes) {
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    shapes.push_back(sizesOf(b, op->getLoc(), v));
  return success();
}
} // namespace

LogicalResult RopeOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getX(), shapes);
}

LogicalResult GivensOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getX(), shapes);
}

LogicalResult
RotationBlockOp::reifyResultShapes(OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getX(), shapes);
}

LogicalResult
CumulativeRotationOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getRotations(), shapes);
}

LogicalResult
HDDRopeOp::reifyResultShapes(OpBuilder &b,
                             ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getX(), shapes);
}

LogicalResult
FamStepOp::reifyResultShapes(OpBuilder &b,
                             ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getParam(), shapes);
}

LogicalResult
QuaternionRotateOp::reifyResultShapes(OpBuilder &b,
                                      ReifiedRankedShapedTypeDims &shapes) {
  return sameAs(b, *this, getX(), shapes);
}

LogicalResult
OrthogonalOp::reifyResultShapes(OpBuilder &b,
                                ReifiedRankedShapedTypeDims &shapes) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, getLoc(), getX());
  SmallVector<OpFoldResult> m = sizesOf(b, getLoc(), getMatrix());
  sizes.back() = m[m.size() - (getTranspose() ? 2 : 1)];
  shapes.push_back(sizes);
  return success();
}

LogicalResult
SOGeneratorOp::reifyResultShapes(OpBuilder &b,
                                 ReifiedRankedShapedTypeDims &shapes) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, getLoc(), getAngles());
  sizes.pop_back();
  sizes.push_back(b.getIndexAttr(getChunk()));
  sizes.push_back(b.getIndexAttr(getChunk()));
  shapes.push_back(sizes);
  return success();
}

LogicalResult
AttentionOp::reifyResultShapes(OpBuilder &b,
                               ReifiedRankedShapedTypeDims &shapes) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, getLoc(), getQ());
  shapes.push_back(sizes);
  sizes.pop_back();
  shapes.push_back(sizes);
  return success();
}

//===----------------------------------------------------------------------===//
// Gradient ops: each result has the shape of the operand it is the gradient of
//===----------------------------------------------------------------------===//

namespace {
LogicalResult gradientsOf(OpBuilder &b, Operation *op, ValueRange primals,
                          ReifiedRankedShapedTypeDims &shapes) {
  for (Value v : primals)
    if (v)
      shapes.push_back(sizesOf(b, op->getLoc(), v));
  return success();
}
} // namespace

LogicalResult RopeGradOp::reifyResultShapes(OpBuilder &b,
                                            ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this,
                     {getX(), getInvFreq(), getPhase(), getScale(),
                      getRuntimeBase()},
                     shapes);
}

LogicalResult
GivensGradOp::reifyResultShapes(OpBuilder &b,
                                ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getX(), getAngles()}, shapes);
}

LogicalResult
OrthogonalGradOp::reifyResultShapes(OpBuilder &b,
                                    ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getX(), getMatrix()}, shapes);
}

LogicalResult OrthogonalityPenaltyGradOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getMatrix()}, shapes);
}

LogicalResult
SOGeneratorGradOp::reifyResultShapes(OpBuilder &b,
                                     ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getAngles()}, shapes);
}

LogicalResult CumulativeRotationGradOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getRotations()}, shapes);
}

LogicalResult
HDDRopeGradOp::reifyResultShapes(OpBuilder &b,
                                 ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getX(), getRotation()}, shapes);
}

LogicalResult
AttentionGradOp::reifyResultShapes(OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getQ(), getK(), getV(), getBias(), getSpan()},
                     shapes);
}

LogicalResult QuaternionRotateGradOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  return gradientsOf(b, *this, {getX(), getAxis(), getAngle()}, shapes);
}
