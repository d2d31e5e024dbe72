//===- rotary-bench.cpp - compiled kernels vs LibTorch eager vs the bound -===//
//
// The benchmark of the performance contract (docs/benchmarks.md). For every
// kernel family it prints, from one run: LibTorch eager doing the same math
// (written with plain LibTorch ops, the way a model author writes it today),
// the compiled kernel (an examples/*.mlir entry compiled once with
// rotary::compiler::compileSourceToBundle, loaded with
// rotary::runtime::Bundle and called on LibTorch tensors' memory), and the
// roofline bound of the minimal algorithm:
//   bound = max(bytes / measured bandwidth, flops / measured FMA peak),
// both machine numbers measured in the same run (bandwidth: the best of five
// streaming loops over 512 MB buffers; peak: register-only vector FMA loops
// on every hardware thread). Ratios: speedup = eager / compiled,
// efficiency = bound / compiled. Times are medians of N runs after one
// warm-up; the per-family lines also give min-max.
//
// Some families have two eager rows: givens and rotation_block (the chain
// stage by stage, and folded into one D×D matrix then x·Q), fam_step (in place
// as torch.optim writes it, against the kernel updating p and m in place as
// nn::FAM calls it; and both out of place), attention W = 128 (matmul as
// written, and the products on oneDNN, since Debian's LibTorch may run matmul
// on the reference BLAS).
//
// Before timing a family, the compiled and the eager outputs are compared;
// a relative difference (max |a - e| / max |e|) above 1e-3 marks the row
// MISMATCH, skips its timing and makes the program exit with status 1.
//
// Usage: rotary-bench [--quick] [--family NAME] [--repeats N]
//                     [--torch-threads N] [--eager-alloc reuse|os]
//                     [--examples DIR] [--keep]
//   --quick      tiny shapes, one repeat (the ctest smoke test)
//   --family     rope | hdd_rope | givens | rotation_block | fam_step |
//                attention (repeatable)
//   --repeats    timed repeats per measurement (default: per family)
//   --torch-threads  LibTorch intra-op threads (default: all hardware
//                threads, as the kernels' OpenMP runtime uses)
//   --eager-alloc  reuse (default): freed memory stays in the process, so
//                eager pays no page faults for its temporaries; os: glibc's
//                defaults (a fresh mmap per tensor of 32 MB or more)
//   --examples   directory of the example .mlir files
//   --keep       keep the compiled bundles (their directory is printed)
//
// This file includes LibTorch and the MLIR-free headers of the compiler and
// the runtime; it is built with exceptions and RTTI.
//
//===----------------------------------------------------------------------===//

#include "rotary/Compiler/Compiler.h"
#include "rotary/Runtime/Runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h> // mallopt
#include <stdlib.h> // mkdtemp
#include <climits>

#ifndef ROTARY_BENCH_EXAMPLES_DIR
#define ROTARY_BENCH_EXAMPLES_DIR "examples"
#endif

namespace fs = std::filesystem;
using rotary::runtime::TensorRef;
using Clock = std::chrono::steady_clock;

namespace {

//===----------------------------------------------------------------------===//
// Options, timing
//===----------------------------------------------------------------------===//

struct Options {
  bool quick = false;
  bool keep = false;
  int repeats = -1; ///< -1: per family default
  int torchThreads = -1; ///< -1: all hardware threads, like the kernels
  bool reuseMemory = true; ///< keep freed memory in the process (mallopt)
  std::vector<std::string> families;
  std::string examplesDir = ROTARY_BENCH_EXAMPLES_DIR;
};

const char *kFamilies[] = {"rope",         "hdd_rope",       "givens",
                           "rotation_block", "fam_step",   "attention",
                           "rope_bwd",     "hdd_rope_bwd",   "givens_bwd",
                           "attention_bwd"};

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Timing {
  double median = NAN, min = NAN, max = NAN; ///< seconds
};

/// Wall time of `fn` over `reps` runs after `warm` runs: the median (what
/// the tables show) and the spread.
Timing timeIt(const std::function<void()> &fn, int warm, int reps) {
  for (int i = 0; i < warm; ++i)
    fn();
  std::vector<double> t;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    auto a = Clock::now();
    fn();
    t.push_back(seconds(a, Clock::now()));
  }
  std::sort(t.begin(), t.end());
  size_t n = t.size();
  Timing r;
  r.median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  r.min = t.front();
  r.max = t.back();
  return r;
}

/// LibTorch's matrix products run on OpenBLAS's own threads, which spin a
/// while after a call, and libgomp's workers (LibTorch's other ops and the
/// kernels) spin briefly after a parallel region: every switch between
/// eager and compiled code waits first, so neither side is timed while the
/// other's threads still spin.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

std::string shapeStr(at::IntArrayRef s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

//===----------------------------------------------------------------------===//
// Machine numbers: memory bandwidth, FMA peak
//===----------------------------------------------------------------------===//

struct Machine {
  double bandwidth = 0; ///< bytes/s, the best of Bandwidth
  double peak = 0;      ///< flop/s, FMA loop on all threads
  double sgemm = 0;     ///< flop/s of LibTorch's f32 matmul (information)
  int threads = 0;
  std::string cpu;
};

/// The 1-minute load average: other work on the machine shows up here
/// (timings are only comparable when it is below the core count).
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  in >> first;
  return first.empty() ? "unknown" : first;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown";
}

/// Best (shortest) wall time of `fn` over `reps` runs after one warm-up:
/// machine limits are what the machine can reach, not its average.
double timeBest(const std::function<void()> &fn, int reps) {
  fn();
  double best = INFINITY;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    auto a = Clock::now();
    fn();
    best = std::min(best, seconds(a, Clock::now()));
  }
  return best;
}

/// Runs fn(t, threads) on `threads` std::threads and waits.
void onThreads(int threads, const std::function<void(int, int)> &fn) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(fn, t, threads);
  for (auto &th : pool)
    th.join();
}

/// 16 floats: one AVX-512 register, one cache line.
typedef float V16 __attribute__((vector_size(64)));

struct Bandwidth {
  double torchCopy = 0, threadedCopy = 0, threadedAdd = 0, wideAdd = 0,
         inPlaceAdd = 0; ///< bytes/s
  /// The bound's bandwidth: the best of every form. Kernels that write
  /// whole cache lines with 64-byte vector stores can avoid (part of) the
  /// write-allocate reads that a narrower copy pays, so a copy alone is
  /// not an upper bound for them.
  double best() const {
    return std::max({torchCopy, threadedCopy, threadedAdd, wideAdd,
                     inPlaceAdd});
  }
};

/// c[i] = a[i] + b[i] over [lo, hi) with 16-float vectors (one cache line
/// per store); lo and hi are multiples of 16 and the buffers 64-byte
/// aligned. Compiled for AVX-512 where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"), noinline)) void
wideAddAvx512(float *c, const float *a, const float *b, int64_t lo,
              int64_t hi) {
  for (int64_t i = lo; i < hi; i += 16)
    *reinterpret_cast<V16 *>(c + i) = *reinterpret_cast<const V16 *>(a + i) +
                                      *reinterpret_cast<const V16 *>(b + i);
}
#endif
__attribute__((noinline)) void wideAddGeneric(float *c, const float *a,
                                              const float *b, int64_t lo,
                                              int64_t hi) {
  for (int64_t i = lo; i < hi; i += 16)
    *reinterpret_cast<V16 *>(c + i) = *reinterpret_cast<const V16 *>(a + i) +
                                      *reinterpret_cast<const V16 *>(b + i);
}

