//===- RotaryInterfaces.td - rotary op interfaces ----------*- tablegen -*-===//
//
// What rotary-generate-gradients needs to know of an op, stated by the op.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYINTERFACES_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYINTERFACES_TD

include "mlir/IR/OpBase.td"

def Rotary_DifferentiableOpInterface
    : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::rotary";
  let description = [{
    An op that reverse-mode differentiation can go through: it names the
    operands that get a gradient and emits its backward (usually its
    gradient op, RotaryGradOps.td) given the cotangents of its results.
    rotary-generate-gradients asks nothing else of an op, so a new
    differentiable op is added where it is defined.
  }];
  let methods = [
    InterfaceMethod<[{
        The operands that get a gradient, in the order `buildGradient`
        returns the gradients.
      }],
      "::llvm::SmallVector<::mlir::Value>", "getDifferentiableOperands">,
    InterfaceMethod<[{
        Emits the backward of this op at `b`'s insertion point and returns
        one gradient per differentiable operand. `primal` maps a forward
        value to where the backward finds it (recomputed or saved: what it
        is called on decides what the forward must save); `cotangent` gives
        the cotangent of a result, or null where the result has none.
      }],
      "::llvm::SmallVector<::mlir::Value>", "buildGradient",
      (ins "::mlir::OpBuilder &":$b,
           "::llvm::function_ref<::mlir::Value(::mlir::Value)>":$primal,
           "::llvm::function_ref<::mlir::Value(::mlir::Value)>":$cotangent)>,
    InterfaceMethod<[{
        Whether a backward that reads this op's results recomputes them from
        the op's operands rather than have the forward save them: true for
        results much larger than the operands and cheap to rebuild (the
        c×c rotations of HDD-RoPE), so that the saved tensors stay small and
        the backward's own fusion can consume the recomputed chain.
      }],
      "bool", "recomputeInBackward", (ins), "", "return false;">,
  ];
}

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYINTERFACES_TD
