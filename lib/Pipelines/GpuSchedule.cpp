//===- GpuSchedule.cpp - the GPU schedule of the structured level ---------===//
//
// What the GPU schedule decides before loops meet blocks and threads:
// - rotary-gpu-configure: the tiles of the structured ops it takes (a tile
//   is a block; a scan's block of steps is a thread's);
// - rotary-gpu-hoist-parallel-loops: the sequential loops of a reduction
//   move inside the parallel loop over what it keeps, so that a thread
//   runs them over its own elements;
// - rotary-gpu-lane-reductions: a thread's long sum is shared among the
//   lanes of a warp.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYGPUCONFIGURE
#define GEN_PASS_DEF_ROTARYGPUHOISTPARALLELLOOPS
#define GEN_PASS_DEF_ROTARYGPULANEREDUCTIONS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
/// The largest square attention tile (32, 16, 8 or 4 queries and keys)
/// whose buffers fit in a block's 48 KiB of static shared memory at the
/// op's head dimension D. Per tile t, all f32: the forward and the query
/// pass hold three [t, D] buffers (scaled queries, accumulators, transposed
/// keys), two [t, t] (scores, weights) and a few [t]; the key pass five
/// [t, D] and one [t, t]; a bias and a span one more [t, t] each (at
/// most). A dynamic D gets 32 (the GPU pipeline then asks for a static
/// one).
template <typename OpTy> int64_t attentionTileFor(OpTy op) {
  int64_t d = cast<RankedTensorType>(op.getQ().getType()).getShape().back();
  if (ShapedType::isDynamic(d))
    return 32;
  bool keyPass = std::is_same_v<OpTy, OnlineAttentionKeyGradOp>;
  int64_t wide = keyPass ? 5 : 3, square = keyPass ? 1 : 2;
  square += (op.getBias() ? 1 : 0) + (op.getSpan() ? 1 : 0);
  for (int64_t t : {32, 16, 8})
    if (4 * (wide * t * d + square * t * t + 8 * t) <= kStaticSharedBytes)
      return t;
  return 4;
}

/// The rows of a Givens chain tile: the largest of 64, 32, ... 1 whose
/// f32 buffers in shared memory, `floats(rows)` of them at the op's
/// feature dimension D, fit in 48 KiB. A dynamic D gets 64 (the GPU
/// pipeline then asks for a static one).
int64_t
chainRowsFitting(Value x,
                 function_ref<int64_t(int64_t d, int64_t rows)> floats) {
  int64_t d = cast<RankedTensorType>(x.getType()).getShape().back();
  if (ShapedType::isDynamic(d))
    return 64;
  int64_t rows = 64;
  while (rows > 1 && 4 * floats(d, rows) > kStaticSharedBytes)
    rows /= 2;
  return rows;
}

/// The rotations of a chunk of a chain gradient's backward walk: each row
/// writes a term per rotation into a [C, rows + 1] tile before a thread per
/// rotation sums them.
constexpr int64_t kChainGradSteps = 32;

