//===- Reference.cpp - LibTorch references of every rotary op -------------===//
//
// Written from docs/Math.md and the decision pages only. Conventions: row
// vectors (x·M), per-head parameters bind to x's dimension -2 (decision
// 0002), attention queries sit at position i + S - T (decision 0011).
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace rotary::reference {

namespace {

using torch::Tensor;

std::string shapeString(const Tensor &t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d)
    s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

void checkScalar(const Tensor &t, const char *name) {
  TORCH_CHECK(t.defined() && t.numel() == 1 && t.dim() == 0, name,
              " must be a 0-d tensor, got ", shapeString(t));
}

torch::TensorOptions optionsOf(torch::ScalarType dtype, const Tensor &like) {
  return torch::TensorOptions().dtype(dtype).device(like.device());
}

} // namespace

//===----------------------------------------------------------------------===//
// §1 rope
//===----------------------------------------------------------------------===//

int64_t ropeRotaryDim(int64_t D, const RopeOptions &o) {
  int64_t r = o.rotaryDim < 0 ? D : o.rotaryDim;
  TORCH_CHECK(r > 0 && r % 2 == 0 && r <= D,
              "rope: rotary_dim must be positive, even and <= D = ", D,
              ", got ", r);
  return r;
}

Tensor ropeAngles(const Tensor &positions, int64_t r, const RopeOptions &o,
                  torch::ScalarType dtype) {
  TORCH_CHECK(positions.dim() == 1 || positions.dim() == 2,
              "rope: positions must be [T] or [B, T], got ",
              shapeString(positions));
  TORCH_CHECK(r > 0 && r % 2 == 0, "rope: rotary_dim must be even, got ", r);
  const int64_t half = r / 2;
  // The type the angles are computed in.
  const torch::ScalarType ct = o.f32Angles ? torch::kFloat32 : dtype;
  const auto opts = optionsOf(ct, positions);

  Tensor f; // [r/2]
  if (o.invFreq.defined()) {
    TORCH_CHECK(!o.runtimeBase.defined(),
                "rope: inv_freq and a base operand exclude each other");
    TORCH_CHECK(o.invFreq.dim() == 1 && o.invFreq.size(0) == half,
                "rope: inv_freq must be [r/2] = [", half, "], got ",
                shapeString(o.invFreq));
    f = o.invFreq.to(ct);
  } else {
    // f_i = base^(-2i/r), i = 0 .. r/2 - 1; 2i/r is one rounding of exact
    // integers in the compute type.
    Tensor exponent = -(torch::arange(0, r, 2, opts) / static_cast<double>(r));
    Tensor base;
    if (o.runtimeBase.defined()) {
      checkScalar(o.runtimeBase, "rope: base operand");
      base = o.runtimeBase.to(ct);
    } else {
      TORCH_CHECK(o.base > 0 && std::isfinite(o.base),
                  "rope: base must be positive and finite, got ", o.base);
      base = torch::full({}, o.base, opts);
    }
    f = torch::pow(base, exponent);
  }

  // Positions to [B or 1, T, 1].
  Tensor p = positions.to(ct);
  p = positions.dim() == 1 ? p.view({1, positions.size(0), 1})
                           : p.unsqueeze(-1);
  if (o.scale.defined()) {
    checkScalar(o.scale, "rope: scale");
    p = o.scale.to(ct) * p;
  }
  Tensor theta = p * f; // (scale·p)·f_i, [B or 1, T, r/2]
  if (o.phase.defined()) {
    TORCH_CHECK(o.phase.dim() == 1 && o.phase.size(0) == half,
                "rope: phase must be [r/2] = [", half, "], got ",
                shapeString(o.phase));
    theta = theta + o.phase.to(ct);
  }
  return theta.to(dtype);
}

Tensor rope(const Tensor &x, const Tensor &positions, const RopeOptions &o) {
  TORCH_CHECK(x.dim() == 4, "rope: x must be [B, T, H, D], got ",
              shapeString(x));
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  if (positions.dim() == 1) {
    TORCH_CHECK(positions.size(0) == T, "rope: positions must be [T] = [", T,
                "], got ", shapeString(positions));
  } else {
    TORCH_CHECK(positions.dim() == 2 && positions.size(0) == B &&
                    positions.size(1) == T,
                "rope: positions must be [T] or [B, T] = [", B, ", ", T,
                "], got ", shapeString(positions));
  }
  const int64_t r = ropeRotaryDim(D, o);
  const int64_t half = r / 2;

  Tensor theta = ropeAngles(positions, r, o, x.scalar_type()).unsqueeze(2);
  if (o.inverse)
    theta = -theta; // [B or 1, T, 1, r/2]
  const Tensor c = torch::cos(theta), s = torch::sin(theta);

  const Tensor rotated = x.narrow(-1, 0, r);
  const Tensor passed = x.narrow(-1, r, D - r);
  // deinterleave reads (2i, 2i+1) and writes (i, i + r/2); its inverse reads
  // (i, i + r/2) and writes (2i, 2i+1).
  const bool readPairs = o.layout == RopeLayout::Interleaved ||
                         (o.layout == RopeLayout::Deinterleave && !o.inverse);
  const bool writePairs = o.layout == RopeLayout::Interleaved ||
                          (o.layout == RopeLayout::Deinterleave && o.inverse);
  Tensor a, b;
  if (readPairs) {
    Tensor pairs = rotated.reshape({B, T, H, half, 2});
    a = pairs.select(-1, 0);
    b = pairs.select(-1, 1);
  } else {
    a = rotated.narrow(-1, 0, half);
    b = rotated.narrow(-1, half, half);
  }
  // (a, b) -> (a cos θ - b sin θ, a sin θ + b cos θ)
  const Tensor ya = a * c - b * s;
  const Tensor yb = a * s + b * c;
  Tensor y = writePairs ? torch::stack({ya, yb}, -1).reshape({B, T, H, r})
                        : torch::cat({ya, yb}, -1);
  return torch::cat({y, passed}, -1);
}

Tensor invFreq(const InvFreqOptions &o, torch::ScalarType dtype) {
  TORCH_CHECK(o.dim > 0 && o.dim % 2 == 0,
              "inv_freq: dim must be positive and even, got ", o.dim);
  TORCH_CHECK(o.base > 0 && std::isfinite(o.base),
              "inv_freq: base must be positive and finite, got ", o.base);
  const std::vector<double> scales =
      o.scales.empty() ? std::vector<double>{1.0} : o.scales;
  const int64_t half = o.dim / 2;
  const int64_t S = static_cast<int64_t>(scales.size());
  TORCH_CHECK(half % S == 0, "inv_freq: the ", S,
              " scales must divide dim/2 = ", half);
  const int64_t group = half / S;
  std::vector<double> bases(half);
  for (int64_t i = 0; i < half; ++i) {
    const double s = scales[i / group];
    TORCH_CHECK(s > 0 && std::isfinite(s),
                "inv_freq: scales must be positive and finite, got ", s);
    bases[i] = o.base * s;
  }
  const auto opts = torch::TensorOptions().dtype(dtype);
  Tensor base = torch::tensor(bases, torch::kFloat64).to(dtype);
  // i counts over all dim/2 frequencies: f_i = (base·s_k)^(-2i/dim).
  Tensor exponent =
      -(torch::arange(0, o.dim, 2, opts) / static_cast<double>(o.dim));
  return torch::pow(base, exponent);
}

//===----------------------------------------------------------------------===//
// §2 givens
//===----------------------------------------------------------------------===//

std::vector<Pair> roundRobinSchedule(int64_t D) {
  TORCH_CHECK(D >= 2 && D % 2 == 0,
              "givens: the default schedule needs an even D >= 2, got ", D);
  const int64_t m = D - 1;
  std::vector<Pair> pairs;
  pairs.reserve(D * (D - 1) / 2);
  for (int64_t s = 0; s <= D - 2; ++s) {
    pairs.emplace_back(s, D - 1);
    for (int64_t k = 1; k <= D / 2 - 1; ++k) {
      const int64_t a = (s + k) % m;
      const int64_t b = ((s - k) % m + m) % m;
      pairs.emplace_back(std::min(a, b), std::max(a, b));
    }
  }
  return pairs;
}

std::vector<Pair> givensPairs(int64_t D, int64_t N, const GivensOptions &o) {
  if (o.pairs.empty()) {
    if (N == 0)
      return {};
    std::vector<Pair> schedule = roundRobinSchedule(D);
    TORCH_CHECK(N <= static_cast<int64_t>(schedule.size()), "givens: ", N,
                " angles but the default schedule of D = ", D, " has ",
                schedule.size(), " rotations");
    schedule.resize(N);
    return schedule;
  }
  TORCH_CHECK(static_cast<int64_t>(o.pairs.size()) == N, "givens: ", N,
              " angles for ", o.pairs.size(), " pairs");
  for (const Pair &p : o.pairs)
    TORCH_CHECK(p.first >= 0 && p.first < D && p.second >= 0 && p.second < D &&
                    p.first != p.second,
                "givens: bad pair (", p.first, ", ", p.second, ") for D = ", D);
  return o.pairs;
}

Tensor givens(const Tensor &x, const Tensor &angles, const GivensOptions &o) {
  TORCH_CHECK(x.dim() >= 1, "givens: x must have rank >= 1");
  TORCH_CHECK(angles.dim() == 1 || angles.dim() == 2,
              "givens: angles must be [N] or [H, N], got ",
              shapeString(angles));
  if (angles.dim() == 2) {
    TORCH_CHECK(x.dim() >= 2 && x.size(-2) == angles.size(0),
                "givens: angles [H, N] needs H = dimension -2 of x ",
                shapeString(x), ", got ", shapeString(angles));
  }
  const int64_t D = x.size(-1);
  const int64_t N = angles.size(-1);
  const std::vector<Pair> pairs = givensPairs(D, N, o);
  if (N == 0 || D == 0)
    return x.clone();

  // One tensor per column of x, [...] each (with H last for per-head angles,
  // so a [H] angle row broadcasts along it).
  std::vector<Tensor> cols = x.unbind(-1);
  const Tensor phi = angles.to(x.scalar_type());
  auto rotate = [&](int64_t k, bool negate) {
    Tensor a = phi.select(-1, k);
    if (negate)
      a = -a;
    const Tensor c = torch::cos(a), s = torch::sin(a);
    const int64_t i = pairs[k].first, j = pairs[k].second;
    const Tensor xi = cols[i], xj = cols[j];
    cols[i] = xi * c + xj * s;
    cols[j] = -xi * s + xj * c;
  };
  if (!o.inverse) {
    for (int64_t k = 0; k < N; ++k)
      rotate(k, false);
  } else {
    // x·G_Nᵀ⋯G_1ᵀ: the chain reversed with negated angles.
    for (int64_t k = N - 1; k >= 0; --k)
      rotate(k, true);
  }
  return torch::stack(cols, -1);
}

//===----------------------------------------------------------------------===//
// §3 orthogonal, orthogonality_penalty
//===----------------------------------------------------------------------===//

Tensor orthogonal(const Tensor &x, const Tensor &R,
                  const OrthogonalOptions &o) {
  TORCH_CHECK(x.dim() >= 1, "orthogonal: x must have rank >= 1");
  TORCH_CHECK(R.dim() == 2 || R.dim() == 3,
              "orthogonal: R must be [D, E] or [H, D, E], got ",
              shapeString(R));
  const Tensor M = (o.transpose ? R.transpose(-1, -2) : R).to(x.scalar_type());
  TORCH_CHECK(M.size(-2) == x.size(-1), "orthogonal: R ", shapeString(R),
              (o.transpose ? " (transposed)" : ""),
              " does not contract with x ", shapeString(x));
  if (R.dim() == 2)
    return torch::matmul(x, M);
  TORCH_CHECK(x.dim() >= 2 && x.size(-2) == R.size(0),
              "orthogonal: R [H, D, E] needs H = dimension -2 of x ",
              shapeString(x), ", got ", shapeString(R));
  // [..., H, 1, D] · [H, D, E] -> [..., H, 1, E]
  return torch::matmul(x.unsqueeze(-2), M).squeeze(-2);
}

Tensor orthogonalityPenalty(const Tensor &R) {
  TORCH_CHECK(R.dim() == 2 || R.dim() == 3,
              "orthogonality_penalty: R must be [D, E] or [H, D, E], got ",
              shapeString(R));
  const int64_t E = R.size(-1);
  const Tensor gram = torch::matmul(R.transpose(-1, -2), R);
  const Tensor diff = gram - torch::eye(E, optionsOf(R.scalar_type(), R));
  return diff.pow(2).sum();
}

//===----------------------------------------------------------------------===//
// §4 rotation_block
//===----------------------------------------------------------------------===//

Tensor rotationBlock(const Tensor &x, const Tensor &angles, const Tensor &R,
                     const RotationBlockOptions &o) {
  Tensor y = x;
  if (o.positions.defined()) {
    RopeOptions ro;
    ro.layout = o.layout;
    ro.rotaryDim = o.rotaryDim;
    ro.base = o.base;
    y = rope(y, o.positions, ro);
  }
  GivensOptions go;
  go.pairs = o.pairs;
  y = givens(y, angles, go);
  return orthogonal(y, R);
}

//===----------------------------------------------------------------------===//
// §5 HDD-RoPE
//===----------------------------------------------------------------------===//

std::vector<Pair> lexicographicPairs(int64_t c) {
  std::vector<Pair> pairs;
  for (int64_t p = 0; p < c; ++p)
    for (int64_t q = p + 1; q < c; ++q)
      pairs.emplace_back(p, q);
  return pairs;
}

Tensor soGenerator(const Tensor &angles, int64_t c, SOForm form) {
  TORCH_CHECK(c >= 2, "so_generator: chunk must be >= 2, got ", c);
  const int64_t K = c * (c - 1) / 2;
  TORCH_CHECK(angles.dim() >= 1 && angles.size(-1) == K,
              "so_generator: angles must be [..., c(c-1)/2] = [..., ", K,
              "], got ", shapeString(angles));
  const auto opts = optionsOf(angles.scalar_type(), angles);
  const std::vector<Pair> pairs = lexicographicPairs(c);

  // basis[k] = E_pq - E_qp (the skew generator of pair k).
  Tensor basis = torch::zeros({K, c, c}, opts);
  for (int64_t k = 0; k < K; ++k) {
    basis[k][pairs[k].first][pairs[k].second] = 1.0;
    basis[k][pairs[k].second][pairs[k].first] = -1.0;
  }
  std::vector<int64_t> outShape = angles.sizes().vec();
  outShape.back() = c;
  outShape.push_back(c);

  if (form == SOForm::Exp) {
    // A[p,q] = a_pq, A[q,p] = -a_pq.
    Tensor A = torch::matmul(angles, basis.view({K, c * c})).view(outShape);
    return torch::matrix_exp(A);
  }

  // Givens form: G_(0,1)·G_(0,2)⋯, each G_k = I + (cos - 1)(E_pp + E_qq)
  // + sin (E_qp - E_pq), i.e. G[p,p] = G[q,q] = cos, G[q,p] = sin,
  // G[p,q] = -sin (docs/Math.md §2's matrix).
  const Tensor eye = torch::eye(c, opts);
  Tensor G;
  for (int64_t k = 0; k < K; ++k) {
    Tensor diag = torch::zeros({c, c}, opts);
    diag[pairs[k].first][pairs[k].first] = 1.0;
    diag[pairs[k].second][pairs[k].second] = 1.0;
    const Tensor a = angles.select(-1, k).unsqueeze(-1).unsqueeze(-1);
    const Tensor Gk =
        eye + (torch::cos(a) - 1.0) * diag - torch::sin(a) * basis[k];
    G = k == 0 ? Gk : torch::matmul(G, Gk);
  }
  return G;
}

Tensor cumulativeRotation(const Tensor &G, int64_t axis) {
  TORCH_CHECK(G.dim() >= 3 && G.size(-1) == G.size(-2),
              "cumulative_rotation: G must be [..., c, c] with rank >= 3, got ",
              shapeString(G));
  TORCH_CHECK(axis >= 0 && axis < G.dim() - 2,
              "cumulative_rotation: axis must be in [0, rank - 2), got ", axis);
  const int64_t T = G.size(axis);
  if (T == 0)
    return G.clone();
  // The scan is sequential by definition: P_t = P_{t-1}·G_t.
  const std::vector<Tensor> slices = G.unbind(axis);
  std::vector<Tensor> out;
  out.reserve(T);
  Tensor P = slices[0];
  out.push_back(P);
  for (int64_t t = 1; t < T; ++t) {
    P = torch::matmul(P, slices[t]);
    out.push_back(P);
  }
  return torch::stack(out, axis);
}

Tensor hddRope(const Tensor &x, const Tensor &rotation,
               const HDDRopeOptions &o) {
  TORCH_CHECK(x.dim() == 4, "hdd_rope: x must be [B, T, H, D], got ",
              shapeString(x));
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  Tensor P;
  int64_t c;
  if (o.form) {
    c = o.chunk;
    TORCH_CHECK(c >= 2 && D % c == 0, "hdd_rope: chunk ", c,
                " must be >= 2 and divide D = ", D);
    const int64_t K = c * (c - 1) / 2;
    TORCH_CHECK(rotation.sizes() == torch::IntArrayRef({B, T, H, D / c, K}),
                "hdd_rope: angles must be [B, T, H, D/c, c(c-1)/2] = [", B,
                ", ", T, ", ", H, ", ", D / c, ", ", K, "], got ",
                shapeString(rotation));
    P = cumulativeRotation(
        soGenerator(rotation.to(x.scalar_type()), c, *o.form), /*axis=*/1);
  } else {
    TORCH_CHECK(rotation.dim() == 6 && rotation.size(-1) == rotation.size(-2),
                "hdd_rope: P must be [B, T, H, D/c, c, c], got ",
                shapeString(rotation));
    c = rotation.size(-1);
    TORCH_CHECK(o.chunk < 0 || o.chunk == c, "hdd_rope: chunk ", o.chunk,
                " does not match P's c = ", c);
    TORCH_CHECK(c >= 1 && D % c == 0, "hdd_rope: c = ", c,
                " must divide D = ", D);
    TORCH_CHECK(rotation.sizes() == torch::IntArrayRef({B, T, H, D / c, c, c}),
                "hdd_rope: P must be [B, T, H, D/c, c, c] = [", B, ", ", T,
                ", ", H, ", ", D / c, ", ", c, ", ", c, "], got ",
                shapeString(rotation));
    P = rotation.to(x.scalar_type());
  }
  if (o.inverse)
    P = P.transpose(-1, -2);
  // Chunk m of token t as a column vector: y = P_t[m]·x[t, m].
  const Tensor chunks = x.reshape({B, T, H, D / c, c, 1});
  return torch::matmul(P, chunks).reshape({B, T, H, D});
}

//===----------------------------------------------------------------------===//
// §6 attention
//===----------------------------------------------------------------------===//

Tensor attentionMask(int64_t T, int64_t S, const AttentionOptions &o) {
  TORCH_CHECK(o.window >= -1, "attention: window must be >= -1, got ",
              o.window);
  TORCH_CHECK(o.globalTokens >= 0,
              "attention: global_tokens must be >= 0, got ", o.globalTokens);
  const auto longs = torch::TensorOptions().dtype(torch::kInt64);
  const Tensor pi = (torch::arange(T, longs) + (S - T)).unsqueeze(1); // [T,1]
  const Tensor j = torch::arange(S, longs).unsqueeze(0);              // [1,S]
  const Tensor local = o.window < 0
                           ? torch::ones({T, S}, longs.dtype(torch::kBool))
                           : (j >= pi - o.window);
  const Tensor global = (j < o.globalTokens) | (pi < o.globalTokens);
  Tensor allowed = local | global;
  if (o.causal)
    allowed = allowed & (j <= pi);
  return allowed.expand({T, S}).contiguous();
}

AttentionResult attention(const Tensor &q, const Tensor &k, const Tensor &v,
                          const AttentionOptions &o) {
  TORCH_CHECK(q.dim() == 4, "attention: q must be [B, H, T, D], got ",
              shapeString(q));
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  TORCH_CHECK(k.dim() == 4 && k.size(0) == B && k.size(1) == H &&
                  k.size(3) == D,
              "attention: k must be [B, H, S, D] with q's B, H, D, got ",
              shapeString(k));
  const int64_t S = k.size(2);
  TORCH_CHECK(v.sizes() == k.sizes(), "attention: v must be ", shapeString(k),
              ", got ", shapeString(v));
  const torch::ScalarType dt = q.scalar_type();
  const auto opts = optionsOf(dt, q);
  const double inf = std::numeric_limits<double>::infinity();
  const double scale =
      o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(D));

  if (T == 0 || S == 0)
    return {torch::zeros({B, H, T, D}, opts),
            torch::full({B, H, T}, -inf, opts)};

  const auto longs = torch::TensorOptions().dtype(torch::kInt64);
  const Tensor pi = (torch::arange(T, longs) + (S - T)).unsqueeze(1); // [T,1]
  const Tensor j = torch::arange(S, longs).unsqueeze(0);              // [1,S]

  Tensor s = torch::matmul(q, k.to(dt).transpose(-1, -2)) * scale; // [B,H,T,S]
  if (o.bias.defined()) {
    Tensor full;
    if (o.bias.dim() == 2) {
      const int64_t width = o.bias.size(1);
      TORCH_CHECK(o.bias.size(0) == H && width % 2 == 1,
                  "attention: bias table must be [H, 2W+1] with H = ", H,
                  ", got ", shapeString(o.bias));
      const int64_t W = (width - 1) / 2;
      const Tensor index = (j - pi).clamp(-W, W) + W; // [T, S]
      full = o.bias.index_select(1, index.reshape({-1})).view({H, T, S});
    } else {
      TORCH_CHECK(o.bias.dim() == 3 && o.bias.size(0) == H &&
                      o.bias.size(1) == T && o.bias.size(2) == S,
                  "attention: bias must be [H, 2W+1] or [H, T, S] = [", H, ", ",
                  T, ", ", S, "], got ", shapeString(o.bias));
      full = o.bias;
    }
    s = s + full.to(dt).unsqueeze(0);
  }
  const Tensor allowed = attentionMask(T, S, o);
  s = s.masked_fill(allowed.logical_not(), -inf);

  // Softmax with a detached row maximum (the result does not depend on it);
  // rows with no allowed key use 0 so that no NaN appears.
  Tensor rowMax = std::get<0>(s.max(-1, /*keepdim=*/true)).detach();
  rowMax =
      torch::where(torch::isfinite(rowMax), rowMax, torch::zeros_like(rowMax));
  Tensor e = torch::exp(s - rowMax); // 0 where masked
  if (o.span.defined()) {
    TORCH_CHECK(o.spanRamp && *o.spanRamp > 0,
                "attention: span needs a positive span_ramp");
    TORCH_CHECK(o.span.dim() == 1 && o.span.size(0) == H,
                "attention: span must be [H] = [", H, "], got ",
                shapeString(o.span));
    const double R = *o.spanRamp;
    const Tensor d = (pi - j).to(dt); // [T, S]
    // m_h(d) = clamp((span_h + R - d)/R, 0, 1); the weights are multiplied
    // by it and renormalised.
    const Tensor m =
        torch::clamp((o.span.to(dt).view({1, H, 1, 1}) + R - d) / R, 0.0, 1.0);
    e = e * m;
  }
  const Tensor l = e.sum(-1, /*keepdim=*/true);
  const Tensor nonEmpty = l > 0;
  const Tensor lSafe = torch::where(nonEmpty, l, torch::ones_like(l));
  const Tensor w = e / lSafe;
  Tensor out = torch::matmul(w, v.to(dt));
  Tensor lse = torch::where(nonEmpty, rowMax + torch::log(lSafe),
                            torch::full_like(l, -inf));
  return {out, lse.squeeze(-1)};
}

