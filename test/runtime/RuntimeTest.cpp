//===- RuntimeTest.cpp - bundle loading, argument checks, launch ----------===//
//
// Runs the hand-written kernels of TestKernels.c through a bundle directory
// written by the test (TestSupport.h); needs no compiler. Also checks that
// librotary_runtime.so needs neither MLIR nor LLVM.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Runtime.h"

#include "TestSupport.h"

#include <elf.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

using namespace rotary;
using namespace rotary::runtime;
using namespace rotary::test;
using bundle::DType;
using Device = TensorRef::Device;
using Shape = std::vector<int64_t>;

namespace {

/// Runs `body`, expecting an Error of `kind` whose message holds `pieces`.
template <typename F>
void expectError(F &&body, Error::Kind kind,
                 const std::vector<std::string> &pieces) {
  try {
    body();
    ADD_FAILURE() << "no error; expected: " << pieces.front();
  } catch (const Error &e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    for (const std::string &piece : pieces)
      EXPECT_NE(std::string(e.what()).find(piece), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << piece;
  }
}

class RuntimeTest : public testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    bundle_ = Bundle::load(makeBundle(*dir_ / "test.rotary", testManifest()));
  }
  static void TearDownTestSuite() {
    bundle_.reset();
    delete dir_;
    dir_ = nullptr;
  }
  static const Bundle &b() { return *bundle_; }

  static TempDir *dir_;
  static std::shared_ptr<Bundle> bundle_;
};
TempDir *RuntimeTest::dir_ = nullptr;
std::shared_ptr<Bundle> RuntimeTest::bundle_;

TensorRef f32(std::vector<float> &v, Shape shape = {}) {
  if (shape.empty())
    shape = {int64_t(v.size())};
  return TensorRef(v.data(), DType::F32, shape);
}

//===--------------------------------------------------------------------===//
// Loading good bundles, entries, calls
//===--------------------------------------------------------------------===//

TEST_F(RuntimeTest, Manifest) {
  // As written, with the content_hash makeBundle sealed it with: a SHA-256.
  EXPECT_EQ(b().manifest(), sealed(testManifest(), b().directory()));
  EXPECT_EQ(b().manifest().contentHash.size(), 64u);
  EXPECT_NE(b().manifest().contentHash, testManifest().contentHash);
  EXPECT_EQ(b().entry("checked_add").symbol, "rotary_test_checked_add");
  EXPECT_EQ(b().directory(), *dir_ / "test.rotary");
  expectError([] { b().entry("add_two"); }, Error::Kind::Argument,
              {"has no entry 'add_two'",
               "available: add_one, checked_add, inspect, scale, row_sums"});
  std::vector<float> x{1};
  expectError([&] { b().call("nope", {f32(x)}, {f32(x)}); },
              Error::Kind::Argument, {"has no entry 'nope'"});
}

TEST_F(RuntimeTest, AddOne) {
  std::vector<float> x{1, 2, 3, 4, 5}, y(5, -1);
  b().call("add_one", {f32(x)}, {f32(y)});
  EXPECT_EQ(y, (std::vector<float>{2, 3, 4, 5, 6}));
  auto shapes = b().outputShapes("add_one", {f32(x)});
  EXPECT_EQ(shapes, std::vector<Shape>{{5}});
}

