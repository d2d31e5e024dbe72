//===- HDDRoPETest.cpp - rotary::nn::HDDRoPE ------------------------------===//
//
// The compiled forward and backward (x, the activations, the projection's
// weight and bias) against the module's reference path with the same
// parameters and against the independent f64 reference::hddRope under
// LibTorch autograd, on fresh random inputs: both generator forms, chunks
// 2..5, B = 1, T = 1, odd sizes, T across the backward's checkpoints,
// queries and keys sharing P, bf16 and f16 data, angles of ~1e4 rad, and
// bad input.
//
// Tolerances (f32 kernels against f64): y and dx |a - b| <= 1e-4·|b| +
// 1e-5; the gradients of the activations and the projection, which sum
// over chunks and tokens, 1e-4·|b| + 1e-5·max(1, max|b|). bf16/f16 data:
// 1e-2 in place of both (one rounding of the data in and out).
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/HDDRoPE.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using namespace rotary::test;

namespace {

struct Case {
  int64_t B, T, H, D, c, input;
  nn::SOForm form;
  torch::ScalarType dtype = torch::kFloat32;
  /// Std of the projection's weights and bias: angles of about
  /// angleStd·√input per token.
  double angleStd = 0.5;
  /// forward_qk instead of forward.
  bool qk = false;
};

reference::SOForm referenceForm(nn::SOForm form) {
  return form == nn::SOForm::Givens ? reference::SOForm::Givens
                                    : reference::SOForm::Exp;
}

/// The rotated tensors and the gradients of one forward/backward.
struct Result {
  std::vector<torch::Tensor> outputs, inputGrads;
  torch::Tensor actGrad, weightGrad, biasGrad;
};

Result runModule(nn::HDDRoPEImpl &m, const std::vector<torch::Tensor> &xs,
                 const torch::Tensor &act,
                 const std::vector<torch::Tensor> &dys) {
  std::vector<torch::Tensor> in;
  for (const torch::Tensor &x : xs)
    in.push_back(x.clone().requires_grad_(true));
  torch::Tensor a = act.clone().requires_grad_(true);
  Result r;
  if (in.size() == 2) {
    auto [q, k] = m.forward_qk(in[0], in[1], a);
    r.outputs = {q, k};
  } else {
    r.outputs = {m.forward(in[0], a)};
  }
  torch::Tensor loss = torch::zeros({}, torch::kFloat64);
  for (size_t i = 0; i < in.size(); ++i)
    loss =
        loss +
        (r.outputs[i].to(torch::kFloat64) * dys[i].to(torch::kFloat64)).sum();
  loss.backward();
  for (const torch::Tensor &x : in)
    r.inputGrads.push_back(x.grad());
  r.actGrad = a.grad();
  r.weightGrad = m.angle_proj->weight.grad();
  r.biasGrad = m.angle_proj->bias.grad();
  return r;
}

void checkHDD(const Case &c) {
  SCOPED_TRACE(::testing::Message()
               << "[" << c.B << "," << c.T << "," << c.H << "," << c.D << "] c "
               << c.c << " input " << c.input << " form "
               << (c.form == nn::SOForm::Givens ? "givens" : "exp") << " "
               << c.dtype << " angle std " << c.angleStd << " qk " << c.qk);
  nn::HDDRoPE hdd(nn::HDDRoPEOptions(c.H, c.D, c.c, c.input)
                      .form(c.form)
                      .angle_init_std(c.angleStd));
  {
    torch::NoGradGuard noGrad;
    hdd->angle_proj->bias.normal_(0, c.angleStd);
  }
  auto ref = referenceCopy<nn::HDDRoPEImpl>(hdd);

  auto randData = [&] {
    return torch::randn({c.B, c.T, c.H, c.D}).to(c.dtype);
  };
  std::vector<torch::Tensor> xs = {randData()}, dys = {randData()};
  if (c.qk) {
    xs.push_back(randData());
    dys.push_back(randData());
  }
  torch::Tensor act = torch::randn({c.B, c.T, c.input}).to(c.dtype);

  Result got = runModule(*hdd, xs, act, dys);
  Result path = runModule(*ref, xs, act, dys);

  // f64: the projection and the fused hdd_rope of test/reference.
  torch::Tensor w64 = f64Leaf(hdd->angle_proj->weight),
                b64 = f64Leaf(hdd->angle_proj->bias), act64 = f64Leaf(act);
  int64_t C = c.D / c.c, A = c.c * (c.c - 1) / 2;
  torch::Tensor a64 = torch::nn::functional::linear(act64, w64, b64)
                          .view({c.B, c.T, c.H, C, A});
  reference::HDDRopeOptions ho;
  ho.form = referenceForm(c.form);
  ho.chunk = c.c;
  std::vector<torch::Tensor> x64, y64;
  torch::Tensor loss = torch::zeros({}, torch::kFloat64);
  for (size_t i = 0; i < xs.size(); ++i) {
    x64.push_back(f64Leaf(xs[i]));
    y64.push_back(reference::hddRope(x64[i], a64, ho));
    loss = loss + (y64[i] * dys[i].to(torch::kFloat64)).sum();
  }
  loss.backward();

  bool low = c.dtype != torch::kFloat32;
  double rtol = low ? 1e-2 : 1e-4, atol = low ? 1e-2 : 1e-5;
  std::vector<std::string> names = {c.qk ? "q'" : "y", "k'"},
                           gradNames = {c.qk ? "dq" : "dx", "dk"};
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_EQ(got.outputs[i].scalar_type(), c.dtype);
    expectClose(got.outputs[i], y64[i], rtol, atol, names[i]);
    expectClose(path.outputs[i], y64[i], rtol, atol,
                names[i] + " (reference path)");
    expectClose(got.inputGrads[i], x64[i].grad(), rtol, atol, gradNames[i]);
    expectClose(path.inputGrads[i], x64[i].grad(), rtol, atol,
                gradNames[i] + " (reference path)");
  }
  for (auto &[what, compiled, referencePath, exact] :
       std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                              torch::Tensor>>{
           {"dactivations", got.actGrad, path.actGrad, act64.grad()},
           {"dW", got.weightGrad, path.weightGrad, w64.grad()},
           {"dbias", got.biasGrad, path.biasGrad, b64.grad()}}) {
    expectCloseScaled(compiled, exact, rtol, atol, what);
    expectCloseScaled(referencePath, exact, rtol, atol,
                      what + " (reference path)");
  }
}

