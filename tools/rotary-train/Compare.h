//===- Compare.h - rotary-train --compare GRID ------------------*- C++ -*-===//
//
// Runs every combination of a grid of options ('pos=rope,xpos opt=adam,fam
// seed=1,2,3'), each as its own rotary-train process with the rest of the
// command line, one after another, and writes into --out:
//
//   runs/<cell>/      each run's output, log.csv, summary.txt and
//                     command.txt (a run finished with the same command
//                     line is not run again: an interrupted comparison
//                     continues, a grid given more seeds runs only those)
//   results.md        a table per configuration (the cells without the
//                     seed): validation loss at fixed steps and at the
//                     --eval-seq lengths, the steps to reach the worst
//                     run's final loss,
//                     tokens/s; mean ± spread (sample standard deviation)
//                     over the seeds
//   curves.csv, compare.png   the mean validation loss per configuration
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_COMPARE_H
#define ROTARY_TRAIN_COMPARE_H

#include "Options.h"

namespace rotary::train {

/// Runs the comparison `a.compare` describes; `argv` is the whole command
/// line (its other options go to every run). Returns the exit status.
int compare(const Args &a, int argc, char **argv);

} // namespace rotary::train

#endif // ROTARY_TRAIN_COMPARE_H