TEST_F(RuntimeTest, ParallelLoops) {
  // The runtime fills the library's launcher slot on load: its own OpenMP
  // team by default; a launcher set with setParallelFor from then on, also
  // for bundles loaded before; its own again after nullptr.
  const int64_t n = 1001;
  std::vector<float> x(n), y(n, -1), twice(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = float(i) - 7.5f;
    twice[i] = 2 * x[i];
  }
  b().call("parallel_double", {f32(x)}, {f32(y)});
  EXPECT_EQ(y, twice);

  static std::atomic<int> launches;
  static std::atomic<int64_t> covered;
  launches = 0;
  covered = 0;
  // Three ranges, last first: the kernel may not assume an order.
  setParallelFor([](ParallelBody body, void *ctx, int64_t count) {
    ++launches;
    for (int64_t k = 2; k >= 0; --k) {
      int64_t begin = count * k / 3, end = count * (k + 1) / 3;
      covered += end - begin;
      body(ctx, begin, end);
    }
  });
  std::fill(y.begin(), y.end(), -1.0f);
  b().call("parallel_double", {f32(x)}, {f32(y)});
  EXPECT_EQ(y, twice);
  EXPECT_EQ(launches.load(), 1);
  EXPECT_EQ(covered.load(), n);

  setParallelFor(nullptr);
  std::fill(y.begin(), y.end(), -1.0f);
  b().call("parallel_double", {f32(x)}, {f32(y)});
  EXPECT_EQ(y, twice);
  EXPECT_EQ(launches.load(), 1);
}

TEST_F(RuntimeTest, EmptyTensors) {
  // Zero elements: a null data pointer is fine.
  TensorRef x(nullptr, DType::F32, {0}), y(nullptr, DType::F32, {0});
  b().call("add_one", {x}, {y});
  EXPECT_EQ(b().outputShapes("add_one", {x}), std::vector<Shape>{{0}});
}

TEST_F(RuntimeTest, DescriptorLayout) {
  std::vector<int32_t> x(2 * 3 * 4);
  x[0] = 1234;
  std::vector<int64_t> d(9, -7);
  // Explicit row-major strides, as LibTorch gives them.
  b().call("inspect", {TensorRef(x.data(), DType::I32, {2, 3, 4}, {12, 4, 1})},
           {TensorRef(d.data(), DType::I64, {9})});
  EXPECT_EQ(d, (std::vector<int64_t>{1, 0, 2, 3, 4, 12, 4, 1, 1234}));
  // Strides of size-1 dimensions are free; the kernel gets canonical ones.
  b().call("inspect", {TensorRef(x.data(), DType::I32, {1, 6, 1}, {99, 1, 42})},
           {TensorRef(d.data(), DType::I64, {9})});
  EXPECT_EQ(d, (std::vector<int64_t>{1, 0, 1, 6, 1, 6, 1, 1, 1234}));
  // Empty tensors are contiguous whatever their strides.
  b().call("inspect", {TensorRef(x.data(), DType::I32, {2, 0, 3}, {5, 5, 5})},
           {TensorRef(d.data(), DType::I64, {9})});
  EXPECT_EQ(d, (std::vector<int64_t>{1, 0, 2, 0, 3, 0, 3, 1, -1}));
}

TEST_F(RuntimeTest, ZeroDimensional) {
  std::vector<double> x{1, 2, 3, 4, 5, 6}, y(6), s{0.5}, total{0};
  b().call("scale",
           {TensorRef(x.data(), DType::F64, {2, 3}),
            TensorRef(s.data(), DType::F64, {})},
           {TensorRef(y.data(), DType::F64, {2, 3}),
            TensorRef(total.data(), DType::F64, {})});
  EXPECT_EQ(y, (std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3}));
  EXPECT_EQ(total[0], 10.5);
  EXPECT_EQ(b().outputShapes("scale", {TensorRef(x.data(), DType::F64, {2, 3}),
                                       TensorRef(s.data(), DType::F64, {})}),
            (std::vector<Shape>{{2, 3}, {}}));
}

TEST_F(RuntimeTest, StaticDims) {
  std::vector<int64_t> x{1, 2, 3, 4, 10, 20, 30, 40}, y(2);
  b().call("row_sums", {TensorRef(x.data(), DType::I64, {2, 4})},
           {TensorRef(y.data(), DType::I64, {2})});
  EXPECT_EQ(y, (std::vector<int64_t>{10, 100}));
  expectError(
      [&] {
        b().call("row_sums", {TensorRef(x.data(), DType::I64, {4, 2})},
                 {TensorRef(y.data(), DType::I64, {4})});
      },
      Error::Kind::Argument,
      {"entry 'row_sums': argument 'x' must have shape [?, 4], got [4, 2] "
       "(dimension 1 must be 4)"});
  expectError(
      [&] {
        b().outputShapes("row_sums", {TensorRef(x.data(), DType::I64, {8, 1})});
      },
      Error::Kind::Argument, {"argument 'x' must have shape [?, 4]"});
}

