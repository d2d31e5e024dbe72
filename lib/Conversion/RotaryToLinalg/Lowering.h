//===- Lowering.h - helpers shared by the rotary lowerings ------*- C++ -*-===//
#ifndef LIB_CONVERSION_ROTARYTOLINALG_LOWERING_H
#define LIB_CONVERSION_ROTARYTOLINALG_LOWERING_H

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace rotary::lowering {
using namespace mlir;

/// Widens (or narrows) a float scalar to `to`.
Value castFloat(OpBuilder &b, Location loc, Value v, Type to);
/// f32 view of a float scalar: the type all rotary math is done in.
inline Value toF32(OpBuilder &b, Location loc, Value v) {
  return castFloat(b, loc, v, b.getF32Type());
}
/// One Givens rotation of a row's pair (SPEC §2):
/// (x_i, x_j) -> (x_i·cos + x_j·sin, x_j·cos − x_i·sin).
std::pair<Value, Value> rotatePair(OpBuilder &b, Location loc, Value xi,
                                   Value xj, Value cs, Value sn);

/// A scalar (int or float) position as f64.
Value positionToF64(OpBuilder &b, Location loc, Value p);

/// tensor.empty with the sizes of `like` and element type `elt`.
Value emptyLike(OpBuilder &b, Location loc, Value like, Type elt);
Value emptyOf(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type elt);
/// A zero-filled f32 accumulator of the given sizes.
Value zerosF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes);

/// The type of a slice with `sizes`, keeping only the dims not in `dropped`.
RankedTensorType sliceType(ArrayRef<OpFoldResult> sizes,
                           ArrayRef<int64_t> dropped, Type elt);

/// Size `i` of `v` as an index Value.
Value dimOf(OpBuilder &b, Location loc, Value v, int64_t i);

/// Collapses all but the last `keep` dims of `v` into one leading dim (adds
/// a unit leading dim when there is none to collapse).
Value collapseLeading(OpBuilder &b, Location loc, Value v, int64_t keep);
/// The inverse: expands the leading dim of `v` back to `sizes` (all dims of
/// the original tensor but the last `keep`).
Value expandLeading(OpBuilder &b, Location loc, Value v,
                    ArrayRef<OpFoldResult> leading, int64_t keep);

/// Elementwise linalg.generic: all maps are identities over `rank` loops,
/// except 0-d operands which broadcast.
linalg::GenericOp
elementwise(OpBuilder &b, Location loc, ValueRange inputs, ValueRange outputs,
            int64_t rank,
            function_ref<void(OpBuilder &, Location, ValueRange)> body);

/// RoPE's angle table: cos θ and sin θ [positions..., r/2] in f32, computed
/// in f64 once per call (decision 0013); `half` is r/2. Null operands are
/// absent (frequencies then come from `baseAttr`).
struct RopeTable {
  Value cos, sin;
  OpFoldResult half;
};
RopeTable buildRopeTable(OpBuilder &b, Location loc, Value positions,
                         OpFoldResult rotaryDim, float baseAttr, Value invFreq,
                         Value phase, Value scale, Value runtimeBase,
                         bool inverse);

void populateRopePatterns(RewritePatternSet &patterns);
void populateChainPatterns(RewritePatternSet &patterns);
void populateElementwisePatterns(RewritePatternSet &patterns);
void populateFamPatterns(RewritePatternSet &patterns);
void populateHDDPatterns(RewritePatternSet &patterns);
void populateAttentionPatterns(RewritePatternSet &patterns);

} // namespace rotary::lowering

#endif // LIB_CONVERSION_ROTARYTOLINALG_LOWERING_H
