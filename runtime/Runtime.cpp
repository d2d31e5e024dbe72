//===- Runtime.cpp - bundle loading, argument checks, CPU launch ----------===//
//
// The C++ API of rotary/Runtime/Runtime.h. No MLIR or LLVM: the manifest is
// read with rotary_bundle, its content_hash is recomputed over the manifest
// and the CPU library (a bundle changed since compilation is refused), the
// library is opened with dlopen, and entries are called through the ABI of
// rotary/Bundle/Manifest.h (one pointer per tensor to an MLIR strided memref
// descriptor).
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Runtime.h"
#include "GpuBundle.h"
#include "rotary/Runtime/Cuda.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/stat.h>
#include <unordered_map>

using namespace rotary;
using namespace rotary::runtime;
using bundle::Dim;
using bundle::DType;
using bundle::Entry;
using bundle::TensorSpec;

static_assert(sizeof(void *) == sizeof(int64_t),
              "the memref descriptor layout assumes 64-bit pointers");

namespace {

using KernelFn = int32_t (*)(void **);

//===--------------------------------------------------------------------===//
// Formatting
//===--------------------------------------------------------------------===//

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string formatSpecShape(const Entry &entry, const TensorSpec &spec) {
  std::string s = "[";
  for (size_t i = 0; i < spec.shape.size(); ++i) {
    const Dim &dim = spec.shape[i];
    s += i ? ", " : "";
    switch (dim.kind) {
    case Dim::Kind::Static:
      s += std::to_string(dim.size);
      break;
    case Dim::Kind::Dynamic:
      s += "?";
      break;
    case Dim::Kind::SameAs:
      s += entry.inputs[dim.input].name + ".shape[" + std::to_string(dim.dim) +
           "]";
      break;
    }
  }
  return s + "]";
}

std::string plural(size_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string names(const std::vector<TensorSpec> &specs) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i)
    s += (i ? ", " : "") + specs[i].name;
  return s;
}

const char *deviceName(TensorRef::Device device) {
  switch (device) {
  case TensorRef::Device::CPU:
    return "CPU";
  case TensorRef::Device::CUDA:
    return "CUDA";
  }
  return "an unknown device";
}

[[noreturn]] void argumentError(const Entry &entry, const std::string &what) {
  throw Error(Error::Kind::Argument, "entry '" + entry.name + "': " + what);
}

//===--------------------------------------------------------------------===//
// Argument checks
//===--------------------------------------------------------------------===//

/// Where a call runs: on the device of its first tensor when the bundle
/// has GPU code, else on the CPU.
struct Placement {
  TensorRef::Device device = TensorRef::Device::CPU;
  bool bundleHasGpu = false;
};

