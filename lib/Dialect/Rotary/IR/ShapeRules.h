//===- ShapeRules.h - one shape contract, checked twice ---------*- C++ -*-===//
//
// An op's shape contract is written once, as a function over ShapeRules, and
// run in two modes:
//
// - by the verifier: sizes are the static sizes of the types; a rule whose
//   sizes are all known is checked now and a failure is an op error;
// - by RuntimeVerifiableOpInterface: sizes are index values (tensor.dim of
//   the operands); a rule with a dynamic size becomes a cf.assert that the
//   entry point's check function evaluates before any kernel runs.
//
// A rule with every size static is decided by the verifier and emits nothing
// at run time; a rule with a dynamic size passes the verifier and is checked
// at run time. Checks that only concern attributes, ranks or element types
// are decided by the verifier alone (`error()`); at run time they hold.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_ROTARY_IR_SHAPERULES_H
#define LIB_DIALECT_ROTARY_IR_SHAPERULES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace rotary::detail {
using namespace mlir;

/// A size of a shape contract: its static value (kDynamic when the IR does
/// not know it), at run time also its index value, or "any size".
struct Size {
  int64_t value = ShapedType::kDynamic;
  Value ir;
  bool any = false;
  bool isStatic() const { return !any && !ShapedType::isDynamic(value); }
};

class ShapeRules {
public:
  using MessageFn = function_ref<std::string(Operation *, StringRef)>;

  /// Verifier mode: errors are reported on `op`.
  explicit ShapeRules(Operation *op) : owner(op) {}
  /// Run-time mode: rules with a dynamic size become cf.assert ops at `b`'s
  /// insertion point, with messages made by `message`.
  ShapeRules(Operation *op, OpBuilder &b, MessageFn message)
      : owner(op), builder(&b), message(message) {}

  bool atRunTime() const { return builder != nullptr; }
  Operation *op() const { return owner; }

  /// Dimension `i` of tensor `v` (`i` < 0 counts from the end).
  Size dim(Value v, int64_t i);
  /// Every dimension of `v`.
  SmallVector<Size> shape(Value v);
  Size constant(int64_t c) { return Size{c, Value(), false}; }
  /// An unconstrained size (in `expect`).
  Size any() { return Size{ShapedType::kDynamic, Value(), true}; }
  Size add(Size a, int64_t c);
  Size mul(Size a, Size b);
  Size floorDiv(Size a, int64_t c);
  Size rem(Size a, int64_t c);

  /// A failed check the verifier decides alone (attributes, ranks, element
  /// types). Never called at run time: the op verified.
  InFlightDiagnostic error() { return owner->emitOpError(); }

  /// Operand `name` has exactly the sizes `expected` (its rank must already
  /// be checked). Verifier message: "operand 'k' must have shape [2, ?, 8]
  /// (<meaning>), but got <type>"; run time: the same with the meaning only.
  LogicalResult expect(StringRef name, Value operand, ArrayRef<Size> expected,
                       const Twine &meaning);

  enum class Cmp { EQ, LE, LT };
  /// `a cmp b`, or the error `rule` (the verifier appends the values of
  /// `named`, e.g. ", but got D = 7").
  LogicalResult require(Size a, Cmp cmp, Size b, const Twine &rule,
                        ArrayRef<std::pair<StringRef, Size>> named = {});

  /// "[2, ?, 8]" (sizes the IR does not know print as ?).
  static std::string format(ArrayRef<Size> sizes);
  static std::string format(Size size);

private:
  Value materialize(Size s);
  void assertAtRunTime(Value ok, const Twine &text);

  Operation *owner;
  OpBuilder *builder = nullptr;
  MessageFn message;
};
} // namespace rotary::detail

#endif // LIB_DIALECT_ROTARY_IR_SHAPERULES_H
