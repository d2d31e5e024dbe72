//===- HDDBlocks.cpp - building blocks of the HDD-RoPE lowerings ----------===//
//
// The pieces the forward and gradient lowerings of so_generator,
// cumulative_rotation and hdd_rope share (HDDCommon.h): the generator's
// rotation pairs, the exp of a skew matrix by scaling and squaring of a
// degree-12 Taylor series (unrolled for c ≤ kMaxExpChunk, batched c×c
// products above), slices of c×c matrices, and small products.
//
//===----------------------------------------------------------------------===//

#include "HDDCommon.h"

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

void hdd::applyGenerator(OpBuilder &b, Location loc, int64_t c,
                         ArrayRef<Value> cs, ArrayRef<Value> sn,
                         SmallVectorImpl<Value> &m) {
  applyGenerator(
      b, loc, c,
      [&](int64_t k) {
        return std::pair<Value, Value>{cs[k], sn[k]};
      },
      m);
}

/// Each rotation mixes two columns of every row (of the R·c scalars).
void hdd::applyGenerator(OpBuilder &b, Location loc, int64_t c, GivensTrig trig,
                         SmallVectorImpl<Value> &m) {
  int64_t rows = int64_t(m.size()) / c;
  for (auto [k, pq] : llvm::enumerate(generatorPairs(c))) {
    auto [i, j] = pq;
    auto [cs, sn] = trig(k);
    for (int64_t r = 0; r < rows; ++r)
      std::tie(m[r * c + i], m[r * c + j]) =
          rotatePair(b, loc, m[r * c + i], m[r * c + j], cs, sn);
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
  // x may be R×c rows (R < c) when not transposed.
  int64_t rows = transposeX ? c : int64_t(x.size()) / c;
  SmallVector<Value> z;
  for (int64_t r = 0; r < rows; ++r)
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
  SmallVector<Value> xs = scaled(x),
                     es = frechet ? scaled(e) : SmallVector<Value>();
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
        SmallVector<Value> a(iter.take_front(c * c)),
            bb(iter.drop_front(c * c));
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
  return narrowed(b, loc,
                  expAndFrechet(b, loc, c,
                                skewMatrix(b, loc, c, a, /*negate=*/false), {},
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
  return givensAdjoint(
      b, loc, c,
      [&](int64_t k) {
        return std::pair<Value, Value>{cs[k], sn[k]};
      },
      g, gBar);
}

SmallVector<Value> hdd::givensAdjoint(OpBuilder &b, Location loc, int64_t c,
                                      GivensTrig trig, ArrayRef<Value> g,
                                      ArrayRef<Value> gBar,
                                      function_ref<void(int64_t, Value)> emit) {
  SmallVector<std::pair<int64_t, int64_t>> pairs = generatorPairs(c);
  int64_t numAngles = pairs.size();
  SmallVector<Value> aBar(numAngles);
  // Every row of G is e_r pushed through the chain. Walk it backwards from
  // G: with y the rotation's outputs and ȳ their gradient,
  // φ̄_k = Σ_r ȳ_i·y_j − ȳ_j·y_i (Math §2 written with the outputs); then
  // undo the rotation on the values and the gradients alike.
  SmallVector<Value> rows(g), grads(gBar);
  int64_t numRows = int64_t(g.size()) / c;
  for (int64_t k = numAngles - 1; k >= 0; --k) {
    auto [i, j] = pairs[k];
    Value acc = f32c(b, loc, 0.0);
    for (int64_t r = 0; r < numRows; ++r)
      acc = arith::AddFOp::create(
          b, loc, acc,
          arith::SubFOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, grads[r * c + i], rows[r * c + j]),
              arith::MulFOp::create(b, loc, grads[r * c + j],
                                    rows[r * c + i])));
    aBar[k] = acc;
    if (emit)
      emit(k, acc);
    if (k == 0)
      break;
    auto [cs, sn] = trig(k);
    Value negSn = arith::NegFOp::create(b, loc, sn);
    for (int64_t r = 0; r < numRows; ++r) {
      std::tie(rows[r * c + i], rows[r * c + j]) =
          rotatePair(b, loc, rows[r * c + i], rows[r * c + j], cs, negSn);
      std::tie(grads[r * c + i], grads[r * c + j]) =
          rotatePair(b, loc, grads[r * c + i], grads[r * c + j], cs, negSn);
    }
  }
  return aBar;
}

std::pair<Value, Value> hdd::cosSinTables(OpBuilder &b, Location loc,
                                          Value angles) {
  auto type = cast<RankedTensorType>(angles.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, angles);
  Type f32 = b.getF32Type();
  auto trig = elementwise(
      b, loc, ValueRange{angles},
      ValueRange{emptyOf(b, loc, sizes, f32), emptyOf(b, loc, sizes, f32)},
      type.getRank(), [&](OpBuilder &nb, Location l, ValueRange v) {
        Value a = toF32(nb, l, v[0]);
        linalg::YieldOp::create(nb, l,
                                ValueRange{math::CosOp::create(nb, l, a),
                                           math::SinOp::create(nb, l, a)});
      });
  return {trig.getResult(0), trig.getResult(1)};
}

Value hdd::givensRowTasks(OpBuilder &b, Location loc, Value angles, int64_t c,
                          int64_t width, GivensRowBody body) {
  Type f32 = b.getF32Type();
  OpFoldResult m = tensor::getMixedSizes(b, loc, angles)[0];
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               ww = b.getIndexAttr(width);
  // Plain values, not a structured binding: the lambdas below capture them.
  Value cosT, sinT;
  std::tie(cosT, sinT) = cosSinTables(b, loc, angles);
  auto rows = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>(2, zero),
      SmallVector<OpFoldResult>{m, b.getIndexAttr(c)},
      SmallVector<OpFoldResult>(2, one),
      ValueRange{emptyOf(b, loc, {m, b.getIndexAttr(c), ww}, f32)},
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rows.getBody());
  Value mi = rows.getInductionVar(0), r = rows.getInductionVar(1);
  SmallVector<OpFoldResult> offs = {mi, r, zero}, sizes = {one, one, ww},
                            strides(3, one);
  Value dst = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({width}, f32), rows.getRegionIterArgs()[0],
      offs, sizes, strides);
  // Each angle's cos and sin read where it is used, each value written as
  // soon as it is known: neither K pairs nor `width` results stay live.
  auto trig = [&](int64_t k) {
    Value at[] = {mi, indexConst(b, loc, k)};
    return std::pair<Value, Value>{tensor::ExtractOp::create(b, loc, cosT, at),
                                   tensor::ExtractOp::create(b, loc, sinT, at)};
  };
  auto write = [&](int64_t k, Value v) {
    dst = tensor::InsertOp::create(b, loc, v, dst,
                                   ValueRange{indexConst(b, loc, k)});
  };
  body(b, loc, mi, r, trig, write);
  b.setInsertionPointToStart(rows.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, dst, rows.getRegionIterArgs()[0], offs, sizes, strides);
  return rows.getResult(0);
}

