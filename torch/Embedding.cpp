//===- Embedding.cpp - learned sinusoidal embeddings, checkpointing -------===//

#include "rotary/Torch/Embedding.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"
#include "rotary/Torch/Rope.h"

#include <torch/autograd.h>
#include <torch/custom_class.h>
#include <torch/torch.h>

using namespace rotary;
using namespace rotary::nn;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {
using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor> &)>;

/// Carries the function through the autograd graph (an IValue capsule
/// needs no class registration).
struct FnHolder : torch::CustomClassHolder {
  explicit FnHolder(Fn fn) : fn(std::move(fn)) {}
  Fn fn;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static variable_list forward(AutogradContext *ctx,
                               c10::intrusive_ptr<FnHolder> holder,
                               at::TensorList inputs) {
    ctx->save_for_backward(inputs.vec());
    ctx->saved_data["fn"] = c10::IValue::make_capsule(holder);
    torch::NoGradGuard noGrad;
    return {holder->fn(inputs.vec())};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto holder = c10::static_intrusive_pointer_cast<FnHolder>(
        ctx->saved_data["fn"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    std::vector<torch::Tensor> inputs, wrt;
    std::vector<size_t> wrtIndex;
    for (size_t i = 0; i < saved.size(); ++i) {
      torch::Tensor t = saved[i].detach();
      if (saved[i].requires_grad()) {
        t.requires_grad_(true);
        wrt.push_back(t);
        wrtIndex.push_back(i);
      }
      inputs.push_back(t);
    }
    variable_list result(1 + saved.size());
    if (wrt.empty())
      return result;
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = holder->fn(inputs);
    }
    variable_list g = torch::autograd::grad({out}, wrt, {grads[0]},
                                            /*retain_graph=*/false,
                                            /*create_graph=*/false,
                                            /*allow_unused=*/true);
    for (size_t k = 0; k < wrtIndex.size(); ++k)
      result[1 + wrtIndex[k]] = g[k];
    return result;
  }
};
} // namespace

torch::Tensor nn::checkpoint(const Fn &fn,
                             const std::vector<torch::Tensor> &inputs) {
  return CheckpointFunction::apply(c10::make_intrusive<FnHolder>(fn),
                                   at::TensorList(inputs))[0];
}

LearnedSinusoidalEmbeddingImpl::LearnedSinusoidalEmbeddingImpl(
    LearnedSinusoidalEmbeddingOptions options)
    : options(std::move(options)) {
  reset();
}

void LearnedSinusoidalEmbeddingImpl::reset() {
  int64_t dim = options.dim();
  TORCH_CHECK(dim >= 2 && dim % 2 == 0,
              "rotary::nn::LearnedSinusoidalEmbedding: dim must be even and "
              ">= 2, got ",
              dim);
  frequency =
      register_parameter("frequency", ropeFrequencies(dim, options.base(), {}));
  phase = register_parameter("phase", torch::zeros({dim / 2}));
  kernels_.clear();
}

torch::Tensor
LearnedSinusoidalEmbeddingImpl::embed(const torch::Tensor &positions,
                                      const torch::Tensor &w,
                                      const torch::Tensor &b) {
  int64_t dim = options.dim();
  torch::Tensor e;
  if (options.reference()) {
    torch::Tensor theta = ropeAngles(positions, w, b, torch::Tensor());
    e = torch::cat({torch::cos(theta), torch::sin(theta)}, -1)
            .to(torch::kFloat32);
  } else {
    // rope (half layout) on the pairs (1, 0) gives (cos θ, sin θ).
    int64_t rank = positions.dim();
    auto kernel = kernels_.get(rank, positions.device(), [&] {
      model::RopeKernel k;
      k.heads = 1;
      k.headDim = dim;
      k.positionsRank = rank;
      k.invFreq = k.phase = true;
      return k;
    });
    int64_t B = rank == 2 ? positions.size(0) : 1, T = positions.size(-1);
    auto f32 = torch::TensorOptions().device(positions.device());
    torch::Tensor ones = torch::cat({torch::ones({B, T, 1, dim / 2}, f32),
                                     torch::zeros({B, T, 1, dim / 2}, f32)},
                                    -1);
    e = nn::apply(kernel, "rope", {ones, positions, w, b})[0].view({B, T, dim});
  }
  if (options.normalize())
    e = e / e.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
  return positions.dim() == 1 ? e.view({positions.size(0), dim}) : e;
}

torch::Tensor
LearnedSinusoidalEmbeddingImpl::forward(const torch::Tensor &positions) {
  TORCH_CHECK(positions.defined() && positions.scalar_type() == torch::kInt64,
              "rotary::nn::LearnedSinusoidalEmbedding: positions must be "
              "int64, got ",
              positions.defined() ? c10::toString(positions.scalar_type())
                                  : "an undefined tensor");
  if (positions.dim() == 2)
    checkTensor("LearnedSinusoidalEmbedding", "positions", positions,
                {"B", "T"});
  else
    checkTensor("LearnedSinusoidalEmbedding", "positions", positions, {"T"});
  if (!options.checkpoint())
    return embed(positions, frequency, phase);
  return checkpoint(
      [this](const std::vector<torch::Tensor> &in) {
        return embed(in[0], in[1], in[2]);
      },
      {positions, frequency, phase});
}
