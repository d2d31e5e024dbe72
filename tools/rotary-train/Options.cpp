//===- Options.cpp - rotary-train's command line --------------------------===//

#include "Options.h"

#include "Checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

using namespace rotary::train;

const std::vector<std::string> rotary::train::kPositionSchemes = {
    "none", "sinusoidal", "learned-sinusoidal", "rope",
    "xpos", "rotation",   "quaternion",         "hdd"};
const std::vector<std::string> rotary::train::kAttentionKinds = {
    "full", "window", "local-global", "adaptive"};
const std::vector<std::string> rotary::train::kOptimizers = {"fam", "adam",
                                                             "adamw"};
const std::vector<std::string> rotary::train::kTasks = {"copy", "reverse",
                                                        "recall"};

namespace {
const std::vector<std::string> kHddForms = {"givens", "exp"};
const std::vector<std::string> kRopeLearnable = {"freq", "phase", "scale"};

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
    {"--global", &Args::globalTokens, 0, 65536},
    {"--rel-bias", &Args::relBias, 0, 65536},
    {"--conv", &Args::conv, 0, 1024},
    {"--rotations", &Args::rotations, 1, 1 << 20},
    {"--hdd-chunk", &Args::hddChunk, 2, 4},
    {"--warmup", &Args::warmup, 0, kMaxSteps},
    {"--decay-start", &Args::decayStart, 0, kMaxSteps},
    {"--log-every", &Args::logEvery, 1, kMaxSteps},
    {"--val-every", &Args::valEvery, 0, kMaxSteps},
    {"--save-every", &Args::saveEvery, 0, kMaxSteps},
    {"--stop-at", &Args::stopAt, 1, kMaxSteps},
    {"--sample", &Args::sample, 0, 100000},
    {"--seed", &Args::seed, 0, INT64_MAX},
    {"--threads", &Args::threads, 0, 1024},
    {"--nproc", &Args::nproc, 1, 256},
    {"--dist-timeout", &Args::distTimeout, 1, 86400},
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
    {"--min-lr", &Args::minLr, 0, false, 100},
    {"--weight-decay", &Args::weightDecay, 0, false, 10},
    {"--clip", &Args::clip, 0, false, 1e6},
    {"--penalty", &Args::penalty, 0, false, 1e6},
    {"--xpos-scale-base", &Args::xposScaleBase, 0, true, 1e9},
};

/// An option whose value is one of a list.
struct ChoiceOption {
  const char *flag;
  std::string Args::*field;
  const std::vector<std::string> *choices;
};
const ChoiceOption kChoiceOptions[] = {
    {"--pos", &Args::pos, &kPositionSchemes},
    {"--attn", &Args::attn, &kAttentionKinds},
    {"--opt", &Args::opt, &kOptimizers},
    {"--task", &Args::task, &kTasks},
    {"--hdd-form", &Args::hddForm, &kHddForms},
};

/// Options whose value is a path.
const std::pair<const char *, std::string Args::*> kPathOptions[] = {
    {"--data", &Args::data},          {"--out", &Args::out},
    {"--save", &Args::save},          {"--resume", &Args::resume},
    {"--fam-debug", &Args::famDebug}, {"--csv", &Args::csv},
    {"--plot", &Args::plot},          {"--summary", &Args::summary},
};

std::string joined(const std::vector<std::string> &items,
                   const char *separator) {
  std::string s;
  for (const std::string &item : items)
    s += (s.empty() ? "" : separator) + item;
  return s;
}

