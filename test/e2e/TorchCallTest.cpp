//===- TorchCallTest.cpp - bundle entries as LibTorch autograd ops --------===//
//
// rotary::nn::apply runs a compiled forward and, on backward(), the
// compiled vjp the manifest names; the gradients must equal LibTorch
// autograd of the f64 references. Bad tensors give a c10::Error that names
// the entry and the argument, before anything runs.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include "rotary/Compiler/Compiler.h"
#include "rotary/Torch/Call.h"

#include <torch/autograd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ref = rotary::reference;
namespace fs = std::filesystem;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

/// examples/NAME compiled with gradients into a fresh temporary bundle.
std::shared_ptr<rotary::runtime::Bundle> loadExample(const std::string &name,
                                                     bool gradients = true) {
  std::ifstream in(std::string(ROTARY_EXAMPLES_DIR) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  std::string dir = (fs::temp_directory_path() /
                     ("rotary-torch-" + std::to_string(::getpid()) + "-" +
                      name + (gradients ? "" : "-nograd") + ".rotary"))
                        .string();
  rotary::compiler::CompileOptions options;
  options.gradients = gradients;
  std::string error;
  EXPECT_TRUE(
      rotary::compiler::compileSourceToBundle(s.str(), name, dir, options, error))
      << error;
  auto bundle = rotary::runtime::Bundle::load(dir);
  // The library stays mapped while the bundle lives; the files can go.
  std::error_code ec;
  fs::remove_all(dir, ec);
  return bundle;
}

/// The message of the c10::Error `fn` throws ("" when it does not throw).
std::string errorOf(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const c10::Error &e) {
    return e.what_without_backtrace();
  }
  return "";
}

class TorchCall : public E2E {};

TEST_F(TorchCall, RopeBackwardThroughAutograd) {
  auto bundle = loadExample("rope.mlir");
  Tensor x = randn32({2, 5, 3, 8}).requires_grad_(true);
  Tensor pos = torch::randint(0, 5000, {5}, torch::kInt64);
  Tensor f = uniform32({4}, 1e-3, 1.0).requires_grad_(true);
  Tensor ph = randn32({4}).requires_grad_(true);
  Tensor sc = uniform32({}, 0.5, 1.5).requires_grad_(true);
  std::vector<Tensor> y =
      rotary::nn::apply(bundle, "rope_learned", {x, pos, f, ph, sc});
  ASSERT_EQ(y.size(), 1u);
  Tensor w = randn32({2, 5, 3, 8});
  (y[0] * w).sum().backward();
  EXPECT_FALSE(pos.grad().defined());

  Tensor xr = f64(x.detach()).requires_grad_(true);
  Tensor fr = f64(f.detach()).requires_grad_(true);
  Tensor phr = f64(ph.detach()).requires_grad_(true);
  Tensor scr = f64(sc.detach()).requires_grad_(true);
  ref::RopeOptions o;
  o.invFreq = fr;
  o.phase = phr;
  o.scale = scr;
  Tensor expectY = ref::rope(xr, pos, o);
  EXPECT_TRUE(allClose(y[0].detach(), expectY.detach(), {1e-5, 1e-5}));
  (expectY * f64(w)).sum().backward();
  EXPECT_TRUE(allClose(x.grad(), xr.grad(), {1e-5, 1e-5}));
  EXPECT_TRUE(allClose(f.grad(), fr.grad(), {1e-4, 1e-4}));
  EXPECT_TRUE(allClose(ph.grad(), phr.grad(), {1e-4, 1e-4}));
  EXPECT_TRUE(allClose(sc.grad(), scr.grad(), {1e-4, 1e-4}));
}

TEST_F(TorchCall, AttentionSavesItsLogSumExp) {
  auto bundle = loadExample("attention.mlir");
  for (int64_t T : {1, 9, 80}) {
    Tensor q = randn32({1, 2, T, 8}).requires_grad_(true);
    Tensor k = randn32({1, 2, T, 8}).requires_grad_(true);
    Tensor v = randn32({1, 2, T, 8}).requires_grad_(true);
    Tensor out = rotary::nn::apply(bundle, "attention", {q, k, v})[0];
    Tensor w = randn32({1, 2, T, 8});
    (out * w).sum().backward();
    Tensor qr = f64(q.detach()).requires_grad_(true);
    Tensor kr = f64(k.detach()).requires_grad_(true);
    Tensor vr = f64(v.detach()).requires_grad_(true);
    ref::AttentionOptions o;
    o.causal = true;
    o.window = 64;
    (ref::attention(qr, kr, vr, o).output * f64(w)).sum().backward();
    EXPECT_TRUE(allClose(q.grad(), qr.grad(), {1e-4, 1e-4})) << "T=" << T;
    EXPECT_TRUE(allClose(k.grad(), kr.grad(), {1e-4, 1e-4})) << "T=" << T;
    EXPECT_TRUE(allClose(v.grad(), vr.grad(), {1e-4, 1e-4})) << "T=" << T;
  }
}

TEST_F(TorchCall, BadTensorsNameTheArgument) {
  auto bundle = loadExample("rope.mlir");
  Tensor x = randn32({2, 5, 3, 8}), pos = torch::arange(5);
  EXPECT_NE(errorOf([&] {
              rotary::nn::call(*bundle, "rope", {x.to(torch::kFloat64), pos});
            }).find("rotary: entry 'rope': argument 'x' must be f32, got f64"),
            std::string::npos);
  std::string nonContiguous = errorOf([&] {
    rotary::nn::call(*bundle, "rope", {x.transpose(1, 2), pos});
  });
  EXPECT_NE(nonContiguous.find("argument 'x'"), std::string::npos)
      << nonContiguous;
  EXPECT_NE(nonContiguous.find("contiguous"), std::string::npos)
      << nonContiguous;
  std::string rank =
      errorOf([&] { rotary::nn::call(*bundle, "rope", {x[0], pos}); });
  EXPECT_NE(rank.find("argument 'x' must have rank 4"), std::string::npos)
      << rank;
  std::string count =
      errorOf([&] { rotary::nn::call(*bundle, "rope", {x}); });
  EXPECT_NE(count.find("entry 'rope' takes 2 inputs, got 1"),
            std::string::npos)
      << count;
  std::string mismatch = errorOf(
      [&] { rotary::nn::call(*bundle, "rope", {x, torch::arange(4)}); });
  EXPECT_NE(mismatch.find("positions"), std::string::npos) << mismatch;
  std::string sparse = errorOf([&] {
    rotary::nn::call(*bundle, "rope", {x.to_sparse(), pos});
  });
  EXPECT_NE(sparse.find("must be a dense (strided) tensor"), std::string::npos)
      << sparse;
  std::string missing =
      errorOf([&] { rotary::nn::call(*bundle, "nothere", {x, pos}); });
  EXPECT_NE(missing.find("has no entry 'nothere'"), std::string::npos)
      << missing;
  // No gradient record: compiled without gradients, or not differentiable.
  auto plain = loadExample("rope.mlir", /*gradients=*/false);
  std::string noGrad =
      errorOf([&] { rotary::nn::apply(plain, "rope", {x, pos}); });
  EXPECT_NE(noGrad.find("entry 'rope' has no gradient"), std::string::npos)
      << noGrad;
}

} // namespace
