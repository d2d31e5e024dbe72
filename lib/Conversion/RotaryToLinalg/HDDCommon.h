//===- HDDCommon.h - building blocks of the HDD-RoPE lowerings --*- C++ -*-===//
//
// Shared by the forward (LowerHDD.cpp) and gradient (LowerHDDGrad.cpp)
// lowerings. A "scalar matrix" is a c×c matrix held as c² f32 Values in
// row-major order: the kernels keep P and G in registers this way, with c a
// static attribute so every loop over c is unrolled.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_ROTARYTOLINALG_HDDCOMMON_H
#define LIB_CONVERSION_ROTARYTOLINALG_HDDCOMMON_H

#include "Lowering.h"

namespace rotary::lowering::hdd {

/// Largest chunk whose exp form is unrolled into scalars; larger chunks use
/// c×c tensors and loops.
inline constexpr int64_t kMaxExpChunk = 8;

/// Lexicographic (p, q), p < q: the order of docs/Math.md §5.
SmallVector<std::pair<int64_t, int64_t>> generatorPairs(int64_t c);

/// Right-multiplies the scalar matrix `m` (or R×c rows of one) by
/// G_(0,1)(a_0)·G_(0,2)(a_1)⋯.
void applyGenerator(OpBuilder &b, Location loc, int64_t c, ArrayRef<Value> a,
                    SmallVectorImpl<Value> &m);
/// The same from the angles' cosines and sines.
void applyGenerator(OpBuilder &b, Location loc, int64_t c, ArrayRef<Value> cs,
                    ArrayRef<Value> sn, SmallVectorImpl<Value> &m);
/// cos and sin of a generator's angle k, made where it is asked for.
using GivensTrig = function_ref<std::pair<Value, Value>(int64_t k)>;
/// The same asking `trig` for each rotation's cos and sin where it is
/// applied.
void applyGenerator(OpBuilder &b, Location loc, int64_t c, GivensTrig trig,
                    SmallVectorImpl<Value> &m);

/// The identity as a scalar matrix of `elt` (f32 when null).
SmallVector<Value> identity(OpBuilder &b, Location loc, int64_t c,
                            Type elt = {});

/// op(x)·op(y) for scalar matrices, op = transpose where asked; without
/// transposeX, x may also be R×c rows (R·c scalars), and so is the result.
SmallVector<Value> matmul(OpBuilder &b, Location loc, int64_t c,
                          ArrayRef<Value> x, ArrayRef<Value> y,
                          bool transposeX = false, bool transposeY = false);

/// Row r of op(m)·v for a scalar matrix m and c scalars v (op = transpose
/// when `transposed`), summed from 0 in f32.
Value matVecRow(OpBuilder &b, Location loc, int64_t c, ArrayRef<Value> m,
                ArrayRef<Value> v, int64_t r, bool transposed);
/// All c rows of op(m)·v.
SmallVector<Value> matVec(OpBuilder &b, Location loc, int64_t c,
                          ArrayRef<Value> m, ArrayRef<Value> v,
                          bool transposed);

/// so_generator for one chunk as a scalar matrix (`form` givens or exp;
/// exp needs c <= kMaxExpChunk).
SmallVector<Value> generator(OpBuilder &b, Location loc, int64_t c,
                             SOForm form, ArrayRef<Value> a);

/// exp(A) for the skew matrix A[p,q] = a_pq (c <= kMaxExpChunk).
SmallVector<Value> skewExp(OpBuilder &b, Location loc, int64_t c,
                           ArrayRef<Value> a);

/// ā from Ḡ through so_generator (docs/Math.md §5): `g` is generator(a), the
/// forward value (only read by the givens form). Returns c(c-1)/2 values.
SmallVector<Value> generatorAdjoint(OpBuilder &b, Location loc, int64_t c,
                                    SOForm form, ArrayRef<Value> a,
                                    ArrayRef<Value> g, ArrayRef<Value> gBar);
/// The givens form of generatorAdjoint from the angles' cosines and sines.
/// With R×c rows of G and Ḡ, the rows' share of ā (rows are independent:
/// ā is a sum over them).
SmallVector<Value> givensAdjoint(OpBuilder &b, Location loc, int64_t c,
                                 ArrayRef<Value> cs, ArrayRef<Value> sn,
                                 ArrayRef<Value> g, ArrayRef<Value> gBar);

/// The givens form of generatorAdjoint, the angles' cos and sin asked for
/// as the walk needs them; `emit`, when given, sees each ā_k as soon as it
/// is known (from the last angle to the first).
SmallVector<Value> givensAdjoint(OpBuilder &b, Location loc, int64_t c,
                                 GivensTrig trig, ArrayRef<Value> g,
                                 ArrayRef<Value> gBar,
                                 function_ref<void(int64_t, Value)> emit = {});

/// A task of givensRowTasks: its matrix m and row r, the angles' cos and
/// sin (`trig`), and `write(i, v)`, entry i of its row of the result.
using GivensRowBody =
    function_ref<void(OpBuilder &, Location, Value m, Value r, GivensTrig trig,
                      function_ref<void(int64_t, Value)> write)>;
/// Givens-form generators by rows, for chunks too large for a task to hold
/// G whole: the rows of G are independent (each rotation mixes two columns
/// of every row), so a task per (matrix m, row r) of `angles` [M, K] needs
/// 2c values where G takes c², with cos and sin computed once per angle
/// beforehand rather than per task. Returns [M, c, width]: row (m, r) is
/// what `body` writes.
Value givensRowTasks(OpBuilder &b, Location loc, Value angles, int64_t c,
                     int64_t width, GivensRowBody body);
/// G [M, c, c] of the angles [M, K] (Givens form) by givensRowTasks: row r
/// is e_r pushed through the chain.
Value givensByRows(OpBuilder &b, Location loc, Value angles, int64_t c);
/// cos and sin of every angle of `angles` (any rank), as two f32 tensors of
/// its shape: one elementwise op, so that tasks read them instead of each
/// evaluating them.
std::pair<Value, Value> cosSinTables(OpBuilder &b, Location loc, Value angles);
/// Rows [row0, row0 + rows) of the c×c identity as scalars (row0 known at
/// run time).
SmallVector<Value> identityRows(OpBuilder &b, Location loc, int64_t c,
                                Value row0, int64_t rows);

//===----------------------------------------------------------------------===//
// Lanes: the fused Givens-form kernels (forward and backward) treat every
// (h, chunk) of a token as a lane, and a scan step as a loop over a task's
// lanes that LLVM vectorises (one lane per vector element).
//===----------------------------------------------------------------------===//

/// Lanes per task of a fused Givens-form hdd_rope(_grad), as a target's
/// schedule recorded it (kTilesAttr {lanes = N}); an error on the op when
/// missing.
FailureOr<int64_t> lanesPerTask(Operation *op);
/// The tokens between saved P of a lane gradient op, from its recorded
/// tiles (an error on the op when missing).
FailureOr<int64_t> checkpointInterval(Operation *op);
/// acc + lhs·rhs (both read as acc's element type) over loops whose last is
/// the reduction and the others parallel, with the indexing maps `maps`
/// (lhs, rhs, acc): the products of the scans and rotations.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         Value acc, ArrayRef<AffineMap> maps);
/// X·Y for n×n tensors, written into `dst` (zeroed first).
Value matmulInto(OpBuilder &b, Location loc, Value x, Value y, Value dst);
/// `v` copied into `dst` (so a loop yields a value equivalent to its
/// iteration argument and bufferizes in place).
Value copyInto(OpBuilder &b, Location loc, Value v, Value dst);
/// Replaces `op` by a blocked scan over blocks of `block` steps: the blocks'
/// products in parallel (rotary.rotation_scan tasks of `rows` rows of a
/// product each, all c when 0), the exclusive scan of their totals
/// (parallel over columns and row tiles), and P_t = carry·local_t.
LogicalResult splitScan(RewriterBase &rewriter, RotationScanOp op,
                        int64_t block, int64_t rows);
/// Replaces the fused `op` by the same blocked scan with P never stored: a
/// task per (batch entry, block of `block` tokens, lane) multiplies its
/// block's G_t from the angles (c² scalars), the block totals are scanned
/// (a rotation_scan, parallel over lanes), and a task per (batch entry,
/// block, lane) runs its block again from its carry, writing y. The angles
/// are read twice, x and y once. With `rows` < c (the Givens form) the
/// tasks are per tile of `rows` rows of P as well, turning their rows by
/// the step's rotations (a row of P·G_t is that row times G_t): a task
/// writes its rows of y = P·x, or, for y = Pᵀ·x, its rows' share of every
/// entry, which a reduction over the row tiles sums.
LogicalResult splitLaneScan(RewriterBase &rewriter, HDDRopeLanesOp op,
                            int64_t block, int64_t rows = 0);
/// The identity for every lane: [c², lanes] f32, row e = (r, q) of the
/// matrices (static row length: rows a known distance apart are
/// independent for any vector of lanes, a run-time length would make LLVM
/// check every pair of rows for overlap before it vectorises).
Value laneIdentity(OpBuilder &b, Location loc, int64_t c, int64_t lanes);
/// Row e of the lanes' matrices at lane m, as c² scalars.
SmallVector<Value> loadLane(OpBuilder &b, Location loc, Value m, Value lane,
                            int64_t c);
/// The inverse: stores c² scalars at lane `lane` of `m`.
Value storeLane(OpBuilder &b, Location loc, Value m, Value lane,
                ArrayRef<Value> v);
/// x [B, T, H, D] as [B, T, H·D] and the angles [B, T, H, C, k] as
/// [B, T, H·C·k]: a lane's values sit at lane·c and lane·k, constant
/// strides (through a run-time stride LLVM vectorises only for a stride
/// of 1, and runs the scalar loop otherwise).
SmallVector<ReassociationIndices> laneRowsReassociation();
SmallVector<ReassociationIndices> laneAnglesReassociation();

/// cos and sin of the k angles of `lane` at token t, from angles viewed as
/// [B, T, lanes·k] (a constant stride: LLVM vectorises only those).
void laneSinCos(OpBuilder &b, Location loc, Value angles, Value bi, Value t,
                Value lane, int64_t k, SmallVectorImpl<Value> &cs,
                SmallVectorImpl<Value> &sn);
/// The c values of `lane` at token t of x viewed as [B, T, lanes·c], f32.
SmallVector<Value> laneFeatures(OpBuilder &b, Location loc, Value x, Value bi,
                                Value t, Value lane, int64_t c);

/// One lane's step of the fused Givens-form kernels (forward and backward),
/// in one of two layouts of a task's per-lane matrices P (and W):
/// - c ≤ kMaxUnrolledChunk: c² scalars per lane in a [c², lanes] buffer,
///   every rotation unrolled; LLVM vectorises the loop over lanes (one lane
///   per vector element).
/// - larger c: [lanes, c, c] with a matrix's columns contiguous; a step
///   loops over the c(c−1)/2 rotations with one c-wide vector per column,
///   so the IR does not grow with c².
/// The decompositions of hdd_rope_lanes and its gradient own the groups,
/// the scans and the checkpoints; a GivensLanes owns what happens to one
/// lane.
class GivensLanes {
public:
  /// Where a step is: batch bi, token t, lane m of the task (buffer
  /// index) and `lane`, its index among all of x's lanes.
  struct Step {
    Value bi, t, m, lane;
  };
  GivensLanes(int64_t c, int64_t lanes, bool inverse, SOForm form, Value angles)
      : c(c), k(c * (c - 1) / 2), lanes(lanes), inverse(inverse), form(form),
        angles(angles) {}
  virtual ~GivensLanes() = default;

