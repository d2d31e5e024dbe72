//===- AdaptiveAttentionTest.cpp - rotary::nn::AdaptiveAttention ----------===//
//
// The compiled forward and backward (q, k, v, the bias table and the span)
// against the module's reference path with the same parameters and against
// the independent f64 reference::attention under LibTorch autograd, on
// fresh random inputs: every option on and off and in combinations
// (causal, window, global tokens, relative bias, adaptive span, scale),
// B = 1, T = 1, odd sizes, S != T (queries at the last T positions),
// sequences across the kernel's key tiles, bf16 and f16 data, rows that the
// span empties, and bad input.
//
// Tolerances (f32 kernels against f64): the output |a - b| <= 1e-4·|b| +
// 1e-5; gradients, some of which sum over every row, 1e-4·|b| +
// 1e-5·max(1, max|b|). f16 data: 1e-2 relative to the scale; bf16: the
// same for the output, 3e-2 for the gradients.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/AdaptiveAttention.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using namespace rotary::test;

namespace {

constexpr double kSpanRamp = 3;

struct AttentionCase {
  int64_t B, H, T, S, D;
  bool causal = false;
  int64_t window = -1, globalTokens = 0, biasRadius = -1;
  bool span = false;
  double scale = 0;
  torch::ScalarType dtype = torch::kFloat32;
};

nn::AdaptiveAttention makeModule(const AttentionCase &c) {
  nn::AdaptiveAttention attn(nn::AdaptiveAttentionOptions(c.H, c.D)
                                 .causal(c.causal)
                                 .window(c.window)
                                 .global_tokens(c.globalTokens)
                                 .scale(c.scale)
                                 .relative_bias_radius(c.biasRadius)
                                 .adaptive_span(c.span)
                                 .span_init(2.5)
                                 .span_ramp(kSpanRamp));
  // Away from their initial values, so that every parameter matters.
  torch::NoGradGuard noGrad;
  if (attn->bias_table.defined())
    attn->bias_table.normal_();
  if (attn->span.defined())
    attn->span.uniform_(0.5, 4);
  return attn;
}

/// The output and the gradients of q, k, v of one forward/backward.
struct AttentionResult {
  torch::Tensor o;
  std::vector<torch::Tensor> grads;
};

AttentionResult runModule(nn::AdaptiveAttentionImpl &m,
                          const std::vector<torch::Tensor> &qkv,
                          const torch::Tensor &dout) {
  std::vector<torch::Tensor> in;
  for (const torch::Tensor &t : qkv)
    in.push_back(t.clone().requires_grad_(true));
  AttentionResult r;
  r.o = m.forward(in[0], in[1], in[2]);
  (r.o.to(torch::kFloat64) * dout.to(torch::kFloat64)).sum().backward();
  for (const torch::Tensor &t : in)
    r.grads.push_back(t.grad());
  return r;
}

void checkAttention(const AttentionCase &c) {
  SCOPED_TRACE(::testing::Message()
               << "[" << c.B << "," << c.H << "," << c.T << "/" << c.S << ","
               << c.D << "] causal " << c.causal << " window " << c.window
               << " global " << c.globalTokens << " bias " << c.biasRadius
               << " span " << c.span << " scale " << c.scale << " " << c.dtype);
  nn::AdaptiveAttention attn = makeModule(c);
  auto ref = referenceCopy<nn::AdaptiveAttentionImpl>(attn);
  std::vector<torch::Tensor> qkv = {
      torch::randn({c.B, c.H, c.T, c.D}).to(c.dtype),
      torch::randn({c.B, c.H, c.S, c.D}).to(c.dtype),
      torch::randn({c.B, c.H, c.S, c.D}).to(c.dtype)};
  torch::Tensor dout = torch::randn({c.B, c.H, c.T, c.D}).to(c.dtype);
  AttentionResult got = runModule(*attn, qkv, dout);
  AttentionResult path = runModule(*ref, qkv, dout);

  reference::AttentionOptions ro;
  ro.causal = c.causal;
  ro.window = c.window;
  ro.globalTokens = c.globalTokens;
  if (c.scale > 0)
    ro.scale = c.scale;
  std::vector<torch::Tensor> in64;
  for (const torch::Tensor &t : qkv)
    in64.push_back(f64Leaf(t));
  torch::Tensor bias64, span64;
  if (c.biasRadius >= 0)
    ro.bias = bias64 = f64Leaf(attn->bias_table);
  if (c.span) {
    ro.span = span64 = f64Leaf(attn->span);
    ro.spanRamp = kSpanRamp;
  }
  torch::Tensor o64 =
      reference::attention(in64[0], in64[1], in64[2], ro).output;
  (o64 * dout.to(torch::kFloat64)).sum().backward();

  bool low = c.dtype != torch::kFloat32;
  double rtol = low ? 1e-2 : 1e-4, atol = low ? 1e-2 : 1e-5;
  // The backward reads the rounded output (D_i = Σ dO·O); over the sums of
  // dk, dv and the parameter gradients bf16's 8 bits give errors of a few
  // ulps of the scale.
  double gradAtol = c.dtype == torch::kBFloat16 ? 3e-2 : atol;
  ASSERT_EQ(got.o.scalar_type(), c.dtype);
  expectClose(got.o, o64, rtol, atol, "o");
  expectClose(path.o, o64, rtol, atol, "o (reference path)");
  const char *names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i) {
    expectCloseScaled(got.grads[i], in64[i].grad(), rtol, gradAtol, names[i]);
    expectCloseScaled(path.grads[i], in64[i].grad(), rtol, gradAtol,
                      std::string(names[i]) + " (reference path)");
  }
  if (bias64.defined()) {
    expectCloseScaled(attn->bias_table.grad(), bias64.grad(), rtol, gradAtol,
                      "dbias");
    expectCloseScaled(ref->bias_table.grad(), bias64.grad(), rtol, gradAtol,
                      "dbias (reference path)");
  }
  if (span64.defined()) {
    expectCloseScaled(attn->span.grad(), span64.grad(), rtol, gradAtol,
                      "dspan");
    expectCloseScaled(ref->span.grad(), span64.grad(), rtol, gradAtol,
                      "dspan (reference path)");
  }
}

