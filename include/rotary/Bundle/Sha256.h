//===- Sha256.h - SHA-256 without LLVM or OpenSSL ---------------*- C++ -*-===//
//
// The digest that ties a bundle's manifest to its libraries and guards
// rotary-train checkpoints against truncation and corruption. The runtime
// links no LLVM (whose llvm::SHA256 the compiler could use) and no crypto
// library, so this small implementation (FIPS 180-4) is shared by both.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_BUNDLE_SHA256_H
#define ROTARY_BUNDLE_SHA256_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rotary {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  /// The digest of everything updated so far; the object is spent after.
  std::array<uint8_t, 32> final();
  /// final() as 64 lowercase hex digits.
  std::string hexFinal();

  /// The hex digest of `bytes` in one call.
  static std::string hex(std::string_view bytes);

private:
  void block(const uint8_t *p);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

} // namespace rotary

#endif // ROTARY_BUNDLE_SHA256_H