TEST(NnHDDRoPE, FormsChunksAndShapes) {
  using F = nn::SOForm;
  for (const Case &c : std::vector<Case>{
           {1, 1, 1, 2, 2, 3, F::Givens}, // the smallest: B = T = H = 1
           {1, 1, 2, 8, 4, 5, F::Exp},    // T = 1, exp form
           {2, 7, 3, 6, 3, 5, F::Givens}, // D = 6 in chunks of 3
           {2, 7, 1, 6, 2, 4, F::Exp},    // D = 6 in chunks of 2
           {1, 9, 2, 8, 4, 4, F::Givens}, // the reference model's c = 4
           {2, 5, 2, 8, 4, 6, F::Exp},
           {1, 6, 1, 10, 5, 3, F::Givens}, // odd chunk, 10 angles per chunk
           {1, 6, 1, 10, 5, 3, F::Exp},
           {1, 4, 1, 4, 4, 7, F::Exp},     // one chunk
           {2, 37, 2, 8, 4, 3, F::Givens}, // odd T
           // T across the backward's checkpoints of P (every 64 tokens).
           {1, 70, 3, 6, 3, 2, F::Exp, torch::kFloat32, 0.2},
           {1, 130, 2, 8, 4, 3, F::Givens, torch::kFloat32, 0.3},
       })
    checkHDD(c);
}

