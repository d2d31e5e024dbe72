//===- Fam.cpp - rotary.optim.FAM's C++ side ------------------------------===//
//
// rotary.optim.FAM (python/rotary/optim/fam.py) steps rotary::nn::FAM
// (include/rotary/Torch/Fam.h) over the Python parameters themselves: the
// C++ optimizer reads p.grad and updates p and its f32 momentum in place.
//
// The C++ FAM names its parameters in its constructors only, so it cannot
// grow parameter groups. _C._FAM therefore keeps one C++ FAM per Python
// group and steps them together. Group g's FAM holds, before its own
// parameters, as many empty placeholder tensors (never with a gradient, so
// skipped) as the groups before it hold parameters: the position of a
// parameter in its FAM is then its position in the whole optimizer, which
// seeds its gradient samples (famSampleSeed) exactly as one C++ FAM over all
// the groups would. Every parameter that has a gradient, in every group, is
// checked before any group steps, so a bad one changes nothing.
//
// _C._FAMCpp is one plain rotary::nn::FAM for the tests; _C._fam_named_groups
// is the C++ grouping by name, which FAM(model.named_parameters()) uses.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"
#include "Errors.h"

#include "rotary/Torch/Fam.h"
#include "rotary/Torch/Kernel.h"

#include <torch/extension.h>

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;
using rotary::nn::FAM;
using rotary::nn::FamBandLayout;
using rotary::nn::FamHandler;
using rotary::nn::FAMOptions;
using rotary::nn::FAMParamState;
using rotary::python::guarded;

