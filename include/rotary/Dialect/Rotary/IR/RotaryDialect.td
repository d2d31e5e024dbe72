//===- RotaryDialect.td - rotary dialect definition --------*- tablegen -*-===//
//
// The rotary dialect: rotation-heavy pieces of transformers (RoPE and its
// variants, HDD-RoPE, Givens chains, orthogonal mixing, adaptive attention and
// the FAM optimizer update) as ops on tensors. docs/Math.md gives the math.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/RuntimeVerifiableOpInterface.td"

def Rotary_Dialect : Dialect {
  let name = "rotary";
  let cppNamespace = "::rotary";
  let summary = "Rotations for transformers: RoPE, HDD-RoPE, Givens chains, "
                "adaptive attention and the FAM optimizer";
  let description = [{
    Ops on ranked tensors that compute the rotation-heavy parts of transformer
    models. Data tensors (and the matrices of `orthogonal`) are f32, f16 or
    bf16; angles, frequencies, phases, spans and every generated rotation are
    f32, and every op does its math in f32.
    Dimensions may be dynamic wherever a model needs them; the verifiers check
    every static dimension they can.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

class Rotary_Op<string mnemonic, list<Trait> traits = []>
    : Op<Rotary_Dialect, mnemonic, traits>;

// An op whose verifier is its shape contract: one C++ function,
// `rotary::detail::verifyContract(op, rules)`, run by the verifier on static
// sizes and by RuntimeVerifiableOpInterface on the sizes a run brings
// (lib/Dialect/Rotary/IR/ShapeRules.h).
class Rotary_ContractOp<string mnemonic, list<Trait> traits = []>
    : Rotary_Op<mnemonic, !listconcat(traits,
        [DeclareOpInterfaceMethods<RuntimeVerifiableOpInterface>])> {
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      ::rotary::detail::ShapeRules rules(getOperation());
      return ::rotary::detail::verifyContract(*this, rules);
    }
    void $cppClass::generateRuntimeVerification(
        ::mlir::OpBuilder &builder, ::mlir::Location,
        ::llvm::function_ref<std::string(::mlir::Operation *,
                                         ::llvm::StringRef)> message) {
      ::rotary::detail::ShapeRules rules(getOperation(), builder, message);
      (void)::rotary::detail::verifyContract(*this, rules);
    }
  }];
}

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD
