//===- main.cpp - run a prebuilt bundle with the installed runtime --------===//
//
//   consumer-runtime <bundle directory of examples/rope.mlir>
//
// Loads the bundle with rotary::runtime alone and runs its two entries,
// @rope (base 10000) and @rope_learned (frequencies, phases and a position
// scale as inputs), on random inputs at several shapes (odd H, T = 1,
// B = 1), comparing every output with the rotation of docs/Math.md §1
// computed here in double precision (relative error at most 1e-6). Also
// checks that the runtime's errors reach the program as
// rotary::runtime::Error (a wrong dtype, an unknown entry) and that the C
// API gives the C++ API's result. The seed is $ROTARY_TEST_SEED, else drawn
// fresh; it is printed. Exits 1 on any mismatch.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Runtime.h"
#include "rotary/Runtime/rotary_runtime.h"
#include "rotary/Version.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using rotary::bundle::DType;
using rotary::runtime::Bundle;
using rotary::runtime::Error;
using rotary::runtime::TensorRef;

int failures = 0;

void fail(const std::string &message) {
  std::fprintf(stderr, "FAIL: %s\n", message.c_str());
  ++failures;
}

struct Shape {
  int64_t b, t, h, d;
};

/// The rope of docs/Math.md §1, half layout, every feature rotated: pair i
/// is (i, i + D/2), θ = scale·p·f_i + φ_i, (a, b) -> (a cos θ − b sin θ,
/// a sin θ + b cos θ). Computed in double from the f32 inputs.
std::vector<double> referenceRope(const Shape &s, const std::vector<float> &x,
                                  const std::vector<int64_t> &positions,
                                  const std::vector<double> &invFreq,
                                  const std::vector<double> &phase,
                                  double scale) {
  std::vector<double> y(x.size());
  int64_t half = s.d / 2;
  for (int64_t bi = 0; bi < s.b; ++bi)
    for (int64_t ti = 0; ti < s.t; ++ti)
      for (int64_t hi = 0; hi < s.h; ++hi) {
        int64_t row = ((bi * s.t + ti) * s.h + hi) * s.d;
        for (int64_t i = 0; i < half; ++i) {
          double theta =
              scale * static_cast<double>(positions[ti]) * invFreq[i] +
              phase[i];
          double a = x[row + i], b = x[row + i + half];
          y[row + i] = a * std::cos(theta) - b * std::sin(theta);
          y[row + i + half] = a * std::sin(theta) + b * std::cos(theta);
        }
      }
  return y;
}

/// Largest |got − want| / (1 + |want|); f32 outputs of a rotation whose
/// cos/sin table is rounded to f32 once stay within a few ulps.
double maxError(const std::vector<float> &got,
                const std::vector<double> &want) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double e = std::fabs(got[i] - want[i]) / (1 + std::fabs(want[i]));
    if (!(e <= worst)) // NaN counts as the worst
      worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

