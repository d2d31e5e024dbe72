//===- QuaternionRotation.cpp - 3-D rotation of a learned projection ------===//

#include "rotary/Torch/QuaternionRotation.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/torch.h>

using namespace rotary;
using namespace rotary::nn;

torch::Tensor nn::quaternionRotate(const torch::Tensor &x,
                                   const torch::Tensor &axis,
                                   const torch::Tensor &angle) {
  torch::Tensor u = axis / axis.norm().clamp_min(1e-8);
  torch::Tensor w = torch::cos(angle / 2), v = torch::sin(angle / 2) * u;
  torch::Tensor vx = torch::cross(v.expand_as(x), x, -1);
  return x + 2 * w * vx + 2 * torch::cross(v.expand_as(x), vx, -1);
}

QuaternionRotationImpl::QuaternionRotationImpl(
    QuaternionRotationOptions options)
    : options(std::move(options)) {
  reset();
}

void QuaternionRotationImpl::reset() {
  int64_t D = options.dim();
  TORCH_CHECK(D >= 3, "rotary::nn::QuaternionRotation: dim must be >= 3, got ",
              D);
  // Orthonormal columns: x·P·Pᵀ projects onto a 3-D subspace.
  torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({D, 3})));
  projection = register_parameter("projection", q.contiguous());
  axis = register_parameter("axis", torch::randn({3}));
  angle = register_parameter("angle", torch::full({}, options.angle_init()));
  kernels_.clear();
}

torch::Tensor QuaternionRotationImpl::forward(const torch::Tensor &x) {
  int64_t D = options.dim();
  dataDType("QuaternionRotation", "x", x);
  checkTensor("QuaternionRotation", "x", x, {"...", "D"}, {-1, D});
  torch::Tensor p = torch::matmul(x.to(torch::kFloat32), projection);
  torch::Tensor r;
  if (options.reference()) {
    r = quaternionRotate(p, axis, angle);
  } else {
    auto kernel =
        kernels_.get(0, x.device(), [] { return model::QuaternionKernel{}; });
    r = nn::apply(kernel, "quaternion_rotate",
                  {p.reshape({-1, 3}).contiguous(), axis, angle})[0]
            .view(p.sizes());
  }
  return torch::matmul(r, projection.t()).to(x.scalar_type());
}
