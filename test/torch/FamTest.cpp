//===- FamTest.cpp - the FAM optimizer against a reference of Math §7 -----===//
//
// A LibTorch reference of FAM written here from docs/Math.md §7 (groups by
// name, weight decay, spectra of the gradient samples, band EMAs, the handler
// rules, the scheduler) on top of the per-op references of test/reference
// drives 200 steps on a small model whose parameters cover every group and
// size rule; the compiled optimizer and its reference switch must follow
// it within 1e-5 relative, also when saved and loaded at step 100. The
// gradient samples use the optimizer's documented sampling rule
// (famSample / famSampleSeed): the sample is a choice of indices, the math
// after it is checked independently.
//
//===----------------------------------------------------------------------===//

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/Kernel.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

#include <cstdio>
#include <map>
#include <set>

#include <unistd.h>
#include <fstream>
#include <sstream>

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;

namespace {
struct Named {
  std::string name;
  std::vector<int64_t> shape;
};

/// Every group and size rule: small (α' = α), full sample, 2-D and 3-D
/// row/column samples, 1-D random elements.
const std::vector<Named> kModel = {
    {"conv1.weight", {16, 8, 5}},          // conv, 640: full sample
    {"blocks.self_attn.in_proj", {120, 100}}, // attention, 2-D sample
    {"encoder.MHA.bias", {300}},           // attention (case-insensitive)
    {"token_embed.table", {12000}},        // embedding, 1-D sample
    {"final_norm.weight", {300}},          // norm
    {"mlp.bias", {100}},                   // other, small
    {"lm_head.weight", {2, 150, 40}},      // other, 3-D sample
};

/// The group of Math §7 by name, written independently of the optimizer.
struct GroupRule {
  const char *group;
  double alpha, lrScale, wdScale;
  int64_t bands;
  reference::BandLayout layout;
  reference::FamHandler handler;
};

GroupRule ruleFor(std::string name) {
  for (char &c : name)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](const char *k) { return name.find(k) != std::string::npos; };
  using BL = reference::BandLayout;
  using FH = reference::FamHandler;
  if (has("conv") || has("cnn"))
    return {"conv", 0.9, 1, 1, 10, BL::Log, FH::Conv};
  if (has("attention") || has("mha") || has("self_attn"))
    return {"attention", 0.92, 1, 1, 12, BL::Split, FH::Attention};
  if (has("embed") || has("token"))
    return {"embedding", 0.95, 0.8, 1.5, 8, BL::Linear, FH::Embedding};
  if (has("norm") || has("batch") || has("layer"))
    return {"norm", 0.9, 1, 0, 4, BL::Linear, FH::Default};
  return {"other", 0.9, 1, 1, 8, BL::Linear, FH::Default};
}

constexpr double kLr = 0.05, kWd = 0.01, kBeta = 0.9;
constexpr int64_t kStart = 10, kSteps = 200, kSeed = 7;

nn::FAMOptions options(bool reference) {
  return nn::FAMOptions(kLr)
      .weight_decay(kWd)
      .beta(kBeta)
      .fam_start_step(kStart)
      .seed(kSeed)
      .warmup_steps(20)
      .warmup_start_lr(0.001)
      .decay_start_step(100)
      .total_steps(kSteps)
      .eta_min(0.005)
      .reference(reference);
}

double scheduled(int64_t s) {
  if (s < 20)
    return 0.001 + (kLr - 0.001) * double(s) / 20;
  if (s < 100)
    return kLr;
  return 0.005 + (kLr - 0.005) * (1 + std::cos(M_PI * double(s - 100) / 100)) / 2;
}

/// Gradients with a spectrum that moves between low and high frequencies
/// from step to step (so every handler's branches are taken), plus noise.
torch::Tensor gradient(const Named &n, int64_t step, torch::Generator &gen) {
  int64_t numel = 1;
  for (int64_t s : n.shape)
    numel *= s;
  double freq = 0.05 + 3.0 * std::fabs(std::sin(0.37 * double(step) +
                                                double(n.name.size())));
  torch::Tensor wave = torch::sin(torch::arange(numel, torch::kFloat32) * freq);
  return (wave + 0.5 * torch::randn({numel}, gen)).view(n.shape);
}

