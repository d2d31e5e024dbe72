//===- Module.cpp - rotary._C: bundles, kernels and checks ----------------===//
//
// The thin C++ layer under the `rotary` Python package: compiled bundles
// (the JIT cache, prebuilt directories) whose entries run on torch tensors,
// with autograd through the compiled vjp (rotary::nn::apply); the model
// library's kernel IR for a layer configuration (rotary/Model/Kernels.h);
// and the argument checks of the C++ modules, so that the Python modules
// refuse bad input with the same messages. Everything else is Python.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"
#include "Errors.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"
#include "rotary/Version.h"

#include <torch/extension.h>

#include <map>
#include <set>
#include <sstream>

namespace py = pybind11;
using namespace rotary;
using rotary::python::guarded;

namespace {

/// Reads a kernel configuration dict, refusing keys nobody asked for.
class Config {
public:
  Config(const std::string &kind, const py::dict &d) : kind_(kind) {
    for (auto item : d)
      values_[py::cast<std::string>(item.first)] =
          py::reinterpret_borrow<py::object>(item.second);
  }

  template <typename T> T get(const std::string &key, T fallback) {
    used_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end())
      return fallback;
    try {
      return py::cast<T>(it->second);
    } catch (const py::cast_error &) {
      throw py::type_error("rotary: kernel '" + kind_ + "': option '" + key +
                           "' has the wrong type (" +
                           std::string(py::str(it->second.get_type())) + ")");
    }
  }

  /// A string option mapped through `choices`.
  template <typename E>
  E choice(const std::string &key, E fallback,
           const std::vector<std::pair<std::string, E>> &choices) {
    used_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end())
      return fallback;
    std::string v = get<std::string>(key, "");
    std::string names;
    for (const auto &[name, value] : choices) {
      if (name == v)
        return value;
      names += (names.empty() ? "'" : ", '") + name + "'";
    }
    throw py::value_error("rotary: kernel '" + kind_ + "': option '" + key +
                          "' must be one of " + names + ", got '" + v + "'");
  }

  bundle::DType dtype(const std::string &key = "dtype") {
    return choice<bundle::DType>(key, bundle::DType::F32,
                                 {{"f32", bundle::DType::F32},
                                  {"f16", bundle::DType::F16},
                                  {"bf16", bundle::DType::BF16}});
  }

  /// Call after reading every option: an unknown key is a typo.
  void finish() const {
    for (const auto &[key, value] : values_)
      if (!used_.count(key))
        throw py::value_error("rotary: kernel '" + kind_ + "' has no option '" +
                              key + "'");
  }

  const std::string &kind() const { return kind_; }

private:
  std::string kind_;
  std::map<std::string, py::object> values_;
  std::set<std::string> used_;
};

std::string ropeSource(Config &c) {
  model::RopeKernel k;
  using L = model::RopeKernel::Layout;
  using X = model::RopeKernel::XPos;
  k.heads = c.get<int64_t>("heads", k.heads);
  k.headDim = c.get<int64_t>("head_dim", k.headDim);
  k.rotaryDim = c.get<int64_t>("rotary_dim", k.rotaryDim);
  k.layout = c.choice<L>("layout", k.layout,
                         {{"half", L::Half},
                          {"interleaved", L::Interleaved},
                          {"deinterleave", L::Deinterleave}});
  k.dtype = c.dtype();
  k.positionsRank = c.get<int64_t>("positions_rank", k.positionsRank);
  k.invFreq = c.get<bool>("inv_freq", k.invFreq);
  k.phase = c.get<bool>("phase", k.phase);
  k.scale = c.get<bool>("scale", k.scale);
  k.xpos =
      c.choice<X>("xpos", k.xpos,
                  {{"none", X::None}, {"query", X::Query}, {"key", X::Key}});
  k.xposScaleBase = c.get<double>("xpos_scale_base", k.xposScaleBase);
  k.xposGamma = c.get<double>("xpos_gamma", k.xposGamma);
  c.finish();
  return model::buildSource(k);
}

