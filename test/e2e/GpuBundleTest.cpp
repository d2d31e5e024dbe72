//===- GpuBundleTest.cpp - bundles with GPU code, without a GPU -----------===//
//
// CompileOptions::gpuChips puts PTX (and cubins where ptxas is found) and a
// host library beside the CPU library; the runtime checks the PTX against
// the host code's launches on load and runs CUDA tensors through the
// driver. Here the driver is the stand-in of test/runtime/FakeCuda.c:
// device memory is host memory it knows, and a launch is logged (kernel,
// grid, block, the parameter count its PTX declares) instead of run. What
// is left for a GPU: the kernels' results (scripts/gpu-check).
//
//===----------------------------------------------------------------------===//

#include "Harness.h"

#include "rotary/Bundle/Manifest.h"
#include "rotary/Runtime/Cuda.h"

#include <gmock/gmock.h>

#include <dlfcn.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

using namespace rotary;
using namespace rotary::e2e;
using runtime::TensorRef;
using ::testing::HasSubstr;

namespace {

const char *kFamSource = R"mlir(
func.func @entry(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>,
                 %lr: tensor<f32>, %alpha_eff: tensor<f32>)
    -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %alpha_eff
      : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}
)mlir";

compiler::CompileOptions gpuOptions() {
  compiler::CompileOptions options;
  options.gpuChips = {"sm_80", "sm_90"};
  return options;
}

/// The fake driver's launch log (FakeCuda.c), read through the library the
/// runtime opened.
std::string fakeLog() {
  void *fake = ::dlopen(ROTARY_FAKE_CUDA, RTLD_NOW | RTLD_NOLOAD);
  if (!fake)
    return "<the fake driver is not loaded>";
  auto log =
      reinterpret_cast<const char *(*)()>(::dlsym(fake, "fake_cuda_log"));
  std::string text = log ? log() : "<no fake_cuda_log>";
  ::dlclose(fake);
  return text;
}

/// The launch lines of a fake driver log, in order.
std::vector<std::string> launchesOf(const std::string &log) {
  std::istringstream lines(log);
  std::vector<std::string> launches;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("launch ", 0) == 0)
      launches.push_back(line);
  return launches;
}

/// The kernel a launch line names.
std::string kernelOf(const std::string &launch) {
  return launch.substr(7, launch.find(' ', 7) - 7);
}

/// Whether this process opened the driver already: it does so once, and
/// ctest runs each test in a process of its own, but a run of the whole
/// binary shares one.
bool driverOpened() {
  void *fake = ::dlopen(ROTARY_FAKE_CUDA, RTLD_NOW | RTLD_NOLOAD);
  if (fake)
    ::dlclose(fake);
  return fake != nullptr;
}

/// The fake driver, with device 0 of compute capability `cc`, and an empty
/// log.
void useFakeDriver(const char *cc = "90") {
  ::setenv("ROTARY_LIBCUDA", ROTARY_FAKE_CUDA, 1);
  ::setenv("ROTARY_FAKE_CUDA_CC", cc, 1);
  ::unsetenv("ROTARY_FAKE_CUDA");
  if (void *fake = ::dlopen(ROTARY_FAKE_CUDA, RTLD_NOW | RTLD_NOLOAD)) {
    if (auto clear =
            reinterpret_cast<void (*)()>(::dlsym(fake, "fake_cuda_clear_log")))
      clear();
    ::dlclose(fake);
  }
}

#define SKIP_UNLESS_FRESH_PROCESS()                                            \
  if (driverOpened())                                                          \
  GTEST_SKIP() << "an earlier test of this process opened the driver; run "    \
                  "this test alone (as ctest does)"

/// A CUDA tensor of `shape` in fake device memory.
TensorRef deviceTensor(std::vector<runtime::cuda::DeviceBuffer> &buffers,
                       const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  buffers.emplace_back(0, size_t(n) * 4);
  return TensorRef(buffers.back().data(), bundle::DType::F32, shape,
                   std::vector<int64_t>{}, TensorRef::Device::CUDA);
}

/// One call of the entry on fresh device tensors of these shapes (the
/// stand-in driver logs its launches).
void callOnDevice(const Kernel &kernel,
                  const std::vector<std::vector<int64_t>> &inShapes,
                  const std::vector<std::vector<int64_t>> &outShapes) {
  std::vector<runtime::cuda::DeviceBuffer> buffers;
  buffers.reserve(inShapes.size() + outShapes.size());
  std::vector<TensorRef> in, out;
  for (const std::vector<int64_t> &shape : inShapes)
    in.push_back(deviceTensor(buffers, shape));
  for (const std::vector<int64_t> &shape : outShapes)
    out.push_back(deviceTensor(buffers, shape));
  kernel.bundle().call(kEntry, in, out, runtime::CallOptions());
}

/// Device buffers for the FAM step's tensors of length n.
struct FamBuffers {
  std::vector<runtime::cuda::DeviceBuffer> buffers;
  std::vector<TensorRef> inputRefs, outputRefs;
  explicit FamBuffers(int64_t n) {
    buffers.reserve(7);
    for (int i = 0; i < 5; ++i)
      inputRefs.push_back(deviceTensor(
          buffers, i < 3 ? std::vector<int64_t>{n} : std::vector<int64_t>{}));
    for (int i = 0; i < 2; ++i)
      outputRefs.push_back(deviceTensor(buffers, {n}));
  }
};

const bundle::GpuKernel *findKernel(const bundle::Manifest &m,
                                    const std::string &name) {
  for (const bundle::GpuKernel &k : m.gpu->kernels)
    if (k.name == name)
      return &k;
  return nullptr;
}

/// Checks that the fake driver's `launch` ran a kernel of `m` with as many
/// parameters as the manifest declares (the count the runtime compared
/// with the host code's launch).
void expectManifestKernel(const bundle::Manifest &m,
                          const std::string &launch) {
  const bundle::GpuKernel *k = findKernel(m, kernelOf(launch));
  ASSERT_TRUE(k) << launch;
  EXPECT_THAT(launch, HasSubstr(" params=" + std::to_string(k->params.size())));
}

TEST(GpuBundle, ManifestDescribesTheKernels) {
  ROTARY_COMPILE_WITH(kernel, kFamSource, gpuOptions());
  const bundle::Manifest &m = kernel->manifest();
  ASSERT_TRUE(m.gpu);
  EXPECT_EQ(m.gpu->hostLibrary, bundle::kGpuHostLibrary);
  ASSERT_EQ(m.gpu->objects.size(), 2u);
  EXPECT_EQ(m.gpu->objects[0].chip, "sm_80");
  EXPECT_EQ(m.gpu->objects[1].chip, "sm_90");
  // The FAM step in its two forms (128-bit accesses, or one element per
  // thread), each one kernel of 256-thread blocks for the entry and its
  // gradient-free bundle.
  ASSERT_GE(m.gpu->kernels.size(), 2u);
  for (const bundle::GpuKernel &k : m.gpu->kernels) {
    EXPECT_THAT(k.name, HasSubstr("entry_kernel"));
    EXPECT_EQ(k.block, (std::vector<int64_t>{256, 1, 1}));
    EXPECT_EQ(k.sharedBytes, 0);
    // The loop's size, then memref descriptors: pointers and sizes.
    ASSERT_FALSE(k.params.empty());
    EXPECT_EQ(k.params[0], "i64");
    EXPECT_THAT(k.params, ::testing::Contains("ptr"));
  }
  for (const bundle::GpuObject &o : m.gpu->objects) {
    std::ifstream ptx(kernel->directory() + "/" + o.ptx);
    std::stringstream text;
    text << ptx.rdbuf();
    EXPECT_THAT(text.str(), HasSubstr(".target " + o.chip));
    for (const bundle::GpuKernel &k : m.gpu->kernels)
      EXPECT_THAT(text.str(), HasSubstr(".visible .entry " + k.name + "("));
  }
}

TEST(GpuBundle, LaunchesThroughTheDriver) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("86"); // no sm_86 cubin: the sm_80 PTX, compiled by the driver
  ROTARY_COMPILE_WITH(kernel, kFamSource, gpuOptions());
  const bundle::Manifest &m = kernel->manifest();
  // n = 1000: a multiple of 4 with aligned buffers, the vector form; 250
  // threads, one block. n = 1001: one element per thread, 4 blocks.
  for (int64_t n : {1000, 1001}) {
    FamBuffers buffers(n);
    kernel->bundle().call(kEntry, buffers.inputRefs, buffers.outputRefs,
                          runtime::CallOptions());
  }
  std::string log = fakeLog();
  EXPECT_THAT(log, HasSubstr("load ptx\n")) << log;
  EXPECT_THAT(log, ::testing::Not(HasSubstr("load cubin"))) << log;
  // One module load per context, one launch per call.
  std::vector<std::string> launches = launchesOf(log);
  ASSERT_EQ(launches.size(), 2u) << log;
  EXPECT_THAT(launches[0], HasSubstr(" grid=1,1,1 block=256,1,1 shared=0 "));
  EXPECT_THAT(launches[1], HasSubstr(" grid=4,1,1 block=256,1,1 shared=0 "));
  // The PTX declares as many parameters as the manifest.
  for (const std::string &launch : launches)
    expectManifestKernel(m, launch);
}