/// FAM per Math §7 in LibTorch (f64 math), parameters kept in f32 like the
/// optimizer's. Parameter order (for the sample seeds) is the optimizer's:
/// groups conv, attention, embedding, norm, other, names in model order.
class ReferenceFam {
public:
  explicit ReferenceFam(const std::vector<torch::Tensor> &init) {
    const char *order[] = {"conv", "attention", "embedding", "norm", "other"};
    for (const char *g : order)
      for (size_t i = 0; i < kModel.size(); ++i)
        if (std::string(ruleFor(kModel[i].name).group) == g)
          order_.push_back(i);
    for (const torch::Tensor &p : init) {
      params.push_back(p.clone());
      momenta.push_back(torch::zeros(p.sizes(), torch::kFloat64));
      emas.emplace_back();
    }
  }

  void step(const std::vector<torch::Tensor> &grads) {
    ++step_;
    double lr = scheduled(step_ - 1);
    for (size_t k = 0; k < order_.size(); ++k) {
      size_t i = order_[k];
      GroupRule r = ruleFor(kModel[i].name);
      torch::Tensor p = params[i].to(torch::kFloat64);
      torch::Tensor g = grads[i].to(torch::kFloat64);
      double wd = kWd * r.wdScale, alpha = r.alpha;
      if (step_ > kStart && p.numel() > 256) {
        // The sample is taken from the decayed gradient computed in f32,
        // as the optimizer has it.
        torch::Tensor decayed = grads[i] + float(wd) * params[i];
        torch::Tensor s = nn::famSample(
            decayed, nn::famSampleSeed(kSeed, step_, int64_t(k)));
        torch::Tensor spectrum = torch::abs(torch::fft::rfft(s.to(torch::kFloat64)));
        reference::SpectralBandsOptions bo;
        bo.bands = r.bands;
        bo.layout = r.layout;
        torch::Tensor bands = reference::spectralBands(spectrum, bo);
        emas[i] = emas[i].defined() ? kBeta * emas[i] + (1 - kBeta) * bands
                                    : bands;
        alpha = reference::adaptiveMomentum(
                    emas[i], torch::full({}, r.alpha, torch::kFloat64),
                    r.handler)
                    .item<double>();
      }
      alphas[r.group].insert(alpha);
      reference::FamStepOptions so;
      so.weightDecay = wd;
      reference::FamStepResult res = reference::famStep(
          p, g, momenta[i], torch::full({}, lr * r.lrScale, torch::kFloat64),
          torch::full({}, alpha, torch::kFloat64), so);
      params[i] = res.param.to(torch::kFloat32);
      momenta[i] = res.momentum;
    }
  }

  std::vector<torch::Tensor> params, momenta, emas;
  std::map<std::string, std::set<double>> alphas;

private:
  std::vector<size_t> order_;
  int64_t step_ = 0;
};

std::vector<std::pair<std::string, torch::Tensor>>
named(const std::vector<torch::Tensor> &params) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < kModel.size(); ++i)
    out.emplace_back(kModel[i].name, params[i]);
  return out;
}

/// Runs `steps` steps of `opt` on `params` with the step's gradients.
void run(nn::FAM &opt, std::vector<torch::Tensor> &params,
         const std::vector<std::vector<torch::Tensor>> &grads, int64_t from,
         int64_t to) {
  for (int64_t s = from; s < to; ++s) {
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = grads[size_t(s)][i].clone();
    opt.step();
  }
}

