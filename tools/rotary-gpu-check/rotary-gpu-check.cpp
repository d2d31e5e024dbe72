//===- rotary-gpu-check.cpp - check and time bundles' GPU kernels ---------===//
//
//   rotary-gpu-check prepare DIR   (here: CPU only)
//   rotary-gpu-check run DIR       (on a GPU machine)
//
// DIR holds the bundles scripts/gpu-check compiled (DIR/cases/NAME.rotary,
// CPU and GPU code). `prepare` draws the inputs of every case's check
// shapes and stores them with the outputs of the bundle's CPU entry as
// .npy (DIR/cases/NAME/SHAPE/in*.npy, ref*.npy). `run` needs only the
// NVIDIA driver: for every case it runs the GPU entry on the stored inputs
// and compares with the stored outputs and with the CPU entry run there,
// then times the GPU entry at a large shape and prints one table per case:
// time, bytes, flops, the device's measured copy bandwidth, and the
// kernel's bandwidth as a ratio of it. Exit status 1 when a check fails.
// It links librotary_runtime alone (no MLIR, no LibTorch).
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Cuda.h"
#include "rotary/Runtime/Npy.h"
#include "rotary/Runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace rotary;
using runtime::TensorRef;
namespace fs = std::filesystem;

namespace {

/// How an input is drawn: normal f32 values, or the positions 0..n-1, or a
/// scalar constant.
struct Input {
  enum class Kind { Normal, Positions, Scalar } kind = Kind::Normal;
  bundle::DType dtype = bundle::DType::F32;
  double value = 0; ///< Scalar only
};

using Shapes = std::vector<std::vector<int64_t>>;

struct Case {
  std::string name, bundle, entry;
  std::vector<Input> inputs;
  std::vector<Shapes> checks; ///< input shapes of each checked call
  Shapes bench;               ///< input shapes of the timed call
  /// Bytes the math must move at least (each input it needs read once,
  /// each output written once), and its flops, from the input shapes.
  std::function<double(const Shapes &)> bytes, flops;
  std::string note;
  /// Largest max|GPU - reference| / max|reference| accepted.
  double tolerance = 1e-5;
};

int64_t numel(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

/// RoPE's angles are f32 products of positions up to 4095 and the
/// frequencies: a last-bit difference in an angle (an FMA contracted on one
/// target and not the other) moves the result by up to T·2^-24 ≈ 2.4e-4
/// of its size at T = 4096 (f32 angles: docs/Math.md, "Types").
constexpr double kRopeTolerance = 5e-4;

/// HDD-RoPE's P_t is a product of up to T rotations in f32, associated in
/// another order on each side (the CPU's scan per chunk, the GPU's blocked
/// scan): each product rounds at 2^-24, so up to T·2^-24 ≈ 1.2e-4 apart
/// at T = 2048.
constexpr double kHddTolerance = 5e-4;

/// At c = 16 a step is 120 rotations rather than 6: twenty times the
/// roundings per token, which add up like a random walk (about 4.5 times
/// c = 4's error) unless they line up.
constexpr double kHdd16Tolerance = 2e-3;

/// Attention sums up to 256 weighted values per output in f32, in another
/// order on each side (the CPU's register blocks, the GPU's tiles).
constexpr double kAttentionTolerance = 1e-4;

/// A Givens chain of 2016 rotations in f32, run in the same order on both
/// sides but contracted into FMAs differently: up to 2016·2^-24 ≈ 1.2e-4.
/// Its gradient runs them twice, in f64 on the CPU and f32 on the GPU:
/// up to 2.4e-4.
constexpr double kChainTolerance = 5e-4;

/// Query-key pairs of causal attention with a window of W keys back: query
/// i sees min(i, W) + 1 keys.
double windowPairs(int64_t T, int64_t W) {
  int64_t full = std::min(T, W);
  return double(full) * double(full + 1) / 2 + double(T - full) * double(W + 1);
}

std::vector<Case> cases() {
  const Input x{}, positions{Input::Kind::Positions, bundle::DType::I64},
      lr{Input::Kind::Scalar, bundle::DType::F32, 1e-3},
      alpha{Input::Kind::Scalar, bundle::DType::F32, 0.9},
      // Learnable RoPE's parameters: every frequency 0.01 (angles up to
      // about 41 at T = 4096), no phase, scale 1.
      freq{Input::Kind::Scalar, bundle::DType::F32, 0.01},
      zero{Input::Kind::Scalar, bundle::DType::F32, 0.0},
      one{Input::Kind::Scalar, bundle::DType::F32, 1.0};
  // RoPE: y = x·cos + rotate(x)·sin, 3 flops per element; x read, y
  // written (the angle tables are T·D/2 each, small beside them).
  auto ropeBytes = [](const Shapes &s) { return 8.0 * numel(s[0]); };
  auto ropeFlops = [](const Shapes &s) { return 3.0 * numel(s[0]); };
  // The backward reads dy (input 2) and writes dx.
  auto ropeBwdBytes = [](const Shapes &s) { return 8.0 * numel(s[2]); };
  // FAM step: p, g, m read, p', m' written; about 7 flops per element.
  auto famBytes = [](const Shapes &s) { return 20.0 * numel(s[0]); };
  auto famFlops = [](const Shapes &s) { return 7.0 * numel(s[0]); };
  // The learnable backward reads x and dy (input 5), writes dx; its
  // parameter sums are 3 more flops per element.
  auto learnedBwdBytes = [](const Shapes &s) { return 12.0 * numel(s[0]); };
  auto learnedBwdFlops = [](const Shapes &s) { return 6.0 * numel(s[0]); };
  auto learnedShapes = [](std::vector<int64_t> x) {
    int64_t T = x[1], half = x[3] / 2;
    return Shapes{x, {T}, {half}, {half}, {}, x};
  };
  // HDD-RoPE, c = 4: x and the angles (6 per chunk) read, y written; 256
  // flops per chunk and token (six rotations of P, y = P·x). The backward
  // reads x, the angles and dy, writes dx and the angles' gradient; about
  // 1000 flops per chunk and token (docs/benchmarks.md).
  auto hddBytes = [](const Shapes &s) {
    return 4.0 * (2 * numel(s[0]) + numel(s[1]));
  };
  auto hddFlops = [](const Shapes &s) { return 256.0 * numel(s[0]) / 4; };
  auto hddBwdBytes = [](const Shapes &s) {
    return 4.0 * (3 * numel(s[0]) + 2 * numel(s[1]));
  };
  auto hddBwdFlops = [](const Shapes &s) { return 1000.0 * numel(s[0]) / 4; };
  auto hddShapes = [](std::vector<int64_t> x, bool bwd, int64_t c = 4) {
    Shapes s = {x, {x[0], x[1], x[2], x[3] / c, c * (c - 1) / 2}};
    if (bwd)
      s.push_back(x);
    return s;
  };
  auto hddChecks = [&](bool bwd, int64_t c = 4) {
    return std::vector<Shapes>{hddShapes({1, 1, 1, c}, bwd, c),
                               hddShapes({2, 7, 3, 2 * c}, bwd, c),
                               hddShapes({1, 70, 2, 3 * c}, bwd, c)};
  };
  // Chunks of c = 16 (120 angles each), two rows of P per thread
  // (decision 0034): the bound is the math's, per chunk and token
  // x, y and the angles moved once, P turned by the 120 rotations (16 rows,
  // 6 flops each) and y = P·x (2·c²): 12032 flops. The backward reads x,
  // the angles and dy, writes dx and the angles' gradient; its bound
  // counts the forward twice (P, then P recomputed backwards) and the
  // rotations' adjoint (16 rows, 16 flops per rotation: the angle's term,
  // the rotation undone on values and gradients): about 55000 flops per
  // chunk and token.
  auto hdd16Bytes = [](const Shapes &s) {
    return 4.0 * (2 * numel(s[0]) + numel(s[1]));
  };
  auto hdd16Flops = [](const Shapes &s) { return 12032.0 * numel(s[0]) / 16; };
  auto hdd16BwdBytes = [](const Shapes &s) {
    return 4.0 * (3 * numel(s[0]) + 2 * numel(s[1]));
  };
  auto hdd16BwdFlops = [](const Shapes &s) {
    return 55000.0 * numel(s[0]) / 16;
  };
  // Attention (bench/gpu/attention.mlir: causal, 255 keys back, D = 64):
  // q, k, v read and o written; 4·D flops per visible pair (the scores and
  // the weighted sum). The backward reads ȯ too and writes dq, dk, dv; it
  // recomputes the scores and forms dv, dp, dq and dk: 10·D per pair.
  const int64_t kWindow = 255;
  auto attentionBytes = [](const Shapes &s) { return 16.0 * numel(s[0]); };
  auto attentionFlops = [=](const Shapes &s) {
    return 4.0 * s[0][0] * s[0][1] * s[0][3] * windowPairs(s[0][2], kWindow);
  };
  auto attentionBwdBytes = [](const Shapes &s) { return 28.0 * numel(s[0]); };
  auto attentionBwdFlops = [=](const Shapes &s) {
    return 10.0 * s[0][0] * s[0][1] * s[0][3] * windowPairs(s[0][2], kWindow);
  };
  auto attentionShapes = [](std::vector<int64_t> q, bool bwd) {
    return bwd ? Shapes{q, q, q, q} : Shapes{q, q, q};
  };
  auto attentionChecks = [&](bool bwd) {
    return std::vector<Shapes>{attentionShapes({1, 1, 1, 64}, bwd),
                               attentionShapes({2, 3, 37, 64}, bwd),
                               attentionShapes({1, 2, 300, 64}, bwd)};
  };
  // A Givens chain (bench/gpu/givens.mlir: x [rows, D], N angles): x read,
  // y written; per row the cheaper of the chain (6 flops per rotation) and
  // the folded matrix (2·D² flops), which the kernel's cost model picks
  // likewise.
  auto givensBytes = [](const Shapes &s) { return 8.0 * numel(s[0]); };
  auto givensFlops = [](const Shapes &s) {
    double d = double(s[0][1]);
    return std::min(6.0 * double(s[1][0]), 2.0 * d * d) * double(s[0][0]);
  };
  // Its backward (x, angles, ȳ): x and ȳ read, x̄ written, and the angles'
  // partial sums, N f64 per block of 64 rows, written and read once; per
  // row and rotation the chain forward (6 flops), then undone (6), the
  // angle's term (7) and ȳ turned (6).
  auto givensBwdBytes = [](const Shapes &s) {
    return 12.0 * numel(s[0]) + 16.0 * double(s[1][0]) * double(s[0][0]) / 64;
  };
  auto givensBwdFlops = [](const Shapes &s) {
    return 25.0 * double(s[1][0]) * double(s[0][0]);
  };
  Shapes ropeBench = {{8, 4096, 16, 128}, {4096}};
  Shapes ropeBwdBench = {{8, 4096, 16, 128}, {4096}, {8, 4096, 16, 128}};
  int64_t famN = int64_t(1) << 26;
  Shapes famBench = {{famN}, {famN}, {famN}, {}, {}};
  return {
      {"rope",
       "rope",
       "rope",
       {x, positions},
       {{{1, 1, 1, 2}, {1}}, {{2, 7, 3, 10}, {7}}, {{1, 33, 4, 64}, {33}}},
       ropeBench,
       ropeBytes,
       ropeFlops,
       "half layout, fixed frequencies",
       kRopeTolerance},
      {"rope_bwd",
       "rope",
       "rope_bwd",
       {x, positions, x},
       {{{1, 1, 1, 2}, {1}, {1, 1, 1, 2}},
        {{2, 7, 3, 10}, {7}, {2, 7, 3, 10}},
        {{1, 33, 4, 64}, {33}, {1, 33, 4, 64}}},
       ropeBwdBench,
       ropeBwdBytes,
       ropeFlops,
       "dx from dy",
       kRopeTolerance},
      {"rope_learned_bwd",
       "rope",
       "rope_learned_bwd",
       {x, positions, freq, zero, one, x},
       {learnedShapes({1, 1, 1, 2}), learnedShapes({2, 7, 3, 10}),
        learnedShapes({1, 33, 4, 64})},
       learnedShapes({8, 4096, 16, 128}),
       learnedBwdBytes,
       learnedBwdFlops,
       "dx and the sums of learnable frequencies, phases, scale",
       kRopeTolerance},
      {"hdd_rope",
       "hdd_rope",
       "hdd_rope",
       {x, x},
       hddChecks(false),
       hddShapes({8, 2048, 16, 64}, false),
       hddBytes,
       hddFlops,
       "Givens form, c = 4",
       kHddTolerance},
      {"hdd_rope_bwd",
       "hdd_rope",
       "hdd_rope_bwd",
       {x, x, x},
       hddChecks(true),
       hddShapes({8, 2048, 16, 64}, true),
       hddBwdBytes,
       hddBwdFlops,
       "dx and the angles' gradient",
       kHddTolerance},
      {"hdd_rope_c16",
       "hdd_rope",
       "hdd_rope_c16",
       {x, x},
       hddChecks(false, 16),
       hddShapes({8, 2048, 16, 64}, false, 16),
       hdd16Bytes,
       hdd16Flops,
       "Givens form, c = 16: two rows of P per thread, never stored; "
       "compute-bound: see the FP32 peak ratio",
       kHdd16Tolerance},
      {"hdd_rope_c16_bwd",
       "hdd_rope",
       "hdd_rope_c16_bwd",
       {x, x, x},
       hddChecks(true, 16),
       hddShapes({8, 2048, 16, 64}, true, 16),
       hdd16BwdBytes,
       hdd16BwdFlops,
       "dx and the angles' gradient, the generator's adjoint by rows",
       kHdd16Tolerance},
      {"attention",
       "attention",
       "attention",
       {x, x, x},
       attentionChecks(false),
       attentionShapes({4, 16, 4096, 64}, false),
       attentionBytes,
       attentionFlops,
       "causal, 255 keys back, D = 64; compute-bound: see the FP32 peak "
       "ratio",
       kAttentionTolerance},
      {"attention_bwd",
       "attention",
       "attention_bwd",
       {x, x, x, x},
       attentionChecks(true),
       attentionShapes({4, 16, 4096, 64}, true),
       attentionBwdBytes,
       attentionBwdFlops,
       "dq, dk, dv from ȯ",
       kAttentionTolerance},
      {"attention_any_d",
       "attention",
       "attention_any_d",
       {x, x, x},
       {attentionShapes({1, 1, 1, 64}, false),
        attentionShapes({2, 3, 37, 40}, false),
        attentionShapes({1, 2, 300, 100}, false)},
       attentionShapes({4, 16, 4096, 64}, false),
       attentionBytes,
       attentionFlops,
       "the same, D known only at launch: its tiles in dynamic shared "
       "memory (D = 100: 51200 bytes, above the 48 KiB default)",
       kAttentionTolerance},
      {"givens",
       "givens",
       "givens",
       {x, x},
       {{{1, 64}, {2016}}, {{70, 64}, {2016}}, {{300, 64}, {2016}}},
       {{int64_t(1) << 20, 64}, {2016}},
       givensBytes,
       givensFlops,
       "D = 64, all 2016 rotations: the chain per row below about 200 "
       "rows, folded into x·Q above",
       kChainTolerance},
      {"givens_bwd",
       "givens",
       "givens_bwd",
       {x, x, x},
       {{{1, 64}, {2016}, {1, 64}},
        {{70, 64}, {2016}, {70, 64}},
        {{300, 64}, {2016}, {300, 64}}},
       {{int64_t(1) << 20, 64}, {2016}, {int64_t(1) << 20, 64}},
       givensBwdBytes,
       givensBwdFlops,
       "x̄ and the angles' gradient: the chain forward and back per row, "
       "compute-bound: see the FP32 peak ratio",
       kChainTolerance},
      {"fam_step",
       "fam",
       "fam_step",
       {x, x, x, lr, alpha},
       {{{1}, {1}, {1}, {}, {}},
        {{1001}, {1001}, {1001}, {}, {}},
        {{4096}, {4096}, {4096}, {}, {}}},
       famBench,
       famBytes,
       famFlops,
       "one parameter tensor"},
  };
}

std::vector<npy::Array> drawInputs(const Case &c, const Shapes &shapes,
                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<npy::Array> arrays;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Input &in = c.inputs[i];
    npy::Array a(in.dtype, shapes[i]);
    int64_t n = numel(shapes[i]);
    for (int64_t k = 0; k < n; ++k) {
      if (in.kind == Input::Kind::Positions)
        a.as<int64_t>()[k] = k;
      else if (in.kind == Input::Kind::Scalar)
        a.as<float>()[k] = float(in.value);
      else
        a.as<float>()[k] = normal(rng);
    }
    arrays.push_back(std::move(a));
  }
  return arrays;
}

std::vector<TensorRef> refs(std::vector<npy::Array> &arrays) {
  std::vector<TensorRef> r;
  for (npy::Array &a : arrays)
    r.emplace_back(a.data(), a.dtype, a.shape);
  return r;
}

/// Runs `entry` on the CPU: the outputs, allocated from the manifest.
std::vector<npy::Array> runCpu(const runtime::Bundle &b,
                               const std::string &entry,
                               std::vector<npy::Array> &inputs) {
  std::vector<TensorRef> in = refs(inputs);
  std::vector<npy::Array> outputs;
  const bundle::Entry &e = b.entry(entry);
  std::vector<std::vector<int64_t>> shapes = b.outputShapes(entry, in);
  for (size_t i = 0; i < shapes.size(); ++i)
    outputs.emplace_back(e.outputs[i].dtype, shapes[i]);
  b.call(entry, in, refs(outputs));
  return outputs;
}

size_t bytesOf(const npy::Array &a) {
  return size_t(a.numel()) * size_t(bundle::dtypeBytes(a.dtype));
}

/// Tensors copied to device `gpu`, and outputs allocated there.
struct OnDevice {
  std::vector<runtime::cuda::DeviceBuffer> buffers;
  std::vector<TensorRef> inputs, outputs;
  OnDevice(int gpu, const std::vector<npy::Array> &in,
           const std::vector<npy::Array> &outShapes) {
    buffers.reserve(in.size() + outShapes.size());
    for (const auto *list : {&in, &outShapes})
      for (const npy::Array &a : *list) {
        buffers.emplace_back(gpu, bytesOf(a));
        if (list == &in)
          buffers.back().copyFrom(a.data(), bytesOf(a));
        (list == &in ? inputs : outputs)
            .emplace_back(buffers.back().data(), a.dtype, a.shape,
                          std::vector<int64_t>{}, TensorRef::Device::CUDA);
      }
  }
  std::vector<npy::Array> download(const std::vector<npy::Array> &like) {
    std::vector<npy::Array> out;
    for (size_t i = 0; i < like.size(); ++i) {
      out.emplace_back(like[i].dtype, like[i].shape);
      buffers[inputs.size() + i].copyTo(out.back().data(), bytesOf(like[i]));
    }
    return out;
  }
};

/// max |a - b| / max(max |b|, tiny), over every output.
double relativeError(const std::vector<npy::Array> &a,
                     const std::vector<npy::Array> &b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype != bundle::DType::F32 || a[i].shape != b[i].shape)
      return INFINITY;
    for (int64_t k = 0; k < a[i].numel(); ++k) {
      double x = a[i].as<float>()[k], y = b[i].as<float>()[k];
      if (std::isnan(x) != std::isnan(y))
        return INFINITY;
      diff = std::max(diff, std::fabs(x - y));
      scale = std::max(scale, std::fabs(y));
    }
  }
  return diff / scale;
}

