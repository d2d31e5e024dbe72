//===- LowerHDD.cpp - so_generator, cumulative_rotation, hdd_rope ---------===//
//
// - so_generator (givens): row r of G = e_r·G_(0,1)·G_(0,2)⋯, unrolled (c is
//   a static attribute); (exp): exp of the skew matrix by scaling and
//   squaring of a degree-12 Taylor series, unrolled for c ≤ kMaxExpChunk.
// - cumulative_rotation: rotary.rotation_scan over [A, T, Bm, c, c], whose
//   tile is a sequential scan per column; a target may split it into a
//   blocked scan (splitScan: products inside blocks of `block` steps,
//   parallel over blocks, the exclusive scan of the block totals, and a
//   parallel fix-up P_t = carry_block·local_t).
// - hdd_rope with P: a batched c×c mat-vec; fused (angles):
//   rotary.hdd_rope_lanes, every (h, chunk) a lane whose tile scans T with
//   P_t = P_{t-1}·G_t per lane (G_t from the lane's Givens rotations, or
//   exp of its skew matrix for c ≤ kMaxExpChunk), so P is never stored.
//
// The building blocks (HDDCommon.h) are shared with the gradient lowerings.
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;
using namespace rotary::lowering::hdd;

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

SmallVector<std::pair<int64_t, int64_t>> hdd::generatorPairs(int64_t c) {
  SmallVector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t p = 0; p < c; ++p)
    for (int64_t q = p + 1; q < c; ++q)
      pairs.push_back({p, q});
  return pairs;
}

void hdd::applyGenerator(OpBuilder &b, Location loc, int64_t c,
                         ArrayRef<Value> a, SmallVectorImpl<Value> &m) {
  SmallVector<Value> cs, sn;
  for (Value ak : a) {
    cs.push_back(math::CosOp::create(b, loc, ak));
    sn.push_back(math::SinOp::create(b, loc, ak));
  }
  applyGenerator(b, loc, c, cs, sn, m);
}

/// Each rotation mixes two columns of every row.
void hdd::applyGenerator(OpBuilder &b, Location loc, int64_t c,
                         ArrayRef<Value> cs, ArrayRef<Value> sn,
                         SmallVectorImpl<Value> &m) {
  for (auto [k, pq] : llvm::enumerate(generatorPairs(c))) {
    auto [i, j] = pq;
    for (int64_t r = 0; r < c; ++r)
      std::tie(m[r * c + i], m[r * c + j]) =
          rotatePair(b, loc, m[r * c + i], m[r * c + j], cs[k], sn[k]);
  }
}

SmallVector<Value> hdd::identity(OpBuilder &b, Location loc, int64_t c,
                                 Type elt) {
  if (!elt)
    elt = b.getF32Type();
  SmallVector<Value> m;
  for (int64_t r = 0; r < c; ++r)
    for (int64_t q = 0; q < c; ++q)
      m.push_back(floatConst(b, loc, elt, r == q ? 1.0 : 0.0));
  return m;
}

SmallVector<Value> hdd::matmul(OpBuilder &b, Location loc, int64_t c,
                               ArrayRef<Value> x, ArrayRef<Value> y,
                               bool transposeX, bool transposeY) {
  auto xe = [&](int64_t r, int64_t k) {
    return transposeX ? x[k * c + r] : x[r * c + k];
  };
  auto ye = [&](int64_t k, int64_t q) {
    return transposeY ? y[q * c + k] : y[k * c + q];
  };
  SmallVector<Value> z;
  for (int64_t r = 0; r < c; ++r)
    for (int64_t q = 0; q < c; ++q) {
      Value acc = arith::MulFOp::create(b, loc, xe(r, 0), ye(0, q));
      for (int64_t k = 1; k < c; ++k)
        acc = arith::AddFOp::create(
            b, loc, acc, arith::MulFOp::create(b, loc, xe(r, k), ye(k, q)));
      z.push_back(acc);
    }
  return z;
}

Value hdd::matVecRow(OpBuilder &b, Location loc, int64_t c, ArrayRef<Value> m,
                     ArrayRef<Value> v, int64_t r, bool transposed) {
  Value acc = f32c(b, loc, 0.0);
  for (int64_t q = 0; q < c; ++q)
    acc = arith::AddFOp::create(
        b, loc, acc,
        arith::MulFOp::create(b, loc, transposed ? m[q * c + r] : m[r * c + q],
                              v[q]));
  return acc;
}

SmallVector<Value> hdd::matVec(OpBuilder &b, Location loc, int64_t c,
                               ArrayRef<Value> m, ArrayRef<Value> v,
                               bool transposed) {
  SmallVector<Value> rows;
  for (int64_t r = 0; r < c; ++r)
    rows.push_back(matVecRow(b, loc, c, m, v, r, transposed));
  return rows;
}

