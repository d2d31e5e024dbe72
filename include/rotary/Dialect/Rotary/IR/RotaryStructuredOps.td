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

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYSTRUCTUREDOPS_TD
