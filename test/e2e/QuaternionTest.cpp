//===- QuaternionTest.cpp - quaternion_rotate against the reference -------===//
//
// x of rank 1 to 3 with a shared or per-vector axis and angle: each form
// writes one `func.func @entry`, compiles it, runs it through the runtime on
// random f32 inputs and compares with the f64 reference of test/reference.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include <string>
#include <vector>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::e2e;

namespace {
/// Every form, with the CPU schedule or the GPU schedule's loops.
void runQuaternionRotate(bool gpuLoops) {
  // (x rank, axis per vector, angle per vector)
  for (int xRank : {1, 2, 3})
    for (bool axisPerVector : {false, true})
      for (bool anglePerVector : {false, true}) {
        if (xRank == 1 && (axisPerVector || anglePerVector))
          continue; // covered by the shared forms
        std::vector<int64_t> xDims(xRank - 1, -1);
        xDims.push_back(3);
        const std::string xT = tensorType(xDims);
        const std::string aT = axisPerVector ? xT : tensorType({3});
        const std::string tT =
            anglePerVector ? dynamicType(xRank - 1) : "tensor<f32>";
        const std::string source =
            entrySource({{"x", xT}, {"u", aT}, {"t", tT}}, {xT},
                        "%y = rotary.quaternion_rotate %x, %u, %t : " + xT +
                            ", " + aT + ", " + tT,
                        {"%y"});
        SCOPED_TRACE(source);
        ROTARY_COMPILE_WITH(kernel, source, gpuLoopsIf(gpuLoops));
        const std::vector<std::vector<int64_t>> leads =
            xRank == 1 ? std::vector<std::vector<int64_t>>{{}}
            : xRank == 2
                ? std::vector<std::vector<int64_t>>{{1}, {10}, {33}}
                : std::vector<std::vector<int64_t>>{{1, 1}, {4, 5}, {2, 17}};
        for (std::vector<int64_t> lead : leads) {
          std::vector<int64_t> shape = lead;
          shape.push_back(3);
          SCOPED_TRACE("x " + c10::str(c10::IntArrayRef(shape)));
          Tensor x = randn32(shape);
          Tensor u = axisPerVector ? randn32(shape) : randn32({3});
          Tensor t = uniform32(anglePerVector ? lead : std::vector<int64_t>{},
                               -10, 10);
          std::vector<Tensor> out;
          ASSERT_NO_THROW(out = kernel->run({x, u, t}));
          ASSERT_EQ(out.size(), 1u);
          EXPECT_TRUE(
              allClose(out[0], ref::quaternionRotate(f64(x), f64(u), f64(t))));
        }
      }
}
} // namespace

TEST_F(E2E, QuaternionRotate) { runQuaternionRotate(/*gpuLoops=*/false); }

TEST_F(E2E, QuaternionRotateGpuLoops) {
  runQuaternionRotate(/*gpuLoops=*/true);
}
