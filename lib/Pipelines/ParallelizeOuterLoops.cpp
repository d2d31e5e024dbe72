//===- ParallelizeOuterLoops.cpp - the kernels' parallel loops ------------===//
//
// rotary-parallelize-outer-loops (Passes.td): the outermost loops of each
// kernel become one scf.parallel, which convert-scf-to-openmp and
// rotary-outline-parallel-loops turn into calls of the host's parallel-for.
//
//===----------------------------------------------------------------------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYPARALLELIZEOUTERLOOPS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
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

/// Elements per parallel iteration of a one-dimensional op: its loop is
/// cut into blocks, the parallel loop runs over blocks and each block is an
/// inner loop that LLVM can vectorise.
constexpr int64_t kBlock = 2048;

/// Marks `loop` (the innermost loop of an op whose iterations are
/// independent) as parallel for LLVM: `loop_annotation` reaches the latch
/// branch through the SCF and LLVM conversions, and the code generator
/// puts the loop's memory accesses in its access group. LLVM's vectoriser
/// then needs no run-time overlap checks between the buffers, which fail
/// (and select the scalar loop) when a kernel is called in place, with an
/// output that is also an input, as nn::FAM calls fam_step.
void markParallel(scf::ForOp loop) {
  MLIRContext *ctx = loop.getContext();
  auto group = LLVM::AccessGroupAttr::get(ctx);
  loop->setAttr("loop_annotation",
                LLVM::LoopAnnotationAttr::get(
                    ctx, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {},
                    ArrayRef<LLVM::AccessGroupAttr>{group}));
}

/// Cuts the one loop of a one-dimensional op into a parallel loop over
/// blocks of kBlock iterations and `loop` over one block.
void parallelizeBlocks(RewriterBase &rewriter, scf::ForOp loop) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  Value span = arith::MulIOp::create(
      rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, kBlock),
      loop.getStep());
  Value ub = loop.getUpperBound();
  auto par =
      scf::ParallelOp::create(rewriter, loc, ValueRange{loop.getLowerBound()},
                              ValueRange{ub}, ValueRange{span});
  rewriter.setInsertionPointToStart(par.getBody());
  Value begin = par.getInductionVars().front();
  Value end = arith::MinSIOp::create(
      rewriter, loc, arith::AddIOp::create(rewriter, loc, begin, span), ub);
  rewriter.moveOpBefore(loop, par.getBody()->getTerminator());
  rewriter.modifyOpInPlace(loop, [&] {
    loop.setLowerBound(begin);
    loop.setUpperBound(end);
  });
}

/// A one-dimensional parallel loop with reductions (the GPU schedule's
/// lanes of a sum) as a sequential loop carrying the partial results.
LogicalResult reductionToLoop(RewriterBase &rewriter, scf::ParallelOp loop) {
  if (loop.getNumLoops() != 1)
    return loop.emitError("rotary: a parallel loop with reductions inside "
                          "another must be one-dimensional");
  auto reduce = cast<scf::ReduceOp>(loop.getBody()->getTerminator());
  rewriter.setInsertionPoint(loop);
  auto sequential = scf::ForOp::create(
      rewriter, loop.getLoc(), loop.getLowerBound()[0], loop.getUpperBound()[0],
      loop.getStep()[0], loop.getInitVals(),
      [&](OpBuilder &b, Location loc, Value iv, ValueRange partials) {
        IRMapping map;
        map.map(loop.getInductionVars()[0], iv);
        for (Operation &op : loop.getBody()->without_terminator())
          b.clone(op, map);
        SmallVector<Value> next;
        for (auto [partial, value, region] : llvm::zip_equal(
                 partials, reduce.getOperands(), reduce.getReductions()))
          next.push_back(combineWithReduction(b, region, partial,
                                              map.lookupOrDefault(value)));
        scf::YieldOp::create(b, loc, next);
      });
  rewriter.replaceOp(loop, sequential.getResults());
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
      bool independent = op.getNumParallelLoops() == op.getNumLoops();
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToLoops(rewriter, op);
      if (failed(loops))
        return signalPassFailure();
      rewriter.eraseOp(op);
      auto innermost =
          loops->empty() ? scf::ForOp() : dyn_cast<scf::ForOp>(loops->back());
      if (independent && innermost)
        markParallel(innermost);
      if (independent && innermost && n == 1)
        parallelizeBlocks(rewriter, innermost);
      else if (p > 0 && failed(parallelizeNest(rewriter, *loops, p)))
        return signalPassFailure();
    }
    for (scf::ForallOp forall : foralls) {
      if (forall->getParentOfType<scf::ForallOp>())
        continue;
      rewriter.setInsertionPoint(forall);
      if (failed(scf::forallToParallelLoop(rewriter, forall)))
        return signalPassFailure();
    }
    // A parallel loop inside another (the GPU schedule's threads of a
    // tile, run on the CPU) runs sequentially within its task.
    SmallVector<scf::ParallelOp> nested;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
    });
    for (scf::ParallelOp loop : llvm::reverse(nested)) {
      rewriter.setInsertionPoint(loop);
      LogicalResult done =
          loop.getNumResults()
              ? reductionToLoop(rewriter, loop)
              : LogicalResult(scf::parallelForToNestedFors(rewriter, loop));
      if (failed(done))
        return signalPassFailure();
    }
  }
};
} // namespace

Value rotary::combineWithReduction(OpBuilder &b, Region &region, Value lhs,
                                   Value rhs) {
  Block &block = region.front();
  IRMapping map;
  map.map(block.getArgument(0), lhs);
  map.map(block.getArgument(1), rhs);
  for (Operation &op : block.without_terminator())
    b.clone(op, map);
  return map.lookupOrDefault(
      cast<scf::ReduceReturnOp>(block.getTerminator()).getResult());
}
