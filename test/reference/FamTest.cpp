//===- FamTest.cpp - the FAM references -----------------------------------===//
//
// floorRationalPower, the band ranges of every layout by hand,
// spectral_bands' values, adaptive_momentum's thresholds for every handler
// and fam_step (docs/Math.md §7).
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <initializer_list>
#include <vector>

namespace ref = rotary::reference;
using ref::Pair;
using torch::Tensor;
using namespace rotary::reftest;

namespace {

std::vector<Pair> ranges(std::initializer_list<Pair> list) { return list; }

} // namespace

//===----------------------------------------------------------------------===//
// §7 FAM
//===----------------------------------------------------------------------===//

TEST_F(Ref, FloorRationalPowerIsExact) {
  EXPECT_EQ(ref::floorRationalPower(64, 1, 3), 4); // pow gives 3.99…
  EXPECT_EQ(ref::floorRationalPower(64, 2, 3), 16);
  EXPECT_EQ(ref::floorRationalPower(8, 1, 3), 2);
  EXPECT_EQ(ref::floorRationalPower(1000, 1, 3), 10);
  EXPECT_EQ(ref::floorRationalPower(1000, 2, 3), 100);
  EXPECT_EQ(ref::floorRationalPower(999, 1, 3), 9);
  EXPECT_EQ(ref::floorRationalPower(10, 1, 4), 1);
  EXPECT_EQ(ref::floorRationalPower(10, 3, 4), 5);
  EXPECT_EQ(ref::floorRationalPower(4097, 3, 4), 512);
  EXPECT_EQ(ref::floorRationalPower(5001, 7, 12), 143);
  EXPECT_EQ(ref::floorRationalPower(0, 0, 3), 1);
  EXPECT_EQ(ref::floorRationalPower(0, 2, 3), 0);
  EXPECT_EQ(ref::floorRationalPower(1, 2, 3), 1);
  EXPECT_EQ(ref::floorRationalPower(17, 5, 5), 17);
}

