//===- GenerateGradients.cpp - backward functions of forward functions ----===//
//
// Reverse-mode differentiation of straight-line rotary functions. The
// backward walks the forward ops in reverse, asking each op whose results
// carry a cotangent for its backward (DifferentiableOpInterface), and
// accumulating cotangents of values used more than once. Where the backward
// finds a forward value is a parameter of the walk: in @f_bwd the forward ops
// are cloned first (recompute); in @f_vjp the values are arguments (saved by
// @f_fwd). One walk records which forward values it reads, which is what
// decides the saved set. When there is a @f_vjp, @f_bwd becomes a call of
// the forward (@f_fwd or @f) and one of @f_vjp; when the saved values are
// by-products of the forward's own results, @f calls @f_fwd. Each
// computation is then compiled once.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

#include <functional>

namespace rotary {
#define GEN_PASS_DEF_ROTARYGENERATEGRADIENTS
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

/// The operands of `op` that have a gradient, or nullopt when `op` has no
/// gradient rule. Ops without float tensor operands need none.
std::optional<SmallVector<Value>> differentiableOperands(Operation *op) {
  if (auto diff = dyn_cast<DifferentiableOpInterface>(op))
    return diff.getDifferentiableOperands();
  if (llvm::none_of(op->getOperandTypes(), isFloatTensor) &&
      op->getNumRegions() == 0)
    return SmallVector<Value>{};
  return std::nullopt;
}

/// One reverse sweep over a forward function's ops.
class Backward {
public:
  using PrimalFn = function_ref<Value(Value)>;
  Backward(OpBuilder &b, PrimalFn primal) : b(b), primal(primal) {}

  /// Adds `g` to the cotangent of the forward value `fwd`.
  void accumulate(Value fwd, Value g) {
    auto [it, inserted] = cotangents.try_emplace(fwd, g);
    if (inserted)
      return;
    // linalg.add on an empty destination sized from `g`: the result's sizes
    // resolve to the function's arguments like every other output.
    Location loc = g.getLoc();
    it->second = linalg::AddOp::create(b, loc, ValueRange{it->second, g},
                                       emptyLike(b, loc, g))
                     .getResult(0);
  }
  Value cotangent(Value fwd) const { return cotangents.lookup(fwd); }