namespace {

constexpr const char *kWho = "rotary.optim.FAM";

const char *handlerName(FamHandler h) {
  switch (h) {
  case FamHandler::Default:
    return "default";
  case FamHandler::Conv:
    return "conv";
  case FamHandler::Attention:
    return "attention";
  case FamHandler::Embedding:
    return "embedding";
  }
  return "default";
}

const char *layoutName(FamBandLayout l) {
  switch (l) {
  case FamBandLayout::Linear:
    return "linear";
  case FamBandLayout::Log:
    return "log";
  case FamBandLayout::Split:
    return "split";
  }
  return "linear";
}

FamHandler handlerOf(const std::string &s) {
  for (FamHandler h : {FamHandler::Default, FamHandler::Conv,
                       FamHandler::Attention, FamHandler::Embedding})
    if (s == handlerName(h))
      return h;
  TORCH_CHECK_VALUE(false, kWho,
                    ": handler must be 'default', 'conv', 'attention' or "
                    "'embedding', got '",
                    s, "'");
  return FamHandler::Default;
}

FamBandLayout layoutOf(const std::string &s) {
  for (FamBandLayout l :
       {FamBandLayout::Linear, FamBandLayout::Log, FamBandLayout::Split})
    if (s == layoutName(l))
      return l;
  TORCH_CHECK_VALUE(false, kWho,
                    ": band_layout must be 'linear', 'log' or 'split', got '",
                    s, "'");
  return FamBandLayout::Linear;
}

/// Which keys an options dict may hold.
enum class Keys { Group = 1, Settings = 2, All = 3 };

/// `T` from the value of option `key`; a TypeError naming it otherwise.
template <typename T> T optionValue(const std::string &key, py::handle v) {
  try {
    return v.cast<T>();
  } catch (const py::cast_error &) {
    throw py::type_error(std::string(kWho) + ": option '" + key + "' must be " +
                         (std::is_same_v<T, bool>          ? "a bool"
                          : std::is_same_v<T, std::string> ? "a str"
                          : std::is_same_v<T, double>      ? "a real number"
                                                           : "an int") +
                         ", got " + std::string(py::repr(v)));
  }
}

/// Sets the options of `d` on `o`: the per-group ones (lr ... group) and/or
/// the optimizer-wide ones (fam_start_step ... reference), as `keys` allows.
/// Ranges are rotary.optim.FAM's to check; the C++ FAM takes any value.
void applyOptions(FAMOptions &o, const py::dict &d, Keys keys) {
  bool group = int(keys) & int(Keys::Group);
  bool settings = int(keys) & int(Keys::Settings);
  for (auto item : d) {
    std::string key = py::str(item.first);
    py::handle v = item.second;
    if (group && key == "lr")
      o.lr(optionValue<double>(key, v));
    else if (group && key == "alpha")
      o.alpha(optionValue<double>(key, v));
    else if (group && key == "beta")
      o.beta(optionValue<double>(key, v));
    else if (group && key == "eps")
      o.eps(optionValue<double>(key, v));
    else if (group && key == "weight_decay")
      o.weight_decay(optionValue<double>(key, v));
    else if (group && key == "n_bands")
      o.n_bands(optionValue<int64_t>(key, v));
    else if (group && key == "handler")
      o.handler(handlerOf(optionValue<std::string>(key, v)));
    else if (group && key == "band_layout")
      o.band_layout(layoutOf(optionValue<std::string>(key, v)));
    else if (group && key == "lr_scale")
      o.lr_scale(optionValue<double>(key, v));
    else if (group && key == "group")
      o.group(optionValue<std::string>(key, v));
    else if (settings && key == "fam_start_step")
      o.fam_start_step(optionValue<int64_t>(key, v));
    else if (settings && key == "min_size")
      o.min_size(optionValue<int64_t>(key, v));
    else if (settings && key == "seed")
      o.seed(optionValue<int64_t>(key, v));
    else if (settings && key == "warmup_steps")
      o.warmup_steps(optionValue<int64_t>(key, v));
    else if (settings && key == "warmup_start_lr")
      o.warmup_start_lr(optionValue<double>(key, v));
    else if (settings && key == "decay_start_step")
      o.decay_start_step(optionValue<int64_t>(key, v));
    else if (settings && key == "total_steps")
      o.total_steps(optionValue<int64_t>(key, v));
    else if (settings && key == "eta_min")
      o.eta_min(optionValue<double>(key, v));
    else if (settings && key == "reference")
      o.reference(optionValue<bool>(key, v));
    else
      TORCH_CHECK_VALUE(false, kWho, ": unknown ",
                        keys == Keys::Group      ? "group option '"
                        : keys == Keys::Settings ? "optimizer-wide option '"
                                                 : "option '",
                        key, "'");
  }
}

/// The per-group options of `o` as rotary.optim.FAM's group dicts hold them.
py::dict groupDict(const FAMOptions &o) {
  py::dict d;
  d["lr"] = o.lr();
  d["alpha"] = o.alpha();
  d["beta"] = o.beta();
  d["eps"] = o.eps();
  d["weight_decay"] = o.weight_decay();
  d["n_bands"] = o.n_bands();
  d["handler"] = handlerName(o.handler());
  d["band_layout"] = layoutName(o.band_layout());
  d["lr_scale"] = o.lr_scale();
  d["group"] = o.group();
  return d;
}

/// (step, momentum, ema or None, alpha_eff) of `p`'s state, or None.
py::object stateTuple(FAM &fam, const at::Tensor &p) {
  FAMParamState *st = fam.find_state(p);
  if (!st)
    return py::none();
  py::object ema = st->ema().defined() ? py::cast(st->ema()) : py::none();
  return py::make_tuple(st->step(), st->momentum(), ema, st->alpha_eff());
}

std::string describe(const at::Tensor &t) {
  if (!t.defined())
    return "none";
  std::ostringstream os;
  os << t.scalar_type() << " " << rotary::nn::shapeString(t) << " on "
     << t.device() << (t.is_contiguous() ? "" : " (non-contiguous)");
  return os.str();
}

/// The C++ side of rotary.optim.FAM: one rotary::nn::FAM per Python group.
class FamGroups {
public:
  explicit FamGroups(const py::dict &settings) {
    applyOptions(settings_, settings, Keys::Settings);
  }

  /// Appends a group over `params` (named `names` in messages) with the
  /// per-group options `options`.
  void addGroup(const std::vector<at::Tensor> &params,
                const std::vector<std::string> &names,
                const py::dict &options) {
    TORCH_CHECK_VALUE(names.size() == params.size(), kWho, ": ", params.size(),
                      " parameters but ", names.size(), " names");
    for (const at::Tensor &p : params)
      TORCH_CHECK_VALUE(p.defined(), kWho, ": a parameter is undefined");
    FAMOptions o = settings_;
    applyOptions(o, options, Keys::Group);
    std::vector<at::Tensor> held(count_, placeholder_);
    held.insert(held.end(), params.begin(), params.end());
    Group g{std::make_unique<FAM>(held, o), names, count_};
    if (step_ > 0)
      g.fam->set_step_count(step_);
    groups_.push_back(std::move(g));
    count_ += params.size();
  }

  /// Replaces the per-group options of group `g` (lr from a scheduler, ...).
  void setGroup(size_t g, const py::dict &options) {
    applyOptions(groupOptions(g), options, Keys::Group);
  }

