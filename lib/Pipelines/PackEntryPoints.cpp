//===- PackEntryPoints.cpp - the int32_t(void**) bundle ABI symbols -------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace rotary {
#define GEN_PASS_DEF_ROTARYPACKENTRYPOINTS
#include "rotary/Pipelines/Passes.h.inc"
} // namespace rotary

using namespace mlir;
using namespace rotary;

namespace {
struct PackEntryPointsPass
    : rotary::impl::RotaryPackEntryPointsBase<PackEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto entries = module->getAttrOfType<DictionaryAttr>(kEntryAttr);
    if (!entries)
      return;
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i32 = IntegerType::get(ctx, 32);
    for (NamedAttribute entry : entries) {
      auto counts = cast<DenseI64ArrayAttr>(entry.getValue());
      int64_t numIn = counts[0], numOut = counts[1];
      std::string name = entry.getName().str();
      auto body = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_" + name);
      auto check = module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_" +
                                                         name + kCheckSuffix);
      if (!body || !check) {
        module.emitError("rotary: entry '") << name << "' lost its C interface";
        return signalPassFailure();
      }
      Location loc = body.getLoc();
      auto fn =
          LLVM::LLVMFuncOp::create(b, loc, kEntrySymbolPrefix + name,
                                   LLVM::LLVMFunctionType::get(i32, {ptr}));
      Block *entryBlock = fn.addEntryBlock(b);
      Block *fail = fn.addBlock(), *run = fn.addBlock();
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(entryBlock);
      Value args = entryBlock->getArgument(0);
      SmallVector<Value> descriptors;
      for (int32_t i = 0, e = numIn + numOut; i < e; ++i) {
        Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, args,
                                         ArrayRef<LLVM::GEPArg>{i});
        descriptors.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
      }
      Value status = LLVM::CallOp::create(
                         b, loc, check, ArrayRef(descriptors).take_front(numIn))
                         .getResult();
      Value zero = LLVM::ConstantOp::create(b, loc, i32, 0);
      Value failed =
          LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, status, zero);
      LLVM::CondBrOp::create(b, loc, failed, fail, run);
      b.setInsertionPointToStart(fail);
      LLVM::ReturnOp::create(b, loc, status);
      b.setInsertionPointToStart(run);
      LLVM::CallOp::create(b, loc, body, descriptors);
      LLVM::ReturnOp::create(b, loc, zero);
    }
  }
};
} // namespace
