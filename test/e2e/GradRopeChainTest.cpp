//===- GradRopeChainTest.cpp - compiled gradients vs LibTorch autograd --===//
//
// rope_grad, givens_grad, orthogonal_grad, orthogonality_penalty_grad and
// quaternion_rotate_grad, called directly from an entry function, compiled,
// run on random inputs (f32, and bf16 data for some cases) and compared with
// LibTorch autograd of the f64 references of test/reference: the inputs are
// made f64 leaves, y = reference(...), y.backward(ȳ), and every compiled
// gradient is compared with the leaf's .grad.
//
// Parameter gradients are sums over many (batch, token, head) terms; each
// term is rounded at the f32 level, so besides the usual tolerance they get
// an allowance of a few f32 units times the sum of the terms' magnitudes
// (a bound computed from the same inputs), which stays meaningful when the
// terms cancel.
//
//===----------------------------------------------------------------------===//

#include "E2EHelpers.h"
#include "Harness.h"
#include "OpCases.h"
#include "Reference.h"

#include <torch/autograd.h>

#include <string>
#include <vector>

namespace ref = rotary::reference;
using rotary::runtime::Error;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

/// A random data tensor of `dtype` (f32 or bf16).
Tensor data(std::vector<int64_t> shape, torch::ScalarType dtype) {
  return randn32(std::move(shape)).to(dtype);
}

//===----------------------------------------------------------------------===//
// rope_grad
//===----------------------------------------------------------------------===//

/// A rope's options (RopeConfig), and what its gradient test adds.
struct RopeGradConfig : RopeConfig {
  /// Tokens per task of the parameter sums (0: the schedule's choice).
  int64_t tokens = 0;
  std::vector<RopeShape> shapes = {{2, 7, 3}, {1, 1, 1}, {3, 5, 2}, {1, 37, 4}};
};

std::string ropeGradSource(const RopeGradConfig &c) {
  const std::string xT = dynamicType(4, elementName(c.dtype));
  const std::string pT = dynamicType(c.posRank, elementName(c.posType));
  const std::string vT = dynamicType(1), sT = "tensor<f32>";
  std::vector<Arg> args = {{"x", xT}, {"pos", pT}, {"dy", xT}};
  std::vector<std::string> types = {xT}, values = {"%dx"};
  std::string op = "rotary.rope_grad %x, %pos, %dy";
  auto param = [&](bool on, const std::string &name, const std::string &type,
                   const std::string &syntax) {
    if (!on)
      return;
    args.push_back({name, type});
    op += " " + syntax;
    types.push_back(type);
    values.push_back("%d" + name);
  };
  param(c.invFreq, "f", vT, "inv_freq(%f : " + vT + ")");
  param(c.phase, "phi", vT, "phase(%phi : " + vT + ")");
  param(c.scale, "s", sT, "scale(%s)");
  param(c.runtimeBase, "b", sT, "base(%b)");
  op += std::string(" layout = ") + layoutName(c.layout);
  std::vector<std::string> attrs = ropeAttributes(c);
  if (c.tokens > 0)
    attrs.push_back("rotary.tiles = {tokens = " + std::to_string(c.tokens) +
                    " : i64}");
  op += attrDict(attrs) + " : " + xT + ", " + pT;
  return entrySource(args, types, join(values) + " = " + op, values);
}

void runRopeGrad(const RopeGradConfig &c) {
  const std::string source = ropeGradSource(c);
  SCOPED_TRACE(source);
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(c.gpuLoops));
  const bool lowPrecision = c.dtype != torch::kFloat32;
  for (int64_t D : c.Ds)
    for (const RopeShape &s : c.shapes) {
      SCOPED_TRACE(shapeTrace(s, D));
      const int64_t r = c.rotaryDim >= 0 ? c.rotaryDim : D;
      Tensor x = data({s.B, s.T, s.H, D}, c.dtype);
      Tensor dy = data({s.B, s.T, s.H, D}, c.dtype);
      Tensor pos = ropePositions(c, s);
      Tensor posRef = pos.is_floating_point() ? f64(pos) : pos;
      std::vector<Tensor> inputs = {x, pos, dy};
      ref::RopeOptions o = ropeOptions(c);
      std::vector<Tensor> leaves; // in result order
      addRopeOperands(c, r, /*maxBase=*/1e5, inputs, o, &leaves);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run(inputs));
      ASSERT_EQ(out.size(), 1 + leaves.size());

      Tensor xr = leaf(x);
      ref::rope(xr, posRef, o).backward(f64(dy));
      EXPECT_TRUE(
          allClose(out[0], xr.grad(), lowPrecision ? kBf16Tol : Tolerance{}));
      expectRopeParamGrads(out, x, dy, posRef, r, o);
    }
}

} // namespace

