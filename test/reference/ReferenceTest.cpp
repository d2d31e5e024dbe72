//===- ReferenceTest.cpp - tests of the LibTorch references themselves ----===//
//
// The references are the ground truth of the project, so they are checked
// here against hand-computed cases, small scalar-loop implementations written
// independently of Reference.cpp, invariants of the math (inverses, norms,
// orthogonality), the backward formulas of docs/Math.md and finite
// differences.
//
// Random inputs come from the per-test seed of test/support/Seed.h: fixed by
// default, ROTARY_TEST_SEED=<n> for another (scripts/soak draws fresh ones).
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include <torch/autograd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using ref::Pair;
using torch::Tensor;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
const double kPi = 3.14159265358979323846;
const double kInf = std::numeric_limits<double>::infinity();
// LibTorch's f64 matrix_exp (1.13) is accurate to ~2.5e-10 only for 2x2 and
// some 3x3 inputs; comparisons involving the exp form allow that.
const double kExpTol = 1e-9;
double tolOf(rotary::reference::SOForm form) {
  return form == rotary::reference::SOForm::Exp ? kExpTol : 1e-12;
}

/// Inputs are drawn from LibTorch's default generator, seeded per test by
/// test/support/Seed.h (replay a failure with the ROTARY_TEST_SEED it prints).
class Ref : public ::testing::Test {};

Tensor rnd(std::vector<int64_t> shape) { return torch::randn(shape, f64); }
Tensor uni(std::vector<int64_t> shape, double lo, double hi) {
  return torch::rand(shape, f64) * (hi - lo) + lo;
}

double maxDiff(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.numel() == 0)
    return 0.0;
  return (a - b).abs().max().item<double>();
}

#define EXPECT_CLOSE(a, b, tol)                                                \
  do {                                                                         \
    const double diff_ = maxDiff((a), (b));                                    \
    EXPECT_LE(diff_, (tol)) << "max |" #a " - " #b "| = " << diff_;            \
  } while (0)

std::vector<double> toVector(const Tensor &t) {
  Tensor c = t.detach().to(torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

// Autograd against central differences of loss = Σ w·f(inputs) for a few
// coordinates of every floating-point input; non-finite outputs are left out
// of the loss.
using Fn = std::function<Tensor(const std::vector<Tensor> &)>;
void checkGradients(const Fn &f, std::vector<Tensor> inputs,
                    const std::string &what, int coords = 6,
                    double tol = 1e-6) {
  SCOPED_TRACE(what);
  std::vector<Tensor> diff;
  std::vector<size_t> diffIndex;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].is_floating_point())
      continue;
    inputs[i] = inputs[i].detach().clone().set_requires_grad(true);
    diff.push_back(inputs[i]);
    diffIndex.push_back(i);
  }
  Tensor out = f(inputs);
  const Tensor finite = torch::isfinite(out).detach();
  const Tensor w = torch::randn(out.sizes(), f64);
  auto lossOf = [&](const Tensor &o) {
    return (torch::where(finite, o, torch::zeros_like(o)) * w).sum();
  };
  const std::vector<Tensor> grads = torch::autograd::grad(
      {lossOf(out)}, diff, {}, /*retain_graph=*/false, /*create_graph=*/false,
      /*allow_unused=*/true);
  const double h = 1e-6;
  for (size_t d = 0; d < diff.size(); ++d) {
    const size_t i = diffIndex[d];
    const int64_t n = inputs[i].numel();
    std::vector<int64_t> picks;
    if (n <= coords) {
      for (int64_t c = 0; c < n; ++c)
        picks.push_back(c);
    } else {
      for (int c = 0; c < coords; ++c)
        picks.push_back(torch::randint(n, {1}).item<int64_t>());
    }
    for (int64_t c : picks) {
      torch::NoGradGuard noGrad;
      auto eval = [&](double delta) {
        std::vector<Tensor> moved = inputs;
        Tensor t = inputs[i].detach().clone();
        t.view({-1})[c] += delta;
        moved[i] = t;
        return lossOf(f(moved)).item<double>();
      };
      const double numeric = (eval(h) - eval(-h)) / (2 * h);
      const double analytic =
          grads[d].defined() ? grads[d].reshape({-1})[c].item<double>() : 0.0;
      EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::abs(numeric)))
          << "input " << i << ", element " << c;
    }
  }
}

//===----------------------------------------------------------------------===//
// Scalar-loop oracles, independent of Reference.cpp.
//===----------------------------------------------------------------------===//

// rope on x [B, T, H, D] with positions [B, T] (f64).
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

// docs/Math.md §2's matrix G_k (D x D): identity except G[i,i] = G[j,j] = cos,
// G[j,i] = sin, G[i,j] = -sin.
Tensor givensMatrix(int64_t D, int64_t i, int64_t j, double phi) {
  Tensor G = torch::eye(D, f64);
  auto A = G.accessor<double, 2>();
  A[i][i] = std::cos(phi);
  A[j][j] = std::cos(phi);
  A[j][i] = std::sin(phi);
  A[i][j] = -std::sin(phi);
  return G;
}

Tensor chainMatrix(int64_t D, const std::vector<Pair> &pairs,
                   const std::vector<double> &angles) {
  Tensor Q = torch::eye(D, f64);
  for (size_t k = 0; k < pairs.size(); ++k)
    Q = torch::matmul(
        Q, givensMatrix(D, pairs[k].first, pairs[k].second, angles[k]));
  return Q;
}

