//===- ChainTest.cpp - givens, orthogonal and rotation_block references ---===//
//
// The round-robin schedule, Givens chains against explicit matrix products
// (hand cases, explicit pairs, inverse, per head) and their backward
// formulas (docs/Math.md §2); orthogonal and the orthogonality penalty
// (§3); rotation_block as rope, givens and orthogonal composed, and its
// fold (§4).
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace ref = rotary::reference;
using ref::Pair;
using torch::Tensor;
using namespace rotary::reftest;

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

//===----------------------------------------------------------------------===//
// §4 rotation_block
//===----------------------------------------------------------------------===//

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