TEST_F(E2E, RopeGradDxOnlyEveryLayout) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true}) {
      RopeGradConfig c;
      c.layout = layout;
      c.inverse = inverse;
      c.Ds = {8, 2};
      runRopeGrad(c);
    }
}

// The GPU schedule's loops run on the CPU: dx of every layout, inverse,
// partial rotation with an odd D, [B, T] positions.
TEST_F(E2E, RopeGradGpuLoops) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeGradConfig c;
    c.gpuLoops = true;
    c.layout = layout;
    c.Ds = {8, 2};
    runRopeGrad(c);
    c.inverse = true;
    c.rotaryDim = 6;
    c.posRank = 2;
    c.Ds = {9};
    runRopeGrad(c);
  }
}

// The GPU schedule of parameter gradients (blocks of tokens writing f64
// partial sums, then a kernel adding them up, then the scale's sum in one
// thread), its loops run on the CPU: every layout, inverse, base as an
// operand with [B, T] positions, partial rotation, and tiles of 1 and 3
// tokens (a partial last tile).
TEST_F(E2E, RopeGradParametersGpuLoops) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true}) {
      RopeGradConfig c;
      c.gpuLoops = true;
      c.layout = layout;
      c.inverse = inverse;
      c.Ds = {8, 10};
      c.invFreq = c.phase = c.scale = true;
      runRopeGrad(c);
      RopeGradConfig b = c;
      b.invFreq = false;
      b.runtimeBase = true;
      b.posRank = 2;
      b.rotaryDim = 6;
      b.Ds = {9};
      runRopeGrad(b);
    }
  for (int64_t tokens : {1, 3}) {
    RopeGradConfig c;
    c.gpuLoops = true;
    c.invFreq = c.phase = c.scale = true;
    c.tokens = tokens;
    runRopeGrad(c);
  }
}

TEST_F(E2E, RopeGradEachParameterAlone) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeGradConfig c;
    c.layout = layout;
    c.Ds = {8, 6};
    c.invFreq = true;
    runRopeGrad(c);
    c.invFreq = false;
    c.phase = true;
    runRopeGrad(c);
    c.phase = false;
    c.scale = true;
    runRopeGrad(c);
    c.scale = false;
    c.runtimeBase = true;
    runRopeGrad(c);
  }
}

TEST_F(E2E, RopeGradAllParametersEveryLayoutAndInverse) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool inverse : {false, true}) {
      RopeGradConfig c;
      c.layout = layout;
      c.inverse = inverse;
      c.Ds = {8};
      c.invFreq = c.phase = c.scale = true;
      runRopeGrad(c);
      RopeGradConfig b = c; // base frequencies: the base operand instead
      b.invFreq = false;
      b.runtimeBase = true;
      b.posRank = 2;
      b.posType = torch::kInt32;
      runRopeGrad(b);
    }
}

TEST_F(E2E, RopeGradPartialRotaryOddD) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeGradConfig c;
    c.layout = layout;
    c.rotaryDim = 6;
    c.Ds = {9, 7, 6};
    c.phase = c.scale = true;
    runRopeGrad(c);
    c.phase = c.scale = false;
    runRopeGrad(c); // dx only: the pass-through features copy ȳ
  }
}

