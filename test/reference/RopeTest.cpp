//===- RopeTest.cpp - the rope and inv_freq references --------------------===//
//
// rope against hand-computed one-hot cases and a scalar-loop oracle, its
// invariants (inverse, norms, relative positions), the agreement of its
// frequency sources, f32 angles, and its backward formulas (docs/Math.md
// §1); inv_freq's frequency groups.
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::reftest;

namespace {

// rope on x [B, T, H, D] with positions [B, T] (f64), in scalar loops
// independent of Reference.cpp.
Tensor ropeOracle(const Tensor &x, const Tensor &positions,
                  ref::RopeLayout layout, int64_t r,
                  const std::vector<double> &freq,
                  const std::vector<double> &phase, double scale,
                  bool inverse) {
  Tensor y = x.clone();
  auto X = x.accessor<double, 4>();
  auto Y = y.accessor<double, 4>();
  auto P = positions.accessor<double, 2>();
  const int64_t half = r / 2;
  for (int64_t b = 0; b < x.size(0); ++b)
    for (int64_t t = 0; t < x.size(1); ++t)
      for (int64_t h = 0; h < x.size(2); ++h)
        for (int64_t i = 0; i < half; ++i) {
          double theta =
              scale * P[b][t] * freq[i] + (phase.empty() ? 0.0 : phase[i]);
          if (inverse)
            theta = -theta;
          int64_t ia = 0, ib = 0, oa = 0, ob = 0;
          switch (layout) {
          case ref::RopeLayout::Half:
            ia = oa = i;
            ib = ob = i + half;
            break;
          case ref::RopeLayout::Interleaved:
            ia = oa = 2 * i;
            ib = ob = 2 * i + 1;
            break;
          case ref::RopeLayout::Deinterleave:
            if (!inverse) {
              ia = 2 * i, ib = 2 * i + 1, oa = i, ob = i + half;
            } else {
              ia = i, ib = i + half, oa = 2 * i, ob = 2 * i + 1;
            }
            break;
          }
          const double a = X[b][t][h][ia], bb = X[b][t][h][ib];
          Y[b][t][h][oa] = a * std::cos(theta) - bb * std::sin(theta);
          Y[b][t][h][ob] = a * std::sin(theta) + bb * std::cos(theta);
        }
  return y;
}

} // namespace

//===----------------------------------------------------------------------===//
// §1 rope
//===----------------------------------------------------------------------===//

