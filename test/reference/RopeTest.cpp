//===- RopeTest.cpp - the rope and inv_freq references --------------------===//
//
// rope against hand-computed one-hot cases and a scalar-loop oracle, its
// invariants (inverse, norms, relative positions), the agreement of its
// frequency sources, f32 angles, and its backward formulas (docs/Math.md
// §1); the same for xPos (XPos.h); inv_freq's frequency groups.
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"
#include "XPos.h"

#include <torch/autograd.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::reftest;

namespace {

// rope on x [B, T, H, D] with positions [B, T] (f64), in scalar loops
// independent of Reference.cpp; with `xpos`, each output pair times
// ζ_i^(±p/scale_base).
Tensor ropeOracle(const Tensor &x, const Tensor &positions,
                  ref::RopeLayout layout, int64_t r,
                  const std::vector<double> &freq,
                  const std::vector<double> &phase, double scale, bool inverse,
                  const ref::XPosOptions *xpos = nullptr) {
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
          double s = 1.0;
          if (xpos) {
            double zeta =
                (double(i) / double(half) + xpos->gamma) / (1.0 + xpos->gamma);
            s = std::pow(zeta,
                         (xpos->key ? -P[b][t] : P[b][t]) / xpos->scaleBase);
          }
          const double a = X[b][t][h][ia], bb = X[b][t][h][ib];
          Y[b][t][h][oa] = s * (a * std::cos(theta) - bb * std::sin(theta));
          Y[b][t][h][ob] = s * (a * std::sin(theta) + bb * std::cos(theta));
        }
  return y;
}

/// rope's options of `layout` and rotary_dim `r` (-1: r = D), no operands.
ref::RopeOptions layoutOptions(ref::RopeLayout layout, int64_t r = -1) {
  ref::RopeOptions o;
  o.layout = layout;
  o.rotaryDim = r;
  return o;
}

/// The inputs of the scalar-oracle tests, drawn in this order: x
/// [B, T, H, D] rotated on its first r features, positions [B, T] in
/// [0, 1000), frequencies and phases; and the scale.
struct OracleInputs {
  static constexpr int64_t B = 2, T = 5, H = 3, D = 11, r = 6;
  static constexpr double scale = 0.75;
  Tensor x = rnd({B, T, H, D});
  Tensor positions = torch::randint(0, 1000, {B, T}, f64);
  Tensor freq = uni({r / 2}, 0.01, 1.5);
  Tensor phase = uni({r / 2}, -kPi, kPi);

  /// rope's options with these frequencies, phases and scale.
  ref::RopeOptions options(ref::RopeLayout layout, bool inverse) const {
    ref::RopeOptions o = layoutOptions(layout, r);
    o.invFreq = freq;
    o.phase = phase;
    o.scale = torch::full({}, scale, f64);
    o.inverse = inverse;
    return o;
  }

  /// ropeOracle of x at `pos` [B, T] with the same.
  Tensor oracle(const Tensor &pos, ref::RopeLayout layout, bool inverse,
                const ref::XPosOptions *xpos = nullptr) const {
    return ropeOracle(x, pos, layout, r, toVector(freq), toVector(phase), scale,
                      inverse, xpos);
  }
};

using RopeFn = std::function<Tensor(const Tensor &, const ref::RopeOptions &)>;