TEST_F(E2E, RopeGradLargePositions) {
  RopeGradConfig c;
  c.maxPos = 1e6;
  c.invFreq = c.phase = true;
  c.Ds = {8, 64};
  runRopeGrad(c);
  c.invFreq = false;
  c.layout = ref::RopeLayout::Interleaved;
  c.posType = torch::kFloat32;
  c.posRank = 2;
  c.scale = c.runtimeBase = true;
  c.inverse = true;
  runRopeGrad(c);
  RopeGradConfig a; // the base attribute, f̄ through scale only
  a.maxPos = 1e5;
  a.baseAttr = 500000.0;
  a.scale = true;
  a.layout = ref::RopeLayout::Deinterleave;
  runRopeGrad(a);
}

TEST_F(E2E, RopeGradManyTerms) {
  // ~10^5 terms per frequency in the reductions, over many token tiles.
  RopeGradConfig c;
  c.shapes = {{4, 1000, 8}, {1, 3001, 5}};
  c.Ds = {16};
  c.maxPos = 1e5;
  c.invFreq = c.phase = c.scale = true;
  runRopeGrad(c);
}

TEST_F(E2E, RopeGradTokenTiles) {
  // Any tokens per task the op records: one token per task, 5 (T = 37 and
  // 7 end in a partial tile), more tokens than the sequence has; with
  // positions per batch entry and shared.
  for (int64_t tokens : {1, 5, 64})
    for (int posRank : {1, 2}) {
      RopeGradConfig c;
      c.tokens = tokens;
      c.posRank = posRank;
      c.layout =
          posRank == 1 ? ref::RopeLayout::Half : ref::RopeLayout::Deinterleave;
      c.invFreq = c.phase = c.scale = true;
      runRopeGrad(c);
    }
}

TEST_F(E2E, RopeGradBf16) {
  RopeGradConfig c;
  c.dtype = torch::kBFloat16;
  c.layout = ref::RopeLayout::Interleaved;
  c.Ds = {8, 10};
  c.rotaryDim = 8;
  c.phase = c.invFreq = true;
  runRopeGrad(c);
  c.phase = c.invFreq = false;
  runRopeGrad(c);
}

TEST_F(E2E, RopeGradBadShapes) {
  RopeGradConfig c;
  c.phase = true;
  ROTARY_COMPILE(kernel, ropeGradSource(c));
  Tensor pos = torch::arange(5, torch::kInt64);
  // ȳ with another T, another D; phase of the wrong length.
  expectCheckNaming(
      *kernel,
      {randn32({2, 5, 4, 8}), pos, randn32({2, 6, 4, 8}), uniform32({4}, 0, 1)},
      "dy");
  expectCheckNaming(
      *kernel,
      {randn32({2, 5, 4, 8}), pos, randn32({2, 5, 4, 6}), uniform32({4}, 0, 1)},
      "dy");
  expectCheckNaming(
      *kernel,
      {randn32({2, 5, 4, 8}), pos, randn32({2, 5, 4, 8}), uniform32({3}, 0, 1)},
      "phase");
}

//===----------------------------------------------------------------------===//
// givens_grad
//===----------------------------------------------------------------------===//

