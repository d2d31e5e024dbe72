//===- QuaternionRotationTest.cpp - rotary::nn::QuaternionRotation --------===//
//
// y = quaternion_rotate(x·P)·Pᵀ: the compiled forward and backward (x, the
// projection, the axis and the angle) against the module's reference path
// with the same parameters and against the independent f64
// reference::quaternionRotate under LibTorch autograd, on fresh random
// inputs of several ranks and sizes (D = 3, odd D, a single row), bf16 and
// f16 data, extreme angles and axis lengths, and bad input.
//
// Tolerances (f32 kernel against f64): outputs and input gradients
// |a - b| <= 1e-4·|b| + 1e-5; parameter gradients, which sum over every
// row, 1e-4·|b| + 1e-5·max(1, max|b|). bf16/f16 data: 1e-2 in place of
// both.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/QuaternionRotation.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using namespace rotary::test;

namespace {

/// Checks one module on x of `shape`; `angle` and `axisScale`, when set,
/// replace the random parameters.
void checkRotation(std::vector<int64_t> shape,
                   torch::ScalarType dtype = torch::kFloat32,
                   double angle = 0.7, double axisScale = 1) {
  SCOPED_TRACE(::testing::Message()
               << "x " << torch::IntArrayRef(shape) << " " << dtype << " angle "
               << angle << " axis scale " << axisScale);
  nn::QuaternionRotation rot(nn::QuaternionRotationOptions(shape.back()));
  {
    torch::NoGradGuard noGrad;
    rot->angle.fill_(angle);
    rot->axis.mul_(axisScale);
  }
  auto ref = referenceCopy<nn::QuaternionRotationImpl>(rot);
  torch::Tensor x = torch::randn(shape).to(dtype),
                dy = torch::randn(shape).to(dtype);

  auto run = [&](nn::QuaternionRotationImpl &m) {
    torch::Tensor xi = x.clone().requires_grad_(true);
    torch::Tensor y = m.forward(xi);
    (y.to(torch::kFloat64) * dy.to(torch::kFloat64)).sum().backward();
    return std::make_pair(y, xi.grad());
  };
  auto [y, dx] = run(*rot);
  auto [yr, dxr] = run(*ref);

  torch::Tensor x64 = f64Leaf(x), p64 = f64Leaf(rot->projection),
                u64 = f64Leaf(rot->axis), t64 = f64Leaf(rot->angle);
  torch::Tensor y64 = torch::matmul(
      reference::quaternionRotate(torch::matmul(x64, p64), u64, t64), p64.t());
  (y64 * dy.to(torch::kFloat64)).sum().backward();

  bool low = dtype != torch::kFloat32;
  double rtol = low ? 1e-2 : 1e-4, atol = low ? 1e-2 : 1e-5;
  ASSERT_EQ(y.scalar_type(), dtype);
  expectClose(y, y64, rtol, atol, "y");
  expectClose(yr, y64, rtol, atol, "y (reference path)");
  expectClose(dx, x64.grad(), rtol, atol, "dx");
  expectClose(dxr, x64.grad(), rtol, atol, "dx (reference path)");
  for (auto &[what, compiled, referencePath, exact] :
       std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                              torch::Tensor>>{
           {"dP", rot->projection.grad(), ref->projection.grad(), p64.grad()},
           {"daxis", rot->axis.grad(), ref->axis.grad(), u64.grad()},
           {"dangle", rot->angle.grad(), ref->angle.grad(), t64.grad()}}) {
    expectCloseScaled(compiled, exact, rtol, atol, what);
    expectCloseScaled(referencePath, exact, rtol, atol,
                      what + " (reference path)");
  }
}

TEST(NnQuaternionRotation, ShapesAndRanks) {
  checkRotation({1, 3});    // P square: a rotation of all of x
  checkRotation({5});       // one row, rank 1
  checkRotation({2, 7, 5}); // odd D, rank 3
  checkRotation({4, 16});
  checkRotation({1, 1, 1, 4}); // rank 4 of single rows
  checkRotation({3, 33, 64});
}

TEST(NnQuaternionRotation, ExtremeParameters) {
  checkRotation({6, 8}, torch::kFloat32, 0);          // the identity rotation
  checkRotation({6, 8}, torch::kFloat32, 3.14159);    // about a half turn
  checkRotation({6, 8}, torch::kFloat32, 1e4);        // many turns
  checkRotation({6, 8}, torch::kFloat32, -2.5, 1e-4); // a short axis
  checkRotation({6, 8}, torch::kFloat32, 0.9, 1e4);   // a long axis
}

TEST(NnQuaternionRotation, LowPrecisionData) {
  checkRotation({3, 7, 6}, torch::kBFloat16);
  checkRotation({5, 4}, torch::kFloat16);
}

TEST(NnQuaternionRotation, ShapesChangeBetweenCalls) {
  nn::QuaternionRotation rot(nn::QuaternionRotationOptions(6));
  auto ref = referenceCopy<nn::QuaternionRotationImpl>(rot);
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{2, 6}, {6}, {3, 5, 6}, {2, 6}}) {
    SCOPED_TRACE(torch::IntArrayRef(shape));
    torch::Tensor x = torch::randn(shape);
    expectClose(rot->forward(x), ref->forward(x), 1e-4, 1e-5, "y");
  }
}

TEST(NnQuaternionRotation, RotatesOnlyTheProjectedSubspace) {
  // x·P·Pᵀ is x's part in span(P); the rotation keeps its norm.
  nn::QuaternionRotation rot(nn::QuaternionRotationOptions(7));
  torch::Tensor x = torch::randn({10, 7});
  torch::Tensor inSpan =
      torch::matmul(torch::matmul(x, rot->projection), rot->projection.t())
          .detach();
  expectClose(rot->forward(x).norm(2, -1), inSpan.norm(2, -1), 1e-5, 1e-5,
              "norms");
}

TEST(NnQuaternionRotation, BadInput) {
  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference path" : "compiled");
    nn::QuaternionRotation rot(
        nn::QuaternionRotationOptions(4).reference(referencePath));
    auto expectError = [&](const std::string &message, const torch::Tensor &x) {
      std::string e = errorOf([&] { rot->forward(x); });
      EXPECT_NE(e.find(message), std::string::npos)
          << "expected \"" << message << "\", got \"" << e << "\"";
    };
    expectError("rotary::nn::QuaternionRotation: x must be float32, float16 "
                "or bfloat16, got Double",
                torch::randn({2, 4}, torch::kFloat64));
    expectError("x must be float32, float16 or bfloat16, got Int",
                torch::ones({2, 4}, torch::kInt32));
    expectError("x must be [..., D] with D = 4, got [2, 5]",
                torch::randn({2, 5}));
    expectError("x must be [..., D] with D = 4, got []", torch::randn({}));
    expectError("x must be contiguous", torch::randn({4, 3}).t());
  }
  EXPECT_NE(errorOf([] {
              nn::QuaternionRotation(nn::QuaternionRotationOptions(2));
            }).find("dim must be >= 3"),
            std::string::npos);
}

} // namespace
