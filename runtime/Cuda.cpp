//===- Cuda.cpp - the CUDA driver API through dlopen ----------------------===//
//
// The handful of driver types and entry points the runtime needs, declared
// here so that building the runtime needs no CUDA headers (the driver API is
// a stable C ABI: handles are pointers or ints, results are ints).
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Cuda.h"
#include "rotary/Runtime/Runtime.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <vector>

namespace rotary::runtime::cuda {
namespace {
using CUresult = int;
using CUdevice = int;

// Results the runtime names itself: the stub library cannot name them.
constexpr CUresult kSuccess = 0;
constexpr CUresult kStubLibrary = 34;
constexpr CUresult kInsufficientDriver = 35;
constexpr CUresult kNoDevice = 100;
// CUdevice_attribute values.
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;
constexpr int kMultiprocessorCount = 16;
constexpr int kClockRateKHz = 13;
constexpr int kMaxSharedPerBlockOptin = 97;
// CUfunction_attribute values.
constexpr int kFuncSharedSizeBytes = 1;
constexpr int kFuncMaxDynamicSharedSizeBytes = 8;
/// The shared memory (static and dynamic) a block may have without the
/// kernel opting in.
constexpr int64_t kDefaultSharedBytes = 48 * 1024;
// CUpointer_attribute and CUmemorytype values.
constexpr int kPointerMemoryType = 2;
constexpr int kPointerDeviceOrdinal = 9;
constexpr unsigned kMemoryTypeDevice = 2;
constexpr unsigned kMemoryTypeUnified = 4;
// CUjit_option values.
constexpr int kJitInfoLogBuffer = 3;
constexpr int kJitInfoLogBufferSize = 4;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;

const char *knownName(CUresult r) {
  switch (r) {
  case 1:
    return "CUDA_ERROR_INVALID_VALUE";
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case 4:
    return "CUDA_ERROR_DEINITIALIZED";
  case kStubLibrary:
    return "CUDA_ERROR_STUB_LIBRARY";
  case kInsufficientDriver:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case kNoDevice:
    return "CUDA_ERROR_NO_DEVICE";
  case 101:
    return "CUDA_ERROR_INVALID_DEVICE";
  case 200:
    return "CUDA_ERROR_INVALID_IMAGE";
  case 209:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case 218:
    return "CUDA_ERROR_INVALID_PTX";
  case 222:
    return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 500:
    return "CUDA_ERROR_NOT_FOUND";
  case 700:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case 701:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case 719:
    return "CUDA_ERROR_LAUNCH_FAILED";
  default:
    return nullptr;
  }
}

Error loadError(const std::string &message) {
  return Error(Error::Kind::Load, "rotary: no CUDA GPU: " + message);
}
} // namespace

struct Driver::Api {
  void *handle = nullptr;
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*driverGetVersion)(int *) = nullptr;
  CUresult (*deviceGetCount)(int *) = nullptr;
  CUresult (*deviceGet)(CUdevice *, int) = nullptr;
  CUresult (*deviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*deviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*getErrorName)(CUresult, const char **) = nullptr;
  CUresult (*getErrorString)(CUresult, const char **) = nullptr;
  // The GPU path (resolved by open(); a driver without them fails there).
  CUresult (*ctxGetCurrent)(void **) = nullptr;
  CUresult (*ctxGetDevice)(CUdevice *) = nullptr;
  CUresult (*ctxPushCurrent)(void *) = nullptr;
  CUresult (*ctxPopCurrent)(void **) = nullptr;
  CUresult (*primaryCtxRetain)(void **, CUdevice) = nullptr;
  CUresult (*pointerGetAttribute)(void *, int, uint64_t) = nullptr;
  CUresult (*moduleLoadDataEx)(void **, const void *, unsigned, int *,
                               void **) = nullptr;
  CUresult (*moduleUnload)(void *) = nullptr;
  CUresult (*moduleGetFunction)(void **, void *, const char *) = nullptr;
  CUresult (*funcGetAttribute)(int *, int, void *) = nullptr;
  CUresult (*funcSetAttribute)(void *, int, int) = nullptr;
  CUresult (*launchKernel)(void *, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, void *, void **,
                           void **) = nullptr;
  CUresult (*memAlloc)(uint64_t *, size_t) = nullptr;
  CUresult (*memFree)(uint64_t) = nullptr;
  CUresult (*memAllocAsync)(uint64_t *, size_t, void *) = nullptr; // optional
  CUresult (*memFreeAsync)(uint64_t, void *) = nullptr;            // optional
  CUresult (*memcpyHtoD)(uint64_t, const void *, size_t) = nullptr;
  CUresult (*memcpyDtoH)(void *, uint64_t, size_t) = nullptr;
  CUresult (*memcpyDtoD)(uint64_t, uint64_t, size_t) = nullptr;
  CUresult (*streamSynchronize)(void *) = nullptr;
  int devices = 0;
  std::mutex primaryMutex;
  std::vector<void *> primary; ///< retained primary contexts, per device