TEST_F(RuntimeTest, CheckFailures) {
  std::vector<float> a{1, 2, 3}, bb{1, 2}, c(3, -1);
  expectError(
      [&] {
        b().call("checked_add", {f32(a), f32(bb)}, {f32(c)});
      },
      Error::Kind::Check,
      {"entry 'checked_add': run-time check 1 failed: a and b must "
       "have the same size"});
  std::vector<float> b3{10, 20, 30};
  b().call("checked_add", {f32(a), f32(b3)}, {f32(c)});
  EXPECT_EQ(c, (std::vector<float>{11, 22, 33}));
  expectError([&] { b().call("status_7", {}, {}); }, Error::Kind::Check,
              {"check 7 of entry status_7", "lists 1 check"});
  expectError([&] { b().call("status_negative", {}, {}); },
              Error::Kind::Internal, {"invalid status -2"});
}

TEST_F(RuntimeTest, ArgumentChecks) {
  std::vector<float> x{1, 2, 3, 4}, y(4, -1), y3(3);
  std::vector<double> xd{1, 2, 3, 4};
  const auto arg = Error::Kind::Argument;
  auto call = [&](std::vector<TensorRef> in, std::vector<TensorRef> out) {
    return [=] { b().call("add_one", in, out); };
  };
  expectError(call({f32(x), f32(x)}, {f32(y)}), arg,
              {"entry 'add_one' takes 1 input (x), got 2"});
  expectError(call({}, {f32(y)}), arg, {"takes 1 input (x), got 0"});
  expectError(call({f32(x)}, {}), arg,
              {"entry 'add_one' takes 1 output (y), got 0"});
  expectError(call({TensorRef(xd.data(), DType::F64, {4})}, {f32(y)}), arg,
              {"entry 'add_one': argument 'x' must be f32, got f64"});
  expectError(call({f32(x)}, {TensorRef(xd.data(), DType::F64, {4})}), arg,
              {"entry 'add_one': argument 'y' must be f32, got f64"});
  expectError(call({f32(x, {2, 2})}, {f32(y)}), arg,
              {"entry 'add_one': argument 'x' must have rank 1 (shape [?]), "
               "got rank 2 (shape [2, 2])"});
  expectError(
      call({f32(x)}, {f32(y, {1, 4})}), arg,
      {"argument 'y' must have rank 1 (shape [x.shape[0]]), got rank 2"});
  expectError(call({f32(x)}, {f32(y3)}), arg,
              {"entry 'add_one': argument 'y' (output 0) must have shape [4] "
               "(from [x.shape[0]]), got [3]"});
  expectError(
      call({TensorRef(x.data(), DType::F32, {4}, {}, Device::CUDA)}, {f32(y)}),
      arg, {"entry 'add_one' runs on the CPU; argument 'x' is on CUDA"});
  expectError(
      call({f32(x)}, {TensorRef(y.data(), DType::F32, {4}, {}, Device::CUDA)}),
      arg, {"entry 'add_one' runs on the CPU; argument 'y' is on CUDA"});
  expectError(call({TensorRef(x.data(), DType::F32, {2}, {2})}, {f32(y, {2})}),
              arg,
              {"entry 'add_one': argument 'x' must be contiguous (call "
               ".contiguous()): shape [2] needs strides [1], got strides [2]"});
  expectError(call({TensorRef(x.data(), DType::F32, {4}, {1, 1})}, {f32(y)}),
              arg, {"argument 'x' has 2 strides for rank 1"});
  expectError(call({TensorRef(nullptr, DType::F32, {4})}, {f32(y)}), arg,
              {"entry 'add_one': argument 'x' has no data (a null pointer) "
               "but 4 elements"});
  expectError(call({f32(x)}, {TensorRef(nullptr, DType::F32, {4})}), arg,
              {"argument 'y' has no data"});
  void *misaligned = reinterpret_cast<char *>(x.data()) + 2;
  expectError(call({TensorRef(misaligned, DType::F32, {3})}, {f32(y3)}), arg,
              {"entry 'add_one': argument 'x' has data at ",
               "which is not aligned to 4 bytes (one f32)"});
  expectError(call({TensorRef(x.data(), DType::F32, {-4})}, {f32(y)}), arg,
              {"argument 'x' has a negative size in shape [-4]"});
  expectError(
      call({TensorRef(x.data(), DType::F32, {int64_t(1) << 62})}, {f32(y)}),
      arg, {"argument 'x' has too many elements"});
  // Nothing ran: the output still holds its initial value.
  EXPECT_EQ(y, std::vector<float>(4, -1));
  // 2-d contiguity: a transposed view.
  std::vector<int32_t> m(6);
  std::vector<int64_t> d(9);
  expectError(
      [&] {
        b().call("inspect",
                 {TensorRef(m.data(), DType::I32, {3, 2, 1}, {1, 3, 1})},
                 {TensorRef(d.data(), DType::I64, {9})});
      },
      arg,
      {"entry 'inspect': argument 'x' must be contiguous (call "
       ".contiguous()): shape [3, 2, 1] needs strides [2, 1, 1], got strides "
       "[1, 3, 1]"});
}

