//===- RotaryStructuredOps.td - destination-passing ops ----*- tablegen -*-===//
//
// The structured level: the heavy ops in destination-passing style with
// TilingInterface over their parallel dimensions. `convert-rotary-to-linalg`
// produces them with no tile size; a target's schedule records its tiles on
// them (`rotary.tiles`), `rotary-tile-and-decompose` tiles them into
// `scf.forall` tasks and decomposes each tile into linalg, scf and tensor
// ops. A tile of one of them is again the same op on slices.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYSTRUCTUREDOPS_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYSTRUCTUREDOPS_TD

include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/TilingInterface.td"

def Rotary_OnlineAttentionOp : Rotary_Op<"online_attention", [Pure,
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    // Results have their inits' types (DestinationStyleOpInterface).
    AllTypesMatch<["q", "output_init"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "a block of queries of rotary.attention, destination-passing";
  let description = [{
    The structured form of `rotary.attention`: the same scores, pattern,
    bias, span and online softmax, for the queries `q [B, H, T, D]` whose
    first row sits at position `first_position` (row i at position
    `first_position + i`; the whole attention has first_position = S − T).
    Every rule of the pattern compares positions, so a block of rows is
    the same op on the rows' slices of `q`, of a full bias `[H, T, S]`,
    and of the outputs. Keys `k, v [B, H, S, D]` are never split. The
    results are written into `output_init` (like `q`) and `lse_init`
    (`[B, H, T]`, f32).

    TilingInterface: the iteration domain is (B, H, T), all parallel; a
    tile (b, h, i) of sizes (nb, nh, ni) slices q, the outputs and a full
    bias on (b, h, i), a bias table and the span on h, k and v on (b, h),
    and shifts first_position by i.

    Example:

    ```mlir
    %o, %lse = rotary.online_attention
        ins(%q, %k, %v : tensor<1x8x48x64xf32>, tensor<1x8x512x64xf32>,
                         tensor<1x8x512x64xf32>)
        first_position(%p) outs(%o0, %l0 : tensor<1x8x48x64xf32>,
                                          tensor<1x8x48xf32>) {causal}
        -> tensor<1x8x48x64xf32>, tensor<1x8x48xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$q,
                       Rotary_DataTensor:$k,
                       Rotary_DataTensor:$v,
                       Optional<Rotary_F32Tensor>:$bias,
                       Optional<Rotary_F32Tensor>:$span,
                       Index:$first_position,
                       Rotary_DataTensor:$output_init,
                       Rotary_F32Tensor:$lse_init,
                       UnitAttr:$causal,
                       DefaultValuedAttr<Rotary_I64Attr, "-1">:$window,
                       DefaultValuedAttr<Rotary_I64Attr, "0">:$global_tokens,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<F32Attr>:$span_ramp);
  let results = (outs Rotary_DataTensor:$output, Rotary_F32Tensor:$lse);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `:` type($q) `,` type($k) `,` type($v) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`span` `(` $span^ `:` type($span) `)`)?
    `first_position` `(` $first_position `)`
    `outs` `(` $output_init `,` $lse_init `:` type($output_init) `,`
                                              type($lse_init) `)`
    attr-dict `->` type($output) `,` type($lse)
  }];
  let extraClassDeclaration = [{
    /// The two inits, which are the last operands.
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
                                         getOperation()->getNumOperands() - 2,
                                         2);
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The two passes of attention's gradient
//===----------------------------------------------------------------------===//

// What both passes read: the forward's operands, ȯ = `doutput`, its
// log-sum-exp, and δ_i = ȯ_i·o_i − l̄se_i (computed before them); the
// results are written into `inits` (one result per init, of its type).
class Rotary_AttentionGradPassOp<string mnemonic, dag extraOperands,
                                 string extraFormat>
    : Rotary_Op<mnemonic, [Pure, AttrSizedOperandSegments,
        DestinationStyleOpInterface,
        AllTypesMatch<["q", "doutput"]>, AllTypesMatch<["lse", "delta"]>,
        DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
            "getIterationDomain", "getTiledImplementation",
            "getResultTilePosition"]>]> {
  let arguments = !con((ins Rotary_DataTensor:$q,
                            Rotary_DataTensor:$k,
                            Rotary_DataTensor:$v,
                            Rotary_DataTensor:$doutput,
                            Rotary_F32Tensor:$lse,
                            Rotary_F32Tensor:$delta,
                            Optional<Rotary_F32Tensor>:$bias,
                            Optional<Rotary_F32Tensor>:$span,
                            Index:$first_position),
                       extraOperands,
                       (ins Variadic<AnyRankedTensor>:$inits,
                            UnitAttr:$causal,
                            DefaultValuedAttr<Rotary_I64Attr, "-1">:$window,
                            DefaultValuedAttr<Rotary_I64Attr, "0">:$global_tokens,
                            OptionalAttr<F32Attr>:$scale,
                            OptionalAttr<F32Attr>:$span_ramp));
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `,` $doutput `,` $lse `,` $delta `:`
              type($q) `,` type($k) `,` type($v) `,` type($lse) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`span` `(` $span^ `:` type($span) `)`)?
    `first_position` `(` $first_position `)`
  }] # extraFormat # [{
    `outs` `(` $inits `:` type($inits) `)`
    attr-dict `->` type($results)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitsMutable();
    }
  }];
  let hasVerifier = 1;
}

def Rotary_OnlineAttentionQueryGradOp : Rotary_AttentionGradPassOp<
    "online_attention_query_grad", (ins), ""> {
  let summary = "the query pass of attention's gradient, destination-passing";
  let description = [{
    For the queries `q [B, H, T, D]` whose first row sits at position
    `first_position`, against all keys: q̄ = scale·Σ_j s̄_ij·k_j with
    s̄ = p·(ȯ_i·v_j − δ_i) and p the forward's renormalised weight
    recomputed from q, k and `lse`; and, per (h, query), the partial
    gradients that the whole gradient sums over T: of the bias (a row
    `[2W'+1]` of a table, or `[S]` of a full bias) and of the span. The
    inits are q̄ `[B, H, T, D]` (q's type), then `[H, T, 2W'+1 or S]` with
    a bias, then `[H, T]` with a span.

    TilingInterface: the iteration domain is (H, T), all parallel (the
    batch is summed inside a tile, so no two tiles write the same partial);
    a tile cuts q, ȯ, lse, δ, q̄ and a full bias on (h, i), k and v, a bias
    table and the span on h, and shifts first_position by i.

    Example:

    ```mlir
    %dq, %db = rotary.online_attention_query_grad
        ins(%q, %k, %v, %do, %lse, %delta : tensor<2x8x48x64xf32>,
            tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
            tensor<2x8x48xf32>)
        bias(%b : tensor<8x257xf32>) first_position(%p)
        outs(%dq0, %db0 : tensor<2x8x48x64xf32>, tensor<8x48x257xf32>)
        {causal, window = 128 : i64}
        -> tensor<2x8x48x64xf32>, tensor<8x48x257xf32>
    ```
  }];
}

def Rotary_OnlineAttentionKeyGradOp : Rotary_AttentionGradPassOp<
    "online_attention_key_grad", (ins Index:$first_key),
    "`first_key` `(` $first_key `)`"> {
  let summary = "the key pass of attention's gradient, destination-passing";
  let description = [{
    For the keys `k, v [B, H, S, D]` whose first row is key `first_key` of
    the sequence, against all queries (the first at `first_position`):
    k̄ = scale·Σ_i s̄_ij·q_i and v̄ = Σ_i p_ij·ȯ_i. A full bias is `[H, T, S]`
    over these keys. The inits are k̄ and v̄ (k's and v's types).

    TilingInterface: the iteration domain is (B, H, S), all parallel; a
    tile cuts k, v, k̄, v̄ on (b, h, j) and a full bias on (h, j), q, ȯ, lse
    and δ on (b, h), a bias table and the span on h, and shifts first_key
    by j.

    Example:

    ```mlir
    %dk, %dv = rotary.online_attention_key_grad
        ins(%q, %k, %v, %do, %lse, %delta : tensor<2x8x512x64xf32>,
            tensor<2x8x48x64xf32>, tensor<2x8x48x64xf32>,
            tensor<2x8x512xf32>)
        first_position(%p) first_key(%j)
        outs(%dk0, %dv0 : tensor<2x8x48x64xf32>, tensor<2x8x48x64xf32>)
        {causal} -> tensor<2x8x48x64xf32>, tensor<2x8x48x64xf32>
    ```
  }];
}

def Rotary_OnlineAttentionGradOp : Rotary_AttentionGradPassOp<
    "online_attention_grad", (ins), ""> {
  let summary = "attention's whole gradient in one pass, destination-passing";
  let description = [{
    What `rotary.online_attention_query_grad` and
    `rotary.online_attention_key_grad` compute together, in one pass over
    the visible pairs: q̄, k̄, v̄ and, with a bias or a span, the per-(h,
    query) partials of the query pass. A target's schedule picks it where
    one task per (b, h) is parallel enough (the CPU's): every pair's scores,
    weights and s̄ are then made once, where the two passes make them twice.
    The inits are q̄, k̄, v̄ (q's, k's and v's types), then `[H, T, 2W'+1 or
    S]` with a bias, then `[H, T]` with a span; q̄, k̄ and v̄ are written,
    the partials are added to their inits (a sum over the batch).

    TilingInterface: the iteration domain is (B, H); B is parallel unless
    there is a bias or a span (then a reduction, the partials' sum: a
    schedule takes every batch entry in a tile, or tiles B into a loop
    that carries the partials). A tile cuts q, k, v, ȯ, lse,
    δ and q̄, k̄, v̄ on (b, h), and the bias, the span and the partials on h.

    Example:

    ```mlir
    %dq, %dk, %dv = rotary.online_attention_grad
        ins(%q, %k, %v, %do, %lse, %delta : tensor<2x8x512x64xf32>,
            tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
            tensor<2x8x512xf32>)
        first_position(%p)
        outs(%dq0, %dk0, %dv0 : tensor<2x8x512x64xf32>,
             tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>)
        {causal, window = 64 : i64}
        -> tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
           tensor<2x8x512x64xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Fused Givens-form HDD-RoPE on lanes
//===----------------------------------------------------------------------===//

def Rotary_HDDRopeLanesOp : Rotary_Op<"hdd_rope_lanes", [Pure,
    DestinationStyleOpInterface,
    AllElementTypesMatch<["x", "init"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "fused HDD-RoPE over lanes, destination-passing";
  let description = [{
    The structured form of the fused `rotary.hdd_rope`: every
    (head, chunk) of a token is a *lane* of `chunk` = c features. `x` is
    `[B, T, L·c]` (x [B, T, H, D] with H·D = L·c), `angles` `[B, T, L·k]`
    (k = c(c−1)/2 angles per lane and token). For each batch entry and
    lane the op scans T: P_t = P_{t−1}·G_t (P_{−1} = I) with G_t the
    lane's matrix of its angles at t in the generator's `form` (the product
    of its Givens rotations, or exp of the skew matrix, c ≤ 8), and
    y_t = P_t·x_t (P_tᵀ·x_t with `inverse`). It computes the lanes
    [first_lane, first_lane + n) of x, where `init` is `[B, T, n·c]`, and
    writes them into `init`.

    Lanes are independent and the scan runs along T, so the op tiles over
    (B, lanes): a tile (b, l) of sizes (nb, nl) is the same op on the batch
    entries [b, b + nb) of x and the angles (every lane: a lane is read at
    a constant stride from the whole row, which is what lets LLVM vectorise
    the loop over lanes), the columns [l·c, (l + nl)·c) of `init`, and
    first_lane + l.

    Example:

    ```mlir
    %y = rotary.hdd_rope_lanes ins(%x, %a : tensor<2x512x1024xbf16>,
                                            tensor<2x512x1536xf32>)
        first_lane(%l) outs(%y0 : tensor<2x512x512xbf16>) {chunk = 4 : i64}
        -> tensor<2x512x512xbf16>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$angles,
                       Index:$first_lane,
                       Rotary_DataTensor:$init,
                       Rotary_I64Attr:$chunk,
                       UnitAttr:$inverse,
                       DefaultValuedAttr<Rotary_SOFormAttr,
                                         "::rotary::SOForm::givens">:$form);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $x `,` $angles `:` type($x) `,` type($angles) `)`
    `first_lane` `(` $first_lane `)`
    `outs` `(` $init `:` type($init) `)` attr-dict `->` type($result)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
  }];
  let hasVerifier = 1;
}

def Rotary_HDDRopeLanesGradOp : Rotary_Op<"hdd_rope_lanes_grad", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["x", "dy"]>,
    AllElementTypesMatch<["x", "dx_init"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "gradient of rotary.hdd_rope_lanes, destination-passing";
  let description = [{
    The gradient of `rotary.hdd_rope_lanes` for ȳ = `dy` (x's type): per
    batch entry and lane, a forward scan over T that checkpoints P, then a
    reverse scan with W_t = Σ_{s≥t} ȳ_s·y_sᵀ that writes x̄_t = P_tᵀ·ȳ_t and
    the lane's angle gradients ā_t (roles swapped with `inverse`). Like the
    forward it computes the lanes [first_lane, first_lane + n): `dx_init`
    is `[B, T, n·c]` (x's element type) and `da_init` `[B, T, n·k]` (f32),
    and it tiles over (B, lanes) the same way (x, the angles and ȳ cut on
    the batch entry only, the inits on the tile's lanes).

    Example:

    ```mlir
    %dx, %da = rotary.hdd_rope_lanes_grad
        ins(%x, %a, %dy : tensor<2x512x1024xf32>, tensor<2x512x1536xf32>)
        first_lane(%l) outs(%dx0, %da0 : tensor<2x512x512xf32>,
                                         tensor<2x512x768xf32>)
        {chunk = 4 : i64} -> tensor<2x512x512xf32>, tensor<2x512x768xf32>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$angles,
                       Rotary_DataTensor:$dy,
                       Index:$first_lane,
                       Rotary_DataTensor:$dx_init,
                       Rotary_F32Tensor:$da_init,
                       Rotary_I64Attr:$chunk,
                       UnitAttr:$inverse,
                       DefaultValuedAttr<Rotary_SOFormAttr,
                                         "::rotary::SOForm::givens">:$form);
  let results = (outs Rotary_DataTensor:$dx, Rotary_F32Tensor:$dangles);
  let assemblyFormat = [{
    `ins` `(` $x `,` $angles `,` $dy `:` type($x) `,` type($angles) `)`
    `first_lane` `(` $first_lane `)`
    `outs` `(` $dx_init `,` $da_init `:` type($dx_init) `,` type($da_init) `)`
    attr-dict `->` type($dx) `,` type($dangles)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
                                         getOperation()->getNumOperands() - 2,
                                         2);
    }
  }];
  let hasVerifier = 1;
}

def Rotary_GivensRowsOp : Rotary_Op<"givens_rows", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["cos", "sin"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "a Givens chain over rows, destination-passing";
  let description = [{
    The structured form of a Givens chain (`rotary.givens`, the chain of
    `rotary.rotation_block`, the folding of a chain into its matrix): for
    every row `x[m, h, :]` of `x [M, H, D]`, the N rotations in order
    (last to first with `reverse`): rotation k turns the features
    (i, j) = `pairs[k]` by (x_i, x_j) → (x_i·c + x_j·s, x_j·c − x_i·s) with
    c = `cos[a, k]`, s = `sin[a, k]` and a = h (`cos`, `sin` `[H, N]`, one
    chain per head) or 0 (`[1, N]`, one shared chain). With `matrix`
    (`[D, D]`, or `[H, D, D]` per head) the rotated row is then multiplied
    by it: y = (x·G)·R. Rows are computed in f32 and written, converted to
    the init's element type, into `init` (x's shape). `pairs` `[N, 2]` holds
    feature indices below D.

    TilingInterface: rows and heads are independent, so the iteration
    domain is (M, H), both parallel; a tile (m, h) of sizes (nm, nh) slices
    x and the init on (m, h), and per-head tables and matrices on h.

    Example:

    ```mlir
    %y = rotary.givens_rows ins(%x, %c, %s, %p : tensor<?x1x64xbf16>,
        tensor<1x2016xf32>, tensor<1x2016xf32>, tensor<2016x2xindex>)
        outs(%y0 : tensor<?x1x64xbf16>) -> tensor<?x1x64xbf16>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_F32Tensor:$cos,
                       Rotary_F32Tensor:$sin,
                       RankedTensorOf<[Index]>:$pairs,
                       Optional<Rotary_DataTensor>:$matrix,
                       Rotary_DataTensor:$init,
                       UnitAttr:$reverse);
  let results = (outs Rotary_DataTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $x `,` $cos `,` $sin `,` $pairs `:` type($x) `,` type($cos) `,`
        type($sin) `,` type($pairs) `)`
    (`matrix` `(` $matrix^ `:` type($matrix) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict `->` type($result)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
    /// Whether every head has its own chain (cos/sin not statically [1, N]).
    bool perHeadAngles() { return getCos().getType().getDimSize(0) != 1; }
  }];
  let hasVerifier = 1;
}

def Rotary_GivensRowsGradOp : Rotary_Op<"givens_rows_grad", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["x", "dy"]>, AllTypesMatch<["cos", "sin"]>,
    AllElementTypesMatch<["x", "dx_init"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>,
    DeclareOpInterfaceMethods<PartialReductionOpInterface, [
        "generateInitialTensorForPartialReduction", "tileToPartialReduction",
        "mergeReductions", "getPartialResultTilePosition"]>]> {
  let summary = "gradient of rotary.givens_rows (no matrix), destination-passing";
  let description = [{
    The backward of a Givens chain over rows `x [M, H, D]` with one chain
    per head (`cos`, `sin` `[H, N]`, f64, of the angles ψ as applied): for
    every row, the chain is run forward, then walked back from the last
    rotation applied to the first (the first to the last with `reverse`,
    which applies them last to first); rotation k undoes itself on the
    primal row, adds to ψ̄_k its derivative ȳ_i·(∂y_i/∂ψ) + ȳ_j·(∂y_j/∂ψ),
    and turns the gradient row by Gᵀ. It writes x̄ (x's element type) into
    `dx_init` and returns `da_init + ψ̄` (`[H, N]`, f64), the sum over rows.

    TilingInterface: the iteration domain is (M, H); heads are parallel,
    rows are a reduction for ψ̄ (and parallel for x̄). A tile (m, h) slices
    x, ȳ and x̄ on (m, h) and the tables and ψ̄ on h. Tiling rows in
    parallel goes through PartialReductionOpInterface: each tile of rows
    writes its own row of a `[tiles, H, N]` table of partial sums, which
    one reduction over tiles adds to `da_init`.

    Example:

    ```mlir
    %dx, %da = rotary.givens_rows_grad ins(%x, %dy, %c, %s, %p
        : tensor<?x1x64xf32>, tensor<1x2016xf64>, tensor<2016x2xindex>)
        outs(%dx0, %da0 : tensor<?x1x64xf32>, tensor<1x2016xf64>)
        -> tensor<?x1x64xf32>, tensor<1x2016xf64>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_DataTensor:$dy,
                       RankedTensorOf<[F64]>:$cos,
                       RankedTensorOf<[F64]>:$sin,
                       RankedTensorOf<[Index]>:$pairs,
                       Rotary_DataTensor:$dx_init,
                       RankedTensorOf<[F64]>:$da_init,
                       UnitAttr:$reverse);
  let results = (outs Rotary_DataTensor:$dx, RankedTensorOf<[F64]>:$dangles);
  let assemblyFormat = [{
    `ins` `(` $x `,` $dy `,` $cos `,` $sin `,` $pairs `:` type($x) `,`
        type($cos) `,` type($pairs) `)`
    `outs` `(` $dx_init `,` $da_init `:` type($dx_init) `,` type($da_init) `)`
    attr-dict `->` type($dx) `,` type($dangles)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
                                         getOperation()->getNumOperands() - 2,
                                         2);
    }
  }];
  let hasVerifier = 1;
}

def Rotary_RopeTokensGradOp : Rotary_Op<"rope_tokens_grad", [Pure,
    DestinationStyleOpInterface,
    AllTypesMatch<["x", "dy", "dx_init"]>, AllTypesMatch<["cos", "sin"]>,
    AllTypesMatch<["dtheta_init", "dtheta_p_init"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>,
    DeclareOpInterfaceMethods<PartialReductionOpInterface, [
        "generateInitialTensorForPartialReduction", "tileToPartialReduction",
        "mergeReductions", "getPartialResultTilePosition"]>]> {
  let summary = "gradient of a rope's rotated features and angles, destination-passing";
  let description = [{
    The backward of a rope with parameter gradients, over its rotated
    features `x`, `dy [B, T, H, r]`: with the table `cos`, `sin` of the
    angles θ' the forward rotated by (`[T, r/2]`, or `[B, T, r/2]` with
    per-batch positions `[B, T]`), it writes x̄ = ȳ rotated by −θ' into
    `dx_init` and returns, per frequency i and in f64,
    `dtheta_init + Σ θ̄` and `dtheta_p_init + Σ θ̄·p` over (b, t, h), where
    θ̄ = ȳ_a·(−a·sin θ' − b·cos θ') + ȳ_b·(a·cos θ' − b·sin θ') is the
    angle's gradient (negated with `inverse`, where θ' = −θ). `layout` and
    `inverse` are the forward's: they say where a pair's two elements sit
    in x and in ȳ.

    TilingInterface: the iteration domain is (B, T); both are reductions
    for the two sums (and parallel for x̄). A tile (b, t) slices x, ȳ and
    x̄ on (b, t) and the table and positions on t (and b when per batch).
    Tiling them in parallel goes through PartialReductionOpInterface: each
    tile writes its own row of `[tiles_B, tiles_T, r/2]` tables of partial
    sums, which one reduction adds to the inits.

    Example:

    ```mlir
    %dx, %s, %sp = rotary.rope_tokens_grad ins(%x, %dy, %cos, %sin, %p
        : tensor<?x?x8x64xf32>, tensor<?x32xf32>, tensor<?xi64>)
        outs(%dx0, %s0, %sp0 : tensor<?x?x8x64xf32>, tensor<32xf64>)
        layout = half -> tensor<?x?x8x64xf32>, tensor<32xf64>, tensor<32xf64>
    ```
  }];
  let arguments = (ins Rotary_DataTensor:$x,
                       Rotary_DataTensor:$dy,
                       Rotary_F32Tensor:$cos,
                       Rotary_F32Tensor:$sin,
                       Rotary_PositionTensor:$positions,
                       Rotary_DataTensor:$dx_init,
                       RankedTensorOf<[F64]>:$dtheta_init,
                       RankedTensorOf<[F64]>:$dtheta_p_init,
                       Rotary_RopeLayoutAttr:$layout,
                       UnitAttr:$inverse);
  let results = (outs Rotary_DataTensor:$dx, RankedTensorOf<[F64]>:$dtheta,
                      RankedTensorOf<[F64]>:$dtheta_p);
  let assemblyFormat = [{
    `ins` `(` $x `,` $dy `,` $cos `,` $sin `,` $positions `:` type($x) `,`
        type($cos) `,` type($positions) `)`
    `outs` `(` $dx_init `,` $dtheta_init `,` $dtheta_p_init `:`
        type($dx_init) `,` type($dtheta_init) `)`
    `layout` `=` `` $layout attr-dict `->` type($dx) `,` type($dtheta) `,`
        type($dtheta_p)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
                                         getOperation()->getNumOperands() - 3,
                                         3);
    }
    /// Whether positions (and the table) are per batch entry.
    bool perBatchPositions() { return getPositions().getType().getRank() == 2; }
  }];
  let hasVerifier = 1;
}