std::string describe(const Shape &s) {
  return "[" + std::to_string(s.b) + ", " + std::to_string(s.t) + ", " +
         std::to_string(s.h) + ", " + std::to_string(s.d) + "]";
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <bundle directory of examples/rope.mlir>\n",
                 argv[0]);
    return 2;
  }
  const char *seedText = std::getenv("ROTARY_TEST_SEED");
  uint64_t seed =
      seedText ? std::strtoull(seedText, nullptr, 10) : std::random_device{}();
  std::printf("consumer-runtime: rotary %s, seed %llu (replay with "
              "ROTARY_TEST_SEED=%llu)\n",
              ROTARY_VERSION_STRING, static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const double tolerance = 1e-6;

  std::shared_ptr<Bundle> bundle;
  try {
    bundle = Bundle::load(argv[1]);
  } catch (const Error &e) {
    std::fprintf(stderr, "FAIL: cannot load %s: %s\n", argv[1], e.what());
    return 1;
  }

  const std::vector<Shape> shapes = {
      {2, 5, 3, 8}, {1, 1, 1, 2}, {3, 7, 2, 6}, {1, 4, 5, 16}};
  for (const Shape &s : shapes) {
    int64_t n = s.b * s.t * s.h * s.d, half = s.d / 2;
    std::vector<int64_t> shape = {s.b, s.t, s.h, s.d};
    std::vector<float> x(n);
    for (float &v : x)
      v = normal(rng);
    // Positions of a packed batch: any order, up to a few thousand.
    std::vector<int64_t> positions(s.t);
    std::uniform_int_distribution<int64_t> position(0, 4096);
    for (int64_t &p : positions)
      p = position(rng);
    TensorRef xRef(x.data(), DType::F32, shape);
    TensorRef posRef(positions.data(), DType::I64, {s.t});

    try {
      // @rope: f_i = 10000^(-2i/D), no phase, scale 1.
      auto outShapes = bundle->outputShapes("rope", {xRef, posRef});
      if (outShapes.size() != 1 || outShapes[0] != shape)
        fail("rope " + describe(s) + ": outputShapes is not x's shape");
      std::vector<float> y(n, NAN);
      bundle->call("rope", {xRef, posRef},
                   {TensorRef(y.data(), DType::F32, shape)});
      std::vector<double> invFreq(half), zero(half, 0.0);
      for (int64_t i = 0; i < half; ++i)
        invFreq[i] = std::pow(10000.0, -2.0 * i / s.d);
      double err =
          maxError(y, referenceRope(s, x, positions, invFreq, zero, 1.0));
      std::printf("rope %s: max error %.3g\n", describe(s).c_str(), err);
      if (!(err <= tolerance))
        fail("rope " + describe(s) + ": error " + std::to_string(err));

      // The C API on the same inputs gives the same bits.
      rotary_bundle *c = nullptr;
      if (rotary_bundle_load(argv[1], &c) != ROTARY_OK) {
        fail(std::string("rotary_bundle_load: ") + rotary_last_error());
      } else {
        std::vector<float> yc(n, NAN);
        rotary_tensor in[2] = {
            {x.data(), ROTARY_F32, ROTARY_DEVICE_CPU, 4, shape.data(), nullptr},
            {positions.data(), ROTARY_I64, ROTARY_DEVICE_CPU, 1,
             shape.data() + 1, nullptr}};
        rotary_tensor out = {yc.data(), ROTARY_F32,   ROTARY_DEVICE_CPU,
                             4,         shape.data(), nullptr};
        if (rotary_bundle_call(c, "rope", in, 2, &out, 1) != ROTARY_OK)
          fail(std::string("rotary_bundle_call: ") + rotary_last_error());
        else if (std::memcmp(yc.data(), y.data(), n * sizeof(float)) != 0)
          fail("rope " + describe(s) + ": the C API's result differs");
        rotary_bundle_free(c);
      }

      // @rope_learned: frequencies, phases and scale as inputs.
      std::vector<float> freq(half), phase(half), scale(1);
      std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
      for (int64_t i = 0; i < half; ++i) {
        freq[i] = 0.001f + uniform(rng);
        phase[i] = 6.0f * uniform(rng) - 3.0f;
      }
      scale[0] = 0.5f + uniform(rng);
      std::vector<float> yl(n, NAN);
      bundle->call("rope_learned",
                   {xRef, posRef, TensorRef(freq.data(), DType::F32, {half}),
                    TensorRef(phase.data(), DType::F32, {half}),
                    TensorRef(scale.data(), DType::F32, {})},
                   {TensorRef(yl.data(), DType::F32, shape)});
      std::vector<double> freqD(freq.begin(), freq.end()),
          phaseD(phase.begin(), phase.end());
      err = maxError(yl, referenceRope(s, x, positions, freqD, phaseD,
                                       static_cast<double>(scale[0])));
      std::printf("rope_learned %s: max error %.3g\n", describe(s).c_str(),
                  err);
      if (!(err <= tolerance))
        fail("rope_learned " + describe(s) + ": error " + std::to_string(err));
    } catch (const Error &e) {
      fail("rope " + describe(s) + ": " + e.what());
    }
  }

  // Errors cross the library boundary as rotary::runtime::Error.
  std::vector<double> x64(8);
  std::vector<int64_t> pos = {0};
  std::vector<double> y64(8);
  try {
    bundle->call("rope",
                 {TensorRef(x64.data(), DType::F64, {1, 1, 1, 8}),
                  TensorRef(pos.data(), DType::I64, {1})},
                 {TensorRef(y64.data(), DType::F64, {1, 1, 1, 8})});
    fail("an f64 x was accepted by an f32 entry");
  } catch (const Error &e) {
    if (e.kind() != Error::Kind::Argument ||
        std::string(e.what()).find("f64") == std::string::npos)
      fail(std::string("wrong error for an f64 x: ") + e.what());
  }
  try {
    bundle->entry("no_such_entry");
    fail("an unknown entry was found");
  } catch (const Error &e) {
    if (e.kind() != Error::Kind::Argument)
      fail(std::string("wrong error kind for an unknown entry: ") + e.what());
  }

  if (failures) {
    std::fprintf(stderr, "consumer-runtime: %d failure(s)\n", failures);
    return 1;
  }
  std::printf("consumer-runtime: OK\n");
  return 0;
}
