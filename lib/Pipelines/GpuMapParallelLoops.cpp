//===- GpuMapParallelLoops.cpp - loops onto GPU blocks and threads --------===//
//
// Each outermost scf.parallel becomes a launch: one thread per iteration
// (the iteration space linearised, innermost dimension fastest, so that
// neighbouring threads touch neighbouring elements, and cut into blocks),
// or, for a loop over tiles with parallel loops inside, one block per tile
// whose threads share each inner loop. Host code that touches buffers
// outside parallel loops runs as one-thread kernels. Host allocations
// become device allocations.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYGPUCHECKLIBDEVICE
#define GEN_PASS_DEF_ROTARYGPUCHECKSCHEDULABLE
#define GEN_PASS_DEF_ROTARYGPUEXTERNDYNAMICSHARED
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

/// The iteration counts of `loop` per dimension and their product, with
/// its bounds seen through `map` (for a loop cloned into a kernel).
Value iterationCounts(OpBuilder &b, Location loc, scf::ParallelOp loop,
                      const IRMapping &map, SmallVectorImpl<Value> &counts) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value total = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] : llvm::zip_equal(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, map.lookupOrDefault(ub),
                                       map.lookupOrDefault(lb));
    // An empty range (ub <= lb) has no iterations, not a negative count.
    span = arith::MaxSIOp::create(b, loc, span, zero);
    counts.push_back(ceilDiv(b, loc, span, map.lookupOrDefault(step)));
    total = arith::MulIOp::create(b, loc, total, counts.back());
  }
  return total;
}

/// Maps `loop`'s induction variables to the iteration whose linear index
/// (innermost dimension fastest) is `linear`.
void delinearize(OpBuilder &b, Location loc, Value linear, scf::ParallelOp loop,
                 ArrayRef<Value> counts, IRMapping &map) {
  Value rest = linear;
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value i = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, counts[d]);
    if (d > 0)
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
    Value iv = arith::AddIOp::create(
        b, loc, map.lookupOrDefault(loop.getLowerBound()[d]),
        arith::MulIOp::create(b, loc, i,
                              map.lookupOrDefault(loop.getStep()[d])));
    map.map(loop.getInductionVars()[d], iv);
  }
}

/// Clones `body`'s ops but its terminator at `b`'s insertion point.
void cloneBody(OpBuilder &b, Block &body, IRMapping &map) {
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
}

/// `if (total > 0) gpu.launch` of `blocks` x `threads` (with `sharedBytes`
/// of dynamic shared memory, an i32), its builder left at the start of the
/// kernel's body.
gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value total,
                           Value blocks, Value threads,
                           Value sharedBytes = Value()) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, total, zero);
  auto ifAny = scf::IfOp::create(b, loc, any, /*withElse=*/false);
  b.setInsertionPointToStart(&ifAny.getThenRegion().front());
  auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one,
                                      one, sharedBytes);
  b.setInsertionPointToEnd(&launch.getBody().front());
  auto end = gpu::TerminatorOp::create(b, loc);
  b.setInsertionPoint(end);
  return launch;
}

/// Whether `op` is a sequential loop of a tile that holds some of the
/// tile's thread loops, directly or in sequential loops of its own (the
/// loop over key tiles in attention): every thread runs it, with barriers
/// between the thread loops in it.
bool isTileForLoop(Operation *op) {
  auto loop = dyn_cast<scf::ForOp>(op);
  return loop &&
         llvm::any_of(loop.getBody()->getOperations(), [](Operation &inner) {
           auto p = dyn_cast<scf::ParallelOp>(inner);
           return (p && p.getNumResults() == 0) || isTileForLoop(&inner);
         });
}

/// The thread loops of `block`, a tile's body or a tile loop's: parallel
/// loops without reductions in it or in its tile loops.
void collectThreadLoops(Block &block, SmallVectorImpl<scf::ParallelOp> &out) {
  for (Operation &op : block) {
    if (auto inner = dyn_cast<scf::ParallelOp>(op)) {
      if (inner.getNumResults() == 0)
        out.push_back(inner);
    } else if (isTileForLoop(&op)) {
      collectThreadLoops(*cast<scf::ForOp>(op).getBody(), out);
    }
  }
}

