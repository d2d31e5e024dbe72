//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// The format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
// version byte, the header length (uint16 in 1.0, uint32 in 2.0, little
// endian), then an ASCII Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n' so the data starts at a multiple of 64
// bytes, then the elements in C order.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Npy.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace rotary;
using namespace rotary::npy;
using bundle::DType;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

bool hostIsLittleEndian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

struct Descr {
  const char *text; ///< little-endian descr
  DType dtype;
};
constexpr Descr kDescrs[] = {
    {"<f4", DType::F32},
    {"<f8", DType::F64},
    {"<i4", DType::I32},
    {"<i8", DType::I64},
};

[[noreturn]] void fail(const std::string &name, const std::string &what) {
  throw Error(name + ": " + what);
}

/// The value of one key of the header dict.
struct Value {
  enum Kind { String, Bool, Tuple, Other } kind = String;
  std::string text;
  bool flag = false;
  std::vector<int64_t> ints;
};

/// Parses the header's Python dict literal (only what .npy writers emit:
/// strings, True/False, tuples of non-negative integers).
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &name)
      : s(text), name(name) {}

  std::vector<std::pair<std::string, Value>> parseDict() {
    std::vector<std::pair<std::string, Value>> items;
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++pos;
        break;
      }
      std::string key = parseString();
      expect(':');
      items.emplace_back(key, parseValue());
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      expect('}');
      break;
    }
    skipSpace();
    if (pos != s.size())
      error("unexpected text after the header dict");
    return items;
  }

private:
  const std::string &s;
  const std::string &name;
  size_t pos = 0;

  [[noreturn]] void error(const std::string &what) {
    fail(name, "malformed .npy header (" + what + " at offset " +
                   std::to_string(pos) + "): " + s);
  }
  void skipSpace() {
    while (pos < s.size() && std::strchr(" \t\r\n", s[pos]))
      ++pos;
  }
  char peek() { return pos < s.size() ? s[pos] : '\0'; }
  void expect(char c) {
    skipSpace();
    if (peek() != c)
      error(std::string("expected '") + c + "'");
    ++pos;
  }
  std::string parseString() {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      error("expected a string");
    size_t end = s.find(quote, pos + 1);
    if (end == std::string::npos)
      error("unterminated string");
    std::string text = s.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return text;
  }
  int64_t parseInt() {
    skipSpace();
    if (!std::isdigit(static_cast<unsigned char>(peek())))
      error("expected a non-negative integer");
    int64_t v = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      if (__builtin_mul_overflow(v, 10, &v) ||
          __builtin_add_overflow(v, s[pos] - '0', &v))
        error("integer out of range");
      ++pos;
    }
    if (peek() == 'L') // Python 2 long
      ++pos;
    return v;
  }
  Value parseValue() {
    skipSpace();
    Value v;
    char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = Value::String;
      v.text = parseString();
    } else if (s.compare(pos, 4, "True") == 0) {
      v.kind = Value::Bool;
      v.flag = true;
      pos += 4;
    } else if (s.compare(pos, 5, "False") == 0) {
      v.kind = Value::Bool;
      pos += 5;
    } else if (c == '[') {
      // A list: only structured dtypes ([('a', '<f4'), ...]); skip it.
      v.kind = Value::Other;
      int depth = 0;
      do {
        if (peek() == '\0')
          error("unterminated list");
        depth += s[pos] == '[' ? 1 : s[pos] == ']' ? -1 : 0;
        ++pos;
      } while (depth > 0);
    } else if (c == '(') {
      const char close = ')';
      v.kind = Value::Tuple;
      ++pos;
      while (true) {
        skipSpace();
        if (peek() == close) {
          ++pos;
          break;
        }
        v.ints.push_back(parseInt());
        skipSpace();
        if (peek() == ',') {
          ++pos;
          continue;
        }
        expect(close);
        break;
      }
    } else {
      error("unsupported value");
    }
    return v;
  }
};