std::string kernelSource(const std::string &kind, const py::dict &config) {
  Config c(kind, config);
  if (kind == "rope")
    return ropeSource(c);
  if (kind == "rotation_block") {
    model::RotationBlockKernel k;
    k.rank = c.get<int64_t>("rank", k.rank);
    k.dim = c.get<int64_t>("dim", k.dim);
    k.rotations = c.get<int64_t>("rotations", k.rotations);
    k.perHead = c.get<bool>("per_head", k.perHead);
    k.dtype = c.dtype();
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "penalty") {
    model::PenaltyKernel k;
    k.dim = c.get<int64_t>("dim", k.dim);
    k.perHead = c.get<bool>("per_head", k.perHead);
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "hdd_rope") {
    model::HDDRopeKernel k;
    using F = model::HDDRopeKernel::Form;
    k.heads = c.get<int64_t>("heads", k.heads);
    k.headDim = c.get<int64_t>("head_dim", k.headDim);
    k.chunk = c.get<int64_t>("chunk", k.chunk);
    k.form =
        c.choice<F>("form", k.form, {{"givens", F::Givens}, {"exp", F::Exp}});
    k.dtype = c.dtype();
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "attention") {
    model::AttentionKernel k;
    k.heads = c.get<int64_t>("heads", k.heads);
    k.headDim = c.get<int64_t>("head_dim", k.headDim);
    k.causal = c.get<bool>("causal", k.causal);
    k.window = c.get<int64_t>("window", k.window);
    k.globalTokens = c.get<int64_t>("global_tokens", k.globalTokens);
    k.scale = c.get<double>("scale", k.scale);
    k.biasRadius = c.get<int64_t>("bias_radius", k.biasRadius);
    k.spanRamp = c.get<double>("span_ramp", k.spanRamp);
    k.dtype = c.dtype();
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "quaternion") {
    model::QuaternionKernel k;
    k.dtype = c.dtype();
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "fam_step") {
    model::FamStepKernel k;
    for (const std::string &d : c.get<std::vector<std::string>>("dtypes", {})) {
      if (d == "f32")
        k.dtypes.push_back(bundle::DType::F32);
      else if (d == "f16")
        k.dtypes.push_back(bundle::DType::F16);
      else if (d == "bf16")
        k.dtypes.push_back(bundle::DType::BF16);
      else
        throw py::value_error("rotary: kernel 'fam_step': dtypes must be "
                              "'f32', 'f16' or 'bf16', got '" +
                              d + "'");
    }
    k.weightDecay = c.get<double>("weight_decay", k.weightDecay);
    c.finish();
    return model::buildSource(k);
  }
  if (kind == "fam_bands") {
    model::FamBandsKernel k;
    using L = model::FamBandsKernel::Layout;
    using H = model::FamBandsKernel::Handler;
    k.bands = c.get<int64_t>("bands", k.bands);
    k.layout = c.choice<L>(
        "layout", k.layout,
        {{"linear", L::Linear}, {"log", L::Log}, {"split", L::Split}});
    k.handler = c.choice<H>("handler", k.handler,
                            {{"default", H::Default},
                             {"conv", H::Conv},
                             {"attention", H::Attention},
                             {"embedding", H::Embedding}});
    k.eps = c.get<double>("eps", k.eps);
    c.finish();
    return model::buildSource(k);
  }
  throw py::value_error(
      "rotary: unknown kernel kind '" + kind +
      "' (rope, rotation_block, penalty, hdd_rope, attention, quaternion, "
      "fam_step, fam_bands)");
}

/// "name(x: f32[?, ?, 4, 64], pos: i64[x.1]) -> (f32[x.0, x.1, 4, 64])":
/// '?' for a dynamic size, "x.1" for one tied to an input's dimension.
std::string describe(const runtime::Bundle &b, const std::string &name) {
  const bundle::Entry &e = b.entry(name);
  std::ostringstream os;
  auto spec = [&](const bundle::TensorSpec &s, bool named) {
    if (named)
      os << s.name << ": ";
    os << bundle::dtypeName(s.dtype) << "[";
    for (size_t k = 0; k < s.shape.size(); ++k) {
      const bundle::Dim &d = s.shape[k];
      os << (k ? ", " : "");
      if (d.kind == bundle::Dim::Kind::Static)
        os << d.size;
      else if (d.kind == bundle::Dim::Kind::SameAs)
        os << e.inputs[size_t(d.input)].name << "." << d.dim;
      else
        os << "?";
    }
    os << "]";
  };
  os << name << "(";
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    os << (i ? ", " : "");
    spec(e.inputs[i], true);
  }
  os << ") -> (";
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    os << (i ? ", " : "");
    spec(e.outputs[i], false);
  }
  os << ")";
  return os.str();
}

