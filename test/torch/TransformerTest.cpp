//===- TransformerTest.cpp - a network of the modules trains --------------===//
//
// The Transformer of the model library (Rope or HDD-RoPE, AdaptiveAttention,
// RotationBlock) trained with FAM on a learnable synthetic sequence task:
// the compiled kernels and the reference path start from the same weights
// and must give the same loss at every step (and the same parameters at
// the end), and the loss must go down.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/DynamicBase.h"
#include "rotary/Torch/Embedding.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/QuaternionRotation.h"
#include "rotary/Torch/Transformer.h"

#include "TestUtil.h"

using namespace rotary;
using rotary::test::expectClose;

namespace {
/// Sequences of a random permutation cycle of the vocabulary: token t+1 is
/// perm[token t], learnable from one token of context.
torch::Tensor batch(const torch::Tensor &perm, int64_t B, int64_t T,
                    torch::Generator &gen) {
  int64_t V = perm.size(0);
  torch::Tensor x = torch::empty({B, T + 1}, torch::kInt64);
  x.select(1, 0).copy_(torch::randint(V, {B}, gen, torch::kInt64));
  for (int64_t t = 1; t <= T; ++t)
    x.select(1, t).copy_(perm.index_select(0, x.select(1, t - 1)));
  return x;
}

void trainBoth(bool hdd) {
  SCOPED_TRACE(hdd ? "HDD-RoPE" : "RoPE");
  auto config = [&](bool reference) {
    return nn::TransformerOptions()
        .vocab(24)
        .dim(32)
        .heads(2)
        .layers(2)
        .window(6)
        .global_tokens(1)
        .bias_radius(4)
        .rotations(10)
        .hdd(hdd)
        .reference(reference);
  };
  uint64_t seed = uint64_t(torch::randint(1 << 30, {1}).item<int64_t>());
  torch::manual_seed(seed);
  nn::Transformer compiled(config(false));
  torch::manual_seed(seed);
  nn::Transformer reference(config(true));
  auto famOptions = [](bool ref) {
    return nn::FAMOptions(0.3).warmup_steps(5).warmup_start_lr(0.05)
        .fam_start_step(5).reference(ref);
  };
  nn::FAM optC(compiled->named_parameters().pairs(), famOptions(false));
  nn::FAM optR(reference->named_parameters().pairs(), famOptions(true));
  std::unique_ptr<nn::DynamicBase> baseC, baseR;
  if (!hdd) {
    auto o = nn::DynamicBaseOptions().patience(3).cooldown(2).smoothing(0);
    baseC = std::make_unique<nn::DynamicBase>(compiled->ropes(), o);
    baseR = std::make_unique<nn::DynamicBase>(reference->ropes(), o);
  }
  torch::Generator gen = at::detail::createCPUGenerator(seed + 1);
  torch::Tensor perm = torch::randperm(24, gen, torch::kInt64);

  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    using torch::indexing::Slice;
    torch::Tensor w = batch(perm, 4, 12, gen);
    torch::Tensor in = w.index({Slice(), Slice(0, -1)}).contiguous();
    torch::Tensor target = w.index({Slice(), Slice(1, torch::indexing::None)});
    double l[2];
    int i = 0;
    for (auto [model, opt] : {std::pair{compiled, &optC},
                              std::pair{reference, &optR}}) {
      opt->zero_grad();
      torch::Tensor logits = model(in);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, 24}), target.reshape({-1}));
      (loss + 1e-3 * model->orthogonality_penalty()).backward();
      opt->step();
      l[i++] = loss.item<double>();
    }
    if (baseC) {
      baseC->step(l[0]);
      baseR->step(l[1]);
      EXPECT_EQ(baseC->base(), baseR->base()) << "step " << step;
    }
    EXPECT_NEAR(l[0], l[1], 1e-4 * std::fabs(l[1]) + 1e-5) << "step " << step;
    losses.push_back(l[0]);
  }
  auto params = compiled->named_parameters();
  auto refParams = reference->named_parameters();
  for (const auto &item : params)
    expectClose(item.value(), refParams[item.key()], 1e-3, 1e-4, item.key());
  double first = (losses[0] + losses[1] + losses[2]) / 3;
  double last = (losses[37] + losses[38] + losses[39]) / 3;
  EXPECT_LT(last, first - 1.0) << "loss " << first << " -> " << last;
}

