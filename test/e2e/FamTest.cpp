//===- FamTest.cpp - FAM ops against the LibTorch references --------------===//
//
// rotary.spectral_bands (every layout and band count),
// rotary.adaptive_momentum (every handler, each branch reached) and
// rotary.fam_step (with and without weight decay): each test writes one
// `func.func @entry`, compiles it, runs it through the runtime and compares
// with the f64 reference of test/reference.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include <string>
#include <utility>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::e2e;

namespace {
/// Every layout and band count, with the CPU schedule or the GPU
/// schedule's loops.
void runSpectralBands(bool gpuLoops) {
  const std::vector<std::pair<ref::BandLayout, const char *>> layouts = {
      {ref::BandLayout::Linear, "linear"},
      {ref::BandLayout::Log, "log"},
      {ref::BandLayout::Split, "split"}};
  for (auto [layout, name] : layouts)
    for (int64_t n : {8, 10, 12}) {
      const std::string pT = dynamicType(1), bT = tensorType({n});
      const std::string source = entrySource(
          {{"p", pT}}, {bT},
          "%b = rotary.spectral_bands %p bands = " + std::to_string(n) +
              " layout = " + name + " : " + pT,
          {"%b"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
      // Lengths that are no perfect powers: the log layout's band edges
      // ⌊L^{i/n}⌋ then sit away from integers, where f32 pow is safe.
      for (int64_t L : {1, 5, 33, 257, 501}) {
        SCOPED_TRACE("L " + std::to_string(L));
        Tensor P = uniform32({L}, 0, 2);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({P}));
        ref::SpectralBandsOptions o;
        o.bands = n;
        o.layout = layout;
        EXPECT_TRUE(allClose(out[0], ref::spectralBands(f64(P), o)));
      }
      // A zero spectrum stays zero (no NaN).
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({torch::zeros({16}, torch::kFloat32)}));
      EXPECT_TRUE(allClose(out[0], torch::zeros({n}, torch::kFloat64)));
    }
}

/// Every handler, each branch reached, with the CPU schedule or the GPU
/// schedule's loops.
void runAdaptiveMomentum(bool gpuLoops) {
  const std::vector<std::pair<ref::FamHandler, const char *>> handlers = {
      {ref::FamHandler::Default, "default"},
      {ref::FamHandler::Conv, "conv"},
      {ref::FamHandler::Attention, "attention"},
      {ref::FamHandler::Embedding, "embedding"}};
  for (auto [handler, name] : handlers) {
    const std::string eT = dynamicType(1);
    const std::string source =
        entrySource({{"e", eT}, {"alpha", "tensor<f32>"}}, {"tensor<f32>"},
                    "%a = rotary.adaptive_momentum %e, %alpha handler = " +
                        std::string(name) + " : " + eT,
                    {"%a"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
    // Every band alone at 0.6 (each branch of each handler is reached, and
    // no sum is near a threshold), plus an all-small and an n = 1 case.
    for (int64_t n : {1, 5, 8, 10, 12}) {
      for (int64_t k = -1; k < n; ++k) {
        Tensor e = torch::full({n}, 0.01f);
        if (k >= 0)
          e[k] = 0.6f;
        for (float alpha : {0.8f, 0.92f, 0.97f}) {
          SCOPED_TRACE("n " + std::to_string(n) + " peak " + std::to_string(k) +
                       " alpha " + std::to_string(alpha));
          Tensor a = torch::full({}, alpha);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({e, a}));
          EXPECT_TRUE(
              allClose(out[0], ref::adaptiveMomentum(f64(e), f64(a), handler)));
        }
      }
    }
  }
}
} // namespace

TEST_F(E2E, SpectralBands) { runSpectralBands(/*gpuLoops=*/false); }

TEST_F(E2E, SpectralBandsGpuLoops) { runSpectralBands(/*gpuLoops=*/true); }

TEST_F(E2E, AdaptiveMomentum) { runAdaptiveMomentum(/*gpuLoops=*/false); }

TEST_F(E2E, AdaptiveMomentumGpuLoops) {
  runAdaptiveMomentum(/*gpuLoops=*/true);
}

namespace {
void runFamStep(bool gpuLoops) {
  for (double wd : {0.0, 0.01})
    for (int rank : {1, 2}) {
      const std::string T = dynamicType(rank);
      const std::string op =
          "%p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha" +
          attrDict(
              wd > 0 ? std::vector<std::string>{"weight_decay = " + f32Attr(wd)}
                     : std::vector<std::string>{}) +
          " : " + T + ", " + T;
      const std::string source = entrySource({{"p", T},
                                              {"g", T},
                                              {"m", T},
                                              {"lr", "tensor<f32>"},
                                              {"alpha", "tensor<f32>"}},
                                             {T, T}, op, {"%p2", "%m2"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
      const std::vector<std::vector<int64_t>> shapes =
          rank == 1
              ? std::vector<std::vector<int64_t>>{{1}, {1000}, {17}}
              : std::vector<std::vector<int64_t>>{{3, 5}, {1, 1}, {17, 33}};
      for (const auto &shape : shapes) {
        SCOPED_TRACE("shape " + c10::str(c10::IntArrayRef(shape)));
        Tensor p = randn32(shape), g = randn32(shape), m = randn32(shape);
        Tensor lr = uniform32({}, 1e-4, 1e-1), alpha = uniform32({}, 0.8, 0.99);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({p, g, m, lr, alpha}));
        ASSERT_EQ(out.size(), 2u);
        ref::FamStepOptions o;
        o.weightDecay = static_cast<double>(static_cast<float>(wd));
        auto expected =
            ref::famStep(f64(p), f64(g), f64(m), f64(lr), f64(alpha), o);
        EXPECT_TRUE(allClose(out[0], expected.param)) << "new param";
        EXPECT_TRUE(allClose(out[1], expected.momentum)) << "new momentum";
      }
    }
}
} // namespace

TEST_F(E2E, FamStep) { runFamStep(/*gpuLoops=*/false); }

// The GPU schedule's loop (one thread per element) run on the CPU.
TEST_F(E2E, FamStepGpuLoops) { runFamStep(/*gpuLoops=*/true); }
