//===- RuntimeCheckTest.cpp - bad arguments and failed kernel checks ------===//
//
// What the runtime rejects before a kernel runs (a wrong dtype, rank or
// static size, with the argument named) and what only the kernel sees with
// dynamic shapes (its run-time checks: positions length, rope operands,
// givens pairs beyond D, orthogonal and fam_step shapes).
//
//===----------------------------------------------------------------------===//

#include "E2EHelpers.h"
#include "Harness.h"
#include "OpCases.h"
#include "Reference.h"

#include <exception>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using rotary::runtime::Error;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

/// Runs `inputs` and expects rotary::runtime::Error of `kind` whose message
/// contains `needle`.
void expectError(const Kernel &kernel, const std::vector<Tensor> &inputs,
                 Error::Kind kind, const std::string &needle) {
  try {
    kernel.run(inputs);
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error &e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  } catch (const std::exception &e) {
    ADD_FAILURE() << "not a rotary::runtime::Error: " << e.what();
  }
}

/// Expects a failed kernel check: its message is one of the entry's checks.
void expectCheckError(const Kernel &kernel, const std::vector<Tensor> &inputs) {
  ASSERT_FALSE(kernel.entry().checks.empty())
      << "the entry has no run-time checks";
  try {
    kernel.run(inputs);
    ADD_FAILURE() << "no error; expected a failed kernel check";
  } catch (const Error &e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(Error::Kind::Check))
        << e.what();
    bool found = false;
    for (const std::string &check : kernel.entry().checks)
      found |= std::string(e.what()).find(check) != std::string::npos;
    EXPECT_TRUE(found) << "message '" << e.what()
                       << "' names none of the entry's checks";
  } catch (const std::exception &e) {
    ADD_FAILURE() << "not a rotary::runtime::Error: " << e.what();
  }
}

std::string ropeDynamicSource(int posRank) {
  RopeConfig c;
  c.posRank = posRank;
  return ropeSource(c);
}

} // namespace

TEST_F(E2E, BadArgumentDtype) {
  ROTARY_COMPILE(kernel, ropeDynamicSource(1));
  expectError(*kernel,
              {randn32({2, 5, 4, 8}).to(torch::kFloat64), positions({5})},
              Error::Kind::Argument, "'x'");
  expectError(*kernel, {randn32({2, 5, 4, 8}), positions({5}, torch::kInt32)},
              Error::Kind::Argument, "'pos'");
}

TEST_F(E2E, BadArgumentRank) {
  ROTARY_COMPILE(kernel, ropeDynamicSource(1));
  expectError(*kernel, {randn32({5, 4, 8}), positions({5})},
              Error::Kind::Argument, "'x'");
  expectError(*kernel, {randn32({2, 5, 4, 8}), positions({2, 5})},
              Error::Kind::Argument, "'pos'");
  expectError(*kernel, {randn32({2, 5, 4, 8})}, Error::Kind::Argument, "entry");
}

TEST_F(E2E, BadArgumentStaticShape) {
  // Static shapes: the runtime sees the mismatch from the manifest.
  const std::string xT = "tensor<2x5x4x8xf32>", pT = "tensor<5xi64>";
  ROTARY_COMPILE(
      kernel,
      entrySource({{"x", xT}, {"pos", pT}}, {xT},
                  "%y = rotary.rope %x, %pos layout = half : " + xT + ", " + pT,
                  {"%y"}));
  std::vector<Tensor> out;
  Tensor x = randn32({2, 5, 4, 8});
  Tensor pos = positions({5});
  ASSERT_NO_THROW(out = kernel->run({x, pos}));
  EXPECT_TRUE(allClose(out[0], ref::rope(f64(x), pos)));
  expectError(*kernel, {x, positions({6})}, Error::Kind::Argument, "'pos'");
  expectError(*kernel, {randn32({2, 5, 4, 6}), pos}, Error::Kind::Argument,
              "'x'");
}

TEST_F(E2E, KernelCheckPositionsLength) {
  // Dynamic shapes: positions length != T is seen by the kernel only.
  ROTARY_COMPILE(kernel, ropeDynamicSource(1));
  expectCheckError(*kernel, {randn32({2, 5, 4, 8}), positions({6})});
  expectCheckError(*kernel, {randn32({1, 1, 1, 8}), positions({2})});
  ROTARY_COMPILE(bt, ropeDynamicSource(2));
  expectCheckError(*bt, {randn32({2, 5, 4, 8}), positions({3, 5})});
  expectCheckError(*bt, {randn32({2, 5, 4, 8}), positions({2, 4})});
}

TEST_F(E2E, KernelCheckRopeOperands) {
  // inv_freq of the wrong length (r/2 is known at run time only); an odd D
  // without rotary_dim.
  RopeConfig c;
  c.invFreq = true;
  ROTARY_COMPILE(kernel, ropeSource(c));
  expectCheckError(
      *kernel, {randn32({2, 5, 4, 8}), positions({5}), uniform32({3}, 0, 1)});
  RopeConfig plain;
  ROTARY_COMPILE(odd, ropeSource(plain));
  expectCheckError(*odd, {randn32({2, 5, 4, 7}), positions({5})});
  RopeConfig partial;
  partial.rotaryDim = 6;
  ROTARY_COMPILE(small, ropeSource(partial));
  expectCheckError(*small, {randn32({2, 5, 4, 4}), positions({5})});
}

TEST_F(E2E, KernelCheckOtherOps) {
  // givens with explicit pairs and a dynamic D smaller than an index.
  const std::string xT = dynamicType(2), aT = dynamicType(1);
  ROTARY_COMPILE(givens,
                 entrySource({{"x", xT}, {"a", aT}}, {xT},
                             "%y = rotary.givens %x, %a " +
                                 pairsAttr(kOddPairs) + " : " + xT + ", " + aT,
                             {"%y"}));
  expectCheckError(*givens, {randn32({3, 5}), uniform32({6}, 0, 1)});
  expectCheckError(*givens, {randn32({3, 7}), uniform32({5}, 0, 1)});
  // orthogonal with R's rows != D.
  const std::string rT = dynamicType(2);
  ROTARY_COMPILE(
      orth,
      entrySource({{"x", xT}, {"r", rT}}, {xT},
                  "%y = rotary.orthogonal %x, %r : " + xT + ", " + rT, {"%y"}));
  expectCheckError(*orth, {randn32({3, 5}), randn32({4, 5})});
  // fam_step with grad and param of different shapes.
  const std::string T = dynamicType(1);
  ROTARY_COMPILE(fam, entrySource({{"p", T},
                                   {"g", T},
                                   {"m", T},
                                   {"lr", "tensor<f32>"},
                                   {"alpha", "tensor<f32>"}},
                                  {T, T},
                                  "%p2, %m2 = rotary.fam_step %p, %g, %m, %lr, "
                                  "%alpha : " +
                                      T + ", " + T,
                                  {"%p2", "%m2"}));
  expectCheckError(*fam, {randn32({5}), randn32({6}), randn32({5}),
                          uniform32({}, 0, 1), uniform32({}, 0, 1)});
}
