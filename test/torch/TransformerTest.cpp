//===- TransformerTest.cpp - a network of the modules trains --------------===//
//
// The Transformer of the model library (a position scheme,
// AdaptiveAttention, RotationBlock, the hybrid convolution):
// - with Rope and HDD-RoPE, trained with FAM on a learnable synthetic
//   sequence task: the compiled kernels and the reference path start from
//   the same weights and must give the same loss at every step (and the same
//   parameters at the end), and the loss must go down;
// - for every position scheme (HDD with chunks 2, 3, 4 and both forms) and
//   with adaptive span, the convolution and without rotation blocks: the
//   same logits and gradients on both paths from copied weights, a loss
//   that a few Adam steps reduce on a repeated sequence, and causality
//   (a token changes no logit before it);
// - the option checks, ropes(), the penalty without rotation blocks and the
//   FAM groups of the new parameters.
//
// Tolerances (f32 on both paths, two layers): logits 1e-4·|b| + 1e-5,
// gradients 1e-3·|b| + 1e-4·max(1, max|b|).
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/DynamicBase.h"
#include "rotary/Torch/Embedding.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/QuaternionRotation.h"
#include "rotary/Torch/Transformer.h"

#include "TestUtil.h"

using namespace rotary;
using rotary::test::expectClose;

namespace {
/// Sequences of a random permutation cycle of the vocabulary: token t+1 is
/// perm[token t], learnable from one token of context.
torch::Tensor batch(const torch::Tensor &perm, int64_t B, int64_t T,
                    torch::Generator &gen) {
  int64_t V = perm.size(0);
  torch::Tensor x = torch::empty({B, T + 1}, torch::kInt64);
  x.select(1, 0).copy_(torch::randint(V, {B}, gen, torch::kInt64));
  for (int64_t t = 1; t <= T; ++t)
    x.select(1, t).copy_(perm.index_select(0, x.select(1, t - 1)));
  return x;
}

void trainBoth(bool hdd) {
  SCOPED_TRACE(hdd ? "HDD-RoPE" : "RoPE");
  auto config = [&](bool reference) {
    return nn::TransformerOptions()
        .vocab(24)
        .dim(32)
        .heads(2)
        .layers(2)
        .window(6)
        .global_tokens(1)
        .bias_radius(4)
        .rotations(10)
        .position(hdd ? nn::PositionScheme::HDD : nn::PositionScheme::Rope)
        .reference(reference);
  };
  uint64_t seed = uint64_t(torch::randint(1 << 30, {1}).item<int64_t>());
  torch::manual_seed(seed);
  nn::Transformer compiled(config(false));
  torch::manual_seed(seed);
  nn::Transformer reference(config(true));
  auto famOptions = [](bool ref) {
    return nn::FAMOptions(0.3).warmup_steps(5).warmup_start_lr(0.05)
        .fam_start_step(5).reference(ref);
  };
  nn::FAM optC(compiled->named_parameters().pairs(), famOptions(false));
  nn::FAM optR(reference->named_parameters().pairs(), famOptions(true));
  std::unique_ptr<nn::DynamicBase> baseC, baseR;
  if (!hdd) {
    auto o = nn::DynamicBaseOptions().patience(3).cooldown(2).smoothing(0);
    baseC = std::make_unique<nn::DynamicBase>(compiled->ropes(), o);
    baseR = std::make_unique<nn::DynamicBase>(reference->ropes(), o);
  }
  torch::Generator gen = at::detail::createCPUGenerator(seed + 1);
  torch::Tensor perm = torch::randperm(24, gen, torch::kInt64);

  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    using torch::indexing::Slice;
    torch::Tensor w = batch(perm, 4, 12, gen);
    torch::Tensor in = w.index({Slice(), Slice(0, -1)}).contiguous();
    torch::Tensor target = w.index({Slice(), Slice(1, torch::indexing::None)});
    double l[2];
    int i = 0;
    for (auto [model, opt] : {std::pair{compiled, &optC},
                              std::pair{reference, &optR}}) {
      opt->zero_grad();
      torch::Tensor logits = model(in);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, 24}), target.reshape({-1}));
      (loss + 1e-3 * model->orthogonality_penalty()).backward();
      opt->step();
      l[i++] = loss.item<double>();
    }
    if (baseC) {
      baseC->step(l[0]);
      baseR->step(l[1]);
      EXPECT_EQ(baseC->base(), baseR->base()) << "step " << step;
    }
    EXPECT_NEAR(l[0], l[1], 1e-4 * std::fabs(l[1]) + 1e-5) << "step " << step;
    losses.push_back(l[0]);
  }
  auto params = compiled->named_parameters();
  auto refParams = reference->named_parameters();
  for (const auto &item : params)
    expectClose(item.value(), refParams[item.key()], 1e-3, 1e-4, item.key());
  double first = (losses[0] + losses[1] + losses[2]) / 3;
  double last = (losses[37] + losses[38] + losses[39]) / 3;
  EXPECT_LT(last, first - 1.0) << "loss " << first << " -> " << last;
}

