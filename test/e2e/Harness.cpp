//===- Harness.cpp - compile .mlir, run through the runtime, compare ------===//

#include "Harness.h"

#include "rotary/Compiler/Compiler.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <stdlib.h> // mkdtemp

namespace rotary::e2e {

namespace fs = std::filesystem;

std::string tensorType(const std::vector<int64_t> &dims,
                       const std::string &element) {
  std::string s = "tensor<";
  for (int64_t d : dims)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + element + ">";
}

std::string dynamicType(int64_t rank, const std::string &element) {
  return tensorType(std::vector<int64_t>(rank, -1), element);
}

std::string f32Attr(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9e : f32", value);
  return buf;
}

std::string entrySource(const std::vector<Arg> &args,
                        const std::vector<std::string> &resultTypes,
                        const std::string &body,
                        const std::vector<std::string> &resultValues) {
  std::ostringstream s;
  s << "func.func @" << kEntry << "(";
  for (size_t i = 0; i < args.size(); ++i)
    s << (i ? ", " : "") << "%" << args[i].name << ": " << args[i].type;
  s << ") -> (";
  for (size_t i = 0; i < resultTypes.size(); ++i)
    s << (i ? ", " : "") << resultTypes[i];
  s << ") {\n  " << body << "\n  return ";
  for (size_t i = 0; i < resultValues.size(); ++i)
    s << (i ? ", " : "") << resultValues[i];
  s << " : ";
  for (size_t i = 0; i < resultTypes.size(); ++i)
    s << (i ? ", " : "") << resultTypes[i];
  s << "\n}\n";
  return s.str();
}

bundle::DType toBundle(torch::ScalarType type) {
  switch (type) {
  case torch::kFloat32:
    return bundle::DType::F32;
  case torch::kFloat16:
    return bundle::DType::F16;
  case torch::kBFloat16:
    return bundle::DType::BF16;
  case torch::kFloat64:
    return bundle::DType::F64;
  case torch::kInt32:
    return bundle::DType::I32;
  case torch::kInt64:
    return bundle::DType::I64;
  default:
    throw std::invalid_argument(std::string("no bundle dtype for ") +
                                c10::toString(type));
  }
}

torch::ScalarType toTorch(bundle::DType type) {
  switch (type) {
  case bundle::DType::F32:
    return torch::kFloat32;
  case bundle::DType::F16:
    return torch::kFloat16;
  case bundle::DType::BF16:
    return torch::kBFloat16;
  case bundle::DType::F64:
    return torch::kFloat64;
  case bundle::DType::I32:
    return torch::kInt32;
  case bundle::DType::I64:
    return torch::kInt64;
  }
  throw std::invalid_argument("unknown bundle dtype");
}

std::string join(const std::vector<std::string> &parts,
                 const std::string &sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i)
    s += (i ? sep : "") + parts[i];
  return s;
}

std::string attrDict(const std::vector<std::string> &attrs) {
  return attrs.empty() ? "" : " {" + join(attrs) + "}";
}

std::string pairsAttr(const std::vector<std::pair<int64_t, int64_t>> &pairs) {
  std::vector<std::string> p;
  for (const auto &q : pairs)
    p.push_back("(" + std::to_string(q.first) + ", " +
                std::to_string(q.second) + ")");
  return "pairs = [" + join(p) + "]";
}

std::unique_ptr<Kernel> Kernel::compile(const std::string &source) {
  return compile(source, /*gradients=*/false);
}

std::unique_ptr<Kernel> Kernel::compile(const std::string &source,
                                        bool gradients) {
  compiler::CompileOptions options;
  options.gradients = gradients;
  return compile(source, options);
}

std::unique_ptr<Kernel>
Kernel::compile(const std::string &source,
                const compiler::CompileOptions &options) {
  std::unique_ptr<Kernel> k(new Kernel());
  k->source_ = source;
  // ROTARY_E2E_VERBOSE=1 prints every source before it is compiled (a
  // compiler crash then shows what it crashed on).
  if (const char *v = std::getenv("ROTARY_E2E_VERBOSE"); v && *v && *v != '0')
    std::fprintf(stderr, "[ compile  ]\n%s", source.c_str());
  std::string pattern =
      (fs::temp_directory_path() / "rotary-e2e-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  k->tempDir_ = pattern;
  const std::string dir = pattern + "/entry.rotary";
  std::string error;
  if (!compiler::compileSourceToBundle(source, "e2e.mlir", dir, options,
                                       error)) {
    ADD_FAILURE() << "compileSourceToBundle failed:\n"
                  << error << "\nsource:\n"
                  << source;
    return nullptr;
  }
  try {
    k->bundle_ = runtime::Bundle::load(dir);
  } catch (const std::exception &e) {
    ADD_FAILURE() << "Bundle::load failed: " << e.what() << "\nsource:\n"
                  << source;
    return nullptr;
  }
  return k;
}

Kernel::~Kernel() {
  bundle_.reset();
  if (!tempDir_.empty()) {
    std::error_code ec;
    fs::remove_all(tempDir_, ec);
  }
}

const bundle::Entry &Kernel::entry() const { return bundle_->entry(kEntry); }

const bundle::Manifest &Kernel::manifest() const {
  return bundle_->manifest();
}

std::vector<torch::Tensor>
Kernel::run(const std::vector<torch::Tensor> &inputs) const {
  return run(kEntry, inputs);
}

std::vector<torch::Tensor>
Kernel::run(const std::string &name,
            const std::vector<torch::Tensor> &inputs) const {
  std::vector<torch::Tensor> held;
  std::vector<runtime::TensorRef> refs;
  for (const torch::Tensor &t : inputs) {
    held.push_back(t.contiguous());
    const torch::Tensor &c = held.back();
    refs.emplace_back(c.data_ptr(), toBundle(c.scalar_type()), c.sizes().vec());
  }
  const bundle::Entry &e = bundle_->entry(name);
  const std::vector<std::vector<int64_t>> shapes =
      bundle_->outputShapes(name, refs);
  std::vector<torch::Tensor> outputs;
  std::vector<runtime::TensorRef> outRefs;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const bundle::DType dtype =
        k < e.outputs.size() ? e.outputs[k].dtype : bundle::DType::F32;
    // NaN-filled so that an element the kernel never writes is caught.
    torch::Tensor out = torch::full(
        shapes[k], std::nan(""), torch::TensorOptions().dtype(toTorch(dtype)));
    if (!out.is_floating_point())
      out.zero_();
    outputs.push_back(out);
    outRefs.emplace_back(out.data_ptr(), dtype, out.sizes().vec());
  }
  bundle_->call(name, refs, outRefs);
  return outputs;
}

