//===- RotaryOps.cpp - rotary op verifiers and type inference -------------===//
//
// Every message names the operand or attribute at fault and the shape or
// value it must have. Debian's MLIR has no assertions, so these checks are the
// only guard between user input and the patterns and lowerings.
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
// Helpers shared with the gradient ops (Verifiers.h)
//===----------------------------------------------------------------------===//

namespace rotary::detail {

/// "[2, ?, 8]" for a list of sizes (kDynamic prints as ?).
std::string fmtShape(ArrayRef<int64_t> dims) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(dims, os, [&](int64_t d) {
    if (isDyn(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}


/// "operand 'x' must have shape <expected>, but got <type>".
InFlightDiagnostic shapeError(Operation *op, StringRef operand,
                              StringRef expected, Type got) {
  return op->emitOpError() << "operand '" << operand << "' must have shape "
                           << expected << ", but got " << got;
}

int64_t dimFromEnd(RankedTensorType t, int64_t k) {
  return t.getDimSize(t.getRank() - k);
}

/// x [..., D] and, for per-head parameters, its head dimension (-2).
LogicalResult verifyFeatureOperand(Operation *op, StringRef name,
                                   RankedTensorType x) {
  if (x.getRank() < 1)
    return shapeError(op, name, "[..., D] (rank >= 1)", x);
  return success();
}

/// Rotary dims r: even, positive, <= D.
LogicalResult verifyRotaryDim(Operation *op, std::optional<int64_t> rotaryDim,
                              int64_t d) {
  if (rotaryDim) {
    int64_t r = *rotaryDim;
    if (r <= 0 || r % 2 != 0)
      return op->emitOpError()
             << "attribute 'rotary_dim' must be a positive even number, but "
                "got "
             << r;
    if (!isDyn(d) && r > d)
      return op->emitOpError()
             << "attribute 'rotary_dim' (" << r << ") must not exceed D = " << d
             << " of operand 'x'";
    return success();
  }
  if (!isDyn(d) && d % 2 != 0)
    return op->emitOpError()
           << "operand 'x' has odd D = " << d
           << "; rotate an even number of features by setting 'rotary_dim'";
  return success();
}

LogicalResult verifyPositiveFinite(Operation *op, StringRef what, float v) {
  if (!std::isfinite(v) || v <= 0.0f)
    return op->emitOpError() << "attribute '" << what
                             << "' must be positive and finite, but got " << v;
  return success();
}

/// The shared rope checks of rotary.rope and rotary.rotation_block.
LogicalResult verifyRopeInputs(Operation *op, RankedTensorType x,
                               RankedTensorType positions,
                               std::optional<int64_t> rotaryDim,
                               std::optional<APFloat> base) {
  if (x.getRank() != 4)
    return shapeError(op, "x", "[B, T, H, D] (rank 4)", x);
  int64_t b = x.getDimSize(0), t = x.getDimSize(1);
  bool ok =
      (positions.getRank() == 1 && compatible(positions.getDimSize(0), t)) ||
      (positions.getRank() == 2 && compatible(positions.getDimSize(0), b) &&
       compatible(positions.getDimSize(1), t));
  if (!ok)
    return shapeError(op, "positions",
                      fmtShape({t}) + " or " + fmtShape({b, t}) +
                          " ([T] or [B, T] of operand 'x')",
                      positions);
  if (failed(verifyRotaryDim(op, rotaryDim, x.getDimSize(3))))
    return failure();
  if (base && failed(verifyPositiveFinite(op, "base", base->convertToFloat())))
    return failure();
  return success();
}

/// Checks `pairs` (or the default schedule) against x [..., D] and angles
/// [N] / [H, N]; shared by rotary.givens and rotary.rotation_block.
LogicalResult verifyChain(Operation *op, RankedTensorType x,
                          RankedTensorType angles,
                          std::optional<ArrayRef<int64_t>> pairs) {
  if (failed(verifyFeatureOperand(op, "x", x)))
    return failure();
  int64_t d = dimFromEnd(x, 1);
  if (angles.getRank() == 2) {
    if (x.getRank() < 2)
      return op->emitOpError()
             << "per-head operand 'angles' " << angles
             << " needs operand 'x' with a head dimension ([..., H, D]), but "
                "got "
             << x;
    int64_t h = dimFromEnd(x, 2);
    if (!compatible(angles.getDimSize(0), h))
      return shapeError(op, "angles",
                        fmtShape({h, angles.getDimSize(1)}) +
                            " (per-head [H, N] with H = dimension -2 of "
                            "operand 'x')",
                        angles);
  } else if (angles.getRank() != 1) {
    return shapeError(op, "angles", "[N] or [H, N]", angles);
  }
  int64_t n = dimFromEnd(angles, 1);
  if (pairs) {
    if (pairs->size() % 2 != 0)
      return op->emitOpError()
             << "attribute 'pairs' must hold (i, j) index pairs, but has an "
                "odd number of entries ("
             << pairs->size() << ")";
    int64_t numPairs = pairs->size() / 2;
    if (!isDyn(n) && n != numPairs)
      return shapeError(op, "angles",
                        "[..., " + std::to_string(numPairs) +
                            "] (one angle per pair of 'pairs')",
                        angles);
    for (int64_t k = 0; k < numPairs; ++k) {
      int64_t i = (*pairs)[2 * k], j = (*pairs)[2 * k + 1];
      if (i < 0 || j < 0 || (!isDyn(d) && (i >= d || j >= d)))
        return op->emitOpError()
               << "pair " << k << " (" << i << ", " << j
               << ") of 'pairs' is out of range for D = "
               << (isDyn(d) ? std::string("?") : std::to_string(d))
               << " of operand 'x'";
      if (i == j)
        return op->emitOpError()
               << "pair " << k << " (" << i << ", " << j
               << ") of 'pairs' rotates a feature with itself";
    }
    return success();
  }
  if (isDyn(d))
    return success();
  if (d % 2 != 0)
    return op->emitOpError()
           << "the default round-robin schedule needs an even D, but operand "
              "'x' has D = "
           << d << "; give 'pairs' explicitly";
  uint64_t total = llvm::SaturatingMultiply<uint64_t>(d, d - 1) / 2;
  if (!isDyn(n) && static_cast<uint64_t>(n) > total)
    return shapeError(
        op, "angles",
        "[..., N] with N <= D(D-1)/2 = " + std::to_string(total) +
            " (the round-robin schedule for D = " + std::to_string(d) + ")",
        angles);
  return success();
}

/// R [D, E] or [H, D, E] against x [..., D] (H = dimension -2 of x); with
/// `transpose` the contracted dimension of R is its last one. `square`
/// requires E = D (rotation blocks keep the feature count).
LogicalResult verifyMatrix(Operation *op, RankedTensorType x,
                           RankedTensorType m, bool transpose, bool square) {
  if (failed(verifyFeatureOperand(op, "x", x)))
    return failure();
  int64_t d = dimFromEnd(x, 1);
  int64_t h = x.getRank() >= 2 ? dimFromEnd(x, 2) : kDyn;
  int64_t r = m.getRank();
  bool ok = (r == 2 || (r == 3 && x.getRank() >= 2)) &&
            compatible(m.getDimSize(transpose ? r - 1 : r - 2), d) &&
            (r == 2 || compatible(m.getDimSize(0), h)) &&
            (!square || compatible(m.getDimSize(r - 1), m.getDimSize(r - 2)));
  if (!ok) {
    std::string e = square ? "D" : "E";
    std::string expected = transpose
                               ? "[" + e + ", D] or per-head [H, " + e + ", D]"
                               : "[D, " + e + "] or per-head [H, D, " + e + "]";
    return shapeError(
        op, "matrix",
        expected +
            " with D = " + (isDyn(d) ? std::string("?") : std::to_string(d)) +
            (x.getRank() >= 2
                 ? ", H = " + (isDyn(h) ? std::string("?") : std::to_string(h))
                 : std::string()) +
            " from operand 'x'",
        m);
  }
  return success();
}

LogicalResult verifyChunk(Operation *op, int64_t c) {
  if (c < 2 || c > kMaxChunk)
    return op->emitOpError() << "attribute 'chunk' must be in [2, " << kMaxChunk
                             << "], but got " << c;
  return success();
}
} // namespace rotary::detail

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
        options.inverse ? b.getUnitAttr() : UnitAttr());
}

int64_t RopeOp::getRotaryDimOrD() {
  if (auto r = getRotaryDim())
    return *r;
  return rtt(getX()).getDimSize(3);
}

LogicalResult rotary::detail::verifyRope(Operation *op, Value x, Value positions,
                                        Value invFreq, Value phase,
                                        Value runtimeBase,
                                        std::optional<int64_t> rotaryDim,
                                        std::optional<APFloat> base) {
  RankedTensorType xt = rtt(x);
  if (failed(verifyRopeInputs(op, xt, rtt(positions), rotaryDim, base)))
    return failure();
  if (base && runtimeBase)
    return op->emitOpError() << "attribute 'base' and operand 'base' are "
                                "exclusive; give one of them";
  if (invFreq && (base || runtimeBase))
    return op->emitOpError()
           << "operand 'inv_freq' replaces the base; remove the "
              "'base' attribute or operand";
  int64_t r = rotaryDim ? *rotaryDim : xt.getDimSize(3);
  int64_t half = isDyn(r) ? kDyn : r / 2;
  for (auto [name, v] : {std::pair<StringRef, Value>{"inv_freq", invFreq},
                         {"phase", phase}}) {
    if (!v)
      continue;
    RankedTensorType t = rtt(v);
    if (t.getRank() != 1 || !compatible(t.getDimSize(0), half))
      return shapeError(op, name, fmtShape({half}) + " ([rotary_dim / 2])", t);
  }
  return success();
}

LogicalResult RopeOp::verify() {
  return verifyRope(*this, getX(), getPositions(), getInvFreq(), getPhase(),
                    getRuntimeBase(), getRotaryDim(), getBase());
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
  int64_t dim = getDim();
  if (dim <= 0 || dim % 2 != 0)
    return emitOpError() << "attribute 'dim' must be a positive even number, "
                            "but got "
                         << dim;
  if (failed(verifyPositiveFinite(*this, "base", getBase().convertToFloat())))
    return failure();
  if (auto scales = getScales()) {
    if (scales->empty())
      return emitOpError() << "attribute 'scales' must not be empty";
    for (float s : *scales)
      if (failed(verifyPositiveFinite(*this, "scales", s)))
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

LogicalResult GivensOp::verify() {
  return verifyChain(*this, rtt(getX()), rtt(getAngles()), getPairs());
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

LogicalResult OrthogonalOp::verify() {
  return verifyMatrix(*this, rtt(getX()), rtt(getMatrix()), getTranspose(),
                      /*square=*/false);
}

LogicalResult rotary::detail::verifyPenaltyMatrix(Operation *op,
                                                 Value matrix) {
  RankedTensorType m = rtt(matrix);
  if (m.getRank() != 2 && m.getRank() != 3)
    return shapeError(op, "matrix", "[D, E] or [H, D, E]", m);
  return success();
}

LogicalResult OrthogonalityPenaltyOp::verify() {
  return verifyPenaltyMatrix(*this, getMatrix());
}

//===----------------------------------------------------------------------===//
// rotary.rotation_block
//===----------------------------------------------------------------------===//

LogicalResult RotationBlockOp::verify() {
  RankedTensorType x = rtt(getX());
  if (getPositions()) {
    if (failed(verifyRopeInputs(*this, x, rtt(getPositions()), getRotaryDim(),
                                getBase())))
      return failure();
  } else if (getLayout() || getRotaryDim() || getBase()) {
    return emitOpError() << "'layout', 'rotary_dim' and 'base' configure the "
                            "rope and need 'rope(positions)'";
  }
  if (failed(verifyChain(*this, x, rtt(getAngles()), getPairs())))
    return failure();
  return verifyMatrix(*this, x, rtt(getMatrix()), /*transpose=*/false,
                      /*square=*/true);
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

LogicalResult rotary::detail::verifyGeneratorAngles(Operation *op,
                                                   Value angles, int64_t c) {
  if (failed(verifyChunk(op, c)))
    return failure();
  RankedTensorType a = rtt(angles);
  int64_t k = numGeneratorAngles(c);
  if (a.getRank() < 1 || !compatible(dimFromEnd(a, 1), k))
    return shapeError(op, "angles",
                      "[..., " + std::to_string(k) +
                          "] (c(c-1)/2 angles for "
                          "chunk = " +
                          std::to_string(c) + ")",
                      a);
  return success();
}

LogicalResult SOGeneratorOp::verify() {
  return verifyGeneratorAngles(*this, getAngles(), getChunk());
}

//===----------------------------------------------------------------------===//
// rotary.cumulative_rotation
//===----------------------------------------------------------------------===//

LogicalResult rotary::detail::verifyScan(Operation *op, Value rotations,
                                        int64_t axis) {
  RankedTensorType g = rtt(rotations);
  int64_t r = g.getRank();
  if (r < 3 || !compatible(g.getDimSize(r - 1), g.getDimSize(r - 2)))
    return shapeError(op, "rotations", "[..., T, ..., c, c] (rank >= 3)", g);
  int64_t c = g.getDimSize(r - 1);
  if (!isDyn(c) && (c < 2 || c > kMaxChunk))
    return shapeError(
        op, "rotations",
        "[..., c, c] with c in [2, " + std::to_string(kMaxChunk) + "]", g);
  if (axis < 0 || axis >= r - 2)
    return op->emitOpError() << "attribute 'axis' (" << axis
                         << ") must name a dimension of operand 'rotations' "
                            "before its trailing [c, c], i.e. be in [0, "
                         << r - 2 << ")";
  return success();
}

LogicalResult CumulativeRotationOp::verify() {
  return verifyScan(*this, getRotations(), getAxis());
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

LogicalResult rotary::detail::verifyHDD(Operation *op, Value xv, Value rotv,
                                       std::optional<int64_t> chunk,
                                       bool fused) {
  RankedTensorType x = rtt(xv);
  RankedTensorType rot = rtt(rotv);
  if (x.getRank() != 4)
    return shapeError(op, "x", "[B, T, H, D] (rank 4)", x);
  if (fused && !chunk)
    return op->emitOpError() << "the fused form (with 'form') needs the 'chunk' "
                            "attribute";
  if (chunk && failed(verifyChunk(op, *chunk)))
    return failure();
  if (!fused) {
    // Check P itself before its c×c is used to size anything.
    if (rot.getRank() != 6 || !compatible(rot.getDimSize(4), rot.getDimSize(5)))
      return shapeError(op, "rotation",
                        "[B, T, H, C, c, c] (rank 6, square c x c)", rot);
    int64_t pc = rot.getDimSize(5);
    if (!isDyn(pc) && (pc < 2 || pc > kMaxChunk))
      return shapeError(op, "rotation",
                        "[B, T, H, C, c, c] with c in [2, " +
                            std::to_string(kMaxChunk) + "]",
                        rot);
  }
  int64_t c = chunk ? *chunk
                    : isDyn(rot.getDimSize(5)) ? rot.getDimSize(4)
                                               : rot.getDimSize(5);
  int64_t d = x.getDimSize(3);
  if (!isDyn(c) && !isDyn(d) && d % c != 0)
    return op->emitOpError() << "chunk size " << c << " must divide D = " << d
                         << " of operand 'x'";
  int64_t chunks = (isDyn(c) || isDyn(d)) ? kDyn : d / c;
  SmallVector<int64_t> expected(x.getShape().take_front(3));
  expected.push_back(chunks);
  if (fused) {
    expected.push_back(numGeneratorAngles(c));
  } else {
    expected.append({c, c});
  }
  bool ok = rot.getRank() == static_cast<int64_t>(expected.size()) &&
            llvm::all_of(llvm::seq<size_t>(0, expected.size()), [&](size_t i) {
              return compatible(rot.getDimSize(i), expected[i]);
            });
  if (!ok)
    return shapeError(op, "rotation",
                      fmtShape(expected) +
                          (fused ? " ([B, T, H, D/c, c(c-1)/2] angles)"
                                     : " ([B, T, H, D/c, c, c] rotations)"),
                      rot);
  return success();
}

LogicalResult HDDRopeOp::verify() {
  return verifyHDD(*this, getX(), getRotation(), getChunk(), isFused());
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

LogicalResult rotary::detail::verifyAttention(Operation *op, Value qv, Value kv,
                                             Value vv, Value bias, Value span,
                                             int64_t window,
                                             int64_t globalTokens,
                                             std::optional<APFloat> scale,
                                             std::optional<APFloat> spanRamp) {
  RankedTensorType q = rtt(qv), k = rtt(kv), v = rtt(vv);
  if (q.getRank() != 4)
    return shapeError(op, "q", "[B, H, T, D] (rank 4)", q);
  if (q.getElementType() != k.getElementType() ||
      q.getElementType() != v.getElementType())
    return op->emitOpError() << "operands 'q', 'k' and 'v' must have the same "
                            "element type";
  int64_t b = q.getDimSize(0), h = q.getDimSize(1), t = q.getDimSize(2),
          d = q.getDimSize(3);
  int64_t s = k.getRank() == 4 ? k.getDimSize(2) : kDyn;
  auto checkKV = [&](StringRef name, RankedTensorType tt) -> LogicalResult {
    SmallVector<int64_t> expected = {b, h, s, d};
    if (!sameShape(tt, expected))
      return shapeError(op, name,
                        fmtShape(expected) + " ([B, H, S, D] like 'q')", tt);
    return success();
  };
  if (failed(checkKV("k", k)))
    return failure();
  s = k.getDimSize(2);
  if (failed(checkKV("v", v)))
    return failure();
  if (window < -1)
    return op->emitOpError() << "attribute 'window' must be >= -1 (-1 means "
                            "unlimited), but got "
                         << window;
  if (globalTokens < 0)
    return op->emitOpError() << "attribute 'global_tokens' must be >= 0, but got "
                         << globalTokens;
  if (scale) {
    float sc = scale->convertToFloat();
    if (!std::isfinite(sc) || sc == 0.0f)
      return op->emitOpError() << "attribute 'scale' must be finite and non-zero, "
                              "but got "
                           << sc;
  }
  if (bias) {
    RankedTensorType bt = rtt(bias);
    bool table = bt.getRank() == 2 && compatible(bt.getDimSize(0), h) &&
                 (isDyn(bt.getDimSize(1)) || bt.getDimSize(1) % 2 == 1);
    bool full = bt.getRank() == 3 && compatible(bt.getDimSize(0), h) &&
                compatible(bt.getDimSize(1), t) &&
                compatible(bt.getDimSize(2), s);
    if (!table && !full)
      return shapeError(op, "bias",
                        fmtShape({h, kDyn}) + " (a table [H, 2W+1], odd) or " +
                            fmtShape({h, t, s}) + " ([H, T, S])",
                        bt);
  }
  if (span) {
    RankedTensorType st = rtt(span);
    if (st.getRank() != 1 || !compatible(st.getDimSize(0), h))
      return shapeError(op, "span", fmtShape({h}) + " ([H])", st);
    if (!spanRamp)
      return op->emitOpError() << "operand 'span' needs the attribute 'span_ramp'";
    if (failed(verifyPositiveFinite(op, "span_ramp",
                                    spanRamp->convertToFloat())))
      return failure();
  } else if (spanRamp) {
    return op->emitOpError() << "attribute 'span_ramp' is only meaningful with "
                            "operand 'span'";
  }
  return success();
}

LogicalResult AttentionOp::verify() {
  return verifyAttention(*this, getQ(), getK(), getV(), getBias(), getSpan(),
                         getWindow(), getGlobalTokens(), getScale(),
                         getSpanRamp());
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

LogicalResult SpectralBandsOp::verify() {
  if (getNBands() < 1)
    return emitOpError() << "attribute 'n_bands' must be >= 1, but got "
                         << getNBands();
  RankedTensorType p = rtt(getSpectrum());
  if (p.getRank() != 1)
    return shapeError(*this, "spectrum", "[L]", p);
  float eps = getEps().convertToFloat();
  if (!std::isfinite(eps) || eps < 0.0f)
    return emitOpError() << "attribute 'eps' must be finite and >= 0, but got "
                         << eps;
  return success();
}

LogicalResult AdaptiveMomentumOp::verify() {
  RankedTensorType e = rtt(getEma());
  if (e.getRank() != 1 || e.getDimSize(0) == 0)
    return shapeError(*this, "ema", "[n] with n >= 1 bands", e);
  return success();
}

LogicalResult FamStepOp::verify() {
  RankedTensorType p = rtt(getParam()), m = rtt(getMomentum());
  if (!sameShape(m, p.getShape()))
    return shapeError(*this, "momentum",
                      fmtShape(p.getShape()) + " (the shape of 'param')", m);
  Type pe = p.getElementType(), me = m.getElementType();
  if (me != pe && !me.isF32())
    return emitOpError() << "operand 'momentum' must have the element type of "
                            "'param' ("
                         << pe << ") or f32, but got " << me;
  float wd = getWeightDecay().convertToFloat();
  if (!std::isfinite(wd) || wd < 0.0f)
    return emitOpError()
           << "attribute 'weight_decay' must be finite and >= 0, but got "
           << wd;
  return success();
}

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

LogicalResult rotary::detail::verifyQuaternion(Operation *op, Value xv,
                                              Value axisv, Value anglev) {
  RankedTensorType x = rtt(xv), axis = rtt(axisv), angle = rtt(anglev);
  if (x.getRank() < 1 || !compatible(dimFromEnd(x, 1), 3))
    return shapeError(op, "x", "[..., 3]", x);
  bool axisOk = (axis.getRank() == 1 && compatible(axis.getDimSize(0), 3)) ||
                sameShape(axis.getShape(), x.getShape());
  if (!axisOk)
    return shapeError(op, "axis",
                      "[3] or " + fmtShape(x.getShape()) + " (like 'x')", axis);
  bool angleOk = angle.getRank() == 0 ||
                 sameShape(angle.getShape(), x.getShape().drop_back());
  if (!angleOk)
    return shapeError(op, "angle",
                      "[] or " + fmtShape(x.getShape().drop_back()) +
                          " (one angle per vector of 'x')",
                      angle);
  return success();
}

LogicalResult QuaternionRotateOp::verify() {
  return verifyQuaternion(*this, getX(), getAxis(), getAngle());
}

#define GET_OP_CLASSES
#include "rotary/Dialect/Rotary/IR/RotaryOps.cpp.inc"
