//===- HDDTest.cpp - the HDD-RoPE references ------------------------------===//
//
// so_generator (special orthogonal, both forms against the ordered product,
// the series and Rodrigues), cumulative_rotation as a running product over
// any axis, hdd_rope (its P and fused forms, inverse, c = 2 as rope) and
// their gradients against finite differences (docs/Math.md §5).
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <cmath>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using ref::Pair;
using torch::Tensor;
using namespace rotary::reftest;

namespace {

// LibTorch's f64 matrix_exp (1.13) is accurate to ~2.5e-10 only for 2x2 and
// some 3x3 inputs; comparisons involving the exp form allow that.
const double kExpTol = 1e-9;
double tolOf(ref::SOForm form) {
  return form == ref::SOForm::Exp ? kExpTol : 1e-12;
}

} // namespace

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
