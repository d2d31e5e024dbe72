//===- ManifestTest.cpp - manifest JSON round trip and errors -------------===//

#include "rotary/Bundle/Sha256.h"

#include "TestSupport.h"

#include <nlohmann/json.hpp>

using namespace rotary;
using namespace rotary::test;
using bundle::Dim;
using bundle::DType;
using Json = nlohmann::json;

namespace {

bundle::Manifest richManifest() {
  bundle::Manifest m = testManifest();
  // Every dtype, every kind of dim, a 0-d tensor, non-ASCII text.
  m.entries.push_back(entry(
      "every_dtype", "rotary_every_dtype",
      {spec("f32", DType::F32, {Dim::fixed(0)}),
       spec("f16", DType::F16, {Dim::dynamic(), Dim::fixed(7)}),
       spec("bf16", DType::BF16, {}), spec("f64", DType::F64, {Dim::fixed(1)}),
       spec("i32", DType::I32, {Dim::fixed(int64_t(1) << 40)}),
       spec("i64", DType::I64, {Dim::dynamic()})},
      {spec("out", DType::BF16, {Dim::sameAs(1, 1), Dim::sameAs(5, 0)})},
      {"f16.shape[0] must be even — «quoted»", "second check"}));
  m.cpuTarget = "x86-64-v3 +avx2,+fma";
  // A forward entry with its backward, saving forward and vjp.
  auto f32 = [](const char *n) {
    return spec(n, DType::F32, {Dim::dynamic()});
  };
  auto out = [](const char *n) {
    return spec(n, DType::F32, {Dim::sameAs(0, 0)});
  };
  m.entries.push_back(entry("f", "rotary_entry_f", {f32("x"), f32("p")},
                            {out("result")}));
  m.entries.push_back(entry("f_bwd", "rotary_entry_f_bwd",
                            {f32("x"), f32("p"), f32("dresult")},
                            {out("result0")}));
  m.entries.push_back(entry("f_fwd", "rotary_entry_f_fwd", {f32("x"), f32("p")},
                            {out("result0"), out("result1")}));
  m.entries.push_back(entry("f_vjp", "rotary_entry_f_vjp",
                            {f32("p"), f32("saved0"), f32("dresult")},
                            {out("result0")}));
  bundle::Gradient g;
  g.of = "f";
  g.backward = "f_bwd";
  g.forward = "f_fwd";
  g.vjp = "f_vjp";
  using K = bundle::VjpInput::Kind;
  g.vjpInputs = {{K::Argument, 1}, {K::Saved, 0}, {K::Cotangent, 0}};
  g.gradients = {0};
  g.numSaved = 1;
  m.gradients.push_back(g);
  return m;
}

TEST(Manifest, DTypes) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I32,
                  DType::I64})
    EXPECT_EQ(bundle::parseDType(bundle::dtypeName(t)), t);
  EXPECT_STREQ(bundle::dtypeName(DType::BF16), "bf16");
  EXPECT_EQ(bundle::dtypeBytes(DType::F32), 4);
  EXPECT_EQ(bundle::dtypeBytes(DType::F16), 2);
  EXPECT_EQ(bundle::dtypeBytes(DType::BF16), 2);
  EXPECT_EQ(bundle::dtypeBytes(DType::F64), 8);
  EXPECT_EQ(bundle::dtypeBytes(DType::I32), 4);
  EXPECT_EQ(bundle::dtypeBytes(DType::I64), 8);
  EXPECT_FALSE(bundle::parseDType("f8"));
  EXPECT_FALSE(bundle::parseDType("F32"));
}

TEST(Manifest, RoundTrip) {
  bundle::Manifest m = richManifest();
  std::string text = bundle::toJson(m);
  std::string error;
  std::optional<bundle::Manifest> back = bundle::fromJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(bundle::toJson(*back), text);
  // An empty manifest round-trips too.
  bundle::Manifest empty;
  back = bundle::fromJson(bundle::toJson(empty), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, empty);
}