TEST_F(Ref, RopeOneHotAtKnownPositions) {
  // D = r = 4, base 10000: f_0 = 1, f_1 = 10000^(-1/2) = 0.01.
  const std::vector<double> pos = {0.0, 1.0, 7.0, 1000.0};
  const int64_t T = pos.size();
  Tensor positions = torch::tensor(pos, f64);
  auto oneHot = [&](int64_t d) {
    Tensor x = torch::zeros({1, T, 1, 4}, f64);
    x.select(-1, d).fill_(1.0);
    return x;
  };
  auto at = [](const Tensor &y, int64_t t, int64_t d) {
    return y[0][t][0][d].item<double>();
  };
  for (int64_t t = 0; t < T; ++t) {
    const double p = pos[t];
    SCOPED_TRACE("position " + std::to_string(p));
    ref::RopeOptions o;
    o.layout = ref::RopeLayout::Half; // pairs (0, 2), (1, 3)
    Tensor y = ref::rope(oneHot(0), positions, o);
    EXPECT_NEAR(at(y, t, 0), std::cos(p), 1e-12);
    EXPECT_NEAR(at(y, t, 2), std::sin(p), 1e-12);
    EXPECT_EQ(at(y, t, 1), 0.0);
    EXPECT_EQ(at(y, t, 3), 0.0);
    y = ref::rope(oneHot(1), positions, o);
    EXPECT_NEAR(at(y, t, 1), std::cos(0.01 * p), 1e-12);
    EXPECT_NEAR(at(y, t, 3), std::sin(0.01 * p), 1e-12);
    y = ref::rope(oneHot(2), positions, o); // b of pair 0: (-sin, cos)
    EXPECT_NEAR(at(y, t, 0), -std::sin(p), 1e-12);
    EXPECT_NEAR(at(y, t, 2), std::cos(p), 1e-12);

    o.layout = ref::RopeLayout::Interleaved; // pairs (0, 1), (2, 3)
    y = ref::rope(oneHot(0), positions, o);
    EXPECT_NEAR(at(y, t, 0), std::cos(p), 1e-12);
    EXPECT_NEAR(at(y, t, 1), std::sin(p), 1e-12);
    y = ref::rope(oneHot(2), positions, o);
    EXPECT_NEAR(at(y, t, 2), std::cos(0.01 * p), 1e-12);
    EXPECT_NEAR(at(y, t, 3), std::sin(0.01 * p), 1e-12);

    // Reads (0, 1) and (2, 3), writes (0, 2) and (1, 3).
    o.layout = ref::RopeLayout::Deinterleave;
    y = ref::rope(oneHot(0), positions, o);
    EXPECT_NEAR(at(y, t, 0), std::cos(p), 1e-12);
    EXPECT_NEAR(at(y, t, 2), std::sin(p), 1e-12);
    EXPECT_EQ(at(y, t, 1), 0.0);
    y = ref::rope(oneHot(1), positions, o);
    EXPECT_NEAR(at(y, t, 0), -std::sin(p), 1e-12);
    EXPECT_NEAR(at(y, t, 2), std::cos(p), 1e-12);
    y = ref::rope(oneHot(2), positions, o);
    EXPECT_NEAR(at(y, t, 1), std::cos(0.01 * p), 1e-12);
    EXPECT_NEAR(at(y, t, 3), std::sin(0.01 * p), 1e-12);
    // Its inverse reads (0, 2) and writes (0, 1).
    o.inverse = true;
    y = ref::rope(oneHot(0), positions, o);
    EXPECT_NEAR(at(y, t, 0), std::cos(p), 1e-12);
    EXPECT_NEAR(at(y, t, 1), -std::sin(p), 1e-12);
  }
}

TEST_F(Ref, RopeMatchesScalarOracle) {
  const int64_t B = 2, T = 5, H = 3, D = 11, r = 6;
  Tensor x = rnd({B, T, H, D});
  Tensor positions = torch::randint(0, 1000, {B, T}, f64);
  Tensor freq = uni({r / 2}, 0.01, 1.5);
  Tensor phase = uni({r / 2}, -kPi, kPi);
  const double scale = 0.75;
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true}) {
      SCOPED_TRACE("layout " + std::to_string(int(layout)) + " inverse " +
                   std::to_string(inverse));
      ref::RopeOptions o;
      o.layout = layout;
      o.rotaryDim = r;
      o.invFreq = freq;
      o.phase = phase;
      o.scale = torch::full({}, scale, f64);
      o.inverse = inverse;
      EXPECT_CLOSE(ref::rope(x, positions, o),
                   ropeOracle(x, positions, layout, r, toVector(freq),
                              toVector(phase), scale, inverse),
                   1e-12);
      // Base frequencies, positions [T].
      ref::RopeOptions b;
      b.layout = layout;
      b.rotaryDim = r;
      b.base = 500.0;
      b.inverse = inverse;
      std::vector<double> f(r / 2);
      for (int64_t i = 0; i < r / 2; ++i)
        f[i] = std::pow(500.0, -2.0 * i / r);
      Tensor p1 = positions[0];
      EXPECT_CLOSE(ref::rope(x, p1, b),
                   ropeOracle(x, p1.unsqueeze(0).expand({B, T}).contiguous(),
                              layout, r, f, {}, 1.0, inverse),
                   1e-12);
    }
}

TEST_F(Ref, RopeInverseIsIdentityAndPreservesNorm) {
  Tensor x = rnd({2, 6, 3, 8});
  Tensor positions = torch::randint(0, 100000, {2, 6}, f64);
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (int64_t r : {8, 4}) {
      ref::RopeOptions o, inv;
      o.layout = inv.layout = layout;
      o.rotaryDim = inv.rotaryDim = r;
      o.phase = inv.phase = rnd({r / 2});
      inv.inverse = true;
      Tensor y = ref::rope(x, positions, o);
      EXPECT_CLOSE(ref::rope(y, positions, inv), x, 1e-12);
      EXPECT_CLOSE(ref::rope(ref::rope(x, positions, inv), positions, o), x,
                   1e-12);
      EXPECT_CLOSE(y.norm(2, {-1}), x.norm(2, {-1}), 1e-12);
      // Features r..D pass through.
      EXPECT_CLOSE(y.narrow(-1, r, 8 - r), x.narrow(-1, r, 8 - r), 0.0);
    }
}

