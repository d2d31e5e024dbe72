//===- LowerHDDGrad.cpp - gradients of so_generator, scan, hdd_rope -------===//
//
// The backward of docs/Math.md §5.
// - so_generator_grad: per matrix, ā from Ḡ through the generator — givens:
//   the chain walked backwards from G with the per-angle 2×2 derivative;
//   exp: the adjoint of the matrix exponential, Ā = L(Aᵀ, Ḡ), the upper
//   right block of exp([[Aᵀ, Ḡ], [0, Aᵀ]]) (unrolled block products for
//   c ≤ kMaxExpChunk, 2c×2c tensors and loops above).
// - cumulative_rotation_grad: P is recomputed by the forward scan. With G
//   orthogonal (the op's contract: rotations), G_{t+1}⋯G_s = P_tᵀ·P_s, so
//   Ḡ_t = P_{t−1}ᵀ·W_t·P_t with W_t = Σ_{s≥t} P̄_s·P_sᵀ, a reverse cumulative
//   sum, and P_{t−1}ᵀ = G_t·P_tᵀ. For G that is not orthogonal the result is
//   not the gradient.
// - hdd_rope_grad with P: x̄ = Pᵀ·ȳ and P̄ = ȳ·xᵀ per chunk (transposed
//   roles with `inverse`).
// - hdd_rope_grad fused: rotary.hdd_rope_lanes_grad (the Givens form, and
//   the exp form for c ≤ kMaxExpChunk; a larger exp form runs unfused),
//   whose tiles run two passes on lanes (gradGroup, every step a loop over
//   lanes). Pass 1 scans forward to P_T, checkpointing P at the end of
//   every K tokens (the schedule's `checkpoint` tile);
//   pass 2 walks t = T..1 with P_{t−1} = P_t·G_tᵀ (reset from the checkpoints,
//   which bounds the drift), accumulating W_t = Σ_{s≥t} ȳ_s·y_sᵀ (P̄_s·P_sᵀ
//   without P̄), emitting x̄_t = P_tᵀ·ȳ_t and ā_t from Ḡ_t = P_{t−1}ᵀ·W_t·P_t
//   through the generator. No buffer of P per token exists (decision 0016).
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;
using namespace rotary::lowering::hdd;

namespace {
/// A constant [K, 2] index table of the generator's pairs.
Value pairTable(OpBuilder &b, Location loc, int64_t c) {
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  auto type = RankedTensorType::get({static_cast<int64_t>(pairs.size()), 2},
                                    b.getIndexType());
  SmallVector<APInt> flat;
  for (auto [p, q] : pairs)
    flat.append({APInt(64, p), APInt(64, q)});
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, flat));
}

