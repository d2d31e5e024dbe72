//===- ShapeRules.cpp - one shape contract, checked twice -----------------===//

#include "ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/raw_ostream.h"

#include <limits>

using namespace mlir;
using namespace rotary::detail;

Size ShapeRules::dim(Value v, int64_t i) {
  auto type = cast<RankedTensorType>(v.getType());
  if (i < 0)
    i += type.getRank();
  Size s{type.getDimSize(i), Value(), false};
  if (!s.isStatic() && atRunTime())
    s.ir = tensor::DimOp::create(*builder, owner->getLoc(), v, i);
  return s;
}

SmallVector<Size> ShapeRules::shape(Value v) {
  SmallVector<Size> sizes;
  for (int64_t i = 0, e = cast<RankedTensorType>(v.getType()).getRank(); i < e;
       ++i)
    sizes.push_back(dim(v, i));
  return sizes;
}

Value ShapeRules::materialize(Size s) {
  if (s.ir)
    return s.ir;
  return arith::ConstantIndexOp::create(*builder, owner->getLoc(), s.value);
}

Size ShapeRules::add(Size a, int64_t c) {
  if (a.isStatic())
    return constant(a.value + c);
  Size s;
  if (atRunTime())
    s.ir = arith::AddIOp::create(*builder, owner->getLoc(), materialize(a),
                                 materialize(constant(c)));
  return s;
}

Size ShapeRules::mul(Size a, Size b) {
  if (a.isStatic() && b.isStatic()) {
    int64_t product;
    // An absurd product saturates rather than wraps into a small size.
    if (__builtin_mul_overflow(a.value, b.value, &product))
      product = std::numeric_limits<int64_t>::max();
    return constant(product);
  }
  Size s;
  if (atRunTime())
    s.ir = arith::MulIOp::create(*builder, owner->getLoc(), materialize(a),
                                 materialize(b));
  return s;
}

Size ShapeRules::floorDiv(Size a, int64_t c) {
  if (a.isStatic())
    return constant(a.value / c);
  Size s;
  if (atRunTime())
    s.ir = arith::DivUIOp::create(*builder, owner->getLoc(), materialize(a),
                                  materialize(constant(c)));
  return s;
}

Size ShapeRules::rem(Size a, int64_t c) {
  if (a.isStatic())
    return constant(a.value % c);
  Size s;
  if (atRunTime())
    s.ir = arith::RemUIOp::create(*builder, owner->getLoc(), materialize(a),
                                  materialize(constant(c)));
  return s;
}

std::string ShapeRules::format(Size size) {
  return size.isStatic() ? std::to_string(size.value) : "?";
}

std::string ShapeRules::format(ArrayRef<Size> sizes) {
  // Leading sizes that may be anything print as one "...".
  size_t lead = 0;
  while (lead < sizes.size() && sizes[lead].any)
    ++lead;
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  if (lead > 0)
    os << "..." << (lead < sizes.size() ? ", " : "");
  llvm::interleaveComma(sizes.drop_front(lead), os,
                        [&](const Size &d) { os << format(d); });
  os << "]";
  return s;
}

void ShapeRules::assertAtRunTime(Value ok, const Twine &text) {
  cf::AssertOp::create(*builder, owner->getLoc(), ok,
                       message(owner, text.str()));
}

LogicalResult ShapeRules::expect(StringRef name, Value operand,
                                 ArrayRef<Size> expected,
                                 const Twine &meaning) {
  auto type = cast<RankedTensorType>(operand.getType());
  if (!atRunTime()) {
    bool ok = type.getRank() == static_cast<int64_t>(expected.size());
    for (auto [i, want] : llvm::enumerate(expected))
      if (ok && want.isStatic() && !type.isDynamicDim(i) &&
          type.getDimSize(i) != want.value)
        ok = false;
    if (ok)
      return success();
    return error() << "operand '" << name << "' must have shape "
                   << format(expected) << " (" << meaning << "), but got "
                   << type;
  }
  for (auto [i, want] : llvm::enumerate(expected)) {
    if (want.any || (want.isStatic() && !type.isDynamicDim(i)))
      continue;
    Size have = dim(operand, i);
    Value ok = arith::CmpIOp::create(*builder, owner->getLoc(),
                                     arith::CmpIPredicate::eq,
                                     materialize(have), materialize(want));
    assertAtRunTime(ok, "operand '" + name + "' must have shape " + meaning +
                            ", but its dimension " + Twine(i) + " differs");
  }
  return success();
}

LogicalResult ShapeRules::require(Size a, Cmp cmp, Size b, const Twine &rule,
                                  ArrayRef<std::pair<StringRef, Size>> named) {
  bool decided = a.isStatic() && b.isStatic();
  if (!atRunTime()) {
    if (!decided)
      return success();
    bool holds = cmp == Cmp::EQ   ? a.value == b.value
                 : cmp == Cmp::LE ? a.value <= b.value
                                  : a.value < b.value;
    if (holds)
      return success();
    InFlightDiagnostic diag = error() << rule;
    for (auto [k, n] : llvm::enumerate(named))
      diag << (k ? ", " : ", but got ") << n.first << " = " << format(n.second);
    return diag;
  }
  if (decided)
    return success();
  auto pred = cmp == Cmp::EQ   ? arith::CmpIPredicate::eq
              : cmp == Cmp::LE ? arith::CmpIPredicate::ule
                               : arith::CmpIPredicate::ult;
  Value ok = arith::CmpIOp::create(*builder, owner->getLoc(), pred,
                                   materialize(a), materialize(b));
  assertAtRunTime(ok, rule);
  return success();
}
