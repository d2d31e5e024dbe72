//===- JitCache.cpp - compile on first use, keep bundles on disk ----------===//

#include "rotary/Torch/JitCache.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

using namespace rotary;
namespace fs = std::filesystem;

namespace {
std::string envOr(const char *name) {
  const char *v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

/// A name no other process or thread picks: pid, thread-local random bits.
std::string uniqueSuffix() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   (uint64_t(::getpid()) << 32));
  return std::to_string(::getpid()) + "-" + std::to_string(rng());
}

/// Moves a broken entry out of the way (atomically: a reader sees it or
/// not), then deletes it. Losing the race to another process is fine.
void discard(const fs::path &entry, const fs::path &root) {
  std::error_code ec;
  fs::path trash = root / (".trash-" + uniqueSuffix());
  fs::rename(entry, trash, ec);
  if (!ec)
    fs::remove_all(trash, ec);
}
} // namespace

std::string nn::defaultCacheDirectory() {
  if (std::string d = envOr("ROTARY_CACHE_DIR"); !d.empty())
    return d;
  if (std::string d = envOr("XDG_CACHE_HOME"); !d.empty())
    return d + "/rotary";
  if (std::string d = envOr("HOME"); !d.empty())
    return d + "/.cache/rotary";
  return (fs::temp_directory_path() / "rotary-cache").string();
}

nn::JitCache::JitCache(std::string directory, compiler::CompileOptions options)
    : directory_(directory.empty() ? defaultCacheDirectory()
                                   : std::move(directory)),
      options_(std::move(options)) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || !fs::is_directory(directory_))
    throw std::runtime_error("rotary: cannot create the cache directory '" +
                             directory_ + "': " + ec.message());
}

std::string nn::JitCache::entryPath(const std::string &source) const {
  return (fs::path(directory_) /
          (compiler::bundleKey(source, options_) + ".rotary"))
      .string();
}

std::shared_ptr<runtime::Bundle> nn::JitCache::get(const std::string &source,
                                                 bool *hit) {
  const fs::path entry = entryPath(source), root = directory_;
  std::error_code ec;
  if (fs::exists(entry, ec)) {
    try {
      auto bundle = runtime::Bundle::load(entry.string());
      if (hit)
        *hit = true;
      return bundle;
    } catch (const runtime::Error &) {
      // Truncated or edited files, or a crashed writer's leftovers.
      discard(entry, root);
    }
  }
  if (hit)
    *hit = false;
  // Compile into a private directory, then publish with one rename.
  const fs::path tmp = root / (".tmp-" + uniqueSuffix());
  fs::create_directories(tmp, ec);
  if (ec)
    throw std::runtime_error("rotary: cannot write to the cache directory '" +
                             directory_ + "': " + ec.message());
  const fs::path built = tmp / "bundle.rotary";
  std::string error;
  if (!compiler::compileSourceToBundle(source, "jit.mlir", built.string(),
                                       options_, error)) {
    fs::remove_all(tmp, ec);
    throw std::runtime_error("rotary: JIT compilation failed:\n" + error);
  }
  fs::rename(built, entry, ec);
  // Another process may have published the same entry first (the rename
  // then fails on the non-empty directory): its entry is as good as ours.
  fs::remove_all(tmp, ec);
  return runtime::Bundle::load(entry.string());
}
