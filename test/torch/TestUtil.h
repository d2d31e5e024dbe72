//===- TestUtil.h - shared helpers of the model library tests ---*- C++ -*-===//

#ifndef ROTARY_TEST_TORCH_TESTUTIL_H
#define ROTARY_TEST_TORCH_TESTUTIL_H

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

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

/// Like expectClose with an absolute tolerance relative to the scale of
/// `b`: |a - b| <= rtol·|b| + atolScale·max(1, max|b|). For sums over many
/// rows (parameter gradients), whose elements can cancel to near zero.
inline void expectCloseScaled(const torch::Tensor &a, const torch::Tensor &b,
                              double rtol, double atolScale,
                              const std::string &what) {
  ASSERT_TRUE(b.defined()) << what << ": undefined reference";
  double scale = b.numel() ? b.abs().max().item<double>() : 0;
  expectClose(a, b, rtol, atolScale * std::max(1.0, scale), what);
}

/// A copy of `t` in f64, detached, requiring a gradient: a leaf of the
/// independent f64 references.
inline torch::Tensor f64Leaf(const torch::Tensor &t) {
  return t.detach().to(torch::kFloat64).requires_grad_(true);
}

/// A deep copy of module holder `m` (same parameters) switched to its
/// reference path.
template <typename Impl, typename Holder>
std::shared_ptr<Impl> referenceCopy(const Holder &m) {
  auto ref = std::dynamic_pointer_cast<Impl>(m->clone());
  ref->options.reference(true);
  return ref;
}

/// A fresh file in the system's temporary directory, removed at the end
/// of the scope.
struct TempFile {
  TempFile() {
    std::string name =
        (std::filesystem::temp_directory_path() / "rotary-test-XXXXXX")
            .string();
    int fd = mkstemp(name.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0)
      close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  std::string path;
};

} // namespace rotary::test

#endif // ROTARY_TEST_TORCH_TESTUTIL_H
