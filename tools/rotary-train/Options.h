//===- Options.h - rotary-train's command line -------------------*- C++
//-*-===//
//
// Every option of rotary-train, its default and its range. parse() checks
// each value and the options together before anything is built: a bad
// command line exits with status 2 and one line naming the option and what
// it accepts (docs/rotary-train.md). No LibTorch here, so that the
// comparison driver and the launcher need none.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_OPTIONS_H
#define ROTARY_TRAIN_OPTIONS_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rotary::train {

/// Where Debian's fortunes, fortunes-min packages put their text.
inline constexpr const char *kDefaultData = "/usr/share/games/fortunes";

/// Exit statuses: 1 when the run failed (bad data or checkpoint, a failed
/// save, no improvement of the validation loss), 2 when the command line
/// cannot work.
inline constexpr int kFailed = 1, kBadUsage = 2;

struct Args {
  // Data: a text (file or folder) or a synthetic task.
  std::string data = kDefaultData;
  std::string task; ///< "", "copy", "reverse" or "recall"
  // Model.
  int64_t dim = 64, heads = 4, layers = 2, rotations = 16;
  std::string pos = "rope";           ///< see kPositionSchemes
  std::vector<std::string> ropeLearn; ///< freq, phase, scale
  bool dynamicBase = false;
  double xposScaleBase = 512;
  int64_t hddChunk = 4;
  std::string hddForm = "givens";
  std::string attn = "local-global"; ///< see kAttentionKinds
  int64_t window = 32, globalTokens = 1, relBias = 8, conv = 0;
  // Optimizer and schedule. lr, weightDecay and minLr < 0: the optimizer's
  // default (resolved by parse()); decayStart < 0: steps / 2.
  std::string opt = "fam";
  double lr = -1, weightDecay = -1, minLr = -1, clip = 0, penalty = 1e-3;
  int64_t warmup = 30, decayStart = -1;
  // The loop.
  int64_t steps = 300, batch = 16, seq = 64;
  int64_t logEvery = 25, valEvery = 100, saveEvery = 0;
  int64_t stopAt = 0; ///< 0: run to --steps
  int64_t sample = 160, seed = 1, threads = 0;
  bool reference = false, profile = false;
  std::string out, save, resume, famDebug, csv, plot, summary;
  /// --eval-seq: context lengths the final validation is also run at.
  std::vector<int64_t> evalSeq;
  // Several runs.
  std::string compare;
  int64_t nproc = 0, distTimeout = 60;
};

/// The --pos and --attn choices, in --help's order.
extern const std::vector<std::string> kPositionSchemes, kAttentionKinds,
    kOptimizers, kTasks;

/// Parses and checks the command line (argv[0] excluded); prints --help and
/// exits 0 for --help; exits kBadUsage with a message otherwise.
Args parse(int argc, char **argv);

/// Prints "rotary-train: message" to stderr and exits with `status`.
[[noreturn]] void fail(int status, const std::string &message);
[[noreturn]] void usage(const std::string &error);

/// The options that define the model (a checkpoint records them and
/// --resume requires them equal), by checkpoint key.
std::map<std::string, std::string> modelConfig(const Args &a);
/// The checkpoint key's command-line spelling ("pos" -> "--pos").
std::string flagOfModelKey(const std::string &key);

/// The first line of a LibTorch message (without its backtrace).
std::string firstLine(const std::string &message);
/// `x` with all its digits (%.17g): it reads back as the same double.
std::string formatReal(double x);
/// "1h02m", "3m05s" or "12s": an ETA or a run's length.
std::string duration(double seconds);

} // namespace rotary::train

#endif // ROTARY_TRAIN_OPTIONS_H
