//===- CpuSchedule.cpp - the CPU schedule passes --------------------------===//
//
// The CPU schedule of the structured kernels that convert-rotary-to-linalg
// leaves whole. rotary-cpu-configure decides (from the vector width) and
// records the decision on the op; rotary-cpu-schedule applies it with
// upstream tiling, peeling and vectorisation. Keeping the two apart lets a
// test pin a schedule, and a user override one, without touching the
// lowering. rotary-approximate-math (f32 exp/log as polynomials) is part of
// the same CPU-specific step.
//
//===----------------------------------------------------------------------===//

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/IR/RotaryOps.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYCPUCONFIGURE
#define GEN_PASS_DEF_ROTARYCPUSCHEDULE
#define GEN_PASS_DEF_ROTARYAPPROXIMATEMATH
#define GEN_PASS_DEF_ROTARYSCALARLOOPS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
constexpr StringLiteral kScheduleAttr = "rotary.cpu_schedule";
/// Marks, while one op is scheduled, the blocks its schedule made.
constexpr StringLiteral kBlockAttr = "rotary.cpu_block";
/// What the schedule left scalar (remainder blocks), for rotary-scalar-loops.
constexpr StringLiteral kScalarLoopsAttr = "rotary.scalar_loops";

/// The dimensions of a matmul-like contraction the CPU schedule handles:
/// one m, one n, one k and any batch dims, with n the last dimension of the
/// output and of the right operand (so a register row is contiguous in both)
/// and the result the only output.
struct MatmulDims {
  unsigned m, n, k;
  SmallVector<unsigned, 2> batch;
};

std::optional<MatmulDims> matmulDims(linalg::LinalgOp op) {
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1)
    return std::nullopt;
  unsigned n = dims->n.front();
  auto lastIs = [&](OpOperand *operand, unsigned dim) {
    AffineMap map = op.getMatchingIndexingMap(operand);
    return map.getNumResults() > 0 &&
           map.getResults().back().isFunctionOfDim(dim) &&
           isa<AffineDimExpr>(map.getResults().back());
  };
  if (!lastIs(op.getDpsInputOperand(1), n) ||
      !lastIs(op.getDpsInitOperand(0), n))
    return std::nullopt;
  return MatmulDims{dims->m.front(), n, dims->k.front(),
                    llvm::to_vector(dims->batch)};
}

