//===- Manifest.h - the kernel bundle manifest (one schema) -----*- C++ -*-===//
//
// A kernel bundle is a directory `NAME.rotary/` holding `manifest.json` and
// one library per target (`cpu/kernels.so`; GPU images later). This header
// is the single definition of the manifest, shared by the compiler (writer)
// and the runtime (reader). It includes no MLIR, LLVM or LibTorch header.
//
// Kernel ABI: every entry point is exported from the target library as
//   int32_t SYMBOL(void **args);
// `args` holds one pointer per input, then one per output, each to an MLIR
// strided memref descriptor of the tensor's rank:
//   struct { void *allocated, *aligned; int64_t offset;
//            int64_t sizes[rank]; int64_t strides[rank]; }
// (0-d tensors: the first three fields only). Outputs are allocated by the
// caller with the shapes of `Entry::outputs`. The return value is 0 on
// success, or k > 0 when run-time check k (1-based index into
// `Entry::checks`) failed; the kernel then computes nothing out of bounds.
//
// Threads: the kernels run their parallel loops through the launcher in
// the library's global `void *rotary_parallel_for` (kParallelForSymbol), a
//   void (*)(void (*body)(void *ctx, int64_t begin, int64_t end),
//            void *ctx, int64_t n)
// that must run body over a partition of [0, n) into ranges, on any
// threads, and return when all are done. The runtime sets it on load; while
// it is null, a kernel runs body(ctx, 0, n) on the calling thread.
//
// Integrity: `content_hash` is the contentHash() below of the manifest and
// the libraries it names. The compiler writes it once the library is
// linked; the runtime recomputes it on every load and refuses a bundle whose
// manifest.json or library changed since (a hand-edited dtype or check
// message, a modified or truncated library), since either would run wrong
// code or describe the code wrongly. The digest covers the fields this
// version of rotary reads: keys it does not know are ignored and not
// covered, and a writer that adds a field changes the digest older readers
// recompute, so they refuse its bundles as changed (and say to recompile).
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_BUNDLE_MANIFEST_H
#define ROTARY_BUNDLE_MANIFEST_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rotary::bundle {

/// Bumped on every incompatible change of the manifest or the kernel ABI.
constexpr int kFormatVersion = 1;
constexpr const char *kFormatName = "rotary-bundle";
constexpr const char *kManifestFile = "manifest.json";
constexpr const char *kCpuLibrary = "cpu/kernels.so";
constexpr const char *kParallelForSymbol = "rotary_parallel_for";
constexpr const char *kGpuHostLibrary = "gpu/host.so";
constexpr const char *kGpuAllocSymbol = "rotary_gpu_alloc";
constexpr const char *kGpuFreeSymbol = "rotary_gpu_free";
constexpr const char *kGpuLaunchSymbol = "rotary_gpu_launch";

enum class DType { F32, F16, BF16, F64, I32, I64 };

/// "f32", "f16", "bf16", "f64", "i32", "i64".
const char *dtypeName(DType type);
std::optional<DType> parseDType(const std::string &name);
/// Size of one element in bytes.
int64_t dtypeBytes(DType type);
/// Size in bytes of a GPU kernel parameter type ("ptr", "i64", "i32",
/// "f32", ...), 0 for a name the bundle format does not know.
int64_t gpuParamBytes(const std::string &type);

/// One dimension of a tensor. Inputs use Static or Dynamic; outputs use
/// Static or SameAs (the size of dimension `dim` of input `input`).
struct Dim {
  enum class Kind { Static, Dynamic, SameAs };
  Kind kind = Kind::Dynamic;
  int64_t size = -1; ///< Static only
  int input = -1;    ///< SameAs only: index into Entry::inputs
  int dim = -1;      ///< SameAs only

  static Dim fixed(int64_t size) { return {Kind::Static, size, -1, -1}; }
  static Dim dynamic() { return {}; }
  static Dim sameAs(int input, int dim) {
    return {Kind::SameAs, -1, input, dim};
  }
  bool operator==(const Dim &o) const {
    return kind == o.kind && size == o.size && input == o.input &&
           dim == o.dim;
  }
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<Dim> shape; ///< rank = shape.size()
  bool operator==(const TensorSpec &o) const {
    return name == o.name && dtype == o.dtype && shape == o.shape;
  }
};