TEST(NnTransformer, TrainsAndMatchesTheReferencePathStepForStep) {
  trainBoth(/*hdd=*/false);
  trainBoth(/*hdd=*/true);
}
} // namespace

namespace {
/// position -> LearnedSinusoidalEmbedding -> QuaternionRotation -> Linear,
/// regressing a teacher's function of the position.
struct Regressor : torch::nn::Module {
  explicit Regressor(bool reference)
      : embed(register_module(
            "token_embed", nn::LearnedSinusoidalEmbedding(
                               nn::LearnedSinusoidalEmbeddingOptions(16)
                                   .checkpoint(true)
                                   .reference(reference)))),
        rotate(register_module(
            "rotate", nn::QuaternionRotation(
                          nn::QuaternionRotationOptions(16).reference(
                              reference)))),
        out(register_module("out", torch::nn::Linear(16, 1))) {}
  torch::Tensor forward(const torch::Tensor &positions) {
    torch::Tensor e = embed(positions);
    return out(e + rotate(e)).squeeze(-1);
  }
  nn::LearnedSinusoidalEmbedding embed;
  nn::QuaternionRotation rotate;
  torch::nn::Linear out;
};
} // namespace

TEST(NnTransformer, EmbeddingAndQuaternionTrainInAStep) {
  uint64_t seed = uint64_t(torch::randint(1 << 30, {1}).item<int64_t>());
  torch::manual_seed(seed);
  auto compiled = std::make_shared<Regressor>(false);
  torch::manual_seed(seed);
  auto reference = std::make_shared<Regressor>(true);
  nn::FAM optC(compiled->named_parameters().pairs(),
               nn::FAMOptions(0.1).fam_start_step(3));
  nn::FAM optR(reference->named_parameters().pairs(),
               nn::FAMOptions(0.1).fam_start_step(3).reference(true));
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor all = torch::arange(16, torch::kInt64);
  // A teacher the student can reach: a fixed random readout of the
  // initial embedding (and its rotation).
  torch::Tensor teacher;
  {
    torch::NoGradGuard noGrad;
    torch::Tensor e = reference->embed(all);
    teacher = torch::matmul(e + reference->rotate(e), torch::randn({16}, gen));
  }
  auto target = [&](const torch::Tensor &p) {
    return teacher.index_select(0, p);
  };
  auto evalLoss = [&] {
    torch::NoGradGuard noGrad;
    return (compiled->forward(all) - target(all)).pow(2).mean().item<double>();
  };
  double before = evalLoss();
  for (int step = 0; step < 40; ++step) {
    torch::Tensor p = torch::randint(0, 16, {32}, gen, torch::kInt64);
    double l[2];
    int i = 0;
    for (auto [model, opt] :
         {std::pair{compiled, &optC}, std::pair{reference, &optR}}) {
      opt->zero_grad();
      torch::Tensor loss = (model->forward(p) - target(p)).pow(2).mean();
      loss.backward();
      opt->step();
      l[i++] = loss.item<double>();
    }
    // f32 rounding differences between the paths grow with training (the
    // regression is sensitive to its frequencies): 1e-3 relative.
    EXPECT_NEAR(l[0], l[1], 1e-3 * std::fabs(l[1]) + 1e-6) << "step " << step;
  }
  double after = evalLoss();
  EXPECT_LT(after, 0.5 * before) << "loss on all positions " << before
                                 << " -> " << after;
}
