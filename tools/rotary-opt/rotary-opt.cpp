//===- rotary-opt.cpp - the rotary optimizer driver -----------------------===//
//
// mlir-opt with the rotary dialect and its passes and pipelines registered, on
// top of every upstream dialect, pass and extension the pipelines need.
//
//===----------------------------------------------------------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"
#include "rotary/Dialect/Rotary/Transforms/Passes.h"
#include "rotary/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  rotary::registerRotaryPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<rotary::RotaryDialect>();

  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "rotary " ROTARY_VERSION_STRING " (MLIR " ROTARY_MLIR_VERSION_STRING
          ")\n";
  });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rotary optimizer driver\n", registry));
}
