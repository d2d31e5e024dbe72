//===- Seed.cpp - seeds every test, prints the replay line on failure -----===//

#include "Seed.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace rotary;

namespace {
uint64_t current = 0;

/// ROTARY_TEST_SEED as an unsigned 64-bit number; anything else is a
/// mistake worth stopping for rather than silently running another seed.
uint64_t readBase() {
  const char *env = std::getenv("ROTARY_TEST_SEED");
  if (!env || !*env)
    return test::kDefaultTestSeed;
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(env, &end, 10);
  if (errno || *end || *env == '-') {
    std::fprintf(stderr,
                 "ROTARY_TEST_SEED must be an unsigned 64-bit integer, got "
                 "'%s'\n",
                 env);
    std::exit(2);
  }
  return v;
}

/// SplitMix64 of the base and an FNV-1a hash of the test's name.
uint64_t mix(uint64_t base, const std::string &name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name)
    h = (h ^ ch) * 1099511628211ull;
  uint64_t z = base ^ h;
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string fullName(const ::testing::TestInfo &info) {
  return std::string(info.test_suite_name()) + "." + info.name();
}

class SeedListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo &info) override {
    current = test::seedFor(fullName(info));
    torch::manual_seed(current);
  }
  void OnTestEnd(const ::testing::TestInfo &info) override {
    if (!info.result()->Failed())
      return;
    std::printf("[   SEED   ] %s failed: replay with ROTARY_TEST_SEED=%llu "
                "%s --gtest_filter=%s\n",
                fullName(info).c_str(),
                static_cast<unsigned long long>(test::baseSeed()),
                ::testing::internal::GetArgvs().empty()
                    ? "<test binary>"
                    : ::testing::internal::GetArgvs()[0].c_str(),
                fullName(info).c_str());
    std::fflush(stdout);
  }
};

/// Registered before main (gtest_main) runs the tests.
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new SeedListener);
  return true;
}();
} // namespace

uint64_t test::baseSeed() {
  static const uint64_t base = readBase();
  return base;
}

uint64_t test::seedFor(const std::string &fullName) {
  return mix(baseSeed(), fullName);
}

uint64_t test::testSeed() { return current; }