/// The fake driver's log of one FAM step on a sm_90 device, compiled with
/// cubins; nullopt when the toolkit has no ptxas to make them. A failed
/// compilation is a failure of the test, not a reason to skip it.
std::optional<std::string> logOfCubinCall() {
  useFakeDriver("90");
  auto kernel = Kernel::compile(kFamSource, gpuOptions());
  if (!kernel) {
    ADD_FAILURE() << "compilation failed";
    return std::string();
  }
  if (kernel->manifest().gpu->objects[1].cubin.empty())
    return std::nullopt;
  FamBuffers buffers(64);
  kernel->bundle().call(kEntry, buffers.inputRefs, buffers.outputRefs,
                        runtime::CallOptions());
  return fakeLog();
}

TEST(GpuBundle, TheExactArchitectureLoadsItsCubin) {
  SKIP_UNLESS_FRESH_PROCESS();
  std::optional<std::string> log = logOfCubinCall();
  if (!log)
    GTEST_SKIP() << "no ptxas in the CUDA toolkit: the bundle has PTX only";
  EXPECT_THAT(*log, HasSubstr("load cubin\nlaunch entry_kernel")) << *log;
}

TEST(GpuBundle, ACubinTheDriverRefusesFallsBackToPtx) {
  SKIP_UNLESS_FRESH_PROCESS();
  ::setenv("ROTARY_FAKE_CUDA_OLD_CUBIN", "1", 1);
  std::optional<std::string> log = logOfCubinCall();
  if (!log)
    GTEST_SKIP() << "no ptxas in the CUDA toolkit: the bundle has PTX only";
  EXPECT_THAT(*log, HasSubstr("refuse cubin\nload ptx\nlaunch entry_kernel"))
      << *log;
}

TEST(GpuBundle, RunTimeChecksRunOnTheHost) {
  useFakeDriver();
  ROTARY_COMPILE_WITH(kernel, kFamSource, gpuOptions());
  FamBuffers buffers(16);
  // g shorter than p: the entry's own check, before any launch.
  runtime::cuda::DeviceBuffer shortG(0, 8 * 4);
  buffers.inputRefs[1] = TensorRef(shortG.data(), bundle::DType::F32, {8}, {},
                                   TensorRef::Device::CUDA);
  try {
    kernel->bundle().call(kEntry, buffers.inputRefs, buffers.outputRefs,
                          runtime::CallOptions());
    FAIL() << "a mismatched shape ran";
  } catch (const runtime::Error &e) {
    EXPECT_EQ(e.kind(), runtime::Error::Kind::Check) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("operand 'grad' must have shape like "
                                    "'param'"));
  }
  EXPECT_THAT(fakeLog(), ::testing::Not(HasSubstr("launch"))) << fakeLog();
}

TEST(GpuBundle, RefusesHostMemoryAndMixedDevices) {
  useFakeDriver();
  ROTARY_COMPILE_WITH(kernel, kFamSource, gpuOptions());
  FamBuffers buffers(16);
  std::vector<float> host(16);
  auto hostAsCuda = buffers.inputRefs;
  hostAsCuda[0].data = host.data();
  try {
    kernel->bundle().call(kEntry, hostAsCuda, buffers.outputRefs,
                          runtime::CallOptions());
    FAIL() << "host memory ran as a CUDA tensor";
  } catch (const runtime::Error &e) {
    EXPECT_EQ(e.kind(), runtime::Error::Kind::Argument);
    EXPECT_THAT(e.what(), HasSubstr("argument 'p' is a CUDA tensor, but its "
                                    "data at"));
    EXPECT_THAT(e.what(), HasSubstr("is not CUDA device memory"));
  }
  auto mixed = buffers.outputRefs;
  mixed[1] = TensorRef(host.data(), bundle::DType::F32, {16});
  try {
    kernel->bundle().call(kEntry, buffers.inputRefs, mixed,
                          runtime::CallOptions());
    FAIL() << "a CPU output ran with CUDA inputs";
  } catch (const runtime::Error &e) {
    EXPECT_THAT(e.what(), HasSubstr("runs on CUDA for these tensors; "
                                    "argument 'result1' is on CPU (all "
                                    "tensors of a call must be on one "
                                    "device)"));
  }
}

