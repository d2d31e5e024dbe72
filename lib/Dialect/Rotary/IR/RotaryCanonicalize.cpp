//===- RotaryCanonicalize.cpp - folders and canonicalization patterns -----===//
//
// Patterns only fire on verified IR with fully known structure (static pair
// lists, constant angles); anything they cannot prove is left alone.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace rotary;

namespace {
/// The constant value of `v` as dense f32 elements, if it is one.
std::optional<DenseElementsAttr> getConstantF32(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.getElementType().isF32())
    return std::nullopt;
  return attr;
}

bool isAllZero(DenseElementsAttr attr) {
  // A splat may stand for more elements than memory holds: look at one.
  if (attr.isSplat())
    return attr.getSplatValue<APFloat>().isZero();
  return llvm::all_of(attr.getValues<APFloat>(),
                      [](const APFloat &f) { return f.isZero(); });
}

/// Attributes of `a` and `b` equal except for the attributes `flags`.
bool sameAttrsExcept(Operation *a, Operation *b, ArrayRef<StringRef> flags) {
  NamedAttrList la(a->getAttrDictionary()), lb(b->getAttrDictionary());
  for (StringRef flag : flags) {
    la.erase(flag);
    lb.erase(flag);
  }
  return la.getDictionary(a->getContext()) == lb.getDictionary(b->getContext());
}

/// The attributes that must agree (besides `inverse`) for op(inner(x)) = x.
template <typename OpTy> bool inversePairAttrs(OpTy op, OpTy inner) {
  return sameAttrsExcept(op, inner, {"inverse"});
}
/// With xPos, `inverse` keeps the scale s: the pair gives s²·x, unless one
/// is a query's and the other a key's of the same scale base and γ, whose
/// scales multiply to 1.
template <> bool inversePairAttrs(RopeOp op, RopeOp inner) {
  if (!sameAttrsExcept(op, inner,
                       {"inverse", "xpos", "xpos_scale_base", "xpos_gamma"}))
    return false;
  if (!op.getXpos() && !inner.getXpos())
    return true;
  return op.getXpos() && inner.getXpos() && *op.getXpos() != *inner.getXpos() &&
         op.getXposScaleBaseOrDefault() == inner.getXposScaleBaseOrDefault() &&
         op.getXposGammaOrDefault() == inner.getXposGammaOrDefault();
}

/// Replaces op(op'(x)) by x when op and op' are the same rotation with opposite
/// `inverse` flags and identical operands besides x.
template <typename OpTy> struct CancelInversePair : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getX().template getDefiningOp<OpTy>();
    if (!inner || inner.getInverse() == op.getInverse())
      return rewriter.notifyMatchFailure(op, "not an inverse pair");
    if (op->getNumOperands() != inner->getNumOperands() ||
        !llvm::equal(op->getOperands().drop_front(),
                     inner->getOperands().drop_front()))
      return rewriter.notifyMatchFailure(op, "different rotation operands");
    if (!inversePairAttrs(op, inner))
      return rewriter.notifyMatchFailure(op, "different rotation attributes");
    rewriter.replaceOp(op, inner.getX());
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// rotary.rope / rotary.hdd_rope
//===----------------------------------------------------------------------===//

void RopeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<CancelInversePair<RopeOp>>(context);
}

void HDDRopeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<CancelInversePair<HDDRopeOp>>(context);
}

//===----------------------------------------------------------------------===//
// rotary.givens
//===----------------------------------------------------------------------===//

OpFoldResult GivensOp::fold(FoldAdaptor) {
  if (auto angles = getConstantF32(getAngles()); angles && isAllZero(*angles))
    return getX();
  // An empty chain (N = 0) is the identity too.
  if (getNumRotations() == 0)
    return getX();
  return {};
}