/// The thread loops of a loop over tiles (none: not a loop over tiles).
SmallVector<scf::ParallelOp> innerLoops(scf::ParallelOp loop) {
  SmallVector<scf::ParallelOp> out;
  collectThreadLoops(*loop.getBody(), out);
  return out;
}

/// Whether the host can compute `v` before the loop over tiles `tiles`:
/// `v` is defined outside it, or by pure ops of such values (the size of
/// a view of an argument, taken in the tile).
bool knownBefore(Value v, Operation *tiles) {
  if (!tiles->isAncestor(v.getParentBlock()->getParentOp()))
    return true;
  Operation *def = v.getDefiningOp();
  return def && def->getNumRegions() == 0 && isPure(def) &&
         llvm::all_of(def->getOperands(),
                      [&](Value o) { return knownBefore(o, tiles); });
}

/// `v` (knownBefore) computed at `b`, before the loop over tiles.
Value computeBefore(OpBuilder &b, Value v, Operation *tiles, IRMapping &map) {
  if (!tiles->isAncestor(v.getParentBlock()->getParentOp()))
    return v;
  if (Value done = map.lookupOrNull(v))
    return done;
  Operation *def = v.getDefiningOp();
  for (Value operand : def->getOperands())
    map.map(operand, computeBefore(b, operand, tiles, map));
  Operation *clone = b.clone(*def, map);
  return clone->getResult(cast<OpResult>(v).getResultNumber());
}

/// The shared memory that holds a tile's buffer `alloc`: its shape with
/// each dynamic size replaced by a constant bound (a tile size clamped at
/// the end of its range: the affine.min's bound), or, when it has none,
/// kept dynamic if the host knows it before the launch (knownBefore the
/// loop over tiles `tiles`: a head dimension) and then sized at launch
/// (`hostSizes`, one per dynamic size); failure otherwise.
struct SharedBuffer {
  MemRefType type;
  SmallVector<Value> hostSizes;
};
FailureOr<SharedBuffer> sharedBufferOf(memref::AllocOp alloc,
                                       Operation *tiles) {
  MemRefType type = alloc.getType();
  if (!type.getLayout().isIdentity())
    return failure();
  SharedBuffer buffer;
  SmallVector<int64_t> shape;
  unsigned next = 0;
  for (int64_t size : type.getShape()) {
    if (!ShapedType::isDynamic(size)) {
      shape.push_back(size);
      continue;
    }
    Value value = alloc.getDynamicSizes()[next++];
    FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(value),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (succeeded(bound) && *bound > 0) {
      shape.push_back(*bound);
    } else if (knownBefore(value, tiles)) {
      shape.push_back(ShapedType::kDynamic);
      buffer.hostSizes.push_back(value);
    } else {
      return failure();
    }
  }
  buffer.type =
      MemRefType::get(shape, type.getElementType(), MemRefLayoutAttrInterface(),
                      gpu::AddressSpaceAttr::get(alloc.getContext(),
                                                 gpu::AddressSpace::Workgroup));
  return buffer;
}

/// Calls `fn` on each op of a tile's own code: `block` and the bodies of
/// its sequential loops that hold thread loops.
void forEachTileOp(Block &block, function_ref<void(Operation &)> fn) {
  for (Operation &op : block.without_terminator()) {
    fn(op);
    if (isTileForLoop(&op))
      forEachTileOp(*cast<scf::ForOp>(op).getBody(), fn);
  }
}

/// The shared memory of a loop over tiles: each tile buffer's, and the
/// byte offset (a host value) of each one sized at launch in the block's
/// dynamic shared memory (null for a static one).
struct TileMemory {
  Value bytes; ///< i32, the launch's dynamic shared memory (null: none)
  Value base;  ///< gpu.dynamic_shared_memory in the kernel
  DenseMap<Operation *, std::pair<SharedBuffer, Value>> buffers;
};

