//===- Transformer.cpp - a small language model built from the modules ----===//

#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

using namespace rotary::nn;

TransformerBlockImpl::TransformerBlockImpl(TransformerOptions options)
    : options(std::move(options)) {
  reset();
}

void TransformerBlockImpl::reset() {
  const TransformerOptions &o = options;
  int64_t C = o.dim(), H = o.heads();
  TORCH_CHECK(H > 0 && C % H == 0 && (C / H) % 4 == 0,
              "rotary::nn::Transformer: dim must be a multiple of 4·heads, "
              "got dim ",
              C, ", heads ", H);
  int64_t Dh = C / H;
  norm1 = register_module("norm1", torch::nn::LayerNorm(
                                       torch::nn::LayerNormOptions({C})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(
                                       torch::nn::LayerNormOptions({C})));
  // "self_attn" puts these in FAM's attention group.
  qkv = register_module("self_attn_qkv", torch::nn::Linear(C, 3 * C));
  proj = register_module("self_attn_proj", torch::nn::Linear(C, C));
  fc1 = register_module("mlp_fc1", torch::nn::Linear(C, 4 * C));
  fc2 = register_module("mlp_fc2", torch::nn::Linear(4 * C, C));
  if (o.hdd())
    hdd = register_module(
        "hdd", HDDRoPE(HDDRoPEOptions(H, Dh, 4, C).reference(o.reference())));
  else
    rope = register_module(
        "rope", Rope(RopeOptions(Dh).reference(o.reference())));
  attention = register_module(
      "self_attention",
      AdaptiveAttention(AdaptiveAttentionOptions(H, Dh)
                            .causal(true)
                            .window(o.window())
                            .global_tokens(o.global_tokens())
                            .relative_bias_radius(o.bias_radius())
                            .reference(o.reference())));
  rotation = register_module(
      "rotation", RotationBlock(RotationBlockOptions(Dh)
                                    .heads(H)
                                    .rotations(o.rotations())
                                    .reference(o.reference())));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor &x,
                                            const torch::Tensor &positions) {
  int64_t B = x.size(0), T = x.size(1), C = options.dim(),
          H = options.heads(), Dh = C / H;
  torch::Tensor h = norm1(x);
  torch::Tensor parts = qkv(h).view({B, T, 3, H, Dh});
  torch::Tensor q = parts.select(2, 0).contiguous();
  torch::Tensor k = parts.select(2, 1).contiguous();
  torch::Tensor v = parts.select(2, 2).contiguous();
  if (hdd) {
    auto qk = hdd->forward_qk(q, k, h);
    q = std::get<0>(qk);
    k = std::get<1>(qk);
  } else {
    q = rope->forward(q, positions);
    k = rope->forward(k, positions);
  }
  auto heads = [](const torch::Tensor &t) {
    return t.transpose(1, 2).contiguous();
  };
  torch::Tensor o = attention(heads(q), heads(k), heads(v));
  o = rotation->forward(heads(o)); // back to [B, T, H, Dh]
  torch::Tensor y = x + proj(o.view({B, T, C}));
  return y + fc2(torch::gelu(fc1(norm2(y))));
}

TransformerImpl::TransformerImpl(TransformerOptions options)
    : options(std::move(options)) {
  reset();
}

void TransformerImpl::reset() {
  const TransformerOptions &o = options;
  token_embed = register_module("token_embed",
                                torch::nn::Embedding(o.vocab(), o.dim()));
  blocks.clear();
  for (int64_t l = 0; l < o.layers(); ++l)
    blocks.push_back(register_module("blocks_" + std::to_string(l),
                                     TransformerBlock(o)));
  final_norm = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  head = register_module("lm_head", torch::nn::Linear(o.dim(), o.vocab()));
}

torch::Tensor TransformerImpl::forward(const torch::Tensor &tokens) {
  TORCH_CHECK(tokens.defined() && tokens.dim() == 2 &&
                  tokens.scalar_type() == torch::kInt64,
              "rotary::nn::Transformer: tokens must be int64 [B, T]");
  torch::Tensor positions = torch::arange(tokens.size(1), torch::kInt64);
  torch::Tensor x = token_embed(tokens);
  for (TransformerBlock &b : blocks)
    x = b(x, positions);
  return head(final_norm(x));
}

torch::Tensor TransformerImpl::orthogonality_penalty() {
  torch::Tensor p = torch::zeros({});
  for (TransformerBlock &b : blocks)
    p = p + b->rotation->orthogonality_penalty();
  return p;
}

std::vector<Rope> TransformerImpl::ropes() {
  std::vector<Rope> r;
  for (TransformerBlock &b : blocks)
    if (b->rope)
      r.push_back(b->rope);
  return r;
}
