//===- Embedding.h - learned sinusoidal embeddings, checkpointing -*- C++
//-*-===//
//
// LearnedSinusoidalEmbedding (Math §9): e(p) = normalize([cos θ, sin θ]),
// θ_i = p·w_i + b_i with learnable frequencies w and phases b. [cos θ, sin θ]
// is rotary.rope (half layout, learnable inv_freq and phase) applied to the
// constant pairs (1, 0), so the forward and the gradients of w and b are the
// compiled rope kernels. `checkpoint(true)` keeps nothing of the forward
// but its inputs and recomputes it in the backward.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_EMBEDDING_H
#define ROTARY_TORCH_EMBEDDING_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <vector>

namespace rotary::nn {

/// Runs `fn` on `inputs` without keeping its intermediate tensors for
/// autograd; the backward runs it again (with gradients) and
/// differentiates that. The result is differentiable with respect to every
/// floating-point input that requires a gradient.
torch::Tensor checkpoint(
    const std::function<torch::Tensor(const std::vector<torch::Tensor> &)> &fn,
    const std::vector<torch::Tensor> &inputs);

struct LearnedSinusoidalEmbeddingOptions {
  explicit LearnedSinusoidalEmbeddingOptions(int64_t dim) : dim_(dim) {}
  /// Width of the embedding (even).
  TORCH_ARG(int64_t, dim);
  /// Initial frequencies base^(-2i/dim), as in RoPE.
  TORCH_ARG(double, base) = 10000.0;
  /// Divide each embedding by its L2 norm.
  TORCH_ARG(bool, normalize) = true;
  /// Recompute the forward in the backward instead of keeping it.
  TORCH_ARG(bool, checkpoint) = false;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class LearnedSinusoidalEmbeddingImpl
    : public torch::nn::Cloneable<LearnedSinusoidalEmbeddingImpl> {
public:
  explicit LearnedSinusoidalEmbeddingImpl(
      LearnedSinusoidalEmbeddingOptions options);
  void reset() override;

  /// positions int64 [T] or [B, T] -> [T, dim] or [B, T, dim] (f32).
  torch::Tensor forward(const torch::Tensor &positions);

  LearnedSinusoidalEmbeddingOptions options;
  torch::Tensor frequency; ///< w [dim/2]
  torch::Tensor phase;     ///< b [dim/2]

private:
  torch::Tensor embed(const torch::Tensor &positions,
                      const torch::Tensor &frequency,
                      const torch::Tensor &phase);
  KernelSet<int64_t> kernels_; // by positions rank
};
TORCH_MODULE(LearnedSinusoidalEmbedding);

} // namespace rotary::nn

#endif // ROTARY_TORCH_EMBEDDING_H
