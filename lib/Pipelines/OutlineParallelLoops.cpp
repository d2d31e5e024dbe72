//===- OutlineParallelLoops.cpp - parallel loops as launcher calls --------===//
//
// After the conversion to the LLVM dialect, each omp.parallel { omp.wsloop
// { omp.loop_nest } } (the kernels' scf.parallel loops) becomes a call of
// the host's launcher (Passes.td, rotary-outline-parallel-loops; the ABI is
// in Bundle/Manifest.h). The loop nest is flattened to one index k in
// [0, n), n the product of the trip counts, and its body moved into
//
//   llvm.func internal @F_parN(%ctx: !llvm.ptr, %begin: i64, %end: i64) {
//     load the captured values from %ctx
//     for k in [begin, end): ivs = lb + delinearize(k) * step; body
//   }
//
// and the kernel stores the captured values in a stack struct and calls
// the launcher from the global, or @F_parN(ctx, 0, n) when it is null.
//
//===----------------------------------------------------------------------===//

#include "rotary/Bundle/Manifest.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYOUTLINEPARALLELLOOPS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
/// The pieces of one omp.parallel the pass understands: ops before the
/// worksharing loop (run once per range in the outlined body) and the loop;
/// then what the loop uses from the kernel: values passed in the frame
/// struct (`captures`, `frame` their struct type), and constants, cloned
/// into the body instead (a loaded value would hide constant sizes and
/// strides from LLVM: no vectorisation, no folded indexing).
struct ParallelLoop {
  omp::ParallelOp parallel;
  SmallVector<Operation *> prologue;
  omp::LoopNestOp nest;
  SmallVector<Value> captures;
  SmallVector<Operation *> constants;
  LLVM::LLVMStructType frame;
};

FailureOr<ParallelLoop> match(omp::ParallelOp parallel) {
  ParallelLoop loop{parallel, {}, {}};
  Region &region = parallel.getRegion();
  if (!region.hasOneBlock() || parallel->getNumOperands() != 0)
    return parallel.emitError("rotary: an omp.parallel with clauses or "
                              "several blocks cannot be outlined");
  for (Operation &op : region.front()) {
    if (auto ws = dyn_cast<omp::WsloopOp>(op)) {
      if (loop.nest || ws->getNumOperands() != 0)
        return parallel.emitError("rotary: expected one plain omp.wsloop");
      loop.nest = dyn_cast<omp::LoopNestOp>(ws.getWrappedLoop());
      if (!loop.nest || loop.nest.getLoopInclusive())
        return parallel.emitError("rotary: expected an exclusive loop nest");
      continue;
    }
    if (isa<omp::TerminatorOp>(op))
      continue;
    if (loop.nest || op.getNumRegions() != 0)
      return parallel.emitError("rotary: unexpected ")
             << op.getName() << " in an omp.parallel";
    loop.prologue.push_back(&op);
  }
  if (!loop.nest)
    return parallel.emitError("rotary: omp.parallel without a loop");
  SetVector<Value> used;
  getUsedValuesDefinedAbove(region, used);
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
        (def->hasTrait<OpTrait::ConstantLike>() ||
         isa<LLVM::ZeroOp, LLVM::PoisonOp, LLVM::UndefOp, LLVM::AddressOfOp>(
             def)))
      loop.constants.push_back(def);
    else
      loop.captures.push_back(v);
  }
  loop.frame = LLVM::LLVMStructType::getLiteral(
      parallel.getContext(),
      llvm::map_to_vector(loop.captures, [](Value v) { return v.getType(); }));
  return loop;
}

/// The address of field i of the frame struct at `base`.
Value frameField(OpBuilder &b, Location loc, const ParallelLoop &loop,
                 Value base, unsigned i) {
  return LLVM::GEPOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), loop.frame, base,
      ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
}

Value i64Const(OpBuilder &b, Location loc, int64_t v) {
  return LLVM::ConstantOp::create(b, loc, b.getI64Type(), v);
}

/// max(0, ceil((ub − lb) / step)) for each dim of the nest, whose bounds
/// are looked up in `map`. Steps are positive (scf.parallel's).
SmallVector<Value> tripCounts(OpBuilder &b, Location loc, omp::LoopNestOp nest,
                              const IRMapping &map) {
  SmallVector<Value> trips;
  Value zero = i64Const(b, loc, 0), one = i64Const(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(),
                 nest.getLoopSteps())) {
    Value s = map.lookupOrDefault(step);
    Value span = LLVM::SubOp::create(b, loc, map.lookupOrDefault(ub),
                                     map.lookupOrDefault(lb));
    Value t = LLVM::SDivOp::create(
        b, loc,
        LLVM::AddOp::create(b, loc, span, LLVM::SubOp::create(b, loc, s, one)),
        s);
    Value neg = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, t, zero);
    trips.push_back(LLVM::SelectOp::create(b, loc, neg, zero, t));
  }
  return trips;
}