  /// Emits the gradient op of `op` (when any result has a cotangent) and
  /// accumulates the operands' cotangents.
  LogicalResult visit(Operation *op) {
    if (llvm::none_of(op->getResults(),
                      [&](Value r) { return cotangent(r); }))
      return success();
    std::optional<SmallVector<Value>> diff = differentiableOperands(op);
    if (!diff)
      return op->emitError() << "rotary-generate-gradients: no gradient for '"
                             << op->getName() << "'";
    if (diff->empty())
      return success();
    auto cot = [&](Value r) { return cotangent(r); };
    SmallVector<Value> grads =
        cast<DifferentiableOpInterface>(op).buildGradient(b, primal, cot);
    for (auto [operand, grad] : llvm::zip_equal(*diff, grads))
      accumulate(operand, grad);
    return success();
  }

private:
  OpBuilder &b;
  PrimalFn primal;
  DenseMap<Value, Value> cotangents;
};

/// The arguments of `fn` that get a gradient: float tensors that reach a
/// differentiable operand or are returned.
SmallVector<unsigned> activeArguments(func::FuncOp fn) {
  llvm::SmallDenseSet<Value> reached;
  fn.walk([&](Operation *op) {
    if (isa<func::ReturnOp>(op)) {
      reached.insert(op->operand_begin(), op->operand_end());
      return;
    }
    if (auto diff = differentiableOperands(op))
      reached.insert(diff->begin(), diff->end());
  });
  SmallVector<unsigned> active;
  for (BlockArgument arg : fn.getArguments())
    if (isFloatTensor(arg.getType()) && reached.contains(arg))
      active.push_back(arg.getArgNumber());
  return active;
}

/// Why `fn` cannot be differentiated, or an empty string.
std::string whyNotDifferentiable(func::FuncOp fn,
                                 ArrayRef<unsigned> active) {
  if (fn.isExternal() || !fn.getBody().hasOneBlock())
    return "it is not a single-block function";
  if (!llvm::all_of(fn.getResultTypes(),
                    [](Type t) { return isa<RankedTensorType>(t); }))
    return "a result is not a ranked tensor";
  for (Operation &op : fn.getBody().front().without_terminator())
    if (!differentiableOperands(&op))
      return ("'" + op.getName().getStringRef() + "' has no gradient").str();
  if (active.empty())
    return "no argument is a float tensor that reaches a differentiable "
           "operand";
  return "";
}

struct GenerateGradients
    : rotary::impl::RotaryGenerateGradientsBase<GenerateGradients> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerDifferentiableExternalModels(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    llvm::StringSet<> requested;
    for (const std::string &f : functions)
      requested.insert(f);
    SmallVector<func::FuncOp> selected;
    auto isBackwardName = [](StringRef n) {
      return n.ends_with("_bwd") || n.ends_with("_fwd") || n.ends_with("_vjp");
    };
    for (auto fn : module.getOps<func::FuncOp>()) {
      bool named = requested.contains(fn.getSymName());
      if (!named && (!requested.empty() || !fn.isPublic() ||
                     isBackwardName(fn.getSymName()) ||
                     fn->hasAttr(kGeneratedAttr) ||
                     fn->hasAttr(kGradientAttr) ||
                     symbols.lookup((fn.getSymName() + "_bwd").str())))
        continue;
      selected.push_back(fn);
    }
    for (const std::string &f : functions)
      if (!symbols.lookup<func::FuncOp>(f)) {
        module.emitError() << "rotary-generate-gradients: no function @" << f;
        return signalPassFailure();
      }
    for (func::FuncOp fn : selected) {
      bool named = requested.contains(fn.getSymName());
      if (failed(differentiate(fn, symbols, named)))
        return signalPassFailure();
    }
  }

  static constexpr StringLiteral kGeneratedAttr = "rotary.generated";
  static constexpr StringLiteral kGradientAttr = "rotary.gradient";