struct Entry {
  std::string name;   ///< the func.func name in the source
  std::string symbol; ///< the exported C symbol
  std::vector<TensorSpec> inputs, outputs;
  /// Messages of the run-time shape checks, in check-number order.
  std::vector<std::string> checks;
  bool operator==(const Entry &o) const {
    return name == o.name && symbol == o.symbol && inputs == o.inputs &&
           outputs == o.outputs && checks == o.checks;
  }
};

/// Where an input of a vjp entry comes from (see Gradient).
struct VjpInput {
  enum class Kind { Argument, Result, Saved, Cotangent };
  Kind kind = Kind::Argument;
  int index = 0; ///< into the forward's inputs / outputs / saved / outputs
  bool operator==(const VjpInput &o) const {
    return kind == o.kind && index == o.index;
  }
};

/// How to differentiate the entry `of` (written by rotary-generate-gradients;
/// the backward of docs/Math.md). A training runtime calls `forward` instead
/// of `of`: it returns `of`'s outputs followed by `numSaved` saved tensors
/// (their shapes are `forward`'s output rules), then `vjp` with `vjpInputs`
/// to get one gradient per entry of `gradients` (an input index of `of`).
/// `backward` takes `of`'s inputs and one cotangent per output and
/// recomputes what it needs: simpler to call, more work.
struct Gradient {
  std::string of, backward, forward, vjp;
  std::vector<VjpInput> vjpInputs;
  std::vector<int> gradients;
  int numSaved = 0;
  bool operator==(const Gradient &o) const {
    return of == o.of && backward == o.backward && forward == o.forward &&
           vjp == o.vjp && vjpInputs == o.vjpInputs &&
           gradients == o.gradients && numSaved == o.numSaved;
  }
};

/// The inputs of `g.vjp` in order, picked as `g.vjpInputs` says from the
/// inputs of `g.of`, the outputs of `g.forward` (those of `g.of`, then the
/// saved tensors; `numOutputs` = the number of `g.of`'s outputs) and the
/// cotangents. T is whatever the caller holds tensors as.
template <typename T>
std::vector<T> selectVjpInputs(const Gradient &g, size_t numOutputs,
                               const std::vector<T> &inputs,
                               const std::vector<T> &forwardOutputs,
                               const std::vector<T> &cotangents) {
  std::vector<T> picked;
  for (const VjpInput &in : g.vjpInputs) {
    switch (in.kind) {
    case VjpInput::Kind::Argument:
      picked.push_back(inputs.at(in.index));
      break;
    case VjpInput::Kind::Result:
      picked.push_back(forwardOutputs.at(in.index));
      break;
    case VjpInput::Kind::Saved:
      picked.push_back(forwardOutputs.at(numOutputs + in.index));
      break;
    case VjpInput::Kind::Cotangent:
      picked.push_back(cotangents.at(in.index));
      break;
    }
  }
  return picked;
}

/// "arg:0", "result:1", "saved:0", "cotangent:0".
std::string vjpInputName(const VjpInput &input);
std::optional<VjpInput> parseVjpInput(const std::string &text);

/// A GPU kernel of the bundle (written by rotary-gpu-host-to-runtime). The
/// host code launches it by its index in GpuCode::kernels with `params`
/// (the driver's kernelParams: one pointer per parameter, to a value of
/// the parameter's type: "ptr" and "i64" are 8 bytes, "i32" and "f32" 4),
/// blocks of `block` threads and `sharedBytes` of dynamic shared memory;
/// the grid is computed from the argument shapes by the host code.
struct GpuKernel {
  std::string name; ///< the `.entry` of the PTX and the cubin
  std::vector<std::string> params;
  std::vector<int64_t> block; ///< x, y, z
  int64_t sharedBytes = 0;
  /// The host code computes the dynamic shared memory from the argument
  /// shapes at each launch (tiles sized by a dimension known only then);
  /// `sharedBytes` is then 0.
  bool sharedAtLaunch = false;
  bool operator==(const GpuKernel &o) const {
    return name == o.name && params == o.params && block == o.block &&
           sharedBytes == o.sharedBytes && sharedAtLaunch == o.sharedAtLaunch;
  }
};

