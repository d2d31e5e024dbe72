//===- rotary-runner.cpp - run an entry of a bundle on .npy files ---------===//
//
//   rotary-runner FILE [--entry NAME] --input A.npy [--input B.npy ...]
//                 --out R.npy [--out ...] [--repeat N] [--cpu CPU]
//                 [--device cpu|cuda|cuda:N]
//
// FILE is a kernel bundle directory (NAME.rotary/) or a .mlir file, which is
// compiled into a temporary bundle first (removed afterwards, whatever way
// the process ends: see TempDir). Inputs must have exactly the dtype of the
// entry's arguments (no conversion); outputs are allocated with the shapes
// the manifest gives and written as .npy, each to its own file (two --out
// naming one file, or an --out naming an input or FILE, are refused before
// anything runs).
// With --repeat N the entry runs N times and the median time of one call is
// printed on stdout as `median_us: X`. With --device cuda the inputs are
// copied to the GPU, the entry runs there (a .mlir FILE is compiled with
// GPU code for that GPU's architecture) and the time of a call includes
// waiting for its kernels. Errors go to stderr, exit code 1.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Cuda.h"
#include "rotary/Runtime/Npy.h"
#include "rotary/Runtime/Runtime.h"

#ifdef ROTARY_RUNNER_HAS_COMPILER
#include "rotary/Compiler/Compiler.h"
#endif

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <new>
#include <optional>
#include <stdexcept>

using namespace rotary;
namespace fs = std::filesystem;

namespace {

const char *kUsage =
    "usage: rotary-runner FILE [--entry NAME] --input A.npy [--input B.npy "
    "...]\n"
    "                     --out R.npy [--out ...] [--repeat N] [--cpu CPU]\n"
    "                     [--device cpu|cuda|cuda:N]\n"
    "\n"
    "Runs one entry point of a kernel bundle on .npy inputs and writes its\n"
    "outputs as .npy files.\n"
    "\n"
    "  FILE           a bundle directory (NAME.rotary) or a .mlir file "
    "(compiled\n"
    "                 into a temporary bundle first)\n"
    "  --entry NAME   the entry to run (optional when the bundle has one)\n"
    "  --input PATH   one per input of the entry, in order (f32, f64, i32, "
    "i64;\n"
    "                 the dtype must match the entry's exactly)\n"
    "  --out PATH     one per output of the entry, in order\n"
    "  --repeat N     run N times; print the median time as 'median_us: X'\n"
    "  --cpu CPU      for a .mlir FILE: the CPU to compile for (default "
    "host)\n"
    "  --device D     cpu (default), or cuda / cuda:N: run on the GPU N "
    "(inputs\n"
    "                 copied there, outputs back; a .mlir FILE is "
    "compiled for\n"
    "                 that GPU too)\n"
    "\n"
    "For a .mlir FILE, an entry NAME_bwd, NAME_fwd or NAME_vjp that the file\n"
    "does not define is generated from @NAME (rotary-generate-gradients).\n";

/// A failure reported as "rotary-runner: error: MESSAGE", exit code 1.
struct Failure {
  std::string message;
};

struct Options {
  std::string file;
  std::optional<std::string> entry;
  std::vector<std::string> inputs, outputs;
  int repeat = 0;
  std::string cpu = "host";
  int gpu = -1; ///< --device cuda:N; -1: the CPU
};

Options parseArgs(int argc, char **argv, bool &help) {
  Options o;
  bool haveFile = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return o;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (arg == "--" && i + 1 < argc)
        arg = argv[++i];
      if (haveFile)
        throw Failure{"more than one FILE: '" + o.file + "' and '" + arg +
                      "'\n" + kUsage};
      o.file = arg;
      haveFile = true;
      continue;
    }
    std::string name = arg, value;
    bool inlineValue = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inlineValue = true;
    }
    if (name != "--entry" && name != "--input" && name != "--out" &&
        name != "--repeat" && name != "--cpu" && name != "--device")
      throw Failure{"unknown option '" + name + "'\n" + kUsage};
    if (!inlineValue) {
      if (i + 1 >= argc)
        throw Failure{"option '" + name + "' needs a value"};
      value = argv[++i];
    }
    if (name == "--entry") {
      o.entry = value;
    } else if (name == "--input") {
      o.inputs.push_back(value);
    } else if (name == "--out") {
      o.outputs.push_back(value);
    } else if (name == "--cpu") {
      o.cpu = value;
    } else if (name == "--device") {
      if (value == "cpu") {
        o.gpu = -1;
      } else if (value == "cuda") {
        o.gpu = 0;
      } else {
        char *end = nullptr;
        long n = value.rfind("cuda:", 0) == 0
                     ? std::strtol(value.c_str() + 5, &end, 10)
                     : -1;
        if (!end || *end || end == value.c_str() + 5 || n < 0 || n > 4096)
          throw Failure{"--device must be cpu, cuda or cuda:N, got '" + value +
                        "'"};
        o.gpu = int(n);
      }
    } else {
      char *end = nullptr;
      errno = 0;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end || errno || n < 1 || n > 100000000)
        throw Failure{"--repeat needs a positive integer, got '" + value + "'"};
      o.repeat = int(n);
    }
  }
  if (!haveFile)
    throw Failure{std::string("no FILE given\n") + kUsage};
  return o;
}