/// Streams over buffers far larger than any cache, touched before timing
/// (no page fault is timed), five ways: LibTorch's copy_, memcpy of one
/// slice per thread, c = a + b per thread (scalar loop as compiled, and
/// with 64-byte vector stores), and a += b in place (LibTorch).
/// Bytes counted: read + written; the write-allocate reads of a destination
/// that is not also a source are not counted (as in STREAM), so the in-place
/// form, which has none, usually reads highest.
Bandwidth measureBandwidth(int64_t bytes, int reps, int threads) {
  int64_t n = bytes / 4;
  Bandwidth bw;
  torch::Tensor a = torch::rand({n}), b = torch::rand({n}),
                c = torch::empty({n});
  c.copy_(a);
  bw.torchCopy = 2.0 * n * 4 / timeBest([&] { c.copy_(a); }, reps);
  float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>(),
        *pc = c.data_ptr<float>();
  auto slice = [n](int t, int nt, int64_t &lo, int64_t &hi) {
    lo = n * t / nt;
    hi = n * (t + 1) / nt;
  };
  bw.threadedCopy =
      2.0 * n * 4 / timeBest(
                        [&] {
                          onThreads(threads, [&](int t, int nt) {
                            int64_t lo, hi;
                            slice(t, nt, lo, hi);
                            std::memcpy(pc + lo, pa + lo, (hi - lo) * 4);
                          });
                        },
                        reps);
  bw.threadedAdd =
      3.0 * n * 4 / timeBest(
                        [&] {
                          onThreads(threads, [&](int t, int nt) {
                            int64_t lo, hi;
                            slice(t, nt, lo, hi);
                            for (int64_t i = lo; i < hi; ++i)
                              pc[i] = pa[i] + pb[i];
                          });
                        },
                        reps);
  auto wide = [&](int64_t lo, int64_t hi) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
      return wideAddAvx512(pc, pa, pb, lo, hi);
#endif
    wideAddGeneric(pc, pa, pb, lo, hi);
  };
  bw.wideAdd = 3.0 * n * 4 / timeBest(
                                  [&] {
                                    onThreads(threads, [&](int t, int nt) {
                                      int64_t lo, hi;
                                      slice(t, nt, lo, hi);
                                      wide(lo & ~int64_t(15), hi & ~int64_t(15));
                                    });
                                  },
                                  reps);
  bw.inPlaceAdd = 3.0 * n * 4 / timeBest([&] { a.add_(b); }, reps);
  return bw;
}

/// Peak f32 FMA throughput: each thread runs independent chains of vector
/// FMAs (enough to cover the FMA latency) on registers. 16 lanes = one
/// AVX-512 register or two AVX2 ones; the compiler picks.

__attribute__((noinline)) float fmaLoop(int64_t iters, float seed) {
  V16 a[12], m, c;
  for (int i = 0; i < 16; ++i) {
    m[i] = 0.999999f;
    c[i] = 1e-7f * seed;
  }
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      a[k][i] = seed + static_cast<float>(k + i);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k)
      a[k] = a[k] * m + c;
  }
  float s = 0;
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      s += a[k][i];
  return s;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,fma"), noinline)) float
fmaLoopAvx512(int64_t iters, float seed) {
  V16 a[12], m, c;
  for (int i = 0; i < 16; ++i) {
    m[i] = 0.999999f;
    c[i] = 1e-7f * seed;
  }
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      a[k][i] = seed + static_cast<float>(k + i);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k)
      a[k] = a[k] * m + c;
  }
  float s = 0;
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      s += a[k][i];
  return s;
}
__attribute__((target("avx2,fma"), noinline)) float
fmaLoopAvx2(int64_t iters, float seed) {
  V16 a[12], m, c;
  for (int i = 0; i < 16; ++i) {
    m[i] = 0.999999f;
    c[i] = 1e-7f * seed;
  }
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      a[k][i] = seed + static_cast<float>(k + i);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k)
      a[k] = a[k] * m + c;
  }
  float s = 0;
  for (int k = 0; k < 12; ++k)
    for (int i = 0; i < 16; ++i)
      s += a[k][i];
  return s;
}
#endif

double measurePeak(int threads, int64_t iters) {
  auto loop = [&](float seed) -> float {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
      return fmaLoopAvx512(iters, seed);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return fmaLoopAvx2(iters, seed);
#endif
    return fmaLoop(iters, seed);
  };
  std::vector<float> sink(threads);
  double t = timeBest(
      [&] {
        onThreads(threads, [&](int i, int) { sink[i] += loop(1.0f + i); });
      },
      3);
  // 12 chains x 16 lanes x 2 flops per iteration per thread.
  return static_cast<double>(threads) * iters * 12 * 16 * 2 / t;
}

double measureSgemm(int64_t n) {
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c;
  double t = timeBest([&] { c = torch::mm(a, b); }, 2);
  return 2.0 * n * n * n / t;
}

//===----------------------------------------------------------------------===//
// Compiled kernels
//===----------------------------------------------------------------------===//

rotary::bundle::DType toBundle(torch::ScalarType t) {
  switch (t) {
  case torch::kFloat32:
    return rotary::bundle::DType::F32;
  case torch::kFloat64:
    return rotary::bundle::DType::F64;
  case torch::kInt64:
    return rotary::bundle::DType::I64;
  case torch::kInt32:
    return rotary::bundle::DType::I32;
  default:
    throw std::runtime_error("rotary-bench: no bundle dtype for this tensor");
  }
}

