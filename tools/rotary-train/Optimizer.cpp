//===- Optimizer.cpp - rotary-train's optimizers and schedule -------------===//

#include "Optimizer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

using namespace rotary;
using namespace rotary::train;

Optimizer::Optimizer(const Args &a, torch::nn::Module &model)
    : schedule(nn::FAMOptions(a.lr)
                   .warmup_steps(a.warmup)
                   .warmup_start_lr(a.lr / 10)
                   .decay_start_step(a.decayStart)
                   .total_steps(a.steps)
                   .eta_min(a.minLr)),
      params(model.parameters()), clip(a.clip), fam(a.opt == "fam") {
  if (fam) {
    nn::FAMOptions o = schedule;
    o.weight_decay(a.weightDecay)
        .fam_start_step(std::min<int64_t>(100, a.steps / 4))
        .seed(a.seed)
        .debug_path(a.famDebug)
        .debug_every(a.logEvery)
        .reference(a.reference);
    optimizer = std::make_unique<nn::FAM>(model.named_parameters().pairs(), o);
  } else if (a.opt == "adam") {
    optimizer = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(a.lr).weight_decay(a.weightDecay));
  } else {
    optimizer = std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(a.lr).weight_decay(a.weightDecay));
  }
}

double Optimizer::lr(int64_t step) const {
  return nn::scheduledLr(schedule, step - 1, schedule.lr());
}

void Optimizer::step(int64_t step) {
  if (clip > 0)
    torch::nn::utils::clip_grad_norm_(params, clip);
  // FAM schedules itself from its step count (the same schedule); LibTorch's
  // optimizers get the rate set on every group.
  if (!fam)
    for (torch::optim::OptimizerParamGroup &g : optimizer->param_groups())
      g.options().set_lr(lr(step));
  optimizer->step();
}

void Optimizer::save(torch::serialize::OutputArchive &archive) const {
  optimizer->save(archive);
}

void Optimizer::load(torch::serialize::InputArchive &archive) {
  optimizer->load(archive);
}
