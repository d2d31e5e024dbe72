//===- FuzzCheckpoint.cpp - libFuzzer target: rotary-train checkpoints ----===//
//
// parseCheckpoint on arbitrary bytes must return a verified checkpoint or
// throw CheckpointError with a message; no other exception, no crash. The
// LibTorch archive inside is read only after its size and SHA-256 check
// out, so the bytes that reach LibTorch are ones rotary-train wrote. An
// accepted checkpoint must format and parse back to the same contents.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <cstdio>
#include <cstdlib>

using namespace rotary::train;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  Checkpoint checkpoint;
  try {
    checkpoint = parseCheckpoint(bytes);
  } catch (const CheckpointError &e) {
    if (!*e.what()) {
      std::fprintf(stderr, "rejected without a message\n");
      std::abort();
    }
    return 0;
  }
  std::string again = formatCheckpoint(checkpoint.config, checkpoint.payload);
  Checkpoint reread = parseCheckpoint(again);
  if (reread.config != checkpoint.config ||
      reread.payload != checkpoint.payload) {
    std::fprintf(stderr, "formatCheckpoint/parseCheckpoint round trip "
                         "changed the checkpoint\n");
    std::abort();
  }
  return 0;
}
