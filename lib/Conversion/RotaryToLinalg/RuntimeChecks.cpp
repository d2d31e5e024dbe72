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

  /// SPEC §6: k, v [B, H, S, D] like q; bias [H, 2W+1] (odd) or [H, T, S];
  /// span [H].
  void attention(Value q, Value k, Value v, Value bias, Value span) {
    sameDim(k, 0, "k", q, 0, "q", "B");
    sameDim(k, 1, "k", q, 1, "q", "H");
    sameDim(k, 3, "k", q, 3, "q", "D");
    sameShape(v, "v", k, "k");
    if (bias) {
      sameDim(bias, 0, "bias", q, 1, "q", "H");
      if (rankOf(bias) == 3) {
        sameDim(bias, 1, "bias", q, 2, "q", "T");
        sameDim(bias, 2, "bias", k, 2, "k", "S");
      } else if (!isStatic(bias, 1)) {
        add(cmp(arith::CmpIPredicate::eq,
                arith::RemUIOp::create(b, loc, dimOf(b, loc, bias, 1), cst(2)),
                cst(1)),
            Twine("operand 'bias' (a table [H, 2W+1]) must have an odd "
                  "number of columns"));
      }
    }
    if (span)
      sameDim(span, 0, "span", q, 1, "q", "H");
  }

  /// The forward's rules, plus output and doutput like q and lse, dlse
  /// [B, H, T].
  void attentionGrad(AttentionGradOp o) {
    Value q = o.getQ();
    attention(q, o.getK(), o.getV(), o.getBias(), o.getSpan());
    sameShape(o.getOutput(), "output", q, "q");
    sameShape(o.getDoutput(), "doutput", q, "q");
    for (auto [name, t] : {std::pair<StringRef, Value>{"lse", o.getLse()},
                           {"dlse", o.getDlse()}})
      if (t)
        for (int64_t i = 0; i < 3; ++i)
          sameDim(t, i, name, q, i, "q", "dimension " + std::to_string(i));
  }

  /// Dim `i` of `v` equals `n`, when it is dynamic.
  void dimIs(Value v, int64_t i, StringRef name, int64_t n, StringRef what) {
    if (isStatic(v, i))
      return;
    add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, v, i), cst(n)),
        "operand '" + name + "' must have " + what + " = " + Twine(n) +
            " in dimension " + Twine(i));
  }

  /// angles [..., K] of so_generator (and its gradient's dresult
  /// [..., c, c] over the same leading dims).
  void generator(Value angles, int64_t c, Value dresult) {
    int64_t r = rankOf(angles);
    dimIs(angles, r - 1, "angles", numGeneratorAngles(c), "c(c-1)/2");
    if (!dresult)
      return;
    for (int64_t i = 0; i < r - 1; ++i)
      sameDim(dresult, i, "dresult", angles, i, "angles",
              "dimension " + std::to_string(i));
    dimIs(dresult, r - 1, "dresult", c, "c");
    dimIs(dresult, r, "dresult", c, "c");
  }

  /// G [..., c, c] of cumulative_rotation (and P̄ of its gradient).
  void scan(Value g, Value dresult) {
    int64_t r = rankOf(g);
    sameDim(g, r - 1, "rotations", g, r - 2, "rotations", "c");
    if (dresult)
      sameShape(dresult, "dresult", g, "rotations");
  }

  /// x [B, T, H, D] and rotation [B, T, H, C, c, c] (P) or
  /// [B, T, H, C, c(c-1)/2] (angles, fused) of hdd_rope and its gradient.
  void hdd(Value x, Value rot, int64_t c, bool fused) {
    const char *names[] = {"B", "T", "H"};
    for (int64_t i = 0; i < 3; ++i)
      sameDim(rot, i, "rotation", x, i, "x", names[i]);
    if (ShapedType::isDynamic(c))
      return;
    if (fused) {
      dimIs(rot, 4, "rotation", numGeneratorAngles(c), "c(c-1)/2");
    } else {
      dimIs(rot, 4, "rotation", c, "c");
      dimIs(rot, 5, "rotation", c, "c");
    }
    if (isStatic(x, 3) && isStatic(rot, 3))
      return;
    add(cmp(arith::CmpIPredicate::eq, dimOf(b, loc, x, 3),
            arith::MulIOp::create(b, loc, dimOf(b, loc, rot, 3), cst(c))),
        "operand 'x' must have D = C * " + Twine(c) +
            " (C = dimension 3 of operand 'rotation')");
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
        .Case([&](AttentionOp o) {
          attention(o.getQ(), o.getK(), o.getV(), o.getBias(), o.getSpan());
        })
        .Case([&](AttentionGradOp o) { attentionGrad(o); })
        .Case([&](SOGeneratorOp o) {
          generator(o.getAngles(), o.getChunk(), Value());
        })
        .Case([&](SOGeneratorGradOp o) {
          generator(o.getAngles(), o.getChunk(), o.getDresult());
        })
        .Case([&](CumulativeRotationOp o) { scan(o.getRotations(), Value()); })
        .Case([&](CumulativeRotationGradOp o) {
          scan(o.getRotations(), o.getDresult());
        })
        .Case([&](HDDRopeOp o) {
          hdd(o.getX(), o.getRotation(), o.getChunkSize(), o.isFused());
        })
        .Case([&](HDDRopeGradOp o) {
          sameShape(o.getDy(), "dy", o.getX(), "x");
          hdd(o.getX(), o.getRotation(), o.getChunkSize(), o.isFused());
        })
        .Default([](Operation *) {});
  }
};
} // namespace

void rotary::emitRuntimeChecks(Operation *op, OpBuilder &b,
                               SmallVectorImpl<RuntimeCheck> &checks) {
  Checker{op, b, checks}.run();
}
