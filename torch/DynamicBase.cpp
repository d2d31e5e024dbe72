//===- DynamicBase.cpp - the RoPE base scheduled from the loss ------------===//

#include "rotary/Torch/DynamicBase.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

using namespace rotary::nn;

DynamicBase::DynamicBase(std::vector<Rope> ropes, DynamicBaseOptions options)
    : ropes_(std::move(ropes)), options_(std::move(options)) {
  const DynamicBaseOptions &o = options_;
  TORCH_CHECK(!ropes_.empty(), "rotary::nn::DynamicBase: no Rope modules");
  TORCH_CHECK(o.min_base() > 0 && o.min_base() <= o.max_base() &&
                  std::isfinite(o.max_base()),
              "rotary::nn::DynamicBase: need 0 < min_base <= max_base < inf, "
              "got [",
              o.min_base(), ", ", o.max_base(), "]");
  TORCH_CHECK(o.factor() > 0 && o.factor() != 1 && std::isfinite(o.factor()),
              "rotary::nn::DynamicBase: factor must be positive and not 1, "
              "got ",
              o.factor());
  TORCH_CHECK(o.patience() >= 1 && o.cooldown() >= 0,
              "rotary::nn::DynamicBase: patience must be >= 1 and cooldown "
              ">= 0");
  TORCH_CHECK(o.smoothing() >= 0 && o.smoothing() < 1,
              "rotary::nn::DynamicBase: smoothing must be in [0, 1), got ",
              o.smoothing());
  base_ = std::clamp(ropes_.front()->base(), o.min_base(), o.max_base());
  apply();
}

void DynamicBase::apply() {
  for (Rope &r : ropes_)
    r->set_base(base_);
}

double DynamicBase::step(double loss) {
  TORCH_CHECK(std::isfinite(loss), "rotary::nn::DynamicBase: the loss is ",
              loss, "; the base is left at ", base_);
  const DynamicBaseOptions &o = options_;
  smoothed_ =
      steps_ == 0 ? loss : o.smoothing() * smoothed_ + (1 - o.smoothing()) * loss;
  ++steps_;
  if (steps_ == 1 || smoothed_ < best_ - o.threshold() * std::abs(best_)) {
    best_ = smoothed_;
    badSteps_ = 0;
  } else {
    ++badSteps_;
  }
  if (cooldownLeft_ > 0) {
    --cooldownLeft_;
    badSteps_ = 0;
    return base_;
  }
  if (badSteps_ >= o.patience()) {
    double next = std::clamp(base_ * o.factor(), o.min_base(), o.max_base());
    badSteps_ = 0;
    if (next != base_) {
      base_ = next;
      cooldownLeft_ = o.cooldown();
      // A new base changes the loss landscape: measure improvement anew.
      best_ = smoothed_;
      apply();
    }
  }
  return base_;
}

void DynamicBase::save(torch::serialize::OutputArchive &archive) const {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  archive.write("dynamic_base/state",
                torch::tensor({base_, smoothed_, best_, double(steps_),
                               double(badSteps_), double(cooldownLeft_)},
                              f64));
}

void DynamicBase::load(torch::serialize::InputArchive &archive) {
  torch::Tensor s;
  archive.read("dynamic_base/state", s);
  TORCH_CHECK(s.dim() == 1 && s.size(0) == 6,
              "rotary::nn::DynamicBase: the archive's state has shape ",
              s.sizes(), ", expected [6]");
  auto v = s.to(torch::kFloat64).contiguous();
  const double *d = v.data_ptr<double>();
  base_ = std::clamp(d[0], options_.min_base(), options_.max_base());
  smoothed_ = d[1];
  best_ = d[2];
  steps_ = int64_t(d[3]);
  badSteps_ = int64_t(d[4]);
  cooldownLeft_ = int64_t(d[5]);
  apply();
}