TEST(Manifest, JsonKeysAndDims) {
  Json j = Json::parse(bundle::toJson(richManifest()));
  EXPECT_EQ(j["format"], "rotary-bundle");
  EXPECT_EQ(j["format_version"], bundle::kFormatVersion);
  EXPECT_EQ(j["compiler_version"], "test");
  EXPECT_EQ(j["mlir_version"], "none");
  EXPECT_EQ(j["content_hash"], "0123456789abcdef");
  EXPECT_EQ(j["cpu_library"], "cpu/kernels.so");
  EXPECT_EQ(j["cpu_target"], "x86-64-v3 +avx2,+fma");
  const Json &e = j["entries"][testManifest().entries.size()];
  EXPECT_EQ(e["name"], "every_dtype");
  EXPECT_EQ(e["symbol"], "rotary_every_dtype");
  EXPECT_EQ(e["checks"].size(), 2u);
  EXPECT_EQ(e["inputs"][1]["name"], "f16");
  EXPECT_EQ(e["inputs"][1]["dtype"], "f16");
  EXPECT_EQ(e["inputs"][1]["shape"], Json::parse(R"(["?", 7])"));
  EXPECT_EQ(e["inputs"][2]["shape"], Json::array());
  EXPECT_EQ(e["inputs"][4]["shape"][0], int64_t(1) << 40);
  EXPECT_EQ(e["outputs"][0]["shape"],
            Json::parse(R"([{"same_as": [1, 1]}, {"same_as": [5, 0]}])"));
}

