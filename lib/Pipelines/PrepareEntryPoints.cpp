//===- PrepareEntryPoints.cpp - checks and destination-passing bodies -----===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYPREPAREENTRYPOINTS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
/// Folds tensor.dim of rotary results down to sizes of the function's
/// arguments (via ReifyRankedShapedTypeOpInterface) and drops dead ops.
LogicalResult resolveDims(func::FuncOp fn) {
  MLIRContext *ctx = fn.getContext();
  RewritePatternSet patterns(ctx);
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  tensor::DimOp::getCanonicalizationPatterns(patterns, ctx);
  return applyPatternsGreedily(fn, std::move(patterns));
}

/// Replaces each call in `fn` by the callee's body, for the clones that
/// reason about shapes: a function that calls another entry (@f_bwd calls
/// @f_fwd and @f_vjp) checks its callees' rules and takes their result
/// sizes. Callees without a single-block body stay calls (what the checks
/// then need of them is refused as data-dependent).
LogicalResult inlineCalls(func::FuncOp fn, StringRef entry) {
  SymbolTableCollection symbols;
  // Each round inlines one level; a callee chain longer than this is a cycle.
  for (int round = 0; round < 16; ++round) {
    SmallVector<std::pair<func::CallOp, func::FuncOp>> calls;
    fn.walk([&](func::CallOp call) {
      auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (callee && !callee.isExternal() && callee.getBody().hasOneBlock())
        calls.emplace_back(call, callee);
    });
    if (calls.empty())
      return success();
    for (auto [call, callee] : calls) {
      Block &body = callee.getBody().front();
      IRMapping map;
      map.map(body.getArguments(), call.getOperands());
      OpBuilder b(call);
      for (Operation &op : body.without_terminator())
        b.clone(op, map);
      for (auto [r, v] : llvm::zip_equal(call.getResults(),
                                         body.getTerminator()->getOperands()))
        r.replaceAllUsesWith(map.lookupOrDefault(v));
      call.erase();
    }
  }
  return fn.emitError("rotary: the calls in entry '")
         << entry << "' do not end (a recursive call?)";
}