namespace {

void runGivensGrad(const GivensConfig &c) {
  const int64_t dimD = c.staticD ? c.D : -1;
  const std::string elt = elementName(c.dtype);
  const std::string xT = c.xRank == 2 ? tensorType({-1, dimD}, elt)
                                      : tensorType({-1, -1, -1, dimD}, elt);
  const int64_t dimN = c.pairs.empty() ? c.N : -1;
  const std::string aT =
      c.heads > 0 ? tensorType({-1, dimN}) : tensorType({dimN});
  std::string op = "%dx, %da = rotary.givens_grad %x, %a, %dy";
  if (!c.pairs.empty())
    op += " " + pairsAttr(c.pairs);
  op += attrDict(givensAttrs(c));
  op += " : " + xT + ", " + aT;
  const std::string source = entrySource({{"x", xT}, {"a", aT}, {"dy", xT}},
                                         {xT, aT}, op, {"%dx", "%da"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(c.gpuLoops));
  const std::vector<int64_t> Ds =
      c.runDs.empty() ? std::vector<int64_t>{c.D} : c.runDs;
  const int64_t H = c.heads > 0 ? c.heads : 3;
  std::vector<std::vector<int64_t>> lead =
      c.xRank == 2
          ? std::vector<std::vector<int64_t>>{{1}, {7}, {130}}
          : std::vector<std::vector<int64_t>>{{2, 5, H}, {1, 1, H}, {3, 31, H}};
  if (c.heads > 0 && c.xRank == 2)
    lead = {{H}};
  if (!c.lead.empty())
    lead = c.lead;
  for (int64_t D : Ds)
    for (std::vector<int64_t> shape : lead) {
      shape.push_back(D);
      SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
      Tensor x = data(shape, c.dtype), dy = data(shape, c.dtype);
      Tensor a = c.heads > 0 ? uniform32({H, c.N}, -kPi, kPi)
                             : uniform32({c.N}, -kPi, kPi);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({x, a, dy}));
      ASSERT_EQ(out.size(), 2u);
      ref::GivensOptions o;
      o.pairs = c.pairs;
      o.inverse = c.inverse;
      Tensor xr = leaf(x), ar = leaf(a);
      ref::givens(xr, ar, o).backward(f64(dy));
      const bool low = c.dtype != torch::kFloat32;
      EXPECT_TRUE(allClose(out[0], xr.grad(), low ? kBf16Tol : Tolerance{}));
      EXPECT_TRUE(allClose(out[1], ar.grad()));
    }
}

} // namespace

TEST_F(E2E, GivensGradDefaultSchedule) {
  GivensConfig c; // D = 8, all 28 rotations
  runGivensGrad(c);
  c.D = 2;
  c.N = 1;
  runGivensGrad(c);
  GivensConfig p; // partial schedule on [B, T, H, D]
  p.D = 16;
  p.N = 20;
  p.xRank = 4;
  runGivensGrad(p);
}

// More row tiles than rows in a tile (the partial sums of φ̄ are one row
// per tile of 64 rows), and a last, partial tile: shared and per head.
TEST_F(E2E, GivensGradManyRowTiles) {
  GivensConfig c; // D = 8, all 28 rotations
  c.lead = {{4225}};
  runGivensGrad(c);
  GivensConfig h;
  h.xRank = 4;
  h.heads = 2;
  h.lead = {{3, 1401, 2}};
  runGivensGrad(h);
}

TEST_F(E2E, GivensGradRowGroups) {
  // Any rows per group the op records (one row per task, 16, 24); 130 rows
  // end in a partial group.
  for (int64_t rows : {1, 16, 24}) {
    GivensConfig c; // D = 8, all 28 rotations
    c.rows = rows;
    c.lead = {{130}, {3}};
    runGivensGrad(c);
  }
}

TEST_F(E2E, GivensGradD64FullSchedule) {
  GivensConfig c;
  c.D = 64;
  c.N = 64 * 63 / 2;
  runGivensGrad(c);
}

TEST_F(E2E, GivensGradExplicitPairsOddD) {
  GivensConfig c;
  c.staticD = false;
  c.pairs = kOddPairs; // reversed and repeated pairs
  c.N = c.pairs.size();
  c.runDs = {7, 9};
  runGivensGrad(c);
  c.xRank = 4;
  runGivensGrad(c);
}

TEST_F(E2E, GivensGradPerHead) {
  for (const GivensConfig &c : givensPerHeadCases())
    runGivensGrad(c);
}

TEST_F(E2E, GivensGradInverse) {
  for (const GivensConfig &c : givensInverseCases())
    runGivensGrad(c);
}

// The chain's gradient per row or folded (x̄ = ȳ·Qᵀ, then the chain's
// gradient over the identity's D rows with Q̄ = xᵀ·ȳ), by the cost model at
// run time: each case runs rows on both sides of the break-even point.
TEST_F(E2E, GivensGradFoldedAtRunTime) {
  for (const GivensConfig &c : givensFoldCases())
    runGivensGrad(c);
}

