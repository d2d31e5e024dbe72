//===- RotaryContracts.cpp - the shape contract of every rotary op --------===//
//
// One function per op states what its operands must be. The verifier runs it
// on the static sizes; RuntimeVerifiableOpInterface runs it again on the
// sizes of a run (ShapeRules.h), so each rule is written once. Every message
// names the operand or attribute at fault and the shape or value it must
// have. Debian's MLIR has no assertions, so these checks are the only guard
// between user input and the patterns and lowerings.
//
//===----------------------------------------------------------------------===//

#include "Verifiers.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace rotary;
using namespace rotary::detail;
using Cmp = ShapeRules::Cmp;

//===----------------------------------------------------------------------===//
// Rules shared by several ops (Verifiers.h)
//===----------------------------------------------------------------------===//

namespace rotary::detail {

std::string fmtShape(ArrayRef<int64_t> dims) {
  SmallVector<Size> sizes;
  for (int64_t d : dims)
    sizes.push_back(Size{d, Value(), false});
  return ShapeRules::format(sizes);
}

InFlightDiagnostic shapeError(Operation *op, StringRef operand,
                              StringRef expected, Type got) {
  return op->emitOpError() << "operand '" << operand << "' must have shape "
                           << expected << ", but got " << got;
}

int64_t dimFromEnd(RankedTensorType t, int64_t k) {
  return t.getDimSize(t.getRank() - k);
}

LogicalResult verifyPositiveFinite(ShapeRules &r, StringRef what, float v) {
  if (!std::isfinite(v) || v <= 0.0f)
    return r.error() << "attribute '" << what
                     << "' must be positive and finite, but got " << v;
  return success();
}

LogicalResult verifyChunk(Operation *op, int64_t c) {
  if (c < 2 || c > kMaxChunk)
    return op->emitOpError() << "attribute 'chunk' must be in [2, " << kMaxChunk
                             << "], but got " << c;
  return success();
}

/// x [..., D]: what per-feature operands are checked against.
static LogicalResult verifyFeatureOperand(ShapeRules &r, StringRef name,
                                          Value x) {
  if (rtt(x).getRank() < 1)
    return r.error() << "operand '" << name
                     << "' must have shape [..., D] (rank >= 1), but got "
                     << x.getType();
  return success();
}

/// The rotated features r: even, positive, at most D.
static LogicalResult verifyRotaryDim(ShapeRules &r,
                                     std::optional<int64_t> rotaryDim, Size d) {
  if (!rotaryDim)
    return r.require(r.rem(d, 2), Cmp::EQ, r.constant(0),
                     "operand 'x' must have an even D (or set 'rotary_dim' "
                     "to rotate fewer features)",
                     {{"D", d}});
  int64_t n = *rotaryDim;
  if (n <= 0 || n % 2 != 0)
    return r.error() << "attribute 'rotary_dim' must be a positive even "
                        "number, but got "
                     << n;
  return r.require(r.constant(n), Cmp::LE, d,
                   "attribute 'rotary_dim' (" + Twine(n) +
                       ") must not exceed D of operand 'x'",
                   {{"D", d}});
}

LogicalResult verifyRopeInputs(ShapeRules &r, Value x, Value positions,
                               std::optional<int64_t> rotaryDim,
                               std::optional<APFloat> base) {
  if (rtt(x).getRank() != 4)
    return shapeError(r.op(), "x", "[B, T, H, D] (rank 4)", x.getType());
  Size b = r.dim(x, 0), t = r.dim(x, 1);
  int64_t rank = rtt(positions).getRank();
  if (rank != 1 && rank != 2)
    return shapeError(r.op(), "positions", "[T] or [B, T] of operand 'x'",
                      positions.getType());
  LogicalResult ok =
      rank == 1
          ? r.expect("positions", positions, {t}, "[T] of operand 'x'")
          : r.expect("positions", positions, {b, t}, "[B, T] of operand 'x'");
  if (failed(ok) || failed(verifyRotaryDim(r, rotaryDim, r.dim(x, 3))))
    return failure();
  if (base && failed(verifyPositiveFinite(r, "base", base->convertToFloat())))
    return failure();
  return success();
}

LogicalResult verifyRope(ShapeRules &r, Value x, Value positions, Value invFreq,
                         Value phase, Value runtimeBase,
                         std::optional<int64_t> rotaryDim,
                         std::optional<APFloat> base) {
  if (failed(verifyRopeInputs(r, x, positions, rotaryDim, base)))
    return failure();
  if (base && runtimeBase)
    return r.error() << "attribute 'base' and operand 'base' are "
                        "exclusive; give one of them";
  if (invFreq && (base || runtimeBase))
    return r.error() << "operand 'inv_freq' replaces the base; remove the "
                        "'base' attribute or operand";
  Size rot = rotaryDim ? r.constant(*rotaryDim) : r.dim(x, 3);
  for (auto [name, v] :
       {std::pair<StringRef, Value>{"inv_freq", invFreq}, {"phase", phase}}) {
    if (!v)
      continue;
    if (rtt(v).getRank() != 1)
      return shapeError(r.op(), name, "[rotary_dim / 2]", v.getType());
    if (failed(r.expect(name, v, {r.floorDiv(rot, 2)}, "[rotary_dim / 2]")))
      return failure();
  }
  return success();
}

LogicalResult verifyXPos(ShapeRules &r, std::optional<XPosRole> xpos,
                         std::optional<APFloat> scaleBase,
                         std::optional<APFloat> gamma) {
  if (!xpos && (scaleBase || gamma))
    return r.error() << "attribute '"
                     << (scaleBase ? "xpos_scale_base" : "xpos_gamma")
                     << "' configures xPos and needs 'xpos = query' or "
                        "'xpos = key'";
  if (scaleBase && failed(verifyPositiveFinite(r, "xpos_scale_base",
                                               scaleBase->convertToFloat())))
    return failure();
  if (gamma &&
      failed(verifyPositiveFinite(r, "xpos_gamma", gamma->convertToFloat())))
    return failure();
  return success();
}

LogicalResult verifyChain(ShapeRules &r, Value x, Value angles,
                          std::optional<ArrayRef<int64_t>> pairs) {
  if (failed(verifyFeatureOperand(r, "x", x)))
    return failure();
  RankedTensorType xt = rtt(x), at = rtt(angles);
  Size d = r.dim(x, -1);
  if (at.getRank() == 2) {
    if (xt.getRank() < 2)
      return r.error() << "per-head operand 'angles' " << at
                       << " needs operand 'x' with a head dimension ([..., "
                          "H, D]), but got "
                       << xt;
    if (failed(r.expect("angles", angles, {r.dim(x, -2), r.any()},
                        "per-head [H, N] with H of operand 'x'")))
      return failure();
  } else if (at.getRank() != 1) {
    return shapeError(r.op(), "angles", "[N] or [H, N]", at);
  }
  Size n = r.dim(angles, -1);
  if (pairs) {
    if (pairs->size() % 2 != 0)
      return r.error() << "attribute 'pairs' must hold (i, j) index pairs, "
                          "but has an odd number of entries ("
                       << pairs->size() << ")";
    int64_t numPairs = pairs->size() / 2, maxIndex = -1;
    for (int64_t k = 0; k < numPairs; ++k) {
      int64_t i = (*pairs)[2 * k], j = (*pairs)[2 * k + 1];
      if (i < 0 || j < 0)
        return r.error() << "pair " << k << " (" << i << ", " << j
                         << ") of 'pairs' has a negative index";
      if (i == j)
        return r.error() << "pair " << k << " (" << i << ", " << j
                         << ") of 'pairs' rotates a feature with itself";
      maxIndex = std::max({maxIndex, i, j});
    }
    SmallVector<Size> expected(at.getRank(), r.any());
    expected.back() = r.constant(numPairs);
    if (failed(r.expect("angles", angles, expected,
                        "[..., " + Twine(numPairs) +
                            "], one angle per pair of 'pairs'")))
      return failure();
    if (maxIndex < 0)
      return success();
    return r.require(r.constant(maxIndex), Cmp::LT, d,
                     "'pairs' index " + Twine(maxIndex) +
                         " is out of range for D of operand 'x'",
                     {{"D", d}});
  }
  // The default round-robin schedule: D even, at most D(D-1)/2 rotations.
  if (failed(r.require(r.rem(d, 2), Cmp::EQ, r.constant(0),
                       "the default round-robin schedule needs an even D of "
                       "operand 'x' (or give 'pairs')",
                       {{"D", d}})))
    return failure();
  Size total = r.floorDiv(r.mul(d, r.add(d, -1)), 2);
  return r.require(n, Cmp::LE, total,
                   "operand 'angles' must have at most D(D-1)/2 angles (the "
                   "round-robin schedule)",
                   {{"N", n}, {"D", d}});
}

LogicalResult verifyMatrix(ShapeRules &r, Value x, Value matrix, bool transpose,
                           bool square) {
  if (failed(verifyFeatureOperand(r, "x", x)))
    return failure();
  int64_t rank = rtt(matrix).getRank();
  StringRef e = square ? "D" : "E";
  std::string form =
      transpose ? ("[" + e + ", D]").str() : ("[D, " + e + "]").str();
  if (rank != 2 && !(rank == 3 && rtt(x).getRank() >= 2))
    return shapeError(r.op(), "matrix",
                      form + " or per-head [H, " + form.substr(1) +
                          " with D (and H) of operand 'x'",
                      matrix.getType());
  Size d = r.dim(x, -1);
  Size other = square ? d : r.any();
  SmallVector<Size> expected;
  if (rank == 3)
    expected.push_back(r.dim(x, -2));
  expected.push_back(transpose ? other : d);
  expected.push_back(transpose ? d : other);
  return r.expect("matrix", matrix, expected,
                  rank == 3 ? "per-head [H, " + form.substr(1) +
                                  " with H, D of operand 'x'"
                            : form + " with D of operand 'x'");
}

LogicalResult verifyPenaltyMatrix(ShapeRules &r, Value matrix) {
  int64_t rank = rtt(matrix).getRank();
  if (rank != 2 && rank != 3)
    return shapeError(r.op(), "matrix", "[D, E] or [H, D, E]",
                      matrix.getType());
  return success();
}

LogicalResult verifyGeneratorAngles(ShapeRules &r, Value angles, int64_t c) {
  if (failed(verifyChunk(r.op(), c)))
    return failure();
  int64_t rank = rtt(angles).getRank(), k = numGeneratorAngles(c);
  std::string meaning = "[..., c(c-1)/2] for chunk = " + std::to_string(c);
  if (rank < 1)
    return shapeError(r.op(), "angles", "[..., " + std::to_string(k) + "]",
                      angles.getType());
  SmallVector<Size> expected(rank, r.any());
  expected.back() = r.constant(k);
  return r.expect("angles", angles, expected, meaning);
}

LogicalResult verifyScan(ShapeRules &r, Value rotations, int64_t axis) {
  RankedTensorType g = rtt(rotations);
  int64_t rank = g.getRank();
  if (rank < 3)
    return shapeError(r.op(), "rotations", "[..., T, ..., c, c] (rank >= 3)",
                      g);
  SmallVector<Size> expected(rank, r.any());
  expected[rank - 2] = r.dim(rotations, -1);
  if (failed(r.expect("rotations", rotations, expected, "[..., c, c]")))
    return failure();
  int64_t c = trailingMatrixSize(g);
  if (!isDyn(c) && (c < 2 || c > kMaxChunk))
    return shapeError(
        r.op(), "rotations",
        "[..., c, c] with c in [2, " + std::to_string(kMaxChunk) + "]", g);
  if (axis < 0 || axis >= rank - 2)
    return r.error() << "attribute 'axis' (" << axis
                     << ") must name a dimension of operand 'rotations' "
                        "before its trailing [c, c], i.e. be in [0, "
                     << rank - 2 << ")";
  return success();
}

LogicalResult verifyHDD(ShapeRules &r, Value x, Value rotation,
                        std::optional<int64_t> chunk, bool fused) {
  RankedTensorType xt = rtt(x), rot = rtt(rotation);
  if (xt.getRank() != 4)
    return shapeError(r.op(), "x", "[B, T, H, D] (rank 4)", xt);
  if (fused && !chunk)
    return r.error() << "the fused form (with 'form') needs the 'chunk' "
                        "attribute";
  if (chunk && failed(verifyChunk(r.op(), *chunk)))
    return failure();
  if (!fused) {
    // P itself first: its c×c sizes everything else.
    if (rot.getRank() != 6)
      return shapeError(r.op(), "rotation", "[B, T, H, C, c, c] (rank 6)", rot);
    int64_t pc = trailingMatrixSize(rot);
    if (!isDyn(pc) && (pc < 2 || pc > kMaxChunk))
      return shapeError(r.op(), "rotation",
                        "[B, T, H, C, c, c] with c in [2, " +
                            std::to_string(kMaxChunk) + "]",
                        rot);
  }
  int64_t c = chunk ? *chunk : trailingMatrixSize(rot);
  SmallVector<Size> expected = {r.dim(x, 0), r.dim(x, 1), r.dim(x, 2)};
  Size d = r.dim(x, 3);
  if (isDyn(c)) {
    // A run-time c: P only has to be square.
    expected.append({r.any(), r.dim(rotation, 5), r.dim(rotation, 5)});
    return r.expect("rotation", rotation, expected,
                    "[B, T, H, C, c, c] rotations of operand 'x'");
  }
  if (failed(
          r.require(r.rem(d, c), Cmp::EQ, r.constant(0),
                    "chunk size " + Twine(c) + " must divide D of operand 'x'",
                    {{"D", d}})))
    return failure();
  expected.push_back(r.floorDiv(d, c));
  if (fused)
    expected.push_back(r.constant(numGeneratorAngles(c)));
  else
    expected.append({r.constant(c), r.constant(c)});
  return r.expect("rotation", rotation, expected,
                  fused ? "[B, T, H, D/c, c(c-1)/2] angles"
                        : "[B, T, H, D/c, c, c] rotations");
}

LogicalResult verifyAttention(ShapeRules &r, Value q, Value k, Value v,
                              Value bias, Value span, int64_t window,
                              int64_t globalTokens,
                              std::optional<APFloat> scale,
                              std::optional<APFloat> spanRamp) {
  RankedTensorType qt = rtt(q);
  if (qt.getRank() != 4)
    return shapeError(r.op(), "q", "[B, H, T, D] (rank 4)", qt);
  if (qt.getElementType() != rtt(k).getElementType() ||
      qt.getElementType() != rtt(v).getElementType())
    return r.error() << "operands 'q', 'k' and 'v' must have the same "
                        "element type";
  Size b = r.dim(q, 0), h = r.dim(q, 1), t = r.dim(q, 2), d = r.dim(q, 3);
  if (failed(r.expect("k", k, {b, h, r.any(), d}, "[B, H, S, D] like 'q'")))
    return failure();
  Size s = r.dim(k, 2);
  if (failed(r.expect("v", v, {b, h, s, d}, "[B, H, S, D] like 'q'")))
    return failure();
  if (window < -1)
    return r.error() << "attribute 'window' must be >= -1 (-1 means "
                        "unlimited), but got "
                     << window;
  if (globalTokens < 0)
    return r.error() << "attribute 'global_tokens' must be >= 0, but got "
                     << globalTokens;
  if (scale) {
    float sc = scale->convertToFloat();
    if (!std::isfinite(sc) || sc == 0.0f)
      return r.error() << "attribute 'scale' must be finite and non-zero, "
                          "but got "
                       << sc;
  }
  if (bias) {
    int64_t rank = rtt(bias).getRank();
    if (rank == 2) {
      if (failed(r.expect("bias", bias, {h, r.any()},
                          "[H, 2W+1] with H of operand 'q'")))
        return failure();
      Size cols = r.dim(bias, 1);
      if (failed(r.require(r.rem(cols, 2), Cmp::EQ, r.constant(1),
                           "operand 'bias' (a table [H, 2W+1]) must have an "
                           "odd number of columns",
                           {{"columns", cols}})))
        return failure();
    } else if (rank == 3) {
      if (failed(r.expect("bias", bias, {h, t, s},
                          "[H, T, S] of operands 'q' and 'k'")))
        return failure();
    } else {
      return shapeError(r.op(), "bias", "[H, 2W+1] or [H, T, S]",
                        bias.getType());
    }
  }
  if (span) {
    if (rtt(span).getRank() != 1)
      return shapeError(r.op(), "span", "[H]", span.getType());
    if (failed(r.expect("span", span, {h}, "[H] of operand 'q'")))
      return failure();
    if (!spanRamp)
      return r.error() << "operand 'span' needs the attribute 'span_ramp'";
    if (failed(
            verifyPositiveFinite(r, "span_ramp", spanRamp->convertToFloat())))
      return failure();
  } else if (spanRamp) {
    return r.error() << "attribute 'span_ramp' is only meaningful with "
                        "operand 'span'";
  }
  return success();
}

LogicalResult verifyQuaternion(ShapeRules &r, Value x, Value axis,
                               Value angle) {
  int64_t rank = rtt(x).getRank();
  if (rank < 1)
    return shapeError(r.op(), "x", "[..., 3]", x.getType());
  SmallVector<Size> vectors(rank, r.any());
  vectors.back() = r.constant(3);
  if (failed(r.expect("x", x, vectors, "[..., 3]")))
    return failure();
  SmallVector<Size> xs = r.shape(x);
  int64_t axisRank = rtt(axis).getRank();
  if (axisRank != 1 && axisRank != rank)
    return shapeError(r.op(), "axis", "[3] or the shape of 'x'",
                      axis.getType());
  if (failed(axisRank == 1 ? r.expect("axis", axis, {r.constant(3)},
                                      "[3], one axis for all vectors")
                           : r.expect("axis", axis, xs, "like 'x'")))
    return failure();
  int64_t angleRank = rtt(angle).getRank();
  if (angleRank == 0)
    return success();
  if (angleRank != rank - 1)
    return shapeError(r.op(), "angle",
                      "[] or one angle per vector of 'x' (rank " +
                          std::to_string(rank - 1) + ")",
                      angle.getType());
  return r.expect("angle", angle, ArrayRef<Size>(xs).drop_back(),
                  "[...] of operand 'x', one angle per vector");
}

LogicalResult verifyCotangent(ShapeRules &r, StringRef name, Value v,
                              ArrayRef<Size> shape, Type elementType) {
  RankedTensorType t = rtt(v);
  if (t.getElementType() != elementType ||
      t.getRank() != static_cast<int64_t>(shape.size()))
    return r.error() << "cotangent '" << name << "' must have the rank and "
                     << "element type (" << elementType
                     << ") of the forward result, but got " << t;
  return r.expect(name, v, shape, "like the forward result");
}

LogicalResult verifyLike(ShapeRules &r, StringRef name, Value v,
                         StringRef likeName, Value like) {
  return r.expect(name, v, r.shape(like), ("like '" + likeName + "'").str());
}
} // namespace rotary::detail