// Attention with loops over every (b, h, i, j).
ref::AttentionResult attentionOracle(const Tensor &q, const Tensor &k,
                                     const Tensor &v,
                                     const ref::AttentionOptions &o) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t S = k.size(2);
  const double scale = o.scale ? *o.scale : 1.0 / std::sqrt(double(D));
  Tensor out = torch::zeros({B, H, T, D}, f64);
  Tensor lse = torch::zeros({B, H, T}, f64);
  auto Q = q.accessor<double, 4>();
  auto K = k.accessor<double, 4>();
  auto V = v.accessor<double, 4>();
  auto O = out.accessor<double, 4>();
  auto LSE = lse.accessor<double, 3>();
  const std::vector<double> bias =
      o.bias.defined() ? toVector(o.bias) : std::vector<double>{};
  const std::vector<double> span =
      o.span.defined() ? toVector(o.span) : std::vector<double>{};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const int64_t p = i + S - T;
        std::vector<double> s(S, -kInf), m(S, 1.0);
        double mx = -kInf;
        for (int64_t j = 0; j < S; ++j) {
          const bool local = o.window < 0 || j >= p - o.window;
          const bool global = j < o.globalTokens || p < o.globalTokens;
          const bool ok = (local || global) && (!o.causal || j <= p);
          if (!ok)
            continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += Q[b][h][i][d] * K[b][h][j][d];
          s[j] = scale * dot;
          if (o.bias.defined() && o.bias.dim() == 2) {
            const int64_t width = o.bias.size(1), W = (width - 1) / 2;
            const int64_t rel = std::min(std::max(j - p, -W), W);
            s[j] += bias[h * width + rel + W];
          } else if (o.bias.defined()) {
            s[j] += bias[(h * T + i) * S + j];
          }
          if (o.span.defined()) {
            const double R = *o.spanRamp;
            m[j] = std::min(1.0, std::max(0.0, (span[h] + R - (p - j)) / R));
          }
          mx = std::max(mx, s[j]);
        }
        double l = 0;
        std::vector<double> acc(D, 0.0);
        for (int64_t j = 0; j < S; ++j) {
          if (s[j] == -kInf)
            continue;
          const double e = std::exp(s[j] - mx) * m[j];
          l += e;
          for (int64_t d = 0; d < D; ++d)
            acc[d] += e * V[b][h][j][d];
        }
        if (l > 0) {
          for (int64_t d = 0; d < D; ++d)
            O[b][h][i][d] = acc[d] / l;
          LSE[b][h][i] = mx + std::log(l);
        } else {
          LSE[b][h][i] = -kInf;
        }
      }
  return {out, lse};
}

std::vector<Pair> ranges(std::initializer_list<Pair> list) { return list; }

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

//===----------------------------------------------------------------------===//
// §2 givens
//===----------------------------------------------------------------------===//

TEST_F(Ref, GivensScheduleD4) {
  const std::vector<Pair> expected = {{0, 3}, {1, 2}, {1, 3},
                                      {0, 2}, {2, 3}, {0, 1}};
  EXPECT_EQ(ref::roundRobinSchedule(4), expected);
  EXPECT_EQ(ref::roundRobinSchedule(2), (std::vector<Pair>{{0, 1}}));
  // The D = 8 prefix of docs/Dialect.md.
  const std::vector<Pair> d8 = ref::roundRobinSchedule(8);
  const std::vector<Pair> prefix = {{0, 7}, {1, 6}, {2, 5}, {3, 4}, {1, 7},
                                    {0, 2}, {3, 6}, {4, 5}, {2, 7}};
  EXPECT_EQ(std::vector<Pair>(d8.begin(), d8.begin() + prefix.size()), prefix);
  EXPECT_THROW(ref::roundRobinSchedule(5), c10::Error);
}

TEST_F(Ref, GivensScheduleCoversAllPairsOnce) {
  for (int64_t D : {2, 4, 8, 10, 16, 64}) {
    SCOPED_TRACE("D = " + std::to_string(D));
    const std::vector<Pair> s = ref::roundRobinSchedule(D);
    ASSERT_EQ(static_cast<int64_t>(s.size()), D * (D - 1) / 2);
    std::set<Pair> seen;
    for (const Pair &p : s) {
      EXPECT_LT(p.first, p.second);
      EXPECT_LT(p.second, D);
      EXPECT_TRUE(seen.insert(p).second)
          << "(" << p.first << ", " << p.second << ") twice";
    }
    // D - 1 stages of D/2 disjoint pairs.
    for (int64_t stage = 0; stage < D - 1; ++stage) {
      std::set<int64_t> touched;
      for (int64_t k = 0; k < D / 2; ++k) {
        const Pair &p = s[stage * (D / 2) + k];
        EXPECT_TRUE(touched.insert(p.first).second);
        EXPECT_TRUE(touched.insert(p.second).second);
      }
      EXPECT_EQ(static_cast<int64_t>(touched.size()), D);
      EXPECT_EQ(s[stage * (D / 2)], Pair(stage, D - 1));
    }
  }
}

TEST_F(Ref, GivensSingleRotationByHand) {
  const double phi = 0.3;
  Tensor angles = torch::full({1}, phi, f64);
  // y_i = x_i cos + x_j sin, y_j = -x_i sin + x_j cos.
  Tensor y = ref::givens(torch::tensor({1.0, 0.0}, f64), angles);
  EXPECT_CLOSE(y, torch::tensor({std::cos(phi), -std::sin(phi)}, f64), 1e-15);
  y = ref::givens(torch::tensor({0.0, 1.0}, f64), angles);
  EXPECT_CLOSE(y, torch::tensor({std::sin(phi), std::cos(phi)}, f64), 1e-15);
  // A pair written (j, i) rotates the other way.
  Tensor x = rnd({3, 5});
  ref::GivensOptions a, b;
  a.pairs = {{3, 1}};
  b.pairs = {{1, 3}};
  EXPECT_CLOSE(ref::givens(x, angles, a), ref::givens(x, -angles, b), 1e-15);
  // Columns other than i and j are untouched.
  Tensor z = ref::givens(x, angles, b);
  for (int64_t c : {0, 2, 4})
    EXPECT_CLOSE(z.select(-1, c), x.select(-1, c), 0.0);
}

TEST_F(Ref, GivensEqualsMatrixProduct) {
  // Default schedule, D = 8, N = 20 (stages 0-1 and half of stage 4).
  Tensor x = rnd({3, 4, 8});
  Tensor angles = uni({20}, -kPi, kPi);
  std::vector<Pair> pairs = ref::roundRobinSchedule(8);
  pairs.resize(20);
  EXPECT_CLOSE(ref::givens(x, angles),
               torch::matmul(x, chainMatrix(8, pairs, toVector(angles))),
               1e-12);
  // Explicit pairs on an odd D, reversed and repeated pairs included.
  ref::GivensOptions o;
  o.pairs = {{0, 6}, {5, 2}, {1, 3}, {5, 2}, {6, 0}, {4, 3}};
  Tensor x7 = rnd({2, 7});
  Tensor a7 = uni({6}, -kPi, kPi);
  EXPECT_CLOSE(ref::givens(x7, a7, o),
               torch::matmul(x7, chainMatrix(7, o.pairs, toVector(a7))), 1e-12);
  // inverse = x·G_Nᵀ⋯G_1ᵀ = x·(G_1⋯G_N)ᵀ.
  o.inverse = true;
  EXPECT_CLOSE(ref::givens(x7, a7, o),
               torch::matmul(x7, chainMatrix(7, o.pairs, toVector(a7)).t()),
               1e-12);
  // Explicit pairs equal to the default schedule.
  ref::GivensOptions explicitPairs;
  explicitPairs.pairs = pairs;
  EXPECT_CLOSE(ref::givens(x, angles, explicitPairs), ref::givens(x, angles),
               0.0);
}

