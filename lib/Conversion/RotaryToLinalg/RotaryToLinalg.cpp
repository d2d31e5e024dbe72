//===- RotaryToLinalg.cpp - the convert-rotary-to-linalg pass -------------===//

#include "AttentionTiles.h"
#include "ChainCommon.h"
#include "HDDCommon.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/DialectConversion.h"

namespace rotary {
#define GEN_PASS_DEF_CONVERTROTARYTOLINALG
#include "rotary/Conversion/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

FailureOr<SmallVector<int64_t>>
lowering::recordedTiles(Operation *op, ArrayRef<StringRef> fields,
                        StringRef what, StringRef form) {
  auto tiles = op->getAttrOfType<DictionaryAttr>(kTilesAttr);
  SmallVector<int64_t> sizes;
  for (StringRef name : fields) {
    auto v = tiles ? tiles.getAs<IntegerAttr>(name) : IntegerAttr();
    if (!v || v.getInt() <= 0)
      return op->emitOpError()
             << "needs its " << what << ", '" << kTilesAttr << "' = " << form
             << ", chosen by a target's schedule (rotary-cpu-configure for "
                "the CPU) before rotary-tile-and-decompose";
    sizes.push_back(v.getInt());
  }
  return sizes;
}

Value lowering::castFloat(OpBuilder &b, Location loc, Value v, Type to) {
  // `to` is an element type; a vector is cast lane by lane.
  Type from = getElementTypeOrSelf(v.getType());
  if (from == to)
    return v;
  auto like = [&](Type elt) -> Type {
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      return VectorType::get(vt.getShape(), elt);
    return elt;
  };
  unsigned fromWidth = cast<FloatType>(from).getWidth(),
           toWidth = cast<FloatType>(to).getWidth();
  if (fromWidth < toWidth)
    return arith::ExtFOp::create(b, loc, like(to), v);
  // f64 to a 16-bit type through f32: the direct truncation is a libcall
  // (__truncdfbf2) that the kernels are not linked with.
  if (fromWidth > 32 && toWidth < 32)
    v = arith::TruncFOp::create(b, loc, like(b.getF32Type()), v);
  return arith::TruncFOp::create(b, loc, like(to), v);
}

std::pair<Value, Value> lowering::rotatePair(OpBuilder &b, Location loc,
                                             Value xi, Value xj, Value cs,
                                             Value sn) {
  Value yi =
      arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, xi, cs),
                            arith::MulFOp::create(b, loc, xj, sn));
  Value yj =
      arith::SubFOp::create(b, loc, arith::MulFOp::create(b, loc, xj, cs),
                            arith::MulFOp::create(b, loc, xi, sn));
  return {yi, yj};
}

Value lowering::positionToF64(OpBuilder &b, Location loc, Value p) {
  if (isa<FloatType>(p.getType()))
    return castFloat(b, loc, p, b.getF64Type());
  return arith::SIToFPOp::create(b, loc, b.getF64Type(), p);
}

Value lowering::contractRows(OpBuilder &b, Location loc, Value x, Value mat,
                             bool perHead, Value into) {
  SmallVector<OpFoldResult> xs = tensor::getMixedSizes(b, loc, x),
                            ms = tensor::getMixedSizes(b, loc, mat);
  SmallVector<OpFoldResult> accSizes = {xs[0]};
  if (perHead)
    accSizes.push_back(ms[0]);
  accSizes.push_back(ms.back());
  Value acc =
      into
          ? linalg::FillOp::create(b, loc, f32c(b, loc, 0.0), into).getResult(0)
          : zerosF32(b, loc, accSizes);
  return accumulateRows(b, loc, x, mat, acc, perHead);
}

