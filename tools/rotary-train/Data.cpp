//===- Data.cpp - rotary-train's training and validation data -------------===//

#include "Data.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fs = std::filesystem;
using namespace rotary::train;

namespace {
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

constexpr int64_t kLetters = 26, kDigits = 10;
constexpr char kSeparator = '|', kQuery = '?', kPad = '.';
} // namespace

Batch Batch::rows(int64_t begin, int64_t count) const {
  return {input.narrow(0, begin, count).contiguous(),
          target.narrow(0, begin, count).contiguous()};
}

Data::Data(const Args &a) : task(a.task) {
  if (!task.empty())
    return;
  std::string hint = a.data == kDefaultData
                         ? "; install Debian's fortunes-min (scripts/setup "
                           "does)"
                         : "";
  std::error_code ec;
  if (!fs::exists(a.data, ec))
    fail(kBadUsage, "--data " + a.data + ": no such file or folder" + hint);
  std::string text = readText(a.data);
  if (text.empty())
    fail(kFailed, "no usable text in '" + a.data + "' (0 bytes)" + hint);
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
  int64_t validBytes = int64_t(text.size()) - int64_t(text.size()) * 9 / 10;
  for (int64_t l : a.evalSeq)
    if (validBytes < l + 1)
      fail(kBadUsage, "--eval-seq " + std::to_string(l) +
                          ": the 10 % validation split holds " +
                          std::to_string(validBytes) +
                          " bytes, fewer than a window of " +
                          std::to_string(l + 1));

  source = a.data == kDefaultData ? "Debian fortunes" : a.data;
  textBytes = int64_t(text.size());
  torch::Tensor bytes =
      torch::from_blob(text.data(), {textBytes}, torch::kUInt8)
          .to(torch::kInt64);
  int64_t split = textBytes * 9 / 10;
  trainText = bytes.narrow(0, 0, split);
  validText = bytes.narrow(0, split, textBytes - split);
}

std::string Data::describe() const {
  if (!task.empty())
    return "task " + task;
  return source + ", " + std::to_string(textBytes) + " bytes of text";
}

Batch Data::train(int64_t batch, int64_t seq, torch::Generator &gen) const {
  return task.empty() ? windows(trainText, batch, seq, gen)
                      : taskBatch(batch, seq, gen);
}

Batch Data::validation(int64_t batch, int64_t seq, uint64_t seed) const {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  return task.empty() ? windows(validText, batch, seq, gen)
                      : taskBatch(batch, seq, gen);
}

Batch Data::windows(const torch::Tensor &text, int64_t batch, int64_t seq,
                    torch::Generator &gen) const {
  using torch::indexing::None;
  using torch::indexing::Slice;
  // `batch` windows of seq + 1 bytes at random offsets.
  torch::Tensor starts =
      torch::randint(0, text.size(0) - seq, {batch}, gen, torch::kInt64);
  torch::Tensor offsets = torch::arange(seq + 1, torch::kInt64);
  torch::Tensor w = text.index({starts.unsqueeze(1) + offsets.unsqueeze(0)});
  return {w.index({Slice(), Slice(0, -1)}).contiguous(),
          w.index({Slice(), Slice(1, None)}).contiguous()};
}

Batch Data::taskBatch(int64_t batch, int64_t seq, torch::Generator &gen) const {
  int64_t length = seq + 1; // a window: inputs are [0, seq), targets [1, seq]
  torch::Tensor tokens = torch::full({batch, length}, int64_t(kPad));
  torch::Tensor scored = torch::zeros({batch, length}, torch::kBool);
  auto t = tokens.accessor<int64_t, 2>();
  auto s = scored.accessor<bool, 2>();
  if (task == "recall") {
    // n distinct keys with their values, '?', a key, its value.
    int64_t n = std::min(kLetters, (length - 3) / 2);
    for (int64_t b = 0; b < batch; ++b) {
      torch::Tensor keys =
          torch::randperm(kLetters, gen, torch::kInt64).narrow(0, 0, n);
      torch::Tensor values = torch::randint(0, kDigits, {n}, gen);
      int64_t asked =
          torch::randint(0, n, {1}, gen, torch::kInt64).item<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        t[b][2 * i] = 'a' + keys[i].item<int64_t>();
        t[b][2 * i + 1] = '0' + values[i].item<int64_t>();
      }
      t[b][2 * n] = kQuery;
      t[b][2 * n + 1] = t[b][2 * asked];
      t[b][2 * n + 2] = t[b][2 * asked + 1];
      s[b][2 * n + 2] = true;
    }
  } else {
    // k symbols, '|', the same k symbols (reversed for "reverse").
    int64_t k = (length - 1) / 2;
    torch::Tensor symbols = torch::randint(0, kLetters, {batch, k}, gen);
    auto sym = symbols.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batch; ++b) {
      t[b][k] = kSeparator;
      for (int64_t i = 0; i < k; ++i) {
        t[b][i] = 'a' + sym[b][i];
        t[b][k + 1 + i] = 'a' + sym[b][task == "reverse" ? k - 1 - i : i];
        s[b][k + 1 + i] = true;
      }
    }
  }
  using torch::indexing::None;
  using torch::indexing::Slice;
  torch::Tensor target = tokens.index({Slice(), Slice(1, None)}).clone();
  target.masked_fill_(~scored.index({Slice(), Slice(1, None)}), kIgnored);
  return {tokens.index({Slice(), Slice(0, -1)}).contiguous(), target};
}