  /// One step of every group; nothing changes when a check fails.
  void step() {
    check();
    py::gil_scoped_release release;
    try {
      for (Group &g : groups_)
        g.fam->step();
    } catch (...) {
      // A failure past the checks (a kernel that does not compile) leaves
      // the step counted, as rotary::nn::FAM does, in every group alike.
      for (Group &g : groups_)
        if (g.fam->step_count() != step_ + 1)
          g.fam->set_step_count(step_ + 1);
      ++step_;
      throw;
    }
    ++step_;
  }

  int64_t stepCount() const { return step_; }

  void setStepCountAll(int64_t n) {
    TORCH_CHECK_VALUE(n >= 0, kWho, ": the step count must be >= 0, got ", n);
    for (Group &g : groups_)
      g.fam->set_step_count(n);
    step_ = n;
  }

  /// Per parameter of group g: (step, momentum, ema, alpha_eff) or None.
  py::list state(size_t g) {
    Group &gr = group(g);
    py::list out;
    for (size_t k = 0; k < gr.names.size(); ++k)
      out.append(stateTuple(*gr.fam, param(g, k)));
    return out;
  }

  /// Installs the state of parameter k of group g; the tensors are shared.
  void setState(size_t g, size_t k, int64_t step, const at::Tensor &momentum,
                const c10::optional<at::Tensor> &ema, double alphaEff) {
    Group &gr = group(g);
    TORCH_CHECK_VALUE(k < gr.names.size(), kWho, ": group ", g, " has no ",
                      "parameter ", k);
    const at::Tensor &p = param(g, k);
    const std::string &name = gr.names[k];
    TORCH_CHECK_VALUE(
        momentum.defined() && momentum.scalar_type() == at::kFloat &&
            momentum.sizes() == p.sizes() && momentum.is_contiguous(),
        kWho, ": the momentum of '", name,
        "' must be a contiguous float32 tensor of shape ",
        rotary::nn::shapeString(p), ", got ", describe(momentum));
    at::Tensor e = ema.has_value() ? *ema : at::Tensor();
    TORCH_CHECK_VALUE(!e.defined() || (e.scalar_type() == at::kFloat &&
                                       e.dim() == 1 && e.is_contiguous()),
                      kWho, ": the band EMA of '", name,
                      "' must be a contiguous 1-D float32 tensor, got ",
                      describe(e));
    // The state goes where its parameter is (as PyTorch's optimizers do on
    // load); on the same device the tensors stay shared.
    auto st = std::make_unique<FAMParamState>();
    st->step(step);
    st->momentum(momentum.to(p.device()));
    st->ema(e.defined() ? e.to(p.device()) : e);
    st->alpha_eff(alphaEff);
    gr.fam->set_state(p, std::move(st));
  }

  /// Forgets the state of every parameter of group g.
  void clearState(size_t g) { group(g).fam->state().clear(); }

  /// The rate group g stepped with last (schedule × lr_scale).
  double currentLr(size_t g) { return group(g).fam->current_lr(0); }

  size_t size() const { return groups_.size(); }

private:
  struct Group {
    std::unique_ptr<FAM> fam;
    std::vector<std::string> names;
    /// Parameters held by the groups before this one (= placeholders).
    size_t offset;
  };

  Group &group(size_t g) {
    TORCH_CHECK_VALUE(g < groups_.size(), kWho, ": no parameter group ", g,
                      " (", groups_.size(), " groups)");
    return groups_[g];
  }

  FAMOptions &groupOptions(size_t g) {
    return static_cast<FAMOptions &>(group(g).fam->param_groups()[0].options());
  }

  const at::Tensor &param(size_t g, size_t k) {
    Group &gr = groups_[g];
    return gr.fam->param_groups()[0].params()[gr.offset + k];
  }

