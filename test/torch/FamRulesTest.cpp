//===- FamRulesTest.cpp - FAM's rules one by one against Math §7 ----------===//
//
// Complements FamTest's 200-step run: the compiled fam_bands/fam_momentum
// kernels against the references on crafted spectra and band EMAs (every
// layout, every branch of every handler, long spectra), each handler through
// the optimizer on pure tones, the log bands of a 4-D weight's sample (a
// spectrum of 10^5 bins), parameters without gradients and mixed dtypes in
// one group, torch::save / torch::load through a file, the JSON of the
// debug record, nn::callInto's checks and in-place aliasing, and bad
// parameters, gradients and loaded states.
//
//===----------------------------------------------------------------------===//

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/Kernel.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

#include <nlohmann/json.hpp>
#include <torch/optim/schedulers/step_lr.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;
using rotary::test::TempFile;

namespace {
using Layout = reference::BandLayout;
using Handler = reference::FamHandler;

/// The band configurations of docs/Math.md §7's groups.
struct BandConfig {
  const char *group;
  int64_t bands;
  Layout layout;
  Handler handler;
};
const BandConfig kConfigs[] = {
    {"conv", 10, Layout::Log, Handler::Conv},
    {"attention", 12, Layout::Split, Handler::Attention},
    {"embedding", 8, Layout::Linear, Handler::Embedding},
    {"norm", 4, Layout::Linear, Handler::Default},
    {"other", 8, Layout::Linear, Handler::Default},
};

std::shared_ptr<runtime::Bundle> bandsKernel(const BandConfig &c) {
  using K = model::FamBandsKernel;
  K k;
  k.bands = c.bands;
  k.layout = c.layout == Layout::Linear ? K::Layout::Linear
             : c.layout == Layout::Log  ? K::Layout::Log
                                        : K::Layout::Split;
  k.handler = c.handler == Handler::Conv        ? K::Handler::Conv
              : c.handler == Handler::Attention ? K::Handler::Attention
              : c.handler == Handler::Embedding ? K::Handler::Embedding
                                                : K::Handler::Default;
  return nn::compiledKernel(model::buildSource(k));
}

std::vector<nlohmann::json> readJsonLines(const std::string &path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back(nlohmann::json::parse(line)); // throws on bad JSON
  return out;
}

TEST(FamRules, CompiledBandsMatchTheReferenceOnCraftedSpectra) {
  torch::Generator gen = at::detail::createCPUGenerator(11);
  // Up to the spectra of 3-D/4-D samples (64·64·5 and 64·64·9 elements).
  for (int64_t L : {1, 2, 7, 64, 501, 2049, 10241, 18433}) {
    std::vector<torch::Tensor> spectra = {
        torch::zeros({L}), torch::rand({L}, gen), torch::ones({L})};
    for (int64_t bin : {int64_t(0), L / 3, L - 1}) {
      torch::Tensor tone = torch::zeros({L});
      tone[bin] = 3.0;
      spectra.push_back(tone);
    }
    for (const BandConfig &c : kConfigs) {
      auto k = bandsKernel(c);
      reference::SpectralBandsOptions o;
      o.bands = c.bands;
      o.layout = c.layout;
      for (size_t s = 0; s < spectra.size(); ++s) {
        torch::Tensor got = nn::call(*k, "fam_bands", {spectra[s]})[0];
        torch::Tensor want =
            reference::spectralBands(spectra[s].to(torch::kFloat64), o);
        // A bin in the wrong band moves ~1/L of a random spectrum's energy.
        expectClose(got, want, 1e-5, 1e-6,
                    std::string(c.group) + " L " + std::to_string(L) +
                        " spectrum " + std::to_string(s));
      }
    }
  }
}

TEST(FamRules, CompiledMomentumTakesEveryBranchOfEveryHandler) {
  for (const BandConfig &c : kConfigs) {
    auto k = bandsKernel(c);
    int64_t n = c.bands;
    // One-hot EMAs put the maximum and the energy in each band; weights
    // just either side of each threshold (0.2, 0.3, 0.4) test the
    // comparisons; a tie between the first and the last band tests "first
    // maximum".
    std::vector<torch::Tensor> emas;
    for (int64_t i = 0; i < n; ++i) {
      torch::Tensor e = torch::zeros({n});
      e[i] = 1;
      emas.push_back(e);
    }
    for (double w : {0.19, 0.21, 0.29, 0.31, 0.39, 0.41})
      for (int64_t at : {n / 4, 3 * n / 4, n - 1}) {
        torch::Tensor e = torch::zeros({n});
        e[0] = 1 - w;
        e[at] = e[at] + w;
        emas.push_back(e);
      }
    torch::Tensor tie = torch::zeros({n});
    tie[0] = 0.5;
    tie[n - 1] = 0.5;
    emas.push_back(tie);

    std::set<double> seen;
    for (double alpha : {0.86, 0.9, 0.92, 0.95, 0.94}) {
      for (size_t s = 0; s < emas.size(); ++s) {
        torch::Tensor a = torch::full({}, alpha, torch::kFloat32);
        double got =
            nn::call(*k, "fam_momentum", {emas[s], a})[0].item<double>();
        double want =
            reference::adaptiveMomentum(emas[s].to(torch::kFloat64),
                                        a.to(torch::kFloat64), c.handler)
                .item<double>();
        EXPECT_NEAR(got, want, 1e-6)
            << c.group << " alpha " << alpha << " ema " << s;
        if (alpha == 0.9)
          seen.insert(std::round(want * 1000) / 1000);
      }
    }
    // Every outcome of the handler's rule (docs/Math.md §7 step 3) occurred.
    std::set<double> outcomes =
        c.handler == Handler::Default     ? std::set<double>{0.9, 0.95}
        : c.handler == Handler::Conv      ? std::set<double>{0.9, 0.95, 0.97}
        : c.handler == Handler::Attention ? std::set<double>{0.85, 0.9, 0.98}
                                          : std::set<double>{0.9, 0.98};
    EXPECT_EQ(seen, outcomes) << c.group;
  }
}

TEST(FamRules, EachHandlerThroughTheOptimizerOnPureTones) {
  // A tone at bin f of a 1000-element gradient (all of it is the sample)
  // puts the whole spectrum (L = 501) in f's band. With p = 0, m = 0 and
  // a group rate r one step gives p = −r·(1 − α')·g: α' can be read off p.
  const char *names[] = {"conv.weight", "self_attn.weight", "embed.weight",
                         "final_norm.weight", "fc.weight"};
  const int64_t tones[3][5] = {
      {1, 10, 10, 10, 10}, {30, 150, 150, 150, 150}, {300, 480, 400, 300, 300}};
  // docs/Math.md §7 step 3 on these tones (conv: bands 2..6 are mid; attention:
  // argmax band 0, 3, 11; embedding/norm/other: high from bin 372, 250, 248).
  const double expected[3][5] = {{0.9, 0.87, 0.95, 0.9, 0.9},
                                 {0.97, 0.92, 0.95, 0.9, 0.9},
                                 {0.95, 0.98, 0.98, 0.95, 0.95}};
  torch::Tensor t = torch::arange(1000, torch::kFloat64);
  for (bool referencePath : {false, true})
    for (int round = 0; round < 3; ++round) {
      std::vector<std::pair<std::string, torch::Tensor>> named;
      for (const char *name : names)
        named.emplace_back(name, torch::zeros({1000}).requires_grad_(true));
      nn::FAM opt(named,
                  nn::FAMOptions(1).fam_start_step(0).reference(referencePath));
      std::vector<torch::Tensor> grads;
      for (int i = 0; i < 5; ++i) {
        grads.push_back(
            torch::cos(2 * M_PI * double(tones[round][i]) * t / 1000));
        named[size_t(i)].second.mutable_grad() =
            grads.back().to(torch::kFloat32);
      }
      opt.step();
      for (int i = 0; i < 5; ++i) {
        const BandConfig &c = kConfigs[i];
        reference::SpectralBandsOptions o;
        o.bands = c.bands;
        o.layout = c.layout;
        double base = c.handler == Handler::Attention   ? 0.92
                      : c.handler == Handler::Embedding ? 0.95
                                                        : 0.9;
        torch::Tensor spectrum = torch::abs(torch::fft::rfft(
            grads[size_t(i)].to(torch::kFloat32).to(torch::kFloat64)));
        double want = reference::adaptiveMomentum(
                          reference::spectralBands(spectrum, o),
                          torch::full({}, base, torch::kFloat64), c.handler)
                          .item<double>();
        torch::Tensor p = named[size_t(i)].second.detach().to(torch::kFloat64);
        torch::Tensor g = grads[size_t(i)];
        double lr = c.handler == Handler::Embedding ? 0.8 : 1; // lr×0.8
        double got = 1 + (p * g).sum().item<double>() /
                             (lr * (g * g).sum().item<double>());
        EXPECT_NEAR(want, expected[round][i], 1e-12) << names[i];
        EXPECT_NEAR(got, want, 1e-5)
            << names[i] << " round " << round
            << (referencePath ? " (reference switch)" : " (compiled)");
      }
    }
}

TEST(FamRules, LogBandsOfALongSpectrumFollowTheReference) {
  // The sample of a [64, 64, 7, 7] weight is all of it, rows and columns
  // permuted: 200704 elements, 100353 bins, whose 10 log bands need exact
  // big-integer powers (L^10 overflows 128 bits).
  for (int64_t L : {6145, 10241, 18433, 100353, 1000003})
    for (int64_t n : {4, 8, 10, 12, 16})
      for (auto [mine, theirs] :
           {std::pair{nn::FamBandLayout::Linear, Layout::Linear},
            std::pair{nn::FamBandLayout::Log, Layout::Log},
            std::pair{nn::FamBandLayout::Split, Layout::Split}})
        EXPECT_EQ(nn::famBandRanges(L, n, mine),
                  reference::bandRanges(L, n, theirs))
            << "L " << L << " n " << n << " layout " << int(mine);

  constexpr int64_t kSeed = 5;
  constexpr double kBeta = 0.5;
  torch::Generator gen = at::detail::createCPUGenerator(21);
  std::vector<torch::Tensor> grads;
  for (int s = 0; s < 3; ++s)
    grads.push_back(
        torch::randn({64, 64, 7, 7}, gen) +
        torch::sin(torch::arange(200704, torch::kFloat32) * 0.01 * (s + 1))
            .view({64, 64, 7, 7}));
  // Reference bands and α' per step (docs/Math.md §7 steps 2-3).
  std::vector<torch::Tensor> emas;
  std::vector<double> alphas;
  torch::Tensor ema;
  for (int s = 0; s < 3; ++s) {
    torch::Tensor sample =
        nn::famSample(grads[size_t(s)], nn::famSampleSeed(kSeed, s + 1, 0));
    ASSERT_EQ(sample.numel(), 200704);
    reference::SpectralBandsOptions o;
    o.bands = 10;
    o.layout = Layout::Log;
    torch::Tensor bands = reference::spectralBands(
        torch::abs(torch::fft::rfft(sample.to(torch::kFloat64))), o);
    ema = ema.defined() ? kBeta * ema + (1 - kBeta) * bands : bands;
    emas.push_back(ema);
    alphas.push_back(
        reference::adaptiveMomentum(ema, torch::full({}, 0.9, torch::kFloat64),
                                    Handler::Conv)
            .item<double>());
  }
  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference switch" : "compiled");
    TempFile record;
    torch::Tensor w = torch::zeros({64, 64, 7, 7}).requires_grad_(true);
    nn::FAM opt({{"conv.weight", w}}, nn::FAMOptions(0.1)
                                          .fam_start_step(0)
                                          .beta(kBeta)
                                          .seed(kSeed)
                                          .debug_path(record.path)
                                          .debug_every(1)
                                          .reference(referencePath));
    for (int s = 0; s < 3; ++s) {
      w.mutable_grad() = grads[size_t(s)];
      opt.step();
    }
    std::vector<nlohmann::json> lines = readJsonLines(record.path);
    ASSERT_EQ(lines.size(), 3u);
    for (int s = 0; s < 3; ++s) {
      std::vector<double> bands = lines[size_t(s)]["bands"];
      expectClose(torch::tensor(bands, torch::kFloat64), emas[size_t(s)], 1e-5,
                  1e-7, "band EMA of step " + std::to_string(s + 1));
      EXPECT_NEAR(lines[size_t(s)]["alpha_eff"].get<double>(),
                  alphas[size_t(s)], 1e-6);
    }
  }
}