TEST_F(RuntimeTest, ConcurrentCalls) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &failures] {
      std::vector<float> x(100, float(t)), y(100);
      for (int i = 0; i < 500; ++i) {
        b().call("add_one", {f32(x)}, {f32(y)});
        if (y != std::vector<float>(100, float(t + 1)))
          ++failures;
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(failures, 0);
}

TEST_F(RuntimeTest, LoadTwice) {
  // Two bundles of the same library coexist; each keeps its handle.
  std::shared_ptr<Bundle> other = Bundle::load(*dir_ / "test.rotary");
  std::vector<float> x{0}, y{0};
  other->call("add_one", {f32(x)}, {f32(y)});
  other.reset();
  b().call("add_one", {f32(x)}, {f32(y)});
  EXPECT_EQ(y[0], 1.0f);
}

//===--------------------------------------------------------------------===//
// Bad bundles
//===--------------------------------------------------------------------===//

class BadBundle : public testing::Test {
protected:
  TempDir dir;
  std::string good() { return makeBundle(dir / "good.rotary", testManifest()); }
};

TEST_F(BadBundle, MissingDirectory) {
  expectError([&] { Bundle::load(dir / "absent.rotary"); }, Error::Kind::Load,
              {"cannot load bundle '" + dir / "absent.rotary" +
               "': no such directory"});
}

TEST_F(BadBundle, NotADirectory) {
  writeFile(dir / "file.rotary", "x");
  expectError([&] { Bundle::load(dir / "file.rotary"); }, Error::Kind::Load,
              {"not a directory"});
}

TEST_F(BadBundle, MissingManifest) {
  std::string b = good();
  fs::remove(b + "/manifest.json");
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"manifest.json is missing"});
}

TEST_F(BadBundle, TruncatedManifest) {
  std::string b = good();
  std::string text = readFile(b + "/manifest.json");
  writeFile(b + "/manifest.json", text.substr(0, text.size() / 3));
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"cannot load bundle", "manifest.json: invalid JSON: parse "
                                     "error at line"});
}

TEST_F(BadBundle, ManifestFieldError) {
  std::string b = good();
  std::string text = readFile(b + "/manifest.json");
  size_t at = text.find("\"i32\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 5, "\"q7\"");
  writeFile(b + "/manifest.json", text);
  expectError(
      [&] { Bundle::load(b); }, Error::Kind::Load,
      {"manifest.json: entries[2].inputs[0].dtype: unknown dtype 'q7'"});
}

TEST_F(BadBundle, Version999) {
  bundle::Manifest m = testManifest();
  m.formatVersion = 999;
  std::string b = makeBundle(dir / "v999.rotary", m);
  expectError(
      [&] { Bundle::load(b); }, Error::Kind::Load,
      {"bundle format version 999 is not supported", "version 1", "recompile"});
}

