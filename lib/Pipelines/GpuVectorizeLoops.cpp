//===- GpuVectorizeLoops.cpp - element-wise loops on vectors of 4 ---------===//
//
// Each thread of an element-wise GPU kernel loads one element per operand;
// a warp then issues 32-bit accesses where the memory system serves 128-bit
// ones best. This pass gives an outermost scf.parallel a second form in
// which an iteration handles `width` consecutive elements of the innermost
// dimension with vector loads and stores that state their alignment (NVPTX
// emits ld.global.v4 only then), and chooses between the two at run time:
// the vector form runs when the innermost count is a multiple of `width`
// and every buffer accessed along it is aligned for the vector at every
// row (aligned base, unit innermost stride, other strides multiples of
// `width`). What the vector form cannot express leaves the loop as it is.
//
//===----------------------------------------------------------------------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYGPUVECTORIZELOOPS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
/// Whether vectors of `t` have a byte size (not i1) the pass can align.
bool isByteSized(Type t) {
  return t.isIntOrFloat() && t.getIntOrFloatBitWidth() % 8 == 0;
}

/// Whether `buffer`'s type says its innermost dimension is contiguous, as
/// vector.load and vector.store require (a strided view, such as one angle
/// of every chunk, is not).
bool unitInnermost(Value buffer) {
  return cast<MemRefType>(buffer.getType()).isLastDimUnitStride();
}

/// The vector form of one loop body, built op by op: a value that depends
/// on the innermost induction variable becomes a vector of `width` lanes,
/// any other stays scalar (uniform across the lanes).
class BodyVectorizer {
public:
  BodyVectorizer(Value iv, int64_t width) : iv(iv), width(width) {}

  /// Whether every op of `body` has a vector form; records the buffers
  /// accessed along the innermost dimension.
  bool analyze(Block &body) {
    for (Operation &op : body.without_terminator())
      if (!analyzeOp(op))
        return false;
    return true;
  }

  /// Emits the vector form at `b` with the innermost index `base` (the
  /// first of the lanes); `map` holds the other induction variables.
  void emit(OpBuilder &b, Block &body, Value base, IRMapping &map) {
    for (Operation &op : body.without_terminator())
      emitOp(b, op, base, map);
  }

  llvm::SetVector<Value> contiguous; ///< buffers accessed along the lanes

private:
  bool isVarying(Value v) const { return varying.contains(v); }

  bool analyzeOp(Operation &op) {
    bool anyVarying = llvm::any_of(
        op.getOperands(), [&](Value v) { return v == iv || isVarying(v); });
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      ValueRange idx = load.getIndices();
      if (llvm::any_of(idx.drop_back(),
                       [&](Value v) { return v == iv || isVarying(v); }))
        return false;
      if (idx.empty() || idx.back() != iv) {
        if (!idx.empty() && isVarying(idx.back()))
          return false;
        return true; // uniform
      }
      if (!isByteSized(load.getType()) || !unitInnermost(load.getMemref()))
        return false;
      contiguous.insert(load.getMemref());
      varying.insert(load.getResult());
      return true;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      ValueRange idx = store.getIndices();
      if (idx.empty() || idx.back() != iv ||
          llvm::any_of(idx.drop_back(),
                       [&](Value v) { return v == iv || isVarying(v); }))
        return false; // every lane would write the same element
      if (!isByteSized(store.getValueToStore().getType()) ||
          !unitInnermost(store.getMemref()))
        return false;
      contiguous.insert(store.getMemref());
      return true;
    }
    if (!anyVarying)
      return op.getNumRegions() == 0; // uniform, computed once per vector
    // The induction variable itself only indexes the innermost dimension.
    if (llvm::is_contained(op.getOperands(), iv))
      return false;
    if (!op.hasTrait<OpTrait::Elementwise>() || op.getNumRegions() != 0 ||
        !llvm::all_of(op.getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); }))
      return false;
    for (Value r : op.getResults())
      varying.insert(r);
    return true;
  }

  VectorType vectorOf(Type t) const { return VectorType::get({width}, t); }

  Value lanes(OpBuilder &b, Location loc, Value scalar, IRMapping &map) {
    Value v = map.lookupOrDefault(scalar);
    if (isVarying(scalar))
      return v;
    return vector::BroadcastOp::create(b, loc, vectorOf(v.getType()), v);
  }

  void emitOp(OpBuilder &b, Operation &op, Value base, IRMapping &map) {
    Location loc = op.getLoc();
    auto indices = [&](ValueRange idx) {
      SmallVector<Value> out;
      for (Value v : idx.drop_back())
        out.push_back(map.lookupOrDefault(v));
      out.push_back(base);
      return out;
    };
    if (auto load = dyn_cast<memref::LoadOp>(op); load && isVarying(load)) {
      Type elt = load.getType();
      auto vec = vector::LoadOp::create(
          b, loc, vectorOf(elt), map.lookupOrDefault(load.getMemref()),
          indices(load.getIndices()), /*nontemporal=*/false,
          llvm::Align(width * elt.getIntOrFloatBitWidth() / 8));
      map.map(load.getResult(), vec.getResult());
      return;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      Type elt = store.getValueToStore().getType();
      vector::StoreOp::create(
          b, loc, lanes(b, loc, store.getValueToStore(), map),
          map.lookupOrDefault(store.getMemref()), indices(store.getIndices()),
          /*nontemporal=*/false,
          llvm::Align(width * elt.getIntOrFloatBitWidth() / 8));
      return;
    }
    if (op.getNumResults() == 0 || !isVarying(op.getResult(0))) {
      b.clone(op, map);
      return;
    }
    OperationState state(loc, op.getName());
    state.addAttributes(op.getAttrs());
    for (Value v : op.getOperands())
      state.addOperands(lanes(b, loc, v, map));
    for (Type t : op.getResultTypes())
      state.addTypes(vectorOf(t));
    Operation *vec = b.create(state);
    map.map(op.getResults(), vec->getResults());
  }

  Value iv;
  int64_t width;
  llvm::DenseSet<Value> varying;
};

