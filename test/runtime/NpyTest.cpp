//===- NpyTest.cpp - .npy round trips and bad files -----------------------===//

#include "rotary/Runtime/Npy.h"

#include "TestSupport.h"

#include <cstring>

using namespace rotary;
using namespace rotary::test;
using bundle::DType;

namespace {

/// A .npy file as NumPy writes it (version 1.0 or 2.0), from its header dict.
std::string npyFile(const std::string &dict, const std::string &data,
                    int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + char(major) + char(0);
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
    out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T> std::string raw(std::vector<T> values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

std::string errorOf(const std::string &contents) {
  try {
    npy::parse(contents, "bad.npy");
  } catch (const npy::Error &e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Npy, ParsesNumpyOutput) {
  // Byte for byte what numpy.save(np.arange(6, dtype='<f4').reshape(2, 3))
  // writes.
  std::string file =
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              raw<float>({0, 1, 2, 3, 4, 5}));
  ASSERT_EQ(file.size(), 128u + 24u);
  npy::Array a = npy::parse(file);
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a.numel(), 6);
  EXPECT_EQ(a.as<float>()[5], 5.0f);
  // The writer produces exactly that file.
  EXPECT_EQ(npy::serialize(a), file);
}

TEST(Npy, ScalarsAndOneD) {
  npy::Array s = npy::parse(
      npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
              raw<int64_t>({-42})));
  EXPECT_EQ(s.dtype, DType::I64);
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.as<int64_t>()[0], -42);
  npy::Array v = npy::parse(
      npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
              raw<int32_t>({7, 8, 9})));
  EXPECT_EQ(v.shape, std::vector<int64_t>{3});
  EXPECT_EQ(v.as<int32_t>()[2], 9);
  // Key order, spacing, Python 2 longs and '=' (native) order are accepted.
  npy::Array w = npy::parse(
      npyFile("{\"shape\":(2L,),\"fortran_order\":False,\"descr\":\"=f8\"}",
              raw<double>({1.5, -2.5})));
  EXPECT_EQ(w.dtype, DType::F64);
  EXPECT_EQ(w.as<double>()[1], -2.5);
  EXPECT_NE(npy::serialize(s).find("'shape': (), }"), std::string::npos);
  EXPECT_NE(npy::serialize(v).find("'shape': (3,), }"), std::string::npos);
}

TEST(Npy, Version2) {
  npy::Array a = npy::parse(
      npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }",
              raw<double>({3.0, 4.0}), 2));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a.as<double>()[1], 4.0);
  // A header longer than 64 KiB is written as version 2.0.
  npy::Array big(DType::I32, std::vector<int64_t>(25000, 1));
  big.as<int32_t>()[0] = 17;
  std::string file = npy::serialize(big);
  EXPECT_EQ(file[6], 2);
  EXPECT_EQ(file.size() % 64, 4u); // 64-aligned header, then 4 data bytes
  npy::Array back = npy::parse(file);
  EXPECT_EQ(back.shape.size(), 25000u);
  EXPECT_EQ(back.as<int32_t>()[0], 17);
}

TEST(Npy, RoundTripFiles) {
  TempDir dir;
  struct Case {
    DType dtype;
    std::vector<int64_t> shape;
  };
  for (const Case &c : std::vector<Case>{{DType::F32, {}},
                                         {DType::F64, {5}},
                                         {DType::I32, {2, 3, 4}},
                                         {DType::I64, {0, 3}},
                                         {DType::F32, {1, 1, 1, 1, 7}}}) {
    npy::Array a(c.dtype, c.shape);
    for (size_t i = 0; i < a.bytes.size(); ++i)
      a.bytes[i] = static_cast<unsigned char>(i * 37 + 11);
    std::string path = dir / "a.npy";
    npy::write(path, a);
    std::string file = readFile(path);
    EXPECT_EQ((file.size() - a.bytes.size()) % 64, 0u);
    npy::Array b = npy::read(path);
    EXPECT_EQ(b.dtype, a.dtype);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.bytes, a.bytes);
  }
}

