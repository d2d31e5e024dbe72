//===- HDDTest.cpp - HDD-RoPE ops against the LibTorch references ---------===//
//
// rotary.so_generator (both forms, chunks up to the loop lowering),
// rotary.cumulative_rotation (every axis, the blocked scan) and
// rotary.hdd_rope (the P form and the fused forms at every kind of chunk):
// each test writes one `func.func @entry`, compiles it, runs it through the
// runtime on random f32 (and bf16) inputs and compares with the f64
// reference of test/reference.
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

TEST_F(E2E, SOGenerator) {
  // c > 8 takes the loop lowering of the exp form and the Givens form's
  // task per row of G (c = 10, and the verifier's largest, 32).
  for (int64_t c : {2, 4, 5, 10, 32})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp}) {
      const int64_t K = c * (c - 1) / 2;
      const std::string aT = tensorType({-1, -1, K});
      const std::string gT = tensorType({-1, -1, c, c});
      const std::string source = entrySource(
          {{"a", aT}}, {gT},
          "%g = rotary.so_generator %a chunk = " + std::to_string(c) +
              " form = " + (form == ref::SOForm::Exp ? "exp" : "givens") +
              " : " + aT,
          {"%g"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      // Angles of ~1e4 take ~16 squarings in the exp form.
      for (double range : {kPi, 1e4})
        for (auto lead : std::vector<std::vector<int64_t>>{{1, 1}, {3, 7}}) {
          Tensor a = uniform32({lead[0], lead[1], K}, -range, range);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({a}));
          EXPECT_TRUE(allClose(out[0], ref::soGenerator(f64(a), c, form)))
              << "angles in ±" << range;
        }
    }
}