std::vector<std::string> entryNames(const runtime::Bundle &b) {
  std::vector<std::string> names;
  for (const bundle::Entry &e : b.manifest().entries)
    names.push_back(e.name);
  return names;
}

} // namespace

void bindCore(py::module_ &m) {
  using BundlePtr = std::shared_ptr<runtime::Bundle>;
  py::class_<runtime::Bundle, BundlePtr>(m, "Bundle", "A loaded kernel bundle.")
      .def_property_readonly("path", &runtime::Bundle::directory)
      .def_property_readonly("entries", &entryNames)
      .def(
          "has_vjp",
          [](const runtime::Bundle &b, const std::string &name) {
            return b.manifest().findGradient(name) != nullptr;
          },
          py::arg("name"))
      .def(
          "describe",
          [](const runtime::Bundle &b, const std::string &name) {
            return guarded([&] {
              if (!b.manifest().findEntry(name))
                throw py::value_error("rotary: the bundle in " + b.directory() +
                                      " has no entry '" + name + "'");
              return describe(b, name);
            });
          },
          py::arg("name"))
      .def(
          "call",
          [](const runtime::Bundle &b, const std::string &name,
             const std::vector<at::Tensor> &inputs) {
            return guarded([&] { return nn::call(b, name, inputs); });
          },
          py::arg("name"), py::arg("inputs"),
          "Runs entry `name` on `inputs`; no autograd.")
      .def(
          "apply",
          [](const BundlePtr &b, const std::string &name,
             const std::vector<at::Tensor> &inputs) {
            return guarded([&] { return nn::apply(b, name, inputs); });
          },
          py::arg("name"), py::arg("inputs"),
          "Runs entry `name` on `inputs` with autograd through the "
          "bundle's compiled vjp.");

  m.def(
      "compile",
      [](const std::string &source, const std::string &gpuChip) {
        return guarded([&] { return nn::compiledKernel(source, gpuChip); });
      },
      py::arg("source"), py::arg("gpu_chip") = "",
      "Compiles rotary IR text with its gradients through the JIT cache; "
      "with `gpu_chip` (\"sm_90\") also GPU code for that architecture.");
  m.def(
      "kernel_target",
      [](const std::string &device) {
        return guarded([&] { return nn::kernelTarget(at::Device(device)); });
      },
      py::arg("device"),
      "The GPU architecture compile() needs for tensors on `device` "
      "(\"cpu\": \"\", \"cuda:0\": that GPU's \"sm_XY\").");
  m.def(
      "load",
      [](const std::string &path) {
        return guarded([&]() -> BundlePtr {
          try {
            return runtime::Bundle::load(path);
          } catch (const runtime::Error &e) {
            throw std::runtime_error(std::string("rotary: ") + e.what());
          }
        });
      },
      py::arg("path"), "Loads a prebuilt bundle directory.");
  m.def(
      "set_cache_dir",
      [](const std::string &path) {
        guarded([&] { nn::setKernelCacheDirectory(path); });
      },
      py::arg("path"));
  m.def(
      "kernel_source",
      [](const std::string &kind, const py::dict &config) {
        return guarded([&] { return kernelSource(kind, config); });
      },
      py::arg("kind"), py::arg("config"),
      "The rotary IR of a model kernel configuration.");
  m.def(
      "data_dtype",
      [](const std::string &module, const std::string &arg,
         const at::Tensor &t) {
        return guarded([&] {
          return std::string(
              bundle::dtypeName(nn::dataDTypeOf(module, arg, t)));
        });
      },
      py::arg("module"), py::arg("arg"), py::arg("tensor"));
  m.def(
      "check_tensor",
      [](const std::string &module, const std::string &arg, const at::Tensor &t,
         const std::vector<std::string> &names,
         const std::vector<int64_t> &sizes) {
        guarded([&] { nn::checkTensorOf(module, arg, t, names, sizes); });
      },
      py::arg("module"), py::arg("arg"), py::arg("tensor"), py::arg("names"),
      py::arg("sizes") = std::vector<int64_t>());
}

PYBIND11_MODULE(_C, m) {
  m.doc() = "The C++ core of the rotary package (see rotary/__init__.py).";
  m.attr("__version__") = ROTARY_VERSION_STRING;
  bindCore(m);
  bindFam(m);
}
