//===- RopeTest.cpp - rotary::nn::Rope against references -----------------===//
//
// The compiled forward and backward of every configuration against the
// module's reference path (same parameters) and against the independent f64
// reference of test/reference differentiated by LibTorch autograd, on fresh
// random inputs.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/Rope.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;

namespace {
struct Case {
  nn::RopeLayout layout;
  int64_t B, T, H, D, r;
  bool learnable;                 ///< freq, phase and scale parameters
  std::vector<double> scales;     ///< multi-scale
  bool batchPositions;            ///< [B, T] instead of [T]
};

reference::RopeLayout refLayout(nn::RopeLayout l) {
  return l == nn::RopeLayout::Half          ? reference::RopeLayout::Half
         : l == nn::RopeLayout::Interleaved ? reference::RopeLayout::Interleaved
                                            : reference::RopeLayout::Deinterleave;
}

nn::Rope makeRope(const Case &c, bool reference) {
  return nn::Rope(nn::RopeOptions(c.D)
                      .rotary_dim(c.r)
                      .layout(c.layout)
                      .scales(c.scales)
                      .learnable_freq(c.learnable)
                      .learnable_phase(c.learnable)
                      .learnable_scale(c.learnable)
                      .reference(reference));
}

/// Runs `c` compiled, through the reference path and through the f64
/// reference, comparing outputs and every gradient.
void check(const Case &c) {
  SCOPED_TRACE(::testing::Message()
               << "layout " << int(c.layout) << " [" << c.B << "," << c.T
               << "," << c.H << "," << c.D << "] r " << c.r << " learnable "
               << c.learnable << " scales " << c.scales.size()
               << " batch positions " << c.batchPositions);
  nn::Rope rope = makeRope(c, false);
  if (c.learnable) {
    torch::NoGradGuard noGrad;
    rope->phase.uniform_(-1, 1);
    rope->scale.fill_(0.75);
  }
  // The same parameters on the reference path.
  auto ref = std::dynamic_pointer_cast<nn::RopeImpl>(rope->clone());
  ref->options.reference(true);

  torch::Tensor x = torch::randn({c.B, c.T, c.H, c.D});
  torch::Tensor positions =
      c.batchPositions ? torch::randint(0, 4096, {c.B, c.T}, torch::kInt64)
                       : torch::arange(3, 3 + c.T, torch::kInt64);
  torch::Tensor dy = torch::randn_like(x);

  torch::Tensor xc = x.clone().requires_grad_(true);
  torch::Tensor y = rope->forward(xc, positions);
  y.backward(dy);
  torch::Tensor xr = x.clone().requires_grad_(true);
  torch::Tensor yr = ref->forward(xr, positions);
  yr.backward(dy);
  expectClose(y, yr, 1e-5, 1e-5, "y vs reference path");
  expectClose(xc.grad(), xr.grad(), 1e-5, 1e-5, "dx vs reference path");

  // The f64 reference: the same math written independently.
  reference::RopeOptions o;
  o.layout = refLayout(c.layout);
  o.rotaryDim = c.r;
  torch::Tensor x64 = x.to(torch::kFloat64).requires_grad_(true);
  torch::Tensor f64, phase64, scale64;
  if (rope->inv_freq.defined()) {
    f64 = rope->inv_freq.detach().to(torch::kFloat64).requires_grad_(true);
    o.invFreq = f64;
  } else {
    o.runtimeBase = torch::full({}, rope->base(), torch::kFloat64);
  }
  if (c.learnable) {
    phase64 = rope->phase.detach().to(torch::kFloat64).requires_grad_(true);
    scale64 = rope->scale.detach().to(torch::kFloat64).requires_grad_(true);
    o.phase = phase64;
    o.scale = scale64;
  }
  torch::Tensor y64 = reference::rope(x64, positions, o);
  y64.backward(dy.to(torch::kFloat64));
  expectClose(y, y64, 1e-5, 1e-5, "y vs f64 reference");
  expectClose(xc.grad(), x64.grad(), 1e-5, 1e-5, "dx vs f64 reference");
  if (c.learnable) {
    // Sums over B·T·H products: scale the tolerance with the count.
    double atol = 1e-5 * double(c.B * c.T * c.H);
    for (auto &[name, param, ref64, refPath] :
         std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                                torch::Tensor>>{
             {"inv_freq", rope->inv_freq, f64, ref->inv_freq},
             {"phase", rope->phase, phase64, ref->phase},
             {"scale", rope->scale, scale64, ref->scale}}) {
      expectClose(param.grad(), ref64.grad(), 1e-4, atol,
                  "d" + name + " vs f64 reference");
      expectClose(param.grad(), refPath.grad(), 1e-4, atol,
                  "d" + name + " vs reference path");
    }
  }
}

TEST(NnRope, LayoutsShapesAndParameters) {
  for (nn::RopeLayout layout :
       {nn::RopeLayout::Half, nn::RopeLayout::Interleaved,
        nn::RopeLayout::Deinterleave}) {
    check({layout, 1, 1, 1, 2, -1, false, {}, false}); // the smallest
    check({layout, 2, 7, 3, 10, 6, false, {}, true});  // partial, odd sizes
    check({layout, 3, 5, 2, 16, -1, true, {}, false}); // learnable
    check({layout, 1, 9, 4, 12, 8, true, {}, true});
    check({layout, 2, 4, 2, 16, -1, false, {1.0, 4.0}, false}); // multi-scale
    check({layout, 2, 3, 1, 18, 16, true, {1.0, 2.0, 8.0, 16.0}, true});
  }
}

TEST(NnRope, OffsetsAndRuntimeBase) {
  nn::Rope rope(nn::RopeOptions(8));
  torch::Tensor x = torch::randn({2, 5, 3, 8});
  // forward(x, offset) is forward(x, offset + arange(T)).
  expectClose(rope->forward(x, 17),
              rope->forward(x, torch::arange(17, 22, torch::kInt64)), 0, 0,
              "offset");
  // A new base takes effect on the next call (the kernels take the base
  // as an operand: there is nothing to recompile).
  for (double base : {500.0, 123456.0}) {
    rope->set_base(base);
    reference::RopeOptions o;
    o.base = base;
    torch::Tensor positions = torch::arange(0, 5, torch::kInt64);
    expectClose(rope->forward(x, positions),
                reference::rope(x.to(torch::kFloat64), positions, o), 1e-5,
                1e-5, "base " + std::to_string(base));
  }
  // Multi-scale frequencies follow the base too.
  nn::Rope multi(nn::RopeOptions(8).scales({1.0, 3.0}));
  multi->set_base(777.0);
  reference::InvFreqOptions fo;
  fo.dim = 8;
  fo.base = 777.0;
  fo.scales = {1.0, 3.0};
  expectClose(multi->inv_freq, reference::invFreq(fo), 1e-6, 0, "inv_freq");
}

TEST(NnRope, ExtremePositionsAndLowPrecision) {
  // Positions near 10^6: the angles stay exact (f64 angle math).
  nn::Rope rope(nn::RopeOptions(16).layout(nn::RopeLayout::Interleaved));
  torch::Tensor x = torch::randn({1, 1, 2, 16});
  torch::Tensor positions = torch::full({1}, 1000000, torch::kInt64);
  reference::RopeOptions o;
  o.layout = reference::RopeLayout::Interleaved;
  expectClose(rope->forward(x, positions),
              reference::rope(x.to(torch::kFloat64), positions, o), 1e-5,
              1e-5, "position 1e6");
  // bf16 data, f32 math: within bf16 rounding of the f64 result.
  torch::Tensor xb = torch::randn({2, 6, 2, 16}).to(torch::kBFloat16);
  torch::Tensor p = torch::arange(0, 6, torch::kInt64);
  torch::Tensor yb = rope->forward(xb, p);
  EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
  expectClose(yb, reference::rope(xb.to(torch::kFloat64), p, o), 1e-2, 1e-2,
              "bf16");
}

TEST(NnRope, BadInput) {
  nn::Rope rope(nn::RopeOptions(8));
  torch::Tensor x = torch::randn({2, 5, 3, 8});
  torch::Tensor p = torch::arange(0, 5, torch::kInt64);
  auto message = [&](const torch::Tensor &xx, const torch::Tensor &pp) {
    return errorOf([&] { rope->forward(xx, pp); });
  };
  EXPECT_NE(message(x.to(torch::kFloat64), p)
                .find("x must be float32, float16 or bfloat16, got Double"),
            std::string::npos);
  EXPECT_NE(message(torch::randn({2, 5, 3, 6}), p)
                .find("x must be [B, T, H, D] with D = 8, got [2, 5, 3, 6]"),
            std::string::npos);
  EXPECT_NE(message(x[0], p).find("x must be [B, T, H, D]"), std::string::npos);
  EXPECT_NE(message(x.transpose(1, 2), torch::arange(0, 3, torch::kInt64))
                .find("x must be contiguous"),
            std::string::npos);
  EXPECT_NE(message(x, p.to(torch::kInt32))
                .find("positions must be int64, got Int"),
            std::string::npos);
  EXPECT_NE(message(x, torch::arange(0, 4, torch::kInt64))
                .find("positions must be [T] with T = 5, got [4]"),
            std::string::npos);
  EXPECT_NE(message(x, torch::zeros({3, 5}, torch::kInt64))
                .find("positions must be [B, T] with B = 2, T = 5, got [3, 5]"),
            std::string::npos);
  EXPECT_NE(errorOf([] { nn::Rope(nn::RopeOptions(8).rotary_dim(5)); })
                .find("rotary_dim must be even"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { rope->set_base(-1); })
                .find("base must be positive and finite, got -1"),
            std::string::npos);
}
} // namespace
