//===- rotary-train.cpp - train a small language model with rotary ------===//
//
// The main job: a byte-level transformer (rotary::nn::Transformer) trained
// on English text, by default the fortune cookies Debian ships in the
// `fortunes` packages, or on a synthetic task. Every position, rotation and
// attention op, forward and backward, and the FAM update are compiled
// rotary kernels; `--reference` runs the same model on plain LibTorch ops.
//
// One command line, three shapes of run (docs/rotary-train.md):
//   a run (Train.cpp); --nproc N, N processes of one data-parallel run
//   (Distributed.cpp); --compare GRID, a run per cell of a grid
//   (Compare.cpp).
//
//===----------------------------------------------------------------------===//

#include "Compare.h"
#include "Distributed.h"
#include "Options.h"
#include "Train.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

using namespace rotary::train;

namespace {

/// --nproc N: this command line without --nproc, run by N processes.
int launch(const Args &a, int argc, char **argv) {
  std::vector<std::string> args = {"/proc/self/exe"};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--nproc") {
      ++i;
      continue;
    }
    args.push_back(argv[i]);
  }
  return launchRanks(int(a.nproc), args,
                     std::chrono::milliseconds(a.distTimeout * 1000));
}
} // namespace

int main(int argc, char **argv) try {
  Args a = parse(argc, argv);
  if (!a.compare.empty())
    return compare(a, argc, argv);
  if (a.nproc > 0)
    return launch(a, argc, argv);
  return train(a);
} catch (const c10::Error &e) {
  std::fflush(stdout);
  std::cerr << "rotary-train: " << firstLine(e.what_without_backtrace())
            << "\n";
  return kFailed;
} catch (const std::exception &e) {
  std::fflush(stdout);
  std::cerr << "rotary-train: " << e.what() << "\n";
  return kFailed;
}
