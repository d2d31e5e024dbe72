//===- RopeCommon.h - what the rope lowerings share -------------*- C++ -*-===//
#ifndef LIB_CONVERSION_ROTARYTOLINALG_ROPECOMMON_H
#define LIB_CONVERSION_ROTARYTOLINALG_ROPECOMMON_H

#include "Lowering.h"

namespace rotary::lowering {

/// xPos on a rope (Math §1): pair i at position n is scaled by
/// ζ_i^(sign·n/scaleBase), ζ_i = (i/(r/2) + γ)/(1 + γ).
struct RopeXPos {
  double sign, scaleBase, gamma;
};
/// The xPos of a rope or rope_grad, if it has one.
template <typename OpTy> std::optional<RopeXPos> ropeXPos(OpTy op) {
  if (!op.getXpos())
    return std::nullopt;
  return RopeXPos{*op.getXpos() == XPosRole::query ? 1.0 : -1.0,
                  op.getXposScaleBaseOrDefault(), op.getXposGammaOrDefault()};
}

/// What rope and rope_grad share (Math §1): f_i [r/2] in f64 and the table
/// cos/sin θ [positions..., r/2] in f32, θ formed in f64 (negated when
/// `negate`). With `xpos` the table holds s·cos θ and s·sin θ, s the pair's
/// xPos scale: it commutes with the rotation, so every use of the table
/// (the rotation, x̄ = s·R(−θ)ȳ, θ̄) picks it up.
struct RopeTables {
  Value freq, cos, sin;
  OpFoldResult rotaryDim, half; ///< r and r/2
  Value r;
};
RopeTables buildRopeTables(OpBuilder &b, Location loc, Value positions,
                           Value invFreq, Value phase, Value scale,
                           Value runtimeBase, OpFoldResult rotaryDim,
                           float baseAttr, bool negate,
                           std::optional<RopeXPos> xpos);
/// The layouts a rope (with `inverse` or not) reads x in and writes y in:
/// equal except for deinterleave, which reads pairs interleaved and writes
/// them as halves (the inverse: the converse).
std::pair<RopeLayout, RopeLayout> ropeReadWriteLayouts(RopeLayout layout,
                                                       bool inverse);
/// True when `rotaryDim` covers all D features of `xType` [B, T, H, D].
bool ropeRotatesAll(std::optional<int64_t> rotaryDim, RankedTensorType xType);
/// The rotated features [B, T, H, r] of `v` [B, T, H, D] (`rotSizes`), v
/// itself when they are all of it.
Value ropeRotated(OpBuilder &b, Location loc, Value v,
                  ArrayRef<OpFoldResult> rotSizes, bool fullRotation);
/// A rope's result of type `type` (the shape of `like` [B, T, H, D]) from
/// its rotated features (`rotated` [B, T, H, r], or its 5-D view; `sizes`
/// are like's) and, unless `fullRotation`, the features r..D copied from
/// `passFrom`.
Value ropeAssemble(OpBuilder &b, Location loc, Value rotated, Value passFrom,
                   Value like, ArrayRef<OpFoldResult> sizes, OpFoldResult rOfr,
                   bool fullRotation, RankedTensorType type);
/// The indexing maps of a rope generic over the loops (b, t, h, k, i) of
/// its 5-D pair views (ropeView5: k = element within the pair, i = pair).
struct RopePairMaps {
  RopePairMaps(MLIRContext *ctx, bool perBatch);
  /// Element `k` (an expression of the loops: k, or its partner 1 − k) of
  /// pair i in `layout`'s view.
  AffineMap element(RopeLayout layout, AffineExpr k) const;
  AffineExpr k;              ///< the loop over a pair's two elements
  AffineMap table, position; ///< cos/sin [(b,) t, i] and positions [(b,) t]
};
/// [B, T, H, r] as [B, T, H, 2, r/2] (half) or [B, T, H, r/2, 2]; `lead`
/// holds B, T, H.
Value ropeView5(OpBuilder &b, Location loc, Value v, RopeLayout layout,
                ArrayRef<OpFoldResult> lead, OpFoldResult half);

} // namespace rotary::lowering

#endif // LIB_CONVERSION_ROTARYTOLINALG_ROPECOMMON_H