TEST_F(Ref, RopeScoresDependOnRelativePosition) {
  // <rope(q, m), rope(k, n)> depends on m - n only (half and interleaved).
  const int64_t D = 16;
  Tensor q = rnd({1, 1, 1, D}), k = rnd({1, 1, 1, D});
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved}) {
    ref::RopeOptions o;
    o.layout = layout;
    o.phase = rnd({D / 2});
    auto score = [&](double m, double n) {
      Tensor a = ref::rope(q, torch::full({1}, m, f64), o);
      Tensor b = ref::rope(k, torch::full({1}, n, f64), o);
      return (a * b).sum().item<double>();
    };
    EXPECT_NEAR(score(3, 1), score(103, 101), 1e-10);
    EXPECT_NEAR(score(0, 5), score(20, 25), 1e-10);
  }
}

TEST_F(Ref, RopeFrequencySourcesAgree) {
  const int64_t B = 2, T = 4, H = 2, D = 12, r = 8;
  Tensor x = rnd({B, T, H, D});
  Tensor pos = torch::randint(0, 5000, {T}, torch::kInt64);
  ref::RopeOptions attr;
  attr.rotaryDim = r;
  attr.base = 20000.0;
  Tensor y = ref::rope(x, pos, attr);

  ref::RopeOptions operand = attr;
  operand.runtimeBase = torch::full({}, 20000.0, f64);
  EXPECT_CLOSE(ref::rope(x, pos, operand), y, 1e-12);

  ref::RopeOptions table = attr;
  table.invFreq = ref::invFreq({r, 20000.0, {}});
  EXPECT_CLOSE(ref::rope(x, pos, table), y, 1e-12);

  // Positions [T] broadcast over B; i32, i64 and f32 positions agree.
  EXPECT_CLOSE(ref::rope(x, pos.unsqueeze(0).expand({B, T}), attr), y, 0.0);
  EXPECT_CLOSE(ref::rope(x, pos.to(torch::kInt32), attr), y, 0.0);
  EXPECT_CLOSE(ref::rope(x, pos.to(torch::kFloat32), attr), y, 0.0);

  // scale multiplies p; phase adds to θ.
  ref::RopeOptions scaled = attr;
  scaled.scale = torch::full({}, 0.5, f64);
  EXPECT_CLOSE(ref::rope(x, pos, scaled),
               ref::rope(x, pos.to(torch::kFloat64) * 0.5, attr), 1e-12);
  ref::RopeOptions phased = table;
  phased.phase = torch::full({r / 2}, 0.3, f64);
  Tensor a0 = ref::ropeAngles(pos, r, table);
  Tensor a1 = ref::ropeAngles(pos, r, phased);
  EXPECT_CLOSE(a1 - a0, torch::full_like(a0, 0.3), 1e-9);
  EXPECT_THROW(
      {
        ref::RopeOptions both = table;
        both.runtimeBase = operand.runtimeBase;
        ref::rope(x, pos, both);
      },
      c10::Error);
}

TEST_F(Ref, RopeF32AnglesRoundLikeF32) {
  Tensor pos = torch::tensor({0.0, 1.0, 12345.0, 999999.0, 1000000.0}, f64);
  ref::RopeOptions o;
  o.f32Angles = true;
  o.scale = torch::full({}, 1.25, f64);
  o.phase = rnd({32});
  Tensor a = ref::ropeAngles(pos, 64, o);
  EXPECT_CLOSE(a.to(torch::kFloat32).to(torch::kFloat64), a, 0.0);
  ref::RopeOptions exact = o;
  exact.f32Angles = false;
  Tensor b = ref::ropeAngles(pos, 64, exact);
  // Four roundings of at most 2^-24 relative each (plus pow's).
  EXPECT_LE(((a - b).abs() / (b.abs() + 1)).max().item<double>(), 8 * 6e-8);
}

