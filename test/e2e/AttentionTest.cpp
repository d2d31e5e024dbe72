//===- AttentionTest.cpp - rotary.attention against the reference ---------===//
//
// Causal and not, sliding windows, global tokens, bias tables and full bias,
// adaptive spans, a KV cache (T < S), rows that see no key (T > S) and the
// tile sizes an op records: each case writes one `func.func @entry`,
// compiles it, runs it on random f32 inputs and compares the output and the
// log-sum-exp with the f64 reference of test/reference.
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

struct AttentionCase {
  bool causal;
  int64_t window, global;
  int bias; // 0 none, 1 table [H, 2W+1], 2 full [H, T, S]
  bool span;
  std::vector<std::pair<int64_t, int64_t>> TS;
  /// Tile sizes recorded on the op (query, key); 0: the CPU schedule's.
  std::pair<int64_t, int64_t> tiles{0, 0};
};

/// Runs `cases`, compiled for the CPU or (`gpuLoops`) as the GPU
/// schedule's loops, at a static head dimension (`staticD`: tiles in
/// static shared memory once mapped) or a dynamic one (tiles sized at
/// launch).
void runAttention(const std::vector<AttentionCase> &cases,
                  bool gpuLoops = false, bool staticD = true) {
  const int64_t D = 8;
  for (const AttentionCase &c : cases) {
    const std::string qT = gpuLoops && staticD ? "tensor<?x?x?x8xf32>"
                                               : dynamicType(4),
                      lT = dynamicType(3);
    std::vector<Arg> args = {{"q", qT}, {"k", qT}, {"v", qT}};
    std::string op = "%o, %lse = rotary.attention %q, %k, %v";
    const std::string bT = dynamicType(c.bias == 2 ? 3 : 2);
    if (c.bias) {
      args.push_back({"b", bT});
      op += " bias(%b : " + bT + ")";
    }
    if (c.span) {
      args.push_back({"s", dynamicType(1)});
      op += " span(%s : " + dynamicType(1) + ")";
    }
    std::vector<std::string> attrs;
    if (c.causal)
      attrs.push_back("causal");
    if (c.window >= 0)
      attrs.push_back("window = " + std::to_string(c.window) + " : i64");
    if (c.global > 0)
      attrs.push_back("global_tokens = " + std::to_string(c.global) + " : i64");
    if (c.span)
      attrs.push_back("span_ramp = " + f32Attr(4.0));
    if (c.tiles.first)
      attrs.push_back(
          "rotary.tiles = {query = " + std::to_string(c.tiles.first) +
          " : i64, key = " + std::to_string(c.tiles.second) + " : i64}");
    op += attrDict(attrs) + " : " + qT + ", " + qT + ", " + qT;
    const std::string source = entrySource(args, {qT, lT}, op, {"%o", "%lse"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
    for (auto [T, S] : c.TS) {
      const int64_t B = 2, H = 3;
      SCOPED_TRACE("T " + std::to_string(T) + " S " + std::to_string(S));
      Tensor q = randn32({B, H, T, D}), k = randn32({B, H, S, D}),
             v = randn32({B, H, S, D});
      std::vector<Tensor> inputs = {q, k, v};
      ref::AttentionOptions o;
      o.causal = c.causal;
      o.window = c.window;
      o.globalTokens = c.global;
      if (c.bias) {
        Tensor b = c.bias == 1 ? randn32({H, 9}) : randn32({H, T, S});
        inputs.push_back(b);
        o.bias = f64(b);
      }
      if (c.span) {
        Tensor s = uniform32({H}, -2.0, 10.0);
        inputs.push_back(s);
        o.span = f64(s);
        o.spanRamp = 4.0;
      }
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run(inputs));
      ASSERT_EQ(out.size(), 2u);
      auto expected = ref::attention(f64(q), f64(k), f64(v), o);
      EXPECT_TRUE(allClose(out[0], expected.output)) << "output";
      EXPECT_TRUE(allClose(out[1], expected.lse)) << "log-sum-exp";
    }
  }
}

const std::vector<AttentionCase> kPatterns = {
    {false, -1, 0, 0, false, {{7, 7}, {1, 1}, {5, 9}, {64, 64}}},
    // T = 1 decoding and a KV cache (T < S): queries at the end.
    {true, -1, 0, 0, false, {{7, 7}, {1, 9}, {3, 9}}},
    {true, 3, 2, 0, false, {{33, 33}, {4, 20}}},
    {false, 2, 1, 1, false, {{9, 9}, {1, 6}}},
    {true, -1, 0, 2, false, {{7, 7}, {2, 5}}},
    {true, 8, 0, 1, true, {{40, 40}, {3, 17}}},
    {false, -1, 0, 0, true, {{12, 12}}},
};

// The lowering takes whatever tiles the op records (a target's schedule
// chooses them): odd, one query per tile, larger than the sequence.
const std::vector<AttentionCase> kTiles = {
    {true, 4, 1, 1, true, {{23, 23}, {3, 11}}, {7, 5}},
    {false, -1, 0, 2, false, {{9, 13}}, {1, 3}},
    {true, -1, 0, 0, false, {{17, 17}, {1, 1}}, {96, 128}},
};

// With T > S and `causal` the queries sit at positions -4 .. 1 (decision
// 0011), so rows 0-3 see no key: zero output and lse -inf.
const std::vector<AttentionCase> kRowsWithoutKeys = {
    {true, -1, 0, 0, false, {{6, 2}, {3, 1}}},
    {true, 1, 0, 1, false, {{5, 3}}},
};

} // namespace

TEST_F(E2E, Attention) { runAttention(kPatterns); }

TEST_F(E2E, AttentionTileSizes) { runAttention(kTiles); }

TEST_F(E2E, AttentionRowsWithoutKeys) { runAttention(kRowsWithoutKeys); }

// The GPU schedule's loops (a block per tile of 32 queries, each of its
// loops over a tile shared by the block's threads), run on the CPU: the
// same patterns, tiles and empty rows.
TEST_F(E2E, AttentionGpuLoops) {
  runAttention(kPatterns, /*gpuLoops=*/true);
  runAttention(kTiles, /*gpuLoops=*/true);
  runAttention(kRowsWithoutKeys, /*gpuLoops=*/true);
}

// With the head dimension known only at run time (its tiles sized at
// launch once mapped): the same patterns and empty rows.
TEST_F(E2E, AttentionGpuLoopsDynamicD) {
  runAttention(kPatterns, /*gpuLoops=*/true, /*staticD=*/false);
  runAttention(kRowsWithoutKeys, /*gpuLoops=*/true, /*staticD=*/false);
}
