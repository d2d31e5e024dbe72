//===- RotaryGradOps.td - gradient ops ---------------------*- tablegen -*-===//
//
// The backward of every differentiable op (the "Backward" paragraphs of
// docs/Math.md). rotary-generate-gradients emits them. Each takes the operands
// its forward op had (the verifier is the forward's) plus the cotangents of
// the forward's results, and returns one gradient per differentiable operand,
// of that operand's type. Optional differentiable operands (learnable
// frequencies, phase, scale, base, bias, span) get their gradients as the
// trailing variadic results, in operand order. `inverse` on a gradient op
// means its forward op had `inverse`.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYGRADOPS_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYGRADOPS_TD

class Rotary_GradOp<string mnemonic, list<Trait> traits = []>
    : Rotary_ContractOp<mnemonic, !listconcat([Pure,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>], traits)>;

def Rotary_RopeGradOp : Rotary_GradOp<"rope_grad", [AttrSizedOperandSegments,
    AllTypesMatch<["x", "dy"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "backward of rotary.rope, with its parameter reductions";
  let description = [{
    Given the forward's operands and ȳ = `dy`, returns x̄ (the inverse
    rotation of ȳ) and, for each of `inv_freq`, `phase`, `scale` and `base`
    that is present, its gradient: θ̄ = ȳ_a·(−a·sinθ − b·cosθ) +
    ȳ_b·(a·cosθ − b·sinθ) per (b, t, h, i), reduced by the chain rule
    (docs/Math.md §1). One pass over x and ȳ computes all of them. With
    `xpos` (and its `xpos_scale_base`, `xpos_gamma`) as on the forward, x̄
    and θ̄ carry the pair's xPos scale as well.

    Example:

    ```mlir
    %dx, %df, %dp = rotary.rope_grad %x, %pos, %dy inv_freq(%f : tensor<32xf32>)
        phase(%p : tensor<32xf32>) layout = half
        : tensor<?x?x8x64xf32>, tensor<?xi64>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_PositionTensor:$positions,
                       Rotary_DataTensor:$dy,
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
  let results = (outs Rotary_DataTensor:$dx,
                      Variadic<Rotary_F32Tensor>:$param_grads);
  let assemblyFormat = [{
    $x `,` $positions `,` $dy
    (`inv_freq` `(` $inv_freq^ `:` type($inv_freq) `)`)?
    (`phase` `(` $phase^ `:` type($phase) `)`)?
    (`scale` `(` $scale^ `)`)?
    (`base` `(` $runtime_base^ `)`)?
    `layout` `=` `` $layout (`xpos` `=` `` $xpos^)? attr-dict
    `:` type($x) `,` type($positions)
  }];
  let extraClassDeclaration = [{
    /// The gradient of `operand` (one of the optional parameters), or null.
    ::mlir::Value getGradOf(::mlir::Value operand);
    float getXposScaleBaseOrDefault() {
      return getXposScaleBase() ? getXposScaleBase()->convertToFloat()
                                : ::rotary::kDefaultXPosScaleBase;
    }
    float getXposGammaOrDefault() {
      return getXposGamma() ? getXposGamma()->convertToFloat()
                            : ::rotary::kDefaultXPosGamma;
    }
  }];
}

def Rotary_GivensGradOp : Rotary_GradOp<"givens_grad", [
    AllTypesMatch<["x", "dy", "dx"]>, AllTypesMatch<["angles", "dangles"]>]> {
  let summary = "backward of rotary.givens: the reversed chain and dangles";
  let description = [{
    x̄ = ȳ·G_Nᵀ⋯G_1ᵀ and φ̄_k = Σ_rows ā'·(−a·sin φ_k + b·cos φ_k) +
    b̄'·(−a·cos φ_k − b·sin φ_k) (Math §2), in one pass per row: the row's
    forward values are recovered by undoing the rotations from the output.

    Example:

    ```mlir
    %dx, %da = rotary.givens_grad %x, %a, %dy : tensor<?x64xf32>, tensor<63xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$angles,
                       Rotary_DataTensor:$dy,
                       OptionalAttr<DenseI64ArrayAttr>:$pairs,
                       UnitAttr:$inverse);
  let results = (outs Rotary_DataTensor:$dx, Rotary_F32Tensor:$dangles);
  let assemblyFormat = [{
    $x `,` $angles `,` $dy (`pairs` `=` custom<Pairs>($pairs)^)? attr-dict
    `:` type($x) `,` type($angles)
  }];
  let extraClassDeclaration = [{
    ::mlir::FailureOr<::llvm::SmallVector<int64_t>> getEffectivePairs();
  }];
}

def Rotary_OrthogonalGradOp : Rotary_GradOp<"orthogonal_grad", [
    AllTypesMatch<["x", "dx"]>, AllTypesMatch<["matrix", "dmatrix"]>]> {
  let summary = "backward of rotary.orthogonal: x̄ = ȳ·Rᵀ, R̄ = Σ xᵀ·ȳ";
  let description = [{
    With `transpose` the forward multiplied by Rᵀ, so x̄ = ȳ·R and
    R̄ = Σ ȳᵀ·x. Per-head matrices reduce over every row of their head.

    Example:

    ```mlir
    %dx, %dr = rotary.orthogonal_grad %x, %r, %dy
        : tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_DataTensor:$matrix,
                       Rotary_DataTensor:$dy,
                       UnitAttr:$transpose);
  let results = (outs Rotary_DataTensor:$dx, Rotary_DataTensor:$dmatrix);
  let assemblyFormat = [{
    $x `,` $matrix `,` $dy attr-dict `:` type($x) `,` type($matrix) `,`
    type($dy)
  }];
}

def Rotary_OrthogonalityPenaltyGradOp
    : Rotary_GradOp<"orthogonality_penalty_grad", [
        AllTypesMatch<["matrix", "dmatrix"]>]> {
  let summary = "backward of rotary.orthogonality_penalty: 4·R·(RᵀR − I)·p̄";
  let description = [{
    Example:

    ```mlir
    %dr = rotary.orthogonality_penalty_grad %r, %dp : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$matrix, Rotary_F32Scalar:$dresult);
  let results = (outs Rotary_DataTensor:$dmatrix);
  let assemblyFormat = "$matrix `,` $dresult attr-dict `:` type($matrix)";
}

def Rotary_SOGeneratorGradOp : Rotary_GradOp<"so_generator_grad", [
    AllTypesMatch<["angles", "dangles"]>]> {
  let summary = "backward of rotary.so_generator: Ḡ to ā";
  let description = [{
    `givens`: per-angle 2×2 derivatives through the product (docs/Math.md §5);
    `exp`: the adjoint of the matrix exponential, exp'(A)ᵀ[Ḡ] = the upper
    right block of exp([[Aᵀ, Ḡ], [0, Aᵀ]]), then ā_pq = Ā_pq − Ā_qp.

    Example:

    ```mlir
    %da = rotary.so_generator_grad %a, %dg chunk = 4 form = givens
        : tensor<?x16x6xf32>, tensor<?x16x4x4xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$angles,
                       Rotary_F32Tensor:$dresult,
                       Rotary_I64Attr:$chunk,
                       DefaultValuedAttr<Rotary_SOFormAttr,
                                         "::rotary::SOForm::givens">:$form);
  let results = (outs Rotary_F32Tensor:$dangles);
  let assemblyFormat = [{
    $angles `,` $dresult `chunk` `=` $chunk `form` `=` `` $form attr-dict
    `:` type($angles) `,` type($dresult)
  }];
}

def Rotary_CumulativeRotationGradOp
    : Rotary_GradOp<"cumulative_rotation_grad", [
        AllTypesMatch<["rotations", "dresult", "drotations"]>]> {
  let summary = "backward of rotary.cumulative_rotation: a reverse scan";
  let description = [{
    Ḡ_t = P_{t−1}ᵀ·Σ_{s≥t} P̄_s·(G_{t+1}⋯G_s)ᵀ (Math §5). P is recomputed
    from G, never taken as an input.

    Example:

    ```mlir
    %dg = rotary.cumulative_rotation_grad %g, %dp : tensor<2x?x8x16x4x4xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$rotations,
                       Rotary_F32Tensor:$dresult,
                       DefaultValuedAttr<Rotary_I64Attr, "1">:$axis);
  let results = (outs Rotary_F32Tensor:$drotations);
  let assemblyFormat = "$rotations `,` $dresult attr-dict `:` type($rotations)";
  let extraClassDeclaration = [{
    /// c of G [..., c, c]; kDynamic if unknown.
    int64_t getChunkSize() {
      return ::rotary::trailingMatrixSize(getRotations().getType());
    }
  }];
}

def Rotary_HDDRopeGradOp : Rotary_GradOp<"hdd_rope_grad", [
    AllTypesMatch<["x", "dy", "dx"]>, AllTypesMatch<["rotation", "drotation"]>]> {
  let summary = "backward of rotary.hdd_rope (both forms)";
  let description = [{
    P form: x̄_t = P_tᵀ·ȳ_t, P̄_t = ȳ_t·x_tᵀ per chunk. Fused form (`form`,
    `chunk`): x̄ and the angle gradient ā through the reverse scan of Math §5,
    recomputing P from the angles (P is never stored per token).

    Example:

    ```mlir
    %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = givens {chunk = 4 : i64}
        : tensor<1x?x8x64xf32>, tensor<1x?x8x16x6xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$rotation,
                       Rotary_DataTensor:$dy,
                       OptionalAttr<Rotary_I64Attr>:$chunk,
                       OptionalAttr<Rotary_SOFormAttr>:$form,
                       UnitAttr:$inverse);
  let results = (outs Rotary_DataTensor:$dx, Rotary_F32Tensor:$drotation);
  let assemblyFormat = [{
    $x `,` $rotation `,` $dy (`form` `=` `` $form^)? attr-dict
    `:` type($x) `,` type($rotation)
  }];
  let extraClassDeclaration = [{
    bool isFused() { return getForm().has_value(); }
    /// The fused form with Givens generators.
    bool isFusedGivens() { return getForm() == SOForm::givens; }
    /// The chunk size c, from `chunk` or from P's shape; kDynamic if unknown.
    int64_t getChunkSize() {
      if (auto c = getChunk())
        return *c;
      return ::rotary::trailingMatrixSize(getRotation().getType());
    }
  }];
}

def Rotary_AttentionGradOp : Rotary_GradOp<"attention_grad", [
    AttrSizedOperandSegments, AllTypesMatch<["q", "output", "doutput"]>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "backward of rotary.attention (FlashAttention-2 style)";
  let description = [{
    Recomputes the scores from q, k and the saved log-sum-exp, with
    D_i = Σ_d ȯ_id·o_id: p_ij = m_ij·exp(s_ij − lse_i), v̄_j += p_ij·ȯ_i,
    s̄_ij = p_ij·(ȯ_i·v_j − D_i + l̄se_i), q̄_i += scale·s̄_ij·k_j,
    k̄_j += scale·s̄_ij·q_i; b̄ias gathers s̄_ij; s̄pan gathers
    exp(s_ij − lse_i)·(ȯ_i·v_j − D_i + l̄se_i)·∂m_ij/∂span (docs/Math.md §6).
    `dlse` (the cotangent of the log-sum-exp) is optional. Results: q̄, k̄,
    v̄, then the gradients of `bias` and `span` when present.

    Example:

    ```mlir
    %dq, %dk, %dv = rotary.attention_grad %q, %k, %v, %o, %lse, %do
        {causal, window = 64 : i64}
        : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>,
          tensor<?x8x?xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$q,
                       Rotary_DataTensor:$k,
                       Rotary_DataTensor:$v,
                       Rotary_DataTensor:$output,
                       Rotary_F32Tensor:$lse,
                       Rotary_DataTensor:$doutput,
                       Optional<Rotary_F32Tensor>:$dlse,
                       Optional<Rotary_F32Tensor>:$bias,
                       Optional<Rotary_F32Tensor>:$span,
                       UnitAttr:$causal,
                       DefaultValuedAttr<Rotary_I64Attr, "-1">:$window,
                       DefaultValuedAttr<Rotary_I64Attr, "0">:$global_tokens,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<F32Attr>:$span_ramp);
  let results = (outs Rotary_DataTensor:$dq, Rotary_DataTensor:$dk,
                      Rotary_DataTensor:$dv,
                      Variadic<Rotary_F32Tensor>:$param_grads);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $output `,` $lse `,` $doutput
    (`dlse` `(` $dlse^ `:` type($dlse) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`span` `(` $span^ `:` type($span) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($lse)
  }];
  let extraClassDeclaration = [{
    /// The gradient of `bias` or `span`, or null.
    ::mlir::Value getGradOf(::mlir::Value operand);
  }];
}

def Rotary_QuaternionRotateGradOp : Rotary_GradOp<"quaternion_rotate_grad", [
    AllTypesMatch<["x", "dy", "dx"]>, AllTypesMatch<["axis", "daxis"]>,
    AllTypesMatch<["angle", "dangle"]>]> {
  let summary = "backward of rotary.quaternion_rotate";
  let description = [{
    x̄ = Rᵀ·ȳ per vector (R the rotation matrix), and the gradients of the
    (normalised) axis and the angle, reduced over the vectors that share
    them.

    Example:

    ```mlir
    %dx, %du, %dt = rotary.quaternion_rotate_grad %x, %u, %t, %dy
        : tensor<?x3xf32>, tensor<3xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$axis,
                       Rotary_F32Tensor:$angle,
                       Rotary_DataTensor:$dy);
  let results = (outs Rotary_DataTensor:$dx, Rotary_F32Tensor:$daxis,
                      Rotary_F32Tensor:$dangle);
  let assemblyFormat = [{
    $x `,` $axis `,` $angle `,` $dy attr-dict `:` type($x) `,` type($axis)
    `,` type($angle)
  }];
}

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYGRADOPS_TD
