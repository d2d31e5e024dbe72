//===- Manifest.cpp - the kernel bundle manifest as JSON ------------------===//
//
// toJson / fromJson of rotary/Bundle/Manifest.h. Key names are the snake_case
// of the struct fields; a Dim is an integer (static size), "?" (dynamic) or
// {"same_as": [input, dim]}. fromJson checks the format name and version
// first, then every field, and names the failing field by its path
// ("entries[2].inputs[0].dtype"). Unknown keys are ignored, so a newer
// writer may add fields without bumping kFormatVersion (but see Manifest.h:
// older readers then refuse its bundles on the content_hash). contentHash()
// is the bundle digest Manifest.h defines, computed with rotary::Sha256.
//
//===----------------------------------------------------------------------===//

#include "rotary/Bundle/Manifest.h"
#include "rotary/Bundle/Sha256.h"

#include <nlohmann/json.hpp>

#include <set>
#include <stdexcept>

using namespace rotary::bundle;
using Json = nlohmann::ordered_json;

namespace {

struct DTypeInfo {
  DType type;
  const char *name;
  int64_t bytes;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "f32", 4}, {DType::F16, "f16", 2}, {DType::BF16, "bf16", 2},
    {DType::F64, "f64", 8}, {DType::I32, "i32", 4}, {DType::I64, "i64", 8},
};

const DTypeInfo *info(DType type) {
  for (const DTypeInfo &i : kDTypes)
    if (i.type == type)
      return &i;
  return nullptr;
}

//===--------------------------------------------------------------------===//
// Writing
//===--------------------------------------------------------------------===//

Json dimToJson(const Dim &dim) {
  switch (dim.kind) {
  case Dim::Kind::Static:
    return dim.size;
  case Dim::Kind::Dynamic:
    return "?";
  case Dim::Kind::SameAs:
    return Json{{"same_as", Json::array({dim.input, dim.dim})}};
  }
  return "?";
}

Json tensorToJson(const TensorSpec &spec) {
  Json shape = Json::array();
  for (const Dim &dim : spec.shape)
    shape.push_back(dimToJson(dim));
  const char *dtype = dtypeName(spec.dtype);
  return Json{{"name", spec.name}, {"dtype", dtype}, {"shape", shape}};
}

Json entryToJson(const Entry &entry) {
  Json inputs = Json::array(), outputs = Json::array();
  for (const TensorSpec &spec : entry.inputs)
    inputs.push_back(tensorToJson(spec));
  for (const TensorSpec &spec : entry.outputs)
    outputs.push_back(tensorToJson(spec));
  return Json{{"name", entry.name},
              {"symbol", entry.symbol},
              {"inputs", inputs},
              {"outputs", outputs},
              {"checks", entry.checks}};
}

Json gradientToJson(const Gradient &g) {
  Json inputs = Json::array();
  for (const VjpInput &in : g.vjpInputs)
    inputs.push_back(vjpInputName(in));
  return Json{{"of", g.of},
              {"backward", g.backward},
              {"forward", g.forward},
              {"vjp", g.vjp},
              {"vjp_inputs", inputs},
              {"gradients", g.gradients},
              {"saved", g.numSaved}};
}

Json gpuToJson(const GpuCode &gpu) {
  Json objects = Json::array(), kernels = Json::array();
  for (const GpuObject &o : gpu.objects) {
    Json object{{"chip", o.chip}, {"ptx", o.ptx}};
    if (!o.cubin.empty())
      object["cubin"] = o.cubin;
    objects.push_back(object);
  }
  for (const GpuKernel &k : gpu.kernels)
    kernels.push_back(Json{{"name", k.name},
                           {"params", k.params},
                           {"block", k.block},
                           {"shared_bytes", k.sharedBytes},
                           {"shared_at_launch", k.sharedAtLaunch}});
  return Json{{"host_library", gpu.hostLibrary},
              {"objects", objects},
              {"kernels", kernels}};
}