/// The extent of loop `d` of `op`: static, or a constant upper bound that
/// MLIR's value-bounds analysis proves from an operand's size (a tile of a
/// kernel's own loop, such as min(64, T - i0)); nullopt when neither.
std::optional<int64_t> extentBound(linalg::LinalgOp op, unsigned d) {
  int64_t extent = op.getStaticLoopRanges()[d];
  if (!ShapedType::isDynamic(extent))
    return extent;
  for (OpOperand &o : op->getOpOperands()) {
    for (auto [i, e] :
         llvm::enumerate(op.getMatchingIndexingMap(&o).getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(e);
      if (!dim || dim.getPosition() != d)
        continue;
      FailureOr<int64_t> ub = ValueBoundsConstraintSet::computeConstantBound(
          presburger::BoundType::UB,
          ValueBoundsConstraintSet::Variable(o.get(), static_cast<int64_t>(i)),
          /*stopCondition=*/nullptr, /*closedUB=*/true);
      if (succeeded(ub))
        return *ub;
    }
  }
  return std::nullopt;
}

int64_t scheduleValue(DictionaryAttr schedule, StringRef name) {
  auto a = schedule.getAs<IntegerAttr>(name);
  return a ? a.getInt() : 0;
}

/// The attention gradient's query and key passes over the same operands as
/// one rotary.online_attention_grad at the later of the two, which every
/// user of either's results must follow; the partial inits zeroed.
void fuseAttentionGradPasses(func::FuncOp f) {
  SmallVector<std::pair<OnlineAttentionQueryGradOp, OnlineAttentionKeyGradOp>>
      pairs;
  f.walk([&](OnlineAttentionKeyGradOp keys) {
    // The key pass of a block of keys is not the whole gradient's.
    if (!isConstantIntValue(keys.getFirstKey(), 0))
      return;
    for (Operation *user : keys.getQ().getUsers()) {
      auto queries = dyn_cast<OnlineAttentionQueryGradOp>(user);
      if (!queries || queries->getBlock() != keys->getBlock() ||
          queries.getK() != keys.getK() || queries.getV() != keys.getV() ||
          queries.getDoutput() != keys.getDoutput() ||
          queries.getLse() != keys.getLse() ||
          queries.getDelta() != keys.getDelta() ||
          queries.getBias() != keys.getBias() ||
          queries.getSpan() != keys.getSpan() ||
          queries.getFirstPosition() != keys.getFirstPosition() ||
          queries.getCausal() != keys.getCausal() ||
          queries.getWindow() != keys.getWindow() ||
          queries.getGlobalTokens() != keys.getGlobalTokens() ||
          queries.getScaleAttr() != keys.getScaleAttr() ||
          queries.getSpanRampAttr() != keys.getSpanRampAttr() ||
          queries->getAttr(kTilesAttr) != keys->getAttr(kTilesAttr))
        continue;
      pairs.emplace_back(queries, keys);
      return;
    }
  });
  for (auto [queries, keys] : pairs) {
    Operation *first = queries, *later = keys;
    if (keys->isBeforeInBlock(queries))
      std::swap(first, later);
    Block *block = later->getBlock();
    bool usersFollow = llvm::all_of(first->getUsers(), [&](Operation *user) {
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      return inBlock && later->isBeforeInBlock(inBlock);
    });
    if (!usersFollow)
      continue;
    OpBuilder b(later);
    SmallVector<Value> inits = {queries.getInits()[0], keys.getInits()[0],
                                keys.getInits()[1]};
    // The fused op adds the partials to their inits (the query pass
    // overwrites them): zero them first.
    Location loc = keys.getLoc();
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    for (Value partial : queries.getInits().drop_front())
      inits.push_back(
          linalg::FillOp::create(b, loc, zero, partial).getResult(0));
    auto fused = OnlineAttentionGradOp::create(
        b, loc, ValueRange(inits).getTypes(), keys.getQ(), keys.getK(),
        keys.getV(), keys.getDoutput(), keys.getLse(), keys.getDelta(),
        keys.getBias(), keys.getSpan(), keys.getFirstPosition(), inits,
        keys.getCausalAttr(), keys.getWindowAttr(), keys.getGlobalTokensAttr(),
        keys.getScaleAttr(), keys.getSpanRampAttr());
    if (Attribute tiles = keys->getAttr(kTilesAttr))
      fused->setAttr(kTilesAttr, tiles);
    ValueRange r = fused.getResults();
    SmallVector<Value> queryResults = {r[0]};
    llvm::append_range(queryResults, r.drop_front(3));
    queries->replaceAllUsesWith(queryResults);
    keys->replaceAllUsesWith(r.slice(1, 2));
    queries->erase();
    keys->erase();
  }
}

struct CpuConfigurePass
    : rotary::impl::RotaryCpuConfigureBase<CpuConfigurePass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBits < 128 || vectorBits % 32 != 0) {
      getOperation().emitError("rotary-cpu-configure: vector-bits must be a "
                               "multiple of 32 and at least 128, got ")
          << static_cast<int64_t>(vectorBits);
      return signalPassFailure();
    }
    if (llvm::any_of(
            std::initializer_list<int64_t>{
                registerRows, registerCols, rowsPerTask, attentionQueryTile,
                attentionKeyTile, hddLanes, chainRows, hddCheckpoint,
                ropeTokens, scanBlock},
            [](int64_t v) { return v < 0; })) {
      getOperation().emitError(
          "rotary-cpu-configure: tile sizes must not be negative");
      return signalPassFailure();
    }
    int64_t lanes = vectorBits / 32;
    // Registers: 32 zmm with AVX-512, 16 ymm/xmm otherwise. A block of
    // rows × (cols / lanes) accumulators plus cols / lanes right-operand
    // vectors and one broadcast must fit, with enough independent FMAs
    // (rows × cols / lanes >= 2 units × 4 cycles of latency) to fill the
    // pipes.
    int64_t colVectors = vectorBits >= 512 ? 4 : 2;
    int64_t rows = registerRows ? registerRows : 6;
    int64_t cols = registerCols ? registerCols : colVectors * lanes;
    int64_t task = rowsPerTask ? rowsPerTask : 16 * rows;
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    // Attention and its gradient (structured ops): their
    // contractions are tile pairs of `query` rows and `key` columns, sized
    // to whole register blocks: 8 blocks of rows, and keys in whole blocks
    // of at least 64.
    int64_t queryTile = attentionQueryTile ? attentionQueryTile : 8 * rows;
    int64_t keyTile =
        attentionKeyTile ? attentionKeyTile : llvm::divideCeil(64, cols) * cols;
    // Fused Givens-form HDD-RoPE: chunks (lanes) per task, 128 for c <= 4,
    // fewer for larger chunks so that the task's c x c matrices per lane
    // stay within 8 KB (and at least 16 lanes).
    auto lanesFor = [&](int64_t c) -> int64_t {
      return hddLanes ? hddLanes : std::clamp<int64_t>(2048 / (c * c), 16, 128);
    };
    // Givens chains: a feature of a row group is one vector of `rows`
    // f32, four registers wide (64 rows with AVX-512, 32 with AVX2): a
    // rotation's two features and its broadcasts stay in registers with
    // room for the next rotation's loads.
    int64_t chainGroup = chainRows ? chainRows : 4 * lanes;
    if (!splitAttentionGrad)
      fuseAttentionGradPasses(getOperation());
    getOperation().walk([&](Operation *op) {
      if (isa<OnlineAttentionOp, OnlineAttentionQueryGradOp,
              OnlineAttentionKeyGradOp, OnlineAttentionGradOp>(op))
        recordTiles(op, {{"query", queryTile}, {"key", keyTile}});
      if (isa<GivensRowsOp>(op))
        recordTiles(op, {{"rows", chainGroup}});
      // Its gradient keeps f64 tiles in scalar row loops that LLVM
      // vectorises: the group is a cache block (two [D, 64] f64 tiles), not
      // a register width.
      if (isa<GivensRowsGradOp>(op))
        recordTiles(op, {{"rows", chainRows ? chainRows : 64}});
      if (isa<HDDRopeLanesOp>(op))
        recordTiles(op,
                    {{"lanes", lanesFor(cast<HDDRopeLanesOp>(op).getChunk())}});
      // The gradient saves the lanes' P every `checkpoint` tokens of its
      // forward scan: T / 64 saved P against at most 63 steps recomputed.
      if (auto g = dyn_cast<HDDRopeLanesGradOp>(op))
        recordTiles(op, {{"lanes", lanesFor(g.getChunk())},
                         {"checkpoint", hddCheckpoint ? hddCheckpoint : 64}});
      // A rope gradient's task: 16 tokens of one batch entry, whose partial
      // sums (2·r/2 f64) are 1/(16·H) of the bytes it reads.
      if (isa<RopeTokensGradOp>(op))
        recordTiles(op, {{"tokens", ropeTokens ? ropeTokens : 16}});
      // cumulative_rotation: tasks of 64 steps of one column, in parallel
      // over blocks as well as columns (a lone long sequence still splits),
      // at the cost of a second product per step.
      if (isa<RotationScanOp>(op))
        recordTiles(op, {{"block", scanBlock ? scanBlock : 64}});
    });
    // A 2-d f32 transpose inside a kernel's loops (the tile of an operand
    // that a contraction reads transposed, once per tile pair): square
    // blocks of one vector.
    getOperation().walk([&](linalg::TransposeOp op) {
      auto t = cast<ShapedType>(op.getInit().getType());
      if (op->hasAttr(kScheduleAttr) || t.getRank() != 2 ||
          !t.getElementType().isF32() || !op.hasPureTensorSemantics() ||
          !(op->getParentOfType<scf::ForallOp>() ||
            op->getParentOfType<scf::ForOp>()))
        return;
      op->setAttr(kScheduleAttr,
                  b.getDictionaryAttr(
                      {b.getNamedAttr("kind", b.getStringAttr("transpose")),
                       b.getNamedAttr("block", b.getI64IntegerAttr(lanes))}));
    });
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kScheduleAttr))
        return;
      std::optional<MatmulDims> dims = matmulDims(op);
      if (!dims)
        return;
      // A contraction inside a kernel's own loops (a tile of attention) is
      // already one task's work: register blocks only (rows_per_task 0),
      // when it is 2-d and not smaller than one block (small products,
      // such as c x c rotations, are left to LLVM).
      bool nested = op->getParentOfType<scf::ForallOp>() ||
                    op->getParentOfType<scf::ForOp>();
      if (nested) {
        SmallVector<int64_t> ranges = op.getStaticLoopRanges();
        auto atLeast = [&](unsigned d, int64_t size) {
          return ShapedType::isDynamic(ranges[d]) || ranges[d] >= size;
        };
        if (!dims->batch.empty() || !atLeast(dims->m, rows) ||
            !atLeast(dims->n, lanes))
          return;
      }
      // A static output width gets blocks that divide it, so that no
      // column remainder runs as scalar code: the whole width when it fits,
      // else the widest multiple of the vector width that divides it.
      int64_t n = op.getStaticLoopRanges()[dims->n];
      int64_t c = cols;
      if (!registerCols && !ShapedType::isDynamic(n)) {
        if (n <= cols) {
          c = n;
        } else {
          for (int64_t w = cols; w >= lanes; w -= lanes)
            if (n % w == 0) {
              c = w;
              break;
            }
        }
      }
      // Likewise rows that are a tile of a kernel's loop (at most E, and
      // E when the tile is full): blocks of 6, 5 or 4 rows that divide E,
      // so that a full tile has no remainder rows, which run as scalar
      // code (64 query rows: 16 blocks of 4, not 10 of 6 and 4 scalar).
      // Four rows of four vectors are still 16 independent FMA chains.
      int64_t r = rows;
      std::optional<int64_t> m = extentBound(op, dims->m);
      if (!registerRows && nested && m && *m % rows != 0)
        for (int64_t fewer = rows - 1; fewer >= 4; --fewer)
          if (*m % fewer == 0) {
            r = fewer;
            break;
          }
      SmallVector<NamedAttribute> fields = {
          b.getNamedAttr("kind", b.getStringAttr("matmul")),
          b.getNamedAttr("rows_per_task",
                         b.getI64IntegerAttr(nested ? 0 : task)),
          b.getNamedAttr("register_rows", b.getI64IntegerAttr(r)),
          b.getNamedAttr("register_cols", b.getI64IntegerAttr(c))};
      // A width the blocks may not divide (run-time, or static and not a
      // multiple): its remainder in blocks of one vector.
      if (c > lanes && (ShapedType::isDynamic(n) || n % c != 0))
        fields.push_back(
            b.getNamedAttr("tail_cols", b.getI64IntegerAttr(lanes)));
      op->setAttr(kScheduleAttr, b.getDictionaryAttr(fields));
    });
  }
};

