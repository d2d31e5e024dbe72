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

    A Givens chain (`givens`, `rotation_block`) runs either as the chain per
    row or folded: Q = G_1⋯G_N computed once per head by running the chain
    over the rows of the identity, then one contraction x·Q (x·(Q·R) for
    the block). With M rows, H heads, N rotations and D features the chain
    costs 6·N flops per row and the fold H·6·N·D + 2·M·D² in all;
    `chain-strategy=auto` picks the cheaper from the real sizes, at compile
    time when they are static and at run time otherwise.
  }];
  let options = [
    Option<"chainStrategy", "chain-strategy", "std::string",
           /*default=*/"\"auto\"",
           "How Givens chains run: auto (cost model), chain or fold">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

#endif // ROTARY_CONVERSION_PASSES_TD