/// Plans the buffers of the tile `loop`, laying out those sized at launch
/// one after the other, each 16-byte aligned, with their offsets and total
/// computed on the host before the launch.
TileMemory planTileMemory(OpBuilder &b, Location loc, scf::ParallelOp loop) {
  TileMemory plan;
  Value total;
  IRMapping hoisted;
  forEachTileOp(*loop.getBody(), [&](Operation &op) {
    auto alloc = dyn_cast<memref::AllocOp>(op);
    if (!alloc)
      return;
    // unmappable() has checked that every tile buffer has a plan.
    SharedBuffer buffer = *sharedBufferOf(alloc, loop);
    if (buffer.hostSizes.empty()) {
      plan.buffers.try_emplace(alloc, std::move(buffer), Value());
      return;
    }
    for (Value &size : buffer.hostSizes)
      size = computeBefore(b, size, loop, hoisted);
    Value offset = total ? total : arith::ConstantIndexOp::create(b, loc, 0);
    int64_t staticElements = 1;
    for (int64_t d : buffer.type.getShape())
      if (!ShapedType::isDynamic(d))
        staticElements *= d;
    Value bytes = arith::ConstantIndexOp::create(
        b, loc,
        staticElements *
            int64_t(llvm::divideCeil(buffer.type.getElementTypeBitWidth(), 8)));
    for (Value size : buffer.hostSizes)
      bytes = arith::MulIOp::create(b, loc, bytes, size);
    Value align = arith::ConstantIndexOp::create(b, loc, 16);
    bytes = arith::MulIOp::create(b, loc, ceilDiv(b, loc, bytes, align), align);
    total = arith::AddIOp::create(b, loc, offset, bytes);
    plan.buffers.try_emplace(alloc, std::move(buffer), offset);
  });
  if (total)
    plan.bytes = arith::IndexCastOp::create(b, loc, b.getI32Type(), total);
  return plan;
}

/// Whether `loop` is a sum over a warp's lanes (rotary-gpu-lane-reductions):
/// one dimension from 0 to 32 by 1, with reductions, no loop inside.
bool isLaneSum(scf::ParallelOp loop) {
  bool nested = false;
  loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
  return loop.getNumResults() != 0 && loop.getNumLoops() == 1 && !nested &&
         isConstantIntValue(loop.getLowerBound()[0], 0) &&
         isConstantIntValue(loop.getUpperBound()[0], kWarpLanes) &&
         isConstantIntValue(loop.getStep()[0], 1);
}

/// Whether a thread of `loop` has lane sums in it: each iteration then
/// runs on a warp.
bool hasLaneSums(scf::ParallelOp loop) {
  bool found = false;
  loop.getBody()->walk(
      [&](scf::ParallelOp inner) { found |= isLaneSum(inner); });
  return found;
}

/// Replaces the lane sum `sum`, in a kernel where `lane` is the thread's
/// lane, by its lane's terms combined across the warp with xor shuffles
/// (every lane ends with the whole sum).
void shuffleLanes(scf::ParallelOp sum, Value lane) {
  OpBuilder b(sum);
  Location loc = sum.getLoc();
  IRMapping map;
  map.map(sum.getInductionVars()[0], lane);
  cloneBody(b, *sum.getBody(), map);
  auto reduce = cast<scf::ReduceOp>(sum.getBody()->getTerminator());
  SmallVector<Value> results;
  for (auto [init, value, region] : llvm::zip_equal(
           sum.getInitVals(), reduce.getOperands(), reduce.getReductions())) {
    Value v = map.lookupOrDefault(value);
    for (int64_t offset = kWarpLanes / 2; offset >= 1; offset /= 2) {
      auto other = gpu::ShuffleOp::create(b, loc, v, offset, kWarpLanes,
                                          gpu::ShuffleMode::XOR);
      v = combineWithReduction(b, region, v, other.getShuffleResult());
    }
    results.push_back(combineWithReduction(b, region, init, v));
  }
  sum.replaceAllUsesWith(results);
  sum.erase();
}