TEST_F(Ref, GivensInverseAndPerHead) {
  const int64_t H = 3, D = 6, N = 15;
  Tensor x = rnd({2, 5, H, D});
  Tensor shared = uni({N}, -kPi, kPi), perHead = uni({H, N}, -kPi, kPi);
  ref::GivensOptions inv;
  inv.inverse = true;
  for (const Tensor &angles : {shared, perHead}) {
    Tensor y = ref::givens(x, angles);
    EXPECT_CLOSE(ref::givens(y, angles, inv), x, 1e-12);
    EXPECT_CLOSE(ref::givens(ref::givens(x, angles, inv), angles), x, 1e-12);
    EXPECT_CLOSE(y.norm(2, {-1}), x.norm(2, {-1}), 1e-12);
  }
  // Row h of the angles applies to x[..., h, :].
  Tensor y = ref::givens(x, perHead);
  for (int64_t h = 0; h < H; ++h)
    EXPECT_CLOSE(y.select(-2, h), ref::givens(x.select(-2, h), perHead[h]),
                 1e-14);
  EXPECT_THROW(ref::givens(x, uni({H + 1, N}, 0, 1)), c10::Error);
  EXPECT_THROW(ref::givens(x, uni({N + 1}, 0, 1)), c10::Error); // > 15 pairs
}

TEST_F(Ref, GivensGradientsFollowSpec) {
  const int64_t D = 6, N = 9;
  Tensor x = rnd({4, D}).set_requires_grad(true);
  Tensor angles = uni({N}, -kPi, kPi).set_requires_grad(true);
  Tensor yBar = rnd({4, D});
  Tensor y = ref::givens(x, angles);
  auto g = torch::autograd::grad({y}, {x, angles}, {yBar});
  ref::GivensOptions inv;
  inv.inverse = true;
  // x̄ = ȳ·G_Nᵀ⋯G_1ᵀ.
  EXPECT_CLOSE(g[0], ref::givens(yBar, angles.detach(), inv), 1e-12);
  // φ̄_k = Σ_rows ā'(−a sinφ + b cosφ) + b̄'(−a cosφ − b sinφ), with (a, b)
  // the columns just before rotation k and (ā', b̄') the gradient of its
  // outputs.
  const std::vector<Pair> pairs = ref::givensPairs(D, N, {});
  const Tensor a = angles.detach();
  std::vector<Tensor> before(N);
  Tensor cur = x.detach();
  for (int64_t k = 0; k < N; ++k) {
    before[k] = cur;
    ref::GivensOptions one;
    one.pairs = {pairs[k]};
    cur = ref::givens(cur, a.narrow(0, k, 1), one);
  }
  Tensor grad = yBar;
  for (int64_t k = N - 1; k >= 0; --k) {
    const int64_t i = pairs[k].first, j = pairs[k].second;
    const double c = std::cos(a[k].item<double>()),
                 s = std::sin(a[k].item<double>());
    const Tensor ca = before[k].select(-1, i), cb = before[k].select(-1, j);
    const Tensor ga = grad.select(-1, i), gb = grad.select(-1, j);
    const double phiBar = (ga * (-ca * s + cb * c) + gb * (-ca * c - cb * s))
                              .sum()
                              .item<double>();
    EXPECT_NEAR(g[1][k].item<double>(), phiBar, 1e-10) << "rotation " << k;
    ref::GivensOptions one;
    one.pairs = {pairs[k]};
    one.inverse = true;
    grad = ref::givens(grad, a.narrow(0, k, 1), one);
  }
  checkGradients(
      [](const std::vector<Tensor> &in) { return ref::givens(in[0], in[1]); },
      {rnd({2, 3, 8}), uni({3, 28}, -kPi, kPi)}, "givens per head");
}

//===----------------------------------------------------------------------===//
// §3 orthogonal, orthogonality_penalty
//===----------------------------------------------------------------------===//

TEST_F(Ref, OrthogonalShapes) {
  const int64_t H = 3, D = 5, E = 4;
  Tensor x = rnd({2, 7, H, D});
  EXPECT_CLOSE(ref::orthogonal(x, torch::eye(D, f64)), x, 0.0);
  // Square, rectangular, per head, transposed: against explicit row loops.
  Tensor R = rnd({D, E});
  Tensor y = ref::orthogonal(x, R);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 7, H, E}));
  Tensor rows = x.reshape({-1, D});
  for (int64_t n = 0; n < rows.size(0); n += 5)
    for (int64_t e = 0; e < E; ++e)
      EXPECT_NEAR(y.reshape({-1, E})[n][e].item<double>(),
                  (rows[n] * R.select(1, e)).sum().item<double>(), 1e-12);
  ref::OrthogonalOptions t;
  t.transpose = true;
  EXPECT_CLOSE(ref::orthogonal(x, R.t().contiguous(), t), y, 1e-14);
  Tensor Rh = rnd({H, D, E});
  Tensor yh = ref::orthogonal(x, Rh);
  for (int64_t h = 0; h < H; ++h)
    EXPECT_CLOSE(yh.select(-2, h), torch::matmul(x.select(-2, h), Rh[h]),
                 1e-12);
  EXPECT_CLOSE(ref::orthogonal(x, Rh.transpose(1, 2).contiguous(), t), yh,
               1e-14);
  // Orthogonal Q keeps norms; R then Rᵀ undoes it.
  Tensor Q = std::get<0>(torch::linalg_qr(rnd({D, D})));
  Tensor z = ref::orthogonal(x, Q);
  EXPECT_CLOSE(z.norm(2, {-1}), x.norm(2, {-1}), 1e-12);
  EXPECT_CLOSE(ref::orthogonal(z, Q, t), x, 1e-12);
  EXPECT_THROW(ref::orthogonal(x, rnd({H + 1, D, E})), c10::Error);
  EXPECT_THROW(ref::orthogonal(x, rnd({D + 1, E})), c10::Error);
}

TEST_F(Ref, OrthogonalGradientsFollowSpec) {
  Tensor x = rnd({6, 5}).set_requires_grad(true);
  Tensor R = rnd({5, 3}).set_requires_grad(true);
  Tensor yBar = rnd({6, 3});
  auto g = torch::autograd::grad({ref::orthogonal(x, R)}, {x, R}, {yBar});
  EXPECT_CLOSE(g[0], torch::matmul(yBar, R.detach().t()), 1e-12); // ȳ·Rᵀ
  EXPECT_CLOSE(g[1], torch::matmul(x.detach().t(), yBar), 1e-12); // Σ xᵀȳ
  checkGradients(
      [](const std::vector<Tensor> &in) {
        ref::OrthogonalOptions t;
        t.transpose = true;
        return ref::orthogonal(in[0], in[1], t);
      },
      {rnd({2, 3, 4}), rnd({3, 5, 4})}, "orthogonal per head transposed");
}