/// acc + a·b on vectors, where a·b has no other use, as one fma: the
/// reduction of a contraction block over one k, which vector.contract's
/// lowering would also give, without relying on LLVM's contraction flags.
struct MulAddToFma : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::AddFOp add,
                                PatternRewriter &rewriter) const override {
    if (!isa<VectorType>(add.getType()))
      return failure();
    for (int64_t i = 0; i < 2; ++i) {
      Value prod = add->getOperand(i), acc = add->getOperand(1 - i);
      if (auto cast = prod.getDefiningOp<vector::ShapeCastOp>();
          cast && cast->hasOneUse())
        prod = cast.getSource();
      auto mul = prod.getDefiningOp<arith::MulFOp>();
      if (!mul || !mul->hasOneUse())
        continue;
      Location loc = add.getLoc();
      auto shaped = [&](Value v) -> Value {
        if (v.getType() == add.getType())
          return v;
        return vector::ShapeCastOp::create(rewriter, loc, add.getType(), v);
      };
      rewriter.replaceOpWithNewOp<math::FmaOp>(add, shaped(mul.getLhs()),
                                               shaped(mul.getRhs()), acc);
      return success();
    }
    return failure();
  }
};

/// A read that broadcasts its minor dimension (the left operand of a
/// register block: one scalar per row, splat across the columns), as one
/// scalar extract and one splat per row. Left to the generic transfer
/// lowering, every lane of every row becomes its own insert (64 per row on
/// AVX-512), which LLVM folds back into a splat only after spending most of
/// a kernel's compile time on them.
struct MinorBroadcastRead : OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;
  static constexpr int64_t kMaxRows = 64;
  LogicalResult matchAndRewrite(vector::TransferReadOp read,
                                PatternRewriter &rewriter) const override {
    VectorType type = read.getVectorType();
    AffineMap map = read.getPermutationMap();
    if (!isa<RankedTensorType>(read.getBase().getType()) || read.getMask() ||
        type.isScalable() || type.getRank() < 2 ||
        !llvm::all_of(read.getInBoundsValues(), [](bool b) { return b; }))
      return failure();
    auto minor = dyn_cast<AffineConstantExpr>(map.getResults().back());
    if (!minor || minor.getValue() != 0)
      return failure();
    ArrayRef<int64_t> shape = type.getShape();
    int64_t rows = 1;
    for (int64_t d : shape.drop_back())
      rows *= d;
    if (rows > kMaxRows)
      return failure();
    Location loc = read.getLoc();
    SmallVector<Value> scalars;
    SmallVector<int64_t> pos(shape.size() - 1, 0);
    for (int64_t r = 0; r < rows; ++r) {
      // Source index k moves with the vector dim that map result reads it.
      SmallVector<Value> indices(read.getIndices());
      for (auto [v, e] : llvm::enumerate(map.getResults().drop_back())) {
        auto dim = dyn_cast<AffineDimExpr>(e);
        if (!dim || pos[v] == 0) // a broadcast dim reads the same element
          continue;
        indices[dim.getPosition()] = arith::AddIOp::create(
            rewriter, loc, indices[dim.getPosition()],
            arith::ConstantIndexOp::create(rewriter, loc, pos[v]));
      }
      scalars.push_back(
          tensor::ExtractOp::create(rewriter, loc, read.getBase(), indices));
      for (int64_t d = pos.size() - 1; d >= 0; --d) {
        if (++pos[d] < shape[d])
          break;
        pos[d] = 0;
      }
    }
    // [rows..., 1] stretched along the minor dim: one splat per row.
    SmallVector<int64_t> columnShape(shape);
    columnShape.back() = 1;
    Value column = vector::FromElementsOp::create(
        rewriter, loc, VectorType::get(columnShape, type.getElementType()),
        scalars);
    Value result = vector::BroadcastOp::create(rewriter, loc, type, column);
    rewriter.replaceOp(read, result);
    return success();
  }
};

