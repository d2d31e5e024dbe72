//===- GivensLanes.cpp - one lane of the fused Givens-form HDD kernels ----===//
//
// The fused hdd_rope (Givens form) and its gradient run one task per
// (b, group of lanes), a lane being one (h, chunk) of a token, and a scan
// over T whose step is a loop over the task's lanes. This file holds the
// lane machinery and the two layouts of a step (HDDCommon.h, GivensLanes):
// unrolled scalars for small chunks, loops over the rotations with c-wide
// column vectors for large ones.
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;
using namespace rotary::lowering::hdd;

FailureOr<int64_t> hdd::lanesPerTask(Operation *op) {
  FailureOr<SmallVector<int64_t>> sizes =
      recordedTiles(op, {"lanes"}, "lanes per task", "{lanes = N} with N > 0");
  if (failed(sizes))
    return failure();
  return sizes->front();
}

FailureOr<int64_t> hdd::checkpointInterval(Operation *op) {
  FailureOr<SmallVector<int64_t>> sizes =
      recordedTiles(op, {"checkpoint"}, "checkpoint interval",
                    "{checkpoint = K} with K > 0 (tokens between saved P)");
  if (failed(sizes))
    return failure();
  return sizes->front();
}

SmallVector<Value> hdd::forEachLaneGroup(
    OpBuilder &b, Location loc, ValueRange inits, Value firstLane,
    ArrayRef<int64_t> per, int64_t perGroup,
    function_ref<SmallVector<Value>(const LaneGroup &, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, inits[0]);
  Value n = b.createOrFold<arith::DivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, sizes[2]),
      indexConst(b, loc, per[0]));
  OpFoldResult groups = groupCount(b, loc, inits[0], 2, per[0], perGroup);
  OpFoldResult unit = b.getIndexAttr(1);
  SmallVector<OpFoldResult> strides(3, unit);
  Value perGroupV = indexConst(b, loc, perGroup);
  SmallVector<Value> perV = llvm::map_to_vector(
      per, [&](int64_t p) { return indexConst(b, loc, p); });
  return forEachIndex(b, loc, sizes[0], inits, [&](Value bi, ValueRange outer) {
    return forEachIndex(b, loc, groups, outer, [&](Value g, ValueRange dests) {
      LaneGroup group;
      group.bi = bi;
      group.l0 = arith::MulIOp::create(b, loc, g, perGroupV);
      group.n = getValueOrCreateConstantIndexOp(
          b, loc, tileExtent(b, loc, getAsOpFoldResult(n), group.l0, perGroup));
      // Lanes [l0, l0 + n) of every token: per[i] columns a lane.
      SmallVector<SmallVector<OpFoldResult>> offsets, extents;
      SmallVector<Value> blocks;
      for (auto [dest, pV] : llvm::zip(dests, perV)) {
        offsets.push_back(
            {bi, b.getIndexAttr(0),
             arith::MulIOp::create(b, loc, group.l0, pV).getResult()});
        extents.push_back(
            {unit, sizes[1],
             arith::MulIOp::create(b, loc, group.n, pV).getResult()});
        Type elt = cast<RankedTensorType>(dest.getType()).getElementType();
        blocks.push_back(tensor::ExtractSliceOp::create(
            b, loc, sliceType(extents.back(), {0}, elt), dest, offsets.back(),
            extents.back(), strides));
      }
      group.first = arith::AddIOp::create(b, loc, firstLane, group.l0);
      SmallVector<Value> next;
      for (auto [v, dest, off, ext] :
           llvm::zip(body(group, blocks), dests, offsets, extents))
        next.push_back(
            tensor::InsertSliceOp::create(b, loc, v, dest, off, ext, strides));
      return next;
    });
  });
}