  /// rotary::nn::FAM's checks (FAM::checkParameters) over every group, with
  /// the Python names and exception types: a wrong dtype is a TypeError,
  /// a wrong shape, device, layout or state a ValueError.
  void check() {
    for (size_t g = 0; g < groups_.size(); ++g) {
      Group &gr = groups_[g];
      const FAMOptions &o = groupOptions(g);
      for (size_t k = 0; k < gr.names.size(); ++k) {
        const at::Tensor &p = param(g, k);
        const at::Tensor &grad = p.grad();
        if (!grad.defined())
          continue;
        const std::string &name = gr.names[k];
        TORCH_CHECK_TYPE(p.is_floating_point(), kWho, ": parameter '", name,
                         "' must be a floating-point tensor, got ",
                         p.scalar_type());
        TORCH_CHECK_VALUE(
            (p.device().is_cpu() || p.device().is_cuda()) && p.is_contiguous(),
            kWho, ": parameter '", name,
            "' must be a contiguous CPU or CUDA tensor, got ", describe(p));
        if (!settings_.reference())
          rotary::nn::dataDTypeOf(kWho, "parameter '" + name + "'", p);
        TORCH_CHECK_VALUE(
            grad.layout() == at::kStrided, kWho, ": the gradient of '", name,
            "' must be a dense tensor, got layout ", grad.layout());
        TORCH_CHECK_TYPE(grad.is_floating_point(), kWho, ": the gradient of '",
                         name, "' must be a floating-point tensor, got ",
                         grad.scalar_type());
        TORCH_CHECK_VALUE(grad.device() == p.device(), kWho,
                          ": the gradient of '", name, "' must be on ",
                          p.device(), " (the parameter's device), got ",
                          grad.device());
        TORCH_CHECK_VALUE(grad.sizes() == p.sizes(), kWho,
                          ": the gradient of '", name, "' has shape ",
                          rotary::nn::shapeString(grad), ", the parameter ",
                          rotary::nn::shapeString(p));
        FAMParamState *st = gr.fam->find_state(p);
        if (!st)
          continue;
        const at::Tensor &m = st->momentum(), &e = st->ema();
        TORCH_CHECK_VALUE(m.defined() && m.scalar_type() == at::kFloat &&
                              m.sizes() == p.sizes() &&
                              m.device() == p.device() && m.is_contiguous(),
                          kWho, ": the momentum of '", name,
                          "' must be a contiguous float32 tensor of shape ",
                          rotary::nn::shapeString(p), " on ", p.device(),
                          ", got ", describe(m));
        TORCH_CHECK_VALUE(
            !e.defined() ||
                (e.scalar_type() == at::kFloat && e.dim() == 1 &&
                 e.size(0) == o.n_bands() && e.device() == p.device()),
            kWho, ": the band EMA of '", name,
            "' must be a float32 tensor of shape [", o.n_bands(),
            "] (the group's n_bands) on ", p.device(), ", got ", describe(e));
      }
    }
  }

  FAMOptions settings_;
  std::vector<Group> groups_;
  size_t count_ = 0;
  int64_t step_ = 0;
  at::Tensor placeholder_ = torch::empty({0});
};

/// The parameters of a _FAMCpp: a list of tensors or of (name, tensor).
std::unique_ptr<FAM> makeCppFam(const py::list &params,
                                const py::dict &options) {
  FAMOptions o;
  applyOptions(o, options, Keys::All);
  bool named = params.size() > 0 && py::isinstance<py::tuple>(params[0]);
  if (!named)
    return std::make_unique<FAM>(params.cast<std::vector<at::Tensor>>(), o);
  return std::make_unique<FAM>(
      params.cast<std::vector<std::pair<std::string, at::Tensor>>>(), o);
}

/// The C++ FAM's grouping of `named` (FAM's named constructor): per
/// non-empty group, in the C++ order, (options dict, indices into `named`).
py::list
namedGroups(const std::vector<std::pair<std::string, at::Tensor>> &named,
            const py::dict &defaults) {
  FAMOptions o;
  applyOptions(o, defaults, Keys::Group);
  for (size_t i = 0; i < named.size(); ++i) {
    TORCH_CHECK_VALUE(named[i].second.defined(), kWho, ": parameter '",
                      named[i].first, "' is undefined");
    for (size_t j = 0; j < i; ++j)
      TORCH_CHECK_VALUE(!named[i].second.is_same(named[j].second), kWho,
                        ": parameters '", named[j].first, "' and '",
                        named[i].first, "' are the same tensor");
  }
  FAM fam(named, o);
  py::list out;
  for (auto &group : fam.param_groups()) {
    py::list indices;
    for (const at::Tensor &p : group.params())
      for (size_t i = 0; i < named.size(); ++i)
        if (named[i].second.is_same(p)) {
          indices.append(i);
          break;
        }
    out.append(py::make_tuple(
        groupDict(static_cast<FAMOptions &>(group.options())), indices));
  }
  return out;
}

} // namespace

