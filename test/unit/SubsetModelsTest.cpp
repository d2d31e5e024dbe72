//===- SubsetModelsTest.cpp - slice equivalence of the subset models ------===//
//
// rotary::registerSubsetModels answers "do these two slices touch the same
// elements" without analysis where it shows, and asks MLIR's constraint
// sets otherwise. Bufferization trusts a "yes" to write in place, so each
// answer is checked here, including the ones only the constraint sets know.
//
//===----------------------------------------------------------------------===//

#include "rotary/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Interfaces/SubsetOpInterface.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {
/// The function's slices are named by an attribute `name`; each case asks
/// whether the insert_slice `ins` and the extract_slice `ext` of one
/// function operate on the same subset of the same tensor.
constexpr const char *kSource = R"mlir(
func.func @same_values(%t: tensor<?x?xf32>, %i: index, %n: index,
                       %x: tensor<4x?xf32>) -> tensor<?x?xf32> {
  %e = tensor.extract_slice %t[%i, 0] [4, %n] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x?xf32>
  %r = tensor.insert_slice %x into %t[%i, 0] [4, %n] [1, 1] {name = "ins"}
      : tensor<4x?xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @other_constant(%t: tensor<?x?xf32>, %i: index,
                          %x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %e = tensor.extract_slice %t[%i, 0] [4, 16] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x16xf32>
  %r = tensor.insert_slice %x into %t[%i, 0] [4, 8] [1, 1] {name = "ins"}
      : tensor<4x8xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @equal_through_arith(%t: tensor<?x?xf32>, %i: index,
                               %x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %j = arith.addi %i, %c0 : index
  %e = tensor.extract_slice %t[%i, 0] [4, 8] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x8xf32>
  %r = tensor.insert_slice %x into %t[%j, 0] [4, 8] [1, 1] {name = "ins"}
      : tensor<4x8xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @shifted(%t: tensor<?x?xf32>, %i: index,
                   %x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %c4 = arith.constant 4 : index
  %j = arith.addi %i, %c4 : index
  %e = tensor.extract_slice %t[%i, 0] [4, 8] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x8xf32>
  %r = tensor.insert_slice %x into %t[%j, 0] [4, 8] [1, 1] {name = "ins"}
      : tensor<4x8xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @unrelated(%t: tensor<?x?xf32>, %i: index, %k: index,
                     %x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %e = tensor.extract_slice %t[%i, 0] [4, 8] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x8xf32>
  %r = tensor.insert_slice %x into %t[%k, 0] [4, 8] [1, 1] {name = "ins"}
      : tensor<4x8xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @other_tensor(%t: tensor<?x?xf32>, %u: tensor<?x?xf32>, %i: index,
                        %x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %e = tensor.extract_slice %u[%i, 0] [4, 8] [1, 1] {name = "ext"}
      : tensor<?x?xf32> to tensor<4x8xf32>
  %r = tensor.insert_slice %x into %t[%i, 0] [4, 8] [1, 1] {name = "ins"}
      : tensor<4x8xf32> into tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
)mlir";

class SubsetModelsTest : public ::testing::Test {
protected:
  SubsetModelsTest() {
    DialectRegistry registry;
    rotary::registerSubsetModels(registry);
    registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadDialect<arith::ArithDialect, func::FuncDialect,
                    tensor::TensorDialect>();
    module = parseSourceString<ModuleOp>(kSource, &ctx);
  }

  /// Whether @fn's insert_slice and extract_slice operate on an equivalent
  /// subset (tensors compared by identity, as the analysis does for one
  /// buffer).
  bool equivalent(StringRef fn) {
    auto f = module->lookupSymbol<func::FuncOp>(fn);
    SubsetOpInterface ins, ext;
    f.walk([&](SubsetOpInterface op) {
      auto name = op->getAttrOfType<StringAttr>("name");
      (name.getValue() == "ins" ? ins : ext) = op;
    });
    auto same = [](Value a, Value b) { return a == b; };
    bool answer = ins.operatesOnEquivalentSubset(ext, same);
    EXPECT_EQ(answer, ext.operatesOnEquivalentSubset(ins, same))
        << fn.str() << ": the answer depends on the order of the question";
    return answer;
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(SubsetModelsTest, SameValuesAreEquivalent) {
  ASSERT_TRUE(module);
  EXPECT_TRUE(equivalent("same_values"));
}

TEST_F(SubsetModelsTest, DifferentConstantsAreNot) {
  ASSERT_TRUE(module);
  EXPECT_FALSE(equivalent("other_constant"));
}

TEST_F(SubsetModelsTest, TheConstraintSetsDecideTheRest) {
  ASSERT_TRUE(module);
  // i + 0 == i: only the constraint sets see it.
  EXPECT_TRUE(equivalent("equal_through_arith"));
  // i + 4 != i.
  EXPECT_FALSE(equivalent("shifted"));
  // Unknown: never called equivalent.
  EXPECT_FALSE(equivalent("unrelated"));
}

TEST_F(SubsetModelsTest, OtherTensorsAreNot) {
  ASSERT_TRUE(module);
  EXPECT_FALSE(equivalent("other_tensor"));
}
} // namespace
