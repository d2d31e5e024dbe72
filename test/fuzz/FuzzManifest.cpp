//===- FuzzManifest.cpp - libFuzzer target: the bundle manifest reader ----===//
//
// bundle::fromJson on arbitrary bytes must return a manifest or an error,
// never crash, hang or throw. A manifest it accepts must survive
// toJson -> fromJson unchanged (the writer and the reader agree).
//
//===----------------------------------------------------------------------===//

#include "rotary/Bundle/Manifest.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size), error;
  std::optional<rotary::bundle::Manifest> manifest =
      rotary::bundle::fromJson(text, error);
  if (!manifest) {
    if (error.empty()) {
      std::fprintf(stderr, "rejected without a message\n");
      std::abort();
    }
    return 0;
  }
  std::string written = rotary::bundle::toJson(*manifest), again;
  std::optional<rotary::bundle::Manifest> reread =
      rotary::bundle::fromJson(written, again);
  if (!reread || !(*reread == *manifest)) {
    std::fprintf(stderr, "toJson/fromJson round trip failed (%s):\n%s\n",
                 again.c_str(), written.c_str());
    std::abort();
  }
  return 0;
}
