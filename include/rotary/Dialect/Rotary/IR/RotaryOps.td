//===- RotaryOps.td - rotary op definitions ----------------*- tablegen -*-===//
//
// The ops of docs/Math.md. Verifiers check every static dimension; the
// message always names the operand and the expected shape.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_TD

include "rotary/Dialect/Rotary/IR/RotaryDialect.td"
include "rotary/Dialect/Rotary/IR/RotaryAttrs.td"
include "rotary/Dialect/Rotary/IR/RotaryInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Rotary_DataTensor : RankedTensorOf<[F32, F16, BF16]>;
def Rotary_F32Tensor : RankedTensorOf<[F32]>;
def Rotary_PositionTensor : RankedTensorOf<[I32, I64, F32]>;
// I64Attr's getter returns uint64_t; sizes and windows here may be negative
// in bad input and must read back as such for the verifiers.
def Rotary_I64Attr : TypedSignlessIntegerAttrBase<I64, "int64_t",
                                                  "64-bit integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

def Rotary_F32Scalar : 0DTensorOf<[F32]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;

//===----------------------------------------------------------------------===//
// rotary.rope
//===----------------------------------------------------------------------===//

def Rotary_RopeOp : Rotary_ContractOp<"rope", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>, AttrSizedOperandSegments,
                                       AllTypesMatch<["x", "result"]>]> {
  let summary = "rotary position embedding (all layouts, learnable parts)";
  let description = [{
    Rotates pairs of the first `rotary_dim` features of `x [B, T, H, D]` by
    θ = scale·p·f_i + φ_i (Math §1). Features `rotary_dim..D` pass through.
    `positions` is `[T]` or `[B, T]` (i32, i64 or f32). Frequencies come from
    `inv_freq [r/2]` when given, else f_i = base^(-2i/r) with `base` taken from
    the `base(...)` operand (a base that changes at run time) or the `base`
    attribute (default 10000). `phase [r/2]` and a scalar `scale` are
    optional. `inverse` rotates by -θ (and, for `deinterleave`, applies the
    inverse layout map): it is the op's own backward for `x`.

    `xpos = query` or `xpos = key` turns on xPos: pair i is also scaled by
    ζ_i^(±n/xpos_scale_base), ζ_i = (i/(r/2) + γ)/(1 + γ) with γ =
    `xpos_gamma` (default 0.4), `xpos_scale_base` default 512, n the
    position, + for queries and − for keys. With xPos, `inverse` inverts
    only the rotation and keeps the scale: it is the transpose (still the
    backward for `x`), not the inverse.

    Example:

    ```mlir
    %y = rotary.rope %x, %pos layout = half {rotary_dim = 64 : i64}
        : tensor<?x?x8x128xbf16>, tensor<?xi64>
    %z = rotary.rope %x, %pos inv_freq(%f : tensor<32xf32>) scale(%s)
        layout = interleaved : tensor<2x16x4x64xf32>, tensor<2x16xi32>
    %q = rotary.rope %x, %pos layout = half xpos = query
        {xpos_scale_base = 256.0 : f32} : tensor<?x?x8x128xbf16>, tensor<?xi64>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_PositionTensor:$positions,
                       Optional<Rotary_F32Tensor>:$inv_freq,
                       Optional<Rotary_F32Tensor>:$phase,
                       Optional<Rotary_F32Scalar>:$scale,
                       Optional<Rotary_F32Scalar>:$runtime_base,
                       DefaultValuedAttr<Rotary_RopeLayoutAttr,
                                         "::rotary::RopeLayout::half">:$layout,
                       OptionalAttr<Rotary_I64Attr>:$rotary_dim,
                       OptionalAttr<F32Attr>:$base,
                       UnitAttr:$inverse,
                       OptionalAttr<Rotary_XPosRoleAttr>:$xpos,
                       OptionalAttr<F32Attr>:$xpos_scale_base,
                       OptionalAttr<F32Attr>:$xpos_gamma);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    $x `,` $positions
    (`inv_freq` `(` $inv_freq^ `:` type($inv_freq) `)`)?
    (`phase` `(` $phase^ `:` type($phase) `)`)?
    (`scale` `(` $scale^ `)`)?
    (`base` `(` $runtime_base^ `)`)?
    `layout` `=` `` $layout (`xpos` `=` `` $xpos^)? attr-dict
    `:` type($x) `,` type($positions)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$x, "::mlir::Value":$positions,
                   CArg<"const ::rotary::RopeOptions &", "{}">:$options)>
  ];
  let extraClassDeclaration = [{
    /// The base used when no inv_freq operand is given.
    static constexpr float kDefaultBase = 10000.0f;
    float getBaseOrDefault() {
      return getBase() ? getBase()->convertToFloat() : kDefaultBase;
    }
    /// rotary_dim if set, else D (or ShapedType::kDynamic).
    int64_t getRotaryDimOrD();
    float getXposScaleBaseOrDefault() {
      return getXposScaleBase() ? getXposScaleBase()->convertToFloat()
                                : ::rotary::kDefaultXPosScaleBase;
    }
    float getXposGammaOrDefault() {
      return getXposGamma() ? getXposGamma()->convertToFloat()
                            : ::rotary::kDefaultXPosGamma;
    }
  }];
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// rotary.inv_freq
//===----------------------------------------------------------------------===//

def Rotary_InvFreqOp : Rotary_Op<"inv_freq", [Pure,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "multi-scale RoPE inverse frequencies";
  let description = [{
    Builds the `dim/2` inverse frequencies of RoPE: the frequencies are split
    into S equal groups (S = number of `scales`, default one group of scale
    1), and group k uses the base `base·s_k`: f_i = (base·s_k)^(-2i/dim).

    Example:

    ```mlir
    %f = rotary.inv_freq dim = 64 base = 5.0e+05 scales = [1.0, 4.0]
    ```
  }];
  let arguments = (ins Rotary_I64Attr:$dim,
                       DefaultValuedAttr<F32Attr, "10000.0f">:$base,
                       OptionalAttr<DenseF32ArrayAttr>:$scales);
  let results = (outs Rotary_F32Tensor:$result);
  let builders = [
    OpBuilder<(ins "int64_t":$dim, CArg<"float", "10000.0f">:$base,
                   CArg<"::llvm::ArrayRef<float>", "{}">:$scales), [{
      build($_builder, $_state, $_builder.getI64IntegerAttr(dim),
            $_builder.getF32FloatAttr(base),
            scales.empty() ? ::mlir::DenseF32ArrayAttr()
                           : $_builder.getDenseF32ArrayAttr(scales));
    }]>
  ];
  let assemblyFormat = [{
    `dim` `=` $dim (`base` `=` $base^)? (`scales` `=` $scales^)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rotary.givens
//===----------------------------------------------------------------------===//

def Rotary_GivensOp : Rotary_ContractOp<"givens", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
                                           AllTypesMatch<["x", "result"]>]> {
  let summary = "a chain of Givens rotations";
  let description = [{
    y = x·G_1·G_2⋯G_N over the last dimension of `x [..., D]` (docs/Math.md §2).
    `angles` is `[N]` (one chain) or `[H, N]` (one chain per head; the head is
    dimension -2 of `x`). `pairs` lists the N index pairs; without it the
    first N rotations of the round-robin schedule are applied (D even).
    `inverse` applies x·G_Nᵀ⋯G_1ᵀ, the exact inverse (and the backward for
    `x`).

    Example:

    ```mlir
    %y = rotary.givens %x, %a : tensor<?x64xf32>, tensor<63xf32>
    %z = rotary.givens %x, %b pairs = [(0, 1), (2, 3)]
        : tensor<4x16x8x4xbf16>, tensor<8x2xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$angles,
                       OptionalAttr<DenseI64ArrayAttr>:$pairs,
                       UnitAttr:$inverse);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    $x `,` $angles (`pairs` `=` custom<Pairs>($pairs)^)? attr-dict
    `:` type($x) `,` type($angles)
  }];
  let extraClassDeclaration = [{
    /// Number of rotations: the last dimension of `angles`.
    int64_t getNumRotations();
    /// The (i, j) pairs this op applies, materialising the default schedule
    /// when `pairs` is absent. Fails when they depend on a dynamic size.
    ::mlir::FailureOr<::llvm::SmallVector<int64_t>> getEffectivePairs();
  }];
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// rotary.orthogonal / rotary.orthogonality_penalty
//===----------------------------------------------------------------------===//

