//===- DistributedTest.cpp - rotary-train's data-parallel layer ----------===//
//
// Two ranks on loopback. The test binary re-executes itself as the ranks
// (like gtest's death tests): with ROTARY_DIST_TEST_ROLE set, main runs that
// role instead of the tests. The ranks write what they hold to files in a
// temporary folder; the test compares them with values it computes itself
// from the same seeds.
//
//===----------------------------------------------------------------------===//

#include "Distributed.h"
#include "Seed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace fs = std::filesystem;
using namespace rotary::train;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr const char *kRole = "ROTARY_DIST_TEST_ROLE";
constexpr const char *kDir = "ROTARY_DIST_TEST_DIR";
constexpr const char *kSeed = "ROTARY_DIST_TEST_SEED";
constexpr const char *kTimeout = "ROTARY_DIST_TEST_TIMEOUT_MS";
/// The bucket size of the first averaging round: several buckets, some of
/// one tensor (reduced in place), some of two (flattened).
constexpr size_t kSmallBucket = 128;

//===----------------------------------------------------------------------===//
// What the ranks draw; the test draws the same from the same seeds.
//===----------------------------------------------------------------------===//

/// The parameters' shapes and dtypes, in order; kNoGrad has no gradient.
struct ParamSpec {
  std::vector<int64_t> shape;
  torch::Dtype dtype;
  bool transposed; // the gradient is a non-contiguous view
};
const std::vector<ParamSpec> kParams = {
    {{7}, torch::kFloat32, false},    {{3, 5}, torch::kFloat32, false},
    {{4, 4}, torch::kFloat32, false}, {{13, 1, 3}, torch::kFloat64, false},
    {{}, torch::kFloat32, false},     {{1000}, torch::kFloat32, false},
    {{2, 9}, torch::kFloat32, true},  {{5}, torch::kFloat32, false}};
constexpr size_t kNoGrad = 2;

uint64_t rankSeed(uint64_t seed, int rank) { return seed + 7919 * rank; }

/// Rank `rank`'s gradients of one round (undefined at kNoGrad) and the
/// scalar it averages with mean().
std::pair<std::vector<torch::Tensor>, double>
drawGradients(uint64_t seed, int rank, int round) {
  torch::manual_seed(rankSeed(seed, rank) + 104729 * round);
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < kParams.size(); ++i) {
    const ParamSpec &p = kParams[i];
    if (i == kNoGrad) {
      grads.emplace_back();
      continue;
    }
    std::vector<int64_t> shape = p.shape;
    if (p.transposed)
      std::swap(shape[0], shape[1]);
    torch::Tensor g = torch::randn(shape, p.dtype);
    grads.push_back(p.transposed ? g.t() : g);
  }
  return {grads, torch::randn({1}, torch::kFloat64).item<double>()};
}

/// Rank `rank`'s tensors before the broadcast: several dtypes, a 0-d one,
/// a parameter that requires grad and a non-contiguous view.
std::vector<torch::Tensor> drawBroadcast(uint64_t seed, int rank) {
  torch::manual_seed(rankSeed(seed, rank));
  return {torch::randn({3, 5}),
          torch::randn({7}, torch::kFloat64),
          torch::randint(-1000000, 1000000, {11}, torch::kInt64),
          torch::randn({}),
          torch::randn({4, 3}).requires_grad_(),
          torch::randn({6, 4}).t(),
          torch::randn({301})};
}

//===----------------------------------------------------------------------===//
// The ranks (run in the re-executed binary)
//===----------------------------------------------------------------------===//

fs::path dir() { return std::getenv(kDir); }

void writeText(const fs::path &path, const std::string &text) {
  std::ofstream(path) << text;
}

void writePid(int rank) {
  writeText(dir() / ("pid-" + std::to_string(rank)), std::to_string(getpid()));
}

/// Waits for a file the test creates, for at most 30 s.
bool waitForFile(const fs::path &path) {
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  while (!fs::exists(path))
    if (Clock::now() > deadline)
      return false;
    else
      std::this_thread::sleep_for(milliseconds(10));
  return true;
}

