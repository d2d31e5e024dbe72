//===- GradAttentionTest.cpp - rotary.attention_grad against autograd -----===//
//
// Each entry runs rotary.attention and feeds its output and log-sum-exp to
// rotary.attention_grad (one case takes them as inputs instead). The
// gradients are compared with LibTorch autograd of the f64 reference
// rotary::reference::attention, with the cotangent ȯ of the output and,
// when the entry has one, l̄se of the log-sum-exp.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <optional>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using rotary::runtime::Error;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

struct Shape {
  int64_t B, T, S;
};

struct GradCase {
  bool causal = false;
  int64_t window = -1, global = 0;
  int bias = 0; // 0 none, 1 table [H, 2W'+1], 2 full [H, T, S]
  bool span = false;
  bool dlse = false;
  bool standalone = false; // output and lse are inputs, not computed here
  std::optional<double> scale;
  int64_t D = 8, H = 2;
  torch::ScalarType dtype = torch::kFloat32;
  std::vector<Shape> shapes;
  /// Spans to use (one per head) instead of random ones.
  std::vector<double> spans;
  /// Tile sizes recorded on the ops (query, key); 0: the CPU schedule's.
  std::pair<int64_t, int64_t> tiles{0, 0};
  /// The gradient's two passes kept apart (split-attention-grad) instead
  /// of the CPU schedule's fused pass.
  bool split = false;
  /// Compiled as the GPU schedule's loops (a static head dimension).
  bool gpuLoops = false;
  /// With gpuLoops: D static (tiles in static shared memory) or dynamic
  /// (tiles sized at launch).
  bool staticD = true;
};

const int64_t kTableRadius = 4; // bias tables [H, 9]
const double kRamp = 4.0;

std::string elementOf(torch::ScalarType t) {
  return t == torch::kBFloat16 ? "bf16" : t == torch::kFloat16 ? "f16" : "f32";
}

std::string attrsOf(const GradCase &c) {
  std::vector<std::string> attrs;
  if (c.causal)
    attrs.push_back("causal");
  if (c.window >= 0)
    attrs.push_back("window = " + std::to_string(c.window) + " : i64");
  if (c.global > 0)
    attrs.push_back("global_tokens = " + std::to_string(c.global) + " : i64");
  if (c.scale)
    attrs.push_back("scale = " + f32Attr(*c.scale));
  if (c.span)
    attrs.push_back("span_ramp = " + f32Attr(kRamp));
  if (c.tiles.first)
    attrs.push_back("rotary.tiles = {query = " + std::to_string(c.tiles.first) +
                    " : i64, key = " + std::to_string(c.tiles.second) +
                    " : i64}");
  std::string s;
  for (size_t i = 0; i < attrs.size(); ++i)
    s += (i ? ", " : "") + attrs[i];
  return attrs.empty() ? "" : " {" + s + "}";
}

std::string gradSource(const GradCase &c) {
  const std::string qT = c.gpuLoops && c.staticD
                             ? "tensor<?x?x?x" + std::to_string(c.D) + "x" +
                                   elementOf(c.dtype) + ">"
                             : dynamicType(4, elementOf(c.dtype));
  const std::string lT = dynamicType(3);
  const std::string bT = dynamicType(c.bias == 2 ? 3 : 2), sT = dynamicType(1);
  std::vector<Arg> args = {{"q", qT}, {"k", qT}, {"v", qT}, {"do", qT}};
  if (c.standalone) {
    args.push_back({"o", qT});
    args.push_back({"lse", lT});
  }
  std::string optional, body;
  if (c.bias) {
    args.push_back({"b", bT});
    optional += " bias(%b : " + bT + ")";
  }
  if (c.span) {
    args.push_back({"s", sT});
    optional += " span(%s : " + sT + ")";
  }
  if (c.dlse)
    args.push_back({"dl", lT});
  if (!c.standalone)
    body = "%o, %lse = rotary.attention %q, %k, %v" + optional + attrsOf(c) +
           " : " + qT + ", " + qT + ", " + qT + "\n  ";
  std::vector<std::string> types = {qT, qT, qT}, values = {"%g#0", "%g#1",
                                                           "%g#2"};
  if (c.bias) {
    types.push_back(bT);
    values.push_back("%g#" + std::to_string(values.size()));
  }
  if (c.span) {
    types.push_back(sT);
    values.push_back("%g#" + std::to_string(values.size()));
  }
  body += "%g:" + std::to_string(values.size()) +
          " = rotary.attention_grad %q, %k, %v, %o, %lse, %do" +
          (c.dlse ? " dlse(%dl : " + lT + ")" : "") + optional + attrsOf(c) +
          " : " + qT + ", " + qT + ", " + qT + ", " + lT;
  return entrySource(args, types, body, values);
}