TEST_F(Ref, OrthogonalityPenaltyValues) {
  const int64_t D = 6;
  Tensor Q = std::get<0>(torch::linalg_qr(rnd({D, D})));
  EXPECT_NEAR(ref::orthogonalityPenalty(Q).item<double>(), 0.0, 1e-20);
  // RᵀR − I = 3I: 9D.
  EXPECT_NEAR(ref::orthogonalityPenalty(2 * torch::eye(D, f64)).item<double>(),
              9.0 * D, 1e-12);
  // Rectangular [D, E]: I is E×E; orthonormal columns give 0.
  Tensor C = std::get<0>(torch::linalg_qr(rnd({D, 3})));
  EXPECT_NEAR(ref::orthogonalityPenalty(C).item<double>(), 0.0, 1e-20);
  // [1, 2] = (1 0): RᵀR − I = diag(0, −1): 1.
  EXPECT_NEAR(ref::orthogonalityPenalty(torch::tensor({{1.0, 0.0}}, f64))
                  .item<double>(),
              1.0, 0.0);
  // Per head: the sum over heads.
  Tensor Rh = rnd({3, D, 4});
  double sum = 0;
  for (int64_t h = 0; h < 3; ++h)
    sum += ref::orthogonalityPenalty(Rh[h]).item<double>();
  EXPECT_NEAR(ref::orthogonalityPenalty(Rh).item<double>(), sum, 1e-10);
  // Gradient 4·R·(RᵀR − I).
  Tensor R = rnd({D, 4}).set_requires_grad(true);
  auto g = torch::autograd::grad({ref::orthogonalityPenalty(R)}, {R});
  Tensor Rd = R.detach();
  EXPECT_CLOSE(
      g[0],
      4 * torch::matmul(Rd, torch::matmul(Rd.t(), Rd) - torch::eye(4, f64)),
      1e-10);
}

TEST_F(Ref, RotationBlockComposes) {
  const int64_t B = 2, T = 3, H = 2, D = 8;
  Tensor x = rnd({B, T, H, D});
  Tensor angles = uni({H, 10}, -kPi, kPi);
  Tensor R = rnd({D, D});
  Tensor pos = torch::randint(0, 100, {T}, torch::kInt64);
  ref::RotationBlockOptions o;
  o.positions = pos;
  o.layout = ref::RopeLayout::Interleaved;
  o.rotaryDim = 4;
  o.base = 100.0;
  ref::RopeOptions ro;
  ro.layout = o.layout;
  ro.rotaryDim = 4;
  ro.base = 100.0;
  EXPECT_CLOSE(ref::rotationBlock(x, angles, R, o),
               ref::orthogonal(ref::givens(ref::rope(x, pos, ro), angles), R),
               1e-12);
  // The fold of docs/Math.md §4: x·(∏G)·R = x·Q with Q = (∏G)·R, per head.
  Tensor shared = uni({10}, -kPi, kPi);
  Tensor Qm = ref::orthogonal(ref::givens(torch::eye(D, f64), shared), R);
  EXPECT_CLOSE(ref::rotationBlock(x, shared, R), torch::matmul(x, Qm), 1e-12);
}

//===----------------------------------------------------------------------===//
// §5 HDD-RoPE
//===----------------------------------------------------------------------===//

TEST_F(Ref, SOGeneratorIsSpecialOrthogonal) {
  for (int64_t c : {2, 3, 4, 8})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp}) {
      SCOPED_TRACE("c = " + std::to_string(c) + " form " +
                   std::to_string(int(form)));
      Tensor a = uni({5, 2, c * (c - 1) / 2}, -kPi, kPi);
      Tensor G = ref::soGenerator(a, c, form);
      ASSERT_EQ(G.sizes(), torch::IntArrayRef({5, 2, c, c}));
      Tensor eye = torch::eye(c, f64).expand({5, 2, c, c});
      EXPECT_CLOSE(torch::matmul(G.transpose(-1, -2), G), eye, tolOf(form));
      EXPECT_CLOSE(torch::det(G), torch::ones({5, 2}, f64), tolOf(form));
      // Zero angles give the identity.
      EXPECT_CLOSE(ref::soGenerator(torch::zeros_like(a), c, form), eye, 1e-15);
    }
}

TEST_F(Ref, SOGeneratorFormsForC2) {
  // Math §5's two forms have opposite orientations: givens(a) is Math §2's
  // [[cos, -sin], [sin, cos]], exp(A) with A[0,1] = a is [[cos, sin],
  // [-sin, cos]]. So givens(a) = exp(-a) = exp(a)ᵀ.
  Tensor a = uni({7, 1}, -kPi, kPi);
  Tensor c = a.squeeze(-1).cos(), s = a.squeeze(-1).sin();
  Tensor rotation =
      torch::stack({torch::stack({c, -s}, -1), torch::stack({s, c}, -1)}, -2);
  EXPECT_CLOSE(ref::soGenerator(a, 2, ref::SOForm::Givens), rotation, 1e-15);
  EXPECT_CLOSE(ref::soGenerator(a, 2, ref::SOForm::Exp),
               rotation.transpose(-1, -2), kExpTol);
  EXPECT_CLOSE(ref::soGenerator(a, 2, ref::SOForm::Givens),
               ref::soGenerator(-a, 2, ref::SOForm::Exp), kExpTol);
}

TEST_F(Ref, SOGeneratorGivensIsTheOrderedProduct) {
  for (int64_t c : {3, 4, 5}) {
    const int64_t K = c * (c - 1) / 2;
    Tensor a = uni({K}, -kPi, kPi);
    const std::vector<Pair> lex = ref::lexicographicPairs(c);
    ASSERT_EQ(static_cast<int64_t>(lex.size()), K);
    EXPECT_EQ(lex[0], Pair(0, 1));
    EXPECT_EQ(lex[1], Pair(0, 2));
    EXPECT_EQ(lex[K - 1], Pair(c - 2, c - 1));
    Tensor G = ref::soGenerator(a, c, ref::SOForm::Givens);
    EXPECT_CLOSE(G, chainMatrix(c, lex, toVector(a)), 1e-13);
    // The same chain through rotary.givens: I·G_1⋯G_K.
    ref::GivensOptions o;
    o.pairs = lex;
    EXPECT_CLOSE(G, ref::givens(torch::eye(c, f64), a, o), 1e-13);
  }
}