const char *kHelp =
    "usage: rotary-train [options]\n"
    "Trains a byte-level transformer whose position, rotation and attention\n"
    "ops and optimizer update are compiled rotary kernels.\n"
    "\n"
    "Data:\n"
    "  --data PATH          text file or folder of text files (default: "
    "Debian's fortunes)\n"
    "  --task NAME          a synthetic position-sensitive task instead: "
    "copy, reverse, recall\n"
    "\n"
    "Model:\n"
    "  --dim N --heads N --layers N   width (64; 4 to 8192), heads (4; 1 to "
    "1024), blocks (2; 1 to 256);\n"
    "                       the head dim dim / heads must be a multiple of 4\n"
    "  --pos SCHEME         position scheme (rope): none, sinusoidal, "
    "learned-sinusoidal, rope,\n"
    "                       xpos, rotation (RoPE + Givens chain + orthogonal "
    "R), quaternion, hdd\n"
    "  --rope-learn LIST    learnable RoPE parts (rope, xpos, rotation): "
    "comma-separated freq,phase,scale\n"
    "  --dynamic-base       RoPE's base grows on loss plateaus (rope, xpos, "
    "rotation)\n"
    "  --xpos-scale-base X  xPos's position scale (512; > 0)\n"
    "  --hdd-chunk C        HDD-RoPE chunk size (4; 2, 3 or 4; the head dim "
    "must be a multiple)\n"
    "  --hdd-form F         HDD-RoPE generator: givens or exp (givens)\n"
    "  --rotations N        Givens rotations per head of --pos rotation (16; "
    "1 to Dh*(Dh-1)/2)\n"
    "  --attn KIND          causal attention (local-global): full, window "
    "(sliding), local-global\n"
    "                       (sliding + global tokens), adaptive (learnable "
    "span per head)\n"
    "  --window N           window of window and local-global (32; -1 = "
    "unlimited, or 1 to 65536)\n"
    "  --global N           global tokens of local-global (1; 0 to 65536)\n"
    "  --rel-bias R         learnable relative-position bias of radius R "
    "(8; 0 = off)\n"
    "  --conv K             hybrid blocks: a depthwise causal convolution of "
    "width K beside attention (0 = off)\n"
    "\n"
    "Optimizer:\n"
    "  --opt NAME           fam (FAM with its scheduler), adam, adamw "
    "(LibTorch's) (fam)\n"
    "  --lr X               peak learning rate (fam 0.5, adam/adamw 3e-3; in "
    "(0, 100])\n"
    "  --warmup N           linear warmup steps from lr/10 (30)\n"
    "  --decay-start N      cosine decay from step N to --min-lr at the last "
    "step (default: steps / 2)\n"
    "  --min-lr X           the final learning rate (default: lr / 10)\n"
    "  --weight-decay X     (adamw 0.01, others 0; 0 to 10)\n"
    "  --clip X             clip the gradients' global norm to X (0 = off; "
    "default off)\n"
    "  --penalty X          weight of the orthogonality penalty of --pos "
    "rotation (1e-3; 0 to 1e6)\n"
    "\n"
    "Run:\n"
    "  --steps N            train until step N (300; 1 to 10^9); with "
    "--resume, counting the checkpoint's steps\n"
    "  --batch N --seq N    batch size per process (16) and context length "
    "(64); batch * seq <= 4194304\n"
    "  --log-every N        a progress line every N steps (25)\n"
    "  --val-every N        validation loss every N steps (100; 0: at the "
    "start and the end only)\n"
    "  --eval-seq L,...     also the final validation loss at these context "
    "lengths (e.g. 256,1024)\n"
    "  --out DIR            write log.csv, model.pt, loss.png and "
    "summary.txt into DIR (created)\n"
    "  --csv FILE           one line per log step and validation: step, "
    "loss, val_loss, lr, tokens_per_s, elapsed_s\n"
    "  --plot FILE          a PNG of the loss curves from the --csv log "
    "(gnuplot)\n"
    "  --summary FILE       the run's results as key=value lines\n"
    "  --save FILE          checkpoint at the end (model, optimizer, data "
    "position; written atomically)\n"
    "  --save-every N       also every N steps, to the --save file (0: at the "
    "end only)\n"
    "  --resume FILE        continue exactly from a --save checkpoint (same "
    "model options)\n"
    "  --stop-at N          save at step N and stop, to --resume later (a run "
    "in parts; needs --save)\n"
    "  --fam-debug FILE     FAM's JSON-lines record (every log step)\n"
    "  --sample N           characters sampled at the end (160; 0 to 100000)\n"
    "  --seed N             (1; >= 0)  --threads N  LibTorch's threads (0 to "
    "1024; default: LibTorch's)\n"
    "  --reference          plain LibTorch ops instead of compiled kernels\n"
    "  --profile            time per compiled kernel and in LibTorch's "
    "matrix products, from step 2 on\n"
    "\n"
    "Several runs:\n"
    "  --compare GRID       run every combination of GRID and write "
    "DIR/results.md and DIR/compare.png\n"
    "                       (needs --out DIR). GRID: 'KEY=V,V KEY=V,V ...' "
    "over pos, opt, attn, seed,\n"
    "                       lr, conv; 'default' is 'pos=rope,xpos,hdd,"
    "rotation opt=adam,fam seed=1,2,3'\n"
    "  --nproc N            data-parallel training on N processes of this "
    "machine (c10d, Gloo); the same\n"
    "                       binary joins a group from RANK, WORLD_SIZE, "
    "MASTER_ADDR, MASTER_PORT (torchrun)\n"
    "  --dist-timeout S     seconds a process waits for the others before it "
    "stops with an error (60)\n"
    "\n"
    "Exit status: 0 when the validation loss improved, 1 when it did not or "
    "the run failed, 2 for a bad\n"
    "command line.\n";

