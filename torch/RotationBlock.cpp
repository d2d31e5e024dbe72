//===- RotationBlock.cpp - Givens chain + orthogonal R module -------------===//

#include "rotary/Torch/RotationBlock.h"

#include "rotary/Model/Kernels.h"
#include "rotary/Torch/Call.h"
#include "rotary/Torch/Kernel.h"

#include <torch/torch.h>

#include <algorithm>

using namespace rotary;
using namespace rotary::nn;

std::vector<std::pair<int64_t, int64_t>> nn::roundRobinPairs(int64_t D,
                                                             int64_t N) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t s = 0; s + 1 < D && int64_t(pairs.size()) < N; ++s) {
    pairs.emplace_back(s, D - 1);
    for (int64_t k = 1; k < D / 2; ++k) {
      int64_t i = (s + k) % (D - 1), j = ((s - k) % (D - 1) + D - 1) % (D - 1);
      pairs.emplace_back(std::min(i, j), std::max(i, j));
    }
  }
  pairs.resize(std::min<size_t>(pairs.size(), size_t(N)));
  return pairs;
}

torch::Tensor nn::rotateColumns(const torch::Tensor &m, const torch::Tensor &a,
                                const std::vector<int64_t> &is,
                                const std::vector<int64_t> &js) {
  auto longs = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor idxI = torch::tensor(is, longs),
                idxJ = torch::tensor(js, longs);
  torch::Tensor c = torch::cos(a).unsqueeze(-2),
                s = torch::sin(a).unsqueeze(-2);
  torch::Tensor ci = m.index_select(-1, idxI), cj = m.index_select(-1, idxJ);
  return m.index_copy(-1, torch::cat({idxI, idxJ}),
                      torch::cat({ci * c + cj * s, cj * c - ci * s}, -1));
}

torch::Tensor nn::givensChainMatrix(const torch::Tensor &angles, int64_t D) {
  int64_t N = angles.size(-1);
  std::vector<std::pair<int64_t, int64_t>> pairs = roundRobinPairs(D, N);
  std::vector<int64_t> shape = angles.sizes().vec();
  shape.back() = D;
  shape.push_back(D);
  torch::Tensor m = torch::eye(D, angles.options()).expand(shape).clone();
  // A stage's D/2 pairs are disjoint: rotate all their columns at once.
  for (int64_t start = 0; start < N; start += D / 2) {
    int64_t n = std::min(D / 2, N - start);
    std::vector<int64_t> is, js;
    for (int64_t k = start; k < start + n; ++k) {
      is.push_back(pairs[k].first);
      js.push_back(pairs[k].second);
    }
    m = rotateColumns(m, angles.narrow(-1, start, n), is, js);
  }
  return m;
}

RotationBlockImpl::RotationBlockImpl(RotationBlockOptions options)
    : options(std::move(options)) {
  reset();
}

int64_t RotationBlockImpl::numRotations() const {
  int64_t D = options.dim();
  return options.rotations() < 0 ? D * (D - 1) / 2 : options.rotations();
}

void RotationBlockImpl::reset() {
  int64_t D = options.dim(), N = numRotations(), H = options.heads();
  TORCH_CHECK(D >= 2 && D % 2 == 0,
              "rotary::nn::RotationBlock: dim must be even and >= 2 (the "
              "round-robin schedule pairs every feature), got ",
              D);
  TORCH_CHECK(N >= 1 && N <= D * (D - 1) / 2,
              "rotary::nn::RotationBlock: rotations must be in [1, D(D-1)/2 "
              "= ",
              D * (D - 1) / 2, "], got ", N);
  TORCH_CHECK(H >= 0, "rotary::nn::RotationBlock: heads must be >= 0, got ", H);
  kernels_.clear();
  std::vector<int64_t> angleShape =
      H ? std::vector<int64_t>{H, N} : std::vector<int64_t>{N};
  angles = register_parameter("angles", torch::randn(angleShape) *
                                            options.angle_init_std());
  torch::Tensor r = torch::empty(H ? std::vector<int64_t>{H, D, D}
                                   : std::vector<int64_t>{D, D});
  {
    torch::NoGradGuard noGrad;
    for (int64_t h = 0; h < std::max<int64_t>(H, 1); ++h)
      torch::nn::init::orthogonal_(H ? r[h] : r);
  }
  matrix = register_parameter("matrix", r);
  if (int64_t c = options.conditional_dim()) {
    condition_in = register_module(
        "condition_in", torch::nn::Linear(c, options.conditional_hidden()));
    condition_out = register_module(
        "condition_out", torch::nn::Linear(options.conditional_hidden(),
                                           std::max<int64_t>(H, 1) * N));
    torch::NoGradGuard noGrad;
    condition_out->weight.zero_();
    condition_out->bias.zero_();
  }
}

