//===- AdaptiveAttention.cpp - local/global attention module --------------===//

#include "rotary/Torch/AdaptiveAttention.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

using namespace rotary;
using namespace rotary::nn;

AdaptiveAttentionImpl::AdaptiveAttentionImpl(AdaptiveAttentionOptions options)
    : options(std::move(options)) {
  reset();
}

void AdaptiveAttentionImpl::reset() {
  const AdaptiveAttentionOptions &o = options;
  TORCH_CHECK(o.heads() > 0 && o.head_dim() > 0,
              "rotary::nn::AdaptiveAttention: heads and head_dim must be "
              "positive, got ",
              o.heads(), " and ", o.head_dim());
  TORCH_CHECK(o.window() >= -1 && o.global_tokens() >= 0 &&
                  o.relative_bias_radius() >= -1 && o.scale() >= 0,
              "rotary::nn::AdaptiveAttention: need window >= -1, "
              "global_tokens >= 0, relative_bias_radius >= -1, scale >= 0");
  TORCH_CHECK(!o.adaptive_span() || (o.span_ramp() > 0 && o.span_init() >= 0),
              "rotary::nn::AdaptiveAttention: adaptive_span needs span_ramp "
              "> 0 and span_init >= 0");
  kernels_.clear();
  bias_table = span = torch::Tensor();
  if (o.relative_bias_radius() >= 0)
    bias_table = register_parameter(
        "bias_table",
        torch::zeros({o.heads(), 2 * o.relative_bias_radius() + 1}));
  if (o.adaptive_span())
    span = register_parameter("span", torch::full({o.heads()}, o.span_init()));
}

torch::Tensor AdaptiveAttentionImpl::forward(const torch::Tensor &q,
                                             const torch::Tensor &k,
                                             const torch::Tensor &v) {
  const AdaptiveAttentionOptions &o = options;
  int64_t H = o.heads(), D = o.head_dim();
  bundle::DType dtype = dataDType("AdaptiveAttention", "q", q);
  checkTensor("AdaptiveAttention", "q", q, {"B", "H", "T", "D"},
              {-1, H, -1, D});
  int64_t B = q.size(0), T = q.size(2);
  dataDType("AdaptiveAttention", "k", k);
  checkTensor("AdaptiveAttention", "k", k, {"B", "H", "S", "D"}, {B, H, -1, D});
  int64_t S = k.size(2);
  dataDType("AdaptiveAttention", "v", v);
  checkTensor("AdaptiveAttention", "v", v, {"B", "H", "S", "D"}, {B, H, S, D});
  TORCH_CHECK(k.scalar_type() == q.scalar_type() &&
                  v.scalar_type() == q.scalar_type(),
              "rotary::nn::AdaptiveAttention: q, k and v must have one dtype, "
              "got ",
              q.scalar_type(), ", ", k.scalar_type(), ", ", v.scalar_type());
  TORCH_CHECK(S >= T, "rotary::nn::AdaptiveAttention: k has S = ", S,
              " positions, fewer than q's T = ", T,
              " (the queries are the last T of the S positions)");
  if (o.reference())
    return referenceForward(q, k, v);

  auto kernel = kernels_.get(dtype, q.device(), [&] {
    model::AttentionKernel a;
    a.heads = H;
    a.headDim = D;
    a.causal = o.causal();
    a.window = o.window();
    a.globalTokens = o.global_tokens();
    a.scale = o.scale();
    a.biasRadius = o.relative_bias_radius();
    a.spanRamp = o.adaptive_span() ? o.span_ramp() : 0;
    a.dtype = dtype;
    return a;
  });
  std::vector<at::Tensor> inputs = {q, k, v};
  if (bias_table.defined())
    inputs.push_back(bias_table);
  if (span.defined())
    inputs.push_back(span);
  return nn::apply(kernel, "attention", inputs)[0];
}

torch::Tensor
AdaptiveAttentionImpl::referenceForward(const torch::Tensor &q,
                                        const torch::Tensor &k,
                                        const torch::Tensor &v) const {
  const AdaptiveAttentionOptions &o = options;
  int64_t T = q.size(2), S = k.size(2), D = o.head_dim();
  double scale = o.scale() > 0 ? o.scale() : 1.0 / std::sqrt(double(D));
  auto longs = torch::TensorOptions().dtype(torch::kInt64).device(q.device());
  // Query i sits at position p = i + S - T.
  torch::Tensor p = (torch::arange(T, longs) + (S - T)).unsqueeze(1);
  torch::Tensor j = torch::arange(S, longs).unsqueeze(0);
  torch::Tensor seen = o.window() < 0
                           ? torch::ones({T, S}, longs.dtype(torch::kBool))
                           : j >= p - o.window();
  seen = seen | (j < o.global_tokens()) | (p < o.global_tokens());
  if (o.causal())
    seen = seen & (j <= p);

  torch::Tensor qf = q.to(torch::kFloat32), kf = k.to(torch::kFloat32),
                vf = v.to(torch::kFloat32);
  torch::Tensor s = torch::matmul(qf, kf.transpose(-1, -2)) * scale;
  if (bias_table.defined()) {
    int64_t W = o.relative_bias_radius();
    torch::Tensor index = ((j - p).clamp(-W, W) + W).reshape({-1});
    s = s + bias_table.index_select(1, index).view({o.heads(), T, S});
  }
  s = s.masked_fill(seen.logical_not(),
                    -std::numeric_limits<float>::infinity());
  // Rows without a visible key give 0, not NaN.
  torch::Tensor rowMax = std::get<0>(s.max(-1, true)).detach();
  rowMax =
      torch::where(torch::isfinite(rowMax), rowMax, torch::zeros_like(rowMax));
  torch::Tensor w = torch::exp(s - rowMax);
  if (span.defined()) {
    torch::Tensor d = (p - j).to(torch::kFloat32); // [T, S]
    torch::Tensor m =
        ((span.view({-1, 1, 1}) + o.span_ramp() - d) / o.span_ramp())
            .clamp(0, 1);
    w = w * m;
  }
  torch::Tensor total = w.sum(-1, true);
  w = w / torch::where(total > 0, total, torch::ones_like(total));
  return torch::matmul(w, vf).to(q.scalar_type());
}