TEST(FamRules, SkipsParametersWithoutGradientsInMixedDtypeGroups) {
  // One group ("other") of f32, f32 and bf16 parameters; the second has no
  // gradient at step 2, so that step's launch covers (f32, bf16) only.
  constexpr double kLr = 0.1, kWd = 0.01;
  torch::Generator gen = at::detail::createCPUGenerator(4);
  std::vector<std::vector<int64_t>> shapes = {{50}, {300}, {4, 10}};
  std::vector<torch::ScalarType> dtypes = {torch::kFloat32, torch::kFloat32,
                                           torch::kBFloat16};
  std::vector<torch::Tensor> init;
  for (size_t i = 0; i < 3; ++i)
    init.push_back(torch::randn(shapes[i], gen).to(dtypes[i]));
  std::vector<std::vector<torch::Tensor>> grads(3);
  for (int s = 0; s < 3; ++s)
    for (size_t i = 0; i < 3; ++i)
      grads[size_t(s)].push_back(torch::randn(shapes[i], gen).to(dtypes[i]));
  auto hasGrad = [](int s, size_t i) { return !(s == 1 && i == 1); };

  // m ← 0.9m + 0.1(g + wd·p); p ← p − lr·m in f32, rounded to the
  // parameter's dtype once per step.
  std::vector<torch::Tensor> p32, m;
  for (const torch::Tensor &p : init) {
    p32.push_back(p.to(torch::kFloat32));
    m.push_back(torch::zeros(p.sizes()));
  }
  std::vector<torch::Tensor> afterStep1;
  for (int s = 0; s < 3; ++s) {
    for (size_t i = 0; i < 3; ++i) {
      if (!hasGrad(s, i))
        continue;
      torch::Tensor g = grads[size_t(s)][i].to(torch::kFloat32) + kWd * p32[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      p32[i] = (p32[i] - kLr * m[i]).to(dtypes[i]).to(torch::kFloat32);
    }
  }

  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference switch" : "compiled");
    std::vector<std::pair<std::string, torch::Tensor>> named;
    const char *names[] = {"fc1.bias", "fc2.bias", "head.weight"};
    for (size_t i = 0; i < 3; ++i)
      named.emplace_back(names[i], init[i].clone().requires_grad_(true));
    nn::FAM opt(named,
                nn::FAMOptions(kLr).weight_decay(kWd).reference(referencePath));
    ASSERT_EQ(opt.param_groups().size(), 1u);
    torch::Tensor skippedBefore;
    for (int s = 0; s < 3; ++s) {
      for (size_t i = 0; i < 3; ++i)
        named[i].second.mutable_grad() =
            hasGrad(s, i) ? grads[size_t(s)][i] : torch::Tensor();
      if (s == 1)
        skippedBefore = named[1].second.detach().clone();
      opt.step();
      if (s == 1) {
        EXPECT_TRUE(torch::equal(named[1].second.detach(), skippedBefore));
      }
    }
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(named[i].second.scalar_type(), dtypes[i]);
      double tol = dtypes[i] == torch::kBFloat16 ? 8e-3 : 1e-6;
      expectClose(named[i].second.detach(), p32[i], tol, tol, names[i]);
    }
  }
}

