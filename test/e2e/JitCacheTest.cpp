//===- JitCacheTest.cpp - the on-disk JIT cache ---------------------------===//
//
// Miss then hit, a key per source and option, corrupt entries rebuilt, and
// several processes filling one cache at once.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"

#include "rotary/Torch/JitCache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace rotary::e2e;

namespace {

const char *kSource = R"(
func.func @scale2(%x: tensor<?xf32>, %a: tensor<?xf32>) -> tensor<?xf32> {
  %y = rotary.givens %x, %a pairs = [(0, 1)] : tensor<?xf32>, tensor<?xf32>
  return %y : tensor<?xf32>
}
)";

/// A fresh, empty cache directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern =
        (fs::temp_directory_path() / "rotary-jit-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// Runs the entry on a 2-vector rotated by a: checks the bundle works.
void checkWorks(rotary::runtime::Bundle &bundle) {
  float x[2] = {1.0f, 0.0f}, a[1] = {0.5f}, y[2] = {0, 0};
  using rotary::runtime::TensorRef;
  bundle.call("scale2",
              {TensorRef(x, rotary::bundle::DType::F32, {2}),
               TensorRef(a, rotary::bundle::DType::F32, {1})},
              {TensorRef(y, rotary::bundle::DType::F32, {2})});
  EXPECT_NEAR(y[0], std::cos(0.5f), 1e-6);
  EXPECT_NEAR(y[1], -std::sin(0.5f), 1e-6);
}

size_t countEntries(const fs::path &dir, bool all = false) {
  size_t n = 0;
  for (const auto &e : fs::directory_iterator(dir))
    if (all || e.path().extension() == ".rotary")
      ++n;
  return n;
}

TEST(JitCache, MissThenHit) {
  TempDir dir;
  rotary::nn::JitCache cache(dir.path.string());
  bool hit = true;
  checkWorks(*cache.get(kSource, &hit));
  EXPECT_FALSE(hit);
  checkWorks(*cache.get(kSource, &hit));
  EXPECT_TRUE(hit);
  // A second cache object (a later process) finds the entry too.
  rotary::nn::JitCache again(dir.path.string());
  checkWorks(*again.get(kSource, &hit));
  EXPECT_TRUE(hit);
  EXPECT_EQ(countEntries(dir.path, /*all=*/true), 1u);
}

TEST(JitCache, KeyedBySourceAndOptions) {
  TempDir dir;
  rotary::nn::JitCache cache(dir.path.string());
  std::string other = std::string(kSource) + "// a comment changes the key\n";
  EXPECT_NE(cache.entryPath(kSource), cache.entryPath(other));
  rotary::compiler::CompileOptions grads;
  grads.gradients = true;
  rotary::nn::JitCache withGrads(dir.path.string(), grads);
  EXPECT_NE(cache.entryPath(kSource), withGrads.entryPath(kSource));
  rotary::compiler::CompileOptions portable;
  portable.cpu = "x86-64-v3";
  rotary::nn::JitCache v3(dir.path.string(), portable);
  EXPECT_NE(cache.entryPath(kSource), v3.entryPath(kSource));
  bool hit = true;
  auto bundle = withGrads.get(kSource, &hit);
  EXPECT_FALSE(hit);
  EXPECT_TRUE(bundle->manifest().findEntry("scale2_bwd"));
}

TEST(JitCache, CorruptEntriesAreRebuilt) {
  TempDir dir;
  rotary::nn::JitCache cache(dir.path.string());
  bool hit = true;
  cache.get(kSource, &hit);
  fs::path entry = cache.entryPath(kSource);
  // A manifest that is not JSON, then a valid manifest edited by hand (its
  // content_hash no longer matches), a truncated library, an entry without
  // its library: each is rebuilt, and the rebuilt one works.
  const std::vector<std::function<void()>> breakers = {
      [&] { std::ofstream(entry / "manifest.json") << "{ not json"; },
      [&] {
        std::ifstream in(entry / "manifest.json");
        std::stringstream text;
        text << in.rdbuf();
        std::string edited = text.str();
        size_t at = edited.find("\"f32\"");
        ASSERT_NE(at, std::string::npos);
        edited.replace(at, 5, "\"f64\"");
        std::ofstream(entry / "manifest.json") << edited;
      },
      [&] {
        fs::resize_file(entry / "cpu" / "kernels.so",
                        fs::file_size(entry / "cpu" / "kernels.so") / 3);
      },
      [&] { fs::remove(entry / "cpu" / "kernels.so"); },
  };
  for (const auto &breakIt : breakers) {
    breakIt();
    auto bundle = cache.get(kSource, &hit);
    EXPECT_FALSE(hit);
    checkWorks(*bundle);
    EXPECT_TRUE(cache.get(kSource, &hit));
    EXPECT_TRUE(hit);
  }
  EXPECT_EQ(countEntries(dir.path, /*all=*/true), 1u);
}

TEST(JitCache, SourceThatDoesNotCompile) {
  TempDir dir;
  rotary::nn::JitCache cache(dir.path.string());
  try {
    cache.get("func.func @f(%x: tensor<4xi1>) { return }");
    ADD_FAILURE() << "expected a compile error";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("JIT compilation failed"),
              std::string::npos)
        << e.what();
  }
  // No temporary directories are left behind.
  EXPECT_EQ(countEntries(dir.path, /*all=*/true), 0u);
}

TEST(JitCache, ProcessesAtOnce) {
  TempDir dir;
  fs::path mlir = dir.path / "source.mlir";
  std::ofstream(mlir) << kSource;
  fs::path cacheDir = dir.path / "cache";
  fs::path out = dir.path / "out.txt";
  // Four processes start together on an empty cache.
  std::string probe = ROTARY_JIT_PROBE;
  std::string cmd;
  for (int i = 0; i < 4; ++i)
    cmd += "'" + probe + "' '" + cacheDir.string() + "' '" + mlir.string() +
           "' >> '" + out.string() + "' 2>&1 & ";
  cmd += "wait";
  ASSERT_EQ(std::system(("bash -c \"" + cmd + "\"").c_str()), 0);
  std::ifstream in(out);
  std::string word;
  size_t entries, lines = 0;
  while (in >> word >> entries) {
    EXPECT_TRUE(word == "hit" || word == "miss") << word;
    EXPECT_EQ(entries, 1u);
    ++lines;
  }
  EXPECT_EQ(lines, 4u);
  // One entry, no temporaries or trash left, and it loads.
  EXPECT_EQ(countEntries(cacheDir, /*all=*/true), 1u);
  rotary::nn::JitCache cache(cacheDir.string());
  bool hit = false;
  checkWorks(*cache.get(kSource, &hit));
  EXPECT_TRUE(hit);
}

} // namespace