TEST(NnHDDRoPE, QueriesAndKeysShareAngles) {
  // The angle gradient sums the contributions of q and k.
  checkHDD({2, 6, 2, 8, 4, 6, nn::SOForm::Givens, torch::kFloat32, 0.3, true});
  checkHDD({1, 5, 3, 6, 3, 4, nn::SOForm::Exp, torch::kFloat32, 0.3, true});

  nn::HDDRoPE hdd(nn::HDDRoPEOptions(2, 8, 4, 6).angle_init_std(0.3));
  torch::Tensor q = torch::randn({2, 6, 2, 8}), k = torch::randn({2, 6, 2, 8});
  torch::Tensor act = torch::randn({2, 6, 6});
  auto [q2, k2] = hdd->forward_qk(q, k, act);
  expectClose(q2, hdd->forward(q, act), 0, 0, "q");
  expectClose(k2, hdd->forward(k, act), 0, 0, "k");
  // P_t is a rotation per chunk: norms are kept, and the scores depend on
  // P_iᵀP_j only.
  expectClose(q2.view({2, 6, 2, 2, 4}).norm(2, -1),
              q.view({2, 6, 2, 2, 4}).norm(2, -1), 1e-5, 1e-5, "norms");
}

TEST(NnHDDRoPE, LowPrecisionData) {
  checkHDD({2, 7, 2, 8, 4, 5, nn::SOForm::Givens, torch::kBFloat16});
  checkHDD({1, 5, 1, 6, 3, 4, nn::SOForm::Exp, torch::kBFloat16, 0.5, true});
  checkHDD({1, 6, 2, 6, 2, 3, nn::SOForm::Givens, torch::kFloat16});
}

TEST(NnHDDRoPE, ShapesChangeBetweenCalls) {
  nn::HDDRoPE hdd(nn::HDDRoPEOptions(2, 6, 3, 4).angle_init_std(0.4));
  auto ref = referenceCopy<nn::HDDRoPEImpl>(hdd);
  for (auto [B, T] : std::vector<std::pair<int64_t, int64_t>>{
           {2, 5}, {1, 1}, {3, 11}, {2, 5}}) {
    SCOPED_TRACE(::testing::Message() << "B " << B << " T " << T);
    torch::Tensor x = torch::randn({B, T, 2, 6}), act = torch::randn({B, T, 4});
    expectClose(hdd->forward(x, act), ref->forward(x, act), 1e-4, 1e-5, "y");
  }
}