TEST_F(Ref, RopeGradientsFollowSpec) {
  const int64_t B = 2, T = 3, H = 2, D = 8;
  Tensor pos = torch::randint(0, 50, {B, T}, f64);
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    ref::RopeOptions o;
    o.layout = layout;
    o.invFreq = uni({D / 2}, 0.01, 1.0);
    o.phase = rnd({D / 2}).set_requires_grad(true);
    Tensor x = rnd({B, T, H, D}).set_requires_grad(true);
    Tensor yBar = rnd({B, T, H, D});
    Tensor y = ref::rope(x, pos, o);
    auto g = torch::autograd::grad({y}, {x, o.phase}, {yBar});
    // x̄ = the same op with θ → −θ (and the inverse layout map) on ȳ.
    ref::RopeOptions inv = o;
    inv.phase = o.phase.detach();
    inv.inverse = true;
    EXPECT_CLOSE(g[0], ref::rope(yBar, pos, inv), 1e-12);
    // θ̄ = ȳ_a(−a sinθ − b cosθ) + ȳ_b(a cosθ − b sinθ); φ̄_i = Σ θ̄.
    Tensor theta = ref::ropeAngles(pos, D, inv).unsqueeze(2);
    Tensor xa, xb, ya, yb;
    auto split = [&](const Tensor &t, bool pairs) {
      if (pairs) {
        Tensor p = t.reshape({B, T, H, D / 2, 2});
        return std::make_pair(p.select(-1, 0), p.select(-1, 1));
      }
      return std::make_pair(t.narrow(-1, 0, D / 2), t.narrow(-1, D / 2, D / 2));
    };
    std::tie(xa, xb) = split(x.detach(), layout != ref::RopeLayout::Half);
    std::tie(ya, yb) = split(yBar, layout == ref::RopeLayout::Interleaved);
    Tensor thetaBar = ya * (-xa * theta.sin() - xb * theta.cos()) +
                      yb * (xa * theta.cos() - xb * theta.sin());
    EXPECT_CLOSE(g[1], thetaBar.sum({0, 1, 2}), 1e-10);
  }
  // Every differentiable operand against finite differences.
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Deinterleave}) {
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.rotaryDim = 6;
          o.phase = in[1];
          o.scale = in[2];
          o.runtimeBase = in[3];
          return ref::rope(in[0], pos, o);
        },
        {rnd({B, T, H, D}), rnd({3}), torch::full({}, 0.7, f64),
         torch::full({}, 30.0, f64)},
        "rope base operand");
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.invFreq = in[1];
          o.inverse = true;
          return ref::rope(in[0], pos, o);
        },
        {rnd({B, T, H, D}), uni({D / 2}, 0.01, 1.0)}, "rope inv_freq");
  }
}

TEST_F(Ref, InvFreqGroups) {
  Tensor f = ref::invFreq({8, 100.0, {1.0, 4.0}});
  Tensor expected =
      torch::tensor({1.0, std::pow(100.0, -0.25), std::pow(400.0, -0.5),
                     std::pow(400.0, -0.75)},
                    f64);
  EXPECT_CLOSE(f, expected, 1e-15);
  Tensor g = ref::invFreq({64, 10000.0, {}});
  ASSERT_EQ(g.size(0), 32);
  for (int64_t i = 0; i < 32; ++i)
    EXPECT_NEAR(g[i].item<double>(), std::pow(10000.0, -2.0 * i / 64), 1e-15);
  Tensor h = ref::invFreq({12, 10.0, {1.0, 2.0, 3.0}}); // groups of 2
  EXPECT_NEAR(h[5].item<double>(), std::pow(30.0, -10.0 / 12), 1e-15);
  EXPECT_NEAR(h[2].item<double>(), std::pow(20.0, -4.0 / 12), 1e-15);
  EXPECT_THROW(ref::invFreq({8, 100.0, {1.0, 2.0, 3.0}}), c10::Error);
  EXPECT_THROW(ref::invFreq({7, 100.0, {}}), c10::Error);
}
