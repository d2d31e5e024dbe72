//===- CApiTest.cpp - the C API (rotary_runtime.h) ------------------------===//

#include "rotary/Runtime/rotary_runtime.h"

#include "TestSupport.h"

#include <cstring>
#include <thread>

using namespace rotary;
using namespace rotary::test;

extern "C" int rotary_test_c_api(const char *dir, char *message, size_t size);

namespace {

class CApi : public testing::Test {
protected:
  TempDir dir;
  std::string bundleDir = makeBundle(dir / "test.rotary", testManifest());

  static bool has(const std::string &piece) {
    return std::string(rotary_last_error()).find(piece) != std::string::npos;
  }
};

TEST_F(CApi, FromC) {
  char message[1024] = "";
  EXPECT_EQ(rotary_test_c_api(bundleDir.c_str(), message, sizeof message), 0)
      << message;
}

TEST_F(CApi, LoadErrors) {
  rotary_bundle *b = reinterpret_cast<rotary_bundle *>(1);
  EXPECT_EQ(rotary_bundle_load((dir / "absent").c_str(), &b),
            ROTARY_ERROR_LOAD);
  EXPECT_EQ(b, nullptr);
  EXPECT_TRUE(has("no such directory")) << rotary_last_error();
  bundle::Manifest m = testManifest();
  m.formatVersion = 999;
  EXPECT_EQ(rotary_bundle_load(makeBundle(dir / "v999", m).c_str(), &b),
            ROTARY_ERROR_LOAD);
  EXPECT_TRUE(has("version 999")) << rotary_last_error();
  EXPECT_EQ(rotary_bundle_load(nullptr, &b), ROTARY_ERROR_ARGUMENT);
  EXPECT_EQ(rotary_bundle_load(bundleDir.c_str(), nullptr),
            ROTARY_ERROR_ARGUMENT);
  rotary_bundle_free(nullptr);
}

TEST_F(CApi, ParallelFor) {
  // A launcher from C runs the kernels' parallel loops; NULL restores the
  // runtime's own.
  rotary_bundle *b = nullptr;
  ASSERT_EQ(rotary_bundle_load(bundleDir.c_str(), &b), ROTARY_OK);
  float x[5] = {1, 2, 3, 4, 5}, y[5] = {0};
  int64_t shape[1] = {5};
  rotary_tensor in{x, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, nullptr};
  rotary_tensor out{y, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, nullptr};
  static int launches;
  launches = 0;
  rotary_set_parallel_for([](rotary_parallel_body body, void *ctx, int64_t n) {
    ++launches;
    for (int64_t i = n - 1; i >= 0; --i) // one element at a time, backwards
      body(ctx, i, i + 1);
  });
  EXPECT_EQ(rotary_bundle_call(b, "parallel_double", &in, 1, &out, 1),
            ROTARY_OK)
      << rotary_last_error();
  EXPECT_EQ(launches, 1);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(y[i], 2 * x[i]);
  rotary_set_parallel_for(nullptr);
  std::memset(y, 0, sizeof y);
  EXPECT_EQ(rotary_bundle_call(b, "parallel_double", &in, 1, &out, 1),
            ROTARY_OK);
  EXPECT_EQ(launches, 1);
  EXPECT_EQ(y[4], 10.0f);
  rotary_bundle_free(b);
}

TEST_F(CApi, CallErrors) {
  rotary_bundle *b = nullptr;
  ASSERT_EQ(rotary_bundle_load(bundleDir.c_str(), &b), ROTARY_OK);
  float x[2] = {1, 2}, y[2];
  int64_t shape[1] = {2};
  rotary_tensor in{x, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, nullptr};
  rotary_tensor out{y, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, nullptr};

  EXPECT_EQ(rotary_bundle_call(b, "missing", &in, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("has no entry 'missing'; available: add_one"));
  EXPECT_EQ(rotary_bundle_call(nullptr, "add_one", &in, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_EQ(rotary_bundle_call(b, "add_one", nullptr, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("inputs is NULL but its count is 1")) << rotary_last_error();
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &in, -1, &out, 1),
            ROTARY_ERROR_ARGUMENT);

  rotary_tensor bad = in;
  const int32_t invalid = 42; // what a C caller may store in the enum
  std::memcpy(&bad.dtype, &invalid, sizeof invalid);
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &bad, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("argument 'x' has the invalid dtype 42"));
  bad = in;
  bad.shape = nullptr;
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &bad, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("rank 1 but a NULL shape"));
  bad = in;
  bad.rank = -1;
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &bad, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  bad = in;
  bad.device = ROTARY_DEVICE_CUDA;
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &bad, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("entry 'add_one' runs on the CPU; argument 'x' is on CUDA"));
  // Size 1 with any stride is contiguous; the output shape is then wrong.
  int64_t strides[1] = {2}, one[1] = {1};
  bad = in;
  bad.strides = strides;
  bad.shape = one;
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &bad, 1, &out, 1),
            ROTARY_ERROR_ARGUMENT); // output shape [2] != [1]
  EXPECT_TRUE(has("argument 'y' (output 0) must have shape [1]"));

  // Check failures and invalid statuses.
  EXPECT_EQ(rotary_bundle_call(b, "status_7", nullptr, 0, nullptr, 0),
            ROTARY_ERROR_CHECK);
  EXPECT_TRUE(has("check 7 of entry status_7"));
  EXPECT_EQ(rotary_bundle_call(b, "status_negative", nullptr, 0, nullptr, 0),
            ROTARY_ERROR_INTERNAL);

  // Success clears the message.
  EXPECT_EQ(rotary_bundle_call(b, "add_one", &in, 1, &out, 1), ROTARY_OK);
  EXPECT_STREQ(rotary_last_error(), "");
  EXPECT_EQ(y[1], 3.0f);
  rotary_bundle_free(b);
}

