//===- HDDRoPE.h - high-dimensional data-dependent RoPE module --*- C++ -*-===//
//
// HDD-RoPE (Math §5) as a torch::nn::Module: a learnable linear projection
// of the activations gives per token, head and chunk the c(c-1)/2 angle
// increments; their rotations G_t accumulate along the sequence
// (P_t = G_1⋯G_t) and rotate each chunk of c features of x. The compiled
// kernel is the fused rotary.hdd_rope: it keeps P in registers while it
// scans and never stores it; its backward is the compiled reverse scan.
// `reference(true)` builds G, P and the products with LibTorch ops.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_HDDROPE_H
#define ROTARY_TORCH_HDDROPE_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <tuple>

namespace rotary::nn {

enum class SOForm {
  Givens, ///< G = G_(0,1)·G_(0,2)⋯ over the pairs p < q, lexicographic
  Exp     ///< G = exp(A), A skew-symmetric with A[p,q] = a_pq
};

struct HDDRoPEOptions {
  HDDRoPEOptions(int64_t heads, int64_t headDim, int64_t chunk,
                 int64_t inputDim)
      : heads_(heads), head_dim_(headDim), chunk_(chunk),
        input_dim_(inputDim) {}
  TORCH_ARG(int64_t, heads);
  /// D, a multiple of `chunk`.
  TORCH_ARG(int64_t, head_dim);
  /// c >= 2 (2 is RoPE with data-dependent rates; the reference model used 4).
  TORCH_ARG(int64_t, chunk);
  /// Width of the activations the angles are projected from.
  TORCH_ARG(int64_t, input_dim);
  TORCH_ARG(SOForm, form) = SOForm::Givens;
  /// The projection's weights start at N(0, angle_init_std²), bias 0:
  /// small angle increments, so P_t drifts slowly along the sequence.
  TORCH_ARG(double, angle_init_std) = 0.02;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class HDDRoPEImpl : public torch::nn::Cloneable<HDDRoPEImpl> {
public:
  explicit HDDRoPEImpl(HDDRoPEOptions options);
  void reset() override;

  /// x [B, T, H, D] (f32, f16, bf16; contiguous) rotated by the angles
  /// projected from activations [B, T, input_dim] (f32, f16, bf16; x's B
  /// and T).
  torch::Tensor forward(const torch::Tensor &x,
                        const torch::Tensor &activations);
  /// Queries and keys rotated by the same P (their scores then depend only
  /// on the tokens between them).
  std::tuple<torch::Tensor, torch::Tensor>
  forward_qk(const torch::Tensor &q, const torch::Tensor &k,
             const torch::Tensor &activations);

  /// The angle increments [B, T, H, D/c, c(c-1)/2] (f32) of `activations`.
  torch::Tensor angles(const torch::Tensor &activations);

  HDDRoPEOptions options;
  torch::nn::Linear angle_proj{nullptr};

private:
  torch::Tensor rotate(const torch::Tensor &x, const torch::Tensor &angles);
  void checkX(const char *arg, const torch::Tensor &x,
              const torch::Tensor &activations) const;
  KernelSet<bundle::DType> kernels_;
};
TORCH_MODULE(HDDRoPE);

/// so_generator in LibTorch: angles [..., c(c-1)/2] -> G [..., c, c].
torch::Tensor soGenerator(const torch::Tensor &angles, int64_t chunk,
                          SOForm form);

} // namespace rotary::nn

#endif // ROTARY_TORCH_HDDROPE_H