TEST(GpuBundle, CpuOnlyBundlesAndMissingDriversSayWhy) {
  SKIP_UNLESS_FRESH_PROCESS();
  ::setenv("ROTARY_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  ROTARY_COMPILE(cpuOnly, kFamSource);
  std::vector<float> data(16);
  TensorRef cuda(data.data(), bundle::DType::F32, {16}, {},
                 TensorRef::Device::CUDA);
  TensorRef scalar(data.data(), bundle::DType::F32, {}, {},
                   TensorRef::Device::CUDA);
  std::vector<TensorRef> inputs = {cuda, cuda, cuda, scalar, scalar};
  try {
    cpuOnly->bundle().call(kEntry, inputs, {cuda, cuda},
                           runtime::CallOptions());
    FAIL();
  } catch (const runtime::Error &e) {
    EXPECT_THAT(e.what(), HasSubstr("runs on the CPU; argument 'p' is on "
                                    "CUDA (the bundle has no GPU code: "
                                    "compile it with --gpu=sm_80,sm_90"));
  }
  ROTARY_COMPILE_WITH(gpu, kFamSource, gpuOptions());
  try {
    gpu->bundle().call(kEntry, inputs, {cuda, cuda}, runtime::CallOptions());
    FAIL();
  } catch (const runtime::Error &e) {
    EXPECT_THAT(e.what(), HasSubstr("rotary: no CUDA GPU: cannot load the "
                                    "CUDA driver library"));
  }
  // The CPU path of the same bundle is untouched.
  torch::Tensor p = randn32({16}), g = randn32({16}), m = randn32({16});
  torch::Tensor lr = torch::tensor(0.1f), alpha = torch::tensor(0.5f);
  std::vector<torch::Tensor> out = gpu->run({p, g, m, lr, alpha});
  EXPECT_EQ(out.size(), 2u);
}

const char *kHddSource = R"mlir(
func.func @entry(%x: tensor<?x?x?x?xf32>, %a: tensor<?x?x?x?x6xf32>)
    -> tensor<?x?x?x?xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?x6xf32>
  return %y : tensor<?x?x?x?xf32>
}
)mlir";

// HDD-RoPE's GPU entry runs the four launches of its blocked scan (the
// blocks' products, the carries' identity, the carries, each block again
// from its carry writing y), each a kernel the manifest and the PTX agree
// on, with its temporaries in device memory; at T = 1 as at T = 70 (three
// blocks of 32 tokens).
TEST(GpuBundle, HDDRopeLaunchesEveryStage) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("86"); // the sm_80 PTX, whose parameters the log counts
  ROTARY_COMPILE_WITH(kernel, kHddSource, gpuOptions());
  const bundle::Manifest &m = kernel->manifest();
  for (int64_t T : {1, 70})
    callOnDevice(*kernel, {{2, T, 3, 8}, {2, T, 3, 2, 6}}, {{2, T, 3, 8}});
  std::vector<std::string> launches = launchesOf(fakeLog());
  ASSERT_EQ(launches.size(), 2u * 4) << fakeLog();
  std::set<std::string> kernels;
  for (const std::string &launch : launches) {
    kernels.insert(kernelOf(launch));
    expectManifestKernel(m, launch);
  }
  EXPECT_EQ(kernels.size(), 4u) << fakeLog();
}

const char *kCumulativeSource = R"mlir(
func.func @entry(%g: tensor<?x?x?x16x16xf32>) -> tensor<?x?x?x16x16xf32> {
  %p = rotary.cumulative_rotation %g : tensor<?x?x?x16x16xf32>
  return %p : tensor<?x?x?x16x16xf32>
}
)mlir";

// A cumulative product of 16 x 16 rotations: its blocked scan's threads take
// two rows of a product each, so at G [2, 70, 3, 16, 16] (three blocks of 32
// steps) the blocks' products are 2·3·3·8 = 144 threads and the scan of the
// block totals 2·3·8 = 48, each one block of 256; the fix-up is a thread
// per entry of P, 2·70·3·256 = 107520 threads in 420 blocks. Every launch
// is a kernel of the manifest with its parameters.
TEST(GpuBundle, CumulativeRotationTakesRowsPerThread) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("86");
  ROTARY_COMPILE_WITH(kernel, kCumulativeSource, gpuOptions());
  callOnDevice(*kernel, {{2, 70, 3, 16, 16}}, {{2, 70, 3, 16, 16}});
  std::vector<std::string> launches = launchesOf(fakeLog());
  ASSERT_GE(launches.size(), 3u) << fakeLog();
  int64_t oneBlock = 0, fixUp = 0;
  for (const std::string &launch : launches) {
    expectManifestKernel(kernel->manifest(), launch);
    oneBlock += launch.find(" grid=1,1,1 block=256,1,1 ") != std::string::npos;
    fixUp += launch.find(" grid=420,1,1 block=256,1,1 ") != std::string::npos;
  }
  EXPECT_GE(oneBlock, 2) << fakeLog();
  EXPECT_EQ(fixUp, 1) << fakeLog();
}

