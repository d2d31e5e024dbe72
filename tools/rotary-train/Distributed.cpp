//===- Distributed.cpp - rotary-train's data-parallel layer ---------------===//
//
// The group: a c10d::TCPStore served by rank 0 for the rendezvous and a
// c10d::ProcessGroupGloo (TCP) for the collectives, both bounded by one
// timeout. The launcher: fork/exec of N ranks, one event loop over a
// self-pipe that SIGCHLD, SIGINT and SIGTERM write to.
//
// Port choice: the launcher does not probe a free port and pass it on
// (another process could take it between the probe and rank 0's bind);
// rank 0's store binds port 0 itself and publishes the port it got through
// an inherited socket (kPortFdVariable), which the launcher relays to the
// other ranks. All ranks start at once, so loading the program does not
// count against the rendezvous.
//
//===----------------------------------------------------------------------===//

#include "Distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string_view>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace rotary::train {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

[[noreturn]] void fail(const std::string &message) {
  throw std::runtime_error(message);
}

/// A decimal integer in [lo, hi], else nullopt.
std::optional<long> parseInt(std::string_view text, long lo, long hi) {
  if (text.empty() || text.size() > 18)
    return std::nullopt;
  long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < lo || value > hi)
    return std::nullopt;
  return value;
}

const char *getEnv(const char *name) { return std::getenv(name); }

/// The variable as an integer in [lo, hi]; `what` says what it must be.
long intVariable(const char *name, long lo, long hi, const std::string &what) {
  const char *text = getEnv(name);
  if (!text)
    fail("environment variable " + std::string(name) + " is not set: it " +
         "must be " + what);
  std::optional<long> value = parseInt(text, lo, hi);
  if (!value)
    fail("environment variable " + std::string(name) + "='" + text +
         "': must be " + what);
  return *value;
}

/// A c10d or Gloo failure as a runtime_error saying what was attempted.
[[noreturn]] void rethrow(const std::string &what) {
  try {
    throw;
  } catch (const c10::Error &e) {
    fail(what + ": " + e.what_without_backtrace());
  } catch (const std::exception &e) {
    fail(what + ": " + e.what());
  }
}

/// The port of rank 0's store, read by a rank > 0 from the launcher's socket
/// `fd` within `timeout`.
uint16_t readPort(int fd, milliseconds timeout) {
  std::string line;
  Clock::time_point deadline = Clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&p, 1, int(left.count())) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0)
      fail("no port of rank 0 arrived within " +
           std::to_string(timeout.count()) + " ms");
    char buffer[16];
    ssize_t n = ready < 0 ? -1 : ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail(std::string("cannot read the port: ") + std::strerror(errno));
    if (n == 0)
      fail("the launcher closed the socket before sending rank 0's port");
    line.append(buffer, size_t(n));
  }
  std::optional<long> port =
      parseInt(line.substr(0, line.find('\n')), 1, 65535);
  if (!port)
    fail("the launcher sent a bad port '" + line + "'");
  return uint16_t(*port);
}

/// Rank 0 publishes its store's port on `fd`.
void writePort(int fd, uint16_t port) {
  std::string line = std::to_string(port) + "\n";
  ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK)
    n = ::write(fd, line.data(), line.size());
  if (n != ssize_t(line.size()))
    fail(std::string("cannot publish rank 0's port: ") + std::strerror(errno));
  ::close(fd);
}

bool isLoopback(const std::string &addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}