/// so_generator_grad (exp) for chunks too large to unroll: per matrix,
/// exp([[Aᵀ, Ḡ], [0, Aᵀ]]) with 2c×2c tensors, then ā_pq = Ā[p,q] − Ā[q,p]
/// from its upper right block Ā.
Value largeExpAdjoint(OpBuilder &b, Location loc, Value angles, Value gBar,
                      int64_t c) {
  SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
  leadSizes.pop_back();
  Value a2 = collapseLeading(b, loc, angles, 1); // [M, K]
  Value g3 = collapseLeading(b, loc, gBar, 2);   // [M, c, c]
  Value m = dimOf(b, loc, a2, 0);
  int64_t numAngles = numGeneratorAngles(c);
  Value table = pairTable(b, loc, c);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value cIdx = arith::ConstantIndexOp::create(b, loc, c);
  Value kIdx = arith::ConstantIndexOp::create(b, loc, numAngles);
  OpFoldResult cc = b.getIndexAttr(c), c2 = b.getIndexAttr(2 * c);
  Value exps = batchedLargeExp(
      b, loc, 2 * c, m, [&](OpBuilder &ib, Location il, Value mi) {
        // Aᵀ = −A on both diagonal blocks, and the norm bound of A.
        auto build = scf::ForOp::create(
            ib, il, zero, kIdx, one,
            ValueRange{zerosF32(ib, il, {c2, c2}), f32c(ib, il, 0.0)},
            [&](OpBuilder &lb, Location l, Value k, ValueRange it) {
              Value a = tensor::ExtractOp::create(lb, l, a2, ValueRange{mi, k});
              Value negA = arith::NegFOp::create(lb, l, a);
              Value p =
                  tensor::ExtractOp::create(lb, l, table, ValueRange{k, zero});
              Value q =
                  tensor::ExtractOp::create(lb, l, table, ValueRange{k, one});
              Value t = it[0];
              for (Value off : {zero, cIdx}) {
                Value po = arith::AddIOp::create(lb, l, p, off);
                Value qo = arith::AddIOp::create(lb, l, q, off);
                t = tensor::InsertOp::create(lb, l, negA, t,
                                             ValueRange{po, qo});
                t = tensor::InsertOp::create(lb, l, a, t, ValueRange{qo, po});
              }
              Value norm = arith::AddFOp::create(
                  lb, l, it[1], math::AbsFOp::create(lb, l, a));
              scf::YieldOp::create(lb, l, ValueRange{t, norm});
            });
        Value gSlice = tensor::ExtractSliceOp::create(
            ib, il, RankedTensorType::get({c, c}, ib.getF32Type()), g3,
            SmallVector<OpFoldResult>{mi, ib.getIndexAttr(0),
                                      ib.getIndexAttr(0)},
            SmallVector<OpFoldResult>{ib.getIndexAttr(1), cc, cc},
            SmallVector<OpFoldResult>(3, ib.getIndexAttr(1)));
        Value mat = tensor::InsertSliceOp::create(
            ib, il, gSlice, build.getResult(0),
            SmallVector<OpFoldResult>{ib.getIndexAttr(0), cc},
            SmallVector<OpFoldResult>{cc, cc},
            SmallVector<OpFoldResult>(2, ib.getIndexAttr(1)));
        return std::pair<Value, Value>{mat, build.getResult(1)};
      });
  Value out =
      emptyOf(b, loc, {getAsOpFoldResult(m), b.getIndexAttr(numAngles)},
              b.getF32Type());
  Value aBar =
      elementwise(b, loc, ValueRange{}, ValueRange{out}, 2,
                  [&](OpBuilder &nb, Location l, ValueRange) {
                    Value mi = linalg::IndexOp::create(nb, l, 0);
                    Value k = linalg::IndexOp::create(nb, l, 1);
                    Value p = tensor::ExtractOp::create(nb, l, table,
                                                        ValueRange{k, zero});
                    Value q = tensor::ExtractOp::create(nb, l, table,
                                                        ValueRange{k, one});
                    Value pq = tensor::ExtractOp::create(
                        nb, l, exps,
                        ValueRange{mi, p, arith::AddIOp::create(nb, l, q, cIdx)});
                    Value qp = tensor::ExtractOp::create(
                        nb, l, exps,
                        ValueRange{mi, q, arith::AddIOp::create(nb, l, p, cIdx)});
                    // In f64: the two can cancel.
                    linalg::YieldOp::create(
                        nb, l,
                        Value(arith::TruncFOp::create(
                            nb, l, nb.getF32Type(),
                            arith::SubFOp::create(nb, l, pq, qp))));
                  })
          .getResult(0);
  return expandLeading(b, loc, aBar, leadSizes, 1);
}

