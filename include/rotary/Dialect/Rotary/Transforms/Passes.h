//===- Passes.h - rotary dialect passes -------------------------*- C++ -*-===//
#ifndef ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H
#define ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringSwitch.h"

#include <optional>

namespace rotary {

#define GEN_PASS_DECL
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"

/// How a Givens chain followed by a matrix (rotary-fuse-rotations) or on its
/// own (convert-rotary-to-linalg) is run: by the cost model, as the chain
/// per row, or folded into one matrix.
enum class ChainStrategy { Auto, Chain, Fold };

/// The value of a `strategy` / `chain-strategy` option, if it is one.
inline std::optional<ChainStrategy> parseChainStrategy(llvm::StringRef s) {
  return llvm::StringSwitch<std::optional<ChainStrategy>>(s)
      .Case("auto", ChainStrategy::Auto)
      .Case("chain", ChainStrategy::Chain)
      .Case("fold", ChainStrategy::Fold)
      .Default(std::nullopt);
}

/// Cost model of rotary-fuse-rotations: true when folding Q = (∏G)·R beats
/// running the chain per row, for `rows` rows (all heads), `heads` chains,
/// `n` rotations, `d` features in and `e` out of R [D, E].
bool shouldFoldChainIntoMatrix(int64_t rows, int64_t heads, int64_t n,
                               int64_t d, int64_t e);

#define GEN_PASS_REGISTRATION
#include "rotary/Dialect/Rotary/Transforms/Passes.h.inc"

} // namespace rotary

#endif // ROTARY_DIALECT_ROTARY_TRANSFORMS_PASSES_H