TensorRef ref(const torch::Tensor &t) {
  if (!t.is_contiguous())
    throw std::runtime_error("rotary-bench: tensor not contiguous");
  return TensorRef(t.data_ptr(), toBundle(t.scalar_type()), t.sizes().vec());
}

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("rotary-bench: cannot read " + path +
                             " (use --examples DIR)");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The function @`name` of an example file (from its `func.func` line to
/// the closing `}` at the start of a line), so that a family compiles, and
/// reports the compile time of, the kernel it runs and not its neighbours
/// in the file.
std::string exampleFunction(const std::string &source, const std::string &name) {
  std::string head = "func.func @" + name + "(";
  size_t begin = source.rfind('\n' + head);
  begin = begin == std::string::npos ? source.rfind(head, 0) : begin + 1;
  size_t end = begin == std::string::npos ? begin : source.find("\n}", begin);
  if (begin == std::string::npos || end == std::string::npos)
    throw std::runtime_error("rotary-bench: no function @" + name +
                             " in the example file");
  return source.substr(begin, end + 2 - begin) + "\n";
}

/// One bundle compiled from source into a temporary directory.
class Kernel {
public:
  Kernel(const std::string &source, const std::string &name, bool keep,
         bool gradients = false)
      : keep_(keep) {
    std::string pattern =
        (fs::temp_directory_path() / "rotary-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("rotary-bench: mkdtemp failed");
    dir_ = pattern;
    std::string bundleDir = dir_ + "/" + name + ".rotary";
    std::string error;
    rotary::compiler::CompileOptions options;
    options.gradients = gradients;
    auto a = Clock::now();
    if (!rotary::compiler::compileSourceToBundle(source, name + ".mlir",
                                                 bundleDir, options, error))
      throw std::runtime_error("rotary-bench: compiling " + name +
                               " failed:\n" + error);
    compileSeconds_ = seconds(a, Clock::now());
    bundle_ = rotary::runtime::Bundle::load(bundleDir);
    if (keep_)
      std::printf("# bundle %s kept in %s\n", name.c_str(), bundleDir.c_str());
  }
  ~Kernel() {
    bundle_.reset();
    if (!keep_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  Kernel(const Kernel &) = delete;
  Kernel &operator=(const Kernel &) = delete;

  /// Allocates the outputs with the runtime's shapes (f32).
  std::vector<torch::Tensor> allocOutputs(const std::string &entry,
                                          const std::vector<TensorRef> &in) {
    std::vector<torch::Tensor> out;
    for (const auto &s : bundle_->outputShapes(entry, in))
      out.push_back(torch::full(s, std::nan("")));
    return out;
  }
  void call(const std::string &entry, const std::vector<TensorRef> &in,
            const std::vector<TensorRef> &out) const {
    bundle_->call(entry, in, out);
  }
  double compileSeconds() const { return compileSeconds_; }
  const rotary::bundle::Manifest &manifest() const {
    return bundle_->manifest();
  }

private:
  bool keep_;
  std::string dir_;
  std::shared_ptr<rotary::runtime::Bundle> bundle_;
  double compileSeconds_ = 0;
};

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

struct Row {
  std::string family, shape;
  double eager = NAN, compiled = NAN; ///< seconds, medians
  Timing eagerT, compiledT;
  double bytes = 0, flops = 0;        ///< of the minimal algorithm
  double bound = NAN;                 ///< seconds
  std::string boundBy;                ///< "mem" or "flop"
  double maxAbs = NAN, rel = NAN;
  bool ok = true;
  bool error = false; ///< the family threw (compile, load or call failed)
  double compileSeconds = NAN;
};

double toleranceRel() { return 1e-3; }

/// max |a - e| and max |a - e| / max |e| (NaN anywhere counts as a failure).
void compare(const torch::Tensor &actual, const torch::Tensor &expected,
             Row &row) {
  torch::Tensor a = actual.to(torch::kFloat64), e = expected.to(torch::kFloat64);
  double maxAbs = (a - e).abs().max().item<double>();
  double scale = e.abs().max().item<double>();
  bool finite = torch::isfinite(a).all().item<bool>();
  double rel = maxAbs / std::max(scale, 1e-30);
  if (!finite || std::isnan(maxAbs))
    rel = maxAbs = INFINITY;
  // Several outputs: keep the worst.
  if (std::isnan(row.rel) || rel > row.rel) {
    row.rel = rel;
    row.maxAbs = maxAbs;
  }
  if (!(rel <= toleranceRel()))
    row.ok = false;
}

void finish(Row &row, const Machine &m) {
  row.eager = row.eagerT.median;
  row.compiled = row.compiledT.median;
  double memT = row.bytes / m.bandwidth, flopT = row.flops / m.peak;
  row.bound = std::max(memT, flopT);
  row.boundBy = flopT > memT ? "flop" : "mem";
}

//===----------------------------------------------------------------------===//
// Family: rope
//===----------------------------------------------------------------------===//

/// RoPE, NeoX "half" layout, as written in model code: angles = positions ×
/// inv_freq, cos/sin, y = cat(x1·cos − x2·sin, x1·sin + x2·cos).
torch::Tensor ropeEager(const torch::Tensor &x, const torch::Tensor &pos,
                        double base = 10000.0) {
  int64_t D = x.size(3);
  torch::Tensor invFreq =
      1.0 / torch::pow(base, torch::arange(0, D, 2, torch::kFloat32) / D);
  torch::Tensor freqs = torch::outer(pos.to(torch::kFloat32), invFreq);
  torch::Tensor cos = freqs.cos().unsqueeze(1); // [T, 1, D/2]
  torch::Tensor sin = freqs.sin().unsqueeze(1);
  torch::Tensor x1 = x.narrow(3, 0, D / 2), x2 = x.narrow(3, D / 2, D / 2);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, 3);
}

std::vector<Row> benchRope(const Options &o, const Machine &m) {
  int64_t B = 1, T = 4096, H = 32, D = 128;
  if (o.quick)
    T = 64, H = 4, D = 32;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 10);
  Row row;
  row.family = "rope";
  torch::Tensor x = torch::randn({B, T, H, D});
  torch::Tensor pos = torch::arange(T, torch::kInt64);
  row.shape = "x" + shapeStr(x.sizes()) + " half";
  Kernel k(exampleFunction(readFile(o.examplesDir + "/rope.mlir"), "rope"),
           "rope", o.keep);
  row.compileSeconds = k.compileSeconds();
  std::vector<TensorRef> in = {ref(x), ref(pos)};
  auto out = k.allocOutputs("rope", in);
  std::vector<TensorRef> outRefs = {ref(out[0])};
  k.call("rope", in, outRefs);
  torch::Tensor expect = ropeEager(x, pos);
  compare(out[0], expect, row);
  row.bytes = 2.0 * x.numel() * 4 + T * 8.0;
  row.flops = 6.0 * x.numel() / 2;
  if (row.ok) {
    settle();
    row.eagerT = timeIt([&] { ropeEager(x, pos); }, 1, reps);
    settle();
    row.compiledT = timeIt([&] { k.call("rope", in, outRefs); }, 1, reps);
  }
  finish(row, m);
  return {row};
}

//===----------------------------------------------------------------------===//
// Family: hdd_rope
//===----------------------------------------------------------------------===//

/// HDD-RoPE in LibTorch: G from the angles (the product of the c(c-1)/2
/// Givens matrices, pairs in lexicographic order), P_t = G_1 ⋯ G_t by a loop
/// of bmm along T, then y[t, m] = P_t[m] · x[t, m].
torch::Tensor hddEager(const torch::Tensor &x, const torch::Tensor &angles,
                       int64_t c) {
  int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  int64_t C = D / c;
  torch::Tensor cs = angles.cos(), sn = angles.sin(); // [B,T,H,C,A]
  torch::Tensor eye = torch::eye(c, x.options());
  torch::Tensor G;
  int64_t a = 0;
  for (int64_t p = 0; p < c; ++p)
    for (int64_t q = p + 1; q < c; ++q, ++a) {
      torch::Tensor ca = cs.select(-1, a), sa = sn.select(-1, a);
      torch::Tensor R = eye.expand({B, T, H, C, c, c}).clone();
      R.select(-2, p).select(-1, p).copy_(ca);
      R.select(-2, q).select(-1, q).copy_(ca);
      R.select(-2, q).select(-1, p).copy_(sa);
      R.select(-2, p).select(-1, q).copy_(-sa);
      G = G.defined() ? torch::matmul(G, R) : R;
    }
  // Running product along T: [T, B*H*C, c, c].
  torch::Tensor Gt = G.permute({1, 0, 2, 3, 4, 5}).reshape({T, B * H * C, c, c});
  std::vector<torch::Tensor> Ps;
  Ps.reserve(T);
  torch::Tensor P = Gt[0];
  Ps.push_back(P);
  for (int64_t t = 1; t < T; ++t) {
    P = torch::bmm(P, Gt[t]);
    Ps.push_back(P);
  }
  torch::Tensor Pall = torch::stack(Ps)
                           .reshape({T, B, H, C, c, c})
                           .permute({1, 0, 2, 3, 4, 5}); // [B,T,H,C,c,c]
  torch::Tensor xc = x.reshape({B, T, H, C, c, 1});
  return torch::matmul(Pall, xc).reshape({B, T, H, D});
}

std::vector<Row> benchHdd(const Options &o, const Machine &m) {
  int64_t B = 1, T = 2048, H = 16, D = 64, c = 4;
  if (o.quick)
    T = 32, H = 2, D = 16;
  int64_t C = D / c, A = c * (c - 1) / 2;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 5);
  Row row;
  row.family = "hdd_rope";
  torch::Tensor x = torch::randn({B, T, H, D});
  // Small increments, as a learned projection produces them.
  torch::Tensor ang = 0.1 * torch::randn({B, T, H, C, A});
  row.shape = "x" + shapeStr(x.sizes()) + " c=4";
  Kernel k(readFile(o.examplesDir + "/hdd_rope.mlir"), "hdd_rope", o.keep);
  row.compileSeconds = k.compileSeconds();
  std::vector<TensorRef> in = {ref(x), ref(ang)};
  auto out = k.allocOutputs("hdd_rope", in);
  std::vector<TensorRef> outRefs = {ref(out[0])};
  k.call("hdd_rope", in, outRefs);
  torch::Tensor expect = hddEager(x, ang, c);
  compare(out[0], expect, row);
  row.bytes = 4.0 * (2 * x.numel() + ang.numel());
  // Per (token, chunk): G from angles (~A·c·c·2), P·G (2c³), P·x (2c²).
  row.flops = static_cast<double>(B * T * H * C) *
              (A * c * 4.0 + 2.0 * c * c * c + 2.0 * c * c);
  if (row.ok) {
    settle();
    row.eagerT = timeIt([&] { hddEager(x, ang, c); }, 1, reps);
    settle();
    row.compiledT =
        timeIt([&] { k.call("hdd_rope", in, outRefs); }, 1, reps);
  }
  finish(row, m);
  return {row};
}

//===----------------------------------------------------------------------===//
// Family: givens
//===----------------------------------------------------------------------===//

/// The round-robin schedule of docs/Math.md §2: stage s, its D/2 pairs.
void roundRobin(int64_t D, std::vector<std::vector<int64_t>> &I,
                std::vector<std::vector<int64_t>> &J) {
  I.assign(D - 1, {});
  J.assign(D - 1, {});
  for (int64_t s = 0; s < D - 1; ++s) {
    I[s].push_back(s);
    J[s].push_back(D - 1);
    for (int64_t k = 1; k < D / 2; ++k) {
      int64_t a = (s + k) % (D - 1), b = ((s - k) % (D - 1) + (D - 1)) % (D - 1);
      I[s].push_back(std::min(a, b));
      J[s].push_back(std::max(a, b));
    }
  }
}

struct GivensPlan {
  /// Per stage: the columns i and j of its D/2 pairs, as int64 [M, D/2]
  /// index tensors (expanded views) for gather/scatter.
  std::vector<torch::Tensor> I, J;
};

/// The round-robin schedule of D as a plan for matrices of M rows.
GivensPlan givensPlan(int64_t D, int64_t M) {
  std::vector<std::vector<int64_t>> I, J;
  roundRobin(D, I, J);
  GivensPlan plan;
  for (int64_t s = 0; s < D - 1; ++s) {
    auto index = [&](const std::vector<int64_t> &v) {
      return torch::tensor(v, torch::kInt64).unsqueeze(0).expand({M, D / 2});
    };
    plan.I.push_back(index(I[s]));
    plan.J.push_back(index(J[s]));
  }
  return plan;
}

/// x·G_1⋯G_N stage by stage: each stage's D/2 pairs are disjoint, so one
/// gather of columns i and j, the 2×2 update, and a scatter back. (Of the
/// index ops tried — index_select/index_copy, advanced indexing,
/// gather/scatter — gather/scatter is the fastest in LibTorch 1.13 on CPU.)
torch::Tensor givensEager(torch::Tensor x, const torch::Tensor &angles,
                          const GivensPlan &plan) {
  int64_t half = x.size(-1) / 2;
  torch::Tensor cs = angles.cos(), sn = angles.sin();
  for (size_t s = 0; s < plan.I.size(); ++s) {
    torch::Tensor c = cs.narrow(0, s * half, half);
    torch::Tensor si = sn.narrow(0, s * half, half);
    const torch::Tensor &I = plan.I[s], &J = plan.J[s];
    torch::Tensor xi = x.gather(1, I), xj = x.gather(1, J);
    x = x.scatter(1, I, xi * c + xj * si);
    x.scatter_(1, J, xj * c - xi * si);
  }
  return x;
}

/// The other way to write it: fold the chain into Q = G_1⋯G_N (the same
/// stages applied to the identity), then one x·Q.
torch::Tensor givensEagerFolded(const torch::Tensor &x,
                                const torch::Tensor &angles,
                                const GivensPlan &eyePlan) {
  int64_t D = x.size(1);
  torch::Tensor q = givensEager(torch::eye(D), angles, eyePlan);
  return torch::mm(x, q);
}

std::vector<Row> benchGivens(const Options &o, const Machine &m) {
  int64_t M = 65536, D = 64;
  if (o.quick)
    M = 256, D = 16;
  int64_t K = D * (D - 1) / 2;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 5);
  Row row;
  row.family = "givens";
  torch::Tensor x = torch::randn({M, D});
  torch::Tensor ang = torch::rand({K}) * (2 * M_PI) - M_PI;
  row.shape = "x" + shapeStr(x.sizes()) + " K=" + std::to_string(K);
  GivensPlan plan = givensPlan(D, M), eyePlan = givensPlan(D, D);
  Kernel k(exampleFunction(readFile(o.examplesDir + "/givens.mlir"), "givens"),
           "givens", o.keep);
  row.compileSeconds = k.compileSeconds();
  std::vector<TensorRef> in = {ref(x), ref(ang)};
  auto out = k.allocOutputs("givens", in);
  std::vector<TensorRef> outRefs = {ref(out[0])};
  k.call("givens", in, outRefs);
  torch::Tensor expect = givensEager(x, ang, plan);
  Row folded = row;
  folded.shape += " eager folded";
  row.shape += " eager stages";
  compare(out[0], expect, row);
  compare(out[0], givensEagerFolded(x, ang, eyePlan), folded);
  for (Row *r : {&row, &folded}) {
    r->bytes = 4.0 * (2 * x.numel() + K);
    // Minimal work: fold the chain into one D×D matrix (K·D·6), then x·Q.
    r->flops = 2.0 * M * D * D + 6.0 * K * D;
  }
  if (row.ok && folded.ok) {
    settle();
    row.eagerT = timeIt([&] { givensEager(x, ang, plan); }, 1, reps);
    folded.eagerT =
        timeIt([&] { givensEagerFolded(x, ang, eyePlan); }, 1, reps);
    settle();
    row.compiledT = folded.compiledT =
        timeIt([&] { k.call("givens", in, outRefs); }, 1, reps);
  }
  finish(row, m);
  finish(folded, m);
  return {row, folded};
}