Value hdd::givensByRows(OpBuilder &b, Location loc, Value angles, int64_t c) {
  return givensRowTasks(b, loc, angles, c, c,
                        [&](OpBuilder &tb, Location l, Value, Value r,
                            GivensTrig trig,
                            function_ref<void(int64_t, Value)> write) {
                          SmallVector<Value> row = identityRows(tb, l, c, r, 1);
                          applyGenerator(tb, l, c, trig, row);
                          for (auto [q, v] : llvm::enumerate(row))
                            write(q, v);
                        });
}

SmallVector<Value> hdd::identityRows(OpBuilder &b, Location loc, int64_t c,
                                     Value row0, int64_t rows) {
  SmallVector<Value> m;
  for (int64_t i = 0; i < rows; ++i) {
    Value r = arith::AddIOp::create(b, loc, row0, indexConst(b, loc, i));
    for (int64_t q = 0; q < c; ++q)
      m.push_back(arith::SelectOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, r,
                                indexConst(b, loc, q)),
          f32c(b, loc, 1.0), f32c(b, loc, 0.0)));
  }
  return m;
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
    SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0)),
        sz = sizes, st(r, b.getIndexAttr(1));
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
  auto type = cast<RankedTensorType>(m.getType());
  int64_t rows = type.getDimSize(type.getRank() - 2);
  if (ShapedType::isDynamic(rows))
    rows = c;
  SmallVector<Value> v;
  for (int64_t r = 0; r < rows; ++r)
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
  for (int64_t r = 0, rows = int64_t(v.size()) / c; r < rows; ++r)
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

Value hdd::multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
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

Value hdd::chunked(OpBuilder &b, Location loc, Value x, int64_t c,
                   SmallVectorImpl<OpFoldResult> *chunkedSizes) {
  auto xt = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x);
  OpFoldResult chunks = getAsOpFoldResult(b.createOrFold<arith::DivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, xs[3]),
      arith::ConstantIndexOp::create(b, loc, c)));
  SmallVector<OpFoldResult> sizes = {xs[0], xs[1], xs[2], chunks,
                                     b.getIndexAttr(c)};
  SmallVector<int64_t> shape;
  SmallVector<Value> dyn;
  dispatchIndexOpFoldResults(sizes, dyn, shape);
  if (chunkedSizes)
    chunkedSizes->assign(sizes.begin(), sizes.end());
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, xt.getElementType()), x,
      SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}}, sizes);
}

Value hdd::applyChunkRotations(OpBuilder &b, Location loc, Value x, Value p,
                               int64_t c, bool transposed) {
  MLIRContext *ctx = b.getContext();
  auto xt = cast<RankedTensorType>(x.getType());
  Type elt = xt.getElementType();
  SmallVector<OpFoldResult> x5Sizes;
  Value x5 = chunked(b, loc, x, c, &x5Sizes);
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

/// X·Y for n×n tensors, written into `dst` (zeroed first).
Value hdd::matmulInto(OpBuilder &b, Location loc, Value x, Value y, Value dst) {
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
static Value matmulNxN(OpBuilder &b, Location loc, Value x, Value y,
                       int64_t n) {
  return matmulInto(
      b, loc, x, y,
      emptyOf(b, loc, {b.getIndexAttr(n), b.getIndexAttr(n)}, b.getF64Type()));
}

/// `v` copied into `dst` (so a loop yields a value equivalent to its
/// iteration argument and bufferizes in place).
Value hdd::copyInto(OpBuilder &b, Location loc, Value v, Value dst) {
  return linalg::CopyOp::create(b, loc, ValueRange{v}, ValueRange{dst})
      .getResult(0);
}

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
    return elementwise(b, loc, ValueRange{},
                       ValueRange{emptyOf(b, loc, {nn, nn}, f64)}, 2,
                       [&](OpBuilder &nb, Location l, ValueRange) {
                         Value diag = arith::CmpIOp::create(
                             nb, l, arith::CmpIPredicate::eq,
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
