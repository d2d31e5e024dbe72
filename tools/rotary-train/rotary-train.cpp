//===- rotary-train.cpp - train a small language model with rotary ------===//
//
// The main job: a byte-level transformer (rotary::nn::Transformer: RoPE or
// HDD-RoPE, adaptive attention, per-head rotation blocks) trained with FAM
// on English text, by default the fortune cookies Debian ships in the
// `fortunes` packages. Every position, rotation and attention op, forward
// and backward, and the optimizer update are compiled rotary kernels;
// `--reference` runs the same model on plain LibTorch ops instead.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/DynamicBase.h"
#include "rotary/Torch/Fam.h"
#include "rotary/Torch/Transformer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace rotary;

namespace {
/// Where Debian's fortunes, fortunes-min packages put their text.
constexpr const char *kDefaultData = "/usr/share/games/fortunes";

struct Args {
  std::string data = kDefaultData;
  int64_t steps = 300, batch = 16, seq = 64, dim = 64, heads = 4, layers = 2;
  int64_t window = 32, rotations = 16, warmup = 30, logEvery = 25;
  int64_t sample = 160, seed = 1, threads = 0;
  double lr = 0.5, penalty = 1e-3;
  bool hdd = false, reference = false;
  std::string save, resume, famDebug;
};

[[noreturn]] void usage(const std::string &error) {
  if (!error.empty())
    std::cerr << "rotary-train: " << error << "\n\n";
  std::cerr
      << "usage: rotary-train [options]\n"
         "  --data PATH       text file or directory of text files (default: "
         "Debian's fortunes)\n"
         "  --steps N         optimizer steps (300)\n"
         "  --batch N --seq N batch size (16) and context length (64)\n"
         "  --dim N --heads N --layers N   model width (64), heads (4), "
         "blocks (2)\n"
         "  --window N        sliding attention window, -1 = full (32)\n"
         "  --rotations N     Givens rotations per head (16)\n"
         "  --hdd             HDD-RoPE instead of RoPE\n"
         "  --lr X --warmup N peak learning rate (0.5: FAM is SGD with an EMA momentum), warmup steps (30)\n"
         "  --penalty X       weight of the orthogonality penalty (1e-3)\n"
         "  --reference       plain LibTorch ops instead of compiled kernels\n"
         "  --save FILE       write model, optimizer and base schedule at "
         "the end\n"
         "  --resume FILE     start from a file written by --save\n"
         "  --fam-debug FILE  FAM's JSON-lines record (every log step)\n"
         "  --log-every N (25)  --sample N chars (160)  --seed N (1)  "
         "--threads N (LibTorch's threads; default: LibTorch's)\n";
  std::exit(error.empty() ? 0 : 2);
}

Args parse(int argc, char **argv) {
  Args a;
  auto value = [&](int &i) -> std::string {
    if (i + 1 >= argc)
      usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  auto integer = [&](int &i) {
    std::string v = value(i);
    char *end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (!end || *end)
      usage(std::string(argv[i - 1]) + ": not an integer: " + v);
    return int64_t(n);
  };
  auto real = [&](int &i) {
    std::string v = value(i);
    char *end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (!end || *end)
      usage(std::string(argv[i - 1]) + ": not a number: " + v);
    return x;
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--data") a.data = value(i);
    else if (f == "--steps") a.steps = integer(i);
    else if (f == "--batch") a.batch = integer(i);
    else if (f == "--seq") a.seq = integer(i);
    else if (f == "--dim") a.dim = integer(i);
    else if (f == "--heads") a.heads = integer(i);
    else if (f == "--layers") a.layers = integer(i);
    else if (f == "--window") a.window = integer(i);
    else if (f == "--rotations") a.rotations = integer(i);
    else if (f == "--warmup") a.warmup = integer(i);
    else if (f == "--log-every") a.logEvery = integer(i);
    else if (f == "--sample") a.sample = integer(i);
    else if (f == "--seed") a.seed = integer(i);
    else if (f == "--threads") a.threads = integer(i);
    else if (f == "--lr") a.lr = real(i);
    else if (f == "--penalty") a.penalty = real(i);
    else if (f == "--hdd") a.hdd = true;
    else if (f == "--reference") a.reference = true;
    else if (f == "--save") a.save = value(i);
    else if (f == "--resume") a.resume = value(i);
    else if (f == "--fam-debug") a.famDebug = value(i);
    else if (f == "--help" || f == "-h") usage("");
    else usage("unknown option " + f);
  }
  if (a.steps < 1 || a.batch < 1 || a.seq < 2 || a.logEvery < 1)
    usage("--steps, --batch, --log-every must be >= 1 and --seq >= 2");
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

/// `batch` windows of seq + 1 bytes at random offsets of `data`.
torch::Tensor batchOf(const torch::Tensor &data, int64_t batch, int64_t seq,
                      torch::Generator &gen) {
  torch::Tensor starts = torch::randint(0, data.size(0) - seq - 1, {batch},
                                        gen, torch::kInt64);
  torch::Tensor offsets = torch::arange(seq + 1, torch::kInt64);
  return data.index({starts.unsqueeze(1) + offsets.unsqueeze(0)});
}

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
} // namespace

int main(int argc, char **argv) try {
  Args a = parse(argc, argv);
  // LibTorch's own default otherwise (one thread on Debian's build): its
  // OpenMP runtime and the kernels' busy-wait against each other when both
  // take every core (docs/benchmarks.md).
  if (a.threads > 0)
    torch::set_num_threads(int(a.threads));
  torch::manual_seed(uint64_t(a.seed));

  std::string text = readText(a.data);
  if (int64_t(text.size()) < 4 * (a.seq + 1)) {
    std::cerr << "rotary-train: no usable text in '" << a.data << "' ("
              << text.size() << " bytes)"
              << (a.data == kDefaultData
                      ? "; install Debian's fortunes-min (scripts/setup does)"
                      : "")
              << "\n";
    return 1;
  }
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
  if (!a.resume.empty()) {
    torch::serialize::InputArchive in;
    in.load_from(a.resume);
    model->load(in);
    torch::serialize::InputArchive opt;
    in.read("optimizer", opt);
    optimizer.load(opt);
    if (base)
      base->load(in);
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
  auto start = std::chrono::steady_clock::now();
  double recent = 0;
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
    if (base)
      base->step(l);
    recent += l;
    if (step % a.logEvery == 0 || step == a.steps) {
      int64_t n = step % a.logEvery ? step % a.logEvery : a.logEvery;
      double ms = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
      std::printf("step %5lld  loss %.4f  lr %.2e  base %.0f  %.1f ms/step\n",
                  (long long)step, recent / double(n),
                  optimizer.current_lr(0), base ? base->base() : 0.0,
                  ms / double(step));
      std::fflush(stdout);
      recent = 0;
    }
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  double lastValid;
  {
    torch::NoGradGuard noGrad;
    lastValid = lossOf(model, evalBatch);
  }
  std::printf("validation loss %.4f -> %.4f (%.3f -> %.3f bits/byte); "
              "%.0f tokens/s\n",
              firstValid, lastValid, firstValid / std::log(2.0),
              lastValid / std::log(2.0),
              double(a.steps * a.batch * a.seq) / seconds);
  if (a.sample > 0)
    std::printf("sample: %s\n",
                sampleText(model, "Q: ", a.sample, a.seq, gen).c_str());
  if (!a.save.empty()) {
    torch::serialize::OutputArchive out;
    model->save(out);
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    out.write("optimizer", opt);
    if (base)
      base->save(out);
    out.save_to(a.save);
    std::printf("saved to %s\n", a.save.c_str());
  }
  return lastValid < firstValid ? 0 : 1;
} catch (const c10::Error &e) {
  std::cerr << "rotary-train: " << e.what_without_backtrace() << "\n";
  return 1;
} catch (const std::exception &e) {
  std::cerr << "rotary-train: " << e.what() << "\n";
  return 1;
}
