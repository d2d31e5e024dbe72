//===- Fam.cpp - the frequency-adaptive momentum optimizer ----------------===//

#include "rotary/Torch/Fam.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <type_traits>

using namespace rotary;
using namespace rotary::nn;

//===----------------------------------------------------------------------===//
// Options and state serialization
//===----------------------------------------------------------------------===//

FAMOptions::FAMOptions(double lr) : lr_(lr) {}

void FAMOptions::serialize(torch::serialize::OutputArchive &archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(alpha);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(n_bands);
  archive.write("handler", c10::IValue(int64_t(handler())));
  archive.write("band_layout", c10::IValue(int64_t(band_layout())));
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr_scale);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(group);
}

void FAMOptions::serialize(torch::serialize::InputArchive &archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, alpha);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, n_bands);
  c10::IValue v;
  archive.read("handler", v);
  handler(FamHandler(v.toInt()));
  archive.read("band_layout", v);
  band_layout(FamBandLayout(v.toInt()));
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr_scale);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(std::string, group);
}

void FAMParamState::serialize(torch::serialize::OutputArchive &archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(ema);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(alpha_eff);
}

void FAMParamState::serialize(torch::serialize::InputArchive &archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, momentum);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, ema);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, alpha_eff);
}

//===----------------------------------------------------------------------===//
// Sampling, bands, momentum rules (host side and reference path)
//===----------------------------------------------------------------------===//

