//===- GpuBundle.h - the GPU code of a loaded bundle ------------*- C++ -*-===//
//
// Internal to librotary_runtime. A bundle's GpuCode (rotary/Bundle/
// Manifest.h): its host library opened with its hooks set, the PTX checked
// against the kernels the manifest lists, and per CUDA context the module
// loaded from the image that fits the device (the cubin of its exact
// architecture, else the PTX of the newest architecture it can run).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_RUNTIME_GPUBUNDLE_H
#define ROTARY_RUNTIME_GPUBUNDLE_H

#include "rotary/Bundle/Manifest.h"
#include "rotary/Runtime/Cuda.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rotary::runtime::detail {

/// Why the ELF library `file` (its bytes) cannot be mapped whole, or an
/// empty string: dlopen would map a truncated file and fault later.
std::string truncatedElf(std::string_view file);

class GpuBundle {
public:
  /// Throws Error (Kind::Load) naming `dir` and what is wrong. `files` are
  /// the bundle's hashed files, already read (and checked).
  GpuBundle(const std::string &dir, const bundle::Manifest &manifest,
            const std::vector<bundle::BundleFile> &files);
  ~GpuBundle();
  GpuBundle(const GpuBundle &) = delete;
  GpuBundle &operator=(const GpuBundle &) = delete;

  /// Runs entry `index` (of the manifest) with descriptors `args` holding
  /// device pointers, on `device` and `stream`. Returns the entry's status
  /// (0, or the failed check's number); throws Error (Kind::Device) when a
  /// driver call fails.
  int32_t run(size_t index, void **args, int device, void *stream) const;

  /// The kernel modules of one context.
  struct Loaded {
    void *module = nullptr;
    std::vector<void *> functions; ///< parallel to GpuCode::kernels
    /// What launches learned about each function (parallel to them).
    std::unique_ptr<cuda::LaunchInfo[]> launchInfo;
    std::string image;             ///< "sm_90 cubin", for messages
  };

private:
  const Loaded &modulesFor(void *context, int device) const;

  std::string dir_;
  const bundle::Manifest &manifest_;
  std::vector<std::pair<std::string, std::string>> images_; ///< path, bytes
  void *handle_ = nullptr;
  std::vector<int32_t (*)(void **)> entries_;
  mutable std::mutex mutex_;
  mutable std::map<void *, Loaded> loaded_;
};

} // namespace rotary::runtime::detail

#endif // ROTARY_RUNTIME_GPUBUNDLE_H
