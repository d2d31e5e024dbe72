//===- Fam.h - the frequency-adaptive momentum optimizer --------*- C++ -*-===//
//
// FAM (docs/Math.md §7) as a torch::optim::Optimizer: per parameter tensor, the
// spectrum of a gradient sample is split into bands whose EMAs set an
// effective momentum α' by the rule of the tensor's handler; the update
// m ← α'm + (1−α')(g + wd·p), p ← p − lr·m runs for all parameters of a
// group in one launch of the compiled multi-tensor kernel, in place. The
// band energies and α' are small compiled kernels too (the FFT is
// LibTorch's). `reference(true)` does all of it with LibTorch ops.
// Parameters are grouped by name (conv, attention, embedding, norm,
// other), the learning rate follows warmup + constant + cosine, and a
// JSON-lines record of the bands and α' can be written every k steps.
// State saves and loads with torch::save / torch::load.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_FAM_H
#define ROTARY_TORCH_FAM_H

#include "rotary/Torch/Kernel.h"

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rotary::nn {

/// How α' follows the band EMAs (docs/Math.md §7 step 3).
enum class FamHandler { Default, Conv, Attention, Embedding };
/// How the spectrum is split into bands (docs/Math.md §7 step 2).
enum class FamBandLayout { Linear, Log, Split };

struct FAMOptions : public torch::optim::OptimizerCloneableOptions<FAMOptions> {
  FAMOptions(double lr = 1e-3);
  /// Peak learning rate (the scheduler's `lr`); a group's rate is the
  /// schedule times its `lr_scale`.
  TORCH_ARG(double, lr) = 1e-3;
  /// Base momentum α.
  TORCH_ARG(double, alpha) = 0.9;
  /// EMA weight β of the band energies.
  TORCH_ARG(double, beta) = 0.99;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(int64_t, n_bands) = 8;
  TORCH_ARG(FamHandler, handler) = FamHandler::Default;
  TORCH_ARG(FamBandLayout, band_layout) = FamBandLayout::Linear;
  TORCH_ARG(double, lr_scale) = 1;
  /// The group's name ("conv", "attention", "embedding", "norm", "other").
  TORCH_ARG(std::string, group) = "other";

  // Optimizer-wide settings, read from the defaults.
  /// α' adapts only when step > fam_start_step and numel > min_size.
  TORCH_ARG(int64_t, fam_start_step) = 100;
  TORCH_ARG(int64_t, min_size) = 256;
  /// Seed of the gradient samples (with the step and the parameter index).
  TORCH_ARG(int64_t, seed) = 0;
  /// Scheduler, per step s = 0, 1, ...: s < warmup_steps: warmup_start_lr +
  /// (lr − warmup_start_lr)·s/warmup_steps; then lr until decay_start_step;
  /// then cosine to eta_min at total_steps. decay_start_step < 0 or
  /// total_steps <= decay_start_step: no decay.
  TORCH_ARG(int64_t, warmup_steps) = 0;
  TORCH_ARG(double, warmup_start_lr) = 0;
  TORCH_ARG(int64_t, decay_start_step) = -1;
  TORCH_ARG(int64_t, total_steps) = 0;
  TORCH_ARG(double, eta_min) = 0;
  /// JSON lines (appended) every `debug_every` steps; "" = none.
  TORCH_ARG(std::string, debug_path) = "";
  TORCH_ARG(int64_t, debug_every) = 100;
  /// Plain LibTorch ops instead of the compiled kernels.
  TORCH_ARG(bool, reference) = false;

public:
  void serialize(torch::serialize::InputArchive &archive) override;
  void serialize(torch::serialize::OutputArchive &archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct FAMParamState
    : public torch::optim::OptimizerCloneableParamState<FAMParamState> {
  TORCH_ARG(int64_t, step) = 0;
  /// m, f32, the parameter's shape.
  TORCH_ARG(torch::Tensor, momentum);
  /// Band EMAs e [n], f32; undefined until the first spectrum.
  TORCH_ARG(torch::Tensor, ema);
  /// α' of the last step.
  TORCH_ARG(double, alpha_eff) = 0;

public:
  void serialize(torch::serialize::InputArchive &archive) override;
  void serialize(torch::serialize::OutputArchive &archive) const override;
};

/// The learning rate at step `s` (0-based) of FAM's schedule, which
/// rotary-train also gives Adam and AdamW: linear warmup from
/// `o.warmup_start_lr()` to `peak` over `o.warmup_steps()`, `peak` until
/// `o.decay_start_step()` (< 0: forever), then a half cosine down to
/// `o.eta_min()` at `o.total_steps()`.
double scheduledLr(const FAMOptions &o, int64_t s, double peak);

class FAM : public torch::optim::Optimizer {
public:
  /// Groups `named` parameters by name, first match wins (case-insensitive
  /// substrings): conv/cnn → conv (α 0.9, 10 bands, log layout, conv
  /// handler); attention/mha/self_attn → attention (α 0.92, 12 bands,
  /// split, attention handler); embed/token → embedding (α 0.95, 8 bands,
  /// linear, embedding handler, lr×0.8, wd×1.5); norm/batch/layer → norm
  /// (α 0.9, 4 bands, wd 0); else other (α 0.9, 8 bands). Empty groups are
  /// left out; `defaults` supplies lr, β, eps, wd and the optimizer-wide
  /// settings.
  FAM(const std::vector<std::pair<std::string, torch::Tensor>> &named,
      FAMOptions defaults = {});
  /// One group with `defaults` as they are.
  FAM(std::vector<torch::Tensor> params, FAMOptions defaults = {});

  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive &archive) const override;
  void load(torch::serialize::InputArchive &archive) override;

  /// Steps taken so far.
  int64_t step_count() const { return step_; }
  /// Sets the step count (restoring it from elsewhere, as the Python
  /// optimizer's load_state_dict does); it seeds the gradient samples and
  /// places the schedule.
  void set_step_count(int64_t n) {
    TORCH_CHECK_VALUE(n >= 0,
                      "rotary::nn::FAM: the step count must be >= 0, "
                      "got ",
                      n);
    step_ = n;
  }
  /// The warmup + cosine schedule at step s (0-based) for the peak rate
  /// `peak` (the defaults' lr when not given). A group's peak is its own
  /// `lr` option, so `set_lr` (e.g. from a LibTorch LR scheduler, with the
  /// built-in warmup and decay off) takes effect at the next step.
  double scheduled_lr(int64_t s) const;
  double scheduled_lr(int64_t s, double peak) const;
  /// The learning rate of group `g` at the last step: the schedule for the
  /// group's lr (as it is now), times its lr_scale.
  double current_lr(size_t g) const;
  /// The state of parameter `p`, or null before its first step.
  FAMParamState *find_state(const torch::Tensor &p);
  /// Replaces the state of parameter `p` (restoring it from elsewhere, as
  /// the Python optimizer's load_state_dict does).
  void set_state(const torch::Tensor &p, std::unique_ptr<FAMParamState> state);
  /// The names of group g's parameters, in order.
  const std::vector<std::string> &parameter_names(size_t g) const {
    return names_.at(g);
  }

private:
  FAMOptions &groupOptions(size_t g);
  /// The name of parameter k of group g ("group<g>.param<k>" in a group
  /// added by add_param_group, which the constructors did not name).
  std::string parameterName(size_t g, size_t k) const;
  const FAMOptions &globals() const;
  FAMParamState &stateOf(const torch::Tensor &p);
  /// Checks every parameter that has a gradient (and its state) before
  /// anything is updated: a bad one leaves the optimizer as it was.
  void checkParameters();
  double effectiveMomentum(const FAMOptions &o, FAMParamState &st,
                           const torch::Tensor &p, const torch::Tensor &g,
                           int64_t index);
  void update(size_t g, const std::vector<torch::Tensor> &params,
              const std::vector<torch::Tensor> &grads,
              const std::vector<double> &alphas, double lr);
  void writeDebug(size_t g);

  int64_t step_ = 0;
  std::vector<std::vector<std::string>> names_;
  /// Keyed by the configuration: building IR text costs an MLIR context,
  /// which a step must not pay per tensor.
  KernelSet<std::string> kernels_;
};

/// The gradient sample of docs/Math.md §7 step 2 from the (decayed) gradient g:
/// numel ≤ 10000: all of g; rank ≥ 2: up to 64 random rows × 64 random
/// columns of the first two dimensions; rank 1: 1000 random elements. The
/// indices come from a generator seeded with `seed`. Flattened, f32.
torch::Tensor famSample(const torch::Tensor &g, uint64_t seed);

/// The seed of parameter `index`'s sample at `step` for the option `seed`.
uint64_t famSampleSeed(int64_t seed, int64_t step, int64_t index);

/// The [begin, end) ranges of the n bands of a spectrum of length L.
std::vector<std::pair<int64_t, int64_t>> famBandRanges(int64_t L, int64_t n,
                                                       FamBandLayout layout);

} // namespace rotary::nn

#endif // ROTARY_TORCH_FAM_H