/// Calls `op` on one flat tensor per bucket of `tensors` (consecutive
/// tensors of one dtype and device, about `bucketBytes` together), then
/// copies each bucket back into its tensors. `op` may start asynchronous
/// work on the flat tensor; `finish` is called once per bucket, in order,
/// before that bucket is copied back.
template <typename Op, typename Finish>
void forEachBucket(const std::vector<torch::Tensor> &tensors,
                   size_t bucketBytes, Op op, Finish finish) {
  struct Bucket {
    std::vector<torch::Tensor> members;
    torch::Tensor flat;
    bool aliased = false; // flat is a view of the only member
  };
  torch::NoGradGuard noGrad;
  std::vector<Bucket> buckets;
  size_t bytes = 0;
  for (const torch::Tensor &t : tensors) {
    if (t.is_sparse())
      fail("sparse tensors are not supported");
    size_t size = size_t(t.numel()) * t.element_size();
    if (buckets.empty() || bytes + size > bucketBytes ||
        buckets.back().members.front().scalar_type() != t.scalar_type() ||
        buckets.back().members.front().device() != t.device()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().members.push_back(t);
    bytes += size;
  }
  for (Bucket &b : buckets) {
    const torch::Tensor &first = b.members.front();
    // Gloo here reduces CPU tensors only; a lone contiguous CPU tensor is
    // reduced where it lies.
    if (b.members.size() == 1 && first.is_contiguous() && first.is_cpu()) {
      b.flat = first.view({-1});
      b.aliased = true;
    } else {
      std::vector<torch::Tensor> pieces;
      for (const torch::Tensor &t : b.members)
        pieces.push_back(t.reshape({-1}).to(torch::kCPU));
      b.flat = torch::cat(pieces);
    }
    op(b.flat);
  }
  for (Bucket &b : buckets) {
    finish(b.flat);
    if (b.aliased)
      continue;
    int64_t offset = 0;
    for (const torch::Tensor &t : b.members) {
      t.copy_(b.flat.slice(0, offset, offset + t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

} // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::string where; // "rank R of W" for messages
};

DataParallel::DataParallel(int rank, int worldSize,
                           std::unique_ptr<Group> group)
    : rank_(rank), worldSize_(worldSize), group_(std::move(group)) {}

DataParallel::~DataParallel() = default;

std::unique_ptr<DataParallel>
DataParallel::fromEnvironment(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0)
    fail("the data-parallel timeout must be positive, not " +
         std::to_string(timeout.count()) + " ms");
  long world = 1;
  if (getEnv("WORLD_SIZE"))
    world = intVariable("WORLD_SIZE", 1, 65536,
                        "the number of ranks, an integer from 1 to 65536");
  if (world == 1) {
    // A group of one: RANK, when set, must agree.
    if (getEnv("RANK"))
      intVariable("RANK", 0, 0, "0 (WORLD_SIZE is 1 or not set)");
    return std::unique_ptr<DataParallel>(new DataParallel(0, 1, nullptr));
  }
  std::string ranks = "0 to " + std::to_string(world - 1);
  int rank =
      int(intVariable("RANK", 0, world - 1,
                      "this process's rank, an integer from " + ranks +
                          " (WORLD_SIZE is " + std::to_string(world) + ")"));
  const char *addrText = getEnv("MASTER_ADDR");
  if (!addrText || !*addrText)
    fail(std::string("environment variable MASTER_ADDR is ") +
         (addrText ? "empty" : "not set") +
         ": it must be the host name or address of rank 0 (127.0.0.1 on "
         "one machine)");
  std::string addr = addrText;
  std::optional<int> portFd;
  if (const char *fdText = getEnv(kPortFdVariable)) {
    std::optional<long> fd = parseInt(fdText, 0, 1 << 20);
    if (!fd || ::fcntl(int(*fd), F_GETFD) < 0)
      fail(std::string("environment variable ") + kPortFdVariable + "='" +
           fdText +
           "': must be an open file descriptor (set by rotary-train "
           "--nproc)");
    portFd = int(*fd);
  }
  long port = intVariable(
      "MASTER_PORT", portFd ? 0 : 1, 65535,
      portFd ? "0 (the port comes through " + std::string(kPortFdVariable) +
                   ") or rank 0's TCP port, 1 to 65535"
             : "rank 0's TCP port, an integer from 1 to 65535");

  auto group = std::make_unique<Group>();
  group->where =
      "rank " + std::to_string(rank) + " of " + std::to_string(world);
  std::string at = addr + ":" + std::to_string(port);
  try {
    if (port == 0 && rank != 0) {
      port = readPort(*portFd, timeout);
      at = addr + ":" + std::to_string(port);
    }
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = uint16_t(port);
    storeOptions.isServer = rank == 0;
    storeOptions.numWorkers = size_t(world);
    // The rendezvous of the process group below waits for every rank.
    storeOptions.waitWorkers = false;
    storeOptions.timeout = timeout;
    group->store = c10::make_intrusive<c10d::TCPStore>(addr, storeOptions);
    if (port == 0) {
      port = group->store->getPort();
      at = addr + ":" + std::to_string(port);
      writePort(*portFd, uint16_t(port));
    }

    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine Gloo talks over loopback; across machines over the
    // interface named by GLOO_SOCKET_IFNAME, else the one this machine's
    // host name resolves to.
    const char *ifname = getEnv("GLOO_SOCKET_IFNAME");
    if (isLoopback(addr))
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else if (ifname && *ifname)
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    group->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
        group->store, rank, int(world), options);
    group->pg->barrier()->wait();
  } catch (...) {
    rethrow(group->where + ": joining the group at " + at + " failed (" +
            "every rank must join within " + std::to_string(timeout.count()) +
            " ms)");
  }
  return std::unique_ptr<DataParallel>(
      new DataParallel(rank, int(world), std::move(group)));
}

void DataParallel::broadcast(const std::vector<torch::Tensor> &tensors,
                             size_t bucketBytes) {
  if (!group_)
    return;
  std::vector<torch::Tensor> defined;
  for (const torch::Tensor &t : tensors)
    if (t.defined())
      defined.push_back(t);
  std::vector<c10::intrusive_ptr<c10d::Work>> work;
  try {
    forEachBucket(
        defined, bucketBytes,
        [&](torch::Tensor &flat) {
          std::vector<torch::Tensor> one{flat};
          c10d::BroadcastOptions options;
          options.rootRank = 0;
          work.push_back(group_->pg->broadcast(one, options));
        },
        [&, next = size_t(0)](torch::Tensor &) mutable {
          work[next++]->wait();
        });
  } catch (...) {
    rethrow(group_->where + ": broadcast failed");
  }
}

void DataParallel::averageGradients(const std::vector<torch::Tensor> &params,
                                    size_t bucketBytes) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor &p : params)
    if (p.defined() && p.grad().defined())
      grads.push_back(p.grad());
  for (const torch::Tensor &g : grads)
    if (!g.is_floating_point())
      fail("averageGradients: a gradient of dtype " +
           std::string(c10::toString(g.scalar_type())) +
           " is not floating-point");
  if (!group_)
    return;
  std::vector<c10::intrusive_ptr<c10d::Work>> work;
  try {
    // All buckets are sent before the first is waited for, so that Gloo's
    // threads overlap them.
    forEachBucket(
        grads, bucketBytes,
        [&](torch::Tensor &flat) {
          std::vector<torch::Tensor> one{flat};
          c10d::AllreduceOptions options;
          options.reduceOp = c10d::ReduceOp::SUM;
          work.push_back(group_->pg->allreduce(one, options));
        },
        [&, next = size_t(0)](torch::Tensor &flat) mutable {
          work[next++]->wait();
          flat.div_(worldSize_);
        });
  } catch (...) {
    rethrow(group_->where + ": averaging the gradients failed");
  }
}

