//===- Transformer.h - a small language model built from the modules -*- C++
//-*-===//
//
// A decoder-only transformer whose position and rotation parts are the
// library's modules. The position scheme is one option: none, a sinusoidal
// or learned sinusoidal embedding added to the tokens, or a rotation of
// queries and keys per block (Rope, xPos, QuaternionPosition, HDDRoPE from
// the block's input). AdaptiveAttention (causal, sliding window, global
// tokens, relative position bias, optional adaptive span) mixes them, a
// per-head RotationBlock may rotate the attention output before the
// projection, and a depthwise causal convolution may run beside attention.
// rotary-train trains it; the tests train it with compiled kernels and on
// the reference path and compare. Parameter names follow docs/Math.md §7's
// FAM groups (token_embed, self_attn, conv, norm, ...).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_TRANSFORMER_H
#define ROTARY_TORCH_TRANSFORMER_H

#include "rotary/Torch/AdaptiveAttention.h"
#include "rotary/Torch/Embedding.h"
#include "rotary/Torch/HDDRoPE.h"
#include "rotary/Torch/QuaternionPosition.h"
#include "rotary/Torch/Rope.h"
#include "rotary/Torch/RotationBlock.h"

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

namespace rotary::nn {

/// Where the model gets its position information (docs/Modules.md).
enum class PositionScheme {
  None,              ///< no position information
  Sinusoidal,        ///< fixed sin/cos embedding (base 10000) added to tokens
  LearnedSinusoidal, ///< LearnedSinusoidalEmbedding added to tokens
  Rope,              ///< Rope on queries and keys
  XPos,              ///< Rope with xPos: queries and keys scaled apart
  Quaternion,        ///< QuaternionPosition on queries and keys
  HDD                ///< HDDRoPE on queries and keys, angles from the input
};

/// The scheme's name in messages: "none", "sinusoidal", "rope", "hdd", ...
const char *positionSchemeName(PositionScheme scheme);

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
  /// Givens rotations per head in each block's RotationBlock.
  TORCH_ARG(int64_t, rotations) = 16;
  /// Plain LibTorch ops in every module instead of compiled kernels.
  TORCH_ARG(bool, reference) = false;

  TORCH_ARG(PositionScheme, position) = PositionScheme::Rope;
  /// RoPE / xPos: the base, and which of Rope's frequencies, phases and
  /// position scale are learnable.
  TORCH_ARG(double, rope_base) = 10000.0;
  TORCH_ARG(bool, learnable_freq) = false;
  TORCH_ARG(bool, learnable_phase) = false;
  TORCH_ARG(bool, learnable_scale) = false;
  /// xPos: RopeOptions::xpos_scale_base (> 0).
  TORCH_ARG(double, xpos_scale_base) = 512.0;
  /// HDD-RoPE: chunk 2, 3 or 4 (the head dim must be a multiple) and form.
  TORCH_ARG(int64_t, hdd_chunk) = 4;
  TORCH_ARG(SOForm, hdd_form) = SOForm::Givens;
  /// The per-head RotationBlock (Givens chain + orthogonal R, with its
  /// orthogonality penalty) on the attention output.
  TORCH_ARG(bool, rotation_block) = true;
  /// AdaptiveAttentionOptions::adaptive_span: a learnable span per head.
  TORCH_ARG(bool, adaptive_span) = false;
  /// K > 0: a depthwise causal Conv1d of kernel size K on the block's
  /// normalised input, added beside attention; 0: none.
  TORCH_ARG(int64_t, conv_kernel) = 0;
};

/// Throws a c10::Error naming the option when `options` is not a valid
/// model (head dim too small for the scheme, chunk not dividing it, ...).
void checkTransformerOptions(const TransformerOptions &options);

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
  // At most one of these three, by the position scheme.
  Rope rope{nullptr};
  HDDRoPE hdd{nullptr};
  QuaternionPosition quaternion{nullptr};
  AdaptiveAttention attention{nullptr};
  RotationBlock rotation{nullptr}; ///< with rotation_block only
  torch::nn::Conv1d conv{nullptr}; ///< with conv_kernel > 0 only
};
TORCH_MODULE(TransformerBlock);

class TransformerImpl : public torch::nn::Cloneable<TransformerImpl> {
public:
  explicit TransformerImpl(TransformerOptions options);
  void reset() override;
  /// tokens int64 [B, T] -> logits [B, T, vocab].
  torch::Tensor forward(const torch::Tensor &tokens);
  /// Σ of the blocks' orthogonality penalties (add λ times it to the
  /// loss); a 0-d zero without rotation blocks.
  torch::Tensor orthogonality_penalty();
  /// The Rope modules (for DynamicBase): one per block with the Rope and
  /// XPos schemes, else none.
  std::vector<Rope> ropes();
  /// The Sinusoidal scheme's embedding of positions int64 [T]: [T, dim],
  /// sin(p·f_i) at feature 2i and cos(p·f_i) at 2i + 1,
  /// f_i = 10000^(-2i/dim).
  torch::Tensor sinusoidalEmbedding(const torch::Tensor &positions) const;

  TransformerOptions options;
  torch::nn::Embedding token_embed{nullptr};
  /// The LearnedSinusoidal scheme's embedding, else null.
  LearnedSinusoidalEmbedding position_embed{nullptr};
  /// The Sinusoidal scheme's f_i [dim/2] (f64 buffer), else undefined.
  torch::Tensor sinusoidal_freq;
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear head{nullptr};
  std::vector<TransformerBlock> blocks;
};
TORCH_MODULE(Transformer);

} // namespace rotary::nn

#endif // ROTARY_TORCH_TRANSFORMER_H
