//===- E2ETest.cpp - compiled kernels against the LibTorch references -----===//
//
// Each test writes one `func.func @entry` (every dimension dynamic unless
// the op needs it static), compiles it to a bundle, runs it through the
// runtime on random f32 inputs at several shapes (batch 1, T = 1, odd D
// where the op allows it) and compares with the f64 reference of
// test/reference (tolerances: see Harness.h; rope can add an allowance for
// angles formed in f32, see kRopeAngleUlps).
//
//===----------------------------------------------------------------------===//

#include "OpCases.h"
#include "Harness.h"
#include "Reference.h"

#include <cmath>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using rotary::runtime::Error;
using torch::Tensor;
using namespace rotary::e2e;

namespace {


std::string elementName(torch::ScalarType t) {
  switch (t) {
  case torch::kInt64:
    return "i64";
  case torch::kInt32:
    return "i32";
  case torch::kBFloat16:
    return "bf16";
  case torch::kFloat16:
    return "f16";
  default:
    return "f32";
  }
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

struct RopeConfig {
  ref::RopeLayout layout = ref::RopeLayout::Half;
  int64_t rotaryDim = -1;        ///< the attribute, when >= 0
  std::vector<int64_t> Ds = {8}; ///< head dims to run (D is dynamic)
  bool invFreq = false, phase = false, scale = false, runtimeBase = false;
  double baseAttr = -1; ///< the attribute, when > 0
  bool inverse = false;
  int posRank = 1;
  torch::ScalarType posType = torch::kInt64;
  double maxPos = 1000;
};

/// Units of 2^-24·|θ| allowed for the error of rope's angles. Decision 0013:
/// the CPU lowering computes f_i, θ and cos/sin in f64 and rounds to f32, so
/// kernels match the f64 reference at any position: 0. A kernel that forms θ
/// in f32 (docs/Math.md read literally) needs about 16 here (and 4 against the
/// reference with RopeOptions::f32Angles).
constexpr double kRopeAngleUlps = 0.0;

std::string ropeSource(const RopeConfig &c) {
  const std::string xT = dynamicType(4);
  const std::string pT = dynamicType(c.posRank, elementName(c.posType));
  const std::string vT = dynamicType(1), sT = "tensor<f32>";
  std::vector<Arg> args = {{"x", xT}, {"pos", pT}};
  std::string op = "%y = rotary.rope %x, %pos";
  if (c.invFreq) {
    args.push_back({"f", vT});
    op += " inv_freq(%f : " + vT + ")";
  }
  if (c.phase) {
    args.push_back({"phi", vT});
    op += " phase(%phi : " + vT + ")";
  }
  if (c.scale) {
    args.push_back({"s", sT});
    op += " scale(%s)";
  }
  if (c.runtimeBase) {
    args.push_back({"b", sT});
    op += " base(%b)";
  }
  op += std::string(" layout = ") + layoutName(c.layout);
  std::vector<std::string> attrs;
  if (c.rotaryDim >= 0)
    attrs.push_back("rotary_dim = " + std::to_string(c.rotaryDim) + " : i64");
  if (c.baseAttr > 0)
    attrs.push_back("base = " + f32Attr(c.baseAttr));
  if (c.inverse)
    attrs.push_back("inverse");
  op += attrDict(attrs) + " : " + xT + ", " + pT;
  return entrySource(args, {xT}, op, {"%y"});
}

/// |θ| of the pair each output element belongs to, [B or 1, T, 1, D] (0 for
/// the pass-through features). An f32 θ carries an error of a few units of
/// its last place, |δθ| ≈ k·2^-24·|θ|, and moves the output by up to
/// |δθ|·|(a, b)|: at θ = 1000 that is already ~1e-4 (0.06 rad at 10^6),
/// which no fixed tolerance can allow for without losing the small-θ pairs.
Tensor ropeAllowance(const Tensor &absTheta, int64_t D, int64_t r,
                     bool writePairs) {
  const int64_t P = absTheta.size(0), T = absTheta.size(1);
  Tensor rot = writePairs
                   ? torch::stack({absTheta, absTheta}, -1).reshape({P, T, r})
                   : torch::cat({absTheta, absTheta}, -1);
  Tensor all =
      torch::cat({rot, torch::zeros({P, T, D - r}, rot.options())}, -1);
  return all.unsqueeze(2);
}

void runRope(const RopeConfig &c) {
  const std::string source = ropeSource(c);
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  struct Shape {
    int64_t B, T, H;
  };
  const std::vector<Shape> shapes = {
      {2, 7, 3}, {1, 1, 1}, {3, 5, 2}, {1, 64, 4}};
  for (int64_t D : c.Ds)
    for (const Shape &s : shapes) {
      SCOPED_TRACE("B " + std::to_string(s.B) + " T " + std::to_string(s.T) +
                   " H " + std::to_string(s.H) + " D " + std::to_string(D));
      const int64_t r = c.rotaryDim >= 0 ? c.rotaryDim : D;
      Tensor x = randn32({s.B, s.T, s.H, D});
      std::vector<int64_t> pShape = c.posRank == 1
                                        ? std::vector<int64_t>{s.T}
                                        : std::vector<int64_t>{s.B, s.T};
      Tensor pos =
          c.posType == torch::kFloat32
              ? uniform32(pShape, 0, c.maxPos)
              : torch::randint(0, static_cast<int64_t>(c.maxPos), pShape,
                               torch::TensorOptions().dtype(c.posType));
      Tensor posRef = pos.is_floating_point() ? f64(pos) : pos;
      std::vector<Tensor> inputs = {x, pos};
      ref::RopeOptions o;
      o.layout = c.layout;
      o.rotaryDim = c.rotaryDim;
      o.inverse = c.inverse;
      if (c.baseAttr > 0)
        o.base = c.baseAttr;
      if (c.invFreq) {
        Tensor f = uniform32({r / 2}, 1e-4, 1.0);
        inputs.push_back(f);
        o.invFreq = f64(f);
      }
      if (c.phase) {
        Tensor phi = uniform32({r / 2}, -kPi, kPi);
        inputs.push_back(phi);
        o.phase = f64(phi);
      }
      if (c.scale) {
        Tensor sc = uniform32({}, 0.5, 2.0);
        inputs.push_back(sc);
        o.scale = f64(sc);
      }
      if (c.runtimeBase) {
        Tensor b = uniform32({}, 100.0, 1e6).round();
        inputs.push_back(b);
        o.runtimeBase = f64(b);
      }
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run(inputs));
      ASSERT_EQ(out.size(), 1u);

      const bool writePairs =
          c.layout == ref::RopeLayout::Interleaved ||
          (c.layout == ref::RopeLayout::Deinterleave && c.inverse);
      const double xMax = x.abs().max().item<double>();
      Tensor absTheta = ref::ropeAngles(posRef, r, o).abs();
      Tensor allowance = ropeAllowance(absTheta, D, r, writePairs) * xMax *
                         (kRopeAngleUlps * kU32);
      Tensor expected = ref::rope(f64(x), posRef, o);
      EXPECT_TRUE(allClose(out[0], expected, {}, allowance));
    }
}

} // namespace

