//===- SeedTest.cpp - the per-test seed policy of Seed.h ------------------===//

#include "Seed.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/wait.h>

using rotary::test::baseSeed;
using rotary::test::testSeed;

// The listener seeded LibTorch's default generator with testSeed() before
// this test started: the first draw is the one that seed gives.
TEST(Seed, DefaultGeneratorIsSeededBeforeEachTest) {
  torch::Tensor first = torch::randn({16}, torch::kFloat64);
  torch::manual_seed(testSeed());
  EXPECT_TRUE(torch::equal(first, torch::randn({16}, torch::kFloat64)));
}

// Each test's seed mixes the base with its full name: two tests of one run
// get different seeds, and a test gets its own whatever runs before it.
TEST(Seed, DependsOnTheTestName) {
  EXPECT_EQ(testSeed(), rotary::test::seedFor("Seed.DependsOnTheTestName"));
  EXPECT_NE(rotary::test::seedFor("Suite.a"), rotary::test::seedFor("Suite.b"));
  EXPECT_NE(testSeed(), baseSeed());
}

// ... and the base is the environment's, or the fixed default.
TEST(Seed, BaseFollowsTheEnvironment) {
  const char *env = std::getenv("ROTARY_TEST_SEED");
  if (env && *env)
    EXPECT_EQ(baseSeed(), std::strtoull(env, nullptr, 10));
  else
    EXPECT_EQ(baseSeed(), rotary::test::kDefaultTestSeed);
}

/// Runs this test binary again with `env` and a gtest filter; returns its
/// output and sets `status` to its exit code.
std::string rerun(const std::string &env, const std::string &filter,
                  int &status) {
  std::string command = env + " " + ::testing::internal::GetArgvs()[0] +
                        " --gtest_filter=" + filter + " 2>&1";
  std::string out;
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe) {
    status = -1;
    return out;
  }
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
    out.append(buffer, n);
  int raw = pclose(pipe);
  status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

// Fails only when asked to, so that the test below can watch a failure.
TEST(Seed, FailsOnRequest) {
  if (std::getenv("ROTARY_SEED_TEST_FAIL"))
    ADD_FAILURE() << "failing on purpose";
}

// A failing test prints the line that replays it, with the base seed.
TEST(Seed, FailurePrintsTheReplayLine) {
  int status = 0;
  std::string out = rerun("ROTARY_SEED_TEST_FAIL=1 ROTARY_TEST_SEED=777",
                          "Seed.FailsOnRequest", status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("[   SEED   ] Seed.FailsOnRequest failed: replay with "
                     "ROTARY_TEST_SEED=777 "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("--gtest_filter=Seed.FailsOnRequest"), std::string::npos)
      << out;
}

// A malformed ROTARY_TEST_SEED stops the run instead of silently using
// another seed.
TEST(Seed, MalformedEnvironmentStops) {
  int status = 0;
  std::string out =
      rerun("ROTARY_TEST_SEED=12x", "Seed.BaseFollowsTheEnvironment", status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("ROTARY_TEST_SEED must be an unsigned 64-bit integer, "
                     "got '12x'"),
            std::string::npos)
      << out;
}