int runAverage(DataParallel &dp, uint64_t seed) {
  std::vector<torch::Tensor> params;
  for (const ParamSpec &p : kParams)
    params.push_back(torch::zeros(p.shape, p.dtype).requires_grad_());
  std::vector<torch::Tensor> results;
  for (int round = 0; round < 2; ++round) {
    auto [grads, value] = drawGradients(seed, dp.rank(), round);
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = grads[i];
    if (round == 0)
      dp.averageGradients(params, kSmallBucket);
    else
      dp.averageGradients(params); // the default: one bucket per dtype
    for (size_t i = 0; i < params.size(); ++i)
      results.push_back(params[i].grad().defined()
                            ? params[i].grad()
                            : torch::full({1}, -1.0)); // "no gradient"
    results.push_back(torch::full({1}, dp.mean(value), torch::kFloat64));
  }
  torch::save(
      results,
      (dir() / ("average-" + std::to_string(dp.rank()) + ".pt")).string());
  return 0;
}

int runBroadcast(DataParallel &dp, uint64_t seed) {
  std::vector<torch::Tensor> tensors = drawBroadcast(seed, dp.rank());
  std::vector<torch::Tensor> withHole = tensors;
  withHole.insert(withHole.begin() + 2, torch::Tensor()); // skipped
  dp.broadcast(withHole, 64);
  torch::save(
      tensors,
      (dir() / ("broadcast-" + std::to_string(dp.rank()) + ".pt")).string());
  return 0;
}

/// Rank 1 leaves after the rendezvous; rank 0 enters a collective and,
/// whatever it gets, stays until the launcher ends it.
int runExit3(DataParallel &dp) {
  writePid(dp.rank());
  if (dp.rank() == 1) {
    // When it left, on the clock the test reads too (CLOCK_MONOTONIC).
    writeText(dir() / "exit-time",
              std::to_string(Clock::now().time_since_epoch().count()));
    _exit(3); // no static destructors under Gloo's running threads
  }
  try {
    while (true)
      dp.barrier();
  } catch (const std::exception &) {
  }
  std::this_thread::sleep_for(std::chrono::seconds(60));
  return 0;
}

/// Until the launcher ends it.
int runSleep(DataParallel &dp) {
  writePid(dp.rank());
  std::this_thread::sleep_for(std::chrono::seconds(60));
  return 0;
}

/// Started without the launcher. Both ranks say they are ready; the test
/// kills or stops rank 1 and tells rank 0 to go; rank 0's next collective
/// must throw, which it reports with the time it took.
int runPeer(DataParallel &dp) {
  writeText(dir() / ("ready-" + std::to_string(dp.rank())), "");
  if (dp.rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return 0;
  }
  if (!waitForFile(dir() / "go"))
    return 20;
  std::vector<torch::Tensor> params = {torch::zeros({17}).requires_grad_()};
  params[0].mutable_grad() = torch::ones({17});
  Clock::time_point start = Clock::now();
  try {
    dp.averageGradients(params);
  } catch (const std::exception &e) {
    auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    writeText(dir() / "result", std::to_string(ms.count()) + "\n" + e.what());
    return 0;
  }
  writeText(dir() / "result", "no exception");
  return 21;
}

/// A shell command for launchRanks: each rank writes its pid, then sleeps
/// (`exec`: the rank is the sleep process itself).
const std::vector<std::string> kSleepers = {
    "sh", "-c", "echo $$ > \"$ROTARY_DIST_TEST_DIR/pid-$RANK\"; exec sleep 60"};

int runRole(const std::string &role) {
  // A launcher of sleepers, which the test SIGKILLs.
  if (role == "launch")
    return launchRanks(2, kSleepers, std::chrono::seconds(60));
  try {
    milliseconds timeout(std::stol(std::getenv(kTimeout)));
    uint64_t seed = std::stoull(std::getenv(kSeed));
    std::unique_ptr<DataParallel> dp = DataParallel::fromEnvironment(timeout);
    if (dp->worldSize() != 2 || dp->rank() != std::stoi(std::getenv("RANK")))
      return 10;
    if (role == "average")
      return runAverage(*dp, seed);
    if (role == "broadcast")
      return runBroadcast(*dp, seed);
    if (role == "exit3")
      return runExit3(*dp);
    if (role == "sleep")
      return runSleep(*dp);
    if (role == "peer")
      return runPeer(*dp);
    return 11;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rank %s: %s\n", std::getenv("RANK"), e.what());
    return 12;
  }
}

