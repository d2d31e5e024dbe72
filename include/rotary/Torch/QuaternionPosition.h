//===- QuaternionPosition.h - relative positions from 3-D rotations -*- C++
//-*-===//
//
// A position encoding of queries and keys by rotations in 3-D
// (docs/Modules.md, QuaternionPosition): the first 3·G features of a head
// (G = ⌊D/3⌋) form G vectors of three; vector g at position p is turned by
// the angle p·f_g, f_g = base^(-g/G), about a learnable axis u_g of its
// head. Rotations about one axis compose by adding angles, so the score of a
// query at p and a key at s depends on p - s only, as with RoPE. The
// compiled path is rotary.quaternion_rotate (docs/Math.md §8) with one axis
// and angle per vector, forward and backward; `reference(true)` rotates with
// Rodrigues' formula in LibTorch ops.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_QUATERNIONPOSITION_H
#define ROTARY_TORCH_QUATERNIONPOSITION_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <tuple>

namespace rotary::nn {

struct QuaternionPositionOptions {
  QuaternionPositionOptions(int64_t heads, int64_t headDim)
      : heads_(heads), head_dim_(headDim) {}
  TORCH_ARG(int64_t, heads);
  /// D >= 3; features 3·⌊D/3⌋..D pass through.
  TORCH_ARG(int64_t, head_dim);
  /// The base of f_g = base^(-g/G) (> 0).
  TORCH_ARG(double, base) = 10000.0;
  /// Plain LibTorch ops instead of the compiled kernel.
  TORCH_ARG(bool, reference) = false;
};

class QuaternionPositionImpl
    : public torch::nn::Cloneable<QuaternionPositionImpl> {
public:
  explicit QuaternionPositionImpl(QuaternionPositionOptions options);
  void reset() override;

  /// x [B, T, H, D] (f32, f16 or bf16; contiguous; computed in f32 and
  /// returned in x's dtype); positions int64 [T] or [B, T].
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &positions);
  /// Queries and keys turned by the same rotations (one launch for both).
  std::tuple<torch::Tensor, torch::Tensor>
  forward_qk(const torch::Tensor &q, const torch::Tensor &k,
             const torch::Tensor &positions);

  /// The angles p·f_g [B or 1, T, G] (f32), reduced modulo 2π in f64 so
  /// they stay exact at large positions.
  torch::Tensor angles(const torch::Tensor &positions) const;

  QuaternionPositionOptions options;
  torch::Tensor axis; ///< [H, G, 3], random; normalised inside (eps 1e-8)

private:
  void checkX(const char *arg, const torch::Tensor &x,
              const torch::Tensor &positions) const;
  /// x [N, B, T, H, D] f32 (N stacked tensors sharing the rotations).
  torch::Tensor rotate(const torch::Tensor &x, const torch::Tensor &positions);
  /// The per-vector quaternion_rotate bundle by target (""), compiled on
  /// first use.
  std::map<std::string, std::shared_ptr<runtime::Bundle>> kernels_;
};
TORCH_MODULE(QuaternionPosition);

/// x [..., 3] turned by `angle` [...] about `axis` [..., 3] (normalised
/// with eps 1e-8), by Rodrigues' formula in LibTorch ops.
torch::Tensor rotateAboutAxes(const torch::Tensor &x, const torch::Tensor &axis,
                              const torch::Tensor &angle);

} // namespace rotary::nn

#endif // ROTARY_TORCH_QUATERNIONPOSITION_H