/// Checks autograd's backward of a rope or xPos rope `op` (of x and
/// options) against docs/Math.md §1. Options o: `layout`, `rotaryDim`
/// (-1: r = D), random frequencies and phases (a leaf); then x [shape] and
/// ȳ, drawn in this order. x̄ must be op with `inverse` (the transpose) on
/// ȳ, within `dxTol`; φ̄_i = Σ s·θ̄, θ̄ = ȳ_a(−a sinθ − b cosθ) + ȳ_b(a cosθ
/// − b sinθ) with (a, b) read and (ȳ_a, ȳ_b) written where `layout` puts
/// them and s the xPos pair scale `pairScale` [B, T, r/2] (1 when
/// undefined), within `dPhaseTol`. Returns x̄ and ȳ.
std::pair<Tensor, Tensor> expectRopeBackwardFollowsSpec(
    const RopeFn &op, ref::RopeLayout layout, int64_t rotaryDim,
    const Tensor &pos, std::vector<int64_t> shape, const Tensor &pairScale,
    double dxTol, double dPhaseTol) {
  const int64_t r = rotaryDim >= 0 ? rotaryDim : shape.back();
  ref::RopeOptions o = layoutOptions(layout, rotaryDim);
  o.invFreq = uni({r / 2}, 0.01, 1.0);
  o.phase = rnd({r / 2}).set_requires_grad(true);
  Tensor x = rnd(shape).set_requires_grad(true);
  Tensor yBar = rnd(shape);
  auto g = torch::autograd::grad({op(x, o)}, {x, o.phase}, {yBar});
  ref::RopeOptions inv = o;
  inv.phase = o.phase.detach();
  inv.inverse = true;
  EXPECT_CLOSE(g[0], op(yBar, inv), dxTol);
  Tensor theta = ref::ropeAngles(pos, r, inv).unsqueeze(2);
  auto [xa, xb] =
      ref::ropePairElements(x.detach(), r, layout != ref::RopeLayout::Half);
  auto [ya, yb] =
      ref::ropePairElements(yBar, r, layout == ref::RopeLayout::Interleaved);
  Tensor thetaBar = ya * (-xa * theta.sin() - xb * theta.cos()) +
                    yb * (xa * theta.cos() - xb * theta.sin());
  if (pairScale.defined())
    thetaBar = pairScale.unsqueeze(2) * thetaBar;
  EXPECT_CLOSE(g[1], thetaBar.sum({0, 1, 2}), dPhaseTol);
  return {g[0], yBar};
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
  const OracleInputs in;
  const int64_t B = in.B, T = in.T, r = in.r;
  const Tensor &x = in.x, &positions = in.positions;
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true}) {
      SCOPED_TRACE("layout " + std::to_string(int(layout)) + " inverse " +
                   std::to_string(inverse));
      EXPECT_CLOSE(ref::rope(x, positions, in.options(layout, inverse)),
                   in.oracle(positions, layout, inverse), 1e-12);
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
    ref::RopeOptions o = layoutOptions(layout);
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
    // x̄ = the same op with θ → −θ (and the inverse layout map) on ȳ;
    // φ̄_i = Σ θ̄.
    expectRopeBackwardFollowsSpec(
        [&](const Tensor &t, const ref::RopeOptions &opts) {
          return ref::rope(t, pos, opts);
        },
        layout, /*rotaryDim=*/-1, pos, {B, T, H, D}, Tensor(), 1e-12, 1e-10);
  }
  // Every differentiable operand against finite differences.
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Deinterleave}) {
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o = layoutOptions(layout, 6);
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
          ref::RopeOptions o = layoutOptions(layout);
          o.invFreq = in[1];
          o.inverse = true;
          return ref::rope(in[0], pos, o);
        },
        {rnd({B, T, H, D}), uni({D / 2}, 0.01, 1.0)}, "rope inv_freq");
  }
}

//===----------------------------------------------------------------------===//
// §1 rope with xPos
//===----------------------------------------------------------------------===//

TEST_F(Ref, RopeXPosMatchesScalarOracle) {
  const OracleInputs in;
  const Tensor &x = in.x, &positions = in.positions;
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true})
      for (bool key : {false, true}) {
        SCOPED_TRACE("layout " + std::to_string(int(layout)) + " inverse " +
                     std::to_string(inverse) + " key " + std::to_string(key));
        ref::RopeOptions o = in.options(layout, inverse);
        ref::XPosOptions xo;
        xo.key = key;
        xo.scaleBase = 300.0;
        xo.gamma = 0.25;
        EXPECT_CLOSE(ref::ropeXPos(x, positions, o, xo),
                     in.oracle(positions, layout, inverse, &xo), 1e-9);
        // Positions [T], default scale base and γ.
        ref::XPosOptions def;
        def.key = key;
        Tensor p1 = positions[0];
        EXPECT_CLOSE(
            ref::ropeXPos(x, p1, o, def),
            in.oracle(p1.unsqueeze(0).expand({in.B, in.T}).contiguous(), layout,
                      inverse, &def),
            1e-9);
      }
}