struct GpuConfigurePass
    : rotary::impl::RotaryGpuConfigureBase<GpuConfigurePass> {
  using Base::Base;
  void runOnOperation() override {
    if (attentionTile < 0) {
      getOperation().emitError("rotary-gpu-configure: attention-tile ")
          << int64_t(attentionTile) << " is negative";
      return signalPassFailure();
    }
    for (auto [name, value] : {std::pair{"rope-tokens", int64_t(ropeTokens)},
                               {"scan-block", int64_t(scanBlock)}})
      if (value <= 0) {
        getOperation().emitError("rotary-gpu-configure: ")
            << name << " " << value << " is not positive";
        return signalPassFailure();
      }
    // A rope gradient's block: `tokens` tokens of one batch entry, one
    // thread per frequency summing over the tile's tokens and heads.
    getOperation().walk([&](RopeTokensGradOp op) {
      recordTiles(op, {{"tokens", ropeTokens}});
    });
    // A scan, and the fused HDD-RoPE (the same scan with P in a thread's
    // registers, never stored): `block` steps per thread, then a thread
    // per column over the block totals.
    // A thread holds R rows of a product in R·c registers: all of a c ≤ 8
    // matrix, else the most rows that divide c and fit in 32 values (at
    // 64, c = 16 spilled: the step's G loads take registers too).
    auto scanTiles = [&](int64_t c) {
      int64_t rows = c <= 8 ? c : std::max<int64_t>(1, 32 / c);
      while (c % rows != 0)
        --rows;
      SmallVector<std::pair<StringRef, int64_t>> tiles = {{"block", scanBlock}};
      if (rows < c)
        tiles.push_back({"rows", rows});
      return tiles;
    };
    getOperation().walk([&](Operation *op) {
      if (auto lanes = dyn_cast<HDDRopeLanesOp>(op))
        recordTiles(op, scanTiles(lanes.getChunk()));
      if (auto scan = dyn_cast<RotationScanOp>(op))
        recordTiles(op, scanTiles(scan.getChunkSize()));
    });
    // A Givens chain: a block per group of rows, a thread per row. The
    // forward's buffers: the column-major tile [D, rows + 1] and, with a
    // matrix, the product [rows, D]; the gradient's: the x and ȳ tiles and
    // a chunk's terms [C, rows + 1].
    getOperation().walk([&](GivensRowsOp op) {
      bool matrix = bool(op.getMatrix());
      int64_t rows = chainRowsFitting(op.getX(), [&](int64_t d, int64_t w) {
        return d * (w + 1) + (matrix ? w * d : 0);
      });
      recordTiles(op, {{"rows", rows}, {"row_threads", 1}});
    });
    getOperation().walk([&](GivensRowsGradOp op) {
      int64_t rows = chainRowsFitting(op.getX(), [](int64_t d, int64_t w) {
        return (2 * d + kChainGradSteps) * (w + 1);
      });
      recordTiles(
          op, {{"rows", rows}, {"row_threads", 1}, {"steps", kChainGradSteps}});
    });
    // Attention and its gradient's passes: a block per tile of queries
    // (keys for the key pass), the other side visited a tile at a time.
    getOperation().walk([&](Operation *op) {
      std::optional<int64_t> tile =
          TypeSwitch<Operation *, std::optional<int64_t>>(op)
              .Case<OnlineAttentionOp, OnlineAttentionQueryGradOp,
                    OnlineAttentionKeyGradOp>(
                  [&](auto a) -> std::optional<int64_t> {
                    return attentionTile ? int64_t(attentionTile)
                                         : attentionTileFor(a);
                  })
              .Default([](Operation *) { return std::nullopt; });
      if (tile)
        recordTiles(op, {{"query", *tile}, {"key", *tile}});
    });
  }
};

/// The allocation or argument a buffer is a view of.
Value rootOf(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  return buffer;
}

/// Whether no iteration of `loop` reads or writes what another writes:
/// every store is indexed by each induction variable directly, a buffer
/// is stored to through one view only, and loaded only where a store of
/// that view writes.
bool iterationsIndependent(scf::ParallelOp loop) {
  SmallVector<memref::StoreOp> stores;
  SmallVector<memref::LoadOp> loads;
  bool other = false;
  loop.getBody()->walk([&](Operation *op) {
    if (auto store = dyn_cast<memref::StoreOp>(op))
      stores.push_back(store);
    else if (auto load = dyn_cast<memref::LoadOp>(op))
      loads.push_back(load);
    else if (!isMemoryEffectFree(op) && !isa<scf::ForOp, scf::IfOp>(op))
      other = true;
  });
  if (other)
    return false;
  // The view each stored buffer is written through.
  DenseMap<Value, Value> written;
  for (memref::StoreOp store : stores) {
    for (Value iv : loop.getInductionVars())
      if (!llvm::is_contained(store.getIndices(), iv))
        return false;
    auto [it, inserted] =
        written.try_emplace(rootOf(store.getMemRef()), store.getMemRef());
    if (!inserted && it->second != store.getMemRef())
      return false;
  }
  return llvm::all_of(loads, [&](memref::LoadOp load) {
    if (!written.contains(rootOf(load.getMemRef())))
      return true;
    return llvm::any_of(stores, [&](memref::StoreOp store) {
      return store.getMemRef() == load.getMemRef() &&
             store.getIndices() == load.getIndices();
    });
  });
}

/// The parallel loop `outer`'s body consists of (besides pure ops), or
/// null.
scf::ParallelOp soleParallelLoop(scf::ForOp outer) {
  scf::ParallelOp inner;
  for (Operation &op : outer.getBody()->without_terminator()) {
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      if (inner)
        return {};
      inner = loop;
    } else if (!isPure(&op)) {
      return {};
    }
  }
  return inner;
}

