//===- rotary-train.cpp - train a small language model with rotary ------===//
//
// The main job: a byte-level transformer (rotary::nn::Transformer: RoPE or
// HDD-RoPE, adaptive attention, per-head rotation blocks) trained with FAM
// on English text, by default the fortune cookies Debian ships in the
// `fortunes` packages. Every position, rotation and attention op, forward
// and backward, and the optimizer update are compiled rotary kernels;
// `--reference` runs the same model on plain LibTorch ops instead.
//
// Nothing is lost and everything is checked first (docs/rotary-train.md):
// every option is validated before a model is built (exit status 2, a
// message naming the option and its range); the --save and --fam-debug
// paths are tried before the first step; a checkpoint records the model
// options, its size and SHA-256 (Checkpoint.h) and is written atomically,
// and a save that fails after training writes the model to the system's
// temporary folder instead.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include "rotary/Torch/DynamicBase.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/Profile.h"
#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace rotary;

namespace {
/// Where Debian's fortunes, fortunes-min packages put their text.
constexpr const char *kDefaultData = "/usr/share/games/fortunes";

/// Test hook, for test/rotary-train/kill-in-save.test only: when this
/// environment variable is set, --save SIGKILLs the process once the
/// temporary file is completely written, synced and closed, just before it
/// is renamed over the target; the test checks that the previous checkpoint
/// survives byte for byte and still resumes.
constexpr const char *kKillInSaveHook = "ROTARY_TRAIN_TEST_KILL_IN_SAVE";

/// Exit statuses: 1 when the run failed (bad data or checkpoint, a failed
/// save, no improvement of the validation loss), 2 when the command line
/// cannot work (an option out of range, an unusable path, a checkpoint of
/// another model, too little text for --seq).
constexpr int kFailed = 1, kBadUsage = 2;

struct Args {
  std::string data = kDefaultData;
  int64_t steps = 300, batch = 16, seq = 64, dim = 64, heads = 4, layers = 2;
  int64_t window = 32, rotations = 16, warmup = 30, logEvery = 25;
  int64_t valEvery = 0, saveEvery = 0;
  int64_t sample = 160, seed = 1, threads = 0;
  double lr = 0.5, penalty = 1e-3;
  bool hdd = false, reference = false, profile = false;
  std::string save, resume, famDebug, csv;
  /// --eval-seq: context lengths the final validation is also run at.
  std::vector<int64_t> evalSeq;
};

/// An integer option and its accepted range. --window also excludes 0
/// (-1 is full attention); --rotations is also bounded by the head dim.
struct IntegerOption {
  const char *flag;
  int64_t Args::*field;
  int64_t min, max;
};
constexpr int64_t kMaxSteps = 1000000000;
/// Tokens of one step (batch · seq) at most.
constexpr int64_t kMaxTokensPerStep = int64_t(1) << 22;
const IntegerOption kIntegerOptions[] = {
    {"--steps", &Args::steps, 1, kMaxSteps},
    {"--batch", &Args::batch, 1, 65536},
    {"--seq", &Args::seq, 1, 65536},
    {"--dim", &Args::dim, 4, 8192},
    {"--heads", &Args::heads, 1, 1024},
    {"--layers", &Args::layers, 1, 256},
    {"--window", &Args::window, -1, 65536},
    {"--rotations", &Args::rotations, 1, 1 << 20},
    {"--warmup", &Args::warmup, 0, kMaxSteps},
    {"--log-every", &Args::logEvery, 1, kMaxSteps},
    {"--val-every", &Args::valEvery, 0, kMaxSteps},
    {"--save-every", &Args::saveEvery, 0, kMaxSteps},
    {"--sample", &Args::sample, 0, 100000},
    {"--seed", &Args::seed, 0, INT64_MAX},
    {"--threads", &Args::threads, 0, 1024},
};

/// A real option: finite, in (min, max] or [min, max].
struct RealOption {
  const char *flag;
  double Args::*field;
  double min;
  bool minExcluded;
  double max;
};
const RealOption kRealOptions[] = {
    {"--lr", &Args::lr, 0, true, 100},
    {"--penalty", &Args::penalty, 0, false, 1e6},
};

/// Prints "rotary-train: message" and exits with `status`.
[[noreturn]] void fail(int status, const std::string &message) {
  std::fflush(stdout);
  std::cerr << "rotary-train: " << message << "\n";
  std::exit(status);
}

[[noreturn]] void usage(const std::string &error) {
  if (!error.empty())
    fail(kBadUsage, error);
  std::cout
      << "usage: rotary-train [options]\n"
         "  --data PATH       text file or directory of text files (default: "
         "Debian's fortunes)\n"
         "  --steps N         optimizer steps (300; 1 to 10^9)\n"
         "  --batch N --seq N batch size (16) and context length (64); 1 to "
         "65536 each, batch * seq <= 4194304\n"
         "  --dim N --heads N --layers N   model width (64; 4 to 8192), heads "
         "(4; 1 to 1024), blocks (2; 1 to 256);\n"
         "                    dim / heads must be a multiple of 4\n"
         "  --window N        sliding attention window, -1 = full (32; -1 or "
         "1 to 65536)\n"
         "  --rotations N     Givens rotations per head (16; 1 to "
         "Dh*(Dh-1)/2, Dh = dim / heads)\n"
         "  --hdd             HDD-RoPE instead of RoPE\n"
         "  --lr X --warmup N peak learning rate (0.5, in (0, 100]: FAM is "
         "SGD with an EMA momentum), warmup steps (30)\n"
         "  --penalty X       weight of the orthogonality penalty (1e-3; 0 "
         "to 1e6)\n"
         "  --reference       plain LibTorch ops instead of compiled kernels\n"
         "  --profile         time per compiled kernel and in LibTorch's "
         "matrix products, from step 2 on\n"
         "  --save FILE       write model, optimizer and base schedule at "
         "the end (checked before the first step)\n"
         "  --save-every N    also every N steps, to the --save file (0: at "
         "the end only)\n"
         "  --val-every N     validation loss every N steps (0: at the start "
         "and the end only)\n"
         "  --csv FILE        one line per log step and validation: step, "
         "loss, val_loss, lr, tokens_per_s, elapsed_s\n"
         "  --eval-seq L,...  also the final validation loss at these "
         "context lengths (1 to 65536 each; e.g. 256,1024: how the position "
         "scheme extrapolates)\n"
         "  --resume FILE     start from a file written by --save (same "
         "--dim --heads --layers --window --rotations --hdd)\n"
         "  --fam-debug FILE  FAM's JSON-lines record (every log step)\n"
         "  --log-every N (25)  --sample N chars (160; 0 to 100000)  --seed "
         "N (1; >= 0)  --threads N (LibTorch's threads, 0 to 1024; default: "
         "LibTorch's)\n"
         "Exit status: 0 when the validation loss improved, 1 when it did "
         "not or the run failed, 2 for a bad command line.\n";
  std::exit(0);
}

std::string rangeOf(const IntegerOption &o) {
  if (std::string_view(o.flag) == "--window")
    return "-1 (full attention) or an integer in [1, " + std::to_string(o.max) +
           "]";
  return "an integer in [" + std::to_string(o.min) + ", " +
         std::to_string(o.max) + "]";
}

int64_t integerValue(const IntegerOption &o, const std::string &v) {
  // The checkpoint header's parser: plain decimal, no overflow.
  std::optional<int64_t> n = train::parseDecimal(v);
  if (!n || *n < o.min || *n > o.max ||
      (std::string_view(o.flag) == "--window" && *n == 0))
    usage(std::string(o.flag) + " " + v + ": must be " + rangeOf(o));
  return *n;
}

/// "256,1024": context lengths in [1, 65536], at most 16 of them.
std::vector<int64_t> lengthList(const std::string &flag, const std::string &v) {
  static const IntegerOption kLength = {"", nullptr, 1, 65536};
  std::vector<int64_t> lengths;
  std::stringstream items(v);
  std::string item;
  while (std::getline(items, item, ',')) {
    std::optional<int64_t> n = train::parseDecimal(item);
    if (!n || *n < kLength.min || *n > kLength.max || lengths.size() == 16)
      usage(flag + " " + v +
            ": must be up to 16 comma-separated integers in [1, 65536]");
    lengths.push_back(*n);
  }
  if (lengths.empty() || v.back() == ',')
    usage(flag + " " + v +
          ": must be up to 16 comma-separated integers in [1, 65536]");
  return lengths;
}

double realValue(const RealOption &o, const std::string &v) {
  std::ostringstream range;
  range << (o.minExcluded ? "(" : "[") << o.min << ", " << o.max << "]";
  const char *s = v.c_str();
  char *end = nullptr;
  errno = 0;
  double x = v.empty() || std::isspace((unsigned char)s[0])
                 ? std::nan("")
                 : std::strtod(s, &end);
  if (!end || *end || errno == ERANGE || !std::isfinite(x) ||
      (o.minExcluded ? x <= o.min : x < o.min) || x > o.max)
    usage(std::string(o.flag) + " " + v + ": must be a finite number in " +
          range.str());
  return x;
}

Args parse(int argc, char **argv) {
  Args a;
  auto value = [&](int &i) -> std::string {
    if (i + 1 >= argc)
      usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  auto path = [&](int &i) {
    std::string flag = argv[i], v = value(i);
    if (v.empty())
      usage(flag + " needs a non-empty path");
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    bool known = false;
    for (const IntegerOption &o : kIntegerOptions)
      if (f == o.flag) {
        std::string v = value(i);
        a.*o.field = integerValue(o, v);
        known = true;
      }
    for (const RealOption &o : kRealOptions)
      if (f == o.flag) {
        std::string v = value(i);
        a.*o.field = realValue(o, v);
        known = true;
      }
    if (known)
      continue;
    if (f == "--data")
      a.data = path(i);
    else if (f == "--hdd")
      a.hdd = true;
    else if (f == "--reference")
      a.reference = true;
    else if (f == "--profile")
      a.profile = true;
    else if (f == "--save")
      a.save = path(i);
    else if (f == "--resume")
      a.resume = path(i);
    else if (f == "--fam-debug")
      a.famDebug = path(i);
    else if (f == "--csv")
      a.csv = path(i);
    else if (f == "--eval-seq")
      a.evalSeq = lengthList(f, value(i));
    else if (f == "--help" || f == "-h")
      usage("");
    else
      usage("unknown option " + f + " (rotary-train --help lists the options)");
  }

  // What the model's modules need of the options together
  // (torch/Transformer.cpp, RotationBlock.cpp).
  std::string dimHeads =
      "--dim " + std::to_string(a.dim) + " --heads " + std::to_string(a.heads);
  if (a.dim % a.heads)
    usage(dimHeads + ": --dim must be a multiple of --heads (each head gets "
                     "dim / heads features)");
  int64_t headDim = a.dim / a.heads;
  if (headDim % 4)
    usage(dimHeads +
          ": the head dim (--dim / --heads = " + std::to_string(headDim) +
          ") must be a multiple of 4 (RoPE rotates pairs of features, "
          "HDD-RoPE chunks of 4)");
  int64_t pairs = headDim * (headDim - 1) / 2;
  if (a.rotations > pairs)
    usage("--rotations " + std::to_string(a.rotations) +
          ": must be an integer in [1, " + std::to_string(pairs) +
          "] with a head dim of " + std::to_string(headDim) +
          " (--dim / --heads; a head has Dh*(Dh-1)/2 pairs of features to "
          "rotate)");
  if (a.batch * a.seq > kMaxTokensPerStep)
    usage("--batch " + std::to_string(a.batch) + " --seq " +
          std::to_string(a.seq) + ": " + std::to_string(a.batch * a.seq) +
          " tokens per step; batch * seq must be at most " +
          std::to_string(kMaxTokensPerStep));
  return a;
}

/// The bytes of `path` (a file, or every regular file of a directory in
/// name order, skipping fortune's .dat indexes), with fortune's "%"
/// separator lines turned into blank lines.
std::string readText(const std::string &path) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto &e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() && !e.is_symlink() &&
          e.path().extension() != ".dat")
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  }
  std::string text;
  for (const fs::path &f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string line;
    while (std::getline(in, line))
      text += (line == "%" ? "" : line) + "\n";
  }
  return text;
}