/// so_generator_grad (givens) for chunks too large to unroll whole: ā is
/// a sum over the rows of G, so a task per (matrix, row r) walks row r of
/// G back with row r of Ḡ (givensRowTasks), writing row r's share of every
/// ā_k as it goes; a reduction over the rows sums them.
Value rowwiseGivensAdjoint(OpBuilder &b, Location loc, Value angles, Value gBar,
                           int64_t c) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
  leadSizes.pop_back();
  Value a2 = collapseLeading(b, loc, angles, 1); // [M, K]
  Value g3 = collapseLeading(b, loc, gBar, 2);   // [M, c, c]
  int64_t numAngles = numGeneratorAngles(c);
  // G first, by rows: a task that also pushed e_r through the chain would
  // ask for each angle's cos and sin twice, far apart, and keep all K
  // pairs live in between.
  Value g = givensByRows(b, loc, a2, c);
  Value shares = givensRowTasks(
      b, loc, a2, c, numAngles,
      [&](OpBuilder &tb, Location l, Value m, Value r, GivensTrig trig,
          function_ref<void(int64_t, Value)> write) {
        SmallVector<Value> row, gb;
        for (int64_t q = 0; q < c; ++q) {
          Value at[] = {m, r, indexConst(tb, l, q)};
          row.push_back(tensor::ExtractOp::create(tb, l, g, at));
          gb.push_back(tensor::ExtractOp::create(tb, l, g3, at));
        }
        givensAdjoint(tb, l, c, trig, row, gb, write);
      });
  // ā[m, k] = Σ_r share[m, r, k]; loops (m, k, r).
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  Type f32 = b.getF32Type();
  Value sum = linalg::GenericOp::create(
                  b, loc,
                  TypeRange{RankedTensorType::get(
                      {ShapedType::kDynamic, numAngles}, f32)},
                  ValueRange{shares},
                  ValueRange{zerosF32(b, loc,
                                      {tensor::getMixedSizes(b, loc, a2)[0],
                                       b.getIndexAttr(numAngles)})},
                  {AffineMap::get(3, 0, {d(0), d(2), d(1)}, ctx),
                   AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
                  {utils::IteratorType::parallel, utils::IteratorType::parallel,
                   utils::IteratorType::reduction},
                  [&](OpBuilder &nb, Location l, ValueRange v) {
                    linalg::YieldOp::create(
                        nb, l, Value(arith::AddFOp::create(nb, l, v[1], v[0])));
                  })
                  .getResult(0);
  return expandLeading(b, loc, sum, leadSizes, 1);
}

/// so_generator_grad: a generic over the leading dims computing the K angle
/// gradients of a matrix (c ≤ 8, exp or givens), reassembled into [..., K];
/// larger chunks by rows (givens) or with tensors in loops (exp).
struct LowerSOGeneratorGrad : OpRewritePattern<SOGeneratorGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SOGeneratorGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunk();
    int64_t numAngles = numGeneratorAngles(c);
    SOForm form = op.getForm();
    Value angles = withStaticTrailing(b, loc, op.getAngles(), {numAngles});
    Value gBar = withStaticTrailing(b, loc, op.getDresult(), {c, c});
    Value result;
    if (form == SOForm::exp && c > kMaxExpChunk) {
      result = largeExpAdjoint(b, loc, angles, gBar, c);
    } else if (form == SOForm::givens && c > kMaxUnrolledChunk) {
      result = rowwiseGivensAdjoint(b, loc, angles, gBar, c);
    } else {
      int64_t lead = cast<RankedTensorType>(angles.getType()).getRank() - 1;
      SmallVector<Value> inputs = lastDimSlices(b, loc, angles);
      llvm::append_range(inputs, matrixSlices(b, loc, gBar));
      SmallVector<OpFoldResult> leadSizes =
          tensor::getMixedSizes(b, loc, angles);
      leadSizes.pop_back();
      // Every output is a buffer of its own, which a GPU kernel takes as an
      // argument of up to 88 bytes: 28 at c = 8 fit the 4 KiB of them.
      SmallVector<Value> outs;
      for (int64_t k = 0; k < numAngles; ++k)
        outs.push_back(emptyOf(b, loc, leadSizes, b.getF32Type()));
      auto g = elementwise(
          b, loc, inputs, outs, lead,
          [&](OpBuilder &nb, Location l, ValueRange v) {
            SmallVector<Value> a(v.take_front(numAngles));
            SmallVector<Value> gb(v.begin() + numAngles,
                                  v.begin() + numAngles + c * c);
            SmallVector<Value> fwd;
            if (form == SOForm::givens)
              fwd = generator(nb, l, c, form, a);
            linalg::YieldOp::create(
                nb, l, generatorAdjoint(nb, l, c, form, a, fwd, gb));
          });
      result = stackTrailing(b, loc, g.getResults(), {numAngles});
    }
    rewriter.replaceOp(op, castTo(b, loc, result, op.getType()));
    return success();
  }
};

