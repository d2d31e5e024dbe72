//===- RotaryOps.cpp - rotary op builders, type inference and syntax ------===//
//
// The verifiers are the ops' shape contracts, in RotaryContracts.cpp.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "Verifiers.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace rotary;
using namespace rotary::detail;

//===----------------------------------------------------------------------===//
// Round-robin schedule
//===----------------------------------------------------------------------===//

SmallVector<int64_t> rotary::roundRobinPairs(int64_t d, int64_t n) {
  SmallVector<int64_t> pairs;
  pairs.reserve(2 * n);
  int64_t m = d - 1;
  for (int64_t s = 0; s < m && static_cast<int64_t>(pairs.size()) < 2 * n;
       ++s) {
    auto add = [&](int64_t i, int64_t j) {
      if (static_cast<int64_t>(pairs.size()) < 2 * n) {
        pairs.push_back(std::min(i, j));
        pairs.push_back(std::max(i, j));
      }
    };
    add(s, d - 1);
    for (int64_t k = 1; k < d / 2; ++k)
      add((s + k) % m, ((s - k) % m + m) % m);
  }
  return pairs;
}

//===----------------------------------------------------------------------===//
// custom<Pairs>: [(i, j), ...]
//===----------------------------------------------------------------------===//

static ParseResult parsePairs(OpAsmParser &parser, DenseI64ArrayAttr &pairs) {
  SmallVector<int64_t> flat;
  auto parseOne = [&]() -> ParseResult {
    int64_t i, j;
    if (parser.parseLParen() || parser.parseInteger(i) || parser.parseComma() ||
        parser.parseInteger(j) || parser.parseRParen())
      return failure();
    flat.push_back(i);
    flat.push_back(j);
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, parseOne,
                                     " in the list of (i, j) pairs"))
    return failure();
  pairs = DenseI64ArrayAttr::get(parser.getContext(), flat);
  return success();
}

static void printPairs(OpAsmPrinter &p, Operation *, DenseI64ArrayAttr pairs) {
  ArrayRef<int64_t> flat = pairs.asArrayRef();
  p << "[";
  for (size_t k = 0; k + 1 < flat.size(); k += 2) {
    if (k)
      p << ", ";
    p << "(" << flat[k] << ", " << flat[k + 1] << ")";
  }
  // An odd trailing entry can only come from the generic form; the verifier
  // rejects it, but print it so the diagnostic shows what was given.
  if (flat.size() % 2)
    p << (flat.size() > 1 ? ", " : "") << "(" << flat.back() << ")";
  p << "]";
}

//===----------------------------------------------------------------------===//
// rotary.rope
//===----------------------------------------------------------------------===//

void RopeOp::build(OpBuilder &b, OperationState &state, Value x,
                   Value positions, const RopeOptions &options) {
  build(b, state, x.getType(), x, positions, options.invFreq, options.phase,
        options.scale, options.runtimeBase,
        RopeLayoutAttr::get(b.getContext(), options.layout),
        options.rotaryDim ? b.getI64IntegerAttr(*options.rotaryDim)
                          : IntegerAttr(),
        options.base ? b.getF32FloatAttr(*options.base) : FloatAttr(),
        options.inverse ? b.getUnitAttr() : UnitAttr(),
        options.xpos ? XPosRoleAttr::get(b.getContext(), *options.xpos)
                     : XPosRoleAttr(),
        options.xposScaleBase ? b.getF32FloatAttr(*options.xposScaleBase)
                              : FloatAttr(),
        options.xposGamma ? b.getF32FloatAttr(*options.xposGamma)
                          : FloatAttr());
}

int64_t RopeOp::getRotaryDimOrD() {
  if (auto r = getRotaryDim())
    return *r;
  return rtt(getX()).getDimSize(3);
}

//===----------------------------------------------------------------------===//
// rotary.inv_freq
//===----------------------------------------------------------------------===//