// The same on the GPU schedule's loops: Q a chain over the identity's D
// rows, x̄ = ȳ·Qᵀ a thread per element, Q̄'s partial sums a thread per
// (chunk of 1024 rows, element), their merge, and the chain's gradient
// over the identity.
TEST_F(E2E, GivensGradFoldedGpuLoops) {
  for (GivensConfig c : givensFoldCases()) {
    c.gpuLoops = true;
    runGivensGrad(c);
  }
}

TEST_F(E2E, GivensGradBf16) {
  GivensConfig c;
  c.D = 8;
  c.N = 20;
  c.xRank = 4;
  c.dtype = torch::kBFloat16;
  runGivensGrad(c);
}

// The GPU schedule's loops of the gradient (a block per group of rows
// taking every head: the x and ȳ rows in padded column-major tiles, the
// chain forward a thread per row, then backwards in chunks of 32
// rotations, each row's terms of φ̄ summed over the group by a thread per
// rotation; the groups' partial sums merged), run on the CPU: the default
// schedule at D = 8 (one chunk) and D = 64 (2016 rotations, 63 chunks,
// partial groups), odd explicit pairs, 70 rotations (a last partial
// chunk), per-head chains, the inverse (50 rotations: a partial chunk;
// static and dynamic D, whose tiles are sized at launch once mapped),
// bf16 rows, a group of 7 rows.
TEST_F(E2E, GivensGradGpuLoops) {
  for (const GivensConfig &c : givensGpuLoopCases())
    runGivensGrad(c);
  GivensConfig many;
  many.gpuLoops = true;
  many.N = 70; // chunks of 32, 32 and 6 (repeated pairs of D = 8)
  for (int64_t k = 0; k < many.N; ++k)
    many.pairs.push_back({k % 8, (k % 8 + 1 + (k / 8) % 7) % 8});
  many.xRank = 4;
  runGivensGrad(many);
}

TEST_F(E2E, GivensGradBadShapes) {
  const std::string xT = dynamicType(2), aT = dynamicType(1);
  ROTARY_COMPILE(kernel,
                 entrySource({{"x", xT}, {"a", aT}, {"dy", xT}}, {xT, aT},
                             "%dx, %da = rotary.givens_grad %x, %a, %dy " +
                                 pairsAttr(kOddPairs) + " : " + xT + ", " + aT,
                             {"%dx", "%da"}));
  Tensor a = uniform32({6}, 0, 1);
  expectCheckNaming(*kernel, {randn32({3, 7}), a, randn32({4, 7})}, "dy");
  expectCheckNaming(*kernel, {randn32({3, 7}), a, randn32({3, 8})}, "dy");
  expectCheckNaming(*kernel,
                    {randn32({3, 7}), uniform32({5}, 0, 1), randn32({3, 7})},
                    "angles");
}

//===----------------------------------------------------------------------===//
// orthogonal_grad, orthogonality_penalty_grad
//===----------------------------------------------------------------------===//