/// Moves the loop of `loop` into a new function and returns it.
LLVM::LLVMFuncOp outline(IRRewriter &rewriter, ParallelLoop &loop,
                         StringRef name) {
  MLIRContext *ctx = rewriter.getContext();
  Location loc = loop.parallel.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = rewriter.getI64Type();
  auto fnType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                            {ptr, i64, i64});
  auto parentFn = loop.parallel->getParentOfType<LLVM::LLVMFuncOp>();
  rewriter.setInsertionPoint(parentFn);
  auto fn = LLVM::LLVMFuncOp::create(rewriter, loc, name, fnType,
                                     LLVM::Linkage::Internal);
  Block *entry = fn.addEntryBlock(rewriter);
  Value ctxArg = entry->getArgument(0), begin = entry->getArgument(1),
        end = entry->getArgument(2);

  // Entry: the captured values and constants, then the prologue, then the
  // trip counts.
  rewriter.setInsertionPointToStart(entry);
  IRMapping map;
  for (auto [i, v] : llvm::enumerate(loop.captures))
    map.map(v,
            LLVM::LoadOp::create(rewriter, loc, v.getType(),
                                 frameField(rewriter, loc, loop, ctxArg, i)));
  for (Operation *op : llvm::concat<Operation *>(loop.constants, loop.prologue))
    rewriter.clone(*op, map);
  SmallVector<Value> trips = tripCounts(rewriter, loc, loop.nest, map);

  // header(k): k < end ? body(k) : exit.
  Block *exit = rewriter.createBlock(&fn.getBody());
  LLVM::ReturnOp::create(rewriter, loc, ValueRange{});
  Block *header = rewriter.createBlock(exit, {i64}, {loc});
  Block *delin = rewriter.createBlock(exit);
  rewriter.setInsertionPointToEnd(entry);
  LLVM::BrOp::create(rewriter, loc, ValueRange{begin}, header);
  rewriter.setInsertionPointToStart(header);
  Value k = header->getArgument(0);
  LLVM::CondBrOp::create(
      rewriter, loc,
      LLVM::ICmpOp::create(rewriter, loc, LLVM::ICmpPredicate::slt, k, end),
      delin, exit);

  // The nest's region goes between delin and exit; its entry block's
  // arguments are the induction variables, innermost fastest.
  Region &body = loop.nest.getRegion();
  Block *bodyEntry = &body.front();
  SmallVector<Block *> moved =
      llvm::map_to_vector(body.getBlocks(), [](Block &blk) { return &blk; });
  rewriter.inlineRegionBefore(body, fn.getBody(), exit->getIterator());
  rewriter.setInsertionPointToStart(delin);
  SmallVector<Value> ivs(trips.size());
  Value rest = k;
  for (int64_t d = trips.size() - 1; d >= 0; --d) {
    Value idx =
        d == 0 ? rest : LLVM::SRemOp::create(rewriter, loc, rest, trips[d]);
    if (d > 0)
      rest = LLVM::SDivOp::create(rewriter, loc, rest, trips[d]);
    ivs[d] = LLVM::AddOp::create(
        rewriter, loc, map.lookupOrDefault(loop.nest.getLoopLowerBounds()[d]),
        LLVM::MulOp::create(rewriter, loc, idx,
                            map.lookupOrDefault(loop.nest.getLoopSteps()[d])));
  }
  LLVM::BrOp::create(rewriter, loc, ivs, bodyEntry);

  // latch: k + 1, back to the header; every omp.yield branches there.
  Block *latch = rewriter.createBlock(exit);
  rewriter.setInsertionPointToStart(latch);
  LLVM::BrOp::create(rewriter, loc,
                     ValueRange{LLVM::AddOp::create(
                         rewriter, loc, k, i64Const(rewriter, loc, 1))},
                     header);
  for (Block *blk : moved) {
    auto yield = dyn_cast<omp::YieldOp>(blk->getTerminator());
    if (!yield)
      continue; // the body's own control flow
    rewriter.setInsertionPoint(yield);
    rewriter.replaceOpWithNewOp<LLVM::BrOp>(yield, ValueRange{}, latch);
  }
  // Values from the kernel or the prologue now come from the entry block.
  for (Block *blk : moved)
    blk->walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands())
        if (Value v = map.lookupOrNull(use.get()))
          use.set(v);
    });
  return fn;
}