std::string rangeOf(const IntegerOption &o) {
  if (std::string_view(o.flag) == "--window")
    return "-1 (unlimited) or an integer in [1, " + std::to_string(o.max) + "]";
  return "an integer in [" + std::to_string(o.min) + ", " +
         std::to_string(o.max) + "]";
}

int64_t integerValue(const IntegerOption &o, const std::string &v) {
  // The checkpoint header's parser: plain decimal, no overflow.
  std::optional<int64_t> n = parseDecimal(v);
  if (!n || *n < o.min || *n > o.max ||
      (std::string_view(o.flag) == "--window" && *n == 0))
    usage(std::string(o.flag) + " " + v + ": must be " + rangeOf(o));
  return *n;
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

/// Items of a comma-separated list: non-empty, at most `most`.
std::vector<std::string> listItems(const std::string &flag,
                                   const std::string &v, size_t most,
                                   const std::string &what) {
  std::vector<std::string> items;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ','))
    items.push_back(item);
  bool bad = items.empty() || items.size() > most || v.back() == ',' ||
             std::any_of(items.begin(), items.end(),
                         [](const std::string &s) { return s.empty(); });
  if (bad)
    usage(flag + " " + v + ": must be " + what);
  return items;
}

/// "256,1024": context lengths in [1, 65536], at most 16 of them.
std::vector<int64_t> lengthList(const std::string &flag, const std::string &v) {
  const char *what = "up to 16 comma-separated integers in [1, 65536]";
  std::vector<int64_t> lengths;
  for (const std::string &item : listItems(flag, v, 16, what)) {
    std::optional<int64_t> n = parseDecimal(item);
    if (!n || *n < 1 || *n > 65536)
      usage(flag + " " + v + ": must be " + what);
    lengths.push_back(*n);
  }
  return lengths;
}

