//===- main.cpp - one training step with the installed model library ------===//
//
//   consumer-nn
//
// A tiny model, a torch::nn::Linear followed by a rotary::nn::Rope with
// learnable frequencies (its forward and backward are kernels compiled on
// first use by the installed compiler, into $ROTARY_CACHE_DIR), takes one
// SGD step on a squared error. Checks: the gradients of the frequencies and
// of the linear weight are finite and not all zero, the step changed both,
// and the compiled Rope agrees with its reference(true) path (plain LibTorch
// ops) at several shapes (T = 1, B = 1, odd H): forward within 1e-5, the
// frequencies' gradient within 1e-4 relative. The seed is
// $ROTARY_TEST_SEED, else drawn fresh; it is printed. Exits 1 on any
// failure.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/Rope.h"
#include "rotary/Version.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

int failures = 0;

void fail(const std::string &message) {
  std::fprintf(stderr, "FAIL: %s\n", message.c_str());
  ++failures;
}

/// Defined, finite and not all zero.
void checkGradient(const char *name, const torch::Tensor &grad) {
  if (!grad.defined()) {
    fail(std::string(name) + ": no gradient");
    return;
  }
  if (!torch::isfinite(grad).all().item<bool>())
    fail(std::string(name) + ": gradient not finite");
  if (grad.abs().sum().item<double>() == 0)
    fail(std::string(name) + ": gradient is all zero");
}

struct TinyModelImpl : torch::nn::Module {
  TinyModelImpl(int64_t headDim)
      : proj(register_module("proj", torch::nn::Linear(headDim, headDim))),
        rope(register_module(
            "rope",
            rotary::nn::Rope(
                rotary::nn::RopeOptions(headDim).learnable_freq(true)))) {}

  torch::Tensor forward(const torch::Tensor &x,
                        const torch::Tensor &positions) {
    return rope->forward(proj->forward(x), positions);
  }

  torch::nn::Linear proj;
  rotary::nn::Rope rope;
};
TORCH_MODULE(TinyModel);

} // namespace

int main() {
  const char *seedText = std::getenv("ROTARY_TEST_SEED");
  uint64_t seed =
      seedText ? std::strtoull(seedText, nullptr, 10) : std::random_device{}();
  std::printf("consumer-nn: rotary %s, seed %llu (replay with "
              "ROTARY_TEST_SEED=%llu)\n",
              ROTARY_VERSION_STRING, static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  torch::manual_seed(seed);

  const int64_t heads = 3, headDim = 8;
  try {
    // One training step.
    TinyModel model(headDim);
    torch::Tensor x = torch::randn({2, 5, heads, headDim});
    torch::Tensor positions = torch::randint(0, 64, {5}, torch::kLong);
    torch::Tensor target = torch::randn({2, 5, heads, headDim});
    torch::Tensor freqBefore = model->rope->inv_freq.detach().clone();
    torch::Tensor weightBefore = model->proj->weight.detach().clone();
    torch::optim::SGD optimizer(model->parameters(),
                                torch::optim::SGDOptions(0.1));
    optimizer.zero_grad();
    torch::Tensor loss = (model->forward(x, positions) - target).pow(2).mean();
    loss.backward();
    std::printf("loss %.6f\n", loss.item<double>());
    if (!std::isfinite(loss.item<double>()))
      fail("loss is not finite");
    checkGradient("rope.inv_freq", model->rope->inv_freq.grad());
    checkGradient("proj.weight", model->proj->weight.grad());
    optimizer.step();
    double freqStep = (model->rope->inv_freq.detach() - freqBefore)
                          .abs()
                          .max()
                          .item<double>();
    double weightStep = (model->proj->weight.detach() - weightBefore)
                            .abs()
                            .max()
                            .item<double>();
    std::printf("step: |d inv_freq| %.3g, |d proj.weight| %.3g\n", freqStep,
                weightStep);
    if (!(freqStep > 0))
      fail("the step left rope.inv_freq unchanged");
    if (!(weightStep > 0))
      fail("the step left proj.weight unchanged");

    // The compiled Rope against its reference path, same frequencies.
    rotary::nn::Rope reference(
        rotary::nn::RopeOptions(headDim).learnable_freq(true).reference(true));
    {
      torch::NoGradGuard noGrad;
      reference->inv_freq.copy_(model->rope->inv_freq);
    }
    struct Shape {
      int64_t b, t;
    };
    for (Shape s : {Shape{2, 5}, Shape{1, 1}, Shape{3, 7}}) {
      std::string where = "[" + std::to_string(s.b) + ", " +
                          std::to_string(s.t) + ", " + std::to_string(heads) +
                          ", " + std::to_string(headDim) + "]";
      torch::Tensor xs = torch::randn({s.b, s.t, heads, headDim});
      torch::Tensor pos = torch::randint(0, 64, {s.t}, torch::kLong);
      torch::Tensor cot = torch::randn({s.b, s.t, heads, headDim});
      for (rotary::nn::Rope *rope : {&model->rope, &reference})
        if ((*rope)->inv_freq.grad().defined())
          (*rope)->inv_freq.mutable_grad().zero_();
      torch::Tensor compiled = model->rope->forward(xs, pos);
      torch::Tensor expected = reference->forward(xs, pos);
      double forwardDiff = (compiled - expected).abs().max().item<double>();
      (compiled * cot).sum().backward();
      (expected * cot).sum().backward();
      torch::Tensor g = model->rope->inv_freq.grad();
      torch::Tensor gRef = reference->inv_freq.grad();
      double gradDiff = (g - gRef).abs().max().item<double>() /
                        (1 + gRef.abs().max().item<double>());
      std::printf("rope %s: forward max |diff| %.3g, inv_freq grad rel diff "
                  "%.3g\n",
                  where.c_str(), forwardDiff, gradDiff);
      if (!(forwardDiff < 1e-5))
        fail("rope " + where + ": compiled forward differs from reference by " +
             std::to_string(forwardDiff));
      if (!(gradDiff < 1e-4))
        fail("rope " + where +
             ": compiled inv_freq gradient differs from reference by " +
             std::to_string(gradDiff));
    }
  } catch (const c10::Error &e) {
    fail(std::string("LibTorch error: ") + e.what_without_backtrace());
  } catch (const std::exception &e) {
    fail(std::string("error: ") + e.what());
  }

  if (failures) {
    std::fprintf(stderr, "consumer-nn: %d failure(s)\n", failures);
    return 1;
  }
  std::printf("consumer-nn: OK\n");
  return 0;
}
