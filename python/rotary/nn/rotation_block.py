"""The rotation block: a Givens chain followed by a learnable orthogonal matrix.

Mirrors ``rotary.nn.RotationBlock`` (include/rotary/Torch/RotationBlock.h,
torch/RotationBlock.cpp); the math is docs/Math.md sections 2 to 4 and 9.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ._common import check_tensor, compiled, data_dtype, run

__all__ = [
    "RotationBlock",
    "givens_chain_matrix",
    "rotate_columns",
    "round_robin_pairs",
]

# How messages name the module (the C++ one says rotary::nn::RotationBlock).
_MODULE = "rotary.nn.RotationBlock"
_PREFIX = _MODULE + ": "


def round_robin_pairs(dim: int, rotations: int) -> List[Tuple[int, int]]:
    """The first ``rotations`` index pairs of the round-robin schedule.

    The circle-method tournament of docs/Math.md section 2 (``dim`` even):
    stage ``s`` lists ``(s, dim - 1)``, then ``((s + k) mod (dim - 1),
    (s - k) mod (dim - 1))`` for ``k = 1 .. dim/2 - 1``, each pair written
    with its smaller index first. The ``dim - 1`` stages visit every pair
    once, and the pairs of one stage share no index.

    Parameters
    ----------
    dim : int
        D, the number of features (even).
    rotations : int
        N, how many pairs to return (at most ``dim * (dim - 1) / 2``).

    Returns
    -------
    list of (int, int)
        The pairs ``(i, j)`` with ``i < j``, in schedule order.
    """
    pairs: List[Tuple[int, int]] = []
    s = 0
    while s + 1 < dim and len(pairs) < rotations:
        pairs.append((s, dim - 1))
        for k in range(1, dim // 2):
            # Python's % is already non-negative.
            i, j = (s + k) % (dim - 1), (s - k) % (dim - 1)
            pairs.append((min(i, j), max(i, j)))
        s += 1
    return pairs[: max(rotations, 0)]


def rotate_columns(
    m: Tensor, angles: Tensor, i_idx: Sequence[int], j_idx: Sequence[int]
) -> Tensor:
    """``m`` times the Givens rotations of disjoint column pairs.

    For each k, columns ``i = i_idx[k]`` and ``j = j_idx[k]`` of ``m`` become
    ``c_i cos(a_k) + c_j sin(a_k)`` and ``c_j cos(a_k) - c_i sin(a_k)``
    (docs/Math.md section 2). The pairs must not share a column.

    Parameters
    ----------
    m : Tensor
        ``[..., R, D]``; not modified.
    angles : Tensor
        ``[..., n]`` with ``n = len(i_idx)``, broadcast over m's rows.
    i_idx, j_idx : sequence of int
        The column pairs.

    Returns
    -------
    Tensor
        The rotated copy of ``m`` (differentiable).
    """
    idx_i = torch.tensor(list(i_idx), dtype=torch.int64, device=m.device)
    idx_j = torch.tensor(list(j_idx), dtype=torch.int64, device=m.device)
    c = torch.cos(angles).unsqueeze(-2)
    s = torch.sin(angles).unsqueeze(-2)
    ci = m.index_select(-1, idx_i)
    cj = m.index_select(-1, idx_j)
    return m.index_copy(
        m.dim() - 1,
        torch.cat([idx_i, idx_j]),
        torch.cat([ci * c + cj * s, cj * c - ci * s], -1),
    )


def givens_chain_matrix(angles: Tensor, dim: int) -> Tensor:
    """The product ``G_1 ... G_N`` of the schedule's first N rotations.

    ``x @ givens_chain_matrix(angles, D)`` applies the chain of
    docs/Math.md section 2 to the rows of ``x``. Plain PyTorch ops,
    differentiable; the reference path of :class:`RotationBlock`.

    Parameters
    ----------
    angles : Tensor
        ``[..., N]`` (floating point), ``1 <= N <= D(D-1)/2``.
    dim : int
        D (even, >= 2).

    Returns
    -------
    Tensor
        ``[..., D, D]`` in the dtype of ``angles``.
    """
    n_rot = angles.shape[-1]
    if dim < 2 or dim % 2 or not 1 <= n_rot <= dim * (dim - 1) // 2:
        raise ValueError(
            f"{_PREFIX}givens_chain_matrix needs an even dim >= 2 and "
            f"1 <= N <= D(D-1)/2 angles, got dim {dim} and N = {n_rot}"
        )
    pairs = round_robin_pairs(dim, n_rot)
    shape = tuple(angles.shape[:-1]) + (dim, dim)
    m = torch.eye(dim, dtype=angles.dtype, device=angles.device)
    m = m.expand(shape).clone()
    # A stage's D/2 pairs are disjoint: rotate all their columns at once.
    half = dim // 2
    for start in range(0, n_rot, half):
        n = min(half, n_rot - start)
        stage = pairs[start : start + n]
        m = rotate_columns(
            m,
            angles.narrow(-1, start, n),
            [p[0] for p in stage],
            [p[1] for p in stage],
        )
    return m


def _compute_dtype(*tensors: Tensor) -> torch.dtype:
    """f32, or f64 when a tensor is f64 (a ``.double()`` module)."""
    dtype = torch.float32
    for t in tensors:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def _reference_block(
    x: Tensor, angles: Tensor, matrix: Tensor, equation: Optional[str]
) -> Tensor:
    """``x·G(angles)·R`` with plain PyTorch ops (the reference path).

    Computed in f32, or f64 when any input is f64, and returned in that
    dtype. ``equation`` is the einsum contracting x with the per-row
    ``Q = G·R``; None: one Q for all rows (``x @ Q``).
    """
    dtype = _compute_dtype(x, angles, matrix)
    q = torch.matmul(
        givens_chain_matrix(angles.to(dtype), matrix.shape[-1]), matrix.to(dtype)
    )
    xf = x.to(dtype)
    y = torch.matmul(xf, q) if equation is None else torch.einsum(equation, xf, q)
    # einsum may return a permuted view; outputs are row-major like the
    # kernels'.
    return y.contiguous()


class RotationBlock(nn.Module):
    r"""A Givens chain followed by a learnable, near-orthogonal matrix.

    ``y = x·G_1·G_2 ⋯ G_N·R`` (docs/Math.md section 4): ``G_k`` rotates the
    feature pair ``(i_k, j_k)`` of the round-robin schedule by the learnable
    angle ``angles[k]`` (``y_i = x_i cos φ + x_j sin φ``,
    ``y_j = x_j cos φ - x_i sin φ``), then ``R`` (``matrix``, initialised
    orthogonal) mixes all features. :meth:`orthogonality_penalty` gives
    ``‖RᵀR − I‖_F²``; add λ times it to the loss to keep R near orthogonal.

    With ``conditional_dim > 0`` the block also owns ``condition_in``
    (Linear ``conditional_dim -> conditional_hidden``), tanh and
    ``condition_out`` (Linear ``conditional_hidden -> max(H, 1)·N``,
    zero-initialised, so training starts from the unconditional block):
    ``forward(x, condition)`` rotates batch row b by
    ``angles + net(condition[b])`` (docs/Math.md section 9).

    The forward and backward run the compiled ``rotary.rotation_block`` and
    ``rotary.orthogonality_penalty`` kernels (``reference=True``: the same
    math as plain PyTorch ops, differentiated by autograd).

    Parameters
    ----------
    dim : int
        D, the feature size; even and >= 2.
    rotations : int, optional
        N, how many rotations of the schedule; -1 (default): all D(D-1)/2.
    heads : int, optional
        H > 0: one chain and one R per head, x ``[..., H, D]``; 0 (default):
        one for the layer, x ``[..., D]``.
    angle_init_std : float, optional
        Standard deviation of the initial angles (0: the identity chain).
    conditional_dim : int, optional
        Width of the conditioning input; 0 (default): no conditional angles.
    conditional_hidden : int, optional
        Hidden width of the conditioning network (default 32).
    reference : bool, optional
        Plain PyTorch ops instead of the compiled kernels.

    Attributes
    ----------
    angles : Parameter
        ``[N]`` or ``[H, N]``, f32, initialised N(0, angle_init_std²).
    matrix : Parameter
        R, ``[D, D]`` or ``[H, D, D]``, f32, initialised orthogonal.
    condition_in, condition_out : torch.nn.Linear or None
        The conditioning network (with ``conditional_dim > 0``).

    Shapes
    ------
    ``forward(x)``: x ``[..., D]`` (per head ``[..., H, D]``), contiguous
    f32, f16 or bf16 on the CPU; returns y of x's shape and dtype.
    ``forward(x, condition)``: x ``[B, T, D]`` (per head ``[B, T, H, D]``)
    and condition ``[B, conditional_dim]``.
    """

    def __init__(
        self,
        dim: int,
        *,
        rotations: int = -1,
        heads: int = 0,
        angle_init_std: float = 0.02,
        conditional_dim: int = 0,
        conditional_hidden: int = 32,
        reference: bool = False,
    ) -> None:
        super().__init__()
        self.dim = int(dim)
        self.rotations = int(rotations)
        self.heads = int(heads)
        self.angle_init_std = float(angle_init_std)
        self.conditional_dim = int(conditional_dim)
        self.conditional_hidden = int(conditional_hidden)
        self.reference = bool(reference)
        d, n, h = self.dim, self.num_rotations, self.heads
        if d < 2 or d % 2:
            raise ValueError(
                f"{_PREFIX}dim must be even and >= 2 (the round-robin schedule "
                f"pairs every feature), got {d}"
            )
        if not 1 <= n <= d * (d - 1) // 2:
            raise ValueError(
                f"{_PREFIX}rotations must be in [1, D(D-1)/2 = "
                f"{d * (d - 1) // 2}], got {n}"
            )
        if h < 0:
            raise ValueError(f"{_PREFIX}heads must be >= 0, got {h}")
        if self.conditional_dim < 0 or (
            self.conditional_dim and self.conditional_hidden < 1
        ):
            raise ValueError(
                f"{_PREFIX}need conditional_dim >= 0 and conditional_hidden "
                f">= 1, got {self.conditional_dim} and {self.conditional_hidden}"
            )
        self.angles = nn.Parameter(torch.empty((h, n) if h else (n,)))
        self.matrix = nn.Parameter(torch.empty((h, d, d) if h else (d, d)))
        self.condition_in: Optional[nn.Linear] = None
        self.condition_out: Optional[nn.Linear] = None
        if self.conditional_dim:
            self.condition_in = nn.Linear(self.conditional_dim, self.conditional_hidden)
            self.condition_out = nn.Linear(self.conditional_hidden, max(h, 1) * n)
        self.reset_parameters()

    @property
    def num_rotations(self) -> int:
        """N: ``rotations``, or D(D-1)/2 when it is -1."""
        d = self.dim
        return d * (d - 1) // 2 if self.rotations < 0 else self.rotations

    def reset_parameters(self) -> None:
        """Draws the initial parameters again (in place).

        angles ~ N(0, angle_init_std²); R orthogonal (per head); the
        conditioning network's first layer as torch.nn.Linear's default and
        its last layer zero.
        """
        with torch.no_grad():
            self.angles.normal_(0.0, 1.0).mul_(self.angle_init_std)
            if self.heads:
                for h in range(self.heads):
                    nn.init.orthogonal_(self.matrix[h])
            else:
                nn.init.orthogonal_(self.matrix)
            if self.condition_in is not None and self.condition_out is not None:
                self.condition_in.reset_parameters()
                self.condition_out.weight.zero_()
                self.condition_out.bias.zero_()

    def extra_repr(self) -> str:
        s = f"dim={self.dim}, rotations={self.num_rotations}, heads={self.heads}"
        if self.conditional_dim:
            s += (
                f", conditional_dim={self.conditional_dim}, "
                f"conditional_hidden={self.conditional_hidden}"
            )
        return s + (", reference=True" if self.reference else "")

    def _run(self, x: Tensor, angles: Tensor, matrix: Tensor, per_head: bool) -> Tensor:
        if self.reference:
            equation = "...hd,hde->...he" if per_head else None
            return _reference_block(x, angles, matrix, equation).to(x.dtype)
        dtype = data_dtype(_MODULE, "x", x)
        bundle = compiled(
            "rotation_block",
            x.device,
            rank=x.dim(),
            dim=self.dim,
            rotations=self.num_rotations,
            per_head=per_head,
            dtype=dtype,
        )
        # The kernel takes f32 angles and R in x's dtype.
        return run(
            bundle,
            "rotation_block",
            [x, angles.to(torch.float32), matrix.to(x.dtype)],
        )[0]

    def forward(self, x: Tensor, condition: Optional[Tensor] = None) -> Tensor:
        """Rotates ``x``; with ``condition``, per batch row (conditional).

        Parameters
        ----------
        x : Tensor
            ``[..., D]`` (per head ``[..., H, D]``); with a condition
            ``[B, T, D]`` (``[B, T, H, D]``). Contiguous f32, f16 or bf16
            on the CPU.
        condition : Tensor, optional
            ``[B, conditional_dim]``: batch row b is rotated by
            ``angles + condition_out(tanh(condition_in(condition[b])))``.

        Returns
        -------
        Tensor
            y, x's shape and dtype.
        """
        if condition is not None:
            return self._forward_conditional(x, condition)
        d, h = self.dim, self.heads
        data_dtype(_MODULE, "x", x)
        if h:
            check_tensor(_MODULE, "x", x, ["...", "H", "D"], [-1, h, d])
        else:
            check_tensor(_MODULE, "x", x, ["...", "D"], [-1, d])
        return self._run(x, self.angles, self.matrix, h > 0)

    def _forward_conditional(self, x: Tensor, condition: Tensor) -> Tensor:
        d, h, n = self.dim, self.heads, self.num_rotations
        if self.condition_in is None or self.condition_out is None:
            raise ValueError(f"{_PREFIX}a condition was given but conditional_dim is 0")
        data_dtype(_MODULE, "x", x)
        if h:
            check_tensor(_MODULE, "x", x, ["B", "T", "H", "D"], [-1, -1, h, d])
        else:
            check_tensor(_MODULE, "x", x, ["B", "T", "D"], [-1, -1, d])
        b = x.shape[0]
        check_tensor(
            _MODULE,
            "condition",
            condition,
            ["B", "conditional_dim"],
            [b, self.conditional_dim],
        )
        per_row = (b, h, n) if h else (b, n)
        offsets = self.condition_out(torch.tanh(self.condition_in(condition)))
        a = self.angles + offsets.view(per_row)
        if self.reference:
            matrix = self.matrix.unsqueeze(0) if h else self.matrix
            equation = "bthd,bhde->bthe" if h else "btd,bde->bte"
            return _reference_block(x, a, matrix, equation).to(x.dtype)
        # One launch for the whole batch: batch rows become "heads" of a
        # [T, B·H, D] tensor, each with its own chain and R.
        t, g = x.shape[1], b * max(h, 1)
        xt = (x.permute(1, 0, 2, 3) if h else x.permute(1, 0, 2)).contiguous()
        r = self.matrix.unsqueeze(0).expand((b,) + tuple(self.matrix.shape))
        y = self._run(
            xt.view(t, g, d),
            a.reshape(g, n).contiguous(),
            r.reshape(g, d, d).contiguous(),
            per_head=True,
        )
        if h:
            return y.view(t, b, h, d).permute(1, 0, 2, 3).contiguous()
        return y.view(t, b, d).permute(1, 0, 2).contiguous()

    def orthogonality_penalty(self) -> Tensor:
        """``‖RᵀR − I‖_F²``, summed over heads: a differentiable 0-d tensor.

        The compiled ``orthogonality_penalty`` kernel (f32), or plain PyTorch
        ops on the reference path. A training loop adds λ times it to the
        loss.
        """
        if self.reference:
            eye = torch.eye(self.dim, dtype=self.matrix.dtype, device=self.matrix.device)
            r = self.matrix
            return (torch.matmul(r.transpose(-1, -2), r) - eye).pow(2).sum()
        bundle = compiled(
            "penalty", self.matrix.device, dim=self.dim, per_head=self.heads > 0
        )
        return run(bundle, "orthogonality_penalty", [self.matrix.to(torch.float32)])[0]