/// `batch` windows of seq + 1 bytes at random offsets of `data` (which
/// holds at least seq + 1 bytes).
torch::Tensor batchOf(const torch::Tensor &data, int64_t batch, int64_t seq,
                      torch::Generator &gen) {
  torch::Tensor starts =
      torch::randint(0, data.size(0) - seq, {batch}, gen, torch::kInt64);
  torch::Tensor offsets = torch::arange(seq + 1, torch::kInt64);
  return data.index({starts.unsqueeze(1) + offsets.unsqueeze(0)});
}

/// `x` with all its digits (%.17g): it reads back as the same double.
std::string formatReal(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", x);
  return buffer;
}

/// "1h02m", "3m05s" or "12s": an ETA or a run's length.
std::string duration(double seconds) {
  long long s = std::llround(std::max(0.0, seconds));
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600,
                  s % 3600 / 60);
  else if (s >= 60)
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%llds", s);
  return buffer;
}

/// --csv: a header, then one row per log step or validation; an empty
/// field where that step has no value. Flushed per row, so a run that is
/// stopped keeps its log.
class CsvLog {
public:
  explicit CsvLog(const std::string &path) : path(path) {
    if (path.empty())
      return;
    out.open(path, std::ios::trunc);
    if (!out)
      fail(kFailed, "--csv " + path + ": cannot open it for writing");
    out << "step,loss,val_loss,lr,tokens_per_s,elapsed_s\n";
    out.flush();
  }
  void row(int64_t step, std::optional<double> loss,
           std::optional<double> valid, double lr, double tokensPerSecond,
           double seconds) {
    if (path.empty())
      return;
    auto field = [](std::optional<double> v) {
      return v ? formatReal(*v) : std::string();
    };
    out << step << ',' << field(loss) << ',' << field(valid) << ','
        << formatReal(lr) << ',' << formatReal(tokensPerSecond) << ','
        << formatReal(seconds) << '\n';
    out.flush();
    if (!out)
      fail(kFailed, "--csv " + path + ": writing failed");
  }

private:
  std::string path;
  std::ofstream out;
};

