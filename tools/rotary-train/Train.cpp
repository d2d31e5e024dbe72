//===- Train.cpp - one rotary-train run -----------------------------------===//
//
// Nothing is lost and everything is checked first (docs/rotary-train.md):
// the output paths are tried before the first step; a checkpoint records
// the model options, its size and SHA-256 (Checkpoint.h), the optimizer and
// the data generator's state, so that --resume continues exactly; it is
// written atomically, and a save that fails after training writes the
// model to the system's temporary folder instead.
//
//===----------------------------------------------------------------------===//

#include "Train.h"

#include "Checkpoint.h"
#include "Data.h"
#include "Distributed.h"
#include "Optimizer.h"
#include "Plot.h"

#include "rotary/Torch/DynamicBase.h"
#include "rotary/Torch/Profile.h"
#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace rotary;
using namespace rotary::train;

namespace {
/// Test hook, for test/rotary-train/kill-in-save.test only: when this
/// environment variable is set, --save SIGKILLs the process once the
/// temporary file is completely written, synced and closed, just before it
/// is renamed over the target; the test checks that the previous checkpoint
/// survives byte for byte and still resumes.
constexpr const char *kKillInSaveHook = "ROTARY_TRAIN_TEST_KILL_IN_SAVE";

/// The seed of the fixed validation batches.
constexpr uint64_t kValidationSeed = 12345;

nn::TransformerOptions modelOptions(const Args &a) {
  static const std::map<std::string, nn::PositionScheme> kSchemes = {
      {"none", nn::PositionScheme::None},
      {"sinusoidal", nn::PositionScheme::Sinusoidal},
      {"learned-sinusoidal", nn::PositionScheme::LearnedSinusoidal},
      {"rope", nn::PositionScheme::Rope},
      {"xpos", nn::PositionScheme::XPos},
      {"rotation", nn::PositionScheme::Rope},
      {"quaternion", nn::PositionScheme::Quaternion},
      {"hdd", nn::PositionScheme::HDD}};
  auto learns = [&](const char *part) {
    return std::count(a.ropeLearn.begin(), a.ropeLearn.end(), part) > 0;
  };
  return nn::TransformerOptions()
      .dim(a.dim)
      .heads(a.heads)
      .layers(a.layers)
      .position(kSchemes.at(a.pos))
      .learnable_freq(learns("freq"))
      .learnable_phase(learns("phase"))
      .learnable_scale(learns("scale"))
      .xpos_scale_base(a.xposScaleBase)
      .hdd_chunk(a.hddChunk)
      .hdd_form(a.hddForm == "exp" ? nn::SOForm::Exp : nn::SOForm::Givens)
      .rotation_block(a.pos == "rotation")
      .rotations(a.rotations)
      .window(a.window)
      .global_tokens(a.globalTokens)
      .bias_radius(a.relBias > 0 ? a.relBias : -1)
      .adaptive_span(a.attn == "adaptive")
      .conv_kernel(a.conv)
      .reference(a.reference);
}

torch::Tensor lossOf(nn::Transformer &model, const Batch &b) {
  torch::Tensor logits = model(b.input);
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), b.target.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnored));
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

/// All bytes of the file `path`; throws CheckpointError with the reason.
std::string readFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw CheckpointError(std::string("cannot open it: ") +
                          std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw CheckpointError("not a regular file");
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
      throw CheckpointError(std::string("cannot read it: ") +
                            std::strerror(error));
    }
    if (n == 0)
      break;
    bytes.append(buffer, size_t(n));
  }
  ::close(fd);
  return bytes;
}

