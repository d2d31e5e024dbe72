//===- GpuCode.h - the GPU part of a kernel bundle --------------*- C++ -*-===//
//
// The bundle's GPU code (rotary/Bundle/Manifest.h, GpuCode): the kernels as
// PTX and cubin per chip and the host library that launches them, compiled
// from the module the front left (the same entries as the CPU library).
//
//===----------------------------------------------------------------------===//

#ifndef LIB_COMPILER_GPUCODE_H
#define LIB_COMPILER_GPUCODE_H

#include "Codegen.h"
#include "rotary/Bundle/Manifest.h"
#include "rotary/Compiler/Compiler.h"

#include "mlir/IR/BuiltinOps.h"

namespace rotary::compiler {

/// The CUDA toolkit the GPU code is compiled with: the option, else
/// $CUDA_HOME, else /usr/local/cuda when it holds libdevice; empty when
/// none is found (the kernels are then PTX only, and those needing
/// libdevice are refused).
std::string cudaToolkit(const CompileOptions &options);

/// Drops the rotary.* attributes of `module` and its ops: bookkeeping
/// between passes, meaningless to LLVM IR.
void stripRotaryAttributes(mlir::ModuleOp module);

/// Compiles `module` (after the front pipeline; consumed) for the chips of
/// `options` into `dir`/gpu and describes the result in `gpu`.
mlir::LogicalResult buildGpuCode(mlir::ModuleOp module,
                                 const CompileOptions &options,
                                 const codegen::CpuTarget &cpu,
                                 llvm::StringRef dir, bundle::GpuCode &gpu,
                                 std::string &error);

} // namespace rotary::compiler

#endif // LIB_COMPILER_GPUCODE_H