namespace {
/// Scaling and squaring: s = clamp(ceil(log2 ‖A‖) + 1, 0, 64) as f32, and
/// 2^-s, so that ‖A‖·2^-s ≤ 1/2.
std::pair<Value, Value> scalingFor(OpBuilder &b, Location loc, Value norm) {
  Value lg = math::CeilOp::create(
      b, loc,
      math::Log2Op::create(
          b, loc,
          arith::MaximumFOp::create(b, loc, norm, f32c(b, loc, 1e-30))));
  Value sF = arith::MinimumFOp::create(
      b, loc, f32c(b, loc, 64.0),
      arith::MaximumFOp::create(
          b, loc, f32c(b, loc, 0.0),
          arith::AddFOp::create(b, loc, lg, f32c(b, loc, 1.0))));
  return {sF, math::Exp2Op::create(b, loc, arith::NegFOp::create(b, loc, sF))};
}

/// The skew matrix with A[p,q] = sign·a_pq, A[q,p] = −sign·a_pq.
SmallVector<Value> skewMatrix(OpBuilder &b, Location loc, int64_t c,
                              ArrayRef<Value> a, bool negate) {
  SmallVector<Value> m(c * c, f32c(b, loc, 0.0));
  for (auto [k, pq] : llvm::enumerate(generatorPairs(c))) {
    auto [p, q] = pq;
    Value neg = arith::NegFOp::create(b, loc, a[k]);
    m[p * c + q] = negate ? neg : a[k];
    m[q * c + p] = negate ? a[k] : neg;
  }
  return m;
}

/// ‖A‖₁ ≤ Σ|a|: a bound is enough to pick the scaling.
Value angleNormBound(OpBuilder &b, Location loc, ArrayRef<Value> a) {
  Value norm = f32c(b, loc, 0.0);
  for (Value v : a)
    norm = arith::AddFOp::create(b, loc, norm, math::AbsFOp::create(b, loc, v));
  return norm;
}

/// exp(X) and, when `e` is given, the Fréchet derivative L(X, E): the
/// diagonal and upper-right blocks of exp([[X, E], [0, X]]), computed with
/// c×c products only (the block matrix is upper triangular). Scale by 2^-s
/// so that ‖X‖/2^s ≤ 1/2, sum 12 Taylor terms, square s times (an scf.for).
/// L is linear in E, so X alone (`norm` bounds it) sets the scaling.
/// The arithmetic and the results are f64 (decision 0019): squaring s
/// times multiplies the rounding error by 2^s ≈ ‖X‖, so f32 would lose
/// ~1e-7·‖X‖ absolute, 1e-3 at angles of 1e4; f64 keeps the result
/// f32-exact for any f32 angle.
std::pair<SmallVector<Value>, SmallVector<Value>>
expAndFrechet(OpBuilder &b, Location loc, int64_t c, ArrayRef<Value> x,
              ArrayRef<Value> e, Value norm) {
  bool frechet = !e.empty();
  Type f64 = b.getF64Type();
  auto [sF, scale32] = scalingFor(b, loc, norm);
  Value s = arith::FPToSIOp::create(b, loc, b.getI32Type(), sF);
  // 2^-s is exact in both types.
  Value scale = arith::ExtFOp::create(b, loc, f64, scale32);
  auto scaled = [&](ArrayRef<Value> m) {
    SmallVector<Value> r;
    for (Value v : m)
      r.push_back(arith::MulFOp::create(
          b, loc, arith::ExtFOp::create(b, loc, f64, v), scale));
    return r;
  };
  auto addInto = [&](SmallVectorImpl<Value> &acc, ArrayRef<Value> v) {
    for (int64_t i = 0; i < c * c; ++i)
      acc[i] = arith::AddFOp::create(b, loc, acc[i], v[i]);
  };
  SmallVector<Value> xs = scaled(x), es = frechet ? scaled(e) : SmallVector<Value>();
  // Term 1 is the block matrix itself.
  SmallVector<Value> termA = xs, termB = es;
  SmallVector<Value> resA = identity(b, loc, c, f64), resB = es;
  addInto(resA, termA);
  for (int k = 2; k <= 12; ++k) {
    // [[TA, TB], [0, TA]]·[[X, E], [0, X]] = [[TA·X, TA·E + TB·X], ...].
    Value inv = floatConst(b, loc, f64, 1.0 / k);
    if (frechet) {
      SmallVector<Value> l = matmul(b, loc, c, termA, es),
                         r = matmul(b, loc, c, termB, xs);
      for (int64_t i = 0; i < c * c; ++i)
        termB[i] = arith::MulFOp::create(
            b, loc, arith::AddFOp::create(b, loc, l[i], r[i]), inv);
      addInto(resB, termB);
    }
    termA = matmul(b, loc, c, termA, xs);
    for (Value &v : termA)
      v = arith::MulFOp::create(b, loc, v, inv);
    addInto(resA, termA);
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value steps = arith::IndexCastOp::create(b, loc, b.getIndexType(), s);
  SmallVector<Value> init = resA;
  llvm::append_range(init, resB);
  auto loop = scf::ForOp::create(
      b, loc, zero, steps, one, init,
      [&](OpBuilder &lb, Location l, Value, ValueRange iter) {
        SmallVector<Value> a(iter.take_front(c * c)), bb(iter.drop_front(c * c));
        // [[A, B], [0, A]]² = [[A², A·B + B·A], [0, A²]].
        SmallVector<Value> next = matmul(lb, l, c, a, a);
        if (frechet) {
          SmallVector<Value> ab = matmul(lb, l, c, a, bb),
                             ba = matmul(lb, l, c, bb, a);
          for (int64_t i = 0; i < c * c; ++i)
            next.push_back(arith::AddFOp::create(lb, l, ab[i], ba[i]));
        }
        scf::YieldOp::create(lb, l, next);
      });
  ValueRange res = loop.getResults();
  return {SmallVector<Value>(res.take_front(c * c)),
          SmallVector<Value>(res.drop_front(c * c))};
}

SmallVector<Value> narrowed(OpBuilder &b, Location loc, ArrayRef<Value> m) {
  SmallVector<Value> r;
  for (Value v : m)
    r.push_back(castFloat(b, loc, v, b.getF32Type()));
  return r;
}
} // namespace

SmallVector<Value> hdd::skewExp(OpBuilder &b, Location loc, int64_t c,
                                ArrayRef<Value> a) {
  return narrowed(
      b, loc,
      expAndFrechet(b, loc, c, skewMatrix(b, loc, c, a, /*negate=*/false), {},
                    angleNormBound(b, loc, a))
          .first);
}

SmallVector<Value> hdd::generator(OpBuilder &b, Location loc, int64_t c,
                                  SOForm form, ArrayRef<Value> a) {
  if (form == SOForm::exp)
    return skewExp(b, loc, c, a);
  SmallVector<Value> g = identity(b, loc, c);
  applyGenerator(b, loc, c, a, g);
  return g;
}

SmallVector<Value> hdd::generatorAdjoint(OpBuilder &b, Location loc, int64_t c,
                                         SOForm form, ArrayRef<Value> a,
                                         ArrayRef<Value> g,
                                         ArrayRef<Value> gBar) {
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  int64_t numAngles = pairs.size();
  SmallVector<Value> aBar(numAngles);
  if (form == SOForm::exp) {
    // Ā = L(Aᵀ, Ḡ), Aᵀ = −A; ā_pq = Ā[p,q] − Ā[q,p], subtracted in f64
    // (the two can cancel to far below their size).
    SmallVector<Value> l =
        expAndFrechet(b, loc, c, skewMatrix(b, loc, c, a, /*negate=*/true),
                      gBar, angleNormBound(b, loc, a))
            .second;
    for (auto [k, pq] : llvm::enumerate(pairs)) {
      auto [p, q] = pq;
      aBar[k] = arith::TruncFOp::create(
          b, loc, b.getF32Type(),
          arith::SubFOp::create(b, loc, l[p * c + q], l[q * c + p]));
    }
    return aBar;
  }
  SmallVector<Value> cs, sn;
  for (Value ak : a) {
    cs.push_back(math::CosOp::create(b, loc, ak));
    sn.push_back(math::SinOp::create(b, loc, ak));
  }
  return givensAdjoint(b, loc, c, cs, sn, g, gBar);
}

SmallVector<Value> hdd::givensAdjoint(OpBuilder &b, Location loc, int64_t c,
                                      ArrayRef<Value> cs, ArrayRef<Value> sn,
                                      ArrayRef<Value> g, ArrayRef<Value> gBar) {
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  int64_t numAngles = pairs.size();
  SmallVector<Value> aBar(numAngles);
  // Every row of G is e_r pushed through the chain. Walk it backwards from
  // G: with y the rotation's outputs and ȳ their gradient,
  // φ̄_k = Σ_r ȳ_i·y_j − ȳ_j·y_i (Math §2 written with the outputs); then
  // undo the rotation on the values and the gradients alike.
  SmallVector<Value> rows(g), grads(gBar);
  for (int64_t k = numAngles - 1; k >= 0; --k) {
    auto [i, j] = pairs[k];
    Value acc = f32c(b, loc, 0.0);
    for (int64_t r = 0; r < c; ++r)
      acc = arith::AddFOp::create(
          b, loc, acc,
          arith::SubFOp::create(
              b, loc, arith::MulFOp::create(b, loc, grads[r * c + i],
                                            rows[r * c + j]),
              arith::MulFOp::create(b, loc, grads[r * c + j],
                                    rows[r * c + i])));
    aBar[k] = acc;
    if (k == 0)
      break;
    Value negSn = arith::NegFOp::create(b, loc, sn[k]);
    for (int64_t r = 0; r < c; ++r) {
      std::tie(rows[r * c + i], rows[r * c + j]) =
          rotatePair(b, loc, rows[r * c + i], rows[r * c + j], cs[k], negSn);
      std::tie(grads[r * c + i], grads[r * c + j]) =
          rotatePair(b, loc, grads[r * c + i], grads[r * c + j], cs[k], negSn);
    }
  }
  return aBar;
}

namespace {
/// The size-1 slices of `t` along `dims` (the trailing dims), dropped.
SmallVector<Value> trailingSlices(OpBuilder &b, Location loc, Value t,
                                  int64_t numTrailing) {
  auto tt = cast<RankedTensorType>(t.getType());
  int64_t r = tt.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  SmallVector<int64_t> dropped;
  int64_t count = 1;
  for (int64_t i = r - numTrailing; i < r; ++i) {
    dropped.push_back(i);
    count *= tt.getDimSize(i);
  }
  SmallVector<Value> slices;
  for (int64_t e = 0; e < count; ++e) {
    SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0)), sz = sizes,
        st(r, b.getIndexAttr(1));
    int64_t rest = e;
    for (int64_t i = r - 1; i >= r - numTrailing; --i) {
      offs[i] = b.getIndexAttr(rest % tt.getDimSize(i));
      rest /= tt.getDimSize(i);
      sz[i] = b.getIndexAttr(1);
    }
    slices.push_back(tensor::ExtractSliceOp::create(
        b, loc, sliceType(sz, dropped, tt.getElementType()), t, offs, sz, st));
  }
  return slices;
}
} // namespace

