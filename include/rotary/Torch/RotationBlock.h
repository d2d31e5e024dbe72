//===- RotationBlock.h - Givens chain + orthogonal R module -----*- C++ -*-===//
//
// The seed's rotation block (Math §4) as a torch::nn::Module: a chain of N
// Givens rotations of the round-robin schedule followed by a learnable
// matrix R initialised orthogonal, one chain and R per head or one per
// layer. `orthogonality_penalty()` is the soft constraint the training loop
// adds (times λ) to the loss. With `conditional_dim` > 0 a small network
// maps a conditioning vector per batch row to angle offsets (conditional
// rotations, docs/Math.md §9). Forward and backward are compiled kernels;
// `reference(true)` runs the same math as LibTorch ops.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_ROTATIONBLOCK_H
#define ROTARY_TORCH_ROTATIONBLOCK_H

#include "rotary/Torch/Kernel.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <utility>
#include <vector>

namespace rotary::nn {

struct RotationBlockOptions {
  explicit RotationBlockOptions(int64_t dim) : dim_(dim) {}
  /// D: even (the round-robin schedule pairs all D features).
  TORCH_ARG(int64_t, dim);
  /// N, the first N rotations of the schedule; -1: all D(D-1)/2.
  TORCH_ARG(int64_t, rotations) = -1;
  /// H > 0: one chain and one R per head (x [..., H, D]); 0: per layer.
  TORCH_ARG(int64_t, heads) = 0;
  /// Standard deviation of the initial angles (0: the identity chain).
  TORCH_ARG(double, angle_init_std) = 0.02;
  /// > 0: conditional rotations from a [B, conditional_dim] input through
  /// Linear -> tanh -> Linear (the last layer zero-initialised).
  TORCH_ARG(int64_t, conditional_dim) = 0;
  TORCH_ARG(int64_t, conditional_hidden) = 32;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;
};

class RotationBlockImpl : public torch::nn::Cloneable<RotationBlockImpl> {
public:
  explicit RotationBlockImpl(RotationBlockOptions options);
  void reset() override;

  /// x [..., D] (per head: [..., H, D]); contiguous f32, f16 or bf16.
  torch::Tensor forward(const torch::Tensor &x);
  /// Conditional rotations: x [B, T, H, D] (per layer: [B, T, D]) and a
  /// conditioning input [B, conditional_dim]; batch row b is rotated by
  /// angles + net(condition[b]).
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &condition);

  /// ‖RᵀR − I‖_F², summed over heads (a 0-d f32 tensor, differentiable).
  torch::Tensor orthogonality_penalty();

  RotationBlockOptions options;
  torch::Tensor angles; ///< [N] or [H, N]
  torch::Tensor matrix; ///< R: [D, D] or [H, D, D]
  torch::nn::Linear condition_in{nullptr}, condition_out{nullptr};

private:
  int64_t numRotations() const;
  torch::Tensor run(const torch::Tensor &x, const torch::Tensor &angles,
                    const torch::Tensor &matrix, bool perHead);
  std::shared_ptr<runtime::Bundle> kernel(int64_t rank, bool perHead,
                                          const torch::Tensor &x);

  KernelSet<int64_t> kernels_; // by rank, per head, dtype; -1: the penalty
};
TORCH_MODULE(RotationBlock);

/// The first N (i, j) pairs of the round-robin schedule of docs/Math.md §2 (D
/// even): stage s lists (s, D-1), then ((s+k) mod (D-1), (s-k) mod (D-1))
/// for k = 1..D/2-1, each as (min, max).
std::vector<std::pair<int64_t, int64_t>> roundRobinPairs(int64_t D, int64_t N);

/// m·G_k for the rotations k whose column pairs (is[k], js[k]) are
/// disjoint, angles a [..., n] (broadcast over m's rows): columns i and j
/// become c_i·cos + c_j·sin and c_j·cos − c_i·sin (docs/Math.md §2).
torch::Tensor rotateColumns(const torch::Tensor &m, const torch::Tensor &a,
                            const std::vector<int64_t> &is,
                            const std::vector<int64_t> &js);

/// ∏_k G_k for angles [..., N] and the schedule's first N pairs: [..., D, D]
/// (x·Q applies the chain). Plain LibTorch, differentiable; the reference
/// path of RotationBlock.
torch::Tensor givensChainMatrix(const torch::Tensor &angles, int64_t D);

} // namespace rotary::nn

#endif // ROTARY_TORCH_ROTATIONBLOCK_H
