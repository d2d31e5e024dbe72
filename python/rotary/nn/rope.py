"""Rotary position embedding (RoPE) as a PyTorch module.

The Python face of ``rotary.nn.Rope`` (torch/Rope.cpp, docs/Math.md §1):
the same options, parameters, checks and compiled kernels, plus a plain
PyTorch reference path.
"""

from __future__ import annotations

import math
import operator
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ._common import check_tensor, compiled, data_dtype, run

__all__ = ["Rope", "rope_frequencies", "rope_angles", "xpos_scale"]

_LAYOUTS = ("half", "interleaved", "deinterleave")

# c10's names of scalar types, so that messages read like the C++ modules'.
_C10_NAMES = {
    torch.float64: "Double",
    torch.float32: "Float",
    torch.float16: "Half",
    torch.bfloat16: "BFloat16",
    torch.int64: "Long",
    torch.int32: "Int",
    torch.int16: "Short",
    torch.int8: "Char",
    torch.uint8: "Byte",
    torch.bool: "Bool",
    torch.complex64: "ComplexFloat",
    torch.complex128: "ComplexDouble",
}


def _dtype_name(dtype: torch.dtype) -> str:
    """The c10 name of `dtype` ("Float", "Long", ...)."""
    return _C10_NAMES.get(dtype, str(dtype))


def _num(value: float) -> str:
    """`value` printed as C++'s ostream prints a double (10000, 0.5, 1e+06)."""
    return "%g" % value


def _shape(t: Tensor) -> str:
    """The sizes of `t` as "[2, 5, 4, 32]"."""
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _check_data(module: str, arg: str, t: Tensor, reference: bool) -> None:
    """The data dtype check: f32, f16 or bf16, and f64 on reference paths.

    The compiled kernels take f32, f16 and bf16; the reference paths also
    run in f64 (gradcheck, ``.double()``).
    """
    if reference and isinstance(t, Tensor) and t.dtype == torch.float64:
        return
    if not isinstance(t, Tensor):
        raise TypeError(
            f"rotary.nn.{module}: {arg} must be a torch.Tensor, got "
            f"{type(t).__name__}"
        )
    data_dtype(module, arg, t)


def _compute_dtype(t: Tensor) -> torch.dtype:
    """f64 for f64 data (reference paths), else f32: low-precision data
    computes in f32, as the kernels do."""
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def _frequencies64(
    rotary_dim: int, base: float, scales: Optional[Sequence[float]] = None
) -> Tensor:
    """:func:`rope_frequencies` before its rounding to f32 (f64)."""
    if not (base > 0 and math.isfinite(base)):
        raise ValueError(
            f"rotary.nn.Rope: base must be positive and finite, got {_num(base)}"
        )
    scales = list(scales or ())
    half = int(rotary_dim) // 2
    groups = len(scales) if scales else 1
    if half % groups != 0:
        raise ValueError(
            f"rotary.nn.Rope: the {groups} scales must divide "
            f"rotary_dim/2 = {half}"
        )
    bases = torch.full((half,), float(base), dtype=torch.float64)
    for k, s in enumerate(scales):
        if not (s > 0 and math.isfinite(s)):
            raise ValueError(
                "rotary.nn.Rope: scales must be positive and finite, got "
                f"{_num(s)}"
            )
        size = half // groups
        bases[k * size : (k + 1) * size] *= float(s)
    exponent = -torch.arange(0, 2 * half, 2, dtype=torch.float64) / float(rotary_dim)
    return torch.pow(bases, exponent)


def rope_frequencies(
    rotary_dim: int, base: float, scales: Optional[Sequence[float]] = None
) -> Tensor:
    """The RoPE frequencies f_i [rotary_dim/2] in f32 (docs/Math.md §1).

    f_i = (base·s_k)^(-2i/r) for i < r/2, where the r/2 frequencies are cut
    into len(scales) groups of equal size and group k uses the base
    base·s_k; without `scales` one group of scale 1, i.e. base^(-2i/r).
    Computed in f64 and rounded to f32 once.

    Parameters
    ----------
    rotary_dim : int
        r, the number of rotated features (even).
    base : float
        The base (positive, finite).
    scales : sequence of float, optional
        Multi-scale factors s_k (positive, finite; their count divides r/2).
    """
    return _frequencies64(rotary_dim, base, scales).to(torch.float32)