//===--------------------------------------------------------------------===//
// Reading
//===--------------------------------------------------------------------===//

/// Thrown inside fromJson only; carries the complete message.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw ParseError(path + ": " + what);
}

std::string kindOf(const Json &value) {
  if (value.is_number_integer())
    return "an integer";
  if (value.is_number_float())
    return "a number with a fraction";
  if (value.is_string())
    return "a string";
  if (value.is_boolean())
    return "a boolean";
  if (value.is_null())
    return "null";
  if (value.is_array())
    return "an array";
  return "an object";
}

const Json &field(const Json &object, const std::string &path,
                  const char *key) {
  auto it = object.find(key);
  if (it == object.end())
    fail(path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string join(const std::string &path, const char *key) {
  return path.empty() ? key : path + "." + key;
}

std::string getString(const Json &object, const std::string &path,
                      const char *key) {
  const Json &value = field(object, path, key);
  if (!value.is_string())
    fail(join(path, key), "expected a string, got " + kindOf(value));
  return value.get<std::string>();
}

int64_t asInteger(const Json &value, const std::string &path) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > uint64_t(INT64_MAX))
      fail(path, "integer out of range");
    return int64_t(value.get<uint64_t>());
  }
  if (!value.is_number_integer())
    fail(path, "expected an integer, got " + kindOf(value));
  return value.get<int64_t>();
}

const Json &getArray(const Json &object, const std::string &path,
                     const char *key) {
  const Json &value = field(object, path, key);
  if (!value.is_array())
    fail(join(path, key), "expected an array, got " + kindOf(value));
  return value;
}

std::string indexed(const std::string &path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

Dim parseDim(const Json &value, const std::string &path) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    int64_t size = asInteger(value, path);
    if (size < 0)
      fail(path, "static size " + std::to_string(size) + " is negative");
    return Dim::fixed(size);
  }
  if (value.is_string()) {
    if (value.get<std::string>() != "?")
      fail(path, "expected an integer, \"?\" or {\"same_as\": [input, dim]}, "
                 "got the string \"" +
                     value.get<std::string>() + "\"");
    return Dim::dynamic();
  }
  if (value.is_object()) {
    auto it = value.find("same_as");
    if (it == value.end())
      fail(path + ".same_as", "missing");
    const Json &pair = *it;
    std::string pairPath = path + ".same_as";
    if (!pair.is_array() || pair.size() != 2)
      fail(pairPath,
           "expected an array [input, dim], got " +
               (pair.is_array()
                    ? "an array of " + std::to_string(pair.size()) + " elements"
                    : kindOf(pair)));
    int64_t input = asInteger(pair[0], indexed(pairPath, 0));
    int64_t dim = asInteger(pair[1], indexed(pairPath, 1));
    if (input < 0 || input > INT32_MAX)
      fail(indexed(pairPath, 0),
           "input index " + std::to_string(input) + " is out of range");
    if (dim < 0 || dim > INT32_MAX)
      fail(indexed(pairPath, 1),
           "dimension " + std::to_string(dim) + " is out of range");
    return Dim::sameAs(int(input), int(dim));
  }
  fail(path, "expected an integer, \"?\" or {\"same_as\": [input, dim]}, got " +
                 kindOf(value));
}

TensorSpec parseTensor(const Json &value, const std::string &path) {
  if (!value.is_object())
    fail(path, "expected an object, got " + kindOf(value));
  TensorSpec spec;
  spec.name = getString(value, path, "name");
  std::string dtype = getString(value, path, "dtype");
  std::optional<DType> type = parseDType(dtype);
  if (!type)
    fail(join(path, "dtype"), "unknown dtype '" + dtype +
                                  "' (expected one of f32, f16, bf16, f64, "
                                  "i32, i64)");
  spec.dtype = *type;
  const Json &shape = getArray(value, path, "shape");
  std::string shapePath = join(path, "shape");
  for (size_t i = 0; i < shape.size(); ++i)
    spec.shape.push_back(parseDim(shape[i], indexed(shapePath, i)));
  return spec;
}

