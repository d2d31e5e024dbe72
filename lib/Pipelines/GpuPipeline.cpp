//===- GpuPipeline.cpp - rotary-gpu-pipeline ------------------------------===//
//
// The GPU pipeline, pass by pass; registered next to its builder. It shares
// the front (gradients, fusion, entry points) and the structured level with
// the CPU pipeline; the schedule is the GPU's: loops mapped to blocks and
// threads (rotary-gpu-map-parallel-loops), kernels outlined into a
// gpu.module, lowered to NVVM and compiled to PTX (or cubin) per chip.
//
//===----------------------------------------------------------------------===//

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;
using namespace rotary;

void rotary::buildGpuLoopsPipeline(OpPassManager &pm) {
  // HDD-RoPE's chunks are too few to fill a GPU with one sequential scan
  // each: the product runs as a blocked scan over T instead. A Givens
  // gradient folds by the cost model as on the CPU: Q̄'s partial sums over
  // chunks of 1024 rows are a thread per (chunk, element).
  ConvertRotaryToLinalgOptions lowering;
  lowering.hddStrategy = "scan";
  // Refused ops are named as the user wrote them, before and after the
  // lowering (which leaves the structured ops).
  pm.addPass(createRotaryGpuCheckSchedulable());
  pm.addPass(createConvertRotaryToLinalg(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createRotaryGpuCheckSchedulable());
  pm.addNestedPass<func::FuncOp>(createRotaryGpuConfigure());
  pm.addPass(createRotaryTileAndDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Polynomials instead of libdevice calls: the PTX then needs no library.
  pm.addPass(createRotaryApproximateMath());
  pm.addPass(createCanonicalizerPass());
  buildBufferizePipeline(pm);
  // Tiles (scf.forall) become the outer parallel loops, blocks once mapped.
  addText(pm, "func.func(convert-linalg-to-parallel-loops),"
              "scf-forall-to-parallel,canonicalize");
  pm.addNestedPass<func::FuncOp>(createRotaryGpuHoistParallelLoops());
  pm.addNestedPass<func::FuncOp>(createRotaryGpuLaneReductions());
  pm.addPass(createRotaryGpuVectorizeLoops());
  pm.addPass(createCanonicalizerPass());
  // Before expand-strided-metadata meets them, on the host or in a kernel.
  pm.addPass(createRotaryContiguousExpandShape());
}

void rotary::buildGpuPipeline(OpPassManager &pm,
                              const GpuPipelineOptions &options) {
  CpuPipelineOptions front;
  front.gradients = options.gradients;
  front.prepareEntryPoints = options.prepareEntryPoints;
  buildCpuFrontPipeline(pm, front);
  buildGpuBackPipeline(pm, options);
}

void rotary::buildGpuBackPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  buildGpuLoopsPipeline(pm);
  if (!options.map)
    return;

  RotaryGpuMapParallelLoopsOptions mapping;
  mapping.blockSize = options.blockSize;
  mapping.tileBlockSize = options.tileBlockSize;
  pm.addPass(createRotaryGpuMapParallelLoops(mapping));
  // Constants and index arithmetic move into the kernels instead of
  // becoming kernel arguments.
  addText(pm, "func.func(gpu-launch-sink-index-computations),"
              "gpu-kernel-outlining,canonicalize");
  pm.addPass(createRotaryGpuMergeKernelModules());
  for (const std::string &chip : options.chips)
    addText(pm, "nvvm-attach-target{chip=" + chip +
                    " features=" + options.ptxFeatures + " O=3}");
  addText(pm, "gpu.module(expand-strided-metadata,lower-affine,"
              "convert-scf-to-cf,convert-gpu-to-nvvm,canonicalize,cse),"
              "reconcile-unrealized-casts");
  pm.addPass(createRotaryGpuExternDynamicShared());
  // The toolkit's libdevice resolves the __nv_* calls math ops become
  // (f64 exp in RoPE's frequency table); without it they stay unresolved.
  std::string toolkit = options.toolkit;
  if (const char *home = std::getenv("CUDA_HOME"); toolkit.empty() && home)
    toolkit = home;
  RotaryGpuCheckLibdeviceOptions libdevice;
  libdevice.hasToolkit = !toolkit.empty();
  pm.addPass(createRotaryGpuCheckLibdevice(libdevice));
  std::string binary = "gpu-module-to-binary{format=" + options.format;
  if (!toolkit.empty())
    binary += " toolkit=" + toolkit;
  addText(pm, binary + "}");
  if (!options.host)
    return;
  // The host functions: upstream lowers them to the LLVM dialect with the
  // launches' parameters in the kernels' form; the runtime's hooks then do
  // what the MLIR CUDA runtime wrappers would (Debian ships none).
  addText(pm, "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
              "gpu-to-llvm");
  pm.addPass(createRotaryGpuHostToRuntime());
  addText(pm, "reconcile-unrealized-casts,canonicalize");
  if (options.prepareEntryPoints)
    pm.addPass(createRotaryPackEntryPoints());
}

void rotary::registerRotaryGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "rotary-gpu-pipeline",
      "Compile rotary functions for NVIDIA GPUs: the CPU pipeline's front "
      "and structured level, loops mapped to blocks and threads, kernels "
      "outlined, lowered to NVVM and compiled to PTX or cubin per chip",
      buildGpuPipeline);
}
