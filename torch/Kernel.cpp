//===- Kernel.cpp - compiled kernels and argument checks for modules ------===//

#include "rotary/Torch/Kernel.h"

#include "rotary/Torch/JitCache.h"
#include "rotary/Torch/Call.h"

#include <c10/util/Exception.h>

#include <map>
#include <mutex>
#include <sstream>

using namespace rotary;

namespace {
struct KernelRegistry {
  std::mutex mutex;
  std::string directory; // "" = the default
  std::unique_ptr<nn::JitCache> cache;
  std::map<std::string, std::shared_ptr<runtime::Bundle>> loaded;
};

KernelRegistry &registry() {
  static KernelRegistry r;
  return r;
}
} // namespace

std::shared_ptr<runtime::Bundle> nn::compiledKernel(const std::string &source) {
  KernelRegistry &r = registry();
  // One compile at a time per process: a module's first forward on several
  // threads compiles once, the others find it loaded.
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.loaded.find(source);
  if (it != r.loaded.end())
    return it->second;
  try {
    if (!r.cache) {
      compiler::CompileOptions options;
      options.gradients = true;
      r.cache = std::make_unique<nn::JitCache>(r.directory, options);
    }
    auto bundle = r.cache->get(source);
    r.loaded.emplace(source, bundle);
    return bundle;
  } catch (const std::exception &e) {
    TORCH_CHECK(false, e.what());
  }
  return nullptr;
}

void nn::setKernelCacheDirectory(const std::string &directory) {
  KernelRegistry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.directory = directory;
  r.cache.reset();
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
  TORCH_CHECK_VALUE(t.device().is_cpu(), who, ": ", arg, " is on ", t.device(),
                    "; the compiled kernels run on the CPU");
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
