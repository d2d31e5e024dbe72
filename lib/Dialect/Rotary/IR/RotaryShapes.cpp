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

namespace {
/// rotary.attention_grad: each gradient has the shape of its operand. An
/// external model because the op's ODS does not declare the interface, and
/// entry points need result sizes in terms of their inputs.
struct AttentionGradShapes
    : ReifyRankedShapedTypeOpInterface::ExternalModel<AttentionGradShapes,
                                                      AttentionGradOp> {
  LogicalResult reifyResultShapes(Operation *op, OpBuilder &b,
                                  ReifiedRankedShapedTypeDims &shapes) const {
    auto grad = cast<AttentionGradOp>(op);
    for (Value v : {grad.getQ(), grad.getK(), grad.getV(), grad.getBias(),
                    grad.getSpan()})
      if (v)
        shapes.push_back(sizesOf(b, op->getLoc(), v));
    return success();
  }
};
} // namespace

void rotary::detail::attachGradShapeModels(MLIRContext *ctx) {
  AttentionGradOp::attachInterface<AttentionGradShapes>(*ctx);
}
