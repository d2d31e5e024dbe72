//===- QuaternionRotation.h - 3-D rotation of a learned projection -*- C++
//-*-===//
//
// The seed's projection form of rotary.quaternion_rotate (docs/Math.md §8): x·P
// with a learnable P [D, 3], rotated about a learnable axis by a learnable
// angle (a quaternion rotation, the compiled kernel), then projected back
// with Pᵀ: y = rotate(x·P)·Pᵀ. The projections are LibTorch matmuls; the
// rotation and its gradients (x, axis, angle) are compiled.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_QUATERNIONROTATION_H
#define ROTARY_TORCH_QUATERNIONROTATION_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>

namespace rotary::nn {

struct QuaternionRotationOptions {
  explicit QuaternionRotationOptions(int64_t dim) : dim_(dim) {}
  /// D >= 3, the last dimension of x.
  TORCH_ARG(int64_t, dim);
  /// Initial rotation angle (radians); the axis starts random.
  TORCH_ARG(double, angle_init) = 0.1;
  /// Plain LibTorch ops instead of the compiled kernel.
  TORCH_ARG(bool, reference) = false;
};

class QuaternionRotationImpl
    : public torch::nn::Cloneable<QuaternionRotationImpl> {
public:
  explicit QuaternionRotationImpl(QuaternionRotationOptions options);
  void reset() override;

  /// x [..., D] (f32, f16, bf16; contiguous) -> [..., D].
  torch::Tensor forward(const torch::Tensor &x);

  QuaternionRotationOptions options;
  torch::Tensor projection; ///< P [D, 3], orthonormal columns at init
  torch::Tensor axis;       ///< [3], normalised inside (eps 1e-8)
  torch::Tensor angle;      ///< 0-d

private:
  KernelSet<int> kernels_; // one: the projection is f32
};
TORCH_MODULE(QuaternionRotation);

/// rotary.quaternion_rotate in LibTorch: x [..., 3], axis [3], angle 0-d.
torch::Tensor quaternionRotate(const torch::Tensor &x, const torch::Tensor &axis,
                               const torch::Tensor &angle);

} // namespace rotary::nn

#endif // ROTARY_TORCH_QUATERNIONROTATION_H