double DataParallel::mean(double value) {
  if (!group_)
    return value;
  torch::Tensor t = torch::full({1}, value, torch::kFloat64);
  try {
    std::vector<torch::Tensor> one{t};
    group_->pg->allreduce(one)->wait();
  } catch (...) {
    rethrow(group_->where + ": the mean over the ranks failed");
  }
  return t.item<double>() / worldSize_;
}

void DataParallel::barrier() {
  if (!group_)
    return;
  try {
    group_->pg->barrier()->wait();
  } catch (...) {
    rethrow(group_->where + ": barrier failed");
  }
}

//===----------------------------------------------------------------------===//
// The launcher
//===----------------------------------------------------------------------===//

namespace {

/// The write end of the launcher's self-pipe, for the signal handler.
volatile sig_atomic_t gSignalPipe = -1;

void onSignal(int signo) {
  int saved = errno;
  unsigned char byte = (unsigned char)signo;
  if (gSignalPipe >= 0)
    (void)!::write(gSignalPipe, &byte, 1);
  errno = saved;
}

std::string signalName(int signo) {
  if (const char *abbrev = sigabbrev_np(signo))
    return std::string("SIG") + abbrev;
  return std::to_string(signo);
}

/// `name` as execve needs it: unchanged with a '/', else found in PATH.
std::string findProgram(const std::string &name) {
  if (name.find('/') != std::string::npos)
    return name;
  const char *path = getEnv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos)
      return name; // execve fails; the child says so
    dirs.remove_prefix(colon + 1);
  }
}