//===--------------------------------------------------------------------===//
// The temporary bundle directory
//===--------------------------------------------------------------------===//

/// The directory to remove on the way out, in a fixed buffer: the signal
/// handler reads it, and may allocate nothing.
char gTempPath[PATH_MAX];
volatile std::sig_atomic_t gTempSet = 0;
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};

/// Removes `name` (relative to the directory `dirFd`) and, when it is a
/// directory, everything in it. System calls only, so that a signal handler
/// may call it; symbolic links are removed, never followed.
void removeTreeAt(int dirFd, const char *name, int depth) {
  if (::unlinkat(dirFd, name, 0) == 0 || errno != EISDIR)
    return;
  int fd =
      ::openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    // Entries removed while reading may make getdents skip others: read
    // again from the start until a pass finds nothing (bounded).
    bool removed = true;
    for (int pass = 0; removed && pass < 8 && depth < 32; ++pass) {
      removed = false;
      ::lseek(fd, 0, SEEK_SET);
      alignas(struct dirent64) char buffer[2048];
      ssize_t n;
      while ((n = ::getdents64(fd, buffer, sizeof buffer)) > 0) {
        for (ssize_t at = 0; at < n;) {
          const auto *entry =
              reinterpret_cast<const struct dirent64 *>(buffer + at);
          at += entry->d_reclen;
          const char *child = entry->d_name;
          if (std::strcmp(child, ".") == 0 || std::strcmp(child, "..") == 0)
            continue;
          removeTreeAt(fd, child, depth + 1);
          removed = true;
        }
      }
    }
    ::close(fd);
  }
  ::unlinkat(dirFd, name, AT_REMOVEDIR);
}

/// Removes the temporary directory, if any; async-signal-safe.
void removeTemp() {
  if (!gTempSet)
    return;
  gTempSet = 0;
  removeTreeAt(AT_FDCWD, gTempPath, 0);
}

/// SIGINT, SIGTERM, SIGHUP: remove the directory, then die of the signal
/// as if there were no handler (the exit status says which signal).
extern "C" void onCleanupSignal(int sig) {
  removeTemp();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig); // blocked until this handler returns, then fatal
}

