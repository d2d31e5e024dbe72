//===- Call.cpp - bundle entries as LibTorch ops --------------------------===//

#include "rotary/Torch/Call.h"
#include "rotary/Torch/Profile.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/autograd.h>
#include <torch/types.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <mutex>

using namespace rotary;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

bundle::DType dtypeOf(const std::string &entry, size_t i,
                      const at::Tensor &t) {
  std::optional<bundle::DType> d = nn::bundleDType(t.scalar_type());
  TORCH_CHECK_TYPE(d, "rotary: entry '", entry, "': input ", i, " has dtype ",
                   t.scalar_type(),
                   ", which rotary kernels do not take (f32, f16, bf16, f64, "
                   "i32, i64)");
  return *d;
}

/// The runtime's view of `t`. Device and layout are checked here (the
/// runtime sees only pointers); dtype, rank, sizes and strides by the
/// runtime against the manifest.
runtime::TensorRef toRef(const std::string &entry, const char *role, size_t i,
                         const std::string &name, const at::Tensor &t) {
  TORCH_CHECK_VALUE(t.defined(), "rotary: entry '", entry, "': ", role, " ", i,
                    " ('", name, "') is an undefined tensor");
  TORCH_CHECK_VALUE(t.device().is_cpu() || t.device().is_cuda(),
                    "rotary: entry '", entry, "': ", role, " ", i, " ('", name,
                    "') is on ", t.device(),
                    "; rotary kernels run on the CPU or CUDA");
  TORCH_CHECK_VALUE(t.layout() == at::kStrided, "rotary: entry '", entry,
                    "': ", role, " ", i, " ('", name,
                    "') must be a dense (strided) tensor");
  // The runtime checks that CUDA tensors are device memory on one GPU and
  // that the bundle has GPU code (rotary-translate --gpu).
  return runtime::TensorRef(t.data_ptr(), dtypeOf(entry, i, t),
                            t.sizes().vec(), t.strides().vec(),
                            t.device().is_cuda()
                                ? runtime::TensorRef::Device::CUDA
                                : runtime::TensorRef::Device::CPU);
}

/// The CUstream LibTorch's current stream on `device` is (the kernels are
/// queued on it, ordered with the LibTorch ops around them). Only a CUDA
/// build of LibTorch has CUDA tensors; its stream handle is public from
/// PyTorch 2.2 on, and before that the runtime uses the legacy default
/// stream, LibTorch's own default.
runtime::CallOptions callOptions(const std::vector<runtime::TensorRef> &in,
                                 const at::Device &device) {
  runtime::CallOptions options;
  if (in.empty() || !device.is_cuda())
    return options;
#if TORCH_VERSION_MAJOR > 2 ||                                                 \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  options.cudaStream =
      c10::impl::getDeviceGuardImpl(device.type())->getStream(device)
          .native_handle();
#endif
  return options;
}

at::ScalarType scalarType(bundle::DType d) {
  switch (d) {
  case bundle::DType::F32:
    return at::kFloat;
  case bundle::DType::F16:
    return at::kHalf;
  case bundle::DType::BF16:
    return at::kBFloat16;
  case bundle::DType::F64:
    return at::kDouble;
  case bundle::DType::I32:
    return at::kInt;
  case bundle::DType::I64:
    return at::kLong;
  }
  return at::kFloat;
}

/// Runs the kernel on the device of the first input, timing it while
/// nn::profile records.
void run(const runtime::Bundle &bundle, const std::string &name,
         const std::vector<runtime::TensorRef> &in,
         const std::vector<runtime::TensorRef> &out, const at::Device &device) {
  runtime::CallOptions options = callOptions(in, device);
  if (!nn::profile::enabled())
    return bundle.call(name, in, out, options);
  auto start = std::chrono::steady_clock::now();
  bundle.call(name, in, out, options);
  nn::profile::recordKernel(name, std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
}

} // namespace

std::optional<bundle::DType> nn::bundleDType(at::ScalarType type) {
  switch (type) {
  case at::kFloat:
    return bundle::DType::F32;
  case at::kHalf:
    return bundle::DType::F16;
  case at::kBFloat16:
    return bundle::DType::BF16;
  case at::kDouble:
    return bundle::DType::F64;
  case at::kInt:
    return bundle::DType::I32;
  case at::kLong:
    return bundle::DType::I64;
  default:
    return std::nullopt;
  }
}