/// SameAs must name an existing input and one of its dimensions.
void checkSameAs(const Entry &entry, const std::vector<TensorSpec> &specs,
                 const std::string &path) {
  for (size_t t = 0; t < specs.size(); ++t) {
    for (size_t d = 0; d < specs[t].shape.size(); ++d) {
      const Dim &dim = specs[t].shape[d];
      if (dim.kind != Dim::Kind::SameAs)
        continue;
      std::string dimPath = indexed(indexed(path, t) + ".shape", d);
      if (size_t(dim.input) >= entry.inputs.size())
        fail(dimPath, "same_as refers to input " + std::to_string(dim.input) +
                          ", but entry '" + entry.name + "' has " +
                          std::to_string(entry.inputs.size()) + " input" +
                          (entry.inputs.size() == 1 ? "" : "s"));
      const TensorSpec &input = entry.inputs[dim.input];
      if (size_t(dim.dim) >= input.shape.size())
        fail(dimPath, "same_as refers to dimension " + std::to_string(dim.dim) +
                          " of input " + std::to_string(dim.input) + " ('" +
                          input.name + "'), which has rank " +
                          std::to_string(input.shape.size()));
    }
  }
}

Entry parseEntry(const Json &value, const std::string &path) {
  if (!value.is_object())
    fail(path, "expected an object, got " + kindOf(value));
  Entry entry;
  entry.name = getString(value, path, "name");
  if (entry.name.empty())
    fail(join(path, "name"), "must not be empty");
  entry.symbol = getString(value, path, "symbol");
  if (entry.symbol.empty())
    fail(join(path, "symbol"), "must not be empty");
  const Json &inputs = getArray(value, path, "inputs");
  for (size_t i = 0; i < inputs.size(); ++i)
    entry.inputs.push_back(
        parseTensor(inputs[i], indexed(join(path, "inputs"), i)));
  const Json &outputs = getArray(value, path, "outputs");
  for (size_t i = 0; i < outputs.size(); ++i)
    entry.outputs.push_back(
        parseTensor(outputs[i], indexed(join(path, "outputs"), i)));
  const Json &checks = getArray(value, path, "checks");
  for (size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i].is_string())
      fail(indexed(join(path, "checks"), i),
           "expected a string, got " + kindOf(checks[i]));
    entry.checks.push_back(checks[i].get<std::string>());
  }
  checkSameAs(entry, entry.inputs, join(path, "inputs"));
  checkSameAs(entry, entry.outputs, join(path, "outputs"));
  return entry;
}

