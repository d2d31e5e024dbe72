//===- RopeTest.cpp - rope and inv_freq against the LibTorch references ---===//
//
// Each test writes one `func.func @entry` calling rotary.rope (every
// dimension dynamic; every layout, frequency source and option, positions
// [T] and [B, T] of each type) or rotary.inv_freq, compiles it to a bundle,
// runs it through the runtime on random f32 inputs at several shapes (batch
// 1, T = 1, odd D with rotary_dim) and compares with the f64 reference of
// test/reference (tolerances: see Harness.h; rope can add an allowance for
// angles formed in f32, see kRopeAngleUlps). xPos ropes (queries and keys)
// run forward and through their generated backward (@entry_bwd), f32 and
// bf16 data, against the f64 reference of test/reference/XPos.h and its
// autograd.
//
//===----------------------------------------------------------------------===//

#include "E2EHelpers.h"
#include "Harness.h"
#include "Reference.h"
#include "XPos.h"

#include <cstdio>
#include <string>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

/// Units of 2^-24·|θ| allowed for the error of rope's angles. Decision 0013:
/// the CPU lowering computes f_i, θ and cos/sin in f64 and rounds to f32, so
/// kernels match the f64 reference at any position: 0. A kernel that forms θ
/// in f32 (docs/Math.md read literally) needs about 16 here (and 4 against the
/// reference with RopeOptions::f32Angles).
constexpr double kRopeAngleUlps = 0.0;

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
  ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(c.gpuLoops));
  const std::vector<RopeShape> shapes = {
      {2, 7, 3}, {1, 1, 1}, {3, 5, 2}, {1, 64, 4}};
  for (int64_t D : c.Ds)
    for (const RopeShape &s : shapes) {
      SCOPED_TRACE(shapeTrace(s, D));
      const int64_t r = c.rotaryDim >= 0 ? c.rotaryDim : D;
      Tensor x = randn32({s.B, s.T, s.H, D});
      Tensor pos = ropePositions(c, s);
      Tensor posRef = pos.is_floating_point() ? f64(pos) : pos;
      std::vector<Tensor> inputs = {x, pos};
      ref::RopeOptions o = ropeOptions(c);
      addRopeOperands(c, r, /*maxBase=*/1e6, inputs, o);
      std::vector<Tensor> out;
      ASSERT_NO_THROW(out = kernel->run(inputs));
      ASSERT_EQ(out.size(), 1u);

      const double xMax = x.abs().max().item<double>();
      Tensor absTheta = ref::ropeAngles(posRef, r, o).abs();
      Tensor allowance =
          ropeAllowance(absTheta, D, r, ref::ropeWritesPairs(o)) * xMax *
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

// The GPU schedule's loops (each an iteration of a GPU thread), run on the
// CPU: every layout and option of the forward, against the same references.
TEST_F(E2E, RopeGpuLoops) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave}) {
    RopeConfig c;
    c.gpuLoops = true;
    c.layout = layout;
    c.Ds = {8, 2, 64};
    runRope(c);
    c.inverse = true;
    c.rotaryDim = 6;
    c.Ds = {9, 6};
    runRope(c);
  }
  RopeConfig c;
  c.gpuLoops = true;
  c.posRank = 2;
  c.posType = torch::kInt32;
  runRope(c);
  c.posType = torch::kFloat32;
  c.invFreq = c.phase = c.scale = true;
  c.rotaryDim = 8;
  c.Ds = {8, 11};
  runRope(c);
  c.invFreq = false;
  c.runtimeBase = true;
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
// rope with xPos, forward and backward
//===----------------------------------------------------------------------===//

