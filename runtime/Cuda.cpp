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

#include <cstdlib>
#include <mutex>
#include <optional>

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
  int devices = 0;

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
    throw Error(Error::Kind::Internal, std::string("rotary: CUDA ") + what +
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

} // namespace rotary::runtime::cuda