//===----------------------------------------------------------------------===//
// The contract of each op
//===----------------------------------------------------------------------===//

LogicalResult rotary::detail::verifyContract(RopeOp op, ShapeRules &r) {
  if (failed(verifyRope(r, op.getX(), op.getPositions(), op.getInvFreq(),
                        op.getPhase(), op.getRuntimeBase(), op.getRotaryDim(),
                        op.getBase())))
    return failure();
  return verifyXPos(r, op.getXpos(), op.getXposScaleBase(), op.getXposGamma());
}

LogicalResult rotary::detail::verifyContract(GivensOp op, ShapeRules &r) {
  return verifyChain(r, op.getX(), op.getAngles(), op.getPairs());
}

LogicalResult rotary::detail::verifyContract(OrthogonalOp op, ShapeRules &r) {
  return verifyMatrix(r, op.getX(), op.getMatrix(), op.getTranspose(),
                      /*square=*/false);
}

LogicalResult rotary::detail::verifyContract(OrthogonalityPenaltyOp op,
                                             ShapeRules &r) {
  return verifyPenaltyMatrix(r, op.getMatrix());
}

LogicalResult rotary::detail::verifyContract(RotationBlockOp op,
                                             ShapeRules &r) {
  Value x = op.getX();
  if (op.getPositions()) {
    if (failed(verifyRopeInputs(r, x, op.getPositions(), op.getRotaryDim(),
                                op.getBase())))
      return failure();
  } else if (op.getLayout() || op.getRotaryDim() || op.getBase()) {
    return r.error() << "'layout', 'rotary_dim' and 'base' configure the "
                        "rope and need 'rope(positions)'";
  }
  if (failed(verifyChain(r, x, op.getAngles(), op.getPairs())))
    return failure();
  return verifyMatrix(r, x, op.getMatrix(), /*transpose=*/false,
                      /*square=*/true);
}