TEST(NnTransformer, TrainsAndMatchesTheReferencePathStepForStep) {
  trainBoth(/*hdd=*/false);
  trainBoth(/*hdd=*/true);
}
} // namespace

namespace {
/// position -> LearnedSinusoidalEmbedding -> QuaternionRotation -> Linear,
/// regressing a teacher's function of the position.
struct Regressor : torch::nn::Module {
  explicit Regressor(bool reference)
      : embed(register_module(
            "token_embed", nn::LearnedSinusoidalEmbedding(
                               nn::LearnedSinusoidalEmbeddingOptions(16)
                                   .checkpoint(true)
                                   .reference(reference)))),
        rotate(register_module(
            "rotate", nn::QuaternionRotation(
                          nn::QuaternionRotationOptions(16).reference(
                              reference)))),
        out(register_module("out", torch::nn::Linear(16, 1))) {}
  torch::Tensor forward(const torch::Tensor &positions) {
    torch::Tensor e = embed(positions);
    return out(e + rotate(e)).squeeze(-1);
  }
  nn::LearnedSinusoidalEmbedding embed;
  nn::QuaternionRotation rotate;
  torch::nn::Linear out;
};
} // namespace

TEST(NnTransformer, EmbeddingAndQuaternionTrainInAStep) {
  uint64_t seed = uint64_t(torch::randint(1 << 30, {1}).item<int64_t>());
  torch::manual_seed(seed);
  auto compiled = std::make_shared<Regressor>(false);
  torch::manual_seed(seed);
  auto reference = std::make_shared<Regressor>(true);
  nn::FAM optC(compiled->named_parameters().pairs(),
               nn::FAMOptions(0.1).fam_start_step(3));
  nn::FAM optR(reference->named_parameters().pairs(),
               nn::FAMOptions(0.1).fam_start_step(3).reference(true));
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor all = torch::arange(16, torch::kInt64);
  // A teacher the student can reach: a fixed random readout of the
  // initial embedding (and its rotation).
  torch::Tensor teacher;
  {
    torch::NoGradGuard noGrad;
    torch::Tensor e = reference->embed(all);
    teacher = torch::matmul(e + reference->rotate(e), torch::randn({16}, gen));
  }
  auto target = [&](const torch::Tensor &p) {
    return teacher.index_select(0, p);
  };
  auto evalLoss = [&] {
    torch::NoGradGuard noGrad;
    return (compiled->forward(all) - target(all)).pow(2).mean().item<double>();
  };
  double before = evalLoss();
  for (int step = 0; step < 40; ++step) {
    torch::Tensor p = torch::randint(0, 16, {32}, gen, torch::kInt64);
    double l[2];
    int i = 0;
    for (auto [model, opt] :
         {std::pair{compiled, &optC}, std::pair{reference, &optR}}) {
      opt->zero_grad();
      torch::Tensor loss = (model->forward(p) - target(p)).pow(2).mean();
      loss.backward();
      opt->step();
      l[i++] = loss.item<double>();
    }
    // f32 rounding differences between the paths grow with training (the
    // regression is sensitive to its frequencies): 1e-3 relative.
    EXPECT_NEAR(l[0], l[1], 1e-3 * std::fabs(l[1]) + 1e-6) << "step " << step;
  }
  double after = evalLoss();
  EXPECT_LT(after, 0.5 * before) << "loss on all positions " << before
                                 << " -> " << after;
}

