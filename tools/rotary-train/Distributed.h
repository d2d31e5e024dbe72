//===- Distributed.h - rotary-train's data-parallel layer -------*- C++ -*-===//
//
// Data-parallel training on LibTorch's c10d: every rank (one process) holds
// the whole model, computes the gradients of its own batch, and the ranks
// average their gradients before each optimizer step, so that they all take
// the same step. The group is a Gloo process group over TCP, joined through
// a TCPStore that rank 0 serves (docs/rotary-train.md, "Data-parallel
// training").
//
// Every collective (broadcast, averageGradients, mean, barrier) must be
// called by every rank, in the same order, with tensors of the same shapes
// and dtypes; none of them is thread-safe. A failed collective throws a
// std::runtime_error; the group is unusable afterwards (the run should end).
//
// Only Distributed.cpp includes the c10d headers.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_DISTRIBUTED_H
#define ROTARY_TRAIN_DISTRIBUTED_H

#include <torch/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rotary::train {

/// How launchRanks tells its ranks the port of rank 0's store without a
/// race: each rank gets MASTER_PORT=0 and, in this variable, a file
/// descriptor (a connected socket). Rank 0 binds a free port and writes it
/// there as a decimal line; every other rank reads that line from its own
/// descriptor, which the launcher writes once rank 0 has answered.
inline constexpr const char *kPortFdVariable = "ROTARY_TRAIN_PORT_FD";

/// How long the launcher waits after SIGTERM before it SIGKILLs a rank.
inline constexpr std::chrono::milliseconds kKillGracePeriod{5000};

class DataParallel {
public:
  /// Joins the group described by RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
  /// (as torchrun sets them). Without WORLD_SIZE (or WORLD_SIZE=1) a group of
  /// one that communicates nothing. Bad or missing variables: a
  /// std::runtime_error naming the variable and what it must be. `timeout`
  /// bounds the rendezvous and every collective: a dead peer makes the next
  /// collective throw within it (never a hang).
  static std::unique_ptr<DataParallel>
  fromEnvironment(std::chrono::milliseconds timeout);

  ~DataParallel();
  DataParallel(const DataParallel &) = delete;
  DataParallel &operator=(const DataParallel &) = delete;

  int rank() const { return rank_; }
  int worldSize() const { return worldSize_; }

  /// Rank 0's values copied into every rank's tensors, in place (parameters
  /// at the start and after --resume; optimizer state if needed). Undefined
  /// tensors are skipped. Tensors of one dtype and device travel together in
  /// buckets of about `bucketBytes`.
  void broadcast(const std::vector<torch::Tensor> &tensors,
                 size_t bucketBytes = size_t(1) << 20);

  /// The gradients (p.grad()) of `params` averaged over the ranks, in place,
  /// in buckets of about `bucketBytes` (flatten a bucket into one tensor,
  /// all-reduce SUM, divide by the world size, copy back). Parameters
  /// without a gradient are skipped the same way on every rank: which
  /// parameters have one must agree across the ranks.
  void averageGradients(const std::vector<torch::Tensor> &params,
                        size_t bucketBytes = size_t(1) << 20);

  /// The mean of a scalar over the ranks (for the logged loss).
  double mean(double value);

  /// Returns once every rank has called it.
  void barrier();

private:
  struct Group;
  DataParallel(int rank, int worldSize, std::unique_ptr<Group> group);

  int rank_, worldSize_;
  /// The store and the process group; null in a group of one.
  std::unique_ptr<Group> group_;
};

/// `rotary-train --nproc N`: runs N processes of `argv` (the program's path
/// and its arguments, without --nproc; a path without '/' is looked up in
/// PATH) as ranks 0..N-1 of a group on 127.0.0.1, by setting RANK,
/// WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK and LOCAL_WORLD_SIZE in
/// each child's environment (MASTER_PORT=0 and kPortFdVariable: rank 0 picks
/// a free port; `timeout` bounds the wait for it). The children inherit
/// stdout/stderr. When one rank exits with a nonzero status or is killed by
/// a signal, the launcher prints "rotary-train: rank R exited with status S"
/// / "rotary-train: rank R was killed by signal SIGNAME" to stderr, sends
/// the others SIGTERM, then SIGKILL after kKillGracePeriod, and returns S
/// (128 + the signal's number for a signal); when all succeed it returns 0.
/// SIGINT/SIGTERM to the launcher are forwarded to the ranks (it then
/// returns 128 + that signal). Every child is waited for before it returns,
/// and a child dies with the launcher (PR_SET_PDEATHSIG). One call at a
/// time per process: it installs handlers for SIGINT, SIGTERM and SIGCHLD
/// while it runs and restores the previous ones.
int launchRanks(int nproc, const std::vector<std::string> &argv,
                std::chrono::milliseconds timeout);

} // namespace rotary::train

#endif // ROTARY_TRAIN_DISTRIBUTED_H
