//===- AttentionTest.cpp - the attention reference ------------------------===//
//
// attention against softmax, hand-computed masks and a scalar-loop oracle
// (windows, global tokens, bias tables and full bias, adaptive spans, KV
// caches, rows that see no key) and its gradients against finite
// differences (docs/Math.md §6).
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::reftest;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// Attention with loops over every (b, h, i, j), independent of
// Reference.cpp.
ref::AttentionResult attentionOracle(const Tensor &q, const Tensor &k,
                                     const Tensor &v,
                                     const ref::AttentionOptions &o) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t S = k.size(2);
  const double scale = o.scale ? *o.scale : 1.0 / std::sqrt(double(D));
  Tensor out = torch::zeros({B, H, T, D}, f64);
  Tensor lse = torch::zeros({B, H, T}, f64);
  auto Q = q.accessor<double, 4>();
  auto K = k.accessor<double, 4>();
  auto V = v.accessor<double, 4>();
  auto O = out.accessor<double, 4>();
  auto LSE = lse.accessor<double, 3>();
  const std::vector<double> bias =
      o.bias.defined() ? toVector(o.bias) : std::vector<double>{};
  const std::vector<double> span =
      o.span.defined() ? toVector(o.span) : std::vector<double>{};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const int64_t p = i + S - T;
        std::vector<double> s(S, -kInf), m(S, 1.0);
        double mx = -kInf;
        for (int64_t j = 0; j < S; ++j) {
          const bool local = o.window < 0 || j >= p - o.window;
          const bool global = j < o.globalTokens || p < o.globalTokens;
          const bool ok = (local || global) && (!o.causal || j <= p);
          if (!ok)
            continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += Q[b][h][i][d] * K[b][h][j][d];
          s[j] = scale * dot;
          if (o.bias.defined() && o.bias.dim() == 2) {
            const int64_t width = o.bias.size(1), W = (width - 1) / 2;
            const int64_t rel = std::min(std::max(j - p, -W), W);
            s[j] += bias[h * width + rel + W];
          } else if (o.bias.defined()) {
            s[j] += bias[(h * T + i) * S + j];
          }
          if (o.span.defined()) {
            const double R = *o.spanRamp;
            m[j] = std::min(1.0, std::max(0.0, (span[h] + R - (p - j)) / R));
          }
          mx = std::max(mx, s[j]);
        }
        double l = 0;
        std::vector<double> acc(D, 0.0);
        for (int64_t j = 0; j < S; ++j) {
          if (s[j] == -kInf)
            continue;
          const double e = std::exp(s[j] - mx) * m[j];
          l += e;
          for (int64_t d = 0; d < D; ++d)
            acc[d] += e * V[b][h][j][d];
        }
        if (l > 0) {
          for (int64_t d = 0; d < D; ++d)
            O[b][h][i][d] = acc[d] / l;
          LSE[b][h][i] = mx + std::log(l);
        } else {
          LSE[b][h][i] = -kInf;
        }
      }
  return {out, lse};
}

} // namespace

//===----------------------------------------------------------------------===//
// §6 attention
//===----------------------------------------------------------------------===//

TEST_F(Ref, AttentionWithoutMaskIsSoftmax) {
  const int64_t B = 2, H = 3, T = 5, S = 7, D = 4;
  Tensor q = rnd({B, H, T, D}), k = rnd({B, H, S, D}), v = rnd({B, H, S, D});
  auto r = ref::attention(q, k, v);
  Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / 2.0; // D^-1/2
  EXPECT_CLOSE(r.output, torch::matmul(torch::softmax(scores, -1), v), 1e-12);
  EXPECT_CLOSE(r.lse, torch::logsumexp(scores, -1), 1e-12);
  ref::AttentionOptions o;
  o.scale = 0.3;
  r = ref::attention(q, k, v, o);
  scores = torch::matmul(q, k.transpose(-1, -2)) * 0.3;
  EXPECT_CLOSE(r.output, torch::matmul(torch::softmax(scores, -1), v), 1e-12);
}