TEST_F(BadBundle, MissingLibrary) {
  std::string b = good();
  fs::remove(b + "/cpu/kernels.so");
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"its CPU library cpu/kernels.so is missing"});
}

/// The message of a bundle whose files changed after compilation.
const char *kChanged = "manifest.json or cpu/kernels.so changed after "
                       "compilation (content_hash mismatch); recompile it "
                       "with rotary-translate";

/// Replaces the first `from` in the file at `path` with `to`.
void editFile(const std::string &path, const std::string &from,
              const std::string &to) {
  std::string text = readFile(path);
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  text.replace(at, from.size(), to);
  writeFile(path, text);
}

TEST_F(BadBundle, EditedDtype) {
  // f32 -> f64 for add_one's input: still a valid manifest, and the kernel
  // would read doubles as floats.
  std::string b = good();
  editFile(b + "/manifest.json", "\"dtype\": \"f32\"", "\"dtype\": \"f64\"");
  std::string error;
  std::optional<bundle::Manifest> edited =
      bundle::fromJson(readFile(b + "/manifest.json"), error);
  ASSERT_TRUE(edited) << error;
  EXPECT_EQ(edited->entries[0].inputs[0].dtype, DType::F64);
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"cannot load bundle '" + b + "': " + kChanged});
}

TEST_F(BadBundle, EditedCheckMessage) {
  std::string b = good();
  editFile(b + "/manifest.json", "a and b must have the same size",
           "a and b may differ");
  expectError([&] { Bundle::load(b); }, Error::Kind::Load, {kChanged});
}

TEST_F(BadBundle, EditedHash) {
  // The hash itself: any other value is refused, the old placeholder too.
  std::string b = good();
  std::string hash = Bundle::load(b)->manifest().contentHash;
  editFile(b + "/manifest.json", hash, testManifest().contentHash);
  expectError([&] { Bundle::load(b); }, Error::Kind::Load, {kChanged});
}

TEST_F(BadBundle, ModifiedLibraryByte) {
  std::string b = good();
  std::string so = readFile(b + "/cpu/kernels.so");
  for (size_t at : {so.size() / 2, so.size() - 1}) {
    std::string changed = so;
    changed[at] = char(changed[at] ^ 0x01);
    writeFile(b + "/cpu/kernels.so", changed);
    expectError([&] { Bundle::load(b); }, Error::Kind::Load, {kChanged});
  }
  // Back as it was, it loads again.
  writeFile(b + "/cpu/kernels.so", so);
  EXPECT_TRUE(Bundle::load(b));
}

TEST_F(BadBundle, TruncatedLibrary) {
  // Cut anywhere: the content hash no longer matches.
  std::string b = good();
  std::string so = readFile(b + "/cpu/kernels.so");
  const std::string manifest = readFile(b + "/manifest.json");
  for (size_t size : {size_t(0), size_t(20), size_t(600), size_t(4096),
                      so.size() / 2, so.size() - 1}) {
    writeFile(b + "/cpu/kernels.so", so.substr(0, size));
    expectError([&] { Bundle::load(b); }, Error::Kind::Load, {kChanged});
  }
  // Behind the hash (a truncated library the manifest was sealed with), a
  // cut past the ELF header is still found before dlopen, which would map
  // pages past the end of the file and die of SIGBUS.
  for (size_t size :
       {size_t(600), size_t(4096), so.size() / 2, so.size() - 1}) {
    writeFile(b + "/cpu/kernels.so", so.substr(0, size));
    writeFile(b + "/manifest.json", manifest);
    reseal(b);
    expectError([&] { Bundle::load(b); }, Error::Kind::Load,
                {"cannot open its CPU library cpu/kernels.so: the file is "
                 "truncated (" +
                 std::to_string(size) + " bytes"});
  }
  // Shorter than an ELF header, or not ELF: dlopen's own message.
  writeFile(b + "/cpu/kernels.so", so.substr(0, 20));
  reseal(b);
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"cannot open its CPU library cpu/kernels.so: ",
               "kernels.so: file too short"});
  writeFile(b + "/cpu/kernels.so", "this is not a shared library, but it is "
                                   "long enough to hold an ELF header.....");
  reseal(b);
  expectError(
      [&] { Bundle::load(b); }, Error::Kind::Load,
      {"cannot open its CPU library cpu/kernels.so: ", "invalid ELF header"});
}