SmallVector<Value> hdd::lastDimSlices(OpBuilder &b, Location loc, Value t) {
  return trailingSlices(b, loc, t, 1);
}

SmallVector<Value> hdd::matrixSlices(OpBuilder &b, Location loc, Value m) {
  return trailingSlices(b, loc, m, 2);
}

Value hdd::stackTrailing(OpBuilder &b, Location loc, ValueRange parts,
                         ArrayRef<int64_t> trailing) {
  SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, parts[0]);
  int64_t lead = leadSizes.size(), r = lead + trailing.size();
  SmallVector<OpFoldResult> outSizes = leadSizes;
  for (int64_t d : trailing)
    outSizes.push_back(b.getIndexAttr(d));
  Value result = emptyOf(b, loc, outSizes, b.getF32Type());
  for (auto [e, part] : llvm::enumerate(parts)) {
    SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0));
    int64_t rest = e;
    for (int64_t i = trailing.size() - 1; i >= 0; --i) {
      offs[lead + i] = b.getIndexAttr(rest % trailing[i]);
      rest /= trailing[i];
    }
    SmallVector<OpFoldResult> sizes = leadSizes;
    sizes.append(trailing.size(), b.getIndexAttr(1));
    result = tensor::InsertSliceOp::create(
        b, loc, part, result, offs, sizes,
        SmallVector<OpFoldResult>(r, b.getIndexAttr(1)));
  }
  return result;
}

SmallVector<Value> hdd::loadMatrix(OpBuilder &b, Location loc, Value m,
                                   ValueRange lead, int64_t c) {
  SmallVector<Value> v;
  for (int64_t r = 0; r < c; ++r)
    for (int64_t q = 0; q < c; ++q) {
      SmallVector<Value> ix(lead);
      ix.push_back(arith::ConstantIndexOp::create(b, loc, r));
      ix.push_back(arith::ConstantIndexOp::create(b, loc, q));
      v.push_back(tensor::ExtractOp::create(b, loc, m, ix));
    }
  return v;
}

Value hdd::storeMatrix(OpBuilder &b, Location loc, Value dst, ValueRange lead,
                       int64_t c, ArrayRef<Value> v) {
  for (int64_t r = 0; r < c; ++r)
    for (int64_t q = 0; q < c; ++q) {
      SmallVector<Value> ix(lead);
      ix.push_back(arith::ConstantIndexOp::create(b, loc, r));
      ix.push_back(arith::ConstantIndexOp::create(b, loc, q));
      dst = tensor::InsertOp::create(b, loc, v[r * c + q], dst, ix);
    }
  return dst;
}

Value hdd::withStaticTrailing(OpBuilder &b, Location loc, Value v,
                              ArrayRef<int64_t> trailing) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(t.getShape());
  llvm::copy(trailing, shape.end() - trailing.size());
  auto type = RankedTensorType::get(shape, t.getElementType());
  return type == t ? v : tensor::CastOp::create(b, loc, type, v).getResult();
}

namespace {
/// acc + lhs·rhs (both read as acc's element type) over loops whose last is
/// the reduction and the others parallel, with the indexing maps `maps`
/// (lhs, rhs, acc): the products of the scans and rotations below.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         Value acc, ArrayRef<AffineMap> maps) {
  unsigned loops = maps.front().getNumDims();
  SmallVector<utils::IteratorType> iters(loops - 1,
                                         utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Type elt = cast<RankedTensorType>(acc.getType()).getElementType();
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{lhs, rhs},
             ValueRange{acc}, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange v) {
               Value prod =
                   arith::MulFOp::create(nb, l, castFloat(nb, l, v[0], elt),
                                         castFloat(nb, l, v[1], elt));
               linalg::YieldOp::create(
                   nb, l, Value(arith::AddFOp::create(nb, l, v[2], prod)));
             })
      .getResult(0);
}
} // namespace

Value hdd::batchedMatmul(OpBuilder &b, Location loc, Value x, Value y,
                         bool transposeX, bool transposeY) {
  MLIRContext *ctx = b.getContext();
  int64_t r = cast<RankedTensorType>(x.getType()).getRank();
  // Loops (lead..., p, q, k).
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  auto map = [&](AffineExpr row, AffineExpr col) {
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < r - 2; ++i)
      e.push_back(d(i));
    e.append({row, col});
    return AffineMap::get(r + 1, 0, e, ctx);
  };
  AffineExpr p = d(r - 2), q = d(r - 1), k = d(r);
  Value acc = zerosF32(b, loc, tensor::getMixedSizes(b, loc, x));
  return multiplyAccumulate(b, loc, x, y, acc,
                            {transposeX ? map(k, p) : map(p, k),
                             transposeY ? map(q, k) : map(k, q), map(p, q)});
}

