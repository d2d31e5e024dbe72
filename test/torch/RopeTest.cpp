//===- RopeTest.cpp - rotary::nn::Rope against references -----------------===//
//
// The compiled forward and backward of every configuration against the
// module's reference path (same parameters) and against the independent f64
// reference of test/reference differentiated by LibTorch autograd, on fresh
// random inputs; with xPos, forward_qk's query and key the same way.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/Rope.h"

#include "../reference/Reference.h"
#include "../reference/XPos.h"
#include "TestUtil.h"

#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

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

/// Compares the gradients of the learnable inv_freq, phase and scale of
/// `rope` with those of the f64 leaves `f64`, `phase64`, `scale64` and of
/// the reference path `ref`, through `expect(actual, expected, what)`.
void checkParamGrads(
    const nn::RopeImpl &rope, const nn::RopeImpl &ref, const torch::Tensor &f64,
    const torch::Tensor &phase64, const torch::Tensor &scale64,
    const std::function<void(const torch::Tensor &, const torch::Tensor &,
                             const std::string &)> &expect) {
  for (auto &[name, param, ref64, refPath] :
       std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                              torch::Tensor>>{
           {"inv_freq", rope.inv_freq, f64, ref.inv_freq},
           {"phase", rope.phase, phase64, ref.phase},
           {"scale", rope.scale, scale64, ref.scale}}) {
    expect(param.grad(), ref64.grad(), "d" + name + " vs f64 reference");
    expect(param.grad(), refPath.grad(), "d" + name + " vs reference path");
  }
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
    checkParamGrads(
        *rope, *ref, f64, phase64, scale64,
        [&](const torch::Tensor &a, const torch::Tensor &b,
            const std::string &what) { expectClose(a, b, 1e-4, atol, what); });
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

/// forward_qk with xPos of `c`, compiled, through the reference path and
/// through the f64 reference (test/reference/XPos.h), forward and every
/// gradient, for the query and the key.
void checkXPos(const Case &c, double scaleBase, double gamma,
               torch::ScalarType dtype = torch::kFloat32) {
  SCOPED_TRACE(::testing::Message()
               << "xPos layout " << int(c.layout) << " [" << c.B << "," << c.T
               << "," << c.H << "," << c.D << "] r " << c.r << " learnable "
               << c.learnable << " batch positions " << c.batchPositions
               << " scale base " << scaleBase << " gamma " << gamma << " dtype "
               << dtype);
  nn::Rope rope(nn::RopeOptions(c.D)
                    .rotary_dim(c.r)
                    .layout(c.layout)
                    .learnable_freq(c.learnable)
                    .learnable_phase(c.learnable)
                    .learnable_scale(c.learnable)
                    .xpos_scale_base(scaleBase)
                    .xpos_gamma(gamma));
  if (c.learnable) {
    torch::NoGradGuard noGrad;
    rope->phase.uniform_(-1, 1);
    rope->scale.fill_(0.75);
  }
  auto ref = test::referenceCopy<nn::RopeImpl>(rope);
  bool low = dtype != torch::kFloat32;

  // K has other heads than Q (grouped-query attention).
  torch::Tensor q = torch::randn({c.B, c.T, c.H, c.D}).to(dtype);
  torch::Tensor k = torch::randn({c.B, c.T, c.H + 1, c.D}).to(dtype);
  torch::Tensor positions =
      c.batchPositions ? torch::randint(0, 1500, {c.B, c.T}, torch::kInt64)
                       : torch::arange(5, 5 + c.T, torch::kInt64);
  torch::Tensor dq = torch::randn_like(q), dk = torch::randn_like(k);

  auto run = [&](nn::RopeImpl &m, torch::Tensor &qg, torch::Tensor &kg) {
    qg = q.clone().requires_grad_(true);
    kg = k.clone().requires_grad_(true);
    auto [yq, yk] = m.forward_qk(qg, kg, positions);
    torch::autograd::backward({yq, yk}, {dq, dk});
    return std::make_pair(yq.detach(), yk.detach());
  };
  torch::Tensor qc, kc, qr, kr;
  auto [yq, yk] = run(*rope, qc, kc);
  auto [yqr, ykr] = run(*ref, qr, kr);
  EXPECT_EQ(yq.scalar_type(), dtype);
  // xPos scales span orders of magnitude (a key at position 1500 with scale
  // base 256 is scaled up to ~1500): tolerances relative to each tensor's
  // largest element, since a·c − b·s may cancel.
  double tol = low ? 1e-2 : 1e-5;
  auto close = [&](const torch::Tensor &a, const torch::Tensor &b,
                   const std::string &what) {
    test::expectCloseScaled(a, b, tol, tol, what);
  };
  close(yq, yqr, "y_q vs reference path");
  close(yk, ykr, "y_k vs reference path");
  close(qc.grad(), qr.grad(), "dq vs reference path");
  close(kc.grad(), kr.grad(), "dk vs reference path");

  // The f64 reference.
  reference::RopeOptions o;
  o.layout = refLayout(c.layout);
  o.rotaryDim = c.r;
  torch::Tensor f64, phase64, scale64;
  if (c.learnable) {
    o.invFreq = f64 = test::f64Leaf(rope->inv_freq);
    o.phase = phase64 = test::f64Leaf(rope->phase);
    o.scale = scale64 = test::f64Leaf(rope->scale);
  } else {
    o.runtimeBase = torch::full({}, rope->base(), torch::kFloat64);
  }
  reference::XPosOptions query, key;
  query.scaleBase = key.scaleBase = double(float(scaleBase));
  query.gamma = key.gamma = double(float(gamma));
  key.key = true;
  torch::Tensor q64 = test::f64Leaf(q), k64 = test::f64Leaf(k);
  torch::Tensor yq64 = reference::ropeXPos(q64, positions, o, query);
  torch::Tensor yk64 = reference::ropeXPos(k64, positions, o, key);
  torch::autograd::backward({yq64, yk64},
                            {dq.to(torch::kFloat64), dk.to(torch::kFloat64)});
  close(yq, yq64, "y_q vs f64 reference");
  close(yk, yk64, "y_k vs f64 reference");
  close(qc.grad(), q64.grad(), "dq vs f64 reference");
  close(kc.grad(), k64.grad(), "dk vs f64 reference");
  // Without the scale the query's output would differ: the test sees it.
  reference::RopeOptions plain = o;
  EXPECT_GT((yq.to(torch::kFloat64) -
             reference::rope(q.to(torch::kFloat64), positions, plain))
                .abs()
                .max()
                .item<double>(),
            1e-3);
  if (c.learnable) {
    // Sums over B·T·(2H + 1) products, in f32 (bf16 inputs are exact).
    double ptol = 1e-4;
    checkParamGrads(*rope, *ref, f64, phase64, scale64,
                    [&](const torch::Tensor &a, const torch::Tensor &b,
                        const std::string &what) {
                      test::expectCloseScaled(a, b, ptol, ptol, what);
                    });
  }
}

TEST(NnRope, XPosQueriesAndKeys) {
  for (nn::RopeLayout layout :
       {nn::RopeLayout::Half, nn::RopeLayout::Interleaved,
        nn::RopeLayout::Deinterleave}) {
    checkXPos({layout, 1, 1, 1, 2, -1, false, {}, false}, 512, 0.4);
    checkXPos({layout, 2, 7, 3, 10, 6, false, {}, true}, 256, 0.4);
    checkXPos({layout, 3, 5, 2, 16, -1, true, {}, false}, 512, 0.25);
    checkXPos({layout, 1, 9, 2, 12, 8, true, {}, true}, 1000, 1.0);
  }
  checkXPos({nn::RopeLayout::Half, 2, 6, 2, 16, 8, true, {}, true}, 512, 0.4,
            torch::kBFloat16);
}

TEST(NnRope, XPosOffAndErrors) {
  // Without xPos forward_qk is two forward calls.
  nn::Rope plain(nn::RopeOptions(8).learnable_phase(true));
  torch::Tensor q = torch::randn({2, 5, 3, 8}), k = torch::randn({2, 5, 1, 8});
  torch::Tensor p = torch::arange(0, 5, torch::kInt64);
  auto [yq, yk] = plain->forward_qk(q, k, p);
  expectClose(yq, plain->forward(q, p), 0, 0, "forward_qk q");
  expectClose(yk, plain->forward(k, p), 0, 0, "forward_qk k");

  nn::Rope xpos(nn::RopeOptions(8).xpos_scale_base(512));
  EXPECT_NE(errorOf([&] {
              xpos->forward(q, p);
            }).find("call forward_qk(q, k, positions)"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { xpos->forward(q, 0); }).find("forward_qk"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { xpos->forward_qk(q, k.narrow(1, 0, 4), p); })
                .find("k must be [B, T, H, D] with B = 2, T = 5, D = 8, got "
                      "[2, 4, 1, 8]"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              xpos->forward_qk(q, k.to(torch::kFloat64), p);
            }).find("k must be float32, float16 or bfloat16"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              xpos->forward_qk(q, k, torch::zeros({3, 5}, torch::kInt64));
            }).find("positions must be [B, T] with B = 2, T = 5, got [3, 5]"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::Rope(nn::RopeOptions(8).xpos_scale_base(-1));
            }).find("xpos_scale_base must be 0 (xPos off) or positive"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::Rope(nn::RopeOptions(8).xpos_scale_base(
                  std::numeric_limits<double>::infinity()));
            }).find("xpos_scale_base"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::Rope(nn::RopeOptions(8).xpos_scale_base(512).xpos_gamma(0));
            }).find("xpos_gamma must be positive and finite"),
            std::string::npos);
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
  // The reference path computes the base's frequencies in f64 like the
  // kernel (rounded to f32 they would move the angle at 1e6 by ~1e-3).
  nn::Rope ref(
      nn::RopeOptions(16).layout(nn::RopeLayout::Interleaved).reference(true));
  torch::Tensor far = torch::arange(999990, 1000000, torch::kInt64);
  torch::Tensor xs = torch::randn({2, 10, 2, 16});
  expectClose(ref->forward(xs, far), rope->forward(xs, far), 1e-5, 1e-5,
              "reference path at 1e6");
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