namespace {

std::string indexString(int64_t flat, at::IntArrayRef sizes) {
  std::vector<int64_t> idx(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    idx[d] = sizes[d] ? flat % sizes[d] : 0;
    flat = sizes[d] ? flat / sizes[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d)
    s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

} // namespace

::testing::AssertionResult allClose(const torch::Tensor &actual,
                                    const torch::Tensor &expected,
                                    const Tolerance &tol,
                                    const torch::Tensor &extra) {
  const torch::Tensor a = actual.detach().to(torch::kFloat64).contiguous();
  const torch::Tensor e = expected.detach().to(torch::kFloat64).contiguous();
  if (a.sizes() != e.sizes())
    return ::testing::AssertionFailure()
           << "shape " << a.sizes() << ", expected " << e.sizes();
  if (a.numel() == 0)
    return ::testing::AssertionSuccess();
  const torch::Tensor finite = torch::isfinite(e);
  // Non-finite expected values must be matched exactly.
  const torch::Tensor same = (a == e) | (torch::isnan(a) & torch::isnan(e));
  const torch::Tensor badSpecial = finite.logical_not() & same.logical_not();
  if (badSpecial.any().item<bool>()) {
    const int64_t i =
        torch::nonzero(badSpecial.reshape({-1}))[0][0].item<int64_t>();
    return ::testing::AssertionFailure()
           << "at " << indexString(i, e.sizes()) << ": got "
           << a.reshape({-1})[i].item<double>() << ", expected "
           << e.reshape({-1})[i].item<double>();
  }
  const torch::Tensor ef = torch::where(finite, e, torch::zeros_like(e));
  const torch::Tensor af = torch::where(finite, a, torch::zeros_like(a));
  const double scale = ef.abs().max().item<double>();
  torch::Tensor allowed = tol.atol * scale + tol.rtol * ef.abs();
  if (extra.defined())
    allowed = allowed + extra.detach().to(torch::kFloat64).expand_as(e);
  const torch::Tensor err = (af - ef).abs(); // NaN where actual is NaN
  const torch::Tensor bad = (err <= allowed).logical_not() & finite;
  if (!bad.any().item<bool>())
    return ::testing::AssertionSuccess();
  const torch::Tensor ratio = torch::where(bad, err / allowed.clamp_min(1e-300),
                                           torch::zeros_like(err));
  const torch::Tensor nanBad = bad & torch::isnan(err);
  const int64_t i =
      nanBad.any().item<bool>()
          ? torch::nonzero(nanBad.reshape({-1}))[0][0].item<int64_t>()
          : ratio.reshape({-1}).argmax().item<int64_t>();
  return ::testing::AssertionFailure()
         << bad.sum().item<int64_t>() << " of " << e.numel()
         << " elements out of tolerance (rtol " << tol.rtol << ", atol "
         << tol.atol << " x max|expected| = " << tol.atol * scale
         << (extra.defined() ? ", plus a per-element allowance" : "")
         << "); worst at " << indexString(i, e.sizes()) << ": got "
         << a.reshape({-1})[i].item<double>() << ", expected "
         << e.reshape({-1})[i].item<double>() << ", allowed error "
         << allowed.reshape({-1})[i].item<double>();
}

torch::Tensor randn32(std::vector<int64_t> shape) {
  return torch::randn(shape, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor uniform32(std::vector<int64_t> shape, double lo, double hi) {
  return (torch::rand(shape, torch::TensorOptions().dtype(torch::kFloat64)) *
              (hi - lo) +
          lo)
      .to(torch::kFloat32);
}

torch::Tensor f64(const torch::Tensor &t) { return t.to(torch::kFloat64); }

torch::Tensor leaf(const torch::Tensor &t) {
  return f64(t).set_requires_grad(true);
}

void expectCheckNaming(const Kernel &kernel,
                       const std::vector<torch::Tensor> &inputs,
                       const std::string &operand) {
  try {
    kernel.run(inputs);
    ADD_FAILURE() << "no error; expected a failed check naming " << operand;
  } catch (const runtime::Error &e) {
    EXPECT_EQ(static_cast<int>(e.kind()),
              static_cast<int>(runtime::Error::Kind::Check))
        << e.what();
    EXPECT_NE(std::string(e.what()).find("operand '" + operand + "'"),
              std::string::npos)
        << e.what();
  } catch (const std::exception &e) {
    ADD_FAILURE() << "not a rotary::runtime::Error: " << e.what();
  }
}

} // namespace rotary::e2e