/// slice(fill(v, t)) -> fill(v, slice(t)), also when the fill has other
/// users (upstream's swap wants one): dropping a task's unit dims leaves its
/// fill used by a rank-reducing slice (the matmul's init) and as the
/// destination of the insert that writes the result back. With the fill on
/// the slice, each register block fuses its own fill, i.e. starts from a
/// zero vector instead of loading zeros stored by a pass over the tile.
struct SliceOfFill : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractSliceOp slice,
                                PatternRewriter &rewriter) const override {
    auto fill = slice.getSource().getDefiningOp<linalg::FillOp>();
    if (!fill || !fill.hasPureTensorSemantics())
      return failure();
    auto inner = tensor::ExtractSliceOp::create(
        rewriter, slice.getLoc(), slice.getType(), fill.getOutputs()[0],
        slice.getMixedOffsets(), slice.getMixedSizes(),
        slice.getMixedStrides());
    rewriter.replaceOpWithNewOp<linalg::FillOp>(slice, fill.getInputs()[0],
                                                inner.getResult());
    return success();
  }
};

/// insert_slice(x into fill(v, t)) that overwrites all of it ->
/// insert_slice(x into t): the fill is dead then.
struct OverwrittenFill : OpRewritePattern<tensor::InsertSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::InsertSliceOp insert,
                                PatternRewriter &rewriter) const override {
    auto fill = insert.getDest().getDefiningOp<linalg::FillOp>();
    if (!fill || !fill.hasPureTensorSemantics())
      return failure();
    // The fill's own destination is a slice of the same sizes (a task's
    // tile), or the sizes are static: then the insert covers it all.
    Value t = fill.getOutputs()[0];
    auto destType = cast<RankedTensorType>(t.getType());
    auto tile = t.getDefiningOp<tensor::ExtractSliceOp>();
    SmallVector<OpFoldResult> tileSizes;
    if (tile && tile.getSourceType().getRank() == destType.getRank())
      tileSizes = tile.getMixedSizes();
    if (!llvm::all_of(insert.getMixedOffsets(), isZeroInteger) ||
        !llvm::all_of(insert.getMixedStrides(), isOneInteger))
      return failure();
    for (auto [i, size] : llvm::enumerate(insert.getMixedSizes())) {
      std::optional<int64_t> c = getConstantIntValue(size);
      bool covered =
          (c && *c == destType.getDimSize(i)) ||
          (!tileSizes.empty() && isEqualConstantIntOrValue(size, tileSizes[i]));
      if (!covered)
        return failure();
    }
    rewriter.modifyOpInPlace(insert,
                             [&] { insert.getDestMutable().assign(t); });
    return success();
  }
};