TEST_F(Ref, AttentionMaskHandCases) {
  auto mask = [](int64_t T, int64_t S, bool causal, int64_t W, int64_t g) {
    ref::AttentionOptions o;
    o.causal = causal;
    o.window = W;
    o.globalTokens = g;
    return ref::attentionMask(T, S, o).to(torch::kInt64);
  };
  auto table = [](std::vector<std::vector<int64_t>> rows) {
    std::vector<int64_t> flat;
    for (auto &r : rows)
      flat.insert(flat.end(), r.begin(), r.end());
    return torch::tensor(flat, torch::kInt64)
        .view({int64_t(rows.size()), int64_t(rows[0].size())});
  };
  // Causal, window 1, one global token.
  EXPECT_TRUE(torch::equal(mask(5, 5, true, 1, 1), table({{1, 0, 0, 0, 0},
                                                          {1, 1, 0, 0, 0},
                                                          {1, 1, 1, 0, 0},
                                                          {1, 0, 1, 1, 0},
                                                          {1, 0, 0, 1, 1}})));
  // Not causal, window 1: j >= i - 1 only (Math §6's window has no upper
  // side).
  EXPECT_TRUE(torch::equal(
      mask(4, 4, false, 1, 0),
      table({{1, 1, 1, 1}, {1, 1, 1, 1}, {0, 1, 1, 1}, {0, 0, 1, 1}})));
  // Global query 0 sees every key, not causal; window 0.
  EXPECT_TRUE(torch::equal(
      mask(4, 4, false, 0, 1),
      table({{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 0, 1, 1}, {1, 0, 0, 1}})));
  // Decoding: T = 1 query at position S - 1 sees every key when causal.
  EXPECT_TRUE(torch::equal(mask(1, 4, true, -1, 0), table({{1, 1, 1, 1}})));
  // KV cache, T = 2 of S = 5, causal window 2: positions 3 and 4.
  EXPECT_TRUE(torch::equal(mask(2, 5, true, 2, 0),
                           table({{0, 1, 1, 1, 0}, {0, 0, 1, 1, 1}})));
  // T > S causal: positions -2, -1, 0, 1; rows 0 and 1 see nothing.
  EXPECT_TRUE(torch::equal(mask(4, 2, true, -1, 0),
                           table({{0, 0}, {0, 0}, {1, 0}, {1, 1}})));
}

TEST_F(Ref, AttentionMatchesScalarOracle) {
  const int64_t B = 2, H = 2, D = 3;
  struct Case {
    int64_t T, S;
    bool causal;
    int64_t window, global;
    int bias; // 0 none, 1 table, 2 full
    bool span;
  };
  const std::vector<Case> cases = {
      {6, 6, false, -1, 0, 0, false}, {6, 6, true, -1, 0, 0, false},
      {6, 6, true, 2, 0, 0, false},   {6, 6, true, 2, 2, 0, false},
      {6, 6, false, 1, 1, 1, false},  {6, 6, true, -1, 0, 2, false},
      {6, 6, true, 3, 1, 1, true},    {3, 7, true, 2, 1, 1, true},
      {1, 5, true, -1, 0, 2, true},   {5, 3, true, -1, 0, 1, false},
      {7, 7, false, -1, 0, 0, true},  {4, 9, false, 2, 3, 2, true},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("T " + std::to_string(c.T) + " S " + std::to_string(c.S) +
                 " causal " + std::to_string(c.causal) + " window " +
                 std::to_string(c.window) + " global " +
                 std::to_string(c.global) + " bias " + std::to_string(c.bias) +
                 " span " + std::to_string(c.span));
    Tensor q = rnd({B, H, c.T, D}), k = rnd({B, H, c.S, D}),
           v = rnd({B, H, c.S, D});
    ref::AttentionOptions o;
    o.causal = c.causal;
    o.window = c.window;
    o.globalTokens = c.global;
    o.scale = 0.8;
    if (c.bias == 1)
      o.bias = rnd({H, 5}); // W' = 2
    if (c.bias == 2)
      o.bias = rnd({H, c.T, c.S});
    if (c.span) {
      o.span = uni({H}, -0.5, 3.5);
      o.spanRamp = 1.7;
    }
    auto r = ref::attention(q, k, v, o);
    auto e = attentionOracle(q, k, v, o);
    EXPECT_CLOSE(r.output, e.output, 1e-12);
    EXPECT_TRUE(torch::equal(torch::isinf(r.lse), torch::isinf(e.lse)));
    Tensor fin = torch::isfinite(e.lse);
    EXPECT_CLOSE(r.lse.masked_select(fin), e.lse.masked_select(fin), 1e-12);
    EXPECT_FALSE(torch::isnan(r.output).any().item<bool>());
  }
}

