"""HDD-RoPE: high-dimensional, data-dependent rotary position embedding.

Mirrors ``rotary.nn.HDDRoPE`` (include/rotary/Torch/HDDRoPE.h,
torch/HDDRoPE.cpp); the math is docs/Math.md section 5.
"""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import Tensor, nn

from ._common import check_tensor, compiled, data_dtype, run
from .rotation_block import rotate_columns

__all__ = ["HDDRoPE", "so_generator"]

# How messages name the module (the C++ one says rotary::nn::HDDRoPE).
_MODULE = "rotary.nn.HDDRoPE"
_PREFIX = _MODULE + ": "
_FORMS = ("givens", "exp")


def _check_form(form: str) -> str:
    if form not in _FORMS:
        raise ValueError(f"{_PREFIX}form must be 'givens' or 'exp', got {form!r}")
    return form


def so_generator(angles: Tensor, chunk: int, form: str = "givens") -> Tensor:
    """Rotations in SO(c) from their ``c(c-1)/2`` angles (docs/Math.md §5).

    ``form="givens"``: the product ``G_(0,1)·G_(0,2) ⋯ G_(c-2,c-1)`` of the
    Givens matrices of the pairs ``p < q`` in lexicographic order, the n-th
    angle belonging to the n-th pair (each turns columns p and q of the
    running product as :func:`rotary.nn.rotation_block.rotate_columns`).
    ``form="exp"``: ``exp(A)`` with A skew-symmetric, ``A[p, q] = a_pq`` and
    ``A[q, p] = -a_pq``. The two forms turn opposite ways: for c = 2,
    givens(a) = exp(-a).

    Plain PyTorch ops, differentiable; the reference path of
    :class:`HDDRoPE` (like ``rotary.nn.soGenerator``).

    Parameters
    ----------
    angles : Tensor
        ``[..., c(c-1)/2]``, floating point.
    chunk : int
        c >= 2.
    form : {"givens", "exp"}

    Returns
    -------
    Tensor
        G ``[..., c, c]`` in the dtype of ``angles``.
    """
    _check_form(form)
    c = int(chunk)
    if c < 2 or angles.dim() < 1 or angles.shape[-1] != c * (c - 1) // 2:
        raise ValueError(
            f"{_PREFIX}so_generator needs chunk >= 2 and angles [..., "
            f"c(c-1)/2], got chunk {c} and angles "
            f"[{', '.join(str(s) for s in angles.shape)}]"
        )
    pairs = [(p, q) for p in range(c) for q in range(p + 1, c)]
    shape = tuple(angles.shape[:-1]) + (c, c)
    if form == "exp":
        # Place a_pq at (p, q) and -a_pq at (q, p) of a flattened c×c matrix.
        upper = torch.tensor([p * c + q for p, q in pairs], device=angles.device)
        lower = torch.tensor([q * c + p for p, q in pairs], device=angles.device)
        flat = angles.new_zeros(tuple(angles.shape[:-1]) + (c * c,))
        flat = flat.index_copy(flat.dim() - 1, upper, angles)
        flat = flat.index_copy(flat.dim() - 1, lower, -angles)
        return torch.matrix_exp(flat.view(shape))
    # Columns p and q of the running product, one pair at a time.
    m = torch.eye(c, dtype=angles.dtype, device=angles.device).expand(shape).clone()
    for k, (p, q) in enumerate(pairs):
        m = rotate_columns(m, angles.narrow(-1, k, 1), [p], [q])
    return m