TEST(Npy, Describe) {
  EXPECT_EQ(npy::describe(DType::I64, {}), "i64 []");
  EXPECT_EQ(npy::describe(DType::F32, {2, 3}), "f32 [2, 3]");
  EXPECT_TRUE(npy::isSupported(DType::F64));
  EXPECT_FALSE(npy::isSupported(DType::BF16));
}

TEST(Npy, BadFiles) {
  const std::string f4 =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data = raw<float>({1, 2});
  auto has = [](const std::string &message, const std::string &piece) {
    return message.find(piece) != std::string::npos;
  };
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': "
                      "(2,), }",
                      data)),
      "Fortran-order arrays are not supported");
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': "
                      "(2,), }",
                      data)),
      "big-endian data ('>f4') is not supported");
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': "
                      "(2,), }",
                      raw<int16_t>({1, 2}))),
      "unsupported dtype '<f2'");
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': "
                      "(2,), }",
                      "\1\0")),
      "unsupported dtype '|b1'");
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': '<u4', 'fortran_order': False, 'shape': "
                      "(2,), }",
                      data)),
      "unsupported dtype '<u4'");
  EXPECT_PRED2(
      has,
      errorOf(npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, "
                      "'shape': (2,), }",
                      data)),
      "structured arrays are not supported");
  EXPECT_PRED2(has, errorOf(npyFile(f4, data.substr(0, 5))),
               "truncated .npy file: f32 [2] needs 8 bytes of data, the file "
               "has 5");
  EXPECT_PRED2(has, errorOf(npyFile(f4, data + "xy")), "2 bytes after");
  std::string file = npyFile(f4, data);
  EXPECT_PRED2(has, errorOf(file.substr(0, 40)), "truncated .npy file");
  EXPECT_PRED2(has, errorOf(file.substr(0, 9)), "truncated .npy file");
  EXPECT_PRED2(has, errorOf(file.substr(0, 7)), "truncated .npy file");
  EXPECT_PRED2(has, errorOf(""), "not a .npy file");
  EXPECT_PRED2(has, errorOf("PK\3\4 a zip file"), "not a .npy file");
  std::string v3 = file;
  v3[6] = 3;
  EXPECT_PRED2(has, errorOf(v3), "unsupported .npy version 3.0");
  EXPECT_PRED2(has, errorOf(npyFile("{'descr': '<f4', 'shape': (2,), }", data)),
               "missing 'fortran_order'");
  EXPECT_PRED2(has,
               errorOf(npyFile("{'descr': '<f4', 'fortran_order': "
                               "False, 'shape': (2, -1), }",
                               data)),
               "malformed .npy header");
  EXPECT_PRED2(has, errorOf(npyFile("not a dict", data)),
               "malformed .npy header");
  EXPECT_PRED2(has, errorOf(file), "<no error>");
  // The file name leads every message.
  EXPECT_EQ(errorOf("").rfind("bad.npy: ", 0), 0u);
}

TEST(Npy, FileErrors) {
  TempDir dir;
  try {
    npy::read(dir / "missing.npy");
    FAIL() << "no error";
  } catch (const npy::Error &e) {
    EXPECT_NE(std::string(e.what()).find("missing.npy: cannot open"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(
      npy::write(dir / "no/such/dir/x.npy", npy::Array(DType::F32, {1})),
      npy::Error);
  EXPECT_THROW(npy::serialize(npy::Array(DType::BF16, {1})), npy::Error);
  npy::Array wrongSize(DType::F32, {2});
  wrongSize.bytes.pop_back();
  EXPECT_THROW(npy::serialize(wrongSize), npy::Error);
  EXPECT_THROW(npy::Array(DType::F32, {-1}), npy::Error);
}

} // namespace