double lossOf(nn::Transformer &model, const torch::Tensor &windows) {
  using torch::indexing::Slice;
  torch::Tensor in = windows.index({Slice(), Slice(0, -1)}).contiguous();
  torch::Tensor target = windows.index({Slice(), Slice(1, at::indexing::None)});
  torch::Tensor logits = model(in);
  return torch::nn::functional::cross_entropy(
             logits.reshape({-1, logits.size(-1)}), target.reshape({-1}))
      .item<double>();
}

std::string sampleText(nn::Transformer &model, const std::string &prompt,
                       int64_t n, int64_t seq, torch::Generator &gen) {
  torch::NoGradGuard noGrad;
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  for (int64_t i = 0; i < n; ++i) {
    int64_t from = std::max<int64_t>(0, int64_t(ids.size()) - seq);
    torch::Tensor ctx =
        torch::tensor(std::vector<int64_t>(ids.begin() + from, ids.end()))
            .unsqueeze(0);
    torch::Tensor logits = model(ctx).select(1, ctx.size(1) - 1);
    torch::Tensor probs = torch::softmax(logits / 0.8, -1);
    ids.push_back(torch::multinomial(probs, 1, false, gen).item<int64_t>());
  }
  std::string out;
  for (int64_t id : ids)
    out += char(id);
  return out;
}
/// The first line of a LibTorch message (without its backtrace).
std::string firstLine(const std::string &message) {
  return message.substr(0, message.find('\n'));
}