//===----------------------------------------------------------------------===//
// The tests
//===----------------------------------------------------------------------===//

std::string self() { return fs::read_symlink("/proc/self/exe").string(); }

/// Sets (or, with nullopt, unsets) environment variables for one scope.
class ScopedEnv {
public:
  ScopedEnv(
      std::initializer_list<std::pair<const char *, std::optional<std::string>>>
          vars) {
    for (const auto &[name, value] : vars) {
      const char *old = std::getenv(name);
      saved.emplace_back(name,
                         old ? std::optional<std::string>(old) : std::nullopt);
      if (value)
        setenv(name, value->c_str(), 1);
      else
        unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      if (it->second)
        setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        unsetenv(it->first.c_str());
  }

private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
};

class Distributed : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "rotary-dist-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    tmp = pattern;
  }
  void TearDown() override { fs::remove_all(tmp); }

  /// The environment of the re-executed ranks.
  ScopedEnv roleEnv(const std::string &role, milliseconds timeout) {
    return ScopedEnv({{kRole, role},
                      {kDir, tmp.string()},
                      {kSeed, std::to_string(rotary::test::testSeed())},
                      {kTimeout, std::to_string(timeout.count())}});
  }

  std::vector<torch::Tensor> load(const std::string &name) {
    std::vector<torch::Tensor> tensors;
    torch::load(tensors, (tmp / name).string());
    return tensors;
  }

  /// Whether the process in `pidFile`, a child of the launcher, is gone:
  /// neither running nor a zombie (kill fails with ESRCH). With
  /// `orphan`, a zombie counts as gone (its new parent reaps it, or not).
  bool gone(const std::string &pidFile, bool orphan = false) {
    std::ifstream in(tmp / pidFile);
    pid_t pid = 0;
    in >> pid;
    if (pid <= 0)
      return false;
    if (kill(pid, 0) != 0 && errno == ESRCH)
      return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t paren = line.rfind(')');
    return orphan && paren != std::string::npos &&
           line.compare(paren, 3, ") Z") == 0;
  }

  bool waitForPids() {
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
    while (!(fs::exists(tmp / "pid-0") && fs::exists(tmp / "pid-1")))
      if (Clock::now() > deadline)
        return false;
      else
        std::this_thread::sleep_for(milliseconds(10));
    // The shell writes the file in two steps; let it finish.
    std::this_thread::sleep_for(milliseconds(50));
    return true;
  }

  fs::path tmp;
};

TEST_F(Distributed, AverageGradients) {
  ScopedEnv env = roleEnv("average", milliseconds(20000));
  ASSERT_EQ(launchRanks(2, {self()}, milliseconds(20000)), 0);
  uint64_t seed = rotary::test::testSeed();
  std::vector<torch::Tensor> expected;
  for (int round = 0; round < 2; ++round) {
    auto [g0, v0] = drawGradients(seed, 0, round);
    auto [g1, v1] = drawGradients(seed, 1, round);
    for (size_t i = 0; i < kParams.size(); ++i)
      expected.push_back(
          i == kNoGrad
              ? torch::full({1}, -1.0, torch::kFloat64)
              : (g0[i].to(torch::kFloat64) + g1[i].to(torch::kFloat64)).div(2));
    expected.push_back(torch::full({1}, (v0 + v1) / 2, torch::kFloat64));
  }
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<torch::Tensor> got =
        load("average-" + std::to_string(rank) + ".pt");
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("rank " + std::to_string(rank) + ", result " +
                   std::to_string(i));
      ASSERT_EQ(got[i].sizes(), expected[i].sizes());
      // (a + b) / 2 rounded once in the gradient's dtype: half an ulp.
      double tol = got[i].scalar_type() == torch::kFloat32 ? 1e-6 : 1e-14;
      EXPECT_TRUE(
          torch::allclose(got[i].to(torch::kFloat64), expected[i], tol, tol))
          << "max error "
          << (got[i].to(torch::kFloat64) - expected[i])
                 .abs()
                 .max()
                 .item<double>();
    }
  }
}

