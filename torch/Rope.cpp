//===- Rope.cpp - rotary position embedding as a LibTorch module ----------===//

#include "rotary/Torch/Rope.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/torch.h>

#include <cmath>

using namespace rotary;
using namespace rotary::nn;

namespace {
/// f_i = base_k^(-2i/r) in f64: the kernels compute a base given as a
/// number in f64 (decision 0013), so the reference path does too.
torch::Tensor frequencies64(int64_t r, double base,
                            const std::vector<double> &scales) {
  TORCH_CHECK(base > 0 && std::isfinite(base),
              "rotary::nn::Rope: base must be positive and finite, got ", base);
  int64_t half = r / 2, groups = scales.empty() ? 1 : int64_t(scales.size());
  TORCH_CHECK(half % groups == 0, "rotary::nn::Rope: the ", groups,
              " scales must divide rotary_dim/2 = ", half);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor bases = torch::full({half}, base, f64);
  for (int64_t k = 0; k < int64_t(scales.size()); ++k) {
    TORCH_CHECK(scales[k] > 0 && std::isfinite(scales[k]),
                "rotary::nn::Rope: scales must be positive and finite, got ",
                scales[k]);
    bases.narrow(0, k * (half / groups), half / groups).mul_(scales[k]);
  }
  return torch::pow(bases, -torch::arange(0, r, 2, f64) / double(r));
}
} // namespace

torch::Tensor nn::ropeFrequencies(int64_t r, double base,
                                  const std::vector<double> &scales) {
  return frequencies64(r, base, scales).to(torch::kFloat32);
}

torch::Tensor nn::ropeAngles(const torch::Tensor &positions,
                             const torch::Tensor &invFreq,
                             const torch::Tensor &phase,
                             const torch::Tensor &scale) {
  // f64 like the CPU kernels (decision 0013): at position 1e6 an f32 angle
  // is already 0.06 rad off.
  torch::Tensor p = positions.to(torch::kFloat64);
  if (positions.dim() == 1)
    p = p.unsqueeze(0);
  if (scale.defined())
    p = p * scale.to(torch::kFloat64);
  torch::Tensor theta =
      p.unsqueeze(-1) * invFreq.to(p.device(), torch::kFloat64);
  if (phase.defined())
    theta = theta + phase.to(torch::kFloat64);
  return theta;
}

torch::Tensor nn::xposScale(const torch::Tensor &positions, int64_t r,
                            double scaleBase, double gamma, double sign) {
  auto f64 =
      torch::TensorOptions().dtype(torch::kFloat64).device(positions.device());
  torch::Tensor zeta =
      (torch::arange(0, r / 2, f64) / double(r / 2) + gamma) / (1 + gamma);
  torch::Tensor n = positions.to(torch::kFloat64);
  if (positions.dim() == 1)
    n = n.unsqueeze(0);
  return torch::pow(zeta, (sign / scaleBase) * n.unsqueeze(-1));
}

RopeImpl::RopeImpl(RopeOptions options) : options(std::move(options)) {
  reset();
}

int64_t RopeImpl::rotaryDim() const {
  return options.rotary_dim() < 0 ? options.head_dim() : options.rotary_dim();
}

torch::Tensor RopeImpl::frequenciesFromBase() const {
  return ropeFrequencies(rotaryDim(), options.base(), options.scales());
}