std::string shapeText(const Shapes &shapes) {
  std::string s;
  for (const auto &shape : shapes) {
    s += s.empty() ? "[" : " [";
    for (size_t i = 0; i < shape.size(); ++i)
      s += (i ? "x" : "") + std::to_string(shape[i]);
    s += "]";
  }
  return s;
}

double seconds(std::chrono::steady_clock::time_point a,
               std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void synchronize(int gpu) {
  const runtime::cuda::Driver &driver = runtime::cuda::Driver::get();
  runtime::cuda::Driver::Scope scope(driver, gpu);
  driver.synchronize(nullptr);
}

/// Seconds per call of `body` (warm-up first), over `reps` calls queued
/// back to back and one synchronisation.
double timeIt(int gpu, int reps, const std::function<void()> &body) {
  for (int i = 0; i < 3; ++i)
    body();
  synchronize(gpu);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i)
    body();
  synchronize(gpu);
  return seconds(start, std::chrono::steady_clock::now()) / reps;
}

int prepare(const fs::path &dir) {
  for (const Case &c : cases()) {
    auto bundle = runtime::Bundle::load(
        (dir / "cases" / (c.bundle + ".rotary")).string());
    for (size_t k = 0; k < c.checks.size(); ++k) {
      std::vector<npy::Array> in = drawInputs(c, c.checks[k], 1000 + k);
      std::vector<npy::Array> out = runCpu(*bundle, c.entry, in);
      fs::path where = dir / "cases" / c.name / std::to_string(k);
      fs::create_directories(where);
      for (size_t i = 0; i < in.size(); ++i)
        npy::write((where / ("in" + std::to_string(i) + ".npy")).string(),
                   in[i]);
      for (size_t i = 0; i < out.size(); ++i)
        npy::write((where / ("ref" + std::to_string(i) + ".npy")).string(),
                   out[i]);
    }
    std::printf("%s: %zu checked shapes stored\n", c.name.c_str(),
                c.checks.size());
  }
  return 0;
}