Value hdd::applyChunkRotations(OpBuilder &b, Location loc, Value x, Value p,
                               int64_t c, bool transposed) {
  MLIRContext *ctx = b.getContext();
  auto xt = cast<RankedTensorType>(x.getType());
  Type elt = xt.getElementType();
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x);
  OpFoldResult chunks = getAsOpFoldResult(b.createOrFold<arith::DivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, xs[3]),
      arith::ConstantIndexOp::create(b, loc, c)));
  SmallVector<OpFoldResult> x5Sizes = {xs[0], xs[1], xs[2], chunks,
                                       b.getIndexAttr(c)};
  SmallVector<int64_t> x5Shape;
  SmallVector<Value> dyn;
  dispatchIndexOpFoldResults(x5Sizes, dyn, x5Shape);
  Value x5 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(x5Shape, elt), x,
      SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}}, x5Sizes);
  Value acc = zerosF32(b, loc, x5Sizes);
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  // Loops (b, t, h, m, p, q).
  AffineMap pMap =
      transposed
          ? AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(5), d(4)}, ctx)
          : AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4), d(5)}, ctx);
  Value y5 = multiplyAccumulate(
      b, loc, p, x5, acc,
      {pMap, AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(5)}, ctx),
       AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx)});
  if (!elt.isF32())
    y5 = elementwise(b, loc, y5, emptyOf(b, loc, x5Sizes, elt), 5,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       linalg::YieldOp::create(nb, l,
                                               castFloat(nb, l, a[0], elt));
                     })
             .getResult(0);
  Value y = tensor::CollapseShapeOp::create(
      b, loc, y5, SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  if (y.getType() != xt)
    y = tensor::CastOp::create(b, loc, xt, y);
  return y;
}

namespace {
/// X·Y for n×n tensors, written into `dst` (zeroed first).
Value matmulInto(OpBuilder &b, Location loc, Value x, Value y, Value dst) {
  MLIRContext *ctx = b.getContext();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  Type elt = cast<RankedTensorType>(dst.getType()).getElementType();
  Value acc = linalg::FillOp::create(b, loc, floatConst(b, loc, elt, 0.0), dst)
                  .getResult(0);
  return multiplyAccumulate(b, loc, x, y, acc,
                            {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                             AffineMap::get(3, 0, {d(2), d(1)}, ctx),
                             AffineMap::get(3, 0, {d(0), d(1)}, ctx)});
}

/// X·Y for n×n f64 tensors.
Value matmulNxN(OpBuilder &b, Location loc, Value x, Value y, int64_t n) {
  return matmulInto(
      b, loc, x, y,
      emptyOf(b, loc, {b.getIndexAttr(n), b.getIndexAttr(n)}, b.getF64Type()));
}

/// `v` copied into `dst` (so a loop yields a value equivalent to its
/// iteration argument and bufferizes in place).
Value copyInto(OpBuilder &b, Location loc, Value v, Value dst) {
  return linalg::CopyOp::create(b, loc, ValueRange{v}, ValueRange{dst})
      .getResult(0);
}
} // namespace