  ~Api() {
    if (handle)
      ::dlclose(handle);
  }
};

Driver::Driver(std::unique_ptr<Api> api) : api_(std::move(api)) {}
Driver::~Driver() = default;

std::string Driver::describe(int result) const {
  const char *name = nullptr, *text = nullptr;
  if (api_->getErrorName && api_->getErrorName(result, &name) != kSuccess)
    name = nullptr;
  if (api_->getErrorString && api_->getErrorString(result, &text) != kSuccess)
    text = nullptr;
  if (!name)
    name = knownName(result);
  std::string s = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

void Driver::check(int result, const char *what) const {
  if (result != kSuccess)
    throw Error(Error::Kind::Device, std::string("rotary: CUDA ") + what +
                                         " failed: " + describe(result));
}

std::unique_ptr<Driver> Driver::open(const std::string &path) {
  std::string library = path;
  if (library.empty()) {
    const char *env = std::getenv("ROTARY_LIBCUDA");
    library = env && *env ? env : "libcuda.so.1";
  }
  auto api = std::make_unique<Api>();
  api->handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api->handle) {
    const char *why = ::dlerror();
    throw loadError("cannot load the CUDA driver library " + library + " (" +
                    (why ? why : "unknown reason") +
                    "); is the NVIDIA driver installed?");
  }
  auto resolve = [&](auto &fn, const char *symbol) {
    void *p = ::dlsym(api->handle, symbol);
    if (!p)
      throw loadError("the CUDA driver library " + library + " has no " +
                      symbol + "; the driver is too old");
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  resolve(api->init, "cuInit");
  resolve(api->driverGetVersion, "cuDriverGetVersion");
  resolve(api->deviceGetCount, "cuDeviceGetCount");
  resolve(api->deviceGet, "cuDeviceGet");
  resolve(api->deviceGetName, "cuDeviceGetName");
  resolve(api->deviceGetAttribute, "cuDeviceGetAttribute");
  resolve(api->getErrorName, "cuGetErrorName");
  resolve(api->getErrorString, "cuGetErrorString");
  resolve(api->ctxGetCurrent, "cuCtxGetCurrent");
  resolve(api->ctxGetDevice, "cuCtxGetDevice");
  resolve(api->ctxPushCurrent, "cuCtxPushCurrent_v2");
  resolve(api->ctxPopCurrent, "cuCtxPopCurrent_v2");
  resolve(api->primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(api->pointerGetAttribute, "cuPointerGetAttribute");
  resolve(api->moduleLoadDataEx, "cuModuleLoadDataEx");
  resolve(api->moduleUnload, "cuModuleUnload");
  resolve(api->moduleGetFunction, "cuModuleGetFunction");
  resolve(api->funcGetAttribute, "cuFuncGetAttribute");
  resolve(api->funcSetAttribute, "cuFuncSetAttribute");
  resolve(api->launchKernel, "cuLaunchKernel");
  resolve(api->memAlloc, "cuMemAlloc_v2");
  resolve(api->memFree, "cuMemFree_v2");
  resolve(api->memcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(api->memcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(api->memcpyDtoD, "cuMemcpyDtoD_v2");
  resolve(api->streamSynchronize, "cuStreamSynchronize");
  // Stream-ordered allocation is newer (CUDA 11.2); optional.
  api->memAllocAsync = reinterpret_cast<decltype(api->memAllocAsync)>(
      ::dlsym(api->handle, "cuMemAllocAsync"));
  api->memFreeAsync = reinterpret_cast<decltype(api->memFreeAsync)>(
      ::dlsym(api->handle, "cuMemFreeAsync"));

  std::unique_ptr<Driver> driver(new Driver(std::move(api)));
  Api &a = *driver->api_;
  if (CUresult r = a.init(0); r != kSuccess) {
    std::string why = driver->describe(r);
    if (r == kStubLibrary)
      throw loadError(library +
                      " is the CUDA toolkit's stub library, not a driver (" +
                      why +
                      "); install the NVIDIA driver or put its "
                      "libcuda.so.1 first in the library path");
    if (r == kNoDevice)
      throw loadError("the CUDA driver sees no device (" + why + ")");
    if (r == kInsufficientDriver)
      throw loadError("the CUDA driver is older than the CUDA version of "
                      "the kernels (" +
                      why + ")");
    throw loadError("cuInit failed: " + why);
  }
  if (CUresult r = a.deviceGetCount(&a.devices); r != kSuccess)
    throw loadError("cuDeviceGetCount failed: " + driver->describe(r));
  if (a.devices < 1)
    throw loadError("the CUDA driver sees no device");
  a.primary.assign(size_t(a.devices), nullptr);
  return driver;
}

Driver &Driver::get() {
  static std::once_flag once;
  static std::unique_ptr<Driver> driver;
  static std::optional<Error> failure;
  std::call_once(once, [] {
    try {
      driver = open();
    } catch (const Error &e) {
      failure = e;
    }
  });
  if (!driver)
    throw *failure;
  return *driver;
}

bool Driver::available(std::string *why) {
  try {
    (void)get();
    return true;
  } catch (const Error &e) {
    if (why)
      *why = e.what();
    return false;
  }
}

int Driver::version() const {
  int v = 0;
  check(api_->driverGetVersion(&v), "cuDriverGetVersion");
  return v;
}

int Driver::deviceCount() const { return api_->devices; }

void Driver::checkDevice(int device) const {
  if (device < 0 || device >= api_->devices)
    throw Error(Error::Kind::Argument, "rotary: CUDA device " +
                                           std::to_string(device) +
                                           " does not exist (the driver sees " +
                                           std::to_string(api_->devices) + ")");
}

std::string Driver::deviceName(int device) const {
  checkDevice(device);
  CUdevice d = 0;
  check(api_->deviceGet(&d, device), "cuDeviceGet");
  char name[256] = {};
  check(api_->deviceGetName(name, sizeof(name) - 1, d), "cuDeviceGetName");
  return name;
}

int Driver::computeCapability(int device) const {
  checkDevice(device);
  CUdevice d = 0;
  check(api_->deviceGet(&d, device), "cuDeviceGet");
  int major = 0, minor = 0;
  check(api_->deviceGetAttribute(&major, kComputeCapabilityMajor, d),
        "cuDeviceGetAttribute");
  check(api_->deviceGetAttribute(&minor, kComputeCapabilityMinor, d),
        "cuDeviceGetAttribute");
  return 10 * major + minor;
}

double Driver::fp32Peak(int device) const {
  const int cc = computeCapability(device);
  CUdevice d = 0;
  check(api_->deviceGet(&d, device), "cuDeviceGet");
  int sms = 0, khz = 0;
  if (api_->deviceGetAttribute(&sms, kMultiprocessorCount, d) != 0 ||
      api_->deviceGetAttribute(&khz, kClockRateKHz, d) != 0)
    return 0;
  const int lanes =
      cc == 60 || cc == 70 || cc == 72 || cc == 75 || cc == 80 ? 64 : 128;
  return double(sms) * lanes * 2.0 * khz * 1e3;
}

int Driver::deviceOf(const void *ptr) const {
  unsigned type = 0;
  int ordinal = -1;
  uint64_t address = reinterpret_cast<uintptr_t>(ptr);
  // Host memory the driver never saw is an error result, not a type.
  if (api_->pointerGetAttribute(&type, kPointerMemoryType, address) !=
          kSuccess ||
      (type != kMemoryTypeDevice && type != kMemoryTypeUnified))
    return -1;
  if (api_->pointerGetAttribute(&ordinal, kPointerDeviceOrdinal, address) !=
      kSuccess)
    return -1;
  return ordinal;
}

void *Driver::primaryContext(int device) const {
  checkDevice(device);
  std::lock_guard<std::mutex> lock(api_->primaryMutex);
  void *&ctx = api_->primary[size_t(device)];
  if (!ctx) {
    CUdevice d = 0;
    check(api_->deviceGet(&d, device), "cuDeviceGet");
    check(api_->primaryCtxRetain(&ctx, d), "cuDevicePrimaryCtxRetain");
  }
  return ctx;
}

Driver::Scope::Scope(const Driver &driver, int device) : driver_(driver) {
  void *current = nullptr;
  CUdevice d = -1;
  if (driver.api_->ctxGetCurrent(&current) == kSuccess && current &&
      driver.api_->ctxGetDevice(&d) == kSuccess && d == device)
    context_ = current;
  else
    context_ = driver.primaryContext(device);
  driver.check(driver.api_->ctxPushCurrent(context_), "cuCtxPushCurrent");
}

Driver::Scope::~Scope() {
  void *popped = nullptr;
  driver_.api_->ctxPopCurrent(&popped);
}

void *Driver::loadModule(const std::string &image,
                         const std::string &what) const {
  char info[8192] = {}, errors[8192] = {};
  int options[] = {kJitInfoLogBuffer, kJitInfoLogBufferSize, kJitErrorLogBuffer,
                   kJitErrorLogBufferSize};
  void *values[] = {info, reinterpret_cast<void *>(sizeof info - 1), errors,
                    reinterpret_cast<void *>(sizeof errors - 1)};
  void *module = nullptr;
  if (CUresult r =
          api_->moduleLoadDataEx(&module, image.data(), 4, options, values);
      r != kSuccess)
    throw Error(Error::Kind::Device,
                "rotary: CUDA cannot load " + what + ": " + describe(r) +
                    (errors[0] ? std::string("; JIT log: ") + errors : ""));
  return module;
}

void Driver::unloadModule(void *context, void *module) const noexcept {
  if (!module || api_->ctxPushCurrent(context) != kSuccess)
    return;
  api_->moduleUnload(module);
  void *popped = nullptr;
  api_->ctxPopCurrent(&popped);
}

void *Driver::function(void *module, const std::string &name) const {
  void *fn = nullptr;
  if (CUresult r = api_->moduleGetFunction(&fn, module, name.c_str());
      r != kSuccess)
    throw Error(Error::Kind::Device,
                "rotary: CUDA kernel '" + name +
                    "' is not in its module: " + describe(r));
  return fn;
}

void Driver::launch(void *function, LaunchInfo &info, const int64_t grid[3],
                    const int64_t block[3], unsigned sharedBytes, void *stream,
                    void **params, const std::string &what) const {
  // A block's static and dynamic shared memory together may exceed
  // 48 KiB only once the kernel has opted in (to at least this much).
  int staticBytes = 0;
  if (sharedBytes > 0) {
    staticBytes = info.staticShared.load(std::memory_order_relaxed);
    if (staticBytes < 0) {
      check(
          api_->funcGetAttribute(&staticBytes, kFuncSharedSizeBytes, function),
          "cuFuncGetAttribute");
      info.staticShared.store(staticBytes, std::memory_order_relaxed);
    }
  }
  if (int64_t(staticBytes) + sharedBytes > kDefaultSharedBytes &&
      int64_t(sharedBytes) > info.allowed.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(info.optIn);
    int limit = info.optInLimit.load(std::memory_order_relaxed);
    if (limit < 0) {
      CUdevice device = 0;
      check(api_->ctxGetDevice(&device), "cuCtxGetDevice");
      check(api_->deviceGetAttribute(&limit, kMaxSharedPerBlockOptin, device),
            "cuDeviceGetAttribute");
      info.optInLimit.store(limit, std::memory_order_relaxed);
    }
    if (int64_t(staticBytes) + sharedBytes > int64_t(limit))
      throw Error(Error::Kind::Argument,
                  "rotary: " + what + " needs " +
                      std::to_string(int64_t(staticBytes) + sharedBytes) +
                      " bytes of shared memory per block at these shapes "
                      "(its tiles grow with the head or feature dimension), "
                      "more than the " +
                      std::to_string(limit) +
                      " this GPU allows; compile it with that dimension "
                      "static, which sizes its tiles to fit");
    // Another thread may have allowed more meanwhile: never lower it.
    if (int64_t(sharedBytes) > info.allowed.load(std::memory_order_relaxed)) {
      if (CUresult r = api_->funcSetAttribute(
              function, kFuncMaxDynamicSharedSizeBytes, int(sharedBytes));
          r != kSuccess)
        throw Error(Error::Kind::Device,
                    "rotary: CUDA cannot give " + what + " " +
                        std::to_string(sharedBytes) +
                        " bytes of dynamic shared memory: " + describe(r));
      info.allowed.store(int(sharedBytes), std::memory_order_release);
    }
  }
  if (CUresult r = api_->launchKernel(
          function, unsigned(grid[0]), unsigned(grid[1]), unsigned(grid[2]),
          unsigned(block[0]), unsigned(block[1]), unsigned(block[2]),
          sharedBytes, stream, params, nullptr);
      r != kSuccess)
    throw Error(Error::Kind::Device,
                "rotary: CUDA cannot launch " + what + ": " + describe(r));
}

void *Driver::allocate(size_t bytes, void *stream,
                       const std::string &what) const {
  uint64_t ptr = 0;
  CUresult r = api_->memAllocAsync ? api_->memAllocAsync(&ptr, bytes, stream)
                                   : api_->memAlloc(&ptr, bytes);
  if (r != kSuccess)
    throw Error(Error::Kind::Device, "rotary: CUDA cannot allocate " +
                                         std::to_string(bytes) + " bytes for " +
                                         what + ": " + describe(r));
  return reinterpret_cast<void *>(uintptr_t(ptr));
}

void Driver::release(void *ptr, void *stream) const noexcept {
  if (!ptr)
    return;
  uint64_t address = reinterpret_cast<uintptr_t>(ptr);
  if (api_->memFreeAsync)
    api_->memFreeAsync(address, stream);
  else
    api_->memFree(address);
}

void Driver::copyToDevice(void *dst, const void *src, size_t bytes) const {
  check(api_->memcpyHtoD(reinterpret_cast<uintptr_t>(dst), src, bytes),
        "cuMemcpyHtoD");
}

void Driver::copyToHost(void *dst, const void *src, size_t bytes) const {
  check(api_->memcpyDtoH(dst, reinterpret_cast<uintptr_t>(src), bytes),
        "cuMemcpyDtoH");
}

void Driver::copyOnDevice(void *dst, const void *src, size_t bytes) const {
  check(api_->memcpyDtoD(reinterpret_cast<uintptr_t>(dst),
                         reinterpret_cast<uintptr_t>(src), bytes),
        "cuMemcpyDtoD");
}

void Driver::synchronize(void *stream) const {
  check(api_->streamSynchronize(stream), "cuStreamSynchronize");
}

DeviceBuffer::DeviceBuffer(int device, size_t bytes)
    : size_(bytes), device_(device) {
  const Driver &driver = Driver::get();
  Driver::Scope scope(driver, device);
  uint64_t ptr = 0;
  driver.check(driver.api_->memAlloc(&ptr, bytes ? bytes : 1), "cuMemAlloc");
  data_ = reinterpret_cast<void *>(uintptr_t(ptr));
}

DeviceBuffer::~DeviceBuffer() {
  if (!data_)
    return;
  const Driver &driver = Driver::get();
  Driver::Scope scope(driver, device_);
  driver.api_->memFree(reinterpret_cast<uintptr_t>(data_));
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept
    : data_(o.data_), size_(o.size_), device_(o.device_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  std::swap(data_, o.data_);
  std::swap(size_, o.size_);
  std::swap(device_, o.device_);
  return *this;
}

void DeviceBuffer::copyFrom(const void *host, size_t bytes) {
  const Driver &driver = Driver::get();
  Driver::Scope scope(driver, device_);
  driver.copyToDevice(data_, host, std::min(bytes, size_));
}

void DeviceBuffer::copyTo(void *host, size_t bytes) const {
  const Driver &driver = Driver::get();
  Driver::Scope scope(driver, device_);
  driver.copyToHost(host, data_, std::min(bytes, size_));
}

} // namespace rotary::runtime::cuda
