//===- GpuBundle.cpp - launching a bundle's GPU kernels -------------------===//
//
// The host library of the GPU code runs the checks and computes grids and
// temporary sizes; what touches the GPU goes through its three hooks
// (Manifest.h), which run here on the calling thread. A thread-local call
// state gives them the driver, the context's kernels and the caller's
// stream; they never throw through the compiled code: the first failure is
// kept, later hooks of the call do nothing, and run() throws it.
//
//===----------------------------------------------------------------------===//

#include "GpuBundle.h"
#include "rotary/Runtime/Cuda.h"
#include "rotary/Runtime/Runtime.h"

#include <dlfcn.h>

#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <optional>

using namespace rotary;
using namespace rotary::runtime;
using namespace rotary::runtime::detail;

namespace {
[[noreturn]] void loadError(const std::string &dir, const std::string &what) {
  throw Error(Error::Kind::Load, "cannot load bundle '" + dir + "': " + what);
}

/// The byte sizes of the parameters of `.entry name(` in `ptx`, or nullopt
/// when the PTX has no such entry.
std::optional<std::vector<int64_t>> ptxParams(const std::string &ptx,
                                              const std::string &name) {
  size_t at = ptx.find(".entry " + name + "(");
  if (at == std::string::npos)
    return std::nullopt;
  size_t end = ptx.find(')', at);
  std::vector<int64_t> sizes;
  for (size_t p = ptx.find(".param", at); p < end;
       p = ptx.find(".param", p + 1)) {
    // ".param .u64 name": the size is the type's bits.
    size_t type = ptx.find('.', p + 1);
    int64_t bits = type < end ? std::atoi(ptx.c_str() + type + 2) : 0;
    sizes.push_back(bits / 8);
  }
  return sizes;
}

struct CallState {
  const cuda::Driver *driver = nullptr;
  const bundle::GpuCode *code = nullptr;
  const GpuBundle::Loaded *loaded = nullptr;
  const std::string *entry = nullptr;
  void *stream = nullptr;
  std::optional<Error> error;
};

thread_local CallState *current = nullptr;

void *hookAlloc(int64_t bytes) {
  CallState *call = current;
  if (!call || call->error || bytes <= 0)
    return nullptr;
  try {
    return call->driver->allocate(size_t(bytes), call->stream,
                                  "a temporary of entry '" + *call->entry +
                                      "'");
  } catch (const Error &e) {
    call->error = e;
    return nullptr;
  }
}

void hookFree(void *ptr) {
  if (CallState *call = current)
    call->driver->release(ptr, call->stream);
}

void hookLaunch(int32_t kernel, int64_t gx, int64_t gy, int64_t gz, int64_t bx,
                int64_t by, int64_t bz, int32_t sharedBytes, void **params,
                int32_t numParams) {
  CallState *call = current;
  if (!call || call->error)
    return;
  auto fail = [&](const std::string &what) {
    call->error = Error(Error::Kind::Device,
                        "entry '" + *call->entry + "': " + what +
                            " (the bundle is inconsistent; recompile it)");
  };
  if (kernel < 0 || size_t(kernel) >= call->code->kernels.size())
    return fail("the host code launched kernel " + std::to_string(kernel) +
                ", which the manifest does not list");
  const bundle::GpuKernel &k = call->code->kernels[size_t(kernel)];
  const int64_t grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  if (size_t(numParams) != k.params.size() ||
      !std::equal(block, block + 3, k.block.begin()) ||
      (!k.sharedAtLaunch && sharedBytes > k.sharedBytes))
    return fail("kernel '" + k.name + "' was launched with " +
                std::to_string(numParams) + " parameters and block " +
                std::to_string(bx) + "x" + std::to_string(by) + "x" +
                std::to_string(bz) + ", its manifest says " +
                std::to_string(k.params.size()) + " and " +
                std::to_string(k.block[0]) + "x" + std::to_string(k.block[1]) +
                "x" + std::to_string(k.block[2]));
  if (gx < 1 || gy < 1 || gz < 1)
    return; // nothing to do
  if (gx > 0x7fffffff || gy > 65535 || gz > 65535) {
    call->error = Error(Error::Kind::Argument,
                        "entry '" + *call->entry + "': kernel '" + k.name +
                            "' needs a grid of " + std::to_string(gx) + "x" +
                            std::to_string(gy) + "x" + std::to_string(gz) +
                            " blocks, more than CUDA allows; split the call");
    return;
  }
  try {
    call->driver->launch(call->loaded->functions[size_t(kernel)],
                         call->loaded->launchInfo[size_t(kernel)], grid, block,
                         unsigned(sharedBytes), call->stream, params,
                         "kernel '" + k.name + "' of entry '" + *call->entry +
                             "' (" + call->loaded->image + ")");
  } catch (const Error &e) {
    call->error = e;
  }
}

template <typename Fn> void setHook(void *handle, const char *name, Fn fn) {
  if (void *slot = ::dlsym(handle, name))
    *static_cast<Fn *>(slot) = fn;
}
} // namespace

