//===- Transformer.cpp - a small language model built from the modules ----===//

#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

#include <cmath>

using namespace rotary::nn;

const char *rotary::nn::positionSchemeName(PositionScheme scheme) {
  switch (scheme) {
  case PositionScheme::None:
    return "none";
  case PositionScheme::Sinusoidal:
    return "sinusoidal";
  case PositionScheme::LearnedSinusoidal:
    return "learned_sinusoidal";
  case PositionScheme::Rope:
    return "rope";
  case PositionScheme::XPos:
    return "xpos";
  case PositionScheme::Quaternion:
    return "quaternion";
  case PositionScheme::HDD:
    return "hdd";
  }
  return "unknown";
}

void rotary::nn::checkTransformerOptions(const TransformerOptions &o) {
  const char *scheme = positionSchemeName(o.position());
  TORCH_CHECK(o.vocab() > 0, "rotary::nn::Transformer: vocab must be > 0, got ",
              o.vocab());
  TORCH_CHECK(o.layers() >= 0,
              "rotary::nn::Transformer: layers must be >= 0, got ", o.layers());
  TORCH_CHECK(o.heads() > 0 && o.dim() > 0 && o.dim() % o.heads() == 0,
              "rotary::nn::Transformer: dim must be a positive multiple of "
              "heads, got dim ",
              o.dim(), ", heads ", o.heads());
  int64_t Dh = o.dim() / o.heads();
  TORCH_CHECK(o.conv_kernel() >= 0,
              "rotary::nn::Transformer: conv_kernel must be >= 0 (0: no "
              "convolution), got ",
              o.conv_kernel());
  TORCH_CHECK(!o.rotation_block() || Dh % 2 == 0,
              "rotary::nn::Transformer: rotation_block needs an even head dim "
              "(dim / heads), got ",
              Dh, "; turn rotation_block off or change dim or heads");
  switch (o.position()) {
  case PositionScheme::None:
    break;
  case PositionScheme::Sinusoidal:
  case PositionScheme::LearnedSinusoidal:
    TORCH_CHECK(o.dim() % 2 == 0, "rotary::nn::Transformer: the ", scheme,
                " position scheme needs an even dim (sin/cos pairs), got ",
                o.dim());
    break;
  case PositionScheme::XPos:
    TORCH_CHECK(o.xpos_scale_base() > 0 && std::isfinite(o.xpos_scale_base()),
                "rotary::nn::Transformer: the xpos position scheme needs "
                "xpos_scale_base > 0 and finite, got ",
                o.xpos_scale_base());
    [[fallthrough]];
  case PositionScheme::Rope:
    TORCH_CHECK(Dh % 2 == 0, "rotary::nn::Transformer: the ", scheme,
                " position scheme needs an even head dim (dim / heads), got ",
                Dh);
    TORCH_CHECK(o.rope_base() > 0 && std::isfinite(o.rope_base()),
                "rotary::nn::Transformer: rope_base must be > 0 and finite, "
                "got ",
                o.rope_base());
    break;
  case PositionScheme::Quaternion:
    TORCH_CHECK(Dh >= 3,
                "rotary::nn::Transformer: the quaternion position scheme "
                "needs a head dim (dim / heads) >= 3, got ",
                Dh);
    break;
  case PositionScheme::HDD:
    TORCH_CHECK(o.hdd_chunk() >= 2 && o.hdd_chunk() <= 4,
                "rotary::nn::Transformer: hdd_chunk must be 2, 3 or 4, got ",
                o.hdd_chunk());
    TORCH_CHECK(Dh % o.hdd_chunk() == 0,
                "rotary::nn::Transformer: the hdd position scheme needs a "
                "head dim (dim / heads) that is a multiple of hdd_chunk, got "
                "head dim ",
                Dh, " and hdd_chunk ", o.hdd_chunk());
    break;
  default:
    TORCH_CHECK(false, "rotary::nn::Transformer: unknown position scheme ",
                int(o.position()));
  }
}

TransformerBlockImpl::TransformerBlockImpl(TransformerOptions options)
    : options(std::move(options)) {
  reset();
}