/// Runs `body` in a child process that cannot read what its permission
/// bits deny: as user and group 65534 (nobody) when the test runs as root,
/// whom they do not stop. Returns what `body` returned, or "" with a test
/// failure when the child could not run it.
std::string withoutRoot(const std::function<std::string()> &body) {
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return "";
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string result;
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 ||
                             ::setgid(65534) != 0 || ::setuid(65534) != 0))
      result =
          std::string("CHILD ERROR: cannot drop root: ") + std::strerror(errno);
    else if (::geteuid() == 0)
      result = "CHILD ERROR: still root";
    else
      result = body();
    (void)!::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string result;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
    result.append(buffer, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(result.rfind("CHILD ERROR", 0), std::string::npos) << result;
  return result;
}

/// The message of loading `dir`, or "loaded".
std::string loadMessage(const std::string &dir) {
  try {
    Bundle::load(dir);
    return "loaded";
  } catch (const Error &e) {
    return e.what();
  }
}

TEST_F(BadBundle, OsErrorsAreNamed) {
  // Each file error says what the system said, not "missing". The child
  // first checks that the permission bits really stop it.
  fs::permissions(dir.path(), fs::perms(0755));
  std::string b = good();
  auto denied = [&](const std::string &path, const std::string &expected) {
    std::string got = withoutRoot([&] {
      if (::access(path.c_str(), R_OK) == 0)
        return std::string("not denied: ") + path;
      return loadMessage(b);
    });
    EXPECT_NE(got.find(expected), std::string::npos)
        << "message: " << got << "\nmissing: " << expected;
  };
  // An unreadable bundle directory.
  fs::permissions(b, fs::perms::none);
  denied(b, "cannot load bundle '" + b +
                "': cannot open the directory: Permission denied");
  fs::permissions(b, fs::perms(0755));
  // An unreadable manifest or library.
  fs::permissions(b + "/manifest.json", fs::perms::none);
  denied(b + "/manifest.json", "': cannot read manifest.json: Permission "
                               "denied");
  fs::permissions(b + "/manifest.json", fs::perms(0644));
  fs::permissions(b + "/cpu/kernels.so", fs::perms::none);
  denied(b + "/cpu/kernels.so", "': cannot read its CPU library "
                                "cpu/kernels.so: Permission denied");
  fs::permissions(b + "/cpu/kernels.so", fs::perms(0755));
  EXPECT_EQ(withoutRoot([&] { return loadMessage(b); }), "loaded");
  // A directory or a FIFO where a file should be.
  std::string manifest = readFile(b + "/manifest.json");
  fs::remove(b + "/manifest.json");
  fs::create_directory(b + "/manifest.json");
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"': manifest.json is a directory, not a file"});
  fs::remove(b + "/manifest.json");
  // A FIFO nobody writes: refused, not waited on.
  ASSERT_EQ(::mkfifo((b + "/manifest.json").c_str(), 0644), 0);
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"': manifest.json is not a regular file"});
  fs::remove(b + "/manifest.json");
  writeFile(b + "/manifest.json", manifest);
  fs::remove(b + "/cpu/kernels.so");
  fs::create_directory(b + "/cpu/kernels.so");
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"': its CPU library cpu/kernels.so is a directory, not a "
               "file"});
}

TEST_F(BadBundle, MissingSymbol) {
  bundle::Manifest m = testManifest();
  m.entries.push_back(entry("ghost", "no_such_symbol", {}, {}));
  std::string b = makeBundle(dir / "ghost.rotary", m);
  expectError([&] { Bundle::load(b); }, Error::Kind::Load,
              {"entry 'ghost': symbol 'no_such_symbol' is missing from "
               "cpu/kernels.so"});
}