TEST_F(Ref, AttentionFullyMaskedRowsAndSpan) {
  const int64_t B = 1, H = 2, T = 4, S = 2, D = 3;
  Tensor q = rnd({B, H, T, D}).set_requires_grad(true);
  Tensor k = rnd({B, H, S, D}).set_requires_grad(true);
  Tensor v = rnd({B, H, S, D}).set_requires_grad(true);
  ref::AttentionOptions o;
  o.causal = true;
  auto r = ref::attention(q, k, v, o);
  for (int64_t i : {0, 1}) {
    EXPECT_CLOSE(r.output.select(2, i), torch::zeros({B, H, D}, f64), 0.0);
    EXPECT_TRUE((r.lse.select(2, i) == -kInf).all().item<bool>());
  }
  // Row 2 (position 0) sees key 0 only.
  EXPECT_CLOSE(r.output.select(2, 2), v.select(2, 0), 1e-15);
  auto g = torch::autograd::grad({r.output.sum()}, {q, k, v});
  for (const Tensor &t : g)
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>());

  // A span that covers every distance changes nothing; a tiny one leaves
  // the diagonal only (m(0) = 1, m(d >= 1) = 0 for span 0, R 1).
  Tensor qs = rnd({1, H, 6, D}), ks = rnd({1, H, 6, D}), vs = rnd({1, H, 6, D});
  ref::AttentionOptions causal;
  causal.causal = true;
  ref::AttentionOptions wide = causal;
  wide.span = torch::full({H}, 100.0, f64);
  wide.spanRamp = 2.0;
  EXPECT_CLOSE(ref::attention(qs, ks, vs, wide).output,
               ref::attention(qs, ks, vs, causal).output, 1e-13);
  ref::AttentionOptions tight = causal;
  tight.span = torch::zeros({H}, f64);
  tight.spanRamp = 1.0;
  auto t = ref::attention(qs, ks, vs, tight);
  EXPECT_CLOSE(t.output, vs, 1e-13);
  // lse = log Σ m·exp(s): here the diagonal score alone.
  Tensor diag = (qs * ks).sum(-1) / std::sqrt(double(D));
  EXPECT_CLOSE(t.lse, diag, 1e-13);
  // Span -R or less masks even d = 0: every row is empty.
  ref::AttentionOptions none = causal;
  none.span = torch::full({H}, -1.5, f64);
  none.spanRamp = 1.0;
  auto n = ref::attention(qs, ks, vs, none);
  EXPECT_CLOSE(n.output, torch::zeros_like(vs), 0.0);
  EXPECT_TRUE((n.lse == -kInf).all().item<bool>());

  // Half-weight by hand: one query at position 1, keys 0 and 1, span 0,
  // R 2: m(0) = 1, m(1) = 0.5; weights ∝ (0.5·e^{s0}, e^{s1}).
  Tensor q1 = rnd({1, 1, 1, 2}), k1 = rnd({1, 1, 2, 2}), v1 = rnd({1, 1, 2, 2});
  ref::AttentionOptions half;
  half.causal = true;
  half.scale = 1.0;
  half.span = torch::zeros({1}, f64);
  half.spanRamp = 2.0;
  const double s0 = (q1[0][0][0] * k1[0][0][0]).sum().item<double>();
  const double s1 = (q1[0][0][0] * k1[0][0][1]).sum().item<double>();
  const double w0 = 0.5 * std::exp(s0), w1 = std::exp(s1);
  Tensor expected = (w0 * v1[0][0][0] + w1 * v1[0][0][1]) / (w0 + w1);
  auto hr = ref::attention(q1, k1, v1, half);
  EXPECT_CLOSE(hr.output[0][0][0], expected, 1e-14);
  EXPECT_NEAR(hr.lse[0][0][0].item<double>(), std::log(w0 + w1), 1e-14);
}

TEST_F(Ref, AttentionBiasTableEqualsFullBias) {
  const int64_t H = 2, T = 3, S = 6, W = 2;
  Tensor table = rnd({H, 2 * W + 1});
  Tensor full = torch::zeros({H, T, S}, f64);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < S; ++j) {
        const int64_t rel = std::min(std::max(j - (i + S - T), -W), W);
        full[h][i][j] = table[h][rel + W].item<double>();
      }
  Tensor q = rnd({2, H, T, 4}), k = rnd({2, H, S, 4}), v = rnd({2, H, S, 4});
  ref::AttentionOptions a, b;
  a.bias = table;
  b.bias = full;
  EXPECT_CLOSE(ref::attention(q, k, v, a).output,
               ref::attention(q, k, v, b).output, 1e-14);
}

TEST_F(Ref, AttentionGradients) {
  const int64_t H = 2;
  checkGradients(
      [](const std::vector<Tensor> &in) {
        ref::AttentionOptions o;
        o.causal = true;
        o.window = 2;
        o.globalTokens = 1;
        o.bias = in[3];
        o.span = in[4];
        o.spanRamp = 1.5;
        auto r = ref::attention(in[0], in[1], in[2], o);
        return torch::cat({r.output.reshape({-1}), r.lse.reshape({-1})});
      },
      {rnd({2, H, 4, 3}), rnd({2, H, 6, 3}), rnd({2, H, 6, 3}), rnd({H, 5}),
       uni({H}, 0.2, 2.3)},
      "attention", 8);
}

// The full-bias path, a KV cache (T < S) and rows that see no key (T > S,
// causal), with the log-sum-exp in the loss: what rotary.attention_grad's
// tests differentiate through (the table-bias path is checked above).
TEST_F(Ref, AttentionGradientsFullBiasAndEmptyRows) {
  const int64_t H = 2;
  for (auto [T, S] : {std::pair<int64_t, int64_t>{3, 6}, {5, 3}}) {
    checkGradients(
        [](const std::vector<Tensor> &in) {
          ref::AttentionOptions o;
          o.causal = true;
          o.window = 3;
          o.globalTokens = 1;
          o.scale = 0.7;
          o.bias = in[3];
          o.span = in[4];
          o.spanRamp = 2.5;
          auto r = ref::attention(in[0], in[1], in[2], o);
          return torch::cat({r.output.reshape({-1}), r.lse.reshape({-1})});
        },
        {rnd({2, H, T, 3}), rnd({2, H, S, 3}), rnd({2, H, S, 3}),
         rnd({H, T, S}), uni({H}, 0.3, 2.7)},
        "attention, full bias, T " + std::to_string(T) + " S " +
            std::to_string(S),
        10);
  }
}