namespace {
using Scheme = nn::PositionScheme;
using rotary::test::errorOf;
using rotary::test::expectCloseScaled;

constexpr int64_t kVocab = 16;

/// A small model: head dim 12, a multiple of every HDD chunk.
nn::TransformerOptions small(Scheme scheme) {
  return nn::TransformerOptions()
      .vocab(kVocab)
      .dim(24)
      .heads(2)
      .layers(2)
      .window(4)
      .global_tokens(1)
      .bias_radius(3)
      .rotations(6)
      .position(scheme);
}

const Scheme kSchemes[] = {
    Scheme::None, Scheme::Sinusoidal, Scheme::LearnedSinusoidal,
    Scheme::Rope, Scheme::XPos,       Scheme::Quaternion,
    Scheme::HDD};

struct Variant {
  std::string name;
  nn::TransformerOptions options;
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  for (Scheme s : kSchemes)
    if (s != Scheme::HDD)
      v.push_back({nn::positionSchemeName(s), small(s)});
  for (int64_t chunk : {2, 3, 4})
    for (nn::SOForm form : {nn::SOForm::Givens, nn::SOForm::Exp})
      v.push_back({"hdd chunk " + std::to_string(chunk) +
                       (form == nn::SOForm::Exp ? " exp" : " givens"),
                   small(Scheme::HDD).hdd_chunk(chunk).hdd_form(form)});
  v.push_back({"rope, learnable, base 500", small(Scheme::Rope)
                                                .rope_base(500)
                                                .learnable_freq(true)
                                                .learnable_phase(true)
                                                .learnable_scale(true)});
  v.push_back({"xpos, learnable freq, scale base 16",
               small(Scheme::XPos).xpos_scale_base(16).learnable_freq(true)});
  // Head dim 16: one feature per head passes the rotation.
  v.push_back({"quaternion, head dim 16", small(Scheme::Quaternion).dim(32)});
  v.push_back({"rope, adaptive span", small(Scheme::Rope).adaptive_span(true)});
  v.push_back({"rope, conv 3", small(Scheme::Rope).conv_kernel(3)});
  v.push_back(
      {"rope, no rotation block", small(Scheme::Rope).rotation_block(false)});
  v.push_back({"hdd chunk 3, span, conv 4, no rotation block",
               small(Scheme::HDD)
                   .hdd_chunk(3)
                   .adaptive_span(true)
                   .conv_kernel(4)
                   .rotation_block(false)});
  return v;
}

/// Spans that the mask's ramp reaches at these lengths (the initial 32
/// would mask nothing and give the span no gradient).
void shortSpans(nn::Transformer &m) {
  torch::NoGradGuard noGrad;
  for (auto &b : m->blocks)
    if (b->attention->span.defined())
      b->attention->span.uniform_(1.5, 5.5);
}

void copyState(nn::Transformer &from, nn::Transformer &to) {
  torch::NoGradGuard noGrad;
  auto params = to->named_parameters();
  for (const auto &item : from->named_parameters())
    params[item.key()].copy_(item.value());
  auto buffers = to->named_buffers();
  for (const auto &item : from->named_buffers())
    buffers[item.key()].copy_(item.value());
}

torch::Tensor loss(nn::Transformer &m, const torch::Tensor &in,
                   const torch::Tensor &target) {
  torch::Tensor logits = m(in);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, kVocab}),
                                              target.reshape({-1}));
}

