"""AdaptiveAttention: local, global and adaptive-span attention.

Mirrors ``rotary.nn.AdaptiveAttention``
(include/rotary/Torch/AdaptiveAttention.h, torch/AdaptiveAttention.cpp); the
math is docs/Math.md section 6.
"""

from __future__ import annotations

import math
from typing import List, Optional

import torch
from torch import Tensor, nn

from ._common import check_tensor, compiled, data_dtype, run

__all__ = ["AdaptiveAttention"]

# How messages name the module (the C++ one says rotary::nn::AdaptiveAttention).
_MODULE = "rotary.nn.AdaptiveAttention"
_PREFIX = _MODULE + ": "

# torch's dtype names as LibTorch prints them (c10::ScalarType).
_SCALAR_NAMES = {
    torch.float32: "Float",
    torch.float16: "Half",
    torch.bfloat16: "BFloat16",
    torch.float64: "Double",
}


def _reference_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    bias_table: Optional[Tensor],
    span: Optional[Tensor],
    *,
    causal: bool,
    window: int,
    global_tokens: int,
    scale: float,
    span_ramp: float,
) -> Tensor:
    """Dense attention with plain PyTorch ops (the reference path).

    Softmax math in f32, or f64 when an input is f64; the result is in that
    dtype. ``scale`` must already be resolved (> 0).
    """
    t, s_len = q.shape[2], k.shape[2]
    dtype = torch.float32
    for x in (q, k, v, bias_table, span):
        if x is not None:
            dtype = torch.promote_types(dtype, x.dtype)
    # Query i sits at position p = i + S - T (the last T of S positions).
    p = (torch.arange(t, device=q.device) + (s_len - t)).unsqueeze(1)
    j = torch.arange(s_len, device=q.device).unsqueeze(0)
    if window < 0:
        seen = torch.ones(t, s_len, dtype=torch.bool, device=q.device)
    else:
        seen = j >= p - window
    seen = seen | (j < global_tokens) | (p < global_tokens)
    if causal:
        seen = seen & (j <= p)

    qf, kf, vf = q.to(dtype), k.to(dtype), v.to(dtype)
    s = torch.matmul(qf, kf.transpose(-1, -2)) * scale
    if bias_table is not None:
        w_rad = (bias_table.shape[1] - 1) // 2
        index = ((j - p).clamp(-w_rad, w_rad) + w_rad).reshape(-1)
        s = s + bias_table.to(dtype).index_select(1, index).view(-1, t, s_len)
    s = s.masked_fill(~seen, float("-inf"))
    # Rows without a visible key give 0, not NaN.
    row_max = s.max(-1, keepdim=True)[0].detach()
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    w = torch.exp(s - row_max)
    if span is not None:
        d = (p - j).to(dtype)  # [T, S]
        m = ((span.to(dtype).view(-1, 1, 1) + span_ramp - d) / span_ramp).clamp(0, 1)
        w = w * m
    total = w.sum(-1, keepdim=True)
    w = w / torch.where(total > 0, total, torch.ones_like(total))
    return torch.matmul(w, vf)