GpuBundle::GpuBundle(const std::string &dir, const bundle::Manifest &manifest,
                     const std::vector<bundle::BundleFile> &files)
    : dir_(dir), manifest_(manifest) {
  const bundle::GpuCode &code = *manifest.gpu;
  auto bytesOf = [&](const std::string &path) -> const std::string & {
    for (const bundle::BundleFile &f : files)
      if (f.first == path)
        return f.second;
    loadError(dir, path + " is not among its files"); // hashedFiles lists it
  };
  // The kernels' PTX must declare what the host code passes: a bundle
  // whose two halves disagree would corrupt memory on the GPU.
  for (const bundle::GpuObject &o : code.objects) {
    const std::string &ptx = bytesOf(o.ptx);
    for (const bundle::GpuKernel &k : code.kernels) {
      std::optional<std::vector<int64_t>> sizes = ptxParams(ptx, k.name);
      if (!sizes)
        loadError(dir, o.ptx + " has no kernel '" + k.name + "'");
      bool same = sizes->size() == k.params.size();
      for (size_t i = 0; same && i < sizes->size(); ++i)
        same = (*sizes)[i] == bundle::gpuParamBytes(k.params[i]);
      if (!same)
        loadError(dir, "kernel '" + k.name + "' takes " +
                           std::to_string(sizes->size()) + " parameters in " +
                           o.ptx +
                           ", but its host code "
                           "passes " +
                           std::to_string(k.params.size()) + " of other sizes");
    }
    images_.emplace_back(o.ptx, ptx);
    if (!o.cubin.empty())
      images_.emplace_back(o.cubin, bytesOf(o.cubin));
  }
  std::string truncated = truncatedElf(bytesOf(code.hostLibrary));
  if (!truncated.empty())
    loadError(dir, "cannot open its GPU host library " + code.hostLibrary +
                       ": " + truncated);
  const std::string library = dir + "/" + code.hostLibrary;
  ::dlerror();
  handle_ = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char *why = ::dlerror();
    loadError(dir, "cannot open its GPU host library " + code.hostLibrary +
                       ": " + (why ? why : "unknown dlopen error"));
  }
  setHook(handle_, bundle::kGpuAllocSymbol, &hookAlloc);
  setHook(handle_, bundle::kGpuFreeSymbol, &hookFree);
  setHook(handle_, bundle::kGpuLaunchSymbol, &hookLaunch);
  for (const bundle::Entry &e : manifest.entries) {
    void *symbol = ::dlsym(handle_, e.symbol.c_str());
    if (!symbol)
      loadError(dir, "entry '" + e.name + "': symbol '" + e.symbol +
                         "' is missing from " + code.hostLibrary);
    entries_.push_back(reinterpret_cast<int32_t (*)(void **)>(symbol));
  }
}

GpuBundle::~GpuBundle() {
  if (!loaded_.empty() && cuda::Driver::available()) {
    const cuda::Driver &driver = cuda::Driver::get();
    for (auto &[context, loaded] : loaded_)
      driver.unloadModule(context, loaded.module);
  }
  if (handle_)
    ::dlclose(handle_);
}

const GpuBundle::Loaded &GpuBundle::modulesFor(void *context,
                                               int device) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = loaded_.find(context);
  if (it != loaded_.end())
    return it->second;
  const cuda::Driver &driver = cuda::Driver::get();
  const int cc = driver.computeCapability(device);
  // The cubin of this architecture, else the PTX of the newest one the
  // device runs (the driver compiles it for this GPU).
  const bundle::GpuObject *exact = nullptr, *ptx = nullptr;
  int best = -1;
  std::string chips;
  for (const bundle::GpuObject &o : manifest_.gpu->objects) {
    int arch = std::atoi(o.chip.c_str() + 3);
    chips += (chips.empty() ? "" : ", ") + o.chip;
    if (arch == cc && !o.cubin.empty())
      exact = &o;
    if (arch <= cc && arch > best) {
      best = arch;
      ptx = &o;
    }
  }
  if (!exact && !ptx)
    throw Error(Error::Kind::Device,
                "bundle '" + dir_ + "' has GPU code for " + chips +
                    ", none of which runs on " + driver.deviceName(device) +
                    " (sm_" + std::to_string(cc) +
                    "); recompile it with --gpu=sm_" + std::to_string(cc));
  auto imageOf = [&](const std::string &path) -> const std::string & {
    for (const auto &[p, bytes] : images_)
      if (p == path)
        return bytes;
    return images_.front().second; // every path of the manifest is there
  };
  auto what = [&](const std::string &path) {
    return "the kernels of bundle '" + dir_ + "' (" + path + ")";
  };
  Loaded loaded;
  if (exact) {
    // A cubin from a newer toolkit than the driver is refused; the PTX of
    // the same chip is then compiled by the driver instead.
    try {
      loaded.module =
          driver.loadModule(imageOf(exact->cubin), what(exact->cubin));
      loaded.image = exact->chip + " cubin";
    } catch (const Error &cubinError) {
      try {
        loaded.module = driver.loadModule(imageOf(ptx->ptx), what(ptx->ptx));
        loaded.image = ptx->chip + " PTX";
      } catch (const Error &ptxError) {
        throw Error(Error::Kind::Device, std::string(cubinError.what()) +
                                             "; and then " + ptxError.what());
      }
    }
  } else {
    loaded.module = driver.loadModule(imageOf(ptx->ptx), what(ptx->ptx));
    loaded.image = ptx->chip + " PTX";
  }
  try {
    for (const bundle::GpuKernel &k : manifest_.gpu->kernels)
      loaded.functions.push_back(driver.function(loaded.module, k.name));
    loaded.launchInfo =
        std::make_unique<cuda::LaunchInfo[]>(loaded.functions.size());
  } catch (...) {
    driver.unloadModule(context, loaded.module);
    throw;
  }
  return loaded_.emplace(context, std::move(loaded)).first->second;
}

int32_t GpuBundle::run(size_t index, void **args, int device,
                       void *stream) const {
  const cuda::Driver &driver = cuda::Driver::get();
  cuda::Driver::Scope scope(driver, device);
  CallState call;
  call.driver = &driver;
  call.code = &*manifest_.gpu;
  call.loaded = &modulesFor(scope.context(), device);
  call.entry = &manifest_.entries[index].name;
  call.stream = stream;
  CallState *outer = current;
  current = &call;
  int32_t status = entries_[index](args);
  current = outer;
  if (call.error)
    throw *call.error;
  return status;
}
