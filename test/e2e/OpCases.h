//===- OpCases.h - option matrices shared by e2e tests ----------*- C++ -*-===//
//
// What the forward tests (ChainTest.cpp, E2EHelpers.h) and the gradient tests
// (GradRopeChainTest.cpp) share, so both directions cover the same options:
// the Givens chain configurations and the rope layout names.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_E2E_OPCASES_H
#define ROTARY_TEST_E2E_OPCASES_H

#include "Reference.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rotary::e2e {

/// The rope layout's keyword in the IR.
inline const char *layoutName(reference::RopeLayout l) {
  switch (l) {
  case reference::RopeLayout::Half:
    return "half";
  case reference::RopeLayout::Interleaved:
    return "interleaved";
  case reference::RopeLayout::Deinterleave:
    return "deinterleave";
  }
  return "?";
}

struct GivensConfig {
  int64_t D = 8; ///< static D (default schedule) or first run D
  bool staticD = true;
  int64_t N = 28;
  std::vector<reference::Pair> pairs; ///< empty: the default schedule
  int64_t heads = 0;                  ///< > 0: angles [H, N]
  bool inverse = false;
  int xRank = 2;              ///< 2: [rows, D]; 4: [B, T, H, D]
  std::vector<int64_t> runDs; ///< with a dynamic D: the Ds to run
  torch::ScalarType dtype = torch::kFloat32;
  /// The leading shapes of x to run (empty: a default set per rank).
  std::vector<std::vector<int64_t>> lead;
  /// Rows per group written on the op (`rotary.tiles`); 0: the schedule's.
  int64_t rows = 0;
  /// Compiled as the GPU schedule's loops (needs a static D).
  bool gpuLoops = false;
};

/// The attributes of a Givens config's op: `inverse`, and its row groups.
inline std::vector<std::string> givensAttrs(const GivensConfig &c) {
  std::vector<std::string> attrs;
  if (c.inverse)
    attrs.push_back("inverse");
  if (c.rows)
    attrs.push_back("rotary.tiles = {rows = " + std::to_string(c.rows) +
                    " : i64}");
  return attrs;
}

/// Reversed and repeated pairs over an odd D = 7.
inline const std::vector<reference::Pair> kOddPairs = {{0, 6}, {5, 2}, {1, 3},
                                                       {5, 2}, {6, 0}, {4, 3}};

/// Per-head chains: the default schedule on [B, T, H, D], and explicit pairs
/// per head with a dynamic D.
inline std::vector<GivensConfig> givensPerHeadCases() {
  GivensConfig c;
  c.D = 6;
  c.N = 15;
  c.heads = 4;
  c.xRank = 4;
  GivensConfig e;
  e.staticD = false;
  e.pairs = {{0, 1}, {2, 3}, {1, 2}};
  e.N = 3;
  e.heads = 8;
  e.runDs = {4, 5};
  return {c, e};
}

/// `inverse`: a partial default schedule, odd explicit pairs with a dynamic
/// D, and per-head chains.
inline std::vector<GivensConfig> givensInverseCases() {
  GivensConfig c;
  c.D = 16;
  c.N = 50;
  c.inverse = true;
  GivensConfig e;
  e.staticD = false;
  e.pairs = kOddPairs;
  e.N = e.pairs.size();
  e.runDs = {7};
  e.inverse = true;
  GivensConfig h;
  h.D = 6;
  h.N = 15;
  h.heads = 2;
  h.xRank = 4;
  h.inverse = true;
  return {c, e, h};
}

/// What the GPU schedule's loops of a chain (forward or gradient) are run
/// on: the default schedule at D = 8 and at D = 64 with all 2016 rotations
/// (1, 150 and 300 rows: several groups, a partial one), odd explicit pairs
/// on [B, T, H, D], the per-head and inverse cases (static and dynamic D),
/// bf16 rows in a recorded group of 7.
inline std::vector<GivensConfig> givensGpuLoopCases() {
  GivensConfig c;
  GivensConfig d64 = c;
  d64.D = 64;
  d64.N = 64 * 63 / 2;
  d64.lead = {{1}, {150}, {300}};
  GivensConfig odd = c;
  odd.pairs = kOddPairs;
  odd.N = odd.pairs.size();
  odd.D = 7;
  odd.xRank = 4;
  GivensConfig bf16 = c;
  bf16.dtype = torch::kBFloat16;
  bf16.rows = 7;
  bf16.lead = {{1}, {30}};
  std::vector<GivensConfig> cases = {c, d64, odd};
  for (const std::vector<GivensConfig> &more :
       {givensPerHeadCases(), givensInverseCases()})
    cases.insert(cases.end(), more.begin(), more.end());
  cases.push_back(bf16);
  for (GivensConfig &g : cases)
    g.gpuLoops = true;
  return cases;
}

/// Chains on each side of the cost model's break-even point between the
/// chain and the fold, for the forward (chain 6·N flops per row against
/// 2·D² per row plus 6·N·D per head) and the gradient (25·N against 8·D²
/// plus 31·N·D): with dynamic rows one kernel holds both forms, and each
/// case runs a row count below both break-evens and one above.
inline std::vector<GivensConfig> givensFoldCases() {
  GivensConfig full; // D = 64, all 2016 rotations: folds above 198 / 227
  full.D = 64;
  full.N = 64 * 63 / 2;
  // 2500 rows: the gradient's Q̄ sums two whole chunks of 1024 and a rest.
  full.lead = {{1}, {150}, {300}, {2500}};
  GivensConfig perHead; // per-head angles on [B, T, H, D]
  perHead.heads = 3;
  perHead.xRank = 4;
  perHead.lead = {{1, 2, 3}, {4, 50, 3}};
  GivensConfig inverse; // D = 16, all 120 rotations, inverse
  inverse.D = 16;
  inverse.N = 120;
  inverse.inverse = true;
  inverse.lead = {{5}, {300}};
  GivensConfig pairs; // odd D, 24 explicit (repeated) pairs
  pairs.staticD = false;
  for (int i = 0; i < 4; ++i)
    pairs.pairs.insert(pairs.pairs.end(), kOddPairs.begin(), kOddPairs.end());
  pairs.N = pairs.pairs.size();
  pairs.runDs = {7};
  pairs.lead = {{7}, {300}};
  return {full, perHead, inverse, pairs};
}

} // namespace rotary::e2e

#endif // ROTARY_TEST_E2E_OPCASES_H