TEST(Fam, FollowsTheReferenceFor200StepsWithSaveAndLoad) {
  torch::Generator gen = at::detail::createCPUGenerator(
      uint64_t(torch::randint(1 << 30, {1}).item<int64_t>()));
  std::vector<torch::Tensor> init;
  for (const Named &n : kModel)
    init.push_back(torch::randn(n.shape, gen));
  std::vector<std::vector<torch::Tensor>> grads;
  for (int64_t s = 0; s < kSteps; ++s) {
    std::vector<torch::Tensor> g;
    for (const Named &n : kModel)
      g.push_back(gradient(n, s, gen));
    grads.push_back(g);
  }
  ReferenceFam ref(init);
  for (int64_t s = 0; s < kSteps; ++s)
    ref.step(grads[size_t(s)]);
  // Every handler changed α' at some step (its rule was exercised).
  for (const char *g : {"conv", "attention", "embedding"})
    EXPECT_GT(ref.alphas[g].size(), 1u) << g;

  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference switch" : "compiled");
    std::vector<torch::Tensor> params;
    for (const torch::Tensor &p : init)
      params.push_back(p.clone().requires_grad_(true));
    nn::FAM opt(named(params), options(referencePath));
    ASSERT_EQ(opt.param_groups().size(), 5u);
    run(opt, params, grads, 0, 100);

    // Save at step 100, continue with fresh parameters and optimizer.
    torch::serialize::OutputArchive out;
    opt.save(out);
    std::ostringstream bytes;
    out.save_to(bytes);
    std::vector<torch::Tensor> resumed;
    for (const torch::Tensor &p : params)
      resumed.push_back(p.detach().clone().requires_grad_(true));
    nn::FAM opt2(named(resumed), options(referencePath));
    torch::serialize::InputArchive in;
    std::istringstream is(bytes.str());
    in.load_from(is);
    opt2.load(in);
    EXPECT_EQ(opt2.step_count(), 100);
    run(opt2, resumed, grads, 100, kSteps);
    run(opt, params, grads, 100, kSteps);

    // 1e-5 relative to each element and to the tensor's scale (an element
    // near 0 carries the f32 rounding of its whole history).
    for (size_t i = 0; i < kModel.size(); ++i) {
      double atol = 1e-5 * ref.params[i].abs().max().item<double>();
      expectClose(params[i], ref.params[i], 1e-5, atol, kModel[i].name);
      expectClose(resumed[i], ref.params[i], 1e-5, atol,
                  kModel[i].name + " (saved and loaded at 100)");
    }
    EXPECT_NEAR(opt.current_lr(0), scheduled(kSteps - 1), 1e-12);
  }
}

TEST(Fam, BandRangesMatchTheReference) {
  using BL = reference::BandLayout;
  for (int64_t L : {0, 1, 2, 5, 7, 16, 64, 65, 100, 513, 2049, 5001})
    for (int64_t n : {1, 2, 3, 4, 8, 10, 12})
      for (auto [mine, theirs] :
           {std::pair{nn::FamBandLayout::Linear, BL::Linear},
            std::pair{nn::FamBandLayout::Log, BL::Log},
            std::pair{nn::FamBandLayout::Split, BL::Split}}) {
        if (theirs == BL::Split && n < 2)
          continue;
        EXPECT_EQ(nn::famBandRanges(L, n, mine),
                  reference::bandRanges(L, n, theirs))
            << "L " << L << " n " << n << " layout " << int(mine);
      }
}