void bindFam(py::module_ &m) {
  py::class_<FamGroups>(m, "_FAM",
                        "The C++ side of rotary.optim.FAM: one "
                        "rotary::nn::FAM per parameter group, stepped "
                        "together. Internal; use rotary.optim.FAM.")
      .def(py::init([](const py::dict &settings) {
             return guarded(
                 [&] { return std::make_unique<FamGroups>(settings); });
           }),
           py::arg("settings"))
      .def(
          "add_group",
          [](FamGroups &self, const std::vector<at::Tensor> &params,
             const std::vector<std::string> &names, const py::dict &options) {
            guarded([&] { self.addGroup(params, names, options); });
          },
          py::arg("params"), py::arg("names"), py::arg("options"))
      .def(
          "set_group",
          [](FamGroups &self, size_t g, const py::dict &options) {
            guarded([&] { self.setGroup(g, options); });
          },
          py::arg("group"), py::arg("options"))
      .def("step", [](FamGroups &self) { guarded([&] { self.step(); }); })
      .def("step_count", &FamGroups::stepCount)
      .def(
          "set_step_count",
          [](FamGroups &self, int64_t n) {
            guarded([&] { self.setStepCountAll(n); });
          },
          py::arg("n"))
      .def(
          "state",
          [](FamGroups &self, size_t g) {
            return guarded([&] { return self.state(g); });
          },
          py::arg("group"))
      .def(
          "set_state",
          [](FamGroups &self, size_t g, size_t k, int64_t step,
             const at::Tensor &momentum, const c10::optional<at::Tensor> &ema,
             double alphaEff) {
            guarded(
                [&] { self.setState(g, k, step, momentum, ema, alphaEff); });
          },
          py::arg("group"), py::arg("index"), py::arg("step"),
          py::arg("momentum"), py::arg("ema"), py::arg("alpha_eff"))
      .def(
          "clear_state",
          [](FamGroups &self, size_t g) {
            guarded([&] { self.clearState(g); });
          },
          py::arg("group"))
      .def(
          "current_lr",
          [](FamGroups &self, size_t g) {
            return guarded([&] { return self.currentLr(g); });
          },
          py::arg("group"))
      .def("__len__", &FamGroups::size);

  py::class_<FAM>(m, "_FAMCpp",
                  "One rotary::nn::FAM, bound as it is (for tests): "
                  "_FAMCpp(params, options) with params a list of tensors "
                  "(one group) or of (name, tensor) pairs (grouped by name), "
                  "options any of rotary.optim.FAM's keyword arguments.")
      .def(py::init([](const py::list &params, const py::dict &options) {
             return guarded([&] { return makeCppFam(params, options); });
           }),
           py::arg("params"), py::arg("options") = py::dict())
      .def("step",
           [](FAM &self) {
             guarded([&] {
               py::gil_scoped_release release;
               self.step();
             });
           })
      .def("step_count", &FAM::step_count)
      .def("num_groups", [](FAM &self) { return self.param_groups().size(); })
      .def(
          "group_options",
          [](FAM &self, size_t g) {
            return guarded([&] {
              TORCH_CHECK_VALUE(g < self.param_groups().size(), kWho,
                                ": no parameter group ", g);
              return groupDict(
                  static_cast<FAMOptions &>(self.param_groups()[g].options()));
            });
          },
          py::arg("group"))
      .def(
          "set_lr",
          [](FAM &self, size_t g, double lr) {
            guarded([&] {
              TORCH_CHECK_VALUE(g < self.param_groups().size(), kWho,
                                ": no parameter group ", g);
              self.param_groups()[g].options().set_lr(lr);
            });
          },
          py::arg("group"), py::arg("lr"))
      .def(
          "parameter_names",
          [](FAM &self, size_t g) {
            return guarded([&] { return self.parameter_names(g); });
          },
          py::arg("group"))
      .def(
          "current_lr",
          [](FAM &self, size_t g) {
            return guarded([&] { return self.current_lr(g); });
          },
          py::arg("group"))
      .def(
          "state",
          [](FAM &self, const at::Tensor &p) { return stateTuple(self, p); },
          py::arg("param"));

  m.def(
      "_fam_named_groups",
      [](const std::vector<std::pair<std::string, at::Tensor>> &named,
         const py::dict &defaults) {
        return guarded([&] { return namedGroups(named, defaults); });
      },
      py::arg("named"), py::arg("defaults"),
      "rotary::nn::FAM's grouping by name: a list of (group options, "
      "indices into named) per non-empty group, in the C++ order.");
}
