//===- TestUtil.h - shared helpers of the model library tests ---*- C++ -*-===//

#ifndef ROTARY_TEST_TORCH_TESTUTIL_H
#define ROTARY_TEST_TORCH_TESTUTIL_H

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <string>

namespace rotary::test {

/// The message of the c10::Error `f` throws ("" when it throws none).
template <typename F> std::string errorOf(F &&f) {
  try {
    f();
  } catch (const c10::Error &e) {
    return e.what_without_backtrace();
  }
  return "";
}

/// Expects |a - b| <= atol + rtol·|b| elementwise (b is the reference),
/// printing the worst element when not.
inline void expectClose(const torch::Tensor &a, const torch::Tensor &b,
                        double rtol, double atol, const std::string &what) {
  ASSERT_TRUE(a.defined()) << what << ": undefined result";
  ASSERT_TRUE(b.defined()) << what << ": undefined reference";
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  torch::Tensor x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  torch::Tensor excess = (x - y).abs() - (atol + rtol * y.abs());
  double worst = excess.numel() ? excess.max().item<double>() : -1;
  EXPECT_LE(worst, 0.0) << what << ": max |a-b| = "
                        << (x - y).abs().max().item<double>()
                        << " (rtol " << rtol << ", atol " << atol << ")";
}

} // namespace rotary::test

#endif // ROTARY_TEST_TORCH_TESTUTIL_H