TEST_F(Ref, SOGeneratorExpMatchesSeriesAndRodrigues) {
  // c = 3: A = [[0, a01, a02], [-a01, 0, a12], [-a02, -a12, 0]];
  // exp(A) = I + sin(θ)K + (1 - cos θ)K², K = A/θ, θ = |(a01, a02, a12)|.
  Tensor a = uni({3}, -2, 2);
  const double a01 = a[0].item<double>(), a02 = a[1].item<double>(),
               a12 = a[2].item<double>();
  Tensor A = torch::tensor(
      {{0.0, a01, a02}, {-a01, 0.0, a12}, {-a02, -a12, 0.0}}, f64);
  const double theta = std::sqrt(a01 * a01 + a02 * a02 + a12 * a12);
  Tensor K = A / theta;
  Tensor rodrigues = torch::eye(3, f64) + std::sin(theta) * K +
                     (1 - std::cos(theta)) * torch::matmul(K, K);
  EXPECT_CLOSE(ref::soGenerator(a, 3, ref::SOForm::Exp), rodrigues, kExpTol);
  // c = 5 against the Taylor series.
  Tensor b = uni({10}, -0.5, 0.5);
  Tensor B = torch::zeros({5, 5}, f64);
  const std::vector<Pair> lex = ref::lexicographicPairs(5);
  for (size_t k = 0; k < lex.size(); ++k) {
    B[lex[k].first][lex[k].second] = b[k].item<double>();
    B[lex[k].second][lex[k].first] = -b[k].item<double>();
  }
  Tensor series = torch::eye(5, f64), term = torch::eye(5, f64);
  for (int n = 1; n < 30; ++n) {
    term = torch::matmul(term, B) / n;
    series = series + term;
  }
  EXPECT_CLOSE(ref::soGenerator(b, 5, ref::SOForm::Exp), series, kExpTol);
}

TEST_F(Ref, CumulativeRotationIsARunningProduct) {
  const int64_t B = 2, T = 5, H = 3, C = 2, c = 4;
  Tensor G =
      ref::soGenerator(uni({B, T, H, C, 6}, -kPi, kPi), c, ref::SOForm::Givens);
  Tensor P = ref::cumulativeRotation(G);
  ASSERT_EQ(P.sizes(), G.sizes());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t m = 0; m < C; ++m) {
        Tensor run = torch::eye(c, f64);
        for (int64_t t = 0; t < T; ++t) {
          run = torch::matmul(run, G[b][t][h][m]); // G_1·G_2⋯G_t
          EXPECT_CLOSE(P[b][t][h][m], run, 1e-13);
        }
      }
  // P_iᵀ·P_j = G_{i+1}⋯G_j: only the tokens between i and j matter.
  Tensor between = torch::matmul(G[0][2][0][0], G[0][3][0][0]);
  EXPECT_CLOSE(torch::matmul(P[0][1][0][0].t(), P[0][3][0][0]), between, 1e-12);
  // Any axis: scanning axis 0 of the transposed tensor is the same.
  Tensor Pt = ref::cumulativeRotation(G.transpose(0, 1).contiguous(), 0);
  EXPECT_CLOSE(Pt.transpose(0, 1), P, 0.0);
  Tensor P2 = ref::cumulativeRotation(G.transpose(1, 2).contiguous(), 2);
  EXPECT_CLOSE(P2.transpose(1, 2), P, 0.0);
  EXPECT_THROW(ref::cumulativeRotation(G, 4), c10::Error);
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::cumulativeRotation(in[0], 0);
      },
      {rnd({4, 2, 3, 3})}, "cumulative_rotation");
}

TEST_F(Ref, HDDRopeWithC2IsRope) {
  // Constant per-chunk rate ω_m: P_t = G(ω)^(t+1) (P_0 = G_1), so hdd_rope is
  // interleaved rope at positions t + 1 with inv_freq ω.
  const int64_t B = 2, T = 6, H = 3, D = 8;
  Tensor x = rnd({B, T, H, D});
  Tensor omega = uni({D / 2}, -1, 1);
  Tensor a = omega.view({1, 1, 1, D / 2, 1}).expand({B, T, H, D / 2, 1});
  ref::HDDRopeOptions o;
  o.form = ref::SOForm::Givens;
  o.chunk = 2;
  ref::RopeOptions r;
  r.layout = ref::RopeLayout::Interleaved;
  r.invFreq = omega;
  Tensor pos = torch::arange(1, T + 1, f64);
  EXPECT_CLOSE(ref::hddRope(x, a.contiguous(), o), ref::rope(x, pos, r), 1e-12);
}

TEST_F(Ref, HDDRopeFormsAndInverse) {
  const int64_t B = 2, T = 5, H = 2, D = 12;
  Tensor x = rnd({B, T, H, D});
  for (int64_t c : {3, 4})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp}) {
      const int64_t C = D / c, K = c * (c - 1) / 2;
      Tensor a = uni({B, T, H, C, K}, -1, 1);
      Tensor P = ref::cumulativeRotation(ref::soGenerator(a, c, form), 1);
      ref::HDDRopeOptions pForm, fused, inv;
      fused.form = form;
      fused.chunk = c;
      Tensor y = ref::hddRope(x, P, pForm);
      EXPECT_CLOSE(ref::hddRope(x, a, fused), y, 1e-12);
      // Chunk m of token t as a column vector.
      const int64_t b = 1, t = 3, h = 1, m = C - 1;
      EXPECT_CLOSE(y[b][t][h].narrow(0, m * c, c),
                   torch::matmul(P[b][t][h][m], x[b][t][h].narrow(0, m * c, c)),
                   1e-13);
      inv.inverse = true;
      EXPECT_CLOSE(ref::hddRope(y, P, inv), x, tolOf(form));
      fused.inverse = true;
      EXPECT_CLOSE(ref::hddRope(y, a, fused), x, tolOf(form));
      // Scores see only the rotations between the two tokens.
      Tensor q = rnd({1, T, 1, c}), k = rnd({1, T, 1, c});
      Tensor a1 = a.narrow(0, 0, 1).narrow(2, 0, 1).narrow(3, 0, 1);
      Tensor qr = ref::hddRope(q, a1, [&] {
        ref::HDDRopeOptions f;
        f.form = form;
        f.chunk = c;
        return f;
      }());
      Tensor kr = ref::hddRope(k, a1, [&] {
        ref::HDDRopeOptions f;
        f.form = form;
        f.chunk = c;
        return f;
      }());
      Tensor G = ref::soGenerator(a1, c, form)[0].select(1, 0).select(1, 0);
      Tensor between = torch::matmul(G[2], G[3]); // G_{i+1}⋯G_j, i=1, j=3
      EXPECT_NEAR((qr[0][1][0] * kr[0][3][0]).sum().item<double>(),
                  torch::matmul(q[0][1][0], torch::matmul(between, k[0][3][0]))
                      .item<double>(),
                  tolOf(form));
    }
  // x̄ = Pᵀ·ȳ.
  Tensor P = ref::soGenerator(uni({1, 3, 1, 2, 3}, -1, 1), 3, ref::SOForm::Exp);
  Tensor xs = rnd({1, 3, 1, 6}).set_requires_grad(true);
  Tensor yBar = rnd({1, 3, 1, 6});
  auto g = torch::autograd::grad({ref::hddRope(xs, P)}, {xs}, {yBar});
  ref::HDDRopeOptions inv;
  inv.inverse = true;
  EXPECT_CLOSE(g[0], ref::hddRope(yBar, P, inv), 1e-13);
  for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
    checkGradients(
        [form](const std::vector<Tensor> &in) {
          ref::HDDRopeOptions o;
          o.form = form;
          o.chunk = 3;
          return ref::hddRope(in[0], in[1], o);
        },
        {rnd({1, 4, 2, 6}), uni({1, 4, 2, 2, 3}, -1, 1)}, "hdd_rope fused");
}

