//===- RopeTest.cpp - rope and inv_freq against the LibTorch references ---===//
//
// Each test writes one `func.func @entry` calling rotary.rope (every
// dimension dynamic; every layout, frequency source and option, positions
// [T] and [B, T] of each type) or rotary.inv_freq, compiles it to a bundle,
// runs it through the runtime on random f32 inputs at several shapes (batch
// 1, T = 1, odd D with rotary_dim) and compares with the f64 reference of
// test/reference (tolerances: see Harness.h; rope can add an allowance for
// angles formed in f32, see kRopeAngleUlps).
//
//===----------------------------------------------------------------------===//

#include "E2EHelpers.h"
#include "Harness.h"
#include "Reference.h"

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