//===----------------------------------------------------------------------===//
// Family: rotation_block
//===----------------------------------------------------------------------===//

/// docs/Math.md §4 with rope: y = rope(x)·G_1⋯G_K·R, x [B, T, H, D], as
/// model code writes it: the rope above, the chain stage by stage, then one
/// matmul.
torch::Tensor blockEager(const torch::Tensor &x, const torch::Tensor &pos,
                         const torch::Tensor &angles, const torch::Tensor &R,
                         const GivensPlan &plan) {
  int64_t D = x.size(3);
  torch::Tensor y = ropeEager(x, pos).reshape({-1, D});
  y = givensEager(y, angles, plan);
  return torch::mm(y, R).view(x.sizes());
}

/// The same with the chain folded into the matrix: Q = G_1⋯G_K·R (the
/// stages applied to the identity), then rope and one x·Q.
torch::Tensor blockEagerFolded(const torch::Tensor &x, const torch::Tensor &pos,
                               const torch::Tensor &angles,
                               const torch::Tensor &R,
                               const GivensPlan &eyePlan) {
  int64_t D = x.size(3);
  torch::Tensor q = torch::mm(givensEager(torch::eye(D), angles, eyePlan), R);
  return torch::mm(ropeEager(x, pos).reshape({-1, D}), q).view(x.sizes());
}