Value hdd::laneIdentity(OpBuilder &b, Location loc, int64_t c, int64_t lanes) {
  Value init = emptyOf(b, loc, {b.getIndexAttr(c * c), b.getIndexAttr(lanes)},
                       b.getF32Type());
  return elementwise(
             b, loc, ValueRange{}, ValueRange{init}, 2,
             [&](OpBuilder &nb, Location l, ValueRange) {
               // Row e = r·c + q is diagonal iff e is a multiple of c + 1.
               Value e = linalg::IndexOp::create(nb, l, 0);
               Value diag = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::eq,
                   arith::RemUIOp::create(
                       nb, l, e, arith::ConstantIndexOp::create(nb, l, c + 1)),
                   arith::ConstantIndexOp::create(nb, l, 0));
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::SelectOp::create(nb, l, diag, f32c(nb, l, 1.0),
                                                 f32c(nb, l, 0.0))));
             })
      .getResult(0);
}

SmallVector<Value> hdd::loadLane(OpBuilder &b, Location loc, Value m,
                                 Value lane, int64_t c) {
  SmallVector<Value> v;
  for (int64_t e = 0; e < c * c; ++e)
    v.push_back(tensor::ExtractOp::create(
        b, loc, m,
        ValueRange{arith::ConstantIndexOp::create(b, loc, e), lane}));
  return v;
}

Value hdd::storeLane(OpBuilder &b, Location loc, Value m, Value lane,
                     ArrayRef<Value> v) {
  for (auto [e, x] : llvm::enumerate(v))
    m = tensor::InsertOp::create(
        b, loc, x, m,
        ValueRange{arith::ConstantIndexOp::create(b, loc, e), lane});
  return m;
}

SmallVector<ReassociationIndices> hdd::laneRowsReassociation() {
  return {{0}, {1}, {2, 3}};
}

SmallVector<ReassociationIndices> hdd::laneAnglesReassociation() {
  return {{0}, {1}, {2, 3, 4}};
}

void hdd::laneSinCos(OpBuilder &b, Location loc, Value angles, Value bi,
                     Value t, Value lane, int64_t k, SmallVectorImpl<Value> &cs,
                     SmallVectorImpl<Value> &sn) {
  for (Value a : laneFeatures(b, loc, angles, bi, t, lane, k)) {
    auto [cj, sj] = sinCosF32(b, loc, a);
    cs.push_back(cj);
    sn.push_back(sj);
  }
}

SmallVector<Value> hdd::laneFeatures(OpBuilder &b, Location loc, Value x,
                                     Value bi, Value t, Value lane, int64_t c) {
  Value base = arith::MulIOp::create(b, loc, lane,
                                     arith::ConstantIndexOp::create(b, loc, c));
  SmallVector<Value> v;
  for (int64_t q = 0; q < c; ++q)
    v.push_back(
        toF32(b, loc,
              tensor::ExtractOp::create(
                  b, loc, x,
                  ValueRange{bi, t,
                             arith::AddIOp::create(
                                 b, loc, base,
                                 arith::ConstantIndexOp::create(b, loc, q))})));
  return v;
}

namespace {
/// Writes the scalars `v` at [t, base + i] of `dst`, cast to its element type.
Value storeRow(OpBuilder &b, Location loc, Value dst, Value t, Value base,
               ArrayRef<Value> v) {
  Type elt = cast<RankedTensorType>(dst.getType()).getElementType();
  for (auto [i, x] : llvm::enumerate(v))
    dst = tensor::InsertOp::create(
        b, loc, castFloat(b, loc, x, elt), dst,
        ValueRange{t,
                   arith::AddIOp::create(b, loc, base, indexConst(b, loc, i))});
  return dst;
}

/// c ≤ kMaxUnrolledChunk: a lane's matrix is c² scalars, row e = r·c + q of
/// a [c², lanes] buffer; rotations, products and the adjoint are unrolled.
class UnrolledLanes final : public GivensLanes {
public:
  using GivensLanes::GivensLanes;

  Value matrices(OpBuilder &b, Location loc, bool identity) const override {
    if (identity)
      return laneIdentity(b, loc, c, lanes);
    return zerosF32(b, loc, {b.getIndexAttr(c * c), b.getIndexAttr(lanes)});
  }