TEST(Manifest, IgnoresUnknownKeys) {
  Json j = Json::parse(bundle::toJson(testManifest()));
  j["gpu_images"] = Json::array();
  j["entries"][0]["launch"] = {{"grid", 1}};
  std::string error;
  std::optional<bundle::Manifest> m = bundle::fromJson(j.dump(), error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(*m, testManifest());
}

/// A mutation of a valid manifest and a piece of the message it must give.
struct BadCase {
  const char *name;
  std::function<void(Json &)> mutate;
  std::vector<std::string> expected;
};

void PrintTo(const BadCase &c, std::ostream *os) { *os << c.name; }

class ManifestError : public testing::TestWithParam<BadCase> {};

TEST_P(ManifestError, IsRejected) {
  Json j = Json::parse(bundle::toJson(testManifest()));
  GetParam().mutate(j);
  std::string error;
  EXPECT_FALSE(bundle::fromJson(j.dump(), error));
  for (const std::string &piece : GetParam().expected)
    EXPECT_NE(error.find(piece), std::string::npos)
        << "message: " << error << "\nmissing: " << piece;
}

// entries[2] is `inspect` (one input x: i32 [?, ?, ?]), entries[1] is
// `checked_add` (inputs a, b; output c: [a.0]).
const BadCase kBadCases[] = {
    {"root_array",
     [](Json &j) { j = Json::array(); },
     {"expected a JSON object, got an array"}},
    {"format_missing", [](Json &j) { j.erase("format"); }, {"format: missing"}},
    {"format_wrong",
     [](Json &j) { j["format"] = "tflite"; },
     {"format is 'tflite'", "expected 'rotary-bundle'"}},
    {"version_999",
     [](Json &j) { j["format_version"] = 999; },
     {"version 999", "supports version 1", "recompile"}},
    {"version_string",
     [](Json &j) { j["format_version"] = "1"; },
     {"format_version: expected an integer, got a string"}},
    {"version_missing",
     [](Json &j) { j.erase("format_version"); },
     {"format_version: missing"}},
    {"compiler_version_missing",
     [](Json &j) { j.erase("compiler_version"); },
     {"compiler_version: missing"}},
    {"mlir_version_type",
     [](Json &j) { j["mlir_version"] = 22; },
     {"mlir_version: expected a string, got an integer"}},
    {"content_hash_missing",
     [](Json &j) { j.erase("content_hash"); },
     {"content_hash: missing"}},
    {"cpu_library_null",
     [](Json &j) { j["cpu_library"] = nullptr; },
     {"cpu_library: expected a string, got null"}},
    {"cpu_target_missing",
     [](Json &j) { j.erase("cpu_target"); },
     {"cpu_target: missing"}},
    {"entries_object",
     [](Json &j) { j["entries"] = Json::object(); },
     {"entries: expected an array, got an object"}},
    {"entry_not_object",
     [](Json &j) { j["entries"][1] = 3; },
     {"entries[1]: expected an object, got an integer"}},
    {"entry_name_missing",
     [](Json &j) { j["entries"][2].erase("name"); },
     {"entries[2].name: missing"}},
    {"entry_name_empty",
     [](Json &j) { j["entries"][2]["name"] = ""; },
     {"entries[2].name: must not be empty"}},
    {"entry_duplicate",
     [](Json &j) { j["entries"][3]["name"] = "add_one"; },
     {"entries[3].name: duplicate entry 'add_one'"}},
    {"symbol_empty",
     [](Json &j) { j["entries"][0]["symbol"] = ""; },
     {"entries[0].symbol: must not be empty"}},
    {"inputs_missing",
     [](Json &j) { j["entries"][2].erase("inputs"); },
     {"entries[2].inputs: missing"}},
    {"outputs_string",
     [](Json &j) { j["entries"][2]["outputs"] = "d"; },
     {"entries[2].outputs: expected an array, got a string"}},
    {"checks_missing",
     [](Json &j) { j["entries"][1].erase("checks"); },
     {"entries[1].checks: missing"}},
    {"check_not_string",
     [](Json &j) { j["entries"][1]["checks"][0] = 1; },
     {"entries[1].checks[0]: expected a string, got an integer"}},
    {"tensor_name_missing",
     [](Json &j) { j["entries"][2]["inputs"][0].erase("name"); },
     {"entries[2].inputs[0].name: missing"}},
    {"dtype_missing",
     [](Json &j) { j["entries"][2]["inputs"][0].erase("dtype"); },
     {"entries[2].inputs[0].dtype: missing"}},
    {"dtype_number",
     [](Json &j) { j["entries"][2]["inputs"][0]["dtype"] = 4; },
     {"entries[2].inputs[0].dtype: expected a string, got an integer"}},
    {"dtype_unknown",
     [](Json &j) { j["entries"][2]["outputs"][0]["dtype"] = "u8"; },
     {"entries[2].outputs[0].dtype: unknown dtype 'u8'", "f32, f16, bf16"}},
    {"shape_missing",
     [](Json &j) { j["entries"][2]["inputs"][0].erase("shape"); },
     {"entries[2].inputs[0].shape: missing"}},
    {"dim_bad_string",
     [](Json &j) { j["entries"][2]["inputs"][0]["shape"][1] = "N"; },
     {"entries[2].inputs[0].shape[1]: expected an integer, \"?\" or "
      "{\"same_as\": [input, dim]}, got the string \"N\""}},
    {"dim_negative",
     [](Json &j) { j["entries"][2]["inputs"][0]["shape"][2] = -3; },
     {"entries[2].inputs[0].shape[2]: static size -3 is negative"}},
    {"dim_fraction",
     [](Json &j) { j["entries"][2]["inputs"][0]["shape"][0] = 1.5; },
     {"entries[2].inputs[0].shape[0]:", "a number with a fraction"}},
    {"dim_too_big",
     [](Json &j) {
       j["entries"][2]["inputs"][0]["shape"][0] = uint64_t(1) << 63;
     },
     {"entries[2].inputs[0].shape[0]: integer out of range"}},
    {"same_as_missing_key",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0] = {{"x", 1}};
     },
     {"entries[1].outputs[0].shape[0].same_as: missing"}},
    {"same_as_arity",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0]["same_as"] = {0, 0, 0};
     },
     {"entries[1].outputs[0].shape[0].same_as: expected an array [input, "
      "dim], got an array of 3 elements"}},
    {"same_as_not_int",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0]["same_as"][1] = "0";
     },
     {"entries[1].outputs[0].shape[0].same_as[1]: expected an integer"}},
    {"same_as_no_input",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0]["same_as"][0] = 2;
     },
     {"entries[1].outputs[0].shape[0]: same_as refers to input 2, but "
      "entry 'checked_add' has 2 inputs"}},
    {"same_as_negative_input",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0]["same_as"][0] = -1;
     },
     {"entries[1].outputs[0].shape[0].same_as[0]: input index -1 is out of "
      "range"}},
    {"same_as_no_dim",
     [](Json &j) {
       j["entries"][1]["outputs"][0]["shape"][0]["same_as"][1] = 1;
     },
     {"entries[1].outputs[0].shape[0]: same_as refers to dimension 1 of "
      "input 0 ('a'), which has rank 1"}},
    {"same_as_in_input_out_of_range",
     [](Json &j) {
       j["entries"][1]["inputs"][1]["shape"][0] = {{"same_as", {0, 4}}};
     },
     {"entries[1].inputs[1].shape[0]: same_as refers to dimension 4"}},
};