/// Checks one tensor against its spec, except the sizes of its dimensions
/// (checked by the caller, which knows what they must be). Returns numel.
int64_t checkTensor(const Entry &entry, const TensorSpec &spec,
                    const TensorRef &t, Placement where) {
  const std::string arg = "argument '" + spec.name + "'";
  if (t.device != where.device) {
    const bool cpu = where.device == TensorRef::Device::CPU;
    std::string why = where.bundleHasGpu
                          ? " (all tensors of a call must be on one device)"
                      : t.device == TensorRef::Device::CUDA
                          ? " (the bundle has no GPU code: compile it with "
                            "--gpu=sm_80,sm_90 to run CUDA tensors)"
                          : "";
    throw Error(Error::Kind::Argument,
                "entry '" + entry.name + "' runs on " +
                    (cpu ? "the CPU" : "CUDA") +
                    (where.bundleHasGpu ? " for these tensors; " : "; ") + arg +
                    " is on " + deviceName(t.device) + why);
  }
  if (t.dtype != spec.dtype)
    argumentError(entry, arg + " must be " + bundle::dtypeName(spec.dtype) +
                             ", got " + bundle::dtypeName(t.dtype));
  if (t.shape.size() != spec.shape.size())
    argumentError(entry, arg + " must have rank " +
                             std::to_string(spec.shape.size()) + " (shape " +
                             formatSpecShape(entry, spec) + "), got rank " +
                             std::to_string(t.shape.size()) + " (shape " +
                             formatShape(t.shape) + ")");
  // `span` (the product of the non-zero sizes) bounds every stride.
  int64_t numel = 1, span = 1;
  for (int64_t size : t.shape) {
    if (size < 0)
      argumentError(entry, arg + " has a negative size in shape " +
                               formatShape(t.shape));
    if (__builtin_mul_overflow(span, size ? size : 1, &span))
      argumentError(entry, arg + " has too many elements: shape " +
                               formatShape(t.shape));
    numel *= size;
  }
  const int64_t elemBytes = bundle::dtypeBytes(t.dtype);
  int64_t bytes;
  if (__builtin_mul_overflow(numel, elemBytes, &bytes))
    argumentError(entry, arg + " has too many elements: shape " +
                             formatShape(t.shape));

  // Row-major contiguity; the stride of a dimension of size 1 is free, and
  // an empty tensor is contiguous whatever its strides.
  if (!t.strides.empty()) {
    if (t.strides.size() != t.shape.size())
      argumentError(entry, arg + " has " + plural(t.strides.size(), "stride") +
                               " for rank " + std::to_string(t.shape.size()));
    if (numel != 0) {
      std::vector<int64_t> expected(t.shape.size());
      int64_t running = 1;
      bool contiguous = true;
      for (size_t i = t.shape.size(); i-- > 0;) {
        expected[i] = running;
        if (t.shape[i] != 1 && t.strides[i] != running)
          contiguous = false;
        running *= t.shape[i];
      }
      if (!contiguous)
        argumentError(entry, arg +
                                 " must be contiguous (call .contiguous()): "
                                 "shape " +
                                 formatShape(t.shape) + " needs strides " +
                                 formatShape(expected) + ", got strides " +
                                 formatShape(t.strides));
    }
  }
  if (!t.data && numel != 0)
    argumentError(entry, arg + " has no data (a null pointer) but " +
                             plural(size_t(numel), "element"));
  if (t.data && reinterpret_cast<uintptr_t>(t.data) % uintptr_t(elemBytes)) {
    char pointer[32];
    std::snprintf(pointer, sizeof(pointer), "%p", t.data);
    argumentError(entry, arg + " has data at " + pointer +
                             ", which is not aligned to " +
                             plural(size_t(elemBytes), "byte") + " (one " +
                             bundle::dtypeName(t.dtype) + ")");
  }
  return numel;
}

void checkCount(const Entry &entry, const std::vector<TensorSpec> &specs,
                size_t got, const char *what) {
  if (got == specs.size())
    return;
  std::string listed = specs.empty() ? "" : " (" + names(specs) + ")";
  throw Error(Error::Kind::Argument, "entry '" + entry.name + "' takes " +
                                         plural(specs.size(), what) + listed +
                                         ", got " + std::to_string(got));
}

void checkInputs(const Entry &entry, const std::vector<TensorRef> &inputs,
                 Placement device) {
  checkCount(entry, entry.inputs, inputs.size(), "input");
  for (size_t i = 0; i < inputs.size(); ++i)
    checkTensor(entry, entry.inputs[i], inputs[i], device);
  // Sizes: static dimensions, and same_as between inputs (the manifest
  // header keeps inputs to static and dynamic, but honour it if present).
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec &spec = entry.inputs[i];
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      const Dim &dim = spec.shape[d];
      int64_t want;
      if (dim.kind == Dim::Kind::Static)
        want = dim.size;
      else if (dim.kind == Dim::Kind::SameAs)
        want = inputs[dim.input].shape[dim.dim];
      else
        continue;
      if (inputs[i].shape[d] != want)
        argumentError(entry, "argument '" + spec.name + "' must have shape " +
                                 formatSpecShape(entry, spec) + ", got " +
                                 formatShape(inputs[i].shape) + " (dimension " +
                                 std::to_string(d) + " must be " +
                                 std::to_string(want) + ")");
    }
  }
}