  void forward(OpBuilder &b, Location loc, const Step &s, Value x, Value &p,
               Value *y, MutableArrayRef<Value>) const override {
    // The lane's angles (exp form), or their cos and sin (Givens form).
    SmallVector<Value> a, cs, sn;
    if (form == SOForm::exp)
      a = laneFeatures(b, loc, angles, s.bi, s.t, s.lane, k);
    else
      laneSinCos(b, loc, angles, s.bi, s.t, s.lane, k, cs, sn);
    // P_t = P_{t-1}·G_t.
    SmallVector<Value> pv = loadLane(b, loc, p, s.m, c);
    if (form == SOForm::exp)
      pv = matmul(b, loc, c, pv, skewExp(b, loc, c, a));
    else
      applyGenerator(b, loc, c, cs, sn, pv);
    SmallVector<Value> xv;
    if (y)
      xv = laneFeatures(b, loc, x, s.bi, s.t, s.lane, c);
    p = storeLane(b, loc, p, s.m, pv);
    if (!y)
      return;
    Value base = arith::MulIOp::create(b, loc, s.m, indexConst(b, loc, c));
    for (int64_t r = 0; r < c; ++r)
      *y = storeRow(b, loc, *y, s.t,
                    arith::AddIOp::create(b, loc, base, indexConst(b, loc, r)),
                    matVecRow(b, loc, c, pv, xv, r, inverse));
  }

  void backward(OpBuilder &b, Location loc, const Step &s, Value x, Value dy,
                Value &p, Value &w, Value &dx, Value &da,
                MutableArrayRef<Value>) const override {
    SmallVector<Value> pv = loadLane(b, loc, p, s.m, c);
    SmallVector<Value> wv = loadLane(b, loc, w, s.m, c);
    SmallVector<Value> xv = laneFeatures(b, loc, x, s.bi, s.t, s.lane, c);
    SmallVector<Value> yb = laneFeatures(b, loc, dy, s.bi, s.t, s.lane, c);
    SmallVector<Value> dxv = scanStepGrads(b, loc, c, pv, xv, yb, inverse, wv);
    // G_t, and how Ḡ_t reaches the angles: the Givens form from cos and
    // sin (a branch-free polynomial), the exp form from the angles.
    SmallVector<Value> cs, sn, a, gm;
    if (form == SOForm::exp) {
      a = laneFeatures(b, loc, angles, s.bi, s.t, s.lane, k);
      gm = generator(b, loc, c, form, a);
    } else {
      laneSinCos(b, loc, angles, s.bi, s.t, s.lane, k, cs, sn);
      gm = identity(b, loc, c);
      applyGenerator(b, loc, c, cs, sn, gm);
    }
    // P_{t−1} = P_t·G_tᵀ; Ḡ_t = P_{t−1}ᵀ·W_t·P_t.
    SmallVector<Value> prev = matmul(b, loc, c, pv, gm, false, true);
    SmallVector<Value> gBar = matmul(b, loc, c, prev, matmul(b, loc, c, wv, pv),
                                     /*transposeX=*/true);
    SmallVector<Value> aBar =
        form == SOForm::exp ? generatorAdjoint(b, loc, c, form, a, gm, gBar)
                            : givensAdjoint(b, loc, c, cs, sn, gm, gBar);
    dx = storeRow(b, loc, dx, s.t,
                  arith::MulIOp::create(b, loc, s.m, indexConst(b, loc, c)),
                  dxv);
    da = storeRow(b, loc, da, s.t,
                  arith::MulIOp::create(b, loc, s.m, indexConst(b, loc, k)),
                  aBar);
    p = storeLane(b, loc, p, s.m, prev);
    w = storeLane(b, loc, w, s.m, wv);
  }
};

/// Larger chunks: a lane's matrix is [c, c] with column q at [m, q, :] of a
/// [lanes, c, c] buffer, read and written as one vector<c>. A step is a
/// loop over the rotations (i, j) in the generator's order, column i kept
/// in a register across the inner loop over j; cos and sin of the lane's
/// k angles go to a [k] scratch buffer first.
class LoopedLanes final : public GivensLanes {
public:
  using GivensLanes::GivensLanes;