Tensor data(std::vector<int64_t> shape, torch::ScalarType dtype) {
  return randn32(std::move(shape)).to(dtype);
}

/// Tolerances against the f64 autograd: f32 kernels sum O(S) terms per
/// gradient element; bf16 data rounds q, k, v, ȯ, the output and the
/// gradients to 8 bits.
Tolerance toleranceOf(torch::ScalarType dtype) {
  if (dtype == torch::kFloat32)
    return {2e-5, 2e-5};
  return {2e-2, 2e-2};
}

void runGrad(const GradCase &c) {
  const std::string source = gradSource(c);
  SCOPED_TRACE(source);
  rotary::compiler::CompileOptions options;
  options.splitAttentionGrad = c.split;
  options.gpuLoops = c.gpuLoops;
  ROTARY_COMPILE_WITH(kernel, source, options);
  const int64_t H = c.H, D = c.D;
  for (const Shape &sh : c.shapes) {
    const int64_t B = sh.B, T = sh.T, S = sh.S;
    SCOPED_TRACE("B " + std::to_string(B) + " T " + std::to_string(T) + " S " +
                 std::to_string(S) + " D " + std::to_string(D));
    Tensor q = data({B, H, T, D}, c.dtype), k = data({B, H, S, D}, c.dtype),
           v = data({B, H, S, D}, c.dtype), dO = data({B, H, T, D}, c.dtype);
    ref::AttentionOptions o;
    o.causal = c.causal;
    o.window = c.window;
    o.globalTokens = c.global;
    o.scale = c.scale;
    Tensor bias, span, dl;
    if (c.bias)
      bias = c.bias == 1 ? randn32({H, 2 * kTableRadius + 1})
                         : randn32({H, T, S});
    if (c.span) {
      span = c.spans.empty()
                 ? uniform32({H}, -2.0, 10.0)
                 : torch::tensor(c.spans, torch::kFloat64).to(torch::kFloat32);
      o.spanRamp = kRamp;
    }
    if (c.dlse)
      dl = randn32({B, H, T});

    // Autograd of the f64 reference.
    std::vector<Tensor> leaves = {f64(q).requires_grad_(),
                                  f64(k).requires_grad_(),
                                  f64(v).requires_grad_()};
    if (c.bias) {
      leaves.push_back(f64(bias).requires_grad_());
      o.bias = leaves.back();
    }
    if (c.span) {
      leaves.push_back(f64(span).requires_grad_());
      o.span = leaves.back();
    }
    ref::AttentionResult r = ref::attention(leaves[0], leaves[1], leaves[2], o);
    std::vector<Tensor> outs = {r.output}, cotangents = {f64(dO)};
    if (c.dlse) {
      outs.push_back(r.lse);
      cotangents.push_back(f64(dl));
    }
    const std::vector<Tensor> expected =
        torch::autograd::grad(outs, leaves, cotangents);

    std::vector<Tensor> inputs = {q, k, v, dO};
    if (c.standalone) {
      inputs.push_back(r.output.detach().to(c.dtype));
      inputs.push_back(r.lse.detach().to(torch::kFloat32));
    }
    if (c.bias)
      inputs.push_back(bias);
    if (c.span)
      inputs.push_back(span);
    if (c.dlse)
      inputs.push_back(dl);
    std::vector<Tensor> got;
    ASSERT_NO_THROW(got = kernel->run(inputs));
    ASSERT_EQ(got.size(), expected.size());
    const char *names[] = {"dq", "dk", "dv", c.bias ? "dbias" : "dspan",
                           "dspan"};
    for (size_t n = 0; n < got.size(); ++n) {
      EXPECT_EQ(got[n].scalar_type(), n < 3 ? c.dtype : torch::kFloat32)
          << names[n];
      Tolerance tol = toleranceOf(c.dtype);
      // s̄pan_h sums e·(dP − Δ)·∂m/∂span over all B·T·S pairs of a head,
      // terms of size ~1 whose sum can cancel to ~0.1: their f32 rounding
      // (e = exp(s − lse) with s, lse ~ 5 carries ~5e-7 relative) reaches
      // ~1e-5 absolute (seed 2531168548473374893: 1.1e-5 on 0.075, max
      // 0.165), beyond 2e-5 of the result's size: allow 1e-4 of it.
      if (std::string(names[n]) == "dspan" && c.dtype == torch::kFloat32)
        tol.atol = 1e-4;
      EXPECT_TRUE(allClose(got[n], expected[n], tol)) << names[n];
    }
  }
}

GradCase withShapes(GradCase c, std::vector<Shape> shapes) {
  c.shapes = std::move(shapes);
  return c;
}

} // namespace

