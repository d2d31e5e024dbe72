//===- Seed.h - one seed policy for every randomised test -------*- C++ -*-===//
//
// Linked into each gtest executable that draws random inputs (reference,
// e2e, model library). Before every test a listener seeds LibTorch's
// default generator from a base seed and the test's full name, so a test
// draws the same inputs whatever runs before it or how it is filtered.
//
//   base seed = $ROTARY_TEST_SEED if set, else kDefaultTestSeed (fixed, so
//               CI is reproducible); scripts/soak N runs the suite with N
//               fresh bases.
//
// A failing test prints the line to replay it:
//   [   SEED   ] Suite.Name failed: replay with ROTARY_TEST_SEED=B
//               <binary> --gtest_filter=Suite.Name
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_SUPPORT_SEED_H
#define ROTARY_TEST_SUPPORT_SEED_H

#include <cstdint>
#include <string>

namespace rotary::test {

constexpr uint64_t kDefaultTestSeed = 20261205;

/// The base seed of this run (ROTARY_TEST_SEED, else the default).
uint64_t baseSeed();
/// The seed of the test called `fullName` ("Suite.Name") in this run.
uint64_t seedFor(const std::string &fullName);
/// The seed the running test was given (tests that make their own
/// generators derive them from it).
uint64_t testSeed();

} // namespace rotary::test

#endif // ROTARY_TEST_SUPPORT_SEED_H
