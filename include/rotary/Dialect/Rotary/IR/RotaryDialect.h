//===- RotaryDialect.h - rotary dialect -------------------------*- C++ -*-===//
#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_H
#define ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "rotary/Dialect/Rotary/IR/RotaryOpsDialect.h.inc"

#include "rotary/Dialect/Rotary/IR/RotaryEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "rotary/Dialect/Rotary/IR/RotaryAttrs.h.inc"

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYDIALECT_H