TEST_F(E2E, AttentionGradTileSizes) {
  // Tiles of any size the ops record, not only the CPU schedule's 48 x 64:
  // tiny and odd ones (a query pass of 7 rows visiting 5-key tiles, whose
  // last tile runs past the window), one query per tile, and tiles larger
  // than the sequence.
  for (std::pair<int64_t, int64_t> tiles :
       {std::pair<int64_t, int64_t>{7, 5}, {1, 3}, {96, 128}}) {
    GradCase c;
    c.causal = true;
    c.window = 4;
    c.global = 1;
    c.bias = 1;
    c.span = true;
    c.tiles = tiles;
    c.shapes = {{1, 23, 23}, {2, 3, 11}};
    SCOPED_TRACE("tiles " + std::to_string(tiles.first) + " x " +
                 std::to_string(tiles.second));
    runGrad(c);
  }
}

TEST_F(E2E, AttentionGradCausal) {
  GradCase c;
  c.causal = true;
  runGrad(withShapes(c, {{2, 7, 7}, {1, 16, 16}}));
}

TEST_F(E2E, AttentionGradNonCausal) {
  GradCase c;
  runGrad(withShapes(c, {{2, 9, 9}, {1, 1, 1}}));
  c.scale = 0.3;
  runGrad(withShapes(c, {{2, 6, 6}}));
}

TEST_F(E2E, AttentionGradWindow) {
  for (int64_t W : {1, 64}) {
    SCOPED_TRACE("window " + std::to_string(W));
    GradCase c;
    c.causal = true;
    c.window = W;
    // W = 64: narrower than T = 80 and wider than T = 20.
    runGrad(withShapes(c, W == 1 ? std::vector<Shape>{{2, 9, 9}}
                                 : std::vector<Shape>{{1, 80, 80}, {2, 20, 20}}));
  }
  // Not causal: the window bounds keys on the left only.
  GradCase nc;
  nc.window = 2;
  runGrad(withShapes(nc, {{2, 10, 10}}));
}

TEST_F(E2E, AttentionGradGlobalTokens) {
  GradCase c;
  c.causal = true;
  c.window = 2;
  c.global = 2;
  runGrad(withShapes(c, {{2, 12, 12}, {1, 4, 10}}));
  GradCase nc;
  nc.window = 1;
  nc.global = 3;
  runGrad(withShapes(nc, {{2, 11, 11}, {2, 3, 8}}));
}

// A KV cache (T < S, queries at the end, decision 0011) and T = 1 decoding.
TEST_F(E2E, AttentionGradKVCache) {
  GradCase c;
  c.causal = true;
  runGrad(withShapes(c, {{2, 3, 9}, {2, 1, 9}, {1, 1, 1}}));
  GradCase w;
  w.causal = true;
  w.window = 3;
  runGrad(withShapes(w, {{2, 4, 11}, {1, 1, 6}}));
}

TEST_F(E2E, AttentionGradOddSizes) {
  GradCase c;
  c.causal = true;
  c.D = 33;
  c.H = 3;
  runGrad(withShapes(c, {{1, 13, 13}, {2, 5, 7}}));
}

TEST_F(E2E, AttentionGradBiasTable) {
  GradCase c;
  c.causal = true;
  c.bias = 1;
  // |j - p| both inside and beyond the table's radius 4.
  runGrad(withShapes(c, {{2, 12, 12}, {2, 3, 10}}));
  GradCase nc;
  nc.bias = 1;
  nc.window = 2;
  runGrad(withShapes(nc, {{2, 7, 7}}));
}

TEST_F(E2E, AttentionGradBiasFull) {
  GradCase c;
  c.causal = true;
  c.bias = 2;
  runGrad(withShapes(c, {{2, 7, 7}, {2, 2, 5}}));
  GradCase nc;
  nc.bias = 2;
  nc.global = 1;
  nc.window = 1;
  runGrad(withShapes(nc, {{3, 6, 6}}));
}

TEST_F(E2E, AttentionGradSpan) {
  GradCase c;
  c.causal = true;
  c.span = true;
  runGrad(withShapes(c, {{2, 24, 24}, {2, 3, 17}}));
  GradCase nc;
  nc.span = true;
  runGrad(withShapes(nc, {{2, 12, 12}}));
}

TEST_F(E2E, AttentionGradDlse) {
  GradCase c;
  c.dlse = true;
  runGrad(withShapes(c, {{2, 7, 7}, {1, 3, 8}}));
  c.causal = true;
  c.span = true;
  runGrad(withShapes(c, {{2, 10, 10}}));
}

/// Every option at once: the pattern's three rules, a bias table, a span,
/// l̄se and a scale.
static GradCase everything() {
  GradCase c;
  c.causal = true;
  c.window = 5;
  c.global = 2;
  c.bias = 1;
  c.span = true;
  c.dlse = true;
  c.scale = 0.4;
  return c;
}

