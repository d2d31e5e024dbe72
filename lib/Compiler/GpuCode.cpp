//===- GpuCode.cpp - the GPU part of a kernel bundle ----------------------===//
//
// rotary-gpu-pipeline's back half with the host lowered (host=true) on a
// copy of the module the front left; then the kernels' PTX per chip is
// written out, ptxas makes the cubins when the toolkit has one, and the
// host functions become gpu/host.so like the CPU library.
//
//===----------------------------------------------------------------------===//

#include "GpuCode.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace rotary;

namespace {
bool writeFile(StringRef path, StringRef bytes, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) {
    os << bytes;
    os.close();
    ec = os.error();
  }
  if (ec)
    error = "rotary: cannot write " + path.str() + ": " + ec.message();
  return !ec;
}

/// ptxas `ptx` into `cubin` for `chip`; false with its output on failure.
bool assemble(StringRef ptxas, StringRef chip, StringRef ptx, StringRef cubin,
              std::string &error) {
  SmallString<256> log(cubin);
  log += ".log";
  std::string arch = "-arch=" + chip.str();
  SmallVector<StringRef> args = {ptxas, arch, "-O3", "-o", cubin, ptx};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0,
                                     &execError);
  auto text = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (rc != 0)
    error = "rotary: ptxas rejected the " + chip.str() +
            " kernels: " + execError +
            (text ? "\n" + (*text)->getBuffer().str() : "");
  return rc == 0;
}

bundle::GpuKernel describeKernel(DictionaryAttr record) {
  bundle::GpuKernel kernel;
  kernel.name = record.getAs<StringAttr>("name").str();
  for (Attribute p : record.getAs<ArrayAttr>("params"))
    kernel.params.push_back(cast<StringAttr>(p).str());
  llvm::append_range(kernel.block,
                     record.getAs<DenseI64ArrayAttr>("block").asArrayRef());
  kernel.sharedBytes = record.getAs<IntegerAttr>("shared_bytes").getInt();
  kernel.sharedAtLaunch = record.getAs<BoolAttr>("shared_at_launch").getValue();
  return kernel;
}
} // namespace

void compiler::stripRotaryAttributes(ModuleOp module) {
  module->walk([](Operation *op) {
    for (NamedAttribute a : llvm::to_vector(op->getDiscardableAttrs()))
      if (a.getName().strref().starts_with("rotary."))
        op->removeDiscardableAttr(a.getName());
  });
}

std::string compiler::cudaToolkit(const CompileOptions &options) {
  if (!options.cudaToolkit.empty())
    return options.cudaToolkit;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  if (llvm::sys::fs::is_directory("/usr/local/cuda/nvvm/libdevice"))
    return "/usr/local/cuda";
  return "";
}

LogicalResult compiler::buildGpuCode(ModuleOp module,
                                     const CompileOptions &options,
                                     const codegen::CpuTarget &cpu,
                                     StringRef dir, bundle::GpuCode &gpu,
                                     std::string &error) {
  std::string toolkit = cudaToolkit(options);
  GpuPipelineOptions pipeline;
  pipeline.chips = ArrayRef<std::string>(options.gpuChips);
  pipeline.toolkit = toolkit;
  pipeline.host = true;
  PassManager pm(module.getContext());
  buildGpuBackPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return failure();

  SmallString<256> gpuDir(dir);
  llvm::sys::path::append(gpuDir, "gpu");
  if (std::error_code ec = llvm::sys::fs::create_directories(gpuDir)) {
    error = "rotary: cannot create " + gpuDir.str().str() + ": " + ec.message();
    return failure();
  }
  if (auto records = module->getAttrOfType<ArrayAttr>(kGpuKernelsAttr))
    for (Attribute r : records)
      gpu.kernels.push_back(describeKernel(cast<DictionaryAttr>(r)));
  SmallString<256> ptxas(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  bool hasPtxas = !toolkit.empty() && llvm::sys::fs::can_execute(ptxas);
  for (auto binary :
       llvm::make_early_inc_range(module.getOps<gpu::BinaryOp>())) {
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      auto target = cast<NVVM::NVVMTargetAttr>(object.getTarget());
      bundle::GpuObject out;
      out.chip = target.getChip().str();
      out.ptx = "gpu/" + out.chip + ".ptx";
      SmallString<256> ptx(dir), cubin(dir);
      llvm::sys::path::append(ptx, out.ptx);
      if (!writeFile(ptx, object.getObject().getValue(), error))
        return failure();
      if (hasPtxas) {
        out.cubin = "gpu/" + out.chip + ".cubin";
        llvm::sys::path::append(cubin, out.cubin);
        if (!assemble(ptxas, out.chip, ptx, cubin, error))
          return failure();
      }
      gpu.objects.push_back(out);
    }
    binary.erase();
  }

  // The host functions, as the CPU library: LLVM IR, objects, a library.
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  stripRotaryAttributes(module);
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> host =
      translateModuleToLLVMIR(module, llvmCtx, "rotary_gpu_host");
  if (!host)
    return module.emitError("rotary: translating the GPU host code to LLVM "
                            "IR failed");
  SmallVector<std::string> objects;
  if (!codegen::emitObjects(std::move(host), cpu, gpuDir, objects, error))
    return failure();
  SmallString<256> library(dir);
  llvm::sys::path::append(library, bundle::kGpuHostLibrary);
  if (!codegen::linkLibrary(objects, library, error))
    return failure();
  gpu.hostLibrary = bundle::kGpuHostLibrary;
  return success();
}