def rope_angles(
    positions: Tensor,
    inv_freq: Tensor,
    phase: Optional[Tensor] = None,
    scale: Optional[Tensor] = None,
) -> Tensor:
    """The rope angles θ = scale·p·f + φ [B or 1, T, r/2], in f64.

    f64 like the CPU kernels: at position 1e6 an f32 angle is already
    0.06 rad off. Differentiable in `inv_freq`, `phase` and `scale`.
    """
    p = positions.to(torch.float64)
    if positions.dim() == 1:
        p = p.unsqueeze(0)
    if scale is not None:
        p = p * scale.to(torch.float64)
    theta = p.unsqueeze(-1) * inv_freq.to(p.device, torch.float64)
    if phase is not None:
        theta = theta + phase.to(torch.float64)
    return theta


def xpos_scale(
    positions: Tensor, rotary_dim: int, scale_base: float, gamma: float, sign: float
) -> Tensor:
    """The xPos scale ζ_i^(sign·n/scale_base) [B or 1, T, r/2] in f64.

    ζ_i = (i/(r/2) + γ)/(1 + γ) (docs/Math.md §1); sign is +1 for queries
    and -1 for keys, n the position itself.
    """
    half = rotary_dim // 2
    zeta = (
        torch.arange(0, half, dtype=torch.float64, device=positions.device) / float(half)
        + gamma
    ) / (1 + gamma)
    n = positions.to(torch.float64)
    if positions.dim() == 1:
        n = n.unsqueeze(0)
    return torch.pow(zeta, (sign / scale_base) * n.unsqueeze(-1))


def _f32(value: float) -> float:
    """`value` rounded to f32 (inf when it overflows)."""
    return float(torch.tensor(float(value), dtype=torch.float64).to(torch.float32))