class AdaptiveAttention(nn.Module):
    r"""Attention with local, global and adaptive-span patterns.

    For query i at position ``p = i + S - T`` (the queries are the last T of
    the S key positions, as with a KV cache) and key j (docs/Math.md
    section 6):

    - query i sees key j when ``(W = -1 or j >= p - W or j < n_g or
      p < n_g) and (not causal or j <= p)``;
    - ``s_ij = scale·q_i·k_j + bias_table[h, clamp(j - p, -W', W') + W']``
      for a visible pair, −∞ otherwise;
    - with the adaptive span, the softmax weights are multiplied by
      ``m_ij = clamp((span_h + R - (p - j)) / R, 0, 1)`` and renormalised;
    - ``o_i = Σ_j w_ij·v_j``; a row with no weight left gives 0.

    The forward is the compiled tiled online-softmax kernel (never T×S in
    memory, masked key tiles skipped), the backward its FlashAttention-2
    style compiled gradient; ``reference=True`` runs dense PyTorch math.

    Parameters
    ----------
    heads : int
        H.
    head_dim : int
        D.
    causal : bool, optional
        Key j is seen by the query at position p only when j <= p.
    window : int, optional
        W >= 0: keys ``j >= p - W`` only (sliding window); -1: unlimited.
    global_tokens : int, optional
        n_g: the first n_g keys are seen by every query and the first n_g
        queries see every key (still causal with ``causal``).
    scale : float, optional
        Score scale; 0 (default): ``head_dim ** -0.5``.
    relative_bias_radius : int, optional
        W' >= 0: a learnable ``bias_table [H, 2W'+1]`` (zeros) indexed by
        ``clamp(j - p, -W', W')``; -1 (default): no bias.
    adaptive_span : bool, optional
        A learnable ``span [H]`` whose soft mask multiplies the weights.
    span_init : float, optional
        Initial span (default 32).
    span_ramp : float, optional
        R, the width of the span mask's ramp (default 16; > 0).
    reference : bool, optional
        Plain PyTorch ops instead of the compiled kernels.

    Attributes
    ----------
    bias_table : Parameter or None
        ``[H, 2W'+1]``, f32.
    span : Parameter or None
        ``[H]``, f32.

    Shapes
    ------
    q ``[B, H, T, D]``, k and v ``[B, H, S, D]`` with S >= T; one dtype for
    all three (f32, f16 or bf16; softmax math in f32), contiguous, on the
    CPU. Returns o ``[B, H, T, D]`` in that dtype.
    """

    def __init__(
        self,
        heads: int,
        head_dim: int,
        *,
        causal: bool = False,
        window: int = -1,
        global_tokens: int = 0,
        scale: float = 0.0,
        relative_bias_radius: int = -1,
        adaptive_span: bool = False,
        span_init: float = 32.0,
        span_ramp: float = 16.0,
        reference: bool = False,
    ) -> None:
        super().__init__()
        self.heads = int(heads)
        self.head_dim = int(head_dim)
        self.causal = bool(causal)
        self.window = int(window)
        self.global_tokens = int(global_tokens)
        self.scale = float(scale)
        self.relative_bias_radius = int(relative_bias_radius)
        self.adaptive_span = bool(adaptive_span)
        self.span_init = float(span_init)
        self.span_ramp = float(span_ramp)
        self.reference = bool(reference)
        if self.heads <= 0 or self.head_dim <= 0:
            raise ValueError(
                f"{_PREFIX}heads and head_dim must be positive, got "
                f"{self.heads} and {self.head_dim}"
            )
        if (
            self.window < -1
            or self.global_tokens < 0
            or self.relative_bias_radius < -1
            or self.scale < 0
        ):
            raise ValueError(
                f"{_PREFIX}need window >= -1, global_tokens >= 0, "
                "relative_bias_radius >= -1, scale >= 0"
            )
        if self.adaptive_span and not (self.span_ramp > 0 and self.span_init >= 0):
            raise ValueError(
                f"{_PREFIX}adaptive_span needs span_ramp > 0 and span_init >= 0"
            )
        # Absent parameters are registered as None (like undefined tensors
        # in C++): they are not in the state dict.
        self.bias_table: Optional[nn.Parameter]
        self.span: Optional[nn.Parameter]
        self.register_parameter(
            "bias_table",
            nn.Parameter(torch.empty(self.heads, 2 * self.relative_bias_radius + 1))
            if self.relative_bias_radius >= 0
            else None,
        )
        self.register_parameter(
            "span",
            nn.Parameter(torch.empty(self.heads)) if self.adaptive_span else None,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Sets ``bias_table`` to zeros and ``span`` to ``span_init``."""
        with torch.no_grad():
            if self.bias_table is not None:
                self.bias_table.zero_()
            if self.span is not None:
                self.span.fill_(self.span_init)

    def extra_repr(self) -> str:
        parts = [f"heads={self.heads}", f"head_dim={self.head_dim}"]
        if self.causal:
            parts.append("causal=True")
        if self.window >= 0:
            parts.append(f"window={self.window}")
        if self.global_tokens:
            parts.append(f"global_tokens={self.global_tokens}")
        if self.scale > 0:
            parts.append(f"scale={self.scale}")
        if self.relative_bias_radius >= 0:
            parts.append(f"relative_bias_radius={self.relative_bias_radius}")
        if self.adaptive_span:
            parts.append(f"adaptive_span=True, span_ramp={self.span_ramp}")
        if self.reference:
            parts.append("reference=True")
        return ", ".join(parts)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Attends from ``q [B, H, T, D]`` over ``k, v [B, H, S, D]``.

        Returns
        -------
        Tensor
            o ``[B, H, T, D]`` in q's dtype.
        """
        h, d = self.heads, self.head_dim
        dtype = data_dtype(_MODULE, "q", q)
        check_tensor(_MODULE, "q", q, ["B", "H", "T", "D"], [-1, h, -1, d])
        b, t = q.shape[0], q.shape[2]
        data_dtype(_MODULE, "k", k)
        check_tensor(_MODULE, "k", k, ["B", "H", "S", "D"], [b, h, -1, d])
        s = k.shape[2]
        data_dtype(_MODULE, "v", v)
        check_tensor(_MODULE, "v", v, ["B", "H", "S", "D"], [b, h, s, d])
        if k.dtype != q.dtype or v.dtype != q.dtype:
            names = ", ".join(
                _SCALAR_NAMES.get(x.dtype, str(x.dtype)) for x in (q, k, v)
            )
            raise TypeError(f"{_PREFIX}q, k and v must have one dtype, got {names}")
        if s < t:
            raise ValueError(
                f"{_PREFIX}k has S = {s} positions, fewer than q's T = {t} "
                "(the queries are the last T of the S positions)"
            )
        if self.reference:
            scale = self.scale if self.scale > 0 else 1.0 / math.sqrt(d)
            return _reference_attention(
                q,
                k,
                v,
                self.bias_table,
                self.span,
                causal=self.causal,
                window=self.window,
                global_tokens=self.global_tokens,
                scale=scale,
                span_ramp=self.span_ramp,
            ).to(q.dtype)
        bundle = compiled(
            "attention",
            q.device,
            heads=h,
            head_dim=d,
            causal=self.causal,
            window=self.window,
            global_tokens=self.global_tokens,
            scale=self.scale,
            bias_radius=self.relative_bias_radius,
            span_ramp=self.span_ramp if self.adaptive_span else 0.0,
            dtype=dtype,
        )
        inputs: List[Tensor] = [q, k, v]
        # The kernel takes the bias table and the span in f32.
        if self.bias_table is not None:
            inputs.append(self.bias_table.to(torch.float32))
        if self.span is not None:
            inputs.append(self.span.to(torch.float32))
        return run(bundle, "attention", inputs)[0]
