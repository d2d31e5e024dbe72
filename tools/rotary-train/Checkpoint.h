//===- Checkpoint.h - rotary-train's checkpoint file format -----*- C++ -*-===//
//
// A rotary-train checkpoint is a short text header followed by the LibTorch
// archive of the model, the optimizer, the RoPE base schedule and the data
// generator's state:
//
//   rotary-train checkpoint 2
//   dim=64
//   heads=4
//   ...                      (key=value lines, keys in byte order)
//   payload_bytes=N
//   payload_sha256=HEX
//                            (an empty line)
//   N payload bytes          (torch::serialize::OutputArchive::save_to)
//
// The header records the model configuration, so that --resume can refuse a
// checkpoint made with other model options before LibTorch sees it, and the
// size and SHA-256 of the payload, so that a truncated or corrupted file is
// reported as such. The parser is strict and bounded: it accepts only what
// formatCheckpoint writes (any order of the key lines) and it never reads
// past its input, whatever the bytes (docs/rotary-train.md).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_CHECKPOINT_H
#define ROTARY_TRAIN_CHECKPOINT_H

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rotary::train {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  /// The key=value lines of the header, without payload_bytes and
  /// payload_sha256 (those describe the payload and are checked by the
  /// parser).
  std::map<std::string, std::string> config;
  std::string payload;
};

/// The first line of every checkpoint (without its newline).
inline constexpr std::string_view kCheckpointMagic = "rotary-train checkpoint";
inline constexpr int kCheckpointVersion = 2;
/// The header's bounds: at most this many bytes up to and including the
/// empty line, this many key lines, keys and values of at most this size.
inline constexpr size_t kMaxHeaderBytes = 16384;
inline constexpr size_t kMaxHeaderLines = 64;
inline constexpr size_t kMaxKeyBytes = 64;
inline constexpr size_t kMaxValueBytes = 1024;
/// The model and optimizer options every checkpoint records: a checkpoint
/// can only be resumed with these equal (Options.cpp's modelConfig; the
/// values are compared as text).
inline constexpr const char *kModelKeys[] = {
    "dim",       "heads",      "layers",
    "pos",       "rope_learn", "xpos_scale_base",
    "hdd_chunk", "hdd_form",   "rotations",
    "attn",      "window",     "global",
    "rel_bias",  "conv",       "opt"};

/// Parses and verifies checkpoint bytes (header, size, SHA-256); throws
/// CheckpointError with a message a user understands. Keys are
/// [a-z0-9_]{1,64}, values printable ASCII; every key of kModelKeys must be
/// present.
Checkpoint parseCheckpoint(std::string_view bytes);

/// Serialises header + payload. Throws CheckpointError for a configuration
/// parseCheckpoint would not accept (a bad key or value, a missing model
/// key, or payload_bytes / payload_sha256, which this function writes).
/// parseCheckpoint(formatCheckpoint(c, p)) gives back c and p.
std::string formatCheckpoint(const std::map<std::string, std::string> &config,
                             const std::string &payload);

/// Atomic write (temp file in the same folder, fsync, rename, fsync dir);
/// throws CheckpointError naming the path and the OS error. Whatever
/// happens, `path` holds either its previous contents or `bytes`; only a
/// killed process leaves its temporary file (PATH.tmp-XXXXXX) behind.
void writeFileAtomically(const std::string &path, const std::string &bytes);

/// writeFileAtomically, calling `beforeRename` (when set) once the
/// temporary file is complete, synced and closed, just before the rename
/// (rotary-train's test hook: it kills the process there).
void writeFileAtomicallyWithHook(const std::string &path,
                                 const std::string &bytes,
                                 const std::function<void()> &beforeRename);

/// Checks, before any work is done, that `path` can be written: its folder
/// exists, is a folder and accepts a new file (one is created and removed),
/// and `path` itself, if it exists, is a regular file (not a folder, a
/// device, a FIFO, ...); with `append`, an existing file must also open for
/// appending. Throws CheckpointError with the reason (the caller names the
/// option and the path).
void checkOutputPath(const std::string &path, bool append);

/// The value of a decimal integer: an optional '-' and 1 to 19 digits, no
/// leading zeros, no sign on 0, in int64_t's range; nullopt otherwise.
std::optional<int64_t> parseDecimal(std::string_view text);

} // namespace rotary::train

#endif // ROTARY_TRAIN_CHECKPOINT_H