TEST(FamRules, TorchSaveAndLoadThroughAFile) {
  // 3-D (row/column sample), 1-D (full sample) and small parameters.
  auto makeParams = [](const std::vector<torch::Tensor> &from) {
    std::vector<std::pair<std::string, torch::Tensor>> named;
    const char *names[] = {"conv.weight", "self_attn.bias", "fc.bias"};
    for (size_t i = 0; i < from.size(); ++i)
      named.emplace_back(names[i],
                         from[i].detach().clone().requires_grad_(true));
    return named;
  };
  torch::Generator gen = at::detail::createCPUGenerator(9);
  std::vector<torch::Tensor> init = {torch::randn({20, 30, 25}, gen),
                                     torch::randn({400}, gen),
                                     torch::randn({10}, gen)};
  std::vector<std::vector<torch::Tensor>> grads;
  for (int s = 0; s < 20; ++s)
    grads.push_back({torch::randn({20, 30, 25}, gen), torch::randn({400}, gen),
                     torch::randn({10}, gen)});
  auto options = nn::FAMOptions(0.05).fam_start_step(3).warmup_steps(5).seed(3);
  auto run = [&](nn::FAM &opt,
                 std::vector<std::pair<std::string, torch::Tensor>> &named,
                 int from, int to) {
    for (int s = from; s < to; ++s) {
      for (size_t i = 0; i < named.size(); ++i)
        named[i].second.mutable_grad() = grads[size_t(s)][i];
      opt.step();
    }
  };
  auto a = makeParams(init);
  nn::FAM optA(a, options);
  run(optA, a, 0, 12);
  TempFile file;
  torch::save(optA, file.path);

  auto b = makeParams({a[0].second, a[1].second, a[2].second});
  nn::FAM optB(b, options);
  torch::load(optB, file.path);
  EXPECT_EQ(optB.step_count(), 12);
  run(optA, a, 12, 20);
  run(optB, b, 12, 20);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;

  // The same archive on a model whose shapes differ: the step stops before
  // anything changes, naming the parameter.
  std::vector<std::pair<std::string, torch::Tensor>> other = {
      {"conv.weight", torch::zeros({20, 30, 25}).requires_grad_(true)},
      {"self_attn.bias", torch::zeros({500}).requires_grad_(true)},
      {"fc.bias", torch::zeros({10}).requires_grad_(true)}};
  nn::FAM optC(other, options);
  torch::load(optC, file.path);
  other[0].second.mutable_grad() = torch::ones({20, 30, 25});
  other[1].second.mutable_grad() = torch::ones({500});
  std::string error = errorOf([&] { optC.step(); });
  EXPECT_NE(error.find("the momentum of 'self_attn.bias' must be a contiguous "
                       "Float tensor of shape [500] on cpu, got Float [400]"),
            std::string::npos)
      << error;
  EXPECT_EQ(optC.step_count(), 12);
  EXPECT_EQ(other[0].second.abs().sum().item<double>(), 0);
}