/// A gradient record, checked against the entries it names.
Gradient parseGradient(const Json &value, const std::string &path,
                       const Manifest &m) {
  if (!value.is_object())
    fail(path, "expected an object, got " + kindOf(value));
  Gradient g;
  auto entry = [&](const char *key, std::string &name) -> const Entry & {
    name = getString(value, path, key);
    const Entry *e = m.findEntry(name);
    if (!e)
      fail(join(path, key), "names no entry ('" + name + "')");
    return *e;
  };
  const Entry &of = entry("of", g.of);
  const Entry &bwd = entry("backward", g.backward);
  const Entry &fwd = entry("forward", g.forward);
  const Entry &vjp = entry("vjp", g.vjp);
  g.numSaved = int(asInteger(field(value, path, "saved"), join(path, "saved")));
  if (g.numSaved < 0 ||
      fwd.outputs.size() != of.outputs.size() + size_t(g.numSaved))
    fail(join(path, "saved"), "does not match the outputs of '" + g.forward +
                                  "' and '" + g.of + "'");
  const Json &inputs = getArray(value, path, "vjp_inputs");
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string p = indexed(join(path, "vjp_inputs"), i);
    if (!inputs[i].is_string())
      fail(p, "expected a string, got " + kindOf(inputs[i]));
    std::optional<VjpInput> in = parseVjpInput(inputs[i].get<std::string>());
    size_t limit = 0;
    if (in) {
      switch (in->kind) {
      case VjpInput::Kind::Argument:
        limit = of.inputs.size();
        break;
      case VjpInput::Kind::Result:
      case VjpInput::Kind::Cotangent:
        limit = of.outputs.size();
        break;
      case VjpInput::Kind::Saved:
        limit = size_t(g.numSaved);
        break;
      }
    }
    if (!in || in->index < 0 || size_t(in->index) >= limit)
      fail(p, "expected arg:N, result:N, saved:N or cotangent:N in range, "
              "got '" +
                  inputs[i].get<std::string>() + "'");
    g.vjpInputs.push_back(*in);
  }
  if (g.vjpInputs.size() != vjp.inputs.size())
    fail(join(path, "vjp_inputs"),
         "has " + std::to_string(g.vjpInputs.size()) + " inputs, but '" +
             g.vjp + "' takes " + std::to_string(vjp.inputs.size()));
  const Json &grads = getArray(value, path, "gradients");
  for (size_t i = 0; i < grads.size(); ++i) {
    std::string p = indexed(join(path, "gradients"), i);
    int64_t k = asInteger(grads[i], p);
    if (k < 0 || size_t(k) >= of.inputs.size())
      fail(p, "is not an input of '" + g.of + "'");
    g.gradients.push_back(int(k));
  }
  if (g.gradients.size() != vjp.outputs.size() ||
      g.gradients.size() != bwd.outputs.size())
    fail(join(path, "gradients"),
         "does not match the outputs of '" + g.vjp + "' and '" + g.backward +
             "'");
  return g;
}

/// A relative path inside the bundle: no "..", not absolute.
std::string getBundlePath(const Json &object, const std::string &path,
                          const char *key) {
  std::string value = getString(object, path, key);
  if (value.empty() || value.front() == '/' ||
      ("/" + value + "/").find("/../") != std::string::npos)
    fail(join(path, key), "'" + value + "' is not a path inside the bundle");
  return value;
}

GpuCode parseGpu(const Json &value, const std::string &path) {
  if (!value.is_object())
    fail(path, "expected an object, got " + kindOf(value));
  GpuCode gpu;
  gpu.hostLibrary = getBundlePath(value, path, "host_library");
  const Json &objects = getArray(value, path, "objects");
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string p = indexed(join(path, "objects"), i);
    GpuObject o;
    o.chip = getString(objects[i], p, "chip");
    if (o.chip.rfind("sm_", 0) != 0 || o.chip.size() < 5 ||
        o.chip.find_first_not_of("0123456789", 3) != std::string::npos)
      fail(p + ".chip", "'" + o.chip + "' is not an architecture like sm_90");
    o.ptx = getBundlePath(objects[i], p, "ptx");
    if (objects[i].contains("cubin"))
      o.cubin = getBundlePath(objects[i], p, "cubin");
    gpu.objects.push_back(o);
  }
  const Json &kernels = getArray(value, path, "kernels");
  for (size_t i = 0; i < kernels.size(); ++i) {
    std::string p = indexed(join(path, "kernels"), i);
    GpuKernel k;
    k.name = getString(kernels[i], p, "name");
    const Json &params = getArray(kernels[i], p, "params");
    for (size_t j = 0; j < params.size(); ++j) {
      std::string q = indexed(join(p, "params"), j);
      if (!params[j].is_string())
        fail(q, "expected a string, got " + kindOf(params[j]));
      std::string type = params[j].get<std::string>();
      if (gpuParamBytes(type) == 0)
        fail(q, "unknown parameter type '" + type + "'");
      k.params.push_back(type);
    }
    const Json &block = getArray(kernels[i], p, "block");
    if (block.size() != 3)
      fail(join(p, "block"), "expected 3 sizes (x, y, z)");
    for (size_t j = 0; j < 3; ++j) {
      int64_t size = asInteger(block[j], indexed(join(p, "block"), j));
      if (size < 1 || size > 1024)
        fail(indexed(join(p, "block"), j), "a block size must be 1..1024");
      k.block.push_back(size);
    }
    k.sharedBytes = asInteger(field(kernels[i], p, "shared_bytes"),
                              join(p, "shared_bytes"));
    if (k.sharedBytes < 0)
      fail(join(p, "shared_bytes"), "must not be negative");
    // Optional: bundles without it size their shared memory statically.
    if (auto at = kernels[i].find("shared_at_launch"); at != kernels[i].end()) {
      if (!at->is_boolean())
        fail(join(p, "shared_at_launch"),
             "expected true or false, got " + kindOf(*at));
      k.sharedAtLaunch = at->get<bool>();
    }
    gpu.kernels.push_back(k);
  }
  if (!gpu.kernels.empty() && gpu.objects.empty())
    fail(join(path, "objects"), "kernels but no GPU object to load them from");
  return gpu;
}

