//===- AttentionTiles.h - the attention kernels' shared parts ---*- C++ -*-===//
//
// What rotary.attention and rotary.attention_grad share: the pattern (as
// index ranges for skipping whole tiles, and as a per-pair test), the bias
// and span terms, and the tile-level building blocks of the FlashAttention
// loops, so the forward and the backward mask exactly the same pairs.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_ROTARYTOLINALG_ATTENTIONTILES_H
#define LIB_CONVERSION_ROTARYTOLINALG_ATTENTIONTILES_H

#include "Lowering.h"

namespace rotary::lowering {

/// The tile sizes a target's schedule recorded on an attention op
/// (kTilesAttr): `query` rows and `key` columns of every tile pair's
/// contractions. An error on the op when they are missing or not positive.
struct AttentionTileSizes {
  int64_t query, key;
};
FailureOr<AttentionTileSizes> attentionTileSizes(Operation *op);

/// The attention's operands and attributes, with the rules of decision
/// 0011: query i sits at position p = i + shift (shift = S - T for the
/// whole attention, the first row's position for a block of queries);
/// every rule compares positions.
struct AttentionParts {
  Value q, k, bias, span;
  Type elt; ///< element type of q, k, v
  bool causal;
  int64_t window, globals;
  OpFoldResult dSize;
  Value tLen, sLen;
  Value shift;    ///< position of query 0
  Value firstKey; ///< sequence index of k's row 0 (null: 0)
  Value scale;  ///< f32
  Value radius; ///< W' of a bias table [H, 2W'+1]; null without one
  float ramp;
  AttentionTileSizes tiles;

  AttentionParts(OpBuilder &b, Location loc, Value q, Value k, Value bias,
                 Value span, bool causal, int64_t window, int64_t globals,
                 std::optional<APFloat> scale, std::optional<APFloat> spanRamp,
                 AttentionTileSizes tiles, Value firstPosition = Value(),
                 Value firstKey = Value());
  template <typename OpTy>
  static AttentionParts of(OpBuilder &b, OpTy op, AttentionTileSizes tiles) {
    Value first, firstKey;
    if constexpr (!std::is_same_v<OpTy, AttentionOp> &&
                  !std::is_same_v<OpTy, AttentionGradOp>)
      first = op.getFirstPosition();
    if constexpr (std::is_same_v<OpTy, OnlineAttentionKeyGradOp>)
      firstKey = op.getFirstKey();
    return AttentionParts(b, op.getLoc(), op.getQ(), op.getK(), op.getBias(),
                          op.getSpan(), op.getCausal(), op.getWindow(),
                          op.getGlobalTokens(), op.getScale(), op.getSpanRamp(),
                          tiles, first, firstKey);
  }

