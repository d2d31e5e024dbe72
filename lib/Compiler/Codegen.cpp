//===- Codegen.cpp - LLVM IR to object files, in parallel -----------------===//
//
// LLVM's optimiser and code generator take most of a bundle's compile time
// and run on one thread per module. The module is split into partitions
// (SplitModule, local functions kept with their callers), each written to
// bitcode and read back into its own LLVMContext, so that the partitions
// can be optimised and compiled on separate threads; the objects are then
// linked into one library.
//
//===----------------------------------------------------------------------===//

#include "Codegen.h"
#include "rotary/Bundle/Manifest.h"

#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <atomic>
#include <numeric>
#include <thread>

using namespace rotary::compiler::codegen;

namespace {
/// LLVM's O3 pipeline without its loop unroller. The CPU schedule already
/// unrolled what pays (register blocks, c-sized HDD loops); LLVM's partial
/// and run-time unrolling of the remaining loops took half of the IR
/// optimiser's time and doubled the code that instruction selection, Loop
/// Strength Reduction and register allocation then work through
/// (docs/benchmarks.md, compile time), for no measured speed. The loop
/// vectoriser, with its interleaving, and the SLP vectoriser stay.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, mam);
}

/// Puts every memory access of a loop whose `llvm.loop` metadata lists
/// `llvm.loop.parallel_accesses` groups (rotary-parallelize-outer-loops
/// marks the innermost loop of an op with independent iterations) into
/// those groups. MLIR's translation writes the loop's metadata but cannot
/// tag the accesses, which are separate ops by then; with both, LLVM knows
/// the loop is parallel and vectorises it without run-time alias checks.
void completeParallelAccesses(llvm::Module &module) {
  for (llvm::Function &f : module) {
    if (f.isDeclaration())
      continue;
    llvm::DominatorTree dominators(f);
    llvm::LoopInfo loops(dominators);
    for (llvm::Loop *loop : loops.getLoopsInPreorder()) {
      llvm::MDNode *id = loop->getLoopID();
      if (!id)
        continue;
      llvm::SmallVector<llvm::Metadata *> groups;
      for (const llvm::MDOperand &op : llvm::drop_begin(id->operands())) {
        auto *node = llvm::dyn_cast<llvm::MDNode>(op);
        auto *name = node && node->getNumOperands() > 0
                         ? llvm::dyn_cast<llvm::MDString>(node->getOperand(0))
                         : nullptr;
        if (name && name->getString() == "llvm.loop.parallel_accesses")
          llvm::append_range(groups, llvm::drop_begin(node->operands()));
      }
      if (groups.empty())
        continue;
      for (llvm::BasicBlock *block : loop->blocks())
        for (llvm::Instruction &inst : *block) {
          if (!inst.mayReadOrWriteMemory())
            continue;
          llvm::SmallVector<llvm::Metadata *> all(groups);
          // An instruction's groups: one group (a node without operands)
          // or a list of them.
          if (llvm::MDNode *old =
                  inst.getMetadata(llvm::LLVMContext::MD_access_group)) {
            if (old->getNumOperands() == 0)
              all.push_back(old);
            else
              llvm::append_range(all, old->operands());
          }
          inst.setMetadata(llvm::LLVMContext::MD_access_group,
                           all.size() == 1
                               ? llvm::cast<llvm::MDNode>(all.front())
                               : llvm::MDNode::get(module.getContext(), all));
        }
    }
  }
}

/// Optimises one module and writes its object file to `path`.
bool compileModule(llvm::Module &module, const CpuTarget &cpu,
                   const std::string &path, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine(cpu.target->createTargetMachine(
      cpu.triple, cpu.cpu, cpu.features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    error = "rotary: LLVM does not know the CPU '" + cpu.cpu + "'";
    return false;
  }
  module.setDataLayout(machine->createDataLayout());
  module.setTargetTriple(cpu.triple);
  completeParallelAccesses(module);
  optimizeModule(module, *machine);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = "rotary: cannot write " + path + ": " + ec.message();
    return false;
  }
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                   llvm::CodeGenFileType::ObjectFile)) {
    error = "rotary: LLVM cannot emit an object file for " + cpu.triple.str();
    return false;
  }
  codegen.run(module);
  return true;
}

/// Partitions worth making: two per entry point (the bundle ABI's
/// rotary_entry_* functions; an entry's kernels and their parallel bodies
/// are separate functions, the units SplitModule places). Functions differ
/// in size by several times, so there are more partitions than threads,
/// and each thread takes the largest one left when it is done.
unsigned partitionsOf(const llvm::Module &module) {
  unsigned entries = 0;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration() && f.getName().starts_with("rotary_entry_"))
      ++entries;
  return std::max(1u, std::min(2 * entries, 64u));
}
/// Whether the library must export `name`: the entries and the globals the
/// runtime sets (rotary/Bundle/Manifest.h).
bool isBundleAbi(llvm::StringRef name) {
  return name.starts_with("rotary_entry_") ||
         name == rotary::bundle::kParallelForSymbol ||
         name == rotary::bundle::kGpuAllocSymbol ||
         name == rotary::bundle::kGpuFreeSymbol ||
         name == rotary::bundle::kGpuLaunchSymbol;
}