TEST(Fam, SchedulerGroupsAndDebugRecord) {
  std::vector<torch::Tensor> params;
  for (const Named &n : kModel)
    params.push_back(torch::randn(n.shape).requires_grad_(true));
  rotary::test::TempFile record;
  const std::string &path = record.path;
  nn::FAM opt(named(params), options(false).debug_path(path).debug_every(5));
  for (int64_t s : {0, 10, 19, 20, 99, 100, 150, 199, 250})
    EXPECT_NEAR(opt.scheduled_lr(s), scheduled(std::min<int64_t>(s, 200)),
                1e-12)
        << s;
  std::vector<std::string> groups;
  for (size_t g = 0; g < opt.param_groups().size(); ++g)
    groups.push_back(
        static_cast<nn::FAMOptions &>(opt.param_groups()[g].options()).group());
  EXPECT_EQ(groups, (std::vector<std::string>{"conv", "attention", "embedding",
                                              "norm", "other"}));
  EXPECT_EQ(opt.parameter_names(1),
            (std::vector<std::string>{"blocks.self_attn.in_proj",
                                      "encoder.MHA.bias"}));
  torch::Generator gen = at::detail::createCPUGenerator(3);
  for (int64_t s = 0; s < 15; ++s) {
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = gradient(kModel[i], s, gen);
    opt.step();
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0, withBands = 0;
  while (std::getline(in, line)) {
    ++lines;
    for (const char *key : {"\"step\": ", "\"param\": \"", "\"group\": \"",
                            "\"alpha_eff\": ", "\"bands\": ["})
      EXPECT_NE(line.find(key), std::string::npos) << line;
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
    if (line.find("\"bands\": []") == std::string::npos)
      ++withBands;
  }
  // Steps 5, 10, 15 record every parameter; bands exist after step 10 for
  // the 6 tensors above min_size.
  EXPECT_EQ(lines, 3 * int(kModel.size()));
  EXPECT_EQ(withBands, 6);
}

TEST(Fam, LowPrecisionParameters) {
  // bf16 parameters keep an f32 momentum; the update is the f32 math
  // rounded to bf16 once per step.
  torch::Tensor p = torch::randn({700}).to(torch::kBFloat16).requires_grad_(true);
  torch::Tensor p32 = p.detach().to(torch::kFloat32), m = torch::zeros({700});
  nn::FAM opt({p}, nn::FAMOptions(0.1).alpha(0.8));
  for (int s = 0; s < 5; ++s) {
    torch::Tensor g = torch::randn({700});
    p.mutable_grad() = g.to(torch::kBFloat16);
    opt.step();
    m = 0.8 * m + 0.2 * g.to(torch::kBFloat16).to(torch::kFloat32);
    p32 = (p32 - 0.1 * m).to(torch::kBFloat16).to(torch::kFloat32);
  }
  EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  expectClose(p, p32, 1e-2, 1e-2, "bf16 parameter");
}

// A group added after construction (add_param_group) has no parameter
// names; the step and its checks name its parameters by position.
TEST(Fam, AddedParamGroup) {
  torch::Tensor a = torch::randn({300}).requires_grad_(true);
  torch::Tensor b = torch::randn({50}).requires_grad_(true);
  nn::FAM opt({a}, nn::FAMOptions(0.1).alpha(0.5));
  opt.add_param_group(torch::optim::OptimizerParamGroup(
      {b}, std::make_unique<nn::FAMOptions>(nn::FAMOptions(0.2).alpha(0.5))));
  torch::Tensor b0 = b.detach().clone(), gb = torch::randn({50});
  a.mutable_grad() = torch::randn({300});
  b.mutable_grad() = gb;
  opt.step();
  // First step: m = (1 - α)·g, p' = p - lr·m.
  expectClose(b.detach(), b0 - 0.2 * 0.5 * gb, 1e-6, 1e-6, "added group");
  b.mutable_grad() = torch::randn({51});
  std::string message = errorOf([&] { opt.step(); });
  EXPECT_NE(message.find("group1.param0"), std::string::npos) << message;
}

// Restoring an optimizer from its parts, as the Python optimizer's
// load_state_dict does: the states (set_state) and the step count
// (set_step_count), which seeds the gradient samples and places the
// schedule. The restored one then steps exactly as the original.
TEST(Fam, RestoredFromStatesAndStepCount) {
  torch::Generator gen = at::detail::createCPUGenerator(
      uint64_t(torch::randint(1 << 30, {1}).item<int64_t>()));
  std::vector<torch::Tensor> params, grads;
  for (const Named &n : kModel)
    params.push_back(torch::randn(n.shape, gen).requires_grad_(true));
  std::vector<std::vector<torch::Tensor>> steps;
  for (int64_t s = 0; s < kStart + 4; ++s) {
    std::vector<torch::Tensor> g;
    for (const Named &n : kModel)
      g.push_back(gradient(n, s, gen));
    steps.push_back(g);
  }
  nn::FAM opt(named(params), options(false));
  run(opt, params, steps, 0, kStart + 2);

  std::vector<torch::Tensor> restored;
  for (const torch::Tensor &p : params)
    restored.push_back(p.detach().clone().requires_grad_(true));
  nn::FAM opt2(named(restored), options(false));
  for (size_t i = 0; i < params.size(); ++i) {
    nn::FAMParamState *st = opt.find_state(params[i]);
    ASSERT_NE(st, nullptr) << kModel[i].name;
    auto copy = std::make_unique<nn::FAMParamState>();
    copy->step(st->step());
    copy->momentum(st->momentum().clone());
    copy->ema(st->ema().defined() ? st->ema().clone() : torch::Tensor());
    copy->alpha_eff(st->alpha_eff());
    opt2.set_state(restored[i], std::move(copy));
  }
  opt2.set_step_count(opt.step_count());
  EXPECT_EQ(opt2.step_count(), kStart + 2);
  run(opt, params, steps, kStart + 2, kStart + 4);
  run(opt2, restored, steps, kStart + 2, kStart + 4);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::equal(params[i].detach(), restored[i].detach()))
        << kModel[i].name;
  EXPECT_NE(errorOf([&] {
              opt2.set_step_count(-1);
            }).find("the step count must be >= 0, got -1"),
            std::string::npos);
}

