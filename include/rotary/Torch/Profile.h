//===- Profile.h - where a training step's time goes ------------*- C++ -*-===//
//
// A process-wide record of the time spent in compiled kernels (every entry
// run through nn::call, nn::callInto or nn::apply, by entry name) and in
// LibTorch's own matrix products (aten::mm, addmm, bmm, ... observed with
// LibTorch's RecordFunction callbacks), so that a training loop can report
// the share of each. Off until start(); costs a clock read per kernel call
// and a callback per LibTorch op while on.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_PROFILE_H
#define ROTARY_TORCH_PROFILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace rotary::nn::profile {

struct Line {
  std::string name;
  int64_t calls = 0;
  double seconds = 0;
};

struct Report {
  /// Compiled kernel entries, by entry name, most time first.
  std::vector<Line> kernels;
  /// LibTorch's matrix products (leaf ops only, so nothing counts twice).
  Line matmul;
};

/// Clears the record and starts recording.
void start();
/// Stops recording (the record stays).
void stop();
/// Counts again after stop(), keeping what was counted.
void resume();
/// What was recorded so far.
Report report();

/// Called by the kernel-call paths with the time one entry call took.
void recordKernel(const std::string &entry, double seconds);
/// Whether recording is on.
bool enabled();

} // namespace rotary::nn::profile

#endif // ROTARY_TORCH_PROFILE_H