TEST(FamRules, LoadedBandEmaMustMatchTheBandCount) {
  torch::Tensor w = torch::randn({1000}).requires_grad_(true);
  nn::FAM eight({w}, nn::FAMOptions(0.1).fam_start_step(0).n_bands(8));
  w.mutable_grad() = torch::randn({1000});
  eight.step();
  std::ostringstream bytes;
  torch::save(eight, bytes);
  nn::FAM four({w}, nn::FAMOptions(0.1).fam_start_step(0).n_bands(4));
  std::istringstream in(bytes.str());
  torch::load(four, in);
  std::string error = errorOf([&] { four.step(); });
  EXPECT_NE(error.find("the band EMA of 'param0' must be a Float tensor "
                       "of shape [4] on cpu, got Float [8]"),
            std::string::npos)
      << error;
}

TEST(FamRules, DebugRecordIsJsonLines) {
  // Names are the user's: quotes, backslashes and control characters are
  // escaped.
  const std::string odd = "fc.\"odd\"\\name\t";
  torch::Tensor small = torch::randn({10}).requires_grad_(true);
  torch::Tensor table = torch::randn({2000}).requires_grad_(true);
  TempFile record;
  nn::FAM opt({{odd, small}, {"embed.table", table}},
              nn::FAMOptions(0.2)
                  .fam_start_step(1)
                  .warmup_steps(4)
                  .debug_path(record.path)
                  .debug_every(2));
  for (int s = 0; s < 4; ++s) {
    small.mutable_grad() = torch::randn({10});
    table.mutable_grad() = torch::randn({2000});
    opt.step();
  }
  std::vector<nlohmann::json> lines = readJsonLines(record.path);
  ASSERT_EQ(lines.size(), 4u); // steps 2 and 4, two parameters each
  for (const nlohmann::json &l : lines) {
    int64_t step = l.at("step").get<int64_t>();
    EXPECT_TRUE(step == 2 || step == 4);
    bool embed = l.at("param").get<std::string>() == "embed.table";
    EXPECT_EQ(l.at("group").get<std::string>(), embed ? "embedding" : "other");
    if (!embed) {
      EXPECT_EQ(l.at("param").get<std::string>(), odd);
    }
    EXPECT_EQ(l.at("numel").get<int64_t>(), embed ? 2000 : 10);
    EXPECT_NEAR(l.at("lr").get<double>(),
                opt.scheduled_lr(step - 1) * (embed ? 0.8 : 1), 1e-9);
    double alpha = l.at("alpha_eff").get<double>();
    // The compiled α' is an f32.
    if (embed) {
      EXPECT_TRUE(std::fabs(alpha - 0.95) < 1e-6 ||
                  std::fabs(alpha - 0.98) < 1e-6)
          << alpha;
    } else {
      EXPECT_EQ(alpha, 0.9);
    }
    // Bands exist from step 2 (> fam_start_step) for the 2000 elements.
    EXPECT_EQ(l.at("bands").size(), embed ? 8u : 0u);
    for (const nlohmann::json &b : l.at("bands"))
      EXPECT_TRUE(b.is_number());
  }
}

