//===- GradHDDTest.cpp - HDD-RoPE gradient ops against LibTorch autograd --===//
//
// Each entry calls one gradient op (so_generator_grad,
// cumulative_rotation_grad, hdd_rope_grad) directly; the expected values
// are LibTorch autograd of the f64 references of test/reference: f64 copies
// of the inputs with requires_grad, the forward reference, backward(ȳ),
// and the inputs' .grad.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using rotary::runtime::Error;
using torch::Tensor;
using namespace rotary::e2e;

namespace {


const char *formName(ref::SOForm form) {
  return form == ref::SOForm::Exp ? "exp" : "givens";
}

/// max|actual − expected| / max|expected|: what the tests report as error.
double relError(const Tensor &actual, const Tensor &expected) {
  Tensor e = expected.detach().to(torch::kFloat64);
  double scale = std::max(e.abs().max().item<double>(), 1e-300);
  return (actual.to(torch::kFloat64) - e).abs().max().item<double>() / scale;
}

/// Random orthogonal rotations G [lead..., c, c] in f32 (the scan's
/// contract), from the givens generator of uniform angles.
Tensor rotations(std::vector<int64_t> lead, int64_t c) {
  lead.push_back(c * (c - 1) / 2);
  return ref::soGenerator(f64(uniform32(lead, -kPi, kPi)), c,
                          ref::SOForm::Givens)
      .to(torch::kFloat32);
}

//===----------------------------------------------------------------------===//
// so_generator_grad
//===----------------------------------------------------------------------===//

struct GeneratorCase {
  int64_t c;
  std::vector<double> angles; ///< angles uniform in [-angle, angle], each
  Tolerance tol;
};

TEST_F(E2E, SOGeneratorGrad) {
  // c = 3 is odd; c > 8 takes the exp form's loop lowering and the Givens
  // form's task per row of G (10 and 16; at the verifier's largest, 32,
  // the same code takes 15 s to compile, E2E.SOGenerator runs its G);
  // angles of ~10 and ~1e4 need several and ~16 squarings in the exp form.
  // One kernel per chunk and form serves every angle range.
  const std::vector<GeneratorCase> cases = {
      {2, {kPi}, {}}, {3, {kPi}, {}},       {4, {kPi, 10.0, 1e4}, {}},
      {8, {kPi}, {}}, {10, {1.0, 1e4}, {}}, {16, {kPi}, {}}};
  for (const GeneratorCase &k : cases)
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp}) {
      // The exp form's loops run at c = 10 here; at 16 and 32 (their
      // references the slowest part of this test) they run in
      // E2E.HDDRopeGradFusedLargeExpChunk.
      if (k.c >= 16 && form == ref::SOForm::Exp)
        continue;
      const int64_t c = k.c, K = c * (c - 1) / 2;
      const std::string aT = tensorType({-1, -1, K});
      const std::string gT = tensorType({-1, -1, c, c});
      const std::string source = entrySource(
          {{"a", aT}, {"dg", gT}}, {aT},
          "%da = rotary.so_generator_grad %a, %dg chunk = " +
              std::to_string(c) + " form = " + formName(form) + " : " + aT +
              ", " + gT,
          {"%da"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      for (double angle : k.angles)
        for (auto lead : std::vector<std::vector<int64_t>>{{1, 1}, {3, 5}}) {
          Tensor a = uniform32({lead[0], lead[1], K}, -angle, angle);
          Tensor dg = randn32({lead[0], lead[1], c, c});
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({a, dg}));
          Tensor a64 = leaf(a);
          ref::soGenerator(a64, c, form).backward(f64(dg));
          EXPECT_TRUE(allClose(out[0], a64.grad(), k.tol))
              << "c = " << c << ", |a| <= " << angle;
        }
    }
}

//===----------------------------------------------------------------------===//
// cumulative_rotation_grad
//===----------------------------------------------------------------------===//