uint64_t nn::famSampleSeed(int64_t seed, int64_t step, int64_t index) {
  // splitmix64 of the three: neighbouring steps and parameters get
  // unrelated streams.
  uint64_t z = uint64_t(seed) * 0x9E3779B97F4A7C15ull ^
               uint64_t(step) * 0xBF58476D1CE4E5B9ull ^
               uint64_t(index) * 0x94D049BB133111EBull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

torch::Tensor nn::famSample(const torch::Tensor &g, uint64_t seed) {
  torch::Tensor f = g.detach().to(torch::kFloat32);
  if (f.numel() <= 10000)
    return f.reshape({-1});
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  auto pick = [&](int64_t n, int64_t k) {
    // Drawn on the CPU (one stream whatever the device), used where f is.
    return torch::randperm(n, gen, torch::kInt64)
        .narrow(0, 0, std::min(n, k))
        .to(f.device());
  };
  if (f.dim() == 1)
    return f.index_select(0, pick(f.size(0), 1000));
  torch::Tensor rows = pick(f.size(0), 64), cols = pick(f.size(1), 64);
  return f.index_select(0, rows).index_select(1, cols).reshape({-1});
}

namespace {
/// x^e in base-2^32 digits, least significant first (x < 2^32).
std::vector<uint32_t> bigPow(uint64_t x, int64_t e) {
  std::vector<uint32_t> r = {1};
  for (int64_t t = 0; t < e; ++t) {
    uint64_t carry = 0;
    for (uint32_t &d : r) {
      uint64_t v = uint64_t(d) * x + carry;
      d = uint32_t(v);
      carry = v >> 32;
    }
    if (carry)
      r.push_back(uint32_t(carry));
  }
  return r;
}

/// a <= b for numbers as bigPow writes them (no leading zero digits).
bool bigAtMost(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b) {
  if (a.size() != b.size())
    return a.size() < b.size();
  for (size_t t = a.size(); t-- > 0;)
    if (a[t] != b[t])
      return a[t] < b[t];
  return true;
}

/// floor(L^(i/n)) exactly: the largest k with k^n <= L^i. In big integers:
/// the sample of a 3-D or 4-D weight (64 x 64 x the trailing dims) has a
/// spectrum of 10^4..10^5 bins, whose 10th power overflows 128 bits.
int64_t floorRootPower(int64_t L, int64_t i, int64_t n) {
  TORCH_CHECK(L >= 0 && L < (int64_t(1) << 31) && i >= 0 && n >= 1,
              "rotary::nn::FAM: no log bands for a spectrum of ", L,
              " bins in ", n, " bands");
  const std::vector<uint32_t> target = bigPow(uint64_t(L), i);
  long double x = std::pow((long double)L, (long double)i / (long double)n);
  int64_t k = int64_t(std::floor(x + 0.5L));
  auto atMost = [&](int64_t k) { // k^n <= L^i
    return bigAtMost(bigPow(uint64_t(k), n), target);
  };
  while (k > 0 && !atMost(k))
    --k;
  while (atMost(k + 1))
    ++k;
  return k;
}

/// The key of `p` in Optimizer::state(): LibTorch 1.13 uses the printed
/// TensorImpl address, later versions the address itself.
template <typename Map>
typename Map::key_type stateKey(const torch::Tensor &p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool containsAny(const std::string &name,
                 std::initializer_list<const char *> keys) {
  for (const char *k : keys)
    if (name.find(k) != std::string::npos)
      return true;
  return false;
}

/// The group options of a parameter named `name` (docs/Math.md §7).
FAMOptions groupFor(const std::string &rawName, const FAMOptions &d) {
  std::string name = lower(rawName);
  FAMOptions o = d;
  o.lr_scale(1);
  if (containsAny(name, {"conv", "cnn"}))
    o.group("conv")
        .alpha(0.9)
        .n_bands(10)
        .band_layout(FamBandLayout::Log)
        .handler(FamHandler::Conv);
  else if (containsAny(name, {"attention", "mha", "self_attn"}))
    o.group("attention")
        .alpha(0.92)
        .n_bands(12)
        .band_layout(FamBandLayout::Split)
        .handler(FamHandler::Attention);
  else if (containsAny(name, {"embed", "token"}))
    o.group("embedding")
        .alpha(0.95)
        .n_bands(8)
        .band_layout(FamBandLayout::Linear)
        .handler(FamHandler::Embedding)
        .lr_scale(0.8)
        .weight_decay(d.weight_decay() * 1.5);
  else if (containsAny(name, {"norm", "batch", "layer"}))
    o.group("norm")
        .alpha(0.9)
        .n_bands(4)
        .band_layout(FamBandLayout::Linear)
        .handler(FamHandler::Default)
        .weight_decay(0);
  else
    o.group("other")
        .alpha(0.9)
        .n_bands(8)
        .band_layout(FamBandLayout::Linear)
        .handler(FamHandler::Default);
  return o;
}

double sumRange(const std::vector<double> &e, int64_t lo, int64_t hi) {
  double s = 0;
  for (int64_t i = lo; i < hi; ++i)
    s += e[size_t(i)];
  return s;
}

/// docs/Math.md §7 step 3 on the EMA bands.
double momentumRule(FamHandler h, const std::vector<double> &e, double a) {
  int64_t n = int64_t(e.size());
  switch (h) {
  case FamHandler::Default:
    return sumRange(e, n / 2, n) > 0.3 ? std::min(0.95, a + 0.05) : a;
  case FamHandler::Conv:
    if (sumRange(e, n / 4, 3 * n / 4) > 0.4)
      return std::min(0.97, a + 0.07);
    return sumRange(e, 3 * n / 4, n) > 0.3 ? std::min(0.95, a + 0.05) : a;
  case FamHandler::Attention: {
    int64_t k = int64_t(std::max_element(e.begin(), e.end()) - e.begin());
    if (k < n / 4)
      return std::max(0.85, a - 0.05);
    return k > 3 * n / 4 ? std::min(0.98, a + 0.08) : a;
  }
  case FamHandler::Embedding:
    return sumRange(e, 3 * n / 4, n) > 0.2 ? std::min(0.98, a + 0.08) : a;
  }
  return a;
}

/// `s` as a JSON string (parameter names are the user's).
std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(c));
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

/// `v` as a JSON number, 9 digits (an f32 EMA round-trips); NaN and the
/// infinities, which JSON lacks, as null.
std::string jsonNumber(double v) {
  if (!std::isfinite(v))
    return "null";
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

std::vector<double> toVector(const torch::Tensor &t) {
  torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

model::FamBandsKernel::Layout kernelLayout(FamBandLayout l) {
  return l == FamBandLayout::Linear ? model::FamBandsKernel::Layout::Linear
         : l == FamBandLayout::Log  ? model::FamBandsKernel::Layout::Log
                                    : model::FamBandsKernel::Layout::Split;
}

model::FamBandsKernel::Handler kernelHandler(FamHandler h) {
  return h == FamHandler::Conv ? model::FamBandsKernel::Handler::Conv
         : h == FamHandler::Attention
             ? model::FamBandsKernel::Handler::Attention
         : h == FamHandler::Embedding
             ? model::FamBandsKernel::Handler::Embedding
             : model::FamBandsKernel::Handler::Default;
}
} // namespace

std::vector<std::pair<int64_t, int64_t>>
nn::famBandRanges(int64_t L, int64_t n, FamBandLayout layout) {
  std::vector<std::pair<int64_t, int64_t>> r;
  for (int64_t i = 0; i < n; ++i) {
    switch (layout) {
    case FamBandLayout::Linear: {
      int64_t w = L / n;
      r.emplace_back(i * w, std::min((i + 1) * w, L));
      break;
    }
    case FamBandLayout::Log:
      r.emplace_back(std::max<int64_t>(0, floorRootPower(L, i, n) - 1),
                     std::min(floorRootPower(L, i + 1, n) - 1, L));
      break;
    case FamBandLayout::Split: {
      int64_t h = n / 2, H = L / 2;
      if (i < h) {
        int64_t w = H / h;
        r.emplace_back(i * w, std::min((i + 1) * w, H));
      } else {
        int64_t w = (L - H) / (n - h), j = i - h;
        r.emplace_back(H + j * w, std::min(H + (j + 1) * w, L));
      }
      break;
    }
    }
  }
  return r;
}

//===----------------------------------------------------------------------===//
// The optimizer
//===----------------------------------------------------------------------===//

FAM::FAM(const std::vector<std::pair<std::string, torch::Tensor>> &named,
         FAMOptions defaults)
    : Optimizer(std::vector<torch::optim::OptimizerParamGroup>{},
                std::make_unique<FAMOptions>(defaults)) {
  const char *order[] = {"conv", "attention", "embedding", "norm", "other"};
  for (const char *group : order) {
    std::vector<torch::Tensor> params;
    std::vector<std::string> names;
    std::unique_ptr<FAMOptions> options;
    for (const auto &[name, p] : named) {
      FAMOptions o = groupFor(name, defaults);
      if (o.group() != group)
        continue;
      params.push_back(p);
      names.push_back(name);
      if (!options)
        options = std::make_unique<FAMOptions>(o);
    }
    if (params.empty())
      continue;
    add_param_group(
        torch::optim::OptimizerParamGroup(params, std::move(options)));
    names_.push_back(std::move(names));
  }
}

FAM::FAM(std::vector<torch::Tensor> params, FAMOptions defaults)
    : Optimizer(
          std::vector<torch::optim::OptimizerParamGroup>{
              torch::optim::OptimizerParamGroup(params)},
          std::make_unique<FAMOptions>(defaults)) {
  std::vector<std::string> names;
  for (size_t i = 0; i < params.size(); ++i)
    names.push_back("param" + std::to_string(i));
  names_.push_back(std::move(names));
}

std::string FAM::parameterName(size_t g, size_t k) const {
  // A group added after construction (add_param_group) has no names.
  if (g < names_.size() && k < names_[g].size())
    return names_[g][k];
  return "group" + std::to_string(g) + ".param" + std::to_string(k);
}

FAMOptions &FAM::groupOptions(size_t g) {
  return static_cast<FAMOptions &>(param_groups_[g].options());
}

const FAMOptions &FAM::globals() const {
  return static_cast<const FAMOptions &>(*defaults_);
}

double FAM::scheduled_lr(int64_t s) const {
  return scheduled_lr(s, globals().lr());
}

double FAM::scheduled_lr(int64_t s, double peak) const {
  return scheduledLr(globals(), s, peak);
}

double rotary::nn::scheduledLr(const FAMOptions &o, int64_t s, double peak) {
  if (s < o.warmup_steps())
    return o.warmup_start_lr() +
           (peak - o.warmup_start_lr()) * double(s) / double(o.warmup_steps());
  if (o.decay_start_step() < 0 || s < o.decay_start_step() ||
      o.total_steps() <= o.decay_start_step())
    return peak;
  double t = double(std::min(s, o.total_steps()) - o.decay_start_step()) /
             double(o.total_steps() - o.decay_start_step());
  return o.eta_min() + (peak - o.eta_min()) * (1 + std::cos(M_PI * t)) / 2;
}

double FAM::current_lr(size_t g) const {
  TORCH_CHECK(g < param_groups_.size(), "rotary::nn::FAM: no group ", g);
  const auto &o = static_cast<const FAMOptions &>(param_groups_[g].options());
  return scheduled_lr(std::max<int64_t>(step_ - 1, 0), o.lr()) * o.lr_scale();
}

FAMParamState *FAM::find_state(const torch::Tensor &p) {
  auto it = state_.find(stateKey<decltype(state_)>(p));
  return it == state_.end() ? nullptr
                            : static_cast<FAMParamState *>(it->second.get());
}

void FAM::set_state(const torch::Tensor &p,
                    std::unique_ptr<FAMParamState> state) {
  state_[stateKey<decltype(state_)>(p)] = std::move(state);
}

FAMParamState &FAM::stateOf(const torch::Tensor &p) {
  auto key = stateKey<decltype(state_)>(p);
  auto it = state_.find(key);
  if (it == state_.end()) {
    auto st = std::make_unique<FAMParamState>();
    st->momentum(torch::zeros(
        p.sizes(), torch::dtype(torch::kFloat32).device(p.device())));
    it = state_.emplace(key, std::move(st)).first;
  }
  return static_cast<FAMParamState &>(*it->second);
}

double FAM::effectiveMomentum(const FAMOptions &o, FAMParamState &st,
                              const torch::Tensor &p, const torch::Tensor &g,
                              int64_t index) {
  const FAMOptions &d = globals();
  if (step_ <= d.fam_start_step() || p.numel() <= d.min_size())
    return o.alpha();
  // The sample is of the decayed gradient in f32, as step 4 decays it.
  torch::Tensor decayed = g.to(torch::kFloat32);
  if (o.weight_decay() != 0)
    decayed = decayed + o.weight_decay() * p.to(torch::kFloat32);
  torch::Tensor s = famSample(decayed, famSampleSeed(d.seed(), step_, index));
  torch::Tensor spectrum = torch::abs(torch::fft::rfft(s)).contiguous();
  int64_t n = o.n_bands();
  torch::Tensor bands;
  std::shared_ptr<runtime::Bundle> k;
  if (d.reference()) {
    int64_t L = spectrum.size(0);
    torch::Tensor P = spectrum.to(torch::kFloat64);
    double total = P.sum().item<double>();
    if (total > 0)
      P = P / (total + o.eps());
    bands = torch::zeros({n}, torch::kFloat64);
    auto ranges = famBandRanges(L, n, o.band_layout());
    for (int64_t i = 0; i < n; ++i)
      if (ranges[i].second > ranges[i].first)
        bands[i] =
            P.narrow(0, ranges[i].first, ranges[i].second - ranges[i].first)
                .sum();
    bands = bands.to(spectrum.device(), torch::kFloat32);
  } else {
    model::FamBandsKernel fk;
    fk.bands = n;
    fk.layout = kernelLayout(o.band_layout());
    fk.handler = kernelHandler(o.handler());
    fk.eps = o.eps();
    std::ostringstream key;
    key.precision(17);
    key << "bands " << n << " " << int(fk.layout) << " " << int(fk.handler)
        << " " << fk.eps;
    k = kernels_.get(key.str(), spectrum.device(), [&] { return fk; });
    bands = nn::call(*k, "fam_bands", {spectrum})[0];
  }
  torch::Tensor ema = st.ema();
  st.ema(ema.defined() ? o.beta() * ema + (1 - o.beta()) * bands : bands);
  if (d.reference())
    return momentumRule(o.handler(), toVector(st.ema()), o.alpha());
  torch::Tensor alpha =
      torch::full({}, o.alpha(), st.ema().options().dtype(torch::kFloat32));
  return nn::call(*k, "fam_momentum", {st.ema().contiguous(), alpha})[0]
      .item<double>();
}

void FAM::update(size_t g, const std::vector<torch::Tensor> &params,
                 const std::vector<torch::Tensor> &grads,
                 const std::vector<double> &alphas, double lr) {
  const FAMOptions &o = groupOptions(g);
  if (globals().reference()) {
    for (size_t k = 0; k < params.size(); ++k) {
      FAMParamState &st = stateOf(params[k]);
      torch::Tensor p32 = params[k].to(torch::kFloat32);
      torch::Tensor g32 = grads[k].to(torch::kFloat32);
      if (o.weight_decay() != 0)
        g32 = g32 + o.weight_decay() * p32;
      torch::Tensor m = alphas[k] * st.momentum() + (1 - alphas[k]) * g32;
      st.momentum(m);
      params[k].copy_(p32 - lr * m);
    }
    return;
  }
  // One launch per device of the group (one for a model on one device): p
  // and m are updated in place (the kernel is elementwise, so each element
  // is read before it is written).
  std::vector<at::Device> devices;
  for (const torch::Tensor &p : params)
    if (std::find(devices.begin(), devices.end(), p.device()) == devices.end())
      devices.push_back(p.device());
  for (const at::Device &device : devices) {
    model::FamStepKernel fk;
    fk.weightDecay = o.weight_decay();
    std::ostringstream key;
    key.precision(17);
    key << "step " << fk.weightDecay;
    std::vector<at::Tensor> ps, gs, ms;
    std::vector<float> as;
    for (size_t k = 0; k < params.size(); ++k) {
      if (params[k].device() != device)
        continue;
      fk.dtypes.push_back(dataDType("FAM", "a parameter", params[k]));
      key << " " << int(fk.dtypes.back());
      ps.push_back(params[k].view({-1}));
      gs.push_back(
          grads[k].to(params[k].scalar_type()).contiguous().view({-1}));
      ms.push_back(stateOf(params[k]).momentum().view({-1}));
      as.push_back(float(alphas[k]));
    }
    auto f32 = torch::dtype(torch::kFloat32).device(device);
    std::vector<at::Tensor> inputs = ps;
    inputs.insert(inputs.end(), gs.begin(), gs.end());
    inputs.insert(inputs.end(), ms.begin(), ms.end());
    inputs.push_back(torch::full({}, lr, f32));
    inputs.push_back(torch::tensor(as).to(device));
    std::vector<at::Tensor> outputs = ps;
    outputs.insert(outputs.end(), ms.begin(), ms.end());
    nn::callInto(*kernels_.get(key.str(), device, [&] { return fk; }),
                 "fam_step", inputs, outputs);
  }
}

void FAM::checkParameters() {
  auto describe = [](const torch::Tensor &t) {
    if (!t.defined())
      return std::string("none");
    std::ostringstream os;
    os << t.scalar_type() << " " << shapeString(t) << " on " << t.device()
       << (t.is_contiguous() ? "" : " (non-contiguous)");
    return os.str();
  };
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    const FAMOptions &o = groupOptions(g);
    for (size_t k = 0; k < param_groups_[g].params().size(); ++k) {
      const torch::Tensor &p = param_groups_[g].params()[k];
      const torch::Tensor &grad = p.grad();
      if (!grad.defined())
        continue;
      const std::string name = parameterName(g, k);
      TORCH_CHECK(p.is_floating_point() &&
                      (p.device().is_cpu() || p.device().is_cuda()) &&
                      p.is_contiguous(),
                  "rotary::nn::FAM: parameter '", name,
                  "' must be a contiguous floating-point CPU or CUDA tensor, "
                  "got ",
                  p.scalar_type(), " on ", p.device(),
                  p.is_contiguous() ? "" : " (non-contiguous)");
      TORCH_CHECK(grad.layout() == torch::kStrided &&
                      grad.is_floating_point() && grad.device() == p.device(),
                  "rotary::nn::FAM: the gradient of '", name,
                  "' must be a dense floating-point tensor on ", p.device(),
                  " (the parameter's device), got ", grad.scalar_type(), " (",
                  grad.layout(), ") on ", grad.device());
      TORCH_CHECK(grad.sizes() == p.sizes(),
                  "rotary::nn::FAM: the gradient of '", name, "' has shape ",
                  grad.sizes(), ", the parameter ", p.sizes());
      if (!globals().reference())
        dataDType("FAM", name.c_str(), p);
      // A state loaded from another model must not reach the kernels.
      FAMParamState &st = stateOf(p);
      const torch::Tensor &m = st.momentum(), &e = st.ema();
      TORCH_CHECK(m.defined() && m.scalar_type() == torch::kFloat32 &&
                      m.sizes() == p.sizes() && m.device() == p.device() &&
                      m.is_contiguous(),
                  "rotary::nn::FAM: the momentum of '", name,
                  "' must be a contiguous Float tensor of shape ",
                  shapeString(p), " on ", p.device(), ", got ", describe(m),
                  " (a state loaded from another model?)");
      TORCH_CHECK(!e.defined() ||
                      (e.scalar_type() == torch::kFloat32 && e.dim() == 1 &&
                       e.size(0) == o.n_bands() && e.device() == p.device()),
                  "rotary::nn::FAM: the band EMA of '", name,
                  "' must be a Float tensor of shape [", o.n_bands(), "] on ",
                  p.device(), ", got ", describe(e),
                  " (a state loaded from another model?)");
    }
  }
}

torch::Tensor FAM::step(LossClosure closure) {
  torch::NoGradGuard noGrad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable(true);
    loss = closure();
  }
  checkParameters();
  ++step_;
  int64_t index = 0;
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    const FAMOptions &o = groupOptions(g);
    std::vector<torch::Tensor> params, grads;
    std::vector<double> alphas;
    for (size_t k = 0; k < param_groups_[g].params().size(); ++k, ++index) {
      torch::Tensor &p = param_groups_[g].params()[k];
      if (!p.grad().defined())
        continue;
      FAMParamState &st = stateOf(p);
      st.step(st.step() + 1);
      st.alpha_eff(effectiveMomentum(o, st, p, p.grad(), index));
      params.push_back(p);
      grads.push_back(p.grad());
      alphas.push_back(st.alpha_eff());
    }
    if (!params.empty())
      update(g, params, grads, alphas, current_lr(g));
    if (!globals().debug_path().empty() &&
        step_ % std::max<int64_t>(globals().debug_every(), 1) == 0)
      writeDebug(g);
  }
  return loss;
}