def Rotary_OrthogonalOp : Rotary_ContractOp<"orthogonal", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "multiply by a (learnable, near-orthogonal) matrix";
  let description = [{
    y = x·R over the last dimension of `x [..., D]` with `R [D, E]` or
    `R [H, D, E]` (one matrix per head; the head is dimension -2 of `x`);
    the result is `[..., E]`. R is usually square and initialised
    orthogonal; a rectangular R is the learnable projection of docs/Math.md §8
    (x·P to 3-D, rotate, back with Pᵀ). `transpose` multiplies by Rᵀ
    instead (R is then `[E, D]`; it is the backward for `x`). An identity
    constant R folds away.

    Example:

    ```mlir
    %y = rotary.orthogonal %x, %r : tensor<?x?x8x64xf32>, tensor<8x64x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_DataTensor:$matrix,
                       UnitAttr:$transpose);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    $x `,` $matrix attr-dict `:` type($x) `,` type($matrix)
  }];
  let hasFolder = 1;
}

def Rotary_OrthogonalityPenaltyOp : Rotary_ContractOp<"orthogonality_penalty", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>, Pure]> {
  let summary = "‖RᵀR − I‖_F², summed over heads";
  let description = [{
    The soft orthogonality constraint for `R [D, E]` or `R [H, D, E]`
    (docs/Math.md §3; I is E×E, so a rectangular R is pushed to orthonormal
    columns). Its gradient is 4·R·(RᵀR − I).

    Example:

    ```mlir
    %p = rotary.orthogonality_penalty %r : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$matrix);
  let results = (outs Rotary_F32Scalar:$result);
  let assemblyFormat = "$matrix attr-dict `:` type($matrix)";
}