TEST(NnAdaptiveAttention, Patterns) {
  for (const AttentionCase &c : std::vector<AttentionCase>{
           {1, 1, 1, 1, 4},                // the smallest, no mask
           {2, 3, 7, 7, 8},                // full attention
           {2, 3, 7, 7, 8, true},          // causal
           {1, 2, 9, 9, 6, false, 3},      // window, not causal
           {1, 2, 9, 9, 6, true, 3},       // causal sliding window
           {2, 1, 5, 5, 4, true, 0},       // the diagonal only
           {1, 2, 10, 10, 8, false, 2, 2}, // window + global tokens
           {2, 2, 11, 11, 8, true, 2, 2},  // causal too
           {1, 2, 6, 6, 8, false, -1, 0, -1, false, 0.3}, // explicit scale
       })
    checkAttention(c);
}

TEST(NnAdaptiveAttention, BiasAndSpan) {
  for (const AttentionCase &c : std::vector<AttentionCase>{
           {1, 2, 6, 6, 5, false, -1, 0, 3},        // bias table
           {1, 2, 6, 6, 4, true, -1, 0, 0},         // radius 0
           {2, 2, 8, 8, 8, false, -1, 0, -1, true}, // span, not causal
           {2, 2, 8, 8, 8, true, -1, 0, -1, true},  // span, causal
           {1, 2, 9, 9, 8, true, 3, 1, 2, true},    // all of it
       })
    checkAttention(c);
}

TEST(NnAdaptiveAttention, KeyValueCacheAndLongSequences) {
  for (const AttentionCase &c : std::vector<AttentionCase>{
           {1, 1, 1, 6, 4, true, -1, 0, 1},         // one query, KV cache
           {1, 3, 5, 9, 8, true, 4, 1, 2, true},    // S != T, all options
           {2, 2, 3, 10, 6, false, 2, 0, -1, true}, // S != T, not causal
           {1, 1, 33, 80, 8, true},                 // across key tiles
           {1, 2, 70, 70, 16, true, 5, 2, 4, true}, // tiles skipped
           {1, 2, 37, 37, 64, true},                // a wide head
       })
    checkAttention(c);
}

TEST(NnAdaptiveAttention, LowPrecisionData) {
  checkAttention({2, 2, 9, 9, 8, true, 3, 1, 2, true, 0, torch::kBFloat16});
  checkAttention({1, 2, 6, 11, 8, false, -1, 0, -1, false, 0, torch::kFloat16});
}

TEST(NnAdaptiveAttention, SpanEmptiesRows) {
  // A span below −ramp masks every key at distance d >= 0: causal rows of
  // that head have no weight left and give 0 (docs/Math.md §6), with finite
  // gradients; the other head is unaffected.
  AttentionCase c{2, 2, 5, 7, 8, true, -1, 0, -1, true};
  nn::AdaptiveAttention attn = makeModule(c);
  {
    torch::NoGradGuard noGrad;
    attn->span[0] = -kSpanRamp - 0.5;
  }
  auto ref = referenceCopy<nn::AdaptiveAttentionImpl>(attn);
  std::vector<torch::Tensor> qkv = {torch::randn({2, 2, 5, 8}),
                                    torch::randn({2, 2, 7, 8}),
                                    torch::randn({2, 2, 7, 8})};
  torch::Tensor dout = torch::randn({2, 2, 5, 8});
  AttentionResult got = runModule(*attn, qkv, dout);
  AttentionResult path = runModule(*ref, qkv, dout);
  EXPECT_TRUE(torch::equal(got.o.select(1, 0), torch::zeros({2, 5, 8})));
  EXPECT_GT(got.o.select(1, 1).abs().max().item<double>(), 0);
  expectClose(got.o, path.o, 1e-4, 1e-5, "o");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::isfinite(got.grads[i]).all().item<bool>()) << i;
    expectCloseScaled(got.grads[i], path.grads[i], 1e-4, 1e-5, "grad");
  }
  EXPECT_TRUE(torch::isfinite(attn->span.grad()).all().item<bool>());
  expectCloseScaled(attn->span.grad(), ref->span.grad(), 1e-4, 1e-5, "dspan");
}

