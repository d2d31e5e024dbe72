//===- Kernels.cpp - rotary IR for a layer's configuration ----------------===//
//
// Each builder opens a module with one public function, emits the rotary op
// of the layer through its ODS builder, verifies the module and prints it.
// The printed text is what the JIT cache hashes, so it must depend only on
// the configuration (no locations, no pointer-derived names).
//
//===----------------------------------------------------------------------===//

#include "rotary/Model/Kernels.h"

#include "rotary/Dialect/Rotary/IR/RotaryOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace rotary;
using namespace rotary::model;

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

/// One module with one function under construction.
class KernelBuilder {
public:
  KernelBuilder() : b(&ctx) {
    ctx.loadDialect<RotaryDialect, func::FuncDialect, tensor::TensorDialect,
                    arith::ArithDialect>();
    module = ModuleOp::create(b.getUnknownLoc());
  }

  Type element(DType d) {
    switch (d) {
    case DType::F32:
      return b.getF32Type();
    case DType::F16:
      return b.getF16Type();
    case DType::BF16:
      return b.getBF16Type();
    default:
      llvm::report_fatal_error("rotary model kernels take f32, f16 or bf16");
    }
  }
  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elt = {}) {
    return RankedTensorType::get(shape, elt ? elt : b.getF32Type());
  }

  /// Starts @name(args...) and returns its arguments.
  Block::BlockArgListType begin(StringRef name, TypeRange args) {
    b.setInsertionPointToEnd(module->getBody());
    fn = func::FuncOp::create(b, loc(), name, b.getFunctionType(args, {}));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    return entry->getArguments();
  }

  /// Returns `results` from the open function.
  void end(ValueRange results) {
    fn.setFunctionType(
        b.getFunctionType(fn.getArgumentTypes(), results.getTypes()));
    func::ReturnOp::create(b, loc(), results);
  }

  /// The verified module's text. A configuration the verifier rejects is a
  /// bug of the caller (the torch modules check theirs first).
  std::string print() {
    if (failed(verify(*module)))
      llvm::report_fatal_error("rotary: a model kernel failed to verify");
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return text;
  }

  Location loc() { return b.getUnknownLoc(); }

  MLIRContext ctx;
  OpBuilder b;
  OwningOpRef<ModuleOp> module;
  func::FuncOp fn;
};
} // namespace

std::string model::buildSource(const RopeKernel &k) {
  KernelBuilder kb;
  OpBuilder &b = kb.b;
  int64_t r = k.rotaryDim < 0 ? k.headDim : k.rotaryDim;
  SmallVector<Type> args = {
      kb.tensor({kDyn, kDyn, k.heads < 0 ? kDyn : k.heads, k.headDim},
                kb.element(k.dtype)),
      k.positionsRank == 2 ? kb.tensor({kDyn, kDyn}, b.getI64Type())
                           : kb.tensor({kDyn}, b.getI64Type()),
      k.invFreq ? kb.tensor({r / 2}) : kb.tensor({})};
  if (k.phase)
    args.push_back(kb.tensor({r / 2}));
  if (k.scale)
    args.push_back(kb.tensor({}));
  auto a = kb.begin("rope", args);
  RopeOptions o;
  o.layout = k.layout == RopeKernel::Layout::Half ? RopeLayout::half
             : k.layout == RopeKernel::Layout::Interleaved
                 ? RopeLayout::interleaved
                 : RopeLayout::deinterleave;
  if (k.rotaryDim >= 0)
    o.rotaryDim = k.rotaryDim;
  (k.invFreq ? o.invFreq : o.runtimeBase) = a[2];
  unsigned next = 3;
  if (k.phase)
    o.phase = a[next++];
  if (k.scale)
    o.scale = a[next++];
  if (k.xpos != RopeKernel::XPos::None) {
    o.xpos =
        k.xpos == RopeKernel::XPos::Query ? XPosRole::query : XPosRole::key;
    o.xposScaleBase = float(k.xposScaleBase);
    o.xposGamma = float(k.xposGamma);
  }
  kb.end(RopeOp::create(b, kb.loc(), a[0], a[1], o).getResult());
  return kb.print();
}

std::string model::buildSource(const RotationBlockKernel &k) {
  KernelBuilder kb;
  SmallVector<int64_t> xShape(k.rank - 1, kDyn);
  xShape.push_back(k.dim);
  Type angles = k.perHead ? kb.tensor({kDyn, k.rotations})
                          : kb.tensor({k.rotations});
  Type elt = kb.element(k.dtype);
  Type matrix = k.perHead ? kb.tensor({kDyn, k.dim, k.dim}, elt)
                          : kb.tensor({k.dim, k.dim}, elt);
  auto a = kb.begin("rotation_block", {kb.tensor(xShape, elt), angles, matrix});
  kb.end(RotationBlockOp::create(kb.b, kb.loc(), a[0].getType(), a[0], a[1],
                                 a[2], /*positions=*/Value(),
                                 /*pairs=*/nullptr, /*layout=*/nullptr,
                                 /*rotary_dim=*/nullptr, /*base=*/nullptr)
             .getResult());
  return kb.print();
}

