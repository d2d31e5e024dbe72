//===- GpuHost.cpp - the host side of GPU bundles -------------------------===//
//
// Two steps of rotary-gpu-pipeline around the kernels' own lowering:
// rotary-gpu-merge-kernel-modules gathers the outlined kernels into one
// gpu.module (one PTX and one cubin per chip for the whole bundle), and
// rotary-gpu-host-to-runtime turns what upstream's gpu-to-llvm leaves of
// the host functions (gpu.alloc, gpu.dealloc, gpu.launch_func on LLVM
// values) into calls of the hooks the runtime installs (bundle ABI,
// rotary/Bundle/Manifest.h). The runtime owns contexts, streams, modules
// and errors; the compiled host code only computes sizes and geometry.
//
//===----------------------------------------------------------------------===//

#include "rotary/Bundle/Manifest.h"
#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

#include <map>

namespace rotary {
#define GEN_PASS_DEF_ROTARYGPUMERGEKERNELMODULES
#define GEN_PASS_DEF_ROTARYGPUHOSTTORUNTIME
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
struct MergeKernelModulesPass
    : rotary::impl::RotaryGpuMergeKernelModulesBase<MergeKernelModulesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> parts(module.getOps<gpu::GPUModuleOp>());
    if (parts.empty())
      return;
    if (module.lookupSymbol(moduleName)) {
      module.emitError("rotary: the module already has a symbol '")
          << moduleName << "' to merge the kernels into";
      return signalPassFailure();
    }
    OpBuilder b(parts.front());
    auto merged = gpu::GPUModuleOp::create(b, parts.front().getLoc(),
                                           moduleName.getValue());
    SymbolTable mergedSymbols(merged);
    // Outlining names a kernel after its function and its module after the
    // kernel, made unique: the module's name is the kernel's new name.
    DenseMap<Attribute, SymbolRefAttr> renamed;
    for (gpu::GPUModuleOp part : parts) {
      for (Operation &op : llvm::make_early_inc_range(*part.getBody())) {
        auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
        if (!kernel || !kernel.isKernel()) {
          op.emitError("rotary: only kernels can be merged into one GPU "
                       "module, not this op");
          return signalPassFailure();
        }
        auto oldRef = SymbolRefAttr::get(
            part.getNameAttr(), {FlatSymbolRefAttr::get(kernel.getNameAttr())});
        kernel.setName(part.getName());
        // Shared buffers are read with 128-bit loads: 16-byte aligned.
        for (unsigned i = 0, e = kernel.getNumWorkgroupAttributions(); i < e;
             ++i)
          kernel.setWorkgroupAttributionAttr(
              i, LLVM::LLVMDialect::getAlignAttrName(),
              b.getI64IntegerAttr(16));
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        mergedSymbols.insert(&op);
        renamed[oldRef] =
            SymbolRefAttr::get(merged.getNameAttr(),
                               {FlatSymbolRefAttr::get(kernel.getNameAttr())});
      }
      part.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      if (SymbolRefAttr to = renamed.lookup(launch.getKernel()))
        launch.setKernelAttr(to);
    });
  }
};

/// The bundle's name for a kernel parameter type ("ptr", "i64", "f32").
std::string paramName(Type type) {
  if (isa<LLVM::LLVMPointerType>(type))
    return "ptr";
  if (auto i = dyn_cast<IntegerType>(type))
    return "i" + std::to_string(i.getWidth());
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isF32())
    return "f32";
  if (type.isF64())
    return "f64";
  return "";
}

/// Calls the function in the hook global `name` (null-initialised, set by
/// the runtime on load).
LLVM::CallOp callHook(OpBuilder &b, Location loc, ModuleOp module,
                      StringRef name, LLVM::LLVMFunctionType type,
                      ValueRange args) {
  LLVM::GlobalOp global = getOrCreatePointerGlobal(module, name);
  Value slot = LLVM::AddressOfOp::create(b, loc, global);
  Value fn = LLVM::LoadOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), slot);
  SmallVector<Value> operands = {fn};
  llvm::append_range(operands, args);
  return LLVM::CallOp::create(b, loc, type, operands);
}