std::shared_ptr<runtime::Bundle>
RotationBlockImpl::kernel(int64_t rank, bool perHead, const torch::Tensor &x) {
  bundle::DType dtype = dataDType("RotationBlock", "x", x);
  int64_t key = rank * 64 + int64_t(perHead) * 8 + int64_t(dtype);
  return kernels_.get(key, x.device(), [&] {
    model::RotationBlockKernel k;
    k.rank = rank;
    k.dim = options.dim();
    k.rotations = numRotations();
    k.perHead = perHead;
    k.dtype = dtype;
    return k;
  });
}

torch::Tensor RotationBlockImpl::run(const torch::Tensor &x,
                                     const torch::Tensor &a,
                                     const torch::Tensor &r, bool perHead) {
  if (options.reference()) {
    torch::Tensor q = torch::matmul(givensChainMatrix(a, options.dim()), r);
    torch::Tensor xf = x.to(torch::kFloat32);
    // Per head: one [rows, D]·[D, D] product per head (a batched GEMM).
    torch::Tensor y = perHead ? torch::einsum("...hd,hde->...he", {xf, q})
                              : torch::matmul(xf, q);
    // einsum may return a permuted view; outputs are row-major like the
    // kernels'.
    return y.to(x.scalar_type()).contiguous();
  }
  return nn::apply(kernel(x.dim(), perHead, x), "rotation_block",
                   {x, a, r.to(x.scalar_type())})[0];
}

torch::Tensor RotationBlockImpl::forward(const torch::Tensor &x) {
  int64_t D = options.dim(), H = options.heads();
  dataDType("RotationBlock", "x", x);
  if (H)
    checkTensor("RotationBlock", "x", x, {"...", "H", "D"}, {-1, H, D});
  else
    checkTensor("RotationBlock", "x", x, {"...", "D"}, {-1, D});
  return run(x, angles, matrix, H > 0);
}

torch::Tensor RotationBlockImpl::forward(const torch::Tensor &x,
                                         const torch::Tensor &condition) {
  int64_t D = options.dim(), H = options.heads(), N = numRotations();
  TORCH_CHECK(condition_in,
              "rotary::nn::RotationBlock: a condition was given but "
              "conditional_dim is 0");
  dataDType("RotationBlock", "x", x);
  if (H)
    checkTensor("RotationBlock", "x", x, {"B", "T", "H", "D"}, {-1, -1, H, D});
  else
    checkTensor("RotationBlock", "x", x, {"B", "T", "D"}, {-1, -1, D});
  int64_t B = x.size(0);
  checkTensor("RotationBlock", "condition", condition, {"B", "conditional_dim"},
              {B, options.conditional_dim()});
  std::vector<int64_t> perRow =
      H ? std::vector<int64_t>{B, H, N} : std::vector<int64_t>{B, N};
  torch::Tensor a =
      angles + condition_out(torch::tanh(condition_in(condition))).view(perRow);
  if (options.reference()) {
    torch::Tensor q = torch::matmul(givensChainMatrix(a, D),
                                    H ? matrix.unsqueeze(0) : matrix);
    torch::Tensor xf = x.to(torch::kFloat32);
    torch::Tensor y = H ? torch::einsum("bthd,bhde->bthe", {xf, q})
                        : torch::einsum("btd,bde->bte", {xf, q});
    return y.to(x.scalar_type());
  }
  // One launch for the whole batch: batch rows become "heads" of a
  // [T, B·H, D] tensor, each with its own chain and R.
  int64_t T = x.size(1), G = B * std::max<int64_t>(H, 1);
  torch::Tensor xt = (H ? x.permute({1, 0, 2, 3}) : x.permute({1, 0, 2}))
                         .contiguous()
                         .view({T, G, D});
  torch::Tensor r = (H ? matrix.unsqueeze(0).expand({B, H, D, D})
                       : matrix.unsqueeze(0).expand({B, D, D}))
                        .reshape({G, D, D});
  torch::Tensor y = run(xt, a.reshape({G, N}).contiguous(), r.contiguous(),
                        /*perHead=*/true);
  return H ? y.view({T, B, H, D}).permute({1, 0, 2, 3}).contiguous()
           : y.view({T, B, D}).permute({1, 0, 2}).contiguous();
}

torch::Tensor RotationBlockImpl::orthogonality_penalty() {
  if (options.reference()) {
    torch::Tensor eye = torch::eye(options.dim(), matrix.options());
    return (torch::matmul(matrix.transpose(-1, -2), matrix) - eye).pow(2).sum();
  }
  auto penalty = kernels_.get(-1, matrix.device(), [&] {
    model::PenaltyKernel k;
    k.dim = options.dim();
    k.perHead = options.heads() > 0;
    return k;
  });
  return nn::apply(penalty, "orthogonality_penalty", {matrix})[0];
}