/// W along `axis` of M [..., c, c]: W_t = Σ_{s≥t} M_s. One task per
/// (non-scan index, row of the c×c) carries c running sums from t = T−1
/// down to 0.
Value reverseCumsum(OpBuilder &b, Location loc, Value mat, int64_t axis,
                    int64_t c) {
  auto type = cast<RankedTensorType>(mat.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, mat);
  Value tLen = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
  // Forall dims: every leading dim but `axis`, then the row.
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      dims.push_back(d);
  SmallVector<OpFoldResult> ubs;
  for (int64_t d : dims)
    ubs.push_back(sizes[d]);
  Value out = emptyOf(b, loc, sizes, b.getF32Type());
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(dims.size(), b.getIndexAttr(0)), ubs,
      SmallVector<OpFoldResult>(dims.size(), b.getIndexAttr(1)),
      ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  SmallVector<Value> index(rank);
  for (auto [i, d] : llvm::enumerate(dims))
    index[d] = forall.getInductionVar(i);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value lastT = arith::SubIOp::create(b, loc, tLen, one);
  Value col = emptyOf(b, loc, {sizes[axis], b.getIndexAttr(c)}, b.getF32Type());
  SmallVector<Value> init = {col};
  init.append(c, f32c(b, loc, 0.0));
  auto loop = scf::ForOp::create(
      b, loc, zero, tLen, one, init,
      [&](OpBuilder &lb, Location l, Value step, ValueRange iter) {
        Value t = arith::SubIOp::create(lb, l, lastT, step);
        SmallVector<Value> ix(index);
        ix[axis] = t;
        Value dst = iter[0];
        SmallVector<Value> yields = {Value()};
        for (int64_t q = 0; q < c; ++q) {
          ix[rank - 1] = arith::ConstantIndexOp::create(lb, l, q);
          Value sum = arith::AddFOp::create(
              lb, l, iter[1 + q], tensor::ExtractOp::create(lb, l, mat, ix));
          dst = tensor::InsertOp::create(
              lb, l, sum, dst,
              ValueRange{t, arith::ConstantIndexOp::create(lb, l, q)});
          yields.push_back(sum);
        }
        yields[0] = dst;
        scf::YieldOp::create(lb, l, yields);
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> offs(rank, b.getIndexAttr(0)),
      sz(rank, b.getIndexAttr(1));
  for (int64_t d : dims)
    offs[d] = index[d];
  sz[axis] = sizes[axis];
  sz[rank - 1] = b.getIndexAttr(c);
  tensor::ParallelInsertSliceOp::create(
      b, loc, loop.getResult(0), forall.getRegionIterArgs()[0], offs, sz,
      SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
  return forall.getResult(0);
}

/// cumulative_rotation_grad: P by the forward scan, then
/// Ḡ_t = G_t·P_tᵀ·W_t·P_t with W the reverse cumsum of P̄_s·P_sᵀ — parallel
/// batched c×c products around one scan that is parallel over the non-scan
/// dims. Valid for orthogonal G (the identity G_{t+1}⋯G_s = P_tᵀ·P_s).
struct LowerCumulativeRotationGrad
    : OpRewritePattern<CumulativeRotationGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CumulativeRotationGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static c");
    Value g = withStaticTrailing(b, loc, op.getRotations(), {c, c});
    Value pBar = withStaticTrailing(b, loc, op.getDresult(), {c, c});
    int64_t axis = op.getAxis();
    Value p = CumulativeRotationOp::create(b, loc, g, b.getI64IntegerAttr(axis));
    Value w = reverseCumsum(
        b, loc, batchedMatmul(b, loc, pBar, p, false, /*transposeY=*/true),
        axis, c);
    Value v = batchedMatmul(b, loc, p, batchedMatmul(b, loc, w, p, false, false),
                            /*transposeX=*/true, false);
    Value gBar = batchedMatmul(b, loc, g, v, false, false);
    rewriter.replaceOp(op, castTo(b, loc, gBar, op.getType()));
    return success();
  }
};

/// hdd_rope_grad with P: x̄ = Pᵀ·ȳ (P·ȳ with inverse), and P̄ = ȳ·xᵀ
/// (x·ȳᵀ with inverse) per chunk, one parallel generic each.
struct LowerHDDRopeGradP : OpRewritePattern<HDDRopeGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeGradOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isFused())
      return failure();
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static chunk size");
    bool inverse = op.getInverse();
    Value p = withStaticTrailing(b, loc, op.getRotation(), {c, c});
    Value dx = applyChunkRotations(b, loc, op.getDy(), p, c, !inverse);
    Value x5 = chunked(b, loc, op.getX(), c);
    Value dy5 = chunked(b, loc, op.getDy(), c);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x5);
    sizes.push_back(b.getIndexAttr(c));
    Value out = emptyOf(b, loc, sizes, b.getF32Type());
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // Loops (b, t, h, m, p, q): P̄[p, q] = u[p]·v[q].
    AffineMap rowMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx);
    AffineMap colMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(5)}, ctx);
    Value u = inverse ? x5 : dy5, v = inverse ? dy5 : x5;
    Value dp =
        linalg::GenericOp::create(
            b, loc, TypeRange{out.getType()}, ValueRange{u, v}, ValueRange{out},
            SmallVector<AffineMap>{rowMap, colMap,
                                   AffineMap::getMultiDimIdentityMap(6, ctx)},
            SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  nb, l,
                  Value(arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                              toF32(nb, l, a[1]))));
            })
            .getResult(0);
    rewriter.replaceOp(op, {castTo(b, loc, dx, op.getDx().getType()),
                            castTo(b, loc, dp, op.getDrotation().getType())});
    return success();
  }
};

} // namespace