TEST_F(Ref, BandRangesByHand) {
  using L = ref::BandLayout;
  // linear: w = ⌊L/n⌋, remainder ignored; w = 0: all empty.
  EXPECT_EQ(ref::bandRanges(10, 4, L::Linear),
            ranges({{0, 2}, {2, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(ref::bandRanges(9, 3, L::Linear), ranges({{0, 3}, {3, 6}, {6, 9}}));
  EXPECT_EQ(ref::bandRanges(3, 4, L::Linear),
            ranges({{0, 0}, {0, 0}, {0, 0}, {0, 0}}));
  // log: [max(0, ⌊L^{i/n}⌋ − 1), min(⌊L^{(i+1)/n}⌋ − 1, L)).
  // L = 10, n = 4: ⌊10^{i/4}⌋ = 1, 1, 3, 5, 10.
  EXPECT_EQ(ref::bandRanges(10, 4, L::Log),
            ranges({{0, 0}, {0, 2}, {2, 4}, {4, 9}}));
  // L = 64, n = 3: 1, 4, 16, 64 (exact powers).
  EXPECT_EQ(ref::bandRanges(64, 3, L::Log),
            ranges({{0, 3}, {3, 15}, {15, 63}}));
  // L = 16, n = 4: 1, 2, 4, 8, 16.
  EXPECT_EQ(ref::bandRanges(16, 4, L::Log),
            ranges({{0, 1}, {1, 3}, {3, 7}, {7, 15}}));
  // L = 33, n = 8: ⌊33^{i/8}⌋ = 1, 1, 2, 3, 5, 8, 13, 21, 33.
  EXPECT_EQ(ref::bandRanges(33, 8, L::Log), ranges({{0, 0},
                                                    {0, 1},
                                                    {1, 2},
                                                    {2, 4},
                                                    {4, 7},
                                                    {7, 12},
                                                    {12, 20},
                                                    {20, 32}}));
  // split: h = ⌊n/2⌋ bands over [0, ⌊L/2⌋), n − h over [⌊L/2⌋, L).
  EXPECT_EQ(ref::bandRanges(10, 4, L::Split),
            ranges({{0, 2}, {2, 4}, {5, 7}, {7, 9}}));
  EXPECT_EQ(ref::bandRanges(10, 5, L::Split),
            ranges({{0, 2}, {2, 4}, {5, 6}, {6, 7}, {7, 8}}));
  EXPECT_EQ(ref::bandRanges(33, 4, L::Split),
            ranges({{0, 8}, {8, 16}, {16, 24}, {24, 32}}));
  EXPECT_EQ(ref::bandRanges(10, 1, L::Split), ranges({{5, 10}}));
  EXPECT_EQ(ref::bandRanges(10, 1, L::Linear), ranges({{0, 10}}));
  EXPECT_EQ(ref::bandRanges(10, 1, L::Log), ranges({{0, 9}}));
  EXPECT_EQ(
      ref::bandRanges(3, 8, L::Split),
      ranges({{0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 1}, {1, 1}, {1, 1}, {1, 1}}));
}

TEST_F(Ref, SpectralBandsValues) {
  // P = 1..10, ΣP = 55.
  Tensor P = torch::arange(1, 11, f64);
  ref::SpectralBandsOptions o;
  o.bands = 4;
  o.eps = 0.0;
  EXPECT_CLOSE(ref::spectralBands(P, o),
               torch::tensor({3.0, 7.0, 11.0, 15.0}, f64) / 55.0, 1e-15);
  o.layout = ref::BandLayout::Log; // [0,0) [0,2) [2,4) [4,9)
  EXPECT_CLOSE(ref::spectralBands(P, o),
               torch::tensor({0.0, 3.0, 7.0, 35.0}, f64) / 55.0, 1e-15);
  o.layout = ref::BandLayout::Split; // [0,2) [2,4) [5,7) [7,9)
  EXPECT_CLOSE(ref::spectralBands(P, o),
               torch::tensor({3.0, 7.0, 13.0, 17.0}, f64) / 55.0, 1e-15);
  // eps in the denominator.
  o.eps = 1e-3;
  EXPECT_CLOSE(ref::spectralBands(P, o),
               torch::tensor({3.0, 7.0, 13.0, 17.0}, f64) / 55.001, 1e-15);
  // A zero spectrum is not normalised (no NaN); more bands than elements.
  o.bands = 12;
  o.layout = ref::BandLayout::Linear;
  EXPECT_CLOSE(ref::spectralBands(torch::zeros({5}, f64), o),
               torch::zeros({12}, f64), 0.0);
  // Random spectrum: linear bands with L divisible by n sum to ΣP/(ΣP+eps).
  Tensor R = torch::rand({64}, f64);
  o.bands = 8;
  o.eps = 1e-8;
  const double s = R.sum().item<double>();
  EXPECT_NEAR(ref::spectralBands(R, o).sum().item<double>(), s / (s + 1e-8),
              1e-14);
  checkGradients(
      [](const std::vector<Tensor> &in) {
        ref::SpectralBandsOptions b;
        b.bands = 5;
        b.layout = ref::BandLayout::Log;
        return ref::spectralBands(in[0], b);
      },
      {torch::rand({40}, f64)}, "spectral_bands");
}

TEST_F(Ref, AdaptiveMomentumThresholds) {
  using H = ref::FamHandler;
  auto run = [](std::vector<double> ema, double alpha, H handler) {
    return ref::adaptiveMomentum(torch::tensor(ema, f64),
                                 torch::full({}, alpha, f64), handler)
        .item<double>();
  };
  // default, n = 8: high = Σ bands [4, 8).
  EXPECT_NEAR(run({0, 0, 0, 0.5, 0.1, 0.1, 0.1, 0.01}, 0.9, H::Default), 0.95,
              1e-15); // 0.31 > 0.3
  EXPECT_NEAR(run({0.5, 0, 0, 0, 0.1, 0.1, 0.05, 0.04}, 0.9, H::Default), 0.9,
              1e-15); // 0.29
  EXPECT_NEAR(run({0, 0, 0, 0, 0.2, 0.2, 0, 0}, 0.93, H::Default), 0.95,
              1e-15); // capped
  // Odd n = 5: n/2 = 2, bands [2, 5).
  EXPECT_NEAR(run({0.9, 0.9, 0.11, 0.1, 0.1}, 0.8, H::Default), 0.85, 1e-15);
  // conv, n = 10: mid = [2, 7), high = [7, 10).
  std::vector<double> conv(10, 0.0);
  conv[2] = 0.2, conv[6] = 0.21; // mid 0.41
  EXPECT_NEAR(run(conv, 0.9, H::Conv), 0.97, 1e-15);
  EXPECT_NEAR(run(conv, 0.85, H::Conv), 0.92, 1e-15);
  conv[6] = 0.19, conv[7] = 0.31; // mid 0.39, high 0.31
  EXPECT_NEAR(run(conv, 0.85, H::Conv), 0.90, 1e-15);
  conv[7] = 0.29; // neither
  EXPECT_NEAR(run(conv, 0.85, H::Conv), 0.85, 1e-15);
  conv[1] = 5.0; // band 1 is outside mid [2, 7)
  EXPECT_NEAR(run(conv, 0.85, H::Conv), 0.85, 1e-15);
  // attention, n = 12: k < 3 lowers, k > 9 raises, 3..9 keeps.
  auto peak = [](int64_t n, int64_t k) {
    std::vector<double> e(n, 0.1);
    e[k] = 0.5;
    return e;
  };
  EXPECT_NEAR(run(peak(12, 2), 0.92, H::Attention), 0.87, 1e-15);
  EXPECT_NEAR(run(peak(12, 2), 0.88, H::Attention), 0.85, 1e-15);
  EXPECT_NEAR(run(peak(12, 3), 0.92, H::Attention), 0.92, 1e-15);
  EXPECT_NEAR(run(peak(12, 9), 0.92, H::Attention), 0.92, 1e-15);
  EXPECT_NEAR(run(peak(12, 10), 0.85, H::Attention), 0.93, 1e-15);
  EXPECT_NEAR(run(peak(12, 11), 0.92, H::Attention), 0.98, 1e-15);
  // First maximum: ties at 1 and 10 pick 1.
  std::vector<double> tie(12, 0.0);
  tie[1] = tie[10] = 1.0;
  EXPECT_NEAR(run(tie, 0.92, H::Attention), 0.87, 1e-15);
  // n = 7: n/4 = 1, 3n/4 = 5.
  EXPECT_NEAR(run(peak(7, 0), 0.92, H::Attention), 0.87, 1e-15);
  EXPECT_NEAR(run(peak(7, 5), 0.92, H::Attention), 0.92, 1e-15);
  EXPECT_NEAR(run(peak(7, 6), 0.9, H::Attention), 0.98, 1e-15);
  // embedding, n = 8: high = [6, 8) > 0.2.
  EXPECT_NEAR(run({0, 0, 0, 0, 0, 0.5, 0.1, 0.11}, 0.85, H::Embedding), 0.93,
              1e-15);
  EXPECT_NEAR(run({0, 0, 0, 0, 0, 0.5, 0.1, 0.09}, 0.85, H::Embedding), 0.85,
              1e-15);
  EXPECT_NEAR(run({0, 0, 0, 0, 0, 0.5, 0.1, 0.11}, 0.95, H::Embedding), 0.98,
              1e-15);
  // n = 1: every fraction is 0 or 1.
  EXPECT_NEAR(run({0.5}, 0.9, H::Default), 0.95, 1e-15);
  EXPECT_NEAR(run({0.5}, 0.9, H::Attention), 0.9, 1e-15); // k = 0, n/4 = 0
}

TEST_F(Ref, FamStepByHand) {
  auto s = [](double v) { return torch::full({}, v, f64); };
  // p = 1, g = 0.5, m = 0.2, lr = 0.1, α = 0.9, wd = 0.1:
  // g' = 0.6, m' = 0.18 + 0.06 = 0.24, p' = 1 − 0.024 = 0.976.
  ref::FamStepOptions o;
  o.weightDecay = 0.1;
  auto r =
      ref::famStep(torch::full({2, 3}, 1.0, f64), torch::full({2, 3}, 0.5, f64),
                   torch::full({2, 3}, 0.2, f64), s(0.1), s(0.9), o);
  EXPECT_CLOSE(r.momentum, torch::full({2, 3}, 0.24, f64), 1e-15);
  EXPECT_CLOSE(r.param, torch::full({2, 3}, 0.976, f64), 1e-15);
  // Random, no weight decay.
  Tensor p = rnd({17}), g = rnd({17}), m = rnd({17});
  auto q = ref::famStep(p, g, m, s(1e-3), s(0.92));
  EXPECT_CLOSE(q.momentum, 0.92 * m + 0.08 * g, 1e-15);
  EXPECT_CLOSE(q.param, p - 1e-3 * (0.92 * m + 0.08 * g), 1e-15);
  // f32 momentum with a f64 parameter keeps each dtype.
  auto w = ref::famStep(p, g, m.to(torch::kFloat32), s(1e-3), s(0.92));
  EXPECT_EQ(w.momentum.scalar_type(), torch::kFloat32);
  EXPECT_EQ(w.param.scalar_type(), torch::kFloat64);
  checkGradients(
      [](const std::vector<Tensor> &in) {
        ref::FamStepOptions d;
        d.weightDecay = 0.05;
        auto r = ref::famStep(in[0], in[1], in[2], in[3], in[4], d);
        return torch::cat({r.param, r.momentum});
      },
      {rnd({5}), rnd({5}), rnd({5}), s(0.01), s(0.9)}, "fam_step");
}