/// The option combinations the model and the loop cannot use.
void checkTogether(Args &a, const std::set<std::string> &given) {
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
          "HDD-RoPE chunks of up to 4)");
  if (a.pos == "hdd" && headDim % a.hddChunk)
    usage("--hdd-chunk " + std::to_string(a.hddChunk) + ": the head dim (" +
          dimHeads + " gives " + std::to_string(headDim) +
          ") must be a multiple of the chunk size");
  int64_t pairs = headDim * (headDim - 1) / 2;
  if (a.pos == "rotation" && a.rotations > pairs)
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

  // Options that belong to a choice: given without it, they would be
  // silently ignored.
  auto onlyWith = [&](const char *flag, bool applies, const std::string &with) {
    if (given.count(flag) && !applies)
      usage(std::string(flag) + " applies to " + with + " only");
  };
  bool rope = a.pos == "rope" || a.pos == "xpos" || a.pos == "rotation";
  onlyWith("--rope-learn", rope, "--pos rope, xpos and rotation");
  onlyWith("--dynamic-base", rope, "--pos rope, xpos and rotation");
  onlyWith("--xpos-scale-base", a.pos == "xpos", "--pos xpos");
  onlyWith("--hdd-chunk", a.pos == "hdd", "--pos hdd");
  onlyWith("--hdd-form", a.pos == "hdd", "--pos hdd");
  onlyWith("--rotations", a.pos == "rotation", "--pos rotation");
  onlyWith("--penalty", a.pos == "rotation", "--pos rotation");
  onlyWith("--window", a.attn == "window" || a.attn == "local-global",
           "--attn window and local-global");
  onlyWith("--global", a.attn == "local-global", "--attn local-global");
  if (a.dynamicBase &&
      std::count(a.ropeLearn.begin(), a.ropeLearn.end(), std::string("freq")))
    usage("--dynamic-base and --rope-learn freq: the base only sets the "
          "initial frequencies when they are learnable");
  if (a.attn == "full" || a.attn == "adaptive")
    a.window = -1;
  if (a.attn != "local-global")
    a.globalTokens = 0;

  if (!a.task.empty() && given.count("--data"))
    usage("--task " + a.task +
          " and --data: give one (a task makes its own "
          "data)");
  int64_t shortest = a.task == "recall" ? 4 : 3;
  if (!a.task.empty() && a.seq < shortest)
    usage("--seq " + std::to_string(a.seq) + ": --task " + a.task +
          " needs --seq " + std::to_string(shortest) + " or more");

  // The optimizer's defaults.
  if (a.lr < 0)
    a.lr = a.opt == "fam" ? 0.5 : 3e-3;
  if (a.weightDecay < 0)
    a.weightDecay = a.opt == "adamw" ? 0.01 : 0;
  if (a.minLr < 0)
    a.minLr = a.lr / 10;
  if (a.minLr > a.lr) {
    std::ostringstream message;
    message << "--min-lr " << a.minLr << ": must be at most --lr (" << a.lr
            << ")";
    usage(message.str());
  }
  if (a.decayStart < 0)
    a.decayStart = a.steps / 2;
  if (a.decayStart > a.steps)
    usage("--decay-start " + std::to_string(a.decayStart) +
          ": must be at most --steps (" + std::to_string(a.steps) + ")");

  // Outputs: --out DIR names every file the run leaves, unless given.
  if (!a.out.empty()) {
    auto inOut = [&](std::string &path, const char *name) {
      if (path.empty())
        path = a.out + "/" + name;
    };
    if (a.compare.empty()) {
      inOut(a.csv, "log.csv");
      inOut(a.save, "model.pt");
      inOut(a.plot, "loss.png");
      inOut(a.summary, "summary.txt");
    }
  }
  if (!a.plot.empty() && a.csv.empty())
    usage("--plot " + a.plot +
          " needs --csv FILE (the plot is drawn from the "
          "log)");
  if (a.stopAt && a.stopAt >= a.steps)
    usage("--stop-at " + std::to_string(a.stopAt) +
          ": must be smaller than --steps (" + std::to_string(a.steps) + ")");
  if (a.stopAt && a.save.empty())
    usage("--stop-at " + std::to_string(a.stopAt) +
          " needs --save FILE (the checkpoint to resume from)");
  if (a.saveEvery > 0 && a.save.empty())
    usage("--save-every " + std::to_string(a.saveEvery) +
          " needs --save FILE (the file the checkpoints go to)");
  if (!a.compare.empty()) {
    if (a.out.empty())
      usage("--compare needs --out DIR (the folder the results go to)");
    for (const char *flag : {"--nproc", "--resume", "--save", "--csv", "--plot",
                             "--summary", "--save-every", "--stop-at"})
      if (given.count(flag))
        usage(std::string("--compare and ") + flag +
              ": a comparison writes its runs' files into --out itself");
  }
}
} // namespace

