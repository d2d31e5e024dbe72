//===- Kernels.h - rotary IR for a layer's configuration --------*- C++ -*-===//
//
// The model library's IR builder: a layer configuration in, the text of a
// rotary module out, built through the dialect's C++ (ODS) builders and
// verified. Each module has one public function (its entry, named in the
// struct's comment); compiled with CompileOptions::gradients the bundle
// also has its backward. Batch and sequence sizes are dynamic in every
// kernel, so one compiled bundle serves every B and T; the sizes that make
// a layer (head dim, rotations, chunk) are static.
//
// This header names no MLIR type: LibTorch code (built with exceptions and
// RTTI) includes it; the library links MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_MODEL_KERNELS_H
#define ROTARY_MODEL_KERNELS_H

#include "rotary/Bundle/Manifest.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rotary::model {

using bundle::DType;

/// Entry "rope": rotary.rope on x [B, T, H, D] (B, T dynamic; H static, or
/// dynamic when -1), positions i64 [T] or [B, T]. Arguments in order: x,
/// positions, then inv_freq [r/2] when `invFreq`, else base (a 0-d f32: a
/// base that changes without a recompile), then phase [r/2] when `phase`,
/// then scale (0-d f32) when `scale`. `xpos` Query or Key scales the pairs
/// as xPos does (docs/Math.md §1).
struct RopeKernel {
  enum class Layout { Half, Interleaved, Deinterleave };
  enum class XPos { None, Query, Key };
  int64_t heads = -1;
  int64_t headDim = 0;
  int64_t rotaryDim = -1; ///< -1: the head dim
  Layout layout = Layout::Half;
  DType dtype = DType::F32;
  int64_t positionsRank = 1;
  bool invFreq = false;
  bool phase = false;
  bool scale = false;
  XPos xpos = XPos::None;
  double xposScaleBase = 512; ///< > 0
  double xposGamma = 0.4;     ///< > 0
};
std::string buildSource(const RopeKernel &kernel);

/// Entry "rotation_block": rotary.rotation_block (the Givens chain of the
/// default schedule, then R) on x of rank `rank` (all dims dynamic but the
/// last, `dim`). Arguments: x, angles [N] or [H, N] (`perHead`: one chain
/// and one R per head, the head being dimension -2 of x), R [D, D] or
/// [H, D, D].
struct RotationBlockKernel {
  int64_t rank = 4;
  int64_t dim = 0;
  int64_t rotations = 0;
  bool perHead = false;
  DType dtype = DType::F32;
};
std::string buildSource(const RotationBlockKernel &kernel);

/// Entry "orthogonality_penalty": ‖RᵀR − I‖_F² of R [D, D] or [H, D, D]
/// (dynamic H), a 0-d f32.
struct PenaltyKernel {
  int64_t dim = 0;
  bool perHead = false;
};
std::string buildSource(const PenaltyKernel &kernel);

/// Entry "hdd_rope": the fused rotary.hdd_rope on x [B, T, H, D] and angles
/// [B, T, H, D/c, c(c-1)/2] (B, T dynamic).
struct HDDRopeKernel {
  enum class Form { Givens, Exp };
  int64_t heads = 0;
  int64_t headDim = 0;
  int64_t chunk = 2;
  Form form = Form::Givens;
  DType dtype = DType::F32;
};
std::string buildSource(const HDDRopeKernel &kernel);

/// Entry "attention": rotary.attention on q [B, H, T, D], k and v
/// [B, H, S, D] (B, T, S dynamic). Arguments: q, k, v, then the bias table
/// [H, 2W+1] when `biasRadius` >= 0, then span [H] when `spanRamp` > 0.
/// Results: the output and the log-sum-exp.
struct AttentionKernel {
  int64_t heads = 0;
  int64_t headDim = 0;
  bool causal = false;
  int64_t window = -1;
  int64_t globalTokens = 0;
  double scale = 0; ///< 0: D^-1/2
  int64_t biasRadius = -1;
  double spanRamp = 0;
  DType dtype = DType::F32;
};
std::string buildSource(const AttentionKernel &kernel);

/// Entry "quaternion_rotate": rotary.quaternion_rotate on x [N, 3]
/// (N dynamic), a shared axis [3] and a scalar angle.
struct QuaternionKernel {
  DType dtype = DType::F32;
};
std::string buildSource(const QuaternionKernel &kernel);

/// Entry "fam_step": the FAM update (Math §7 steps 1 and 4) of a group of
/// `dtypes.size()` flattened parameters in one launch. Arguments: p_1..p_K,
/// g_1..g_K, m_1..m_K (each [n_k], dynamic), lr (0-d f32), alpha [K] (the
/// effective momentum of each tensor). Results: p'_1..p'_K, m'_1..m'_K.
/// Momentum is kept in f32.
struct FamStepKernel {
  std::vector<DType> dtypes;
  double weightDecay = 0;
};
std::string buildSource(const FamStepKernel &kernel);

/// Entry "fam_bands": the normalised band energies of a magnitude spectrum
/// [L] (dynamic): rotary.spectral_bands. Entry "fam_momentum": α' from the
/// EMA bands [n] and α (0-d): rotary.adaptive_momentum.
struct FamBandsKernel {
  enum class Layout { Linear, Log, Split };
  enum class Handler { Default, Conv, Attention, Embedding };
  int64_t bands = 8;
  Layout layout = Layout::Linear;
  Handler handler = Handler::Default;
  double eps = 1e-8;
};
std::string buildSource(const FamBandsKernel &kernel);

} // namespace rotary::model

#endif // ROTARY_MODEL_KERNELS_H