/// Peels `loop` so that all but its last iteration have the full step;
/// returns the loops (the full one first) to look for inner loops in.
SmallVector<scf::ForOp> peel(RewriterBase &rewriter, scf::ForOp loop) {
  scf::ForOp partial;
  if (failed(scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial)))
    return {loop};
  return {loop, partial};
}

/// Producers fused into a task: the destination's (the zero fill) and the
/// left operand's (an elementwise producer of the rows, such as a rope), of
/// which a task needs only its own rows. The right operand's producer (the
/// transposed matrix) is needed whole by every task and stays outside,
/// computed once.
scf::SCFTileAndFuseOptions::ControlFnTy fuseIntoTask(Value lhs) {
  return [lhs](tensor::ExtractSliceOp slice, OpResult, bool destination)
             -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
    if (destination || slice.getSource() == lhs)
      return scf::SCFTileAndFuseOptions::ControlFnResult{};
    return std::nullopt;
  };
}

/// CSE, then every canonicalization pattern of the loaded dialects and ops
/// and the fill rewrites above, on `root` (what the canonicalizer pass
/// does, here on one subtree).
LogicalResult canonicalize(RewriterBase &rewriter, Operation *root) {
  MLIRContext *ctx = root->getContext();
  DominanceInfo dominance(root);
  eliminateCommonSubExpressions(rewriter, dominance, root);
  RewritePatternSet patterns(ctx);
  patterns.add<SliceOfFill, OverwrittenFill>(ctx);
  for (Dialect *d : ctx->getLoadedDialects())
    d->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  return applyPatternsGreedily(root, std::move(patterns));
}

/// Tile-and-fuse with `tiling` that fuses only the producers of the
/// destination (the zero fill of an accumulator), never of the inputs.
scf::SCFTileAndFuseOptions
fusingDestinations(const scf::SCFTilingOptions &tiling) {
  scf::SCFTileAndFuseOptions fusion;
  fusion.setTilingOptions(tiling).setFusionControlFn(
      [](tensor::ExtractSliceOp, OpResult, bool destination)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (destination)
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  return fusion;
}

/// Tiles `block` (a contraction the schedule made, see kBlockAttr) along
/// its loop `dim` by `size` with its fill fused, marks what the tiling made
/// and returns the loop.
FailureOr<scf::ForOp> tileBlock(RewriterBase &rewriter, linalg::LinalgOp block,
                                unsigned dim, int64_t size) {
  Builder b(block.getContext());
  SmallVector<OpFoldResult> sizes(block.getNumLoops(), b.getIndexAttr(0));
  sizes[dim] = b.getIndexAttr(size);
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(sizes);
  scf::SCFTileAndFuseOptions fusion = fusingDestinations(tiling);
  rewriter.setInsertionPoint(block);
  FailureOr<scf::SCFTileAndFuseResult> tiles =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(block.getOperation()), fusion);
  if (failed(tiles))
    return failure();
  for (OpResult r : block->getResults())
    rewriter.replaceAllUsesWith(r, tiles->replacements.lookup(r));
  rewriter.eraseOp(block);
  for (Operation *t : tiles->tiledAndFusedOps)
    t->setAttr(kBlockAttr, b.getUnitAttr());
  return cast<scf::ForOp>(tiles->loops.front().getOperation());
}

/// The contraction the schedule made inside `op`, if any.
linalg::LinalgOp findBlock(Operation *op) {
  linalg::LinalgOp block;
  op->walk([&](linalg::LinalgOp l) {
    if (l->hasAttr(kBlockAttr) && matmulDims(l))
      block = l;
  });
  return block;
}

/// Tiles the register block inside `colTail` (a peeled column remainder:
/// fewer than register_cols columns) into blocks of `tail` columns with its
/// fill fused, and peels that loop: the full ones get a static width.
LogicalResult tileColumnTail(RewriterBase &rewriter, scf::ForOp colTail,
                             int64_t tail) {
  linalg::LinalgOp block = findBlock(colTail);
  if (!block)
    return success();
  if (failed(tileBlock(rewriter, block, matmulDims(block)->n, tail)))
    return failure();
  // The tile sizes are min(tail, width - j) of the slice's own size: fold
  // it to the loop's bound first, so that peeling can prove the full tiles
  // static.
  if (failed(canonicalize(rewriter, colTail)))
    return failure();
  scf::ForOp tileLoop;
  colTail.getBody()->walk([&](scf::ForOp f) {
    if (getConstantIntValue(f.getStep()) == tail)
      tileLoop = f;
  });
  if (!tileLoop)
    return success();
  SmallVector<scf::ForOp> parts = peel(rewriter, tileLoop);
  // The full part runs to floor(width / tail)·tail, so its tiles are
  // min(tail, width - j) = tail; peeling cannot prove it through the
  // width's affine.apply, so say it here for the tile sizes of this loop.
  if (parts.size() > 1) {
    SmallVector<affine::AffineMinOp> mins;
    parts.front().getBody()->walk([&](affine::AffineMinOp min) {
      if (llvm::any_of(min.getMap().getResults(), [&](AffineExpr e) {
            auto c = dyn_cast<AffineConstantExpr>(e);
            return c && c.getValue() == tail;
          }))
        mins.push_back(min);
    });
    for (affine::AffineMinOp min : mins) {
      rewriter.setInsertionPoint(min);
      rewriter.replaceOp(
          min, arith::ConstantIndexOp::create(rewriter, min.getLoc(), tail)
                   .getResult());
    }
  }
  return success();
}