TEST_F(CApi, OutputShape) {
  rotary_bundle *b = nullptr;
  ASSERT_EQ(rotary_bundle_load(bundleDir.c_str(), &b), ROTARY_OK);
  double x[6], s[1];
  int64_t shape[2] = {2, 3};
  rotary_tensor in[2] = {
      {x, ROTARY_F64, ROTARY_DEVICE_CPU, 2, shape, nullptr},
      {s, ROTARY_F64, ROTARY_DEVICE_CPU, 0, nullptr, nullptr}};
  int64_t out[4] = {-1, -1, -1, -1};
  int rank = -1;
  EXPECT_EQ(rotary_bundle_output_shape(b, "scale", in, 2, 0, out, 4, &rank),
            ROTARY_OK);
  EXPECT_EQ(rank, 2);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], 3);
  EXPECT_EQ(rotary_bundle_output_shape(b, "scale", in, 2, 1, nullptr, 0, &rank),
            ROTARY_OK);
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(rotary_bundle_output_shape(b, "scale", in, 2, 0, out, 1, &rank),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_EQ(rank, 2);
  EXPECT_TRUE(has("more than max_rank 1"));
  EXPECT_EQ(rotary_bundle_output_shape(b, "scale", in, 2, 2, out, 4, &rank),
            ROTARY_ERROR_ARGUMENT);
  EXPECT_TRUE(has("has no output 2"));
  rotary_bundle_free(b);
}

TEST_F(CApi, LastErrorIsPerThread) {
  EXPECT_EQ(rotary_bundle_load((dir / "absent").c_str(), nullptr),
            ROTARY_ERROR_ARGUMENT);
  std::string mine = rotary_last_error();
  std::thread([&] {
    EXPECT_STREQ(rotary_last_error(), "");
    rotary_bundle *b;
    EXPECT_EQ(rotary_bundle_load((dir / "absent").c_str(), &b),
              ROTARY_ERROR_LOAD);
  }).join();
  EXPECT_EQ(rotary_last_error(), mine);
}

} // namespace