  /// The lanes' matrices: the identity (P at t = −1) or zeros (W).
  virtual Value matrices(OpBuilder &b, Location loc, bool identity) const = 0;
  /// Buffers a task reuses at every step, carried through its loops.
  virtual SmallVector<Value> scratch(OpBuilder &b, Location loc,
                                     bool backward) const {
    return {};
  }
  /// P ← P·G_t for lane s.m; with `y` ([T, n·c] of x's element type), also
  /// writes y_t = P_t·x_t (P_tᵀ·x_t with `inverse`) at [t, m·c].
  virtual void forward(OpBuilder &b, Location loc, const Step &s, Value x,
                       Value &p, Value *y,
                       MutableArrayRef<Value> scratch) const = 0;
  /// Token t of the reverse scan, P = P_t on entry: W += ȳ·yᵀ (x·x̄ᵀ with
  /// `inverse`), x̄_t written at [t, m·c] of dx, ā_t (from
  /// Ḡ_t = P_{t−1}ᵀ·W·P_t) at [t, m·k] of da, and P ← P_{t−1} = P_t·G_tᵀ.
  virtual void backward(OpBuilder &b, Location loc, const Step &s, Value x,
                        Value dy, Value &p, Value &w, Value &dx, Value &da,
                        MutableArrayRef<Value> scratch) const = 0;