namespace {

void runOrthogonalGrad(bool perHead, bool transpose, int xRank,
                       const std::vector<std::pair<int64_t, int64_t>> &DEs,
                       torch::ScalarType dtype = torch::kFloat32) {
  const std::string elt = elementName(dtype);
  const std::string xT = dynamicType(xRank, elt);
  const std::string rT = dynamicType(perHead ? 3 : 2, elt);
  const std::string op =
      "%dx, %dr = rotary.orthogonal_grad %x, %r, %dy" +
      attrDict(transpose ? std::vector<std::string>{"transpose"}
                         : std::vector<std::string>{}) +
      " : " + xT + ", " + rT + ", " + xT;
  const std::string source = entrySource({{"x", xT}, {"r", rT}, {"dy", xT}},
                                         {xT, rT}, op, {"%dx", "%dr"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  // Leading dims; per head, x is [..., H, D] and H is added below.
  std::vector<std::vector<int64_t>> leads =
      xRank == 2 ? std::vector<std::vector<int64_t>>{{1}, {9}, {301}}
                 : std::vector<std::vector<int64_t>>{{2, 5}, {1, 1}, {3, 40}};
  if (perHead && xRank == 3)
    leads = {{2}, {1}, {41}};
  for (auto [D, E] : DEs)
    for (std::vector<int64_t> shape : leads) {
      const int64_t H = perHead ? (xRank == 2 ? shape[0] : 3) : 0;
      if (perHead && xRank > 2)
        shape.push_back(H);
      std::vector<int64_t> yShape = shape;
      shape.push_back(D);
      yShape.push_back(E);
      SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)) + " E " +
                   std::to_string(E));
      std::vector<int64_t> rShape =
          transpose ? std::vector<int64_t>{E, D} : std::vector<int64_t>{D, E};
      if (perHead)
        rShape.insert(rShape.begin(), H);
      Tensor x = data(shape, dtype), r = data(rShape, dtype),
             dy = data(yShape, dtype);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({x, r, dy}));
      ASSERT_EQ(out.size(), 2u);
      Tensor xr = leaf(x), rr = leaf(r);
      ref::OrthogonalOptions o;
      o.transpose = transpose;
      ref::orthogonal(xr, rr, o).backward(f64(dy));
      const Tolerance tol = dtype == torch::kFloat32 ? Tolerance{} : kBf16Tol;
      EXPECT_TRUE(allClose(out[0], xr.grad(), tol));
      EXPECT_TRUE(allClose(out[1], rr.grad(), tol));
    }
}

} // namespace

TEST_F(E2E, OrthogonalGradShared) {
  runOrthogonalGrad(false, false, 2, {{8, 8}, {5, 3}, {3, 7}});
  runOrthogonalGrad(false, true, 3, {{8, 8}, {6, 4}});
}

TEST_F(E2E, OrthogonalGradPerHead) {
  runOrthogonalGrad(true, false, 3, {{4, 4}, {6, 2}});
  runOrthogonalGrad(true, true, 2, {{5, 5}, {3, 6}});
  runOrthogonalGrad(true, false, 3, {{8, 8}}, torch::kBFloat16);
}

TEST_F(E2E, OrthogonalGradBadShapes) {
  const std::string xT = dynamicType(2), rT = dynamicType(2);
  ROTARY_COMPILE(kernel,
                 entrySource({{"x", xT}, {"r", rT}, {"dy", xT}}, {xT, rT},
                             "%dx, %dr = rotary.orthogonal_grad %x, "
                             "%r, %dy : " +
                                 xT + ", " + rT + ", " + xT,
                             {"%dx", "%dr"}));
  expectCheckNaming(*kernel,
                    {randn32({3, 5}), randn32({5, 4}), randn32({3, 5})}, "dy");
  expectCheckNaming(*kernel,
                    {randn32({3, 5}), randn32({5, 4}), randn32({2, 4})}, "dy");
}

TEST_F(E2E, OrthogonalityPenaltyGrad) {
  for (int rank : {2, 3})
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      const std::string rT = dynamicType(rank, elementName(dtype));
      const std::string source = entrySource(
          {{"r", rT}, {"dp", "tensor<f32>"}}, {rT},
          "%dr = rotary.orthogonality_penalty_grad %r, %dp : " + rT, {"%dr"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      for (auto [D, E] : std::vector<std::pair<int64_t, int64_t>>{
               {8, 8}, {5, 3}, {3, 5}, {1, 1}}) {
        std::vector<int64_t> shape = {D, E};
        if (rank == 3)
          shape.insert(shape.begin(), 3);
        SCOPED_TRACE("R " + c10::str(c10::IntArrayRef(shape)));
        // Near-orthogonal columns plus noise, as in training.
        Tensor r = (torch::eye(D, E) + 0.3 * randn32(shape)).to(dtype);
        Tensor dp = uniform32({}, -2, 2);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({r, dp}));
        ASSERT_EQ(out.size(), 1u);
        Tensor rr = leaf(r);
        ref::orthogonalityPenalty(rr).backward(f64(dp));
        EXPECT_TRUE(
            allClose(out[0], rr.grad(),
                     dtype == torch::kFloat32 ? Tolerance{} : kBf16Tol));
      }
    }
}