/// Swaps `outer` and the parallel loop inside it, if that is legal.
bool hoist(scf::ForOp outer) {
  scf::ParallelOp inner = soleParallelLoop(outer);
  if (!inner || outer.getNumResults() != 0 || inner.getNumResults() != 0 ||
      !iterationsIndependent(inner))
    return false;
  // The parallel loop's bounds must be known before the sequential loop.
  for (Value bound : inner->getOperands())
    if (outer->isAncestor(bound.getParentBlock()->getParentOp()))
      return false;
  OpBuilder b(outer);
  auto hoisted =
      scf::ParallelOp::create(b, inner.getLoc(), inner.getLowerBound(),
                              inner.getUpperBound(), inner.getStep());
  b.setInsertionPointToStart(hoisted.getBody());
  IRMapping map;
  b.clone(*outer, map);
  // Inline the cloned parallel loop's body where the loop stood.
  auto clone = cast<scf::ParallelOp>(map.lookup(inner.getOperation()));
  Block *body = clone.getBody();
  for (auto [iv, outerIv] :
       llvm::zip_equal(clone.getInductionVars(), hoisted.getInductionVars()))
    iv.replaceAllUsesWith(outerIv);
  body->getTerminator()->erase();
  clone->getBlock()->getOperations().splice(clone->getIterator(),
                                            body->getOperations());
  clone.erase();
  outer.erase();
  return true;
}

/// The buffer and indices of a load or store, or none.
std::optional<std::pair<Value, ValueRange>> accessOf(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return std::pair<Value, ValueRange>(load.getMemRef(), load.getIndices());
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return std::pair<Value, ValueRange>(store.getMemRef(), store.getIndices());
  return std::nullopt;
}