/// Removes the directory on exit() too: LLVM's fatal errors call it, which
/// runs no destructor. Signals that a shell set to be ignored stay ignored.
void installCleanupHandlers() {
  std::atexit(removeTemp);
  for (int sig : kCleanupSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    struct sigaction action {};
    action.sa_handler = onCleanupSignal;
    ::sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
}

/// The temporary directory of a .mlir FILE: removed by the destructor when
/// run() returns or throws, by removeTemp() on exit() and on the signals.
struct TempDir {
  std::string path;
  /// Takes the directory mkdtemp made (a path shorter than PATH_MAX).
  void adopt(const std::string &dir) {
    path = dir;
    std::memcpy(gTempPath, dir.c_str(), dir.size() + 1);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    gTempSet = 1;
  }
  ~TempDir() {
    if (path.empty())
      return;
    // No signal may cut the removal short and leave half of it.
    sigset_t block, old;
    ::sigemptyset(&block);
    for (int sig : kCleanupSignals)
      ::sigaddset(&block, sig);
    ::sigprocmask(SIG_BLOCK, &block, &old);
    removeTemp();
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
  }
};

std::string compileToBundle(const Options &o, TempDir &temp) {
#ifdef ROTARY_RUNNER_HAS_COMPILER
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/rotary-runner-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (pattern.size() >= PATH_MAX)
    throw Failure{"the temporary directory " + pattern +
                  " has too long a name (set TMPDIR)"};
  if (!::mkdtemp(buffer.data()))
    throw Failure{"cannot create a temporary directory " + pattern + ": " +
                  std::strerror(errno)};
  temp.adopt(buffer.data());
  std::string stem = fs::path(o.file).stem().string();
  std::string dir =
      temp.path + "/" + (stem.empty() ? "bundle" : stem) + ".rotary";
  compiler::CompileOptions options;
  options.cpu = o.cpu;
  // For a GPU run: the kernels of that GPU's architecture (its cubin when
  // the CUDA toolkit is here).
  if (o.gpu >= 0)
    options.gpuChips = {runtime::cuda::Driver::get().architecture(o.gpu)};
  // Backward entries are generated on request only: compiling them costs
  // time, and a file's own entry list stays as written otherwise.
  auto generated = [](const std::string &name) {
    for (const char *suffix : {"_bwd", "_fwd", "_vjp"})
      if (name.size() > 4 && name.compare(name.size() - 4, 4, suffix) == 0)
        return true;
    return false;
  };
  options.gradients = o.entry && generated(*o.entry);
  std::string error;
  if (!compiler::compileFileToBundle(o.file, dir, options, error))
    throw Failure{"cannot compile '" + o.file + "':\n" + error};
  return dir;
#else
  (void)temp;
  throw Failure{"'" + o.file +
                "' is not a bundle directory, and this rotary-runner was "
                "built without the compiler; compile it into a bundle first "
                "(rotary-translate) and pass the NAME.rotary directory"};
#endif
}

std::string specShape(const bundle::Entry &entry,
                      const bundle::TensorSpec &spec) {
  std::string s = std::string(bundle::dtypeName(spec.dtype)) + " [";
  for (size_t i = 0; i < spec.shape.size(); ++i) {
    const bundle::Dim &d = spec.shape[i];
    s += i ? ", " : "";
    if (d.kind == bundle::Dim::Kind::Static)
      s += std::to_string(d.size);
    else if (d.kind == bundle::Dim::Kind::SameAs)
      s += entry.inputs[d.input].name + ".shape[" + std::to_string(d.dim) + "]";
    else
      s += "?";
  }
  return s + "]";
}

std::string listNames(const std::vector<bundle::TensorSpec> &specs) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i)
    s += (i ? ", " : "") + specs[i].name;
  return s;
}

/// `path` as compared for clashes between files: absolute, "." and ".."
/// resolved, and so are the symbolic links of its existing part.
std::string normalisedPath(const std::string &path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec)
    return path;
  fs::path p = fs::weakly_canonical(absolute, ec);
  return (ec ? absolute.lexically_normal() : p).string();
}

/// True when `a` and `b` name one file: the same normalised path, or the
/// same existing file (a hard link, a symbolic link).
bool sameFile(const std::string &a, const std::string &b) {
  if (normalisedPath(a) == normalisedPath(b))
    return true;
  std::error_code ec;
  bool same = fs::equivalent(a, b, ec);
  return !ec && same;
}

/// Refuses, before anything runs, outputs that would overwrite each other
/// (only the last would survive) or an input or FILE (destroyed).
void checkOutputPaths(const Options &o) {
  auto out = [&](size_t i) {
    return "--out #" + std::to_string(i + 1) + " ('" + o.outputs[i] + "')";
  };
  for (size_t i = 0; i < o.outputs.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (sameFile(o.outputs[j], o.outputs[i]))
        throw Failure{out(j) + " and " + out(i) +
                      " are the same file; give each output its own"};
    for (size_t k = 0; k < o.inputs.size(); ++k)
      if (sameFile(o.outputs[i], o.inputs[k]))
        throw Failure{out(i) + " is the file of --input #" +
                      std::to_string(k + 1) + " ('" + o.inputs[k] +
                      "'); writing it would destroy the input"};
    if (sameFile(o.outputs[i], o.file))
      throw Failure{out(i) + " is FILE ('" + o.file +
                    "'); writing it would destroy it"};
  }
}

