//===- Npy.h - read and write NumPy .npy files ------------------*- C++ -*-===//
//
// The .npy format (versions 1.0 and 2.0) for the dtypes rotary-runner and
// the tests exchange with NumPy: f32, f64, i32, i64, little-endian, C order,
// any rank (0-d arrays hold scalars). Fortran order, big-endian data, other
// dtypes and truncated files are rejected with a message naming the file.
// Part of the static library rotary_npy; links neither MLIR nor LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_RUNTIME_NPY_H
#define ROTARY_RUNTIME_NPY_H

#include "rotary/Bundle/Manifest.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rotary::npy {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An n-d array in C order, its elements as raw little-endian bytes.
struct Array {
  bundle::DType dtype = bundle::DType::F32;
  std::vector<int64_t> shape; ///< empty: a 0-d array (one element)
  std::vector<unsigned char> bytes;

  Array() = default;
  /// Zero-filled array of this dtype and shape. Throws Error for a negative
  /// size or a byte size that overflows 64 bits (byteSize), std::bad_alloc
  /// when the memory cannot be allocated.
  Array(bundle::DType dtype, std::vector<int64_t> shape);

  /// The number of elements; throws Error when it overflows 64 bits.
  int64_t numel() const;
  void *data() { return bytes.data(); }
  const void *data() const { return bytes.data(); }
  template <typename T> T *as() { return reinterpret_cast<T *>(bytes.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(bytes.data());
  }
};

/// The element count and byte size of an array of `dtype` and `shape`,
/// multiplied with overflow checks: false (leaving the outputs unspecified)
/// for a negative size or a product that does not fit in int64_t.
bool byteSize(bundle::DType dtype, const std::vector<int64_t> &shape,
              int64_t &numel, int64_t &bytes);

/// True for the dtypes .npy files may hold here (f32, f64, i32, i64).
bool isSupported(bundle::DType dtype);

/// Parses the contents of a .npy file; `name` names it in messages.
Array parse(const std::string &contents, const std::string &name = "<npy>");
/// The contents of a .npy file holding `array` (version 1.0, or 2.0 when the
/// header does not fit in 1.0).
std::string serialize(const Array &array);

/// Reads / writes the file at `path`. Throw npy::Error.
Array read(const std::string &path);
void write(const std::string &path, const Array &array);

/// "f32 [2, 3]"; "f32 []" for a 0-d array.
std::string describe(bundle::DType dtype, const std::vector<int64_t> &shape);

} // namespace rotary::npy

#endif // ROTARY_RUNTIME_NPY_H