TEST(Fam, BadInput) {
  torch::Tensor ints = torch::zeros({4}, torch::kInt64);
  nn::FAM opt({{"weights", ints}}, nn::FAMOptions());
  ints.mutable_grad() = torch::zeros({4}, torch::kInt64);
  EXPECT_NE(errorOf([&] { opt.step(); })
                .find("parameter 'weights' must be a contiguous floating-point "
                      "CPU or CUDA tensor, got Long"),
            std::string::npos);
  torch::Tensor f = torch::zeros({4}, torch::kFloat64).requires_grad_(true);
  nn::FAM opt64({{"w64", f}}, nn::FAMOptions());
  f.mutable_grad() = torch::ones({4}, torch::kFloat64);
  EXPECT_NE(errorOf([&] { opt64.step(); })
                .find("w64 must be float32, float16 or bfloat16, got Double"),
            std::string::npos);
  // nn::callInto checks the caller's outputs like inputs.
  model::FamStepKernel k;
  k.dtypes = {bundle::DType::F32};
  auto bundle = nn::compiledKernel(model::buildSource(k));
  torch::Tensor p = torch::zeros({6}), m = torch::zeros({6});
  std::vector<torch::Tensor> in = {p, torch::ones({6}), m,
                                   torch::full({}, 0.1f), torch::full({1}, 0.5f)};
  std::string shape = errorOf(
      [&] { nn::callInto(*bundle, "fam_step", in, {torch::zeros({5}), m}); });
  EXPECT_NE(shape.find("fam_step"), std::string::npos) << shape;
  EXPECT_NE(shape.find("[5]"), std::string::npos) << shape;
  std::string count =
      errorOf([&] { nn::callInto(*bundle, "fam_step", in, {p}); });
  EXPECT_NE(count.find("has 2 outputs, got 1"), std::string::npos) << count;
  nn::callInto(*bundle, "fam_step", in, {p, m}); // in place
  expectClose(m, torch::full({6}, 0.5), 0, 0, "m in place");
  expectClose(p, torch::full({6}, -0.05), 1e-7, 0, "p in place");
  // The reference switch takes f64 too.
  nn::FAM ref64({{"w64", f}}, nn::FAMOptions(0.5).reference(true));
  ref64.step();
  EXPECT_NEAR(f[0].item<double>(), -0.5 * 0.1, 1e-8); // m = 0.1·g, f32
}
} // namespace