/// The op that keeps `loop` from being mapped, with why, or null.
Operation *unmappable(scf::ParallelOp loop, std::string &why) {
  if (loop.getNumResults() != 0) {
    why = "a parallel loop with reductions has no GPU mapping yet";
    return loop;
  }
  SmallVector<scf::ParallelOp> inner = innerLoops(loop);
  Operation *bad = nullptr;
  loop.getBody()->walk([&](scf::ParallelOp nested) {
    // A thread's sums over the lanes of its warp.
    if (inner.empty() && isLaneSum(nested))
      return;
    if (!bad && !llvm::is_contained(inner, nested)) {
      bad = nested;
      why = nested->getParentOp() == loop.getOperation() ||
                    llvm::is_contained(inner, nested->getParentOp())
                ? "parallel loops nested deeper than tiles and their "
                  "threads have no GPU mapping yet"
                : "a parallel loop inside a sequential loop of a kernel "
                  "has no GPU mapping yet";
    }
  });
  if (bad || inner.empty())
    return bad;
  // The tile's own code runs in every thread: it must compute, allocate
  // the tile's buffers (shared memory of a bounded size), or touch memory
  // without a result (one thread does that).
  Operation *access = nullptr;
  std::function<void(Block &)> check = [&](Block &block) {
    for (Operation &op : block.without_terminator()) {
      if (access)
        return;
      if (isa<scf::ParallelOp, memref::DeallocOp>(op) ||
          isMemoryEffectFree(&op))
        continue;
      if (isTileForLoop(&op)) {
        check(*cast<scf::ForOp>(op).getBody());
      } else if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (failed(sharedBufferOf(alloc, loop))) {
          why = "a tile's buffer needs sizes with constant bounds or known "
                "before the launch to be shared memory";
          access = &op;
        }
      } else if (!op.use_empty()) {
        why = "a value a tile reads from memory outside its parallel loops "
              "has no GPU mapping yet";
        access = &op;
      }
    }
  };
  check(*loop.getBody());
  return access;
}

/// Clones `block`, the body of a tile or of one of its sequential loops,
/// into a kernel of one block per tile: the block's threads share each
/// inner parallel loop (thread k takes iterations k, k + threads, ...),
/// with a barrier between inner loops and at the end of every iteration of
/// a sequential loop; the tile's buffers become shared memory. `first`:
/// nothing before the block's first loop needs a barrier.
void cloneTileBlock(OpBuilder &b, Location loc, Block &block,
                    gpu::LaunchOp launch, const TileMemory &memory,
                    IRMapping &map, bool first) {
  for (Operation &op : block.without_terminator()) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      const auto &[shared, offset] = memory.buffers.at(alloc);
      Value buffer;
      if (offset)
        buffer = memref::ViewOp::create(b, alloc.getLoc(), shared.type,
                                        memory.base, offset, shared.hostSizes);
      else
        buffer = launch.addWorkgroupAttribution(shared.type, alloc.getLoc());
      if (!alloc.getType().hasStaticShape()) {
        SmallVector<OpFoldResult> sizes;
        unsigned next = 0;
        for (int64_t size : alloc.getType().getShape())
          sizes.push_back(ShapedType::isDynamic(size)
                              ? OpFoldResult(map.lookupOrDefault(
                                    alloc.getDynamicSizes()[next++]))
                              : OpFoldResult(b.getIndexAttr(size)));
        SmallVector<OpFoldResult> zeros(sizes.size(), b.getIndexAttr(0)),
            ones(sizes.size(), b.getIndexAttr(1));
        buffer = memref::SubViewOp::create(b, alloc.getLoc(), buffer, zeros,
                                           sizes, ones);
      }
      map.map(alloc.getResult(), buffer);
      continue;
    }
    if (isa<memref::DeallocOp>(op))
      continue;
    if (isTileForLoop(&op)) {
      auto loop = cast<scf::ForOp>(op);
      if (!first)
        gpu::BarrierOp::create(b, loc);
      first = true;
      auto mapped = [&](ValueRange values) {
        return llvm::map_to_vector(
            values, [&](Value v) { return map.lookupOrDefault(v); });
      };
      auto clone = scf::ForOp::create(
          b, loop.getLoc(), map.lookupOrDefault(loop.getLowerBound()),
          map.lookupOrDefault(loop.getUpperBound()),
          map.lookupOrDefault(loop.getStep()), mapped(loop.getInitArgs()));
      // The builder's implicit yield (no iteration arguments) is rebuilt.
      if (!clone.getBody()->empty())
        clone.getBody()->getTerminator()->erase();
      map.map(loop.getInductionVar(), clone.getInductionVar());
      map.map(loop.getRegionIterArgs(), clone.getRegionIterArgs());
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(clone.getBody());
        cloneTileBlock(b, loc, *loop.getBody(), launch, memory, map,
                       /*first=*/true);
        // The next iteration overwrites what this one's last loops read.
        gpu::BarrierOp::create(b, loc);
        scf::YieldOp::create(
            b, loop.getLoc(),
            mapped(loop.getBody()->getTerminator()->getOperands()));
      }
      map.map(loop.getResults(), clone.getResults());
      continue;
    }
    auto inner = dyn_cast<scf::ParallelOp>(op);
    if (!inner && !isMemoryEffectFree(&op)) {
      // A serial step of the tile (a scatter into a tile's partial sums):
      // thread 0 runs it, between barriers.
      if (!first)
        gpu::BarrierOp::create(b, loc);
      first = false;
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value leader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           launch.getThreadIds().x, zero);
      auto ifLeader = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifLeader.getThenRegion().front());
      b.clone(op, map);
      continue;
    }
    if (!inner || inner.getNumResults() != 0) {
      b.clone(op, map);
      continue;
    }
    // What one inner loop writes, the next may read in another thread.
    if (!first)
      gpu::BarrierOp::create(b, loc);
    first = false;
    SmallVector<Value> innerCounts;
    Value innerTotal = iterationCounts(b, loc, inner, map, innerCounts);
    auto strided = scf::ForOp::create(b, loc, launch.getThreadIds().x,
                                      innerTotal, launch.getBlockSizeX());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(strided.getBody()->getTerminator());
    delinearize(b, loc, strided.getInductionVar(), inner, innerCounts, map);
    cloneBody(b, *inner.getBody(), map);
  }
}