int run(const fs::path &dir) {
  std::string why;
  if (!runtime::cuda::Driver::available(&why)) {
    std::fprintf(stderr, "rotary-gpu-check: %s\n", why.c_str());
    return 1;
  }
  const runtime::cuda::Driver &driver = runtime::cuda::Driver::get();
  const int gpu = 0;
  std::printf("GPU: %s (sm_%d), CUDA driver %d\n",
              driver.deviceName(gpu).c_str(), driver.computeCapability(gpu),
              driver.version());

  // The bound: device-to-device copies of 1 GiB (read + write).
  const size_t copyBytes = size_t(1) << 30;
  runtime::cuda::DeviceBuffer a(gpu, copyBytes), b(gpu, copyBytes);
  double copyTime = timeIt(gpu, 10, [&] {
    runtime::cuda::Driver::Scope scope(driver, gpu);
    driver.copyOnDevice(b.data(), a.data(), copyBytes);
  });
  const double bandwidth = 2.0 * copyBytes / copyTime;
  std::printf("measured copy bandwidth: %.1f GB/s (cuMemcpyDtoD, 1 GiB)\n",
              bandwidth / 1e9);
  const double peak = driver.fp32Peak(gpu);
  if (peak > 0)
    std::printf("FP32 FMA peak: %.1f TFLOP/s (multiprocessors x lanes x 2 x "
                "clock, from the driver)\n\n",
                peak / 1e12);
  else
    std::printf("FP32 FMA peak: not reported by the driver (the peak ratios "
                "read 0)\n\n");

  bool ok = true;
  for (const Case &c : cases()) {
    auto bundle = runtime::Bundle::load(
        (dir / "cases" / (c.bundle + ".rotary")).string());
    std::printf("## %s (%s; bundle %s, entry %s)\n", c.name.c_str(),
                c.note.c_str(), c.bundle.c_str(), c.entry.c_str());
    // Checked shapes: the stored references, and the CPU entry here.
    for (size_t k = 0; k < c.checks.size(); ++k) {
      fs::path where = dir / "cases" / c.name / std::to_string(k);
      std::vector<npy::Array> in, ref;
      for (size_t i = 0; i < c.inputs.size(); ++i)
        in.push_back(
            npy::read((where / ("in" + std::to_string(i) + ".npy")).string()));
      for (size_t i = 0;
           fs::exists(where / ("ref" + std::to_string(i) + ".npy")); ++i)
        ref.push_back(
            npy::read((where / ("ref" + std::to_string(i) + ".npy")).string()));
      std::vector<npy::Array> cpu = runCpu(*bundle, c.entry, in);
      OnDevice d(gpu, in, cpu);
      bundle->call(c.entry, d.inputs, d.outputs, runtime::CallOptions());
      synchronize(gpu);
      std::vector<npy::Array> got = d.download(cpu);
      double vsRef = relativeError(got, ref), vsCpu = relativeError(got, cpu);
      bool pass = vsRef <= c.tolerance && vsCpu <= c.tolerance;
      ok &= pass;
      std::printf("check %-36s GPU vs stored %.1e, vs CPU %.1e  %s\n",
                  shapeText(c.checks[k]).c_str(), vsRef, vsCpu,
                  pass ? "ok" : "FAILED");
    }
    // The timed shape, checked against the CPU entry too.
    std::vector<npy::Array> in = drawInputs(c, c.bench, 7);
    std::vector<npy::Array> cpu = runCpu(*bundle, c.entry, in);
    OnDevice d(gpu, in, cpu);
    double t = timeIt(gpu, 20, [&] {
      bundle->call(c.entry, d.inputs, d.outputs, runtime::CallOptions());
    });
    double err = relativeError(d.download(cpu), cpu);
    ok &= err <= c.tolerance;
    double bytes = c.bytes(c.bench), flops = c.flops(c.bench);
    std::printf("check %-36s GPU vs CPU %.1e  %s\n", shapeText(c.bench).c_str(),
                err, err <= c.tolerance ? "ok" : "FAILED");
    std::printf("| shape | time (us) | bytes | flops | GB/s | copy GB/s | "
                "ratio to copy bandwidth | TFLOP/s | ratio to FP32 peak |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %.1f | %.3g | %.3g | %.1f | %.1f | %.2f | %.2f | "
                "%.2f |\n\n",
                shapeText(c.bench).c_str(), t * 1e6, bytes, flops,
                bytes / t / 1e9, bandwidth / 1e9, bytes / t / bandwidth,
                flops / t / 1e12, peak > 0 ? flops / t / peak : 0.0);
  }
  std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3 || (std::strcmp(argv[1], "prepare") != 0 &&
                    std::strcmp(argv[1], "run") != 0)) {
    std::fprintf(stderr, "usage: rotary-gpu-check prepare|run DIR\n");
    return 2;
  }
  try {
    return std::strcmp(argv[1], "prepare") == 0 ? prepare(argv[2])
                                                : run(argv[2]);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rotary-gpu-check: %s\n", e.what());
    return 1;
  }
}