  /// Emits @f_bwd (and @f_fwd, @f_vjp when values must be saved). Failing
  /// is an error only for functions named in `functions`.
  LogicalResult differentiate(func::FuncOp original, SymbolTable &symbols,
                              bool named) {
    // Differentiate a copy with rotation blocks expanded into their parts.
    OpBuilder mb(original);
    auto fn = cast<func::FuncOp>(mb.clone(*original));
    llvm::scope_exit cleanup([&] { fn.erase(); });
    SmallVector<RotationBlockOp> blocks;
    fn.walk([&](RotationBlockOp op) { blocks.push_back(op); });
    IRRewriter rewriter(fn.getContext());
    for (RotationBlockOp op : blocks) {
      rewriter.setInsertionPoint(op);
      expandRotationBlock(rewriter, op);
    }
    // Dead values get no gradient: drop them before deciding what is active.
    if (fn.getBody().hasOneBlock())
      for (Operation &op : llvm::make_early_inc_range(
               llvm::reverse(fn.getBody().front().getOperations())))
        if (isOpTriviallyDead(&op))
          op.erase();

    SmallVector<unsigned> active = activeArguments(fn);
    std::string why = whyNotDifferentiable(fn, active);
    StringRef name = original.getSymName();
    std::string bwdName = (name + "_bwd").str(), fwdName = (name + "_fwd").str(),
                vjpName = (name + "_vjp").str();
    if (why.empty())
      for (const std::string &n : {bwdName, fwdName, vjpName})
        if (symbols.lookup(n))
          why = "@" + n + " already exists";
    if (!why.empty()) {
      if (!named)
        return success();
      return original.emitError()
             << "rotary-generate-gradients: cannot differentiate @" << name
             << ": " << why;
    }

    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    FunctionType fnType = fn.getFunctionType();
    SmallVector<Type> gradTypes;
    for (unsigned a : active)
      gradTypes.push_back(fnType.getInput(a));

    // --- @f_bwd: recompute, then the reverse sweep ---
    SmallVector<Type> bwdInputs(fnType.getInputs());
    llvm::append_range(bwdInputs, fnType.getResults());
    // `top` inserts the new functions after the original, in order.
    OpBuilder top(original->getContext());
    top.setInsertionPointAfter(original);
    auto bwd = func::FuncOp::create(
        top, original.getLoc(), bwdName,
        top.getFunctionType(bwdInputs, gradTypes));
    Block *bwdBlock = bwd.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(bwdBlock);
    IRMapping map;
    for (BlockArgument arg : fn.getArguments())
      map.map(arg, bwdBlock->getArgument(arg.getArgNumber()));
    for (Operation &op : body.without_terminator())
      b.clone(op, map);
    // What the backward reads: arguments, results, and values it cannot
    // recompute (recomputeInBackward) from those.
    llvm::SetVector<Value> needed;
    std::function<void(Value)> need = [&](Value v) {
      if (!recomputed(v, ret)) {
        needed.insert(v);
        return;
      }
      for (Value operand : v.getDefiningOp()->getOperands())
        need(operand);
    };
    auto recompute = [&](Value v) {
      need(v);
      return map.lookup(v);
    };
    ValueRange bwdCots =
        bwdBlock->getArguments().drop_front(fnType.getNumInputs());
    if (failed(sweep(b, fn, ret, recompute, bwdCots, active)))
      return failure();
    markGenerated(bwd);

    // --- what the backward reads beyond the arguments ---
    SmallVector<unsigned> neededArgs, neededResults;
    SmallVector<Value> saved;
    for (BlockArgument arg : fn.getArguments())
      if (needed.contains(arg))
        neededArgs.push_back(arg.getArgNumber());
    OperandRange results = ret.getOperands();
    for (auto [i, r] : llvm::enumerate(results))
      if (needed.contains(r) && !isa<BlockArgument>(r) &&
          !llvm::is_contained(results.take_front(i), r))
        neededResults.push_back(i);
    for (Operation &op : body.without_terminator())
      for (Value r : op.getResults())
        if (needed.contains(r) && !llvm::is_contained(ret.getOperands(), r))
          saved.push_back(r);

    SmallVector<Attribute> vjpInputs;
    auto input = [&](StringRef kind, int64_t i) {
      vjpInputs.push_back(top.getStringAttr(kind + ":" + Twine(i)));
    };
    StringRef forwardName = name, vjpFn = bwdName;
    if (neededResults.empty() && saved.empty()) {
      // @f_bwd recomputes nothing: it is the vjp.
      for (unsigned i = 0; i < fnType.getNumInputs(); ++i)
        input("arg", i);
    } else {
      // Results are returned anyway; only other values need @f_fwd.
      func::FuncOp forward = original;
      if (!saved.empty()) {
        forward = emitForwardSaving(top, fn, fwdName, saved);
        forwardName = fwdName;
        if (savedAreByProducts(saved, ret))
          callForwardSaving(original, forward);
      }
      func::FuncOp vjp = emitVjp(top, fn, ret, vjpName, neededArgs,
                                 neededResults, saved, active);
      vjpFn = vjpName;
      callForwardAndVjp(bwd, forward, vjp, neededArgs, neededResults,
                        saved.size());
      for (unsigned i : neededArgs)
        input("arg", i);
      for (unsigned i : neededResults)
        input("result", i);
      for (unsigned i = 0; i < saved.size(); ++i)
        input("saved", i);
    }
    for (unsigned i = 0; i < fnType.getNumResults(); ++i)
      input("cotangent", i);
    SmallVector<int64_t> gradArgs(active.begin(), active.end());
    original->setAttr(
        kGradientAttr,
        top.getDictionaryAttr({
            top.getNamedAttr("backward", top.getStringAttr(bwdName)),
            top.getNamedAttr("forward", top.getStringAttr(forwardName)),
            top.getNamedAttr("vjp", top.getStringAttr(vjpFn)),
            top.getNamedAttr("vjp_inputs", top.getArrayAttr(vjpInputs)),
            top.getNamedAttr("grads", top.getDenseI64ArrayAttr(gradArgs)),
            top.getNamedAttr("saved", top.getI64IntegerAttr(saved.size())),
        }));
    return success();
  }

