//===- DynamicBase.h - the RoPE base scheduled from the loss ----*- C++ -*-===//
//
// Adjusts the base of Rope modules from the training loss, like a
// learning-rate scheduler on a plateau (Math §9): the loss is smoothed by an
// EMA; when it has not improved on its best by a relative `threshold` for
// `patience` steps, the base is multiplied by `factor` and clamped to
// [min_base, max_base], then `cooldown` steps pass before the next change.
// Every change reaches the modules through Rope::set_base, which needs no
// recompile. State saves and loads with LibTorch's archives.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_DYNAMICBASE_H
#define ROTARY_TORCH_DYNAMICBASE_H

#include "rotary/Torch/Rope.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <string>
#include <vector>

namespace rotary::nn {

struct DynamicBaseOptions {
  TORCH_ARG(double, min_base) = 500.0;
  TORCH_ARG(double, max_base) = 1.0e6;
  /// > 0, != 1: > 1 grows the base (longer wavelengths) on a plateau.
  TORCH_ARG(double, factor) = 2.0;
  /// Steps without improvement before a change.
  TORCH_ARG(int64_t, patience) = 50;
  /// Relative improvement of the smoothed loss that counts.
  TORCH_ARG(double, threshold) = 1e-3;
  /// Steps after a change during which the base stays.
  TORCH_ARG(int64_t, cooldown) = 20;
  /// EMA weight of the past in the smoothed loss (0: the raw loss).
  TORCH_ARG(double, smoothing) = 0.9;
};

class DynamicBase {
public:
  /// Schedules the base of `ropes` (all start from the first one's base,
  /// clamped to the range).
  DynamicBase(std::vector<Rope> ropes, DynamicBaseOptions options = {});

  /// Takes this step's training loss (finite); returns the base in use for
  /// the next step.
  double step(double loss);

  double base() const { return base_; }
  double smoothed_loss() const { return smoothed_; }
  int64_t steps() const { return steps_; }
  const DynamicBaseOptions &options() const { return options_; }

  void save(torch::serialize::OutputArchive &archive) const;
  /// Restores the state and pushes the restored base to the modules.
  void load(torch::serialize::InputArchive &archive);

private:
  void apply();

  std::vector<Rope> ropes_;
  DynamicBaseOptions options_;
  double base_;
  double smoothed_ = 0, best_ = 0;
  int64_t steps_ = 0, badSteps_ = 0, cooldownLeft_ = 0;
};

} // namespace rotary::nn

#endif // ROTARY_TORCH_DYNAMICBASE_H
