//===- JitCache.h - compile on first use, keep bundles on disk -----*- C++ -*-===//
//
// The JIT of the model library: rotary IR text in, a loaded kernel bundle
// out, compiled once per (IR, compiler version and sources, target,
// options) and kept in a directory the user can set. Entries are written
// to a private temporary directory and renamed into place, so concurrent
// processes never see half an entry and never corrupt one; an entry that
// does not load (truncated, edited, from a crashed writer) is moved aside
// and rebuilt. Compiled with exceptions; names no MLIR type.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_JITCACHE_H
#define ROTARY_TORCH_JITCACHE_H

#include "rotary/Compiler/Compiler.h"
#include "rotary/Runtime/Runtime.h"

#include <memory>
#include <string>

namespace rotary::nn {

/// $ROTARY_CACHE_DIR, else $XDG_CACHE_HOME/rotary, else $HOME/.cache/rotary,
/// else <temp>/rotary-cache.
std::string defaultCacheDirectory();

class JitCache {
public:
  /// A cache in `directory` (created when missing; "" = the default)
  /// compiling with `options`.
  explicit JitCache(std::string directory = "",
                 compiler::CompileOptions options = {});

  /// The bundle of `source`: loaded from its entry when one loads, else
  /// compiled, stored and loaded. `hit` (optional) says which. Throws
  /// std::runtime_error with the compiler's diagnostics when `source` does
  /// not compile.
  std::shared_ptr<runtime::Bundle> get(const std::string &source,
                                       bool *hit = nullptr);

  /// The entry directory `source` maps to (it may not exist yet).
  std::string entryPath(const std::string &source) const;
  const std::string &directory() const { return directory_; }

private:
  std::string directory_;
  compiler::CompileOptions options_;
};

} // namespace rotary::nn

#endif // ROTARY_TORCH_JITCACHE_H