//===----------------------------------------------------------------------===//
// §7 FAM
//===----------------------------------------------------------------------===//

namespace {

// Little-endian base-2^32 natural numbers, just enough for k^n <= L^i.
using Big = std::vector<uint32_t>;

Big bigPow(uint32_t base, int64_t e) {
  Big r{1};
  for (int64_t i = 0; i < e; ++i) {
    uint64_t carry = 0;
    for (uint32_t &limb : r) {
      const uint64_t v = static_cast<uint64_t>(limb) * base + carry;
      limb = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry)
      r.push_back(static_cast<uint32_t>(carry));
  }
  while (r.size() > 1 && r.back() == 0)
    r.pop_back();
  return r;
}

int bigCompare(const Big &a, const Big &b) {
  if (a.size() != b.size())
    return a.size() < b.size() ? -1 : 1;
  for (size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  return 0;
}

} // namespace

int64_t floorRationalPower(int64_t L, int64_t i, int64_t n) {
  TORCH_CHECK(L >= 0 && L <= std::numeric_limits<uint32_t>::max() && i >= 0 &&
                  n >= 1,
              "floorRationalPower: bad arguments");
  if (i == 0)
    return 1; // L^0 = 1, 0^0 included
  if (L <= 1)
    return L;
  const Big target = bigPow(static_cast<uint32_t>(L), i);
  auto fits = [&](int64_t k) { // k^n <= L^i
    return bigCompare(bigPow(static_cast<uint32_t>(k), n), target) <= 0;
  };
  int64_t k = static_cast<int64_t>(std::floor(
      std::pow(static_cast<long double>(L), static_cast<long double>(i) / n)));
  k = std::max<int64_t>(k, 0);
  while (k > 0 && !fits(k))
    --k;
  while (fits(k + 1))
    ++k;
  return k;
}

std::vector<Pair> bandRanges(int64_t L, int64_t n, BandLayout layout) {
  TORCH_CHECK(n >= 1, "spectral_bands: bands must be >= 1, got ", n);
  TORCH_CHECK(L >= 0, "spectral_bands: bad length ", L);
  std::vector<Pair> ranges;
  ranges.reserve(n);
  switch (layout) {
  case BandLayout::Linear: {
    // w = ⌊L/n⌋, band i = [i·w, min((i+1)·w, L)); the remainder is ignored.
    const int64_t w = L / n;
    for (int64_t i = 0; i < n; ++i)
      ranges.emplace_back(i * w, std::min((i + 1) * w, L));
    break;
  }
  case BandLayout::Log: {
    // band i = [max(0, ⌊L^{i/n}⌋ - 1), min(⌊L^{(i+1)/n}⌋ - 1, L)).
    for (int64_t i = 0; i < n; ++i) {
      const int64_t lo = floorRationalPower(L, i, n) - 1;
      const int64_t hi = floorRationalPower(L, i + 1, n) - 1;
      ranges.emplace_back(std::max<int64_t>(0, lo), std::min(hi, L));
    }
    break;
  }
  case BandLayout::Split: {
    // h = ⌊n/2⌋ bands of width ⌊H/h⌋ over [0, H), H = ⌊L/2⌋; n - h bands of
    // width ⌊(L-H)/(n-h)⌋ over [H, L).
    const int64_t h = n / 2, half = L / 2;
    for (int64_t i = 0; i < h; ++i) {
      const int64_t w = half / h;
      ranges.emplace_back(std::min(i * w, half), std::min((i + 1) * w, half));
    }
    for (int64_t i = h; i < n; ++i) {
      const int64_t w = (L - half) / (n - h);
      const int64_t k = i - h;
      ranges.emplace_back(std::min(half + k * w, L),
                          std::min(half + (k + 1) * w, L));
    }
    break;
  }
  }
  return ranges;
}

Tensor spectralBands(const Tensor &spectrum, const SpectralBandsOptions &o) {
  TORCH_CHECK(spectrum.dim() == 1, "spectral_bands: spectrum must be [L], got ",
              shapeString(spectrum));
  TORCH_CHECK(o.eps >= 0 && std::isfinite(o.eps),
              "spectral_bands: eps must be finite and >= 0");
  const int64_t L = spectrum.size(0);
  const Tensor total = spectrum.sum();
  // if ΣP > 0: P ← P/(ΣP + eps)
  const Tensor P =
      torch::where(total > 0, spectrum / (total + o.eps), spectrum);
  std::vector<Tensor> bands;
  for (const Pair &range : bandRanges(L, o.bands, o.layout))
    bands.push_back(range.second > range.first
                        ? P.slice(0, range.first, range.second).sum()
                        : torch::zeros({}, optionsOf(P.scalar_type(), P)));
  return torch::stack(bands);
}

Tensor adaptiveMomentum(const Tensor &ema, const Tensor &alpha,
                        FamHandler handler) {
  TORCH_CHECK(ema.dim() == 1 && ema.size(0) >= 1,
              "adaptive_momentum: ema must be [n], n >= 1, got ",
              shapeString(ema));
  TORCH_CHECK(alpha.numel() == 1, "adaptive_momentum: alpha must be a scalar");
  const int64_t n = ema.size(0);
  const Tensor a = alpha.reshape({});
  // Σ ema[lo, hi), integer-division fractions of n.
  auto bandSum = [&](int64_t lo, int64_t hi) {
    return hi > lo ? ema.slice(0, lo, hi).sum().item<double>() : 0.0;
  };
  auto raise = [&](double by, double cap) { // min(cap, α + by)
    return torch::clamp_max(a + by, cap);
  };
  switch (handler) {
  case FamHandler::Default: {
    const double high = bandSum(n / 2, n);
    return high > 0.3 ? raise(0.05, 0.95) : a * 1.0;
  }
  case FamHandler::Conv: {
    const double mid = bandSum(n / 4, 3 * n / 4);
    const double high = bandSum(3 * n / 4, n);
    if (mid > 0.4)
      return raise(0.07, 0.97);
    if (high > 0.3)
      return raise(0.05, 0.95);
    return a * 1.0;
  }
  case FamHandler::Attention: {
    // k = the first index of the maximum band.
    const int64_t k =
        torch::nonzero(ema == ema.max()).index({0, 0}).item<int64_t>();
    if (k < n / 4)
      return torch::clamp_min(a - 0.05, 0.85); // max(0.85, α - 0.05)
    if (k > 3 * n / 4)
      return raise(0.08, 0.98);
    return a * 1.0;
  }
  case FamHandler::Embedding: {
    const double high = bandSum(3 * n / 4, n);
    return high > 0.2 ? raise(0.08, 0.98) : a * 1.0;
  }
  }
  TORCH_CHECK(false, "adaptive_momentum: unknown handler");
  return a;
}

FamStepResult famStep(const Tensor &param, const Tensor &grad,
                      const Tensor &momentum, const Tensor &lr,
                      const Tensor &alpha, const FamStepOptions &o) {
  TORCH_CHECK(
      grad.sizes() == param.sizes() && momentum.sizes() == param.sizes(),
      "fam_step: param ", shapeString(param), ", grad ", shapeString(grad),
      " and momentum ", shapeString(momentum), " must have one shape");
  TORCH_CHECK(lr.numel() == 1 && alpha.numel() == 1,
              "fam_step: lr and alpha must be scalars");
  TORCH_CHECK(o.weightDecay >= 0 && std::isfinite(o.weightDecay),
              "fam_step: weight_decay must be finite and >= 0");
  const torch::ScalarType ct =
      torch::promote_types(param.scalar_type(), momentum.scalar_type());
  const Tensor p = param.to(ct), m = momentum.to(ct);
  const Tensor a = alpha.reshape({}).to(ct), rate = lr.reshape({}).to(ct);
  Tensor g = grad.to(ct);
  if (o.weightDecay != 0.0)
    g = g + o.weightDecay * p; // g' = g + wd·p
  const Tensor m2 = a * m + (1.0 - a) * g;
  const Tensor p2 = p - rate * m2;
  return {p2.to(param.scalar_type()), m2.to(momentum.scalar_type())};
}

//===----------------------------------------------------------------------===//
// §8 quaternion_rotate
//===----------------------------------------------------------------------===//

Tensor cross3(const Tensor &a, const Tensor &b) {
  const Tensor a0 = a.select(-1, 0), a1 = a.select(-1, 1), a2 = a.select(-1, 2);
  const Tensor b0 = b.select(-1, 0), b1 = b.select(-1, 1), b2 = b.select(-1, 2);
  return torch::stack({a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0},
                      -1);
}

Tensor quaternionRotate(const Tensor &x, const Tensor &axis,
                        const Tensor &angle) {
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == 3,
              "quaternion_rotate: x must be [..., 3], got ", shapeString(x));
  TORCH_CHECK((axis.dim() == 1 && axis.size(0) == 3) ||
                  axis.sizes() == x.sizes(),
              "quaternion_rotate: axis must be [3] or ", shapeString(x),
              ", got ", shapeString(axis));
  TORCH_CHECK(angle.dim() == 0 ||
                  angle.sizes() == x.sizes().slice(0, x.dim() - 1),
              "quaternion_rotate: angle must be a scalar or x's shape without "
              "the trailing 3, got ",
              shapeString(angle));
  const torch::ScalarType dt = x.scalar_type();
  const Tensor ax = axis.to(dt);
  // u = axis / max(‖axis‖, 1e-8)
  const Tensor u = ax / ax.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-8);
  Tensor half = angle.to(dt) / 2.0;
  if (angle.dim() > 0)
    half = half.unsqueeze(-1);
  const Tensor w = torch::cos(half);
  const Tensor v = torch::sin(half) * u;
  const Tensor vx = cross3(v, x);
  // x' = x + 2w·(v × x) + 2·v × (v × x)
  return x + 2.0 * w * vx + 2.0 * cross3(v, vx);
}

} // namespace rotary::reference