/// The variables launchRanks sets; inherited values are dropped.
constexpr const char *kRankVariables[] = {
    "RANK",       "WORLD_SIZE",       "MASTER_ADDR",  "MASTER_PORT",
    "LOCAL_RANK", "LOCAL_WORLD_SIZE", kPortFdVariable};

/// One rank's child process.
struct Child {
  pid_t pid = -1;
  bool reaped = false;
  int channel = -1; // the launcher's end of the port socket
};

/// Starts rank `rank` with its end `childFd` of the port socket. Everything
/// the child needs is built before fork: after fork, in a process with
/// threads, the child may call async-signal-safe functions only.
pid_t spawnRank(const std::string &program,
                const std::vector<std::string> &argv, int rank, int nproc,
                int childFd) {
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (std::none_of(std::begin(kRankVariables), std::end(kRankVariables),
                     [&](const char *v) { return name == v; }))
      env.emplace_back(entry);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=0");
  env.push_back(std::string(kPortFdVariable) + "=" + std::to_string(childFd));
  std::vector<char *> envp, args;
  for (std::string &s : env)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const std::string &s : argv)
    args.push_back(const_cast<char *>(s.c_str()));
  args.push_back(nullptr);
  std::string execError = "rotary-train: rank " + std::to_string(rank) +
                          ": cannot execute " + program + "\n";
  pid_t parent = ::getpid();

  // Signals wait until the child has reset the launcher's handlers (which
  // would write to the launcher's self-pipe): a SIGTERM that comes early
  // then ends the child as it should.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid != 0) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return pid;
  }
  // The child.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s : {SIGINT, SIGTERM, SIGCHLD})
    ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // No orphans: the rank dies with the launcher.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(127);
  ::fcntl(childFd, F_SETFD, 0);
  ::execve(program.c_str(), args.data(), envp.data());
  (void)!::write(2, execError.data(), execError.size());
  ::_exit(127);
}

} // namespace

