//===- ModelKernelsTest.cpp - layer configs compile with gradients --------===//
//
// Every builder of rotary/Model/Kernels.h must give a module that verifies,
// parses back to the same text, and compiles (with its backward, where the
// op has one, and with GPU code) into a bundle whose manifest lists the
// expected entries with dynamic batch and sequence sizes.
//
//===----------------------------------------------------------------------===//

#include "rotary/Compiler/Compiler.h"
#include "rotary/Model/Kernels.h"

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace rotary;
using namespace rotary::model;

namespace {
/// Parses `source` back (printing it again must give the same text),
/// compiles it with gradients and returns the manifest's entry names.
std::vector<std::string> compileEntries(const std::string &source) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<RotaryDialect, mlir::func::FuncDialect,
                  mlir::tensor::TensorDialect, mlir::arith::ArithDialect>();
  auto parsed = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
  EXPECT_TRUE(parsed) << source;
  if (!parsed)
    return {};
  std::string again;
  llvm::raw_string_ostream os(again);
  parsed->print(os);
  EXPECT_EQ(source, again);

  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("rotary-model", dir));
  std::string bundleDir = (dir + "/k.rotary").str(), error;
  compiler::CompileOptions options;
  options.gradients = true;
  // The modules compile GPU code for CUDA tensors: every layer must have it.
  options.gpuChips = {"sm_90"};
  bool ok = compiler::compileSourceToBundle(source, "model.mlir", bundleDir,
                                            options, error);
  EXPECT_TRUE(ok) << error << "\n" << source;
  std::vector<std::string> names;
  if (ok) {
    std::string readError;
    auto buffer = llvm::MemoryBuffer::getFile(bundleDir + "/manifest.json");
    EXPECT_TRUE(bool(buffer));
    auto manifest = bundle::fromJson((*buffer)->getBuffer().str(),
                                          readError);
    EXPECT_TRUE(manifest) << readError;
    if (manifest) {
      EXPECT_TRUE(manifest->gpu && !manifest->gpu->kernels.empty() &&
                  manifest->gpu->objects.size() == 1 &&
                  manifest->gpu->objects[0].chip == "sm_90");
    }
    if (manifest)
      for (const bundle::Entry &e : manifest->entries)
        names.push_back(e.name);
  }
  llvm::sys::fs::remove_directories(dir);
  return names;
}

bool has(const std::vector<std::string> &names, const std::string &n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

TEST(ModelKernels, RopeVariants) {
  RopeKernel k;
  k.headDim = 10;
  auto plain = compileEntries(buildSource(k));
  EXPECT_TRUE(has(plain, "rope"));
  EXPECT_TRUE(has(plain, "rope_bwd"));

  k.heads = 3;
  k.rotaryDim = 6;
  k.layout = RopeKernel::Layout::Deinterleave;
  k.positionsRank = 2;
  k.invFreq = k.phase = k.scale = true;
  k.dtype = DType::BF16;
  std::string learned = buildSource(k);
  EXPECT_NE(learned.find("tensor<?x?x3x10xbf16>"), std::string::npos);
  EXPECT_NE(learned.find("rotary_dim = 6"), std::string::npos) << learned;
  EXPECT_TRUE(has(compileEntries(learned), "rope_bwd"));
}

TEST(ModelKernels, RotationBlockAndPenalty) {
  RotationBlockKernel k;
  k.rank = 3;
  k.dim = 6;
  k.rotations = 15;
  k.perHead = true;
  auto names = compileEntries(buildSource(k));
  EXPECT_TRUE(has(names, "rotation_block"));
  EXPECT_TRUE(has(names, "rotation_block_bwd"));
  PenaltyKernel p;
  p.dim = 6;
  p.perHead = true;
  EXPECT_TRUE(has(compileEntries(buildSource(p)), "orthogonality_penalty_bwd"));
}

TEST(ModelKernels, HDDRopeAttentionQuaternion) {
  HDDRopeKernel h;
  h.heads = 2;
  h.headDim = 8;
  h.chunk = 4;
  EXPECT_TRUE(has(compileEntries(buildSource(h)), "hdd_rope_bwd"));

  AttentionKernel a;
  a.heads = 2;
  a.headDim = 8;
  a.causal = true;
  a.window = 4;
  a.globalTokens = 1;
  a.biasRadius = 4;
  a.spanRamp = 2;
  std::string attention = buildSource(a);
  EXPECT_NE(attention.find("span("), std::string::npos) << attention;
  EXPECT_TRUE(has(compileEntries(attention), "attention_bwd"));

  EXPECT_TRUE(has(compileEntries(buildSource(QuaternionKernel{})),
                  "quaternion_rotate_bwd"));
}

TEST(ModelKernels, Fam) {
  FamStepKernel f;
  // More tensors than a SmallVector keeps inline.
  f.dtypes = {DType::F32, DType::BF16, DType::F32, DType::F16, DType::F32,
              DType::F32, DType::F32, DType::BF16, DType::F32, DType::F32};
  f.weightDecay = 0.01;
  std::string step = buildSource(f);
  EXPECT_NE(step.find("weight_decay = 0.00999"), std::string::npos) << step;
  auto names = compileEntries(step);
  EXPECT_TRUE(has(names, "fam_step"));
  EXPECT_FALSE(has(names, "fam_step_bwd"));

  FamBandsKernel b;
  b.bands = 12;
  b.layout = FamBandsKernel::Layout::Split;
  b.handler = FamBandsKernel::Handler::Attention;
  auto bands = compileEntries(buildSource(b));
  EXPECT_TRUE(has(bands, "fam_bands"));
  EXPECT_TRUE(has(bands, "fam_momentum"));
}
} // namespace
