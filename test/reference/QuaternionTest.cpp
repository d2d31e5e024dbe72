//===- QuaternionTest.cpp - the quaternion_rotate reference ---------------===//
//
// quaternion_rotate against 2π, norms, a hand case, Rodrigues' formula per
// vector, added angles, a zero axis and finite differences (docs/Math.md
// §8).
//
//===----------------------------------------------------------------------===//

#include "RefHarness.h"
#include "Reference.h"

#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::reftest;

//===----------------------------------------------------------------------===//
// §8 quaternion_rotate
//===----------------------------------------------------------------------===//

TEST_F(Ref, QuaternionRotate) {
  Tensor x = rnd({4, 5, 3});
  Tensor axis = rnd({3});
  // 2π is the identity; any angle keeps norms.
  EXPECT_CLOSE(ref::quaternionRotate(x, axis, torch::full({}, 2 * kPi, f64)), x,
               1e-13);
  Tensor theta = uni({4, 5}, -10, 10);
  Tensor y = ref::quaternionRotate(x, axis, theta);
  EXPECT_CLOSE(y.norm(2, {-1}), x.norm(2, {-1}), 1e-13);
  // About z by π/2: e_x -> e_y, e_y -> -e_x.
  Tensor z = torch::tensor({0.0, 0.0, 3.0}, f64); // not unit: normalised
  Tensor e = torch::eye(3, f64);
  Tensor r = ref::quaternionRotate(e, z, torch::full({}, kPi / 2, f64));
  EXPECT_CLOSE(
      r,
      torch::tensor({{0.0, 1.0, 0.0}, {-1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}}, f64),
      1e-15);
  // Rodrigues: x cosθ + (u × x) sinθ + u (u·x)(1 − cosθ), per vector.
  Tensor axes = rnd({4, 5, 3});
  Tensor u = axes / axes.norm(2, {-1}, true);
  Tensor c = theta.cos().unsqueeze(-1), s = theta.sin().unsqueeze(-1);
  Tensor rodrigues =
      x * c + ref::cross3(u, x) * s + u * (u * x).sum(-1, true) * (1 - c);
  EXPECT_CLOSE(ref::quaternionRotate(x, axes, theta), rodrigues, 1e-13);
  // Same axis: angles add.
  Tensor a1 = torch::full({}, 0.4, f64), a2 = torch::full({}, 1.1, f64);
  EXPECT_CLOSE(
      ref::quaternionRotate(ref::quaternionRotate(x, axis, a1), axis, a2),
      ref::quaternionRotate(x, axis, a1 + a2), 1e-13);
  // A zero axis gives u = 0: the identity.
  EXPECT_CLOSE(ref::quaternionRotate(x, torch::zeros({3}, f64), a1), x, 0.0);
  checkGradients(
      [](const std::vector<Tensor> &in) {
        return ref::quaternionRotate(in[0], in[1], in[2]);
      },
      {rnd({3, 3}), rnd({3, 3}), rnd({3})}, "quaternion_rotate");
}