/// All bytes of the file `path`; throws CheckpointError with the reason.
std::string readFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw train::CheckpointError(std::string("cannot open it: ") +
                                 std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw train::CheckpointError("not a regular file");
  }
  std::string bytes;
  bytes.reserve(size_t(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      throw train::CheckpointError(std::string("cannot read it: ") +
                                   std::strerror(error));
    }
    if (n == 0)
      break;
    bytes.append(buffer, size_t(n));
  }
  ::close(fd);
  return bytes;
}

/// The model options a checkpoint records (Checkpoint.h's kModelKeys) and
/// their values in this run.
std::map<std::string, std::string> modelConfig(const Args &a) {
  return {{"dim", std::to_string(a.dim)},
          {"heads", std::to_string(a.heads)},
          {"layers", std::to_string(a.layers)},
          {"window", std::to_string(a.window)},
          {"rotations", std::to_string(a.rotations)},
          {"hdd", a.hdd ? "1" : "0"}};
}

/// Exits with a message when `saved` was made with other model options.
void checkResumable(const Args &a,
                    const std::map<std::string, std::string> &saved) {
  std::map<std::string, std::string> mine = modelConfig(a);
  for (const char *key : train::kModelKeys) {
    const std::string &then = saved.at(key), &now = mine.at(key);
    if (then == now)
      continue;
    std::string flag = std::string("--") + key;
    std::string what =
        flag == "--hdd"
            ? (then == "1" ? "with --hdd (HDD-RoPE), not without it"
                           : "without --hdd (RoPE), not with it")
            : "with " + flag + " " + then + ", not " + flag + " " + now;
    fail(kBadUsage, "--resume " + a.resume + ": the checkpoint was made " +
                        what +
                        " (the model options --dim --heads --layers --window "
                        "--rotations --hdd must match the checkpoint's)");
  }
}