Value hdd::batchedLargeExp(
    OpBuilder &b, Location loc, int64_t n, Value count,
    function_ref<std::pair<Value, Value>(OpBuilder &, Location, Value)> build) {
  // f64 arithmetic and result, like the unrolled form (expAndFrechet).
  Type f64 = b.getF64Type();
  OpFoldResult nn = b.getIndexAttr(n);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value out = emptyOf(b, loc, {getAsOpFoldResult(count), nn, nn}, f64);
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>{b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{getAsOpFoldResult(count)},
      SmallVector<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{out},
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value mi = forall.getInductionVar(0);
  auto [mat, norm] = build(b, loc, mi);
  auto [sF, scale32] = scalingFor(b, loc, norm);
  Value scale = arith::ExtFOp::create(b, loc, f64, scale32);
  Value aScaled =
      elementwise(b, loc, ValueRange{mat},
                  ValueRange{emptyOf(b, loc, {nn, nn}, f64)}, 2,
                  [&](OpBuilder &nb, Location l, ValueRange v) {
                    Value w = arith::ExtFOp::create(nb, l, f64, v[0]);
                    linalg::YieldOp::create(
                        nb, l, Value(arith::MulFOp::create(nb, l, w, scale)));
                  })
          .getResult(0);
  auto eye = [&]() {
    return elementwise(
               b, loc, ValueRange{}, ValueRange{emptyOf(b, loc, {nn, nn}, f64)},
               2,
               [&](OpBuilder &nb, Location l, ValueRange) {
                 Value diag =
                     arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                           linalg::IndexOp::create(nb, l, 0),
                                           linalg::IndexOp::create(nb, l, 1));
                 linalg::YieldOp::create(
                     nb, l,
                     Value(arith::SelectOp::create(
                         nb, l, diag, floatConst(nb, l, f64, 1.0),
                         floatConst(nb, l, f64, 0.0))));
               })
        .getResult(0);
  };
  // Taylor terms 1..12: term ← term·A/k, result ← result + term.
  auto taylor = scf::ForOp::create(
      b, loc, one, arith::ConstantIndexOp::create(b, loc, 13), one,
      ValueRange{eye(), eye()},
      [&](OpBuilder &lb, Location l, Value k, ValueRange it) {
        Value inv = arith::DivFOp::create(
            lb, l, floatConst(lb, l, f64, 1.0),
            arith::UIToFPOp::create(
                lb, l, f64,
                arith::IndexCastUIOp::create(lb, l, lb.getI64Type(), k)));
        Value prod = matmulNxN(lb, l, it[1], aScaled, n);
        Value term =
            elementwise(lb, l, ValueRange{prod}, ValueRange{it[1]}, 2,
                        [&](OpBuilder &nb, Location bl, ValueRange v) {
                          linalg::YieldOp::create(
                              nb, bl,
                              Value(arith::MulFOp::create(nb, bl, v[0], inv)));
                        })
                .getResult(0);
        Value sum =
            elementwise(lb, l, ValueRange{term}, ValueRange{it[0]}, 2,
                        [&](OpBuilder &nb, Location bl, ValueRange v) {
                          linalg::YieldOp::create(
                              nb, bl,
                              Value(arith::AddFOp::create(nb, bl, v[1], v[0])));
                        })
                .getResult(0);
        scf::YieldOp::create(lb, l, ValueRange{sum, term});
      });
  Value steps = arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      arith::FPToSIOp::create(b, loc, b.getI32Type(), sF));
  auto square = scf::ForOp::create(
      b, loc, zero, steps, one, ValueRange{taylor.getResult(0)},
      [&](OpBuilder &lb, Location l, Value, ValueRange it) {
        Value sq = matmulNxN(lb, l, it[0], it[0], n);
        scf::YieldOp::create(lb, l, copyInto(lb, l, sq, it[0]));
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, square.getResult(0), forall.getRegionIterArgs()[0],
      SmallVector<OpFoldResult>{mi, b.getIndexAttr(0), b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{b.getIndexAttr(1), nn, nn},
      SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
  return forall.getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
/// so_generator (exp) for chunks too large to unroll: per matrix, the skew
/// matrix from a constant pair table, then batchedLargeExp.
Value largeSkewExp(OpBuilder &b, Location loc, Value angles, int64_t c) {
  SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
  leadSizes.pop_back();
  Value a2 = collapseLeading(b, loc, angles, 1); // [M, K]
  Value m = dimOf(b, loc, a2, 0);
  OpFoldResult cc = b.getIndexAttr(c);
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  auto pairType = RankedTensorType::get({static_cast<int64_t>(pairs.size()), 2},
                                        b.getIndexType());
  SmallVector<APInt> flat;
  for (auto [p, q] : pairs)
    flat.append({APInt(64, p), APInt(64, q)});
  Value pairTable = arith::ConstantOp::create(
      b, loc, pairType, DenseElementsAttr::get(pairType, flat));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value numAngles = arith::ConstantIndexOp::create(b, loc, pairs.size());
  Value exps = batchedLargeExp(
      b, loc, c, m, [&](OpBuilder &ib, Location il, Value mi) {
        // The skew matrix and a bound on its norm.
        auto build = scf::ForOp::create(
            ib, il, zero, numAngles, one,
            ValueRange{zerosF32(ib, il, {cc, cc}), f32c(ib, il, 0.0)},
            [&](OpBuilder &lb, Location l, Value k, ValueRange it) {
              Value a = tensor::ExtractOp::create(lb, l, a2, ValueRange{mi, k});
              Value p = tensor::ExtractOp::create(lb, l, pairTable,
                                                  ValueRange{k, zero});
              Value q = tensor::ExtractOp::create(lb, l, pairTable,
                                                  ValueRange{k, one});
              Value t =
                  tensor::InsertOp::create(lb, l, a, it[0], ValueRange{p, q});
              t = tensor::InsertOp::create(
                  lb, l, arith::NegFOp::create(lb, l, a), t, ValueRange{q, p});
              Value norm = arith::AddFOp::create(
                  lb, l, it[1], math::AbsFOp::create(lb, l, a));
              scf::YieldOp::create(lb, l, ValueRange{t, norm});
            });
        return std::pair<Value, Value>{build.getResult(0), build.getResult(1)};
      });
  return expandLeading(b, loc, convertTensor(b, loc, exps, b.getF32Type()),
                       leadSizes, 2);
}

/// so_generator: one generic per element (..., r, col) for givens; for exp,
/// c² outputs of one generic over (...), reassembled.
struct LowerSOGenerator : OpRewritePattern<SOGeneratorOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SOGeneratorOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t c = op.getChunk();
    Value angles = op.getAngles();
    auto at = cast<RankedTensorType>(angles.getType());
    if (at.isDynamicDim(at.getRank() - 1))
      angles =
          tensor::CastOp::create(b, loc,
                                 RankedTensorType::get(
                                     [&] {
                                       SmallVector<int64_t> s(at.getShape());
                                       s.back() = numGeneratorAngles(c);
                                       return s;
                                     }(),
                                     b.getF32Type()),
                                 angles);
    int64_t lead = at.getRank() - 1;
    SmallVector<Value> slices = lastDimSlices(b, loc, angles);
    SmallVector<OpFoldResult> leadSizes = tensor::getMixedSizes(b, loc, angles);
    leadSizes.pop_back();
    if (op.getForm() == SOForm::exp && c > kMaxExpChunk) {
      Value result = largeSkewExp(b, loc, angles, c);
      if (result.getType() != op.getType())
        result = tensor::CastOp::create(b, loc, op.getType(), result);
      rewriter.replaceOp(op, result);
      return success();
    }
    SmallVector<OpFoldResult> outSizes = leadSizes;
    outSizes.push_back(b.getIndexAttr(c));
    outSizes.push_back(b.getIndexAttr(c));
    if (op.getForm() == SOForm::givens) {
      int64_t loops = lead + 2;
      SmallVector<AffineMap> maps(
          slices.size(),
          AffineMap::getMultiDimIdentityMap(loops, ctx).getMajorSubMap(lead));
      maps.push_back(AffineMap::getMultiDimIdentityMap(loops, ctx));
      Value out = emptyOf(b, loc, outSizes, b.getF32Type());
      auto g = linalg::GenericOp::create(
          b, loc, TypeRange{out.getType()}, slices, ValueRange{out}, maps,
          SmallVector<utils::IteratorType>(loops,
                                           utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value r = linalg::IndexOp::create(nb, l, lead);
            Value col = linalg::IndexOp::create(nb, l, lead + 1);
            // Row r of the identity, then the chain, as c scalars.
            SmallVector<Value> row;
            for (int64_t q = 0; q < c; ++q)
              row.push_back(arith::SelectOp::create(
                  nb, l,
                  arith::CmpIOp::create(
                      nb, l, arith::CmpIPredicate::eq, r,
                      arith::ConstantIndexOp::create(nb, l, q)),
                  f32c(nb, l, 1.0), f32c(nb, l, 0.0)));
            for (auto [k, pq] : llvm::enumerate(generatorPairs(c))) {
              auto [i, j] = pq;
              Value cs = math::CosOp::create(nb, l, a[k]);
              Value sn = math::SinOp::create(nb, l, a[k]);
              std::tie(row[i], row[j]) =
                  rotatePair(nb, l, row[i], row[j], cs, sn);
            }
            Value v = row[0];
            for (int64_t q = 1; q < c; ++q)
              v = arith::SelectOp::create(
                  nb, l,
                  arith::CmpIOp::create(
                      nb, l, arith::CmpIPredicate::eq, col,
                      arith::ConstantIndexOp::create(nb, l, q)),
                  row[q], v);
            linalg::YieldOp::create(nb, l, v);
          });
      Value result = g.getResult(0);
      if (result.getType() != op.getType())
        result = tensor::CastOp::create(b, loc, op.getType(), result);
      rewriter.replaceOp(op, result);
      return success();
    }
    // exp: c² outputs [...] from one generic, inserted into [..., c, c].
    SmallVector<Value> outs;
    for (int64_t e = 0; e < c * c; ++e)
      outs.push_back(emptyOf(b, loc, leadSizes, b.getF32Type()));
    auto g = elementwise(b, loc, slices, outs, lead,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           SmallVector<Value> ang(a.take_front(slices.size()));
                           SmallVector<Value> m = skewExp(nb, l, c, ang);
                           linalg::YieldOp::create(nb, l, m);
                         });
    Value result = stackTrailing(b, loc, g.getResults(), {c, c});
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(b, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// cumulative_rotation as rotary.rotation_scan over [A, T, Bm, c, c].
struct LowerCumulativeRotation : OpRewritePattern<CumulativeRotationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CumulativeRotationOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t rank = cast<RankedTensorType>(op.getRotations().getType()).getRank(),
            axis = op.getAxis();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static c");
    Value g = withStaticTrailing(b, loc, op.getRotations(), {c, c});
    auto gt = cast<RankedTensorType>(g.getType());
    // Collapse to [A, T, Bm, c, c].
    SmallVector<ReassociationIndices> re;
    ReassociationIndices before, after;
    for (int64_t i = 0; i < axis; ++i)
      before.push_back(i);
    for (int64_t i = axis + 1; i < rank - 2; ++i)
      after.push_back(i);
    SmallVector<int64_t> shape5;
    auto collapsedSize = [&](ArrayRef<int64_t> dims) {
      int64_t s = 1;
      for (int64_t d : dims) {
        if (gt.isDynamicDim(d))
          return ShapedType::kDynamic;
        s *= gt.getDimSize(d);
      }
      return s;
    };
    Value g5;
    {
      SmallVector<int64_t> beforeDims(before.begin(), before.end()),
          afterDims(after.begin(), after.end());
      shape5 = {collapsedSize(beforeDims), gt.getDimSize(axis),
                collapsedSize(afterDims), c, c};
      // Empty groups become unit dims through an expand first.
      Value src = g;
      SmallVector<int64_t> expShape;
      SmallVector<OpFoldResult> expSizes;
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, g);
      SmallVector<ReassociationIndices> expRe;
      int64_t pos = 0;
      auto push = [&](int64_t d, bool withUnit) {
        ReassociationIndices grp;
        if (withUnit) {
          expShape.push_back(1);
          expSizes.push_back(b.getIndexAttr(1));
          grp.push_back(pos++);
        }
        expShape.push_back(gt.getDimSize(d));
        expSizes.push_back(sizes[d]);
        grp.push_back(pos++);
        expRe.push_back(grp);
      };
      for (int64_t d = 0; d < rank; ++d)
        push(d,
             (d == axis && before.empty()) || (d == rank - 2 && after.empty()));
      src = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(expShape, gt.getElementType()), g,
          expRe, expSizes);
      // Now collapse: [0..axis'] [axis'] [..] [c] [c] in the expanded dims.
      int64_t axisE = axis + (before.empty() ? 1 : 0);
      ReassociationIndices r0, r2;
      for (int64_t i = 0; i < axisE; ++i)
        r0.push_back(i);
      int64_t cFirst = expShape.size() - 2;
      for (int64_t i = axisE + 1; i < cFirst; ++i)
        r2.push_back(i);
      re = {r0, {axisE}, r2, {cFirst}, {cFirst + 1}};
      g5 = tensor::CollapseShapeOp::create(b, loc, src, re);
    }
    // The running products from the identity: the structured op, which a
    // target's schedule tiles (a blocked scan on the CPU).
    SmallVector<OpFoldResult> s5 = tensor::getMixedSizes(b, loc, g5);
    Value carry = identityF32(b, loc, {s5[0], s5[2], s5[3], s5[4]}, 2, 3);
    auto scan = RotationScanOp::create(
        b, loc, TypeRange{g5.getType(), carry.getType()}, g5,
        emptyLike(b, loc, g5, b.getF32Type()), carry, /*exclusive=*/false);
    if (Attribute tiles = op->getAttr(kTilesAttr))
      scan->setAttr(kTilesAttr, tiles);
    Value p5 = scan.getP();
    // Back to the original shape.
    Value expanded = tensor::ExpandShapeOp::create(
        b, loc,
        cast<RankedTensorType>(cast<tensor::CollapseShapeOp>(g5.getDefiningOp())
                                   .getSrc()
                                   .getType()),
        p5, re,
        tensor::getMixedSizes(
            b, loc,
            cast<tensor::CollapseShapeOp>(g5.getDefiningOp()).getSrc()));
    auto expOp = cast<tensor::ExpandShapeOp>(
        cast<tensor::CollapseShapeOp>(g5.getDefiningOp())
            .getSrc()
            .getDefiningOp());
    Value result = tensor::CollapseShapeOp::create(
        b, loc, gt, expanded, expOp.getReassociationIndices());
    rewriter.replaceOp(op, castTo(b, loc, result, op.getType()));
    return success();
  }
};


