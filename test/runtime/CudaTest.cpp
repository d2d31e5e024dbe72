//===- CudaTest.cpp - the CUDA driver loaded at run time ------------------===//
//
// rotary::runtime::cuda::Driver against FakeCuda.c (every answer a driver
// can give, without a GPU), the CUDA toolkit's stub library when it is
// installed, and a path with no library at all.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Cuda.h"
#include "rotary/Runtime/Runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

using rotary::runtime::Error;
using rotary::runtime::cuda::Driver;
using testing::AllOf;
using testing::HasSubstr;

namespace {
/// Sets an environment variable for the scope.
struct ScopedEnv {
  ScopedEnv(const char *name, const char *value) : name(name) {
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { ::unsetenv(name); }
  const char *name;
};

/// The behaviour of FakeCuda.c for the scope.
struct FakeMode : ScopedEnv {
  explicit FakeMode(const char *mode) : ScopedEnv("ROTARY_FAKE_CUDA", mode) {}
};

/// The message of the Error (of `kind`) that `f` throws.
std::string errorOf(const std::function<void()> &f, Error::Kind kind) {
  try {
    f();
  } catch (const Error &e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no rotary::runtime::Error thrown";
  return "";
}
} // namespace

TEST(Cuda, NoLibrary) {
  std::string m = errorOf([] { Driver::open("/nonexistent/libcuda.so.1"); },
                          Error::Kind::Load);
  EXPECT_THAT(m, AllOf(HasSubstr("rotary: no CUDA GPU: cannot load the CUDA "
                                 "driver library /nonexistent/libcuda.so.1"),
                       HasSubstr("is the NVIDIA driver installed?")));
}

TEST(Cuda, DevicesOfAWorkingDriver) {
  FakeMode ok("");
  std::unique_ptr<Driver> d = Driver::open(ROTARY_FAKE_CUDA);
  EXPECT_EQ(d->version(), 13000);
  ASSERT_EQ(d->deviceCount(), 2);
  EXPECT_EQ(d->deviceName(0), "Fake GPU 0");
  EXPECT_EQ(d->deviceName(1), "Fake GPU 1");
  EXPECT_EQ(d->computeCapability(0), 90);
  EXPECT_EQ(d->computeCapability(1), 80);
  EXPECT_THAT(errorOf([&] { d->deviceName(2); }, Error::Kind::Argument),
              HasSubstr("CUDA device 2 does not exist (the driver sees 2)"));
  EXPECT_THAT(errorOf([&] { d->computeCapability(-1); }, Error::Kind::Argument),
              HasSubstr("CUDA device -1 does not exist"));
  // The driver's own words, and the runtime's table where it has none.
  EXPECT_EQ(d->describe(700), "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory "
                              "access was encountered)");
  EXPECT_EQ(d->describe(218), "CUDA_ERROR_INVALID_PTX");
  EXPECT_EQ(d->describe(12345), "CUDA error 12345");
}

TEST(Cuda, EnvironmentNamesTheLibrary) {
  FakeMode ok("");
  ScopedEnv library("ROTARY_LIBCUDA", ROTARY_FAKE_CUDA);
  EXPECT_EQ(Driver::open()->deviceCount(), 2);
}

TEST(Cuda, StubLibrary) {
  FakeMode stub("stub");
  std::string m =
      errorOf([] { Driver::open(ROTARY_FAKE_CUDA); }, Error::Kind::Load);
  EXPECT_THAT(m, AllOf(HasSubstr("is the CUDA toolkit's stub library, not a "
                                 "driver (CUDA_ERROR_STUB_LIBRARY)"),
                       HasSubstr("install the NVIDIA driver")));
}

TEST(Cuda, NoDevice) {
  FakeMode none("no-device");
  EXPECT_THAT(
      errorOf([] { Driver::open(ROTARY_FAKE_CUDA); }, Error::Kind::Load),
      HasSubstr("rotary: no CUDA GPU: the CUDA driver sees no device "
                "(CUDA_ERROR_NO_DEVICE)"));
}

TEST(Cuda, DriverOlderThanTheKernels) {
  FakeMode old("old");
  EXPECT_THAT(
      errorOf([] { Driver::open(ROTARY_FAKE_CUDA); }, Error::Kind::Load),
      HasSubstr("the CUDA driver is older than the CUDA version of the kernels "
                "(CUDA_ERROR_INSUFFICIENT_DRIVER)"));
}

TEST(Cuda, MissingEntryPoint) {
  FakeMode ok("");
  EXPECT_THAT(errorOf([] { Driver::open(ROTARY_FAKE_CUDA_OLD_ABI); },
                      Error::Kind::Load),
              AllOf(HasSubstr("has no cuGetErrorString"),
                    HasSubstr("the driver is too old")));
}

// The real stub of the CUDA toolkit, where one is installed.
TEST(Cuda, ToolkitStubLibrary) {
  const char *home = std::getenv("CUDA_HOME");
  std::filesystem::path stub =
      std::filesystem::path(home ? home : "/usr/local/cuda") / "lib64" /
      "stubs" / "libcuda.so";
  if (!std::filesystem::exists(stub))
    GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  EXPECT_THAT(errorOf([&] { Driver::open(stub.string()); }, Error::Kind::Load),
              HasSubstr("is the CUDA toolkit's stub library, not a driver "
                        "(CUDA_ERROR_STUB_LIBRARY)"));
}

// The process's driver: on a machine without a GPU, one line saying why
// (and the same line on every call); with one, its devices.
TEST(Cuda, ProcessDriver) {
  std::string why;
  if (!Driver::available(&why)) {
    EXPECT_THAT(why, HasSubstr("rotary: no CUDA GPU: "));
    std::string again;
    EXPECT_FALSE(Driver::available(&again));
    EXPECT_EQ(again, why);
    EXPECT_EQ(errorOf([] { Driver::get(); }, Error::Kind::Load), why);
    return;
  }
  EXPECT_GE(Driver::get().deviceCount(), 1);
  EXPECT_GE(Driver::get().computeCapability(0), 50);
}