/// The shape of output `spec` for checked inputs; nullopt entries are
/// dynamic output dimensions (not produced by the compiler).
std::vector<int64_t> expectedShape(const Entry &entry, const TensorSpec &spec,
                                   const std::vector<TensorRef> &inputs,
                                   bool *hasDynamic) {
  std::vector<int64_t> shape;
  for (const Dim &dim : spec.shape) {
    switch (dim.kind) {
    case Dim::Kind::Static:
      shape.push_back(dim.size);
      break;
    case Dim::Kind::SameAs:
      shape.push_back(inputs[dim.input].shape[dim.dim]);
      break;
    case Dim::Kind::Dynamic:
      shape.push_back(-1);
      *hasDynamic = true;
      break;
    }
  }
  return shape;
}

void checkOutputs(const Entry &entry, const std::vector<TensorRef> &inputs,
                  const std::vector<TensorRef> &outputs, Placement device) {
  checkCount(entry, entry.outputs, outputs.size(), "output");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorSpec &spec = entry.outputs[i];
    checkTensor(entry, spec, outputs[i], device);
    bool dynamic = false;
    std::vector<int64_t> want = expectedShape(entry, spec, inputs, &dynamic);
    for (size_t d = 0; d < want.size(); ++d) {
      if (want[d] < 0 || outputs[i].shape[d] == want[d])
        continue;
      argumentError(entry, "argument '" + spec.name + "' (output " +
                               std::to_string(i) + ") must have shape " +
                               formatShape(want) + " (from " +
                               formatSpecShape(entry, spec) + "), got " +
                               formatShape(outputs[i].shape));
    }
  }
}

/// The CUDA device every tensor of a GPU call is on: each non-empty one
/// must be memory the driver knows, all on one device (the first
/// tensor's; device 0 when all are empty). Throws Error naming the tensor.
int checkDeviceMemory(const Entry &entry, const std::vector<TensorRef> &inputs,
                      const std::vector<TensorRef> &outputs) {
  const cuda::Driver &driver = cuda::Driver::get();
  int device = -1;
  std::string first;
  for (const auto *list : {&inputs, &outputs})
    for (size_t i = 0; i < list->size(); ++i) {
      const TensorRef &t = (*list)[i];
      const TensorSpec &spec =
          list == &inputs ? entry.inputs[i] : entry.outputs[i];
      bool empty = false;
      for (int64_t size : t.shape)
        empty |= size == 0;
      if (empty)
        continue;
      int d = driver.deviceOf(t.data);
      if (d < 0) {
        char pointer[32];
        std::snprintf(pointer, sizeof(pointer), "%p", t.data);
        argumentError(entry, "argument '" + spec.name +
                                 "' is a CUDA tensor, but its data at " +
                                 pointer +
                                 " is not CUDA device memory the driver "
                                 "knows");
      }
      if (device < 0) {
        device = d;
        first = spec.name;
      } else if (d != device) {
        argumentError(entry, "argument '" + spec.name + "' is on CUDA device " +
                                 std::to_string(d) + ", but '" + first +
                                 "' is on device " + std::to_string(device) +
                                 " (all tensors of a call must be on one "
                                 "device)");
      }
    }
  return device < 0 ? 0 : device;
}

//===--------------------------------------------------------------------===//
// Loading
//===--------------------------------------------------------------------===//

[[noreturn]] void loadError(const std::string &dir, const std::string &what) {
  throw Error(Error::Kind::Load, "cannot load bundle '" + dir + "': " + what);
}

/// readWholeFile's error for a FIFO, device or socket.
constexpr int kNotRegular = -1;

/// Reads the whole file at `path` into `contents`; returns 0, or the errno
/// of the failure (EISDIR for a directory, kNotRegular for other files that
/// are not regular: O_NONBLOCK keeps a FIFO from blocking the open).
int readWholeFile(const std::string &path, std::string &contents) {
  int fd;
  do
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return errno;
  if (S_ISDIR(st.st_mode))
    return EISDIR;
  if (!S_ISREG(st.st_mode))
    return kNotRegular;
  contents.clear();
  if (st.st_size > 0)
    contents.reserve(size_t(st.st_size));
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      return 0;
    contents.append(buffer, size_t(n));
  }
}

