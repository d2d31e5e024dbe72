//===- GpuMapParallelLoops.cpp - element-wise loops onto GPU threads ------===//
//
// One thread per iteration of each outermost scf.parallel: the iteration
// space is linearised (innermost dimension fastest, so that neighbouring
// threads touch neighbouring elements), cut into blocks of `block-size`
// threads, and each thread delinearises its index back into the loop's
// induction variables. Host allocations become device allocations.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYGPUCHECKLIBDEVICE
#define GEN_PASS_DEF_ROTARYGPUCHECKSCHEDULABLE
#define GEN_PASS_DEF_ROTARYGPUMAPPARALLELLOOPS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
/// Fails at the first op under `root` that `refuse` reports an error on.
LogicalResult refuseFirst(Operation *root,
                          function_ref<bool(Operation *)> refuse) {
  WalkResult r = root->walk([&](Operation *op) {
    return refuse(op) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

/// ceil(a / b) for a >= 0, b > 0.
Value ceilDiv(OpBuilder &b, Location loc, Value a, Value d) {
  return arith::CeilDivUIOp::create(b, loc, a, d);
}

/// Why `loop` cannot be mapped, or an empty string.
std::string unmappable(scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return "a parallel loop with reductions has no GPU mapping yet";
  bool nested = false;
  loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
  if (nested)
    return "nested parallel loops have no GPU mapping yet";
  return "";
}

/// Replaces `loop` by a launch of one thread per iteration.
void mapToThreads(scf::ParallelOp loop, int64_t blockSize) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> counts;
  Value total = one;
  for (auto [lb, ub, step] : llvm::zip_equal(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, ub, lb);
    // An empty range (ub <= lb) has no iterations, not a negative count.
    span = arith::MaxSIOp::create(b, loc, span, zero);
    counts.push_back(ceilDiv(b, loc, span, step));
    total = arith::MulIOp::create(b, loc, total, counts.back());
  }
  Value threads = arith::ConstantIndexOp::create(b, loc, blockSize);
  Value blocks = ceilDiv(b, loc, total, threads);
  Value any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, total, zero);
  auto ifAny = scf::IfOp::create(b, loc, any, /*withElse=*/false);
  b.setInsertionPointToStart(&ifAny.getThenRegion().front());
  auto launch =
      gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one, one);
  b.setInsertionPointToEnd(&launch.getBody().front());
  Value id = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id, total);
  auto ifInside = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
  gpu::TerminatorOp::create(b, loc);

  b.setInsertionPointToStart(&ifInside.getThenRegion().front());
  IRMapping map;
  Value rest = id;
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value i = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, counts[d]);
    if (d > 0)
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
    Value iv = arith::AddIOp::create(
        b, loc, loop.getLowerBound()[d],
        arith::MulIOp::create(b, loc, i, loop.getStep()[d]));
    map.map(loop.getInductionVars()[d], iv);
  }
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  loop.erase();
}

struct GpuCheckSchedulablePass
    : rotary::impl::RotaryGpuCheckSchedulableBase<GpuCheckSchedulablePass> {
  void runOnOperation() override {
    if (failed(refuseFirst(getOperation(), [](Operation *op) {
          if (!isa<RotaryDialect>(op->getDialect()))
            return false;
          op->emitError("rotary-gpu-pipeline: '")
              << op->getName()
              << "' has no GPU schedule yet (the CPU schedule runs it: "
                 "compile without --gpu)";
          return true;
        })))
      signalPassFailure();
  }
};

struct GpuCheckLibdevicePass
    : rotary::impl::RotaryGpuCheckLibdeviceBase<GpuCheckLibdevicePass> {
  using Base::Base;
  void runOnOperation() override {
    if (hasToolkit)
      return;
    if (failed(refuseFirst(getOperation(), [](Operation *op) {
          auto fn = dyn_cast<LLVM::LLVMFuncOp>(op);
          if (!fn || !fn.isExternal() || !fn.getName().starts_with("__nv_") ||
              !fn->getParentOfType<gpu::GPUModuleOp>())
            return false;
          fn.emitError("rotary-gpu-pipeline: the kernels call libdevice's @")
              << fn.getName()
              << ", which only the CUDA toolkit provides: give the pipeline "
                 "toolkit=DIR or set CUDA_HOME";
          return true;
        })))
      signalPassFailure();
  }
};

struct GpuMapParallelLoopsPass
    : rotary::impl::RotaryGpuMapParallelLoopsBase<GpuMapParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize <= 0 || blockSize > 1024) {
      getOperation().emitError("rotary-gpu-map-parallel-loops: block-size ")
          << static_cast<int64_t>(blockSize) << " is not in [1, 1024]";
      return signalPassFailure();
    }
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(mapFunction(fn)))
        return signalPassFailure();
  }

  LogicalResult mapFunction(func::FuncOp fn) {
    SmallVector<scf::ParallelOp> loops;
    WalkResult bad = fn.walk([&](Operation *op) {
      if (auto loop = dyn_cast<scf::ParallelOp>(op))
        if (!loop->getParentOfType<scf::ParallelOp>()) {
          std::string why = unmappable(loop);
          if (!why.empty()) {
            loop.emitError("rotary-gpu-pipeline: ") << why;
            return WalkResult::interrupt();
          }
          loops.push_back(loop);
        }
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return failure();
    for (scf::ParallelOp loop : loops)
      mapToThreads(loop, blockSize);
    // Every buffer access must now be inside a kernel: the host cannot
    // dereference device memory.
    WalkResult host = fn.walk([&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return WalkResult::skip();
      if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp>(op)) {
        op->emitError("rotary-gpu-pipeline: '")
            << op->getName()
            << "' outside a kernel would read or write device memory from "
               "the host";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (host.wasInterrupted())
      return failure();
    // Host allocations hold device data.
    SmallVector<Operation *> allocs;
    fn.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        allocs.push_back(op);
    });
    for (Operation *op : allocs) {
      OpBuilder b(op);
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto device = gpu::AllocOp::create(
            b, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
            ValueRange{}, alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/false);
        alloc.replaceAllUsesWith(device.getMemref());
      } else {
        gpu::DeallocOp::create(b, op->getLoc(), /*asyncToken=*/Type(),
                               ValueRange{}, op->getOperand(0));
      }
      op->erase();
    }
    return success();
  }
};
} // namespace