namespace {
/// Bundles referenced by autograd graphs: the graph stores an index (an
/// IValue), the bundle stays loaded while the process runs.
std::mutex bundlesMutex;
std::vector<std::shared_ptr<runtime::Bundle>> bundles;

int64_t intern(const std::shared_ptr<runtime::Bundle> &b) {
  std::lock_guard<std::mutex> lock(bundlesMutex);
  for (size_t i = 0; i < bundles.size(); ++i)
    if (bundles[i] == b)
      return int64_t(i);
  bundles.push_back(b);
  return int64_t(bundles.size() - 1);
}

std::shared_ptr<runtime::Bundle> lookup(int64_t id) {
  std::lock_guard<std::mutex> lock(bundlesMutex);
  return bundles.at(size_t(id));
}

struct BundleFunction : torch::autograd::Function<BundleFunction> {
  // `inputs` is a TensorList: autograd counts each of its tensors as an
  // input (a std::vector argument would count as one opaque value).
  static variable_list forward(AutogradContext *ctx, int64_t bundleId,
                               const std::string &name,
                               at::TensorList inputList) {
    std::vector<at::Tensor> inputs = inputList.vec();
    std::shared_ptr<runtime::Bundle> b = lookup(bundleId);
    const bundle::Gradient &g = *b->manifest().findGradient(name);
    size_t numOut = b->entry(name).outputs.size();
    std::vector<at::Tensor> outs = nn::call(*b, g.forward, inputs);
    // Keep exactly what the vjp reads (undefined placeholders elsewhere).
    std::vector<at::Tensor> keepIn(inputs.size()), keepOut(outs.size());
    for (const bundle::VjpInput &v : g.vjpInputs) {
      if (v.kind == bundle::VjpInput::Kind::Argument)
        keepIn[v.index] = inputs[v.index];
      else if (v.kind == bundle::VjpInput::Kind::Result)
        keepOut[v.index] = outs[v.index];
      else if (v.kind == bundle::VjpInput::Kind::Saved)
        keepOut[numOut + v.index] = outs[numOut + v.index];
    }
    variable_list saved = keepIn;
    saved.insert(saved.end(), keepOut.begin(), keepOut.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["bundle"] = bundleId;
    ctx->saved_data["name"] = name;
    ctx->saved_data["inputs"] = int64_t(inputs.size());
    return variable_list(outs.begin(), outs.begin() + numOut);
  }

  static variable_list backward(AutogradContext *ctx,
                                variable_list cotangents) {
    std::shared_ptr<runtime::Bundle> b =
        lookup(ctx->saved_data["bundle"].toInt());
    std::string name = ctx->saved_data["name"].toStringRef();
    size_t numIn = size_t(ctx->saved_data["inputs"].toInt());
    const bundle::Gradient &g = *b->manifest().findGradient(name);
    size_t numOut = b->entry(name).outputs.size();
    variable_list saved = ctx->get_saved_variables();
    std::vector<at::Tensor> in(saved.begin(), saved.begin() + numIn);
    std::vector<at::Tensor> outs(saved.begin() + numIn, saved.end());
    // The kernels take contiguous cotangents of the outputs' dtypes.
    for (at::Tensor &c : cotangents)
      c = c.contiguous();
    std::vector<at::Tensor> vjpIn =
        bundle::selectVjpInputs(g, numOut, in, outs, cotangents);
    std::vector<at::Tensor> grads = nn::call(*b, g.vjp, vjpIn);
    // One gradient per forward argument: none for the bundle id and name,
    // then each input's (undefined where it has none).
    variable_list result(2 + numIn);
    for (size_t k = 0; k < g.gradients.size(); ++k)
      result[2 + g.gradients[k]] = grads[k];
    return result;
  }
};

} // namespace

namespace {
/// A bad argument (the runtime's Argument kind, or a failed run-time shape
/// check) is a c10::ValueError, so that Python sees a ValueError; the rest
/// stays a c10::Error.
[[noreturn]] void rethrow(const runtime::Error &e) {
  bool argument = e.kind() == runtime::Error::Kind::Argument ||
                  e.kind() == runtime::Error::Kind::Check;
  TORCH_CHECK_VALUE(!argument, "rotary: ", e.what());
  TORCH_CHECK(false, "rotary: ", e.what());
  std::abort(); // unreachable: TORCH_CHECK(false, ...) throws
}

const bundle::Entry &entryOf(const runtime::Bundle &bundle,
                             const std::string &name,
                             const std::vector<at::Tensor> &inputs) {
  const bundle::Entry *entry = bundle.manifest().findEntry(name);
  TORCH_CHECK_VALUE(entry, "rotary: the bundle in ", bundle.directory(),
                    " has no entry '", name, "'");
  TORCH_CHECK_VALUE(inputs.size() == entry->inputs.size(), "rotary: entry '",
                    name, "' takes ", entry->inputs.size(), " inputs, got ",
                    inputs.size());
  return *entry;
}

std::vector<runtime::TensorRef> inputRefs(const bundle::Entry &entry,
                                          const std::vector<at::Tensor> &in) {
  std::vector<runtime::TensorRef> refs;
  for (size_t i = 0; i < in.size(); ++i) {
    refs.push_back(toRef(entry.name, "input", i, entry.inputs[i].name, in[i]));
    // The runtime checks this too; here it is a c10::TypeError.
    TORCH_CHECK_TYPE(refs.back().dtype == entry.inputs[i].dtype,
                     "rotary: entry '", entry.name, "': argument '",
                     entry.inputs[i].name, "' must be ",
                     bundle::dtypeName(entry.inputs[i].dtype), ", got ",
                     bundle::dtypeName(refs.back().dtype));
  }
  return refs;
}
} // namespace

std::vector<at::Tensor> nn::call(const runtime::Bundle &bundle,
                                 const std::string &name,
                                 const std::vector<at::Tensor> &inputs) {
  const bundle::Entry &entry = entryOf(bundle, name, inputs);
  std::vector<runtime::TensorRef> in = inputRefs(entry, inputs);
  try {
    std::vector<std::vector<int64_t>> shapes = bundle.outputShapes(name, in);
    std::vector<at::Tensor> outs;
    std::vector<runtime::TensorRef> out;
    for (size_t k = 0; k < shapes.size(); ++k) {
      outs.push_back(at::empty(
          shapes[k], at::TensorOptions()
                         .dtype(scalarType(entry.outputs[k].dtype))
                         .device(inputs.empty() ? at::Device(at::kCPU)
                                                : inputs[0].device())));
      out.push_back(toRef(name, "output", k, entry.outputs[k].name,
                          outs.back()));
    }
    run(bundle, name, in, out,
        inputs.empty() ? at::Device(at::kCPU) : inputs[0].device());
    return outs;
  } catch (const runtime::Error &e) {
    // The runtime's message already names the entry and the argument.
    rethrow(e);
  }
  return {};
}

void nn::callInto(const runtime::Bundle &bundle, const std::string &name,
                  const std::vector<at::Tensor> &inputs,
                  const std::vector<at::Tensor> &outputs) {
  const bundle::Entry &entry = entryOf(bundle, name, inputs);
  TORCH_CHECK_VALUE(outputs.size() == entry.outputs.size(), "rotary: entry '",
                    name, "' has ", entry.outputs.size(), " outputs, got ",
                    outputs.size());
  std::vector<runtime::TensorRef> in = inputRefs(entry, inputs), out;
  for (size_t k = 0; k < outputs.size(); ++k)
    out.push_back(toRef(name, "output", k, entry.outputs[k].name, outputs[k]));
  try {
    // call() checks dtypes, shapes (against the inputs) and strides.
    run(bundle, name, in, out,
        inputs.empty() ? at::Device(at::kCPU) : inputs[0].device());
  } catch (const runtime::Error &e) {
    // The runtime's message already names the entry and the argument.
    rethrow(e);
  }
}

std::vector<at::Tensor>
nn::apply(const std::shared_ptr<runtime::Bundle> &bundle,
          const std::string &name, const std::vector<at::Tensor> &inputs) {
  TORCH_CHECK(bundle, "rotary: apply of '", name, "' without a bundle");
  TORCH_CHECK_VALUE(bundle->manifest().findEntry(name),
                    "rotary: the bundle in ", bundle->directory(),
                    " has no entry '", name, "'");
  TORCH_CHECK(bundle->manifest().findGradient(name), "rotary: entry '", name,
              "' has no gradient in the bundle in ", bundle->directory(),
              " (compile it with gradients: rotary-translate without "
              "--no-gradients, or CompileOptions::gradients)");
  return BundleFunction::apply(intern(bundle), name, at::TensorList(inputs));
}
