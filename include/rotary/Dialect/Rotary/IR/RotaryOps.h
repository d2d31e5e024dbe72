//===- RotaryOps.h - rotary ops ---------------------------------*- C++ -*-===//
#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_H
#define ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/RuntimeVerifiableOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"

namespace rotary {
/// The first `n` rotations of the round-robin (circle-method) schedule over
/// `d` features (d even), flattened as i0, j0, i1, j1, ... (docs/Math.md §2).
llvm::SmallVector<int64_t> roundRobinPairs(int64_t d, int64_t n);
/// GivensOp::getEffectivePairs writes out the default schedule up to this
/// many rotations (more would cost more than it could save).
inline constexpr int64_t kMaxMaterializedPairs = int64_t(1) << 20;
/// xPos's defaults (docs/Math.md §1) when xpos_scale_base / xpos_gamma are
/// not given.
inline constexpr float kDefaultXPosScaleBase = 512.0f;
inline constexpr float kDefaultXPosGamma = 0.4f;
/// Everything of rotary.rope besides x and positions, for C++ builders.
struct RopeOptions {
  RopeLayout layout = RopeLayout::half;
  std::optional<int64_t> rotaryDim; ///< default: D
  std::optional<float> base;        ///< default: 10000 (without invFreq)
  mlir::Value invFreq, phase, scale, runtimeBase; ///< optional operands
  bool inverse = false;
  /// xPos (docs/Math.md §1): the query or key scale; absent: plain RoPE.
  std::optional<XPosRole> xpos;
  std::optional<float> xposScaleBase; ///< default: 512 (needs xpos)
  std::optional<float> xposGamma;     ///< default: 0.4 (needs xpos)
};

/// Everything of rotary.attention besides q, k and v, for C++ builders.
struct AttentionOptions {
  bool causal = false;
  int64_t window = -1; ///< -1: unlimited
  int64_t globalTokens = 0;
  std::optional<float> scale; ///< default: D^-1/2
  mlir::Value bias, span;     ///< optional operands
  std::optional<float> spanRamp;
};

/// Number of pairs (p, q), p < q, of a chunk of size c: c(c-1)/2.
inline int64_t numGeneratorAngles(int64_t c) { return c * (c - 1) / 2; }

/// c of a ranked [..., c, c] tensor type: whichever of the two trailing
/// dims is static (verifiers make them equal), else ShapedType::kDynamic.
int64_t trailingMatrixSize(mlir::Type type);

// PartialReductionOpInterface's and RuntimeVerifiableOpInterface's
// generated declarations name these unqualified.
using mlir::function_ref;
using mlir::Location;
using mlir::MergeResult;
using mlir::Operation;
using mlir::ReductionTilingStrategy;
using mlir::SmallVector;
using mlir::StringRef;
using mlir::TilingResult;
using mlir::Value;
using mlir::ValueRange;
} // namespace rotary

#include "rotary/Dialect/Rotary/IR/RotaryInterfaces.h.inc"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace rotary {
/// DifferentiableOpInterface for the upstream ops a function may hold
/// (linalg.transpose).
void registerDifferentiableExternalModels(mlir::DialectRegistry &registry);
/// tensor.empty with the type and (run-time) sizes of `like`.
mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like);
/// Zeros shaped like `like`.
mlir::Value zerosLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like);
} // namespace rotary

#define GET_OP_CLASSES
#include "rotary/Dialect/Rotary/IR/RotaryOps.h.inc"

namespace mlir {
class RewriterBase;
} // namespace mlir

namespace rotary {
/// Replaces `op` by its definition (Math §4): [rope ->] givens -> orthogonal.
void expandRotationBlock(mlir::RewriterBase &rewriter, RotationBlockOp op);
} // namespace rotary

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYOPS_H
