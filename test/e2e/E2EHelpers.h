//===- E2EHelpers.h - what several e2e tests share --------------*- C++ -*-===//
//
// The IR name of an element type, rope's option set and the source of its
// entry (the rope tests, and the run-time checks that run a rope kernel), the
// random inputs of a rope test and the check of its parameter gradients (the
// forward, xPos and rope_grad tests), and random positions (rope kernels and
// rotation blocks).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_E2E_E2EHELPERS_H
#define ROTARY_TEST_E2E_E2EHELPERS_H

#include "Harness.h"
#include "OpCases.h"
#include "Reference.h"
#include "XPos.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rotary::e2e {

/// The element type's name in the IR ("f32" for anything else).
inline std::string elementName(torch::ScalarType t) {
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

/// The options of one rotary.rope entry.
struct RopeConfig {
  reference::RopeLayout layout = reference::RopeLayout::Half;
  int64_t rotaryDim = -1;        ///< the attribute, when >= 0
  std::vector<int64_t> Ds = {8}; ///< head dims to run (D is dynamic)
  bool invFreq = false, phase = false, scale = false, runtimeBase = false;
  double baseAttr = -1; ///< the attribute, when > 0
  bool inverse = false;
  int posRank = 1;
  torch::ScalarType posType = torch::kInt64;
  double maxPos = 1000;
  torch::ScalarType dtype = torch::kFloat32; ///< of x (and y)
  /// Compile the GPU schedule's loops for the CPU (CompileOptions::gpuLoops).
  bool gpuLoops = false;
};

/// bf16 data: results rounded to 8 significant bits.
inline const Tolerance kBf16Tol = {1.0 / 128, 1.0 / 128};

/// The attributes of a rope (or rope_grad) of config `c`.
inline std::vector<std::string> ropeAttributes(const RopeConfig &c) {
  std::vector<std::string> attrs;
  if (c.rotaryDim >= 0)
    attrs.push_back("rotary_dim = " + std::to_string(c.rotaryDim) + " : i64");
  if (c.baseAttr > 0)
    attrs.push_back("base = " + f32Attr(c.baseAttr));
  if (c.inverse)
    attrs.push_back("inverse");
  return attrs;
}

/// func.func @entry(%x, %pos, ...) holding one rotary.rope of config `c`;
/// `syntax` follows the layout (" xpos = key"), `attrs` c's attributes.
inline std::string ropeSource(const RopeConfig &c,
                              const std::string &syntax = "",
                              const std::vector<std::string> &attrs = {}) {
  const std::string xT = dynamicType(4, elementName(c.dtype));
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
  op += std::string(" layout = ") + layoutName(c.layout) + syntax;
  std::vector<std::string> all = ropeAttributes(c);
  all.insert(all.end(), attrs.begin(), attrs.end());
  op += attrDict(all) + " : " + xT + ", " + pT;
  return entrySource(args, {xT}, op, {"%y"});
}

/// One input shape of a rope test: x [B, T, H, D] for each D of the config.
struct RopeShape {
  int64_t B, T, H;
};

/// "B 2 T 7 H 3 D 8": the shape a rope test is at, for SCOPED_TRACE.
inline std::string shapeTrace(const RopeShape &s, int64_t D) {
  return "B " + std::to_string(s.B) + " T " + std::to_string(s.T) + " H " +
         std::to_string(s.H) + " D " + std::to_string(D);
}

/// Random positions of `c` for shape `s`: [T] or [B, T] of c.posType in
/// [0, c.maxPos) (fractional when f32).
inline torch::Tensor ropePositions(const RopeConfig &c, const RopeShape &s) {
  std::vector<int64_t> shape = c.posRank == 1 ? std::vector<int64_t>{s.T}
                                              : std::vector<int64_t>{s.B, s.T};
  return c.posType == torch::kFloat32
             ? uniform32(shape, 0, c.maxPos)
             : torch::randint(0, static_cast<int64_t>(c.maxPos), shape,
                              torch::TensorOptions().dtype(c.posType));
}

/// The reference's options of `c`'s attributes (no operands yet).
inline reference::RopeOptions ropeOptions(const RopeConfig &c) {
  reference::RopeOptions o;
  o.layout = c.layout;
  o.rotaryDim = c.rotaryDim;
  o.inverse = c.inverse;
  if (c.baseAttr > 0)
    o.base = c.baseAttr;
  return o;
}

/// Draws the operands `c` has after x and pos (inv_freq, phase, scale, base
/// in [100, maxBase]) for r rotated features, appends them to `inputs` and
/// sets their f64 values in `o`: autograd leaves, also appended to `leaves`,
/// when `leaves` is given.
inline void addRopeOperands(const RopeConfig &c, int64_t r, double maxBase,
                            std::vector<torch::Tensor> &inputs,
                            reference::RopeOptions &o,
                            std::vector<torch::Tensor> *leaves = nullptr) {
  auto add = [&](torch::Tensor v, torch::Tensor &slot) {
    inputs.push_back(v);
    slot = f64(v);
    if (leaves)
      leaves->push_back(slot.set_requires_grad(true));
  };
  if (c.invFreq)
    add(uniform32({r / 2}, 1e-4, 1.0), o.invFreq);
  if (c.phase)
    add(uniform32({r / 2}, -kPi, kPi), o.phase);
  if (c.scale)
    add(uniform32({}, 0.5, 2.0), o.scale);
  if (c.runtimeBase)
    add(uniform32({}, 100.0, maxBase).round(), o.runtimeBase);
}

/// Expects the parameter gradients a rope kernel returned in grads[1..]
/// (inv_freq, phase, scale, base: the operands `o` has, f64 leaves after
/// the reference's backward) to match the leaves' .grad, for x, ȳ `dy` and
/// positions `pos`, r rotated features. Each sums B·T·H terms rounded at the
/// f32 level: allow 32 f32 units of the sum of the terms' bounds |θ̄| <= m =
/// s·(|ȳ_a| + |ȳ_b|)·(|a| + |b|) per (b, t, h, i), a, b where the forward
/// read them, ȳ where it wrote, s the xPos pair scale `pairScale`
/// [B or 1, T, r/2] (1 when undefined).
inline void expectRopeParamGrads(const std::vector<torch::Tensor> &grads,
                                 const torch::Tensor &x,
                                 const torch::Tensor &dy,
                                 const torch::Tensor &pos, int64_t r,
                                 const reference::RopeOptions &o,
                                 const torch::Tensor &pairScale = {}) {
  using torch::Tensor;
  auto [xa, xb] = reference::ropePairElements(f64(x).abs(), r,
                                              reference::ropeReadsPairs(o));
  auto [ga, gb] = reference::ropePairElements(f64(dy).abs(), r,
                                              reference::ropeWritesPairs(o));
  Tensor m = ga + gb;
  if (pairScale.defined())
    m = pairScale.unsqueeze(2) * m;
  m = m * (xa + xb); // [B, T, H, r/2]
  Tensor p = pos.to(torch::kFloat64).abs();
  p = p.view({pos.dim() == 1 ? 1 : pos.size(0), pos.size(-1), 1, 1});
  Tensor mSum = m.sum({0, 1, 2}), mpSum = (m * p).sum({0, 1, 2});
  reference::RopeOptions fo = o;
  fo.phase = fo.scale = Tensor();
  Tensor freq = reference::ropeAngles(torch::ones({1}, torch::kFloat64), r, fo)
                    .detach()
                    .reshape({r / 2})
                    .abs();
  const double sc = o.scale.defined() ? o.scale.item<double>() : 1.0;
  size_t k = 1;
  auto check = [&](const Tensor &grad, const Tensor &bound, const char *what) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(allClose(grads[k++], grad, {}, bound * (32 * kU32)));
  };
  if (o.invFreq.defined())
    check(o.invFreq.grad(), mpSum * sc, "inv_freq");
  if (o.phase.defined())
    check(o.phase.grad(), mSum, "phase");
  if (o.scale.defined())
    check(o.scale.grad(), (mpSum * freq).sum(), "scale");
  if (o.runtimeBase.defined()) {
    Tensor i = torch::arange(r / 2, torch::kFloat64);
    check(o.runtimeBase.grad(),
          (mpSum * sc * (2.0 * i / r) * freq).sum() /
              o.runtimeBase.item<double>(),
          "base");
  }
}

/// Random positions in [0, 100).
inline torch::Tensor positions(std::vector<int64_t> shape,
                               torch::ScalarType type = torch::kInt64) {
  return torch::randint(0, 100, shape, torch::TensorOptions().dtype(type));
}

} // namespace rotary::e2e

#endif // ROTARY_TEST_E2E_E2EHELPERS_H
