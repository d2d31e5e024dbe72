//===- RotaryDialect.cpp - rotary dialect registration --------------------===//

#include "rotary/Dialect/Rotary/IR/RotaryDialect.h"
#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "Verifiers.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace rotary;

#include "rotary/Dialect/Rotary/IR/RotaryOpsDialect.cpp.inc"

#include "rotary/Dialect/Rotary/IR/RotaryEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "rotary/Dialect/Rotary/IR/RotaryAttrs.cpp.inc"

void RotaryDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "rotary/Dialect/Rotary/IR/RotaryOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "rotary/Dialect/Rotary/IR/RotaryAttrs.cpp.inc"
      >();
  detail::attachGradShapeModels(getContext());
}