  Value matrices(OpBuilder &b, Location loc, bool identity) const override {
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(lanes), b.getIndexAttr(c),
                                       b.getIndexAttr(c)};
    if (!identity)
      return zerosF32(b, loc, sizes);
    return identityF32(b, loc, sizes, 1, 2);
  }

  /// cos and sin [2, k] (one buffer: two equal empty tensors would be
  /// merged by CSE and then share a buffer) and, for the backward, P̄ of
  /// one lane [c, c].
  SmallVector<Value> scratch(OpBuilder &b, Location loc,
                             bool backward) const override {
    SmallVector<Value> v = {emptyOf(
        b, loc, {b.getIndexAttr(2), b.getIndexAttr(k)}, b.getF32Type())};
    if (backward)
      v.push_back(emptyOf(b, loc, {b.getIndexAttr(c), b.getIndexAttr(c)},
                          b.getF32Type()));
    return v;
  }

  void forward(OpBuilder &b, Location loc, const Step &s, Value x, Value &p,
               Value *y, MutableArrayRef<Value> scratch) const override {
    sinCos(b, loc, s, scratch[0]);
    p = rotateAll(b, loc, s.m, p, scratch[0]);
    if (!y)
      return;
    Value base = arith::MulIOp::create(b, loc, s.lane, idx(b, loc, c));
    Value out;
    if (!inverse) {
      out = combineColumns(
          b, loc, p, s.m, [&](OpBuilder &lb, Location l, Value q) {
            return toF32(
                lb, l,
                tensor::ExtractOp::create(
                    lb, l, x,
                    ValueRange{s.bi, s.t,
                               arith::AddIOp::create(lb, l, base, q)}));
          });
    } else {
      out =
          dotColumns(b, loc, p, s.m, readVector(b, loc, x, {s.bi, s.t, base}));
    }
    *y = writeVector(b, loc, out, *y,
                     {s.t, arith::MulIOp::create(b, loc, s.m, idx(b, loc, c))});
  }