/// Gives the views of a tile's buffers, cloned from views of allocations,
/// the types of views of shared memory (with the bound's strides), and
/// checks that the buffers fit in a block's static shared memory.
LogicalResult retypeSharedViews(gpu::LaunchOp launch, Location loc) {
  int64_t bytes = 0;
  for (BlockArgument buffer : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(buffer.getType());
    bytes += type.getNumElements() *
             llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  }
  if (bytes > kStaticSharedBytes)
    return emitError(loc, "rotary-gpu-pipeline: a tile's buffers take ")
           << bytes << " bytes of shared memory, more than the "
           << kStaticSharedBytes << " a block has: record smaller tiles";
  WalkResult r = launch.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    auto view = dyn_cast<ViewLikeOpInterface>(op);
    if (!view || op->getNumResults() != 1)
      return WalkResult::advance();
    auto source = dyn_cast<MemRefType>(view.getViewSource().getType());
    auto result = dyn_cast<MemRefType>(op->getResult(0).getType());
    if (!source || !result ||
        source.getMemorySpace() == result.getMemorySpace())
      return WalkResult::advance();
    auto subview = dyn_cast<memref::SubViewOp>(op);
    if (!subview) {
      op->emitError("rotary-gpu-pipeline: a view of a tile's buffer other "
                    "than a subview has no GPU mapping yet");
      return WalkResult::interrupt();
    }
    subview.getResult().setType(memref::SubViewOp::inferRankReducedResultType(
        result.getShape(), source, subview.getMixedOffsets(),
        subview.getMixedSizes(), subview.getMixedStrides()));
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

/// Replaces `loop` by a launch of `blockSize`-thread blocks: one block per
/// tile for a loop over tiles (`perTile`); else one thread per iteration,
/// or one warp when the iterations have lane sums (`blockSize` is then a
/// multiple of the warp, so that a warp never straddles two iterations
/// or the end of the loop).
LogicalResult mapToLaunch(scf::ParallelOp loop, int64_t blockSize,
                          bool perTile) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  IRMapping map;
  SmallVector<Value> counts;
  Value total = iterationCounts(b, loc, loop, map, counts);
  Value threads = arith::ConstantIndexOp::create(b, loc, blockSize);
  bool warps = !perTile && hasLaneSums(loop);
  Value lanes =
      warps ? arith::ConstantIndexOp::create(b, loc, kWarpLanes) : Value();
  Value blocks =
      perTile
          ? total
          : ceilDiv(b, loc,
                    warps ? arith::MulIOp::create(b, loc, total, lanes) : total,
                    threads);
  TileMemory memory;
  if (perTile)
    memory = planTileMemory(b, loc, loop);
  gpu::LaunchOp launch =
      createLaunch(b, loc, total, blocks, threads, memory.bytes);
  if (perTile) {
    if (memory.bytes) {
      auto bytesType = MemRefType::get(
          {ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(),
          gpu::AddressSpaceAttr::get(b.getContext(),
                                     gpu::AddressSpace::Workgroup));
      memory.base = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
    }
    delinearize(b, loc, launch.getBlockIds().x, loop, counts, map);
    cloneTileBlock(b, loc, *loop.getBody(), launch, memory, map,
                   /*first=*/true);
    loop.erase();
    return retypeSharedViews(launch, loc);
  }
  Value id = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value lane, iteration = id;
  if (warps) {
    lane = arith::RemUIOp::create(b, loc, id, lanes);
    iteration = arith::DivUIOp::create(b, loc, id, lanes);
  }
  Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       iteration, total);
  auto ifInside = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
  b.setInsertionPointToStart(&ifInside.getThenRegion().front());
  delinearize(b, loc, iteration, loop, counts, map);
  cloneBody(b, *loop.getBody(), map);
  SmallVector<scf::ParallelOp> sums;
  ifInside.getThenRegion().walk(
      [&](scf::ParallelOp sum) { sums.push_back(sum); });
  for (scf::ParallelOp sum : sums)
    shuffleLanes(sum, lane);
  loop.erase();
  return success();
}