TEST(NnHDDRoPE, LargeAngles) {
  // Angles of ~1e4 rad per token (P_t sums ~1e5) at the usual tolerances,
  // for both forms; exp at c = 4 (unrolled) and c = 10 (tensor loops). The
  // exp kernels square 2^s ≈ Σ|a| times, in f64 so that the error does not
  // grow with the angles (decision 0019). Both compare with the f64
  // reference on the module's own f32 angles, since rounding an angle of
  // 1e4 to f32 already moves it by ~5e-4 rad.
  struct Large {
    nn::SOForm form;
    int64_t c;
  };
  for (const Large &l :
       {Large{nn::SOForm::Givens, 4}, Large{nn::SOForm::Exp, 4},
        Large{nn::SOForm::Exp, 10}}) {
    SCOPED_TRACE(::testing::Message()
                 << (l.form == nn::SOForm::Givens ? "givens" : "exp") << " c "
                 << l.c);
    int64_t D = 2 * l.c;
    nn::HDDRoPE hdd(
        nn::HDDRoPEOptions(2, D, l.c, 3).form(l.form).angle_init_std(3e3));
    {
      torch::NoGradGuard noGrad;
      hdd->angle_proj->bias.normal_(0, 1e4);
    }
    auto ref = referenceCopy<nn::HDDRoPEImpl>(hdd);
    torch::Tensor x = torch::randn({2, 9, 2, D}), act = torch::randn({2, 9, 3});
    torch::Tensor dy = torch::randn_like(x);
    torch::Tensor xc = x.clone().requires_grad_(true);
    torch::Tensor y = hdd->forward(xc, act);
    (y * dy).sum().backward();

    torch::Tensor angles = hdd->angles(act).detach();
    ASSERT_GT(angles.abs().max().item<double>(), 1e4);
    torch::Tensor x64 = f64Leaf(x), a64 = f64Leaf(angles);
    reference::HDDRopeOptions ho;
    ho.form = referenceForm(l.form);
    ho.chunk = l.c;
    torch::Tensor y64 = reference::hddRope(x64, a64, ho);
    (y64 * dy.to(torch::kFloat64)).sum().backward();
    expectClose(y, y64, 1e-4, 1e-5, "y");
    expectClose(ref->forward(x, act), y64, 1e-4, 1e-5, "y (reference path)");
    expectClose(xc.grad(), x64.grad(), 1e-4, 1e-5, "dx");
    // dbias is the angle gradient summed over B and T.
    expectCloseScaled(hdd->angle_proj->bias.grad(),
                      a64.grad().sum(at::IntArrayRef{0, 1}).reshape({-1}), 1e-4,
                      1e-5, "dbias");
  }
}
TEST(NnHDDRoPE, BadInput) {
  for (bool referencePath : {false, true}) {
    SCOPED_TRACE(referencePath ? "reference path" : "compiled");
    nn::HDDRoPE h(nn::HDDRoPEOptions(2, 8, 4, 6).reference(referencePath));
    torch::Tensor x = torch::randn({2, 3, 2, 8}), act = torch::randn({2, 3, 6});
    auto expectError = [&](const std::string &message, auto &&f) {
      std::string e = errorOf(f);
      EXPECT_NE(e.find(message), std::string::npos)
          << "expected \"" << message << "\", got \"" << e << "\"";
    };
    expectError("rotary::nn::HDDRoPE: x must be float32, float16 or "
                "bfloat16, got Double",
                [&] { h->forward(x.to(torch::kFloat64), act); });
    expectError("x must be float32, float16 or bfloat16, got Int",
                [&] { h->forward(x.to(torch::kInt32), act); });
    expectError("activations must be float32, float16 or bfloat16, got "
                "Double",
                [&] { h->forward(x, act.to(torch::kFloat64)); });
    expectError("activations must be float32, float16 or bfloat16, got Long",
                [&] { h->forward(x, act.to(torch::kInt64)); });
    expectError("x must be [B, T, H, D] with H = 2, D = 8, got [2, 3, 16]",
                [&] {
                  h->forward(x.view({2, 3, 16}), act);
                });
    expectError("x must be [B, T, H, D] with H = 2, D = 8, got [2, 3, 4, 4]",
                [&] {
                  h->forward(x.view({2, 3, 4, 4}), act);
                });
    expectError("x must be [B, T, H, D] with H = 2, D = 8, got [2, 3, 2, 4]",
                [&] {
                  h->forward(torch::randn({2, 3, 2, 4}), act);
                });
    expectError("x must be contiguous", [&] {
      h->forward(x.transpose(0, 1).contiguous().transpose(0, 1), act);
    });
    expectError("activations must be contiguous", [&] {
      h->forward(x, act.transpose(1, 2).contiguous().transpose(1, 2));
    });
    expectError("activations must be [B, T, input_dim] with B = 2, T = 3, "
                "input_dim = 6, got [3, 3, 6]",
                [&] {
                  h->forward(x, torch::randn({3, 3, 6}));
                });
    expectError("activations must be [B, T, input_dim] with B = 2, T = 3, "
                "input_dim = 6, got [2, 4, 6]",
                [&] {
                  h->forward(x, torch::randn({2, 4, 6}));
                });
    expectError("activations must be [B, T, input_dim] with B = 2, T = 3, "
                "input_dim = 6, got [2, 3, 5]",
                [&] {
                  h->forward(x, torch::randn({2, 3, 5}));
                });
    expectError("activations must be [B, T, input_dim] with B = 2, T = 3, "
                "input_dim = 6, got [2, 3]",
                [&] {
                  h->forward(x, torch::randn({2, 3}));
                });
    expectError("k must be [B, T, H, D] with H = 2, D = 8, got [2, 3, 1, 8]",
                [&] {
                  h->forward_qk(x, torch::randn({2, 3, 1, 8}), act);
                });
    expectError("q must be float32, float16 or bfloat16, got Double",
                [&] { h->forward_qk(x.to(torch::kFloat64), x, act); });
    expectError("activations must be [B, T, input_dim] with input_dim = 6",
                [&] {
                  h->angles(torch::randn({2, 3, 7}));
                });
  }
  EXPECT_NE(errorOf([] {
              nn::HDDRoPE(nn::HDDRoPEOptions(2, 6, 4, 3));
            }).find("chunk >= 2 dividing head_dim"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::HDDRoPE(nn::HDDRoPEOptions(2, 6, 1, 3));
            }).find("chunk >= 2 dividing head_dim"),
            std::string::npos);
}

} // namespace