namespace {
/// The blocked scan over every axis (T crosses several 64-step blocks),
/// with the CPU schedule or the GPU schedule's loops.
void runCumulativeRotation(bool gpuLoops) {
  struct Case {
    std::vector<int64_t> dims; // leading dims (-1 dynamic), then [c, c]
    int64_t c, axis;
    std::vector<int64_t> run;
  };
  for (const Case &k :
       std::vector<Case>{{{-1, -1, -1, -1}, 4, 1, {2, 33, 3, 2}},
                         {{-1, -1, -1, -1}, 4, 1, {1, 1, 1, 1}},
                         {{-1, -1}, 2, 0, {65, 3}},
                         {{-1, -1, -1}, 3, 2, {2, 3, 17}},
                         // c > 8: one c x c product per step, not unrolled
                         // (on the GPU a thread per 1 or 2 rows of P).
                         {{-1, -1, -1}, 9, 1, {2, 70, 2}},
                         {{-1, -1, -1}, 16, 1, {1, 40, 3}},
                         {{-1, -1}, 32, 0, {3, 1}}}) {
    std::vector<int64_t> dims = k.dims;
    dims.push_back(k.c);
    dims.push_back(k.c);
    const std::string gT = tensorType(dims);
    const std::string source = entrySource(
        {{"g", gT}}, {gT},
        "%p = rotary.cumulative_rotation %g {axis = " + std::to_string(k.axis) +
            " : i64} : " + gT,
        {"%p"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
    std::vector<int64_t> lead = k.run;
    lead.push_back(k.c * (k.c - 1) / 2);
    Tensor G = ref::soGenerator(f64(uniform32(lead, -kPi, kPi)), k.c,
                                ref::SOForm::Givens)
                   .to(torch::kFloat32);
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run({G}));
    EXPECT_TRUE(allClose(out[0], ref::cumulativeRotation(f64(G), k.axis)));
  }
}
} // namespace

TEST_F(E2E, CumulativeRotation) { runCumulativeRotation(/*gpuLoops=*/false); }

// The GPU schedule's loops run on the CPU: the same blocked scan, each
// block's and each column's steps a thread's sequential loop.
TEST_F(E2E, CumulativeRotationGpuLoops) {
  runCumulativeRotation(/*gpuLoops=*/true);
}

// Any steps per block the op records: one step per block (every step a
// block of its own), 7 (blocks end mid-sequence), more than T (one block).
TEST_F(E2E, CumulativeRotationScanBlocks) {
  for (int64_t block : {1, 7, 100}) {
    const std::string gT = tensorType({-1, -1, -1, 3, 3});
    const std::string source = entrySource(
        {{"g", gT}}, {gT},
        "%p = rotary.cumulative_rotation %g {axis = 1 : i64, rotary.tiles = "
        "{block = " +
            std::to_string(block) + " : i64}} : " + gT,
        {"%p"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE(kernel, source);
    for (std::vector<int64_t> lead :
         std::vector<std::vector<int64_t>>{{2, 33, 3}, {1, 1, 1}, {1, 65, 2}}) {
      lead.push_back(3);
      Tensor G = ref::soGenerator(f64(uniform32(lead, -kPi, kPi)), 3,
                                  ref::SOForm::Givens)
                     .to(torch::kFloat32);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({G}));
      EXPECT_TRUE(allClose(out[0], ref::cumulativeRotation(f64(G), 1)));
    }
  }
}

namespace {
/// hdd_rope in its P form and fused in both forms, with chunks of c: with
/// the CPU schedule, or the GPU schedule's loops, which run the fused forms
/// as a blocked scan with P in registers (T = 40 and 70 cross blocks of
/// 32 tokens).
void runHDDRope(bool gpuLoops, int64_t c) {
  struct Shape {
    int64_t B, T, H, D;
  };
  const std::vector<Shape> shapes = {
      {2, 9, 3, 2 * c}, {1, 1, 1, c}, {1, 40, 2, 3 * c}, {1, 70, 1, c}};
  for (bool fused : {false, true})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      for (bool inverse : {false, true}) {
        if (!fused && form == ref::SOForm::Exp)
          continue; // the P form has no form
        const int64_t K = c * (c - 1) / 2;
        const std::string xT = dynamicType(4);
        const std::string rT = fused ? tensorType({-1, -1, -1, -1, K})
                                     : tensorType({-1, -1, -1, -1, c, c});
        std::vector<std::string> attrs = {"chunk = " + std::to_string(c) +
                                          " : i64"};
        if (inverse)
          attrs.push_back("inverse");
        std::string op = "%y = rotary.hdd_rope %x, %a";
        if (fused)
          op += std::string(" form = ") +
                (form == ref::SOForm::Exp ? "exp" : "givens");
        op += attrDict(attrs) + " : " + xT + ", " + rT;
        const std::string source =
            entrySource({{"x", xT}, {"a", rT}}, {xT}, op, {"%y"});
        SCOPED_TRACE(source);
        ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
        for (const Shape &s : shapes) {
          Tensor x = randn32({s.B, s.T, s.H, s.D});
          Tensor a = uniform32({s.B, s.T, s.H, s.D / c, K}, -1, 1);
          Tensor rotation = fused ? a
                                  : ref::cumulativeRotation(
                                        ref::soGenerator(f64(a), c, form), 1)
                                        .to(torch::kFloat32);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({x, rotation}));
          ref::HDDRopeOptions o;
          if (fused)
            o.form = form;
          o.chunk = c;
          o.inverse = inverse;
          EXPECT_TRUE(allClose(out[0], ref::hddRope(f64(x), f64(rotation), o)));
        }
      }
}
} // namespace

TEST_F(E2E, HDDRope) { runHDDRope(/*gpuLoops=*/false, 4); }

TEST_F(E2E, HDDRopeGpuLoops) {
  for (int64_t c : {3, 4})
    runHDDRope(/*gpuLoops=*/true, c);
}

namespace {
/// The fused forward with chunks of c in `form` (and `tiles`, recorded on
/// the op as a schedule's choice, when given), x of `element`, on random
/// inputs of each shape [B, T, H, D], against the f64 reference.
void runFusedForward(int64_t c, ref::SOForm form, bool inverse,
                     const std::string &tiles,
                     const std::vector<std::vector<int64_t>> &shapes,
                     const std::string &element = "f32",
                     bool gpuLoops = false) {
  const int64_t K = c * (c - 1) / 2;
  const std::string xT = tensorType({-1, -1, -1, -1}, element);
  const std::string rT = tensorType({-1, -1, -1, -1, K});
  std::vector<std::string> attrs = {"chunk = " + std::to_string(c) + " : i64"};
  if (!tiles.empty())
    attrs.push_back("rotary.tiles = {" + tiles + "}");
  if (inverse)
    attrs.push_back("inverse");
  const std::string op = std::string("%y = rotary.hdd_rope %x, %a form = ") +
                         (form == ref::SOForm::Exp ? "exp" : "givens") +
                         attrDict(attrs) + " : " + xT + ", " + rT;
  const std::string source =
      entrySource({{"x", xT}, {"a", rT}}, {xT}, op, {"%y"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
  for (const std::vector<int64_t> &shape : shapes) {
    Tensor x = randn32(shape);
    if (element == "bf16")
      x = x.to(torch::kBFloat16);
    Tensor a =
        uniform32({shape[0], shape[1], shape[2], shape[3] / c, K}, -1, 1);
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run({x, a}));
    ref::HDDRopeOptions o;
    o.form = form;
    o.chunk = c;
    o.inverse = inverse;
    Tolerance tol =
        element == "bf16" ? Tolerance{8e-3, 8e-3} : Tolerance{2e-5, 2e-5};
    EXPECT_TRUE(allClose(out[0].to(torch::kFloat64),
                         ref::hddRope(f64(x), f64(a), o), tol));
  }
}
} // namespace

// The fused forward as a blocked scan (the GPU's schedule, here recorded
// by hand and run by the CPU): any tokens per block, one (every token a
// block), 7 (blocks end mid-sequence), more than T (one block).
TEST_F(E2E, HDDRopeScanBlocks) {
  for (int64_t block : {1, 7, 100})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      for (bool inverse : {false, true})
        runFusedForward(4, form, inverse,
                        "block = " + std::to_string(block) + " : i64",
                        {{2, 33, 3, 8}, {1, 1, 1, 4}, {1, 65, 2, 4}});
  // Tasks per tile of rows of P (the GPU's choice for chunks over 8): 3
  // rows of c = 9, 2 of 16, 1 of 4; y = Pᵀ·x sums the tiles' shares.
  struct Rows {
    int64_t c, rows, block;
  };
  for (const Rows &r : std::vector<Rows>{{9, 3, 7}, {16, 2, 32}, {4, 1, 5}})
    for (bool inverse : {false, true})
      runFusedForward(r.c, ref::SOForm::Givens, inverse,
                      "block = " + std::to_string(r.block) +
                          " : i64, rows = " + std::to_string(r.rows) + " : i64",
                      {{2, 33, 3, 2 * r.c}, {1, 1, 1, r.c}, {1, 40, 2, r.c}});
}

TEST_F(E2E, HDDRopeFusedChunkSizes) {
  // The fused forward at every kind of chunk: the unrolled lanes (c <= 8,
  // both forms), the rotation loops of the Givens form (c > 8, up to the
  // verifier's largest, 32), and the exp form's unfused path (c > 8, up to
  // 32: its scan is a loop of c x c products); odd c included.
  struct Case {
    int64_t c;
    ref::SOForm form;
    std::string element = "f32";
  };
  for (const Case &k : std::vector<Case>{{2, ref::SOForm::Givens},
                                         {3, ref::SOForm::Givens},
                                         {8, ref::SOForm::Givens},
                                         {9, ref::SOForm::Givens},
                                         {16, ref::SOForm::Givens},
                                         {32, ref::SOForm::Givens},
                                         {16, ref::SOForm::Givens, "bf16"},
                                         {2, ref::SOForm::Exp},
                                         {3, ref::SOForm::Exp},
                                         {8, ref::SOForm::Exp},
                                         {9, ref::SOForm::Exp},
                                         {32, ref::SOForm::Exp}})
    for (bool inverse : {false, true})
      runFusedForward(k.c, k.form, inverse, "",
                      {{2, 5, 3, 2 * k.c}, {1, 1, 1, k.c}, {1, 20, 2, k.c}},
                      k.element);
}

// The GPU schedule's loops with Givens chunks over 8: generator, the
// cumulative product a few rows of P per thread in blocks of 32 tokens
// (T = 40 and 70 cross them), application; c = 9 odd, up to the
// verifier's largest, 32.
TEST_F(E2E, HDDRopeLargeChunkGpuLoops) {
  for (int64_t c : {9, 16, 32})
    for (bool inverse : {false, true}) {
      if (c == 32 && inverse)
        continue; // the sum of the rows' shares runs at 9 and 16
      runFusedForward(
          c, ref::SOForm::Givens, inverse, "",
          {{2, 9, 3, 2 * c}, {1, 1, 1, c}, {1, c == 32 ? 40 : 70, 2, c}}, "f32",
          /*gpuLoops=*/true);
    }
}

TEST_F(E2E, HDDRopeLanesPerTask) {
  // The lanes per task are the schedule's choice; the kernels are correct
  // for any: one lane, a count that divides no vector, both layouts.
  for (auto [c, lanes] :
       std::vector<std::pair<int64_t, int64_t>>{{4, 1}, {4, 3}, {16, 3}})
    for (bool inverse : {false, true})
      runFusedForward(c, ref::SOForm::Givens, inverse,
                      "lanes = " + std::to_string(lanes) + " : i64",
                      {{2, 6, 5, 2 * c}, {1, 1, 1, c}});
}