TEST(FamRules, GroupLrFollowsALibTorchScheduler) {
  // A group's lr is the schedule's peak: StepLR's set_lr halves it every
  // two of its steps (LibTorch's StepLR does not step on construction, so
  // the rates are 0.4, 0.4, 0.4, 0.2, 0.2, 0.1), with the built-in warmup
  // and decay off. Below fam_start_step
  // α' = α, so the update is m ← α·m + (1 − α)·g, p ← p − lr·m, followed
  // here in f64 for both groups (the embedding's lr_scale is 0.8).
  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference path" : "compiled");
    torch::Tensor w = torch::randn({7, 3}).requires_grad_(true);
    torch::Tensor e = torch::randn({11}).requires_grad_(true);
    nn::FAM opt({{"fc.weight", w}, {"embed.table", e}},
                nn::FAMOptions(0.4).reference(referencePath));
    torch::optim::StepLR sched(opt, /*step_size=*/2, /*gamma=*/0.5);
    torch::Tensor w64 = w.detach().to(torch::kFloat64),
                  e64 = e.detach().to(torch::kFloat64);
    torch::Tensor mw = torch::zeros_like(w64), me = torch::zeros_like(e64);
    const double rates[] = {0.4, 0.4, 0.4, 0.2, 0.2, 0.1};
    for (int s = 0; s < 6; ++s) {
      double lr = rates[s];
      for (auto &group : opt.param_groups())
        ASSERT_DOUBLE_EQ(group.options().get_lr(), lr) << "step " << s;
      w.mutable_grad() = torch::randn({7, 3});
      e.mutable_grad() = torch::randn({11});
      opt.step();
      // Groups in the order conv, attention, embedding, norm, other.
      EXPECT_NEAR(opt.current_lr(0), 0.8 * lr, 1e-12) << "step " << s;
      EXPECT_NEAR(opt.current_lr(1), lr, 1e-12) << "step " << s;
      sched.step();
      mw = 0.9 * mw + 0.1 * w.grad().to(torch::kFloat64);
      me = 0.95 * me + 0.05 * e.grad().to(torch::kFloat64);
      w64 -= lr * mw;
      e64 -= 0.8 * lr * me;
      expectClose(w.detach(), w64, 1e-5, 1e-6, "fc.weight");
      expectClose(e.detach(), e64, 1e-5, 1e-6, "embed.table");
    }
  }
}