SmallVector<Value> hdd::scanStepGrads(OpBuilder &b, Location loc, int64_t c,
                                      ArrayRef<Value> p, ArrayRef<Value> xv,
                                      ArrayRef<Value> yb, bool inverse,
                                      SmallVectorImpl<Value> &w) {
  SmallVector<Value> dxv = matVec(b, loc, c, p, yb, !inverse);
  SmallVector<Value> u =
      inverse ? SmallVector<Value>(xv) : SmallVector<Value>(yb);
  SmallVector<Value> v = inverse ? dxv : matVec(b, loc, c, p, xv, false);
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < c; ++j)
      w[i * c + j] = arith::AddFOp::create(
          b, loc, w[i * c + j], arith::MulFOp::create(b, loc, u[i], v[j]));
  return dxv;
}

namespace {

/// One group of at most `lanes` lanes of the fused Givens-form gradient at
/// batch entry bi: the two passes of the per-chunk kernel below with every
/// step a loop over the group's n lanes (GivensLanes says what a lane
/// does), the first of them lane `first` of x, ȳ and the angles. Pass 1
/// keeps the lanes' P in a buffer and copies it to a checkpoint at the end
/// of every `checkpoint` tokens; pass 2 walks t = T..1 with P and W in such
/// buffers (P reset from its checkpoint at a block's end) and writes x̄ and
/// ā of each lane in place in `dxBlock` [T, n·c] and `daBlock` [T, n·k].
std::pair<Value, Value> gradGroup(OpBuilder &b, Location loc,
                                  const GivensLanes &lanes, Value x, Value dy,
                                  Value bi, Value l0, Value n,
                                  OpFoldResult tLenOfr, int64_t checkpoint,
                                  Value dxBlock, Value daBlock) {
  Type f32 = b.getF32Type();
  auto idx = [&](int64_t v) { return indexConst(b, loc, v); };
  Value zero = idx(0), one = idx(1);
  Value tLen = getValueOrCreateConstantIndexOp(b, loc, tLenOfr);
  OpFoldResult unit = b.getIndexAttr(1);
  Value ckStep = idx(checkpoint);
  Value lastT = arith::SubIOp::create(b, loc, tLen, one);
  Value p0 = lanes.matrices(b, loc, /*identity=*/true);
  auto pType = cast<RankedTensorType>(p0.getType());
  SmallVector<Value> scratch = lanes.scratch(b, loc, /*backward=*/true);
  // Checkpoint kk of the lanes' P: [kk, ...] of a [numCk, P's shape...].
  auto ckOffsets = [&](Value kk) {
    SmallVector<OpFoldResult> o(pType.getRank() + 1, b.getIndexAttr(0));
    o[0] = kk;
    return o;
  };
  SmallVector<OpFoldResult> ckSizes = {unit};
  for (int64_t d : pType.getShape())
    ckSizes.push_back(b.getIndexAttr(d));
  SmallVector<OpFoldResult> ckStrides(ckSizes.size(), unit);

  // Pass 1: P_t forward; checkpoint i holds P at the last token of
  // tokens [i·checkpoint, (i+1)·checkpoint).
  Value numCk = arith::CeilDivUIOp::create(b, loc, tLen, ckStep);
  SmallVector<OpFoldResult> ckShape(ckSizes);
  ckShape[0] = numCk;
  SmallVector<Value> fwdInit = {p0, emptyOf(b, loc, ckShape, f32)};
  llvm::append_range(fwdInit, scratch);
  auto fwd = scf::ForOp::create(b, loc, zero, tLen, one, fwdInit);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(fwd.getBody());
    Value t = fwd.getInductionVar();
    SmallVector<Value> stepInit = {fwd.getRegionIterArgs()[0]};
    llvm::append_range(stepInit, fwd.getRegionIterArgs().drop_front(2));
    auto step = scf::ForOp::create(b, loc, zero, n, one, stepInit);
    {
      OpBuilder::InsertionGuard gs(b);
      b.setInsertionPointToStart(step.getBody());
      Value m = step.getInductionVar();
      GivensLanes::Step s{bi, t, m, arith::AddIOp::create(b, loc, l0, m)};
      SmallVector<Value> it(step.getRegionIterArgs());
      lanes.forward(b, loc, s, x, it[0], /*y=*/nullptr,
                    MutableArrayRef<Value>(it).drop_front());
      scf::YieldOp::create(b, loc, it);
    }
    Value pNew = step.getResult(0);
    // A checkpoint at a block's last token and at the sequence's.
    Value isEnd = arith::OrIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              arith::RemUIOp::create(b, loc, t, ckStep),
                              idx(checkpoint - 1)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, t, lastT));
    Value ck = fwd.getRegionIterArgs()[1];
    auto save = scf::IfOp::create(b, loc, TypeRange{ck.getType()}, isEnd,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard gi(b);
      b.setInsertionPointToStart(save.thenBlock());
      Value kk = arith::DivUIOp::create(b, loc, t, ckStep);
      scf::YieldOp::create(
          b, loc,
          Value(tensor::InsertSliceOp::create(b, loc, pNew, ck, ckOffsets(kk),
                                              ckSizes, ckStrides)));
      b.setInsertionPointToStart(save.elseBlock());
      scf::YieldOp::create(b, loc, ck);
    }
    SmallVector<Value> yields = {pNew, save.getResult(0)};
    llvm::append_range(yields, step.getResults().drop_front());
    scf::YieldOp::create(b, loc, yields);
  }
    Value ckpts = fwd.getResult(1);

    // Pass 2: t = T−1 .. 0 with the lanes' P_t and W_t in buffers. t is
    // read from a table rather than computed as T − 1 − step: LLVM's checks
    // before the vectorised lane loop would otherwise follow t's descent
    // (a negative stride per step) and fail, sending every step to the
    // scalar loop (30 ms against 9 ms at the benchmark's shape).
    Value reversed =
        elementwise(
            b, loc, ValueRange{},
            ValueRange{emptyOf(b, loc, {tLenOfr}, b.getIndexType())}, 1,
            [&](OpBuilder &nb, Location l, ValueRange) {
              linalg::YieldOp::create(
                  nb, l,
                  Value(arith::SubIOp::create(
                      nb, l, lastT, linalg::IndexOp::create(nb, l, 0))));
            })
            .getResult(0);
    SmallVector<Value> bwdInit = {fwd.getResult(0),
                                  lanes.matrices(b, loc, /*identity=*/false),
                                  dxBlock, daBlock};
    llvm::append_range(bwdInit, fwd.getResults().drop_front(2));
    auto bwd = scf::ForOp::create(b, loc, zero, tLen, one, bwdInit);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(bwd.getBody());
      Value t = tensor::ExtractOp::create(b, loc, reversed,
                                          ValueRange{bwd.getInductionVar()});
      // At the last token of a checkpoint block, P_t is exact: the lanes'
      // P are reset from the checkpoint (outside the lane loop, whose body
      // stays free of conditions).
      Value blockEnd = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, loc, t, ckStep), idx(checkpoint - 1));
      Value pIn = bwd.getRegionIterArgs()[0];
      auto reset = scf::IfOp::create(b, loc, TypeRange{pType}, blockEnd,
                                     /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard gi(b);
        b.setInsertionPointToStart(reset.thenBlock());
        Value saved = tensor::ExtractSliceOp::create(
            b, loc, pType, ckpts,
            ckOffsets(arith::DivUIOp::create(b, loc, t, ckStep)), ckSizes,
            ckStrides);
        scf::YieldOp::create(
            b, loc, linalg::CopyOp::create(b, loc, saved, pIn).getResult(0));
        b.setInsertionPointToStart(reset.elseBlock());
        scf::YieldOp::create(b, loc, pIn);
      }
      SmallVector<Value> stepInit(bwd.getRegionIterArgs());
      stepInit[0] = reset.getResult(0);
      auto step = scf::ForOp::create(b, loc, zero, n, one, stepInit);
      scf::YieldOp::create(b, loc, step.getResults());
      b.setInsertionPointToStart(step.getBody());
      Value m = step.getInductionVar();
      GivensLanes::Step s{bi, t, m, arith::AddIOp::create(b, loc, l0, m)};
      SmallVector<Value> it(step.getRegionIterArgs());
      lanes.backward(b, loc, s, x, dy, it[0], it[1], it[2], it[3],
                     MutableArrayRef<Value>(it).drop_front(4));
      scf::YieldOp::create(b, loc, it);
    }
    return {bwd.getResult(2), bwd.getResult(3)};
}