Value lowering::accumulateRows(OpBuilder &b, Location loc, Value x, Value mat,
                               Value acc, bool perHead) {
  MLIRContext *ctx = b.getContext();
  // Loops (m, [h,] d, e) with d reduced: the output dim innermost,
  // contiguous in R and y.
  int64_t loops = perHead ? 4 : 3;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineExpr mE = dim(0), hE = dim(1), dE = dim(loops - 2), eE = dim(loops - 1);
  SmallVector<AffineExpr> xMap = {mE}, rMap, oMap = {mE};
  if (perHead) {
    xMap.push_back(hE);
    rMap.push_back(hE);
    oMap.push_back(hE);
  }
  xMap.push_back(dE);
  rMap.append({dE, eE});
  oMap.push_back(eE);
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters[loops - 2] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{x, mat},
             ValueRange{acc},
             SmallVector<AffineMap>{AffineMap::get(loops, 0, xMap, ctx),
                                    AffineMap::get(loops, 0, rMap, ctx),
                                    AffineMap::get(loops, 0, oMap, ctx)},
             iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value prod = arith::MulFOp::create(nb, l, toF32(nb, l, a[0]),
                                                  toF32(nb, l, a[1]));
               linalg::YieldOp::create(
                   nb, l, Value(arith::AddFOp::create(nb, l, a[2], prod)));
             })
      .getResult(0);
}

Value lowering::kroneckerDelta(OpBuilder &b, Location loc, Value i, Value j) {
  Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, i, j);
  Value one = f32c(b, loc, 1.0);
  Value zero = f32c(b, loc, 0.0);
  return arith::SelectOp::create(b, loc, same, one, zero);
}

Value lowering::emptyOf(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, Type elt) {
  return tensor::EmptyOp::create(b, loc, sizes, elt);
}

Value lowering::emptyLike(OpBuilder &b, Location loc, Value like, Type elt) {
  return emptyOf(b, loc, tensor::getMixedSizes(b, loc, like), elt);
}

Value lowering::floatConst(OpBuilder &b, Location loc, Type type, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
}

Value lowering::f32c(OpBuilder &b, Location loc, double v) {
  return floatConst(b, loc, b.getF32Type(), v);
}

Value lowering::convertTensor(OpBuilder &b, Location loc, Value v, Type elt) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == elt)
    return v;
  return elementwise(b, loc, v, emptyLike(b, loc, v, elt), type.getRank(),
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       linalg::YieldOp::create(nb, l,
                                               castFloat(nb, l, a[0], elt));
                     })
      .getResult(0);
}

Value lowering::castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return tensor::CastOp::create(b, loc, type, v).getResult();
}

Value lowering::zerosOf(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, Type elt) {
  Value empty = emptyOf(b, loc, sizes, elt);
  return linalg::FillOp::create(b, loc, floatConst(b, loc, elt, 0.0), empty)
      .getResult(0);
}

Value lowering::zerosF32(OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes) {
  return zerosOf(b, loc, sizes, b.getF32Type());
}

RankedTensorType lowering::sliceType(ArrayRef<OpFoldResult> sizes,
                                     ArrayRef<int64_t> dropped, Type elt) {
  SmallVector<int64_t> shape;
  for (auto [i, s] : llvm::enumerate(sizes))
    if (!llvm::is_contained(dropped, static_cast<int64_t>(i)))
      shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elt);
}

Value lowering::dimOf(OpBuilder &b, Location loc, Value v, int64_t i) {
  return getValueOrCreateConstantIndexOp(b, loc,
                                         tensor::getMixedSizes(b, loc, v)[i]);
}

Value lowering::collapseLeading(OpBuilder &b, Location loc, Value v,
                                int64_t keep) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t rank = t.getRank();
  if (rank == keep) {
    // Add a unit leading dim.
    SmallVector<int64_t> shape = {1};
    llvm::append_range(shape, t.getShape());
    SmallVector<ReassociationIndices> re;
    re.push_back({0, 1});
    for (int64_t i = 1; i < keep; ++i)
      re.push_back({i + 1});
    if (keep == 0)
      re = {};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    llvm::append_range(sizes, tensor::getMixedSizes(b, loc, v));
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), v, re, sizes);
  }
  SmallVector<ReassociationIndices> re;
  ReassociationIndices lead;
  for (int64_t i = 0; i <= rank - keep - 1; ++i)
    lead.push_back(i);
  re.push_back(lead);
  for (int64_t i = rank - keep; i < rank; ++i)
    re.push_back({i});
  return tensor::CollapseShapeOp::create(b, loc, v, re);
}

