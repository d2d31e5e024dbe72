//===- Compiler.h - .mlir to kernel bundle ----------------------*- C++ -*-===//
//
// The compiler as a library: model code, rotary-translate and rotary-runner
// turn rotary IR into a kernel bundle (see rotary/Bundle/Manifest.h). This
// header names no MLIR type, so code built with exceptions and RTTI (LibTorch
// glue, tests) can include it; the library itself links MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_COMPILER_COMPILER_H
#define ROTARY_COMPILER_COMPILER_H

#include <string>
#include <vector>

namespace rotary::compiler {

struct CompileOptions {
  /// CPU to compile for: "host" (this machine's CPU and features) or an LLVM
  /// CPU name such as "x86-64-v3". Recorded in the manifest.
  std::string cpu = "host";
  /// Also compile the backward functions of every differentiable public
  /// function (@f_bwd, and @f_fwd / @f_vjp when values must be saved) and
  /// describe them in the manifest's "gradients".
  bool gradients = false;
  /// Replace whatever is at the bundle path. Without it only an earlier
  /// bundle or an empty directory is replaced, and anything else (a file, a
  /// symbolic link, another directory) is refused. Never, even with it: the
  /// input file, the current directory, or a directory containing either.
  /// Not part of the bundle's identity (bundleKey ignores it).
  bool force = false;
  /// The CPU schedule (see rotary-cpu-configure). vectorBits 0: the width
  /// of the CPU's vector registers (512 with AVX-512, 256 with AVX or AVX2,
  /// 128 otherwise). The tile sizes 0: the schedule's own choice from the
  /// width. For experiments; part of the bundle's identity.
  int vectorBits = 0;
  int registerRows = 0;
  int registerCols = 0;
  int rowsPerTask = 0;
  int attentionQueryTile = 0;
  int attentionKeyTile = 0;
  /// Keep the attention gradient's two passes apart (see
  /// rotary-cpu-configure's split-attention-grad).
  bool splitAttentionGrad = false;
  int hddLanes = 0;
  /// Rows per group of a Givens chain (0: the schedule's choice).
  int chainRows = 0;
  /// Tokens between saved P in the HDD-RoPE backward (0: the schedule's).
  int hddCheckpoint = 0;
  /// Tokens per task of a rope gradient with parameter gradients (0: the
  /// schedule's choice).
  int ropeTokens = 0;
  /// Steps per block of cumulative_rotation's blocked scan (0: the
  /// schedule's choice).
  int scanBlock = 0;
  /// Compile the GPU schedule's loops, before they are mapped to blocks and
  /// threads, for this CPU instead of the CPU schedule: the kernels then
  /// compute what the GPU kernels compute, iteration by iteration, and the
  /// tests check the GPU schedule against the references without a GPU.
  /// Ops without a GPU schedule are an error. Part of the bundle's identity.
  bool gpuLoops = false;
  /// GPU architectures ("sm_80", "sm_90") to compile every entry for as
  /// well, beside the CPU library (rotary-gpu-pipeline; the manifest's
  /// "gpu"); empty: CPU only. An op without a GPU schedule is then an
  /// error naming it. Part of the bundle's identity.
  std::vector<std::string> gpuChips;
  /// The CUDA toolkit (libdevice, ptxas for the cubins); empty: $CUDA_HOME,
  /// else /usr/local/cuda when it is there.
  std::string cudaToolkit;
  /// Print where the compile time went to stderr when done: the phases
  /// (parse, the MLIR pipelines with their passes, translation to LLVM IR,
  /// LLVM's optimiser and code generation, linking), in the format of
  /// MLIR's -mlir-timing. Not part of the bundle's identity.
  bool timing = false;
};

/// Compiles every public func.func of the .mlir file at `inputPath` into the
/// bundle directory `bundleDir` (created, or replaced as
/// CompileOptions::force says). The CPU name and the destination are checked
/// before any work; the bundle is assembled in a temporary sibling directory
/// (removed on every error path, and at exit() should LLVM abort) and
/// renamed into place. Returns false and sets `error` (with the
/// diagnostics, located in the source) on failure.
bool compileFileToBundle(const std::string &inputPath,
                         const std::string &bundleDir,
                         const CompileOptions &options, std::string &error);

/// The same for IR held in memory; `bufferName` names it in diagnostics.
bool compileSourceToBundle(const std::string &source,
                           const std::string &bufferName,
                           const std::string &bundleDir,
                           const CompileOptions &options, std::string &error);

/// A key that changes whenever the bundle of `source` compiled with
/// `options` could differ: a SHA-256 (hex) of the source, the rotary and MLIR
/// versions, the SHA-256 of the compiler's sources at build time (so that
/// a changed lowering under the same version number misses), the resolved
/// CPU and its features, and the options. Used by the JIT cache
/// (rotary/Torch/JitCache.h) to name entries.
std::string bundleKey(const std::string &source, const CompileOptions &options);

} // namespace rotary::compiler

#endif // ROTARY_COMPILER_COMPILER_H
