//===- CpuPipeline.cpp - rotary-cpu-pipeline ------------------------------===//

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYCOPIESTOLINALG
#define GEN_PASS_DEF_ROTARYPARALLELIZEOUTERLOOPS
#define GEN_PASS_DEF_ROTARYINLINEALLOCASCOPES
#define GEN_PASS_DEF_ROTARYFORWARDOUTPUTS
#define GEN_PASS_DEF_ROTARYCONTIGUOUSEXPANDSHAPE
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
struct CopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                op.getTarget());
    return success();
  }
};

/// Turns the outer `p` loops of a perfect scf.for nest into one scf.parallel.
LogicalResult parallelizeNest(RewriterBase &rewriter,
                              ArrayRef<Operation *> loops, int64_t p) {
  SmallVector<scf::ForOp> fors;
  for (int64_t i = 0; i < p; ++i) {
    auto f = dyn_cast<scf::ForOp>(loops[i]);
    if (!f || f.getNumRegionIterArgs() != 0)
      return success(); // not a plain nest: leave it sequential
    fors.push_back(f);
  }
  scf::ForOp outer = fors.front(), inner = fors.back();
  SmallVector<Value> lbs, ubs, steps;
  for (scf::ForOp f : fors) {
    for (Value v : {f.getLowerBound(), f.getUpperBound(), f.getStep()})
      if (!outer.isDefinedOutsideOfLoop(v))
        return success();
    lbs.push_back(f.getLowerBound());
    ubs.push_back(f.getUpperBound());
    steps.push_back(f.getStep());
  }
  rewriter.setInsertionPoint(outer);
  auto par = scf::ParallelOp::create(rewriter, outer.getLoc(), lbs, ubs, steps);
  for (auto [f, iv] : llvm::zip(fors, par.getInductionVars()))
    rewriter.replaceAllUsesWith(f.getInductionVar(), iv);
  Block *body = par.getBody();
  Operation *terminator = body->getTerminator();
  for (Operation &op :
       llvm::make_early_inc_range(inner.getBody()->without_terminator()))
    op.moveBefore(terminator);
  rewriter.eraseOp(outer);
  return success();
}

/// Top-level linalg ops -> loops with the outer ones parallel;
/// scf.forall -> scf.parallel.
struct ParallelizeOuterLoopsPass
    : rotary::impl::RotaryParallelizeOuterLoopsBase<ParallelizeOuterLoopsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> outer;
    SmallVector<scf::ForallOp> foralls;
    getOperation()->walk([&](Operation *op) {
      if (auto forall = dyn_cast<scf::ForallOp>(op))
        foralls.push_back(forall);
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp || linalgOp.getNumParallelLoops() == 0)
        return;
      // Only ops not nested in a loop of the kernel.
      if (op->getParentOfType<scf::ForallOp>() ||
          op->getParentOfType<scf::ForOp>() ||
          op->getParentOfType<scf::ParallelOp>())
        return;
      outer.push_back(linalgOp);
    });
    for (linalg::LinalgOp op : outer) {
      // Leading parallel dims, at most 2, and never the innermost one when
      // there are several: OpenMP then splits coarse work, and the inner
      // loops stay simple enough for LLVM to vectorise.
      SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
      int64_t n = iters.size(), p = 0;
      while (p < n && p < 2 && (n == 1 || p < n - 1) &&
             iters[p] == utils::IteratorType::parallel)
        ++p;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToLoops(rewriter, op);
      if (failed(loops))
        return signalPassFailure();
      rewriter.eraseOp(op);
      if (p > 0 && failed(parallelizeNest(rewriter, *loops, p)))
        return signalPassFailure();
    }
    for (scf::ForallOp forall : foralls) {
      if (forall->getParentOfType<scf::ForallOp>())
        continue;
      rewriter.setInsertionPoint(forall);
      if (failed(scf::forallToParallelLoop(rewriter, forall)))
        return signalPassFailure();
    }
  }
};