/// Exits with a message when `saved` was made with other model options.
void checkResumable(const Args &a,
                    const std::map<std::string, std::string> &saved) {
  std::map<std::string, std::string> mine = modelConfig(a);
  for (const char *key : kModelKeys) {
    const std::string &then = saved.at(key), &now = mine.at(key);
    if (then == now)
      continue;
    std::string flag = flagOfModelKey(key);
    fail(kBadUsage, "--resume " + a.resume + ": the checkpoint was made with " +
                        flag + " " + then + ", not " + flag + " " + now +
                        " (the model and optimizer options must match the "
                        "checkpoint's)");
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
    throw CheckpointError("cannot create a file in '" + folder.string() +
                          "': " + std::strerror(errno));
  ::close(fd);
  try {
    writeFileAtomically(name.data(), bytes);
  } catch (...) {
    ::unlink(name.data());
    throw;
  }
  return name.data();
}

/// --csv: a header, then one row per log step or validation; an empty
/// field where that step has no value. Flushed per row, so a run that is
/// stopped keeps its log. A resumed run keeps the rows up to the
/// checkpoint's step and continues the same file.
class CsvLog {
public:
  CsvLog(const std::string &path, int64_t keepUpTo) : path(path) {
    if (path.empty())
      return;
    std::vector<std::string> kept;
    if (keepUpTo > 0) {
      std::ifstream old(path);
      std::string line;
      std::getline(old, line); // the header
      while (std::getline(old, line))
        if (parseDecimal(line.substr(0, line.find(','))).value_or(INT64_MAX) <=
            keepUpTo)
          kept.push_back(line);
    }
    out.open(path, std::ios::trunc);
    if (!out)
      fail(kFailed, "--csv " + path + ": cannot open it for writing");
    out << "step,loss,val_loss,lr,tokens_per_s,elapsed_s\n";
    for (const std::string &line : kept)
      out << line << '\n';
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

/// --profile: where the time of the `steps` steps up to `lastStep` went,
/// per step, from nn::profile.
void printProfile(double seconds, int64_t steps, int64_t lastStep) {
  nn::profile::stop();
  if (steps <= 0) {
    std::printf("profile: no step after the first (--steps 1)\n");
    return;
  }
  nn::profile::Report r = nn::profile::report();
  double step = seconds / double(steps) * 1e3;
  auto line = [&](const char *indent, const std::string &name, int64_t calls,
                  double s) {
    double ms = s / double(steps) * 1e3;
    std::printf("%s%-28s %9.2f ms/step %5.1f %%  (%lld calls)\n", indent,
                name.c_str(), ms, 100.0 * ms / step, (long long)calls);
  };
  double kernels = 0;
  int64_t calls = 0;
  for (const nn::profile::Line &l : r.kernels) {
    kernels += l.seconds;
    calls += l.calls;
  }
  std::printf("profile over steps %lld..%lld: %.2f ms/step\n",
              (long long)(lastStep - steps + 1), (long long)lastStep, step);
  line("  ", "compiled kernels", calls, kernels);
  for (const nn::profile::Line &l : r.kernels)
    line("    ", l.name, l.calls, l.seconds);
  line("  ", r.matmul.name, r.matmul.calls, r.matmul.seconds);
  double rest = seconds - kernels - r.matmul.seconds;
  std::printf("  %-28s %9.2f ms/step %5.1f %%\n", "everything else",
              rest / double(steps) * 1e3, 100.0 * rest / seconds);
}

/// Checks the output paths before any work: a run must not train and then
/// find it cannot save.
void checkOutputs(const Args &a) {
  if (!a.out.empty()) {
    std::error_code ec;
    fs::create_directories(a.out, ec);
    if (ec || !fs::is_directory(a.out))
      fail(kBadUsage, "--out " + a.out + ": cannot create the folder" +
                          (ec ? ": " + ec.message() : ""));
  }
  auto check = [](const char *flag, const std::string &path, bool append) {
    if (path.empty())
      return;
    try {
      checkOutputPath(path, append);
    } catch (const CheckpointError &e) {
      fail(kBadUsage, std::string(flag) + " " + path + ": " + e.what());
    }
  };
  check("--save", a.save, false);
  check("--fam-debug", a.famDebug, true);
  check("--csv", a.csv, false);
  check("--plot", a.plot, false);
  check("--summary", a.summary, false);
}
} // namespace

int rotary::train::train(const Args &a) {
  std::unique_ptr<DataParallel> group;
  try {
    group = DataParallel::fromEnvironment(
        std::chrono::milliseconds(a.distTimeout * 1000));
  } catch (const std::exception &e) {
    fail(kBadUsage, e.what());
  }
  int rank = group->rank(), world = group->worldSize();
  bool lead = rank == 0;
  // Rank 0 reports for the group; the others print only their errors.
  if (!lead && !std::freopen("/dev/null", "w", stdout))
    fail(kFailed, "rank " + std::to_string(rank) + ": cannot silence stdout");

  if (lead)
    checkOutputs(a);

  // The checkpoint: readable, intact, of this model.
  std::optional<Checkpoint> resumed;
  int64_t stepsBefore = 0;
  if (!a.resume.empty()) {
    try {
      resumed = parseCheckpoint(readFile(a.resume));
    } catch (const CheckpointError &e) {
      fail(kFailed, "--resume " + a.resume + ": " + e.what());
    }
    checkResumable(a, resumed->config);
    auto done = resumed->config.find("steps_done");
    if (done != resumed->config.end())
      stepsBefore = parseDecimal(done->second).value_or(0);
    if (stepsBefore >= a.steps)
      fail(kBadUsage, "--resume " + a.resume + ": the checkpoint is at step " +
                          std::to_string(stepsBefore) + "; --steps " +
                          std::to_string(a.steps) +
                          " must be larger (it counts the steps from the "
                          "start of the run)");
    if (a.stopAt && a.stopAt <= stepsBefore)
      fail(kBadUsage, "--stop-at " + std::to_string(a.stopAt) +
                          ": the checkpoint is already at step " +
                          std::to_string(stepsBefore));
  }

  Data data(a);

  // LibTorch's own default otherwise (one thread on Debian's build), while
  // the kernels' teams take every core: the fastest step measured on the
  // 2-core machine (docs/benchmarks.md, threads).
  if (a.threads > 0)
    torch::set_num_threads(int(a.threads));
  torch::manual_seed(uint64_t(a.seed));

  nn::Transformer model(modelOptions(a));
  Optimizer optimizer(a, *model);
  std::vector<nn::Rope> ropes = model->ropes();
  std::unique_ptr<nn::DynamicBase> base;
  if (a.dynamicBase && !ropes.empty())
    base = std::make_unique<nn::DynamicBase>(
        ropes, nn::DynamicBaseOptions().patience(40).cooldown(40));
  // The training batches: every process draws the same global batch of
  // batch · world windows and takes its own rows of it, so that N
  // processes see what one process with N times the batch would.
  torch::Generator gen = at::detail::createCPUGenerator(uint64_t(a.seed));
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
      torch::Tensor state;
      in.read("data_generator", state);
      gen.set_state(state);
    } catch (const c10::Error &e) {
      fail(kFailed, "--resume " + a.resume +
                        ": its archive does not load into this model: " +
                        firstLine(e.what_without_backtrace()));
    }
    resumed.reset(); // the payload's memory
  }
  std::vector<torch::Tensor> params = model->parameters();
  group->broadcast(params);

  int64_t count = 0;
  for (const torch::Tensor &p : params)
    count += p.numel();
  std::printf("rotary-train: %s, %lld parameters, %s path, --pos %s --attn "
              "%s --opt %s%s\n",
              data.describe().c_str(), (long long)count,
              a.reference ? "reference (LibTorch)" : "compiled (rotary)",
              a.pos.c_str(), a.attn.c_str(), a.opt.c_str(),
              world > 1 ? (", " + std::to_string(world) + " processes").c_str()
                        : "");

  Batch evalBatch = data.validation(32, a.seq, kValidationSeed);
  double firstValid = 0;
  {
    torch::NoGradGuard noGrad;
    firstValid = lossOf(model, evalBatch).item<double>();
  }
  auto bits = [](double nats) { return nats / std::log(2.0); };
  std::map<std::string, std::string> summary;

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
      out.write("data_generator", gen.get_state());
      out.save_to(payload);
      std::map<std::string, std::string> config = modelConfig(a);
      config["steps_done"] = std::to_string(stepsDone);
      config["seq"] = std::to_string(a.seq);
      config["batch"] = std::to_string(a.batch);
      config["processes"] = std::to_string(world);
      config["seed"] = std::to_string(a.seed);
      config["lr"] = formatReal(a.lr);
      config["validation_loss"] = formatReal(validLoss);
      checkpoint = formatCheckpoint(config, payload.str());
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
      writeFileAtomicallyWithHook(a.save, checkpoint, hook);
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

  auto writeSummary = [&](double finalValid, double tokensPerSecond,
                          double seconds) {
    if (a.summary.empty())
      return;
    summary["steps"] = std::to_string(a.steps);
    summary["first_val_loss"] = formatReal(firstValid);
    summary["final_val_loss"] = formatReal(finalValid);
    summary["tokens_per_s"] = formatReal(tokensPerSecond);
    summary["seconds"] = formatReal(seconds);
    summary["parameters"] = std::to_string(count);
    std::string text;
    for (const auto &[key, value] : summary)
      text += key + "=" + value + "\n";
    try {
      writeFileAtomically(a.summary, text);
    } catch (const std::exception &e) {
      fail(kFailed, "--summary " + a.summary + ": " + e.what());
    }
  };

  CsvLog csv(lead ? a.csv : "", stepsBefore);
  // Validation is not training: --profile leaves it out.
  double validSeconds = 0;
  auto validate = [&] {
    bool profiling = nn::profile::enabled();
    if (profiling)
      nn::profile::stop();
    auto t0 = std::chrono::steady_clock::now();
    double v;
    {
      torch::NoGradGuard noGrad;
      v = lossOf(model, evalBatch).item<double>();
    }
    if (profiling) {
      validSeconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      nn::profile::resume();
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
  int64_t stepsToRun = a.steps - stepsBefore;
  // Tokens per second (of the whole group) over `steps` steps.
  auto rate = [&](int64_t steps, double seconds) {
    return double(steps) * double(a.batch * world) * double(a.seq) /
           std::max(seconds, 1e-9);
  };
  double recent = 0, lastMean = 0;
  for (int64_t step = stepsBefore + 1; step <= a.steps; ++step) {
    int64_t done = step - stepsBefore; // steps of this process so far
    Batch batch = data.train(a.batch * world, a.seq, gen)
                      .rows(int64_t(rank) * a.batch, a.batch);
    optimizer.zeroGrad();
    torch::Tensor loss = lossOf(model, batch);
    torch::Tensor total = loss;
    if (a.pos == "rotation")
      total = total + a.penalty * model->orthogonality_penalty();
    total.backward();
    group->averageGradients(params);
    optimizer.step(step);
    double l = group->mean(loss.item<double>());
    if (!std::isfinite(l)) {
      // A diverged run is a result (a --compare cell records it), not a
      // model to save.
      summary["diverged_at_step"] = std::to_string(step);
      if (lead)
        writeSummary(std::nan(""), rate(done, elapsed()), elapsed());
      fail(kFailed, "step " + std::to_string(step) +
                        ": the training loss is not finite; the run "
                        "diverged (a smaller --lr or --clip may help)");
    }
    // From the second step on: the first compiles the kernels (JIT).
    if (a.profile && done == 1) {
      nn::profile::start();
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
    double tokensPerSecond = rate(done, seconds);
    double mean = recent;
    if (logNow) {
      int64_t n =
          std::min(step % a.logEvery ? step % a.logEvery : a.logEvery, done);
      mean = recent / double(n);
      std::string baseText;
      if (base)
        baseText = "  base " + std::to_string(std::llround(base->base()));
      std::printf(
          "step %5lld  loss %.4f  val %.4f  lr %.2e%s  %.1f ms/step  "
          "%.0f tokens/s  ETA %s\n",
          (long long)step, mean, lastValid, optimizer.lr(step),
          baseText.c_str(), 1e3 * seconds / double(done), tokensPerSecond,
          duration(seconds / double(done) * double(a.steps - step)).c_str());
      recent = 0;
    }
    if (valid) {
      std::printf("validation at step %lld: loss %.4f (%.3f %s)\n",
                  (long long)step, *valid, bits(*valid), data.unit());
      summary["val_loss_at_" + std::to_string(step)] = formatReal(*valid);
    }
    if ((logNow || valid) && step != a.steps)
      csv.row(step, logNow ? std::optional<double>(mean) : std::nullopt, valid,
              optimizer.lr(step), tokensPerSecond, seconds);
    if (step == a.steps)
      lastMean = mean;
    if (lead && a.saveEvery && step % a.saveEvery == 0 && step != a.steps) {
      saveCheckpoint(step, lastValid);
      std::printf("checkpoint at step %lld: %s\n", (long long)step,
                  a.save.c_str());
    }
    std::fflush(stdout);
    if (step == a.stopAt) {
      if (lead) {
        saveCheckpoint(step, lastValid);
        std::printf("stopped at step %lld of %lld: %s (--resume it with the "
                    "same options)\n",
                    (long long)step, (long long)a.steps, a.save.c_str());
      }
      return 0;
    }
  }
  double seconds = elapsed();
  if (a.profile)
    printProfile(std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - profileStart)
                         .count() -
                     validSeconds,
                 stepsToRun - 1, a.steps);
  lastValid = validate();
  double tokensPerSecond = rate(stepsToRun, seconds);
  csv.row(a.steps, lastMean, lastValid, optimizer.lr(a.steps), tokensPerSecond,
          seconds);
  summary["val_loss_at_" + std::to_string(a.steps)] = formatReal(lastValid);
  std::printf("validation loss %.4f -> %.4f (%.3f -> %.3f %s); "
              "%.0f tokens/s\n",
              firstValid, lastValid, bits(firstValid), bits(lastValid),
              data.unit(), tokensPerSecond);
  // Longer (or shorter) contexts than trained on: each on its own fixed
  // held-out batch.
  for (int64_t l : a.evalSeq) {
    torch::NoGradGuard noGrad;
    double v =
        lossOf(model, data.validation(8, l, kValidationSeed)).item<double>();
    std::printf("validation at seq %lld: loss %.4f (%.3f %s)\n", (long long)l,
                v, bits(v), data.unit());
    summary["eval_seq_" + std::to_string(l)] = formatReal(v);
  }
  // Every process must hold the same model: a checksum of the parameters,
  // compared through the group.
  if (world > 1) {
    double sum = 0;
    for (const torch::Tensor &p : params)
      sum += p.detach().to(torch::kFloat64).abs().sum().item<double>();
    double spread = group->mean(sum * sum) - std::pow(group->mean(sum), 2);
    if (!(std::abs(spread) <= 1e-9 * sum * sum))
      fail(kFailed, "the processes' parameters differ at the end of the run "
                    "(rank " +
                        std::to_string(rank) + ")");
  }
  // Its own generator: the data generator's state goes into the final
  // checkpoint untouched by sampling.
  torch::Generator sampleGen =
      at::detail::createCPUGenerator(uint64_t(a.seed) + 1);
  if (a.sample > 0 && lead)
    std::printf("sample: %s\n",
                sampleText(model, "Q: ", a.sample, a.seq, sampleGen).c_str());
  std::fflush(stdout);

  if (!lead)
    return 0; // rank 0 reports the run's result
  std::string plotNote;
  if (!a.plot.empty()) {
    std::string why = plotCsv(
        a.csv, a.plot, "rotary-train --pos " + a.pos + " --opt " + a.opt,
        std::string("loss (nats per ") + (a.task.empty() ? "byte)" : "token)"),
        {1, 2});
    plotNote = why.empty() ? "; plot " + a.plot : "; no plot: " + why;
  }
  writeSummary(lastValid, tokensPerSecond, seconds);
  std::printf("done: %lld steps in %s%s%s%s\n", (long long)stepsToRun,
              duration(seconds).c_str(), a.csv.empty() ? "" : "; log ",
              a.csv.c_str(), plotNote.c_str());
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
}