/// The gradient of the blocked scan, with the CPU schedule or the GPU
/// schedule's loops.
void runCumulativeRotationGrad(bool gpuLoops) {
  struct Case {
    std::vector<int64_t> dims; // leading dims (-1 dynamic), then [c, c]
    int64_t c, axis;
    std::vector<int64_t> run;
    Tolerance tol;
  };
  for (const Case &k : std::vector<Case>{
           {{-1, -1, -1, -1}, 4, 1, {2, 33, 3, 2}, {}},
           {{-1, -1, -1, -1}, 4, 1, {1, 1, 1, 1}, {}},
           {{-1, -1}, 2, 0, {65, 3}, {}},
           {{-1, -1, -1}, 3, 2, {2, 3, 17}, {}},
           {{-1, -1, -1}, 8, 1, {1, 20, 2}, {}},
           // c > 8: the GPU's scans take a few rows of P per thread.
           {{-1, -1, -1}, 11, 1, {1, 40, 2}, {}},
           {{-1, -1, -1}, 16, 1, {2, 9, 1}, {}},
           // A long scan: W sums thousands of terms in f32.
           {{-1, -1, -1, -1}, 4, 1, {1, 3000, 1, 2}, {3e-5, 3e-5}}}) {
    std::vector<int64_t> dims = k.dims;
    dims.push_back(k.c);
    dims.push_back(k.c);
    const std::string gT = tensorType(dims);
    const std::string source = entrySource(
        {{"g", gT}, {"dp", gT}}, {gT},
        "%dg = rotary.cumulative_rotation_grad %g, %dp {axis = " +
            std::to_string(k.axis) + " : i64} : " + gT,
        {"%dg"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
    Tensor G = rotations(k.run, k.c);
    Tensor dP = randn32(G.sizes().vec());
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run({G, dP}));
    Tensor G64 = leaf(G);
    ref::cumulativeRotation(G64, k.axis).backward(f64(dP));
    EXPECT_TRUE(allClose(out[0], G64.grad(), k.tol));
    if (k.run[1] > 1000)
      std::cout << "[  error   ] cumulative_rotation_grad T = " << k.run[1]
                << ": " << relError(out[0], G64.grad()) << "\n";
  }
}

TEST_F(E2E, CumulativeRotationGrad) {
  runCumulativeRotationGrad(/*gpuLoops=*/false);
}

TEST_F(E2E, CumulativeRotationGradGpuLoops) {
  runCumulativeRotationGrad(/*gpuLoops=*/true);
}

//===----------------------------------------------------------------------===//
// hdd_rope_grad
//===----------------------------------------------------------------------===//

struct HDDShape {
  int64_t B, T, H, D;
};

/// Expected (x̄, rotation̄) by autograd of ref::hddRope.
std::pair<Tensor, Tensor> hddGrads(const Tensor &x, const Tensor &rotation,
                                   const Tensor &dy,
                                   const ref::HDDRopeOptions &o) {
  Tensor x64 = leaf(x), r64 = leaf(rotation);
  ref::hddRope(x64, r64, o).backward(f64(dy));
  return {x64.grad(), r64.grad()};
}

std::string hddGradSource(const std::string &xT, const std::string &rT,
                          int64_t c, std::optional<ref::SOForm> form,
                          bool inverse, int64_t lanes = 0,
                          int64_t checkpoint = 0) {
  std::vector<std::string> attrs;
  if (form)
    attrs.push_back("chunk = " + std::to_string(c) + " : i64");
  std::vector<std::string> tiles;
  if (lanes)
    tiles.push_back("lanes = " + std::to_string(lanes) + " : i64");
  if (checkpoint)
    tiles.push_back("checkpoint = " + std::to_string(checkpoint) + " : i64");
  if (!tiles.empty())
    attrs.push_back("rotary.tiles = {" + c10::Join(", ", tiles) + "}");
  if (inverse)
    attrs.push_back("inverse");
  std::string op = "%dx, %dr = rotary.hdd_rope_grad %x, %r, %dy";
  if (form)
    op += std::string(" form = ") + formName(*form);
  if (!attrs.empty()) {
    op += " {";
    for (size_t i = 0; i < attrs.size(); ++i)
      op += (i ? ", " : "") + attrs[i];
    op += "}";
  }
  op += " : " + xT + ", " + rT;
  return entrySource({{"x", xT}, {"r", rT}, {"dy", xT}}, {xT, rT}, op,
                     {"%dx", "%dr"});
}

TEST_F(E2E, HDDRopeGradP) {
  struct Case {
    int64_t c;
    bool inverse;
    std::string element;
  };
  for (const Case &k : std::vector<Case>{{4, false, "f32"},
                                         {4, true, "f32"},
                                         {3, false, "f32"},
                                         {2, true, "f32"},
                                         {4, false, "bf16"}}) {
    const int64_t c = k.c, K = c * (c - 1) / 2;
    const bool bf16 = k.element == "bf16";
    const std::string xT = tensorType({-1, -1, -1, -1}, k.element);
    const std::string rT = tensorType({-1, -1, -1, -1, c, c});
    const std::string source =
        hddGradSource(xT, rT, c, std::nullopt, k.inverse);
    SCOPED_TRACE(source);
    ROTARY_COMPILE(kernel, source);
    for (const HDDShape &s :
         std::vector<HDDShape>{{2, 9, 3, 2 * c}, {1, 1, 1, c}, {1, 40, 2, 3 * c}}) {
      Tensor x = randn32({s.B, s.T, s.H, s.D});
      Tensor dy = randn32({s.B, s.T, s.H, s.D});
      if (bf16) {
        x = x.to(torch::kBFloat16);
        dy = dy.to(torch::kBFloat16);
      }
      Tensor P = ref::cumulativeRotation(
                     ref::soGenerator(
                         f64(uniform32({s.B, s.T, s.H, s.D / c, K}, -1, 1)), c,
                         ref::SOForm::Givens),
                     1)
                     .to(torch::kFloat32);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({x, P, dy}));
      ref::HDDRopeOptions o;
      o.inverse = k.inverse;
      auto [dx, dP] = hddGrads(x, P, dy, o);
      // bf16 x̄ is rounded once to 8 bits: 2^-8 relative.
      Tolerance tol = bf16 ? Tolerance{8e-3, 8e-3} : Tolerance{};
      EXPECT_TRUE(allClose(out[0].to(torch::kFloat64), dx, tol));
      EXPECT_TRUE(allClose(out[1], dP));
    }
  }
}

