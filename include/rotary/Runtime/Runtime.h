//===- Runtime.h - load kernel bundles and call their entries ---*- C++ -*-===//
//
// The C++ API of librotary_runtime: load a kernel bundle (a directory
// `NAME.rotary/` with manifest.json and cpu/kernels.so, see
// rotary/Bundle/Manifest.h), check tensors against the manifest, and call an
// entry point. The runtime links neither MLIR nor LLVM; it needs only libc,
// libstdc++ and the dynamic loader. Every failure is reported by throwing
// rotary::runtime::Error with a message that names the entry, the argument
// (by its manifest name), the expected and the actual value.
//
// A Bundle is immutable after load(): call() and outputShapes() may run
// concurrently from several threads.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_RUNTIME_RUNTIME_H
#define ROTARY_RUNTIME_RUNTIME_H

#include "rotary/Bundle/Manifest.h"
#include "rotary/Runtime/Export.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rotary::runtime {

class ROTARY_RUNTIME_API Error : public std::runtime_error {
public:
  enum class Kind {
    Load,     ///< the bundle cannot be loaded (files, manifest, library)
    Argument, ///< unknown entry, or a tensor that does not fit the manifest
    Check,    ///< the kernel reported a failed run-time check
    Device,   ///< the GPU path: no usable driver or device, a CUDA error
    Internal, ///< anything else (out of memory, ...)
  };
  Error(Kind kind, const std::string &message);
  Kind kind() const noexcept { return kind_; }

private:
  Kind kind_;
};

/// A view of a tensor owned by the caller (no ownership, no copy).
struct TensorRef {
  enum class Device { CPU, CUDA };

  void *data = nullptr;
  bundle::DType dtype = bundle::DType::F32;
  std::vector<int64_t> shape;
  /// Strides in elements, one per dimension; empty means row-major
  /// contiguous. Kernels need row-major contiguous tensors (strides of
  /// dimensions of size 1 are ignored, as in PyTorch).
  std::vector<int64_t> strides;
  Device device = Device::CPU;

  TensorRef() = default;
  TensorRef(void *data, bundle::DType dtype, std::vector<int64_t> shape,
            std::vector<int64_t> strides = {}, Device device = Device::CPU)
      : data(data), dtype(dtype), shape(std::move(shape)),
        strides(std::move(strides)), device(device) {}
};

/// How a call runs, beyond its tensors.
struct CallOptions {
  /// The CUstream a call on CUDA tensors is ordered on (null: the legacy
  /// default stream). The call returns once its kernels are queued.
  void *cudaStream = nullptr;
};

class ROTARY_RUNTIME_API Bundle {
public:
  /// Loads the bundle directory `dir`: reads and validates manifest.json,
  /// recomputes its content_hash over the manifest and the CPU library and
  /// refuses a bundle edited after compilation (bundle::contentHash),
  /// dlopens the library (RTLD_NOW | RTLD_LOCAL; closed when the last
  /// shared_ptr goes) and resolves the symbol of every entry. Throws Error
  /// (Kind::Load) naming the directory and what is wrong, with the
  /// system's reason for a file that cannot be read (permission denied, a
  /// directory, not a regular file).
  static std::shared_ptr<Bundle> load(const std::string &dir);

  ~Bundle();
  Bundle(const Bundle &) = delete;
  Bundle &operator=(const Bundle &) = delete;

  const std::string &directory() const;
  const bundle::Manifest &manifest() const;
  /// Throws Error (Kind::Argument) naming the missing entry and listing the
  /// available ones.
  const bundle::Entry &entry(const std::string &name) const;

  /// Checks `inputs` and `outputs` against the manifest (count, dtype, rank,
  /// static dimensions, device, contiguity, alignment, null data, output
  /// shapes), then runs the entry on the CPU. Outputs are written in place.
  /// Throws Error: Kind::Argument for a tensor that does not fit (nothing is
  /// run), Kind::Check with the manifest's message when the kernel reports a
  /// failed run-time check.
  void call(const std::string &entry, const std::vector<TensorRef> &inputs,
            const std::vector<TensorRef> &outputs) const;
  /// The same, where the tensors say: on the CPU, or, when the tensors are
  /// CUDA tensors (all of them, device memory on one device), with the
  /// bundle's GPU code on `options.cudaStream`. A GPU call checks what
  /// call() checks and that every tensor's data is device memory; it
  /// throws Error Kind::Argument when the bundle has no GPU code, and
  /// Kind::Device (or Kind::Load: no driver) when the GPU cannot run it.
  void call(const std::string &entry, const std::vector<TensorRef> &inputs,
            const std::vector<TensorRef> &outputs,
            const CallOptions &options) const;

  /// The shapes the outputs of `entry` must have for these inputs (the
  /// inputs are checked as by call()).
  std::vector<std::vector<int64_t>>
  outputShapes(const std::string &entry,
               const std::vector<TensorRef> &inputs) const;

private:
  struct Impl;
  explicit Bundle(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// What runs the kernels' parallel loops: body(ctx, begin, end) must be
/// called over ranges that partition [0, n), on any threads, and all must
/// have returned when the launcher returns (bundle ABI, Manifest.h).
using ParallelBody = void (*)(void *ctx, int64_t begin, int64_t end);
using ParallelFor = void (*)(ParallelBody body, void *ctx, int64_t n);

/// Sets the launcher every loaded bundle uses from now on (bundles loaded
/// before included); nullptr restores the runtime's own: one range per
/// thread of an OpenMP team of GNU libgomp (the runtime Debian's LibTorch
/// runs its CPU ops on, so a process holds one pool of threads, not two
/// competing ones) with ROTARY_NUM_THREADS threads, every processor when
/// unset. An application with a pool of its own (TBB, a task system) can
/// run the kernels there instead.
ROTARY_RUNTIME_API void setParallelFor(ParallelFor launcher);

} // namespace rotary::runtime

#endif // ROTARY_RUNTIME_RUNTIME_H