std::vector<Row> benchRotationBlock(const Options &o, const Machine &m) {
  int64_t B = 1, T = 2048, H = 16, D = 64;
  if (o.quick)
    T = 16, H = 2, D = 16;
  int64_t K = D * (D - 1) / 2, M = B * T * H;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 5);
  Row row;
  row.family = "rotation_block";
  torch::Tensor x = torch::randn({B, T, H, D});
  torch::Tensor pos = torch::arange(T, torch::kInt64);
  torch::Tensor ang = torch::rand({K}) * (2 * M_PI) - M_PI;
  torch::Tensor R = std::get<0>(torch::linalg_qr(torch::randn({D, D})));
  R = R.contiguous();
  row.shape = "x" + shapeStr(x.sizes()) + " K=" + std::to_string(K) + " rope";
  GivensPlan plan = givensPlan(D, M), eyePlan = givensPlan(D, D);
  Kernel k(exampleFunction(readFile(o.examplesDir + "/givens.mlir"),
                           "rotation_block_rope"),
           "rotation_block", o.keep);
  row.compileSeconds = k.compileSeconds();
  const std::string entry = "rotation_block_rope";
  std::vector<TensorRef> in = {ref(x), ref(ang), ref(R), ref(pos)};
  auto out = k.allocOutputs(entry, in);
  std::vector<TensorRef> outRefs = {ref(out[0])};
  k.call(entry, in, outRefs);
  Row folded = row;
  folded.shape += " eager folded";
  row.shape += " eager stages";
  compare(out[0], blockEager(x, pos, ang, R, plan), row);
  compare(out[0], blockEagerFolded(x, pos, ang, R, eyePlan), folded);
  for (Row *r : {&row, &folded}) {
    r->bytes = 4.0 * (2 * x.numel() + K + D * D) + 8.0 * T;
    // Minimal work: fold the chain into R (K·D·6), rope (6 per pair), x·Q.
    r->flops = 2.0 * M * D * D + 3.0 * M * D + 6.0 * K * D;
  }
  if (row.ok && folded.ok) {
    settle();
    row.eagerT = timeIt([&] { blockEager(x, pos, ang, R, plan); }, 1, reps);
    folded.eagerT =
        timeIt([&] { blockEagerFolded(x, pos, ang, R, eyePlan); }, 1, reps);
    settle();
    row.compiledT = folded.compiledT =
        timeIt([&] { k.call(entry, in, outRefs); }, 1, reps);
  }
  finish(row, m);
  finish(folded, m);
  return {row, folded};
}

//===----------------------------------------------------------------------===//
// Family: fam_step
//===----------------------------------------------------------------------===//

/// m ← α·m + (1−α)·g; p ← p − lr·m, as torch.optim code writes it
/// (in place).
void famEagerInPlace(torch::Tensor &p, const torch::Tensor &g, torch::Tensor &m,
                     double lr, double alpha) {
  m.mul_(alpha).add_(g, 1.0 - alpha);
  p.add_(m, -lr);
}

/// The same formula out of place (new p', m', as the compiled entry returns).
std::pair<torch::Tensor, torch::Tensor>
famEagerOutOfPlace(const torch::Tensor &p, const torch::Tensor &g,
                   const torch::Tensor &m, const torch::Tensor &lr,
                   const torch::Tensor &alpha) {
  torch::Tensor m2 = alpha * m + (1 - alpha) * g;
  torch::Tensor p2 = p - lr * m2;
  return {p2, m2};
}

std::vector<Row> benchFam(const Options &o, const Machine &mach) {
  int64_t N = int64_t(32) << 20;
  if (o.quick)
    N = 4096;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 10);
  double lrV = 1e-3, alphaV = 0.9;
  torch::Tensor p = torch::randn({N}), g = torch::randn({N}),
                m = torch::randn({N});
  torch::Tensor lr = torch::tensor(static_cast<float>(lrV));
  torch::Tensor alpha = torch::tensor(static_cast<float>(alphaV));
  Kernel k(readFile(o.examplesDir + "/fam.mlir"), "fam_step", o.keep);
  std::vector<TensorRef> in = {ref(p), ref(g), ref(m), ref(lr), ref(alpha)};
  auto out = k.allocOutputs("fam_step", in);
  std::vector<TensorRef> outRefs = {ref(out[0]), ref(out[1])};
  k.call("fam_step", in, outRefs);

  std::string shape = "N=" + std::to_string(N >> 20) + "M";
  if (o.quick)
    shape = "N=" + std::to_string(N);
  Row inPlace, oop;
  inPlace.family = "fam_step";
  inPlace.shape = shape + " eager in-place";
  oop.family = "fam_step";
  oop.shape = shape + " eager out-of-place";
  {
    torch::Tensor pe = p.clone(), me = m.clone();
    famEagerInPlace(pe, g, me, lrV, alphaV);
    compare(out[0], pe, inPlace);
    compare(out[1], me, inPlace);
    auto r = famEagerOutOfPlace(p, g, m, lr, alpha);
    compare(out[0], r.first, oop);
    compare(out[1], r.second, oop);
  }
  for (Row *r : {&inPlace, &oop}) {
    r->compileSeconds = k.compileSeconds();
    r->bytes = 4.0 * 5 * N;
    r->flops = 5.0 * N;
  }
  if (inPlace.ok && oop.ok) {
    // In place on copies: the values drift, the cost does not.
    torch::Tensor pe = p.clone(), me = m.clone();
    settle();
    inPlace.eagerT =
        timeIt([&] { famEagerInPlace(pe, g, me, lrV, alphaV); }, 1, reps);
    oop.eagerT =
        timeIt([&] { famEagerOutOfPlace(p, g, m, lr, alpha); }, 1, reps);
    settle();
    // Each row as its eager side runs: the optimizer (nn::FAM) passes p and
    // m as their own outputs; out of place, the outputs are fresh buffers,
    // whose first write per line also reads it (write-allocate).
    torch::Tensor pc = p.clone(), mc = m.clone();
    std::vector<TensorRef> inPlaceIn = {ref(pc), ref(g), ref(mc), ref(lr),
                                        ref(alpha)};
    std::vector<TensorRef> inPlaceOut = {ref(pc), ref(mc)};
    inPlace.compiledT =
        timeIt([&] { k.call("fam_step", inPlaceIn, inPlaceOut); }, 1, reps);
    settle();
    oop.compiledT = timeIt([&] { k.call("fam_step", in, outRefs); }, 1, reps);
  }
  finish(inPlace, mach);
  finish(oop, mach);
  return {inPlace, oop};
}