/// hdd_rope with P [B,T,H,C,c,c]: y[.., m, p] = Σ_q P[.., m, p, q]·x[.., m, q].
struct LowerHDDRopeP : OpRewritePattern<HDDRopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.isFused())
      return failure();
    int64_t c = op.getChunkSize();
    if (ShapedType::isDynamic(c))
      return rewriter.notifyMatchFailure(op, "needs a static chunk size");
    rewriter.replaceOp(op, applyChunkRotations(rewriter, op.getLoc(), op.getX(),
                                               op.getRotation(), c,
                                               op.getInverse()));
    return success();
  }
};

} // namespace

namespace {
/// Fused hdd_rope, Givens form -> rotary.hdd_rope_lanes on the lane views of
/// x [B, T, H·D] and of the angles [B, T, H·C·k] (laneRowsReassociation):
/// every (h, chunk) of a token is a lane. No lanes per task here: the
/// target's schedule records them on the structured op.
LogicalResult convertFusedToLanes(HDDRopeOp op, PatternRewriter &rewriter) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  Value x4 = op.getX();
  auto xType = cast<RankedTensorType>(x4.getType());
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x4);
  Value x =
      tensor::CollapseShapeOp::create(b, loc, x4, laneRowsReassociation());
  Value angles = tensor::CollapseShapeOp::create(b, loc, op.getRotation(),
                                                 laneAnglesReassociation());
  Value init = emptyLike(b, loc, x, xType.getElementType());
  auto lanes = HDDRopeLanesOp::create(
      b, loc, init.getType(), x, angles, indexConst(b, loc, 0), init,
      b.getI64IntegerAttr(*op.getChunk()), op.getInverseAttr(),
      SOFormAttr::get(op.getContext(), *op.getForm()));
  // Lanes recorded on the op itself (for experiments) stay the op's.
  if (Attribute tiles = op->getAttr(kTilesAttr))
    lanes->setAttr(kTilesAttr, tiles);
  rewriter.replaceOp(
      op, tensor::ExpandShapeOp::create(b, loc, xType, lanes.getResult(),
                                        laneRowsReassociation(), xs));
  return success();
}