uint32_t readLE(const std::string &bytes, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= uint32_t(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

} // namespace

bool rotary::npy::byteSize(DType dtype, const std::vector<int64_t> &shape,
                           int64_t &numel, int64_t &bytes) {
  numel = 1;
  for (int64_t s : shape)
    if (s < 0 || __builtin_mul_overflow(numel, s, &numel))
      return false;
  return !__builtin_mul_overflow(numel, bundle::dtypeBytes(dtype), &bytes);
}

Array::Array(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  int64_t n, size;
  if (!byteSize(dtype, this->shape, n, size))
    throw Error("invalid array shape " + describe(dtype, this->shape) +
                " (a negative size, or more bytes than 64 bits count)");
  bytes.assign(size_t(size), 0);
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (int64_t s : shape)
    if (__builtin_mul_overflow(n, s, &n))
      throw Error("array shape " + describe(dtype, shape) +
                  " has more elements than 64 bits count");
  return n;
}

bool rotary::npy::isSupported(DType dtype) {
  for (const Descr &d : kDescrs)
    if (d.dtype == dtype)
      return true;
  return false;
}

std::string rotary::npy::describe(DType dtype,
                                  const std::vector<int64_t> &shape) {
  std::string s = std::string(bundle::dtypeName(dtype)) + " [";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Array rotary::npy::parse(const std::string &contents, const std::string &name) {
  if (!hostIsLittleEndian())
    fail(name, ".npy files are supported on little-endian hosts only");
  if (contents.size() < kMagicSize ||
      contents.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
    fail(name, "not a .npy file (no \\x93NUMPY magic)");
  if (contents.size() < kMagicSize + 2)
    fail(name, "truncated .npy file (no version)");
  const int major = static_cast<unsigned char>(contents[6]);
  const int minor = static_cast<unsigned char>(contents[7]);
  if ((major != 1 && major != 2) || minor != 0)
    fail(name, "unsupported .npy version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (supported: 1.0, 2.0)");
  const size_t lengthBytes = major == 1 ? 2 : 4;
  const size_t headerStart = kMagicSize + 2 + lengthBytes;
  if (contents.size() < headerStart)
    fail(name, "truncated .npy file (no header length)");
  const size_t headerLength = readLE(contents, kMagicSize + 2, lengthBytes);
  if (contents.size() - headerStart < headerLength)
    fail(name, "truncated .npy file: the header needs " +
                   std::to_string(headerLength) + " bytes, the file has " +
                   std::to_string(contents.size() - headerStart));
  const std::string header = contents.substr(headerStart, headerLength);

  bool haveDescr = false, haveOrder = false, haveShape = false;
  Array array;
  for (auto &[key, value] : HeaderParser(header, name).parseDict()) {
    if (key == "descr") {
      if (value.kind != Value::String)
        fail(name, "'descr' is not a simple dtype (structured arrays are "
                   "not supported): " +
                       header);
      std::string descr = value.text;
      if (!descr.empty() && descr[0] == '=')
        descr[0] = '<'; // native order on a little-endian host
      const Descr *found = nullptr;
      for (const Descr &d : kDescrs)
        if (descr == d.text)
          found = &d;
      if (!found) {
        if (!descr.empty() && descr[0] == '>')
          fail(name, "big-endian data ('" + value.text +
                         "') is not supported; save it little-endian, e.g. "
                         "a.astype(a.dtype.newbyteorder('<'))");
        fail(name, "unsupported dtype '" + value.text +
                       "' (supported: float32 '<f4', float64 '<f8', int32 "
                       "'<i4', int64 '<i8')");
      }
      array.dtype = found->dtype;
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (value.kind != Value::Bool)
        fail(name, "'fortran_order' is not True or False");
      if (value.flag)
        fail(name, "Fortran-order arrays are not supported; save a C-order "
                   "array (numpy.ascontiguousarray)");
      haveOrder = true;
    } else if (key == "shape") {
      if (value.kind != Value::Tuple)
        fail(name, "'shape' is not a tuple");
      array.shape = value.ints;
      haveShape = true;
    }
  }
  if (!haveDescr || !haveOrder || !haveShape)
    fail(name, std::string("malformed .npy header: missing '") +
                   (!haveDescr   ? "descr"
                    : !haveOrder ? "fortran_order"
                                 : "shape") +
                   "': " + header);

  int64_t numel = 1, bytes = 0;
  if (!byteSize(array.dtype, array.shape, numel, bytes))
    fail(name, "shape " + describe(array.dtype, array.shape) +
                   " has too many elements");
  const size_t dataStart = headerStart + headerLength;
  const size_t available = contents.size() - dataStart;
  if (available < uint64_t(bytes))
    fail(name, "truncated .npy file: " + describe(array.dtype, array.shape) +
                   " needs " + std::to_string(bytes) +
                   " bytes of data, the file has " + std::to_string(available));
  if (available > uint64_t(bytes))
    fail(name, "corrupt .npy file: " + std::to_string(available - bytes) +
                   " bytes after the data of " +
                   describe(array.dtype, array.shape));
  array.bytes.assign(contents.begin() + dataStart, contents.end());
  return array;
}

std::string rotary::npy::serialize(const Array &array) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == array.dtype)
      descr = d.text;
  if (!descr)
    throw Error(std::string("cannot write a .npy file of dtype ") +
                bundle::dtypeName(array.dtype) +
                " (supported: f32, f64, i32, i64)");
  int64_t numel, bytes;
  if (!byteSize(array.dtype, array.shape, numel, bytes))
    throw Error("cannot write a .npy file of shape " +
                describe(array.dtype, array.shape));
  if (int64_t(array.bytes.size()) != bytes)
    throw Error(
        "cannot write a .npy file: " + describe(array.dtype, array.shape) +
        " needs " + std::to_string(bytes) + " bytes, the array holds " +
        std::to_string(array.bytes.size()));
  if (!hostIsLittleEndian())
    throw Error(".npy files are supported on little-endian hosts only");

  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(array.shape[i]);
  shape += array.shape.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 unless the header is too long for its uint16 length.
  int major = 1;
  size_t prefix = kMagicSize + 2 + 2;
  if (prefix + header.size() + 1 > 65535) {
    major = 2;
    prefix = kMagicSize + 2 + 4;
  }
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::string out(kMagic, kMagicSize);
  out += char(major);
  out += char(0);
  const uint32_t length = uint32_t(header.size());
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
    out += char((length >> (8 * i)) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char *>(array.bytes.data()),
             array.bytes.size());
  return out;
}

Array rotary::npy::read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    throw Error(path + ": cannot read: " + std::strerror(errno));
  return parse(contents.str(), path);
}

void rotary::npy::write(const std::string &path, const Array &array) {
  std::string contents;
  try {
    contents = serialize(array);
  } catch (const Error &e) {
    throw Error(path + ": " + e.what());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw Error(path + ": cannot create: " + std::strerror(errno));
  out.write(contents.data(), std::streamsize(contents.size()));
  out.close();
  if (!out)
    throw Error(path + ": cannot write: " + std::strerror(errno));
}