  /// The reverse sweep of `fn` at `b`'s insertion point, returning the
  /// gradients of the `active` arguments.
  LogicalResult sweep(OpBuilder &b, func::FuncOp fn, func::ReturnOp ret,
                      Backward::PrimalFn primal, ValueRange cots,
                      ArrayRef<unsigned> active) {
    Backward backward(b, primal);
    for (auto [r, c] : llvm::zip_equal(ret.getOperands(), cots))
      backward.accumulate(r, c);
    Block &body = fn.getBody().front();
    for (Operation &op :
         llvm::reverse(llvm::make_range(body.begin(), ret->getIterator())))
      if (failed(backward.visit(&op)))
        return failure();
    SmallVector<Value> grads;
    for (unsigned a : active) {
      Value arg = fn.getArgument(a);
      Value g = backward.cotangent(arg);
      grads.push_back(g ? g : zerosLike(b, fn.getLoc(), primal(arg)));
    }
    func::ReturnOp::create(b, fn.getLoc(), grads);
    return success();
  }

  /// @f_bwd as a call of the forward that saves and one of @f_vjp, so that
  /// each is compiled once. The recomputing body built first is what
  /// decided the saved set.
  static void callForwardAndVjp(func::FuncOp bwd, func::FuncOp forward,
                                func::FuncOp vjp, ArrayRef<unsigned> neededArgs,
                                ArrayRef<unsigned> neededResults,
                                unsigned numSaved) {
    Block &block = bwd.getBody().front();
    block.clear();
    OpBuilder b = OpBuilder::atBlockBegin(&block);
    Location loc = bwd.getLoc();
    unsigned numInputs = forward.getNumArguments();
    unsigned numResults = forward.getNumResults() - numSaved;
    auto fwdCall = func::CallOp::create(
        b, loc, forward, block.getArguments().take_front(numInputs));
    SmallVector<Value> vjpArgs;
    for (unsigned i : neededArgs)
      vjpArgs.push_back(block.getArgument(i));
    for (unsigned i : neededResults)
      vjpArgs.push_back(fwdCall.getResult(i));
    llvm::append_range(vjpArgs, fwdCall.getResults().drop_front(numResults));
    llvm::append_range(vjpArgs, block.getArguments().drop_front(numInputs));
    auto vjpCall = func::CallOp::create(b, loc, vjp, vjpArgs);
    func::ReturnOp::create(b, loc, vjpCall.getResults());
  }

  /// Whether each saved value comes out of an op that also makes a result
  /// of the forward (the log-sum-exp beside attention's output): the
  /// forward computes it anyway, and storing it costs little.
  static bool savedAreByProducts(ArrayRef<Value> saved, func::ReturnOp ret) {
    return llvm::all_of(saved, [&](Value s) {
      Operation *def = s.getDefiningOp();
      return def && llvm::any_of(def->getResults(), [&](Value r) {
               return llvm::is_contained(ret.getOperands(), r);
             });
    });
  }