TEST_F(E2E, RopeHalf) {
  RopeConfig c;
  c.Ds = {8, 2, 64};
  runRope(c);
}

TEST_F(E2E, RopeInterleaved) {
  RopeConfig c;
  c.layout = ref::RopeLayout::Interleaved;
  c.Ds = {8, 6};
  runRope(c);
}

TEST_F(E2E, RopeDeinterleave) {
  RopeConfig c;
  c.layout = ref::RopeLayout::Deinterleave;
  c.Ds = {8, 4};
  runRope(c);
}

TEST_F(E2E, RopeInverseEveryLayout) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeConfig c;
    c.layout = layout;
    c.inverse = true;
    c.Ds = {8, 12};
    runRope(c);
  }
}

TEST_F(E2E, RopePartialRotaryOddD) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeConfig c;
    c.layout = layout;
    c.rotaryDim = 6;
    c.Ds = {9, 7, 6};
    runRope(c);
  }
}

TEST_F(E2E, RopePositionsBT) {
  RopeConfig c;
  c.posRank = 2;
  c.Ds = {8};
  runRope(c);
  c.layout = ref::RopeLayout::Interleaved;
  c.posType = torch::kInt32;
  runRope(c);
}

TEST_F(E2E, RopeF32Positions) {
  RopeConfig c; // fractional positions
  c.posType = torch::kFloat32;
  c.layout = ref::RopeLayout::Deinterleave;
  runRope(c);
  c.posRank = 2;
  c.layout = ref::RopeLayout::Half;
  runRope(c);
}

TEST_F(E2E, RopeInvFreqPhaseScale) {
  RopeConfig c;
  c.layout = ref::RopeLayout::Interleaved;
  c.rotaryDim = 8;
  c.Ds = {8, 11};
  c.invFreq = c.phase = c.scale = true;
  runRope(c);
  c.layout = ref::RopeLayout::Half;
  c.invFreq = false; // phase and scale on base frequencies
  c.posRank = 2;
  runRope(c);
}

TEST_F(E2E, RopeBaseAttribute) {
  RopeConfig c;
  c.baseAttr = 500000.0;
  c.rotaryDim = 16;
  c.Ds = {16, 20};
  runRope(c);
  c.baseAttr = 10.0;
  c.layout = ref::RopeLayout::Deinterleave;
  c.inverse = true;
  runRope(c);
}

TEST_F(E2E, RopeBaseOperand) {
  RopeConfig c;
  c.runtimeBase = true;
  c.layout = ref::RopeLayout::Deinterleave;
  c.Ds = {8, 10};
  runRope(c);
  c.scale = c.phase = c.inverse = true;
  c.layout = ref::RopeLayout::Half;
  runRope(c);
}

TEST_F(E2E, RopeEveryOptionInverse) {
  RopeConfig c;
  c.layout = ref::RopeLayout::Deinterleave;
  c.rotaryDim = 4;
  c.Ds = {5, 8};
  c.invFreq = c.phase = c.scale = c.inverse = true;
  c.posRank = 2;
  c.posType = torch::kInt32;
  runRope(c);
}

TEST_F(E2E, RopeLargePositions) {
  // Positions up to 1e6 (|θ| up to 1e6 rad): angles and their cos/sin must
  // be right there too (decision 0013).
  RopeConfig c;
  c.maxPos = 1e6;
  c.invFreq = true;
  c.Ds = {8, 64};
  runRope(c);
  c.layout = ref::RopeLayout::Interleaved;
  c.posRank = 2;
  c.phase = c.scale = true;
  runRope(c);
  RopeConfig b; // base frequencies
  b.maxPos = 1e6;
  b.Ds = {16};
  runRope(b);
  b.posType = torch::kFloat32;
  b.layout = ref::RopeLayout::Deinterleave;
  b.runtimeBase = true;
  runRope(b);
}

//===----------------------------------------------------------------------===//
// inv_freq
//===----------------------------------------------------------------------===//