void RopeImpl::reset() {
  int64_t D = options.head_dim(), r = rotaryDim();
  TORCH_CHECK(D > 0, "rotary::nn::Rope: head_dim must be positive, got ", D);
  TORCH_CHECK(r > 0 && r % 2 == 0 && r <= D,
              "rotary::nn::Rope: rotary_dim must be even and in (0, head_dim "
              "= ",
              D, "], got ", r);
  // The kernels take both as f32 attributes: check them as f32.
  float scaleBase = float(options.xpos_scale_base());
  float gamma = float(options.xpos_gamma());
  TORCH_CHECK(std::isfinite(scaleBase) && scaleBase >= 0 &&
                  (scaleBase > 0) == (options.xpos_scale_base() > 0),
              "rotary::nn::Rope: xpos_scale_base must be 0 (xPos off) or "
              "positive and finite in f32, got ",
              options.xpos_scale_base());
  TORCH_CHECK(std::isfinite(gamma) && gamma > 0,
              "rotary::nn::Rope: xpos_gamma must be positive and finite in "
              "f32, got ",
              options.xpos_gamma());
  kernels_.clear();
  inv_freq = phase = scale = torch::Tensor();
  if (options.learnable_freq())
    inv_freq = register_parameter("inv_freq", frequenciesFromBase());
  else if (!options.scales().empty())
    inv_freq = register_buffer("inv_freq", frequenciesFromBase());
  else
    frequenciesFromBase(); // checks the base
  if (options.learnable_phase())
    phase = register_parameter("phase", torch::zeros({r / 2}));
  if (options.learnable_scale())
    scale = register_parameter("scale", torch::ones({}));
}

void RopeImpl::set_base(double base) {
  TORCH_CHECK(!options.learnable_freq(),
              "rotary::nn::Rope: set_base with learnable frequencies (the "
              "base only initialised them)");
  TORCH_CHECK(base > 0 && std::isfinite(base),
              "rotary::nn::Rope: base must be positive and finite, got ", base);
  options.base(base);
  // Multi-scale sets are a buffer: refresh it in place (no recompile).
  if (inv_freq.defined()) {
    torch::NoGradGuard noGrad;
    inv_freq.copy_(frequenciesFromBase());
  }
}

std::shared_ptr<runtime::Bundle>
RopeImpl::kernel(const torch::Tensor &x, const torch::Tensor &positions,
                 Role role) {
  bundle::DType dtype = dataDType("Rope", "x", x);
  int64_t key = (int64_t(dtype) * 4 + positions.dim()) * 3 + int64_t(role);
  return kernels_.get(key, x.device(), [&] {
    model::RopeKernel k;
    k.headDim = options.head_dim();
    k.rotaryDim = options.rotary_dim() < 0 ? -1 : options.rotary_dim();
    k.layout = options.layout() == RopeLayout::Half
                   ? model::RopeKernel::Layout::Half
               : options.layout() == RopeLayout::Interleaved
                   ? model::RopeKernel::Layout::Interleaved
                   : model::RopeKernel::Layout::Deinterleave;
    k.dtype = dtype;
    k.positionsRank = positions.dim();
    k.invFreq = inv_freq.defined();
    k.phase = phase.defined();
    k.scale = scale.defined();
    k.xpos = role == Role::Query ? model::RopeKernel::XPos::Query
             : role == Role::Key ? model::RopeKernel::XPos::Key
                                 : model::RopeKernel::XPos::None;
    k.xposScaleBase = options.xpos_scale_base();
    k.xposGamma = options.xpos_gamma();
    return k;
  });
}

void RopeImpl::checkInputs(const char *arg, const torch::Tensor &x,
                           const torch::Tensor &positions) const {
  int64_t D = options.head_dim();
  dataDType("Rope", arg, x);
  checkTensor("Rope", arg, x, {"B", "T", "H", "D"}, {-1, -1, -1, D});
  TORCH_CHECK(positions.defined() && positions.scalar_type() == torch::kInt64,
              "rotary::nn::Rope: positions must be int64, got ",
              positions.defined() ? c10::toString(positions.scalar_type())
                                  : "an undefined tensor");
  if (positions.dim() == 1)
    checkTensor("Rope", "positions", positions, {"T"}, {x.size(1)});
  else
    checkTensor("Rope", "positions", positions, {"B", "T"},
                {x.size(0), x.size(1)});
}

torch::Tensor RopeImpl::forward(const torch::Tensor &x,
                                const torch::Tensor &positions) {
  TORCH_CHECK(!xpos(),
              "rotary::nn::Rope: with xPos (xpos_scale_base > 0) queries and "
              "keys are scaled differently; call forward_qk(q, k, positions) "
              "instead of forward(x, positions)");
  checkInputs("x", x, positions);
  return apply(x, positions, Role::Plain);
}