void TransformerBlockImpl::reset() {
  const TransformerOptions &o = options;
  checkTransformerOptions(o);
  int64_t C = o.dim(), H = o.heads(), Dh = C / H;
  norm1 = register_module(
      "norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C})));
  norm2 = register_module(
      "norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C})));
  // "self_attn" puts these in FAM's attention group.
  qkv = register_module("self_attn_qkv", torch::nn::Linear(C, 3 * C));
  proj = register_module("self_attn_proj", torch::nn::Linear(C, C));
  fc1 = register_module("mlp_fc1", torch::nn::Linear(C, 4 * C));
  fc2 = register_module("mlp_fc2", torch::nn::Linear(4 * C, C));
  rope = nullptr;
  hdd = nullptr;
  quaternion = nullptr;
  rotation = nullptr;
  conv = nullptr;
  switch (o.position()) {
  case PositionScheme::Rope:
  case PositionScheme::XPos: {
    bool xpos = o.position() == PositionScheme::XPos;
    rope = register_module(
        "rope", Rope(RopeOptions(Dh)
                         .base(o.rope_base())
                         .learnable_freq(o.learnable_freq())
                         .learnable_phase(o.learnable_phase())
                         .learnable_scale(o.learnable_scale())
                         .xpos_scale_base(xpos ? o.xpos_scale_base() : 0)
                         .reference(o.reference())));
    break;
  }
  case PositionScheme::Quaternion:
    quaternion = register_module(
        "quaternion",
        QuaternionPosition(
            QuaternionPositionOptions(H, Dh).reference(o.reference())));
    break;
  case PositionScheme::HDD:
    hdd = register_module("hdd", HDDRoPE(HDDRoPEOptions(H, Dh, o.hdd_chunk(), C)
                                             .form(o.hdd_form())
                                             .reference(o.reference())));
    break;
  default: // the embeddings are the model's, not the block's
    break;
  }
  attention = register_module(
      "self_attention",
      AdaptiveAttention(AdaptiveAttentionOptions(H, Dh)
                            .causal(true)
                            .window(o.window())
                            .global_tokens(o.global_tokens())
                            .relative_bias_radius(o.bias_radius())
                            .adaptive_span(o.adaptive_span())
                            .reference(o.reference())));
  if (o.rotation_block())
    rotation = register_module("rotation",
                               RotationBlock(RotationBlockOptions(Dh)
                                                 .heads(H)
                                                 .rotations(o.rotations())
                                                 .reference(o.reference())));
  // "conv" puts the kernel in FAM's conv group (log bands, conv handler).
  if (o.conv_kernel() > 0)
    conv = register_module(
        "conv", torch::nn::Conv1d(
                    torch::nn::Conv1dOptions(C, C, o.conv_kernel()).groups(C)));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor &x,
                                            const torch::Tensor &positions) {
  int64_t B = x.size(0), T = x.size(1), C = options.dim(), H = options.heads(),
          Dh = C / H;
  torch::Tensor h = norm1(x);
  torch::Tensor parts = qkv(h).view({B, T, 3, H, Dh});
  torch::Tensor q = parts.select(2, 0).contiguous();
  torch::Tensor k = parts.select(2, 1).contiguous();
  torch::Tensor v = parts.select(2, 2).contiguous();
  std::tuple<torch::Tensor, torch::Tensor> qk{q, k};
  if (rope)
    qk = rope->forward_qk(q, k, positions);
  else if (quaternion)
    qk = quaternion->forward_qk(q, k, positions);
  else if (hdd)
    qk = hdd->forward_qk(q, k, h);
  auto heads = [](const torch::Tensor &t) {
    return t.transpose(1, 2).contiguous();
  };
  torch::Tensor o =
      heads(attention(heads(std::get<0>(qk)), heads(std::get<1>(qk)),
                      heads(v))); // back to [B, T, H, Dh]
  if (rotation)
    o = rotation->forward(o);
  torch::Tensor y = x + proj(o.view({B, T, C}));
  if (conv) {
    // Causal: K - 1 zeros on the left, so output t sees inputs t-K+1..t.
    namespace F = torch::nn::functional;
    torch::Tensor c = F::pad(h.transpose(1, 2),
                             F::PadFuncOptions({options.conv_kernel() - 1, 0}));
    y = y + conv(c).transpose(1, 2);
  }
  return y + fc2(torch::gelu(fc1(norm2(y))));
}

TransformerImpl::TransformerImpl(TransformerOptions options)
    : options(std::move(options)) {
  reset();
}

void TransformerImpl::reset() {
  const TransformerOptions &o = options;
  checkTransformerOptions(o);
  token_embed =
      register_module("token_embed", torch::nn::Embedding(o.vocab(), o.dim()));
  position_embed = nullptr;
  sinusoidal_freq = torch::Tensor();
  if (o.position() == PositionScheme::LearnedSinusoidal)
    // Not normalised: its pairs (cos, sin) then have the fixed scheme's scale.
    position_embed = register_module(
        "position_embed",
        LearnedSinusoidalEmbedding(LearnedSinusoidalEmbeddingOptions(o.dim())
                                       .normalize(false)
                                       .reference(o.reference())));
  if (o.position() == PositionScheme::Sinusoidal)
    sinusoidal_freq = register_buffer(
        "sinusoidal_freq",
        torch::pow(10000.0, -torch::arange(0, o.dim(), 2, torch::kFloat64) /
                                double(o.dim())));
  blocks.clear();
  for (int64_t l = 0; l < o.layers(); ++l)
    blocks.push_back(
        register_module("blocks_" + std::to_string(l), TransformerBlock(o)));
  final_norm = register_module(
      "final_norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  head = register_module("lm_head", torch::nn::Linear(o.dim(), o.vocab()));
}

torch::Tensor
TransformerImpl::sinusoidalEmbedding(const torch::Tensor &positions) const {
  TORCH_CHECK(sinusoidal_freq.defined(),
              "rotary::nn::Transformer: sinusoidalEmbedding needs the "
              "sinusoidal position scheme");
  torch::Tensor theta = positions.to(torch::kFloat64).unsqueeze(-1) *
                        sinusoidal_freq.to(torch::kFloat64);
  return torch::stack({torch::sin(theta), torch::cos(theta)}, -1)
      .flatten(-2)
      .to(torch::kFloat32);
}

torch::Tensor TransformerImpl::forward(const torch::Tensor &tokens) {
  TORCH_CHECK(tokens.defined() && tokens.dim() == 2 &&
                  tokens.scalar_type() == torch::kInt64,
              "rotary::nn::Transformer: tokens must be int64 [B, T]");
  torch::Tensor positions = torch::arange(
      tokens.size(1), torch::dtype(torch::kInt64).device(tokens.device()));
  torch::Tensor x = token_embed(tokens);
  if (position_embed)
    x = x + position_embed(positions);
  if (sinusoidal_freq.defined())
    x = x + sinusoidalEmbedding(positions);
  for (TransformerBlock &b : blocks)
    x = b(x, positions);
  return head(final_norm(x));
}

torch::Tensor TransformerImpl::orthogonality_penalty() {
  torch::Tensor p = torch::zeros({}, head->weight.options());
  for (TransformerBlock &b : blocks)
    if (b->rotation)
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