  void backward(OpBuilder &b, Location loc, const Step &s, Value x, Value dy,
                Value &p, Value &w, Value &dx, Value &da,
                MutableArrayRef<Value> scratch) const override {
    Value base = arith::MulIOp::create(b, loc, s.lane, idx(b, loc, c));
    Value xv = readVector(b, loc, x, {s.bi, s.t, base});
    Value yb = readVector(b, loc, dy, {s.bi, s.t, base});
    auto entry = [](Value v) {
      return [v](OpBuilder &lb, Location l, Value q) -> Value {
        return vector::ExtractOp::create(lb, l, v, OpFoldResult(q));
      };
    };
    // x̄ = Pᵀ·ȳ (P·ȳ with inverse); W += u·vᵀ with u = ȳ, v = P·x (u = x,
    // v = x̄ with inverse).
    Value dxv = inverse ? combineColumns(b, loc, p, s.m, entry(yb))
                        : dotColumns(b, loc, p, s.m, yb);
    Value u = inverse ? xv : yb;
    Value v = inverse ? dxv : combineColumns(b, loc, p, s.m, entry(xv));
    dx = writeVector(b, loc, dxv, dx,
                     {s.t, arith::MulIOp::create(b, loc, s.m, idx(b, loc, c))});
    w = forColumns(
        b, loc, w, [&](OpBuilder &lb, Location l, Value j, Value wt) {
          Value col = readColumn(lb, l, wt, {s.m, j});
          Value vj = vector::BroadcastOp::create(lb, l, columnType(lb),
                                                 entry(v)(lb, l, j));
          return writeColumn(lb, l, fma(lb, l, u, vj, col), wt, {s.m, j});
        });
    // P̄_t = W·P_t, a lane's [c, c] in scratch[1].
    scratch[1] = forColumns(
        b, loc, scratch[1], [&](OpBuilder &lb, Location l, Value q, Value nt) {
          Value pq = readColumn(lb, l, p, {s.m, q});
          Value acc = combineColumns(lb, l, w, s.m, entry(pq));
          return writeColumn(lb, l, acc, nt, {q});
        });
    sinCos(b, loc, s, scratch[0]);
    unrotateAll(b, loc, s, p, scratch, da);
  }

private:
  static Value idx(OpBuilder &b, Location loc, int64_t v) {
    return indexConst(b, loc, v);
  }
  VectorType columnType(OpBuilder &b) const {
    return VectorType::get({c}, b.getF32Type());
  }
  Value zeroColumn(OpBuilder &b, Location loc) const {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(columnType(b), b.getF32FloatAttr(0)));
  }
  static Value fma(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
    return math::FmaOp::create(b, loc, x, y, acc);
  }
  /// Column at leading indices `lead` of a [..., c] buffer.
  Value readColumn(OpBuilder &b, Location loc, Value buf,
                   ArrayRef<Value> lead) const {
    SmallVector<Value> ix(lead);
    ix.push_back(idx(b, loc, 0));
    return vector::TransferReadOp::create(b, loc, columnType(b), buf, ix,
                                          /*padding=*/std::nullopt,
                                          ArrayRef<bool>{true});
  }
  Value writeColumn(OpBuilder &b, Location loc, Value v, Value buf,
                    ArrayRef<Value> lead) const {
    SmallVector<Value> ix(lead);
    ix.push_back(idx(b, loc, 0));
    return vector::TransferWriteOp::create(b, loc, v, buf, ix,
                                           ArrayRef<bool>{true})
        ->getResult(0);
  }
  /// c consecutive values of a tensor of any float type at `at`, as f32.
  Value readVector(OpBuilder &b, Location loc, Value t,
                   ArrayRef<Value> at) const {
    Type elt = cast<RankedTensorType>(t.getType()).getElementType();
    Value v = vector::TransferReadOp::create(b, loc, VectorType::get({c}, elt),
                                             t, at, /*padding=*/std::nullopt,
                                             ArrayRef<bool>{true});
    return toF32(b, loc, v);
  }
  /// Writes an f32 vector<c> at `at`, cast to the tensor's element type.
  Value writeVector(OpBuilder &b, Location loc, Value v, Value t,
                    ArrayRef<Value> at) const {
    Type elt = cast<RankedTensorType>(t.getType()).getElementType();
    return vector::TransferWriteOp::create(b, loc, castFloat(b, loc, v, elt), t,
                                           at, ArrayRef<bool>{true})
        ->getResult(0);
  }
  /// `buf` through a loop over q in [0, c): body(q, buf) returns the new one.
  Value forColumns(
      OpBuilder &b, Location loc, Value buf,
      function_ref<Value(OpBuilder &, Location, Value, Value)> body) const {
    auto loop = scf::ForOp::create(b, loc, idx(b, loc, 0), idx(b, loc, c),
                                   idx(b, loc, 1), ValueRange{buf});
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, loc,
        body(b, loc, loop.getInductionVar(), loop.getRegionIterArgs()[0]));
    return loop.getResult(0);
  }
  /// Σ_q s(q)·M[:, q] for lane m of `buf`: M·s.
  Value
  combineColumns(OpBuilder &b, Location loc, Value buf, Value m,
                 function_ref<Value(OpBuilder &, Location, Value)> s) const {
    Value zero = zeroColumn(b, loc);
    return forColumns(
        b, loc, zero, [&](OpBuilder &lb, Location l, Value q, Value acc) {
          Value sq =
              vector::BroadcastOp::create(lb, l, columnType(lb), s(lb, l, q));
          return fma(lb, l, sq, readColumn(lb, l, buf, {m, q}), acc);
        });
  }
  /// (M[:, q]·v)_q for lane m of `buf`: Mᵀ·v.
  Value dotColumns(OpBuilder &b, Location loc, Value buf, Value m,
                   Value v) const {
    Value zero = zeroColumn(b, loc);
    return forColumns(
        b, loc, zero, [&](OpBuilder &lb, Location l, Value q, Value acc) {
          Value prod =
              arith::MulFOp::create(lb, l, readColumn(lb, l, buf, {m, q}), v);
          Value dot =
              vector::ReductionOp::create(lb, l, vector::CombiningKind::ADD,
                                          prod, arith::FastMathFlags::reassoc);
          return vector::InsertOp::create(lb, l, dot, acc, OpFoldResult(q))
              .getResult();
        });
  }
  /// cos and sin of lane s.lane's k angles at token t into rows 0 and 1
  /// of `trig` [2, k].
  void sinCos(OpBuilder &b, Location loc, const Step &s, Value &trig) const {
    Value base = arith::MulIOp::create(b, loc, s.lane, idx(b, loc, k));
    auto loop = scf::ForOp::create(b, loc, idx(b, loc, 0), idx(b, loc, k),
                                   idx(b, loc, 1), ValueRange{trig});
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    Value a = toF32(
        b, loc,
        tensor::ExtractOp::create(
            b, loc, angles,
            ValueRange{s.bi, s.t, arith::AddIOp::create(b, loc, base, j)}));
    auto [cv, sv] = sinCosF32(b, loc, a);
    Value t = tensor::InsertOp::create(b, loc, cv, loop.getRegionIterArgs()[0],
                                       ValueRange{idx(b, loc, 0), j});
    t = tensor::InsertOp::create(b, loc, sv, t, ValueRange{idx(b, loc, 1), j});
    scf::YieldOp::create(b, loc, t);
    b.setInsertionPointAfter(loop);
    trig = loop.getResult(0);
  }
  /// cos (row 0) or sin (row 1) of angle kk from `trig`, splat to a column.
  Value splat(OpBuilder &b, Location loc, Value trig, int64_t row,
              Value kk) const {
    return vector::BroadcastOp::create(
        b, loc, columnType(b),
        tensor::ExtractOp::create(b, loc, trig,
                                  ValueRange{idx(b, loc, row), kk}));
  }

  /// P ← P·G_(0,1)·G_(0,2)⋯ for lane m (the forward step).
  Value rotateAll(OpBuilder &b, Location loc, Value m, Value p,
                  Value trig) const {
    Value zero = idx(b, loc, 0), one = idx(b, loc, 1);
    auto outer = scf::ForOp::create(b, loc, zero, idx(b, loc, c - 1), one,
                                    ValueRange{p, zero});
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(outer.getBody());
    Value i = outer.getInductionVar();
    Value pi = outer.getRegionIterArgs()[0];
    Value colI = readColumn(b, loc, pi, {m, i});
    auto inner = scf::ForOp::create(
        b, loc, arith::AddIOp::create(b, loc, i, one), idx(b, loc, c), one,
        ValueRange{pi, colI, outer.getRegionIterArgs()[1]});
    {
      OpBuilder::InsertionGuard gi(b);
      b.setInsertionPointToStart(inner.getBody());
      Value j = inner.getInductionVar();
      ValueRange it = inner.getRegionIterArgs();
      Value kk = it[2];
      auto [ni, nj] =
          rotatePair(b, loc, it[1], readColumn(b, loc, it[0], {m, j}),
                     splat(b, loc, trig, 0, kk), splat(b, loc, trig, 1, kk));
      scf::YieldOp::create(b, loc,
                           ValueRange{writeColumn(b, loc, nj, it[0], {m, j}),
                                      ni,
                                      arith::AddIOp::create(b, loc, kk, one)});
    }
    scf::YieldOp::create(b, loc,
                         ValueRange{writeColumn(b, loc, inner.getResult(1),
                                                inner.getResult(0), {m, i}),
                                    inner.getResult(2)});
    return outer.getResult(0);
  }

  /// The backward through the step's rotations, last to first: with
  /// N = P_t and N̄ = P̄_t (scratch[1]) on entry, rotation k (columns i, j)
  /// gives ā_k = N̄[:, i]·N[:, j] − N̄[:, j]·N[:, i] (the derivative of
  /// rotatePair), then undoes itself on both, N ← N·G_kᵀ, N̄ ← N̄·G_kᵀ. N
  /// ends as P_{t−1}.
  void unrotateAll(OpBuilder &b, Location loc, const Step &s, Value &p,
                   MutableArrayRef<Value> scratch, Value &da) const {
    Value zero = idx(b, loc, 0), one = idx(b, loc, 1);
    Value m = s.m;
    Value daBase = arith::MulIOp::create(b, loc, m, idx(b, loc, k));
    auto outer =
        scf::ForOp::create(b, loc, zero, idx(b, loc, c - 1), one,
                           ValueRange{p, scratch[1], idx(b, loc, k), da});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(outer.getBody());
      // i = c−2 .. 0, and j = c−1 .. i+1 inside.
      Value i = arith::SubIOp::create(b, loc, idx(b, loc, c - 2),
                                      outer.getInductionVar());
      ValueRange ot = outer.getRegionIterArgs();
      Value pI = readColumn(b, loc, ot[0], {m, i});
      Value nI = readColumn(b, loc, ot[1], {i});
      auto inner = scf::ForOp::create(
          b, loc, zero, arith::SubIOp::create(b, loc, idx(b, loc, c - 1), i),
          one, ValueRange{ot[0], ot[1], pI, nI, ot[2], ot[3]});
      {
        OpBuilder::InsertionGuard gi(b);
        b.setInsertionPointToStart(inner.getBody());
        Value j = arith::SubIOp::create(b, loc, idx(b, loc, c - 1),
                                        inner.getInductionVar());
        ValueRange it = inner.getRegionIterArgs();
        Value kk = arith::SubIOp::create(b, loc, it[4], one);
        Value pJ = readColumn(b, loc, it[0], {m, j});
        Value nJ = readColumn(b, loc, it[1], {j});
        Value diff = arith::SubFOp::create(
            b, loc, arith::MulFOp::create(b, loc, it[3], pJ),
            arith::MulFOp::create(b, loc, nJ, it[2]));
        Value aBar =
            vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                        diff, arith::FastMathFlags::reassoc);
        Value daT = tensor::InsertOp::create(
            b, loc, aBar, it[5],
            ValueRange{s.t, arith::AddIOp::create(b, loc, daBase, kk)});
        Value cv = splat(b, loc, scratch[0], 0, kk);
        Value nsv =
            arith::NegFOp::create(b, loc, splat(b, loc, scratch[0], 1, kk));
        auto [pi2, pj2] = rotatePair(b, loc, it[2], pJ, cv, nsv);
        auto [ni2, nj2] = rotatePair(b, loc, it[3], nJ, cv, nsv);
        scf::YieldOp::create(b, loc,
                             ValueRange{writeColumn(b, loc, pj2, it[0], {m, j}),
                                        writeColumn(b, loc, nj2, it[1], {j}),
                                        pi2, ni2, kk, daT});
      }
      ValueRange r = inner.getResults();
      scf::YieldOp::create(b, loc,
                           ValueRange{writeColumn(b, loc, r[2], r[0], {m, i}),
                                      writeColumn(b, loc, r[3], r[1], {i}),
                                      r[4], r[5]});
    }
    p = outer.getResult(0);
    scratch[1] = outer.getResult(1);
    da = outer.getResult(3);
  }
};
} // namespace

FailureOr<std::unique_ptr<GivensLanes>>
hdd::givensLanes(OpBuilder &b, Operation *op, int64_t c, bool inverse,
                 SOForm form, Value angles) {
  FailureOr<int64_t> lanes = lanesPerTask(op);
  if (failed(lanes))
    return failure();
  // [B, T, H, C, k] as lanes; a structured op's angles already are.
  if (cast<RankedTensorType>(angles.getType()).getRank() != 3)
    angles = tensor::CollapseShapeOp::create(b, op->getLoc(), angles,
                                             laneAnglesReassociation());
  if (form == SOForm::exp && c > kMaxUnrolledChunk)
    return op->emitOpError("has no exp-form lanes for chunk ") << c;
  if (c <= kMaxUnrolledChunk)
    return std::unique_ptr<GivensLanes>(
        std::make_unique<UnrolledLanes>(c, *lanes, inverse, form, angles));
  return std::unique_ptr<GivensLanes>(
      std::make_unique<LoopedLanes>(c, *lanes, inverse, form, angles));
}
