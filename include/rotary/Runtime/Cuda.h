//===- Cuda.h - the CUDA driver, loaded at run time -------------*- C++ -*-===//
//
// librotary_runtime reaches the GPU through the CUDA driver API, which it
// loads with dlopen when first asked: nothing links libcuda, and a process
// on a machine without a driver or a GPU loads bundles and runs them on the
// CPU as before. Every failure is a rotary::runtime::Error whose message is
// one line a user can act on: no driver library, the CUDA toolkit's stub
// library (a build machine's libcuda, which answers every call with
// CUDA_ERROR_STUB_LIBRARY), no device, a driver too old for the API used,
// or a call that failed, named with the driver's error name.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_RUNTIME_CUDA_H
#define ROTARY_RUNTIME_CUDA_H

#include "rotary/Runtime/Export.h"

#include <memory>
#include <string>

namespace rotary::runtime::cuda {

class ROTARY_RUNTIME_API Driver {
public:
  /// Opens the driver library at `path` (empty: $ROTARY_LIBCUDA when set,
  /// else libcuda.so.1 from the loader's search path), resolves the entry
  /// points the runtime uses, initialises the driver (cuInit) and counts
  /// the devices. Throws Error (Kind::Load) saying why the GPU path is not
  /// available.
  static std::unique_ptr<Driver> open(const std::string &path = "");

  /// The process's driver, opened on the first call; later calls return it,
  /// or throw the first call's Error again.
  static Driver &get();

  /// Whether get() succeeds; if not and `why` is given, its message.
  static bool available(std::string *why = nullptr);

  ~Driver();
  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

  /// The driver's CUDA version, as 1000 * major + 10 * minor.
  int version() const;
  /// Devices the driver sees (at least one: open() refuses none).
  int deviceCount() const;
  /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
  std::string deviceName(int device) const;
  /// The device's compute capability as 10 * major + minor (90 for sm_90).
  int computeCapability(int device) const;

  /// "CUDA_ERROR_NAME (description)" for a driver result: the driver's own
  /// words when it has them, else the name from the runtime's table.
  std::string describe(int result) const;

  struct Api; ///< the resolved entry points (Cuda.cpp)

private:
  explicit Driver(std::unique_ptr<Api> api);
  void checkDevice(int device) const;
  /// Throws Error (Kind::Internal) naming `what` unless `result` is 0.
  void check(int result, const char *what) const;
  std::unique_ptr<Api> api_;
};

} // namespace rotary::runtime::cuda

#endif // ROTARY_RUNTIME_CUDA_H