TEST_F(Distributed, Broadcast) {
  ScopedEnv env = roleEnv("broadcast", milliseconds(20000));
  ASSERT_EQ(launchRanks(2, {self()}, milliseconds(20000)), 0);
  std::vector<torch::Tensor> root = drawBroadcast(rotary::test::testSeed(), 0);
  std::vector<torch::Tensor> other = drawBroadcast(rotary::test::testSeed(), 1);
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<torch::Tensor> got =
        load("broadcast-" + std::to_string(rank) + ".pt");
    ASSERT_EQ(got.size(), root.size());
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("rank " + std::to_string(rank) + ", tensor " +
                   std::to_string(i));
      ASSERT_FALSE(torch::equal(root[i], other[i])); // the test can fail
      EXPECT_EQ(got[i].scalar_type(), root[i].scalar_type());
      EXPECT_TRUE(torch::equal(got[i], root[i]));
    }
  }
}

TEST_F(Distributed, LauncherEndsTheGroupWhenARankFails) {
  // The ranks' own timeout is long: only the launcher can end rank 0 soon.
  ScopedEnv env = roleEnv("exit3", milliseconds(60000));
  Clock::time_point start = Clock::now();
  ::testing::internal::CaptureStderr();
  int status = launchRanks(2, {self()}, milliseconds(60000));
  std::string err = ::testing::internal::GetCapturedStderr();
  Clock::time_point end = Clock::now();
  EXPECT_EQ(status, 3);
  EXPECT_NE(err.find("rotary-train: rank 1 exited with status 3"),
            std::string::npos)
      << err;
  EXPECT_LT(end - start, std::chrono::seconds(20));
  // The launcher ends rank 0 at once (SIGTERM), not after the grace period.
  std::ifstream in(tmp / "exit-time");
  Clock::rep exitTime = 0;
  in >> exitTime;
  auto afterExit = std::chrono::duration_cast<milliseconds>(
      end - Clock::time_point(Clock::duration(exitTime)));
  EXPECT_LT(afterExit.count(), kKillGracePeriod.count() / 2);
  EXPECT_TRUE(gone("pid-0"));
  EXPECT_TRUE(gone("pid-1"));
}

TEST_F(Distributed, LauncherForwardsSigterm) {
  ScopedEnv env = roleEnv("sleep", milliseconds(20000));
  std::thread sender([this] {
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
    while (!(fs::exists(tmp / "pid-0") && fs::exists(tmp / "pid-1")) &&
           Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(10));
    // To the launcher, which passes it on; only while it runs (the ranks
    // sleep until it ends them), else this would end the test binary.
    if (fs::exists(tmp / "pid-0") && fs::exists(tmp / "pid-1"))
      kill(getpid(), SIGTERM);
  });
  Clock::time_point start = Clock::now();
  ::testing::internal::CaptureStderr();
  int status = launchRanks(2, {self()}, milliseconds(20000));
  std::string err = ::testing::internal::GetCapturedStderr();
  sender.join();
  EXPECT_EQ(status, 128 + SIGTERM);
  EXPECT_NE(err.find("SIGTERM received"), std::string::npos) << err;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(15));
  EXPECT_TRUE(gone("pid-0"));
  EXPECT_TRUE(gone("pid-1"));
}