/// Applies the matmul schedule to `op`.
LogicalResult scheduleMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                             DictionaryAttr schedule) {
  MLIRContext *ctx = op.getContext();
  int64_t task = scheduleValue(schedule, "rows_per_task");
  int64_t rows = scheduleValue(schedule, "register_rows");
  int64_t cols = scheduleValue(schedule, "register_cols");
  int64_t tail = scheduleValue(schedule, "tail_cols");
  std::optional<MatmulDims> dims = matmulDims(op);
  if (!dims || task < 0 || rows <= 0 || cols <= 0 ||
      (task == 0 && !dims->batch.empty()))
    return op.emitError("rotary-cpu-schedule: not a schedulable matmul or "
                        "a bad rotary.cpu_schedule: ")
           << schedule;

  Builder b(ctx);
  // The op the cleanups below run in: the tasks' forall, or for a
  // contraction that is already one task's work (rows_per_task 0, inside
  // a kernel's loop) the loop around it.
  Operation *root = op->getParentOp();
  linalg::LinalgOp inner = op;
  if (task > 0) {
    // 1. Tasks: m by `task`, batch dims by 1; the fill of the destination
    //    is fused into each task.
    unsigned loops = op.getNumLoops();
    SmallVector<OpFoldResult> taskSizes(loops, b.getIndexAttr(0));
    taskSizes[dims->m] = b.getIndexAttr(task);
    for (unsigned d : dims->batch)
      taskSizes[d] = b.getIndexAttr(1);
    scf::SCFTilingOptions taskTiling;
    taskTiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
        .setTileSizes(taskSizes);
    scf::SCFTileAndFuseOptions taskFusion;
    taskFusion.setTilingOptions(taskTiling)
        .setFusionControlFn(fuseIntoTask(op.getDpsInputOperand(0)->get()));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTileAndFuseResult> tasks =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rewriter, cast<TilingInterface>(op.getOperation()), taskFusion);
    if (failed(tasks))
      return op.emitError("rotary-cpu-schedule: tiling into tasks failed");
    for (OpResult r : op->getResults())
      rewriter.replaceAllUsesWith(r, tasks->replacements.lookup(r));
    rewriter.eraseOp(op);
    auto forall = cast<scf::ForallOp>(tasks->loops.front().getOperation());

    // 2. Unit dims of the task (the batch dims) dropped: a 2-d matmul.
    {
      RewritePatternSet patterns(ctx);
      linalg::ControlDropUnitDims control;
      control.rankReductionStrategy = linalg::ControlDropUnitDims::
          RankReductionStrategy::ExtractInsertSlice;
      linalg::populateFoldUnitExtentDimsPatterns(patterns, control);
      tensor::populateMergeConsecutiveInsertExtractSlicePatterns(patterns);
      // The task's fill seen through a rank-reducing slice stays a fill, so
      // that each register block fuses its own (a zero vector, not a load).
      patterns.add<SliceOfFill, OverwrittenFill>(ctx);
      linalg::FillOp::getCanonicalizationPatterns(patterns, ctx);
      if (failed(applyPatternsGreedily(forall, std::move(patterns))))
        return forall.emitError(
            "rotary-cpu-schedule: dropping unit dims failed");
    }
    if (failed(canonicalize(rewriter, forall)))
      return forall.emitError("rotary-cpu-schedule: cleanup failed");
    inner = {};
    forall.getBody()->walk([&](linalg::LinalgOp l) {
      if (matmulDims(l))
        inner = l;
    });
    // A task of one row (x of rank 1, or m statically 1) lost its m
    // dimension with the unit dims: a vector-matrix product, which the
    // generic vectorization handles; there is nothing to block.
    if (!inner)
      return canonicalize(rewriter, forall);
    root = forall;
  }
  std::optional<MatmulDims> innerDims = matmulDims(inner);
  if (!innerDims->batch.empty())
    return inner.emitError("rotary-cpu-schedule: batch dims left in a task");

  // 3. Register blocks: a loop over blocks of `rows` rows, peeled so that
  //    all but the last have them all; the full rows are then cut into
  //    blocks of `cols` columns, peeled too. With tail_cols, the column
  //    remainder of the full rows is tiled again into blocks of that many
  //    columns (one vector), peeled too, so that only the last
  //    tail_cols - 1 columns run as scalar code. The remainder rows (fewer
  //    than `rows`, at most one block per task) stay one scalar
  //    contraction over all columns: cutting them into columns too made a
  //    fill and a product per column block, the larger part of a kernel's
  //    loops and of its LLVM compile time, for rows that run once.
  //    The fill is fused into each block, so that a block starts from a
  //    zero register (the reduction is not tiled yet).
  FailureOr<scf::ForOp> rowLoop =
      tileBlock(rewriter, inner, innerDims->m, rows);
  if (failed(rowLoop))
    return inner.emitError("rotary-cpu-schedule: register tiling failed");
  SmallVector<scf::ForOp> colTails;
  if (linalg::LinalgOp fullRows = findBlock(peel(rewriter, *rowLoop).front())) {
    FailureOr<scf::ForOp> colLoop =
        tileBlock(rewriter, fullRows, matmulDims(fullRows)->n, cols);
    if (failed(colLoop))
      return op.emitError("rotary-cpu-schedule: register tiling failed");
    SmallVector<scf::ForOp> parts = peel(rewriter, *colLoop);
    if (parts.size() > 1)
      colTails.push_back(parts.back());
  }
  if (tail > 0 && tail < cols)
    for (scf::ForOp colTail : colTails)
      if (failed(tileColumnTail(rewriter, colTail, tail)))
        return op.emitError("rotary-cpu-schedule: tiling a column tail failed");
  if (failed(canonicalize(rewriter, root)))
    return root->emitError("rotary-cpu-schedule: cleanup failed");

  // 5. Full blocks (static rows and columns; the reduction may be dynamic):
  //    the reduction tiled by 1 and vectorised, the fill vectorised.
  //    Remainder blocks stay scalar loops.
  SmallVector<linalg::LinalgOp> fullBlocks;
  root->walk([&](linalg::LinalgOp l) {
    if (!l->hasAttr(kBlockAttr))
      return;
    std::optional<MatmulDims> d = matmulDims(l);
    SmallVector<int64_t> ranges = l.getStaticLoopRanges();
    bool full = d ? !ShapedType::isDynamic(ranges[d->m]) &&
                        !ShapedType::isDynamic(ranges[d->n])
                  : isa<linalg::FillOp>(l) && !l.hasDynamicShape();
    if (full)
      fullBlocks.push_back(l);
  });
  for (linalg::LinalgOp l : fullBlocks) {
    Operation *toVectorize = l;
    if (std::optional<MatmulDims> d = matmulDims(l)) {
      SmallVector<OpFoldResult> kSizes(l.getNumLoops(), b.getIndexAttr(0));
      kSizes[d->k] = b.getIndexAttr(1);
      scf::SCFTilingOptions kTiling;
      kTiling.setTileSizes(kSizes);
      rewriter.setInsertionPoint(l);
      FailureOr<scf::SCFTilingResult> k = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(l.getOperation()), kTiling);
      if (failed(k))
        return l.emitError("rotary-cpu-schedule: tiling the reduction failed");
      rewriter.replaceOp(l, k->replacements);
      toVectorize = k->tiledOps.back();
    }
    rewriter.setInsertionPoint(toVectorize);
    FailureOr<linalg::VectorizationResult> v = linalg::vectorize(
        rewriter, toVectorize, /*inputVectorSizes=*/{},
        /*inputScalableVecDims=*/{}, /*vectorizeNDExtract=*/false,
        /*flatten1DDepthwiseConv=*/false,
        /*assumeDynamicDimsMatchVecSizes=*/false,
        /*createNamedContraction=*/true);
    if (failed(v))
      return toVectorize->emitError(
          "rotary-cpu-schedule: vectorisation failed");
    rewriter.replaceOp(toVectorize, v->replacements);
  }
  if (failed(canonicalize(rewriter, root)))
    return root->emitError("rotary-cpu-schedule: cleanup failed");

  // 6. The accumulator out of the reduction loops (into registers), then
  //    contractions to broadcast FMAs.
  SmallVector<scf::ForOp> reductionLoops;
  root->walk([&](scf::ForOp f) {
    if (f != root && f.getBody()->getOps<scf::ForOp>().empty())
      reductionLoops.push_back(f);
  });
  for (scf::ForOp f : reductionLoops) {
    (void)moveLoopInvariantCode(cast<LoopLikeOpInterface>(f.getOperation()));
    (void)hoistLoopInvariantSubsets(
        rewriter, cast<LoopLikeOpInterface>(f.getOperation()));
  }
  {
    RewritePatternSet patterns(ctx);
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorReductionToContractPatterns(patterns);
    patterns.add<MulAddToFma, MinorBroadcastRead>(ctx);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return root->emitError("rotary-cpu-schedule: vector lowering failed");
  }
  // The decision is applied. What is left of the blocks on a run-time
  // number of rows or columns is a remainder, scalar (rotary-scalar-loops);
  // a static block left as linalg (a fused elementwise producer of the
  // destination, such as the rescaled accumulator) is a full one, which
  // LLVM vectorises.
  root->walk([&](Operation *inner) {
    if (!inner->removeAttr(kBlockAttr))
      return;
    inner->removeAttr(kScheduleAttr);
    auto l = dyn_cast<linalg::LinalgOp>(inner);
    if (l && l.hasDynamicShape())
      inner->setAttr(kScalarLoopsAttr, b.getUnitAttr());
  });
  return success();
}

