//===- Reference.h - LibTorch references of every rotary op -----*- C++ -*-===//
//
// The numerical ground truth of the project: one function per op of
// docs/Math.md §1–8, written straight from it with plain LibTorch ops (no
// lowering code was looked at). Every function computes in the dtype of its
// inputs (the tests pass f64), checks its arguments with TORCH_CHECK
// (c10::Error on misuse) and is differentiable by LibTorch autograd with
// respect to every floating-point tensor argument.
//
// An undefined torch::Tensor (`torch::Tensor()`) means "operand absent".
//
// This header (and the library) includes LibTorch only, never MLIR; it is
// compiled with exceptions and RTTI.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TEST_REFERENCE_REFERENCE_H
#define ROTARY_TEST_REFERENCE_REFERENCE_H

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace rotary::reference {

using Pair = std::pair<int64_t, int64_t>;

//===----------------------------------------------------------------------===//
// §1 rotary.rope, rotary.inv_freq
//===----------------------------------------------------------------------===//

enum class RopeLayout {
  Half,        ///< pair i = (i, i + r/2)
  Interleaved, ///< pair i = (2i, 2i + 1)
  Deinterleave ///< reads (2i, 2i + 1), writes i and i + r/2
};

struct RopeOptions {
  RopeLayout layout = RopeLayout::Half;
  /// r: even, 0 < r <= D; features r..D pass through. -1: r = D.
  int64_t rotaryDim = -1;
  /// Frequencies f_i [r/2]; when defined, `base`/`runtimeBase` are unused
  /// (the op's verifier makes them exclusive; so does this function).
  torch::Tensor invFreq;
  /// Phase phi_i [r/2], optional.
  torch::Tensor phase;
  /// Scalar (0-d) multiplier of the positions, optional (default 1).
  torch::Tensor scale;
  /// The `base` attribute (default 10000), used when neither `invFreq` nor
  /// `runtimeBase` is given.
  double base = 10000.0;
  /// The scalar `base(...)` operand, optional; excludes `invFreq`.
  torch::Tensor runtimeBase;
  /// Rotate by -theta (and, for Deinterleave, read (i, i + r/2) and write
  /// (2i, 2i + 1)): the exact inverse of the op without the flag.
  bool inverse = false;
  /// Not an op option: compute f_i and theta in f32, rounding after every
  /// step of Math §1's formula ((scale*p)*f_i + phi_i, f_i = pow(base, -2i/r)),
  /// then convert theta to x's dtype: what a kernel that keeps its angles
  /// in f32 (Math §1's literal reading) computes. At position 1e6 the f32
  /// rounding of theta alone is ~0.06 rad. The CPU lowering computes the
  /// angles in f64 instead (decision 0013), so the e2e tests compare with
  /// the default (exact) reference.
  bool f32Angles = false;
};

/// r of `options` for head dim D (checks it).
int64_t ropeRotaryDim(int64_t D, const RopeOptions &options);

/// The angles theta [B or 1, T, r/2] (positions [B, T] or [T]) in `dtype`
/// (or f32-rounded, see RopeOptions::f32Angles). Not negated for `inverse`.
torch::Tensor ropeAngles(const torch::Tensor &positions, int64_t rotaryDim,
                         const RopeOptions &options,
                         torch::ScalarType dtype = torch::kFloat64);

/// rotary.rope: x [B, T, H, D], positions [T] or [B, T] (integer or float).
torch::Tensor rope(const torch::Tensor &x, const torch::Tensor &positions,
                   const RopeOptions &options = {});

struct InvFreqOptions {
  int64_t dim = 0;            ///< d, positive and even
  double base = 10000.0;      ///< positive
  std::vector<double> scales; ///< S groups; empty = {1}; S divides d/2
};

/// rotary.inv_freq: [d/2], f_i = (base * s_k)^(-2i/d) for i in group k
/// (groups of (d/2)/S consecutive frequencies).
torch::Tensor invFreq(const InvFreqOptions &options,
                      torch::ScalarType dtype = torch::kFloat64);

//===----------------------------------------------------------------------===//
// §2 rotary.givens
//===----------------------------------------------------------------------===//

/// The round-robin (circle-method) schedule of Math §2 for even D >= 2: D-1
/// stages of D/2 disjoint pairs, D(D-1)/2 pairs in all, in application order.
std::vector<Pair> roundRobinSchedule(int64_t D);

struct GivensOptions {
  /// Explicit (i_k, j_k) pairs; empty = the first N pairs of the round-robin
  /// schedule (D even). A pair is used as written: (j, i) is not (i, j).
  std::vector<Pair> pairs;
  /// x * G_N^T ... G_1^T.
  bool inverse = false;
};

/// rotary.givens: x [..., D]; angles [N] or [H, N] (H = dimension -2 of x).
/// y = x * G_1 ... G_N, each rotation changing columns i and j only:
/// y_i = x_i cos + x_j sin, y_j = -x_i sin + x_j cos.
torch::Tensor givens(const torch::Tensor &x, const torch::Tensor &angles,
                     const GivensOptions &options = {});

/// The N pairs givens() applies for head dim D and `options`.
std::vector<Pair> givensPairs(int64_t D, int64_t N,
                              const GivensOptions &options);

//===----------------------------------------------------------------------===//
// §3 rotary.orthogonal, rotary.orthogonality_penalty
//===----------------------------------------------------------------------===//

struct OrthogonalOptions {
  /// Multiply by R^T; R is then [E, D] or [H, E, D].
  bool transpose = false;
};

/// rotary.orthogonal: x [..., D] times R [D, E] or per head R [H, D, E]
/// (H = dimension -2 of x); result [..., E].
torch::Tensor orthogonal(const torch::Tensor &x, const torch::Tensor &R,
                         const OrthogonalOptions &options = {});

/// rotary.orthogonality_penalty: sum over heads of ||R^T R - I_E||_F^2 for
/// R [D, E] or [H, D, E]; a 0-d tensor.
torch::Tensor orthogonalityPenalty(const torch::Tensor &R);

//===----------------------------------------------------------------------===//
// §4 rotary.rotation_block
//===----------------------------------------------------------------------===//

struct RotationBlockOptions {
  /// Defined: rope first (x is then [B, T, H, D]) with layout, rotaryDim and
  /// base (attribute frequencies only, decision 0010).
  torch::Tensor positions;
  RopeLayout layout = RopeLayout::Half;
  int64_t rotaryDim = -1;
  double base = 10000.0;
  std::vector<Pair> pairs; ///< as GivensOptions::pairs
};

/// rotary.rotation_block: [rope], givens, orthogonal (R not transposed).
torch::Tensor rotationBlock(const torch::Tensor &x, const torch::Tensor &angles,
                            const torch::Tensor &R,
                            const RotationBlockOptions &options = {});

//===----------------------------------------------------------------------===//
// §5 HDD-RoPE: so_generator, cumulative_rotation, hdd_rope
//===----------------------------------------------------------------------===//

enum class SOForm { Givens, Exp };

/// The c(c-1)/2 pairs (p, q), p < q, in lexicographic order.
std::vector<Pair> lexicographicPairs(int64_t c);

/// rotary.so_generator: angles [..., c(c-1)/2] -> [..., c, c].
/// Givens: G_(0,1) G_(0,2) ... (the matrices of Math §2: G[p,p] = G[q,q] =
/// cos, G[q,p] = sin, G[p,q] = -sin). Exp: matrix_exp(A), A[p,q] = a_pq,
/// A[q,p] = -a_pq.
torch::Tensor soGenerator(const torch::Tensor &angles, int64_t chunk,
                          SOForm form);

/// rotary.cumulative_rotation: P_t = G_1 G_2 ... G_t (inclusive) along
/// `axis` of G [..., c, c]; 0 <= axis < rank - 2.
torch::Tensor cumulativeRotation(const torch::Tensor &G, int64_t axis = 1);

struct HDDRopeOptions {
  /// Set: the fused form, `rotation` is angles [B, T, H, D/c, c(c-1)/2] and
  /// P is so_generator(form) followed by cumulative_rotation along T.
  std::optional<SOForm> form;
  /// c; required in the fused form; in the P form, -1 or P's c.
  int64_t chunk = -1;
  /// Multiply by P_t^T.
  bool inverse = false;
};

/// rotary.hdd_rope: x [B, T, H, D]; y[t, m] = P_t[m] x[t, m] per chunk m of
/// c features (a column vector).
torch::Tensor hddRope(const torch::Tensor &x, const torch::Tensor &rotation,
                      const HDDRopeOptions &options = {});

//===----------------------------------------------------------------------===//
// §6 rotary.attention
//===----------------------------------------------------------------------===//

struct AttentionOptions {
  bool causal = false;
  int64_t window = -1;         ///< W >= 0: keys j >= p(i) - W; -1 unlimited
  int64_t globalTokens = 0;    ///< n_g
  std::optional<double> scale; ///< default D^-1/2
  /// [H, 2W'+1] table indexed by clamp(j - p(i), -W', W') + W', or [H, T, S].
  torch::Tensor bias;
  torch::Tensor span;             ///< [H], needs spanRamp
  std::optional<double> spanRamp; ///< R > 0
};

struct AttentionResult {
  torch::Tensor output; ///< [B, H, T, D]
  torch::Tensor lse;    ///< [B, H, T]: log sum_j m_ij exp(s_ij); -inf if empty
};

/// The pattern [T, S] (true = key j seen by query i), query i at position
/// i + S - T (decision 0011).
torch::Tensor attentionMask(int64_t T, int64_t S, const AttentionOptions &o);

/// rotary.attention: q [B, H, T, D], k, v [B, H, S, D].
AttentionResult attention(const torch::Tensor &q, const torch::Tensor &k,
                          const torch::Tensor &v,
                          const AttentionOptions &options = {});

//===----------------------------------------------------------------------===//
// §7 FAM: spectral_bands, adaptive_momentum, fam_step
//===----------------------------------------------------------------------===//

enum class BandLayout { Linear, Log, Split };

/// The [begin, end) ranges of the n bands of a spectrum of length L (Math §7
/// step 2, integer division throughout; end <= begin means empty).
std::vector<Pair> bandRanges(int64_t L, int64_t n, BandLayout layout);

/// floor(L^(i/n)), exactly (the largest k with k^n <= L^i); 0^0 = 1.
int64_t floorRationalPower(int64_t L, int64_t i, int64_t n);

struct SpectralBandsOptions {
  int64_t bands = 8;
  BandLayout layout = BandLayout::Linear;
  double eps = 1e-8;
};

/// rotary.spectral_bands: P [L] (a magnitude spectrum) -> [n]: if sum P > 0,
/// P <- P / (sum P + eps); band i = sum of P over its range, 0 when empty.
torch::Tensor spectralBands(const torch::Tensor &spectrum,
                            const SpectralBandsOptions &options = {});

enum class FamHandler { Default, Conv, Attention, Embedding };

/// rotary.adaptive_momentum: ema [n] (n >= 1), alpha 0-d -> alpha' 0-d.
torch::Tensor adaptiveMomentum(const torch::Tensor &ema,
                               const torch::Tensor &alpha, FamHandler handler);

struct FamStepOptions {
  double weightDecay = 0.0;
};

struct FamStepResult {
  torch::Tensor param;    ///< p' = p - lr m'
  torch::Tensor momentum; ///< m' = alpha m + (1 - alpha) (g + wd p)
};

/// rotary.fam_step: p, g, m of one shape; lr, alpha 0-d tensors.
FamStepResult famStep(const torch::Tensor &param, const torch::Tensor &grad,
                      const torch::Tensor &momentum, const torch::Tensor &lr,
                      const torch::Tensor &alpha,
                      const FamStepOptions &options = {});

//===----------------------------------------------------------------------===//
// §8 rotary.quaternion_rotate
//===----------------------------------------------------------------------===//

/// x [..., 3]; axis [3] or x's shape; angle 0-d or x's shape without the 3.
/// u = axis / max(|axis|, 1e-8), w = cos(theta/2), v = sin(theta/2) u,
/// x' = x + 2w (v x x) + 2 v x (v x x).
torch::Tensor quaternionRotate(const torch::Tensor &x,
                               const torch::Tensor &axis,
                               const torch::Tensor &angle);

/// a x b over the last dimension (size 3).
torch::Tensor cross3(const torch::Tensor &a, const torch::Tensor &b);

} // namespace rotary::reference

#endif // ROTARY_TEST_REFERENCE_REFERENCE_H
