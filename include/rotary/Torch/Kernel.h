//===- Kernel.h - compiled kernels and argument checks for modules -*- C++
//-*-===//
//
// What every module of the model library shares: the process's JIT cache
// (compiled bundles of rotary/Model/Kernels.h sources, memoized per source
// so a forward pays one map lookup), the dtype mapping, and argument checks
// that throw a c10::Error naming the module, the argument and what was
// expected before anything runs.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_KERNEL_H
#define ROTARY_TORCH_KERNEL_H

#include "rotary/Bundle/Manifest.h"
#include "rotary/Model/Kernels.h"
#include "rotary/Runtime/Runtime.h"

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rotary::nn {

/// The bundle of `source` (a module from rotary/Model/Kernels.h), compiled
/// with gradients through the process's JIT cache on first use: for the
/// CPU when `gpuChip` is empty, else also with GPU code for that
/// architecture ("sm_90"). Throws c10::Error with the compiler's message
/// when it does not compile.
std::shared_ptr<runtime::Bundle>
compiledKernel(const std::string &source, const std::string &gpuChip = "");

/// The GPU architecture compiledKernel needs for tensors on `device`: ""
/// for the CPU, the GPU's "sm_XY" (asked from the CUDA driver once per
/// device) for a CUDA device. c10::Error for other devices, or when the
/// driver cannot say.
std::string kernelTarget(const at::Device &device);

/// A module's compiled kernels by configuration key and target. The IR is
/// built and compiled (or found in the JIT cache) only the first time a
/// key is seen on a device's architecture; after that a forward costs a
/// map lookup.
template <typename Key> class KernelSet {
public:
  /// The bundle of `key` for tensors on `device`; `makeConfig()` gives its
  /// rotary/Model/Kernels.h configuration on a miss.
  template <typename MakeConfig>
  std::shared_ptr<runtime::Bundle> get(const Key &key, const at::Device &device,
                                       MakeConfig makeConfig) {
    std::pair<Key, std::string> k(key, kernelTarget(device));
    auto it = kernels_.find(k);
    if (it != kernels_.end())
      return it->second;
    return kernels_[k] =
               compiledKernel(model::buildSource(makeConfig()), k.second);
  }
  void clear() { kernels_.clear(); }

private:
  std::map<std::pair<Key, std::string>, std::shared_ptr<runtime::Bundle>>
      kernels_;
};

/// Sets the directory of the process's JIT cache (default:
/// rotary::nn::defaultCacheDirectory(), i.e. $ROTARY_CACHE_DIR, ...).
/// Bundles already loaded stay loaded.
void setKernelCacheDirectory(const std::string &directory);

/// The bundle dtype of a floating-point data tensor (f32, f16, bf16);
/// c10::Error naming `module` and `arg` otherwise.
bundle::DType dataDType(const char *module, const char *arg,
                        const at::Tensor &t);

/// Checks that `t` is defined, on the CPU or a CUDA GPU (the runtime checks
/// that all tensors of a call are on one device), row-major contiguous and of
/// rank `shape.size()`, and that each dimension whose entry in `sizes` is
/// >= 0 has that size. `shape` names the dimensions for the message, e.g.
/// {"B", "T", "H", "D"}; a first name "..." stands for any number of
/// leading dimensions ({"...", "D"}: rank >= 1, the last dimension D).
/// Throws c10::Error: "rotary::nn::Rope: x must be [B, T, H, D] with
/// D = 64, got [2, 5, 4, 32]".
void checkTensor(const char *module, const char *arg, const at::Tensor &t,
                 std::initializer_list<const char *> shape,
                 std::initializer_list<int64_t> sizes = {});

/// The same two checks for callers that name themselves (the Python
/// package: "rotary.nn.Rope") and hold the shape as vectors. A wrong dtype
/// is a c10::TypeError; an undefined tensor, another device, shape or
/// layout a c10::ValueError (both are c10::Errors).
bundle::DType dataDTypeOf(const std::string &who, const std::string &arg,
                          const at::Tensor &t);
void checkTensorOf(const std::string &who, const std::string &arg,
                   const at::Tensor &t, const std::vector<std::string> &shape,
                   const std::vector<int64_t> &sizes = {});

/// The sizes of `t` as "[2, 5, 4, 32]".
std::string shapeString(const at::Tensor &t);

} // namespace rotary::nn

#endif // ROTARY_TORCH_KERNEL_H