INSTANTIATE_TEST_SUITE_P(Manifest, ManifestError, testing::ValuesIn(kBadCases),
                         [](const testing::TestParamInfo<BadCase> &info) {
                           return std::string(info.param.name);
                         });

TEST(Manifest, Gradients) {
  bundle::Manifest m = richManifest();
  Json j = Json::parse(bundle::toJson(m));
  EXPECT_EQ(j["gradients"][0]["vjp_inputs"],
            Json::parse(R"(["arg:1", "saved:0", "cotangent:0"])"));
  EXPECT_EQ(j["gradients"][0]["saved"], 1);
  ASSERT_TRUE(m.findGradient("f"));
  EXPECT_EQ(m.findGradient("f")->vjp, "f_vjp");
  EXPECT_FALSE(m.findGradient("f_bwd"));
  EXPECT_EQ(m.findEntry("f_fwd")->outputs.size(), 2u);
  EXPECT_FALSE(m.findEntry("nothere"));
  // Without the key there are no gradients (older writers).
  j.erase("gradients");
  std::string error;
  std::optional<bundle::Manifest> back = bundle::fromJson(j.dump(), error);
  ASSERT_TRUE(back) << error;
  EXPECT_TRUE(back->gradients.empty());
  // Every way a record can disagree with the entries it names.
  const std::pair<std::function<void(Json &)>, std::string> bad[] = {
      {[](Json &g) { g["vjp"] = "nothere"; },
       "gradients[0].vjp: names no entry ('nothere')"},
      {[](Json &g) { g["saved"] = 2; },
       "gradients[0].saved: does not match the outputs of 'f_fwd' and 'f'"},
      {[](Json &g) { g["vjp_inputs"][0] = "arg:2"; },
       "gradients[0].vjp_inputs[0]: expected arg:N, result:N, saved:N or "
       "cotangent:N in range, got 'arg:2'"},
      {[](Json &g) { g["vjp_inputs"][1] = "kept:0"; },
       "got 'kept:0'"},
      {[](Json &g) { g["vjp_inputs"][1] = "saved:-1"; }, "got 'saved:-1'"},
      {[](Json &g) { g["vjp_inputs"].erase(0); },
       "gradients[0].vjp_inputs: has 2 inputs, but 'f_vjp' takes 3"},
      {[](Json &g) { g["gradients"] = Json::array({0, 1}); },
       "gradients[0].gradients: does not match the outputs of 'f_vjp' and "
       "'f_bwd'"},
      {[](Json &g) { g["gradients"][0] = 7; },
       "gradients[0].gradients[0]: is not an input of 'f'"},
      {[](Json &g) { g.erase("forward"); }, "gradients[0].forward: missing"},
  };
  for (const auto &[mutate, expected] : bad) {
    Json k = Json::parse(bundle::toJson(m));
    mutate(k["gradients"][0]);
    EXPECT_FALSE(bundle::fromJson(k.dump(), error)) << expected;
    EXPECT_NE(error.find(expected), std::string::npos)
        << "message: " << error << "\nmissing: " << expected;
  }
}

/// contentHash() as Manifest.h spells it out, byte by byte.
std::string documentedHash(const bundle::Manifest &m,
                           const std::vector<bundle::BundleFile> &files) {
  auto u64 = [](uint64_t n) {
    std::string bytes;
    for (int i = 0; i < 8; ++i)
      bytes += char((n >> (8 * i)) & 0xff);
    return bytes;
  };
  auto field = [&](const std::string &s) { return u64(s.size()) + s; };
  bundle::Manifest cleared = m;
  cleared.contentHash = "";
  std::string input = field(bundle::toJson(cleared)) + u64(files.size());
  for (const auto &[path, bytes] : files)
    input += field(path) + field(bytes);
  return Sha256::hex(input);
}