/// A transpose in square blocks of `block`: rows, then the full rows'
/// columns, tiled and peeled, so that full blocks are static; those are
/// vectorised (a read, a vector.transpose, a write) and their transposes
/// lowered to shuffles (the 16 x 16 network with AVX-512's vectors). The
/// remainder blocks stay scalar. Left to LLVM, a transpose is a scalar
/// loop with one strided access per element.
LogicalResult scheduleTranspose(RewriterBase &rewriter, linalg::LinalgOp op,
                                DictionaryAttr schedule) {
  int64_t block = scheduleValue(schedule, "block");
  if (!isa<linalg::TransposeOp>(op) || block <= 0 || op.getNumLoops() != 2)
    return op.emitError("rotary-cpu-schedule: not a schedulable transpose or "
                        "a bad rotary.cpu_schedule: ")
           << schedule;
  MLIRContext *ctx = op.getContext();
  Builder b(ctx);
  Operation *root = op->getParentOp();
  // Rows of `block`, peeled; the full rows' columns likewise. The
  // remainder rows stay one scalar nest over all columns.
  FailureOr<scf::ForOp> rowLoop = tileBlock(rewriter, op, 0, block);
  if (failed(rowLoop))
    return op.emitError("rotary-cpu-schedule: tiling a transpose failed");
  linalg::LinalgOp fullRows;
  peel(rewriter, *rowLoop).front()->walk([&](linalg::TransposeOp t) {
    fullRows = t;
  });
  if (fullRows) {
    FailureOr<scf::ForOp> colLoop = tileBlock(rewriter, fullRows, 1, block);
    if (failed(colLoop))
      return fullRows.emitError(
          "rotary-cpu-schedule: tiling a transpose failed");
    (void)peel(rewriter, *colLoop);
  }
  if (failed(canonicalize(rewriter, root)))
    return root->emitError("rotary-cpu-schedule: cleanup failed");
  SmallVector<linalg::LinalgOp> full;
  root->walk([&](linalg::TransposeOp t) {
    if (t->hasAttr(kBlockAttr) && !t.hasDynamicShape())
      full.push_back(t);
  });
  for (linalg::LinalgOp t : full) {
    rewriter.setInsertionPoint(t);
    FailureOr<linalg::VectorizationResult> v = linalg::vectorize(rewriter, t);
    if (failed(v))
      return t->emitError(
          "rotary-cpu-schedule: vectorising a transpose failed");
    rewriter.replaceOp(t, v->replacements);
  }
  // The transposing read as a read and a vector.transpose, lowered to
  // shuffles. (Unrolling the 2-d read and write into rows here made
  // bufferization's analysis of the chained row writes 8 times slower; the
  // rows are unrolled after bufferization, by convert-vector-to-scf.)
  RewritePatternSet patterns(ctx);
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  vector::populateVectorTransposeLoweringPatterns(
      patterns, block == 16 ? vector::VectorTransposeLowering::Shuffle16x16
                            : vector::VectorTransposeLowering::Shuffle1D);
  if (failed(applyPatternsGreedily(root, std::move(patterns))))
    return root->emitError("rotary-cpu-schedule: vector lowering failed");
  root->walk([&](linalg::LinalgOp l) {
    if (!l->removeAttr(kBlockAttr))
      return;
    l->removeAttr(kScheduleAttr);
    l->setAttr(kScalarLoopsAttr, b.getUnitAttr());
  });
  return success();
}

