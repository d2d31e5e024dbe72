//===- Harness.h - compile .mlir, run through the runtime, compare -*- C++
//-*-===//
//
// The end-to-end harness: a test writes a small `func.func @entry` in rotary
// IR, compiles it to a kernel bundle with rotary::compiler, loads it with
// rotary::runtime, runs it on LibTorch tensors and compares the outputs with
// the f64 references of test/reference.
//
// Comparison rule (allClose): for every element,
//   |actual - expected| <= atol * max|expected| + rtol * |expected| + extra
// with rtol = atol = 1e-5 by default (f32 kernels against f64 references),
// `extra` an optional per-element allowance for errors docs/Math.md permits
// (rope's f32 angles); elements whose expected value is not finite must be
// equal (-inf log-sum-exp of an empty attention row).
//
// ROTARY_TEST_SEED=<n> reruns with a seed a test printed; ROTARY_E2E_VERBOSE=1
// prints every source before compiling it.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_E2E_HARNESS_H
#define ROTARY_TEST_E2E_HARNESS_H

#include "rotary/Compiler/Compiler.h"
#include "rotary/Runtime/Runtime.h"

#include <torch/types.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rotary::e2e {

/// The entry point every test compiles.
inline constexpr const char *kEntry = "entry";

/// "tensor<2x?x8xf32>": -1 is a dynamic dimension.
std::string tensorType(const std::vector<int64_t> &dims,
                       const std::string &element = "f32");
/// A tensor type of `rank` dynamic dimensions.
std::string dynamicType(int64_t rank, const std::string &element = "f32");
/// An f32 attribute value: "5.000000000e+02 : f32".
std::string f32Attr(double value);

inline constexpr double kPi = 3.14159265358979323846;
/// The unit roundoff of f32.
inline constexpr double kU32 = 5.9604644775390625e-08; // 2^-24

/// "a, b, c" (with `sep` between the parts).
std::string join(const std::vector<std::string> &parts,
                 const std::string &sep = ", ");
/// " {a, b}" for attributes a, b; "" for none.
std::string attrDict(const std::vector<std::string> &attrs);
/// "pairs = [(i, j), ...]" of a Givens chain.
std::string pairsAttr(const std::vector<std::pair<int64_t, int64_t>> &pairs);

struct Arg {
  std::string name; ///< without '%'
  std::string type;
};

/// func.func @entry(%a: T, ...) -> (R, ...) { BODY  return V, ... : R, ... }
std::string entrySource(const std::vector<Arg> &args,
                        const std::vector<std::string> &resultTypes,
                        const std::string &body,
                        const std::vector<std::string> &resultValues);

/// A compiled bundle in a temporary directory (removed by the destructor).
class Kernel {
public:
  /// Compiles `source`; on failure records a gtest failure with the
  /// compiler's diagnostics and the source, and returns nullptr.
  static std::unique_ptr<Kernel> compile(const std::string &source);
  /// The same, with rotary-generate-gradients when `gradients` is set.
  static std::unique_ptr<Kernel> compile(const std::string &source,
                                         bool gradients);
  /// The same, with any compile options (e.g. gpuLoops).
  static std::unique_ptr<Kernel>
  compile(const std::string &source, const compiler::CompileOptions &options);
  ~Kernel();

  /// Runs @entry: inputs are made contiguous, outputs are allocated with
  /// the manifest's dtypes and the runtime's output shapes. Exceptions of
  /// the runtime (rotary::runtime::Error) propagate.
  std::vector<torch::Tensor>
  run(const std::vector<torch::Tensor> &inputs) const;
  /// Runs the entry `name`.
  std::vector<torch::Tensor>
  run(const std::string &name, const std::vector<torch::Tensor> &inputs) const;
  const bundle::Manifest &manifest() const;

  const bundle::Entry &entry() const;
  const std::string &source() const { return source_; }
  const runtime::Bundle &bundle() const { return *bundle_; }
  /// The bundle directory.
  const std::string &directory() const { return bundle_->directory(); }

private:
  Kernel() = default;
  std::string tempDir_, source_;
  std::shared_ptr<runtime::Bundle> bundle_;
};

/// Compiles or fails the current test (ASSERT_TRUE on the result).
#define ROTARY_COMPILE(var, source)                                            \
  auto var = ::rotary::e2e::Kernel::compile(source);                           \
  ASSERT_TRUE(var) << "compilation failed"
/// The same with compile options.
#define ROTARY_COMPILE_WITH(var, source, options)                              \
  auto var = ::rotary::e2e::Kernel::compile(source, options);                  \
  ASSERT_TRUE(var) << "compilation failed"

/// Compile options that select the GPU schedule's loops when `on`.
inline compiler::CompileOptions gpuLoopsIf(bool on) {
  compiler::CompileOptions options;
  options.gpuLoops = on;
  return options;
}

bundle::DType toBundle(torch::ScalarType type);
torch::ScalarType toTorch(bundle::DType type);

struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-5; ///< relative to max|expected|
};

::testing::AssertionResult allClose(const torch::Tensor &actual,
                                    const torch::Tensor &expected,
                                    const Tolerance &tol = {},
                                    const torch::Tensor &extra = {});

/// Base fixture. Inputs come from LibTorch's default generator, seeded per
/// test by test/support/Seed.h (a failure prints its ROTARY_TEST_SEED).
class E2E : public ::testing::Test {};

/// f32 normal / uniform samples.
torch::Tensor randn32(std::vector<int64_t> shape);
torch::Tensor uniform32(std::vector<int64_t> shape, double lo, double hi);
/// The same values in f64 (exact), for the references.
torch::Tensor f64(const torch::Tensor &t);
/// An f64 leaf with the values of `t`, for autograd.
torch::Tensor leaf(const torch::Tensor &t);

/// Runs `inputs`, expecting a failed run-time check (Error::Kind::Check)
/// whose message names `operand`.
void expectCheckNaming(const Kernel &kernel,
                       const std::vector<torch::Tensor> &inputs,
                       const std::string &operand);

} // namespace rotary::e2e

#endif // ROTARY_TEST_E2E_HARNESS_H