class Rope(torch.nn.Module):
    r"""Rotary position embedding (RoPE, docs/Math.md §1) with compiled kernels.

    Rotates pair i of the first r features of every head by
    θ = scale·p·f_i + φ_i, with p the token's position and
    f_i = base^(-2i/r):

        (a, b) -> (a·cos θ - b·sin θ, a·sin θ + b·cos θ).

    Features r..D-1 pass through unchanged. Which features form pair i is
    the layout: ``"half"`` (NeoX/Llama, Hugging Face's ``rotate_half``):
    (i, i + r/2); ``"interleaved"`` (GPT-J, flash-attn ``interleaved=True``):
    (2i, 2i + 1); ``"deinterleave"`` (the seed's form): reads (2i, 2i + 1)
    and writes i and i + r/2.

    With xPos (``xpos_scale_base > 0``) pair i of a query at position n is
    also scaled by ζ_i^(n/xpos_scale_base) and of a key by
    ζ_i^(-n/xpos_scale_base), ζ_i = (i/(r/2) + γ)/(1 + γ): use
    :meth:`forward_qk`.

    The forward and backward are compiled kernels (one per dtype, positions
    rank and xPos role, compiled on first use); ``reference=True`` runs the
    same math with plain PyTorch ops (angles in f64), which also accepts f64
    data.

    Parameters
    ----------
    head_dim : int
        D, the last dimension of x.
    rotary_dim : int, optional
        r: even, 0 < r <= D; None (or -1): r = D.
    layout : {"half", "interleaved", "deinterleave"}
        Which features form a pair.
    base : float
        The base of f_i (each group's base·s_k with `scales`).
    scales : sequence of float, optional
        Multi-scale frequencies: r/2 split into len(scales) equal groups,
        group k using base·s_k (a buffer ``inv_freq``).
    learnable_freq : bool
        ``inv_freq`` [r/2] is a parameter, initialised from base and scales.
    learnable_phase : bool
        A phase parameter ``phase`` [r/2], zero-initialised.
    learnable_scale : bool
        A 0-d position scale parameter ``scale``, initialised to 1.
    xpos_scale_base : float
        > 0 turns xPos on; 0: plain RoPE.
    xpos_gamma : float
        γ of xPos (> 0).
    reference : bool
        Plain PyTorch ops instead of the compiled kernels.

    Shapes
    ------
    x: [B, T, H, D] (f32, f16 or bf16; contiguous, CPU) -> [B, T, H, D] in
    x's dtype. positions: an int offset (positions offset + arange(T) for
    every row) or an int64 tensor [T] or [B, T] of position ids (KV-cache
    offsets, packed sequences).

    Examples
    --------
    >>> rope = Rope(64)
    >>> q = torch.randn(2, 16, 8, 64)
    >>> y = rope(q)                       # positions 0..15
    >>> y = rope(q, positions=128)        # positions 128..143 (KV cache)
    """

    def __init__(
        self,
        head_dim: int,
        *,
        rotary_dim: Optional[int] = None,
        layout: str = "half",
        base: float = 10000.0,
        scales: Optional[Sequence[float]] = None,
        learnable_freq: bool = False,
        learnable_phase: bool = False,
        learnable_scale: bool = False,
        xpos_scale_base: float = 0.0,
        xpos_gamma: float = 0.4,
        reference: bool = False,
    ) -> None:
        super().__init__()
        head_dim = int(head_dim)
        if head_dim <= 0:
            raise ValueError(
                f"rotary.nn.Rope: head_dim must be positive, got {head_dim}"
            )
        r = head_dim if rotary_dim is None or rotary_dim == -1 else int(rotary_dim)
        if not (0 < r <= head_dim and r % 2 == 0):
            raise ValueError(
                "rotary.nn.Rope: rotary_dim must be even and in (0, head_dim "
                f"= {head_dim}], got {r}"
            )
        if layout not in _LAYOUTS:
            raise ValueError(
                "rotary.nn.Rope: layout must be 'half', 'interleaved' or "
                f"'deinterleave', got {layout!r}"
            )
        # The kernels take both as f32 attributes: check them as f32.
        scale_base32 = _f32(xpos_scale_base)
        gamma32 = _f32(xpos_gamma)
        if not (
            math.isfinite(scale_base32)
            and scale_base32 >= 0
            and (scale_base32 > 0) == (xpos_scale_base > 0)
        ):
            raise ValueError(
                "rotary.nn.Rope: xpos_scale_base must be 0 (xPos off) or "
                f"positive and finite in f32, got {_num(xpos_scale_base)}"
            )
        if not (math.isfinite(gamma32) and gamma32 > 0):
            raise ValueError(
                "rotary.nn.Rope: xpos_gamma must be positive and finite in "
                f"f32, got {_num(xpos_gamma)}"
            )
        self.head_dim = head_dim
        self.rotary_dim = r
        self.layout = layout
        self._base = float(base)
        self.scales: Tuple[float, ...] = tuple(float(s) for s in (scales or ()))
        self.learnable_freq = bool(learnable_freq)
        self.learnable_phase = bool(learnable_phase)
        self.learnable_scale = bool(learnable_scale)
        self.xpos_scale_base = float(xpos_scale_base)
        self.xpos_gamma = float(xpos_gamma)
        self.reference = bool(reference)

        freqs = rope_frequencies(r, self._base, self.scales)  # checks the base
        if self.learnable_freq:
            self.inv_freq = torch.nn.Parameter(freqs)
        elif self.scales:
            self.register_buffer("inv_freq", freqs)
        else:
            # The kernel computes base^(-2i/r) from a run-time base operand.
            self.register_buffer("inv_freq", None)
        if self.learnable_phase:
            self.phase = torch.nn.Parameter(torch.zeros(r // 2))
        else:
            self.register_parameter("phase", None)
        if self.learnable_scale:
            self.scale = torch.nn.Parameter(torch.ones(()))
        else:
            self.register_parameter("scale", None)

    @property
    def base(self) -> float:
        """The current base (see :meth:`set_base`)."""
        return self._base

    @property
    def xpos(self) -> bool:
        """Whether xPos is on (``xpos_scale_base > 0``)."""
        return self.xpos_scale_base > 0

    def extra_repr(self) -> str:
        parts = [f"head_dim={self.head_dim}"]
        if self.rotary_dim != self.head_dim:
            parts.append(f"rotary_dim={self.rotary_dim}")
        parts.append(f"layout={self.layout!r}, base={_num(self._base)}")
        if self.scales:
            parts.append(f"scales={list(self.scales)}")
        for name in ("learnable_freq", "learnable_phase", "learnable_scale"):
            if getattr(self, name):
                parts.append(f"{name}=True")
        if self.xpos:
            parts.append(
                f"xpos_scale_base={_num(self.xpos_scale_base)}, "
                f"xpos_gamma={_num(self.xpos_gamma)}"
            )
        if self.reference:
            parts.append("reference=True")
        return ", ".join(parts)

    def set_base(self, base: float) -> None:
        """Changes the base (> 0, finite) for the next forward; no recompile.

        The compiled kernel takes the base as a run-time operand; a
        multi-scale set is a buffer, refreshed in place. With learnable
        frequencies the base only initialised them, so this is an error.
        """
        if self.learnable_freq:
            raise RuntimeError(
                "rotary.nn.Rope: set_base with learnable frequencies (the "
                "base only initialised them)"
            )
        base = float(base)
        if not (base > 0 and math.isfinite(base)):
            raise ValueError(
                f"rotary.nn.Rope: base must be positive and finite, got {_num(base)}"
            )
        self._base = base
        if self.inv_freq is not None:
            with torch.no_grad():
                self.inv_freq.copy_(rope_frequencies(self.rotary_dim, base, self.scales))

    def _positions(self, arg: str, x: Tensor, positions: Union[int, Tensor]) -> Tensor:
        """`positions` as a tensor: an int offset becomes offset + arange(T)."""
        if isinstance(positions, Tensor):
            return positions
        try:
            if isinstance(positions, bool):
                raise TypeError
            offset = operator.index(positions)  # int, numpy integers, ...
        except TypeError:
            raise TypeError(
                "rotary.nn.Rope: positions must be an int offset or an int64 "
                f"tensor, got {type(positions).__name__}"
            ) from None
        _check_data("Rope", arg, x, self.reference)
        if x.dim() != 4:
            raise ValueError(
                f"rotary.nn.Rope: {arg} must be [B, T, H, D], got {_shape(x)}"
            )
        return torch.arange(
            offset, offset + x.size(1), dtype=torch.int64, device=x.device
        )

    def _check_inputs(self, arg: str, x: Tensor, positions: Tensor) -> None:
        _check_data("Rope", arg, x, self.reference)
        check_tensor("Rope", arg, x, ["B", "T", "H", "D"], [-1, -1, -1, self.head_dim])
        if positions.dtype != torch.int64:
            raise TypeError(
                "rotary.nn.Rope: positions must be int64, got "
                f"{_dtype_name(positions.dtype)}"
            )
        if positions.dim() == 1:
            check_tensor("Rope", "positions", positions, ["T"], [x.size(1)])
        else:
            check_tensor(
                "Rope", "positions", positions, ["B", "T"], [x.size(0), x.size(1)]
            )

    def forward(self, x: Tensor, positions: Union[int, Tensor] = 0) -> Tensor:
        """Rotates x [B, T, H, D] at `positions` (an int offset, or int64
        [T] or [B, T]); returns [B, T, H, D] in x's dtype.

        With xPos queries and keys are scaled differently: use
        :meth:`forward_qk`.
        """
        if self.xpos:
            raise RuntimeError(
                "rotary.nn.Rope: with xPos (xpos_scale_base > 0) queries and "
                "keys are scaled differently; call forward_qk(q, k, positions) "
                "instead of forward(x, positions)"
            )
        positions = self._positions("x", x, positions)
        self._check_inputs("x", x, positions)
        return self._rotate(x, positions, "none")

    def forward_qk(
        self, q: Tensor, k: Tensor, positions: Union[int, Tensor] = 0
    ) -> Tuple[Tensor, Tensor]:
        """Rotates q as queries and k as keys (both [B, T, H, D] with the
        same B and T; k may have other H and dtype); positions as in
        :meth:`forward`. Without xPos this equals two forward calls; with
        xPos it is the entry point. Returns (q', k').
        """
        positions = self._positions("q", q, positions)
        self._check_inputs("q", q, positions)
        # k may have other heads (grouped-query attention), not other B or T.
        _check_data("Rope", "k", k, self.reference)
        check_tensor(
            "Rope", "k", k, ["B", "T", "H", "D"], [q.size(0), q.size(1), -1, self.head_dim]
        )
        on = self.xpos
        yq = self._rotate(q, positions, "query" if on else "none")
        yk = self._rotate(k, positions, "key" if on else "none")
        return yq, yk

    def _rotate(self, x: Tensor, positions: Tensor, role: str) -> Tensor:
        if self.reference:
            return self._reference(x, positions, role)
        config = dict(
            head_dim=self.head_dim,
            rotary_dim=-1 if self.rotary_dim == self.head_dim else self.rotary_dim,
            layout=self.layout,
            dtype=data_dtype("Rope", "x", x),
            positions_rank=positions.dim(),
            inv_freq=self.inv_freq is not None,
            phase=self.phase is not None,
            scale=self.scale is not None,
            xpos=role,
        )
        if role != "none":
            config.update(
                xpos_scale_base=self.xpos_scale_base, xpos_gamma=self.xpos_gamma
            )
        bundle = compiled("rope", x.device, **config)
        # The kernels take the parameters as f32 whatever the module's dtype
        # (.float() is differentiable and free for f32 tensors).
        inputs = [
            x,
            positions,
            self.inv_freq.float()
            if self.inv_freq is not None
            else torch.full((), self._base, dtype=torch.float32, device=x.device),
        ]
        if self.phase is not None:
            inputs.append(self.phase.float())
        if self.scale is not None:
            inputs.append(self.scale.float())
        return run(bundle, "rope", inputs)[0]

    def _reference(self, x: Tensor, positions: Tensor, role: str) -> Tensor:
        B, T, H, D = x.shape
        r = self.rotary_dim
        half = r // 2
        # Without an inv_freq tensor the kernel forms base^(-2i/r) in f64
        # (its angle table is f64): so does this path, so that both agree at
        # any position.
        f = (
            self.inv_freq
            if self.inv_freq is not None
            else _frequencies64(r, self._base, self.scales)
        )
        theta = rope_angles(positions, f, self.phase, self.scale).unsqueeze(2)
        c, s = torch.cos(theta), torch.sin(theta)
        if role != "none":
            # xPos: the pair's scale commutes with its rotation; fold it into
            # the table like the kernels do.
            zeta = xpos_scale(
                positions,
                r,
                self.xpos_scale_base,
                self.xpos_gamma,
                1.0 if role == "query" else -1.0,
            ).unsqueeze(2)
            c = c * zeta
            s = s * zeta
        cdt = _compute_dtype(x)
        c, s = c.to(cdt), s.to(cdt)
        xf = x.to(cdt)
        rotated = xf[..., :r]
        if self.layout != "half":
            pairs = rotated.reshape(B, T, H, half, 2)
            a, b = pairs[..., 0], pairs[..., 1]
        else:
            a, b = rotated[..., :half], rotated[..., half:]
        ya, yb = a * c - b * s, a * s + b * c
        if self.layout == "interleaved":
            y = torch.stack([ya, yb], -1).reshape(B, T, H, r)
        else:
            y = torch.cat([ya, yb], -1)
        return torch.cat([y, xf[..., r:]], -1).to(x.dtype)
