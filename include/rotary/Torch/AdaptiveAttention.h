//===- AdaptiveAttention.h - local/global attention module ------*- C++ -*-===//
//
// rotary.attention (Math §6) as a torch::nn::Module: full, sliding-window,
// global-token and causal patterns, a learnable relative position bias
// table and a learnable adaptive span per head. The forward is the compiled
// tiled online-softmax kernel (never T×S in memory), the backward its
// FlashAttention-2 style compiled gradient; `reference(true)` runs dense
// LibTorch math instead.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_ADAPTIVEATTENTION_H
#define ROTARY_TORCH_ADAPTIVEATTENTION_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <vector>

namespace rotary::nn {

struct AdaptiveAttentionOptions {
  AdaptiveAttentionOptions(int64_t heads, int64_t headDim)
      : heads_(heads), head_dim_(headDim) {}
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(int64_t, head_dim);
  /// Key j is seen by the query at position p only when j <= p.
  TORCH_ARG(bool, causal) = false;
  /// W >= 0: keys j >= p - W only (sliding window); -1: unlimited.
  TORCH_ARG(int64_t, window) = -1;
  /// The first n keys are seen by every query, the first n queries see
  /// every key (still causal when `causal`).
  TORCH_ARG(int64_t, global_tokens) = 0;
  /// Score scale; 0: head_dim^-1/2.
  TORCH_ARG(double, scale) = 0;
  /// W' >= 0: a learnable bias table `bias_table [H, 2W'+1]` (zeros)
  /// indexed by clamp(j - p, -W', W'); -1: no bias.
  TORCH_ARG(int64_t, relative_bias_radius) = -1;
  /// A learnable span per head (`span [H]`, initialised to span_init) whose
  /// soft mask clamp((span + R - d)/R, 0, 1), d = p - j, multiplies the
  /// softmax weights before renormalising.
  TORCH_ARG(bool, adaptive_span) = false;
  TORCH_ARG(double, span_init) = 32.0;
  TORCH_ARG(double, span_ramp) = 16.0;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class AdaptiveAttentionImpl
    : public torch::nn::Cloneable<AdaptiveAttentionImpl> {
public:
  explicit AdaptiveAttentionImpl(AdaptiveAttentionOptions options);
  void reset() override;

  /// q [B, H, T, D], k and v [B, H, S, D] with S >= T (the queries are the
  /// last T of the S positions, as with a KV cache); one dtype (f32, f16
  /// or bf16), contiguous. Returns o [B, H, T, D].
  torch::Tensor forward(const torch::Tensor &q, const torch::Tensor &k,
                        const torch::Tensor &v);

  AdaptiveAttentionOptions options;
  torch::Tensor bias_table; ///< [H, 2W'+1], or undefined
  torch::Tensor span;       ///< [H], or undefined

private:
  torch::Tensor referenceForward(const torch::Tensor &q,
                                 const torch::Tensor &k,
                                 const torch::Tensor &v) const;
  KernelSet<bundle::DType> kernels_;
};
TORCH_MODULE(AdaptiveAttention);

} // namespace rotary::nn

#endif // ROTARY_TORCH_ADAPTIVEATTENTION_H