TEST_F(Distributed, LauncherReportsSignalsAndMissingPorts) {
  ScopedEnv env({{kDir, tmp.string()}});
  // Rank 1 is killed by a signal once rank 0 has written its pid; rank 0
  // (sleep) is ended by the launcher.
  ::testing::internal::CaptureStderr();
  int status = launchRanks(
      2,
      {"sh", "-c",
       "echo $$ > \"$ROTARY_DIST_TEST_DIR/pid-$RANK\"; "
       "if [ \"$RANK\" = 1 ]; then "
       "while [ ! -s \"$ROTARY_DIST_TEST_DIR/pid-0\" ]; do sleep 0.01; done; "
       "kill -KILL $$; fi; exec sleep 60"},
      std::chrono::seconds(60));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 128 + SIGKILL);
  EXPECT_NE(err.find("rotary-train: rank 1 was killed by signal SIGKILL"),
            std::string::npos)
      << err;
  EXPECT_TRUE(gone("pid-0"));
  EXPECT_TRUE(gone("pid-1"));

  // Rank 0 never reports its port: the launcher gives up after `timeout`.
  Clock::time_point start = Clock::now();
  ::testing::internal::CaptureStderr();
  status = launchRanks(2, kSleepers, milliseconds(500));
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("rank 0 did not report its port within 500 ms"),
            std::string::npos)
      << err;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_F(Distributed, RanksDieWithTheLauncher) {
  ScopedEnv env({{kRole, "launch"}, {kDir, tmp.string()}});
  std::string path = self();
  char *argv[] = {path.data(), nullptr};
  pid_t launcher;
  ASSERT_EQ(
      posix_spawn(&launcher, path.c_str(), nullptr, nullptr, argv, environ), 0);
  bool started = waitForPids();
  kill(launcher, SIGKILL);
  int status;
  waitpid(launcher, &status, 0);
  ASSERT_TRUE(started);
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  while (!(gone("pid-0", true) && gone("pid-1", true)) &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(gone("pid-0", true));
  EXPECT_TRUE(gone("pid-1", true));
}

TEST_F(Distributed, LauncherReportsAProgramThatCannotRun) {
  ::testing::internal::CaptureStderr();
  int status = launchRanks(2, {(tmp / "missing").string()}, milliseconds(5000));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 127);
  EXPECT_NE(err.find("cannot execute"), std::string::npos) << err;
  EXPECT_NE(err.find("exited with status 127"), std::string::npos) << err;
  EXPECT_THROW(launchRanks(0, {self()}, milliseconds(5000)),
               std::invalid_argument);
  EXPECT_THROW(launchRanks(2, {}, milliseconds(5000)), std::invalid_argument);
}