LogicalResult rotary::detail::verifyContract(SOGeneratorOp op, ShapeRules &r) {
  return verifyGeneratorAngles(r, op.getAngles(), op.getChunk());
}

LogicalResult rotary::detail::verifyContract(CumulativeRotationOp op,
                                             ShapeRules &r) {
  return verifyScan(r, op.getRotations(), op.getAxis());
}

LogicalResult rotary::detail::verifyContract(HDDRopeOp op, ShapeRules &r) {
  return verifyHDD(r, op.getX(), op.getRotation(), op.getChunk(), op.isFused());
}

LogicalResult rotary::detail::verifyContract(AttentionOp op, ShapeRules &r) {
  return verifyAttention(r, op.getQ(), op.getK(), op.getV(), op.getBias(),
                         op.getSpan(), op.getWindow(), op.getGlobalTokens(),
                         op.getScale(), op.getSpanRamp());
}

LogicalResult rotary::detail::verifyContract(SpectralBandsOp op,
                                             ShapeRules &r) {
  if (op.getNBands() < 1)
    return r.error() << "attribute 'n_bands' must be >= 1, but got "
                     << op.getNBands();
  if (rtt(op.getSpectrum()).getRank() != 1)
    return shapeError(op, "spectrum", "[L]", op.getSpectrum().getType());
  float eps = op.getEps().convertToFloat();
  if (!std::isfinite(eps) || eps < 0.0f)
    return r.error() << "attribute 'eps' must be finite and >= 0, but got "
                     << eps;
  return success();
}

