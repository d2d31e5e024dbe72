//===- BufferCleanups.cpp - passes between bufferization and loops --------===//
//
// What one-shot bufferization leaves and LLVM would pay for (Passes.td):
// - rotary-forward-outputs: compute into an output argument instead of
//   copying to it;
// - rotary-drop-round-trip-copies: drop a copy of a reshaped view into a
//   buffer and back;
// - rotary-contiguous-expand-shape: memref.expand_shape of contiguous
//   buffers as reinterpret_cast (static strides for LLVM);
// - rotary-inline-alloca-scopes: drop memref.alloca_scope regions that
//   allocate nothing (they block loop optimisations);
// - rotary-copies-to-linalg: memref.copy as linalg.copy (loops, not a
//   library call).
//
//===----------------------------------------------------------------------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYCOPIESTOLINALG
#define GEN_PASS_DEF_ROTARYINLINEALLOCASCOPES
#define GEN_PASS_DEF_ROTARYFORWARDOUTPUTS
#define GEN_PASS_DEF_ROTARYCONTIGUOUSEXPANDSHAPE
#define GEN_PASS_DEF_ROTARYDROPROUNDTRIPCOPIES
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
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

/// The reassociation of a memref reshape, if `op` is one.
std::optional<SmallVector<ReassociationIndices>> reshapeOf(Operation *op,
                                                           bool expand) {
  if (auto e = dyn_cast_if_present<memref::ExpandShapeOp>(op); e && expand)
    return e.getReassociationIndices();
  if (auto c = dyn_cast_if_present<memref::CollapseShapeOp>(op); c && !expand)
    return c.getReassociationIndices();
  return std::nullopt;
}

/// Whether the copy target `target` is the buffer `view`: the same value,
/// or a subview of the same buffer at the same offsets and strides (a copy
/// between them implies equal sizes).
bool sameRegion(Value target, Value view) {
  if (target == view)
    return true;
  auto a = target.getDefiningOp<memref::SubViewOp>();
  auto b = view.getDefiningOp<memref::SubViewOp>();
  return a && b && a.getSource() == b.getSource() &&
         a.getStaticOffsets() == b.getStaticOffsets() &&
         a.getStaticStrides() == b.getStaticStrides() &&
         a.getOffsets() == b.getOffsets() && a.getStrides() == b.getStrides();
}

struct DropRoundTripCopiesPass
    : rotary::impl::RotaryDropRoundTripCopiesBase<DropRoundTripCopiesPass> {
  void runOnOperation() override {
    // Each drop erases two copies: walk again after it.
    while (getOperation()
               .walk([&](memref::CopyOp in) {
                 return dropRoundTrip(in, /*expand=*/true) ||
                                dropRoundTrip(in, /*expand=*/false)
                            ? WalkResult::interrupt()
                            : WalkResult::advance();
               })
               .wasInterrupted())
      ;
  }

  /// `in` copies a reshape of `view` into a fresh buffer; drops it and the
  /// copy of the buffer, reshaped back, into `view`.
  static bool dropRoundTrip(memref::CopyOp in, bool expand) {
    Operation *reshape = in.getSource().getDefiningOp();
    auto there = reshapeOf(reshape, expand);
    auto alloc = in.getTarget().getDefiningOp<memref::AllocOp>();
    if (!there || !alloc || alloc->getBlock() != in->getBlock())
      return false;
    Value view = reshape->getOperand(0);
    Operation *back = nullptr;
    memref::CopyOp out;
    memref::DeallocOp dealloc;
    for (Operation *user : alloc->getUsers()) {
      if (user == in.getOperation())
        continue;
      if (auto d = dyn_cast<memref::DeallocOp>(user)) {
        dealloc = d;
        continue;
      }
      auto inverse = reshapeOf(user, !expand);
      if (back || !inverse || *inverse != *there ||
          !user->getResult(0).hasOneUse())
        return false;
      back = user;
      out = dyn_cast<memref::CopyOp>(*user->getUsers().begin());
    }
    if (!back || !out || !sameRegion(out.getTarget(), view) ||
        out->getBlock() != in->getBlock() || !in->isBeforeInBlock(out))
      return false;
    // Nothing between the copies may write memory.
    for (Operation *op = in->getNextNode(); op != out.getOperation();
         op = op->getNextNode())
      if (!isMemoryEffectFree(op))
        return false;
    out.erase();
    back->erase();
    in.erase();
    if (dealloc)
      dealloc.erase();
    alloc.erase();
    return true;
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

struct CopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                op.getTarget());
    return success();
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