/// Writes `bytes` to a new file of the system's temporary folder; returns
/// its path, or throws.
std::string rescue(const std::string &bytes) {
  std::error_code ec;
  fs::path folder = fs::temp_directory_path(ec);
  if (ec)
    folder = "/tmp";
  std::string pattern = (folder / "rotary-train-rescue-XXXXXX.pt").string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemps(name.data(), 3);
  if (fd < 0)
    throw train::CheckpointError("cannot create a file in '" + folder.string() +
                                 "': " + std::strerror(errno));
  ::close(fd);
  try {
    train::writeFileAtomically(name.data(), bytes);
  } catch (...) {
    ::unlink(name.data());
    throw;
  }
  return name.data();
}
} // namespace

/// --profile: where the steps' time went, per step, from nn::profile.
void printProfile(double seconds, int64_t steps) {
  rotary::nn::profile::stop();
  if (steps <= 0) {
    std::printf("profile: no step after the first (--steps 1)\n");
    return;
  }
  rotary::nn::profile::Report r = rotary::nn::profile::report();
  double step = seconds / double(steps) * 1e3;
  auto line = [&](const char *indent, const std::string &name, int64_t calls,
                  double s) {
    double ms = s / double(steps) * 1e3;
    std::printf("%s%-28s %9.2f ms/step %5.1f %%  (%lld calls)\n", indent,
                name.c_str(), ms, 100.0 * ms / step, (long long)calls);
  };
  double kernels = 0;
  int64_t calls = 0;
  for (const rotary::nn::profile::Line &l : r.kernels) {
    kernels += l.seconds;
    calls += l.calls;
  }
  std::printf("profile over steps 2..%lld: %.2f ms/step\n",
              (long long)steps + 1, step);
  line("  ", "compiled kernels", calls, kernels);
  for (const rotary::nn::profile::Line &l : r.kernels)
    line("    ", l.name, l.calls, l.seconds);
  line("  ", r.matmul.name, r.matmul.calls, r.matmul.seconds);
  double rest = seconds - kernels - r.matmul.seconds;
  std::printf("  %-28s %9.2f ms/step %5.1f %%\n", "everything else",
              rest / double(steps) * 1e3, 100.0 * rest / seconds);
}