const char *kHDDLargeChunkSource = R"mlir(
func.func @entry(%x: tensor<?x?x?x32xf32>, %a: tensor<?x?x?x2x120xf32>)
    -> tensor<?x?x?x32xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 16 : i64}
      : tensor<?x?x?x32xf32>, tensor<?x?x?x2x120xf32>
  return %y : tensor<?x?x?x32xf32>
}
)mlir";

// The fused HDD-RoPE with chunks of 16 gives a thread two rows of P: at x
// [2, 70, 3, 32] (6 chunks per token, 720 angles) the cos/sin table is
// 2·70·720 / 4 = 25200 threads of four angles (99 blocks of 256); the
// block products a thread per (batch entry, block of 32 tokens, chunk,
// pair of rows), 2·3·6·8 = 288 threads (2 blocks); the identity carries
// 2·6·256 entries (12 blocks); the scan of the totals 2·6·8 = 96 threads
// (1 block); the application 288 threads again. Every launch is a kernel
// of the manifest with its parameters.
TEST(GpuBundle, HDDRopeLargeChunkTakesRowsPerThread) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("86");
  ROTARY_COMPILE_WITH(kernel, kHDDLargeChunkSource, gpuOptions());
  callOnDevice(*kernel, {{2, 70, 3, 32}, {2, 70, 3, 2, 120}}, {{2, 70, 3, 32}});
  std::vector<std::string> launches = launchesOf(fakeLog());
  ASSERT_EQ(launches.size(), 5u) << fakeLog();
  const std::vector<std::string> grids = {"99", "2", "12", "1", "2"};
  for (size_t i = 0; i < grids.size(); ++i) {
    const std::string &launch = launches[i];
    EXPECT_THAT(launch, HasSubstr(" grid=" + grids[i] + ",1,1 block=256,1,1 "));
    expectManifestKernel(kernel->manifest(), launch);
  }
}

const char *kAttentionSource = R"mlir(
func.func @entry(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>,
                 %v: tensor<?x?x?x64xf32>) -> tensor<?x?x?x64xf32> {
  %o, %lse = rotary.attention %q, %k, %v {causal}
      : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>
  return %o : tensor<?x?x?x64xf32>
}
)mlir";

// Attention's GPU entry is one launch of a block per (b, h, tile of 32
// queries), each of 64 threads with its tiles in static shared memory (no
// dynamic shared memory at launch): 2·3 blocks at T = 1, 2·3·3 at T = 70.
TEST(GpuBundle, AttentionLaunchesABlockPerTile) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("86");
  ROTARY_COMPILE_WITH(kernel, kAttentionSource, gpuOptions());
  for (int64_t T : {1, 70}) {
    std::vector<int64_t> shape = {2, 3, T, 64};
    callOnDevice(*kernel, {shape, shape, shape}, {shape});
  }
  std::vector<std::string> launches = launchesOf(fakeLog());
  ASSERT_EQ(launches.size(), 2u) << fakeLog();
  EXPECT_THAT(launches[0], HasSubstr(" grid=6,1,1 block=64,1,1 shared=0 "));
  EXPECT_THAT(launches[1], HasSubstr(" grid=18,1,1 block=64,1,1 shared=0 "));
  expectManifestKernel(kernel->manifest(), launches[0]);
}

const char *kAttentionDynamicSource = R"mlir(
func.func @entry(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                 %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o, %lse = rotary.attention %q, %k, %v {causal}
      : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}
)mlir";