TEST(FamRules, CallIntoChecksOutputsAndUpdatesInPlace) {
  model::FamStepKernel fk;
  fk.dtypes = {bundle::DType::F32, bundle::DType::BF16};
  fk.weightDecay = 0.01;
  auto k = nn::compiledKernel(model::buildSource(fk));
  torch::Generator gen = at::detail::createCPUGenerator(2);
  auto inputs = [&] {
    return std::vector<torch::Tensor>{
        torch::randn({1000}, gen), torch::randn({77}, gen).to(torch::kBFloat16),
        torch::randn({1000}, gen), torch::randn({77}, gen).to(torch::kBFloat16),
        torch::randn({1000}, gen), torch::randn({77}, gen),
        torch::full({}, 0.1f),     torch::tensor({0.9f, 0.8f})};
  };
  std::vector<torch::Tensor> in = inputs();
  // Out of place, then the same memory as input and output: fam_step is
  // elementwise, so each element is read before it is written.
  std::vector<torch::Tensor> fresh = nn::call(*k, "fam_step", in);
  std::vector<torch::Tensor> outs = {in[0], in[1], in[4], in[5]};
  nn::callInto(*k, "fam_step", in, outs);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_TRUE(torch::equal(outs[i], fresh[i])) << "result " << i;

  in = inputs();
  auto withOutput = [&](size_t i, torch::Tensor t) {
    std::vector<torch::Tensor> o = {torch::empty({1000}),
                                    torch::empty({77}, torch::kBFloat16),
                                    torch::empty({1000}), torch::empty({77})};
    o[i] = t;
    return errorOf([&] { nn::callInto(*k, "fam_step", in, o); });
  };
  EXPECT_EQ(withOutput(0, torch::empty({1000})), "");
  std::string device = withOutput(2, torch::empty({1000}, torch::kMeta));
  EXPECT_NE(device.find("entry 'fam_step': output 2"), std::string::npos)
      << device;
  EXPECT_NE(device.find("is on meta"), std::string::npos) << device;
  std::string dtype = withOutput(3, torch::empty({77}, torch::kFloat64));
  EXPECT_NE(dtype.find("entry 'fam_step': argument 'result3' must be f32, "
                       "got f64"),
            std::string::npos)
      << dtype;
  std::string strided =
      withOutput(0, torch::empty({2000}).slice(0, 0, 2000, 2));
  EXPECT_NE(strided.find("entry 'fam_step': argument 'result0' must be "
                         "contiguous"),
            std::string::npos)
      << strided;
}