std::string model::buildSource(const PenaltyKernel &k) {
  KernelBuilder kb;
  Type matrix = k.perHead ? kb.tensor({kDyn, k.dim, k.dim})
                          : kb.tensor({k.dim, k.dim});
  auto a = kb.begin("orthogonality_penalty", {matrix});
  kb.end(OrthogonalityPenaltyOp::create(kb.b, kb.loc(), kb.tensor({}), a[0])
             .getResult());
  return kb.print();
}

std::string model::buildSource(const HDDRopeKernel &k) {
  KernelBuilder kb;
  int64_t chunks = k.headDim / k.chunk;
  auto a = kb.begin(
      "hdd_rope",
      {kb.tensor({kDyn, kDyn, k.heads, k.headDim}, kb.element(k.dtype)),
       kb.tensor({kDyn, kDyn, k.heads, chunks, numGeneratorAngles(k.chunk)})});
  SOForm form = k.form == HDDRopeKernel::Form::Givens ? SOForm::givens
                                                      : SOForm::exp;
  kb.end(HDDRopeOp::create(kb.b, kb.loc(), a[0], a[1], k.chunk, form)
             .getResult());
  return kb.print();
}

std::string model::buildSource(const AttentionKernel &k) {
  KernelBuilder kb;
  Type data = kb.tensor({kDyn, k.heads, kDyn, k.headDim}, kb.element(k.dtype));
  SmallVector<Type> args = {data, data, data};
  if (k.biasRadius >= 0)
    args.push_back(kb.tensor({k.heads, 2 * k.biasRadius + 1}));
  if (k.spanRamp > 0)
    args.push_back(kb.tensor({k.heads}));
  auto a = kb.begin("attention", args);
  AttentionOptions o;
  o.causal = k.causal;
  o.window = k.window;
  o.globalTokens = k.globalTokens;
  if (k.scale != 0)
    o.scale = float(k.scale);
  unsigned next = 3;
  if (k.biasRadius >= 0)
    o.bias = a[next++];
  if (k.spanRamp > 0) {
    o.span = a[next++];
    o.spanRamp = float(k.spanRamp);
  }
  auto op = AttentionOp::create(kb.b, kb.loc(), a[0], a[1], a[2], o);
  kb.end(op->getResults());
  return kb.print();
}

std::string model::buildSource(const QuaternionKernel &k) {
  KernelBuilder kb;
  auto a = kb.begin("quaternion_rotate",
                    {kb.tensor({kDyn, 3}, kb.element(k.dtype)),
                     kb.tensor({3}), kb.tensor({})});
  kb.end(QuaternionRotateOp::create(kb.b, kb.loc(), a[0].getType(), a[0],
                                    a[1], a[2])
             .getResult());
  return kb.print();
}

std::string model::buildSource(const FamStepKernel &k) {
  KernelBuilder kb;
  OpBuilder &b = kb.b;
  size_t n = k.dtypes.size();
  SmallVector<Type> paramTypes, args;
  for (DType d : k.dtypes)
    paramTypes.push_back(kb.tensor({kDyn}, kb.element(d)));
  args.append(paramTypes.begin(), paramTypes.end());
  args.append(paramTypes.begin(), paramTypes.end()); // the gradients
  for (size_t i = 0; i < n; ++i)
    args.push_back(kb.tensor({kDyn}));
  args.push_back(kb.tensor({}));
  args.push_back(kb.tensor({int64_t(n)}));
  auto a = kb.begin("fam_step", args);
  Value lr = a[3 * n], alphas = a[3 * n + 1];
  SmallVector<Value> params, moments;
  for (size_t i = 0; i < n; ++i) {
    // A 0-d slice, not a scalar: on a GPU the host must not read alphas.
    Value alpha0 = tensor::ExtractSliceOp::create(
        b, kb.loc(), kb.tensor({}), alphas,
        ArrayRef<OpFoldResult>{b.getIndexAttr(int64_t(i))},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    auto step = FamStepOp::create(b, kb.loc(), a[i], a[n + i], a[2 * n + i],
                                  lr, alpha0, float(k.weightDecay));
    params.push_back(step.getNewParam());
    moments.push_back(step.getNewMomentum());
  }
  params.append(moments.begin(), moments.end());
  kb.end(params);
  return kb.print();
}

std::string model::buildSource(const FamBandsKernel &k) {
  KernelBuilder kb;
  BandLayout layout = k.layout == FamBandsKernel::Layout::Linear ? BandLayout::linear
                      : k.layout == FamBandsKernel::Layout::Log ? BandLayout::log
                                                                : BandLayout::split;
  auto a = kb.begin("fam_bands", {kb.tensor({kDyn})});
  kb.end(SpectralBandsOp::create(kb.b, kb.loc(), a[0], k.bands, layout,
                                 float(k.eps))
             .getResult());
  FamHandler handler = k.handler == FamBandsKernel::Handler::Conv ? FamHandler::conv
                       : k.handler == FamBandsKernel::Handler::Attention
                           ? FamHandler::attention
                       : k.handler == FamBandsKernel::Handler::Embedding
                           ? FamHandler::embedding
                           : FamHandler::Default;
  auto m = kb.begin("fam_momentum", {kb.tensor({k.bands}), kb.tensor({})});
  kb.end(AdaptiveMomentumOp::create(
             kb.b, kb.loc(), kb.tensor({}), m[0], m[1],
             FamHandlerAttr::get(&kb.ctx, handler))
             .getResult());
  return kb.print();
}