//===----------------------------------------------------------------------===//
// Family: attention
//===----------------------------------------------------------------------===//

/// Causal sliding-window attention as model code writes it: full scores,
/// masked_fill with the pattern's mask (built once, like a registered
/// buffer), softmax, @v.
torch::Tensor attentionEager(const torch::Tensor &q, const torch::Tensor &k,
                             const torch::Tensor &v, const torch::Tensor &mask,
                             double scale) {
  torch::Tensor s = torch::matmul(q, k.transpose(-2, -1)) * scale;
  s = s.masked_fill(mask, -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(s, -1), v);
}

/// The same with both products on oneDNN (torch::mkldnn_linear, per
/// (batch, head), conversions included), for builds whose BLAS is slow:
/// Debian's LibTorch calls the system libblas, which may be the unoptimised
/// reference BLAS, while its oneDNN has tuned f32 GEMMs.
torch::Tensor attentionEagerOneDnn(const torch::Tensor &q,
                                   const torch::Tensor &k,
                                   const torch::Tensor &v,
                                   const torch::Tensor &mask, double scale) {
  int64_t B = q.size(0), H = q.size(1);
  torch::Tensor out = torch::empty_like(q);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      torch::Tensor qh = q[b][h].contiguous().to_mkldnn();
      torch::Tensor kh = k[b][h].contiguous().to_mkldnn();
      torch::Tensor s = torch::mkldnn_linear(qh, kh, {}).to_dense() * scale;
      s = s.masked_fill(mask, -std::numeric_limits<float>::infinity());
      torch::Tensor p = torch::softmax(s, -1).to_mkldnn();
      torch::Tensor vt = v[b][h].t().contiguous().to_mkldnn();
      out[b][h].copy_(torch::mkldnn_linear(p, vt, {}).to_dense());
    }
  return out;
}

/// True where masked: j > i or j < i − W.
torch::Tensor windowMask(int64_t T, int64_t W) {
  torch::Tensor i = torch::arange(T).unsqueeze(1), j = torch::arange(T).unsqueeze(0);
  return (j > i) | (j < i - W);
}

std::string attentionSource(int64_t window) {
  return "func.func @attention(%q: tensor<?x?x?x?xf32>, %k: "
         "tensor<?x?x?x?xf32>,\n"
         "                     %v: tensor<?x?x?x?xf32>) -> "
         "tensor<?x?x?x?xf32> {\n"
         "  %o, %lse = rotary.attention %q, %k, %v {causal, window = " +
         std::to_string(window) +
         " : i64}\n"
         "      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, "
         "tensor<?x?x?x?xf32>\n"
         "  return %o : tensor<?x?x?x?xf32>\n"
         "}\n";
}

std::vector<Row> benchAttention(const Options &o, const Machine &m) {
  int64_t B = 1, H = 8, T = 2048, D = 64;
  if (o.quick)
    H = 2, T = 128, D = 32;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 5);
  torch::Tensor q = torch::randn({B, H, T, D}), k = torch::randn({B, H, T, D}),
                v = torch::randn({B, H, T, D});
  double scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<Row> rows;
  // W = 64: examples/attention.mlir as is; W = 128: the same entry inline.
  for (int64_t W : {int64_t(64), int64_t(128)}) {
    Row row;
    row.family = "attention";
    row.shape = "q" + shapeStr(q.sizes()) + " causal W=" + std::to_string(W);
    std::string src = W == 64 ? readFile(o.examplesDir + "/attention.mlir")
                               : attentionSource(W);
    Kernel kern(src, "attention_w" + std::to_string(W), o.keep);
    row.compileSeconds = kern.compileSeconds();
    std::vector<TensorRef> in = {ref(q), ref(k), ref(v)};
    auto out = kern.allocOutputs("attention", in);
    std::vector<TensorRef> outRefs = {ref(out[0])};
    kern.call("attention", in, outRefs);
    torch::Tensor mask = windowMask(T, W);
    torch::Tensor expect = attentionEager(q, k, v, mask, scale);
    compare(out[0], expect, row);
    double pairs = 0; // (query, key) pairs the pattern keeps
    for (int64_t i = 0; i < T; ++i)
      pairs += std::min(i, W) + 1;
    row.flops = static_cast<double>(B * H) * pairs * 4.0 * D;
    row.bytes = 4.0 * 4 * q.numel();
    if (row.ok) {
      settle();
      row.eagerT =
          timeIt([&] { attentionEager(q, k, v, mask, scale); }, 1, reps);
      settle();
      row.compiledT =
          timeIt([&] { kern.call("attention", in, outRefs); }, 1, reps);
    }
    finish(row, m);
    rows.push_back(row);
    // The issue's case (W = 128) also against eager with oneDNN products.
    if (W == 128 && at::hasMKLDNN()) {
      Row dnn = row;
      dnn.shape += " eager oneDNN mm";
      dnn.ok = true;
      dnn.rel = dnn.maxAbs = NAN;
      dnn.eagerT = Timing();
      compare(out[0], attentionEagerOneDnn(q, k, v, mask, scale), dnn);
      if (dnn.ok && row.ok) {
        settle();
        dnn.eagerT = timeIt(
            [&] { attentionEagerOneDnn(q, k, v, mask, scale); }, 1, reps);
      } else {
        dnn.compiledT = Timing();
      }
      finish(dnn, m);
      rows.push_back(dnn);
    }
  }
  return rows;
}

//===----------------------------------------------------------------------===//
// Backward families: the compiled vjp against LibTorch autograd
//===----------------------------------------------------------------------===//

/// A compiled backward as a training step runs it: the saving forward once,
/// then the vjp fed as the manifest's gradient record says (timed).
struct CompiledBackward {
  Kernel &k;
  const rotary::bundle::Gradient *g = nullptr;
  std::vector<torch::Tensor> keep; ///< owns everything the refs point to
  std::vector<TensorRef> in, out;
  std::vector<torch::Tensor> grads;

  CompiledBackward(Kernel &k, const std::string &forward,
                   const std::vector<torch::Tensor> &inputs,
                   const std::vector<torch::Tensor> &cotangents)
      : k(k) {
    g = k.manifest().findGradient(forward);
    if (!g)
      throw std::runtime_error("no gradient record for " + forward);
    std::vector<TensorRef> fin;
    for (const torch::Tensor &t : inputs)
      fin.push_back(ref(t));
    std::vector<torch::Tensor> fout = k.allocOutputs(g->forward, fin);
    std::vector<TensorRef> foutRefs;
    for (const torch::Tensor &t : fout)
      foutRefs.push_back(ref(t));
    k.call(g->forward, fin, foutRefs);
    size_t numOut = k.manifest().findEntry(forward)->outputs.size();
    keep = rotary::bundle::selectVjpInputs(*g, numOut, inputs, fout,
                                           cotangents);
    for (const torch::Tensor &t : keep)
      in.push_back(ref(t));
    grads = k.allocOutputs(g->vjp, in);
    for (const torch::Tensor &t : grads)
      out.push_back(ref(t));
  }
  void run() { k.call(g->vjp, in, out); }
};

using EagerForward =
    std::function<torch::Tensor(const std::vector<torch::Tensor> &)>;

