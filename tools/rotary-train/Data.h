//===- Data.h - rotary-train's training and validation data -----*- C++ -*-===//
//
// Either a text (bytes of a file or a folder of files; Debian's fortunes by
// default), split 90 % / 10 % into training and validation, or a synthetic
// position-sensitive task whose sequences are made on the fly:
//
//   copy     s_1 .. s_k | s_1 .. s_k      the second half is scored
//   reverse  s_1 .. s_k | s_k .. s_1      the second half is scored
//   recall   k_1 v_1 .. k_n v_n ? k_i v_i the last value is scored
//
// (letters a-z as symbols and keys, digits as values; '.' pads a window).
// Every batch is drawn from a generator the caller owns, so that a
// checkpoint that records the generator's state resumes the same batches.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_DATA_H
#define ROTARY_TRAIN_DATA_H

#include "Options.h"

#include <torch/types.h>

#include <string>

namespace rotary::train {

/// Tokens [B, T] and the targets [B, T] they predict (kIgnored where the
/// position is not scored).
struct Batch {
  torch::Tensor input, target;
  /// The rows [begin, begin + count) of the batch (one process's share).
  Batch rows(int64_t begin, int64_t count) const;
};

/// A target the loss skips (cross_entropy's ignore_index).
inline constexpr int64_t kIgnored = -100;

class Data {
public:
  /// The data --data / --task describe; exits with kBadUsage or kFailed and
  /// a message when the text is missing or too short for --seq and
  /// --eval-seq.
  explicit Data(const Args &a);

  /// "Debian fortunes, 123 bytes of text" or "task copy".
  std::string describe() const;
  /// `batch` training windows of `seq` tokens.
  Batch train(int64_t batch, int64_t seq, torch::Generator &gen) const;
  /// `batch` held-out windows of `seq` tokens, the same for a given seed.
  Batch validation(int64_t batch, int64_t seq, uint64_t seed) const;
  /// Bits per unit of the loss, for the progress lines ("bits/byte").
  const char *unit() const { return task.empty() ? "bits/byte" : "bits/token"; }

private:
  Batch windows(const torch::Tensor &text, int64_t batch, int64_t seq,
                torch::Generator &gen) const;
  Batch taskBatch(int64_t batch, int64_t seq, torch::Generator &gen) const;

  std::string task, source;
  int64_t textBytes = 0;
  torch::Tensor trainText, validText; ///< int64 bytes
};

} // namespace rotary::train

#endif // ROTARY_TRAIN_DATA_H
