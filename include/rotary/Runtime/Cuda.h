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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace rotary::runtime::cuda {

/// What Driver::launch learns about a kernel once and keeps for its later
/// launches: its static shared memory, the device's opt-in limit and the
/// dynamic shared memory the kernel is allowed so far. Kept by the owner of
/// the loaded module, one per kernel, so that it dies with the handle;
/// calls on several threads share it.
struct LaunchInfo {
  std::atomic<int> staticShared{-1}; ///< -1: not asked yet
  std::atomic<int> optInLimit{-1};
  std::atomic<int> allowed{0}; ///< dynamic bytes opted in to (0: none)
  std::mutex optIn;            ///< one opt-in at a time, never lowering it
};

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
  /// The architecture the compiler calls the device: "sm_" + capability.
  std::string architecture(int device) const {
    return "sm_" + std::to_string(computeCapability(device));
  }
  /// The device's FP32 FMA peak in flop/s: multiprocessors × FP32 lanes
  /// per multiprocessor (64 on sm_60/70/75/80, else 128) × 2 × the
  /// driver's (boost) clock. 0 when the driver does not say.
  double fp32Peak(int device) const;

  /// "CUDA_ERROR_NAME (description)" for a driver result: the driver's own
  /// words when it has them, else the name from the runtime's table.
  std::string describe(int result) const;

  // What the runtime's GPU path needs (GpuBundle.cpp): handles are the
  // driver's own (CUcontext, CUmodule, CUfunction, CUstream) as void *.
  // Every failure throws Error (Kind::Device) naming the call and `what`.

  /// The device ordinal of the memory at `ptr` when the driver knows it as
  /// device (or managed) memory, -1 when it does not (host memory).
  int deviceOf(const void *ptr) const;
  /// Makes `device` current on this thread until destroyed: the caller's
  /// current context when it is on that device, else the device's primary
  /// context (retained once for the process), as PyTorch does.
  class Scope {
  public:
    Scope(const Driver &driver, int device);
    ~Scope();
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;
    void *context() const { return context_; }

  private:
    const Driver &driver_;
    void *context_ = nullptr;
  };
  /// Loads a cubin or PTX image into the current context; a failure names
  /// `what` and carries the JIT compiler's log.
  void *loadModule(const std::string &image, const std::string &what) const;
  /// Unloads `module` of `context` (made current meanwhile).
  void unloadModule(void *context, void *module) const noexcept;
  /// The kernel `name` of `module`.
  void *function(void *module, const std::string &name) const;
  /// Launches `function`; more than 48 KiB of shared memory in all (its
  /// static and `sharedBytes` of dynamic) is first allowed for it (CUDA's
  /// opt-in), and more than the device allows a block is an Error
  /// (Kind::Argument) naming `what` and the sizes. The driver is asked
  /// each of these once per kernel (`info`).
  void launch(void *function, LaunchInfo &info, const int64_t grid[3],
              const int64_t block[3], unsigned sharedBytes, void *stream,
              void **params, const std::string &what) const;
  /// Device memory on the current context, ordered on `stream` when the
  /// driver has stream-ordered allocation (CUDA 11.2), else synchronous.
  void *allocate(size_t bytes, void *stream, const std::string &what) const;
  void release(void *ptr, void *stream) const noexcept;
  void copyToDevice(void *dst, const void *src, size_t bytes) const;
  void copyToHost(void *dst, const void *src, size_t bytes) const;
  /// Device to device, ordered on the legacy default stream.
  void copyOnDevice(void *dst, const void *src, size_t bytes) const;
  void synchronize(void *stream) const;

  struct Api; ///< the resolved entry points (Cuda.cpp)

private:
  friend class DeviceBuffer;
  explicit Driver(std::unique_ptr<Api> api);
  void checkDevice(int device) const;
  void *primaryContext(int device) const;
  /// Throws Error (Kind::Device) naming `what` unless `result` is 0.
  void check(int result, const char *what) const;
  std::unique_ptr<Api> api_;
};

/// Device memory of the process's driver on one device (its primary
/// context), freed on destruction: what programs without a framework (the
/// runner, the GPU check) hold tensors in.
class ROTARY_RUNTIME_API DeviceBuffer {
public:
  DeviceBuffer(int device, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  void *data() const { return data_; }
  size_t size() const { return size_; }
  int device() const { return device_; }
  /// Synchronous copies of the first `bytes` (at most size()).
  void copyFrom(const void *host, size_t bytes);
  void copyTo(void *host, size_t bytes) const;

private:
  void *data_ = nullptr;
  size_t size_ = 0;
  int device_ = 0;
};

} // namespace rotary::runtime::cuda

#endif // ROTARY_RUNTIME_CUDA_H