/// Replaces the omp.parallel with the launcher call (or the direct call
/// while the launcher is null).
void launch(IRRewriter &rewriter, ParallelLoop &loop, LLVM::LLVMFuncOp body,
            LLVM::GlobalOp launcher) {
  MLIRContext *ctx = rewriter.getContext();
  Location loc = loop.parallel.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = rewriter.getI64Type();
  auto parentFn = loop.parallel->getParentOfType<LLVM::LLVMFuncOp>();

  // The struct lives in the kernel's entry block (not in a loop).
  rewriter.setInsertionPointToStart(&parentFn.getBody().front());
  Value frame = LLVM::AllocaOp::create(rewriter, loc, ptr, loop.frame,
                                       i64Const(rewriter, loc, 1));

  rewriter.setInsertionPoint(loop.parallel);
  for (auto [i, v] : llvm::enumerate(loop.captures))
    LLVM::StoreOp::create(rewriter, loc, v,
                          frameField(rewriter, loc, loop, frame, i));
  // The trip counts may use prologue values: clone those here too (the
  // constants are in scope here).
  IRMapping map;
  for (Operation *op : loop.prologue)
    rewriter.clone(*op, map);
  SmallVector<Value> trips = tripCounts(rewriter, loc, loop.nest, map);
  Value n = i64Const(rewriter, loc, 1);
  for (Value t : trips)
    n = LLVM::MulOp::create(rewriter, loc, n, t);

  Value fnPtr = LLVM::AddressOfOp::create(rewriter, loc, body);
  Value slot = LLVM::AddressOfOp::create(rewriter, loc, launcher);
  Value launcherPtr = LLVM::LoadOp::create(rewriter, loc, ptr, slot);
  Value isNull =
      LLVM::ICmpOp::create(rewriter, loc, LLVM::ICmpPredicate::eq, launcherPtr,
                           LLVM::ZeroOp::create(rewriter, loc, ptr));
  Block *before = rewriter.getInsertionBlock();
  Block *after = rewriter.splitBlock(before, loop.parallel->getIterator());
  Block *direct = rewriter.createBlock(after);
  Block *viaLauncher = rewriter.createBlock(after);
  rewriter.setInsertionPointToEnd(before);
  LLVM::CondBrOp::create(rewriter, loc, isNull, direct, viaLauncher);
  rewriter.setInsertionPointToStart(direct);
  LLVM::CallOp::create(rewriter, loc, body,
                       ValueRange{frame, i64Const(rewriter, loc, 0), n});
  LLVM::BrOp::create(rewriter, loc, ValueRange{}, after);
  rewriter.setInsertionPointToStart(viaLauncher);
  auto launcherType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                                  {ptr, ptr, i64});
  LLVM::CallOp::create(rewriter, loc, launcherType,
                       ValueRange{launcherPtr, fnPtr, frame, n});
  LLVM::BrOp::create(rewriter, loc, ValueRange{}, after);
  rewriter.eraseOp(loop.parallel);
}

struct OutlineParallelLoopsPass
    : rotary::impl::RotaryOutlineParallelLoopsBase<OutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    for (auto fn : llvm::to_vector(module.getOps<LLVM::LLVMFuncOp>())) {
      SmallVector<omp::ParallelOp> parallels;
      fn.walk([&](omp::ParallelOp p) { parallels.push_back(p); });
      unsigned counter = 0;
      for (omp::ParallelOp parallel : parallels) {
        if (parallel->getParentOfType<omp::ParallelOp>()) {
          parallel.emitError("rotary: nested omp.parallel");
          return signalPassFailure();
        }
        FailureOr<ParallelLoop> loop = match(parallel);
        if (failed(loop))
          return signalPassFailure();
        std::string name = (fn.getName() + "_par" + Twine(counter++)).str();
        LLVM::LLVMFuncOp body = outline(rewriter, *loop, name);
        launch(rewriter, *loop, body,
               getOrCreatePointerGlobal(module, bundle::kParallelForSymbol));
      }
    }
  }
};
} // namespace

LLVM::GlobalOp rotary::getOrCreatePointerGlobal(ModuleOp module,
                                                StringRef name) {
  if (auto g = module.lookupSymbol<LLVM::GlobalOp>(name))
    return g;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto ptr = LLVM::LLVMPointerType::get(module.getContext());
  auto g = LLVM::GlobalOp::create(b, module.getLoc(), ptr, /*isConstant=*/false,
                                  LLVM::Linkage::External, name, Attribute());
  Block *init = b.createBlock(&g.getInitializerRegion());
  b.setInsertionPointToStart(init);
  LLVM::ReturnOp::create(b, module.getLoc(),
                         Value(LLVM::ZeroOp::create(b, module.getLoc(), ptr)));
  return g;
}