TEST_F(Ref, RopeXPosScalesQueriesAndKeysOppositely) {
  const int64_t D = 16;
  Tensor q = rnd({1, 1, 1, D}), k = rnd({1, 1, 1, D});
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved}) {
    ref::RopeOptions o = layoutOptions(layout);
    o.phase = rnd({D / 2});
    ref::XPosOptions query, key;
    key.key = true;
    // The scores still depend on m − n only: ζ^(m/sb)·ζ^(−n/sb).
    auto score = [&](double m, double n) {
      Tensor a = ref::ropeXPos(q, torch::full({1}, m, f64), o, query);
      Tensor b = ref::ropeXPos(k, torch::full({1}, n, f64), o, key);
      return (a * b).sum().item<double>();
    };
    EXPECT_NEAR(score(30, 10), score(1030, 1010), 1e-9);
    EXPECT_NEAR(score(0, 50), score(200, 250), 1e-9);
    // ... through ζ^((m−n)/sb), which plain RoPE's scores lack.
    auto plain = [&](double m, double n) {
      return (ref::rope(q, torch::full({1}, m, f64), o) *
              ref::rope(k, torch::full({1}, n, f64), o))
          .sum()
          .item<double>();
    };
    EXPECT_NEAR(score(7, 7), plain(7, 7), 1e-12);
    EXPECT_GT(std::abs(score(400, 0) - plain(400, 0)), 1e-3);
  }
  Tensor x = rnd({2, 6, 3, 8});
  Tensor positions = torch::randint(0, 2000, {2, 6}, f64);
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    ref::RopeOptions o, inv;
    o.layout = inv.layout = layout;
    o.rotaryDim = inv.rotaryDim = 6;
    inv.inverse = true;
    ref::XPosOptions query, key;
    key.key = true;
    Tensor y = ref::ropeXPos(x, positions, o, query);
    // A key's inverse undoes a query's rope: the scales multiply to 1.
    EXPECT_CLOSE(ref::ropeXPos(y, positions, inv, key), x, 1e-10);
    // `inverse` keeps the scale: a query's inverse after a query's rope is
    // x times s² pair by pair (where x's pairs were read).
    Tensor twice = ref::ropeXPos(y, positions, inv, query);
    Tensor s2 = ref::xposPairScale(positions, 6, query).square().unsqueeze(2);
    Tensor s2f = layout == ref::RopeLayout::Half
                     ? torch::cat({s2, s2}, -1)
                     : torch::stack({s2, s2}, -1).reshape({2, 6, 1, 6});
    EXPECT_CLOSE(twice.narrow(-1, 0, 6), x.narrow(-1, 0, 6) * s2f, 1e-10);
    EXPECT_CLOSE(twice.narrow(-1, 6, 2), x.narrow(-1, 6, 2), 0.0);
    EXPECT_GT(maxDiff(twice, x), 1e-3);
    // At position 0 xPos is plain RoPE.
    Tensor z = torch::zeros({6}, f64);
    EXPECT_CLOSE(ref::ropeXPos(x, z, o, query), ref::rope(x, z, o), 1e-15);
  }
}

TEST_F(Ref, RopeXPosGradientsFollowSpec) {
  const int64_t B = 2, T = 3, H = 2, D = 10, r = 8;
  Tensor pos = torch::randint(0, 600, {B, T}, f64);
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool key : {false, true}) {
      SCOPED_TRACE("layout " + std::to_string(int(layout)) + " key " +
                   std::to_string(key));
      ref::XPosOptions xo;
      xo.key = key;
      xo.scaleBase = 200.0;
      // x̄ = s·R(−θ)ȳ: the same xPos rope with `inverse` (the transpose);
      // φ̄_i = Σ s·θ̄.
      auto [dx, yBar] = expectRopeBackwardFollowsSpec(
          [&](const Tensor &t, const ref::RopeOptions &opts) {
            return ref::ropeXPos(t, pos, opts, xo);
          },
          layout, r, pos, {B, T, H, D}, ref::xposPairScale(pos, r, xo), 1e-10,
          1e-9);
      // The pass-through features get ȳ unscaled.
      EXPECT_CLOSE(dx.narrow(-1, r, D - r), yBar.narrow(-1, r, D - r), 0.0);
    }
  // Every differentiable operand against finite differences.
  for (auto layout :
       {ref::RopeLayout::Interleaved, ref::RopeLayout::Deinterleave})
    for (bool key : {false, true}) {
      ref::XPosOptions xo;
      xo.key = key;
      xo.scaleBase = 100.0;
      checkGradients(
          [&](const std::vector<Tensor> &in) {
            ref::RopeOptions o = layoutOptions(layout, 6);
            o.invFreq = in[1];
            o.phase = in[2];
            o.scale = in[3];
            o.inverse = key;
            return ref::ropeXPos(in[0], pos, o, xo);
          },
          {rnd({B, T, H, D}), uni({3}, 0.01, 1.0), rnd({3}),
           torch::full({}, 0.7, f64)},
          "rope xpos");
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
