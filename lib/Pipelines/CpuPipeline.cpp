//===- CpuPipeline.cpp - rotary-cpu-pipeline ------------------------------===//
//
// The CPU pipeline, pass by pass; registered next to its builder.
//
//===----------------------------------------------------------------------===//

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace rotary;

void rotary::addText(OpPassManager &pm, StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("rotary: bad built-in pipeline: " + pipeline);
}

void rotary::buildBufferizePipeline(OpPassManager &pm) {
  addText(
      pm,
      "func.func(eliminate-empty-tensors),"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "drop-equivalent-buffer-results,canonicalize,"
      // buffer-deallocation-pipeline, with one more simplification
      // after canonicalize has folded ownership flags that every
      // branch of an scf.if yields as false: a buffer returned by
      // either branch of a run-time choice then needs no run-time
      // alias check (a host-side helper a GPU entry cannot run).
      "ownership-based-buffer-deallocation,canonicalize,"
      "buffer-deallocation-simplification,canonicalize,"
      "buffer-deallocation-simplification,bufferization-lower-deallocations,"
      "cse,"
      "canonicalize");
  pm.addNestedPass<func::FuncOp>(createRotaryForwardOutputs());
  pm.addNestedPass<func::FuncOp>(createRotaryDropRoundTripCopies());
  pm.addPass(createRotaryCopiesToLinalg());
}

void rotary::buildCpuFrontPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  // Gradients of the program as written; fusion then treats the forward
  // and the backward functions alike (decision 0025).
  if (options.gradients) {
    pm.addPass(createRotaryGenerateGradients());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createRotaryFuseRotations());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.prepareEntryPoints)
    pm.addPass(createRotaryPrepareEntryPoints());
}

namespace {
/// The structured level on the CPU schedule, to buffers.
void buildCpuScheduled(OpPassManager &pm, const CpuPipelineOptions &options) {
  RotaryCpuConfigureOptions schedule;
  schedule.vectorBits = options.vectorBits;
  schedule.registerRows = options.registerRows;
  schedule.registerCols = options.registerCols;
  schedule.rowsPerTask = options.rowsPerTask;
  schedule.attentionQueryTile = options.attentionQueryTile;
  schedule.attentionKeyTile = options.attentionKeyTile;
  schedule.splitAttentionGrad = options.splitAttentionGrad;
  schedule.hddLanes = options.hddLanes;
  schedule.chainRows = options.chainRows;
  schedule.hddCheckpoint = options.hddCheckpoint;
  schedule.ropeTokens = options.ropeTokens;
  schedule.scanBlock = options.scanBlock;
  // The schedule is recorded on what exists at each step: the structured
  // ops and contractions the lowering leaves, then the contractions of the
  // decomposed tiles.
  pm.addPass(createConvertRotaryToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createRotaryCpuConfigure(schedule));
  pm.addPass(createRotaryTileAndDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createRotaryCpuConfigure(schedule));
  pm.addNestedPass<func::FuncOp>(createRotaryCpuSchedule());
  pm.addPass(createRotaryApproximateMath());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  buildBufferizePipeline(pm);
}
} // namespace

void rotary::buildCpuBackPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  if (options.schedule == Schedule::GpuLoops)
    buildGpuLoopsPipeline(pm);
  else
    buildCpuScheduled(pm, options);
  // From loops on buffers to the LLVM dialect with the bundle ABI.
  if (options.parallel) {
    pm.addPass(createRotaryParallelizeOuterLoops());
    addText(pm, "convert-scf-to-openmp");
    pm.addPass(createRotaryInlineAllocaScopes());
  }
  pm.addPass(createRotaryContiguousExpandShape());
  pm.addPass(createRotaryScalarLoops());
  addText(pm, "convert-linalg-to-loops,scf-forall-to-for,"
              "convert-vector-to-scf{full-unroll=true},"
              "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
              "convert-vector-to-llvm,convert-to-llvm,reconcile-unrealized-"
              "casts,canonicalize");
  if (options.parallel)
    pm.addPass(createRotaryOutlineParallelLoops());
  if (options.prepareEntryPoints)
    pm.addPass(createRotaryPackEntryPoints());
}

void rotary::buildCpuPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options) {
  buildCpuFrontPipeline(pm, options);
  buildCpuBackPipeline(pm, options);
}

void rotary::registerRotaryPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "rotary-cpu-pipeline",
      "Compile rotary functions for the CPU: fusion, run-time checks and "
      "destination-passing entry points, lowering to linalg, "
      "bufferization, loops and the LLVM dialect with the bundle ABI",
      buildCpuPipeline);
  registerRotaryGpuPipeline();
}