TEST(Manifest, ContentHash) {
  const bundle::Manifest m = richManifest();
  std::string library = "\x7f"
                        "ELF library bytes";
  library[8] = '\0'; // any byte
  const std::vector<bundle::BundleFile> files = {{"cpu/kernels.so", library}};
  const std::string hash = bundle::contentHash(m, files);
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(hash, documentedHash(m, files));
  // The hash field itself is not hashed (it is written after).
  bundle::Manifest withHash = m;
  withHash.contentHash = hash;
  EXPECT_EQ(bundle::contentHash(withHash, files), hash);
  // Files to hash: the CPU library the manifest names, if any.
  EXPECT_EQ(bundle::hashedFiles(m), std::vector<std::string>{"cpu/kernels.so"});
  bundle::Manifest noLibrary = m;
  noLibrary.cpuLibrary.clear();
  EXPECT_TRUE(bundle::hashedFiles(noLibrary).empty());
  EXPECT_EQ(bundle::contentHash(noLibrary, {}), documentedHash(noLibrary, {}));

  // Whatever changes, the hash does; no two of these collide.
  std::vector<std::pair<std::string, std::string>> variants;
  auto add = [&](const std::string &what, const bundle::Manifest &mm,
                 const std::vector<bundle::BundleFile> &ff) {
    variants.emplace_back(what, bundle::contentHash(mm, ff));
  };
  add("original", m, files);
  bundle::Manifest changed = m;
  changed.entries[0].inputs[0].dtype = DType::F64;
  add("dtype", changed, files);
  changed = m;
  changed.entries[1].checks[0] += ".";
  add("check message", changed, files);
  changed = m;
  changed.cpuTarget = "x86-64";
  add("cpu target", changed, files);
  std::string flipped = library;
  flipped[10] ^= 1;
  add("library byte", m, {{"cpu/kernels.so", flipped}});
  add("truncated library", m,
      {{"cpu/kernels.so", library.substr(0, library.size() - 1)}});
  add("empty library", m, {{"cpu/kernels.so", ""}});
  add("no library", m, {});
  add("library path", m, {{"cpu/kernels2.so", library}});
  // Length prefixes: the same bytes split differently between the path and
  // the contents, or between two files, hash differently.
  add("split 1", m, {{"ab", "c"}});
  add("split 2", m, {{"a", "bc"}});
  add("two files", m, {{"a", "b"}, {"c", "d"}});
  add("one file", m, {{"a", "bcd"}});
  add("empty file", m, {{"", ""}});
  for (size_t i = 0; i < variants.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      EXPECT_NE(variants[i].second, variants[j].second)
          << variants[i].first << " vs " << variants[j].first;
}

TEST(Manifest, SyntaxErrors) {
  std::string text = bundle::toJson(testManifest());
  std::string error;
  EXPECT_FALSE(bundle::fromJson("", error));
  EXPECT_NE(error.find("invalid JSON"), std::string::npos) << error;
  EXPECT_FALSE(bundle::fromJson("{\"format\": }", error));
  EXPECT_NE(error.find("invalid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("line 1"), std::string::npos) << error;
  EXPECT_EQ(error.find("[json.exception"), std::string::npos) << error;
  // Truncated in the middle, between two values (a cut inside a string is
  // a different error).
  size_t cut = text.find(',', text.size() / 2);
  ASSERT_NE(cut, std::string::npos);
  EXPECT_FALSE(bundle::fromJson(text.substr(0, cut + 1), error));
  EXPECT_NE(error.find("invalid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("unexpected end of input"), std::string::npos) << error;
  // Trailing garbage.
  EXPECT_FALSE(bundle::fromJson(text + "}", error));
  EXPECT_NE(error.find("invalid JSON"), std::string::npos) << error;
}

TEST(Manifest, VersionCheckedBeforeFields) {
  // A future manifest with another shape still says "recompile".
  std::string error;
  EXPECT_FALSE(bundle::fromJson(
      R"({"format": "rotary-bundle", "format_version": 999, "kernels": {}})",
      error));
  EXPECT_NE(error.find("bundle format version 999 is not supported"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("recompile"), std::string::npos) << error;
}

} // namespace

/// richManifest() with GPU code for two chips, one of them without a cubin.
bundle::Manifest gpuManifest() {
  bundle::Manifest m = richManifest();
  bundle::GpuCode gpu;
  gpu.hostLibrary = "gpu/host.so";
  gpu.objects = {{"sm_80", "gpu/sm_80.ptx", "gpu/sm_80.cubin"},
                 {"sm_90", "gpu/sm_90.ptx", ""}};
  gpu.kernels = {
      {"f_kernel", {"i64", "ptr", "ptr", "i64", "i64", "i64"}, {256, 1, 1}, 0},
      {"f_kernel_0", {"f32", "i32"}, {32, 4, 1}, 4096}};
  m.gpu = gpu;
  return m;
}

TEST(Manifest, GpuCode) {
  bundle::Manifest m = gpuManifest();
  std::string text = bundle::toJson(m);
  std::string error;
  std::optional<bundle::Manifest> back = bundle::fromJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, m);
  Json j = Json::parse(text);
  EXPECT_EQ(j["gpu"]["objects"][1].count("cubin"), 0u);
  EXPECT_EQ(j["gpu"]["kernels"][1]["block"], Json::array({32, 4, 1}));
  // The hash covers the host library and every image, in manifest order.
  EXPECT_EQ(bundle::hashedFiles(m),
            (std::vector<std::string>{"cpu/kernels.so", "gpu/host.so",
                                      "gpu/sm_80.ptx", "gpu/sm_80.cubin",
                                      "gpu/sm_90.ptx"}));
  std::vector<bundle::BundleFile> files;
  for (const std::string &f : bundle::hashedFiles(m))
    files.emplace_back(f, "bytes of " + f);
  std::string hash = bundle::contentHash(m, files);
  files[3].second += "!";
  EXPECT_NE(bundle::contentHash(m, files), hash);
  bundle::Manifest cpuOnly = m;
  cpuOnly.gpu.reset();
  EXPECT_NE(bundle::contentHash(cpuOnly, {files[0]}),
            bundle::contentHash(m, {files[0]}));
  EXPECT_EQ(bundle::gpuParamBytes("ptr"), 8);
  EXPECT_EQ(bundle::gpuParamBytes("f32"), 4);
  EXPECT_EQ(bundle::gpuParamBytes("vec4"), 0);

  struct Bad {
    std::function<void(Json &)> mutate;
    std::string expected;
  };
  const Bad bad[] = {
      {[](Json &g) { g = Json::array(); },
       "gpu: expected an object, got an array"},
      {[](Json &g) { g.erase("host_library"); }, "gpu.host_library: missing"},
      {[](Json &g) { g["host_library"] = "../elsewhere/host.so"; },
       "gpu.host_library: '../elsewhere/host.so' is not a path inside the "
       "bundle"},
      {[](Json &g) { g["objects"][0]["ptx"] = "/tmp/k.ptx"; },
       "gpu.objects[0].ptx: '/tmp/k.ptx' is not a path inside the bundle"},
      {[](Json &g) { g["objects"][1]["chip"] = "gfx90a"; },
       "gpu.objects[1].chip: 'gfx90a' is not an architecture like sm_90"},
      {[](Json &g) { g["objects"] = Json::array(); },
       "gpu.objects: kernels but no GPU object to load them from"},
      {[](Json &g) { g["kernels"][0]["params"][1] = "vec4"; },
       "gpu.kernels[0].params[1]: unknown parameter type 'vec4'"},
      {[](Json &g) { g["kernels"][1]["params"][0] = 4; },
       "gpu.kernels[1].params[0]: expected a string, got an integer"},
      {[](Json &g) {
         g["kernels"][0]["block"] = Json::array({256, 1});
       },
       "gpu.kernels[0].block: expected 3 sizes (x, y, z)"},
      {[](Json &g) { g["kernels"][0]["block"][0] = 2048; },
       "gpu.kernels[0].block[0]: a block size must be 1..1024"},
      {[](Json &g) { g["kernels"][1]["shared_bytes"] = -1; },
       "gpu.kernels[1].shared_bytes: must not be negative"},
      {[](Json &g) { g["kernels"][1].erase("name"); },
       "gpu.kernels[1].name: missing"},
  };
  for (const Bad &b : bad) {
    Json mutated = j;
    b.mutate(mutated["gpu"]);
    EXPECT_FALSE(bundle::fromJson(mutated.dump(), error)) << b.expected;
    EXPECT_NE(error.find(b.expected), std::string::npos)
        << "message: " << error << "\nmissing: " << b.expected;
  }
}