std::tuple<torch::Tensor, torch::Tensor>
RopeImpl::forward_qk(const torch::Tensor &q, const torch::Tensor &k,
                     const torch::Tensor &positions) {
  checkInputs("q", q, positions);
  // k may have other heads (grouped-query attention), not other B or T.
  dataDType("Rope", "k", k);
  checkTensor("Rope", "k", k, {"B", "T", "H", "D"},
              {q.size(0), q.size(1), -1, options.head_dim()});
  bool on = xpos();
  torch::Tensor yq = apply(q, positions, on ? Role::Query : Role::Plain);
  torch::Tensor yk = apply(k, positions, on ? Role::Key : Role::Plain);
  return {yq, yk};
}

torch::Tensor RopeImpl::apply(const torch::Tensor &x,
                              const torch::Tensor &positions, Role role) {
  if (options.reference())
    return referenceForward(x, positions, role);

  std::vector<at::Tensor> inputs = {
      x, positions,
      inv_freq.defined()
          ? inv_freq
          : torch::full({}, options.base(),
                        torch::dtype(torch::kFloat32).device(x.device()))};
  if (phase.defined())
    inputs.push_back(phase);
  if (scale.defined())
    inputs.push_back(scale);
  return nn::apply(kernel(x, positions, role), "rope", inputs)[0];
}

torch::Tensor RopeImpl::forward(const torch::Tensor &x, int64_t offset) {
  TORCH_CHECK(x.defined() && x.dim() == 4,
              "rotary::nn::Rope: x must be [B, T, H, D], got ",
              x.defined() ? shapeString(x) : "an undefined tensor");
  return forward(x,
                 torch::arange(offset, offset + x.size(1),
                               torch::dtype(torch::kInt64).device(x.device())));
}

torch::Tensor RopeImpl::referenceForward(const torch::Tensor &x,
                                         const torch::Tensor &positions,
                                         Role role) const {
  int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  int64_t r = rotaryDim(), half = r / 2;
  // Learnable or multi-scale frequencies are f32 tensors the kernel reads;
  // a plain base it takes as an f32 scalar and turns into f64 frequencies.
  torch::Tensor f =
      inv_freq.defined()
          ? inv_freq
          : frequencies64(r, double(float(options.base())), options.scales());
  torch::Tensor theta = ropeAngles(positions, f, phase, scale).unsqueeze(2);
  torch::Tensor c = torch::cos(theta), s = torch::sin(theta);
  if (role != Role::Plain) {
    // xPos: the pair's scale commutes with its rotation; fold it into the
    // table like the kernels do.
    torch::Tensor zeta =
        xposScale(positions, r, options.xpos_scale_base(), options.xpos_gamma(),
                  role == Role::Query ? 1.0 : -1.0)
            .unsqueeze(2);
    c = c * zeta;
    s = s * zeta;
  }
  c = c.to(torch::kFloat32);
  s = s.to(torch::kFloat32);

  torch::Tensor xf = x.to(torch::kFloat32);
  torch::Tensor rotated = xf.narrow(-1, 0, r);
  bool readPairs = options.layout() != RopeLayout::Half;
  bool writePairs = options.layout() == RopeLayout::Interleaved;
  torch::Tensor a, b;
  if (readPairs) {
    torch::Tensor pairs = rotated.reshape({B, T, H, half, 2});
    a = pairs.select(-1, 0);
    b = pairs.select(-1, 1);
  } else {
    a = rotated.narrow(-1, 0, half);
    b = rotated.narrow(-1, half, half);
  }
  torch::Tensor ya = a * c - b * s, yb = a * s + b * c;
  torch::Tensor y = writePairs
                        ? torch::stack({ya, yb}, -1).reshape({B, T, H, r})
                        : torch::cat({ya, yb}, -1);
  return torch::cat({y, xf.narrow(-1, r, D - r)}, -1).to(x.scalar_type());
}
