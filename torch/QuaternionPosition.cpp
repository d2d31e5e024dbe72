//===- QuaternionPosition.cpp - relative positions from 3-D rotations -----===//

#include "rotary/Torch/QuaternionPosition.h"

#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/torch.h>

#include <cmath>

using namespace rotary;
using namespace rotary::nn;

namespace {
/// rotary.quaternion_rotate with one axis and one angle per vector
/// (docs/Math.md §8). rotary/Model/Kernels.h's QuaternionKernel has only the
/// shared form, so the entry is written here; its backward is generated.
constexpr const char *kPerVectorSource = R"(
func.func @quaternion_position(%x: tensor<?x3xf32>, %u: tensor<?x3xf32>,
                               %t: tensor<?xf32>) -> tensor<?x3xf32> {
  %y = rotary.quaternion_rotate %x, %u, %t
      : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?xf32>
  return %y : tensor<?x3xf32>
}
)";
} // namespace

torch::Tensor nn::rotateAboutAxes(const torch::Tensor &x,
                                  const torch::Tensor &axis,
                                  const torch::Tensor &angle) {
  torch::Tensor u = axis / axis.norm(2, -1, true).clamp_min(1e-8);
  torch::Tensor c = torch::cos(angle).unsqueeze(-1);
  torch::Tensor s = torch::sin(angle).unsqueeze(-1);
  u = u.expand_as(x);
  torch::Tensor ux = torch::cross(u, x, -1);
  torch::Tensor along = (u * x).sum(-1, true) * u;
  return x * c + ux * s + along * (1 - c);
}

QuaternionPositionImpl::QuaternionPositionImpl(
    QuaternionPositionOptions options)
    : options(std::move(options)) {
  reset();
}

void QuaternionPositionImpl::reset() {
  const QuaternionPositionOptions &o = options;
  TORCH_CHECK(o.heads() > 0,
              "rotary::nn::QuaternionPosition: heads must be "
              "> 0, got ",
              o.heads());
  TORCH_CHECK(o.head_dim() >= 3,
              "rotary::nn::QuaternionPosition: head_dim must be >= 3 (one "
              "3-D vector per group), got ",
              o.head_dim());
  TORCH_CHECK(o.base() > 0 && std::isfinite(o.base()),
              "rotary::nn::QuaternionPosition: base must be > 0 and finite, "
              "got ",
              o.base());
  axis = register_parameter("axis",
                            torch::randn({o.heads(), o.head_dim() / 3, 3}));
  kernels_.clear();
}

torch::Tensor
QuaternionPositionImpl::angles(const torch::Tensor &positions) const {
  torch::Tensor p = positions.to(torch::kFloat64);
  if (p.dim() == 1)
    p = p.unsqueeze(0);
  int64_t G = options.head_dim() / 3;
  // f_g = base^(-g/G) for g = 0..G-1.
  torch::Tensor f =
      torch::pow(options.base(), -torch::arange(G, p.options()) / double(G));
  torch::Tensor theta = p.unsqueeze(-1) * f;
  // A turn by θ is a turn by θ mod 2π: reduced in f64, the f32 angle keeps
  // its precision at any position.
  return torch::fmod(theta, 2 * M_PI).to(torch::kFloat32);
}

void QuaternionPositionImpl::checkX(const char *arg, const torch::Tensor &x,
                                    const torch::Tensor &positions) const {
  dataDType("QuaternionPosition", arg, x);
  checkTensor("QuaternionPosition", arg, x, {"B", "T", "H", "D"},
              {-1, -1, options.heads(), options.head_dim()});
  TORCH_CHECK(positions.defined() && positions.scalar_type() == torch::kInt64,
              "rotary::nn::QuaternionPosition: positions must be int64, got ",
              positions.defined() ? c10::toString(positions.scalar_type())
                                  : "an undefined tensor");
  if (positions.dim() == 1)
    checkTensor("QuaternionPosition", "positions", positions, {"T"},
                {x.size(1)});
  else
    checkTensor("QuaternionPosition", "positions", positions, {"B", "T"},
                {x.size(0), x.size(1)});
}

torch::Tensor QuaternionPositionImpl::rotate(const torch::Tensor &x,
                                             const torch::Tensor &positions) {
  int64_t N = x.size(0), B = x.size(1), T = x.size(2), H = options.heads(),
          D = options.head_dim(), G = D / 3;
  std::vector<int64_t> vecShape = {N, B, T, H, G, 3};
  torch::Tensor xs = x.narrow(-1, 0, 3 * G).reshape(vecShape);
  // [B or 1, T, G] -> [N, B, T, H, G]
  torch::Tensor theta =
      angles(positions).unsqueeze(-2).unsqueeze(0).expand({N, B, T, H, G});
  torch::Tensor r;
  if (options.reference()) {
    r = rotateAboutAxes(xs, axis, theta);
  } else {
    std::string target = kernelTarget(x.device());
    std::shared_ptr<runtime::Bundle> &kernel = kernels_[target];
    if (!kernel)
      kernel = compiledKernel(kPerVectorSource, target);
    // The kernel takes one axis and angle per vector: the expansions are
    // copies, and autograd sums the axis gradient back to [H, G, 3].
    torch::Tensor xf = xs.reshape({-1, 3}).contiguous();
    torch::Tensor uf = axis.expand(vecShape).reshape({-1, 3}).contiguous();
    torch::Tensor tf = theta.reshape({-1}).contiguous();
    r = nn::apply(kernel, "quaternion_position", {xf, uf, tf})[0].view(
        vecShape);
  }
  r = r.reshape({N, B, T, H, 3 * G});
  if (3 * G == D)
    return r;
  return torch::cat({r, x.narrow(-1, 3 * G, D - 3 * G)}, -1);
}

torch::Tensor QuaternionPositionImpl::forward(const torch::Tensor &x,
                                              const torch::Tensor &positions) {
  checkX("x", x, positions);
  return rotate(x.to(torch::kFloat32).unsqueeze(0), positions)
      .squeeze(0)
      .to(x.scalar_type());
}

std::tuple<torch::Tensor, torch::Tensor>
QuaternionPositionImpl::forward_qk(const torch::Tensor &q,
                                   const torch::Tensor &k,
                                   const torch::Tensor &positions) {
  checkX("q", q, positions);
  checkX("k", k, positions);
  TORCH_CHECK(q.sizes() == k.sizes(),
              "rotary::nn::QuaternionPosition: q and k must have one shape, "
              "got q ",
              shapeString(q), " and k ", shapeString(k));
  torch::Tensor y = rotate(
      torch::stack({q.to(torch::kFloat32), k.to(torch::kFloat32)}), positions);
  return {y.select(0, 0).to(q.scalar_type()),
          y.select(0, 1).to(k.scalar_type())};
}