TEST_F(E2E, AttentionGradEverything) {
  GradCase c = everything();
  runGrad(withShapes(c, {{2, 20, 20}, {2, 6, 15}, {1, 1, 9}}));
  c.bias = 2;
  runGrad(withShapes(c, {{2, 9, 9}, {1, 4, 7}}));
}

// The two passes the CPU schedule fuses, kept apart: every option of the
// pattern, a bias table and a full one, a span, l̄se, odd tiles.
TEST_F(E2E, AttentionGradSplitPasses) {
  GradCase c = everything();
  c.split = true;
  runGrad(withShapes(c, {{2, 20, 20}, {2, 6, 15}, {1, 1, 9}}));
  c.bias = 2;
  c.tiles = {7, 5};
  runGrad(withShapes(c, {{2, 9, 9}, {1, 4, 7}}));
}

// The GPU schedule's loops of both passes (a block per tile of 32 queries
// or keys), run on the CPU: several tiles, odd tiles, T = 1, a full bias
// and bf16 data.
TEST_F(E2E, AttentionGradGpuLoops) {
  GradCase c = everything();
  c.gpuLoops = true;
  runGrad(withShapes(c, {{2, 40, 40}, {2, 6, 15}, {1, 1, 9}, {1, 33, 70}}));
  c.bias = 2;
  c.tiles = {7, 5};
  runGrad(withShapes(c, {{2, 9, 9}, {1, 4, 7}}));
  GradCase plain;
  plain.gpuLoops = true;
  plain.causal = true;
  plain.D = 16;
  runGrad(withShapes(plain, {{1, 70, 70}, {2, 1, 1}}));
  plain.dtype = torch::kBFloat16;
  runGrad(withShapes(plain, {{1, 37, 37}}));
}

// The same with the head dimension known only at run time: the tiles
// that grow with it are sized at launch (dynamic shared memory once
// mapped), the others keep their bounds.
TEST_F(E2E, AttentionGradGpuLoopsDynamicD) {
  GradCase c = everything();
  c.gpuLoops = true;
  c.staticD = false;
  runGrad(withShapes(c, {{2, 40, 40}, {1, 1, 9}}));
  GradCase plain;
  plain.gpuLoops = true;
  plain.staticD = false;
  plain.causal = true;
  plain.D = 13;
  runGrad(withShapes(plain, {{1, 70, 70}, {2, 1, 1}}));
}

// Rows that see no key: T > S with `causal` (positions before key 0), and a
// head whose span -5 < -R masks every key, so its rows have lse = -inf
// although the pattern lets keys through.
TEST_F(E2E, AttentionGradRowsWithoutKeys) {
  GradCase c;
  c.causal = true;
  c.dlse = true;
  runGrad(withShapes(c, {{2, 6, 2}, {1, 3, 1}}));
  GradCase s;
  s.causal = true;
  s.span = true;
  s.dlse = true;
  s.bias = 1;
  // Not an integer: at (span + R - d)/R = 0 or 1 the clamp has a kink,
  // where autograd passes 1/R and the kernel (like Math §6's ∂m/∂span) 0.
  s.spans = {-5.0, 3.3};
  runGrad(withShapes(s, {{2, 8, 8}, {2, 5, 3}}));
}

// attention_grad alone, given the reference's output and log-sum-exp.
TEST_F(E2E, AttentionGradStandalone) {
  GradCase c;
  c.standalone = true;
  c.causal = true;
  c.window = 3;
  c.bias = 1;
  c.dlse = true;
  runGrad(withShapes(c, {{2, 9, 9}, {2, 2, 6}}));
}

TEST_F(E2E, AttentionGradBF16) {
  GradCase c;
  c.dtype = torch::kBFloat16;
  c.causal = true;
  c.window = 4;
  c.bias = 1;
  c.span = true;
  runGrad(withShapes(c, {{2, 12, 12}}));
}

// A ȯ whose shape is not q's is caught by the kernel's run-time checks,
// with a message naming the operand.
TEST_F(E2E, AttentionGradBadDoutput) {
  GradCase c;
  c.causal = true;
  ROTARY_COMPILE(kernel, gradSource(c));
  for (std::vector<int64_t> bad :
       {std::vector<int64_t>{2, 2, 6, 8}, {2, 2, 5, 9}, {1, 2, 5, 8}}) {
    std::vector<Tensor> inputs = {randn32({2, 2, 5, 8}), randn32({2, 2, 7, 8}),
                                  randn32({2, 2, 7, 8}), randn32(bad)};
    try {
      kernel->run(inputs);
      ADD_FAILURE() << "no error for doutput " << torch::IntArrayRef(bad);
    } catch (const Error &e) {
      EXPECT_EQ(static_cast<int>(e.kind()),
                static_cast<int>(Error::Kind::Check))
          << e.what();
      EXPECT_NE(std::string(e.what()).find("'doutput'"), std::string::npos)
          << e.what();
    }
  }
}
