//===- Optimizer.h - rotary-train's optimizers and schedule -----*- C++ -*-===//
//
// --opt fam | adam | adamw behind one interface: every optimizer follows
// the same warmup + cosine schedule (nn::scheduledLr, FAM's own), clips the
// gradients' global norm when --clip is given, and saves its state into the
// checkpoint.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_OPTIMIZER_H
#define ROTARY_TRAIN_OPTIMIZER_H

#include "Options.h"

#include "rotary/Torch/Fam.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>

namespace rotary::train {

class Optimizer {
public:
  Optimizer(const Args &a, torch::nn::Module &model);

  void zeroGrad() { optimizer->zero_grad(); }
  /// Clips (--clip) and takes step `step` (1-based) at its scheduled rate.
  void step(int64_t step);
  /// The rate step `step` (1-based) takes.
  double lr(int64_t step) const;

  void save(torch::serialize::OutputArchive &archive) const;
  void load(torch::serialize::InputArchive &archive);

private:
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  nn::FAMOptions schedule;
  std::vector<torch::Tensor> params;
  double clip;
  bool fam;
};

} // namespace rotary::train

#endif // ROTARY_TRAIN_OPTIMIZER_H