LogicalResult InvFreqOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange, DictionaryAttr,
    OpaqueProperties properties, RegionRange, SmallVectorImpl<Type> &inferred) {
  auto *props = properties.as<Properties *>();
  if (!props || !props->dim)
    return emitOptionalError(loc, "'rotary.inv_freq' op requires attribute "
                                  "'dim'");
  int64_t dim = props->dim.getInt();
  if (dim <= 0 || dim % 2 != 0)
    return emitOptionalError(loc,
                             "'rotary.inv_freq' op attribute 'dim' must be a "
                             "positive even number, but got ",
                             dim);
  inferred.push_back(RankedTensorType::get({dim / 2}, Float32Type::get(ctx)));
  return success();
}

LogicalResult InvFreqOp::verify() {
  ShapeRules rules(*this);
  int64_t dim = getDim();
  if (dim <= 0 || dim % 2 != 0)
    return emitOpError() << "attribute 'dim' must be a positive even number, "
                            "but got "
                         << dim;
  if (failed(verifyPositiveFinite(rules, "base", getBase().convertToFloat())))
    return failure();
  if (auto scales = getScales()) {
    if (scales->empty())
      return emitOpError() << "attribute 'scales' must not be empty";
    for (float s : *scales)
      if (failed(verifyPositiveFinite(rules, "scales", s)))
        return failure();
    int64_t groups = scales->size();
    if ((dim / 2) % groups != 0)
      return emitOpError() << "attribute 'scales' has " << groups
                           << " entries, which must divide dim / 2 = "
                           << dim / 2;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.givens
//===----------------------------------------------------------------------===//

int64_t GivensOp::getNumRotations() { return dimFromEnd(rtt(getAngles()), 1); }

FailureOr<SmallVector<int64_t>>
rotary::detail::effectivePairs(std::optional<ArrayRef<int64_t>> pairs, Value x,
                               Value angles) {
  if (pairs)
    return SmallVector<int64_t>(pairs->begin(), pairs->end());
  int64_t d = dimFromEnd(rtt(x), 1);
  int64_t n = dimFromEnd(rtt(angles), 1);
  if (isDyn(d) || isDyn(n) || n > kMaxMaterializedPairs)
    return failure();
  return roundRobinPairs(d, n);
}

FailureOr<SmallVector<int64_t>> GivensOp::getEffectivePairs() {
  return effectivePairs(getPairs(), getX(), getAngles());
}

//===----------------------------------------------------------------------===//
// rotary.orthogonal / rotary.orthogonality_penalty
//===----------------------------------------------------------------------===//

LogicalResult
OrthogonalOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                               ValueRange operands, DictionaryAttr attributes,
                               OpaqueProperties properties, RegionRange,
                               SmallVectorImpl<Type> &inferred) {
  auto x = dyn_cast<RankedTensorType>(operands[0].getType());
  auto m = dyn_cast<RankedTensorType>(operands[1].getType());
  if (!x || x.getRank() < 1)
    return emitOptionalError(loc, "'rotary.orthogonal' op operand 'x' must "
                                  "have shape [..., D] (rank >= 1)");
  if (!m || m.getRank() < 2)
    return emitOptionalError(loc, "'rotary.orthogonal' op operand 'matrix' "
                                  "must have shape [D, E] or [H, D, E]");
  // The custom parser infers types before attr-dict entries become
  // properties, so look in both places.
  auto *props = properties.as<Properties *>();
  bool transpose = (props && props->transpose) ||
                   (attributes && attributes.get("transpose"));
  SmallVector<int64_t> shape(x.getShape());
  shape.back() = m.getDimSize(m.getRank() - (transpose ? 2 : 1));
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.so_generator
//===----------------------------------------------------------------------===//

LogicalResult
SOGeneratorOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                ValueRange operands, DictionaryAttr,
                                OpaqueProperties properties, RegionRange,
                                SmallVectorImpl<Type> &inferred) {
  auto *props = properties.as<Properties *>();
  auto angles = dyn_cast<RankedTensorType>(operands[0].getType());
  if (!angles || angles.getRank() < 1)
    return emitOptionalError(loc, "'rotary.so_generator' op operand 'angles' "
                                  "must have shape [..., c(c-1)/2]");
  if (!props || !props->chunk)
    return emitOptionalError(loc, "'rotary.so_generator' op requires "
                                  "attribute 'chunk'");
  int64_t c = props->chunk.getInt();
  if (c < 2 || c > kMaxChunk)
    return emitOptionalError(loc,
                             "'rotary.so_generator' op attribute 'chunk' "
                             "must be in [2, ",
                             kMaxChunk, "], but got ", c);
  SmallVector<int64_t> shape(angles.getShape().drop_back());
  shape.append({c, c});
  inferred.push_back(RankedTensorType::get(shape, Float32Type::get(ctx)));
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.hdd_rope
//===----------------------------------------------------------------------===//

void HDDRopeOp::build(OpBuilder &b, OperationState &state, Value x,
                      Value rotations, bool inverse) {
  build(b, state, x.getType(), x, rotations, IntegerAttr(), SOFormAttr(),
        inverse ? b.getUnitAttr() : UnitAttr());
}

void HDDRopeOp::build(OpBuilder &b, OperationState &state, Value x,
                      Value angles, int64_t chunk, SOForm form, bool inverse) {
  build(b, state, x.getType(), x, angles, b.getI64IntegerAttr(chunk),
        SOFormAttr::get(b.getContext(), form),
        inverse ? b.getUnitAttr() : UnitAttr());
}

int64_t rotary::trailingMatrixSize(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || t.getRank() < 2)
    return kDyn;
  int64_t r = t.getRank();
  return isDyn(t.getDimSize(r - 1)) ? t.getDimSize(r - 2)
                                    : t.getDimSize(r - 1);
}

int64_t HDDRopeOp::getChunkSize() {
  if (auto c = getChunk())
    return *c;
  if (rtt(getRotation()).getRank() != 6)
    return kDyn;
  return trailingMatrixSize(getRotation().getType());
}

//===----------------------------------------------------------------------===//
// rotary.attention
//===----------------------------------------------------------------------===//

void AttentionOp::build(OpBuilder &b, OperationState &state, Value q, Value k,
                        Value v, const AttentionOptions &options) {
  auto qt = cast<RankedTensorType>(q.getType());
  Type lse = RankedTensorType::get(
      qt.getRank() == 4 ? qt.getShape().take_front(3) : ArrayRef<int64_t>{},
      b.getF32Type());
  auto optF32 = [&](std::optional<float> f) {
    return f ? b.getF32FloatAttr(*f) : FloatAttr();
  };
  build(b, state, qt, lse, q, k, v, options.bias, options.span,
        options.causal ? b.getUnitAttr() : UnitAttr(),
        b.getI64IntegerAttr(options.window),
        b.getI64IntegerAttr(options.globalTokens), optF32(options.scale),
        optF32(options.spanRamp));
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            ValueRange operands, DictionaryAttr,
                                            OpaqueProperties, RegionRange,
                                            SmallVectorImpl<Type> &inferred) {
  auto q = dyn_cast<RankedTensorType>(operands[0].getType());
  if (!q || q.getRank() != 4)
    return emitOptionalError(loc, "'rotary.attention' op operand 'q' must "
                                  "have shape [B, H, T, D] (rank 4)");
  inferred.push_back(q);
  inferred.push_back(
      RankedTensorType::get(q.getShape().take_front(3), Float32Type::get(ctx)));
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.spectral_bands / rotary.adaptive_momentum / rotary.fam_step
//===----------------------------------------------------------------------===//

LogicalResult SpectralBandsOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange, DictionaryAttr,
    OpaqueProperties properties, RegionRange, SmallVectorImpl<Type> &inferred) {
  auto *props = properties.as<Properties *>();
  if (!props || !props->n_bands)
    return emitOptionalError(loc, "'rotary.spectral_bands' op requires "
                                  "attribute 'n_bands'");
  int64_t n = props->n_bands.getInt();
  if (n < 1)
    return emitOptionalError(loc,
                             "'rotary.spectral_bands' op attribute "
                             "'n_bands' must be >= 1, but got ",
                             n);
  inferred.push_back(RankedTensorType::get({n}, Float32Type::get(ctx)));
  return success();
}

#define GET_OP_CLASSES
#include "rotary/Dialect/Rotary/IR/RotaryOps.cpp.inc"
