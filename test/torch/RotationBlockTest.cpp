//===- RotationBlockTest.cpp - rotary::nn::RotationBlock ------------------===//
//
// Compiled forward/backward against the module's reference path (same
// parameters) and the f64 references of test/reference (givens, then
// orthogonal; the penalty) under LibTorch autograd, on fresh random inputs.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/RotationBlock.h"

#include "../reference/Reference.h"
#include "TestUtil.h"

using namespace rotary;
using rotary::test::errorOf;
using rotary::test::expectClose;
using rotary::test::referenceCopy;

namespace {

TEST(NnRotationBlock, ScheduleMatchesReference) {
  for (int64_t D : {2, 4, 6, 10}) {
    std::vector<reference::Pair> all = reference::roundRobinSchedule(D);
    EXPECT_EQ(nn::roundRobinPairs(D, D * (D - 1) / 2), all) << D;
  }
  EXPECT_EQ(nn::roundRobinPairs(8, 5).size(), 5u);
}

TEST(NnRotationBlock, ForwardBackwardPerLayerAndPerHead) {
  struct Case {
    std::vector<int64_t> shape; // x's shape
    int64_t heads, rotations;
  };
  for (const Case &c : std::vector<Case>{{{1, 1, 2}, 0, 1},
                                         {{3, 7, 6}, 0, -1},
                                         {{2, 5, 3, 8}, 3, 13},
                                         {{1, 1, 1, 4}, 1, -1},
                                         {{4, 10}, 0, 20}}) {
    int64_t D = c.shape.back();
    SCOPED_TRACE(::testing::Message() << "D " << D << " heads " << c.heads
                                      << " rotations " << c.rotations);
    nn::RotationBlock block(nn::RotationBlockOptions(D)
                                .heads(c.heads)
                                .rotations(c.rotations)
                                .angle_init_std(0.5));
    auto ref = referenceCopy<nn::RotationBlockImpl>(block);
    torch::Tensor x = torch::randn(c.shape);
    torch::Tensor dy = torch::randn_like(x);

    torch::Tensor xc = x.clone().requires_grad_(true);
    torch::Tensor y = block->forward(xc);
    (y * dy).sum().backward();
    torch::Tensor xr = x.clone().requires_grad_(true);
    torch::Tensor yr = ref->forward(xr);
    (yr * dy).sum().backward();

    torch::Tensor x64 = x.to(torch::kFloat64).requires_grad_(true);
    torch::Tensor a64 =
        block->angles.detach().to(torch::kFloat64).requires_grad_(true);
    torch::Tensor r64 =
        block->matrix.detach().to(torch::kFloat64).requires_grad_(true);
    torch::Tensor y64 =
        reference::orthogonal(reference::givens(x64, a64), r64);
    (y64 * dy.to(torch::kFloat64)).sum().backward();

    for (auto &[what, got, path, exact] :
         std::vector<std::tuple<std::string, torch::Tensor, torch::Tensor,
                                torch::Tensor>>{
             {"y", y, yr, y64},
             {"dx", xc.grad(), xr.grad(), x64.grad()},
             {"dangles", block->angles.grad(), ref->angles.grad(), a64.grad()},
             {"dR", block->matrix.grad(), ref->matrix.grad(), r64.grad()}}) {
      // Parameter gradients sum over every row.
      double atol = what[0] == 'd' && what != "dx" ? 1e-5 * x.numel() : 1e-5;
      expectClose(got, exact, 1e-4, atol, what + " vs f64 reference");
      expectClose(path, exact, 1e-4, atol, what + " (reference path)");
    }

    torch::Tensor p = block->orthogonality_penalty();
    p.backward();
    torch::Tensor r64b = r64.detach().requires_grad_(true);
    torch::Tensor p64 = reference::orthogonalityPenalty(r64b);
    p64.backward();
    expectClose(p, p64, 1e-4, 1e-5, "penalty");
    expectClose(ref->orthogonality_penalty(), p64, 1e-4, 1e-5,
                "penalty (reference path)");
    // R starts orthogonal: the penalty is rounding only.
    EXPECT_LT(p.item<double>(), 1e-8);
  }
}

TEST(NnRotationBlock, ConditionalAnglesOneLaunchForTheBatch) {
  for (int64_t heads : {0, 3}) {
    SCOPED_TRACE(heads);
    nn::RotationBlock block(nn::RotationBlockOptions(6)
                                .heads(heads)
                                .rotations(11)
                                .conditional_dim(5)
                                .conditional_hidden(7));
    {
      // Non-zero conditional weights, so rows really differ.
      torch::NoGradGuard noGrad;
      block->condition_out->weight.normal_(0, 0.3);
    }
    auto ref = referenceCopy<nn::RotationBlockImpl>(block);
    std::vector<int64_t> shape = heads ? std::vector<int64_t>{4, 3, heads, 6}
                                       : std::vector<int64_t>{4, 3, 6};
    torch::Tensor x = torch::randn(shape), cond = torch::randn({4, 5});
    torch::Tensor dy = torch::randn_like(x);
    torch::Tensor y = block->forward(x, cond);
    (y * dy).sum().backward();
    torch::Tensor yr = ref->forward(x, cond);
    (yr * dy).sum().backward();
    expectClose(y, yr, 1e-4, 1e-5, "y");
    expectClose(block->condition_out->weight.grad(),
                ref->condition_out->weight.grad(), 1e-4, 1e-4, "dW");
    expectClose(block->matrix.grad(), ref->matrix.grad(), 1e-4, 1e-4, "dR");
    // Row b is the unconditional block with angles + net(cond[b]).
    for (int64_t b = 0; b < 4; ++b) {
      torch::NoGradGuard noGrad;
      auto one = std::dynamic_pointer_cast<nn::RotationBlockImpl>(ref->clone());
      torch::Tensor offset =
          ref->condition_out(torch::tanh(ref->condition_in(cond[b])));
      one->angles.add_(offset.view_as(one->angles));
      expectClose(y[b], one->forward(x[b].contiguous()), 1e-4, 1e-5,
                  "row " + std::to_string(b));
    }
  }
}

TEST(NnRotationBlock, BadInput) {
  nn::RotationBlock block(nn::RotationBlockOptions(8).heads(2));
  EXPECT_NE(errorOf([&] { block->forward(torch::randn({3, 4, 8})); })
                .find("x must be [..., H, D] with H = 2, D = 8, got [3, 4, 8]"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              block->forward(torch::randn({3, 8, 2}).transpose(1, 2));
            }).find("contiguous"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { block->forward(torch::randn({3, 2, 8}).to(torch::kInt32)); })
                .find("x must be float32, float16 or bfloat16"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { block->forward(torch::randn({1, 2, 2, 8}),
                                         torch::randn({1, 3})); })
                .find("conditional_dim is 0"),
            std::string::npos);
  EXPECT_NE(errorOf([] { nn::RotationBlock(nn::RotationBlockOptions(5)); })
                .find("dim must be even"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              nn::RotationBlock(nn::RotationBlockOptions(4).rotations(7));
            }).find("rotations must be in [1, D(D-1)/2 = 6], got 7"),
            std::string::npos);
  nn::RotationBlock cond(nn::RotationBlockOptions(4).conditional_dim(3));
  EXPECT_NE(errorOf([&] { cond->forward(torch::randn({2, 5, 4}),
                                        torch::randn({3, 3})); })
                .find("condition must be [B, conditional_dim] with B = 2, "
                      "conditional_dim = 3, got [3, 3]"),
            std::string::npos);
}
} // namespace