struct ForwardOutputsPass
    : rotary::impl::RotaryForwardOutputsBase<ForwardOutputsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<memref::CopyOp> copies;
    fn.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies) {
      // The buffer may be copied through a reshape of it (a kernel that
      // computes on a [rows, heads, D] view of a [..., D] result).
      Value src = copy.getSource();
      Operation *reshape = src.getDefiningOp();
      if (isa_and_present<memref::CollapseShapeOp, memref::ExpandShapeOp>(
              reshape) &&
          src.hasOneUse())
        src = reshape->getOperand(0);
      else
        reshape = nullptr;
      auto alloc = src.getDefiningOp<memref::AllocOp>();
      auto out = dyn_cast<BlockArgument>(copy.getTarget());
      if (!alloc || !out || out.getOwner() != &fn.getBody().front() ||
          copy.getSource().getType() != out.getType() ||
          alloc->getBlock() != copy->getBlock() ||
          copy->getBlock() != out.getOwner())
        continue;
      // The output must not be used before the copy, and the buffer only
      // by the computation before the copy and a dealloc after it.
      bool ok = llvm::all_of(out.getUsers(), [&](Operation *u) {
        return u == copy.getOperation() || copy->isBeforeInBlock(u);
      });
      memref::DeallocOp dealloc;
      for (Operation *u : alloc->getUsers()) {
        if (auto d = dyn_cast<memref::DeallocOp>(u)) {
          dealloc = d;
          continue;
        }
        Operation *top = fn.getBody().front().findAncestorOpInBlock(*u);
        if (u != copy.getOperation() && (!top || !top->isBeforeInBlock(copy)))
          ok = false;
      }
      if (!ok)
        continue;
      // The output seen through the inverse reshape replaces the buffer.
      Value replacement = out;
      if (reshape) {
        OpBuilder b(alloc);
        if (auto c = dyn_cast<memref::CollapseShapeOp>(reshape)) {
          replacement = memref::ExpandShapeOp::create(
              b, alloc.getLoc(), alloc.getType(), out,
              c.getReassociationIndices(),
              getMixedValues(alloc.getType().getShape(),
                             alloc.getDynamicSizes(), b));
        } else {
          auto e = cast<memref::ExpandShapeOp>(reshape);
          auto view = memref::CollapseShapeOp::create(
              b, alloc.getLoc(), out, e.getReassociationIndices());
          if (view.getType() != alloc.getType()) {
            view.erase();
            continue;
          }
          replacement = view;
        }
      }
      copy.erase();
      if (reshape)
        reshape->erase();
      alloc.getResult().replaceAllUsesWith(replacement);
      if (dealloc)
        dealloc.erase();
      alloc.erase();
    }
  }
};

struct ContiguousExpandShapePass
    : rotary::impl::RotaryContiguousExpandShapeBase<ContiguousExpandShapePass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<memref::ExpandShapeOp> ops;
    getOperation()->walk([&](memref::ExpandShapeOp op) {
      if (op.getSrcType().getLayout().isIdentity() &&
          op.getResultType().getLayout().isIdentity())
        ops.push_back(op);
    });
    for (memref::ExpandShapeOp op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op.getLoc();
      SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
      SmallVector<OpFoldResult> strides(sizes.size());
      OpFoldResult running = rewriter.getIndexAttr(1);
      for (int64_t i = sizes.size() - 1; i >= 0; --i) {
        strides[i] = running;
        running = getAsOpFoldResult(rewriter.createOrFold<arith::MulIOp>(
            loc, getValueOrCreateConstantIndexOp(rewriter, loc, running),
            getValueOrCreateConstantIndexOp(rewriter, loc, sizes[i])));
      }
      // Identity layout: offset 0 on both sides.
      rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
          op, op.getResultType(), op.getSrc(), rewriter.getIndexAttr(0), sizes,
          strides);
    }
  }
};

struct InlineAllocaScopesPass
    : rotary::impl::RotaryInlineAllocaScopesBase<InlineAllocaScopesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation()->walk([&](memref::AllocaScopeOp scope) {
      bool allocates =
          scope->walk([](memref::AllocaOp) { return WalkResult::interrupt(); })
              .wasInterrupted();
      if (!allocates)
        scopes.push_back(scope);
    });
    for (memref::AllocaScopeOp scope : scopes) {
      Block &body = scope.getBodyRegion().front();
      auto ret = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
      SmallVector<Value> results(ret.getResults());
      rewriter.eraseOp(ret);
      rewriter.inlineBlockBefore(&body, scope);
      rewriter.replaceOp(scope, results);
    }
  }
};

struct CopiesToLinalgPass
    : rotary::impl::RotaryCopiesToLinalgBase<CopiesToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<CopyToLinalg>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

namespace {
/// Adds upstream passes by their textual pipeline (stable across MLIR
/// releases, unlike the C++ factory names). A bad string is a bug here.
void addText(OpPassManager &pm, StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("rotary: bad built-in pipeline: " + pipeline);
}
} // namespace

void rotary::buildCpuFrontPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  pm.addPass(createRotaryFuseRotations());
  pm.addPass(createCanonicalizerPass());
  // After fusion, so fused forward ops get their fused gradients.
  if (options.gradients) {
    pm.addPass(createRotaryGenerateGradients());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createCSEPass());
  if (options.prepareEntryPoints)
    pm.addPass(createRotaryPrepareEntryPoints());
}

void rotary::buildCpuBackPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  RotaryCpuConfigureOptions schedule;
  schedule.vectorBits = options.vectorBits;
  schedule.registerRows = options.registerRows;
  schedule.registerCols = options.registerCols;
  schedule.rowsPerTask = options.rowsPerTask;
  schedule.attentionQueryTile = options.attentionQueryTile;
  schedule.attentionKeyTile = options.attentionKeyTile;
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
  addText(pm, "func.func(eliminate-empty-tensors),"
              "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},"
              "drop-equivalent-buffer-results,canonicalize,"
              "buffer-deallocation-pipeline");
  pm.addNestedPass<func::FuncOp>(createRotaryForwardOutputs());
  pm.addPass(createRotaryCopiesToLinalg());
  if (options.parallel) {
    pm.addPass(createRotaryParallelizeOuterLoops());
    addText(pm, "convert-scf-to-openmp");
    pm.addPass(createRotaryInlineAllocaScopes());
  }
  pm.addPass(createRotaryContiguousExpandShape());
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
}