/// fromEnvironment's message for this environment ("" if it succeeds).
std::string envError(
    std::initializer_list<std::pair<const char *, std::optional<std::string>>>
        vars) {
  ScopedEnv env({{"WORLD_SIZE", std::nullopt},
                 {"RANK", std::nullopt},
                 {"MASTER_ADDR", std::nullopt},
                 {"MASTER_PORT", std::nullopt},
                 {kPortFdVariable, std::nullopt}});
  ScopedEnv set(vars);
  try {
    DataParallel::fromEnvironment(milliseconds(1000));
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  return "";
}

TEST(DistributedEnv, BadVariablesAreNamed) {
  const std::string addr = "127.0.0.1";
  auto mentions = [](const std::string &message, const std::string &what) {
    return message.find(what) != std::string::npos;
  };
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "abc"}}), "WORLD_SIZE='abc'");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "0"}}), "WORLD_SIZE");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "-2"}}), "WORLD_SIZE");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "2"}}), "RANK is not set");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "2"}, {"RANK", "2"}}),
               "RANK='2': must be this process's rank, an integer from 0 to 1");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "2"}, {"RANK", "x"}}),
               "RANK='x'");
  EXPECT_PRED2(mentions, envError({{"WORLD_SIZE", "1"}, {"RANK", "1"}}),
               "RANK='1'");
  EXPECT_PRED2(
      mentions,
      envError({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_PORT", "29500"}}),
      "MASTER_ADDR is not set");
  EXPECT_PRED2(
      mentions,
      envError({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", addr}}),
      "MASTER_PORT is not set");
  EXPECT_PRED2(mentions,
               envError({{"WORLD_SIZE", "2"},
                         {"RANK", "0"},
                         {"MASTER_ADDR", addr},
                         {"MASTER_PORT", "70000"}}),
               "MASTER_PORT='70000'");
  EXPECT_PRED2(mentions,
               envError({{"WORLD_SIZE", "2"},
                         {"RANK", "0"},
                         {"MASTER_ADDR", addr},
                         {"MASTER_PORT", "0"}}),
               "MASTER_PORT='0'");
}

TEST(DistributedEnv, GroupOfOne) {
  for (std::optional<std::string> world :
       {std::optional<std::string>(), std::optional<std::string>("1")}) {
    ScopedEnv env({{"WORLD_SIZE", world},
                   {"RANK", std::nullopt},
                   {"MASTER_ADDR", std::nullopt},
                   {"MASTER_PORT", std::nullopt}});
    std::unique_ptr<DataParallel> dp =
        DataParallel::fromEnvironment(milliseconds(1000));
    EXPECT_EQ(dp->rank(), 0);
    EXPECT_EQ(dp->worldSize(), 1);
    torch::Tensor p = torch::zeros({3, 7}).requires_grad_();
    torch::Tensor g = torch::randn({3, 7});
    p.mutable_grad() = g.clone();
    dp->averageGradients({p}, 16);
    EXPECT_TRUE(torch::equal(p.grad(), g));
    dp->broadcast({p});
    EXPECT_TRUE(torch::equal(p, torch::zeros({3, 7})));
    EXPECT_EQ(dp->mean(2.75), 2.75);
    dp->barrier();
  }
}

/// Two ranks started here, without the launcher; rank 1 is then killed or
/// stopped. Rank 0's next collective must throw within the timeout.
void peerFails(const fs::path &tmp, int signal) {
  const milliseconds timeout(3000);
  int sockets[2][2];
  pid_t pids[2];
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets[rank]),
              0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // The child's end, at a descriptor without close-on-exec.
    const int childFd = 100;
    posix_spawn_file_actions_adddup2(&actions, sockets[rank][1], childFd);
    // Ours first: getenv returns the first of equal names.
    std::vector<std::string> env = {
        std::string(kRole) + "=peer",
        std::string(kDir) + "=" + tmp.string(),
        std::string(kSeed) + "=1",
        std::string(kTimeout) + "=" + std::to_string(timeout.count()),
        "WORLD_SIZE=2",
        "RANK=" + std::to_string(rank),
        "MASTER_ADDR=127.0.0.1",
        "MASTER_PORT=0",
        std::string(kPortFdVariable) + "=" + std::to_string(childFd)};
    for (char **e = environ; *e; ++e)
      env.emplace_back(*e);
    std::vector<char *> envp;
    for (std::string &s : env)
      envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string path = self();
    char *argv[] = {path.data(), nullptr};
    ASSERT_EQ(posix_spawn(&pids[rank], path.c_str(), &actions, nullptr, argv,
                          envp.data()),
              0);
    posix_spawn_file_actions_destroy(&actions);
    close(sockets[rank][1]);
  }
  // Rank 0's port, relayed to rank 1.
  char port[16] = {};
  ASSERT_GT(read(sockets[0][0], port, sizeof port - 1), 0);
  ASSERT_GT(write(sockets[1][0], port, strlen(port)), 0);
  close(sockets[0][0]);
  close(sockets[1][0]);

  auto reap = [](pid_t pid, Clock::time_point deadline) -> std::optional<int> {
    int status;
    while (Clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid)
        return status;
      std::this_thread::sleep_for(milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return std::nullopt;
  };
  Clock::time_point ready = Clock::now() + std::chrono::seconds(20);
  while (!(fs::exists(tmp / "ready-0") && fs::exists(tmp / "ready-1")) &&
         Clock::now() < ready)
    std::this_thread::sleep_for(milliseconds(10));
  bool bothReady = fs::exists(tmp / "ready-0") && fs::exists(tmp / "ready-1");
  kill(pids[1], signal);
  if (signal == SIGKILL)
    reap(pids[1], Clock::now() + std::chrono::seconds(5));
  std::ofstream(tmp / "go").close();
  Clock::time_point start = Clock::now();
  std::optional<int> status =
      reap(pids[0], start + timeout + std::chrono::seconds(5));
  auto elapsed = Clock::now() - start;
  if (signal != SIGKILL)
    reap(pids[1], Clock::now()); // kills the stopped rank
  ASSERT_TRUE(bothReady) << "the ranks did not join";
  ASSERT_TRUE(status) << "rank 0 hung";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  std::ifstream in(tmp / "result");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("rank 0 of 2: averaging the gradients failed"),
            std::string::npos)
      << text;
  EXPECT_LT(elapsed, timeout + std::chrono::seconds(5)) << text;
  if (signal == SIGSTOP) {
    // The stopped peer keeps its sockets open: only the timeout helps.
    EXPECT_GE(std::stol(text), timeout.count() - 100) << text;
  }
}

TEST_F(Distributed, DeadPeerMakesTheNextCollectiveThrow) {
  peerFails(tmp, SIGKILL);
}

TEST_F(Distributed, SilentPeerMakesTheNextCollectiveTimeOut) {
  peerFails(tmp, SIGSTOP);
}

} // namespace

int main(int argc, char **argv) {
  if (const char *role = std::getenv(kRole))
    return runRole(role);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