// With the head dimension known only at run time, the tiles that grow
// with it (the scaled queries, the transposed keys, the values, the
// accumulators: four [32, D] f32) are dynamic shared memory the host code
// sizes at each launch, 512·D bytes: 4096 at D = 8; at D = 160, 81920,
// more than the 48 KiB a kernel gets without opting in, so the runtime
// raises the kernel's limit first; at D = 700, 358400, more than the
// device allows a block (227 KiB): a clear error before any launch.
TEST(GpuBundle, AttentionSizesSharedMemoryAtLaunch) {
  SKIP_UNLESS_FRESH_PROCESS();
  useFakeDriver("90");
  ROTARY_COMPILE_WITH(kernel, kAttentionDynamicSource, gpuOptions());
  const bundle::GpuKernel *atLaunch = nullptr;
  for (const bundle::GpuKernel &k : kernel->manifest().gpu->kernels)
    if (k.sharedAtLaunch)
      atLaunch = &k;
  ASSERT_TRUE(atLaunch) << "no kernel sizes its shared memory at launch";
  EXPECT_EQ(atLaunch->sharedBytes, 0);
  auto run = [&](int64_t D) {
    std::vector<int64_t> shape = {1, 2, 5, D};
    callOnDevice(*kernel, {shape, shape, shape}, {shape});
  };
  // Every kernel has 9088 bytes of static shared memory, which the limit
  // counts too (the runtime asks once per kernel).
  ::setenv("ROTARY_FAKE_CUDA_STATIC_SHARED", "9088", 1);
  run(8);   // 4096 dynamic bytes: no opt-in
  run(90);  // 46080, 55168 in all: opts in
  run(160); // 81920: opts in further
  run(160); // allowed already
  run(90);  // allowed already (never lowered)
  ::unsetenv("ROTARY_FAKE_CUDA_STATIC_SHARED");
  std::vector<std::string> launches = launchesOf(fakeLog());
  ASSERT_EQ(launches.size(), 5u) << fakeLog();
  for (auto [i, bytes] : {std::pair{0, 4096}, std::pair{1, 46080},
                          std::pair{2, 81920}, std::pair{4, 46080}})
    EXPECT_THAT(launches[size_t(i)],
                HasSubstr(" grid=2,1,1 block=64,1,1 shared=" +
                          std::to_string(bytes) + " "));
  const std::string attribute = "attribute " + atLaunch->name + " ";
  EXPECT_THAT(fakeLog(),
              HasSubstr(attribute + "max_dynamic_shared=46080\nlaunch " +
                        atLaunch->name +
                        " grid=2,1,1 block=64,1,1 "
                        "shared=46080 "));
  EXPECT_THAT(fakeLog(), HasSubstr(attribute + "max_dynamic_shared=81920\n"));
  std::string log = fakeLog();
  size_t optIns = 0;
  for (size_t at = log.find(attribute); at != std::string::npos;
       at = log.find(attribute, at + 1))
    ++optIns;
  EXPECT_EQ(optIns, 2u) << log;
  try {
    run(700);
    FAIL() << "a block with 358400 bytes of shared memory was launched";
  } catch (const runtime::Error &e) {
    EXPECT_EQ(e.kind(), runtime::Error::Kind::Argument);
    EXPECT_THAT(e.what(), HasSubstr("kernel '" + atLaunch->name + "'"));
    EXPECT_THAT(e.what(), HasSubstr("needs 367488 bytes of shared memory per "
                                    "block at these shapes"));
    EXPECT_THAT(e.what(), HasSubstr("more than the 232448 this GPU allows"));
  }
  EXPECT_EQ(launchesOf(fakeLog()).size(), 5u) << fakeLog();
}

TEST(GpuBundle, PtxThatDisagreesWithTheHostCodeIsRefused) {
  ROTARY_COMPILE_WITH(kernel, kFamSource, gpuOptions());
  std::string dir = kernel->directory();
  bundle::Manifest m = kernel->manifest();
  // One parameter fewer in the manifest, the digest made consistent again:
  // the PTX still declares them all.
  m.gpu->kernels[0].params.pop_back();
  std::vector<bundle::BundleFile> files;
  for (const std::string &name : bundle::hashedFiles(m)) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files.emplace_back(name, bytes.str());
  }
  m.contentHash = bundle::contentHash(m, files);
  std::ofstream(dir + "/" + bundle::kManifestFile) << bundle::toJson(m);
  try {
    runtime::Bundle::load(dir);
    FAIL() << "a bundle whose host code and PTX disagree loaded";
  } catch (const runtime::Error &e) {
    EXPECT_EQ(e.kind(), runtime::Error::Kind::Load);
    EXPECT_THAT(e.what(),
                HasSubstr("kernel '" + m.gpu->kernels[0].name + "' takes"));
    EXPECT_THAT(e.what(), HasSubstr("but its host code passes"));
  }
}

} // namespace