/// gpu.alloc of an identity-layout memref: bytes from the runtime's
/// allocator, which knows the call's device and stream.
struct AllocToHook : ConvertOpToLLVMPattern<gpu::AllocOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult
  matchAndRewrite(gpu::AllocOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MemRefType type = op.getMemref().getType();
    if (op.getAsyncToken() || op.getHostShared() ||
        !isConvertibleAndHasIdentityMaps(type))
      return rewriter.notifyMatchFailure(op, "not a plain device buffer");
    Location loc = op.getLoc();
    SmallVector<Value> sizes, strides;
    Value bytes;
    getMemRefDescriptorSizes(loc, type, adaptor.getDynamicSizes(), rewriter,
                             sizes, strides, bytes);
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    auto fnType =
        LLVM::LLVMFunctionType::get(ptr, {getTypeConverter()->getIndexType()});
    Value data = callHook(rewriter, loc, op->getParentOfType<ModuleOp>(),
                          bundle::kGpuAllocSymbol, fnType, bytes)
                     .getResult();
    Value descriptor =
        createMemRefDescriptor(loc, type, data, data, sizes, strides, rewriter);
    rewriter.replaceOp(op, descriptor);
    return success();
  }
};

struct DeallocToHook : ConvertOpToLLVMPattern<gpu::DeallocOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult
  matchAndRewrite(gpu::DeallocOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getAsyncToken())
      return rewriter.notifyMatchFailure(op, "asynchronous");
    Location loc = op.getLoc();
    MemRefDescriptor descriptor(adaptor.getMemref());
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    auto fnType =
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(getContext()), ptr);
    callHook(rewriter, loc, op->getParentOfType<ModuleOp>(),
             bundle::kGpuFreeSymbol, fnType,
             descriptor.allocatedPtr(rewriter, loc));
    rewriter.eraseOp(op);
    return success();
  }
};

/// What the bundle records of a kernel: its parameters as the host passes
/// them and the block it is launched with.
struct KernelRecord {
  SmallVector<std::string> params;
  std::array<int64_t, 3> block = {0, 0, 0};
  int64_t sharedBytes = 0;
  /// The dynamic shared memory is computed from the shapes at each launch
  /// (tiles sized by a dimension known only at run time).
  bool sharedAtLaunch = false;
};

