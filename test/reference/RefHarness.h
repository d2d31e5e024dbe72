//===- RefHarness.h - what the references' own tests share ------*- C++ -*-===//
//
// The fixture of the reference tests, random f64 inputs, EXPECT_CLOSE (the
// largest absolute difference), autograd against central differences, and
// the Givens chain as an explicit product of matrices (the oracle of the
// givens and so_generator tests).
//
// Random inputs come from the per-test seed of test/support/Seed.h: fixed by
// default, ROTARY_TEST_SEED=<n> for another (scripts/soak draws fresh ones).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_REFERENCE_REFHARNESS_H
#define ROTARY_TEST_REFERENCE_REFHARNESS_H

#include "Reference.h"

#include <torch/autograd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rotary::reftest {

inline const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
inline constexpr double kPi = 3.14159265358979323846;

/// Inputs are drawn from LibTorch's default generator, seeded per test by
/// test/support/Seed.h (replay a failure with the ROTARY_TEST_SEED it prints).
class Ref : public ::testing::Test {};

inline torch::Tensor rnd(std::vector<int64_t> shape) {
  return torch::randn(shape, f64);
}
inline torch::Tensor uni(std::vector<int64_t> shape, double lo, double hi) {
  return torch::rand(shape, f64) * (hi - lo) + lo;
}

inline double maxDiff(const torch::Tensor &a, const torch::Tensor &b) {
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

inline std::vector<double> toVector(const torch::Tensor &t) {
  torch::Tensor c = t.detach().to(torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

// Autograd against central differences of loss = Σ w·f(inputs) for a few
// coordinates of every floating-point input; non-finite outputs are left out
// of the loss.
using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor> &)>;
inline void checkGradients(const Fn &f, std::vector<torch::Tensor> inputs,
                           const std::string &what, int coords = 6,
                           double tol = 1e-6) {
  SCOPED_TRACE(what);
  std::vector<torch::Tensor> diff;
  std::vector<size_t> diffIndex;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].is_floating_point())
      continue;
    inputs[i] = inputs[i].detach().clone().set_requires_grad(true);
    diff.push_back(inputs[i]);
    diffIndex.push_back(i);
  }
  torch::Tensor out = f(inputs);
  const torch::Tensor finite = torch::isfinite(out).detach();
  const torch::Tensor w = torch::randn(out.sizes(), f64);
  auto lossOf = [&](const torch::Tensor &o) {
    return (torch::where(finite, o, torch::zeros_like(o)) * w).sum();
  };
  const std::vector<torch::Tensor> grads = torch::autograd::grad(
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
        std::vector<torch::Tensor> moved = inputs;
        torch::Tensor t = inputs[i].detach().clone();
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
// The Givens chain as a product of matrices, independent of Reference.cpp.
//===----------------------------------------------------------------------===//

// docs/Math.md §2's matrix G_k (D x D): identity except G[i,i] = G[j,j] = cos,
// G[j,i] = sin, G[i,j] = -sin.
inline torch::Tensor givensMatrix(int64_t D, int64_t i, int64_t j, double phi) {
  torch::Tensor G = torch::eye(D, f64);
  auto A = G.accessor<double, 2>();
  A[i][i] = std::cos(phi);
  A[j][j] = std::cos(phi);
  A[j][i] = std::sin(phi);
  A[i][j] = -std::sin(phi);
  return G;
}

/// G_1⋯G_N of the rotations (pairs[k], angles[k]).
inline torch::Tensor chainMatrix(int64_t D,
                                 const std::vector<reference::Pair> &pairs,
                                 const std::vector<double> &angles) {
  torch::Tensor Q = torch::eye(D, f64);
  for (size_t k = 0; k < pairs.size(); ++k)
    Q = torch::matmul(
        Q, givensMatrix(D, pairs[k].first, pairs[k].second, angles[k]));
  return Q;
}

} // namespace rotary::reftest

#endif // ROTARY_TEST_REFERENCE_REFHARNESS_H
