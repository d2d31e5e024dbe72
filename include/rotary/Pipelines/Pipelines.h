//===- Pipelines.h - named rotary pipelines ---------------------*- C++ -*-===//
#ifndef ROTARY_PIPELINES_PIPELINES_H
#define ROTARY_PIPELINES_PIPELINES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpBuilder;
namespace LLVM {
class GlobalOp;
} // namespace LLVM
} // namespace mlir

namespace rotary {

#define GEN_PASS_DECL
#include "rotary/Pipelines/Passes.h.inc"

/// Names of the attributes rotary-prepare-entry-points leaves on an entry.
constexpr const char *kEntryAttr = "rotary.entry";
constexpr const char *kChecksAttr = "rotary.checks";
constexpr const char *kOutputsAttr = "rotary.outputs";
constexpr const char *kCheckSuffix = "__check";
constexpr const char *kEntrySymbolPrefix = "rotary_entry_";
/// What rotary-gpu-host-to-runtime records of the kernels a module
/// launches, on the module: [{name, params, block, shared_bytes}], in the
/// order of the indices the launches pass to the runtime.
constexpr const char *kGpuKernelsAttr = "rotary.gpu.kernels";

/// The external, null-initialised `ptr` global `name` through which the
/// runtime hands the compiled code a function (rotary_parallel_for, the
/// GPU hooks), declared once per module.
mlir::LLVM::GlobalOp getOrCreatePointerGlobal(mlir::ModuleOp module,
                                              llvm::StringRef name);

/// Records `fields` in a structured op's `rotary.tiles`, the tiles
/// rotary-tile-and-decompose cuts it into; a field the op already carries
/// (the user's choice, carried over from the rotary op) is kept.
void recordTiles(mlir::Operation *op,
                 llvm::ArrayRef<std::pair<llvm::StringRef, int64_t>> fields);

/// The lanes of a warp: the width of rotary-gpu-lane-reductions' sums,
/// which rotary-gpu-map-parallel-loops combines with shuffles.
inline constexpr int64_t kWarpLanes = 32;

/// The static shared memory a GPU block may have without opting in (48
/// KiB): the bound of a tile's buffers, by which rotary-gpu-configure sizes
/// tiles and rotary-gpu-map-parallel-loops checks them.
inline constexpr int64_t kStaticSharedBytes = 48 * 1024;

/// Combines `lhs` and `rhs` at `b` with the reduction `region` of an
/// scf.reduce (its two block arguments), returning what it yields.
mlir::Value combineWithReduction(mlir::OpBuilder &b, mlir::Region &region,
                                 mlir::Value lhs, mlir::Value rhs);

/// Which schedule the CPU pipeline compiles the structured level with.
enum class Schedule {
  /// The CPU schedule (rotary-cpu-configure / rotary-cpu-schedule).
  Cpu,
  /// The GPU schedule's loops, before they are mapped to blocks and threads
  /// (rotary-gpu-pipeline with map=false), run on the CPU's threads: what
  /// checks the GPU schedule numerically where there is no GPU.
  GpuLoops,
};

/// The options of the front both pipelines share (buildCpuFrontPipeline).
template <typename Derived>
struct FrontPipelineOptions : public mlir::PassPipelineOptions<Derived> {
  template <typename T>
  using Option =
      typename mlir::PassPipelineOptions<Derived>::template Option<T>;
  Option<bool> prepareEntryPoints{
      *this, "entry-points",
      llvm::cl::desc("Split public functions into checks and "
                     "destination-passing bodies (with the bundle ABI)"),
      llvm::cl::init(true)};
  Option<bool> gradients{
      *this, "gradients",
      llvm::cl::desc("Emit the backward functions of every differentiable "
                     "public function (rotary-generate-gradients)"),
      llvm::cl::init(false)};
};

struct CpuPipelineOptions : public FrontPipelineOptions<CpuPipelineOptions> {
  Option<Schedule> schedule{
      *this, "schedule", llvm::cl::desc("The schedule of the structured level"),
      llvm::cl::init(Schedule::Cpu),
      llvm::cl::values(
          clEnumValN(Schedule::Cpu, "cpu", "the CPU schedule"),
          clEnumValN(Schedule::GpuLoops, "gpu-loops",
                     "the GPU schedule's loops before they are mapped to "
                     "blocks and threads, on the CPU"))};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run outer loops on threads (through the launcher the "
                     "runtime installs: rotary-outline-parallel-loops)"),
      llvm::cl::init(true)};
  // The CPU schedule (rotary-cpu-configure); the compiler sets vector-bits
  // from the CPU it compiles for.
  Option<int64_t> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("Vector register width of the target CPU in bits"),
      llvm::cl::init(512)};
  Option<int64_t> registerRows{
      *this, "register-rows",
      llvm::cl::desc("Rows of a register block (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> registerCols{
      *this, "register-cols",
      llvm::cl::desc("Columns of a register block (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> rowsPerTask{
      *this, "rows-per-task",
      llvm::cl::desc("Rows per parallel task (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> attentionQueryTile{
      *this, "attention-query-tile",
      llvm::cl::desc("Queries per attention tile (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> attentionKeyTile{
      *this, "attention-key-tile",
      llvm::cl::desc("Keys per attention tile (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<bool> splitAttentionGrad{
      *this, "split-attention-grad",
      llvm::cl::desc("Keep the attention gradient's query and key passes "
                     "apart (default: one fused pass per (b, h))"),
      llvm::cl::init(false)};
  Option<int64_t> hddLanes{
      *this, "hdd-lanes",
      llvm::cl::desc("Chunks per task of fused Givens-form HDD-RoPE (0: the "
                     "schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> hddCheckpoint{
      *this, "hdd-checkpoint",
      llvm::cl::desc("Tokens between saved P in the backward of fused "
                     "Givens-form HDD-RoPE (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> chainRows{
      *this, "chain-rows",
      llvm::cl::desc("Rows per group of a Givens chain (0: the schedule's "
                     "choice)"),
      llvm::cl::init(0)};
  Option<int64_t> ropeTokens{
      *this, "rope-tokens",
      llvm::cl::desc("Tokens per task of a rope gradient with parameter "
                     "gradients (0: the schedule's choice)"),
      llvm::cl::init(0)};
  Option<int64_t> scanBlock{
      *this, "scan-block",
      llvm::cl::desc("Steps per block of the blocked scan of "
                     "cumulative_rotation (0: the schedule's choice)"),
      llvm::cl::init(0)};
};

/// rotary-cpu-pipeline: fusion, lowering to linalg, bufferization, loops,
/// and the LLVM dialect (with the bundle ABI entry symbols).
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options);
/// The first part alone (up to and including the entry-point split), so
/// the compiler can read the entries' metadata before lowering further.
void buildCpuFrontPipeline(mlir::OpPassManager &pm,
                           const CpuPipelineOptions &options);
/// The rest: from the entry-point split to the LLVM dialect.
void buildCpuBackPipeline(mlir::OpPassManager &pm,
                          const CpuPipelineOptions &options);

/// rotary-gpu-pipeline: the structured level on the GPU schedule, to
/// NVVM and PTX (GpuPipeline.cpp).
struct GpuPipelineOptions : public FrontPipelineOptions<GpuPipelineOptions> {
  ListOption<std::string> chips{
      *this, "chips",
      llvm::cl::desc("GPU architectures to compile for (one object each)"),
      llvm::cl::list_init<std::string>({"sm_80", "sm_90"})};
  Option<std::string> ptxFeatures{
      *this, "ptx-features",
      llvm::cl::desc("PTX ISA version as an LLVM feature (LLVM's default, "
                     "+ptx60, is too old for sm_90)"),
      llvm::cl::init("+ptx80")};
  Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of a kernel with one thread per "
                     "iteration"),
      llvm::cl::init(256)};
  Option<int64_t> tileBlockSize{
      *this, "tile-block-size",
      llvm::cl::desc("Threads per block of a kernel with one block per tile"),
      llvm::cl::init(64)};
  Option<bool> map{
      *this, "map",
      llvm::cl::desc("Map loops to blocks and threads and compile the "
                     "kernels; without it the pipeline stops at the "
                     "scheduled loops, which the CPU can run"),
      llvm::cl::init(true)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What the kernels become: isa (PTX), bin (cubin, "
                     "needs the CUDA toolkit) or fatbin"),
      llvm::cl::init("isa")};
  Option<bool> host{
      *this, "host",
      llvm::cl::desc("Also lower the host functions to the LLVM dialect with "
                     "the bundle ABI: launches, device buffers and checks "
                     "as calls of the runtime's hooks"),
      llvm::cl::init(false)};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit folder (ptxas, libdevice) for bin and "
                     "fatbin"),
      llvm::cl::init("")};
};

void buildGpuPipeline(mlir::OpPassManager &pm,
                      const GpuPipelineOptions &options);
/// The part after the front (which the compiler runs once for both
/// targets).
void buildGpuBackPipeline(mlir::OpPassManager &pm,
                          const GpuPipelineOptions &options);
/// The GPU schedule's structured level: from convert-rotary-to-linalg to
/// the parallel loops that rotary-gpu-map-parallel-loops maps.
void buildGpuLoopsPipeline(mlir::OpPassManager &pm);
void registerRotaryGpuPipeline();

/// Tensors to buffers, as both schedules do it: empty-tensor elimination,
/// one-shot bufferization across functions, deallocation, then outputs
/// computed in place and copies as linalg.
void buildBufferizePipeline(mlir::OpPassManager &pm);

/// Adds upstream passes by their textual pipeline (stable across MLIR
/// releases, unlike the C++ factory names). A bad string is a bug here.
void addText(mlir::OpPassManager &pm, llvm::StringRef pipeline);

void registerRotaryPipelines();

/// Slice models for the tensor ops that decide the equivalence of two
/// slices without analysis where it shows (the same value, equal constants)
/// before MLIR's constraint sets (SubsetModels.cpp). Call before
/// registering the upstream dialects and extensions: the first model of an
/// interface attached to an op is the one that stays.
void registerSubsetModels(mlir::DialectRegistry &registry);

#define GEN_PASS_REGISTRATION
#include "rotary/Pipelines/Passes.h.inc"

} // namespace rotary

#endif // ROTARY_PIPELINES_PIPELINES_H