/// Times the compiled vjp of `forward` and LibTorch's backward of `eager`
/// (the graph built once and retained, so only the backward is timed), and
/// compares every gradient.
Row benchBackward(const std::string &family, const std::string &shape,
                  Kernel &k, const std::string &forward,
                  const std::vector<torch::Tensor> &inputs,
                  const torch::Tensor &dy, const EagerForward &eager,
                  double bytes, double flops, int reps, const Machine &m) {
  Row row;
  row.family = family;
  row.shape = shape;
  row.compileSeconds = k.compileSeconds();
  CompiledBackward bwd(k, forward, inputs, {dy});
  bwd.run();
  std::vector<torch::Tensor> leaves;
  std::vector<torch::Tensor> eagerInputs = inputs;
  for (int i : bwd.g->gradients) {
    eagerInputs[i] = inputs[i].detach().clone().requires_grad_(true);
    leaves.push_back(eagerInputs[i]);
  }
  torch::Tensor y = eager(eagerInputs);
  auto eagerGrad = [&] {
    return torch::autograd::grad({y}, leaves, {dy}, /*retain_graph=*/true);
  };
  std::vector<torch::Tensor> expect = eagerGrad();
  for (size_t i = 0; i < expect.size(); ++i)
    compare(bwd.grads[i], expect[i], row);
  row.bytes = bytes;
  row.flops = flops;
  if (row.ok) {
    settle();
    row.eagerT = timeIt([&] { eagerGrad(); }, 1, reps);
    settle();
    row.compiledT = timeIt([&] { bwd.run(); }, 1, reps);
  }
  finish(row, m);
  return row;
}

std::vector<Row> benchRopeBwd(const Options &o, const Machine &m) {
  int64_t B = 1, T = 4096, H = 32, D = 128;
  if (o.quick)
    T = 64, H = 4, D = 32;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 10);
  torch::Tensor x = torch::randn({B, T, H, D}), dy = torch::randn({B, T, H, D});
  torch::Tensor pos = torch::arange(T, torch::kInt64);
  Kernel k(exampleFunction(readFile(o.examplesDir + "/rope.mlir"), "rope"),
           "rope_bwd", o.keep, true);
  // dx: read dy, write dx (x itself is not needed).
  return {benchBackward(
      "rope_bwd", "x" + shapeStr(x.sizes()) + " half", k, "rope", {x, pos}, dy,
      [](const std::vector<torch::Tensor> &in) {
        return ropeEager(in[0], in[1]);
      },
      2.0 * x.numel() * 4 + T * 8.0, 6.0 * x.numel() / 2, reps, m)};
}

std::vector<Row> benchHddBwd(const Options &o, const Machine &m) {
  int64_t B = 1, T = 2048, H = 16, D = 64, c = 4;
  if (o.quick)
    T = 32, H = 2, D = 16;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 3);
  torch::Tensor x = torch::randn({B, T, H, D}), dy = torch::randn({B, T, H, D});
  torch::Tensor a = torch::rand({B, T, H, D / c, 6}) - 0.5;
  Kernel k(readFile(o.examplesDir + "/hdd_rope.mlir"), "hdd_rope_bwd", o.keep,
           true);
  // Read x, a, dy; write dx, da. Flops: per token and chunk, G and its
  // derivative (~6·36), the scan and its reverse (~4·2c³), the products
  // (~4·2c²): about 1000 per chunk.
  double chunks = static_cast<double>(B * T * H * (D / c));
  return {benchBackward(
      "hdd_rope_bwd", "x" + shapeStr(x.sizes()) + " c=4", k, "hdd_rope",
      {x, a}, dy,
      [c](const std::vector<torch::Tensor> &in) {
        return hddEager(in[0], in[1], c);
      },
      (3.0 * x.numel() + 2.0 * a.numel()) * 4, chunks * 1000, reps, m)};
}

std::vector<Row> benchGivensBwd(const Options &o, const Machine &m) {
  int64_t M = 65536, D = 64;
  if (o.quick)
    M = 256, D = 16;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 3);
  int64_t K = D * (D - 1) / 2;
  torch::Tensor x = torch::randn({M, D}), dy = torch::randn({M, D});
  torch::Tensor a = torch::rand({K}) * 6.0 - 3.0;
  GivensPlan plan = givensPlan(D, M);
  Kernel k(exampleFunction(readFile(o.examplesDir + "/givens.mlir"), "givens"),
           "givens_bwd", o.keep, true);
  // Per row and rotation: the forward recomputed (6), undone (6), the
  // gradient rotated (6) and the angle's term (6).
  return {benchBackward(
      "givens_bwd", "x" + shapeStr(x.sizes()) + " K=" + std::to_string(K), k,
      "givens", {x, a}, dy,
      [&plan](const std::vector<torch::Tensor> &in) {
        return givensEager(in[0], in[1], plan);
      },
      3.0 * x.numel() * 4, 24.0 * K * M, reps, m)};
}

std::vector<Row> benchAttentionBwd(const Options &o, const Machine &m) {
  int64_t B = 1, H = 8, T = 2048, D = 64, W = 64;
  if (o.quick)
    H = 2, T = 128, D = 32;
  int reps = o.repeats > 0 ? o.repeats : (o.quick ? 1 : 3);
  torch::Tensor q = torch::randn({B, H, T, D}), k = torch::randn({B, H, T, D}),
                v = torch::randn({B, H, T, D}), dout = torch::randn({B, H, T, D});
  double scale = 1.0 / std::sqrt(static_cast<double>(D));
  torch::Tensor mask = windowMask(T, W);
  Kernel kern(readFile(o.examplesDir + "/attention.mlir"), "attention_bwd",
              o.keep, true);
  double pairs = 0;
  for (int64_t i = 0; i < T; ++i)
    pairs += std::min(i, W) + 1;
  // FlashAttention-2 backward: five D-long products per visible pair
  // (scores, dP, dV, dQ, dK); reads q, k, v, o, dO, writes dq, dk, dv.
  return {benchBackward(
      "attention_bwd",
      "q" + shapeStr(q.sizes()) + " causal W=" + std::to_string(W), kern,
      "attention", {q, k, v}, dout,
      [&](const std::vector<torch::Tensor> &in) {
        return attentionEager(in[0], in[1], in[2], mask, scale);
      },
      8.0 * 4 * q.numel(), static_cast<double>(B * H) * pairs * 10.0 * D,
      reps, m)};
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

std::string ms(double s) {
  if (std::isnan(s))
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s * 1e3);
  return b;
}
std::string ratio(double r, const char *suffix = "x") {
  if (std::isnan(r))
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%s", r, suffix);
  return b;
}
std::string pct(double r) {
  if (std::isnan(r))
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.0f%%", r * 100);
  return b;
}
std::string sci(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1e", v);
  return b;
}