namespace {
/// Drops the rotations whose angle is a constant zero (for every head).
struct RemoveZeroGivens : OpRewritePattern<GivensOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GivensOp op,
                                PatternRewriter &rewriter) const override {
    auto angles = getConstantF32(op.getAngles());
    if (!angles)
      return rewriter.notifyMatchFailure(op, "angles are not constant");
    // A splat is all zero (the folder's case) or has no zero at all.
    if (angles->isSplat())
      return rewriter.notifyMatchFailure(op, "splat angles");
    FailureOr<SmallVector<int64_t>> pairs = op.getEffectivePairs();
    if (failed(pairs))
      return rewriter.notifyMatchFailure(op, "pairs depend on a dynamic D");
    auto type = cast<RankedTensorType>(angles->getType());
    int64_t n = type.getShape().back();
    int64_t heads = type.getRank() == 2 ? type.getDimSize(0) : 1;
    SmallVector<APFloat> values(angles->getValues<APFloat>());
    SmallVector<int64_t> keep;
    for (int64_t k = 0; k < n; ++k)
      if (llvm::any_of(llvm::seq<int64_t>(0, heads),
                       [&](int64_t h) { return !values[h * n + k].isZero(); }))
        keep.push_back(k);
    if (static_cast<int64_t>(keep.size()) == n || keep.empty())
      return rewriter.notifyMatchFailure(op, "no zero angle to drop");
    SmallVector<APFloat> newValues;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t k : keep)
        newValues.push_back(values[h * n + k]);
    SmallVector<int64_t> newPairs;
    for (int64_t k : keep)
      newPairs.append({(*pairs)[2 * k], (*pairs)[2 * k + 1]});
    SmallVector<int64_t> shape(type.getShape());
    shape.back() = keep.size();
    auto newType = RankedTensorType::get(shape, type.getElementType());
    Value newAngles =
        arith::ConstantOp::create(rewriter, op.getLoc(), newType,
                                  DenseElementsAttr::get(newType, newValues));
    rewriter.replaceOpWithNewOp<GivensOp>(
        op, op.getX(), newAngles, rewriter.getDenseI64ArrayAttr(newPairs),
        op.getInverse());
    return success();
  }
};

/// givens(givens(x, a1, p1), a2, p2) -> givens(x, concat(a1, a2), p1 ++ p2).
/// With both `inverse` the chains compose in the opposite order.
struct MergeAdjacentGivens : OpRewritePattern<GivensOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GivensOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getX().getDefiningOp<GivensOp>();
    if (!inner || !inner->hasOneUse())
      return rewriter.notifyMatchFailure(op, "no single-use inner chain");
    if (inner.getInverse() != op.getInverse())
      return rewriter.notifyMatchFailure(op, "mixed inverse flags");
    auto ta = cast<RankedTensorType>(inner.getAngles().getType());
    auto tb = cast<RankedTensorType>(op.getAngles().getType());
    if (ta.getRank() != tb.getRank())
      return rewriter.notifyMatchFailure(op, "shared and per-head angles");
    // Both bind to x's head dimension; when it is dynamic the verifier cannot
    // see two different static head counts, and concat would be invalid.
    if (ta.getRank() == 2 && !ShapedType::isDynamic(ta.getDimSize(0)) &&
        !ShapedType::isDynamic(tb.getDimSize(0)) &&
        ta.getDimSize(0) != tb.getDimSize(0))
      return rewriter.notifyMatchFailure(op, "different head counts");
    FailureOr<SmallVector<int64_t>> pa = inner.getEffectivePairs();
    FailureOr<SmallVector<int64_t>> pb = op.getEffectivePairs();
    if (failed(pa) || failed(pb))
      return rewriter.notifyMatchFailure(op, "pairs depend on a dynamic D");
    // x·C_a·C_b for plain chains; x·C_aᵀ·C_bᵀ = x·(C_b·C_a)ᵀ for inverses.
    Value first = inner.getAngles(), second = op.getAngles();
    SmallVector<int64_t> pairs = *pa;
    if (op.getInverse()) {
      std::swap(first, second);
      pairs = *pb;
      pairs.append(pa->begin(), pa->end());
    } else {
      pairs.append(pb->begin(), pb->end());
    }
    Value angles = tensor::ConcatOp::create(
        rewriter, op.getLoc(), ta.getRank() - 1, ValueRange{first, second});
    rewriter.replaceOpWithNewOp<GivensOp>(op, inner.getX(), angles,
                                          rewriter.getDenseI64ArrayAttr(pairs),
                                          op.getInverse());
    return success();
  }
};
} // namespace

void GivensOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results
      .add<RemoveZeroGivens, MergeAdjacentGivens, CancelInversePair<GivensOp>>(
          context);
}

//===----------------------------------------------------------------------===//
// rotary.orthogonal
//===----------------------------------------------------------------------===//

namespace {
/// Whether `m` ([D, D] or [H, D, D] floats) is the identity (every head).
bool isIdentityMatrix(DenseElementsAttr m) {
  if (!isa<FloatType>(m.getElementType()))
    return false;
  auto type = cast<RankedTensorType>(m.getType());
  int64_t d = type.getShape().back();
  if (type.getShape()[type.getRank() - 2] != d)
    return false;
  if (m.isSplat()) // only a 1x1 splat of 1 is an identity
    return d == 1 && m.getSplatValue<APFloat>().isExactlyValue(1.0);
  int64_t idx = 0;
  for (const APFloat &v : m.getValues<APFloat>()) {
    int64_t row = (idx / d) % d, col = idx % d;
    ++idx;
    if (row == col ? !v.isExactlyValue(1.0) : !v.isZero())
      return false;
  }
  return true;
}
} // namespace

OpFoldResult OrthogonalOp::fold(FoldAdaptor adaptor) {
  // Folding to x must not change the type (x may be less static).
  if (getX().getType() != getType())
    return {};
  auto m = dyn_cast_if_present<DenseElementsAttr>(adaptor.getMatrix());
  if (!m || !isIdentityMatrix(m))
    return {};
  return getX();
}

//===----------------------------------------------------------------------===//
// rotary.rotation_block
//===----------------------------------------------------------------------===//

void rotary::expandRotationBlock(RewriterBase &rewriter, RotationBlockOp op) {
  Location loc = op.getLoc();
  Value x = op.getX();
  if (Value positions = op.getPositions()) {
    RopeLayout layout = op.getLayout().value_or(RopeLayout::half);
    auto rope = RopeOp::create(
        rewriter, loc, x.getType(), x, positions, /*inv_freq=*/Value(),
        /*phase=*/Value(), /*scale=*/Value(), /*runtime_base=*/Value(),
        RopeLayoutAttr::get(rewriter.getContext(), layout),
        op.getRotaryDimAttr(), op.getBaseAttr(), /*inverse=*/nullptr,
        /*xpos=*/nullptr, /*xpos_scale_base=*/nullptr, /*xpos_gamma=*/nullptr);
    x = rope.getResult();
  }
  Value chained =
      GivensOp::create(rewriter, loc, x.getType(), x, op.getAngles(),
                       op.getPairsAttr(), /*inverse=*/nullptr);
  rewriter.replaceOpWithNewOp<OrthogonalOp>(op, chained.getType(), chained,
                                            op.getMatrix(),
                                            /*transpose=*/nullptr);
}

namespace {
/// rotation_block is one op (one fused kernel) in canonical form; it is
/// expanded into [rope ->] givens -> orthogonal only when a part is an
/// identity that then folds away (zero or no angles, R = I).
struct ExpandTrivialRotationBlock : OpRewritePattern<RotationBlockOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotationBlockOp op,
                                PatternRewriter &rewriter) const override {
    auto angles = getConstantF32(op.getAngles());
    bool noChain =
        (angles && isAllZero(*angles)) ||
        cast<RankedTensorType>(op.getAngles().getType()).getShape().back() ==
            0;
    DenseElementsAttr m;
    bool identityR = matchPattern(op.getMatrix(), m_Constant(&m)) &&
                     isIdentityMatrix(m);
    if (!noChain && !identityR)
      return rewriter.notifyMatchFailure(op, "no part is an identity");
    expandRotationBlock(rewriter, op);
    return success();
  }
};
} // namespace

void RotationBlockOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<ExpandTrivialRotationBlock>(context);
}

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

OpFoldResult QuaternionRotateOp::fold(FoldAdaptor) {
  if (auto angle = getConstantF32(getAngle()); angle && isAllZero(*angle))
    return getX();
  return {};
}