int main(int argc, char **argv) try {
  Args a = parse(argc, argv);

  // The output paths, before any work: a run must not train and then find
  // it cannot save.
  auto checkOutput = [](const char *flag, const std::string &path,
                        bool append) {
    if (path.empty())
      return;
    try {
      train::checkOutputPath(path, append);
    } catch (const train::CheckpointError &e) {
      fail(kBadUsage, std::string(flag) + " " + path + ": " + e.what());
    }
  };
  checkOutput("--save", a.save, false);
  checkOutput("--fam-debug", a.famDebug, true);
  checkOutput("--csv", a.csv, false);
  if (a.saveEvery > 0 && a.save.empty())
    usage("--save-every " + std::to_string(a.saveEvery) +
          " needs --save FILE (the file the checkpoints go to)");

  // The checkpoint: readable, intact, of this model.
  std::optional<train::Checkpoint> resumed;
  int64_t stepsBefore = 0;
  if (!a.resume.empty()) {
    try {
      resumed = train::parseCheckpoint(readFile(a.resume));
    } catch (const train::CheckpointError &e) {
      fail(kFailed, "--resume " + a.resume + ": " + e.what());
    }
    checkResumable(a, resumed->config);
    auto done = resumed->config.find("steps_done");
    if (done != resumed->config.end())
      stepsBefore = train::parseDecimal(done->second).value_or(0);
  }

  // The text: 90 % for training, 10 % for validation, each holding at
  // least one window of seq + 1 bytes.
  std::error_code ec;
  if (!fs::exists(a.data, ec))
    fail(kBadUsage, "--data " + a.data + ": no such file or folder" +
                        (a.data == kDefaultData
                             ? "; install Debian's fortunes-min (scripts/"
                               "setup does)"
                             : ""));
  std::string text = readText(a.data);
  if (text.empty())
    fail(kFailed, "no usable text in '" + a.data + "' (0 bytes)" +
                      (a.data == kDefaultData
                           ? "; install Debian's fortunes-min (scripts/setup "
                             "does)"
                           : ""));
  int64_t window = a.seq + 1;
  // floor(0.9 n) >= window and n - floor(0.9 n) >= window.
  int64_t needed =
      std::max<int64_t>(10 * (window - 1) + 1, (10 * window + 8) / 9);
  if (int64_t(text.size()) < needed)
    fail(kBadUsage,
         "--seq " + std::to_string(a.seq) + " needs at least " +
             std::to_string(needed) +
             " bytes of text (both the 90 % training and the 10 % validation "
             "split must hold a window of seq + 1 bytes); '" +
             a.data + "' has " + std::to_string(text.size()) + " bytes");

  for (int64_t l : a.evalSeq) {
    int64_t validBytes = int64_t(text.size()) - int64_t(text.size()) * 9 / 10;
    if (validBytes < l + 1)
      fail(kBadUsage, "--eval-seq " + std::to_string(l) +
                          ": the 10 % validation split holds " +
                          std::to_string(validBytes) +
                          " bytes, fewer than a window of " +
                          std::to_string(l + 1));
  }

  // LibTorch's own default otherwise (one thread on Debian's build), while
  // the kernels' teams take every core: the fastest step measured on the
  // 2-core machine (docs/benchmarks.md, threads).
  if (a.threads > 0)
    torch::set_num_threads(int(a.threads));
  torch::manual_seed(uint64_t(a.seed));

  torch::Tensor bytes =
      torch::from_blob(text.data(), {int64_t(text.size())}, torch::kUInt8)
          .to(torch::kInt64);
  int64_t split = bytes.size(0) * 9 / 10;
  torch::Tensor train = bytes.narrow(0, 0, split);
  torch::Tensor valid = bytes.narrow(0, split, bytes.size(0) - split);

  nn::Transformer model(nn::TransformerOptions()
                            .dim(a.dim)
                            .heads(a.heads)
                            .layers(a.layers)
                            .window(a.window)
                            .rotations(a.rotations)
                            .hdd(a.hdd)
                            .reference(a.reference));
  nn::FAM optimizer(model->named_parameters().pairs(),
                    nn::FAMOptions(a.lr)
                        .warmup_steps(a.warmup)
                        .warmup_start_lr(a.lr / 10)
                        .decay_start_step(a.steps / 2)
                        .total_steps(a.steps)
                        .eta_min(a.lr / 10)
                        .fam_start_step(std::min<int64_t>(100, a.steps / 4))
                        .seed(a.seed)
                        .debug_path(a.famDebug)
                        .debug_every(a.logEvery)
                        .reference(a.reference));
  std::vector<nn::Rope> ropes = model->ropes();
  std::unique_ptr<nn::DynamicBase> base;
  if (!ropes.empty())
    base = std::make_unique<nn::DynamicBase>(
        ropes, nn::DynamicBaseOptions().patience(40).cooldown(40));
  if (resumed) {
    try {
      torch::serialize::InputArchive in;
      in.load_from(resumed->payload.data(), resumed->payload.size());
      model->load(in);
      torch::serialize::InputArchive opt;
      in.read("optimizer", opt);
      optimizer.load(opt);
      if (base)
        base->load(in);
    } catch (const c10::Error &e) {
      fail(kFailed, "--resume " + a.resume +
                        ": its archive does not load into this model: " +
                        firstLine(e.what_without_backtrace()));
    }
    resumed.reset(); // the payload's memory
  }

  int64_t params = 0;
  for (const torch::Tensor &p : model->parameters())
    params += p.numel();
  std::printf("rotary-train: %s, %lld bytes of text, %lld parameters, "
              "%s path, %s\n",
              a.data == kDefaultData ? "Debian fortunes" : a.data.c_str(),
              (long long)text.size(), (long long)params,
              a.reference ? "reference (LibTorch)" : "compiled (rotary)",
              a.hdd ? "HDD-RoPE" : "RoPE");

  torch::Generator gen = at::detail::createCPUGenerator(uint64_t(a.seed));
  torch::Generator evalGen = at::detail::createCPUGenerator(12345);
  torch::Tensor evalBatch = batchOf(valid, 32, a.seq, evalGen);
  double firstValid = 0;
  {
    torch::NoGradGuard noGrad;
    firstValid = lossOf(model, evalBatch);
  }
  // Checkpoints (the periodic ones and the final one) are serialised in
  // memory, then written atomically: the previous file at a.save stays
  // whole until the new one is complete.
  auto saveCheckpoint = [&](int64_t stepsDone, double validLoss) {
    std::string checkpoint;
    try {
      std::ostringstream payload;
      torch::serialize::OutputArchive out;
      model->save(out);
      torch::serialize::OutputArchive opt;
      optimizer.save(opt);
      out.write("optimizer", opt);
      if (base)
        base->save(out);
      out.save_to(payload);
      std::map<std::string, std::string> config = modelConfig(a);
      config["steps_done"] = std::to_string(stepsBefore + stepsDone);
      config["seq"] = std::to_string(a.seq);
      config["batch"] = std::to_string(a.batch);
      config["seed"] = std::to_string(a.seed);
      config["lr"] = formatReal(a.lr);
      config["penalty"] = formatReal(a.penalty);
      config["validation_loss"] = formatReal(validLoss);
      checkpoint = train::formatCheckpoint(config, payload.str());
    } catch (const c10::Error &e) {
      fail(kFailed, "--save " + a.save + ": cannot serialise the model: " +
                        firstLine(e.what_without_backtrace()));
    } catch (const std::exception &e) {
      fail(kFailed,
           "--save " + a.save + ": cannot serialise the model: " + e.what());
    }
    std::function<void()> hook;
    if (std::getenv(kKillInSaveHook))
      hook = [] {
        std::fflush(stdout);
        std::raise(SIGKILL);
      };
    try {
      train::writeFileAtomicallyWithHook(a.save, checkpoint, hook);
    } catch (const std::exception &e) {
      std::string message = "--save " + a.save + ": " + e.what();
      try {
        fail(kFailed, message + "; the trained model was saved to '" +
                          rescue(checkpoint) + "' instead");
      } catch (const std::exception &r) {
        fail(kFailed, message +
                          "; saving it to the temporary folder failed "
                          "too (" +
                          r.what() + "): the model is lost");
      }
    }
  };

  CsvLog csv(a.csv);
  // Validation is not training: --profile leaves it out.
  double validSeconds = 0;
  auto validate = [&] {
    bool profiling = rotary::nn::profile::enabled();
    if (profiling)
      rotary::nn::profile::stop();
    auto t0 = std::chrono::steady_clock::now();
    double v;
    {
      torch::NoGradGuard noGrad;
      v = lossOf(model, evalBatch);
    }
    if (profiling) {
      validSeconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      rotary::nn::profile::resume();
    }
    return v;
  };
  double lastValid = firstValid;
  auto start = std::chrono::steady_clock::now();
  auto profileStart = start;
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  // Tokens per second over `steps` steps in `seconds`.
  auto rate = [&](int64_t steps, double seconds) {
    return double(steps) * double(a.batch) * double(a.seq) /
           std::max(seconds, 1e-9);
  };
  double recent = 0, lastMean = 0;
  for (int64_t step = 1; step <= a.steps; ++step) {
    using torch::indexing::Slice;
    torch::Tensor windows = batchOf(train, a.batch, a.seq, gen);
    torch::Tensor in = windows.index({Slice(), Slice(0, -1)}).contiguous();
    torch::Tensor target =
        windows.index({Slice(), Slice(1, at::indexing::None)});
    optimizer.zero_grad();
    torch::Tensor logits = model(in);
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), target.reshape({-1}));
    (loss + a.penalty * model->orthogonality_penalty()).backward();
    optimizer.step();
    double l = loss.item<double>();
    // From step 2 on: step 1 compiles the kernels (JIT) on first use.
    if (a.profile && step == 1) {
      rotary::nn::profile::start();
      profileStart = std::chrono::steady_clock::now();
    }
    if (base)
      base->step(l);
    recent += l;
    bool logNow = step % a.logEvery == 0 || step == a.steps;
    // The last step's validation comes after the loop (and the profile).
    std::optional<double> valid;
    if (a.valEvery && step % a.valEvery == 0 && step != a.steps)
      lastValid = *(valid = validate());
    double seconds = elapsed();
    double tokensPerSecond = rate(step, seconds);
    double mean = recent;
    if (logNow) {
      int64_t n = step % a.logEvery ? step % a.logEvery : a.logEvery;
      mean = recent / double(n);
      std::printf(
          "step %5lld  loss %.4f  lr %.2e  base %.0f  %.1f ms/step  "
          "%.0f tokens/s  ETA %s\n",
          (long long)step, mean, optimizer.current_lr(0),
          base ? base->base() : 0.0, 1e3 * seconds / double(step),
          tokensPerSecond,
          duration(seconds / double(step) * double(a.steps - step)).c_str());
      recent = 0;
    }
    if (valid)
      std::printf("validation at step %lld: loss %.4f (%.3f bits/byte)\n",
                  (long long)step, *valid, *valid / std::log(2.0));
    if ((logNow || valid) && step != a.steps)
      csv.row(step, logNow ? std::optional<double>(mean) : std::nullopt, valid,
              optimizer.current_lr(0), tokensPerSecond, seconds);
    if (step == a.steps)
      lastMean = mean;
    if (a.saveEvery && step % a.saveEvery == 0 && step != a.steps) {
      saveCheckpoint(step, lastValid);
      std::printf("checkpoint at step %lld: %s\n", (long long)step,
                  a.save.c_str());
    }
    std::fflush(stdout);
  }
  double seconds = elapsed();
  if (a.profile)
    printProfile(std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - profileStart)
                         .count() -
                     validSeconds,
                 a.steps - 1);
  lastValid = validate();
  csv.row(a.steps, lastMean, lastValid, optimizer.current_lr(0),
          rate(a.steps, seconds), seconds);
  std::printf("validation loss %.4f -> %.4f (%.3f -> %.3f bits/byte); "
              "%.0f tokens/s\n",
              firstValid, lastValid, firstValid / std::log(2.0),
              lastValid / std::log(2.0), rate(a.steps, seconds));
  // Longer (or shorter) contexts than trained on: each on its own fixed
  // held-out batch.
  for (int64_t l : a.evalSeq) {
    torch::Generator lengthGen = at::detail::createCPUGenerator(12345);
    torch::Tensor windows = batchOf(valid, 8, l, lengthGen);
    torch::NoGradGuard noGrad;
    double v = lossOf(model, windows);
    std::printf("validation at seq %lld: loss %.4f (%.3f bits/byte)\n",
                (long long)l, v, v / std::log(2.0));
  }
  if (a.sample > 0)
    std::printf("sample: %s\n",
                sampleText(model, "Q: ", a.sample, a.seq, gen).c_str());
  std::fflush(stdout);

  std::printf("done: %lld steps in %s%s%s\n", (long long)a.steps,
              duration(seconds).c_str(), a.csv.empty() ? "" : "; log ",
              a.csv.c_str());
  std::fflush(stdout);
  if (!a.save.empty()) {
    saveCheckpoint(a.steps, lastValid);
    std::printf("saved to %s\n", a.save.c_str());
  }
  if (!(lastValid < firstValid)) {
    char losses[96];
    std::snprintf(losses, sizeof losses, "%.4f -> %.4f", firstValid, lastValid);
    fail(kFailed, std::string("exit status 1: the validation loss did not "
                              "improve (") +
                      losses + "); more --steps or another --lr may help");
  }
  return 0;
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