/// Why `path` (a file of bundle `dir`, called `what` in messages) cannot be
/// read, for the OS error `err` of reading it.
std::string unreadable(const std::string &dir, const std::string &what,
                       int err) {
  // Without search permission on the directory nothing in it can be
  // opened: say so rather than blame the file.
  if (err == EACCES && ::faccessat(AT_FDCWD, dir.c_str(), X_OK, AT_EACCESS))
    return "cannot open the directory: " + std::string(std::strerror(errno));
  if (err == EISDIR)
    return what + " is a directory, not a file";
  if (err == kNotRegular)
    return what + " is not a regular file";
  return "cannot read " + what + ": " + std::strerror(err);
}

} // namespace

/// dlopen maps a library's segments without checking that the file holds
/// them; touching a page past the end of a truncated file then kills the
/// process with SIGBUS. So check a 64-bit ELF file's extent first; leave
/// anything else (too short for a header, not ELF, 32-bit) to dlopen, whose
/// message says what is wrong. `file` is the library's bytes (read whole for
/// the content hash). Returns an empty string when fine.
std::string detail::truncatedElf(std::string_view file) {
  Elf64_Ehdr eh;
  if (file.size() < sizeof eh)
    return "";
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return "";
  const uint64_t size = file.size();
  uint64_t needed = sizeof eh;
  auto extend = [&](uint64_t offset, uint64_t length) {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end))
      end = UINT64_MAX;
    needed = std::max(needed, end);
  };
  extend(eh.e_phoff, uint64_t(eh.e_phnum) * eh.e_phentsize);
  extend(eh.e_shoff, uint64_t(eh.e_shnum) * eh.e_shentsize);
  if (needed <= size && eh.e_phentsize >= sizeof(Elf64_Phdr)) {
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, file.data() + eh.e_phoff + uint64_t(i) * eh.e_phentsize,
                  sizeof ph);
      if (ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC)
        extend(ph.p_offset, ph.p_filesz);
    }
  }
  if (needed <= size)
    return "";
  return "the file is truncated (" + std::to_string(size) +
         " bytes; its ELF headers describe at least " + std::to_string(needed) +
         ")";
}

namespace {
/// Refuses a bundle compiled for CPU features this machine lacks: calling it
/// would die of SIGILL. `target` is "CPU +feat,+feat,..." (Manifest.h); only
/// the x86 features listed here are checked, others are trusted.
void checkCpuTarget(const std::string &dir, const std::string &target) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  struct Feature {
    const char *name;
    bool (*supported)();
  };
#define ROTARY_FEATURE(llvmName, gccName)                                      \
  {                                                                            \
    llvmName, [] { return bool(__builtin_cpu_supports(gccName)); }             \
  }
  static const Feature features[] = {
      ROTARY_FEATURE("sse4.1", "sse4.1"),
      ROTARY_FEATURE("sse4.2", "sse4.2"),
      ROTARY_FEATURE("avx", "avx"),
      ROTARY_FEATURE("avx2", "avx2"),
      ROTARY_FEATURE("fma", "fma"),
      ROTARY_FEATURE("bmi2", "bmi2"),
      ROTARY_FEATURE("avx512f", "avx512f"),
      ROTARY_FEATURE("avx512bw", "avx512bw"),
      ROTARY_FEATURE("avx512dq", "avx512dq"),
      ROTARY_FEATURE("avx512vl", "avx512vl"),
      ROTARY_FEATURE("avx512cd", "avx512cd"),
  };
#undef ROTARY_FEATURE
  __builtin_cpu_init();
  std::string missing;
  size_t pos = 0;
  while (pos < target.size()) {
    size_t end = target.find_first_of(" ,", pos);
    if (end == std::string::npos)
      end = target.size();
    std::string token = target.substr(pos, end - pos);
    pos = end + 1;
    if (token.size() < 2 || token[0] != '+')
      continue;
    for (const Feature &f : features)
      if (token.compare(1, std::string::npos, f.name) == 0 && !f.supported())
        missing += (missing.empty() ? "" : ", ") + token.substr(1);
  }
  if (!missing.empty())
    loadError(dir, "it was compiled for the CPU '" + target +
                       "', but this CPU lacks " + missing +
                       "; recompile it for this machine (cpu \"host\") or "
                       "an older CPU");
#else
  (void)dir;
  (void)target;
#endif
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

/// Threads of the kernels' teams: ROTARY_NUM_THREADS when set, else every
/// processor. Not omp_get_max_threads(): LibTorch sets that to its own
/// intra-op count, one thread by default in Debian's build, and a training
/// step ran faster with the kernels on every core while LibTorch's ops keep
/// theirs (docs/benchmarks.md, threads).
int kernelThreads() {
  static const int threads = [] {
    if (const char *v = std::getenv("ROTARY_NUM_THREADS")) {
      char *end = nullptr;
      long n = std::strtol(v, &end, 10);
      if (end != v && *end == '\0' && n > 0 && n <= 4096)
        return int(n);
    }
    return omp_get_num_procs();
  }();
  return threads;
}

/// The runtime's own launcher: one contiguous range per thread of a team
/// of GCC's libgomp, the OpenMP runtime Debian's LibTorch runs its CPU ops
/// on, so the process has one pool of threads rather than two that spin
/// against each other (static schedule, as the kernels' loops had under
/// OpenMP). Inside a parallel region (nested parallelism is off by
/// default) the team has one thread and the body runs whole on the caller.
void openmpParallelFor(ParallelBody body, void *ctx, int64_t n) {
  if (n <= 0)
    return;
  if (n == 1) {
    body(ctx, 0, 1);
    return;
  }
#pragma omp parallel num_threads(kernelThreads())
  {
    int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    if (begin < end)
      body(ctx, begin, end);
  }
}

std::atomic<ParallelFor> currentLauncher{nullptr};

/// What every loaded library's `rotary_parallel_for` points to, so that
/// setParallelFor also reaches bundles loaded before it.
void dispatchParallelFor(ParallelBody body, void *ctx, int64_t n) {
  ParallelFor launcher = currentLauncher.load(std::memory_order_acquire);
  (launcher ? launcher : openmpParallelFor)(body, ctx, n);
}

} // namespace

