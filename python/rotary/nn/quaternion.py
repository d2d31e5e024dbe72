"""A 3-D quaternion rotation of a learned projection.

The Python face of ``rotary.nn.QuaternionRotation`` (torch/
QuaternionRotation.cpp, docs/Math.md §8).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._common import check_tensor, compiled, data_dtype, run
from .rope import _check_data, _num

__all__ = ["QuaternionRotation", "quaternion_rotate"]


def quaternion_rotate(x: Tensor, axis: Tensor, angle: Tensor) -> Tensor:
    """Rotates the 3-vectors x [..., 3] about `axis` [3] by `angle` (0-d).

    With u = axis / max(|axis|, 1e-8), w = cos(angle/2) and
    v = sin(angle/2)·u (the unit quaternion (w, v)):
    x' = x + 2w·(v × x) + 2·v × (v × x). Plain PyTorch ops, differentiable
    by autograd.
    """
    u = axis / axis.norm().clamp_min(1e-8)
    w = torch.cos(angle / 2)
    v = (torch.sin(angle / 2) * u).expand_as(x)
    vx = torch.cross(v, x, dim=-1)
    return x + 2 * w * vx + 2 * torch.cross(v, vx, dim=-1)


class QuaternionRotation(torch.nn.Module):
    r"""A learned 3-D rotation of a learned projection (docs/Math.md §8).

    y = rotate(x·P)·Pᵀ: x [..., D] is projected to 3-D by a learnable
    ``projection`` P [D, 3] (orthonormal columns at init: the Q of a random
    matrix's QR), rotated about a learnable ``axis`` [3] (random at init,
    normalised inside with eps 1e-8) by a learnable ``angle`` (0-d,
    `angle_init`) as a unit quaternion, and projected back with Pᵀ. The
    projections are PyTorch matmuls; the rotation of the projected vectors
    (reshaped to [N, 3]) and its gradients (x, axis, angle) are the compiled
    ``quaternion_rotate`` kernel. ``reference=True`` rotates with PyTorch
    ops (:func:`quaternion_rotate`) and also accepts f64.

    Parameters
    ----------
    dim : int
        D >= 3, the last dimension of x.
    angle_init : float
        Initial rotation angle in radians.
    reference : bool
        Plain PyTorch ops instead of the compiled kernel.

    Shapes
    ------
    x [..., D] (any rank >= 1; f32, f16 or bf16, contiguous, CPU) ->
    [..., D] in x's dtype, computed in the parameters' dtype (f32).
    """

    def __init__(
        self, dim: int, *, angle_init: float = 0.1, reference: bool = False
    ) -> None:
        super().__init__()
        dim = int(dim)
        if dim < 3:
            raise ValueError(f"rotary.nn.QuaternionRotation: dim must be >= 3, got {dim}")
        if not math.isfinite(angle_init):
            raise ValueError(
                "rotary.nn.QuaternionRotation: angle_init must be finite, got "
                f"{_num(angle_init)}"
            )
        self.dim = dim
        self.angle_init = float(angle_init)
        self.reference = bool(reference)
        # Orthonormal columns: x·P·Pᵀ projects onto a 3-D subspace.
        q = torch.linalg.qr(torch.randn(dim, 3))[0]
        self.projection = torch.nn.Parameter(q.contiguous())
        self.axis = torch.nn.Parameter(torch.randn(3))
        self.angle = torch.nn.Parameter(torch.full((), self.angle_init))

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, angle_init={_num(self.angle_init)}, "
            f"reference={self.reference}"
        )

    def forward(self, x: Tensor) -> Tensor:
        """Rotates x [..., D]; returns [..., D] in x's dtype."""
        D = self.dim
        _check_data("QuaternionRotation", "x", x, self.reference)
        check_tensor("QuaternionRotation", "x", x, ["...", "D"], [-1, D])
        P = self.projection
        p = torch.matmul(x.to(P.dtype), P)
        if self.reference:
            r = quaternion_rotate(p, self.axis.to(P.dtype), self.angle.to(P.dtype))
        else:
            # The kernel follows the projection's dtype; axis and angle are f32.
            bundle = compiled(
                "quaternion",
                p.device,
                dtype=data_dtype("QuaternionRotation", "projection", P),
            )
            r = run(
                bundle,
                "quaternion_rotate",
                [p.reshape(-1, 3).contiguous(), self.axis.float(), self.angle.float()],
            )[0].view(p.shape)
        return torch.matmul(r, P.t()).to(x.dtype)