TEST(NnTransformer, EveryVariantMatchesTheReferencePath) {
  for (const Variant &v : variants()) {
    SCOPED_TRACE(v.name);
    nn::Transformer compiled(v.options);
    shortSpans(compiled);
    nn::Transformer reference(
        nn::TransformerOptions(v.options).reference(true));
    copyState(compiled, reference);
    torch::Tensor tokens = torch::randint(kVocab, {2, 9}, torch::kInt64);
    torch::Tensor target = torch::randint(kVocab, {2, 9}, torch::kInt64);
    torch::Tensor logits[2];
    int i = 0;
    for (nn::Transformer *m : {&compiled, &reference}) {
      logits[i] = (*m)(tokens);
      torch::Tensor l = torch::nn::functional::cross_entropy(
          logits[i].reshape({-1, kVocab}), target.reshape({-1}));
      (l + 1e-2 * (*m)->orthogonality_penalty()).backward();
      ++i;
    }
    expectClose(logits[0], logits[1], 1e-4, 1e-5, "logits");
    auto refParams = reference->named_parameters();
    for (const auto &item : compiled->named_parameters()) {
      const torch::Tensor &g = item.value().grad(),
                          &gr = refParams[item.key()].grad();
      ASSERT_EQ(g.defined(), gr.defined()) << item.key();
      ASSERT_TRUE(g.defined()) << item.key() << " gets no gradient";
      expectCloseScaled(g, gr, 1e-3, 1e-4, "d" + item.key());
    }
  }
}

TEST(NnTransformer, EveryVariantLearnsARepeatedSequence) {
  for (const Variant &v : variants()) {
    SCOPED_TRACE(v.name);
    nn::Transformer m(v.options);
    torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-2));
    torch::Tensor seq =
        torch::randint(kVocab, {1, 13}, torch::kInt64).expand({2, 13});
    using torch::indexing::Slice;
    torch::Tensor in = seq.index({Slice(), Slice(0, -1)}).contiguous();
    torch::Tensor target =
        seq.index({Slice(), Slice(1, torch::indexing::None)});
    double first = 0, last = 0;
    for (int step = 0; step < 5; ++step) {
      opt.zero_grad();
      torch::Tensor l = loss(m, in, target);
      (l + 1e-2 * m->orthogonality_penalty()).backward();
      opt.step();
      (step == 0 ? first : last) = l.item<double>();
    }
    EXPECT_LT(last, 0.7 * first) << "loss " << first << " -> " << last;
  }
}

TEST(NnTransformer, EverySchemeIsCausal) {
  for (Scheme s : kSchemes)
    for (bool reference : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << nn::positionSchemeName(s)
                   << (reference ? " reference path" : " compiled"));
      nn::Transformer m(small(s).conv_kernel(3).reference(reference));
      torch::NoGradGuard noGrad;
      torch::Tensor tokens = torch::randint(kVocab, {2, 10}, torch::kInt64);
      int64_t t = torch::randint(1, 10, {1}).item<int64_t>();
      torch::Tensor changed = tokens.clone();
      changed.select(1, t)
          .add_(torch::randint(1, kVocab, {2}, torch::kInt64))
          .remainder_(kVocab);
      torch::Tensor a = m(tokens), b = m(changed);
      SCOPED_TRACE(::testing::Message() << "token " << t << " changed");
      expectClose(b.narrow(1, 0, t), a.narrow(1, 0, t), 0, 1e-6,
                  "logits before the changed token");
      EXPECT_GT((b.select(1, t) - a.select(1, t)).abs().max().item<double>(),
                1e-4)
          << "the changed token changes nothing";
    }
}