TEST(FamRules, BadParametersAndGradientsLeaveTheOptimizerAsItWas) {
  torch::Tensor good = torch::zeros({6}).requires_grad_(true);
  torch::Tensor bad = torch::zeros({6}).requires_grad_(true);
  nn::FAM opt({{"conv.weight", good}, {"fc.weight", bad}}, nn::FAMOptions(1));
  good.mutable_grad() = torch::ones({6});
  auto expectError = [&](torch::Tensor grad, const std::string &what) {
    bad.mutable_grad() = grad;
    std::string error = errorOf([&] { opt.step(); });
    EXPECT_NE(error.find(what), std::string::npos) << error;
    // Nothing moved: the parameters are checked before any update.
    EXPECT_EQ(opt.step_count(), 0);
    EXPECT_EQ(good.abs().sum().item<double>(), 0);
  };
  expectError(torch::ones({6}).to_sparse(),
              "the gradient of 'fc.weight' must be a dense floating-point "
              "tensor on cpu (the parameter's device), got Float (Sparse)");
  expectError(torch::ones({6}, torch::kInt64),
              "the gradient of 'fc.weight' must be a dense floating-point "
              "tensor on cpu (the parameter's device), got Long");
  expectError(torch::ones({6}, torch::kMeta), "on meta");
  expectError(torch::ones({3, 2}),
              "the gradient of 'fc.weight' has shape [3, 2], the parameter "
              "[6]");

  torch::Tensor transposed = torch::zeros({4, 6}).t().requires_grad_(true);
  nn::FAM opt2({{"head.weight", transposed}}, nn::FAMOptions());
  transposed.mutable_grad() = torch::ones({6, 4});
  std::string error = errorOf([&] { opt2.step(); });
  EXPECT_NE(error.find("parameter 'head.weight' must be a contiguous "
                       "floating-point CPU or CUDA tensor, got Float on cpu "
                       "(non-contiguous)"),
            std::string::npos)
      << error;
}
} // namespace