Value lowering::expandLeading(OpBuilder &b, Location loc, Value v,
                              ArrayRef<OpFoldResult> leading, int64_t keep) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> sizes(leading);
  SmallVector<OpFoldResult> rest = tensor::getMixedSizes(b, loc, v);
  for (int64_t i = 1; i <= keep; ++i)
    sizes.push_back(rest[i]);
  SmallVector<int64_t> shape;
  SmallVector<Value> dyn;
  dispatchIndexOpFoldResults(sizes, dyn, shape);
  auto type = RankedTensorType::get(shape, t.getElementType());
  int64_t lead = leading.size();
  if (lead == 0) // the unit dim added by collapseLeading
    return tensor::CollapseShapeOp::create(
        b, loc, type, v, keep == 0 ? SmallVector<ReassociationIndices>{} : [&] {
          SmallVector<ReassociationIndices> re = {{0, 1}};
          for (int64_t i = 1; i < keep; ++i)
            re.push_back({i + 1});
          return re;
        }());
  SmallVector<ReassociationIndices> re;
  ReassociationIndices first;
  for (int64_t i = 0; i < lead; ++i)
    first.push_back(i);
  re.push_back(first);
  for (int64_t i = 0; i < keep; ++i)
    re.push_back({lead + i});
  return tensor::ExpandShapeOp::create(b, loc, type, v, re, sizes);
}

linalg::GenericOp lowering::elementwise(
    OpBuilder &b, Location loc, ValueRange inputs, ValueRange outputs,
    int64_t rank, function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : llvm::concat<const Value>(inputs, outputs)) {
    int64_t r = cast<RankedTensorType>(v.getType()).getRank();
    maps.push_back(r == 0 ? AffineMap::get(rank, 0, {}, ctx)
                          : AffineMap::getMultiDimIdentityMap(rank, ctx));
  }
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(outputs.getTypes());
  return linalg::GenericOp::create(b, loc, resultTypes, inputs, outputs, maps,
                                   iters, body);
}

SmallVector<Value> lowering::forEachIndex(
    OpBuilder &b, Location loc, OpFoldResult n, ValueRange inits,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  if (isConstantIntValue(n, 1))
    return body(indexConst(b, loc, 0), inits);
  auto loop = scf::ForOp::create(b, loc, indexConst(b, loc, 0),
                                 getValueOrCreateConstantIndexOp(b, loc, n),
                                 indexConst(b, loc, 1), inits);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  scf::YieldOp::create(b, loc,
                       body(loop.getInductionVar(), loop.getRegionIterArgs()));
  return SmallVector<Value>(loop.getResults());
}

Value lowering::identityF32(OpBuilder &b, Location loc,
                            ArrayRef<OpFoldResult> sizes, int64_t i,
                            int64_t j) {
  return elementwise(
             b, loc, ValueRange{},
             ValueRange{emptyOf(b, loc, sizes, b.getF32Type())}, sizes.size(),
             [&](OpBuilder &nb, Location l, ValueRange) {
               Value diag =
                   arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                         linalg::IndexOp::create(nb, l, i),
                                         linalg::IndexOp::create(nb, l, j));
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::SelectOp::create(nb, l, diag, f32c(nb, l, 1.0),
                                                 f32c(nb, l, 0.0))));
             })
      .getResult(0);
}

FailureOr<int64_t> lowering::chainRowsPerGroup(Operation *op) {
  FailureOr<SmallVector<int64_t>> sizes =
      recordedTiles(op, {"rows"}, "rows per group", "{rows = W} with W > 0");
  if (failed(sizes))
    return failure();
  return sizes->front();
}

bool lowering::hasTile(Operation *op, StringRef name) {
  auto tiles = op->getAttrOfType<DictionaryAttr>(kTilesAttr);
  return tiles && tiles.contains(name);
}

OpFoldResult lowering::groupCount(OpBuilder &b, Location loc, Value v,
                                  int64_t dim, int64_t per, int64_t width) {
  FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
      presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(v, dim),
      /*stopCondition=*/nullptr, /*closedUB=*/true);
  if (succeeded(bound) && *bound <= width * per)
    return b.getIndexAttr(1);
  Value items = b.createOrFold<arith::DivUIOp>(loc, dimOf(b, loc, v, dim),
                                               indexConst(b, loc, per));
  return getAsOpFoldResult(b.createOrFold<arith::CeilDivUIOp>(
      loc, items, indexConst(b, loc, width)));
}