namespace {

void runInvFreq(int64_t dim, double base, const std::vector<double> &scales) {
  std::string op = "%f = rotary.inv_freq dim = " + std::to_string(dim);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9e", base);
  op += std::string(" base = ") + buf;
  if (!scales.empty()) {
    std::vector<std::string> s;
    for (double v : scales) {
      std::snprintf(buf, sizeof buf, "%.9e", v);
      s.push_back(buf);
    }
    op += " scales = [" + join(s) + "]";
  }
  const std::string rT = tensorType({dim / 2});
  const std::string source = entrySource({}, {rT}, op, {"%f"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  std::vector<Tensor> out;
  ASSERT_NO_THROW(out = kernel->run({}));
  ASSERT_EQ(out.size(), 1u);
  // Frequencies span orders of magnitude: relative tolerance only.
  EXPECT_TRUE(allClose(out[0], ref::invFreq({dim, base, scales}),
                       {/*rtol=*/1e-5, /*atol=*/0.0}));
}

} // namespace

TEST_F(E2E, InvFreq) {
  runInvFreq(64, 500000.0, {1.0, 4.0});
  runInvFreq(128, 10000.0, {});
  runInvFreq(12, 10.0, {1.0, 2.0, 3.0});
  runInvFreq(2, 10000.0, {});
}

//===----------------------------------------------------------------------===//
// givens
//===----------------------------------------------------------------------===//

namespace {

void runGivens(const GivensConfig &c) {
  const int64_t dimD = c.staticD ? c.D : -1;
  const std::string elt = elementName(c.dtype);
  const std::string xT = c.xRank == 2 ? tensorType({-1, dimD}, elt)
                                      : tensorType({-1, -1, -1, dimD}, elt);
  // The default schedule needs N (and D) at compile time; explicit pairs
  // fix N by the attribute, so angles stay dynamic there.
  const int64_t dimN = c.pairs.empty() ? c.N : -1;
  const std::string aT =
      c.heads > 0 ? tensorType({-1, dimN}) : tensorType({dimN});
  std::string op = "%y = rotary.givens %x, %a";
  if (!c.pairs.empty())
    op += " " + pairsAttr(c.pairs);
  op += attrDict(givensAttrs(c));
  op += " : " + xT + ", " + aT;
  const std::string source =
      entrySource({{"x", xT}, {"a", aT}}, {xT}, op, {"%y"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  const std::vector<int64_t> Ds =
      c.runDs.empty() ? std::vector<int64_t>{c.D} : c.runDs;
  const int64_t H = c.heads > 0 ? c.heads : 3;
  std::vector<std::vector<int64_t>> lead =
      c.xRank == 2
          ? std::vector<std::vector<int64_t>>{{1}, {7}, {33}, {130}}
          : std::vector<std::vector<int64_t>>{{2, 5, H}, {1, 1, H}, {3, 4, H}};
  if (c.heads > 0 && c.xRank == 2)
    lead = {{H}}; // per head on [H, D]
  if (!c.lead.empty())
    lead = c.lead;
  // bf16 results are rounded once at the end.
  Tolerance tol;
  if (c.dtype == torch::kBFloat16)
    tol.rtol = tol.atol = 1.0 / 128;
  for (int64_t D : Ds)
    for (std::vector<int64_t> shape : lead) {
      shape.push_back(D);
      SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
      Tensor x = randn32(shape).to(c.dtype);
      Tensor a = c.heads > 0 ? uniform32({H, c.N}, -kPi, kPi)
                             : uniform32({c.N}, -kPi, kPi);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({x, a}));
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].scalar_type(), c.dtype);
      ref::GivensOptions o;
      o.pairs = c.pairs;
      o.inverse = c.inverse;
      EXPECT_TRUE(allClose(out[0].to(torch::kFloat64),
                           ref::givens(f64(x), f64(a), o), tol));
    }
}


} // namespace

TEST_F(E2E, GivensDefaultScheduleFull) {
  GivensConfig c; // D = 8, all 28 rotations
  runGivens(c);
  c.D = 2;
  c.N = 1;
  runGivens(c);
}

TEST_F(E2E, GivensDefaultSchedulePartial) {
  GivensConfig c;
  c.D = 16;
  c.N = 20; // stage 0, then 12 of stage 1
  c.xRank = 4;
  runGivens(c);
}

TEST_F(E2E, GivensDefaultScheduleD64) {
  GivensConfig c;
  c.D = 64;
  c.N = 64 * 63 / 2;
  runGivens(c);
}

TEST_F(E2E, GivensExplicitPairs) {
  GivensConfig c;
  c.staticD = false;
  c.pairs = kOddPairs; // reversed and repeated pairs, odd D
  c.N = c.pairs.size();
  c.runDs = {7, 9};
  runGivens(c);
  c.xRank = 4;
  runGivens(c);
}

TEST_F(E2E, GivensRowGroups) {
  // Any rows per group the op records: 8, one block transpose wide (16), no
  // multiple of 16 (24: scalar transposes only) and the AVX-512 default.
  // 130 rows end in a partial group; D = 64 takes the block transposes on
  // full groups; 100 rotations keep the chain cheaper than the fold.
  for (int64_t rows : {8, 16, 24, 64}) {
    GivensConfig c;
    c.D = 64;
    c.N = 100;
    c.rows = rows;
    c.lead = {{130}, {1}};
    runGivens(c);
    GivensConfig h = c; // one chain per head, rows (b, t)
    h.heads = 2;
    h.xRank = 4;
    h.lead = {{2, 33, 2}};
    runGivens(h);
  }
}

TEST_F(E2E, GivensPerHead) {
  for (const GivensConfig &c : givensPerHeadCases())
    runGivens(c);
}

TEST_F(E2E, GivensInverse) {
  for (const GivensConfig &c : givensInverseCases())
    runGivens(c);
}

// The chain or the folded matrix (Q = G_1⋯G_N once per head, then x·Q), by
// the cost model at run time: with dynamic rows one kernel holds both, and
// each case below runs a row count on each side of the break-even point
// (chain 6·N flops per row against 2·D² per row plus 6·N·D per head).
TEST_F(E2E, GivensFoldedAtRunTime) {
  GivensConfig full; // D = 64, all 2016 rotations: folds above 198 rows
  full.D = 64;
  full.N = 64 * 63 / 2;
  full.lead = {{1}, {150}, {300}};
  runGivens(full);
  GivensConfig perHead; // per-head angles on [B, T, H, D]: folds above 33
  perHead.D = 8;
  perHead.N = 28;
  perHead.heads = 3;
  perHead.xRank = 4;
  perHead.lead = {{1, 2, 3}, {4, 50, 3}};
  runGivens(perHead);
  GivensConfig inverse; // D = 16, all 120 rotations, inverse
  inverse.D = 16;
  inverse.N = 120;
  inverse.inverse = true;
  inverse.lead = {{5}, {300}};
  runGivens(inverse);
  GivensConfig pairs; // odd D, 24 explicit (repeated) pairs: folds above 21
  pairs.staticD = false;
  for (int i = 0; i < 4; ++i)
    pairs.pairs.insert(pairs.pairs.end(), kOddPairs.begin(), kOddPairs.end());
  pairs.N = pairs.pairs.size();
  pairs.runDs = {7};
  pairs.lead = {{7}, {300}};
  runGivens(pairs);
  GivensConfig bf16 = inverse; // bf16 data: f32 inside, one rounding
  bf16.inverse = false;
  bf16.dtype = torch::kBFloat16;
  runGivens(bf16);
}

// With every size static the cost model decides at compile time: 300 rows
// fold, 3 rows stay a chain; both against the reference.
TEST_F(E2E, GivensFoldedAtCompileTime) {
  for (int64_t rows : {3, 300}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const std::string xT = tensorType({rows, 8});
    const std::string aT = tensorType({28});
    const std::string source =
        entrySource({{"x", xT}, {"a", aT}}, {xT},
                    "%y = rotary.givens %x, %a : " + xT + ", " + aT, {"%y"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE(kernel, source);
    Tensor x = randn32({rows, 8});
    Tensor a = uniform32({28}, -kPi, kPi);
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run({x, a}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(allClose(out[0], ref::givens(f64(x), f64(a), {})));
  }
}

//===----------------------------------------------------------------------===//
// orthogonal, orthogonality_penalty
//===----------------------------------------------------------------------===//

namespace {

/// x of rank xRank (leading dims from `lead`, then [H] for per head, then D)
/// times R [D, E] / [H, D, E] (or its transpose).
void runOrthogonal(bool perHead, bool transpose, int xRank,
                   const std::vector<std::pair<int64_t, int64_t>> &DEs) {
  const std::string xT = dynamicType(xRank);
  const std::string rT = dynamicType(perHead ? 3 : 2);
  const std::string op =
      "%y = rotary.orthogonal %x, %r" +
      attrDict(transpose ? std::vector<std::string>{"transpose"}
                         : std::vector<std::string>{}) +
      " : " + xT + ", " + rT;
  const std::string source =
      entrySource({{"x", xT}, {"r", rT}}, {xT}, op, {"%y"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  const std::vector<std::vector<int64_t>> leads =
      xRank == 2 ? std::vector<std::vector<int64_t>>{{1}, {9}, {40}}
                 : std::vector<std::vector<int64_t>>{{2, 5}, {1, 1}, {3, 4}};
  for (auto [D, E] : DEs)
    for (std::vector<int64_t> shape : leads) {
      const int64_t H = perHead ? (xRank == 2 ? shape[0] : 3) : 0;
      if (perHead && xRank > 2)
        shape.push_back(H);
      shape.push_back(D);
      SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)) + " E " +
                   std::to_string(E));
      Tensor x = randn32(shape);
      std::vector<int64_t> rShape =
          transpose ? std::vector<int64_t>{E, D} : std::vector<int64_t>{D, E};
      if (perHead)
        rShape.insert(rShape.begin(), H);
      Tensor R = randn32(rShape);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({x, R}));
      ASSERT_EQ(out.size(), 1u);
      ref::OrthogonalOptions o;
      o.transpose = transpose;
      EXPECT_TRUE(allClose(out[0], ref::orthogonal(f64(x), f64(R), o)));
    }
}

} // namespace

TEST_F(E2E, OrthogonalSquare) {
  runOrthogonal(false, false, 3, {{5, 5}, {1, 1}, {16, 16}, {64, 64}});
}

TEST_F(E2E, OrthogonalRectangular) {
  runOrthogonal(false, false, 2, {{6, 3}, {3, 6}, {1, 4}, {64, 3}});
}

TEST_F(E2E, OrthogonalPerHead) {
  runOrthogonal(true, false, 4, {{5, 5}, {8, 3}});
  runOrthogonal(true, false, 2, {{4, 4}, {7, 2}}); // x [H, D]
}

TEST_F(E2E, OrthogonalTranspose) {
  runOrthogonal(false, true, 3, {{5, 5}, {6, 3}, {3, 64}});
  runOrthogonal(true, true, 4, {{5, 5}, {8, 3}});
}

TEST_F(E2E, OrthogonalityPenalty) {
  for (int rank : {2, 3}) {
    const std::string rT = dynamicType(rank);
    const std::string source =
        entrySource({{"r", rT}}, {"tensor<f32>"},
                    "%p = rotary.orthogonality_penalty %r : " + rT, {"%p"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE(kernel, source);
    for (auto [D, E] : std::vector<std::pair<int64_t, int64_t>>{
             {5, 5}, {1, 1}, {16, 16}, {6, 3}, {3, 6}}) {
      for (double noise : {-1.0, 1e-2}) { // random, or near orthogonal
        SCOPED_TRACE("D " + std::to_string(D) + " E " + std::to_string(E) +
                     " noise " + std::to_string(noise));
        std::vector<int64_t> shape = {D, E};
        if (rank == 3)
          shape.insert(shape.begin(), 3);
        Tensor R;
        if (noise < 0) {
          R = randn32(shape);
        } else {
          // Orthonormal columns (where E <= D) plus noise.
          Tensor q = std::get<0>(torch::linalg_qr(torch::randn(
              shape, torch::TensorOptions().dtype(torch::kFloat64))));
          Tensor padded = torch::zeros(shape, q.options());
          padded.narrow(-1, 0, q.size(-1)).copy_(q);
          R = (padded + noise * torch::randn_like(padded)).to(torch::kFloat32);
        }
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({R}));
        ASSERT_EQ(out.size(), 1u);
        Tensor expected = ref::orthogonalityPenalty(f64(R));
        // f32 Gram entries carry ~D·2^-24·|col|² of error each; near an
        // orthogonal R that error is not small against RᵀR − I, so the
        // allowance is 2‖E‖·‖ΔE‖ + ‖ΔE‖² with ‖ΔE‖_F ≤ (#entries)^½·ΔE.
        const double colMax = f64(R).pow(2).sum(-2).max().item<double>();
        const double entries = (rank == 3 ? 3.0 : 1.0) * E * E;
        const double dE = std::sqrt(entries) * 4.0 * D * kU32 * colMax;
        const double value = expected.item<double>();
        const double allowance = 2 * std::sqrt(value) * dE + dE * dE;
        EXPECT_TRUE(allClose(out[0], expected, {},
                             torch::full({}, allowance, torch::kFloat64)));
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// fam_step
//===----------------------------------------------------------------------===//

TEST_F(E2E, FamStep) {
  for (double wd : {0.0, 0.01})
    for (int rank : {1, 2}) {
      const std::string T = dynamicType(rank);
      const std::string op =
          "%p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha" +
          attrDict(
              wd > 0 ? std::vector<std::string>{"weight_decay = " + f32Attr(wd)}
                     : std::vector<std::string>{}) +
          " : " + T + ", " + T;
      const std::string source = entrySource({{"p", T},
                                              {"g", T},
                                              {"m", T},
                                              {"lr", "tensor<f32>"},
                                              {"alpha", "tensor<f32>"}},
                                             {T, T}, op, {"%p2", "%m2"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      const std::vector<std::vector<int64_t>> shapes =
          rank == 1
              ? std::vector<std::vector<int64_t>>{{1}, {1000}, {17}}
              : std::vector<std::vector<int64_t>>{{3, 5}, {1, 1}, {17, 33}};
      for (const auto &shape : shapes) {
        SCOPED_TRACE("shape " + c10::str(c10::IntArrayRef(shape)));
        Tensor p = randn32(shape), g = randn32(shape), m = randn32(shape);
        Tensor lr = uniform32({}, 1e-4, 1e-1), alpha = uniform32({}, 0.8, 0.99);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({p, g, m, lr, alpha}));
        ASSERT_EQ(out.size(), 2u);
        ref::FamStepOptions o;
        o.weightDecay = static_cast<double>(static_cast<float>(wd));
        auto expected =
            ref::famStep(f64(p), f64(g), f64(m), f64(lr), f64(alpha), o);
        EXPECT_TRUE(allClose(out[0], expected.param)) << "new param";
        EXPECT_TRUE(allClose(out[1], expected.momentum)) << "new momentum";
      }
    }
}

//===----------------------------------------------------------------------===//
// quaternion_rotate
//===----------------------------------------------------------------------===//

TEST_F(E2E, QuaternionRotate) {
  // (x rank, axis per vector, angle per vector)
  for (int xRank : {1, 2, 3})
    for (bool axisPerVector : {false, true})
      for (bool anglePerVector : {false, true}) {
        if (xRank == 1 && (axisPerVector || anglePerVector))
          continue; // covered by the shared forms
        std::vector<int64_t> xDims(xRank - 1, -1);
        xDims.push_back(3);
        const std::string xT = tensorType(xDims);
        const std::string aT = axisPerVector ? xT : tensorType({3});
        const std::string tT =
            anglePerVector ? dynamicType(xRank - 1) : "tensor<f32>";
        const std::string source =
            entrySource({{"x", xT}, {"u", aT}, {"t", tT}}, {xT},
                        "%y = rotary.quaternion_rotate %x, %u, %t : " + xT +
                            ", " + aT + ", " + tT,
                        {"%y"});
        SCOPED_TRACE(source);
        ROTARY_COMPILE(kernel, source);
        const std::vector<std::vector<int64_t>> leads =
            xRank == 1 ? std::vector<std::vector<int64_t>>{{}}
            : xRank == 2
                ? std::vector<std::vector<int64_t>>{{1}, {10}, {33}}
                : std::vector<std::vector<int64_t>>{{1, 1}, {4, 5}, {2, 17}};
        for (std::vector<int64_t> lead : leads) {
          std::vector<int64_t> shape = lead;
          shape.push_back(3);
          SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
          Tensor x = randn32(shape);
          Tensor u = axisPerVector ? randn32(shape) : randn32({3});
          Tensor t = uniform32(anglePerVector ? lead : std::vector<int64_t>{},
                               -10, 10);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({x, u, t}));
          ASSERT_EQ(out.size(), 1u);
          EXPECT_TRUE(
              allClose(out[0], ref::quaternionRotate(f64(x), f64(u), f64(t))));
        }
      }
}

//===----------------------------------------------------------------------===//
// Bad arguments through the runtime
//===----------------------------------------------------------------------===//

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

Tensor positions(std::vector<int64_t> shape,
                 torch::ScalarType type = torch::kInt64) {
  return torch::randint(0, 100, shape, torch::TensorOptions().dtype(type));
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

//===----------------------------------------------------------------------===//
// HDD-RoPE, attention, FAM bands and momentum, rotation_block.
//===----------------------------------------------------------------------===//

TEST_F(E2E, SOGenerator) {
  // c = 10 takes the loop lowering of the exp form (c > 8).
  for (int64_t c : {2, 4, 5, 10})
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

// The blocked scan over every axis (T crosses several 64-step blocks).
TEST_F(E2E, CumulativeRotation) {
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
                         // c > 8: one c x c product per step, not unrolled.
                         {{-1, -1, -1}, 9, 1, {2, 70, 2}},
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
    ROTARY_COMPILE(kernel, source);
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

TEST_F(E2E, HDDRope) {
  struct Shape {
    int64_t B, T, H, D;
  };
  const std::vector<Shape> shapes = {
      {2, 9, 3, 8}, {1, 1, 1, 4}, {1, 40, 2, 12}};
  for (bool fused : {false, true})
    for (auto form : {ref::SOForm::Givens, ref::SOForm::Exp})
      for (bool inverse : {false, true}) {
        if (!fused && form == ref::SOForm::Exp)
          continue; // the P form has no form
        const int64_t c = 4, K = 6;
        const std::string xT = dynamicType(4);
        const std::string rT = fused ? tensorType({-1, -1, -1, -1, K})
                                     : tensorType({-1, -1, -1, -1, c, c});
        std::vector<std::string> attrs = {"chunk = 4 : i64"};
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
        ROTARY_COMPILE(kernel, source);
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
    for (bool inverse : {false, true}) {
      const int64_t c = k.c, K = c * (c - 1) / 2;
      const std::string xT = tensorType({-1, -1, -1, -1}, k.element);
      const std::string rT = tensorType({-1, -1, -1, -1, K});
      std::vector<std::string> attrs = {"chunk = " + std::to_string(c) +
                                        " : i64"};
      if (inverse)
        attrs.push_back("inverse");
      const std::string op =
          std::string("%y = rotary.hdd_rope %x, %a form = ") +
          (k.form == ref::SOForm::Exp ? "exp" : "givens") + attrDict(attrs) +
          " : " + xT + ", " + rT;
      const std::string source =
          entrySource({{"x", xT}, {"a", rT}}, {xT}, op, {"%y"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
               {2, 5, 3, 2 * c}, {1, 1, 1, c}, {1, 20, 2, c}}) {
        Tensor x = randn32(shape);
        if (k.element == "bf16")
          x = x.to(torch::kBFloat16);
        Tensor a =
            uniform32({shape[0], shape[1], shape[2], shape[3] / c, K}, -1, 1);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({x, a}));
        ref::HDDRopeOptions o;
        o.form = k.form;
        o.chunk = c;
        o.inverse = inverse;
        Tolerance tol =
            k.element == "bf16" ? Tolerance{8e-3, 8e-3} : Tolerance{2e-5, 2e-5};
        EXPECT_TRUE(allClose(out[0].to(torch::kFloat64),
                             ref::hddRope(f64(x), f64(a), o), tol));
      }
    }
}

TEST_F(E2E, HDDRopeLanesPerTask) {
  // The lanes per task are the schedule's choice; the kernels are correct
  // for any: one lane, a count that divides no vector, both layouts.
  for (auto [c, lanes] :
       std::vector<std::pair<int64_t, int64_t>>{{4, 1}, {4, 3}, {16, 3}})
    for (bool inverse : {false, true}) {
      const int64_t K = c * (c - 1) / 2;
      const std::string xT = dynamicType(4);
      const std::string rT = tensorType({-1, -1, -1, -1, K});
      std::vector<std::string> attrs = {
          "chunk = " + std::to_string(c) + " : i64",
          "rotary.tiles = {lanes = " + std::to_string(lanes) + " : i64}"};
      if (inverse)
        attrs.push_back("inverse");
      const std::string op = "%y = rotary.hdd_rope %x, %a form = givens" +
                             attrDict(attrs) + " : " + xT + ", " + rT;
      const std::string source =
          entrySource({{"x", xT}, {"a", rT}}, {xT}, op, {"%y"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      for (std::vector<int64_t> shape :
           std::vector<std::vector<int64_t>>{{2, 6, 5, 2 * c}, {1, 1, 1, c}}) {
        Tensor x = randn32(shape);
        Tensor a =
            uniform32({shape[0], shape[1], shape[2], shape[3] / c, K}, -1, 1);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({x, a}));
        ref::HDDRopeOptions o;
        o.form = ref::SOForm::Givens;
        o.chunk = c;
        o.inverse = inverse;
        EXPECT_TRUE(allClose(out[0], ref::hddRope(f64(x), f64(a), o),
                             Tolerance{2e-5, 2e-5}));
      }
    }
}

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

void runAttention(const std::vector<AttentionCase> &cases) {
  const int64_t D = 8;
  for (const AttentionCase &c : cases) {
    const std::string qT = dynamicType(4), lT = dynamicType(3);
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
    ROTARY_COMPILE(kernel, source);
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

} // namespace

TEST_F(E2E, Attention) {
  runAttention({
      {false, -1, 0, 0, false, {{7, 7}, {1, 1}, {5, 9}, {64, 64}}},
      // T = 1 decoding and a KV cache (T < S): queries at the end.
      {true, -1, 0, 0, false, {{7, 7}, {1, 9}, {3, 9}}},
      {true, 3, 2, 0, false, {{33, 33}, {4, 20}}},
      {false, 2, 1, 1, false, {{9, 9}, {1, 6}}},
      {true, -1, 0, 2, false, {{7, 7}, {2, 5}}},
      {true, 8, 0, 1, true, {{40, 40}, {3, 17}}},
      {false, -1, 0, 0, true, {{12, 12}}},
  });
}

TEST_F(E2E, AttentionTileSizes) {
  // The lowering takes whatever tiles the op records (a target's schedule
  // chooses them): odd, one query per tile, larger than the sequence.
  runAttention({
      {true, 4, 1, 1, true, {{23, 23}, {3, 11}}, {7, 5}},
      {false, -1, 0, 2, false, {{9, 13}}, {1, 3}},
      {true, -1, 0, 0, false, {{17, 17}, {1, 1}}, {96, 128}},
  });
}

// With T > S and `causal` the queries sit at positions -4 .. 1 (decision
// 0011), so rows 0-3 see no key: zero output and lse -inf.
TEST_F(E2E, AttentionRowsWithoutKeys) {
  runAttention({{true, -1, 0, 0, false, {{6, 2}, {3, 1}}},
                {true, 1, 0, 1, false, {{5, 3}}}});
}

TEST_F(E2E, SpectralBands) {
  const std::vector<std::pair<ref::BandLayout, const char *>> layouts = {
      {ref::BandLayout::Linear, "linear"},
      {ref::BandLayout::Log, "log"},
      {ref::BandLayout::Split, "split"}};
  for (auto [layout, name] : layouts)
    for (int64_t n : {8, 10, 12}) {
      const std::string pT = dynamicType(1), bT = tensorType({n});
      const std::string source = entrySource(
          {{"p", pT}}, {bT},
          "%b = rotary.spectral_bands %p bands = " + std::to_string(n) +
              " layout = " + name + " : " + pT,
          {"%b"});
      SCOPED_TRACE(source);
      ROTARY_COMPILE(kernel, source);
      // Lengths that are no perfect powers: the log layout's band edges
      // ⌊L^{i/n}⌋ then sit away from integers, where f32 pow is safe.
      for (int64_t L : {1, 5, 33, 257, 501}) {
        SCOPED_TRACE("L " + std::to_string(L));
        Tensor P = uniform32({L}, 0, 2);
        std::vector<Tensor> out;
        ASSERT_NO_THROW(out = kernel->run({P}));
        ref::SpectralBandsOptions o;
        o.bands = n;
        o.layout = layout;
        EXPECT_TRUE(allClose(out[0], ref::spectralBands(f64(P), o)));
      }
      // A zero spectrum stays zero (no NaN).
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run({torch::zeros({16}, torch::kFloat32)}));
      EXPECT_TRUE(allClose(out[0], torch::zeros({n}, torch::kFloat64)));
    }
}

TEST_F(E2E, AdaptiveMomentum) {
  const std::vector<std::pair<ref::FamHandler, const char *>> handlers = {
      {ref::FamHandler::Default, "default"},
      {ref::FamHandler::Conv, "conv"},
      {ref::FamHandler::Attention, "attention"},
      {ref::FamHandler::Embedding, "embedding"}};
  for (auto [handler, name] : handlers) {
    const std::string eT = dynamicType(1);
    const std::string source =
        entrySource({{"e", eT}, {"alpha", "tensor<f32>"}}, {"tensor<f32>"},
                    "%a = rotary.adaptive_momentum %e, %alpha handler = " +
                        std::string(name) + " : " + eT,
                    {"%a"});
    SCOPED_TRACE(source);
    ROTARY_COMPILE(kernel, source);
    // Every band alone at 0.6 (each branch of each handler is reached, and
    // no sum is near a threshold), plus an all-small and an n = 1 case.
    for (int64_t n : {1, 5, 8, 10, 12}) {
      for (int64_t k = -1; k < n; ++k) {
        Tensor e = torch::full({n}, 0.01f);
        if (k >= 0)
          e[k] = 0.6f;
        for (float alpha : {0.8f, 0.92f, 0.97f}) {
          SCOPED_TRACE("n " + std::to_string(n) + " peak " + std::to_string(k) +
                       " alpha " + std::to_string(alpha));
          Tensor a = torch::full({}, alpha);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({e, a}));
          EXPECT_TRUE(
              allClose(out[0], ref::adaptiveMomentum(f64(e), f64(a), handler)));
        }
      }
    }
  }
}

// rotation_block with rope, expanded and lowered (x of rank 4).
TEST_F(E2E, RotationBlock) {
  const std::string xT = tensorType({-1, -1, -1, 8}), aT = tensorType({-1, 10});
  const std::string rT = tensorType({8, 8}), pT = dynamicType(1, "i64");
  const std::string source =
      entrySource({{"x", xT}, {"a", aT}, {"r", rT}, {"pos", pT}}, {xT},
                  "%y = rotary.rotation_block %x, %a, %r rope(%pos : " + pT +
                      ") layout = interleaved {rotary_dim = 4 : i64, base = " +
                      f32Attr(100.0) + "} : " + xT + ", " + aT + ", " + rT,
                  {"%y"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  Tensor x = randn32({2, 5, 3, 8}), a = uniform32({3, 10}, -kPi, kPi),
         R = randn32({8, 8});
  Tensor pos = positions({5});
  std::vector<Tensor> out;
  ASSERT_NO_THROW(out = kernel->run({x, a, R, pos}));
  ref::RotationBlockOptions o;
  o.positions = pos;
  o.layout = ref::RopeLayout::Interleaved;
  o.rotaryDim = 4;
  o.base = 100.0;
  EXPECT_TRUE(allClose(out[0], ref::rotationBlock(f64(x), f64(a), f64(R), o)));
}

//===----------------------------------------------------------------------===//
// rotation_block as one fused kernel (rope while loading each row tile, the
// Givens chain, x·R on the tile). Every config keeps the chain unfolded
// (dynamic D, a bf16 R, or mixed per-head operands), so the block reaches the
// lowering as one op; row counts cover 1 row, odd counts and several tiles.
//===----------------------------------------------------------------------===//

namespace {

struct BlockConfig {
  bool rope = true;
  ref::RopeLayout layout = ref::RopeLayout::Half;
  int64_t rotaryDim = -1; ///< the attribute, when > 0
  double base = -1;       ///< the attribute, when > 0
  int posRank = 1;
  std::vector<ref::Pair> pairs; ///< empty: the default schedule
  int64_t N = 0;
  bool perHeadAngles = false, perHeadR = false;
  bool staticD = false; ///< else D (and R's sizes) are dynamic
  int64_t D = 8;
  int64_t H = 3;
  torch::ScalarType dtype = torch::kFloat32;  ///< x (and y)
  torch::ScalarType rDtype = torch::kFloat32; ///< R
  /// Leading shapes: [B, T] with rope (x is [B, T, H, D]), else [rows...].
  std::vector<std::vector<int64_t>> lead = {{1, 1}, {2, 5}, {1, 67}, {3, 43}};
};

void runBlock(const BlockConfig &c) {
  const int64_t dimD = c.staticD ? c.D : -1;
  const std::string elt = elementName(c.dtype);
  const bool headed = c.rope || c.perHeadAngles || c.perHeadR;
  const int64_t leadRank = c.rope ? 2 : static_cast<int64_t>(c.lead[0].size());
  std::vector<int64_t> xDims(leadRank, -1);
  if (headed)
    xDims.push_back(c.H);
  xDims.push_back(dimD);
  const std::string xT = tensorType(xDims, elt);
  const int64_t dimN = c.pairs.empty() && c.staticD ? c.N : -1;
  const std::string aT =
      c.perHeadAngles ? tensorType({c.H, dimN}) : tensorType({dimN});
  const std::string rT =
      c.perHeadR ? tensorType({c.H, dimD, dimD}, elementName(c.rDtype))
                 : tensorType({dimD, dimD}, elementName(c.rDtype));
  std::vector<Arg> args = {{"x", xT}, {"a", aT}, {"r", rT}};
  std::string op = "%y = rotary.rotation_block %x, %a, %r";
  const std::string pT = dynamicType(c.posRank, "i64");
  if (c.rope) {
    args.push_back({"pos", pT});
    op += " rope(%pos : " + pT + ")";
  }
  if (!c.pairs.empty())
    op += " " + pairsAttr(c.pairs);
  if (c.rope)
    op += std::string(" layout = ") + layoutName(c.layout);
  std::vector<std::string> attrs;
  if (c.rotaryDim > 0)
    attrs.push_back("rotary_dim = " + std::to_string(c.rotaryDim) + " : i64");
  if (c.base > 0)
    attrs.push_back("base = " + f32Attr(c.base));
  op += attrDict(attrs) + " : " + xT + ", " + aT + ", " + rT;
  const std::string source = entrySource(args, {xT}, op, {"%y"});
  SCOPED_TRACE(source);
  ROTARY_COMPILE(kernel, source);
  // bf16/f16 results are rounded once at the end (about one unit of their
  // precision); the f32 math inside is checked by the f32 configs. A bf16 R
  // needs nothing extra: the reference uses the same bf16 values.
  Tolerance tol;
  if (c.dtype != torch::kFloat32)
    tol.rtol = tol.atol = c.dtype == torch::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;
  for (const std::vector<int64_t> &lead : c.lead) {
    std::vector<int64_t> shape = lead;
    if (headed)
      shape.push_back(c.H);
    shape.push_back(c.D);
    SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
    Tensor x = randn32(shape).to(c.dtype);
    Tensor a = c.perHeadAngles ? uniform32({c.H, c.N}, -kPi, kPi)
                               : uniform32({c.N}, -kPi, kPi);
    // A random orthogonal R (as Math §3 initialises it), per head or shared.
    Tensor R = c.perHeadR ? randn32({c.H, c.D, c.D}) : randn32({c.D, c.D});
    R = std::get<0>(torch::linalg_qr(R.to(torch::kFloat64)))
            .to(torch::kFloat32)
            .contiguous()
            .to(c.rDtype);
    std::vector<Tensor> in = {x, a, R};
    ref::RotationBlockOptions o;
    o.pairs = c.pairs;
    if (c.rope) {
      Tensor pos = c.posRank == 1 ? positions({lead[1]})
                                  : positions({lead[0], lead[1]});
      in.push_back(pos);
      o.positions = pos;
      o.layout = c.layout;
      o.rotaryDim = c.rotaryDim;
      if (c.base > 0)
        o.base = c.base;
    }
    std::vector<Tensor> out;
    ASSERT_NO_THROW(out = kernel->run(in));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].scalar_type(), c.dtype);
    EXPECT_TRUE(allClose(out[0].to(torch::kFloat64),
                         ref::rotationBlock(f64(x), f64(a), f64(R), o), tol));
  }
}

} // namespace

// The full default schedule (dynamic D: pairs computed at run time), every
// rope layout.
TEST_F(E2E, FusedRotationBlockLayouts) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    SCOPED_TRACE(layoutName(layout));
    BlockConfig c;
    c.layout = layout;
    c.N = 28;
    runBlock(c);
  }
}

// Positions [B, T], base attribute, partial rotary_dim (features r..D pass
// through the rope, then all of them through the chain and R), odd D with
// explicit pairs.
TEST_F(E2E, FusedRotationBlockPartialRotaryDim) {
  BlockConfig c;
  c.posRank = 2;
  c.base = 500.0;
  c.rotaryDim = 4;
  c.D = 10;
  c.pairs = {{0, 9}, {4, 5}, {3, 8}, {1, 2}, {9, 0}, {6, 7}, {2, 4}};
  c.N = c.pairs.size();
  c.layout = ref::RopeLayout::Interleaved;
  runBlock(c);
  c.D = 7; // odd D, rope on the first 4 features
  c.pairs = {{0, 6}, {5, 2}, {1, 3}, {4, 3}};
  c.N = c.pairs.size();
  c.layout = ref::RopeLayout::Deinterleave;
  runBlock(c);
}

// Per-head angles and per-head R, and each one alone (mixed operands never
// fold), at a static D.
TEST_F(E2E, FusedRotationBlockPerHead) {
  BlockConfig c;
  c.staticD = true;
  c.D = 8;
  c.N = 28;
  c.H = 4;
  c.perHeadAngles = true;
  c.perHeadR = true;
  c.rDtype = torch::kBFloat16; // keeps the chain at any row count
  runBlock(c);
  c.rDtype = torch::kFloat32;
  c.perHeadR = false;
  runBlock(c);
  c.perHeadAngles = false;
  c.perHeadR = true;
  c.rope = false;
  c.lead = {{1}, {9}, {65}, {130}};
  runBlock(c);
}

// bf16 and f16 data: f32 math inside, one rounding at the end.
TEST_F(E2E, FusedRotationBlockLowPrecision) {
  BlockConfig c;
  c.N = 28;
  c.dtype = torch::kBFloat16;
  runBlock(c);
  c.dtype = torch::kFloat16;
  c.layout = ref::RopeLayout::Interleaved;
  runBlock(c);
  // No rope, D = 32: full tiles take the 16 × 16 block transposes (with the
  // widening and narrowing on the vectors), the last tile the scalar loops.
  c.rope = false;
  c.dtype = torch::kBFloat16;
  c.D = 32;
  c.N = 100;
  c.lead = {{64}, {130}};
  runBlock(c);
}

// Enough rows for the cost model to fold at run time (Q·R once, then one
// contraction), in bf16 and f32, with and without rope, next to few rows
// that keep the chain kernel.
TEST_F(E2E, RotationBlockFoldedAtRunTime) {
  BlockConfig c;
  c.N = 28; // D = 8: folds above about 14 rows
  c.lead = {{1, 2}, {2, 150}};
  c.dtype = torch::kBFloat16;
  runBlock(c);
  c.dtype = torch::kFloat32;
  c.layout = ref::RopeLayout::Deinterleave;
  c.perHeadAngles = true;
  runBlock(c);
  c.rope = false;
  c.perHeadAngles = false;
  c.perHeadR = true;
  c.D = 16;
  c.N = 120;
  c.lead = {{3}, {301}};
  runBlock(c);
}

// Without rope: x [rows, D] (1, 7, 65 and 130 rows), the partial default
// schedule, and D = 64 with all 2016 rotations (D(D − 1)/2).
TEST_F(E2E, FusedRotationBlockNoRope) {
  BlockConfig c;
  c.rope = false;
  c.lead = {{1}, {7}, {65}, {130}};
  c.D = 16;
  c.N = 20;
  runBlock(c);
  c.D = 64;
  c.N = 64 * 63 / 2;
  c.lead = {{1}, {67}};
  runBlock(c);
  c.D = 2; // one rotation, a 2×2 R
  c.N = 1;
  c.lead = {{3}, {10}};
  runBlock(c);
}