  /// The sequence index of k's row j (the pattern's j; k may be a block
  /// of the keys).
  Value keyIndex(OpBuilder &b, Location loc, Value j) const;
  /// Position of query i (negative when T > S).
  Value position(OpBuilder &b, Location loc, Value i) const;
  /// The keys a query at position p sees, as two disjoint ranges: the
  /// global keys left of its window [0, gEnd), then [lo, hi).
  struct KeyRanges {
    Value gEnd, lo, hi;
  };
  KeyRanges keysOf(OpBuilder &b, Location loc, Value p) const;
  /// The queries (indices) that see key j: one range [lo, hi).
  std::pair<Value, Value> queriesOf(OpBuilder &b, Location loc, Value j) const;
  /// Whether the query at position p sees key j (0 <= j < S): the same
  /// rule as keysOf, as a few comparisons for use per pair.
  Value sees(OpBuilder &b, Location loc, Value p, Value j) const;
  /// s + bias(h, i, j) (s itself without a bias), f32: a full bias is read
  /// at k's row `jRow`, a table at the column of (p, j).
  Value withBias(OpBuilder &b, Location loc, Value s, Value hi, Value i,
                 Value p, Value j, Value jRow) const;
  /// Column of the bias table for (p, j): clamp(j - p, -W', W') + W'.
  Value tableColumn(OpBuilder &b, Location loc, Value p, Value j) const;
  /// The adaptive-span mask m_h(p - j) and its derivative ∂m/∂span_h
  /// (1/R strictly inside the ramp, 0 where the clamp holds).
  std::pair<Value, Value> spanMask(OpBuilder &b, Location loc, Value hi,
                                   Value p, Value j) const;
  bool tableBias() const { return static_cast<bool>(radius); }
};

/// The parts of a structured attention op with the tiles its target's
/// schedule recorded on it (an error on the op when they are missing).
template <typename OpTy>
FailureOr<AttentionParts> structuredParts(OpBuilder &b, OpTy op) {
  FailureOr<AttentionTileSizes> tiles = attentionTileSizes(op);
  if (failed(tiles))
    return failure();
  return AttentionParts::of(b, op, *tiles);
}

/// The key tiles a query tile [i0, i0 + rows) visits: the union of its
/// rows' key ranges, as two disjoint ranges (ranges grow with the
/// position): n1 tiles of the global keys [0, gEnd) left of every window,
/// then n2 tiles of [lo, hi). A tile is tiles.key keys wide unless the
/// next range or the keys end first: a last tile that runs past its range
/// holds only hidden pairs there, which cost less than a narrow tile (whose
/// contractions leave the schedule's register blocks). The pairs a row
/// does not see are hidden by maskTile.
struct KeyTiles {
  Value gEnd, lo, hi, n1, n2, sLen;
  int64_t size; ///< keys per tile
  /// Start and end bound of tile t (0 <= t < n1 + n2): the tile is
  /// [start, min(start + size, bound)).
  std::pair<Value, Value> tile(OpBuilder &b, Location loc, Value t) const;
};
KeyTiles keyTilesOf(OpBuilder &b, Location loc, const AttentionParts &at,
                    Value i0, Value rows);

/// ceil(length / tile).
Value tilesOf(OpBuilder &b, Location loc, Value length, int64_t tile);

/// Rows [r0, r0 + n) of a [B, H, ·, D] tensor at (bi, hi), as [n, D].
Value rowsOf(OpBuilder &b, Location loc, Value src, Value bi, Value hi,
             Value r0, OpFoldResult n);
/// Elements [r0, r0 + n) of a [B, H, T] tensor at (bi, hi), as [n].
Value entriesOf(OpBuilder &b, Location loc, Value src, Value bi, Value hi,
                Value r0, OpFoldResult n);
/// The transpose of a [rows, cols] tile, of the same element type.
Value transposeTile(OpBuilder &b, Location loc, Value tile);

/// Elementwise generic over a tile [rows, cols] into `inits`: `tileInputs`
/// are [rows, cols], `rowInputs` [rows] (broadcast along a row) and
/// `colInputs` [cols] (broadcast along a column); the body gets them in
/// that order, then the output elements, and yields one value per init.
SmallVector<Value> overTile(
    OpBuilder &b, Location loc, ValueRange tileInputs, ValueRange rowInputs,
    ValueRange colInputs, ValueRange inits,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body);
/// 1-d generic over [rows] (every operand indexed by the row).
Value perRow(OpBuilder &b, Location loc, ValueRange inputs, Value init,
             function_ref<Value(OpBuilder &, Location, ValueRange)> body);
/// A row reduction of x [rows, cols] into init [rows] with `combine`.
Value reduceRows(
    OpBuilder &b, Location loc, Value x, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine);

/// The scores of one tile pair, masked: for raw products `sc` [rows, cols]
/// of the query tile starting at i0 and the key tile starting at j0 (keys
/// along the rows when `keyRows`), s = scale·sc + bias, -inf where the
/// pattern hides the pair; with a span, its weight w (0 where hidden) and,
/// when `withDerivative`, ∂w/∂span (0 where hidden). `scale` may be null
/// (sc already scaled).
struct TileScores {
  Value s, w, dw;
};
TileScores maskTile(OpBuilder &b, Location loc, const AttentionParts &at,
                    Value sc, Value hi, Value i0, Value j0, bool keyRows,
                    Value scale, bool withDerivative);

} // namespace rotary::lowering

#endif // LIB_CONVERSION_ROTARYTOLINALG_ATTENTIONTILES_H
