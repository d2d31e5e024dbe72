//===- FuzzNpy.cpp - libFuzzer target: the .npy reader --------------------===//
//
// npy::parse on arbitrary bytes must return an array whose data matches its
// shape, or throw npy::Error with a message; nothing else. An accepted array
// must serialise and parse back to the same bytes.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Npy.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace rotary;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  npy::Array array;
  try {
    array = npy::parse(bytes, "fuzz.npy");
  } catch (const npy::Error &e) {
    if (!*e.what()) {
      std::fprintf(stderr, "rejected without a message\n");
      std::abort();
    }
    return 0;
  }
  uint64_t bytesNeeded = uint64_t(bundle::dtypeBytes(array.dtype));
  bool overflow = false;
  for (int64_t d : array.shape)
    overflow |= d < 0 || __builtin_mul_overflow(bytesNeeded, uint64_t(d),
                                                &bytesNeeded);
  if (overflow || array.bytes.size() != bytesNeeded) {
    std::fprintf(stderr, "accepted an array whose data does not fit its shape\n");
    std::abort();
  }
  npy::Array again = npy::parse(npy::serialize(array), "again.npy");
  if (again.dtype != array.dtype || again.shape != array.shape ||
      again.bytes != array.bytes) {
    std::fprintf(stderr, "serialize/parse round trip changed the array\n");
    std::abort();
  }
  return 0;
}
