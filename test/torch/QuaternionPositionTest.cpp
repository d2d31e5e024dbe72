//===- QuaternionPositionTest.cpp - rotary::nn::QuaternionPosition --------===//
//
// Vector g of a head at position p turned by p·base^(-g/G) about the head's
// axis u_g: the compiled forward and backward (x and the axis) against the
// module's reference path with the same axes and against an independent
// f64 reference (the rotation matrix exp(θ·[u]ₓ) under LibTorch autograd),
// on fresh random inputs: T = 1, batch 1, head dims that are and are not
// multiples of 3, positions [T] and [B, T] up to 10⁵. Then the property the
// scheme exists for (scores q_p·k_s unchanged when every position moves by
// a constant) and bad input.
//
// Tolerances (f32 against f64): outputs and x gradients
// |a - b| <= 1e-4·|b| + 1e-5; the axis gradient, a sum over every token,
// 1e-4·|b| + 1e-5·max(1, max|b|).
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/QuaternionPosition.h"

#include "TestUtil.h"

using namespace rotary;
using namespace rotary::test;

namespace {

/// The independent reference in f64: x [B, T, H, D], axis [H, G, 3],
/// positions [T] or [B, T].
torch::Tensor rotateF64(const torch::Tensor &x, const torch::Tensor &axis,
                        const torch::Tensor &positions, double base) {
  int64_t D = x.size(-1), G = D / 3;
  torch::Tensor u = axis / axis.norm(2, -1, true);
  torch::Tensor zero = torch::zeros_like(u.select(-1, 0));
  torch::Tensor u0 = u.select(-1, 0), u1 = u.select(-1, 1),
                u2 = u.select(-1, 2);
  // [u]ₓ, the cross-product matrix: [u]ₓ·v = u × v.
  torch::Tensor cross = torch::stack({torch::stack({zero, -u2, u1}, -1),
                                      torch::stack({u2, zero, -u0}, -1),
                                      torch::stack({-u1, u0, zero}, -1)},
                                     -2); // [H, G, 3, 3]
  torch::Tensor p = positions.to(torch::kFloat64);
  if (p.dim() == 1)
    p = p.unsqueeze(0);
  torch::Tensor f = torch::empty({G}, torch::kFloat64);
  for (int64_t g = 0; g < G; ++g)
    f[g] = std::pow(base, -double(g) / double(G));
  torch::Tensor theta = (p.unsqueeze(-1) * f).unsqueeze(2); // [B, T, 1, G]
  torch::Tensor r = torch::matrix_exp(theta.unsqueeze(-1).unsqueeze(-1) *
                                      cross); // [B, T, H, G, 3, 3]
  std::vector<int64_t> vecShape = {x.size(0), x.size(1), x.size(2), G, 3};
  torch::Tensor v = x.narrow(-1, 0, 3 * G).reshape(vecShape);
  torch::Tensor y = torch::matmul(r, v.unsqueeze(-1)).squeeze(-1);
  y = y.reshape({x.size(0), x.size(1), x.size(2), 3 * G});
  return torch::cat({y, x.narrow(-1, 3 * G, D - 3 * G)}, -1);
}

void checkShape(int64_t B, int64_t T, int64_t H, int64_t D,
                bool batchPositions) {
  SCOPED_TRACE(::testing::Message()
               << "B " << B << " T " << T << " H " << H << " D " << D
               << " positions " << (batchPositions ? "[B, T]" : "[T]"));
  nn::QuaternionPosition m(nn::QuaternionPositionOptions(H, D));
  auto ref = referenceCopy<nn::QuaternionPositionImpl>(m);
  torch::Tensor positions =
      batchPositions ? torch::randint(0, 100000, {B, T}, torch::kInt64)
                     : torch::arange(T, torch::kInt64) +
                           torch::randint(0, 1000, {1}, torch::kInt64);
  torch::Tensor x = torch::randn({B, T, H, D}), dy = torch::randn({B, T, H, D});

  auto run = [&](nn::QuaternionPositionImpl &module) {
    torch::Tensor xi = x.clone().requires_grad_(true);
    torch::Tensor y = module.forward(xi, positions);
    (y * dy).sum().backward();
    return std::make_pair(y, xi.grad());
  };
  auto [y, dx] = run(*m);
  auto [yr, dxr] = run(*ref);

  torch::Tensor x64 = f64Leaf(x), u64 = f64Leaf(m->axis);
  torch::Tensor y64 = rotateF64(x64, u64, positions, 10000.0);
  (y64 * dy.to(torch::kFloat64)).sum().backward();

  expectClose(y, y64, 1e-4, 1e-5, "y");
  expectClose(yr, y64, 1e-4, 1e-5, "y (reference path)");
  expectClose(dx, x64.grad(), 1e-4, 1e-5, "dx");
  expectClose(dxr, x64.grad(), 1e-4, 1e-5, "dx (reference path)");
  expectCloseScaled(m->axis.grad(), u64.grad(), 1e-4, 1e-5, "daxis");
  expectCloseScaled(ref->axis.grad(), u64.grad(), 1e-4, 1e-5,
                    "daxis (reference path)");
  // The features past 3·G are not touched.
  int64_t tail = D % 3;
  if (tail) {
    EXPECT_TRUE(torch::equal(y.narrow(-1, D - tail, tail),
                             x.narrow(-1, D - tail, tail)));
  }
}

TEST(NnQuaternionPosition, CompiledMatchesReferenceAndF64) {
  checkShape(1, 1, 1, 3, false);
  checkShape(2, 5, 3, 8, false); // D not a multiple of 3
  checkShape(1, 9, 2, 12, true); // batch 1, positions [B, T]
  checkShape(3, 7, 2, 16, true);
  checkShape(2, 1, 4, 7, false); // T = 1
}

TEST(NnQuaternionPosition, ForwardQkIsTwoForwards) {
  nn::QuaternionPosition m(nn::QuaternionPositionOptions(2, 10));
  torch::Tensor q = torch::randn({2, 6, 2, 10}),
                k = torch::randn({2, 6, 2, 10});
  torch::Tensor positions = torch::randint(0, 50, {2, 6}, torch::kInt64);
  auto [yq, yk] = m->forward_qk(q, k, positions);
  expectClose(yq, m->forward(q, positions), 1e-6, 1e-6, "q");
  expectClose(yk, m->forward(k, positions), 1e-6, 1e-6, "k");
}

/// Scores [B, H, T, T] of q and k after the rotation at `positions`.
torch::Tensor scores(nn::QuaternionPositionImpl &m, const torch::Tensor &q,
                     const torch::Tensor &k, const torch::Tensor &positions) {
  auto [yq, yk] = m.forward_qk(q, k, positions);
  return torch::einsum("bihd,bjhd->bhij", {yq, yk});
}

TEST(NnQuaternionPosition, ScoresDependOnRelativePositionsOnly) {
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference path" : "compiled");
    nn::QuaternionPosition m(
        nn::QuaternionPositionOptions(3, 14).reference(reference));
    torch::Tensor q = torch::randn({2, 8, 3, 14}),
                  k = torch::randn({2, 8, 3, 14});
    torch::Tensor p = torch::arange(8, torch::kInt64);
    torch::Tensor s = scores(*m, q, k, p);
    for (int64_t shift : {1, 37, 100003}) {
      SCOPED_TRACE(::testing::Message() << "shift " << shift);
      expectClose(scores(*m, q, k, p + shift), s, 1e-4, 1e-4, "scores");
    }
    // The rotation does change the scores (the test above can fail).
    torch::Tensor raw = torch::einsum("bihd,bjhd->bhij", {q, k});
    EXPECT_GT((s - raw).abs().max().item<double>(), 0.1);
  }
}

