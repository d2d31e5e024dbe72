//===- TestSupport.h - helpers of the runtime tests -------------*- C++ -*-===//
//
// A temporary directory, file helpers, and the hand-written test bundle: the
// manifest of the kernels in TestKernels.c plus a copy of their library as
// cpu/kernels.so, sealed with the content_hash the runtime recomputes
// (bundle::contentHash, as the compiler writes it). The library's path
// comes from the build (ROTARY_TEST_KERNELS).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_RUNTIME_TESTSUPPORT_H
#define ROTARY_TEST_RUNTIME_TESTSUPPORT_H

#include "rotary/Bundle/Manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace rotary::test {

namespace fs = std::filesystem;

class TempDir {
public:
  TempDir() {
    std::string pattern =
        (fs::temp_directory_path() / "rotary-runtime-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

inline void writeFile(const std::string &path, const std::string &contents) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bundle::TensorSpec spec(const std::string &name, bundle::DType dtype,
                               std::vector<bundle::Dim> shape) {
  bundle::TensorSpec s;
  s.name = name;
  s.dtype = dtype;
  s.shape = std::move(shape);
  return s;
}

inline bundle::Entry entry(const std::string &name, const std::string &symbol,
                           std::vector<bundle::TensorSpec> inputs,
                           std::vector<bundle::TensorSpec> outputs,
                           std::vector<std::string> checks = {}) {
  bundle::Entry e;
  e.name = name;
  e.symbol = symbol;
  e.inputs = std::move(inputs);
  e.outputs = std::move(outputs);
  e.checks = std::move(checks);
  return e;
}

/// The manifest of the kernels of TestKernels.c.
inline bundle::Manifest testManifest() {
  using bundle::Dim;
  using bundle::DType;
  bundle::Manifest m;
  m.compilerVersion = "test";
  m.mlirVersion = "none";
  m.contentHash = "0123456789abcdef";
  m.cpuLibrary = bundle::kCpuLibrary;
  m.cpuTarget = "x86-64 +made-up-feature";
  m.entries = {
      entry("add_one", "rotary_test_add_one",
            {spec("x", DType::F32, {Dim::dynamic()})},
            {spec("y", DType::F32, {Dim::sameAs(0, 0)})}),
      entry("checked_add", "rotary_test_checked_add",
            {spec("a", DType::F32, {Dim::dynamic()}),
             spec("b", DType::F32, {Dim::dynamic()})},
            {spec("c", DType::F32, {Dim::sameAs(0, 0)})},
            {"a and b must have the same size"}),
      entry("inspect", "rotary_test_inspect",
            {spec("x", DType::I32,
                  {Dim::dynamic(), Dim::dynamic(), Dim::dynamic()})},
            {spec("d", DType::I64, {Dim::fixed(9)})}),
      entry("scale", "rotary_test_scale",
            {spec("x", DType::F64, {Dim::fixed(2), Dim::fixed(3)}),
             spec("s", DType::F64, {})},
            {spec("y", DType::F64, {Dim::fixed(2), Dim::fixed(3)}),
             spec("total", DType::F64, {})}),
      entry("row_sums", "rotary_test_row_sums",
            {spec("x", DType::I64, {Dim::dynamic(), Dim::fixed(4)})},
            {spec("y", DType::I64, {Dim::sameAs(0, 0)})}),
      entry("status_7", "rotary_test_status_7", {}, {}, {"the only check"}),
      entry("status_negative", "rotary_test_status_negative", {}, {}),
      entry("parallel_double", "rotary_test_parallel_double",
            {spec("x", DType::F32, {Dim::dynamic()})},
            {spec("y", DType::F32, {Dim::sameAs(0, 0)})}),
  };
  return m;
}

/// `manifest` with the content_hash of its files as they are now in the
/// bundle directory `dir` (those of bundle::hashedFiles that exist there).
inline bundle::Manifest sealed(bundle::Manifest manifest,
                               const std::string &dir) {
  std::vector<bundle::BundleFile> files;
  for (const std::string &name : bundle::hashedFiles(manifest))
    if (fs::is_regular_file(dir + "/" + name))
      files.emplace_back(name, readFile(dir + "/" + name));
  manifest.contentHash = bundle::contentHash(manifest, files);
  return manifest;
}

/// Rewrites the manifest of the bundle `dir` with the content_hash of its
/// files now, as if the compiler had written them so (a test that changed a
/// file on purpose, to reach a check behind the hash).
inline void reseal(const std::string &dir) {
  std::string error;
  std::optional<bundle::Manifest> m =
      bundle::fromJson(readFile(dir + "/" + bundle::kManifestFile), error);
  if (!m)
    throw std::runtime_error("reseal " + dir + ": " + error);
  writeFile(dir + "/" + bundle::kManifestFile, bundle::toJson(sealed(*m, dir)));
}

/// Writes a bundle directory `dir` with a copy of the test kernel library
/// and `manifest`, sealed (its content_hash matches), as JSON.
inline std::string makeBundle(const std::string &dir,
                              const bundle::Manifest &manifest) {
  fs::create_directories(dir + "/cpu");
  fs::copy_file(ROTARY_TEST_KERNELS, dir + "/" + bundle::kCpuLibrary,
                fs::copy_options::overwrite_existing);
  writeFile(dir + "/" + bundle::kManifestFile,
            bundle::toJson(sealed(manifest, dir)));
  return dir;
}

} // namespace rotary::test

#endif // ROTARY_TEST_RUNTIME_TESTSUPPORT_H