/// Keeps a location that `loop` reads and writes at fixed indices in a
/// register across the loop (an iter_arg), loaded before it and stored
/// after it: a thread's sum then costs no memory access per step.
bool promote(RewriterBase &rewriter, scf::ForOp loop) {
  for (memref::StoreOp store : loop.getBody()->getOps<memref::StoreOp>()) {
    Value buffer = store.getMemRef();
    if (!loop.isDefinedOutsideOfLoop(buffer) ||
        !llvm::all_of(store.getIndices(), [&](Value index) {
          return loop.isDefinedOutsideOfLoop(index);
        }))
      continue;
    // Every access of that buffer in the loop is this location, in the
    // loop's own block, and nothing else touches memory unseen.
    Value root = rootOf(buffer);
    SmallVector<Operation *> accesses;
    WalkResult r = loop.getBody()->walk([&](Operation *op) {
      auto access = accessOf(op);
      if (!access)
        return isMemoryEffectFree(op) || isa<scf::ForOp, scf::IfOp>(op)
                   ? WalkResult::advance()
                   : WalkResult::interrupt();
      if (rootOf(access->first) != root)
        return WalkResult::advance();
      if (access->first != buffer || access->second != store.getIndices() ||
          op->getBlock() != loop.getBody())
        return WalkResult::interrupt();
      accesses.push_back(op);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      continue;
    SmallVector<Value> indices(store.getIndices());
    rewriter.setInsertionPoint(loop);
    Value init =
        memref::LoadOp::create(rewriter, loop.getLoc(), buffer, indices);
    FailureOr<LoopLikeOpInterface> promoted = loop.replaceWithAdditionalYields(
        rewriter, init, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &, Location, ArrayRef<BlockArgument> args) {
          // The value of the location after each access, in block order.
          Value current = args.front();
          for (Operation *op : accesses) {
            if (auto load = dyn_cast<memref::LoadOp>(op))
              rewriter.replaceAllUsesWith(load.getResult(), current);
            else
              current = cast<memref::StoreOp>(op).getValueToStore();
          }
          return SmallVector<Value>{current};
        });
    if (failed(promoted))
      return false;
    for (Operation *op : accesses)
      rewriter.eraseOp(op);
    Operation *after = promoted->getOperation();
    rewriter.setInsertionPointAfter(after);
    memref::StoreOp::create(rewriter, after->getLoc(),
                            after->getResults().back(), buffer, indices);
    return true;
  }
  return false;
}

struct GpuHoistParallelLoopsPass
    : rotary::impl::RotaryGpuHoistParallelLoopsBase<GpuHoistParallelLoopsPass> {
  void runOnOperation() override {
    // One level per swap; the outer loops of a nest follow in later walks.
    while (getOperation()
               .walk([](scf::ForOp loop) {
                 return hoist(loop) ? WalkResult::interrupt()
                                    : WalkResult::advance();
               })
               .wasInterrupted())
      ;
    // A thread's sums in registers: the innermost loop first (the walk is
    // post-order), whose load and store then sit in the next loop out.
    IRRewriter rewriter(&getContext());
    while (getOperation()
               .walk([&](scf::ForOp loop) {
                 return promote(rewriter, loop) ? WalkResult::interrupt()
                                                : WalkResult::advance();
               })
               .wasInterrupted())
      ;
  }
};
/// The term `loop` adds at each step, when its only iter_arg is a float
/// sum (`yield %acc + %x`, %x not %acc) and its body writes no memory and
/// holds no loop; else null.
Value summand(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 1)
    return {};
  BlockArgument acc = loop.getRegionIterArgs().front();
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!isa<FloatType>(acc.getType()) || !acc.hasOneUse() || !add ||
      add->getBlock() != loop.getBody())
    return {};
  Value term = add.getLhs() == acc   ? add.getRhs()
               : add.getRhs() == acc ? add.getLhs()
                                     : Value();
  if (!term || term == acc)
    return {};
  WalkResult r = loop.getBody()->walk([](Operation *op) {
    return isa<LoopLikeOpInterface>(op) ||
                   !(isMemoryEffectFree(op) || isa<memref::LoadOp>(op))
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return r.wasInterrupted() ? Value() : term;
}

/// Whether `loop` runs in a thread of a one-thread-per-iteration loop
/// (not in a tile, whose threads are already the block's).
bool inThreadLoop(scf::ForOp loop) {
  auto thread = loop->getParentOfType<scf::ParallelOp>();
  return thread && !thread->getParentOfType<scf::ParallelOp>() &&
         thread.getNumResults() == 0 &&
         !llvm::any_of(thread.getBody()->getOps<scf::ParallelOp>(),
                       [](scf::ParallelOp p) { return !p.getNumResults(); });
}

/// `loop`'s sum as `lanes` interleaved partial sums, combined by an
/// scf.reduce, plus the loop's initial value.
void splitAcrossLanes(RewriterBase &rewriter, scf::ForOp loop, int64_t lanes) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  Type type = loop.getResult(0).getType();
  Value zero = arith::ConstantOp::create(rewriter, loc, type,
                                         rewriter.getFloatAttr(type, 0.0));
  Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value width = arith::ConstantIndexOp::create(rewriter, loc, lanes);
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  auto split = scf::ParallelOp::create(
      rewriter, loc, ValueRange{c0}, ValueRange{width}, ValueRange{c1},
      ValueRange{zero},
      [&](OpBuilder &b, Location, ValueRange ivs, ValueRange) {
        Value first = arith::AddIOp::create(
            b, loc, loop.getLowerBound(),
            arith::MulIOp::create(b, loc, ivs.front(), loop.getStep()));
        Value stride = arith::MulIOp::create(b, loc, loop.getStep(), width);
        auto part = scf::ForOp::create(
            b, loc, first, loop.getUpperBound(), stride, ValueRange{zero},
            [&](OpBuilder &fb, Location, Value iv, ValueRange sums) {
              IRMapping map;
              map.map(loop.getInductionVar(), iv);
              map.map(loop.getRegionIterArgs().front(), sums.front());
              for (Operation &op : loop.getBody()->without_terminator())
                fb.clone(op, map);
              scf::YieldOp::create(fb, loc,
                                   map.lookupOrDefault(yield.getOperand(0)));
            });
        auto reduce = scf::ReduceOp::create(b, loc, part.getResult(0));
        Block &sum = reduce.getReductions().front().front();
        OpBuilder sb = OpBuilder::atBlockEnd(&sum);
        scf::ReduceReturnOp::create(sb, loc,
                                    arith::AddFOp::create(sb, loc,
                                                          sum.getArgument(0),
                                                          sum.getArgument(1)));
      });
  rewriter.setInsertionPointAfter(split);
  rewriter.replaceOp(loop, arith::AddFOp::create(rewriter, loc,
                                                 loop.getInitArgs().front(),
                                                 split.getResult(0))
                               .getResult());
}

struct GpuLaneReductionsPass
    : rotary::impl::RotaryGpuLaneReductionsBase<GpuLaneReductionsPass> {
  void runOnOperation() override {
    const int64_t lanes = kWarpLanes;
    SmallVector<scf::ForOp> sums;
    getOperation().walk([&](scf::ForOp loop) {
      std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()),
                             ub = getConstantIntValue(loop.getUpperBound()),
                             step = getConstantIntValue(loop.getStep());
      bool shortLoop =
          lb && ub && step && *step > 0 && (*ub - *lb) / *step < 2 * lanes;
      if (!shortLoop && inThreadLoop(loop) && summand(loop))
        sums.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : sums)
      splitAcrossLanes(rewriter, loop, lanes);
  }
};
} // namespace