TEST(NnQuaternionPosition, RejectsBadInput) {
  EXPECT_NE(errorOf([] {
              nn::QuaternionPosition(nn::QuaternionPositionOptions(2, 2));
            }).find("head_dim must be >= 3 (one 3-D vector per group), got 2"),
            std::string::npos);
  nn::QuaternionPosition m(nn::QuaternionPositionOptions(2, 6));
  torch::Tensor p = torch::arange(4, torch::kInt64);
  std::string e = errorOf([&] { m->forward(torch::randn({1, 4, 2, 5}), p); });
  EXPECT_NE(e.find("x must be [B, T, H, D]"), std::string::npos) << e;
  e = errorOf([&] {
    m->forward(torch::randn({1, 4, 2, 6}), torch::arange(3, torch::kInt64));
  });
  EXPECT_NE(e.find("positions must be [T]"), std::string::npos) << e;
  e = errorOf([&] {
    m->forward(torch::randn({1, 4, 2, 6}), torch::arange(4, torch::kInt32));
  });
  EXPECT_NE(e.find("positions must be int64"), std::string::npos) << e;
  e = errorOf([&] {
    m->forward_qk(torch::randn({1, 4, 2, 6}), torch::randn({2, 4, 2, 6}), p);
  });
  EXPECT_NE(e.find("q and k must have one shape"), std::string::npos) << e;
}

} // namespace
