//===- HDDRoPE.cpp - high-dimensional data-dependent RoPE module ----------===//

#include "rotary/Torch/HDDRoPE.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"
#include "rotary/Torch/RotationBlock.h"

#include <torch/torch.h>

using namespace rotary;
using namespace rotary::nn;

torch::Tensor nn::soGenerator(const torch::Tensor &angles, int64_t c,
                              SOForm form) {
  std::vector<int64_t> shape = angles.sizes().vec();
  shape.back() = c;
  shape.push_back(c);
  if (form == SOForm::Exp) {
    torch::Tensor a = torch::zeros(shape, angles.options());
    int64_t k = 0;
    for (int64_t p = 0; p < c; ++p)
      for (int64_t q = p + 1; q < c; ++q, ++k) {
        torch::Tensor e = torch::zeros({c, c}, angles.options());
        e[p][q] = 1;
        e[q][p] = -1;
        a = a + angles.select(-1, k).unsqueeze(-1).unsqueeze(-1) * e;
      }
    return torch::matrix_exp(a);
  }
  // Columns p and q of the running product, one pair at a time, in
  // lexicographic order.
  torch::Tensor m = torch::eye(c, angles.options()).expand(shape).clone();
  int64_t k = 0;
  for (int64_t p = 0; p < c; ++p)
    for (int64_t q = p + 1; q < c; ++q, ++k)
      m = rotateColumns(m, angles.narrow(-1, k, 1), {p}, {q});
  return m;
}

HDDRoPEImpl::HDDRoPEImpl(HDDRoPEOptions options) : options(std::move(options)) {
  reset();
}

void HDDRoPEImpl::reset() {
  const HDDRoPEOptions &o = options;
  TORCH_CHECK(o.heads() > 0 && o.chunk() >= 2 && o.head_dim() > 0 &&
                  o.head_dim() % o.chunk() == 0 && o.input_dim() > 0,
              "rotary::nn::HDDRoPE: need heads > 0, chunk >= 2 dividing "
              "head_dim and input_dim > 0, got heads ",
              o.heads(), ", head_dim ", o.head_dim(), ", chunk ", o.chunk(),
              ", input_dim ", o.input_dim());
  int64_t c = o.chunk(),
          angles = o.heads() * (o.head_dim() / c) * (c * (c - 1) / 2);
  angle_proj =
      register_module("angle_proj", torch::nn::Linear(o.input_dim(), angles));
  torch::NoGradGuard noGrad;
  angle_proj->weight.normal_(0, o.angle_init_std());
  angle_proj->bias.zero_();
  kernels_.clear();
}

torch::Tensor HDDRoPEImpl::angles(const torch::Tensor &activations) {
  const HDDRoPEOptions &o = options;
  dataDType("HDDRoPE", "activations", activations);
  checkTensor("HDDRoPE", "activations", activations, {"B", "T", "input_dim"},
              {-1, -1, o.input_dim()});
  int64_t c = o.chunk();
  return angle_proj(activations.to(torch::kFloat32))
      .view({activations.size(0), activations.size(1), o.heads(),
             o.head_dim() / c, c * (c - 1) / 2});
}

void HDDRoPEImpl::checkX(const char *arg, const torch::Tensor &x,
                         const torch::Tensor &activations) const {
  dataDType("HDDRoPE", arg, x);
  checkTensor("HDDRoPE", arg, x, {"B", "T", "H", "D"},
              {-1, -1, options.heads(), options.head_dim()});
  dataDType("HDDRoPE", "activations", activations);
  // One angle set per token: the activations' B and T are x's.
  checkTensor("HDDRoPE", "activations", activations, {"B", "T", "input_dim"},
              {x.size(0), x.size(1), options.input_dim()});
}

torch::Tensor HDDRoPEImpl::rotate(const torch::Tensor &x,
                                  const torch::Tensor &a) {
  int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3),
          c = options.chunk();
  if (options.reference()) {
    // G and P in f64 (decision 0018): T products of f32 rotations (and
    // f32 matrix_exp) would drift from the kernel's by more than rounding.
    torch::Tensor g = soGenerator(a.to(torch::kFloat64), c,
                                  options.form()); // [B,T,H,C,c,c]
    std::vector<torch::Tensor> p;
    for (int64_t t = 0; t < T; ++t)
      p.push_back(t ? torch::matmul(p.back(), g.select(1, t)) : g.select(1, 0));
    torch::Tensor P = torch::stack(p, 1).to(torch::kFloat32);
    torch::Tensor chunks = x.to(torch::kFloat32).view({B, T, H, D / c, c, 1});
    return torch::matmul(P, chunks).view({B, T, H, D}).to(x.scalar_type());
  }
  bundle::DType dtype = dataDType("HDDRoPE", "x", x);
  auto kernel = kernels_.get(dtype, x.device(), [&] {
    model::HDDRopeKernel k;
    k.heads = options.heads();
    k.headDim = options.head_dim();
    k.chunk = c;
    k.form = options.form() == SOForm::Givens
                 ? model::HDDRopeKernel::Form::Givens
                 : model::HDDRopeKernel::Form::Exp;
    k.dtype = dtype;
    return k;
  });
  return nn::apply(kernel, "hdd_rope", {x, a.contiguous()})[0];
}

torch::Tensor HDDRoPEImpl::forward(const torch::Tensor &x,
                                   const torch::Tensor &activations) {
  checkX("x", x, activations);
  return rotate(x, angles(activations));
}

std::tuple<torch::Tensor, torch::Tensor>
HDDRoPEImpl::forward_qk(const torch::Tensor &q, const torch::Tensor &k,
                        const torch::Tensor &activations) {
  checkX("q", q, activations);
  checkX("k", k, activations);
  torch::Tensor a = angles(activations);
  return {rotate(q, a), rotate(k, a)};
}