def Rotary_RotationScanOp : Rotary_Op<"rotation_scan", [Pure,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition"]>]> {
  let summary = "running products of c x c matrices, destination-passing";
  let description = [{
    The structured form of `rotary.cumulative_rotation`, over the rotations
    viewed as `[A, T, Bm, c, c]` (the dims before the scan axis, the axis,
    the dims after it): per column (a, bm), starting from the R×c rows
    `carry_init[a, bm]` (`[A, Bm, R, c]`; R = c for a whole product),
    `P_t = carry_init · G_0 ⋯ G_t` (with `exclusive`, the product before
    step t: `carry_init · G_0 ⋯ G_{t−1}`), written into `p_init`
    (`[A, T, Bm, R, c]`); the second result is
    `carry_init · G_0 ⋯ G_{T−1}`, the carry into a next block of steps.
    Each row of the carry runs through the products on its own, which is
    what lets a target give the rows of one column to different threads.

    TilingInterface: the iteration domain is (A, T, Bm, R); T is a
    reduction (a scan), A, Bm and the rows R are parallel. A tile
    (a, t, bm, r) slices the rotations on (a, t, bm), P on (a, t, bm, r)
    and the carry on (a, bm, r): tiling T sequentially chains the carry
    from block to block. A target may instead run the blocks of T in
    parallel as a blocked scan (rotary-tile-and-decompose with the tile
    `{block}`, and `{rows}` rows of a product per task): each block's
    products from the identity, the exclusive scan of the blocks' totals,
    and one product per step.

    Example:

    ```mlir
    %p, %carry = rotary.rotation_scan ins(%g : tensor<2x?x128x4x4xf32>)
        outs(%p0, %c0 : tensor<2x?x128x4x4xf32>, tensor<2x128x4x4xf32>)
        -> tensor<2x?x128x4x4xf32>, tensor<2x128x4x4xf32>
    ```
  }];
  let arguments = (ins Rotary_F32Tensor:$rotations,
                       Rotary_F32Tensor:$p_init,
                       Rotary_F32Tensor:$carry_init,
                       UnitAttr:$exclusive);
  let results = (outs Rotary_F32Tensor:$p, Rotary_F32Tensor:$carry);
  let assemblyFormat = [{
    `ins` `(` $rotations `:` type($rotations) `)`
    `outs` `(` $p_init `,` $carry_init `:` type($p_init) `,`
        type($carry_init) `)` attr-dict `->` type($p) `,` type($carry)
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 1, 2);
    }
    /// c, the size of a rotation (static: the verifier requires it).
    int64_t getChunkSize() { return getRotations().getType().getDimSize(4); }
    /// R, the rows of P and of the carry (static: the verifier requires it).
    int64_t getNumRows() { return getCarryInit().getType().getDimSize(2); }
  }];
  let hasVerifier = 1;
}

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYSTRUCTUREDOPS_TD
