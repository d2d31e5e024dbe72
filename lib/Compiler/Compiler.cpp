//===- Compiler.cpp - .mlir to a kernel bundle ----------------------------===//
//
// parse → rotary-cpu-pipeline (front: fusion + entry points; back: lowering
// to the LLVM dialect) → LLVM IR → optimised object for the chosen CPU →
// shared library (linked by the system C compiler driver) + manifest.json.
// The bundle is assembled in a temporary directory and renamed into place.
//
//===----------------------------------------------------------------------===//

#include "rotary/Compiler/Compiler.h"
#include "Codegen.h"
#include "GpuCode.h"
#include "rotary/Bundle/Manifest.h"
#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"
#include "rotary/Pipelines/Pipelines.h"
#include "rotary/SourceFingerprint.h"
#include "rotary/Version.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/AsmParser/AsmParserState.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>
#include <set>

using namespace mlir;
using namespace rotary;
namespace bundle = rotary::bundle;

namespace {
void initialize() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    registerRotaryPipelinePasses();
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

std::optional<bundle::DType> dtypeOf(Type t) {
  if (t.isF32())
    return bundle::DType::F32;
  if (t.isF16())
    return bundle::DType::F16;
  if (t.isBF16())
    return bundle::DType::BF16;
  if (t.isF64())
    return bundle::DType::F64;
  if (t.isInteger(32))
    return bundle::DType::I32;
  if (t.isInteger(64))
    return bundle::DType::I64;
  return std::nullopt;
}

/// The source names of @fn's arguments ("x" for %x), where the parser saw
/// them; "argN" otherwise.
std::vector<std::string> argumentNames(func::FuncOp fn,
                                       const AsmParserState &state) {
  std::vector<std::string> names;
  const AsmParserState::BlockDefinition *def =
      fn.getBody().empty() ? nullptr : state.getBlockDef(&fn.getBody().front());
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    std::string name = "arg" + std::to_string(i);
    if (def && i < def->arguments.size()) {
      llvm::SMRange r = def->arguments[i].loc;
      StringRef text(r.Start.getPointer(),
                     r.End.getPointer() - r.Start.getPointer());
      text.consume_front("%");
      if (!text.empty())
        name = text.str();
    }
    names.push_back(name);
  }
  return names;
}

/// The manifest entry of a function prepared by rotary-prepare-entry-points
/// (called before the lowering, while it still has tensor types).
LogicalResult describeEntry(func::FuncOp fn,
                            const std::vector<std::string> &names,
                            bundle::Entry &entry) {
  auto counts = fn->getAttrOfType<DenseI64ArrayAttr>(kEntryAttr);
  int64_t numIn = counts[0];
  entry.name = fn.getSymName().str();
  entry.symbol = kEntrySymbolPrefix + entry.name;
  for (int64_t i = 0; i < numIn; ++i) {
    auto t = cast<RankedTensorType>(fn.getArgumentTypes()[i]);
    std::optional<bundle::DType> dtype = dtypeOf(t.getElementType());
    if (!dtype)
      return fn.emitError("rotary: argument ")
             << i << " of '" << entry.name << "' has element type "
             << t.getElementType()
             << ", which bundles do not support (f32, f16, bf16, f64, i32, "
                "i64)";
    bundle::TensorSpec spec;
    spec.name = i < static_cast<int64_t>(names.size())
                    ? names[i]
                    : "arg" + std::to_string(i);
    spec.dtype = *dtype;
    for (int64_t d : t.getShape())
      spec.shape.push_back(ShapedType::isDynamic(d) ? bundle::Dim::dynamic()
                                                    : bundle::Dim::fixed(d));
    entry.inputs.push_back(spec);
  }
  auto outputs = fn->getAttrOfType<ArrayAttr>(kOutputsAttr);
  for (auto [k, out] : llvm::enumerate(outputs)) {
    auto t = cast<MemRefType>(fn.getArgumentTypes()[numIn + k]);
    bundle::TensorSpec spec;
    spec.name = "result" + (outputs.size() > 1 ? std::to_string(k) : "");
    std::optional<bundle::DType> dtype = dtypeOf(t.getElementType());
    if (!dtype)
      return fn.emitError("rotary: result ")
             << k << " of '" << entry.name << "' has an unsupported type";
    spec.dtype = *dtype;
    for (Attribute d : cast<ArrayAttr>(out)) {
      if (auto size = dyn_cast<IntegerAttr>(d))
        spec.shape.push_back(bundle::Dim::fixed(size.getInt()));
      else {
        auto same = cast<DenseI64ArrayAttr>(d);
        spec.shape.push_back(bundle::Dim::sameAs(same[0], same[1]));
      }
    }
    entry.outputs.push_back(spec);
  }
  for (Attribute m : fn->getAttrOfType<ArrayAttr>(kChecksAttr))
    entry.checks.push_back(cast<StringAttr>(m).str());
  return success();
}

