//===- EmbeddingTest.cpp - LearnedSinusoidalEmbedding and checkpoint ------===//

#include "rotary/Torch/Embedding.h"

#include "TestUtil.h"

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;

namespace {
/// normalize([cos θ, sin θ]), θ = p·w + b, straight from the definition in
/// f64 (independent of the module's code).
torch::Tensor embedding64(const torch::Tensor &positions,
                          const torch::Tensor &w, const torch::Tensor &b,
                          bool normalize) {
  torch::Tensor theta =
      positions.to(torch::kFloat64).unsqueeze(-1) * w + b;
  torch::Tensor e = torch::cat({torch::cos(theta), torch::sin(theta)}, -1);
  if (normalize)
    e = e / torch::sqrt((e * e).sum(-1, true));
  return e;
}

TEST(NnEmbedding, CompiledReferenceAndCheckpointed) {
  for (int64_t dim : {2, 6, 32})
    for (bool batched : {false, true})
      for (bool checkpointed : {false, true})
        for (bool normalize : {false, true}) {
          SCOPED_TRACE(::testing::Message()
                       << "dim " << dim << " batched " << batched
                       << " checkpoint " << checkpointed << " normalize "
                       << normalize);
          nn::LearnedSinusoidalEmbedding emb(
              nn::LearnedSinusoidalEmbeddingOptions(dim)
                  .normalize(normalize)
                  .checkpoint(checkpointed));
          {
            torch::NoGradGuard noGrad;
            emb->phase.uniform_(-1, 1);
          }
          auto ref = std::dynamic_pointer_cast<
              nn::LearnedSinusoidalEmbeddingImpl>(emb->clone());
          ref->options.reference(true);
          torch::Tensor p =
              batched ? torch::randint(0, 100000, {3, 5}, torch::kInt64)
                      : torch::randint(0, 100000, {1}, torch::kInt64);
          torch::Tensor e = emb->forward(p), er = ref->forward(p);
          torch::Tensor de = torch::randn_like(e);
          (e * de).sum().backward();
          (er * de).sum().backward();
          torch::Tensor w64 =
              emb->frequency.detach().to(torch::kFloat64).requires_grad_(true);
          torch::Tensor b64 =
              emb->phase.detach().to(torch::kFloat64).requires_grad_(true);
          torch::Tensor e64 = embedding64(p, w64, b64, normalize);
          (e64 * de.to(torch::kFloat64)).sum().backward();
          expectClose(e, e64, 1e-5, 1e-5, "e");
          expectClose(er, e64, 1e-5, 1e-5, "e (reference path)");
          // dw sums p·(...) over positions up to 1e5.
          double atol = 1e-5 * 1e5 * double(p.numel());
          expectClose(emb->frequency.grad(), w64.grad(), 1e-4, atol, "dw");
          expectClose(ref->frequency.grad(), w64.grad(), 1e-4, atol,
                      "dw (reference path)");
          expectClose(emb->phase.grad(), b64.grad(), 1e-4, 1e-5, "db");
          expectClose(ref->phase.grad(), b64.grad(), 1e-4, 1e-5,
                      "db (reference path)");
        }
}

TEST(NnEmbedding, CheckpointRecomputesInTheBackward) {
  int calls = 0;
  torch::Tensor a = torch::randn({4}, torch::requires_grad());
  torch::Tensor b = torch::randn({4});
  auto fn = [&](const std::vector<torch::Tensor> &in) {
    ++calls;
    return (torch::sin(in[0]) * in[1]).sum();
  };
  torch::Tensor y = nn::checkpoint(fn, {a, b});
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(y.grad_fn() == nullptr);
  y.backward();
  EXPECT_EQ(calls, 2);
  expectClose(a.grad(), torch::cos(a.detach()) * b, 1e-6, 1e-7, "da");
  // Inputs without gradients need no recomputation.
  torch::Tensor z = nn::checkpoint(fn, {a.detach(), b});
  EXPECT_FALSE(z.requires_grad());
}

TEST(NnEmbedding, BadInput) {
  nn::LearnedSinusoidalEmbedding emb(nn::LearnedSinusoidalEmbeddingOptions(8));
  EXPECT_NE(errorOf([&] { emb->forward(torch::zeros({3})); })
                .find("positions must be int64, got Float"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { emb->forward(torch::zeros({1, 2, 3}, torch::kInt64)); })
                .find("positions must be [T], got [1, 2, 3]"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::LearnedSinusoidalEmbedding(
                  nn::LearnedSinusoidalEmbeddingOptions(7));
            }).find("dim must be even"),
            std::string::npos);
}
} // namespace
