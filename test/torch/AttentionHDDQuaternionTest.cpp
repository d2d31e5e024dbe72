//===- AttentionHDDQuaternionTest.cpp - the remaining rotary::nn modules --===//
//
// AdaptiveAttention, HDDRoPE and QuaternionRotation: the compiled forward
// and backward against each module's reference path (same parameters) and
// the independent f64 references of test/reference under LibTorch
// autograd, on fresh random inputs at several shapes (B = 1, T = 1, odd
// sizes, S != T) and option combinations.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/AdaptiveAttention.h"
#include "rotary/Torch/HDDRoPE.h"
#include "rotary/Torch/QuaternionRotation.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;

namespace {
template <typename Impl, typename Holder>
std::shared_ptr<Impl> referenceCopy(Holder &m) {
  auto ref = std::dynamic_pointer_cast<Impl>(m->clone());
  ref->options.reference(true);
  return ref;
}

torch::Tensor f64(const torch::Tensor &t) {
  return t.detach().to(torch::kFloat64).requires_grad_(true);
}

//===----------------------------------------------------------------------===//
// AdaptiveAttention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  int64_t B, H, T, S, D;
  bool causal;
  int64_t window, globalTokens, biasRadius;
  bool span;
};

void checkAttention(const AttentionCase &c) {
  SCOPED_TRACE(::testing::Message()
               << "[" << c.B << "," << c.H << "," << c.T << "/" << c.S << ","
               << c.D << "] causal " << c.causal << " window " << c.window
               << " global " << c.globalTokens << " bias " << c.biasRadius
               << " span " << c.span);
  nn::AdaptiveAttention attn(nn::AdaptiveAttentionOptions(c.H, c.D)
                                 .causal(c.causal)
                                 .window(c.window)
                                 .global_tokens(c.globalTokens)
                                 .relative_bias_radius(c.biasRadius)
                                 .adaptive_span(c.span)
                                 .span_init(2.5)
                                 .span_ramp(3));
  {
    torch::NoGradGuard noGrad;
    if (attn->bias_table.defined())
      attn->bias_table.normal_();
    if (attn->span.defined())
      attn->span.uniform_(0.5, 4);
  }
  auto ref = referenceCopy<nn::AdaptiveAttentionImpl>(attn);
  torch::Tensor q = torch::randn({c.B, c.H, c.T, c.D});
  torch::Tensor k = torch::randn({c.B, c.H, c.S, c.D});
  torch::Tensor v = torch::randn({c.B, c.H, c.S, c.D});
  torch::Tensor dout = torch::randn({c.B, c.H, c.T, c.D});

  std::vector<torch::Tensor> in = {q.clone().requires_grad_(true),
                                   k.clone().requires_grad_(true),
                                   v.clone().requires_grad_(true)};
  torch::Tensor o = attn->forward(in[0], in[1], in[2]);
  (o * dout).sum().backward();
  std::vector<torch::Tensor> inr = {q.clone().requires_grad_(true),
                                    k.clone().requires_grad_(true),
                                    v.clone().requires_grad_(true)};
  torch::Tensor orf = ref->forward(inr[0], inr[1], inr[2]);
  (orf * dout).sum().backward();

  reference::AttentionOptions ro;
  ro.causal = c.causal;
  ro.window = c.window;
  ro.globalTokens = c.globalTokens;
  std::vector<torch::Tensor> in64 = {f64(q), f64(k), f64(v)};
  torch::Tensor bias64, span64;
  if (c.biasRadius >= 0)
    ro.bias = bias64 = f64(attn->bias_table);
  if (c.span) {
    ro.span = span64 = f64(attn->span);
    ro.spanRamp = 3;
  }
  torch::Tensor o64 = reference::attention(in64[0], in64[1], in64[2], ro).output;
  (o64 * dout.to(torch::kFloat64)).sum().backward();

  expectClose(o, o64, 1e-4, 1e-5, "o");
  expectClose(orf, o64, 1e-4, 1e-5, "o (reference path)");
  const char *names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i) {
    expectClose(in[i].grad(), in64[i].grad(), 1e-4, 1e-4, names[i]);
    expectClose(inr[i].grad(), in64[i].grad(), 1e-4, 1e-4,
                std::string(names[i]) + " (reference path)");
  }
  double atol = 1e-5 * double(c.B * c.T * c.S);
  if (bias64.defined()) {
    expectClose(attn->bias_table.grad(), bias64.grad(), 1e-4, atol, "dbias");
    expectClose(ref->bias_table.grad(), bias64.grad(), 1e-4, atol,
                "dbias (reference path)");
  }
  if (span64.defined()) {
    expectClose(attn->span.grad(), span64.grad(), 1e-4, atol, "dspan");
    expectClose(ref->span.grad(), span64.grad(), 1e-4, atol,
                "dspan (reference path)");
  }
}