void printTables(const std::vector<Row> &rows) {
  std::printf("\n%-14s %-44s %10s %10s %10s %5s %8s %6s %9s %9s %s\n",
              "family", "shape", "eager_ms", "rotary_ms", "bound_ms", "by",
              "speedup", "eff", "max_abs", "rel", "check");
  for (const Row &r : rows)
    std::printf("%-14s %-44s %10s %10s %10s %5s %8s %6s %9s %9s %s\n",
                r.family.c_str(), r.shape.c_str(), ms(r.eager).c_str(),
                ms(r.compiled).c_str(), ms(r.bound).c_str(),
                r.boundBy.c_str(), ratio(r.eager / r.compiled).c_str(),
                pct(r.bound / r.compiled).c_str(), sci(r.maxAbs).c_str(),
                sci(r.rel).c_str(),
                r.error ? "ERROR" : r.ok ? "ok" : "MISMATCH");

  std::printf("\n| family | shape | eager (ms) | rotary (ms) | bound (ms) | "
              "bound by | speedup | efficiency | max abs diff | rel diff |\n");
  std::printf("|---|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
  for (const Row &r : rows)
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%s |\n",
                r.family.c_str(), r.shape.c_str(), ms(r.eager).c_str(),
                ms(r.compiled).c_str(), ms(r.bound).c_str(),
                r.boundBy.c_str(), ratio(r.eager / r.compiled).c_str(),
                pct(r.bound / r.compiled).c_str(), sci(r.maxAbs).c_str(),
                sci(r.rel).c_str(),
                r.error ? " **ERROR**" : r.ok ? "" : " **MISMATCH**");
}

void usage() {
  std::printf(
      "usage: rotary-bench [--quick] [--family NAME]... [--repeats N]\n"
      "                    [--torch-threads N] [--eager-alloc reuse|os]\n"
      "                    [--examples DIR] [--keep]\n"
      "families: rope hdd_rope givens rotation_block fam_step attention\n"
      "          rope_bwd hdd_rope_bwd givens_bwd attention_bwd (backward:\n"
      "          the compiled vjp vs LibTorch autograd's backward)\n");
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rotary-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick")
      o.quick = true;
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--family")
      o.families.push_back(value());
    else if (a == "--repeats")
      o.repeats = std::atoi(value().c_str());
    else if (a == "--eager-alloc") {
      std::string v = value();
      if (v != "reuse" && v != "os") {
        std::fprintf(stderr, "rotary-bench: --eager-alloc reuse|os\n");
        return 2;
      }
      o.reuseMemory = v == "reuse";
    } else if (a == "--torch-threads")
      o.torchThreads = std::atoi(value().c_str());
    else if (a == "--examples")
      o.examplesDir = value();
    else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "rotary-bench: unknown argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (o.families.empty())
    o.families.assign(std::begin(kFamilies), std::end(kFamilies));
  for (const std::string &f : o.families)
    if (std::find(std::begin(kFamilies), std::end(kFamilies), f) ==
        std::end(kFamilies)) {
      std::fprintf(stderr, "rotary-bench: unknown family '%s'\n", f.c_str());
      usage();
      return 2;
    }

  // LibTorch's CPU allocator is glibc malloc: every tensor of 32 MB or more
  // is a fresh mmap, and every first touch of its pages a page fault, which
  // costs far more in some virtual machines than on bare metal. By default
  // freed memory stays in the process (as with a caching allocator), so
  // eager is timed on its arithmetic and memory traffic; `--eager-alloc os`
  // keeps glibc's defaults. The kernels write into outputs allocated once.
  if (o.reuseMemory) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }
  torch::manual_seed(0);
  Machine m;
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  // LibTorch's own default can be lower than the core count (it counts
  // physical cores with cpuinfo); the kernels' teams use every hardware
  // thread, so eager gets the same number unless told otherwise.
  const int torchDefault = torch::get_num_threads();
  torch::set_num_threads(o.torchThreads > 0 ? o.torchThreads : hw);
  m.threads = torch::get_num_threads();
  m.cpu = cpuModel();
  std::printf("# rotary-bench%s: %d hardware threads, LibTorch threads %d "
              "(its default here: %d), CPU %s, load average %s\n",
              o.quick ? " --quick" : "", hw, m.threads, torchDefault,
              m.cpu.c_str(), loadAverage().c_str());
  int64_t bwBytes = o.quick ? (int64_t(32) << 20) : (int64_t(512) << 20);
  Bandwidth bw = measureBandwidth(bwBytes, o.quick ? 1 : 5, hw);
  m.bandwidth = bw.best();
  m.peak = measurePeak(hw, o.quick ? 1000000 : 20000000);
  m.sgemm = measureSgemm(o.quick ? 256 : 1024);
  std::printf("# memory bandwidth, %lld MB buffers, read+written bytes, "
              "best of %d: torch copy_ %.1f, memcpy %.1f, c=a+b %.1f, c=a+b "
              "64-byte stores %.1f, torch a+=b %.1f -> bound uses the best, "
              "%.1f GB/s\n",
              static_cast<long long>(bwBytes >> 20), o.quick ? 1 : 5,
              bw.torchCopy / 1e9, bw.threadedCopy / 1e9, bw.threadedAdd / 1e9,
              bw.wideAdd / 1e9, bw.inPlaceAdd / 1e9, m.bandwidth / 1e9);
  std::printf("# f32 FMA peak (%d threads): %.1f GFLOP/s; LibTorch sgemm: "
              "%.1f GFLOP/s (information only)\n",
              hw, m.peak / 1e9, m.sgemm / 1e9);
  std::printf("# eager allocations: %s\n",
              o.reuseMemory ? "reuse (freed memory stays in the process)"
                            : "os (glibc defaults: mmap/munmap per large "
                              "tensor)");
  std::printf("# bound = max(bytes / bandwidth, flops / peak) of the minimal "
              "algorithm; speedup = eager / rotary; efficiency = bound / "
              "rotary\n");
  std::fflush(stdout);

  std::vector<Row> rows;
  bool failed = false;
  for (const std::string &f : o.families) {
    std::vector<Row> r;
    try {
      if (f == "rope")
        r = benchRope(o, m);
      else if (f == "hdd_rope")
        r = benchHdd(o, m);
      else if (f == "givens")
        r = benchGivens(o, m);
      else if (f == "rotation_block")
        r = benchRotationBlock(o, m);
      else if (f == "fam_step")
        r = benchFam(o, m);
      else if (f == "attention")
        r = benchAttention(o, m);
      else if (f == "rope_bwd")
        r = benchRopeBwd(o, m);
      else if (f == "hdd_rope_bwd")
        r = benchHddBwd(o, m);
      else if (f == "givens_bwd")
        r = benchGivensBwd(o, m);
      else if (f == "attention_bwd")
        r = benchAttentionBwd(o, m);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "rotary-bench: %s failed: %s\n", f.c_str(),
                   e.what());
      Row err;
      err.family = f;
      err.shape = "(error)";
      err.ok = false;
      err.error = true;
      r.push_back(err);
    }
    for (const Row &row : r) {
      if (!row.error)
        std::printf("# %-14s %-44s compiled in %.2f s, rel diff %s%s; "
                    "min-max ms: eager %s-%s, rotary %s-%s\n",
                    row.family.c_str(), row.shape.c_str(),
                    row.compileSeconds, sci(row.rel).c_str(),
                    row.ok ? "" : "  <-- MISMATCH: not timed",
                    ms(row.eagerT.min).c_str(), ms(row.eagerT.max).c_str(),
                    ms(row.compiledT.min).c_str(),
                    ms(row.compiledT.max).c_str());
      failed |= !row.ok;
    }
    std::fflush(stdout);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  printTables(rows);
  std::printf("\n# load average at the end: %s\n", loadAverage().c_str());
  if (failed) {
    std::fprintf(stderr,
                 "rotary-bench: FAILED: compiled and eager outputs differ by "
                 "more than %.0e (relative) or a family errored\n",
                 toleranceRel());
    return 1;
  }
  return 0;
}
