//===- Codegen.h - LLVM IR to object files, in parallel ---------*- C++ -*-===//
//
// The compiler's last step: the LLVM module of a bundle's kernels is
// optimised and compiled to object files, split by entry point across the
// machine's cores.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_COMPILER_CODEGEN_H
#define LIB_COMPILER_CODEGEN_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <string>

namespace llvm {
class Module;
class Target;
} // namespace llvm

namespace rotary::compiler::codegen {

/// The CPU the kernels are compiled for.
struct CpuTarget {
  llvm::Triple triple;
  const llvm::Target *target = nullptr;
  std::string cpu, features;
};

/// Optimises `module` (LLVM's O3 without its loop unroller) and compiles it
/// to object files in `dir`, one per partition of the module, returned in
/// `objects`. Entry points with their callees are the units of the
/// partitions, which run on up to one thread per core. False with `error`
/// set on failure.
bool emitObjects(std::unique_ptr<llvm::Module> module, const CpuTarget &cpu,
                 llvm::StringRef dir,
                 llvm::SmallVectorImpl<std::string> &objects,
                 std::string &error);

/// Links `objects` into the shared library `library` with the system's C
/// compiler driver, then removes them. False with `error` (and the
/// linker's output) on failure.
bool linkLibrary(llvm::ArrayRef<std::string> objects, llvm::StringRef library,
                 std::string &error);

} // namespace rotary::compiler::codegen

#endif // LIB_COMPILER_CODEGEN_H