struct FusedCase {
  int64_t c;
  ref::SOForm form;
  bool inverse;
  std::vector<HDDShape> shapes;
  std::string element = "f32";
  double angle = 1.0;
  Tolerance tol = {};
  int64_t lanes = 0; ///< lanes per task on the op; 0: the schedule's
  int64_t checkpoint = 0; ///< tokens between saved P; 0: the schedule's
  bool gpuLoops = false;  ///< the GPU schedule's loops, run on the CPU
};

void runFused(const FusedCase &k) {
  const int64_t c = k.c, K = c * (c - 1) / 2;
  const bool bf16 = k.element == "bf16";
  const std::string xT = tensorType({-1, -1, -1, -1}, k.element);
  const std::string rT = tensorType({-1, -1, -1, -1, K});
  const std::string source =
      hddGradSource(xT, rT, c, k.form, k.inverse, k.lanes, k.checkpoint);
  SCOPED_TRACE(source);
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(k.gpuLoops));
  for (const HDDShape &s : k.shapes) {
    SCOPED_TRACE("B T H D = " + std::to_string(s.B) + " " +
                 std::to_string(s.T) + " " + std::to_string(s.H) + " " +
                 std::to_string(s.D));
    Tensor x = randn32({s.B, s.T, s.H, s.D});
    Tensor dy = randn32({s.B, s.T, s.H, s.D});
    if (bf16) {
      x = x.to(torch::kBFloat16);
      dy = dy.to(torch::kBFloat16);
    }
    Tensor a = uniform32({s.B, s.T, s.H, s.D / c, K}, -k.angle, k.angle);
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run({x, a, dy}));
    ref::HDDRopeOptions o;
    o.form = k.form;
    o.chunk = c;
    o.inverse = k.inverse;
    auto [dx, da] = hddGrads(x, a, dy, o);
    EXPECT_TRUE(allClose(out[0].to(torch::kFloat64), dx, k.tol));
    EXPECT_TRUE(allClose(out[1], da, k.tol));
    if (s.T >= 1000)
      std::cout << "[  error   ] hdd_rope_grad " << formName(k.form)
                << " c = " << c << " T = " << s.T
                << ": dx " << relError(out[0], dx) << ", dangles "
                << relError(out[1], da) << "\n";
  }
}