TEST(NnTransformer, RejectsBadOptions) {
  auto error = [](const nn::TransformerOptions &o) {
    return errorOf([&] { nn::Transformer m(o); });
  };
  auto expectError = [&](const nn::TransformerOptions &o,
                         const std::string &what) {
    std::string e = error(o);
    EXPECT_NE(e.find(what), std::string::npos)
        << "expected \"" << what << "\", got \"" << e << "\"";
  };
  expectError(small(Scheme::HDD).hdd_chunk(5),
              "hdd_chunk must be 2, 3 or 4, got 5");
  expectError(small(Scheme::HDD).dim(16).hdd_chunk(3),
              "head dim (dim / heads) that is a multiple of hdd_chunk, got "
              "head dim 8 and hdd_chunk 3");
  expectError(small(Scheme::Rope).conv_kernel(-1),
              "conv_kernel must be >= 0 (0: no convolution), got -1");
  expectError(small(Scheme::XPos).xpos_scale_base(0),
              "the xpos position scheme needs xpos_scale_base > 0");
  expectError(small(Scheme::Rope).rope_base(-2), "rope_base must be > 0");
  expectError(small(Scheme::Rope).dim(18).rotation_block(false),
              "the rope position scheme needs an even head dim (dim / heads), "
              "got 9");
  expectError(small(Scheme::Quaternion).dim(18),
              "rotation_block needs an even head dim (dim / heads), got 9");
  expectError(small(Scheme::Quaternion).dim(4).rotation_block(false),
              "the quaternion position scheme needs a head dim (dim / heads) "
              ">= 3, got 2");
  expectError(small(Scheme::Sinusoidal).dim(9).heads(1).rotation_block(false),
              "the sinusoidal position scheme needs an even dim");
  expectError(small(Scheme::None).dim(30).heads(4),
              "dim must be a positive multiple of heads, got dim 30, heads 4");
  // Valid corner cases build.
  EXPECT_EQ(error(small(Scheme::Quaternion).dim(18).rotation_block(false)), "");
  EXPECT_EQ(error(small(Scheme::HDD).dim(36).heads(3).hdd_chunk(3)), "");
}

TEST(NnTransformer, RopesPenaltyAndFamGroups) {
  for (Scheme s : kSchemes) {
    SCOPED_TRACE(nn::positionSchemeName(s));
    nn::Transformer m(small(s));
    bool rope = s == Scheme::Rope || s == Scheme::XPos;
    EXPECT_EQ(m->ropes().size(), rope ? 2u : 0u);
  }
  nn::Transformer plain(small(Scheme::Rope).rotation_block(false));
  torch::Tensor p = plain->orthogonality_penalty();
  ASSERT_TRUE(p.defined());
  EXPECT_EQ(p.dim(), 0);
  EXPECT_EQ(p.item<double>(), 0.0);

  // The fixed sinusoidal embedding, element by element.
  nn::Transformer sin(small(Scheme::Sinusoidal));
  int64_t dim = sin->options.dim();
  torch::Tensor e = sin->sinusoidalEmbedding(torch::arange(7, torch::kInt64));
  ASSERT_EQ(e.sizes(), torch::IntArrayRef({7, dim}));
  torch::Tensor expected = torch::empty({7, dim}, torch::kFloat64);
  for (int64_t pos = 0; pos < 7; ++pos)
    for (int64_t i = 0; i < dim / 2; ++i) {
      double angle = double(pos) * std::pow(10000.0, -2.0 * i / double(dim));
      expected[pos][2 * i] = std::sin(angle);
      expected[pos][2 * i + 1] = std::cos(angle);
    }
  expectClose(e, expected, 0, 1e-6, "sinusoidal embedding");

  // The new parameters' FAM groups (docs/Modules.md).
  nn::Transformer m(small(Scheme::LearnedSinusoidal).conv_kernel(3));
  nn::FAM opt(m->named_parameters().pairs());
  std::map<std::string, std::string> groupOf;
  for (size_t g = 0; g < opt.param_groups().size(); ++g)
    for (const std::string &name : opt.parameter_names(g))
      groupOf[name] =
          static_cast<nn::FAMOptions &>(opt.param_groups()[g].options())
              .group();
  EXPECT_EQ(groupOf["blocks_0.conv.weight"], "conv");
  EXPECT_EQ(groupOf["blocks_1.conv.bias"], "conv");
  EXPECT_EQ(groupOf["position_embed.frequency"], "embedding");
  EXPECT_EQ(groupOf["position_embed.phase"], "embedding");
}
} // namespace