struct HostToRuntimePass
    : rotary::impl::RotaryGpuHostToRuntimeBase<HostToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(lowerBuffers(module)))
      return signalPassFailure();
    std::map<std::string, KernelRecord> kernels;
    SmallVector<gpu::LaunchFuncOp> launches;
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      // A bundle holds one kernel module (rotary-gpu-merge-kernel-modules):
      // the kernels are known by name alone.
      if (!launches.empty() && launch.getKernelModuleName() !=
                                   launches.front().getKernelModuleName()) {
        launch.emitError("rotary: the launches use more than one GPU module ('")
            << launches.front().getKernelModuleName().getValue() << "' and '"
            << launch.getKernelModuleName().getValue()
            << "'); run rotary-gpu-merge-kernel-modules first";
        return WalkResult::interrupt();
      }
      if (failed(record(launch, kernels)))
        return WalkResult::interrupt();
      launches.push_back(launch);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    // Kernels are numbered in name order: the manifest's order.
    std::map<std::string, int32_t> index;
    for (auto &[name, kernel] : kernels)
      index.emplace(name, int32_t(index.size()));
    for (gpu::LaunchFuncOp launch : launches)
      lowerLaunch(module, launch, index.at(launch.getKernelName().str()));
    Builder b(module.getContext());
    SmallVector<Attribute> records;
    for (auto &[name, kernel] : kernels) {
      SmallVector<Attribute> params;
      for (const std::string &p : kernel.params)
        params.push_back(b.getStringAttr(p));
      records.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("name", b.getStringAttr(name)),
           b.getNamedAttr("params", b.getArrayAttr(params)),
           b.getNamedAttr("block", b.getDenseI64ArrayAttr(kernel.block)),
           b.getNamedAttr("shared_bytes",
                          b.getI64IntegerAttr(kernel.sharedBytes)),
           b.getNamedAttr("shared_at_launch",
                          b.getBoolAttr(kernel.sharedAtLaunch))}));
    }
    module->setAttr(kGpuKernelsAttr, b.getArrayAttr(records));
  }

  LogicalResult lowerBuffers(ModuleOp module) {
    LLVMTypeConverter converter(module.getContext());
    RewritePatternSet patterns(module.getContext());
    patterns.add<AllocToHook, DeallocToHook>(converter);
    ConversionTarget target(*module.getContext());
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addIllegalOp<gpu::AllocOp, gpu::DeallocOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(module, target, std::move(patterns)))) {
      module.emitError("rotary: only synchronous gpu.alloc / gpu.dealloc of "
                       "device buffers with the identity layout reach the "
                       "runtime's allocator");
      return failure();
    }
    return success();
  }

  /// Checks `launch` and adds what it says of its kernel to `kernels`.
  LogicalResult record(gpu::LaunchFuncOp launch,
                       std::map<std::string, KernelRecord> &kernels) {
    if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
        launch.getAsyncObject() || launch.hasClusterSize())
      return launch.emitError("rotary: the runtime launches kernels on the "
                              "caller's stream, without clusters; this "
                              "launch is asynchronous or has clusters");
    KernelRecord kernel;
    for (Value v : launch.getKernelOperands()) {
      std::string name = paramName(v.getType());
      if (name.empty())
        return launch.emitError("rotary: a kernel parameter of type ")
               << v.getType()
               << " has no bundle ABI; the host must be lowered to the "
                  "LLVM dialect (gpu-to-llvm) first";
      kernel.params.push_back(name);
    }
    Value block[] = {launch.getBlockSizeX(), launch.getBlockSizeY(),
                     launch.getBlockSizeZ()};
    for (int d = 0; d < 3; ++d) {
      APInt size;
      if (!matchPattern(block[d], m_ConstantInt(&size)))
        return launch.emitError("rotary: the block size of a launch must be "
                                "a constant (the manifest records it)");
      kernel.block[d] = size.getSExtValue();
    }
    if (Value shared = launch.getDynamicSharedMemorySize()) {
      APInt bytes;
      if (matchPattern(shared, m_ConstantInt(&bytes)))
        kernel.sharedBytes = bytes.getSExtValue();
      else
        kernel.sharedAtLaunch = true;
    }
    std::string name = launch.getKernelName().str();
    auto [it, fresh] = kernels.emplace(name, kernel);
    if (!fresh && (it->second.params != kernel.params ||
                   it->second.block != kernel.block ||
                   it->second.sharedBytes != kernel.sharedBytes ||
                   it->second.sharedAtLaunch != kernel.sharedAtLaunch))
      return launch.emitError("rotary: kernel '")
             << name
             << "' is launched twice with different parameters, blocks or "
                "shared memory";
    return success();
  }

  /// Replaces `launch` by a call of the launch hook with the parameters in
  /// the driver's form: an array of pointers to each value.
  void lowerLaunch(ModuleOp module, gpu::LaunchFuncOp launch, int32_t index) {
    MLIRContext *ctx = module.getContext();
    Location loc = launch.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i32 = IntegerType::get(ctx, 32);
    auto i64 = IntegerType::get(ctx, 64);
    // Stack slots in the entry block: a launch in a loop reuses them.
    auto fn = launch->getParentOfType<LLVM::LLVMFuncOp>();
    OpBuilder entry = OpBuilder::atBlockBegin(&fn.getBody().front());
    Value one = LLVM::ConstantOp::create(entry, loc, i64, 1);
    ValueRange operands = launch.getKernelOperands();
    Value array = LLVM::AllocaOp::create(
        entry, loc, ptr, ptr,
        LLVM::ConstantOp::create(entry, loc, i64,
                                 std::max<int64_t>(1, operands.size())));
    OpBuilder b(launch);
    for (auto [i, v] : llvm::enumerate(operands)) {
      Value slot = LLVM::AllocaOp::create(entry, loc, ptr, v.getType(), one);
      LLVM::StoreOp::create(b, loc, v, slot);
      Value element = LLVM::GEPOp::create(b, loc, ptr, ptr, array,
                                          ArrayRef<LLVM::GEPArg>{int32_t(i)});
      LLVM::StoreOp::create(b, loc, slot, element);
    }
    auto asI64 = [&](Value v) -> Value {
      if (v.getType() == i64)
        return v;
      return LLVM::ZExtOp::create(b, loc, i64, v);
    };
    Value shared = launch.getDynamicSharedMemorySize();
    SmallVector<Value> args = {
        LLVM::ConstantOp::create(b, loc, i32, index),
        asI64(launch.getGridSizeX()),
        asI64(launch.getGridSizeY()),
        asI64(launch.getGridSizeZ()),
        asI64(launch.getBlockSizeX()),
        asI64(launch.getBlockSizeY()),
        asI64(launch.getBlockSizeZ()),
        shared ? shared : LLVM::ConstantOp::create(b, loc, i32, 0),
        array,
        LLVM::ConstantOp::create(b, loc, i32, int32_t(operands.size()))};
    auto fnType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(ctx),
        {i32, i64, i64, i64, i64, i64, i64, i32, ptr, i32});
    callHook(b, loc, module, bundle::kGpuLaunchSymbol, fnType, args);
    launch.erase();
  }
};
} // namespace