/// hdd_rope_grad fused, Givens form -> rotary.hdd_rope_lanes_grad on the
/// lane views of x, ȳ [B, T, H·D] and the angles [B, T, H·C·k]; no lanes
/// per task here: the target's schedule records them on the structured op.
LogicalResult convertFusedGradToLanes(HDDRopeGradOp op,
                                      PatternRewriter &rewriter) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  auto xType = cast<RankedTensorType>(op.getX().getType());
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, op.getX());
  SmallVector<OpFoldResult> as =
      tensor::getMixedSizes(b, loc, op.getRotation());
  Value x = tensor::CollapseShapeOp::create(b, loc, op.getX(),
                                            laneRowsReassociation());
  Value dy = tensor::CollapseShapeOp::create(b, loc, op.getDy(),
                                             laneRowsReassociation());
  Value angles = tensor::CollapseShapeOp::create(b, loc, op.getRotation(),
                                                 laneAnglesReassociation());
  Value dxInit = emptyLike(b, loc, x, xType.getElementType());
  Value daInit = emptyLike(b, loc, angles, f32);
  auto grad = HDDRopeLanesGradOp::create(
      b, loc, TypeRange{dxInit.getType(), daInit.getType()}, x, angles, dy,
      indexConst(b, loc, 0), dxInit, daInit,
      b.getI64IntegerAttr(*op.getChunk()), op.getInverseAttr(),
      SOFormAttr::get(op.getContext(), *op.getForm()));
  // Lanes recorded on the op itself (for experiments) stay the op's.
  if (Attribute tiles = op->getAttr(kTilesAttr))
    grad->setAttr(kTilesAttr, tiles);
  Value dx = tensor::ExpandShapeOp::create(b, loc, xType, grad.getResult(0),
                                           laneRowsReassociation(), xs);
  Value da = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get(
          cast<RankedTensorType>(op.getRotation().getType()).getShape(), f32),
      grad.getResult(1), laneAnglesReassociation(), as);
  rewriter.replaceOp(op, {castTo(b, loc, dx, op.getDx().getType()),
                          castTo(b, loc, da, op.getDrotation().getType())});
  return success();
}