//===----------------------------------------------------------------------===//
// §6 attention
//===----------------------------------------------------------------------===//

TEST_F(Ref, AttentionWithoutMaskIsSoftmax) {
  const int64_t B = 2, H = 3, T = 5, S = 7, D = 4;
  Tensor q = rnd({B, H, T, D}), k = rnd({B, H, S, D}), v = rnd({B, H, S, D});
  auto r = ref::attention(q, k, v);
  Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / 2.0; // D^-1/2
  EXPECT_CLOSE(r.output, torch::matmul(torch::softmax(scores, -1), v), 1e-12);
  EXPECT_CLOSE(r.lse, torch::logsumexp(scores, -1), 1e-12);
  ref::AttentionOptions o;
  o.scale = 0.3;
  r = ref::attention(q, k, v, o);
  scores = torch::matmul(q, k.transpose(-1, -2)) * 0.3;
  EXPECT_CLOSE(r.output, torch::matmul(torch::softmax(scores, -1), v), 1e-12);
}

TEST_F(Ref, AttentionMaskHandCases) {
  auto mask = [](int64_t T, int64_t S, bool causal, int64_t W, int64_t g) {
    ref::AttentionOptions o;
    o.causal = causal;
    o.window = W;
    o.globalTokens = g;
    return ref::attentionMask(T, S, o).to(torch::kInt64);
  };
  auto table = [](std::vector<std::vector<int64_t>> rows) {
    std::vector<int64_t> flat;
    for (auto &r : rows)
      flat.insert(flat.end(), r.begin(), r.end());
    return torch::tensor(flat, torch::kInt64)
        .view({int64_t(rows.size()), int64_t(rows[0].size())});
  };
  // Causal, window 1, one global token.
  EXPECT_TRUE(torch::equal(mask(5, 5, true, 1, 1), table({{1, 0, 0, 0, 0},
                                                          {1, 1, 0, 0, 0},
                                                          {1, 1, 1, 0, 0},
                                                          {1, 0, 1, 1, 0},
                                                          {1, 0, 0, 1, 1}})));
  // Not causal, window 1: j >= i - 1 only (Math §6's window has no upper
  // side).
  EXPECT_TRUE(torch::equal(
      mask(4, 4, false, 1, 0),
      table({{1, 1, 1, 1}, {1, 1, 1, 1}, {0, 1, 1, 1}, {0, 0, 1, 1}})));
  // Global query 0 sees every key, not causal; window 0.
  EXPECT_TRUE(torch::equal(
      mask(4, 4, false, 0, 1),
      table({{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 0, 1, 1}, {1, 0, 0, 1}})));
  // Decoding: T = 1 query at position S - 1 sees every key when causal.
  EXPECT_TRUE(torch::equal(mask(1, 4, true, -1, 0), table({{1, 1, 1, 1}})));
  // KV cache, T = 2 of S = 5, causal window 2: positions 3 and 4.
  EXPECT_TRUE(torch::equal(mask(2, 5, true, 2, 0),
                           table({{0, 1, 1, 1, 0}, {0, 0, 1, 1, 1}})));
  // T > S causal: positions -2, -1, 0, 1; rows 0 and 1 see nothing.
  EXPECT_TRUE(torch::equal(mask(4, 2, true, -1, 0),
                           table({{0, 0}, {0, 0}, {1, 0}, {1, 1}})));
}

TEST_F(Ref, AttentionMatchesScalarOracle) {
  const int64_t B = 2, H = 2, D = 3;
  struct Case {
    int64_t T, S;
    bool causal;
    int64_t window, global;
    int bias; // 0 none, 1 table, 2 full
    bool span;
  };
  const std::vector<Case> cases = {
      {6, 6, false, -1, 0, 0, false}, {6, 6, true, -1, 0, 0, false},
      {6, 6, true, 2, 0, 0, false},   {6, 6, true, 2, 2, 0, false},
      {6, 6, false, 1, 1, 1, false},  {6, 6, true, -1, 0, 2, false},
      {6, 6, true, 3, 1, 1, true},    {3, 7, true, 2, 1, 1, true},
      {1, 5, true, -1, 0, 2, true},   {5, 3, true, -1, 0, 1, false},
      {7, 7, false, -1, 0, 0, true},  {4, 9, false, 2, 3, 2, true},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("T " + std::to_string(c.T) + " S " + std::to_string(c.S) +
                 " causal " + std::to_string(c.causal) + " window " +
                 std::to_string(c.window) + " global " +
                 std::to_string(c.global) + " bias " + std::to_string(c.bias) +
                 " span " + std::to_string(c.span));
    Tensor q = rnd({B, H, c.T, D}), k = rnd({B, H, c.S, D}),
           v = rnd({B, H, c.S, D});
    ref::AttentionOptions o;
    o.causal = c.causal;
    o.window = c.window;
    o.globalTokens = c.global;
    o.scale = 0.8;
    if (c.bias == 1)
      o.bias = rnd({H, 5}); // W' = 2
    if (c.bias == 2)
      o.bias = rnd({H, c.T, c.S});
    if (c.span) {
      o.span = uni({H}, -0.5, 3.5);
      o.spanRamp = 1.7;
    }
    auto r = ref::attention(q, k, v, o);
    auto e = attentionOracle(q, k, v, o);
    EXPECT_CLOSE(r.output, e.output, 1e-12);
    EXPECT_TRUE(torch::equal(torch::isinf(r.lse), torch::isinf(e.lse)));
    Tensor fin = torch::isfinite(e.lse);
    EXPECT_CLOSE(r.lse.masked_select(fin), e.lse.masked_select(fin), 1e-12);
    EXPECT_FALSE(torch::isnan(r.output).any().item<bool>());
  }
}