/// @f__check: the run-time shape rules of @f, evaluated from input sizes.
/// Each rotary op states them as cf.assert (RuntimeVerifiableOpInterface);
/// the asserts become a status: 0, or the 1-based number of the first rule
/// broken, whose message goes to `msgs`.
LogicalResult buildCheck(func::FuncOp fn, SmallVectorImpl<std::string> &msgs) {
  OpBuilder b(fn);
  auto check = cast<func::FuncOp>(b.clone(*fn));
  check.setSymName((fn.getSymName() + kCheckSuffix).str());
  if (failed(inlineCalls(check, fn.getSymName())))
    return failure();
  SmallVector<RuntimeVerifiableOpInterface> ops;
  check.walk([&](RuntimeVerifiableOpInterface op) {
    if (isa<RotaryDialect>(op->getDialect()))
      ops.push_back(op);
  });
  auto message = [](Operation *op, StringRef rule) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << op->getName() << " at " << op->getLoc() << ": " << rule;
    return s;
  };
  // Only the asserts the rotary ops emit are rules (a function's own
  // cf.assert is not a shape check).
  llvm::SmallPtrSet<Operation *, 8> own;
  check.walk([&](cf::AssertOp a) { own.insert(a); });
  for (RuntimeVerifiableOpInterface op : ops) {
    b.setInsertionPoint(op);
    op.generateRuntimeVerification(b, op->getLoc(), message);
  }
  SmallVector<cf::AssertOp> asserts;
  check.walk([&](cf::AssertOp a) {
    if (!own.contains(a))
      asserts.push_back(a);
  });
  Block &body = check.getBody().front();
  Operation *ret = body.getTerminator();
  b.setInsertionPoint(ret);
  Location loc = fn.getLoc();
  Value status = arith::ConstantIntOp::create(b, loc, 0, 32);
  for (int64_t k = asserts.size() - 1; k >= 0; --k) {
    Value code = arith::ConstantIntOp::create(b, loc, k + 1, 32);
    status = arith::SelectOp::create(b, loc, asserts[k].getArg(), status, code);
  }
  for (cf::AssertOp a : asserts) {
    msgs.push_back(a.getMsg().str());
    a.erase();
  }
  func::ReturnOp::create(b, loc, status);
  ret->erase();
  check.setType(b.getFunctionType(fn.getArgumentTypes(), {b.getI32Type()}));
  if (failed(resolveDims(check)))
    return failure();
  // A call left (of a function without a body) that no rule reads is not
  // part of the check, whatever else it does.
  SmallVector<func::CallOp> unread;
  check.walk([&](func::CallOp call) {
    if (call->use_empty())
      unread.push_back(call);
  });
  for (func::CallOp call : unread)
    call.erase();
  if (!unread.empty() && failed(resolveDims(check)))
    return failure();
  // Whatever the checks still use besides input sizes would be computed on
  // data: refuse rather than run a kernel to check a kernel.
  WalkResult bad = check.walk([&](Operation *op) {
    if (isa<RotaryDialect>(op->getDialect()) || isa<func::CallOp>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (bad.wasInterrupted())
    return fn.emitError("rotary: a run-time shape check of '")
           << fn.getSymName() << "' depends on data, not on input sizes";
  check->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return success();
}

/// Each output size as a constant or [input, dim]; fails for others.
LogicalResult recordOutputShapes(func::FuncOp fn) {
  OpBuilder b(fn);
  auto probe = cast<func::FuncOp>(b.clone(*fn));
  if (failed(inlineCalls(probe, fn.getSymName()))) {
    probe.erase();
    return failure();
  }
  Block &body = probe.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  SmallVector<Value> dims;
  for (Value v : ret.getOperands()) {
    auto t = cast<RankedTensorType>(v.getType());
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (t.isDynamicDim(i))
        dims.push_back(tensor::DimOp::create(b, fn.getLoc(), v, i));
  }
  func::ReturnOp::create(b, fn.getLoc(), dims);
  ret.erase();
  probe.setType(b.getFunctionType(
      fn.getArgumentTypes(), SmallVector<Type>(dims.size(), b.getIndexType())));
  LogicalResult resolved = resolveDims(probe);
  auto newRet = cast<func::ReturnOp>(probe.getBody().front().getTerminator());
  SmallVector<Attribute> outputs;
  unsigned next = 0;
  LogicalResult result = resolved;
  for (Type type : fn.getResultTypes()) {
    auto t = cast<RankedTensorType>(type);
    SmallVector<Attribute> shape;
    for (int64_t i = 0; i < t.getRank() && succeeded(result); ++i) {
      if (!t.isDynamicDim(i)) {
        shape.push_back(b.getI64IntegerAttr(t.getDimSize(i)));
        continue;
      }
      Value size = newRet.getOperand(next++);
      if (std::optional<int64_t> c = getConstantIntValue(size)) {
        shape.push_back(b.getI64IntegerAttr(*c)); // dynamic in the type only
        continue;
      }
      auto dim = size.getDefiningOp<tensor::DimOp>();
      auto arg = dim ? dyn_cast<BlockArgument>(dim.getSource()) : nullptr;
      std::optional<int64_t> idx = dim ? dim.getConstantIndex() : std::nullopt;
      if (!arg || !idx) {
        result = fn.emitError("rotary: size ")
                 << i << " of a result of '" << fn.getSymName()
                 << "' is not a size of an input";
        break;
      }
      shape.push_back(b.getDenseI64ArrayAttr({arg.getArgNumber(), *idx}));
    }
    outputs.push_back(b.getArrayAttr(shape));
  }
  probe.erase();
  if (failed(result))
    return failure();
  fn->setAttr(kOutputsAttr, b.getArrayAttr(outputs));
  return success();
}

/// @f(inputs) -> results  becomes  @f(inputs, outputs) with memref outputs:
/// each result is materialized in its output, and empty-tensor elimination
/// then lets the computation write there directly.
void makeDestinationPassing(func::FuncOp fn) {
  OpBuilder b(fn);
  unsigned numInputs = fn.getNumArguments();
  for (unsigned i = 0; i < numInputs; ++i)
    fn.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  SmallVector<Type> args(fn.getArgumentTypes());
  for (Value v : ret.getOperands()) {
    auto t = cast<RankedTensorType>(v.getType());
    auto memrefType = MemRefType::get(t.getShape(), t.getElementType());
    BlockArgument out = body.addArgument(memrefType, fn.getLoc());
    args.push_back(memrefType);
    auto store = bufferization::MaterializeInDestinationOp::create(
        b, fn.getLoc(), TypeRange{}, v, out);
    store.setRestrict(true);
    store.setWritable(true);
  }
  func::ReturnOp::create(b, fn.getLoc());
  ret.erase();
  fn.setType(b.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
}

/// A call of an entry that is now destination-passing: the caller allocates
/// the outputs, sized as the callee's recorded output shapes say, and reads
/// them back as tensors. A result the caller only stores into one of its own
/// outputs is computed there.
void callWithOutputs(func::CallOp call, func::FuncOp callee) {
  OpBuilder b(call);
  Location loc = call.getLoc();
  auto outputs = callee->getAttrOfType<ArrayAttr>(kOutputsAttr);
  SmallVector<Value> operands(call.getOperands()), buffers;
  for (auto [result, shape] : llvm::zip_equal(call.getResults(), outputs)) {
    auto t = cast<RankedTensorType>(result.getType());
    auto memrefType = MemRefType::get(t.getShape(), t.getElementType());
    auto store = result.hasOneUse()
                     ? dyn_cast<bufferization::MaterializeInDestinationOp>(
                           *result.getUsers().begin())
                     : nullptr;
    auto out = store ? dyn_cast<BlockArgument>(store.getDest()) : nullptr;
    if (out && out.getType() == memrefType &&
        out.getOwner() == call->getBlock()) {
      store.erase();
      buffers.push_back(nullptr);
      operands.push_back(out);
      continue;
    }
    SmallVector<Value> sizes;
    for (auto [i, size] : llvm::enumerate(cast<ArrayAttr>(shape))) {
      if (!t.isDynamicDim(i))
        continue;
      if (auto c = dyn_cast<IntegerAttr>(size)) {
        sizes.push_back(arith::ConstantIndexOp::create(b, loc, c.getInt()));
        continue;
      }
      ArrayRef<int64_t> argDim = cast<DenseI64ArrayAttr>(size).asArrayRef();
      sizes.push_back(
          tensor::DimOp::create(b, loc, call.getOperand(argDim[0]), argDim[1]));
    }
    auto buffer = memref::AllocOp::create(b, loc, memrefType, sizes);
    buffers.push_back(buffer);
    operands.push_back(buffer);
  }
  func::CallOp::create(b, loc, callee, operands);
  for (auto [result, buffer] : llvm::zip_equal(call.getResults(), buffers))
    if (buffer)
      result.replaceAllUsesWith(bufferization::ToTensorOp::create(
          b, loc, result.getType(), buffer, /*restrict=*/true,
          /*writable=*/true));
  call.erase();
}

struct PrepareEntryPointsPass
    : rotary::impl::RotaryPrepareEntryPointsBase<PrepareEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    NamedAttrList table;
    if (auto old = module->getAttrOfType<DictionaryAttr>(kEntryAttr))
      table.append(old.getValue());
    SmallVector<func::FuncOp> entries;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn.isPublic() && !fn.isExternal() && !fn->hasAttr(kEntryAttr))
        entries.push_back(fn);
    for (func::FuncOp fn : entries) {
      OpBuilder b(fn);
      for (Type t :
           llvm::concat<const Type>(fn.getArgumentTypes(), fn.getResultTypes()))
        if (!isa<RankedTensorType>(t)) {
          fn.emitError("rotary: entry '")
              << fn.getSymName()
              << "' must take and return ranked tensors only, got " << t;
          return signalPassFailure();
        }
      SmallVector<std::string> messages;
      if (failed(buildCheck(fn, messages)) || failed(recordOutputShapes(fn)))
        return signalPassFailure();
      SmallVector<Attribute> msgAttrs;
      for (const std::string &m : messages)
        msgAttrs.push_back(b.getStringAttr(m));
      fn->setAttr(kChecksAttr, b.getArrayAttr(msgAttrs));
      auto counts =
          b.getDenseI64ArrayAttr({static_cast<int64_t>(fn.getNumArguments()),
                                  static_cast<int64_t>(fn.getNumResults())});
      fn->setAttr(kEntryAttr, counts);
      table.set(fn.getSymName(), counts);
    }
    // Only now, when every entry's checks and sizes have seen through the
    // calls of the others, do the entries change signature.
    for (func::FuncOp fn : entries)
      makeDestinationPassing(fn);
    SymbolTable symbols(module);
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) { calls.push_back(call); });
    for (func::CallOp call : calls) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (callee && llvm::is_contained(entries, callee))
        callWithOutputs(call, callee);
    }
    // The entry table survives lowering to LLVM (function attributes may
    // not): rotary-pack-entry-points reads it.
    module->setAttr(kEntryAttr, table.getDictionary(module.getContext()));
  }
};
} // namespace