/// "4.0e+15": the bytes of `dtype` x `shape`, in floating point so that a
/// product past 64 bits prints too.
std::string approximateBytes(bundle::DType dtype,
                             const std::vector<int64_t> &shape) {
  double bytes = double(bundle::dtypeBytes(dtype));
  for (int64_t s : shape)
    bytes *= double(s);
  char text[32];
  std::snprintf(text, sizeof text, "%.1e", bytes);
  return text;
}

int run(const Options &o) {
  checkOutputPaths(o);
  TempDir temp;
  std::string dir = o.file;
  struct stat st;
  if (::stat(o.file.c_str(), &st) != 0)
    throw Failure{"'" + o.file + "': " + std::strerror(errno)};
  if (!S_ISDIR(st.st_mode))
    dir = compileToBundle(o, temp);

  std::shared_ptr<runtime::Bundle> bundle = runtime::Bundle::load(dir);
  const bundle::Manifest &manifest = bundle->manifest();
  // Messages about entries name FILE as given (for a .mlir file, not the
  // temporary bundle compiled from it).
  std::string names;
  for (const bundle::Entry &e : manifest.entries)
    names += (names.empty() ? "" : ", ") + e.name;
  std::string entryName;
  if (o.entry) {
    entryName = *o.entry;
  } else if (manifest.entries.size() == 1) {
    entryName = manifest.entries[0].name;
  } else {
    throw Failure{"'" + o.file + "' has " +
                  std::to_string(manifest.entries.size()) +
                  " entries; choose one with --entry NAME (" + names + ")"};
  }
  if (!manifest.findEntry(entryName))
    throw Failure{"'" + o.file + "' has no entry '" + entryName + "'" +
                  (names.empty() ? std::string(" (it has no entries)")
                                 : "; available: " + names)};
  const bundle::Entry &entry = bundle->entry(entryName);

  auto countError = [&](const char *option,
                        const std::vector<bundle::TensorSpec> &specs,
                        size_t got) {
    return Failure{"entry '" + entry.name + "' takes " +
                   std::to_string(specs.size()) + " " + option + " (" +
                   listNames(specs) + "), got " + std::to_string(got)};
  };
  if (o.inputs.size() != entry.inputs.size())
    throw countError("--input", entry.inputs, o.inputs.size());
  if (o.outputs.size() != entry.outputs.size())
    throw countError("--out", entry.outputs, o.outputs.size());

  // Inputs: the dtype must match exactly; rank and static sizes are checked
  // here too so the message speaks of the command line.
  std::vector<npy::Array> inputs;
  std::vector<runtime::TensorRef> inputRefs;
  for (size_t i = 0; i < o.inputs.size(); ++i) {
    const bundle::TensorSpec &spec = entry.inputs[i];
    std::string which =
        "--input #" + std::to_string(i + 1) + " (" + spec.name + ")";
    npy::Array array;
    try {
      array = npy::read(o.inputs[i]);
    } catch (const npy::Error &e) {
      throw Failure{which + ": " + e.what()};
    }
    bool fits =
        array.dtype == spec.dtype && array.shape.size() == spec.shape.size();
    for (size_t d = 0; fits && d < spec.shape.size(); ++d)
      if (spec.shape[d].kind == bundle::Dim::Kind::Static &&
          spec.shape[d].size != array.shape[d])
        fits = false;
    if (!fits)
      throw Failure{which + ": expected " + specShape(entry, spec) + ", got " +
                    npy::describe(array.dtype, array.shape) + " (" +
                    o.inputs[i] + ")"};
    inputs.push_back(std::move(array));
  }
  for (npy::Array &a : inputs)
    inputRefs.emplace_back(a.data(), a.dtype, a.shape);

  std::vector<std::vector<int64_t>> shapes =
      bundle->outputShapes(entry.name, inputRefs);
  std::vector<npy::Array> outputs;
  std::vector<runtime::TensorRef> outputRefs;
  outputs.reserve(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    const bundle::TensorSpec &spec = entry.outputs[i];
    const std::string which =
        "--out #" + std::to_string(i + 1) + " (" + spec.name + ")";
    if (!npy::isSupported(spec.dtype))
      throw Failure{which + ": the output is " + bundle::dtypeName(spec.dtype) +
                    ", which .npy files here cannot hold (f32, f64, i32, "
                    "i64)"};
    const Failure tooBig{which + ": " + npy::describe(spec.dtype, shapes[i]) +
                         " needs " + approximateBytes(spec.dtype, shapes[i]) +
                         " bytes, more than can be allocated"};
    int64_t numel, bytes;
    if (!npy::byteSize(spec.dtype, shapes[i], numel, bytes) ||
        uint64_t(bytes) > SIZE_MAX)
      throw tooBig;
    try {
      outputs.emplace_back(spec.dtype, shapes[i]);
    } catch (const std::bad_alloc &) {
      throw tooBig;
    } catch (const std::length_error &) {
      throw tooBig;
    }
  }
  for (npy::Array &a : outputs)
    outputRefs.emplace_back(a.data(), a.dtype, a.shape);

  // On the GPU: the same tensors in device memory.
  std::vector<runtime::cuda::DeviceBuffer> deviceBuffers;
  auto toDevice = [&](std::vector<runtime::TensorRef> &refs,
                      const std::vector<npy::Array> &arrays, bool copy) {
    for (size_t i = 0; i < refs.size(); ++i) {
      size_t bytes = size_t(arrays[i].numel()) *
                     size_t(bundle::dtypeBytes(arrays[i].dtype));
      deviceBuffers.emplace_back(o.gpu, bytes);
      if (copy)
        deviceBuffers.back().copyFrom(arrays[i].data(), bytes);
      refs[i].data = deviceBuffers.back().data();
      refs[i].device = runtime::TensorRef::Device::CUDA;
    }
  };
  if (o.gpu >= 0) {
    deviceBuffers.reserve(inputs.size() + outputs.size());
    toDevice(inputRefs, inputs, true);
    toDevice(outputRefs, outputs, false);
  }

  const int runs = std::max(o.repeat, 1);
  std::vector<double> micros;
  micros.reserve(runs);
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    bundle->call(entry.name, inputRefs, outputRefs, runtime::CallOptions());
    if (o.gpu >= 0) {
      const runtime::cuda::Driver &driver = runtime::cuda::Driver::get();
      runtime::cuda::Driver::Scope scope(driver, o.gpu);
      driver.synchronize(nullptr);
    }
    auto stop = std::chrono::steady_clock::now();
    micros.push_back(
        std::chrono::duration<double, std::micro>(stop - start).count());
  }
  if (o.gpu >= 0)
    for (size_t i = 0; i < outputs.size(); ++i)
      deviceBuffers[inputs.size() + i].copyTo(
          outputs[i].data(), size_t(outputs[i].numel()) *
                                 size_t(bundle::dtypeBytes(outputs[i].dtype)));

  for (size_t i = 0; i < outputs.size(); ++i) {
    try {
      npy::write(o.outputs[i], outputs[i]);
    } catch (const npy::Error &e) {
      throw Failure{"--out #" + std::to_string(i + 1) + " (" +
                    entry.outputs[i].name + "): " + e.what()};
    }
  }

  if (o.repeat > 0) {
    std::sort(micros.begin(), micros.end());
    size_t n = micros.size();
    double median =
        n % 2 ? micros[n / 2] : (micros[n / 2 - 1] + micros[n / 2]) / 2;
    std::printf("median_us: %.3f\n", median);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  installCleanupHandlers();
  try {
    bool help = false;
    Options o = parseArgs(argc, argv, help);
    if (help) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    return run(o);
  } catch (const Failure &f) {
    std::fprintf(stderr, "rotary-runner: error: %s\n", f.message.c_str());
  } catch (const runtime::Error &e) {
    std::fprintf(stderr, "rotary-runner: error: %s\n", e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rotary-runner: error: %s\n", e.what());
  }
  return 1;
}