  int64_t c, k, lanes;
  bool inverse;
  /// How a lane's angles make G_t: Givens rotations, or (unrolled lanes
  /// only, c ≤ 8) exp of the skew matrix.
  SOForm form;
  Value angles; ///< [B, T, lanes·k]
};
/// A group of lanes of a lane op's block: batch entry bi, the group's
/// first lane l0 in the block and `first` in x (the op's first_lane + l0),
/// and its n lanes.
struct LaneGroup {
  Value bi, l0, first, n;
};
/// The decompositions' walk over a lane op's block: per batch entry and
/// group of at most `perGroup` lanes, `body` gets the group and its slice
/// [T, n·per[i]] of every init `inits[i]` ([B, T, lanes·per[i]]) and
/// returns their new values, which go back in place; returns the inits'
/// final values. A block provably no wider than one group (a tile of the
/// schedule's) gets no loop over groups: a one-trip loop of run-time
/// bound around the scans made the forward 15-20 % slower.
SmallVector<Value> forEachLaneGroup(
    OpBuilder &b, Location loc, ValueRange inits, Value firstLane,
    ArrayRef<int64_t> per, int64_t perGroup,
    function_ref<SmallVector<Value>(const LaneGroup &, ValueRange)> body);
/// Largest chunk whose rotations the lane kernels unroll.
inline constexpr int64_t kMaxUnrolledChunk = 8;
/// The layout for chunk c of fused `op` in `form`, with the lanes per task
/// its schedule recorded and its angles [B, T, H, C, k] viewed as
/// laneAnglesReassociation says.
FailureOr<std::unique_ptr<GivensLanes>> givensLanes(OpBuilder &b, Operation *op,
                                                    int64_t c, bool inverse,
                                                    SOForm form, Value angles);

/// One token of the backward scan with P in scalars: returns x̄ = Pᵀ·ȳ
/// (P·ȳ with `inverse`) and adds P̄·Pᵀ to W, which is ȳ·yᵀ with y = P·x, or
/// x·x̄ᵀ with `inverse`.
SmallVector<Value> scanStepGrads(OpBuilder &b, Location loc, int64_t c,
                                 ArrayRef<Value> p, ArrayRef<Value> xv,
                                 ArrayRef<Value> yb, bool inverse,
                                 SmallVectorImpl<Value> &w);

/// For every m in [0, count): exp(M_m) by scaling and squaring with n×n
/// tensors and loops (for matrices too large to unroll), in f64. `build`
/// returns M_m (f32) and a bound on its norm that picks the scaling. Result
/// [count, n, n] f64.
Value batchedLargeExp(
    OpBuilder &b, Location loc, int64_t n, Value count,
    function_ref<std::pair<Value, Value>(OpBuilder &, Location, Value)> build);

/// The size-1 slices [...] of `t` [..., K] along its last dim, one per k.
SmallVector<Value> lastDimSlices(OpBuilder &b, Location loc, Value t);
/// The c² slices [...] of `m` [..., c, c], row-major.
SmallVector<Value> matrixSlices(OpBuilder &b, Location loc, Value m);
/// Reassembles `parts` (each [...]) as the last dims `trailing` of a new
/// f32 tensor [..., trailing...] (row-major).
Value stackTrailing(OpBuilder &b, Location loc, ValueRange parts,
                    ArrayRef<int64_t> trailing);

/// Loads / stores the scalar matrix at leading indices `lead` of
/// [..., R, c] (R = c for a square matrix; R·c scalars).
SmallVector<Value> loadMatrix(OpBuilder &b, Location loc, Value m,
                              ValueRange lead, int64_t c);
Value storeMatrix(OpBuilder &b, Location loc, Value dst, ValueRange lead,
                  int64_t c, ArrayRef<Value> v);

/// `v` cast to static trailing dims `trailing` (the verifier allows them to
/// be dynamic; the lowering sizes its unrolled code by them).
Value withStaticTrailing(OpBuilder &b, Location loc, Value v,
                         ArrayRef<int64_t> trailing);

/// op(X)·op(Y) over matching leading dims of f32 [..., c, c] tensors.
Value batchedMatmul(OpBuilder &b, Location loc, Value x, Value y,
                    bool transposeX, bool transposeY);

/// x [B, T, H, D] viewed as [B, T, H, D/c, c] (whose sizes go to
/// `chunkedSizes` when given).
Value chunked(OpBuilder &b, Location loc, Value x, int64_t c,
              SmallVectorImpl<OpFoldResult> *chunkedSizes = nullptr);
/// hdd_rope with P: per chunk m (a column vector), y = P_t[m]·x (or
/// P_t[m]ᵀ·x with `transposed`), in f32, stored in x's element type.
Value applyChunkRotations(OpBuilder &b, Location loc, Value x, Value p,
                          int64_t c, bool transposed);

} // namespace rotary::lowering::hdd

#endif // LIB_CONVERSION_ROTARYTOLINALG_HDDCOMMON_H
