//===- Passes.h - rotary dialect passes -------------------------*- C++ -*-===//
#ifndef ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H
#define ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace rotary {

#define GEN_PASS_DECL
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"

/// Cost model of rotary-fuse-rotations: true when folding Q = (∏G)·R beats
/// running the chain per row, for `rows` rows (all heads), `heads` chains,
/// `n` rotations, `d` features in and `e` out of R [D, E].
bool shouldFoldChainIntoMatrix(int64_t rows, int64_t heads, int64_t n,
                               int64_t d, int64_t e);

#define GEN_PASS_REGISTRATION
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"

} // namespace rotary

#endif // ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H