void FAM::writeDebug(size_t g) {
  std::ofstream out(globals().debug_path(), std::ios::app);
  TORCH_CHECK(out, "rotary::nn::FAM: cannot append to the debug record '",
              globals().debug_path(), "'");
  const FAMOptions &o = groupOptions(g);
  for (size_t k = 0; k < param_groups_[g].params().size(); ++k) {
    const torch::Tensor &p = param_groups_[g].params()[k];
    auto it = state_.find(stateKey<decltype(state_)>(p));
    if (it == state_.end())
      continue;
    auto &st = static_cast<FAMParamState &>(*it->second);
    std::ostringstream line;
    line << "{\"step\": " << step_
         << ", \"param\": " << jsonString(parameterName(g, k))
         << ", \"group\": " << jsonString(o.group())
         << ", \"numel\": " << p.numel()
         << ", \"lr\": " << jsonNumber(current_lr(g))
         << ", \"alpha_eff\": " << jsonNumber(st.alpha_eff())
         << ", \"bands\": [";
    if (st.ema().defined()) {
      std::vector<double> e = toVector(st.ema());
      for (size_t i = 0; i < e.size(); ++i)
        line << (i ? ", " : "") << jsonNumber(e[i]);
    }
    line << "]}\n";
    out << line.str();
  }
}

void FAM::save(torch::serialize::OutputArchive &archive) const {
  torch::optim::serialize<FAMParamState, FAMOptions>(archive, *this);
  archive.write("fam_step", torch::tensor(step_));
}

void FAM::load(torch::serialize::InputArchive &archive) {
  torch::optim::serialize<FAMParamState, FAMOptions>(archive, *this);
  torch::Tensor s;
  archive.read("fam_step", s);
  step_ = s.item<int64_t>();
  // Archives hold CPU tensors: the state goes where its parameter is (as
  // PyTorch's optimizers do on load).
  for (auto &group : param_groups_)
    for (const torch::Tensor &p : group.params())
      if (FAMParamState *st = find_state(p)) {
        if (st->momentum().defined())
          st->momentum(st->momentum().to(p.device()));
        if (st->ema().defined())
          st->ema(st->ema().to(p.device()));
      }
}
