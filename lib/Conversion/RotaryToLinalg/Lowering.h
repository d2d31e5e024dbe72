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

/// Whether `op` carries the recorded tile `name` (a schedule's choice of
/// form, such as `row_threads`, the GPU's thread per row of a chain).
bool hasTile(Operation *op, StringRef name);

/// The positive sizes `fields` of the tiles a target's schedule recorded on
/// `op` (kTilesAttr); an error on the op naming `what` and the expected
/// dictionary (`form`) when one is missing or not positive.
FailureOr<SmallVector<int64_t>> recordedTiles(Operation *op,
                                              ArrayRef<StringRef> fields,
                                              StringRef what, StringRef form);

/// Widens (or narrows) a float scalar to `to`.
Value castFloat(OpBuilder &b, Location loc, Value v, Type to);
/// f32 view of a float scalar: the type all rotary math is done in.
inline Value toF32(OpBuilder &b, Location loc, Value v) {
  return castFloat(b, loc, v, b.getF32Type());
}
/// One Givens rotation of a row's pair (docs/Math.md §2):
/// (x_i, x_j) -> (x_i·cos + x_j·sin, x_j·cos − x_i·sin).
std::pair<Value, Value> rotatePair(OpBuilder &b, Location loc, Value xi,
                                   Value xj, Value cs, Value sn);

/// A scalar (int or float) position as f64.
Value positionToF64(OpBuilder &b, Location loc, Value p);

/// tensor.empty with the sizes of `like` and element type `elt`.
Value emptyLike(OpBuilder &b, Location loc, Value like, Type elt);
Value emptyOf(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type elt);
/// A float constant of `type`, and the f32 one.
Value floatConst(OpBuilder &b, Location loc, Type type, double v);
Value f32c(OpBuilder &b, Location loc, double v);
/// `v` converted elementwise to element type `elt` (v itself when it
/// already is).
Value convertTensor(OpBuilder &b, Location loc, Value v, Type elt);
/// `v` tensor.cast to `type` (v itself when it already is).
Value castTo(OpBuilder &b, Location loc, Value v, Type type);
/// A zero-filled accumulator of the given sizes and float type `elt`.
Value zerosOf(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type elt);
/// An f32 tensor of `sizes` holding 1 where its indices along dims `i` and
/// `j` are equal, else 0 (identity matrices, stacked along the other dims).
Value identityF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  int64_t i, int64_t j);
/// A zero-filled f32 accumulator of the given sizes.
Value zerosF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes);

/// The type of a slice with `sizes`, keeping only the dims not in `dropped`.
RankedTensorType sliceType(ArrayRef<OpFoldResult> sizes,
                           ArrayRef<int64_t> dropped, Type elt);

/// The index constant v.
Value indexConst(OpBuilder &b, Location loc, int64_t v);
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

/// cos θ and sin θ of an f64 θ without libm calls (error < 3e-14).
std::pair<Value, Value> sinCosF64(OpBuilder &b, Location loc, Value theta);
/// cos θ and sin θ of an f32 θ without libm calls or branches, so a loop of
/// them vectorises: the reduction by π/2 in f64 (exact for any f32 θ), the
/// polynomials in f32 with fused multiply-adds (error ~1e-7).
std::pair<Value, Value> sinCosF32(OpBuilder &b, Location loc, Value theta);

/// y[m, (h,) e] = Σ_d x[m, (h,) d]·R[(h,) d, e], accumulated in f32, for
/// x [M, D] and R [D, E], or per head x [M, H, D] and R [H, D, E]: the
/// structured contraction (a linalg.generic) that the CPU schedule tiles.
/// Accumulates into `into` (zeroed; an f32 tensor of the result's shape)
/// when given, else into a new one.
Value contractRows(OpBuilder &b, Location loc, Value x, Value mat, bool perHead,
                   Value into = Value());
/// acc + x·R: the same contraction into `acc` (f32, the result's shape).
Value accumulateRows(OpBuilder &b, Location loc, Value x, Value mat, Value acc,
                     bool perHead);

/// δ_ij as an f32 scalar: 1 where indices `i` and `j` are equal, else 0
/// (the identity inside a generic's body).
Value kroneckerDelta(OpBuilder &b, Location loc, Value i, Value j);

/// `body(index, values)` for every index in [0, n) threading `inits`
/// through (an scf.for, or straight-line code when n is the constant 1):
/// how a decomposition walks the batch entries, heads or groups of a block.
SmallVector<Value>
forEachIndex(OpBuilder &b, Location loc, OpFoldResult n, ValueRange inits,
             function_ref<SmallVector<Value>(Value, ValueRange)> body);
/// The number of groups of `width` items in dim `dim` of `v`, an item
/// being `per` elements: ceil(size / per / width), or the constant 1 when
/// MLIR's value-bounds analysis proves the dim at most width · per (a tile
/// of the schedule's size), so that no one-trip loop is built around a
/// group.
OpFoldResult groupCount(OpBuilder &b, Location loc, Value v, int64_t dim,
                        int64_t per, int64_t width);
/// The extent of the tile starting at `start` of a loop over [0, total)
/// with tiles of `tile`: min(tile, total - start).
OpFoldResult tileExtent(OpBuilder &b, Location loc, OpFoldResult total,
                        Value start, int64_t tile);
/// Component `c` of the last dimension of `src` [..., K], as [...].
Value lastDimComponent(OpBuilder &b, Location loc, Value src, int64_t c);
/// The inverse: `comps` [...] stacked along a new last dimension into a
/// tensor of `sizes` and element type `elt`.
Value stackLastDim(OpBuilder &b, Location loc, ArrayRef<Value> comps,
                   ArrayRef<OpFoldResult> sizes, Type elt);

void populateRopePatterns(RewritePatternSet &patterns);
void populateRopeGradPatterns(RewritePatternSet &patterns);
/// rotary.rope_tokens_grad tiles into linalg (rotary-tile-and-decompose).
void populateRopeGradDecompositionPatterns(RewritePatternSet &patterns);
void populateChainPatterns(RewritePatternSet &patterns, ChainStrategy chains);
void populateOrthogonalPatterns(RewritePatternSet &patterns);
/// Givens chains' gradients chain or fold as `chains` says (auto: the
/// cost model).
void populateChainGradPatterns(RewritePatternSet &patterns,
                               ChainStrategy chains);
void populateElementwisePatterns(RewritePatternSet &patterns);
void populateFamPatterns(RewritePatternSet &patterns);
void populateHDDPatterns(RewritePatternSet &patterns);
/// `scan`: the fused gradient runs unfused (LoweringOptions::hddScan).
void populateHDDGradPatterns(RewritePatternSet &patterns, bool scan);
void populateAttentionPatterns(RewritePatternSet &patterns);
void populateAttentionGradPatterns(RewritePatternSet &patterns);

/// The decompositions of rotary-tile-and-decompose: a (tiled) structured op
/// into linalg, scf and tensor ops.
void populateAttentionDecompositionPatterns(RewritePatternSet &patterns);
void populateAttentionGradDecompositionPatterns(RewritePatternSet &patterns);
void populateHDDDecompositionPatterns(RewritePatternSet &patterns);
void populateScanDecompositionPatterns(RewritePatternSet &patterns);
void populateHDDGradDecompositionPatterns(RewritePatternSet &patterns);
void populateChainDecompositionPatterns(RewritePatternSet &patterns);

} // namespace rotary::lowering

#endif // LIB_CONVERSION_ROTARYTOLINALG_LOWERING_H
