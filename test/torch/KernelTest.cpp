//===- KernelTest.cpp - the modules' shared checks and kernel cache -------===//

#include "rotary/Torch/Kernel.h"
#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"

#include "TestUtil.h"

#include <cstdlib>

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;

namespace {
TEST(NnKernel, CheckTensorNamesArgumentAndShape) {
  at::Tensor x = torch::zeros({2, 5, 4, 32});
  EXPECT_EQ(
      errorOf([&] {
        nn::checkTensor("Rope", "x", x, {"B", "T", "H", "D"}, {-1, -1, -1, 32});
      }),
      "");
  std::string wrongD = errorOf([&] {
    nn::checkTensor("Rope", "x", x, {"B", "T", "H", "D"}, {-1, -1, -1, 64});
  });
  EXPECT_NE(wrongD.find("rotary::nn::Rope: x must be [B, T, H, D] with D = "
                        "64, got [2, 5, 4, 32]"),
            std::string::npos)
      << wrongD;
  std::string rank = errorOf([&] {
    nn::checkTensor("Rope", "x", x[0], {"B", "T", "H", "D"});
  });
  EXPECT_NE(rank.find("got [5, 4, 32]"), std::string::npos) << rank;
  std::string strided = errorOf([&] {
    nn::checkTensor("Rope", "x", x.transpose(1, 2), {"B", "T", "H", "D"});
  });
  EXPECT_NE(strided.find("must be contiguous"), std::string::npos) << strided;
  // Any device but the CPU or CUDA (which this LibTorch cannot make).
  std::string device = errorOf([&] {
    nn::checkTensor("Rope", "x", torch::empty({2, 5, 4, 32}, torch::kMeta),
                    {"B", "T", "H", "D"});
  });
  EXPECT_NE(device.find("rotary::nn::Rope: x is on meta; the compiled kernels "
                        "run on the CPU or a CUDA GPU"),
            std::string::npos)
      << device;
  std::string dtype =
      errorOf([&] { nn::dataDType("Rope", "x", x.to(torch::kFloat64)); });
  EXPECT_NE(dtype.find("x must be float32, float16 or bfloat16, got Double"),
            std::string::npos)
      << dtype;
}

TEST(NnKernel, CompiledKernelIsMemoized) {
  model::PenaltyKernel k;
  k.dim = 4;
  std::string source = model::buildSource(k);
  auto first = nn::compiledKernel(source);
  auto second = nn::compiledKernel(source);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_NO_THROW(first->entry("orthogonality_penalty_bwd"));
}

TEST(NnKernel, KernelSetsCompileGpuCodeForCudaDevices) {
  // The CUDA device's architecture comes from the driver: the stand-in
  // driver says sm_80. Set before this process first opens the driver
  // (nothing else in these tests does).
  ::setenv("ROTARY_LIBCUDA", ROTARY_FAKE_CUDA, 1);
  ::setenv("ROTARY_FAKE_CUDA_CC", "80", 1);
  EXPECT_EQ(nn::kernelTarget(at::Device("cpu")), "");
  EXPECT_EQ(nn::kernelTarget(at::Device("cuda:0")), "sm_80");
  std::string meta =
      errorOf([] { nn::kernelTarget(at::Device(torch::kMeta)); });
  EXPECT_NE(meta.find("rotary: tensors on meta have no compiled kernels"),
            std::string::npos)
      << meta;
  std::string missing = errorOf([] { nn::kernelTarget(at::Device("cuda:7")); });
  EXPECT_NE(missing.find("rotary: cannot compile for cuda:7"),
            std::string::npos)
      << missing;

  // One configuration, two targets: two bundles, the CUDA one with the
  // kernels of every entry (backward included) for that architecture.
  nn::KernelSet<int> set;
  model::PenaltyKernel k;
  k.dim = 5;
  int made = 0;
  auto make = [&] {
    ++made;
    return k;
  };
  auto cpu = set.get(0, at::Device("cpu"), make);
  auto gpu = set.get(0, at::Device("cuda:0"), make);
  EXPECT_EQ(set.get(0, at::Device("cuda:0"), make).get(), gpu.get());
  EXPECT_EQ(made, 2);
  EXPECT_NE(cpu.get(), gpu.get());
  EXPECT_FALSE(cpu->manifest().gpu);
  ASSERT_TRUE(gpu->manifest().gpu);
  const bundle::GpuCode &code = *gpu->manifest().gpu;
  ASSERT_EQ(code.objects.size(), 1u);
  EXPECT_EQ(code.objects[0].chip, "sm_80");
  EXPECT_FALSE(code.kernels.empty());
  EXPECT_NO_THROW(gpu->entry("orthogonality_penalty_bwd"));
}

TEST(NnKernel, ApplyRunsAUserWrittenOp) {
  // The example of docs/Modules.md: IR text of one's own, compiled through
  // the cache, applied as an autograd Function; against docs/Math.md §1 (half
  // layout, base 10^4) in f64 under LibTorch autograd.
  auto kernel = nn::compiledKernel(R"(
    func.func @rope(%x: tensor<?x?x?x64xf32>, %pos: tensor<?xi64>)
        -> tensor<?x?x?x64xf32> {
      %y = rotary.rope %x, %pos layout = half
          : tensor<?x?x?x64xf32>, tensor<?xi64>
      return %y : tensor<?x?x?x64xf32>
    })");
  torch::Tensor freq =
      torch::pow(10000.0, -torch::arange(32, torch::kFloat64) * 2.0 / 64.0);
  for (int64_t T : {1, 7}) {
    torch::Tensor x = torch::randn({2, T, 3, 64});
    torch::Tensor positions = torch::randint(0, 100000, {T}, torch::kInt64);
    torch::Tensor dy = torch::randn_like(x);
    torch::Tensor xa = x.clone().requires_grad_(true);
    torch::Tensor y = nn::apply(kernel, "rope", {xa, positions})[0];
    (y * dy).sum().backward();

    torch::Tensor x64 = x.to(torch::kFloat64).requires_grad_(true);
    torch::Tensor theta =
        (positions.to(torch::kFloat64).unsqueeze(1) * freq).view({1, T, 1, 32});
    torch::Tensor a = x64.narrow(3, 0, 32), b = x64.narrow(3, 32, 32);
    torch::Tensor y64 = torch::cat(
        {a * theta.cos() - b * theta.sin(), a * theta.sin() + b * theta.cos()},
        3);
    (y64 * dy.to(torch::kFloat64)).sum().backward();
    expectClose(y, y64, 1e-5, 1e-5, "y");
    expectClose(xa.grad(), x64.grad(), 1e-5, 1e-5, "dx");
  }
}

TEST(NnKernel, CompileErrorIsC10Error) {
  std::string message = errorOf([] {
    // Angles of rank 3: the verifier rejects them.
    nn::compiledKernel(
        "func.func @f(%x: tensor<4xf32>, %a: tensor<1x1x1xf32>) -> "
        "tensor<4xf32> {\n  %y = rotary.givens %x, %a : tensor<4xf32>, "
        "tensor<1x1x1xf32>\n  return %y : tensor<4xf32>\n}\n");
  });
  EXPECT_NE(message.find("JIT compilation failed"), std::string::npos)
      << message;
  EXPECT_NE(message.find("angles"), std::string::npos) << message;
}
} // namespace