Manifest parseManifest(const Json &root) {
  if (!root.is_object())
    throw ParseError("not a rotary bundle manifest: expected a JSON object, "
                     "got " +
                     kindOf(root));
  // The format name and version come first: a manifest of another version
  // may have a different shape, and "recompile" is the useful message.
  std::string format = getString(root, "", "format");
  if (format != kFormatName)
    throw ParseError("not a rotary bundle manifest: format is '" + format +
                     "', expected '" + kFormatName + "'");
  int64_t version =
      asInteger(field(root, "", "format_version"), "format_version");
  if (version != kFormatVersion)
    throw ParseError("bundle format version " + std::to_string(version) +
                     " is not supported (this rotary supports version " +
                     std::to_string(kFormatVersion) +
                     "); recompile the bundle with this version of rotary");
  Manifest manifest;
  manifest.formatVersion = int(version);
  manifest.compilerVersion = getString(root, "", "compiler_version");
  manifest.mlirVersion = getString(root, "", "mlir_version");
  manifest.contentHash = getString(root, "", "content_hash");
  manifest.cpuLibrary = getString(root, "", "cpu_library");
  manifest.cpuTarget = getString(root, "", "cpu_target");
  const Json &entries = getArray(root, "", "entries");
  std::set<std::string> names;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string path = indexed("entries", i);
    manifest.entries.push_back(parseEntry(entries[i], path));
    if (!names.insert(manifest.entries.back().name).second)
      fail(path + ".name",
           "duplicate entry '" + manifest.entries.back().name + "'");
  }
  if (root.contains("gradients")) {
    const Json &gradients = getArray(root, "", "gradients");
    for (size_t i = 0; i < gradients.size(); ++i)
      manifest.gradients.push_back(
          parseGradient(gradients[i], indexed("gradients", i), manifest));
  }
  if (root.contains("gpu"))
    manifest.gpu = parseGpu(root["gpu"], "gpu");
  return manifest;
}

} // namespace

const char *rotary::bundle::dtypeName(DType type) {
  const DTypeInfo *i = info(type);
  return i ? i->name : "<invalid dtype>";
}

std::optional<DType> rotary::bundle::parseDType(const std::string &name) {
  for (const DTypeInfo &i : kDTypes)
    if (name == i.name)
      return i.type;
  return std::nullopt;
}

int64_t rotary::bundle::gpuParamBytes(const std::string &type) {
  if (type == "ptr" || type == "i64" || type == "f64")
    return 8;
  if (type == "i32" || type == "f32")
    return 4;
  if (type == "i16" || type == "f16" || type == "bf16")
    return 2;
  if (type == "i8" || type == "i1")
    return 1;
  return 0;
}

int64_t rotary::bundle::dtypeBytes(DType type) {
  const DTypeInfo *i = info(type);
  return i ? i->bytes : 0;
}