TEST(NnAdaptiveAttention, ShapesChangeBetweenCalls) {
  nn::AdaptiveAttention attn = makeModule({1, 2, 1, 1, 8, true, 3, 1, 2, true});
  auto ref = referenceCopy<nn::AdaptiveAttentionImpl>(attn);
  for (auto [B, T, S] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {2, 6, 6}, {1, 1, 9}, {3, 4, 13}, {2, 6, 6}}) {
    SCOPED_TRACE(::testing::Message() << "B " << B << " T " << T << " S " << S);
    torch::Tensor q = torch::randn({B, 2, T, 8}),
                  k = torch::randn({B, 2, S, 8}),
                  v = torch::randn({B, 2, S, 8});
    expectClose(attn->forward(q, k, v), ref->forward(q, k, v), 1e-4, 1e-5, "o");
  }
}

TEST(NnAdaptiveAttention, BadInput) {
  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference path" : "compiled");
    nn::AdaptiveAttention attn(
        nn::AdaptiveAttentionOptions(2, 8).reference(referencePath));
    torch::Tensor q = torch::randn({1, 2, 4, 8});
    auto expectError = [&](const std::string &message, const torch::Tensor &qq,
                           const torch::Tensor &kk, const torch::Tensor &vv) {
      std::string e = errorOf([&] { attn->forward(qq, kk, vv); });
      EXPECT_NE(e.find(message), std::string::npos)
          << "expected \"" << message << "\", got \"" << e << "\"";
    };
    auto strided = [](const torch::Tensor &t) {
      return t.transpose(2, 3).contiguous().transpose(2, 3);
    };
    expectError("rotary::nn::AdaptiveAttention: q must be float32, float16 "
                "or bfloat16, got Double",
                q.to(torch::kFloat64), q, q);
    expectError("q must be float32, float16 or bfloat16, got Int",
                q.to(torch::kInt32), q, q);
    expectError("k must be float32, float16 or bfloat16, got Double", q,
                q.to(torch::kFloat64), q);
    expectError("v must be float32, float16 or bfloat16, got Long", q, q,
                q.to(torch::kInt64));
    expectError("q, k and v must have one dtype, got Float, BFloat16, Float", q,
                q.to(torch::kBFloat16), q);
    expectError("q must be [B, H, T, D] with H = 2, D = 8, got [2, 4, 8]", q[0],
                q, q);
    expectError("q must be [B, H, T, D] with H = 2, D = 8, got [1, 3, 4, 8]",
                torch::randn({1, 3, 4, 8}), q, q);
    expectError("q must be [B, H, T, D] with H = 2, D = 8, got [1, 2, 4, 6]",
                torch::randn({1, 2, 4, 6}), q, q);
    expectError("k must be [B, H, S, D] with B = 1, H = 2, D = 8, got [2, 2, "
                "4, 8]",
                q, torch::randn({2, 2, 4, 8}), q);
    expectError("k must be [B, H, S, D] with B = 1, H = 2, D = 8, got [1, 1, "
                "4, 8]",
                q, torch::randn({1, 1, 4, 8}), q);
    expectError("v must be [B, H, S, D] with B = 1, H = 2, S = 4, D = 8, got "
                "[1, 2, 5, 8]",
                q, q, torch::randn({1, 2, 5, 8}));
    expectError("k has S = 3 positions, fewer than q's T = 4", q,
                torch::randn({1, 2, 3, 8}), torch::randn({1, 2, 3, 8}));
    expectError("q must be contiguous", strided(q), q, q);
    expectError("k must be contiguous", q, strided(q), q);
    expectError("v must be contiguous", q, q, strided(q));
  }
  auto optionsError = [](nn::AdaptiveAttentionOptions o) {
    return errorOf([&] { nn::AdaptiveAttention attn(o); });
  };
  EXPECT_NE(optionsError(nn::AdaptiveAttentionOptions(2, 8).window(-2))
                .find("need window >= -1"),
            std::string::npos);
  EXPECT_NE(
      optionsError(
          nn::AdaptiveAttentionOptions(2, 8).adaptive_span(true).span_ramp(0))
          .find("adaptive_span needs span_ramp > 0"),
      std::string::npos);
  EXPECT_NE(optionsError(nn::AdaptiveAttentionOptions(0, 8))
                .find("heads and head_dim must be positive"),
            std::string::npos);
}

} // namespace