TEST(NnAdaptiveAttention, PatternsBiasSpanAndShapes) {
  std::vector<AttentionCase> cases = {
      {1, 1, 1, 1, 4, false, -1, 0, -1, false}, // the smallest
      {2, 3, 7, 7, 8, true, -1, 0, -1, false},  // causal
      {1, 2, 9, 9, 6, true, 3, 0, -1, false},   // sliding window
      {2, 2, 11, 11, 8, true, 2, 2, -1, false}, // window + global tokens
      {1, 2, 6, 6, 5, false, 2, 1, 3, false},   // bias table, not causal
      {2, 2, 8, 8, 8, true, -1, 0, -1, true},   // adaptive span
      {1, 3, 5, 9, 8, true, 4, 1, 2, true},     // S != T, everything on
      {1, 1, 1, 6, 4, true, -1, 0, 1, false},   // one query over a KV cache
  };
  for (const AttentionCase &c : cases)
    checkAttention(c);
}

TEST(NnAdaptiveAttention, BadInput) {
  nn::AdaptiveAttention attn(nn::AdaptiveAttentionOptions(2, 8));
  torch::Tensor q = torch::randn({1, 2, 4, 8});
  auto message = [&](const torch::Tensor &qq, const torch::Tensor &kk,
                     const torch::Tensor &vv) {
    return errorOf([&] { attn->forward(qq, kk, vv); });
  };
  EXPECT_NE(message(torch::randn({1, 3, 4, 8}), q, q)
                .find("q must be [B, H, T, D] with H = 2, D = 8, got [1, 3, "
                      "4, 8]"),
            std::string::npos);
  EXPECT_NE(message(q, torch::randn({2, 2, 4, 8}), q)
                .find("k must be [B, H, S, D] with B = 1, H = 2, D = 8"),
            std::string::npos);
  EXPECT_NE(message(q, q, torch::randn({1, 2, 5, 8}))
                .find("v must be [B, H, S, D] with B = 1, H = 2, S = 4, D = 8"),
            std::string::npos);
  EXPECT_NE(message(q, q.to(torch::kBFloat16), q).find("one dtype"),
            std::string::npos);
  EXPECT_NE(message(q.to(torch::kFloat64), q, q)
                .find("q must be float32, float16 or bfloat16"),
            std::string::npos);
  EXPECT_NE(message(q, torch::randn({1, 2, 3, 8}), torch::randn({1, 2, 3, 8}))
                .find("fewer than q's T = 4"),
            std::string::npos);
  EXPECT_NE(message(q.transpose(2, 3).contiguous().transpose(2, 3), q, q)
                .find("q must be contiguous"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// HDDRoPE
//===----------------------------------------------------------------------===//

TEST(NnHDDRoPE, FormsChunksAndShapes) {
  struct Case {
    int64_t B, T, H, D, c, input;
    nn::SOForm form;
  };
  for (const Case &c : std::vector<Case>{{1, 1, 1, 2, 2, 3, nn::SOForm::Givens},
                                         {2, 7, 3, 6, 3, 5, nn::SOForm::Givens},
                                         {1, 9, 2, 8, 4, 4, nn::SOForm::Givens},
                                         {2, 5, 2, 8, 4, 6, nn::SOForm::Exp},
                                         {1, 4, 1, 6, 2, 2, nn::SOForm::Exp}}) {
    SCOPED_TRACE(::testing::Message()
                 << "[" << c.B << "," << c.T << "," << c.H << "," << c.D
                 << "] c " << c.c << " form " << int(c.form));
    nn::HDDRoPE hdd(nn::HDDRoPEOptions(c.H, c.D, c.c, c.input)
                        .form(c.form)
                        .angle_init_std(0.5));
    auto ref = referenceCopy<nn::HDDRoPEImpl>(hdd);
    torch::Tensor x = torch::randn({c.B, c.T, c.H, c.D});
    torch::Tensor act = torch::randn({c.B, c.T, c.input});
    torch::Tensor dy = torch::randn_like(x);

    torch::Tensor xc = x.clone().requires_grad_(true);
    (hdd->forward(xc, act) * dy).sum().backward();
    torch::Tensor xr = x.clone().requires_grad_(true);
    torch::Tensor yr = ref->forward(xr, act);
    (yr * dy).sum().backward();

    // f64: angles from the same projection, then the reference's fused form.
    torch::Tensor x64 = f64(x);
    torch::Tensor a64 =
        f64(hdd->angles(act).detach()); // [B, T, H, C, A]
    reference::HDDRopeOptions ho;
    ho.form = c.form == nn::SOForm::Givens ? reference::SOForm::Givens
                                           : reference::SOForm::Exp;
    ho.chunk = c.c;
    torch::Tensor y64 = reference::hddRope(x64, a64, ho);
    (y64 * dy.to(torch::kFloat64)).sum().backward();
    torch::Tensor y = hdd->forward(x, act);
    // The reference path multiplies f32 rotations (matrix_exp in f32 for
    // the exp form) along T: its rounding grows with T.
    double pathTol = 2e-5 * double(c.T);
    expectClose(y, y64, 1e-4, 1e-5, "y");
    expectClose(yr, y64, 1e-4, pathTol, "y (reference path)");
    expectClose(xc.grad(), x64.grad(), 1e-4, 1e-5, "dx");
    expectClose(xr.grad(), x64.grad(), 1e-4, pathTol, "dx (reference path)");
    // The projection's gradient is dangles chained through the Linear.
    torch::Tensor dW64 = torch::einsum(
        "btk,bti->ki", {a64.grad().reshape({c.B, c.T, -1}),
                        act.to(torch::kFloat64)});
    expectClose(hdd->angle_proj->weight.grad(), dW64, 1e-3,
                1e-4 * double(c.B * c.T), "dW");
    expectClose(ref->angle_proj->weight.grad(), dW64, 1e-3,
                1e-4 * double(c.B * c.T), "dW (reference path)");
  }
}

TEST(NnHDDRoPE, QueriesAndKeysShareP) {
  nn::HDDRoPE hdd(nn::HDDRoPEOptions(2, 8, 4, 6).angle_init_std(0.3));
  torch::Tensor q = torch::randn({2, 6, 2, 8}), k = torch::randn({2, 6, 2, 8});
  torch::Tensor act = torch::randn({2, 6, 6});
  auto [q2, k2] = hdd->forward_qk(q, k, act);
  expectClose(q2, hdd->forward(q, act), 0, 0, "q");
  expectClose(k2, hdd->forward(k, act), 0, 0, "k");
  // Rotations preserve norms per chunk.
  expectClose(q2.view({2, 6, 2, 2, 4}).norm(2, -1),
              q.view({2, 6, 2, 2, 4}).norm(2, -1), 1e-5, 1e-5, "norms");
}

TEST(NnHDDRoPE, LargeAnglesAndBadInput) {
  // Angles ~1e4 per token: P stays a rotation, compiled = reference.
  nn::HDDRoPE hdd(nn::HDDRoPEOptions(1, 4, 2, 1).angle_init_std(0));
  {
    torch::NoGradGuard noGrad;
    hdd->angle_proj->bias.fill_(1.0e4);
  }
  auto ref = referenceCopy<nn::HDDRoPEImpl>(hdd);
  torch::Tensor x = torch::randn({1, 5, 1, 4}), act = torch::zeros({1, 5, 1});
  expectClose(hdd->forward(x, act), ref->forward(x, act), 1e-3, 1e-3,
              "angles 1e4");

  nn::HDDRoPE h(nn::HDDRoPEOptions(2, 8, 4, 6));
  torch::Tensor good = torch::randn({2, 3, 2, 8}), a = torch::randn({2, 3, 6});
  EXPECT_NE(errorOf([&] { h->forward(good, torch::randn({3, 3, 6})); })
                .find("x must be [B, T, H, D] with B = 3, T = 3, H = 2, D = 8"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { h->forward(good, torch::randn({2, 3, 5})); })
                .find("activations must be [B, T, input_dim] with input_dim = "
                      "6, got [2, 3, 5]"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { h->forward(good.to(torch::kInt32), a); })
                .find("x must be float32, float16 or bfloat16"),
            std::string::npos);
  EXPECT_NE(errorOf([] { nn::HDDRoPE(nn::HDDRoPEOptions(2, 6, 4, 3)); })
                .find("chunk >= 2 dividing head_dim"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// QuaternionRotation
//===----------------------------------------------------------------------===//

TEST(NnQuaternionRotation, ForwardBackward) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{1, 3}, {2, 7, 5}, {4, 16}}) {
    SCOPED_TRACE(shape.back());
    nn::QuaternionRotation rot(nn::QuaternionRotationOptions(shape.back()));
    auto ref = referenceCopy<nn::QuaternionRotationImpl>(rot);
    torch::Tensor x = torch::randn(shape), dy = torch::randn(shape);
    torch::Tensor xc = x.clone().requires_grad_(true);
    (rot->forward(xc) * dy).sum().backward();
    torch::Tensor xr = x.clone().requires_grad_(true);
    torch::Tensor yr = ref->forward(xr);
    (yr * dy).sum().backward();

    torch::Tensor x64 = f64(x), p64 = f64(rot->projection),
                  u64 = f64(rot->axis), t64 = f64(rot->angle);
    torch::Tensor y64 = torch::matmul(
        reference::quaternionRotate(torch::matmul(x64, p64), u64, t64),
        p64.t());
    (y64 * dy.to(torch::kFloat64)).sum().backward();
    expectClose(rot->forward(x), y64, 1e-4, 1e-5, "y");
    expectClose(yr, y64, 1e-4, 1e-5, "y (reference path)");
    double atol = 1e-5 * double(x.numel());
    for (auto &[what, got, path, exact] :
         std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                                torch::Tensor>>{
             {"dx", xc.grad(), xr.grad(), x64.grad()},
             {"dP", rot->projection.grad(), ref->projection.grad(),
              p64.grad()},
             {"daxis", rot->axis.grad(), ref->axis.grad(), u64.grad()},
             {"dangle", rot->angle.grad(), ref->angle.grad(), t64.grad()}}) {
      expectClose(got, exact, 1e-4, atol, what);
      expectClose(path, exact, 1e-4, atol, what + " (reference path)");
    }
  }
  nn::QuaternionRotation rot(nn::QuaternionRotationOptions(4));
  EXPECT_NE(errorOf([&] { rot->forward(torch::randn({2, 5})); })
                .find("x must be [..., D] with D = 4, got [2, 5]"),
            std::string::npos);
  EXPECT_NE(errorOf([] { nn::QuaternionRotation(nn::QuaternionRotationOptions(2)); })
                .find("dim must be >= 3"),
            std::string::npos);
}
} // namespace