LogicalResult rotary::detail::verifyContract(AdaptiveMomentumOp op,
                                             ShapeRules &r) {
  Value ema = op.getEma();
  if (rtt(ema).getRank() != 1)
    return shapeError(op, "ema", "[n] with n >= 1 bands", ema.getType());
  Size bands = r.dim(ema, 0);
  return r.require(r.constant(1), Cmp::LE, bands,
                   "operand 'ema' must have at least one band",
                   {{"bands", bands}});
}

LogicalResult rotary::detail::verifyContract(FamStepOp op, ShapeRules &r) {
  Value p = op.getParam(), m = op.getMomentum();
  Type pe = rtt(p).getElementType(), me = rtt(m).getElementType();
  if (rtt(m).getRank() != rtt(p).getRank())
    return shapeError(op, "momentum",
                      fmtShape(rtt(p).getShape()) + " (the shape of 'param')",
                      m.getType());
  if (failed(verifyLike(r, "momentum", m, "param", p)) ||
      failed(verifyLike(r, "grad", op.getGrad(), "param", p)))
    return failure();
  if (me != pe && !me.isF32())
    return r.error() << "operand 'momentum' must have the element type of "
                        "'param' ("
                     << pe << ") or f32, but got " << me;
  float wd = op.getWeightDecay().convertToFloat();
  if (!std::isfinite(wd) || wd < 0.0f)
    return r.error() << "attribute 'weight_decay' must be finite and >= 0, "
                        "but got "
                     << wd;
  return success();
}

LogicalResult rotary::detail::verifyContract(QuaternionRotateOp op,
                                             ShapeRules &r) {
  return verifyQuaternion(r, op.getX(), op.getAxis(), op.getAngle());
}
