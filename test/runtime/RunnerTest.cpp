//===- RunnerTest.cpp - rotary-runner end to end on the test bundle -------===//

#include "rotary/Runtime/Npy.h"

#include "TestSupport.h"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

extern char **environ;

using namespace rotary;
using namespace rotary::test;
using bundle::DType;

namespace {

struct Result {
  int status;
  std::string output; ///< stdout and stderr
};

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result runner(const std::vector<std::string> &args,
              const std::string &env = "") {
  std::string command = env + " " + quote(ROTARY_RUNNER);
  for (const std::string &a : args)
    command += " " + quote(a);
  command += " 2>&1";
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return {-1, "popen failed"};
  Result r;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    r.output.append(buffer, n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class Runner : public testing::Test {
protected:
  TempDir dir;
  std::string bundleDir = makeBundle(dir / "test.rotary", testManifest());

  std::string f32File(const std::string &name, std::vector<float> values) {
    npy::Array a(DType::F32, {int64_t(values.size())});
    std::memcpy(a.data(), values.data(), values.size() * sizeof(float));
    npy::write(dir / name, a);
    return dir / name;
  }
};

TEST_F(Runner, AddOne) {
  std::string x = f32File("x.npy", {1, 2, 3});
  Result r = runner(
      {bundleDir, "--entry", "add_one", "--input", x, "--out", dir / "y.npy"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "");
  npy::Array y = npy::read(dir / "y.npy");
  EXPECT_EQ(y.shape, std::vector<int64_t>{3});
  EXPECT_EQ(y.as<float>()[2], 4.0f);
}

TEST_F(Runner, ZeroDimensionalAndRepeat) {
  npy::Array x(DType::F64, {2, 3}), s(DType::F64, {});
  for (int i = 0; i < 6; ++i)
    x.as<double>()[i] = i;
  s.as<double>()[0] = 2;
  npy::write(dir / "x.npy", x);
  npy::write(dir / "s.npy", s);
  Result r = runner({bundleDir, "--entry=scale", "--input", dir / "x.npy",
                     "--input", dir / "s.npy", "--out", dir / "y.npy",
                     "--out=" + dir / "t.npy", "--repeat", "5"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("median_us: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1);
  npy::Array t = npy::read(dir / "t.npy");
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(t.as<double>()[0], 30.0);
  EXPECT_EQ(npy::read(dir / "y.npy").as<double>()[5], 10.0);
}

TEST_F(Runner, InputErrors) {
  std::string a = f32File("a.npy", {1, 2, 3});
  npy::Array i64(DType::I64, {5});
  npy::write(dir / "b.npy", i64);
  Result r = runner({bundleDir, "--entry", "checked_add", "--input", a,
                     "--input", dir / "b.npy", "--out", dir / "c.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("rotary-runner: error: --input #2 (b): expected "
                          "f32 [?], got i64 [5]"),
            std::string::npos)
      << r.output;
  // Wrong rank / static size.
  npy::Array rows(DType::I64, {2, 3});
  npy::write(dir / "rows.npy", rows);
  r = runner({bundleDir, "--entry", "row_sums", "--input", dir / "rows.npy",
              "--out", dir / "y.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--input #1 (x): expected i64 [?, 4], got i64 "
                          "[2, 3]"),
            std::string::npos)
      << r.output;
  // Counts.
  r = runner({bundleDir, "--entry", "checked_add", "--input", a, "--out",
              dir / "c.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("entry 'checked_add' takes 2 --input (a, b), got 1"),
            std::string::npos)
      << r.output;
  // A bad .npy file.
  writeFile(dir / "junk.npy", "junk");
  r = runner({bundleDir, "--entry", "add_one", "--input", dir / "junk.npy",
              "--out", dir / "y.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--input #1 (x): " + dir / "junk.npy" +
                          ": not a .npy file"),
            std::string::npos)
      << r.output;
}

TEST_F(Runner, RunTimeCheck) {
  std::string a = f32File("a.npy", {1, 2, 3}), b = f32File("b.npy", {1});
  Result r = runner({bundleDir, "--entry", "checked_add", "--input", a,
                     "--input", b, "--out", dir / "c.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("run-time check 1 failed: a and b must have the "
                          "same size"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir / "c.npy"));
}

TEST_F(Runner, UsageErrors) {
  Result r = runner({});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no FILE given"), std::string::npos) << r.output;
  r = runner({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("usage: rotary-runner"), std::string::npos);
  r = runner({bundleDir, "--frobnicate"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("unknown option '--frobnicate'"), std::string::npos);
  r = runner({bundleDir, "--repeat", "zero"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--repeat needs a positive integer"),
            std::string::npos);
  r = runner({bundleDir, "--entry"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("option '--entry' needs a value"), std::string::npos);
  r = runner({bundleDir, "--input", "x.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("choose one with --entry NAME (add_one, "),
            std::string::npos)
      << r.output;
  r = runner({bundleDir, "--entry", "nope"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("has no entry 'nope'; available: add_one"),
            std::string::npos)
      << r.output;
  r = runner({dir / "absent.rotary", "--entry", "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("absent.rotary': No such file or directory"),
            std::string::npos)
      << r.output;
}

TEST_F(Runner, BadBundle) {
  fs::remove(bundleDir + "/cpu/kernels.so");
  Result r = runner({bundleDir, "--entry", "add_one"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("its CPU library cpu/kernels.so is missing"),
            std::string::npos)
      << r.output;
}

TEST_F(Runner, BadMlirLeavesNoTemporaryFiles) {
  // Without the compiler the runner refuses .mlir files; with it, this file
  // fails to compile. Either way: exit code 1, a message, nothing left in
  // TMPDIR.
  TempDir tmp;
  writeFile(dir / "broken.mlir", "func.func @f( {\n");
  Result r = runner({dir / "broken.mlir", "--entry", "f"},
                    "TMPDIR=" + quote(tmp.path()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("rotary-runner: error: "), std::string::npos);
  EXPECT_TRUE(fs::is_empty(tmp.path())) << r.output;
}

TEST_F(Runner, HugeOutputIsNamed) {
  // Outputs of static shape too large to allocate, or whose byte size does
  // not even fit in 64 bits: the message names the output, its shape and
  // the bytes it needs (not std::bad_alloc). The kernel is never called.
  bundle::Manifest m = testManifest();
  using bundle::Dim;
  m.entries = {
      entry(
          "big", "rotary_test_status_7", {},
          {spec("small", DType::F32, {Dim::fixed(2)}),
           spec("result", DType::F32,
                {Dim::fixed(100000), Dim::fixed(100000), Dim::fixed(100000)})}),
      entry("overflow", "rotary_test_status_7", {},
            {spec("result", DType::F64,
                  {Dim::fixed(int64_t(1) << 32), Dim::fixed(int64_t(1) << 32),
                   Dim::fixed(int64_t(1) << 32)})}),
  };
  std::string huge = makeBundle(dir / "huge.rotary", m);
  Result r = runner(
      {huge, "--entry", "big", "--out", dir / "s.npy", "--out", dir / "r.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "rotary-runner: error: --out #2 (result): f32 [100000, "
                      "100000, 100000] needs 4.0e+15 bytes, more than can be "
                      "allocated\n");
  r = runner({huge, "--entry", "overflow", "--out", dir / "r.npy"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "rotary-runner: error: --out #1 (result): f64 "
                      "[4294967296, 4294967296, 4294967296] needs 6.3e+29 "
                      "bytes, more than can be allocated\n");
  EXPECT_FALSE(fs::exists(dir / "s.npy"));
  EXPECT_FALSE(fs::exists(dir / "r.npy"));
}

/// A .mlir file for the tests of the temporary bundle: one rope entry.
std::string ropeMlir(const TempDir &dir) {
  writeFile(dir / "rope.mlir",
            "func.func @rope(%x: tensor<?x?x?x?xf32>, %p: tensor<?xi64>) -> "
            "tensor<?x?x?x?xf32> {\n"
            "  %y = rotary.rope %x, %p layout = half : tensor<?x?x?x?xf32>, "
            "tensor<?xi64>\n"
            "  return %y : tensor<?x?x?x?xf32>\n"
            "}\n");
  return dir / "rope.mlir";
}

/// Skips a test that needs rotary-runner to compile a .mlir file when this
/// build configured it not to (-DROTARY_RUNNER_WITH_COMPILER=OFF: bundles
/// only). In the default build a failure to compile is a test failure.
#ifdef ROTARY_RUNNER_HAS_COMPILER
#define SKIP_UNLESS_RUNNER_COMPILES()
#else
#define SKIP_UNLESS_RUNNER_COMPILES()                                          \
  GTEST_SKIP() << "rotary-runner was configured with "                         \
                  "-DROTARY_RUNNER_WITH_COMPILER=OFF: it runs bundles only"
#endif

TEST_F(Runner, ExitInsideALibraryRemovesTheTemporaryBundle) {
  SKIP_UNLESS_RUNNER_COMPILES();
  // exit() called in the middle of the run (as LLVM's fatal errors do) runs
  // no destructor: here a preloaded dlopen exits when the runner opens the
  // compiled kernels. The temporary bundle must go all the same.
  writeFile(
      dir / "exit_in_dlopen.c",
      "#define _GNU_SOURCE\n"
      "#include <dlfcn.h>\n#include <stdlib.h>\n#include <string.h>\n"
      "void *dlopen(const char *file, int mode) {\n"
      "  if (file && strstr(file, \"kernels.so\"))\n"
      "    exit(42);\n"
      "  void *(*next)(const char *, int) =\n"
      "      (void *(*)(const char *, int))dlsym(RTLD_NEXT, \"dlopen\");\n"
      "  return next(file, mode);\n"
      "}\n");
  std::string build = "cc -shared -fPIC -o " + quote(dir / "exit.so") + " " +
                      quote(dir / "exit_in_dlopen.c") + " -ldl";
  ASSERT_EQ(std::system(build.c_str()), 0) << build;
  TempDir tmp;
  Result r = runner({ropeMlir(dir), "--entry", "rope"},
                    "TMPDIR=" + quote(tmp.path()) +
                        " LD_PRELOAD=" + quote(dir / "exit.so"));
  EXPECT_EQ(r.status, 42) << r.output;
  EXPECT_TRUE(fs::is_empty(tmp.path()))
      << fs::directory_iterator(tmp.path())->path();
}

TEST_F(Runner, SignalsRemoveTheTemporaryBundle) {
  SKIP_UNLESS_RUNNER_COMPILES();
  // SIGTERM, SIGINT or SIGHUP while the runner waits for an input (a FIFO
  // nobody writes) after compiling: the temporary bundle goes, and the
  // runner dies of the signal.
  std::string mlir = ropeMlir(dir);
  std::string fifo = dir / "fifo.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    TempDir tmp;
    std::string tmpdir = "TMPDIR=" + tmp.path();
    std::vector<std::string> args = {
        ROTARY_RUNNER, mlir,      "--entry", "rope",  "--input",
        fifo,          "--input", fifo,      "--out", dir / "y.npy"};
    std::vector<char *> argv, envp;
    for (std::string &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    for (char **e = environ; *e; ++e)
      if (std::strncmp(*e, "TMPDIR=", 7) != 0)
        envp.push_back(*e);
    envp.push_back(tmpdir.data());
    envp.push_back(nullptr);
    // Default dispositions, whatever ours are (a shell may ignore SIGINT
    // in background jobs, and the runner keeps ignored signals ignored).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP})
      sigaddset(&defaults, s);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    ASSERT_EQ(
        ::posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), envp.data()),
        0);
    posix_spawnattr_destroy(&attr);
    // Wait for the compiled bundle to appear, then for the runner to block.
    bool compiled = false;
    int status = 0;
    for (int i = 0; i < 1200 && !compiled; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      for (const auto &d : fs::directory_iterator(tmp.path()))
        compiled |= fs::exists(d.path() / "rope.rotary" / "manifest.json");
      if (::waitpid(pid, &status, WNOHANG) == pid)
        break;
    }
    if (!compiled) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "no bundle was compiled; status " << status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(::kill(pid, sig), 0);
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig)
        << strsignal(sig) << ": status " << status;
    EXPECT_TRUE(fs::is_empty(tmp.path()))
        << strsignal(sig) << ": " << fs::directory_iterator(tmp.path())->path();
  }
}

} // namespace