int launchRanks(int nproc, const std::vector<std::string> &argv,
                std::chrono::milliseconds timeout) {
  if (nproc < 1 || nproc > 65536)
    throw std::invalid_argument("launchRanks: nproc must be 1 to 65536, not " +
                                std::to_string(nproc));
  if (argv.empty())
    throw std::invalid_argument("launchRanks: argv must name the program");
  std::string program = findProgram(argv[0]);

  int signalPipe[2];
  if (::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0)
    fail(std::string("launchRanks: pipe: ") + std::strerror(errno));
  gSignalPipe = signalPipe[1];
  struct sigaction handler {
  }, old[3];
  handler.sa_handler = onSignal;
  handler.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&handler.sa_mask);
  const int handled[3] = {SIGINT, SIGTERM, SIGCHLD};
  for (int i = 0; i < 3; ++i)
    ::sigaction(handled[i], &handler, &old[i]);

  std::vector<Child> children(static_cast<size_t>(nproc));
  int result = 0;         // the first failure's status
  int launcherSignal = 0; // a SIGINT/SIGTERM the launcher received
  bool stopping = false;  // the ranks were sent SIGTERM
  bool portKnown = nproc == 1;
  std::string portLine; // what rank 0 has written so far
  Clock::time_point portDeadline = Clock::now() + timeout;
  std::optional<Clock::time_point> killDeadline;

  auto signalAll = [&](int signo) {
    for (Child &c : children)
      if (c.pid > 0 && !c.reaped)
        ::kill(c.pid, signo);
  };
  auto stop = [&]() {
    if (stopping)
      return;
    stopping = true;
    signalAll(SIGTERM);
    killDeadline = Clock::now() + kKillGracePeriod;
  };
  auto failWith = [&](int status, const std::string &message) {
    if (result == 0 && launcherSignal == 0) {
      result = status;
      std::cerr << "rotary-train: " << message << std::endl;
    }
    stop();
  };

  for (int r = 0; r < nproc; ++r) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      failWith(1, std::string("socketpair: ") + std::strerror(errno));
      break;
    }
    children[r].channel = pair[0];
    children[r].pid = spawnRank(program, argv, r, nproc, pair[1]);
    int forkErrno = errno;
    ::close(pair[1]);
    if (children[r].pid < 0) {
      failWith(1, std::string("fork: ") + std::strerror(forkErrno));
      break;
    }
  }
  if (nproc == 1 && children[0].channel >= 0) {
    // A group of one never reads its port socket.
    ::close(children[0].channel);
    children[0].channel = -1;
  }

  while (true) {
    // Reap whatever has ended.
    bool anyLeft = false;
    for (int r = 0; r < nproc; ++r) {
      Child &c = children[r];
      if (c.pid <= 0 || c.reaped)
        continue;
      int status = 0;
      pid_t got = ::waitpid(c.pid, &status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) {
        anyLeft = true;
        continue;
      }
      c.reaped = true;
      if (got < 0)
        failWith(1, "rank " + std::to_string(r) +
                        ": waitpid: " + std::strerror(errno));
      else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        failWith(WEXITSTATUS(status), "rank " + std::to_string(r) +
                                          " exited with status " +
                                          std::to_string(WEXITSTATUS(status)));
      else if (WIFSIGNALED(status))
        failWith(128 + WTERMSIG(status), "rank " + std::to_string(r) +
                                             " was killed by signal " +
                                             signalName(WTERMSIG(status)));
    }
    if (!anyLeft)
      break;

    Clock::time_point now = Clock::now();
    if (killDeadline && now >= *killDeadline) {
      signalAll(SIGKILL);
      killDeadline.reset();
    }
    if (!portKnown && !stopping && now >= portDeadline)
      failWith(1, "rank 0 did not report its port within " +
                      std::to_string(timeout.count()) + " ms");

    // Wait for a signal, rank 0's port or the next deadline.
    std::optional<Clock::time_point> next = killDeadline;
    if (!portKnown && !stopping)
      next = next ? std::min(*next, portDeadline) : portDeadline;
    int wait = 1000; // a safety net: the self-pipe wakes us on SIGCHLD
    if (next)
      wait = int(std::clamp<int64_t>(
          std::chrono::duration_cast<milliseconds>(*next - now).count() + 1, 0,
          wait));
    pollfd fds[2] = {{signalPipe[0], POLLIN, 0},
                     {children[0].channel, POLLIN, 0}};
    int nfds = !portKnown && children[0].channel >= 0 ? 2 : 1;
    if (::poll(fds, nfds, wait) < 0 && errno != EINTR)
      failWith(1, std::string("poll: ") + std::strerror(errno));

    unsigned char bytes[64];
    ssize_t n;
    while ((n = ::read(signalPipe[0], bytes, sizeof bytes)) > 0)
      for (ssize_t i = 0; i < n; ++i)
        if (bytes[i] == SIGINT || bytes[i] == SIGTERM) {
          // Forwarded; the ranks decide how to end.
          if (launcherSignal == 0) {
            launcherSignal = bytes[i];
            std::cerr << "rotary-train: " << signalName(bytes[i])
                      << " received, passed on to the ranks" << std::endl;
          }
          signalAll(bytes[i]);
          if (!killDeadline)
            killDeadline = Clock::now() + kKillGracePeriod;
          stopping = true;
        }

    if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[16];
      ssize_t got = ::read(children[0].channel, buffer, sizeof buffer);
      if (got > 0)
        portLine.append(buffer, size_t(got));
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        // Rank 0 ended or closed the socket: its exit is reported when it
        // is reaped; if it lives on, the port deadline ends the run.
        ::close(children[0].channel);
        children[0].channel = -1;
      } else if (portLine.find('\n') != std::string::npos) {
        portKnown = true;
        std::string line = portLine.substr(0, portLine.find('\n') + 1);
        for (Child &c : children) {
          // A rank that died already is reported when reaped.
          if (&c != &children[0])
            (void)!::send(c.channel, line.data(), line.size(), MSG_NOSIGNAL);
          ::close(c.channel);
          c.channel = -1;
        }
      }
    }
  }

  for (Child &c : children)
    if (c.channel >= 0)
      ::close(c.channel);
  for (int i = 0; i < 3; ++i)
    ::sigaction(handled[i], &old[i], nullptr);
  gSignalPipe = -1;
  ::close(signalPipe[0]);
  ::close(signalPipe[1]);
  if (launcherSignal)
    return 128 + launcherSignal;
  return result;
}

} // namespace rotary::train