void runtime::setParallelFor(ParallelFor launcher) {
  currentLauncher.store(launcher, std::memory_order_release);
}

Error::Error(Kind kind, const std::string &message)
    : std::runtime_error(message), kind_(kind) {}

struct Bundle::Impl {
  std::string dir;
  bundle::Manifest manifest;
  void *handle = nullptr;
  std::vector<KernelFn> kernels; ///< parallel to manifest.entries
  std::unique_ptr<detail::GpuBundle> gpu; ///< when the manifest has "gpu"
  std::unordered_map<std::string, size_t> byName;

  ~Impl() {
    if (handle)
      ::dlclose(handle);
  }

  size_t indexOf(const std::string &name) const {
    auto it = byName.find(name);
    if (it != byName.end())
      return it->second;
    std::string available;
    for (const Entry &e : manifest.entries)
      available += (available.empty() ? "" : ", ") + e.name;
    throw Error(Error::Kind::Argument,
                "bundle '" + dir + "' has no entry '" + name + "'" +
                    (available.empty() ? " (it has no entries)"
                                       : "; available: " + available));
  }
};

Bundle::Bundle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bundle::~Bundle() = default;

std::shared_ptr<Bundle> Bundle::load(const std::string &dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT)
      loadError(dir, "no such directory");
    loadError(dir,
              "cannot open the directory: " + std::string(std::strerror(err)));
  }
  if (!S_ISDIR(st.st_mode))
    loadError(dir, "not a directory (a bundle is a directory NAME.rotary/ "
                   "holding manifest.json)");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  const std::string manifestPath = dir + "/" + bundle::kManifestFile;
  std::string text;
  if (int err = readWholeFile(manifestPath, text)) {
    if (err == ENOENT)
      loadError(dir, std::string(bundle::kManifestFile) +
                         " is missing (is this a rotary bundle directory?)");
    loadError(dir, unreadable(dir, bundle::kManifestFile, err));
  }
  std::string error;
  std::optional<bundle::Manifest> manifest = bundle::fromJson(text, error);
  if (!manifest)
    loadError(dir, std::string(bundle::kManifestFile) + ": " + error);
  impl->manifest = std::move(*manifest);
  const bundle::Manifest &m = impl->manifest;
  for (size_t i = 0; i < m.entries.size(); ++i)
    impl->byName.emplace(m.entries[i].name, i);
  impl->kernels.assign(m.entries.size(), nullptr);

  // The files the content hash covers, read whole: the hash must match
  // before anything is trusted (Manifest.h).
  std::vector<bundle::BundleFile> files;
  for (const std::string &name : bundle::hashedFiles(m)) {
    const bool cpu = name == m.cpuLibrary;
    if (name.front() == '/' ||
        ("/" + name + "/").find("/../") != std::string::npos)
      loadError(dir, std::string(cpu ? "cpu_library" : "the file") + " '" +
                         name + "' must be a path inside the bundle directory");
    const std::string what = (cpu ? "its CPU library " : "its file ") + name;
    std::string bytes;
    if (int err = readWholeFile(dir + "/" + name, bytes)) {
      if (err == ENOENT)
        loadError(dir, what + " is missing");
      loadError(dir, unreadable(dir, what, err));
    }
    files.emplace_back(name, std::move(bytes));
  }
  if (bundle::contentHash(m, files) != m.contentHash) {
    std::string what = bundle::kManifestFile;
    for (const bundle::BundleFile &file : files)
      what += " or " + file.first;
    loadError(dir, what + " changed after compilation (content_hash "
                          "mismatch); recompile it with rotary-translate");
  }
  if (m.gpu)
    impl->gpu = std::make_unique<detail::GpuBundle>(dir, m, files);

  if (!m.cpuLibrary.empty()) {
    const std::string library = dir + "/" + m.cpuLibrary;
    checkCpuTarget(dir, m.cpuTarget);
    // hashedFiles(m) lists the CPU library when the manifest names one.
    auto file = std::find_if(files.begin(), files.end(),
                             [&](const bundle::BundleFile &f) {
                               return f.first == m.cpuLibrary;
                             });
    std::string truncated = file == files.end()
                                ? std::string()
                                : detail::truncatedElf(file->second);
    if (!truncated.empty())
      loadError(dir, "cannot open its CPU library " + m.cpuLibrary + ": " +
                         truncated);
    ::dlerror();
    impl->handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!impl->handle) {
      const char *why = ::dlerror();
      loadError(dir, "cannot open its CPU library " + m.cpuLibrary + ": " +
                         (why ? why : "unknown dlopen error"));
    }
    // The kernels' parallel loops call through this slot (Manifest.h); a
    // library compiled without parallel loops has none.
    if (void *slot = ::dlsym(impl->handle, bundle::kParallelForSymbol))
      *static_cast<ParallelFor *>(slot) = &dispatchParallelFor;
    for (size_t i = 0; i < m.entries.size(); ++i) {
      ::dlerror();
      void *symbol = ::dlsym(impl->handle, m.entries[i].symbol.c_str());
      if (!symbol) {
        const char *why = ::dlerror();
        loadError(
            dir, "entry '" + m.entries[i].name + "': symbol '" +
                     m.entries[i].symbol + "' is missing from " + m.cpuLibrary +
                     (why ? std::string(" (") + why + ")" : std::string()));
      }
      impl->kernels[i] = reinterpret_cast<KernelFn>(symbol);
    }
  }
  return std::shared_ptr<Bundle>(new Bundle(std::move(impl)));
}