std::string rotary::bundle::toJson(const Manifest &manifest) {
  Json entries = Json::array();
  for (const Entry &entry : manifest.entries)
    entries.push_back(entryToJson(entry));
  Json root{{"format", kFormatName},
            {"format_version", manifest.formatVersion},
            {"compiler_version", manifest.compilerVersion},
            {"mlir_version", manifest.mlirVersion},
            {"content_hash", manifest.contentHash},
            {"cpu_library", manifest.cpuLibrary},
            {"cpu_target", manifest.cpuTarget},
            {"entries", entries}};
  if (!manifest.gradients.empty()) {
    Json gradients = Json::array();
    for (const Gradient &g : manifest.gradients)
      gradients.push_back(gradientToJson(g));
    root["gradients"] = gradients;
  }
  if (manifest.gpu)
    root["gpu"] = gpuToJson(*manifest.gpu);
  // `replace` never throws on invalid UTF-8 (callers may be built without
  // exceptions).
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::vector<std::string> rotary::bundle::hashedFiles(const Manifest &manifest) {
  std::vector<std::string> files;
  if (!manifest.cpuLibrary.empty())
    files.push_back(manifest.cpuLibrary);
  if (manifest.gpu) {
    files.push_back(manifest.gpu->hostLibrary);
    for (const GpuObject &o : manifest.gpu->objects) {
      files.push_back(o.ptx);
      if (!o.cubin.empty())
        files.push_back(o.cubin);
    }
  }
  return files;
}

std::string rotary::bundle::contentHash(const Manifest &manifest,
                                        const std::vector<BundleFile> &files) {
  Sha256 hash;
  auto number = [&](uint64_t n) {
    uint8_t bytes[8];
    for (int i = 0; i < 8; ++i)
      bytes[i] = uint8_t(n >> (8 * i));
    hash.update(bytes, sizeof bytes);
  };
  auto field = [&](std::string_view bytes) {
    number(bytes.size());
    hash.update(bytes);
  };
  Manifest unhashed = manifest;
  unhashed.contentHash.clear();
  field(toJson(unhashed));
  number(files.size());
  for (const auto &[path, bytes] : files) {
    field(path);
    field(bytes);
  }
  return hash.hexFinal();
}

std::optional<Manifest> rotary::bundle::fromJson(const std::string &text,
                                                 std::string &error) {
  try {
    Json root;
    try {
      root = Json::parse(text);
    } catch (const Json::parse_error &e) {
      // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
      std::string what = e.what();
      size_t close = what.find("] ");
      if (what.rfind("[json.exception", 0) == 0 && close != std::string::npos)
        what = what.substr(close + 2);
      error = "invalid JSON: " + what;
      return std::nullopt;
    }
    return parseManifest(root);
  } catch (const ParseError &e) {
    error = e.what();
  } catch (const std::exception &e) {
    error = std::string("invalid manifest: ") + e.what();
  } catch (...) {
    error = "invalid manifest";
  }
  return std::nullopt;
}

namespace {
constexpr std::pair<VjpInput::Kind, const char *> kVjpKinds[] = {
    {VjpInput::Kind::Argument, "arg"},
    {VjpInput::Kind::Result, "result"},
    {VjpInput::Kind::Saved, "saved"},
    {VjpInput::Kind::Cotangent, "cotangent"},
};
} // namespace

std::string rotary::bundle::vjpInputName(const VjpInput &input) {
  for (auto [kind, name] : kVjpKinds)
    if (kind == input.kind)
      return std::string(name) + ":" + std::to_string(input.index);
  return "?";
}

std::optional<VjpInput> rotary::bundle::parseVjpInput(const std::string &text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return std::nullopt;
  std::string kind = text.substr(0, colon), index = text.substr(colon + 1);
  if (index.size() > 9 ||
      index.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  for (auto [k, name] : kVjpKinds)
    if (kind == name)
      return VjpInput{k, std::stoi(index)};
  return std::nullopt;
}

const Entry *Manifest::findEntry(const std::string &name) const {
  for (const Entry &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

const Gradient *Manifest::findGradient(const std::string &name) const {
  for (const Gradient &g : gradients)
    if (g.of == name)
      return &g;
  return nullptr;
}
