//===- RotaryDialect.td - rotary dialect definition --------*- tablegen -*-===//
//
// The rotary dialect: rotation-heavy pieces of transformers (RoPE and its
// variants, HDD-RoPE, Givens chains, orthogonal mixing, adaptive attention and
// the FAM optimizer update) as ops on tensors. SPEC.md gives the math.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD

include "mlir/IR/OpBase.td"

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

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_TD