const std::string &Bundle::directory() const { return impl_->dir; }

const bundle::Manifest &Bundle::manifest() const { return impl_->manifest; }

const Entry &Bundle::entry(const std::string &name) const {
  return impl_->manifest.entries[impl_->indexOf(name)];
}

std::vector<std::vector<int64_t>>
Bundle::outputShapes(const std::string &name,
                     const std::vector<TensorRef> &inputs) const {
  const Entry &e = entry(name);
  Placement where;
  where.bundleHasGpu = impl_->gpu != nullptr;
  if (where.bundleHasGpu && !inputs.empty())
    where.device = inputs[0].device;
  checkInputs(e, inputs, where);
  std::vector<std::vector<int64_t>> shapes;
  for (const TensorSpec &spec : e.outputs) {
    bool dynamic = false;
    shapes.push_back(expectedShape(e, spec, inputs, &dynamic));
    if (dynamic)
      throw Error(Error::Kind::Argument,
                  "entry '" + e.name + "': output '" + spec.name +
                      "' has shape " + formatSpecShape(e, spec) +
                      " with a dynamic dimension; its size is not known "
                      "before the call");
  }
  return shapes;
}

void Bundle::call(const std::string &name, const std::vector<TensorRef> &inputs,
                  const std::vector<TensorRef> &outputs) const {
  call(name, inputs, outputs, CallOptions());
}

