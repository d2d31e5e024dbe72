//===- RuntimeChecks.cpp - shape rules only the run time can decide -------===//
//
// The verifier checks every static size; these are the same rules for sizes
// that are dynamic in the IR. The compiler gathers them into a check function
// that the kernel bundle runs before the kernel, so a mismatch becomes an
// error message instead of an out-of-bounds access.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::lowering;

namespace {
struct Checker {
  Operation *op;
  OpBuilder &b;
  SmallVectorImpl<RuntimeCheck> &checks;
  Location loc = op->getLoc();

  std::string prefix() {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << op->getName() << " at " << op->getLoc() << ": ";
    return s;
  }
  bool isStatic(Value v, int64_t i) {
    return !cast<RankedTensorType>(v.getType()).isDynamicDim(i);
  }
  int64_t rankOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getRank();
  }
  void add(Value ok, const Twine &message) {
    checks.push_back({ok, prefix() + message.str()});
  }
  Value cmp(arith::CmpIPredicate p, Value l, Value r) {
    return arith::CmpIOp::create(b, loc, p, l, r);
  }
  Value cst(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  /// dim `i` of `a` == dim `j` of `c`, when either is dynamic.
  void sameDim(Value a, int64_t i, StringRef an, Value c, int64_t j,
               StringRef cn, StringRef what) {
    if (i < 0)
      i += rankOf(a);
    if (j < 0)
      j += rankOf(c);
    if (isStatic(a, i) && isStatic(c, j))
      return;
    add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, a, i), dimOf(b, loc, c, j)),
        "operand '" + an + "' must have " + what + " = dimension " + Twine(j) +
            " of operand '" + cn + "'");
  }
  void sameShape(Value a, StringRef an, Value c, StringRef cn) {
    for (int64_t i = 0, e = rankOf(a); i < e; ++i)
      sameDim(a, i, an, c, i, cn, "dimension " + std::to_string(i));
  }

  void rope(RopeOp rope) {
    ropeRules(rope.getX(), rope.getPositions(), rope.getRotaryDim(),
              rope.getInvFreq(), rope.getPhase());
  }

  void ropeRules(Value x, Value pos, std::optional<int64_t> rotaryDim,
                 Value invFreq, Value phase) {
    sameDim(pos, -1, "positions", x, 1, "x", "T");
    if (rankOf(pos) == 2)
      sameDim(pos, 0, "positions", x, 0, "x", "B");
    Value d = dimOf(b, loc, x, 3);
    Value r = rotaryDim ? cst(*rotaryDim) : d;
    if (!isStatic(x, 3)) {
      if (rotaryDim)
        add(cmp(arith::CmpIPredicate::ule, r, d),
            "attribute 'rotary_dim' (" + Twine(*rotaryDim) +
                ") must not exceed D of operand 'x'");
      else
        add(cmp(arith::CmpIPredicate::eq,
                arith::RemUIOp::create(b, loc, d, cst(2)), cst(0)),
            Twine("operand 'x' must have an even D (or set 'rotary_dim')"));
    }
    for (auto [name, v] :
         {std::pair<StringRef, Value>{"inv_freq", invFreq}, {"phase", phase}}) {
      if (!v || (isStatic(v, 0) && (rotaryDim || isStatic(x, 3))))
        continue;
      Value half = arith::DivUIOp::create(b, loc, r, cst(2));
      add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, v, 0), half),
          "operand '" + name + "' must have rotary_dim / 2 entries");
    }
  }

  void chain(Value x, Value angles, std::optional<ArrayRef<int64_t>> pairs) {
    if (rankOf(angles) == 2)
      sameDim(angles, 0, "angles", x, -2, "x", "H");
    int64_t dIdx = rankOf(x) - 1;
    Value d = dimOf(b, loc, x, dIdx);
    Value n = dimOf(b, loc, angles, rankOf(angles) - 1);
    if (pairs) {
      int64_t count = pairs->size() / 2;
      if (!isStatic(angles, rankOf(angles) - 1))
        add(cmp(arith::CmpIPredicate::eq, n, cst(count)),
            "operand 'angles' must have one angle per pair (" + Twine(count) +
                ")");
      int64_t maxIdx = -1;
      for (int64_t v : *pairs)
        maxIdx = std::max(maxIdx, v);
      if (!isStatic(x, dIdx) && maxIdx >= 0)
        add(cmp(arith::CmpIPredicate::ugt, d, cst(maxIdx)),
            "'pairs' index " + Twine(maxIdx) +
                " is out of range for D of operand 'x'");
      return;
    }
    if (isStatic(x, dIdx) && isStatic(angles, rankOf(angles) - 1))
      return;
    // Default schedule: D even, N <= D(D-1)/2.
    add(cmp(arith::CmpIPredicate::eq, arith::RemUIOp::create(b, loc, d, cst(2)),
            cst(0)),
        Twine("the default round-robin schedule needs an even D of operand "
              "'x'"));
    Value total = arith::DivUIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, d,
                              arith::SubIOp::create(b, loc, d, cst(1))),
        cst(2));
    add(cmp(arith::CmpIPredicate::ule, n, total),
        Twine("operand 'angles' must have at most D(D-1)/2 angles (the "
              "round-robin schedule)"));
  }

  void matrix(Value x, Value m, bool transpose, bool square) {
    int64_t r = rankOf(m);
    sameDim(m, transpose ? r - 1 : r - 2, "matrix", x, -1, "x",
            "the contracted size");
    if (r == 3)
      sameDim(m, 0, "matrix", x, -2, "x", "H");
    if (square)
      sameDim(m, r - 1, "matrix", m, r - 2, "matrix", "E");
  }

  void quaternion(Value x, Value axis, Value angle) {
    if (!isStatic(x, rankOf(x) - 1))
      add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, x, rankOf(x) - 1),
              cst(3)),
          Twine("operand 'x' must have 3 components in its last "
                "dimension"));
    if (rankOf(axis) == 1) {
      if (!isStatic(axis, 0))
        add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, axis, 0), cst(3)),
            Twine("operand 'axis' must have 3 components"));
    } else
      sameShape(axis, "axis", x, "x");
    for (int64_t i = 0, e = rankOf(angle); i < e; ++i)
      sameDim(angle, i, "angle", x, i, "x", "dimension " + std::to_string(i));
  }

  void run() {
    llvm::TypeSwitch<Operation *>(op)
        .Case([&](RopeOp o) { rope(o); })
        .Case([&](GivensOp o) { chain(o.getX(), o.getAngles(), o.getPairs()); })
        .Case([&](OrthogonalOp o) {
          matrix(o.getX(), o.getMatrix(), o.getTranspose(), false);
        })
        .Case([&](RotationBlockOp o) {
          if (o.getPositions())
            ropeRules(o.getX(), o.getPositions(), o.getRotaryDim(), Value(),
                      Value());
          chain(o.getX(), o.getAngles(), o.getPairs());
          matrix(o.getX(), o.getMatrix(), false, true);
        })
        .Case([&](FamStepOp o) {
          sameShape(o.getGrad(), "grad", o.getParam(), "param");
          sameShape(o.getMomentum(), "momentum", o.getParam(), "param");
        })
        .Case([&](QuaternionRotateOp o) {
          quaternion(o.getX(), o.getAxis(), o.getAngle());
        })
        .Case([&](RopeGradOp o) {
          ropeRules(o.getX(), o.getPositions(), o.getRotaryDim(),
                    o.getInvFreq(), o.getPhase());
          sameShape(o.getDy(), "dy", o.getX(), "x");
        })
        .Case([&](GivensGradOp o) {
          chain(o.getX(), o.getAngles(), o.getPairs());
          sameShape(o.getDy(), "dy", o.getX(), "x");
        })
        .Case([&](OrthogonalGradOp o) {
          Value x = o.getX(), m = o.getMatrix(), dy = o.getDy();
          matrix(x, m, o.getTranspose(), false);
          for (int64_t i = 0, e = rankOf(x) - 1; i < e; ++i)
            sameDim(dy, i, "dy", x, i, "x", "dimension " + std::to_string(i));
          int64_t r = rankOf(m);
          sameDim(dy, -1, "dy", m, o.getTranspose() ? r - 2 : r - 1, "matrix",
                  "its last dimension");
        })
        .Case([&](QuaternionRotateGradOp o) {
          quaternion(o.getX(), o.getAxis(), o.getAngle());
          sameShape(o.getDy(), "dy", o.getX(), "x");
        })
        .Default([](Operation *) {});
  }
};
} // namespace

void rotary::emitRuntimeChecks(Operation *op, OpBuilder &b,
                               SmallVectorImpl<RuntimeCheck> &checks) {
  Checker{op, b, checks}.run();
}
