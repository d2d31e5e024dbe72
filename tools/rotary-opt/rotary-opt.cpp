//===- rotary-opt.cpp - the rotary optimizer driver -----------------------===//
//
// mlir-opt with the rotary dialect and its passes and pipelines registered, on
// top of every upstream dialect, pass and extension the pipelines need.
//
// Hostile input must give a diagnostic, never a crash: MLIR's parser, printer
// and rewriter recurse once per nesting level, so the driver refuses inputs
// nested deeper than kMaxNesting and runs on a thread with a large stack.
//
//===----------------------------------------------------------------------===//

#include "rotary/Conversion/Passes.h"
#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"
#include "rotary/Pipelines/Pipelines.h"
#include "rotary/Version.h"

#include "mlir/Bytecode/BytecodeReader.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/thread.h"

using namespace mlir;

namespace {
/// Deepest bracket (text) or region (bytecode) nesting accepted. Real IR
/// stays far below; MLIR's recursive parser overflows an 8 MiB stack near
/// 3900 nested regions, and its run time grows with the square of the depth.
constexpr int kMaxNesting = 2048;
/// The stack of the thread that does the work: a margin for recursion in
/// upstream code that the nesting check does not see (e.g. attributes).
constexpr unsigned kStackBytes = 256u << 20;

/// Finds the first point where brackets of `text` nest deeper than
/// kMaxNesting, skipping string literals and comments. Returns its offset.
std::optional<size_t> findTooDeepNesting(StringRef text) {
  int depth = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') { // string literal with escapes
      for (++i; i < e && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (c == '/' && i + 1 < e && text[i + 1] == '/') { // line comment
      while (i < e && text[i] != '\n')
        ++i;
      continue;
    }
    if (c == '{' || c == '(' || c == '[' || c == '<') {
      if (++depth > kMaxNesting)
        return i;
    } else if (c == '}' || c == ')' || c == ']' ||
               (c == '>' && !(i > 0 && text[i - 1] == '-'))) {
      depth = std::max(0, depth - 1);
    }
  }
  return std::nullopt;
}

/// Region nesting depth of everything under `block`, without recursion.
int maxRegionDepth(Block &block) {
  int deepest = 0;
  SmallVector<std::pair<Operation *, int>> worklist;
  for (Operation &op : block)
    worklist.push_back({&op, 0});
  while (!worklist.empty()) {
    auto [op, depth] = worklist.pop_back_val();
    deepest = std::max(deepest, depth);
    if (depth > kMaxNesting)
      break;
    for (Region &region : op->getRegions())
      for (Block &b : region)
        for (Operation &nested : b)
          worklist.push_back({&nested, depth + 1});
  }
  return deepest;
}

/// Rejects inputs nested too deeply for the recursive parts of MLIR.
LogicalResult checkNesting(const llvm::MemoryBuffer &buffer,
                           DialectRegistry &registry,
                           const MlirOptMainConfig &config) {
  StringRef name = buffer.getBufferIdentifier();
  if (!isBytecode(buffer.getMemBufferRef())) {
    if (std::optional<size_t> at = findTooDeepNesting(buffer.getBuffer())) {
      llvm::SourceMgr sm;
      sm.AddNewSourceBuffer(
          llvm::MemoryBuffer::getMemBuffer(buffer.getBuffer(), name,
                                           /*RequiresNullTerminator=*/false),
          llvm::SMLoc());
      sm.PrintMessage(
          llvm::errs(),
          llvm::SMLoc::getFromPointer(buffer.getBufferStart() + *at),
          llvm::SourceMgr::DK_Error,
          "input nests deeper than " + Twine(kMaxNesting) +
              " levels; rotary-opt refuses it rather than "
              "exhaust the stack");
      return failure();
    }
    return success();
  }
  // Bytecode is read without recursion; check the IR it holds before any
  // recursive printer or rewriter sees it.
  MLIRContext context(registry);
  context.allowUnregisteredDialects(config.shouldAllowUnregisteredDialects());
  Block block;
  ParserConfig parserConfig(&context);
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(buffer.getBuffer(), name,
                                       /*RequiresNullTerminator=*/false),
      llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sm, &context);
  if (failed(parseSourceFile(sm, &block, parserConfig)))
    return failure();
  if (maxRegionDepth(block) > kMaxNesting) {
    llvm::errs() << name << ": error: input nests regions deeper than "
                 << kMaxNesting
                 << " levels; rotary-opt refuses it rather than exhaust the "
                    "stack\n";
    return failure();
  }
  return success();
}

LogicalResult runOpt(StringRef inputFilename, StringRef outputFilename,
                     DialectRegistry &registry) {
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: ";
    llvm::interleave(registry.getDialectNames(), llvm::outs(), ",");
    llvm::outs() << "\n";
    return success();
  }
  if (config.shouldListPasses()) {
    printRegisteredPasses();
    return success();
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &error);
  if (!file) {
    llvm::errs() << error << "\n";
    return failure();
  }
  if (failed(checkNesting(*file, registry, config)))
    return failure();
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << error << "\n";
    return failure();
  }
  if (failed(MlirOptMain(output->os(), std::move(file), registry, config)))
    return failure();
  output->keep();
  return success();
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAllPasses();
  rotary::registerRotaryPasses();
  rotary::registerRotaryConversionPasses();
  rotary::registerRotaryPipelinePasses();
  rotary::registerRotaryPipelines();

  DialectRegistry registry;
  rotary::registerSubsetModels(registry);
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // rotary-gpu-pipeline translates kernels to LLVM IR for the NVPTX back end.
  registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<rotary::RotaryDialect>();

  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "rotary " ROTARY_VERSION_STRING " (MLIR " ROTARY_MLIR_VERSION_STRING
          ")\n";
  });
  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "rotary optimizer driver\n", registry);

  LogicalResult result = failure();
  llvm::thread worker(std::optional<unsigned>(kStackBytes), [&] {
    result = runOpt(inputFilename, outputFilename, registry);
  });
  worker.join();
  return asMainReturnCode(result);
}