void rotary::train::fail(int status, const std::string &message) {
  std::fflush(stdout);
  std::cerr << "rotary-train: " << message << "\n";
  std::exit(status);
}

void rotary::train::usage(const std::string &error) {
  if (!error.empty())
    fail(kBadUsage, error);
  std::cout << kHelp;
  std::exit(0);
}

Args rotary::train::parse(int argc, char **argv) {
  Args a;
  std::set<std::string> given;
  auto value = [&](int &i) -> std::string {
    if (i + 1 >= argc)
      usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    given.insert(f);
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
    for (const ChoiceOption &o : kChoiceOptions)
      if (f == o.flag) {
        std::string v = value(i);
        if (!std::count(o.choices->begin(), o.choices->end(), v))
          usage(f + " " + v + ": must be one of " + joined(*o.choices, ", "));
        a.*o.field = v;
        known = true;
      }
    for (const auto &[flag, field] : kPathOptions)
      if (f == flag) {
        std::string v = value(i);
        if (v.empty())
          usage(f + " needs a non-empty path");
        a.*field = v;
        known = true;
      }
    if (known)
      continue;
    if (f == "--reference")
      a.reference = true;
    else if (f == "--profile")
      a.profile = true;
    else if (f == "--dynamic-base")
      a.dynamicBase = true;
    else if (f == "--eval-seq")
      a.evalSeq = lengthList(f, value(i));
    else if (f == "--rope-learn") {
      std::string v = value(i);
      a.ropeLearn =
          listItems(f, v, 3, "a comma-separated list of freq, phase, scale");
      for (const std::string &part : a.ropeLearn)
        if (!std::count(kRopeLearnable.begin(), kRopeLearnable.end(), part))
          usage(f + " " + v +
                ": must be a comma-separated list of freq, "
                "phase, scale");
    } else if (f == "--compare") {
      a.compare = value(i);
      if (a.compare.empty())
        usage("--compare needs a grid ('default' or 'KEY=V,V ...')");
    } else if (f == "--help" || f == "-h")
      usage("");
    else
      usage("unknown option " + f + " (rotary-train --help lists the options)");
  }
  checkTogether(a, given);
  return a;
}

std::map<std::string, std::string> rotary::train::modelConfig(const Args &a) {
  std::vector<std::string> learn = a.ropeLearn;
  std::sort(learn.begin(), learn.end());
  return {{"dim", std::to_string(a.dim)},
          {"heads", std::to_string(a.heads)},
          {"layers", std::to_string(a.layers)},
          {"pos", a.pos},
          {"rope_learn", learn.empty() ? "-" : joined(learn, ",")},
          {"xpos_scale_base", formatReal(a.xposScaleBase)},
          {"hdd_chunk", std::to_string(a.hddChunk)},
          {"hdd_form", a.hddForm},
          {"rotations", std::to_string(a.rotations)},
          {"attn", a.attn},
          {"window", std::to_string(a.window)},
          {"global", std::to_string(a.globalTokens)},
          {"rel_bias", std::to_string(a.relBias)},
          {"conv", std::to_string(a.conv)},
          {"opt", a.opt}};
}

std::string rotary::train::flagOfModelKey(const std::string &key) {
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string rotary::train::firstLine(const std::string &message) {
  return message.substr(0, message.find('\n'));
}

std::string rotary::train::formatReal(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", x);
  return buffer;
}

std::string rotary::train::duration(double seconds) {
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