/// A block of rotary.hdd_rope_lanes_grad: per batch entry and group of
/// lanes (one, without a loop, when the block is provably no wider than
/// `lanes` lanes), gradGroup into the block's slices of the inits.
struct DecomposeHDDRopeLanesGrad : OpRewritePattern<HDDRopeLanesGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeLanesGradOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunk();
    FailureOr<std::unique_ptr<GivensLanes>> layout =
        givensLanes(b, op, c, op.getInverse(), op.getForm(), op.getAngles());
    if (failed(layout))
      return failure();
    std::unique_ptr<GivensLanes> lanes = std::move(*layout);
    FailureOr<int64_t> checkpoint = checkpointInterval(op);
    if (failed(checkpoint))
      return failure();
    OpFoldResult tLen = tensor::getMixedSize(b, loc, op.getDxInit(), 1);
    SmallVector<Value> results = forEachLaneGroup(
        b, loc, op.getDpsInits(), op.getFirstLane(), {c, numGeneratorAngles(c)},
        lanes->lanes, [&](const LaneGroup &group, ValueRange blocks) {
          auto [dx, da] = gradGroup(b, loc, *lanes, op.getX(), op.getDy(),
                                    group.bi, group.first, group.n, tLen,
                                    *checkpoint, blocks[0], blocks[1]);
          return SmallVector<Value>{dx, da};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Fused hdd_rope_grad: rotary.hdd_rope_lanes_grad where the forward takes
/// the lanes, else (a large exp form, the scan strategy) the unfused chain
/// of gradient ops.
struct LowerHDDRopeGradFused : OpRewritePattern<HDDRopeGradOp> {
  LowerHDDRopeGradFused(MLIRContext *ctx, bool scan)
      : OpRewritePattern(ctx), scan(scan) {}

  LogicalResult matchAndRewrite(HDDRopeGradOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.isFused())
      return failure();
    int64_t c = *op.getChunk();
    if (!scan && (op.isFusedGivens() || c <= kMaxExpChunk))
      return convertFusedGradToLanes(op, rewriter);
    // The scan strategy (a GPU's), or an exp-form P too large to unroll per
    // lane: the unfused chain, whose products are a blocked scan.
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    SOForm form = *op.getForm();
    Value angles =
        withStaticTrailing(b, loc, op.getRotation(), {numGeneratorAngles(c)});
    Value g = SOGeneratorOp::create(b, loc, angles, c, form);
    Value p = CumulativeRotationOp::create(b, loc, g, b.getI64IntegerAttr(1));
    auto pGrad =
        HDDRopeGradOp::create(b, loc, op.getX(), p, op.getDy(), IntegerAttr(),
                              SOFormAttr(), op.getInverse());
    Value gBar = CumulativeRotationGradOp::create(
        b, loc, g, pGrad.getDrotation(), b.getI64IntegerAttr(1));
    Value aBar =
        SOGeneratorGradOp::create(b, loc, angles, gBar, b.getI64IntegerAttr(c),
                                  SOFormAttr::get(op.getContext(), form));
    rewriter.replaceOp(
        op, {pGrad.getDx(), castTo(b, loc, aBar, op.getDrotation().getType())});
    return success();
  }

  bool scan;
};
} // namespace

void lowering::populateHDDGradPatterns(RewritePatternSet &patterns, bool scan) {
  patterns.add<LowerSOGeneratorGrad, LowerCumulativeRotationGrad,
               LowerHDDRopeGradP>(patterns.getContext());
  patterns.add<LowerHDDRopeGradFused>(patterns.getContext(), scan);
}

void lowering::populateHDDGradDecompositionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeHDDRopeLanesGrad>(patterns.getContext());
}