//===----------------------------------------------------------------------===//
// rotary.rotation_block
//===----------------------------------------------------------------------===//

def Rotary_RotationBlockOp : Rotary_ContractOp<"rotation_block", [Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    AllTypesMatch<["x", "result"]>]> {
  let summary = "optional RoPE, a Givens chain, then an orthogonal matrix";
  let description = [{
    x·(∏G_k)·R (docs/Math.md §4), optionally preceded by `rotary.rope` with
    `positions` (then `x` is `[B, T, H, D]`, and `layout`, `rotary_dim` and
    `base` configure that rope). It means `rotary.rope`, `rotary.givens` and
    `rotary.orthogonal` in a row and is lowered as one fused kernel;
    canonicalization expands it only when a part folds away, and
    `rotary-fuse-rotations` expands it when its cost model folds the chain
    into R (decision 0017). Gradients differentiate its parts.

    Example:

    ```mlir
    %y = rotary.rotation_block %x, %a, %r
        : tensor<?x64xf32>, tensor<63xf32>, tensor<64x64xf32>
    %z = rotary.rotation_block %q, %a, %r rope(%pos : tensor<?xi64>)
        layout = half : tensor<1x?x8x64xf32>, tensor<8x16xf32>,
        tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$angles,
                       Rotary_DataTensor:$matrix,
                       Optional<Rotary_PositionTensor>:$positions,
                       OptionalAttr<DenseI64ArrayAttr>:$pairs,
                       OptionalAttr<Rotary_RopeLayoutAttr>:$layout,
                       OptionalAttr<Rotary_I64Attr>:$rotary_dim,
                       OptionalAttr<F32Attr>:$base);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    $x `,` $angles `,` $matrix
    (`rope` `(` $positions^ `:` type($positions) `)`)?
    (`pairs` `=` custom<Pairs>($pairs)^)?
    (`layout` `=` `` $layout^)?
    attr-dict `:` type($x) `,` type($angles) `,` type($matrix)
  }];
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// HDD-RoPE: so_generator, cumulative_rotation, hdd_rope
//===----------------------------------------------------------------------===//

def Rotary_SOGeneratorOp : Rotary_ContractOp<"so_generator", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface,
                              ["recomputeInBackward"]>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "angles [..., c(c-1)/2] to rotations [..., c, c] in SO(c)";
  let description = [{
    `givens`: the product of the Givens rotations over the pairs (p, q),
    p < q, in lexicographic order, with the angles in that order. `exp`: the
    matrix exponential of the skew-symmetric matrix A[p,q] = a_pq,
    A[q,p] = -a_pq (docs/Math.md §5).

    Example:

    ```mlir
    %g = rotary.so_generator %a chunk = 4 form = givens
        : tensor<2x?x8x16x6xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$angles,
                       Rotary_I64Attr:$chunk,
                       DefaultValuedAttr<Rotary_SOFormAttr,
                                         "::rotary::SOForm::givens">:$form);
  let results = (outs Rotary_F32Tensor:$result);
  let assemblyFormat = [{
    $angles `chunk` `=` $chunk `form` `=` `` $form attr-dict `:` type($angles)
  }];
}

def Rotary_CumulativeRotationOp : Rotary_ContractOp<"cumulative_rotation", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface,
                              ["recomputeInBackward"]>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    AllTypesMatch<["rotations", "result"]>]> {
  let summary = "inclusive product scan P_t = G_1·G_2⋯G_t";
  let description = [{
    An associative scan of c×c matrices `[..., c, c]` along dimension `axis`
    (default 1, the T of `[B, T, H, C, c, c]`), multiplying on the right.

    Example:

    ```mlir
    %p = rotary.cumulative_rotation %g : tensor<2x?x8x16x4x4xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$rotations,
                       DefaultValuedAttr<Rotary_I64Attr, "1">:$axis);
  let results = (outs Rotary_F32Tensor:$result);
  let assemblyFormat = "$rotations attr-dict `:` type($rotations)";
  let extraClassDeclaration = [{
    /// c of G [..., c, c]; kDynamic if unknown.
    int64_t getChunkSize() {
      return ::rotary::trailingMatrixSize(getRotations().getType());
    }
  }];
}

def Rotary_HDDRopeOp : Rotary_ContractOp<"hdd_rope", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
                                              AllTypesMatch<["x", "result"]>]> {
  let summary = "apply per-chunk rotations (HDD-RoPE)";
  let description = [{
    `x [B, T, H, D]` is split into C = D/c chunks; chunk m of token t is
    multiplied (as a column vector) by P_t[m]. Two forms (docs/Math.md §5):
    - `rotation` is `P [B, T, H, C, c, c]`;
    - with `form`, `rotation` is the angle tensor `[B, T, H, C, c(c-1)/2]`
      and the op is the fused so_generator → cumulative_rotation → hdd_rope
      chain (`chunk` required).
    `inverse` multiplies by P_tᵀ (the backward for `x`).

    Example:

    ```mlir
    %y = rotary.hdd_rope %x, %p : tensor<2x?x8x64xf32>, tensor<2x?x8x16x4x4xf32>
    %z = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64}
        : tensor<2x?x8x64xbf16>, tensor<2x?x8x16x6xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$rotation,
                       OptionalAttr<Rotary_I64Attr>:$chunk,
                       OptionalAttr<Rotary_SOFormAttr>:$form,
                       UnitAttr:$inverse);
  let results = (outs Rotary_DataTensor:$result);
  let builders = [
    // The P form: x and P [B, T, H, C, c, c].
    OpBuilder<(ins "::mlir::Value":$x, "::mlir::Value":$rotations,
                   CArg<"bool", "false">:$inverse)>,
    // The fused form: x and angles [B, T, H, C, c(c-1)/2].
    OpBuilder<(ins "::mlir::Value":$x, "::mlir::Value":$angles,
                   "int64_t":$chunk, "::rotary::SOForm":$form,
                   CArg<"bool", "false">:$inverse)>
  ];
  let assemblyFormat = [{
    $x `,` $rotation (`form` `=` `` $form^)? attr-dict
    `:` type($x) `,` type($rotation)
  }];
  let extraClassDeclaration = [{
    /// True for the fused form (angles instead of P).
    bool isFused() { return getForm().has_value(); }
    /// The fused form with Givens generators.
    bool isFusedGivens() { return getForm() == SOForm::givens; }
    /// The chunk size c, from `chunk` or from P's shape; kDynamic if unknown.
    int64_t getChunkSize();
  }];
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// rotary.attention
//===----------------------------------------------------------------------===//

def Rotary_AttentionOp : Rotary_ContractOp<"attention", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "adaptive local/global attention with log-sum-exp";
  let description = [{
    `q [B, H, T, D]`, `k, v [B, H, S, D]`. Scores scale·q_i·k_j + bias(i, j),
    masked outside the pattern (`causal`; `window` W: i - W <= j, -1 =
    unlimited; the first `global_tokens` keys and queries see everything,
    still causal when `causal`). `bias` is a table `[H, 2W'+1]` indexed by
    clamp(j - i, -W', W') or a full `[H, T, S]` tensor. `span [H]` with
    `span_ramp` R applies the adaptive-span soft mask and renormalises.
    `scale` defaults to D^-1/2. Returns the output `[B, H, T, D]` and the
    log-sum-exp `[B, H, T]` (f32) used by the backward (docs/Math.md §6).
    When T ≠ S the queries are the last T of the S positions (a KV cache):
    query i sits at position i + S - T, and the causal, window and
    global-token rules compare positions. A row whose keys are all masked
    gives a zero output and a log-sum-exp of -inf.

    Example:

    ```mlir
    %o, %lse = rotary.attention %q, %k, %v {causal, window = 64 : i64}
        : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
    %o2, %lse2 = rotary.attention %q, %k, %v bias(%b : tensor<8x129xf32>)
        span(%s : tensor<8xf32>) {span_ramp = 32.0 : f32}
        : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>,
          tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$q,
                       Rotary_DataTensor:$k,
                       Rotary_DataTensor:$v,
                       Optional<Rotary_F32Tensor>:$bias,
                       Optional<Rotary_F32Tensor>:$span,
                       UnitAttr:$causal,
                       DefaultValuedAttr<Rotary_I64Attr, "-1">:$window,
                       DefaultValuedAttr<Rotary_I64Attr, "0">:$global_tokens,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<F32Attr>:$span_ramp);
  let results = (outs Rotary_DataTensor:$output, Rotary_F32Tensor:$lse);
  let builders = [
    OpBuilder<(ins "::mlir::Value":$q, "::mlir::Value":$k, "::mlir::Value":$v,
                   CArg<"const ::rotary::AttentionOptions &", "{}">:$options)>
  ];
  let assemblyFormat = [{
    $q `,` $k `,` $v
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`span` `(` $span^ `:` type($span) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v)
  }];
}

//===----------------------------------------------------------------------===//
// FAM: spectral_bands, adaptive_momentum, fam_step
//===----------------------------------------------------------------------===//

def Rotary_SpectralBandsOp : Rotary_ContractOp<"spectral_bands", [Pure,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "normalised band energies of a magnitude spectrum";
  let description = [{
    Takes the magnitude spectrum P = |rFFT(s)| `[L]` of a gradient sample,
    normalises it (P / (ΣP + eps) when ΣP > 0) and returns the sum of each of
    `n_bands` bands `[n]`, split by `layout` (`linear`, `log` or `split`,
    docs/Math.md §7 step 2). Empty bands are 0.

    Example:

    ```mlir
    %b = rotary.spectral_bands %p bands = 8 layout = linear : tensor<?xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$spectrum,
                       Rotary_I64Attr:$n_bands,
                       DefaultValuedAttr<Rotary_BandLayoutAttr,
                                         "::rotary::BandLayout::linear">:$layout,
                       DefaultValuedAttr<F32Attr, "1.0e-8f">:$eps);
  let results = (outs Rotary_F32Tensor:$result);
  let builders = [
    OpBuilder<(ins "::mlir::Value":$spectrum, "int64_t":$nBands,
                   CArg<"::rotary::BandLayout", "::rotary::BandLayout::linear">:$layout,
                   CArg<"float", "1.0e-8f">:$eps), [{
      build($_builder, $_state, spectrum, $_builder.getI64IntegerAttr(nBands),
            ::rotary::BandLayoutAttr::get($_builder.getContext(), layout),
            $_builder.getF32FloatAttr(eps));
    }]>
  ];
  let assemblyFormat = [{
    $spectrum `bands` `=` $n_bands `layout` `=` `` $layout attr-dict
    `:` type($spectrum)
  }];
}

def Rotary_AdaptiveMomentumOp : Rotary_ContractOp<"adaptive_momentum", [Pure]> {
  let summary = "FAM effective momentum from EMA band energies";
  let description = [{
    α' from the EMA bands `ema [n]` and the base momentum `alpha` by the
    rule of `handler` (`default`, `conv`, `attention`, `embedding`; Math §7
    step 3). Band fractions n/2, n/4, 3n/4 are integer divisions.

    Example:

    ```mlir
    %a = rotary.adaptive_momentum %ema, %alpha handler = conv : tensor<10xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$ema,
                       Rotary_F32Scalar:$alpha,
                       DefaultValuedAttr<Rotary_FamHandlerAttr,
                                         "::rotary::FamHandler::Default">:$handler);
  let results = (outs Rotary_F32Scalar:$result);
  let assemblyFormat = [{
    $ema `,` $alpha `handler` `=` `` $handler attr-dict `:` type($ema)
  }];
}

def Rotary_FamStepOp : Rotary_ContractOp<"fam_step", [Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    AllTypesMatch<["param", "grad", "new_param"]>,
    AllTypesMatch<["momentum", "new_momentum"]>]> {
  let summary = "FAM parameter update with weight decay";
  let description = [{
    g' = g + weight_decay·p; m' = α'·m + (1 - α')·g'; p' = p - lr·m'
    (Math §7 steps 1 and 4). `momentum` has the shape of `param` and may be
    kept in a wider type.

    Example:

    ```mlir
    %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha {weight_decay = 0.01 : f32}
        : tensor<?xf32>, tensor<?xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$param,
                       Rotary_DataTensor:$grad,
                       Rotary_DataTensor:$momentum,
                       Rotary_F32Scalar:$lr,
                       Rotary_F32Scalar:$alpha,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay);
  let results = (outs Rotary_DataTensor:$new_param,
                      Rotary_DataTensor:$new_momentum);
  let builders = [
    OpBuilder<(ins "::mlir::Value":$param, "::mlir::Value":$grad,
                   "::mlir::Value":$momentum, "::mlir::Value":$lr,
                   "::mlir::Value":$alpha, CArg<"float", "0.0f">:$weightDecay), [{
      build($_builder, $_state, param.getType(), momentum.getType(), param,
            grad, momentum, lr, alpha, $_builder.getF32FloatAttr(weightDecay));
    }]>
  ];
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum `,` $lr `,` $alpha attr-dict
    `:` type($param) `,` type($momentum)
  }];
}

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

def Rotary_QuaternionRotateOp : Rotary_ContractOp<"quaternion_rotate", [
    DeclareOpInterfaceMethods<Rotary_DifferentiableOpInterface>,
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    AllTypesMatch<["x", "result"]>]> {
  let summary = "rotate 3-vectors about an axis by an angle (quaternion form)";
  let description = [{
    x' = x + 2w·(v × x) + 2·v × (v × x) with w = cos(θ/2),
    v = sin(θ/2)·u, u = axis / max(‖axis‖, 1e-8) (Math §8). `x [..., 3]`;
    `axis` is `[3]` (shared) or `[..., 3]` like `x`; `angle` is a scalar or
    `[...]` (one per vector).

    Example:

    ```mlir
    %y = rotary.quaternion_rotate %x, %u, %theta
        : tensor<?x?x3xf32>, tensor<3xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$axis,
                       Rotary_F32Tensor:$angle);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    $x `,` $axis `,` $angle attr-dict `:` type($x) `,` type($axis) `,`
    type($angle)
  }];
  let hasFolder = 1;
}

include "rotary/Dialect/Rotary/IR/RotaryGradOps.td"
include "rotary/Dialect/Rotary/IR/RotaryStructuredOps.td"

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_TD
