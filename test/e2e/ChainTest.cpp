//===- ChainTest.cpp - Givens chains, orthogonal and rotation blocks ------===//
//
// rotary.givens (default schedule, explicit pairs, per head, inverse, row
// groups, folded at run time and at compile time), rotary.orthogonal and
// rotary.orthogonality_penalty, and rotary.rotation_block (expanded, fused
// into one kernel, and folded): each test writes one `func.func @entry`,
// compiles it, runs it through the runtime on random inputs at several
// shapes and compares with the f64 reference of test/reference.
//
//===----------------------------------------------------------------------===//

#include "E2EHelpers.h"
#include "Harness.h"
#include "OpCases.h"
#include "Reference.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::e2e;

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
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(c.gpuLoops));
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

// The GPU schedule's loops (a block per group of rows, a thread per row
// running the chain on its column of the group's [D, rows + 1] tile), run
// on the CPU: the default schedule at D = 8 and 64 (several groups, a
// partial one, and the folded form at 300 rows), odd explicit pairs,
// per-head chains, the inverse (static and dynamic D: a tile sized at
// launch), bf16 rows, and a group of 7 rows an experiment records.
TEST_F(E2E, GivensGpuLoops) {
  for (const GivensConfig &c : givensGpuLoopCases())
    runGivens(c);
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
// each case runs rows on both sides of the break-even point.
TEST_F(E2E, GivensFoldedAtRunTime) {
  std::vector<GivensConfig> cases = givensFoldCases();
  for (const GivensConfig &c : cases)
    runGivens(c);
  // The D = 16 case (cases[2]) on bf16 data: f32 inside, one rounding.
  GivensConfig bf16 = cases[2];
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
// rotation_block
//===----------------------------------------------------------------------===//

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
  /// Compiled as the GPU schedule's loops (needs a static D).
  bool gpuLoops = false;
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
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(c.gpuLoops));
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
      Tensor pos =
          c.posRank == 1 ? positions({lead[1]}) : positions({lead[0], lead[1]});
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
// The GPU schedule's loops of a rotation block (the rope kernel, then a
// block per group of rows running the chain a thread per row and y = t·R
// a thread per output element, or the chain folded into its matrix), run
// on the CPU: static D, shared and per-head angles and matrices (a bf16 R
// and mixed per-head operands keep the block unfolded), bf16 rows.
TEST_F(E2E, RotationBlockGpuLoops) {
  BlockConfig c;
  c.gpuLoops = true;
  c.staticD = true;
  c.N = 28;
  runBlock(c);
  c.rDtype = torch::kBFloat16;
  runBlock(c);
  c.rDtype = torch::kFloat32;
  c.perHeadAngles = true;
  c.layout = ref::RopeLayout::Interleaved;
  runBlock(c);
  c.perHeadR = true;
  c.dtype = torch::kBFloat16;
  c.rDtype = torch::kBFloat16;
  c.D = 16;
  c.N = 40;
  runBlock(c);
  // D known only at run time: the chain or the fold chosen at run time,
  // the tiles sized at launch once mapped.
  BlockConfig dynamic;
  dynamic.gpuLoops = true;
  dynamic.N = 28;
  runBlock(dynamic);
  dynamic.rope = false;
  dynamic.lead = {{1}, {9}, {300}};
  runBlock(dynamic);
}

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

// x of rank 1 ([D], static, as the model library builds it for one vector):
// after the CPU schedule's one task drops its unit dims no matmul is left (a
// vector-matrix product), which used to be refused.
TEST_F(E2E, RotationBlockRankOne) {
  BlockConfig c;
  c.rope = false;
  c.staticD = true;
  c.lead = {{}};
  for (auto [D, N] : {std::pair<int64_t, int64_t>{4, 6}, {16, 20}, {2, 1}}) {
    SCOPED_TRACE("D " + std::to_string(D) + ", N " + std::to_string(N));
    c.D = D;
    c.N = N;
    runBlock(c);
  }
}
