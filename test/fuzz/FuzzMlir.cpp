//===- FuzzMlir.cpp - libFuzzer target: the .mlir parser and verifiers ----===//
//
// Parses arbitrary text with the rotary dialect (and the dialects its IR
// uses) loaded, which runs every verifier. When the text parses, the
// printed module must parse again to the same text: the custom assembly
// formats of the rotary ops must round-trip. A crash, a sanitizer report or
// a failed round trip is a finding.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace {
MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registry.insert<rotary::RotaryDialect, func::FuncDialect,
                    arith::ArithDialect, tensor::TensorDialect>();
    auto *c = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    // Diagnostics are the expected outcome of most inputs: drop them.
    c->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
    return c;
  }();
  return *ctx;
}

std::string print(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return text;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  ParserConfig config(&ctx);
  // MLIR's lexer relies on a NUL after the buffer (as files and
  // MemoryBuffers have): a std::string provides it, libFuzzer's data not.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module)
    return 0;
  std::string first = print(*module);
  OwningOpRef<ModuleOp> again = parseSourceString<ModuleOp>(first, config);
  if (!again || print(*again) != first) {
    std::fprintf(stderr,
                 "round trip failed: the printed module %s:\n%s\n",
                 again ? "prints differently when parsed again"
                       : "does not parse",
                 first.c_str());
    std::abort();
  }
  return 0;
}