TEST_F(BadBundle, LibraryOutsideBundle) {
  bundle::Manifest m = testManifest();
  m.cpuLibrary = "../elsewhere/kernels.so";
  expectError([&] { Bundle::load(makeBundle(dir / "out.rotary", m)); },
              Error::Kind::Load, {"must be a path inside the bundle"});
  m.cpuLibrary = "/lib/kernels.so";
  expectError([&] { Bundle::load(makeBundle(dir / "abs.rotary", m)); },
              Error::Kind::Load, {"must be a path inside the bundle"});
}

TEST_F(BadBundle, NoCpuLibrary) {
  bundle::Manifest m = testManifest();
  m.cpuLibrary.clear();
  std::shared_ptr<Bundle> b = Bundle::load(makeBundle(dir / "gpu.rotary", m));
  std::vector<float> x{1}, y{1};
  expectError([&] { b->call("add_one", {f32(x)}, {f32(y)}); },
              Error::Kind::Load,
              {"entry 'add_one' has no CPU code", "has no CPU library"});
}

//===--------------------------------------------------------------------===//
// librotary_runtime.so needs neither MLIR nor LLVM
//===--------------------------------------------------------------------===//

/// The DT_NEEDED entries of a 64-bit ELF shared object.
std::vector<std::string> neededLibraries(const std::string &path) {
  std::string f = readFile(path);
  auto at = [&](uint64_t offset, uint64_t size) {
    if (offset > f.size() || size > f.size() - offset)
      throw std::runtime_error(path + ": malformed ELF file");
    return f.data() + offset;
  };
  Elf64_Ehdr eh;
  std::memcpy(&eh, at(0, sizeof eh), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    throw std::runtime_error(path + ": not a 64-bit ELF file");
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  for (size_t i = 0; i < phdrs.size(); ++i)
    std::memcpy(&phdrs[i],
                at(eh.e_phoff + i * eh.e_phentsize, sizeof(Elf64_Phdr)),
                sizeof(Elf64_Phdr));
  auto fileOffset = [&](uint64_t vaddr) -> uint64_t {
    for (const Elf64_Phdr &p : phdrs)
      if (p.p_type == PT_LOAD && vaddr >= p.p_vaddr &&
          vaddr < p.p_vaddr + p.p_filesz)
        return vaddr - p.p_vaddr + p.p_offset;
    throw std::runtime_error(path + ": address outside the file");
  };
  std::vector<Elf64_Dyn> dyns;
  for (const Elf64_Phdr &p : phdrs)
    if (p.p_type == PT_DYNAMIC)
      for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= p.p_filesz;
           off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        std::memcpy(&d, at(p.p_offset + off, sizeof d), sizeof d);
        if (d.d_tag == DT_NULL)
          break;
        dyns.push_back(d);
      }
  uint64_t strtab = 0;
  for (const Elf64_Dyn &d : dyns)
    if (d.d_tag == DT_STRTAB)
      strtab = fileOffset(d.d_un.d_ptr);
  std::vector<std::string> needed;
  for (const Elf64_Dyn &d : dyns)
    if (d.d_tag == DT_NEEDED)
      needed.emplace_back(at(strtab + d.d_un.d_val, 1));
  return needed;
}

TEST(RuntimeLibrary, LinksNeitherMlirNorLlvm) {
  std::vector<std::string> needed = neededLibraries(ROTARY_RUNTIME_LIBRARY);
  std::string all;
  for (const std::string &n : needed)
    all += n + " ";
  // The parser works: libc is there.
  EXPECT_NE(all.find("libc.so"), std::string::npos) << all;
  for (std::string n : needed) {
    for (char &c : n)
      c = char(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(n.find("mlir"), std::string::npos) << "needs " << n;
    EXPECT_EQ(n.find("llvm"), std::string::npos) << "needs " << n;
    EXPECT_EQ(n.find("torch"), std::string::npos) << "needs " << n;
  }
}

} // namespace
