//===- Train.h - one rotary-train run ---------------------------*- C++ -*-===//
//
// A run: the data, the model its options describe, the optimizer, the loop
// with its progress lines, validation, log, checkpoints, summary and plot.
// In a data-parallel group (--nproc, or torchrun's variables) every process
// runs this; rank 0 alone prints and writes files.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_TRAIN_H
#define ROTARY_TRAIN_TRAIN_H

#include "Options.h"

namespace rotary::train {

/// Runs the training `a` describes; returns the process's exit status (or
/// exits through fail() with kBadUsage / kFailed).
int train(const Args &a);

} // namespace rotary::train

#endif // ROTARY_TRAIN_TRAIN_H
