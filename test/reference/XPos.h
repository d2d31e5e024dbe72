//===- XPos.h - the xPos reference of rotary.rope ---------------*- C++ -*-===//
//
// xPos (docs/Math.md §1): rotary.rope whose pair i at position n is also
// scaled by s = ζ_i^(±n/scale_base), ζ_i = (i/(r/2) + γ)/(1 + γ), + for a
// query and − for a key. The scale is the pair's, applied where rope writes
// the pair; `inverse` inverts only the rotation and keeps s. Written from
// the formula on top of reference::rope, in the dtype of the inputs (the
// tests pass f64), differentiable by autograd like the rest of Reference.h.
// Also where rope reads and writes its pairs, which the tests' gradient
// formulas and bounds need too.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_REFERENCE_XPOS_H
#define ROTARY_TEST_REFERENCE_XPOS_H

#include "Reference.h"

#include <torch/torch.h>

#include <utility>

namespace rotary::reference {

/// Whether rope of `o` reads pair i at (2i, 2i + 1); else at (i, i + r/2).
inline bool ropeReadsPairs(const RopeOptions &o) {
  return o.layout == RopeLayout::Interleaved ||
         (o.layout == RopeLayout::Deinterleave && !o.inverse);
}

/// Whether rope of `o` writes pair i at (2i, 2i + 1); else at (i, i + r/2).
inline bool ropeWritesPairs(const RopeOptions &o) {
  return o.layout == RopeLayout::Interleaved ||
         (o.layout == RopeLayout::Deinterleave && o.inverse);
}

/// The elements (a, b) [B, T, H, r/2] of the pairs of t [B, T, H, D]'s first
/// r features: (2i, 2i + 1) when `adjacent`, else (i, i + r/2).
inline std::pair<torch::Tensor, torch::Tensor>
ropePairElements(const torch::Tensor &t, int64_t r, bool adjacent) {
  torch::Tensor rot = t.narrow(-1, 0, r);
  if (adjacent) {
    torch::Tensor p = rot.reshape({t.size(0), t.size(1), t.size(2), r / 2, 2});
    return {p.select(-1, 0), p.select(-1, 1)};
  }
  return {rot.narrow(-1, 0, r / 2), rot.narrow(-1, r / 2, r / 2)};
}

struct XPosOptions {
  bool key = false; ///< the key's scale ζ^(-n/scale_base); else the query's
  double scaleBase = 512.0;
  double gamma = 0.4;
};

/// s [B or 1, T, r/2] of positions [T] or [B, T] (any dtype), in f64.
inline torch::Tensor xposPairScale(const torch::Tensor &positions, int64_t r,
                                   const XPosOptions &xo) {
  TORCH_CHECK(xo.scaleBase > 0 && xo.gamma > 0,
              "xPos: scale_base and gamma must be positive");
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor i = torch::arange(r / 2, f64);
  torch::Tensor zeta = (i / double(r / 2) + xo.gamma) / (1.0 + xo.gamma);
  torch::Tensor n = positions.to(torch::kFloat64);
  if (n.dim() == 1)
    n = n.unsqueeze(0);
  double sign = xo.key ? -1.0 : 1.0;
  return torch::exp(n.unsqueeze(-1) * (sign / xo.scaleBase) * torch::log(zeta));
}

/// rotary.rope with xPos: x [B, T, H, D], positions [T] or [B, T].
inline torch::Tensor ropeXPos(const torch::Tensor &x,
                              const torch::Tensor &positions,
                              const RopeOptions &o, const XPosOptions &xo) {
  const int64_t D = x.size(-1), r = ropeRotaryDim(D, o);
  torch::Tensor s = xposPairScale(positions, r, xo).to(x.scalar_type());
  const int64_t P = s.size(0), T = s.size(1);
  torch::Tensor perFeature = ropeWritesPairs(o)
                                 ? torch::stack({s, s}, -1).reshape({P, T, r})
                                 : torch::cat({s, s}, -1);
  perFeature = torch::cat(
      {perFeature, torch::ones({P, T, D - r}, perFeature.options())}, -1);
  return rope(x, positions, o) * perFeature.unsqueeze(2);
}

} // namespace rotary::reference

#endif // ROTARY_TEST_REFERENCE_XPOS_H