/// A block of rotary.hdd_rope_lanes (any batch entries and lanes; the CPU
/// schedule tiles it to one batch entry and `lanes` lanes): per batch entry
/// and group of at most `lanes` lanes, a scan over T whose step is a loop
/// over the group's lanes: cos and sin of the lane's angles (a branch-free
/// polynomial, no libm call), P_t = P_{t-1}·G_t, y = P_t·x (P_tᵀ·x for the
/// inverse). What a lane's step looks like depends on c (GivensLanes): for
/// small chunks the lane loop carries no dependence from one lane to the
/// next and its accesses are unit-stride (P) or interleaved groups of
/// constant stride (x and y with c, the angles with c(c-1)/2), so LLVM
/// vectorises it with one lane per vector element. The scan over T stays
/// sequential.
struct DecomposeHDDRopeLanes : OpRewritePattern<HDDRopeLanesOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeLanesOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunk();
    FailureOr<std::unique_ptr<GivensLanes>> layout =
        givensLanes(b, op, c, op.getInverse(), op.getForm(), op.getAngles());
    if (failed(layout))
      return failure();
    std::unique_ptr<GivensLanes> lanes = std::move(*layout);
    Value x = op.getX();
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    OpFoldResult tLen = tensor::getMixedSize(b, loc, op.getInit(), 1);
    SmallVector<Value> results = forEachLaneGroup(
        b, loc, op.getInit(), op.getFirstLane(), {c}, lanes->lanes,
        [&](const LaneGroup &group, ValueRange blocks) {
          // The scan writes the group's features of every token in place.
          Value first = group.first;
          SmallVector<Value> init = {lanes->matrices(b, loc, /*identity=*/true),
                                     blocks[0]};
          llvm::append_range(init, lanes->scratch(b, loc, /*backward=*/false));
          auto scan = scf::ForOp::create(
              b, loc, zero, getValueOrCreateConstantIndexOp(b, loc, tLen), one,
              init);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(scan.getBody());
          Value t = scan.getInductionVar();
          auto step = scf::ForOp::create(b, loc, zero, group.n, one,
                                         scan.getRegionIterArgs());
          scf::YieldOp::create(b, loc, step.getResults());
          b.setInsertionPointToStart(step.getBody());
          Value m = step.getInductionVar();
          GivensLanes::Step s{group.bi, t, m,
                              arith::AddIOp::create(b, loc, first, m)};
          SmallVector<Value> it(step.getRegionIterArgs());
          lanes->forward(b, loc, s, x, it[0], &it[1],
                         MutableArrayRef<Value>(it).drop_front(2));
          scf::YieldOp::create(b, loc, it);
          return SmallVector<Value>{scan.getResult(1)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Fused hdd_rope (angles): rotary.hdd_rope_lanes (convertFusedToLanes) for
/// the Givens form and the exp form with c ≤ kMaxExpChunk; a larger exp
/// form runs unfused.
struct LowerHDDRopeFused : OpRewritePattern<HDDRopeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HDDRopeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.isFused())
      return failure();
    int64_t c = *op.getChunk();
    if (op.isFusedGivens() || c <= kMaxExpChunk)
      return convertFusedToLanes(op, rewriter);
    // An exp-form P too large to unroll per lane: generator, scan, apply.
    Value g = SOGeneratorOp::create(rewriter, op.getLoc(), op.getRotation(), c,
                                    SOForm::exp);
    Value p = CumulativeRotationOp::create(rewriter, op.getLoc(), g);
    rewriter.replaceOpWithNewOp<HDDRopeOp>(op, op.getX(), p, op.getInverse());
    return success();
  }
};
} // namespace

namespace {
/// The c×c matrix of `v` ([A, T, Bm, c, c] or a carry [A, Bm, c, c]) at the
/// leading indices `lead`, and its insertion back.
Value matrixAt(OpBuilder &b, Location loc, Value v, ValueRange lead,
               int64_t c) {
  SmallVector<OpFoldResult> offs = getAsOpFoldResult(lead);
  SmallVector<OpFoldResult> sizes(lead.size(), b.getIndexAttr(1));
  offs.append(2, b.getIndexAttr(0));
  sizes.append(2, b.getIndexAttr(c));
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({c, c}, b.getF32Type()), v, offs, sizes,
      SmallVector<OpFoldResult>(offs.size(), b.getIndexAttr(1)));
}
Value insertMatrixAt(OpBuilder &b, Location loc, Value m, Value v,
                     ValueRange lead, int64_t c) {
  SmallVector<OpFoldResult> offs = getAsOpFoldResult(lead);
  SmallVector<OpFoldResult> sizes(lead.size(), b.getIndexAttr(1));
  offs.append(2, b.getIndexAttr(0));
  sizes.append(2, b.getIndexAttr(c));
  return tensor::InsertSliceOp::create(
      b, loc, m, v, offs, sizes,
      SmallVector<OpFoldResult>(offs.size(), b.getIndexAttr(1)));
}

/// One column (a, bm) of a rotation_scan tile whose c is too large to
/// unroll: one small product per step (so the IR does not grow with c³)
/// between two c×c scratch matrices carried through the loop, the running
/// product S (from the carry) and the step's N = S·G_t, copied back into S
/// and into the result's slice t. Written straight into the result's
/// slices instead (reading slice t − 1, writing slice t), bufferization
/// allocated at every step. Returns the new (p, carry).
SmallVector<Value> scanColumnLooped(OpBuilder &b, Location loc,
                                    RotationScanOp op, Value a, Value bm,
                                    Value p, Value carry) {
  int64_t c = op.getChunkSize();
  bool exclusive = op.getExclusive();
  Value g = op.getRotations();
  Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
  SmallVector<OpFoldResult> cc = {b.getIndexAttr(c), b.getIndexAttr(c)};
  Type f32 = b.getF32Type();
  Value running = copyInto(b, loc, matrixAt(b, loc, carry, {a, bm}, c),
                           emptyOf(b, loc, cc, f32));
  auto loop = scf::ForOp::create(
      b, loc, zero, dimOf(b, loc, g, 1), one,
      ValueRange{p, running, emptyOf(b, loc, cc, f32)},
      [&](OpBuilder &lb, Location l, Value t, ValueRange it) {
        SmallVector<Value> here = {a, t, bm};
        Value pt = it[0];
        // Exclusive: P_t is the product before step t.
        if (exclusive)
          pt = insertMatrixAt(lb, l, it[1], pt, here, c);
        Value next =
            matmulInto(lb, l, it[1], matrixAt(lb, l, g, here, c), it[2]);
        if (!exclusive)
          pt = insertMatrixAt(lb, l, next, pt, here, c);
        scf::YieldOp::create(
            lb, l, ValueRange{pt, copyInto(lb, l, next, it[1]), next});
      });
  Value out =
      copyInto(b, loc, loop.getResult(1), matrixAt(b, loc, carry, {a, bm}, c));
  return {loop.getResult(0), insertMatrixAt(b, loc, out, carry, {a, bm}, c)};
}

