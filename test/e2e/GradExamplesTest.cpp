//===- GradExamplesTest.cpp - generated backward entries of examples/ -----===//
//
// Compiles the files of examples/ with rotary-generate-gradients, as
// rotary-translate does, and checks every generated backward entry of the
// exact signatures the README documents against LibTorch autograd of the
// f64 references (fresh random inputs, several shapes incl. batch 1, T = 1).
// Each forward is also differentiated the way a training runtime does it,
// from the manifest alone: the saving forward, then the vjp fed as the
// manifest's "gradients" record says; it must agree with the recomputing
// backward.
//
//===----------------------------------------------------------------------===//

#include "Harness.h"
#include "Reference.h"

#include <torch/autograd.h>
#include <torch/linalg.h>

#include <array>
#include <fstream>
#include <sstream>

namespace ref = rotary::reference;
using torch::Tensor;
using namespace rotary::e2e;

namespace {

std::string readExample(const std::string &name) {
  std::ifstream in(std::string(ROTARY_EXAMPLES_DIR) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Gradients of `forward`'s differentiable inputs, through the manifest's
/// record: forward-with-saves, then the vjp.
std::vector<Tensor> viaVjp(const Kernel &k, const std::string &forward,
                           const std::vector<Tensor> &inputs,
                           const std::vector<Tensor> &cotangents) {
  const rotary::bundle::Gradient *g = k.manifest().findGradient(forward);
  EXPECT_TRUE(g) << "no gradient record for " << forward;
  if (!g)
    return {};
  size_t numOut = k.manifest().findEntry(forward)->outputs.size();
  std::vector<Tensor> outs = k.run(g->forward, inputs);
  std::vector<Tensor> vjpIn = rotary::bundle::selectVjpInputs(
      *g, numOut, inputs, outs, cotangents);
  return k.run(g->vjp, vjpIn);
}

/// Runs `name`_bwd and the vjp route and compares both with `expected`.
void checkBackward(const Kernel &k, const std::string &name,
                   const std::vector<Tensor> &inputs,
                   const std::vector<Tensor> &cotangents,
                   const std::vector<Tensor> &expected,
                   const Tolerance &tol = {}) {
  std::vector<Tensor> bwdIn = inputs;
  bwdIn.insert(bwdIn.end(), cotangents.begin(), cotangents.end());
  std::vector<Tensor> got = k.run(name + "_bwd", bwdIn);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(allClose(got[i], expected[i], tol))
        << name << "_bwd gradient " << i;
  std::vector<Tensor> viaSaved = viaVjp(k, name, inputs, cotangents);
  ASSERT_EQ(viaSaved.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(allClose(viaSaved[i], expected[i], tol))
        << name << " vjp gradient " << i;
}

/// d(sum(y·dy))/d(inputs) of an f64 reference, for the inputs that require
/// gradients.
std::vector<Tensor> autograd(const Tensor &y, const Tensor &dy,
                             const std::vector<Tensor> &wrt) {
  return torch::autograd::grad({y}, wrt, {dy});
}

/// The backward entries `givens` and `rotation_block` of `k` at rows `x`
/// with angles `a` and matrix `r`, against autograd of the references.
void checkChainBackwards(const Kernel &k, const Tensor &x, const Tensor &dy,
                         const Tensor &a, const Tensor &r) {
  Tensor xr = leaf(x), ar = leaf(a);
  checkBackward(k, "givens", {x, a}, {dy},
                autograd(ref::givens(xr, ar), f64(dy), {xr, ar}), {1e-4, 1e-5});
  xr = leaf(x);
  ar = leaf(a);
  Tensor rr = leaf(r);
  checkBackward(k, "rotation_block", {x, a, r}, {dy},
                autograd(ref::rotationBlock(xr, ar, rr), f64(dy), {xr, ar, rr}),
                {1e-4, 1e-5});
}

class GradExamples : public E2E {};

TEST_F(GradExamples, Rope) {
  auto kernel = Kernel::compile(readExample("rope.mlir"), true);
  ASSERT_TRUE(kernel);
  for (auto [B, T, H, D] : {std::array<int64_t, 4>{1, 1, 1, 2},
                            {2, 7, 3, 16},
                            {1, 33, 2, 64}}) {
    Tensor x = randn32({B, T, H, D}), dy = randn32({B, T, H, D});
    Tensor pos = torch::randint(0, 100000, {T}, torch::kInt64);
    Tensor xr = leaf(x);
    Tensor y = ref::rope(xr, pos);
    std::vector<Tensor> g = autograd(y, f64(dy), {xr});
    checkBackward(*kernel, "rope", {x, pos}, {dy}, g);

    Tensor f = uniform32({D / 2}, 1e-4, 1.0), ph = randn32({D / 2});
    Tensor sc = uniform32({}, 0.5, 1.5);
    Tensor pos2 = torch::randint(0, 2048, {T}, torch::kInt64);
    Tensor fr = leaf(f), phr = leaf(ph), scr = leaf(sc);
    xr = leaf(x);
    ref::RopeOptions o;
    o.invFreq = fr;
    o.phase = phr;
    o.scale = scr;
    y = ref::rope(xr, pos2, o);
    g = autograd(y, f64(dy), {xr, fr, phr, scr});
    // Parameter gradients sum B·T·H terms whose size grows with p·f.
    checkBackward(*kernel, "rope_learned", {x, pos2, f, ph, sc}, {dy}, g,
                  {1e-4, 1e-4});
  }
}

TEST_F(GradExamples, Givens) {
  auto kernel = Kernel::compile(readExample("givens.mlir"), true);
  ASSERT_TRUE(kernel);
  for (auto [N, D, K] : {std::array<int64_t, 3>{1, 2, 1},
                         {5, 8, 28},
                         {37, 16, 15}}) {
    Tensor x = randn32({N, D}), dy = randn32({N, D});
    Tensor a = uniform32({K}, -3.0, 3.0);
    Tensor r = std::get<0>(torch::linalg_qr(randn32({D, D})));
    checkChainBackwards(*kernel, x, dy, a, r);
  }
}

// The same chains at a static D (the GPU's tiles are shared memory of a
// size fixed at compile time), compiled as the GPU schedule's loops and
// run on the CPU: the chain's gradient, the rotation block's (the chain's
// gradient, x̄·Rᵀ, R̄ = tᵀ·ȳ) and with RoPE in front of it.
TEST_F(GradExamples, GivensGpuLoops) {
  const std::string source = R"mlir(
func.func @givens(%x: tensor<?x16xf32>, %angles: tensor<?xf32>)
    -> tensor<?x16xf32> {
  %y = rotary.givens %x, %angles : tensor<?x16xf32>, tensor<?xf32>
  return %y : tensor<?x16xf32>
}
func.func @rotation_block(%x: tensor<?x16xf32>, %angles: tensor<?xf32>,
                          %r: tensor<16x16xf32>) -> tensor<?x16xf32> {
  %y = rotary.rotation_block %x, %angles, %r
      : tensor<?x16xf32>, tensor<?xf32>, tensor<16x16xf32>
  return %y : tensor<?x16xf32>
}
func.func @rotation_block_rope(%x: tensor<?x?x3x16xf32>,
                               %angles: tensor<?xf32>, %r: tensor<16x16xf32>,
                               %positions: tensor<?xi64>)
    -> tensor<?x?x3x16xf32> {
  %y = rotary.rotation_block %x, %angles, %r rope(%positions : tensor<?xi64>)
      layout = half : tensor<?x?x3x16xf32>, tensor<?xf32>, tensor<16x16xf32>
  return %y : tensor<?x?x3x16xf32>
}
)mlir";
  rotary::compiler::CompileOptions options;
  options.gradients = true;
  options.gpuLoops = true;
  auto kernel = Kernel::compile(source, options);
  ASSERT_TRUE(kernel);
  for (auto [N, K] : {std::array<int64_t, 2>{1, 1}, {37, 15}, {130, 120}}) {
    SCOPED_TRACE("rows " + std::to_string(N) + ", rotations " +
                 std::to_string(K));
    const int64_t D = 16;
    Tensor x = randn32({N, D}), dy = randn32({N, D});
    Tensor a = uniform32({K}, -3.0, 3.0);
    Tensor r = std::get<0>(torch::linalg_qr(randn32({D, D})));
    checkChainBackwards(*kernel, x, dy, a, r);

    const int64_t T = N % 7 + 1;
    Tensor x4 = randn32({2, T, 3, D}), dy4 = randn32({2, T, 3, D});
    Tensor pos = torch::randint(0, 4096, {T}, torch::kInt64);
    Tensor xr = leaf(x4), ar = leaf(a), rr = leaf(r);
    ref::RotationBlockOptions o;
    o.positions = pos;
    o.layout = ref::RopeLayout::Half;
    Tensor y = ref::rotationBlock(xr, ar, rr, o);
    checkBackward(*kernel, "rotation_block_rope", {x4, a, r, pos}, {dy4},
                  autograd(y, f64(dy4), {xr, ar, rr}), {1e-4, 1e-5});
  }
}

TEST_F(GradExamples, HDDRope) {
  auto kernel = Kernel::compile(readExample("hdd_rope.mlir"), true);
  ASSERT_TRUE(kernel);
  for (auto [B, T, H, D] : {std::array<int64_t, 4>{1, 1, 1, 4},
                            {2, 9, 3, 8},
                            {1, 300, 2, 16}}) {
    Tensor x = randn32({B, T, H, D}), dy = randn32({B, T, H, D});
    Tensor a = uniform32({B, T, H, D / 4, 6}, -0.5, 0.5);
    Tensor xr = leaf(x), ar = leaf(a);
    ref::HDDRopeOptions o;
    o.form = ref::SOForm::Givens;
    o.chunk = 4;
    Tensor y = ref::hddRope(xr, ar, o);
    checkBackward(*kernel, "hdd_rope", {x, a}, {dy},
                  autograd(y, f64(dy), {xr, ar}), {1e-4, 1e-4});
  }
}

TEST_F(GradExamples, Attention) {
  auto kernel = Kernel::compile(readExample("attention.mlir"), true);
  ASSERT_TRUE(kernel);
  for (auto [B, H, T, D] : {std::array<int64_t, 4>{1, 1, 1, 4},
                            {2, 3, 17, 8},
                            {1, 2, 150, 33}}) {
    Tensor q = randn32({B, H, T, D}), kk = randn32({B, H, T, D}),
           v = randn32({B, H, T, D}), dout = randn32({B, H, T, D});
    Tensor qr = leaf(q), kr = leaf(kk), vr = leaf(v);
    ref::AttentionOptions o;
    o.causal = true;
    o.window = 64;
    Tensor y = ref::attention(qr, kr, vr, o).output;
    checkBackward(*kernel, "attention", {q, kk, v}, {dout},
                  autograd(y, f64(dout), {qr, kr, vr}), {1e-4, 1e-4});
  }
}

TEST_F(GradExamples, ManifestRecords) {
  auto kernel = Kernel::compile(readExample("attention.mlir"), true);
  ASSERT_TRUE(kernel);
  // Attention saves its log-sum-exp: the saving forward has one more output.
  const rotary::bundle::Gradient *g = kernel->manifest().findGradient("attention");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->forward, "attention_fwd");
  EXPECT_EQ(g->numSaved, 1);
  EXPECT_EQ(g->gradients, (std::vector<int>{0, 1, 2}));
  const rotary::bundle::Entry *fwd = kernel->manifest().findEntry("attention_fwd");
  ASSERT_TRUE(fwd);
  ASSERT_EQ(fwd->outputs.size(), 2u);
  EXPECT_EQ(fwd->outputs[1].shape.size(), 3u); // lse [B, H, T]
  // The optimizer step has no gradient and gets no record.
  auto fam = Kernel::compile(readExample("fam.mlir"), true);
  ASSERT_TRUE(fam);
  EXPECT_TRUE(fam->manifest().gradients.empty());
  EXPECT_FALSE(fam->manifest().findEntry("fam_step_bwd"));
  // Names of the generated entries' inputs come from the forward's.
  const rotary::bundle::Entry *bwd = kernel->manifest().findEntry("attention_bwd");
  ASSERT_TRUE(bwd);
  ASSERT_EQ(bwd->inputs.size(), 4u);
  EXPECT_EQ(bwd->inputs[0].name, "q");
  EXPECT_EQ(bwd->inputs[3].name, "dresult");
}

} // namespace