/// Whether `op` contains a kernel launch, a buffer's allocation or a call
/// (of another host function: a gradient's forward), which stay on the
/// host.
bool holdsHostWork(Operation *op) {
  WalkResult r = op->walk([](Operation *nested) {
    return isa<gpu::LaunchOp, memref::AllocOp, memref::DeallocOp, gpu::AllocOp,
               gpu::DeallocOp, func::CallOp>(nested)
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return r.wasInterrupted();
}

/// Moves `run`, host ops that touch device buffers, into a kernel of one
/// thread after its last op; fails when the host needs one of its values.
LogicalResult launchSerially(ArrayRef<Operation *> run) {
  DenseSet<Operation *> members(run.begin(), run.end());
  for (Operation *op : run)
    for (Operation *user : op->getUsers()) {
      Operation *top = op->getBlock()->findAncestorOpInBlock(*user);
      if (!top || !members.contains(top))
        return op->emitError("rotary-gpu-pipeline: the host needs this "
                             "value, computed from device memory");
    }
  OpBuilder b(run.back()->getBlock(), ++Block::iterator(run.back()));
  Location loc = run.front()->getLoc();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::LaunchOp launch = createLaunch(b, loc, one, one, one);
  Operation *end = launch.getBody().front().getTerminator();
  for (Operation *op : run)
    op->moveBefore(end);
  return success();
}

/// Runs the host code of `block` that reads or writes buffers (a loop
/// adding up a few values, a scalar result's load and store) as one-thread
/// kernels, one per maximal run of such ops and what they compute.
LogicalResult launchSerialCode(Block &block) {
  SmallVector<Operation *> run;
  DenseSet<Operation *> members;
  auto flush = [&]() -> LogicalResult {
    LogicalResult r = run.empty() ? success() : launchSerially(run);
    run.clear();
    members.clear();
    return r;
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    bool usesRun = llvm::any_of(op.getOperands(), [&](Value v) {
      return members.contains(v.getDefiningOp());
    });
    if (holdsHostWork(&op) || op.hasTrait<OpTrait::IsTerminator>()) {
      if (failed(flush()))
        return failure();
    } else if (!isMemoryEffectFree(&op) || usesRun) {
      run.push_back(&op);
      members.insert(&op);
    }
  }
  return flush();
}

/// The chunk of an exp-form generator op (or fused HDD-RoPE), else 0.
int64_t expFormChunk(Operation *op) {
  auto of = [](std::optional<SOForm> form, std::optional<int64_t> chunk) {
    return form == SOForm::exp && chunk ? *chunk : int64_t(0);
  };
  if (auto g = dyn_cast<SOGeneratorOp>(op))
    return of(g.getForm(), g.getChunk());
  if (auto g = dyn_cast<SOGeneratorGradOp>(op))
    return of(g.getForm(), g.getChunk());
  if (auto h = dyn_cast<HDDRopeOp>(op))
    return of(h.getForm(), h.getChunk());
  if (auto h = dyn_cast<HDDRopeGradOp>(op))
    return of(h.getForm(), h.getChunk());
  return 0;
}

struct GpuCheckSchedulablePass
    : rotary::impl::RotaryGpuCheckSchedulableBase<GpuCheckSchedulablePass> {
  void runOnOperation() override {
    if (failed(refuseFirst(getOperation(), [](Operation *op) {
          // Before the lowering: the exp form's matrix exponential beyond
          // c = 8 scales and squares scratch matrices per matrix, which a
          // thread has not.
          if (int64_t chunk = expFormChunk(op); chunk > 8) {
            op->emitError("rotary-gpu-pipeline: '")
                << op->getName() << "' in the exp form with chunks of " << chunk
                << " > 8 has no GPU schedule yet (the Givens form has; the "
                   "CPU schedule runs both: compile without --gpu)";
            return true;
          }
          // After the lowering: the structured ops the GPU schedule tiles
          // (rotary-gpu-configure). Ops of value semantics are the
          // lowering's to take.
          if (!isa<RotaryDialect>(op->getDialect()) ||
              !isa<DestinationStyleOpInterface>(op) ||
              isa<RopeTokensGradOp, RotationScanOp, HDDRopeLanesOp,
                  OnlineAttentionOp, OnlineAttentionQueryGradOp,
                  OnlineAttentionKeyGradOp, GivensRowsOp, GivensRowsGradOp>(op))
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

struct GpuExternDynamicSharedPass
    : rotary::impl::RotaryGpuExternDynamicSharedBase<
          GpuExternDynamicSharedPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() ==
              static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared) &&
          array && array.getNumElements() == 0 &&
          global.getInitializerRegion().empty() && !global.getValue())
        global.setLinkage(LLVM::Linkage::External);
    });
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

/// Clones into `launch` the subviews (and subviews of subviews) of the
/// buffers it uses, so that the kernel takes the buffers they cut.
/// (Upstream's sinking only moves ops whose operands the kernel already
/// takes.) Other views stay arguments: a contiguous view is a bare pointer.
void sinkSubviews(gpu::LaunchOp launch) {
  SetVector<Value> used;
  getUsedValuesDefinedAbove(launch.getBody(), used);
  SetVector<Operation *> views; // operands' views before their users
  std::function<void(Operation *)> collect = [&](Operation *op) {
    if (!isa_and_nonnull<memref::SubViewOp>(op) || views.contains(op))
      return;
    for (Value operand : op->getOperands())
      collect(operand.getDefiningOp());
    views.insert(op);
  };
  for (Value v : used)
    collect(v.getDefiningOp());
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  IRMapping map;
  for (Operation *op : views) {
    Operation *copy = b.clone(*op, map);
    for (auto [from, to] : llvm::zip(op->getResults(), copy->getResults()))
      from.replaceUsesWithIf(to, [&](OpOperand &use) {
        return launch->isProperAncestor(use.getOwner());
      });
  }
}

struct GpuMapParallelLoopsPass
    : rotary::impl::RotaryGpuMapParallelLoopsBase<GpuMapParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto [name, size] : {std::pair{"block-size", int64_t(blockSize)},
                              {"tile-block-size", int64_t(tileBlockSize)}})
      if (size <= 0 || size > 1024) {
        getOperation().emitError("rotary-gpu-map-parallel-loops: ")
            << name << " " << size << " is not in [1, 1024]";
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
          std::string why;
          if (Operation *bad = unmappable(loop, why)) {
            bad->emitError("rotary-gpu-pipeline: ") << why;
            return WalkResult::interrupt();
          }
          loops.push_back(loop);
        }
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return failure();
    for (scf::ParallelOp loop : loops) {
      bool perTile = !innerLoops(loop).empty();
      if (!perTile && hasLaneSums(loop) && blockSize % kWarpLanes != 0)
        return loop.emitError("rotary-gpu-pipeline: lane sums need a "
                              "block-size that is a multiple of ")
               << kWarpLanes << ", not " << static_cast<int64_t>(blockSize);
      if (failed(
              mapToLaunch(loop, perTile ? tileBlockSize : blockSize, perTile)))
        return failure();
    }
    if (!fn.isExternal() && failed(launchSerialCode(fn.getBody().front())))
      return failure();
    // Subviews of a buffer (a slice per angle of a chunk, say) are made
    // inside the kernels that read them: each one made on the host would be
    // a kernel argument of its own (a strided memref's descriptor, 88 bytes
    // at rank 4), and an op reading 120 of them passed the 4 KiB of kernel
    // parameters.
    fn.walk([](gpu::LaunchOp launch) { sinkSubviews(launch); });
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