/// One tile of rotary.rotation_scan: per column (a, bm) of the tile, the
/// running product over its steps from the column's carry, in c² scalars
/// (c ≤ kMaxUnrolledChunk) or one small product per step (larger c).
struct DecomposeRotationScan : OpRewritePattern<RotationScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RotationScanOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    int64_t c = op.getChunkSize();
    bool exclusive = op.getExclusive();
    Value g = op.getRotations();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value cols = dimOf(b, loc, g, 2), steps = dimOf(b, loc, g, 1);
    auto outer = scf::ForOp::create(
        b, loc, zero, dimOf(b, loc, g, 0), one,
        ValueRange{op.getPInit(), op.getCarryInit()},
        [&](OpBuilder &ab, Location l, Value a, ValueRange aIter) {
          auto inner = scf::ForOp::create(
              ab, l, zero, cols, one, aIter,
              [&](OpBuilder &cb, Location cl, Value bm, ValueRange cIter) {
                if (c > kMaxUnrolledChunk) {
                  scf::YieldOp::create(
                      cb, cl,
                      scanColumnLooped(cb, cl, op, a, bm, cIter[0], cIter[1]));
                  return;
                }
                SmallVector<Value> iterInit = {cIter[0]};
                llvm::append_range(iterInit, loadMatrix(cb, cl, cIter[1],
                                                        ValueRange{a, bm}, c));
                auto scan = scf::ForOp::create(
                    cb, cl, zero, steps, one, iterInit,
                    [&](OpBuilder &sb, Location sl, Value t, ValueRange it) {
                      SmallVector<Value> cur(it.drop_front());
                      SmallVector<Value> at = {a, t, bm};
                      Value p = it[0];
                      if (exclusive)
                        p = storeMatrix(sb, sl, p, at, c, cur);
                      SmallVector<Value> next =
                          matmul(sb, sl, c, cur, loadMatrix(sb, sl, g, at, c));
                      if (!exclusive)
                        p = storeMatrix(sb, sl, p, at, c, next);
                      SmallVector<Value> yields = {p};
                      llvm::append_range(yields, next);
                      scf::YieldOp::create(sb, sl, yields);
                    });
                SmallVector<Value> total(scan.getResults().drop_front());
                scf::YieldOp::create(
                    cb, cl,
                    ValueRange{scan.getResult(0),
                               storeMatrix(cb, cl, cIter[1], ValueRange{a, bm},
                                           c, total)});
              });
          scf::YieldOp::create(ab, l, inner.getResults());
        });
    rewriter.replaceOp(op, outer.getResults());
    return success();
  }
};
} // namespace

LogicalResult hdd::splitScan(RewriterBase &rewriter, RotationScanOp op,
                             int64_t block) {
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  rewriter.setInsertionPoint(op);
  Value g = op.getRotations();
  int64_t c = op.getChunkSize();
  SmallVector<OpFoldResult> s5 = tensor::getMixedSizes(b, loc, g);
  Value steps = getValueOrCreateConstantIndexOp(b, loc, s5[1]);
  Value blk = arith::ConstantIndexOp::create(b, loc, block);
  Value numBlocks = arith::CeilDivUIOp::create(b, loc, steps, blk);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               cc = b.getIndexAttr(c);
  Type f32 = b.getF32Type();

  // 1. Every block's products from the identity (exclusive or not, as the
  //    op), one task per (a, block, bm); a block's total is its carry.
  SmallVector<OpFoldResult> totalSizes = {s5[0], getAsOpFoldResult(numBlocks),
                                          s5[2], cc, cc};
  Value identity = identityF32(b, loc, {s5[0], s5[2], cc, cc}, 2, 3);
  auto blocks = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(3, zero),
      SmallVector<OpFoldResult>{s5[0], getAsOpFoldResult(numBlocks), s5[2]},
      SmallVector<OpFoldResult>(3, one),
      ValueRange{emptyLike(b, loc, g, f32), emptyOf(b, loc, totalSizes, f32)},
      std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(blocks.getBody());
    Value a = blocks.getInductionVar(0), k = blocks.getInductionVar(1),
          bm = blocks.getInductionVar(2);
    Value start = arith::MulIOp::create(b, loc, k, blk);
    Value len = arith::SubIOp::create(
        b, loc,
        arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, start, blk), steps),
        start);
    SmallVector<OpFoldResult> offs = {a, start, bm, zero, zero};
    SmallVector<OpFoldResult> sizes = {one, len, one, cc, cc};
    SmallVector<OpFoldResult> strides(5, one);
    auto slice = [&](Value v, ArrayRef<OpFoldResult> o,
                     ArrayRef<OpFoldResult> sz) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc, v, o, sz, SmallVector<OpFoldResult>(o.size(), one));
    };
    ValueRange shared = blocks.getRegionIterArgs();
    Value local = slice(shared[0], offs, sizes);
    auto scan = RotationScanOp::create(
        b, loc,
        TypeRange{local.getType(), RankedTensorType::get({1, 1, c, c}, f32)},
        slice(g, offs, sizes), local,
        slice(identity, {a, bm, zero, zero}, {one, one, cc, cc}),
        op.getExclusive());
    b.setInsertionPointToStart(blocks.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, scan.getP(), shared[0], offs,
                                          sizes, strides);
    tensor::ParallelInsertSliceOp::create(b, loc, scan.getCarry(), shared[1],
                                          {a, k, bm, zero, zero},
                                          {one, one, one, cc, cc}, strides);
  }

  // 2. The carry into each block: the exclusive scan of the totals from the
  //    op's carry, parallel over (a, bm); its carry is the op's.
  Value totals = blocks.getResult(1);
  auto carries = RotationScanOp::create(
      b, loc, TypeRange{totals.getType(), op.getCarryInit().getType()}, totals,
      emptyLike(b, loc, totals, f32), op.getCarryInit(), /*exclusive=*/true);
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(ctx, {1, 0, 1}));
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(carries.getOperation()), options);
  if (failed(tiled))
    return carries->emitOpError("could not be tiled by [1, 0, 1]");
  rewriter.replaceOp(carries, tiled->replacements);
  Value carryIn = tiled->replacements[0];

  // 3. P_t = carry[t floordiv block]·local_t, a batched c×c product.
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  // Loops (a, t, bm, p, q, k).
  AffineExpr blockOf = d(1).floorDiv(block);
  Value out = linalg::FillOp::create(b, loc,
                                     ValueRange{arith::ConstantOp::create(
                                         b, loc, b.getF32FloatAttr(0.0f))},
                                     ValueRange{op.getPInit()})
                  .getResult(0);
  Value p = multiplyAccumulate(
      b, loc, carryIn, blocks.getResult(0), out,
      {AffineMap::get(6, 0, {d(0), blockOf, d(2), d(3), d(5)}, ctx),
       AffineMap::get(6, 0, {d(0), d(1), d(2), d(5), d(4)}, ctx),
       AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx)});
  rewriter.replaceOp(op, {p, tiled->replacements[1]});
  return success();
}

void lowering::populateHDDPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSOGenerator, LowerCumulativeRotation, LowerHDDRopeP,
               LowerHDDRopeFused>(patterns.getContext());
}

void lowering::populateHDDDecompositionPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeHDDRopeLanes, DecomposeRotationScan>(
      patterns.getContext());
}