void Bundle::call(const std::string &name, const std::vector<TensorRef> &inputs,
                  const std::vector<TensorRef> &outputs,
                  const CallOptions &options) const {
  const size_t index = impl_->indexOf(name);
  const Entry &e = impl_->manifest.entries[index];
  // The first tensor says where the call runs; the checks hold the others
  // to it.
  Placement where;
  where.bundleHasGpu = impl_->gpu != nullptr;
  if (where.bundleHasGpu)
    where.device = !inputs.empty()    ? inputs.front().device
                   : !outputs.empty() ? outputs.front().device
                                      : TensorRef::Device::CPU;
  const bool onGpu = where.device == TensorRef::Device::CUDA;
  KernelFn kernel = impl_->kernels[index];
  if (!onGpu && !kernel)
    throw Error(Error::Kind::Load, "entry '" + e.name +
                                       "' has no CPU code: bundle '" +
                                       impl_->dir + "' has no CPU library");
  checkInputs(e, inputs, where);
  checkOutputs(e, inputs, outputs, where);
  int gpuDevice = onGpu ? checkDeviceMemory(e, inputs, outputs) : -1;

  // One buffer of descriptors { allocated, aligned, offset, sizes[rank],
  // strides[rank] }, 8-byte words each, then the argument pointers.
  const size_t count = inputs.size() + outputs.size();
  size_t words = 0;
  for (const auto *list : {&inputs, &outputs})
    for (const TensorRef &t : *list)
      words += 3 + 2 * t.shape.size();
  constexpr size_t kInline = 256;
  int64_t inlineWords[kInline];
  void *inlineArgs[kInline / 3];
  std::unique_ptr<int64_t[]> heapWords;
  std::unique_ptr<void *[]> heapArgs;
  int64_t *buffer = inlineWords;
  void **args = inlineArgs;
  if (words > kInline || count > kInline / 3) {
    heapWords.reset(new int64_t[words]);
    heapArgs.reset(new void *[count]);
    buffer = heapWords.get();
    args = heapArgs.get();
  }
  int64_t *w = buffer;
  size_t a = 0;
  for (const auto *list : {&inputs, &outputs}) {
    for (const TensorRef &t : *list) {
      args[a++] = w;
      std::memcpy(&w[0], &t.data, sizeof(void *)); // allocated
      std::memcpy(&w[1], &t.data, sizeof(void *)); // aligned
      w[2] = 0;                                    // offset
      const size_t rank = t.shape.size();
      int64_t running = 1;
      for (size_t d = rank; d-- > 0;) {
        w[3 + d] = t.shape[d];
        w[3 + rank + d] = running; // row-major strides, in elements
        running *= t.shape[d];
      }
      w += 3 + 2 * rank;
    }
  }

  const int32_t status =
      onGpu ? impl_->gpu->run(index, args, gpuDevice, options.cudaStream)
            : kernel(args);
  if (status == 0)
    return;
  if (status > 0 && size_t(status) <= e.checks.size())
    throw Error(Error::Kind::Check, "entry '" + e.name + "': run-time check " +
                                        std::to_string(status) +
                                        " failed: " + e.checks[status - 1]);
  if (status > 0)
    throw Error(Error::Kind::Check,
                "entry '" + e.name + "': the kernel reports a failed check " +
                    std::to_string(status) + " of entry " + e.name +
                    ", but its manifest lists " +
                    plural(e.checks.size(), "check") +
                    " (the bundle is inconsistent; recompile it)");
  throw Error(Error::Kind::Internal,
              "entry '" + e.name +
                  "': the kernel returned the invalid status " +
                  std::to_string(status));
}