/// Whether `buffer` is aligned for `width`-lane vectors at every index of
/// its innermost dimension that is a multiple of `width`.
Value alignedForLanes(OpBuilder &b, Location loc, Value buffer, int64_t width) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t eltBytes = type.getElementTypeBitWidth() / 8;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value lanes = arith::ConstantIndexOp::create(b, loc, width);
  Value vecBytes = arith::ConstantIndexOp::create(b, loc, width * eltBytes);
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  Value first = arith::AddIOp::create(
      b, loc, ptr,
      arith::MulIOp::create(b, loc, meta.getOffset(),
                            arith::ConstantIndexOp::create(b, loc, eltBytes)));
  auto isZero = [&](Value v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, zero);
  };
  Value ok = isZero(arith::RemUIOp::create(b, loc, first, vecBytes));
  ValueRange strides = meta.getStrides();
  Value unit =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, strides.back(),
                            arith::ConstantIndexOp::create(b, loc, 1));
  ok = arith::AndIOp::create(b, loc, ok, unit);
  for (Value s : strides.drop_back())
    ok = arith::AndIOp::create(
        b, loc, ok, isZero(arith::RemUIOp::create(b, loc, s, lanes)));
  return ok;
}

/// Adds the vector form of `loop` and the run-time choice between the two.
void vectorize(scf::ParallelOp loop, BodyVectorizer &body, int64_t width) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  unsigned last = loop.getNumLoops() - 1;
  Value count = loop.getUpperBound()[last];
  Value lanes = arith::ConstantIndexOp::create(b, loc, width);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value ok =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                            arith::RemUIOp::create(b, loc, count, lanes), zero);
  for (Value buffer : body.contiguous)
    ok = arith::AndIOp::create(b, loc, ok,
                               alignedForLanes(b, loc, buffer, width));
  auto choice = scf::IfOp::create(b, loc, ok, /*withElseRegion=*/true);

  b.setInsertionPointToStart(&choice.getThenRegion().front());
  SmallVector<Value> ubs(loop.getUpperBound());
  ubs[last] = arith::DivUIOp::create(b, loc, count, lanes);
  auto vectorLoop = scf::ParallelOp::create(b, loc, loop.getLowerBound(), ubs,
                                            loop.getStep());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(vectorLoop.getBody());
    IRMapping map;
    for (unsigned d = 0; d < last; ++d)
      map.map(loop.getInductionVars()[d], vectorLoop.getInductionVars()[d]);
    Value base = arith::MulIOp::create(
        b, loc, vectorLoop.getInductionVars()[last], lanes);
    body.emit(b, *loop.getBody(), base, map);
  }
  // The scalar form, unchanged, for everything else.
  loop->moveBefore(choice.getElseRegion().front().getTerminator());
}

struct GpuVectorizeLoopsPass
    : rotary::impl::RotaryGpuVectorizeLoopsBase<GpuVectorizeLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (width < 2 || width > 16 || (width & (width - 1))) {
      getOperation().emitError("rotary-gpu-vectorize-loops: width ")
          << static_cast<int64_t>(width) << " is not a power of 2 in [2, 16]";
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          loop.getNumResults() == 0)
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      unsigned last = loop.getNumLoops() - 1;
      if (!isConstantIntValue(loop.getLowerBound()[last], 0) ||
          !isConstantIntValue(loop.getStep()[last], 1))
        continue;
      BodyVectorizer body(loop.getInductionVars()[last], width);
      if (!body.analyze(*loop.getBody()) || body.contiguous.empty())
        continue;
      vectorize(loop, body, width);
    }
  }
};
} // namespace