TEST_F(Ref, AttentionFullyMaskedRowsAndSpan) {
  const int64_t B = 1, H = 2, T = 4, S = 2, D = 3;
  Tensor q = rnd({B, H, T, D}).set_requires_grad(true);
  Tensor k = rnd({B, H, S, D}).set_requires_grad(true);
  Tensor v = rnd({B, H, S, D}).set_requires_grad(true);
  ref::AttentionOptions o;
  o.causal = true;
  auto r = ref::attention(q, k, v, o);
  for (int64_t i : {0, 1}) {
    EXPECT_CLOSE(r.output.select(2, i), torch::zeros({B, H, D}, f64), 0.0);
    EXPECT_TRUE((r.lse.select(2, i) == -kInf).all().item<bool>());
  }
  // Row 2 (position 0) sees key 0 only.
  EXPECT_CLOSE(r.output.select(2, 2), v.select(2, 0), 1e-15);
  auto g = torch::autograd::grad({r.output.sum()}, {q, k, v});
  for (const Tensor &t : g)
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>());

  // A span that covers every distance changes nothing; a tiny one leaves
  // the diagonal only (m(0) = 1, m(d >= 1) = 0 for span 0, R 1).
  Tensor qs = rnd({1, H, 6, D}), ks = rnd({1, H, 6, D}), vs = rnd({1, H, 6, D});
  ref::AttentionOptions causal;
  causal.causal = true;
  ref::AttentionOptions wide = causal;
  wide.span = torch::full({H}, 100.0, f64);
  wide.spanRamp = 2.0;
  EXPECT_CLOSE(ref::attention(qs, ks, vs, wide).output,
               ref::attention(qs, ks, vs, causal).output, 1e-13);
  ref::AttentionOptions tight = causal;
  tight.span = torch::zeros({H}, f64);
  tight.spanRamp = 1.0;
  auto t = ref::attention(qs, ks, vs, tight);
  EXPECT_CLOSE(t.output, vs, 1e-13);
  // lse = log Σ m·exp(s): here the diagonal score alone.
  Tensor diag = (qs * ks).sum(-1) / std::sqrt(double(D));
  EXPECT_CLOSE(t.lse, diag, 1e-13);
  // Span -R or less masks even d = 0: every row is empty.
  ref::AttentionOptions none = causal;
  none.span = torch::full({H}, -1.5, f64);
  none.spanRamp = 1.0;
  auto n = ref::attention(qs, ks, vs, none);
  EXPECT_CLOSE(n.output, torch::zeros_like(vs), 0.0);
  EXPECT_TRUE((n.lse == -kInf).all().item<bool>());

  // Half-weight by hand: one query at position 1, keys 0 and 1, span 0,
  // R 2: m(0) = 1, m(1) = 0.5; weights ∝ (0.5·e^{s0}, e^{s1}).
  Tensor q1 = rnd({1, 1, 1, 2}), k1 = rnd({1, 1, 2, 2}), v1 = rnd({1, 1, 2, 2});
  ref::AttentionOptions half;
  half.causal = true;
  half.scale = 1.0;
  half.span = torch::zeros({1}, f64);
  half.spanRamp = 2.0;
  const double s0 = (q1[0][0][0] * k1[0][0][0]).sum().item<double>();
  const double s1 = (q1[0][0][0] * k1[0][0][1]).sum().item<double>();
  const double w0 = 0.5 * std::exp(s0), w1 = std::exp(s1);
  Tensor expected = (w0 * v1[0][0][0] + w1 * v1[0][0][1]) / (w0 + w1);
  auto hr = ref::attention(q1, k1, v1, half);
  EXPECT_CLOSE(hr.output[0][0][0], expected, 1e-14);
  EXPECT_NEAR(hr.lse[0][0][0].item<double>(), std::log(w0 + w1), 1e-14);
}

TEST_F(Ref, AttentionBiasTableEqualsFullBias) {
  const int64_t H = 2, T = 3, S = 6, W = 2;
  Tensor table = rnd({H, 2 * W + 1});
  Tensor full = torch::zeros({H, T, S}, f64);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < S; ++j) {
        const int64_t rel = std::min(std::max(j - (i + S - T), -W), W);
        full[h][i][j] = table[h][rel + W].item<double>();
      }
  Tensor q = rnd({2, H, T, 4}), k = rnd({2, H, S, 4}), v = rnd({2, H, S, 4});
  ref::AttentionOptions a, b;
  a.bias = table;
  b.bias = full;
  EXPECT_CLOSE(ref::attention(q, k, v, a).output,
               ref::attention(q, k, v, b).output, 1e-14);
}

TEST_F(Ref, AttentionGradients) {
  const int64_t H = 2;
  checkGradients(
      [](const std::vector<Tensor> &in) {
        ref::AttentionOptions o;
        o.causal = true;
        o.window = 2;
        o.globalTokens = 1;
        o.bias = in[3];
        o.span = in[4];
        o.spanRamp = 1.5;
        auto r = ref::attention(in[0], in[1], in[2], o);
        return torch::cat({r.output.reshape({-1}), r.lse.reshape({-1})});
      },
      {rnd({2, H, 4, 3}), rnd({2, H, 6, 3}), rnd({2, H, 6, 3}), rnd({H, 5}),
       uni({H}, 0.2, 2.3)},
      "attention", 8);
}

// The full-bias path, a KV cache (T < S) and rows that see no key (T > S,
// causal), with the log-sum-exp in the loss: what rotary.attention_grad's
// tests differentiate through (the table-bias path is checked above).
TEST_F(Ref, AttentionGradientsFullBiasAndEmptyRows) {
  const int64_t H = 2;
  for (auto [T, S] : {std::pair<int64_t, int64_t>{3, 6}, {5, 3}}) {
    checkGradients(
        [](const std::vector<Tensor> &in) {
          ref::AttentionOptions o;
          o.causal = true;
          o.window = 3;
          o.globalTokens = 1;
          o.scale = 0.7;
          o.bias = in[3];
          o.span = in[4];
          o.spanRamp = 2.5;
          auto r = ref::attention(in[0], in[1], in[2], o);
          return torch::cat({r.output.reshape({-1}), r.lse.reshape({-1})});
        },
        {rnd({2, H, T, 3}), rnd({2, H, S, 3}), rnd({2, H, S, 3}),
         rnd({H, T, S}), uni({H}, 0.3, 2.7)},
        "attention, full bias, T " + std::to_string(T) + " S " +
            std::to_string(S),
        10);
  }
}

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

//===----------------------------------------------------------------------===//
// §8 quaternion_rotate
//===----------------------------------------------------------------------===//