constexpr const char *kGradientAttr = "rotary.gradient";

/// The manifest record of rotary-generate-gradients' `rotary.gradient`.
bundle::Gradient describeGradient(func::FuncOp fn, DictionaryAttr g) {
  bundle::Gradient grad;
  grad.of = fn.getSymName().str();
  auto str = [&](StringRef key) {
    return g.getAs<StringAttr>(key).getValue().str();
  };
  grad.backward = str("backward");
  grad.forward = str("forward");
  grad.vjp = str("vjp");
  for (Attribute a : g.getAs<ArrayAttr>("vjp_inputs"))
    grad.vjpInputs.push_back(
        *bundle::parseVjpInput(cast<StringAttr>(a).getValue().str()));
  for (int64_t i : g.getAs<DenseI64ArrayAttr>("grads").asArrayRef())
    grad.gradients.push_back(int(i));
  grad.numSaved = int(g.getAs<IntegerAttr>("saved").getInt());
  return grad;
}

/// Argument names of the functions rotary-generate-gradients made, from
/// those of their forward: "dx" for the cotangent of result x... and the
/// forward's names for its inputs.
void nameGeneratedFunctions(
    ModuleOp module, std::map<std::string, std::vector<std::string>> &names) {
  for (auto fn : module.getOps<func::FuncOp>()) {
    auto g = fn->getAttrOfType<DictionaryAttr>(kGradientAttr);
    // Entry points only (their __check clones carry the attribute too);
    // their results are output arguments by now.
    if (!g || !fn->hasAttr(kEntryAttr))
      continue;
    std::vector<std::string> args = names[fn.getSymName().str()];
    size_t numResults = fn->getAttrOfType<ArrayAttr>(kOutputsAttr).size();
    auto resultName = [&](int64_t i) {
      return "result" + (numResults > 1 ? std::to_string(i) : std::string());
    };
    std::vector<std::string> bwd = args;
    for (size_t i = 0; i < numResults; ++i)
      bwd.push_back("d" + resultName(i));
    names[g.getAs<StringAttr>("backward").getValue().str()] = bwd;
    std::vector<std::string> vjp;
    for (Attribute a : g.getAs<ArrayAttr>("vjp_inputs")) {
      bundle::VjpInput in =
          *bundle::parseVjpInput(cast<StringAttr>(a).getValue().str());
      switch (in.kind) {
      case bundle::VjpInput::Kind::Argument:
        vjp.push_back(args[in.index]);
        break;
      case bundle::VjpInput::Kind::Result:
        vjp.push_back(resultName(in.index));
        break;
      case bundle::VjpInput::Kind::Saved:
        vjp.push_back("saved" + std::to_string(in.index));
        break;
      case bundle::VjpInput::Kind::Cotangent:
        vjp.push_back("d" + resultName(in.index));
        break;
      }
    }
    names[g.getAs<StringAttr>("vjp").getValue().str()] = vjp;
    names[g.getAs<StringAttr>("forward").getValue().str()] = args;
  }
}

std::string hexDigest(ArrayRef<uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) {
    const char *hex = "0123456789abcdef";
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 15]);
  }
  return s;
}

/// The LLVM target of `triple`, or null with `error` set.
const llvm::Target *targetOf(const llvm::Triple &triple, std::string &error) {
  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target)
    error = "rotary: no LLVM target for " + triple.str() + ": " + lookupError;
  return target;
}

/// The vector width the CPU schedule uses for `opt`: the option when given,
/// else the widest vector registers of the CPU (its features for "host").
int vectorBitsOf(const compiler::CompileOptions &opt) {
  if (opt.vectorBits)
    return opt.vectorBits;
  auto has = [&](StringRef feature) {
    if (opt.cpu == "host") {
      llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
      return features.lookup(feature);
    }
    llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
    std::string error;
    const llvm::Target *target = targetOf(triple, error);
    if (!target)
      return false;
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, opt.cpu, ""));
    return info && info->checkFeatures(("+" + feature).str());
  };
  if (has("avx512f"))
    return 512;
  if (has("avx"))
    return 256;
  return 128;
}

/// Checks the schedule options (before any work, like the CPU).
bool checkSchedule(const compiler::CompileOptions &opt, std::string &error) {
  if (opt.vectorBits && (opt.vectorBits < 128 || opt.vectorBits % 32)) {
    error = "rotary: vector-bits must be 0 (from the CPU) or a multiple of 32 "
            "of at least 128, got " +
            std::to_string(opt.vectorBits);
    return false;
  }
  for (auto [name, v] :
       {std::pair{"register rows", opt.registerRows},
        std::pair{"register columns", opt.registerCols},
        std::pair{"rows per task", opt.rowsPerTask},
        std::pair{"attention query tile", opt.attentionQueryTile},
        std::pair{"attention key tile", opt.attentionKeyTile},
        std::pair{"HDD-RoPE lanes", opt.hddLanes},
        std::pair{"Givens chain rows", opt.chainRows},
        std::pair{"HDD-RoPE checkpoint", opt.hddCheckpoint},
        std::pair{"rope gradient tokens", opt.ropeTokens},
        std::pair{"scan block", opt.scanBlock}})
    if (v < 0 || v > 4096) {
      error = std::string("rotary: ") + name +
              " must be 0 (the schedule's choice) or 1..4096, got " +
              std::to_string(v);
      return false;
    }
  for (const std::string &chip : opt.gpuChips) {
    if (llvm::count(opt.gpuChips, chip) > 1) {
      error = "rotary: GPU architecture '" + chip + "' is listed twice";
      return false;
    }
    StringRef digits(chip);
    unsigned number = 0;
    if (!digits.consume_front("sm_") || digits.getAsInteger(10, number) ||
        number < 50) {
      error = "rotary: '" + chip +
              "' is not a GPU architecture; use sm_80, sm_90 and the like";
      return false;
    }
  }
  return true;
}

/// Builds the bundle of the main buffer of `sm` into `dir` (which must exist
/// and be empty).
LogicalResult buildBundle(MLIRContext &ctx, llvm::SourceMgr &sm,
                          const compiler::CompileOptions &opt, StringRef dir,
                          TimingScope &timing, std::string &error) {
  TimingScope phase = timing.nest("parse");
  Block block;
  AsmParserState state;
  ParserConfig config(&ctx);
  if (failed(parseAsmSourceFile(sm, &block, config, &state)))
    return failure();
  // One module, as mlir-opt does it: a lone module op, or the parsed ops.
  OwningOpRef<ModuleOp> module;
  if (llvm::hasSingleElement(block) && isa<ModuleOp>(block.front())) {
    module = cast<ModuleOp>(block.front());
    module.get()->remove();
  } else {
    module = ModuleOp::create(FileLineColLoc::get(
        &ctx, sm.getMemoryBuffer(sm.getMainFileID())->getBufferIdentifier(), 1,
        1));
    module->getBody()->getOperations().splice(module->getBody()->begin(),
                                              block.getOperations());
  }
  if (failed(verify(*module)))
    return failure();
  std::map<std::string, std::vector<std::string>> names;
  for (auto fn : module->getOps<func::FuncOp>())
    names[fn.getSymName().str()] = argumentNames(fn, state);
  if (names.empty())
    return module->emitError("rotary: no func.func to compile");

  CpuPipelineOptions pipelineOptions;
  pipelineOptions.gradients = opt.gradients;
  pipelineOptions.vectorBits = vectorBitsOf(opt);
  pipelineOptions.registerRows = opt.registerRows;
  pipelineOptions.registerCols = opt.registerCols;
  pipelineOptions.rowsPerTask = opt.rowsPerTask;
  pipelineOptions.attentionQueryTile = opt.attentionQueryTile;
  pipelineOptions.attentionKeyTile = opt.attentionKeyTile;
  pipelineOptions.splitAttentionGrad = opt.splitAttentionGrad;
  pipelineOptions.hddLanes = opt.hddLanes;
  pipelineOptions.chainRows = opt.chainRows;
  pipelineOptions.hddCheckpoint = opt.hddCheckpoint;
  pipelineOptions.ropeTokens = opt.ropeTokens;
  pipelineOptions.scanBlock = opt.scanBlock;
  pipelineOptions.schedule = opt.gpuLoops ? Schedule::GpuLoops : Schedule::Cpu;
  phase = timing.nest("front pipeline (fusion, entry points)");
  PassManager front(&ctx);
  buildCpuFrontPipeline(front, pipelineOptions);
  front.enableTiming(phase);
  if (failed(front.run(*module)))
    return failure();
  bundle::Manifest manifest;
  manifest.compilerVersion = ROTARY_VERSION_STRING;
  manifest.mlirVersion = ROTARY_MLIR_VERSION_STRING;
  nameGeneratedFunctions(*module, names);
  for (auto fn : module->getOps<func::FuncOp>()) {
    if (!fn->hasAttr(kEntryAttr))
      continue;
    if (auto g = fn->getAttrOfType<DictionaryAttr>(kGradientAttr))
      manifest.gradients.push_back(describeGradient(fn, g));
    bundle::Entry entry;
    if (failed(describeEntry(fn, names[fn.getSymName().str()], entry)))
      return failure();
    manifest.entries.push_back(entry);
  }
  if (manifest.entries.empty())
    return module->emitError("rotary: no public function to export");

  // The GPU code starts from the same front, on a copy.
  OwningOpRef<ModuleOp> gpuModule;
  if (!opt.gpuChips.empty())
    gpuModule = module->clone();
  phase = timing.nest("back pipeline (lowering to the LLVM dialect)");
  PassManager back(&ctx);
  buildCpuBackPipeline(back, pipelineOptions);
  back.enableTiming(phase);
  if (failed(back.run(*module)))
    return failure();
  compiler::stripRotaryAttributes(*module);
  phase = timing.nest("translation to LLVM IR");

  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmCtx, "rotary_kernels");
  if (!llvmModule)
    return module->emitError("rotary: translation to LLVM IR failed");

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = targetOf(triple, error);
  if (!target)
    return failure();
  compiler::codegen::CpuTarget cpu{
      triple, target,
      opt.cpu == "host" ? llvm::sys::getHostCPUName().str() : opt.cpu, ""};
  std::string &features = cpu.features;
  if (opt.cpu == "host")
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(f.second ? "+" : "-") + f.first().str();

  SmallString<256> cpuDir(dir);
  llvm::sys::path::append(cpuDir, "cpu");
  if (std::error_code ec = llvm::sys::fs::create_directories(cpuDir)) {
    error = "rotary: cannot create " + cpuDir.str().str() + ": " + ec.message();
    return failure();
  }
  SmallVector<std::string> objects;
  phase = timing.nest("LLVM optimiser and code generation");
  if (!compiler::codegen::emitObjects(std::move(llvmModule), cpu, cpuDir,
                                      objects, error))
    return failure();
  SmallString<256> library(dir);
  llvm::sys::path::append(library, bundle::kCpuLibrary);
  phase = timing.nest("link");
  if (!compiler::codegen::linkLibrary(objects, library, error))
    return failure();

  manifest.cpuLibrary = bundle::kCpuLibrary;
  if (gpuModule) {
    phase = timing.nest("GPU code");
    manifest.gpu.emplace();
    if (failed(compiler::buildGpuCode(*gpuModule, opt, cpu, dir, *manifest.gpu,
                                      error)))
      return failure();
  }
  phase = timing.nest("manifest");
  // The enabled features, so a runtime can refuse a bundle its CPU lacks
  // instead of dying on an illegal instruction.
  std::string enabled;
  for (StringRef f : llvm::split(features, ','))
    if (f.starts_with("+"))
      enabled += (enabled.empty() ? "" : ",") + f.str();
  manifest.cpuTarget =
      triple.str() + " " + cpu.cpu + (enabled.empty() ? "" : " " + enabled);
  // The digest of the manifest and the files it names (Manifest.h), which
  // the runtime recomputes on load to refuse a bundle edited since.
  std::vector<bundle::BundleFile> files;
  for (const std::string &name : bundle::hashedFiles(manifest)) {
    SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    auto bytes = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
    if (!bytes) {
      error = "rotary: cannot read " + path.str().str() + ": " +
              bytes.getError().message();
      return failure();
    }
    files.emplace_back(name, (*bytes)->getBuffer().str());
  }
  manifest.contentHash = bundle::contentHash(manifest, files);
  SmallString<256> manifestPath(dir);
  llvm::sys::path::append(manifestPath, bundle::kManifestFile);
  std::error_code ec;
  llvm::raw_fd_ostream os(manifestPath, ec);
  if (ec) {
    error = "rotary: cannot write " + manifestPath.str().str();
    return failure();
  }
  os << bundle::toJson(manifest);
  return success();
}

/// Bundles being assembled. LLVM's fatal errors end the process with exit(),
/// which unwinds nothing: an atexit handler removes what is still listed.
class TempDirs {
public:
  static TempDirs &get() {
    static TempDirs dirs; // constructed before the handler is registered,
    static std::once_flag registered; // so destroyed after it runs
    std::call_once(registered, [] { std::atexit([] { get().removeAll(); }); });
    return dirs;
  }
  void add(StringRef dir) {
    std::lock_guard<std::mutex> lock(mutex);
    dirs.insert(dir.str());
  }
  void remove(StringRef dir) {
    llvm::sys::fs::remove_directories(dir);
    std::lock_guard<std::mutex> lock(mutex);
    dirs.erase(dir.str());
  }

private:
  void removeAll() {
    std::lock_guard<std::mutex> lock(mutex);
    for (const std::string &dir : dirs)
      llvm::sys::fs::remove_directories(dir);
    dirs.clear();
  }
  std::mutex mutex;
  std::set<std::string> dirs;
};

/// Checks `opt.cpu` against the target's processor list before LLVM sees it
/// (an unknown name makes LLVM warn once per subtarget query and then abort
/// with "64-bit code requested on a subtarget that doesn't support it").
bool checkCpu(const compiler::CompileOptions &opt, std::string &error) {
  if (opt.cpu == "host")
    return true;
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = targetOf(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (opt.cpu.empty() || !generic || !generic->isCPUStringValid(opt.cpu)) {
    error = "rotary: unknown CPU '" + opt.cpu + "' for " + triple.str() +
            "; use 'host' or an LLVM CPU name such as x86-64-v2, x86-64-v3, "
            "x86-64-v4, skylake-avx512 or znver4 (llc-22 -mcpu=help lists "
            "them all)";
    return false;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> chosen(
      target->createMCSubtargetInfo(triple, opt.cpu, ""));
  if (triple.getArch() == llvm::Triple::x86_64 &&
      !chosen->checkFeatures("+64bit")) {
    error = "rotary: CPU '" + opt.cpu +
            "' cannot run 64-bit code, which this machine's target (" +
            triple.str() + ") needs; choose an x86-64 CPU such as x86-64-v3";
    return false;
  }
  return true;
}

/// Whether `dir` holds what compileSourceToBundle writes and nothing else:
/// a bundle manifest and the target folders.
bool isBundleDirectory(StringRef dir) {
  SmallString<256> manifest(dir);
  llvm::sys::path::append(manifest, bundle::kManifestFile);
  auto text = llvm::MemoryBuffer::getFile(manifest);
  if (!text || !(*text)->getBuffer().contains(
                   "\"" + std::string(bundle::kFormatName) + "\""))
    return false;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = llvm::sys::path::filename(it->path());
    if (name != bundle::kManifestFile && name != "cpu" && name != "gpu")
      return false;
  }
  return !ec;
}

bool isEmptyDirectory(StringRef dir) {
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(dir, ec);
  return !ec && it == llvm::sys::fs::directory_iterator();
}

/// `path` made absolute, its parent's symlinks resolved, its last component
/// kept as written: the directory entry that would be replaced.
SmallString<256> entryPath(StringRef path) {
  SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  llvm::sys::path::remove_dots(abs, /*remove_dot_dot=*/true);
  SmallString<256> parent(llvm::sys::path::parent_path(abs)), real;
  if (parent.empty() || llvm::sys::fs::real_path(parent, real))
    return abs;
  llvm::sys::path::append(real, llvm::sys::path::filename(abs));
  return real;
}

/// Whether `path` is `inner` or one of its ancestors (both absolute).
bool containsPath(StringRef path, StringRef inner) {
  if (!inner.starts_with(path))
    return false;
  return inner.size() == path.size() || path.ends_with("/") ||
         inner[path.size()] == '/';
}

/// What replacing `bundleDir` would do, checked before any work: an earlier
/// bundle or an empty folder is replaced; anything else only with `force`;
/// the input, the current directory and their ancestors never.
/// `target` is entryPath(bundleDir).
bool checkDestination(const std::string &bundleDir, StringRef target,
                      const std::string &inputPath, bool force,
                      std::string &error) {
  SmallString<256> cwd, realCwd;
  if (!llvm::sys::fs::current_path(cwd) &&
      !llvm::sys::fs::real_path(cwd, realCwd) &&
      containsPath(target, realCwd)) {
    error = "rotary: refusing to write the bundle to '" + bundleDir +
            "': it is the current directory or one that contains it";
    return false;
  }
  SmallString<256> realInput;
  if (!inputPath.empty() && inputPath != "-" &&
      !llvm::sys::fs::real_path(inputPath, realInput) &&
      containsPath(target, realInput)) {
    error = "rotary: refusing to write the bundle to '" + bundleDir +
            "': that would delete the input '" + inputPath + "'";
    return false;
  }
  llvm::sys::fs::file_status st;
  if (llvm::sys::fs::status(target, st, /*follow=*/false))
    return true; // nothing there
  if (force)
    return true;
  std::string refuse = "rotary: refusing to replace '" + bundleDir + "': ";
  std::string hint = " (pass --force to replace it anyway)";
  switch (st.type()) {
  case llvm::sys::fs::file_type::symlink_file:
    error = refuse + "it is a symbolic link" + hint +
            "; the link is replaced, never what it points to";
    return false;
  case llvm::sys::fs::file_type::directory_file:
    if (isEmptyDirectory(target) || isBundleDirectory(target))
      return true;
    error = refuse + "it is a directory but not a rotary bundle" + hint;
    return false;
  default:
    error = refuse + "it exists and is not a rotary bundle" + hint;
    return false;
  }
}

/// Puts the finished bundle `built` at `target` (checked by
/// checkDestination): what was there is moved aside first and deleted only
/// once the new bundle is in place; a symbolic link is replaced, not
/// followed.
bool moveIntoPlace(StringRef built, StringRef target, std::string &error) {
  llvm::sys::fs::file_status st;
  SmallString<256> aside;
  if (!llvm::sys::fs::status(target, st, /*follow=*/false)) {
    SmallString<256> model(target);
    model += ".old-%%%%%%";
    llvm::sys::fs::createUniquePath(model, aside, /*MakeAbsolute=*/false);
    if (std::error_code ec = llvm::sys::fs::rename(target, aside)) {
      error = "rotary: cannot move '" + target.str() + "' aside: " +
              ec.message();
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(built, target)) {
    if (!aside.empty())
      llvm::sys::fs::rename(aside, target);
    error = "rotary: cannot move the bundle to " + target.str() + ": " +
            ec.message();
    return false;
  }
  if (!aside.empty()) {
    if (st.type() == llvm::sys::fs::file_type::directory_file)
      llvm::sys::fs::remove_directories(aside);
    else
      llvm::sys::fs::remove(aside);
  }
  return true;
}

bool compileToBundle(const std::string &source, const std::string &bufferName,
                     const std::string &inputPath,
                     const std::string &bundleDir,
                     const compiler::CompileOptions &options,
                     std::string &error) {
  initialize();
  if (bundleDir.empty()) {
    error = "rotary: the bundle path is empty";
    return false;
  }
  // Build beside the destination (an absolute path: LLVM resolves relative
  // unique names against the temp directory), then rename into place.
  SmallString<256> target = entryPath(bundleDir);
  if (!checkCpu(options, error) || !checkSchedule(options, error) ||
      !checkDestination(bundleDir, target, inputPath, options.force, error))
    return false;
  DialectRegistry registry;
  rotary::registerSubsetModels(registry);
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // gpu-module-to-binary translates the kernels to LLVM IR for NVPTX.
  registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<RotaryDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // Diagnostics point at the source; a dump of the IR helps nobody here.
  ctx.printOpOnDiagnostic(false);

  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  SourceMgrDiagnosticHandler handler(sm, &ctx, diagStream);

  SmallString<256> tmp(target);
  tmp += ".tmp-%%%%%%";
  SmallString<256> tmpDir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(tmp, tmpDir)) {
    error = "rotary: cannot create a directory next to " + bundleDir + ": " +
            ec.message();
    return false;
  }
  TempDirs::get().add(tmpDir);
  // The report prints when `timingManager` goes, after everything it timed.
  DefaultTimingManager timingManager;
  timingManager.setEnabled(options.timing);
  TimingScope timing = timingManager.getRootScope();
  std::string buildError;
  bool ok =
      succeeded(buildBundle(ctx, sm, options, tmpDir, timing, buildError)) &&
      moveIntoPlace(tmpDir, target, buildError);
  timing.stop();
  TempDirs::get().remove(tmpDir);
  if (!ok) {
    error = diagnostics + buildError;
    if (error.empty())
      error = "rotary: compilation failed";
  }
  return ok;
}
} // namespace

bool compiler::compileSourceToBundle(const std::string &source,
                                     const std::string &bufferName,
                                     const std::string &bundleDir,
                                     const CompileOptions &options,
                                     std::string &error) {
  return compileToBundle(source, bufferName, "", bundleDir, options, error);
}

bool compiler::compileFileToBundle(const std::string &inputPath,
                                   const std::string &bundleDir,
                                   const CompileOptions &options,
                                   std::string &error) {
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(inputPath);
  if (!file) {
    error =
        "rotary: cannot read " + inputPath + ": " + file.getError().message();
    return false;
  }
  return compileToBundle((*file)->getBuffer().str(), inputPath, inputPath,
                         bundleDir, options, error);
}

std::string compiler::bundleKey(const std::string &source,
                                const CompileOptions &options) {
  std::string cpu =
      options.cpu == "host" ? llvm::sys::getHostCPUName().str() : options.cpu;
  std::string features;
  if (options.cpu == "host")
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (f.second ? "+" : "-") + f.first().str() + ",";
  llvm::SHA256 hash;
  // Length-prefixed fields, so that no two inputs hash the same bytes.
  for (const std::string &field :
       {source, std::string(ROTARY_VERSION_STRING),
        std::string(ROTARY_SOURCE_FINGERPRINT),
        std::string(ROTARY_MLIR_VERSION_STRING), cpu, features,
        std::string(options.gradients ? "gradients" : "forward"),
        "schedule " + std::to_string(options.vectorBits) + " " +
            std::to_string(options.registerRows) + " " +
            std::to_string(options.registerCols) + " " +
            std::to_string(options.rowsPerTask) + " " +
            std::to_string(options.attentionQueryTile) + " " +
            std::to_string(options.attentionKeyTile) + " " +
            std::to_string(options.hddLanes) + " " +
            std::to_string(options.chainRows) + " " +
            std::to_string(options.hddCheckpoint) + " " +
            std::to_string(options.ropeTokens) + " " +
            std::to_string(options.scanBlock) +
            (options.splitAttentionGrad ? " split-attention-grad" : ""),
        std::string(options.gpuLoops ? "gpu-loops" : "cpu-schedule"),
        "gpu " + llvm::join(options.gpuChips, ",") + " " +
            compiler::cudaToolkit(options)}) {
    std::string length = std::to_string(field.size()) + ":";
    hash.update(length);
    hash.update(field);
  }
  std::array<uint8_t, 32> digest = hash.final();
  return hexDigest(digest);
}