//===----------------------------------------------------------------------===//
// quaternion_rotate_grad
//===----------------------------------------------------------------------===//

namespace {
/// Every form, with the CPU schedule or the GPU schedule's loops.
void runQuaternionRotateGrad(bool gpuLoops) {
  for (int xRank : {1, 2, 3})
    for (bool axisPerVector : {false, true})
      for (bool anglePerVector : {false, true}) {
        if (xRank == 1 && (axisPerVector || anglePerVector))
          continue;
        std::vector<int64_t> xDims(xRank - 1, -1);
        xDims.push_back(3);
        const std::string xT = tensorType(xDims);
        const std::string aT = axisPerVector ? xT : tensorType({3});
        const std::string tT =
            anglePerVector ? dynamicType(xRank - 1) : "tensor<f32>";
        const std::string source = entrySource(
            {{"x", xT}, {"u", aT}, {"t", tT}, {"dy", xT}}, {xT, aT, tT},
            "%dx, %du, %dt = rotary.quaternion_rotate_grad %x, %u, %t, %dy : " +
                xT + ", " + aT + ", " + tT,
            {"%dx", "%du", "%dt"});
        SCOPED_TRACE(source);
        ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
        const std::vector<std::vector<int64_t>> leads =
            xRank == 1 ? std::vector<std::vector<int64_t>>{{}}
            : xRank == 2
                ? std::vector<std::vector<int64_t>>{{1}, {10}, {333}}
                : std::vector<std::vector<int64_t>>{{1, 1}, {4, 5}, {20, 17}};
        for (const std::vector<int64_t> &lead : leads) {
          std::vector<int64_t> shape = lead;
          shape.push_back(3);
          SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
          Tensor x = randn32(shape), dy = randn32(shape);
          Tensor u = axisPerVector ? randn32(shape) : randn32({3});
          Tensor t = uniform32(anglePerVector ? lead : std::vector<int64_t>{},
                               -10, 10);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({x, u, t, dy}));
          ASSERT_EQ(out.size(), 3u);
          Tensor xr = leaf(x), ur = leaf(u), tr = leaf(t);
          ref::quaternionRotate(xr, ur, tr).backward(f64(dy));
          EXPECT_TRUE(allClose(out[0], xr.grad()));
          // Shared axis and angle sum one term per vector: each term is
          // bounded by a small multiple of |ȳ|·|x| (/|axis| for the axis).
          Tensor terms = (f64(dy).norm(2, -1) * f64(x).norm(2, -1)).sum();
          Tensor allowance = 64 * kU32 * terms;
          {
            SCOPED_TRACE("axis");
            EXPECT_TRUE(
                allClose(out[1], ur.grad(), {},
                         axisPerVector ? Tensor() : allowance / f64(u).norm()));
          }
          {
            SCOPED_TRACE("angle");
            EXPECT_TRUE(allClose(out[2], tr.grad(), {},
                                 anglePerVector ? Tensor() : allowance));
          }
        }
      }
}
} // namespace

TEST_F(E2E, QuaternionRotateGrad) {
  runQuaternionRotateGrad(/*gpuLoops=*/false);
}

TEST_F(E2E, QuaternionRotateGradGpuLoops) {
  runQuaternionRotateGrad(/*gpuLoops=*/true);
}

TEST_F(E2E, QuaternionRotateGradBadShapes) {
  const std::string xT = tensorType({-1, 3});
  ROTARY_COMPILE(
      kernel,
      entrySource(
          {{"x", xT}, {"u", "tensor<3xf32>"}, {"t", "tensor<f32>"}, {"dy", xT}},
          {xT, "tensor<3xf32>", "tensor<f32>"},
          "%dx, %du, %dt = rotary.quaternion_rotate_grad "
          "%x, %u, %t, %dy : " +
              xT + ", tensor<3xf32>, tensor<f32>",
          {"%dx", "%du", "%dt"}));
  expectCheckNaming(
      *kernel,
      {randn32({4, 3}), randn32({3}), uniform32({}, 0, 1), randn32({5, 3})},
      "dy");
}
