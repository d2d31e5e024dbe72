//===- JitProbe.cpp - one process using the JIT cache ---------------------===//
//
// rotary-jit-probe CACHE_DIR FILE.mlir: gets FILE's bundle through the cache
// in CACHE_DIR and prints "hit" or "miss" and the number of entries it has.
// JitCacheTest runs several at once to check concurrent use.
//
//===----------------------------------------------------------------------===//

#include "rotary/Torch/JitCache.h"

#include <cstdio>
#include <fstream>
#include <sstream>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: rotary-jit-probe CACHE_DIR FILE.mlir\n");
    return 2;
  }
  std::ifstream in(argv[2]);
  std::stringstream source;
  source << in.rdbuf();
  try {
    rotary::nn::JitCache cache(argv[1]);
    bool hit = false;
    auto bundle = cache.get(source.str(), &hit);
    std::printf("%s %zu\n", hit ? "hit" : "miss",
                bundle->manifest().entries.size());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rotary-jit-probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
