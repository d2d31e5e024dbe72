//===- Transformer.h - a small language model built from the modules -*- C++
//-*-===//
//
// A decoder-only transformer whose position and rotation parts are the
// library's modules: per block, queries and keys get Rope (or HDDRoPE from
// the block's input), AdaptiveAttention (causal, sliding window, global
// tokens, relative position bias) mixes them, and a per-head RotationBlock
// rotates the attention output before the projection. rotary-train trains
// it; the tests train it with compiled kernels and on the reference path
// and compare step by step. Parameter names follow docs/Math.md §7's FAM groups
// (token_embed, self_attn, norm, ...).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_TRANSFORMER_H
#define ROTARY_TORCH_TRANSFORMER_H

#include "rotary/Torch/AdaptiveAttention.h"
#include "rotary/Torch/HDDRoPE.h"
#include "rotary/Torch/Rope.h"
#include "rotary/Torch/RotationBlock.h"

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

namespace rotary::nn {

struct TransformerOptions {
  TORCH_ARG(int64_t, vocab) = 256;
  TORCH_ARG(int64_t, dim) = 64;
  TORCH_ARG(int64_t, heads) = 4;
  TORCH_ARG(int64_t, layers) = 2;
  /// Sliding attention window (-1: full causal attention).
  TORCH_ARG(int64_t, window) = 32;
  TORCH_ARG(int64_t, global_tokens) = 1;
  /// Radius of the learnable relative position bias (-1: none).
  TORCH_ARG(int64_t, bias_radius) = 8;
  /// HDD-RoPE (chunk 4, angles from the block input) instead of RoPE.
  TORCH_ARG(bool, hdd) = false;
  /// Givens rotations per head in each block's RotationBlock.
  TORCH_ARG(int64_t, rotations) = 16;
  /// Plain LibTorch ops in every module instead of compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class TransformerBlockImpl
    : public torch::nn::Cloneable<TransformerBlockImpl> {
public:
  explicit TransformerBlockImpl(TransformerOptions options);
  void reset() override;
  /// x [B, T, dim] -> [B, T, dim]; positions int64 [T].
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &positions);

  TransformerOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  Rope rope{nullptr};
  HDDRoPE hdd{nullptr};
  AdaptiveAttention attention{nullptr};
  RotationBlock rotation{nullptr};
};
TORCH_MODULE(TransformerBlock);

class TransformerImpl : public torch::nn::Cloneable<TransformerImpl> {
public:
  explicit TransformerImpl(TransformerOptions options);
  void reset() override;
  /// tokens int64 [B, T] -> logits [B, T, vocab].
  torch::Tensor forward(const torch::Tensor &tokens);
  /// Σ of the blocks' orthogonality penalties (add λ times it to the loss).
  torch::Tensor orthogonality_penalty();
  /// The Rope modules (for DynamicBase); empty with HDD-RoPE.
  std::vector<Rope> ropes();

  TransformerOptions options;
  torch::nn::Embedding token_embed{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear head{nullptr};
  std::vector<TransformerBlock> blocks;
};
TORCH_MODULE(Transformer);

} // namespace rotary::nn

#endif // ROTARY_TORCH_TRANSFORMER_H