/// Everything else the library defines is hidden: a function named after
/// the source's (`@step`, `@exp`) would otherwise be exported and called
/// through the PLT, where the C library's function of that name wins.
void hideAllButTheAbi(llvm::Module &module) {
  for (llvm::GlobalValue &g : module.global_values())
    if (!g.isDeclaration() && !g.hasLocalLinkage() &&
        !isBundleAbi(g.getName())) {
      g.setVisibility(llvm::GlobalValue::HiddenVisibility);
      g.setDSOLocal(true);
    }
}
} // namespace

bool rotary::compiler::codegen::emitObjects(
    std::unique_ptr<llvm::Module> module, const CpuTarget &cpu,
    llvm::StringRef dir, llvm::SmallVectorImpl<std::string> &objects,
    std::string &error) {
  auto objectPath = [&](unsigned i) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, "kernels." + std::to_string(i) + ".o");
    return std::string(p);
  };
  hideAllButTheAbi(*module);
  unsigned parts = partitionsOf(*module);
  if (parts == 1) {
    objects.push_back(objectPath(0));
    return compileModule(*module, cpu, objects.back(), error);
  }
  // Each partition as bitcode, to be read into a context of its own.
  std::vector<llvm::SmallString<0>> bitcode;
  std::vector<unsigned> work; // instructions per partition
  llvm::SplitModule(
      *module, parts,
      [&](std::unique_ptr<llvm::Module> part) {
        work.push_back(part->getInstructionCount());
        llvm::SmallString<0> &buffer = bitcode.emplace_back();
        llvm::raw_svector_ostream os(buffer);
        llvm::WriteBitcodeToFile(*part, os);
      },
      /*PreserveLocals=*/false);
  module.reset();
  std::vector<std::string> errors(bitcode.size());
  for (size_t i = 0; i < bitcode.size(); ++i)
    objects.push_back(objectPath(i));
  std::atomic<size_t> next = 0;
  auto compilePartition = [&](size_t i) {
    llvm::LLVMContext ctx;
    llvm::Expected<std::unique_ptr<llvm::Module>> part = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(
            llvm::StringRef(bitcode[i].data(), bitcode[i].size()), "partition"),
        ctx);
    if (!part) {
      errors[i] = "rotary: reading back a partition of the kernels: " +
                  llvm::toString(part.takeError());
      return;
    }
    compileModule(**part, cpu, objects[i], errors[i]);
  };
  // Largest first, so that no thread starts a large partition while the
  // others run out of work.
  std::vector<size_t> order(bitcode.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(order,
                    [&](size_t a, size_t b) { return work[a] > work[b]; });
  unsigned cores = llvm::hardware_concurrency().compute_thread_count();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::min<size_t>(cores, bitcode.size()); ++t)
    threads.emplace_back([&] {
      for (size_t k = next++; k < order.size(); k = next++)
        compilePartition(order[k]);
    });
  for (std::thread &t : threads)
    t.join();
  for (const std::string &e : errors)
    if (!e.empty()) {
      error = e;
      return false;
    }
  return true;
}

bool rotary::compiler::codegen::linkLibrary(llvm::ArrayRef<std::string> objects,
                                            llvm::StringRef library,
                                            std::string &error) {
  llvm::SmallString<256> linkLog(llvm::sys::path::parent_path(library));
  llvm::sys::path::append(linkLog, "link.log");
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "rotary: no C compiler driver 'cc' on PATH to link the kernel "
            "library (install gcc)";
    return false;
  }
  // No threading runtime: parallel loops call the launcher the loading
  // runtime installs (rotary-outline-parallel-loops).
  llvm::SmallVector<llvm::StringRef> args = {*cc, "-shared", "-o", library};
  llvm::append_range(args, objects);
  args.push_back("-lm");
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(linkLog), llvm::StringRef(linkLog)};
  std::string execError;
  if (llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, redirects, 0, 0,
                                &execError) != 0) {
    auto log = llvm::MemoryBuffer::getFile(linkLog);
    error = "rotary: linking the kernel library failed: " + execError +
            (log ? "\n" + (*log)->getBuffer().str() : "");
    return false;
  }
  for (const std::string &object : objects)
    llvm::sys::fs::remove(object);
  llvm::sys::fs::remove(linkLog);
  return true;
}
