//===- E2EHelpers.h - what several forward e2e tests share ------*- C++ -*-===//
//
// The IR name of an element type, rope's option set and the source of its
// entry (the rope tests, and the run-time checks that run a rope kernel), and
// random positions (rope kernels and rotation blocks).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_E2E_E2EHELPERS_H
#define ROTARY_TEST_E2E_E2EHELPERS_H

#include "Harness.h"
#include "OpCases.h"
#include "Reference.h"

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
};

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

/// func.func @entry(%x, %pos, ...) holding one rotary.rope of config `c`.
inline std::string ropeSource(const RopeConfig &c) {
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
  op += attrDict(ropeAttributes(c)) + " : " + xT + ", " + pT;
  return entrySource(args, {xT}, op, {"%y"});
}

/// Random positions in [0, 100).
inline torch::Tensor positions(std::vector<int64_t> shape,
                               torch::ScalarType type = torch::kInt64) {
  return torch::randint(0, 100, shape, torch::TensorOptions().dtype(type));
}

} // namespace rotary::e2e

#endif // ROTARY_TEST_E2E_E2EHELPERS_H