  /// @f as a call of @f_fwd that drops the saved values, so that the
  /// forward is compiled once.
  static void callForwardSaving(func::FuncOp original, func::FuncOp fwd) {
    Block &block = original.getBody().front();
    block.clear();
    OpBuilder b = OpBuilder::atBlockBegin(&block);
    auto call =
        func::CallOp::create(b, original.getLoc(), fwd, block.getArguments());
    func::ReturnOp::create(
        b, original.getLoc(),
        call.getResults().take_front(original.getNumResults()));
  }

  /// @f_fwd: the forward, also returning the saved values.
  func::FuncOp emitForwardSaving(OpBuilder &top, func::FuncOp fn,
                                 StringRef fwdName, ArrayRef<Value> saved) {
    auto fwd = cast<func::FuncOp>(top.clone(*fn));
    fwd.setSymName(fwdName);
    fwd->removeAttr(kGradientAttr);
    // The clone's ops are in the same order: map saved values by position.
    Block &src = fn.getBody().front(), &dst = fwd.getBody().front();
    IRMapping map;
    for (auto [s, d] : llvm::zip_equal(src.without_terminator(),
                                       dst.without_terminator()))
      map.map(s.getResults(), d.getResults());
    auto ret = cast<func::ReturnOp>(dst.getTerminator());
    SmallVector<Value> results(ret.getOperands());
    for (Value s : saved)
      results.push_back(map.lookup(s));
    OpBuilder rb(ret);
    func::ReturnOp::create(rb, ret.getLoc(), results);
    ret.erase();
    fwd.setType(top.getFunctionType(fwd.getArgumentTypes(),
                                  ValueRange(results).getTypes()));
    markGenerated(fwd);
    return fwd;
  }

  /// @f_vjp: the reverse sweep reading saved values from its arguments.
  func::FuncOp emitVjp(OpBuilder &top, func::FuncOp fn, func::ReturnOp ret,
                       StringRef vjpName, ArrayRef<unsigned> neededArgs,
                       ArrayRef<unsigned> neededResults, ArrayRef<Value> saved,
                       ArrayRef<unsigned> active) {
    SmallVector<Value> inputs;
    for (unsigned i : neededArgs)
      inputs.push_back(fn.getArgument(i));
    for (unsigned i : neededResults)
      inputs.push_back(ret.getOperand(i));
    llvm::append_range(inputs, saved);
    SmallVector<Type> types(ValueRange(inputs).getTypes());
    llvm::append_range(types, fn.getResultTypes());
    SmallVector<Type> gradTypes;
    for (unsigned a : active)
      gradTypes.push_back(fn.getArgument(a).getType());
    auto vjp = func::FuncOp::create(top, fn.getLoc(), vjpName,
                                    top.getFunctionType(types, gradTypes));
    Block *block = vjp.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(block);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(inputs, block->getArguments()))
      map.map(v, arg);
    // A value that is not an input is rebuilt here from inputs.
    std::function<Value(Value)> lookup = [&](Value v) -> Value {
      if (Value mapped = map.lookupOrNull(v))
        return mapped;
      Operation *def = v.getDefiningOp();
      for (Value operand : def->getOperands())
        (void)lookup(operand);
      b.clone(*def, map);
      return map.lookup(v);
    };
    // The same sweep as @f_bwd's reads exactly the mapped values and those
    // it rebuilds from them.
    (void)sweep(b, fn, ret, lookup,
                block->getArguments().drop_front(inputs.size()), active);
    markGenerated(vjp);
    return vjp;
  }

  /// Whether the backward rebuilds `v` instead of reading it: the result of
  /// an op that asks for it (recomputeInBackward), unless `v` is returned
  /// anyway.
  static bool recomputed(Value v, func::ReturnOp ret) {
    auto diff = v.getDefiningOp<DifferentiableOpInterface>();
    return diff && diff.recomputeInBackward() &&
           !llvm::is_contained(ret.getOperands(), v);
  }

  static void markGenerated(func::FuncOp fn) {
    fn->setAttr(kGeneratedAttr, UnitAttr::get(fn.getContext()));
  }
};
} // namespace
