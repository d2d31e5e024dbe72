//===- Rope.h - rotary position embedding as a LibTorch module --*- C++ -*-===//
//
// rotary.rope (docs/Math.md §1) as a torch::nn::Module: every layout, partial
// rotary, position ids or offsets, learnable frequencies, phases and scale,
// multi-scale frequency sets, a base that changes at run time (set_base,
// DynamicBase) without a recompile, and xPos (forward_qk). The forward and
// backward are one compiled kernel each; `reference(true)` runs the same
// math as plain LibTorch ops instead.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_ROPE_H
#define ROTARY_TORCH_ROPE_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <tuple>
#include <vector>

namespace rotary::nn {

enum class RopeLayout {
  Half,        ///< NeoX/Llama: pair i is (i, i + r/2)
  Interleaved, ///< GPT-J: pair i is (2i, 2i + 1)
  Deinterleave ///< reads (2i, 2i + 1), writes i and i + r/2
};

struct RopeOptions {
  explicit RopeOptions(int64_t headDim) : head_dim_(headDim) {}
  /// D, the last dimension of x.
  TORCH_ARG(int64_t, head_dim);
  /// r: even, <= D; features r..D pass through. -1: r = D.
  TORCH_ARG(int64_t, rotary_dim) = -1;
  TORCH_ARG(RopeLayout, layout) = RopeLayout::Half;
  /// The base of f_i = base^(-2i/r) (each group's base·s_k with `scales`).
  TORCH_ARG(double, base) = 10000.0;
  /// Multi-scale frequencies: r/2 split into S equal groups, group k using
  /// base·s_k. Empty: one set.
  TORCH_ARG(std::vector<double>, scales) = {};
  /// inv_freq [r/2] is a parameter (initialised from base and scales).
  TORCH_ARG(bool, learnable_freq) = false;
  /// A phase φ [r/2] parameter (zero-initialised).
  TORCH_ARG(bool, learnable_phase) = false;
  /// A scalar position scale parameter (initialised to 1).
  TORCH_ARG(bool, learnable_scale) = false;
  /// xPos (docs/Math.md §1): > 0 turns it on. Pair i of a query at
  /// position n is scaled by ζ_i^(n/xpos_scale_base), of a key by
  /// ζ_i^(-n/xpos_scale_base), ζ_i = (i/(r/2) + γ)/(1 + γ). Queries and keys
  /// then differ: use forward_qk.
  TORCH_ARG(double, xpos_scale_base) = 0;
  /// γ of xPos (> 0).
  TORCH_ARG(double, xpos_gamma) = 0.4;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class RopeImpl : public torch::nn::Cloneable<RopeImpl> {
public:
  explicit RopeImpl(RopeOptions options);
  void reset() override;

  /// x [B, T, H, D] (f32, f16 or bf16; contiguous); positions int64 [T] or
  /// [B, T] (position ids: offsets, packed sequences, KV caches).
  torch::Tensor forward(const torch::Tensor &x,
                        const torch::Tensor &positions);
  /// Positions offset, offset + 1, ..., offset + T - 1 for every batch row.
  torch::Tensor forward(const torch::Tensor &x, int64_t offset = 0);
  /// Rotates q as a query and k as a key (both [B, T, H, D] with one B and
  /// T; k may have other H and dtype; positions as in forward). Without xPos it
  /// equals two forward calls; with xPos, forward(x, ...) is an error and this
  /// is the entry point.
  std::tuple<torch::Tensor, torch::Tensor>
  forward_qk(const torch::Tensor &q, const torch::Tensor &k,
             const torch::Tensor &positions);

  /// Changes the base (> 0, finite) for the next forward; no recompile.
  /// With learnable frequencies only their initial value depended on it,
  /// so this is an error there.
  void set_base(double base);
  double base() const { return options.base(); }

  RopeOptions options;
  /// [r/2] f32 frequencies when learnable or multi-scale (a buffer unless
  /// learnable), else undefined: the kernel computes base^(-2i/r) itself.
  torch::Tensor inv_freq;
  torch::Tensor phase; ///< [r/2] f32 parameter, or undefined
  torch::Tensor scale; ///< 0-d f32 parameter, or undefined

private:
  /// Which xPos scale a call applies: none, a query's or a key's.
  enum class Role { Plain, Query, Key };
  int64_t rotaryDim() const;
  bool xpos() const { return options.xpos_scale_base() > 0; }
  torch::Tensor frequenciesFromBase() const;
  void checkInputs(const char *arg, const torch::Tensor &x,
                   const torch::Tensor &positions) const;
  torch::Tensor apply(const torch::Tensor &x, const torch::Tensor &positions,
                      Role role);
  torch::Tensor referenceForward(const torch::Tensor &x,
                                 const torch::Tensor &positions,
                                 Role role) const;
  std::shared_ptr<runtime::Bundle>
  kernel(const torch::Tensor &x, const torch::Tensor &positions, Role role);

  KernelSet<int64_t> kernels_; // by dtype, positions rank and role
};
TORCH_MODULE(Rope);

/// The rope angles θ [B or 1, T, r/2] of docs/Math.md §1 in f32: scale·p·f + φ.
torch::Tensor ropeAngles(const torch::Tensor &positions,
                         const torch::Tensor &invFreq,
                         const torch::Tensor &phase,
                         const torch::Tensor &scale);

/// The xPos scale ζ_i^(sign·n/scaleBase) [B or 1, T, r/2] of docs/Math.md §1
/// in f64, ζ_i = (i/(r/2) + γ)/(1 + γ): sign +1 for queries, -1 for keys.
torch::Tensor xposScale(const torch::Tensor &positions, int64_t rotaryDim,
                        double scaleBase, double gamma, double sign);

/// f_i = (base·s_k)^(-2i/r) for i < r/2, groups k of equal size (Math §1
/// rotary.inv_freq), in f32.
torch::Tensor ropeFrequencies(int64_t rotaryDim, double base,
                              const std::vector<double> &scales);

} // namespace rotary::nn

#endif // ROTARY_TORCH_ROPE_H
