//===- rotary-bench-modules.cpp - the model library's modules, timed ------===//
//
// Each module of rotary_torch at the shapes rotary-train uses (and a larger
// one), forward + backward, on its reference path (plain LibTorch eager,
// autograd) and with the compiled kernels, and the bound: the bytes the
// forward and backward must move at least (inputs, outputs, gradients,
// once each) over the copy bandwidth measured in the same run. A FAM step
// over the Transformer's parameters and a whole training step close the
// table. Ratios, not absolute times, are the result.
//
// Usage: rotary-bench-modules [--quick] [--repeats N]
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/AdaptiveAttention.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/HDDRoPE.h"
#include "rotary/Torch/Rope.h"
#include "rotary/Torch/RotationBlock.h"
#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace rotary;

namespace {
int repeats = 20;
/// --only: run the rows whose name contains this.
std::string only;

bool selected(const std::string &name) {
  return only.empty() || name.find(only) != std::string::npos;
}

/// Median milliseconds of `fn` over `repeats` runs after two warm-ups.
double medianMs(const std::function<void()> &fn) {
  fn();
  fn();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

/// Copy bandwidth (GB/s) of a 256 MiB f32 tensor: read + write.
double copyBandwidth() {
  torch::Tensor a = torch::rand({64 << 20}), b = torch::empty_like(a);
  double ms = medianMs([&] { b.copy_(a); });
  return 2.0 * double(a.numel()) * 4 / (ms * 1e-3) / 1e9;
}

double gbps = 0;

void row(const char *name, const std::string &shape, double eager,
         double compiled, double bytes) {
  double bound = bytes / (gbps * 1e9) * 1e3;
  std::printf("%-22s %-22s %9.3f %9.3f %7.2fx %9.3f %6.0f%%\n", name,
              shape.c_str(), eager, compiled, eager / compiled, bound,
              100 * bound / compiled);
  std::fflush(stdout);
}

/// forward + backward of `fn` on `inputs` (which require grad).
template <typename F> std::function<void()> fwdBwd(F fn) {
  return [fn] {
    torch::Tensor y = fn();
    y.backward(torch::ones_like(y));
  };
}

template <typename Module>
void bench(const char *name, const std::string &shape, Module &compiled,
           Module &reference, const std::function<torch::Tensor(Module &)> &run,
           double bytes) {
  if (!selected(name))
    return;
  double eager = medianMs(fwdBwd([&] { return run(reference); }));
  double fast = medianMs(fwdBwd([&] { return run(compiled); }));
  row(name, shape, eager, fast, bytes);
}

template <typename Holder> Holder referenceCopy(Holder &m) {
  auto copy = std::dynamic_pointer_cast<typename Holder::Impl>(m->clone());
  copy->options.reference(true);
  return Holder(copy);
}
} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
      repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: rotary-bench-modules [--quick] "
                           "[--repeats N] [--only NAME]\n");
      return 2;
    }
  }
  if (quick)
    repeats = 3;
  // LibTorch keeps its default thread count (one on Debian's build); the
  // kernels' teams use every core (docs/benchmarks.md, threads).
  torch::manual_seed(0);
  gbps = copyBandwidth();
  std::printf("copy bandwidth %.1f GB/s, %d threads, median of %d\n", gbps,
              torch::get_num_threads(), repeats);
  std::printf("%-22s %-22s %9s %9s %8s %9s %7s\n", "module (fwd+bwd)", "shape",
              "eager ms", "rotary ms", "speedup", "bound ms", "%bound");

  // B, T, H, D: rotary-train's per-block shapes, then a larger one.
  std::vector<std::array<int64_t, 4>> shapes = {{16, 64, 4, 16},
                                                {8, 512, 8, 64}};
  if (quick)
    shapes.resize(1);
  for (auto [B, T, H, D] : shapes) {
    std::string s = std::to_string(B) + "x" + std::to_string(T) + "x" +
                    std::to_string(H) + "x" + std::to_string(D);
    double xBytes = double(B * T * H * D) * 4;
    torch::Tensor x = torch::randn({B, T, H, D}).requires_grad_(true);
    torch::Tensor pos = torch::arange(T, torch::kInt64);

    nn::Rope rope{nn::RopeOptions(D)};
    nn::Rope ropeRef = referenceCopy(rope);
    // x, y, dy, dx.
    bench<nn::Rope>(
        "Rope", s, rope, ropeRef,
        [&](nn::Rope &m) { return m->forward(x, pos); }, 4 * xBytes);

    nn::RotationBlock block(nn::RotationBlockOptions(D).heads(H).rotations(D));
    nn::RotationBlock blockRef = referenceCopy(block);
    bench<nn::RotationBlock>(
        "RotationBlock N=D", s, block, blockRef,
        [&](nn::RotationBlock &m) { return m->forward(x); }, 4 * xBytes);

    torch::Tensor act = torch::randn({B, T, D});
    for (nn::SOForm form : {nn::SOForm::Givens, nn::SOForm::Exp}) {
      // The exp form's eager path (a matrix_exp per token in f64) takes
      // minutes per call at the larger shape: the small one only.
      if (form == nn::SOForm::Exp && T > 64)
        continue;
      nn::HDDRoPE hdd(nn::HDDRoPEOptions(H, D, 4, D).form(form));
      nn::HDDRoPE hddRef = referenceCopy(hdd);
      // x, y, dy, dx and the angles and their gradient (6/4 of x per c = 4).
      bench<nn::HDDRoPE>(
          form == nn::SOForm::Givens ? "HDDRoPE c=4" : "HDDRoPE c=4 exp", s,
          hdd, hddRef, [&](nn::HDDRoPE &m) { return m->forward(x, act); },
          (4 + 2 * 1.5) * xBytes);
    }

    torch::Tensor q = torch::randn({B, H, T, D}).requires_grad_(true);
    torch::Tensor k = torch::randn({B, H, T, D}).requires_grad_(true);
    torch::Tensor v = torch::randn({B, H, T, D}).requires_grad_(true);
    int64_t window = std::min<int64_t>(T / 2, 128);
    nn::AdaptiveAttention attn(nn::AdaptiveAttentionOptions(H, D)
                                   .causal(true)
                                   .window(window)
                                   .global_tokens(1)
                                   .relative_bias_radius(8));
    nn::AdaptiveAttention attnRef = referenceCopy(attn);
    // q, k, v, o, do, dq, dk, dv.
    bench<nn::AdaptiveAttention>(
        "AdaptiveAttention", s + " W" + std::to_string(window), attn, attnRef,
        [&](nn::AdaptiveAttention &m) { return m->forward(q, k, v); },
        8 * xBytes);
  }

  if (selected("FAM step")) {
    // A FAM step over the Transformer's parameters: p, g, m read, p, m written.
    nn::Transformer model{nn::TransformerOptions()};
    int64_t numel = 0;
    for (const torch::Tensor &p : model->parameters()) {
      p.mutable_grad() = torch::randn_like(p);
      numel += p.numel();
    }
    auto famStep = [&](bool reference) {
      nn::FAM opt(model->named_parameters().pairs(),
                  nn::FAMOptions(1e-3).fam_start_step(0).reference(reference));
      return medianMs([&] { opt.step(); });
    };
    double famEager = famStep(true), famCompiled = famStep(false);
    row("FAM step (with bands)", std::to_string(numel) + " params", famEager,
        famCompiled, 5.0 * double(numel) * 4);
  }
  if (selected("train step")) {
    // A whole training step of rotary-train's default model.
    torch::Tensor tokens = torch::randint(256, {16, 65}, torch::kInt64);
    auto trainStep = [&](bool reference) {
      torch::manual_seed(1);
      nn::Transformer m(nn::TransformerOptions().reference(reference));
      nn::FAM opt(m->named_parameters().pairs(),
                  nn::FAMOptions(0.5).reference(reference));
      using torch::indexing::Slice;
      torch::Tensor in = tokens.index({Slice(), Slice(0, -1)}).contiguous();
      torch::Tensor target =
          tokens.index({Slice(), Slice(1, torch::indexing::None)});
      return medianMs([&] {
        opt.zero_grad();
        torch::Tensor logits = m(in);
        torch::Tensor loss = torch::nn::functional::cross_entropy(
            logits.reshape({-1, 256}), target.reshape({-1}));
        (loss + 1e-3 * m->orthogonality_penalty()).backward();
        opt.step();
      });
    };
    double trainEager = trainStep(true), trainCompiled = trainStep(false);
    std::printf("%-22s %-22s %9.3f %9.3f %7.2fx %9s %7s\n",
                "train step (default)", "16x64 tokens", trainEager,
                trainCompiled, trainEager / trainCompiled, "-", "-");
  }
  return 0;
}
