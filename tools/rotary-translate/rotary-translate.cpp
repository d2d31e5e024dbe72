//===- rotary-translate.cpp - .mlir to a kernel bundle --------------------===//
//
//   rotary-translate input.mlir -o out.rotary [--cpu=host|<llvm cpu>] [--force]
//                    [--vector-bits=N] [--register-tile=RxC]
//                    [--attention-tile=QxK] [--hdd-lanes=N] [--chain-rows=W]
//                    [--hdd-checkpoint=K] [--rope-tokens=N]
//                    [--scan-block=K] [--rows-per-task=N]
//
// Compiles every public func.func of the input (ahead of time) into a bundle
// directory that the runtime loads; see rotary/Bundle/Manifest.h.
//
//===----------------------------------------------------------------------===//

#include "rotary/Compiler/Compiler.h"
#include "rotary/Version.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
/// Reads "AxB" with two positive numbers into a and b; unset ("") is fine.
bool parsePair(const std::string &text, int &a, int &b) {
  if (text.empty())
    return true;
  llvm::StringRef first, second;
  std::tie(first, second) = llvm::StringRef(text).split('x');
  return !first.getAsInteger(10, a) && !second.getAsInteger(10, b) && a > 0 &&
         b > 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::opt<std::string> input(cl::Positional, cl::desc("<input .mlir>"),
                             cl::init("-"));
  cl::opt<std::string> output("o", cl::desc("Bundle directory to write"),
                              cl::value_desc("dir"), cl::Required);
  cl::opt<std::string> cpu(
      "cpu",
      cl::desc("CPU to compile for: 'host' or an LLVM CPU name (x86-64-v3)"),
      cl::init("host"));
  cl::opt<bool> noGradients(
      "no-gradients",
      cl::desc("Do not generate the backward functions (@f_bwd, @f_fwd, "
               "@f_vjp) of the differentiable public functions"),
      cl::init(false));
  cl::opt<bool> force(
      "force",
      cl::desc("Replace whatever is at the -o path (a file, a symbolic link, "
               "a directory that is not a bundle); without it only an earlier "
               "bundle or an empty directory is replaced. The input, the "
               "current directory and their parents are never replaced"),
      cl::init(false));
  cl::opt<int> vectorBits(
      "vector-bits",
      cl::desc("Vector width the CPU schedule assumes (128, 256, 512; "
               "default: the CPU's)"),
      cl::init(0));
  cl::opt<std::string> registerTile(
      "register-tile",
      cl::desc("Accumulator block of the CPU schedule's contractions, as "
               "ROWSxCOLS (default: chosen from the vector width)"),
      cl::value_desc("RxC"), cl::init(""));
  cl::opt<int> rowsPerTask(
      "rows-per-task",
      cl::desc("Rows per parallel task of the CPU schedule (default: 16 "
               "register blocks)"),
      cl::init(0));
  cl::opt<std::string> attentionTile(
      "attention-tile",
      cl::desc("Queries x keys of an attention tile pair, as QxK (default: "
               "chosen from the register block)"),
      cl::value_desc("QxK"), cl::init(""));
  cl::opt<bool> splitAttentionGrad(
      "split-attention-grad",
      cl::desc("Keep the attention gradient's query and key passes apart "
               "(default: one fused pass per batch entry and head)"),
      cl::init(false));
  cl::opt<int> hddLanes(
      "hdd-lanes",
      cl::desc("Chunks per task of fused Givens-form HDD-RoPE (default: "
               "chosen from the chunk size)"),
      cl::init(0));
  cl::opt<int> hddCheckpoint(
      "hdd-checkpoint",
      cl::desc("Tokens between saved P in the backward of fused Givens-form "
               "HDD-RoPE (default: 64)"),
      cl::init(0));
  cl::opt<int> chainRows(
      "chain-rows",
      cl::desc("Rows per group of a Givens chain, the length of its feature "
               "vectors (default: four vector registers)"),
      cl::init(0));
  cl::opt<int> ropeTokens(
      "rope-tokens",
      cl::desc("Tokens per task of a rope gradient with parameter gradients "
               "(default: 16)"),
      cl::init(0));
  cl::opt<int> scanBlock(
      "scan-block",
      cl::desc("Steps per block of the blocked scan of cumulative_rotation "
               "(default: 64)"),
      cl::init(0));
  cl::opt<bool> gpuLoops(
      "gpu-loops",
      cl::desc("Compile the GPU schedule's loops (before they are mapped to "
               "blocks and threads) for the CPU, to check the GPU schedule "
               "without a GPU"),
      cl::init(false));
  cl::list<std::string> gpu(
      "gpu", cl::CommaSeparated,
      cl::desc("Also compile every entry for these GPU architectures "
               "(such as sm_80,sm_90): PTX, and cubins when the CUDA "
               "toolkit's ptxas is found, launched by the runtime"));
  cl::opt<std::string> cudaToolkit(
      "cuda-toolkit",
      cl::desc("CUDA toolkit folder (libdevice, ptxas); default $CUDA_HOME, "
               "else /usr/local/cuda when it is there"),
      cl::init(""));
  cl::opt<bool> timing(
      "timing",
      cl::desc("Print where the compile time went (phases, MLIR passes) to "
               "stderr"),
      cl::init(false));
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "rotary " ROTARY_VERSION_STRING " (MLIR " ROTARY_MLIR_VERSION_STRING
          ")\n";
  });
  cl::ParseCommandLineOptions(argc, argv,
                              "rotary-translate: .mlir to a kernel bundle\n");
  rotary::compiler::CompileOptions options;
  options.cpu = cpu;
  options.gradients = !noGradients;
  options.force = force;
  options.vectorBits = vectorBits;
  options.rowsPerTask = rowsPerTask;
  options.hddLanes = hddLanes;
  options.splitAttentionGrad = splitAttentionGrad;
  options.chainRows = chainRows;
  options.hddCheckpoint = hddCheckpoint;
  options.ropeTokens = ropeTokens;
  options.scanBlock = scanBlock;
  options.gpuLoops = gpuLoops;
  options.gpuChips.assign(gpu.begin(), gpu.end());
  options.cudaToolkit = cudaToolkit;
  options.timing = timing;
  if (!parsePair(registerTile, options.registerRows, options.registerCols)) {
    llvm::errs() << "rotary-translate: --register-tile must be ROWSxCOLS with "
                    "two positive numbers (such as 6x64), got '"
                 << registerTile << "'\n";
    return 1;
  }
  if (!parsePair(attentionTile, options.attentionQueryTile,
                 options.attentionKeyTile)) {
    llvm::errs() << "rotary-translate: --attention-tile must be QxK with two "
                    "positive numbers (such as 48x64), got '"
                 << attentionTile << "'\n";
    return 1;
  }
  std::string error;
  if (!rotary::compiler::compileFileToBundle(input, output, options, error)) {
    llvm::errs() << error;
    if (!error.empty() && error.back() != '\n')
      llvm::errs() << "\n";
    return 1;
  }
  return 0;
}
