//===- DynamicBaseTest.cpp - the RoPE base scheduler ----------------------===//

#include "rotary/Torch/DynamicBase.h"

#include "TestUtil.h"

#include <sstream>

using namespace rotary;
using rotary::test::errorOf;

namespace {
nn::DynamicBaseOptions quick() {
  return nn::DynamicBaseOptions()
      .min_base(1000)
      .max_base(9000)
      .factor(2)
      .patience(3)
      .cooldown(2)
      .smoothing(0);
}

TEST(NnDynamicBase, PlateauGrowsTheBaseWithinBounds) {
  nn::Rope q(nn::RopeOptions(8)), k(nn::RopeOptions(8));
  nn::DynamicBase sched({q, k}, quick());
  EXPECT_EQ(sched.base(), 9000); // 10000 clamped to the range
  // An improving loss never changes the base.
  nn::Rope fresh(nn::RopeOptions(8));
  nn::DynamicBase improving({fresh}, quick().max_base(1e6));
  for (int s = 0; s < 20; ++s)
    EXPECT_EQ(improving.step(10.0 - s), 10000);
  // A flat loss: a change after `patience` bad steps, then a cooldown.
  nn::Rope r(nn::RopeOptions(8).base(1000));
  nn::DynamicBase flat({r}, quick());
  std::vector<double> bases;
  for (int s = 0; s < 12; ++s)
    bases.push_back(flat.step(1.0));
  // step 1 sets the best; steps 2-4 are bad -> 2000 at step 4; cooldown 5-6;
  // bad again 7-9 -> 4000; cooldown 10-11; 12 bad.
  std::vector<double> expected = {1000, 1000, 1000, 2000, 2000, 2000,
                                  2000, 2000, 4000, 4000, 4000, 4000};
  EXPECT_EQ(bases, expected);
  EXPECT_EQ(r->base(), 4000); // pushed to the module
  for (int s = 0; s < 30; ++s)
    flat.step(1.0);
  EXPECT_EQ(flat.base(), 9000); // clamped at max_base
}

TEST(NnDynamicBase, SaveLoadContinuesTheSameTrajectory) {
  auto lossAt = [](int s) { return 1.0 + 0.5 * std::sin(0.3 * s); };
  nn::Rope a(nn::RopeOptions(4).base(1000));
  nn::DynamicBase first({a}, quick().smoothing(0.5));
  for (int s = 0; s < 17; ++s)
    first.step(lossAt(s));
  torch::serialize::OutputArchive out;
  first.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);

  nn::Rope b(nn::RopeOptions(4).base(1000));
  nn::DynamicBase second({b}, quick().smoothing(0.5));
  torch::serialize::InputArchive in;
  std::istringstream is(bytes.str());
  in.load_from(is);
  second.load(in);
  EXPECT_EQ(b->base(), first.base());
  for (int s = 17; s < 60; ++s)
    EXPECT_EQ(first.step(lossAt(s)), second.step(lossAt(s))) << s;
  EXPECT_EQ(first.smoothed_loss(), second.smoothed_loss());
}

TEST(NnDynamicBase, BadInput) {
  nn::Rope r(nn::RopeOptions(4));
  EXPECT_NE(errorOf([&] { nn::DynamicBase({r}, quick().factor(1)); })
                .find("factor must be positive and not 1"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { nn::DynamicBase({r}, quick().min_base(10).max_base(5)); })
                .find("need 0 < min_base <= max_base"),
            std::string::npos);
  nn::DynamicBase s({r}, quick());
  EXPECT_NE(errorOf([&] { s.step(std::nan("")); }).find("the loss is nan"),
            std::string::npos);
  nn::Rope learned(nn::RopeOptions(4).learnable_freq(true));
  EXPECT_NE(errorOf([&] { nn::DynamicBase({learned}, quick()); })
                .find("set_base with learnable frequencies"),
            std::string::npos);
}
} // namespace