TEST_F(E2E, HDDRopeGradFused) {
  for (int64_t c : {2, 3, 4, 8})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      for (bool inverse : {false, true}) {
        if (inverse && (c == 2 || c == 8))
          continue;
        // T = 70 crosses a checkpoint of the backward scan.
        runFused({c, form, inverse,
                  {{2, 9, 3, 2 * c}, {1, 1, 1, c}, {1, 70, 2, 2 * c}},
                  "f32", 1.0, Tolerance{}});
      }
}

// The GPU schedule's loops run on the CPU: the fused gradient unfused
// (generator, blocked scan, their gradients); T = 70 crosses a block.
// Givens chunks over 8 take the generator's gradient a row of G per task
// and the scan a few rows of P per thread (c = 9 odd, 16).
TEST_F(E2E, HDDRopeGradFusedGpuLoops) {
  for (int64_t c : {3, 4, 9, 16})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      for (bool inverse : {false, true}) {
        if (c > 8 && form == ref::SOForm::Exp)
          continue; // no GPU schedule yet (gpu-pipeline-errors.mlir)
        FusedCase k{c,
                    form,
                    inverse,
                    {{2, 9, 3, 2 * c}, {1, 1, 1, c}, {1, 70, 2, 2 * c}}};
        k.gpuLoops = true;
        if (c > 8)
          k.tol = Tolerance{5e-5, 5e-5};
        runFused(k);
      }
}

TEST_F(E2E, HDDRopeGradFusedLargeExpChunk) {
  // c = 10 > 8: the exp form runs as the unfused chain of gradient ops
  // (matrix exponentials with tensors and loops, in f64 like c <= 8; the
  // scan a loop of c x c products), up to the verifier's 32.
  runFused({10, ref::SOForm::Exp, false, {{1, 5, 2, 20}, {1, 1, 1, 10}},
            "f32", 1.0, Tolerance{}});
  runFused(
      {32, ref::SOForm::Exp, false, {{1, 3, 1, 32}}, "f32", 1.0, Tolerance{}});
}

TEST_F(E2E, HDDRopeGradFusedLargeGivensChunk) {
  // c > 8: the Givens form loops over the c(c-1)/2 rotations of a step with
  // c-wide column vectors (c = 9 odd, up to the verifier's largest, 32);
  // T = 70 crosses a checkpoint of the backward scan. The error grows with
  // the c(c-1)/2 f32 rotations per step.
  // c = 32 keeps T short: its reference multiplies 496 explicit 32x32
  // matrices per token under autograd.
  for (int64_t c : {9, 16, 32})
    for (bool inverse : {false, true})
      runFused({c,
                ref::SOForm::Givens,
                inverse,
                {{1, c == 32 ? 9 : 70, 2, 2 * c}, {1, 1, 1, c}, {2, 3, 1, c}},
                "f32",
                1.0,
                Tolerance{5e-5, 5e-5}});
  runFused({16,
            ref::SOForm::Givens,
            false,
            {{2, 9, 3, 16}},
            "bf16",
            1.0,
            {8e-3, 8e-3}});
}

TEST_F(E2E, HDDRopeGradLanesPerTask) {
  // Any lanes per task the op records: one, or three (no vector's width),
  // in both layouts; T = 70 crosses a checkpoint.
  for (auto [c, lanes] :
       std::vector<std::pair<int64_t, int64_t>>{{4, 1}, {4, 3}, {16, 3}})
    runFused({c,
              ref::SOForm::Givens,
              false,
              {{1, 70, 2, 2 * c}, {2, 3, 5, c}},
              "f32",
              1.0,
              Tolerance{5e-5, 5e-5},
              lanes});
}