struct ApproximateMathPass
    : rotary::impl::RotaryApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // exp and log only: the scalar sin/cos polynomials measured slower
    // than libm's sincosf (which shares the range reduction of both).
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.exp" || name == "math.log";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

struct ScalarLoopsPass : rotary::impl::RotaryScalarLoopsBase<ScalarLoopsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kScalarLoopsAttr))
        ops.push_back(op);
    });
    MLIRContext *ctx = &getContext();
    auto scalar = LLVM::LoopAnnotationAttr::get(
        ctx, {},
        LLVM::LoopVectorizeAttr::get(ctx, BoolAttr::get(ctx, true), {}, {}, {},
                                     {}, {}, {}),
        {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("rotary-scalar-loops: expected an op on buffers");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToLoops(rewriter, op);
      if (failed(loops))
        return signalPassFailure();
      rewriter.eraseOp(op);
      for (Operation *loop : *loops)
        loop->setAttr("loop_annotation", scalar);
    }
  }
};

struct CpuSchedulePass : rotary::impl::RotaryCpuScheduleBase<CpuSchedulePass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kScheduleAttr))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      auto schedule = op->getAttrOfType<DictionaryAttr>(kScheduleAttr);
      auto kind = schedule ? schedule.getAs<StringAttr>("kind") : StringAttr();
      LogicalResult done = failure();
      if (kind && kind.getValue() == "matmul")
        done = scheduleMatmul(rewriter, op, schedule);
      else if (kind && kind.getValue() == "transpose")
        done = scheduleTranspose(rewriter, op, schedule);
      else
        op.emitError("rotary-cpu-schedule: unknown schedule ")
            << op->getAttr(kScheduleAttr);
      if (failed(done))
        return signalPassFailure();
    }
  }
};
} // namespace

void rotary::recordTiles(Operation *op,
                         ArrayRef<std::pair<StringRef, int64_t>> fields) {
  Builder b(op->getContext());
  NamedAttrList merged(op->getAttrOfType<DictionaryAttr>(kTilesAttr));
  for (auto [name, value] : fields)
    if (!merged.get(name))
      merged.set(name, b.getI64IntegerAttr(value));
  op->setAttr(kTilesAttr, merged.getDictionary(op->getContext()));
}
