//===- GradRopeChainTest.cpp - references the e2e gradients trust ---------===//
//
// Finite-difference checks of the forms the compiled gradients are tested
// against (test/e2e/GradRopeChainTest.cpp) that the tests of each op leave
// out: rope, givens, orthogonal, the orthogonality penalty and
// quaternion_rotate.
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <vector>

namespace ref = rotary::reference;
using ref::Pair;
using torch::Tensor;
using namespace rotary::reftest;

TEST_F(Ref, RopeGivensOrthogonalQuaternionGradientsByFiniteDifferences) {
  const int64_t B = 2, T = 3, H = 2, D = 8;
  Tensor pos = torch::randint(0, 50, {B, T}, f64);
  // rope: interleaved and deinterleave, inverse, every parameter at once
  // (inv_freq excludes the base operand, so two sets).
  for (auto layout :
       {ref::RopeLayout::Interleaved, ref::RopeLayout::Deinterleave}) {
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.inverse = true;
          o.invFreq = in[1];
          o.phase = in[2];
          o.scale = in[3];
          return ref::rope(in[0], pos, o);
        },
        {rnd({B, T, H, D}), uni({D / 2}, 0.01, 1.0), rnd({D / 2}),
         torch::full({}, 1.3, f64)},
        "rope inverse inv_freq phase scale");
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::RopeOptions o;
          o.layout = layout;
          o.rotaryDim = 4;
          o.scale = in[1];
          o.runtimeBase = in[2];
          return ref::rope(in[0], pos.select(0, 0), o);
        },
        {rnd({B, T, H, D - 1}), torch::full({}, 0.8, f64),
         torch::full({}, 50.0, f64)},
        "rope partial odd D, positions [T], scale and base");
  }
  // givens: explicit (reversed, repeated) pairs, inverse, shared and per
  // head.
  const std::vector<Pair> pairs = {{0, 4}, {3, 1}, {0, 4}, {2, 3}};
  for (bool perHead : {false, true})
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::GivensOptions o;
          o.pairs = pairs;
          o.inverse = true;
          return ref::givens(in[0], in[1], o);
        },
        {rnd({3, 2, 5}),
         perHead ? uni({2, 4}, -kPi, kPi) : uni({4}, -kPi, kPi)},
        perHead ? "givens inverse pairs per head" : "givens inverse pairs");
  // orthogonal: rectangular, shared, both orientations.
  for (bool transpose : {false, true})
    checkGradients(
        [&](const std::vector<Tensor> &in) {
          ref::OrthogonalOptions o;
          o.transpose = transpose;
          return ref::orthogonal(in[0], in[1], o);
        },
        {rnd({4, 5}), transpose ? rnd({3, 5}) : rnd({5, 3})},
        transpose ? "orthogonal transposed" : "orthogonal");
  // orthogonality penalty: shared and per head, rectangular.
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::orthogonalityPenalty(in[0]);
      },
      {rnd({5, 3})}, "orthogonality penalty");
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::orthogonalityPenalty(in[0]);
      },
      {rnd({2, 3, 4})}, "orthogonality penalty per head");
  // quaternion: shared axis and angle, per-vector axis with a shared angle.
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({4, 2, 3}), rnd({3}), torch::full({}, 0.9, f64)},
      "quaternion shared axis and angle");
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({5, 3}), rnd({5, 3}), torch::full({}, -2.1, f64)},
      "quaternion per-vector axis");
}