TEST_F(E2E, HDDRopeGradCheckpointInterval) {
  // Any interval the op records: every token (each step restarts from a
  // saved P), 7 (T = 70 in ten blocks), and longer than T (one block); both
  // forms run on lanes.
  for (int64_t checkpoint : {1, 7, 100})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      runFused({4,
                form,
                false,
                {{1, 70, 2, 8}, {2, 3, 5, 4}},
                "f32",
                1.0,
                Tolerance{5e-5, 5e-5},
                /*lanes=*/0,
                checkpoint});
}

TEST_F(E2E, HDDRopeGradFusedBF16) {
  // x̄ is rounded to bf16 once; ā stays f32 but sums bf16 inputs' products.
  runFused({4, ref::SOForm::Givens, false, {{2, 9, 3, 8}}, "bf16", 1.0,
            {8e-3, 8e-3}});
}

TEST_F(E2E, HDDRopeGradFusedLongSequence) {
  // The reverse scan rebuilds P_{t-1} = P_t·G_tᵀ between checkpoints of P;
  // the error against the f64 reference stays at f32 rounding of a scan of
  // thousands of steps (decision 0016).
  runFused({4, ref::SOForm::Givens, false, {{1, 4096, 1, 8}}, "f32", 1.0,
            {3e-5, 3e-5}});
  runFused({4, ref::SOForm::Exp, false, {{1, 4096, 1, 8}}, "f32", 1.0,
            {3e-5, 3e-5}});
}

//===----------------------------------------------------------------------===//
// Bad inputs
//===----------------------------------------------------------------------===//

TEST_F(E2E, HDDGradBadShapes) {
  const std::string xT = dynamicType(4), aT = dynamicType(5);
  ROTARY_COMPILE(fused, hddGradSource(xT, aT, 4, ref::SOForm::Givens, false));
  Tensor x = randn32({1, 5, 2, 8}), a = uniform32({1, 5, 2, 2, 6}, -1, 1);
  expectCheckNaming(*fused, {x, a, randn32({1, 6, 2, 8})}, "dy");
  expectCheckNaming(*fused, {x, a, randn32({1, 5, 2, 4})}, "dy");
  expectCheckNaming(*fused, {x, uniform32({1, 4, 2, 2, 6}, -1, 1), x},
                    "rotation");
  expectCheckNaming(*fused, {x, uniform32({1, 5, 2, 2, 5}, -1, 1), x},
                    "rotation");
  // D = 12 gives D/c = 3 chunks; the angles have 2: rotation's shape is
  // stated from x's, so the check names the rotation.
  expectCheckNaming(*fused, {randn32({1, 5, 2, 12}), a, randn32({1, 5, 2, 12})},
                    "rotation");
  const std::string pT = tensorType({-1, -1, -1, -1, 4, 4});
  ROTARY_COMPILE(pForm, hddGradSource(xT, pT, 4, std::nullopt, true));
  expectCheckNaming(*pForm,
                    {x, rotations({1, 5, 2, 2}, 4), randn32({2, 5, 2, 8})},
                    "dy");
  const std::string gT = tensorType({-1, -1, -1, 3, 3});
  ROTARY_COMPILE(scan, entrySource({{"g", gT}, {"dp", gT}}, {gT},
                                   "%dg = rotary.cumulative_rotation_grad %g, "
                                   "%dp : " +
                                       gT,
                                   {"%dg"}));
  expectCheckNaming(*scan,
                    {rotations({1, 5, 2}, 3), randn32({1, 6, 2, 3, 3})},
                    "dresult");
  const std::string angT = tensorType({-1, 6}), dgT = tensorType({-1, 4, 4});
  ROTARY_COMPILE(gen, entrySource({{"a", angT}, {"dg", dgT}}, {angT},
                                  "%da = rotary.so_generator_grad %a, %dg "
                                  "chunk = 4 form = givens : " +
                                      angT + ", " + dgT,
                                  {"%da"}));
  expectCheckNaming(*gen, {uniform32({3, 6}, -1, 1), randn32({2, 4, 4})},
                    "dresult");
}

} // namespace
