//===- Passes.td - rotary conversion passes ----------------*- tablegen -*-===//

#ifndef ROTARY_CONVERSION_PASSES_TD
#define ROTARY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertRotaryToLinalg : Pass<"convert-rotary-to-linalg"> {
  let summary = "Lower rotary ops to linalg, scf, tensor, arith and math";
  let description = [{
    Every forward op becomes destination-passing linalg.generic / scf code on
    tensors. Data are widened to f32 for the math and narrowed on store;
    RoPE's angle tables are computed once per (position, frequency) in f64
    and rounded to f32 (decision 0013), and reused across batch and heads.
    Givens chains run over row tiles kept in f32 (one parallel task per tile
    and head), so the chain never round-trips through bf16. An op without a
    lowering is reported as an error naming it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // ROTARY_CONVERSION_PASSES_TD