namespace {

/// A rope with xPos: its options (RopeConfig; no base) and xPos's.
struct XPosCase : RopeConfig {
  bool key = false;
  double scaleBase = 0, gamma = 0; ///< the attributes, when > 0
};

std::string xposSource(const XPosCase &c) {
  std::vector<std::string> attrs;
  if (c.scaleBase > 0)
    attrs.push_back("xpos_scale_base = " + f32Attr(c.scaleBase));
  if (c.gamma > 0)
    attrs.push_back("xpos_gamma = " + f32Attr(c.gamma));
  return ropeSource(c, c.key ? " xpos = key" : " xpos = query", attrs);
}

/// Compiles `c` with its generated backward and compares @entry and
/// @entry_bwd with the f64 reference and its autograd at several shapes.
void runXPos(const XPosCase &c) {
  const std::string source = xposSource(c);
  SCOPED_TRACE(source);
  auto kernel = Kernel::compile(source, /*gradients=*/true);
  ASSERT_TRUE(kernel) << "compilation failed";
  const bool low = c.dtype != torch::kFloat32;
  const std::vector<RopeShape> shapes = {
      {2, 7, 3}, {1, 1, 1}, {3, 5, 2}, {1, 37, 4}};
  ref::XPosOptions xo;
  xo.key = c.key;
  // The kernel reads the attributes as f32.
  if (c.scaleBase > 0)
    xo.scaleBase = double(float(c.scaleBase));
  xo.gamma = double(float(c.gamma > 0 ? c.gamma : 0.4));
  for (int64_t D : c.Ds)
    for (const RopeShape &s : shapes) {
      SCOPED_TRACE(shapeTrace(s, D));
      const int64_t r = c.rotaryDim >= 0 ? c.rotaryDim : D;
      Tensor x = randn32({s.B, s.T, s.H, D}).to(c.dtype);
      Tensor dy = randn32({s.B, s.T, s.H, D}).to(c.dtype);
      Tensor pos = ropePositions(c, s);
      Tensor posRef = pos.is_floating_point() ? f64(pos) : pos;
      std::vector<Tensor> inputs = {x, pos};
      ref::RopeOptions o = ropeOptions(c);
      std::vector<Tensor> leaves; // in gradient order
      addRopeOperands(c, r, /*maxBase=*/1e6, inputs, o, &leaves);

      Tensor xr = f64(x).set_requires_grad(true);
      Tensor expected = ref::ropeXPos(xr, posRef, o, xo);
      expected.backward(f64(dy));
      std::vector<Tensor> y, grads;
      ASSERT_NO_THROW(y = kernel->run(inputs));
      ASSERT_EQ(y.size(), 1u);
      EXPECT_TRUE(
          allClose(y[0], expected.detach(), low ? kBf16Tol : Tolerance{}))
          << "forward";
      std::vector<Tensor> bwdIn = inputs;
      bwdIn.push_back(dy);
      ASSERT_NO_THROW(grads = kernel->run("entry_bwd", bwdIn));
      ASSERT_EQ(grads.size(), 1 + leaves.size());
      EXPECT_TRUE(allClose(grads[0], xr.grad(), low ? kBf16Tol : Tolerance{}))
          << "dx";
      expectRopeParamGrads(grads, x, dy, posRef, r, o,
                           ref::xposPairScale(posRef, r, xo));
    }
}

} // namespace

TEST_F(E2E, RopeXPosQueryAndKeyEveryLayout) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Interleaved,
                      ref::RopeLayout::Deinterleave})
    for (bool key : {false, true}) {
      XPosCase c;
      c.layout = layout;
      c.key = key;
      c.Ds = {8, 2};
      runXPos(c);
    }
}

TEST_F(E2E, RopeXPosLearnedPartialPositionsBT) {
  for (bool key : {false, true}) {
    XPosCase c; // every learnable operand, rotary_dim < D, [B, T] i32
    c.key = key;
    c.layout = ref::RopeLayout::Interleaved;
    c.rotaryDim = 6;
    c.Ds = {9, 6};
    c.invFreq = c.phase = c.scale = true;
    c.posRank = 2;
    c.posType = torch::kInt32;
    c.scaleBase = 128;
    c.gamma = 0.25;
    c.maxPos = 400;
    runXPos(c);
    XPosCase b = c; // base frequencies, [T] f32 (fractional) positions
    b.layout = ref::RopeLayout::Half;
    b.invFreq = false;
    b.posRank = 1;
    b.posType = torch::kFloat32;
    b.maxPos = 300;
    runXPos(b);
  }
}

TEST_F(E2E, RopeXPosInverseIsTheTranspose) {
  for (auto layout : {ref::RopeLayout::Half, ref::RopeLayout::Deinterleave})
    for (bool key : {false, true}) {
      XPosCase c;
      c.layout = layout;
      c.key = key;
      c.inverse = true;
      c.rotaryDim = 4;
      c.Ds = {8, 5};
      c.phase = true;
      c.posRank = 2;
      runXPos(c);
    }
}

TEST_F(E2E, RopeXPosBf16) {
  for (bool key : {false, true}) {
    XPosCase c;
    c.dtype = torch::kBFloat16;
    c.key = key;
    c.Ds = {16, 10};
    c.rotaryDim = 8;
    c.phase = c.scale = true;
    runXPos(c);
    c.layout = ref::RopeLayout::Deinterleave;
    c.posRank = 2;
    c.phase = c.scale = false;
    runXPos(c);
  }
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