TEST_F(Ref, QuaternionRotate) {
  Tensor x = rnd({4, 5, 3});
  Tensor axis = rnd({3});
  // 2π is the identity; any angle keeps norms.
  EXPECT_CLOSE(ref::quaternionRotate(x, axis, torch::full({}, 2 * kPi, f64)), x,
               1e-13);
  Tensor theta = uni({4, 5}, -10, 10);
  Tensor y = ref::quaternionRotate(x, axis, theta);
  EXPECT_CLOSE(y.norm(2, {-1}), x.norm(2, {-1}), 1e-13);
  // About z by π/2: e_x -> e_y, e_y -> -e_x.
  Tensor z = torch::tensor({0.0, 0.0, 3.0}, f64); // not unit: normalised
  Tensor e = torch::eye(3, f64);
  Tensor r = ref::quaternionRotate(e, z, torch::full({}, kPi / 2, f64));
  EXPECT_CLOSE(
      r,
      torch::tensor({{0.0, 1.0, 0.0}, {-1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}}, f64),
      1e-15);
  // Rodrigues: x cosθ + (u × x) sinθ + u (u·x)(1 − cosθ), per vector.
  Tensor axes = rnd({4, 5, 3});
  Tensor u = axes / axes.norm(2, {-1}, true);
  Tensor c = theta.cos().unsqueeze(-1), s = theta.sin().unsqueeze(-1);
  Tensor rodrigues =
      x * c + ref::cross3(u, x) * s + u * (u * x).sum(-1, true) * (1 - c);
  EXPECT_CLOSE(ref::quaternionRotate(x, axes, theta), rodrigues, 1e-13);
  // Same axis: angles add.
  Tensor a1 = torch::full({}, 0.4, f64), a2 = torch::full({}, 1.1, f64);
  EXPECT_CLOSE(
      ref::quaternionRotate(ref::quaternionRotate(x, axis, a1), axis, a2),
      ref::quaternionRotate(x, axis, a1 + a2), 1e-13);
  // A zero axis gives u = 0: the identity.
  EXPECT_CLOSE(ref::quaternionRotate(x, torch::zeros({3}, f64), a1), x, 0.0);
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({3, 3}), rnd({3, 3}), rnd({3})}, "quaternion_rotate");
}

TEST_F(Ref, SOGeneratorGradients) {
  for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
    checkGradients(
        [form](const std::vector<Tensor> &in) {
          return ref::soGenerator(in[0], 4, form);
        },
        {uni({2, 6}, -2, 2)}, "so_generator");
}

// The references whose autograd the HDD-RoPE gradient e2e tests trust: the
// P form (P a differentiable input, both orientations), odd and even small
// chunks of the generator, large exp-form angles, and the inverse fused
// form, against central differences.
TEST_F(Ref, HDDGradientsFiniteDifference) {
  for (bool inverse : {false, true})
    checkGradients(
        [inverse](const std::vector<Tensor> &in) {
          ref::HDDRopeOptions o;
          o.inverse = inverse;
          return ref::hddRope(in[0], in[1], o);
        },
        {rnd({1, 3, 2, 6}), rnd({1, 3, 2, 2, 3, 3})}, "hdd_rope P form", 12);
  for (int64_t c : {2, 3})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      checkGradients(
          [c, form](const std::vector<Tensor> &in) {
            return ref::soGenerator(in[0], c, form);
          },
          {uni({3, c * (c - 1) / 2}, -kPi, kPi)}, "so_generator small c");
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::soGenerator(in[0], 4, ref::SOForm::Exp);
      },
      {uni({2, 6}, -10, 10)}, "so_generator exp, angles ~10", 6, 1e-5);
  for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
    checkGradients(
        [form](const std::vector<Tensor> &in) {
          ref::HDDRopeOptions o;
          o.form = form;
          o.chunk = 4;
          o.inverse = true;
          return ref::hddRope(in[0], in[1], o);
        },
        {rnd({1, 4, 1, 8}), uni({1, 4, 1, 2, 6}, -1, 1)},
        "hdd_rope fused inverse");
}

//===----------------------------------------------------------------------===//
// Finite-difference checks of the forms the compiled gradients are tested
// against (test/e2e/GradRopeChainTest.cpp) that the tests above leave out.
//===----------------------------------------------------------------------===//

TEST_F(Ref, RopeGivensOrthogonalQuaternionGradientsByFiniteDifferences) {
  const int64_t B = 2, T = 3, H = 2, D = 8;
  Tensor pos = torch::randint(0, 50, {B, T}, f64);
  // rope: interleaved and deinterleave, inverse, every parameter at once
  // (inv_freq excludes the base operand, so two sets).
  for (auto layout :
       {ref::RopeLayout::Interleaved, ref::RopeLayout::Deinterleave}) {
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.inverse = true;
          o.invFreq = in[1];
          o.phase = in[2];
          o.scale = in[3];
          return ref::rope(in[0], pos, o);
        },
        {rnd({B, T, H, D}), uni({D / 2}, 0.01, 1.0), rnd({D / 2}),
         torch::full({}, 1.3, f64)},
        "rope inverse inv_freq phase scale");
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.rotaryDim = 4;
          o.scale = in[1];
          o.runtimeBase = in[2];
          return ref::rope(in[0], pos.select(0, 0), o);
        },
        {rnd({B, T, H, D - 1}), torch::full({}, 0.8, f64),
         torch::full({}, 50.0, f64)},
        "rope partial odd D, positions [T], scale and base");
  }
  // givens: explicit (reversed, repeated) pairs, inverse, shared and per
  // head.
  const std::vector<Pair> pairs = {{0, 4}, {3, 1}, {0, 4}, {2, 3}};
  for (bool perHead : {false, true})
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::GivensOptions o;
          o.pairs = pairs;
          o.inverse = true;
          return ref::givens(in[0], in[1], o);
        },
        {rnd({3, 2, 5}), perHead ? uni({2, 4}, -kPi, kPi)
                                 : uni({4}, -kPi, kPi)},
        perHead ? "givens inverse pairs per head" : "givens inverse pairs");
  // orthogonal: rectangular, shared, both orientations.
  for (bool transpose : {false, true})
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::OrthogonalOptions o;
          o.transpose = transpose;
          return ref::orthogonal(in[0], in[1], o);
        },
        {rnd({4, 5}), transpose ? rnd({3, 5}) : rnd({5, 3})},
        transpose ? "orthogonal transposed" : "orthogonal");
  // orthogonality penalty: shared and per head, rectangular.
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::orthogonalityPenalty(in[0]);
      },
      {rnd({5, 3})}, "orthogonality penalty");
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::orthogonalityPenalty(in[0]);
      },
      {rnd({2, 3, 4})}, "orthogonality penalty per head");
  // quaternion: shared axis and angle, per-vector axis with a shared angle.
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({4, 2, 3}), rnd({3}), torch::full({}, 0.9, f64)},
      "quaternion shared axis and angle");
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({5, 3}), rnd({5, 3}), torch::full({}, -2.1, f64)},
      "quaternion per-vector axis");
}
