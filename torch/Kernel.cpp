//===- Kernel.cpp - compiled kernels and argument checks for modules ------===//

#include "rotary/Torch/Kernel.h"

#include "rotary/Runtime/Cuda.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/JitCache.h"

#include <c10/util/Exception.h>

#include <map>
#include <mutex>
#include <sstream>

using namespace rotary;

namespace {
struct KernelRegistry {
  std::mutex mutex;
  std::string directory; // "" = the default
  /// One cache per target ("" the CPU, else a GPU architecture): the
  /// options are part of an entry's key.
  std::map<std::string, std::unique_ptr<nn::JitCache>> caches;
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<runtime::Bundle>>
      loaded;
  /// The architecture of each CUDA device asked so far.
  std::map<int, std::string> chips;
};

KernelRegistry &registry() {
  static KernelRegistry r;
  return r;
}
} // namespace

std::shared_ptr<runtime::Bundle>
nn::compiledKernel(const std::string &source, const std::string &gpuChip) {
  KernelRegistry &r = registry();
  // One compile at a time per process: a module's first forward on several
  // threads compiles once, the others find it loaded.
  std::lock_guard<std::mutex> lock(r.mutex);
  auto key = std::make_pair(source, gpuChip);
  auto it = r.loaded.find(key);
  if (it != r.loaded.end())
    return it->second;
  try {
    std::unique_ptr<nn::JitCache> &cache = r.caches[gpuChip];
    if (!cache) {
      compiler::CompileOptions options;
      options.gradients = true;
      if (!gpuChip.empty())
        options.gpuChips = {gpuChip};
      cache = std::make_unique<nn::JitCache>(r.directory, options);
    }
    auto bundle = cache->get(source);
    r.loaded.emplace(key, bundle);
    return bundle;
  } catch (const std::exception &e) {
    TORCH_CHECK(false, e.what());
  }
  return nullptr;
}

std::string nn::kernelTarget(const at::Device &device) {
  if (device.is_cpu())
    return "";
  TORCH_CHECK_VALUE(device.is_cuda(), "rotary: tensors on ", device,
                    " have no compiled kernels; they run on the CPU or a "
                    "CUDA GPU");
  KernelRegistry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  int index = device.has_index() ? device.index() : 0;
  auto it = r.chips.find(index);
  if (it != r.chips.end())
    return it->second;
  try {
    return r.chips[index] = runtime::cuda::Driver::get().architecture(index);
  } catch (const std::exception &e) {
    std::string why = e.what();
    if (why.rfind("rotary: ", 0) == 0)
      why.erase(0, 8);
    TORCH_CHECK(false, "rotary: cannot compile for ", device, ": ", why);
  }
  return "";
}

void nn::setKernelCacheDirectory(const std::string &directory) {
  KernelRegistry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.directory = directory;
  r.caches.clear();
}

std::string nn::shapeString(const at::Tensor &t) {
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); ++d)
    os << (d ? ", " : "") << t.size(d);
  os << "]";
  return os.str();
}

bundle::DType nn::dataDType(const char *module, const char *arg,
                            const at::Tensor &t) {
  return dataDTypeOf(std::string("rotary::nn::") + module, arg, t);
}

bundle::DType nn::dataDTypeOf(const std::string &who, const std::string &arg,
                              const at::Tensor &t) {
  TORCH_CHECK_VALUE(t.defined(), who, ": ", arg, " is an undefined tensor");
  std::optional<bundle::DType> d = nn::bundleDType(t.scalar_type());
  TORCH_CHECK_TYPE(d == bundle::DType::F32 || d == bundle::DType::F16 ||
                       d == bundle::DType::BF16,
                   who, ": ", arg, " must be float32, ",
                   "float16 or bfloat16, got ", t.scalar_type());
  return *d;
}

void nn::checkTensor(const char *module, const char *arg, const at::Tensor &t,
                     std::initializer_list<const char *> shape,
                     std::initializer_list<int64_t> sizes) {
  checkTensorOf(std::string("rotary::nn::") + module, arg, t,
                std::vector<std::string>(shape.begin(), shape.end()),
                std::vector<int64_t>(sizes));
}

void nn::checkTensorOf(const std::string &who, const std::string &arg,
                       const at::Tensor &t,
                       const std::vector<std::string> &shape,
                       const std::vector<int64_t> &sizes) {
  TORCH_CHECK_VALUE(t.defined(), who, ": ", arg, " is an undefined tensor");
  auto expected = [&] {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < shape.size(); ++i)
      os << (i ? ", " : "") << shape[i];
    os << "]";
    bool first = true;
    for (size_t i = 0; i < sizes.size() && i < shape.size(); ++i) {
      if (sizes[i] < 0)
        continue;
      os << (first ? " with " : ", ") << shape[i] << " = " << sizes[i];
      first = false;
    }
    return os.str();
  };
  TORCH_CHECK_VALUE(t.device().is_cpu() || t.device().is_cuda(), who, ": ", arg,
                    " is on ", t.device(),
                    "; the compiled kernels run on the CPU or a CUDA GPU");
  // A leading "..." stands for any number of leading dimensions; the
  // other names (and sizes) are then the trailing ones.
  bool variadic = !shape.empty() && shape.front() == "...";
  int64_t named = int64_t(shape.size()) - (variadic ? 1 : 0);
  bool ok = variadic ? t.dim() >= named : t.dim() == named;
  int64_t first = variadic ? t.dim() - int64_t(shape.size()) : 0;
  for (size_t i = variadic; ok && i < sizes.size() && i < shape.size(); ++i)
    if (sizes[i] >= 0 && t.size(first + int64_t(i)) != sizes[i])
      ok = false;
  TORCH_CHECK_VALUE(ok, who, ": ", arg, " must be ", expected(), ", got ",
                    shapeString(t));
  TORCH_CHECK_VALUE(t.is_contiguous(), who, ": ", arg,
                    " must be contiguous (row-major), got strides ",
                    t.strides(), "; call .contiguous() first");
}