/// The kernels compiled for one GPU architecture: PTX (which the driver
/// compiles for its GPU, this one or a newer) and, when the compiler found
/// ptxas, the cubin for exactly this architecture.
struct GpuObject {
  std::string chip;  ///< "sm_90"
  std::string ptx;   ///< relative path
  std::string cubin; ///< relative path, empty when absent
  bool operator==(const GpuObject &o) const {
    return chip == o.chip && ptx == o.ptx && cubin == o.cubin;
  }
};

/// The GPU code of a bundle. Every entry has a GPU version, exported from
/// `hostLibrary` under the entry's symbol with the CPU ABI above; its
/// descriptors hold device pointers. That host code runs on the CPU: it
/// runs the checks, computes grids and temporary sizes from the shapes and
/// calls the hooks in the library's globals, which the runtime sets on
/// load:
///   void *rotary_gpu_alloc(int64_t bytes);   // on the call's stream
///   void rotary_gpu_free(void *ptr);
///   void rotary_gpu_launch(int32_t kernel, int64_t gx, int64_t gy,
///                          int64_t gz, int64_t bx, int64_t by, int64_t bz,
///                          int32_t sharedBytes, void **params,
///                          int32_t numParams);
/// A hook that fails records the error and the later ones of the same call
/// do nothing; the runtime reports it when the entry returns.
struct GpuCode {
  std::string hostLibrary; ///< relative path
  std::vector<GpuObject> objects;
  std::vector<GpuKernel> kernels;
  bool operator==(const GpuCode &o) const {
    return hostLibrary == o.hostLibrary && objects == o.objects &&
           kernels == o.kernels;
  }
};

struct Manifest {
  int formatVersion = kFormatVersion;
  std::string compilerVersion; ///< rotary version that wrote it
  std::string mlirVersion;
  std::string contentHash;     ///< contentHash(*this, libraries), hex
  std::string cpuLibrary;      ///< relative path, empty when absent
  std::string cpuTarget;       ///< e.g. "x86-64 +avx2,+fma": what it needs
  std::vector<Entry> entries;
  std::vector<Gradient> gradients; ///< optional ("gradients" key)
  std::optional<GpuCode> gpu;      ///< optional ("gpu" key)
  /// The entry called `name`, or null.
  const Entry *findEntry(const std::string &name) const;
  /// The gradient of entry `name`, or null.
  const Gradient *findGradient(const std::string &name) const;
  bool operator==(const Manifest &o) const {
    return formatVersion == o.formatVersion &&
           compilerVersion == o.compilerVersion &&
           mlirVersion == o.mlirVersion && contentHash == o.contentHash &&
           cpuLibrary == o.cpuLibrary && cpuTarget == o.cpuTarget &&
           entries == o.entries && gradients == o.gradients && gpu == o.gpu;
  }
};

/// Serialises to JSON text.
std::string toJson(const Manifest &manifest);

/// A library of a bundle as contentHash() takes it: its path relative to the
/// bundle directory, as the manifest names it (`cpu_library`), and its bytes.
using BundleFile = std::pair<std::string, std::string>;

/// The files contentHash() covers for `manifest`, without their bytes: its
/// CPU library when it names one, then the GPU host library and each GPU
/// object's PTX and cubin, in that order.
std::vector<std::string> hashedFiles(const Manifest &manifest);

/// The `content_hash` of a bundle: SHA-256, as 64 lowercase hex digits, of
///   field(toJson(manifest with content_hash = ""))
///   u64(files.size())
///   field(path) field(bytes)        for each of `files`, in order
/// where u64(n) is n as 8 bytes little-endian and field(s) is
/// u64(s.size()) followed by the bytes of s. Every part is length-prefixed,
/// so no two different manifests or file sets give the same input. `files`
/// are those of hashedFiles(manifest); `manifest.contentHash` is ignored.
std::string contentHash(const Manifest &manifest,
                        const std::vector<BundleFile> &files);
/// Parses JSON text; on any error (syntax, missing or ill-typed field,
/// unknown dtype, wrong format name or version, out-of-range SameAs)
/// returns nullopt and sets `error` to a message naming the field.
std::optional<Manifest> fromJson(const std::string &text, std::string &error);

} // namespace rotary::bundle

#endif // ROTARY_BUNDLE_MANIFEST_H