def _reference_hdd_rope(x: Tensor, angles: Tensor, chunk: int, form: str) -> Tensor:
    """The reference path: ``y[t, m] = P_t[m]·x[t, m]`` with plain ops.

    x ``[B, T, H, D]``, angles ``[B, T, H, D/c, c(c-1)/2]``. G and the
    running products ``P_t = G_1 ⋯ G_t`` are formed in f64 (T products of
    f32 rotations would drift from the kernel's by more than rounding);
    P is applied in f32, or f64 when x or the angles are f64, and the result
    is returned in that dtype.
    """
    b, t, h, d = x.shape
    c = chunk
    g = so_generator(angles.to(torch.float64), c, form)  # [B, T, H, C, c, c]
    products: List[Tensor] = []
    for s in range(t):
        g_s = g.select(1, s)
        products.append(torch.matmul(products[-1], g_s) if s else g_s)
    dtype = torch.promote_types(
        torch.promote_types(torch.float32, x.dtype), angles.dtype
    )
    p = torch.stack(products, 1).to(dtype)
    chunks = x.to(dtype).reshape(b, t, h, d // c, c, 1)
    return torch.matmul(p, chunks).reshape(b, t, h, d)


class HDDRoPE(nn.Module):
    r"""High-dimensional, data-dependent RoPE (docs/Math.md section 5).

    The head dimension D is split into ``D/c`` chunks of c features. For
    every token t, head and chunk, a learnable linear map of the activations
    (``angle_proj``) gives ``c(c-1)/2`` angle increments, which
    :func:`so_generator` turns into a rotation ``G_t`` in SO(c). Their
    running product ``P_t = G_1·G_2 ⋯ G_t`` along the sequence rotates the
    chunk: ``y[t, m] = P_t[m]·x[t, m]`` (c×c matrix times column vector).
    Queries and keys rotated by the same P give scores
    ``q_iᵀ·P_iᵀP_j·k_j`` that depend only on the tokens between i and j.
    c = 2 is RoPE whose rates depend on the data.

    The compiled kernel is the fused ``rotary.hdd_rope`` (it keeps P in
    registers while it scans T) with its compiled reverse-scan backward;
    ``reference=True`` builds G and P in f64 with PyTorch ops.

    Parameters
    ----------
    heads : int
        H, the heads of x.
    head_dim : int
        D, a multiple of ``chunk``.
    chunk : int
        c >= 2 (2: RoPE with data-dependent rates; the reference model
        used 4).
    input_dim : int
        Width of the activations the angles are projected from.
    form : {"givens", "exp"}, optional
        How angles become rotations (see :func:`so_generator`); default
        "givens".
    angle_init_std : float, optional
        ``angle_proj``'s weights start at N(0, angle_init_std²), its bias at
        0: small increments, so P_t drifts slowly along the sequence.
    reference : bool, optional
        Plain PyTorch ops instead of the compiled kernel.

    Attributes
    ----------
    angle_proj : torch.nn.Linear
        ``input_dim -> H·(D/c)·c(c-1)/2``, f32.

    Shapes
    ------
    x (or q, k) ``[B, T, H, D]`` and activations ``[B, T, input_dim]`` with
    x's B and T (one angle set per token); both f32, f16 or bf16,
    contiguous, on the CPU. The outputs have x's shape and dtype.
    """

    def __init__(
        self,
        heads: int,
        head_dim: int,
        chunk: int,
        input_dim: int,
        *,
        form: str = "givens",
        angle_init_std: float = 0.02,
        reference: bool = False,
    ) -> None:
        super().__init__()
        self.heads = int(heads)
        self.head_dim = int(head_dim)
        self.chunk = int(chunk)
        self.input_dim = int(input_dim)
        self.form = _check_form(form)
        self.angle_init_std = float(angle_init_std)
        self.reference = bool(reference)
        h, d, c, i = self.heads, self.head_dim, self.chunk, self.input_dim
        if not (h > 0 and c >= 2 and d > 0 and d % c == 0 and i > 0):
            raise ValueError(
                f"{_PREFIX}need heads > 0, chunk >= 2 dividing head_dim and "
                f"input_dim > 0, got heads {h}, head_dim {d}, chunk {c}, "
                f"input_dim {i}"
            )
        self.angle_proj = nn.Linear(i, h * (d // c) * (c * (c - 1) // 2))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draws ``angle_proj`` again: weights N(0, angle_init_std²), bias 0."""
        with torch.no_grad():
            self.angle_proj.weight.normal_(0.0, self.angle_init_std)
            self.angle_proj.bias.zero_()

    def extra_repr(self) -> str:
        return (
            f"heads={self.heads}, head_dim={self.head_dim}, chunk={self.chunk}, "
            f"input_dim={self.input_dim}, form={self.form!r}"
            + (", reference=True" if self.reference else "")
        )

    def angles(self, activations: Tensor) -> Tensor:
        """The angle increments of ``activations``.

        Parameters
        ----------
        activations : Tensor
            ``[B, T, input_dim]``, f32, f16 or bf16, contiguous.

        Returns
        -------
        Tensor
            ``[B, T, H, D/c, c(c-1)/2]``, f32 (f64 for a ``.double()``
            module).
        """
        self._check_activations(activations, -1, -1)
        return self._project(activations)

    def _project(self, activations: Tensor) -> Tensor:
        """``angles`` without the checks (the forwards did them)."""
        c = self.chunk
        dtype = torch.promote_types(torch.float32, self.angle_proj.weight.dtype)
        a = self.angle_proj(activations.to(dtype))
        return a.view(
            activations.shape[0],
            activations.shape[1],
            self.heads,
            self.head_dim // c,
            c * (c - 1) // 2,
        )

    def _check_x(self, arg: str, x: Tensor, activations: Tensor) -> None:
        data_dtype(_MODULE, arg, x)
        check_tensor(
            _MODULE, arg, x, ["B", "T", "H", "D"], [-1, -1, self.heads, self.head_dim]
        )
        # One angle set per token: the activations' B and T are x's.
        self._check_activations(activations, x.shape[0], x.shape[1])

    def _check_activations(self, activations: Tensor, b: int, t: int) -> None:
        """``activations`` is ``[b, t, input_dim]`` (-1: any size)."""
        data_dtype(_MODULE, "activations", activations)
        check_tensor(
            _MODULE,
            "activations",
            activations,
            ["B", "T", "input_dim"],
            [b, t, self.input_dim],
        )

    def _rotate(self, x: Tensor, angles: Tensor) -> Tensor:
        if self.reference:
            return _reference_hdd_rope(x, angles, self.chunk, self.form).to(x.dtype)
        dtype = data_dtype(_MODULE, "x", x)
        bundle = compiled(
            "hdd_rope",
            x.device,
            heads=self.heads,
            head_dim=self.head_dim,
            chunk=self.chunk,
            form=self.form,
            dtype=dtype,
        )
        return run(bundle, "hdd_rope", [x, angles.to(torch.float32).contiguous()])[0]

    def forward(self, x: Tensor, activations: Tensor) -> Tensor:
        """Rotates ``x [B, T, H, D]`` by the angles of ``activations``.

        Returns ``y [B, T, H, D]`` in x's dtype.
        """
        self._check_x("x", x, activations)
        return self._rotate(x, self._project(activations))

    def forward_qk(
        self, q: Tensor, k: Tensor, activations: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Rotates queries and keys ``[B, T, H, D]`` by the same P.

        Their scores then depend only on the tokens between them; the
        angles' gradient sums the contributions of both. Returns
        ``(q', k')``.
        """
        self._check_x("q", q, activations)
        self._check_x("k", k, activations)
        a = self._project(activations)
        return self._rotate(q, a), self._rotate(k, a)
