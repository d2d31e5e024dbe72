"""Learned sinusoidal position embeddings, and activation checkpointing.

The Python face of ``rotary.nn.LearnedSinusoidalEmbedding`` and
``rotary.nn.checkpoint`` (torch/Embedding.cpp, docs/Math.md §9).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ._common import check_tensor, compiled, run
from .rope import _dtype_name, _num, rope_angles, rope_frequencies

__all__ = ["LearnedSinusoidalEmbedding", "checkpoint"]


class _Checkpoint(torch.autograd.Function):
    """Runs `fn` without keeping its intermediates; the backward runs it
    again with gradients and differentiates that."""

    @staticmethod
    def forward(ctx: Any, fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
        ctx.fn = fn
        ctx.save_for_backward(*inputs)
        with torch.no_grad():
            return fn(*inputs)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:
        saved = ctx.saved_tensors
        inputs, wrt, where = [], [], []
        for i, t in enumerate(saved):
            d = t.detach()
            if ctx.needs_input_grad[1 + i]:
                d.requires_grad_(True)
                wrt.append(d)
                where.append(i)
            inputs.append(d)
        result: list = [None] * (1 + len(saved))
        if not wrt:
            return tuple(result)
        with torch.enable_grad():
            out = ctx.fn(*inputs)
        grads = torch.autograd.grad(out, wrt, grad, allow_unused=True)
        for i, g in zip(where, grads):
            result[1 + i] = g
        return tuple(result)


def checkpoint(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> Tensor:
    """``fn(*inputs)`` keeping nothing of the forward but `inputs`.

    The backward runs `fn` again (with gradients) and differentiates that,
    trading compute for memory. The result is differentiable with respect
    to every floating-point input that requires a gradient; `fn` must be
    deterministic and return one tensor. Unlike
    ``torch.utils.checkpoint`` (reentrant), ``torch.autograd.grad`` works
    through it.
    """
    return _Checkpoint.apply(fn, *inputs)


class LearnedSinusoidalEmbedding(torch.nn.Module):
    r"""Learned sinusoidal position embeddings (docs/Math.md §9).

    e(p) = normalize([cos θ, sin θ]), θ_i = p·w_i + b_i for i < dim/2,
    with learnable frequencies w (``frequency`` [dim/2], initialised
    base^(-2i/dim) as in RoPE) and phases b (``phase`` [dim/2], zero).
    The pairs (cos θ, sin θ) are the compiled rope kernel (half layout,
    ``inv_freq`` = w, ``phase`` = b) applied to constant pairs (1, 0), so
    the forward and the gradients of w and b are compiled; ``reference=True``
    computes them with PyTorch ops (angles in f64).

    Parameters
    ----------
    dim : int
        Width of the embedding (even, >= 2).
    base : float
        Initial frequencies base^(-2i/dim).
    normalize : bool
        Divide each embedding by its L2 norm.
    checkpoint : bool
        Keep only the inputs and recompute the forward in the backward.
    reference : bool
        Plain PyTorch ops instead of the compiled kernels.

    Shapes
    ------
    positions int64 [T] or [B, T] -> [T, dim] or [B, T, dim] (f32; the
    parameters' dtype on the reference path after ``.double()``).
    """

    def __init__(
        self,
        dim: int,
        *,
        base: float = 10000.0,
        normalize: bool = True,
        checkpoint: bool = False,
        reference: bool = False,
    ) -> None:
        super().__init__()
        dim = int(dim)
        if dim < 2 or dim % 2 != 0:
            raise ValueError(
                "rotary.nn.LearnedSinusoidalEmbedding: dim must be even and "
                f">= 2, got {dim}"
            )
        if not (base > 0 and math.isfinite(base)):
            raise ValueError(
                "rotary.nn.LearnedSinusoidalEmbedding: base must be positive "
                f"and finite, got {_num(base)}"
            )
        self.dim = dim
        self.base = float(base)
        self.normalize = bool(normalize)
        self.checkpoint = bool(checkpoint)
        self.reference = bool(reference)
        self.frequency = torch.nn.Parameter(rope_frequencies(dim, self.base))
        self.phase = torch.nn.Parameter(torch.zeros(dim // 2))

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, base={_num(self.base)}, normalize={self.normalize}, "
            f"checkpoint={self.checkpoint}, reference={self.reference}"
        )

    def _embed(self, positions: Tensor, w: Tensor, b: Tensor) -> Tensor:
        dim = self.dim
        if self.reference:
            theta = rope_angles(positions, w, b)
            out = torch.promote_types(torch.float32, w.dtype)
            e = torch.cat([torch.cos(theta), torch.sin(theta)], -1).to(out)
        else:
            # rope (half layout) on the pairs (1, 0) gives (cos θ, sin θ).
            rank = positions.dim()
            bundle = compiled(
                "rope",
                positions.device,
                heads=1,
                head_dim=dim,
                positions_rank=rank,
                inv_freq=True,
                phase=True,
            )
            B = positions.size(0) if rank == 2 else 1
            T = positions.size(-1)
            ones = torch.cat(
                [
                    torch.ones(B, T, 1, dim // 2, device=positions.device),
                    torch.zeros(B, T, 1, dim // 2, device=positions.device),
                ],
                -1,
            )
            e = run(bundle, "rope", [ones, positions, w.float(), b.float()])[0]
            e = e.view(B, T, dim)
        if self.normalize:
            e = e / e.norm(2, -1, keepdim=True).clamp_min(1e-12)
        return e.view(positions.size(0), dim) if positions.dim() == 1 else e

    def forward(self, positions: Tensor) -> Tensor:
        """Embeds int64 positions [T] or [B, T] -> [T, dim] or [B, T, dim]."""
        if not isinstance(positions, Tensor) or positions.dtype != torch.int64:
            got = (
                _dtype_name(positions.dtype)
                if isinstance(positions, Tensor)
                else type(positions).__name__
            )
            raise TypeError(
                "rotary.nn.LearnedSinusoidalEmbedding: positions must be "
                f"int64, got {got}"
            )
        if positions.dim() == 2:
            check_tensor("LearnedSinusoidalEmbedding", "positions", positions, ["B", "T"])
        else:
            check_tensor("LearnedSinusoidalEmbedding", "positions", positions, ["T"])
        needs_grad = torch.is_grad_enabled() and (
            self.frequency.requires_grad or self.phase.requires_grad
        )
        if not (self.checkpoint and needs_grad):
            return self._embed(positions, self.frequency, self.phase)
        return checkpoint(self._embed, [positions, self.frequency, self.phase])