void rotary::populateRotaryToLinalgPatterns(RewritePatternSet &patterns,
                                            const LoweringOptions &options) {
  populateRopePatterns(patterns);
  populateRopeGradPatterns(patterns);
  populateChainPatterns(patterns, options.chains);
  populateOrthogonalPatterns(patterns);
  populateChainGradPatterns(patterns, options.gradChains);
  populateElementwisePatterns(patterns);
  populateFamPatterns(patterns);
  populateHDDPatterns(patterns);
  populateHDDGradPatterns(patterns, options.hddScan);
  populateAttentionPatterns(patterns);
  populateAttentionGradPatterns(patterns);
}

namespace {
/// Sizes the verifier leaves open but the kernels are specialised to: the
/// chunk size c of the P form of hdd_rope and of cumulative_rotation (their
/// c x c products are unrolled). Reported here, with the reason, instead of
/// as a failure to legalize.
LogicalResult checkStaticChunk(Operation *op) {
  auto report = [&](StringRef operand, StringRef dims) {
    return op->emitOpError()
           << "cannot be compiled with a dynamic chunk size: " << dims
           << " of operand '" << operand
           << "' (c x c) must be static, because the kernels are specialised "
              "to c";
  };
  if (auto hdd = dyn_cast<HDDRopeOp>(op))
    if (ShapedType::isDynamic(hdd.getChunkSize()))
      return report("rotation", "dimension 4 or 5");
  if (auto grad = dyn_cast<HDDRopeGradOp>(op))
    if (ShapedType::isDynamic(grad.getChunkSize()))
      return report("rotation", "dimension 4 or 5");
  if (auto scan = dyn_cast<CumulativeRotationOp>(op))
    if (ShapedType::isDynamic(scan.getChunkSize()))
      return report("rotations", "one of the last two dimensions");
  if (auto grad = dyn_cast<CumulativeRotationGradOp>(op))
    if (ShapedType::isDynamic(grad.getChunkSize()))
      return report("rotations", "one of the last two dimensions");
  return success();
}

struct ConvertRotaryToLinalgPass
    : rotary::impl::ConvertRotaryToLinalgBase<ConvertRotaryToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    LoweringOptions options;
    for (auto [name, text, into] :
         {std::tuple{"chain-strategy", &chainStrategy, &options.chains},
          std::tuple{"chain-grad-strategy", &chainGradStrategy,
                     &options.gradChains}}) {
      std::optional<ChainStrategy> chains = parseChainStrategy(*text);
      if (!chains) {
        getOperation()->emitError()
            << "convert-rotary-to-linalg: option '" << name
            << "' must be auto, chain or fold, but got '" << *text << "'";
        return signalPassFailure();
      }
      *into = *chains;
    }
    if (hddStrategy != "lanes" && hddStrategy != "scan") {
      getOperation()->emitError()
          << "convert-rotary-to-linalg: option 'hdd-strategy' must be lanes "
             "or scan, but got '"
          << hddStrategy << "'";
      return signalPassFailure();
    }
    options.hddScan = hddStrategy == "scan";
    WalkResult unsupported = getOperation()->walk([](Operation *op) {
      return failed(checkStaticChunk(op)) ? WalkResult::interrupt()
                                          : WalkResult::advance();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();
    // rotation_block is lowered as one fused kernel (LowerChains.cpp).
    RewritePatternSet patterns(ctx);
    populateRotaryToLinalgPatterns(patterns, options);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<RotaryDialect>();
    // The structured level, which rotary-tile-and-decompose lowers after a
    // target's schedule has recorded its tiles.
    target.addLegalOp<OnlineAttentionOp, OnlineAttentionQueryGradOp,
                      OnlineAttentionKeyGradOp, HDDRopeLanesOp,
                      HDDRopeLanesGradOp, GivensRowsOp, GivensRowsGradOp,
                      RopeTokensGradOp, RotationScanOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
