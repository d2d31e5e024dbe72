"""Tests of rotary.nn.AdaptiveAttention against an f64 reference written here.

The reference follows docs/Math.md section 6 pair by pair: query i at
position p = i + S - T sees key j by the pattern (window, global tokens,
causal), scores scale·q·k plus the relative bias table, softmax weights
times the span mask, renormalised. The compiled kernels (f32) and the
module's reference=True path must match it forward and backward: q, k, v,
the bias table and the span. Tolerances (f32 against f64): the output
|a - b| <= 1e-4·|b| + 1e-5; gradients, some of which sum over every row,
1e-5·max(1, max|b|) as the absolute part.
"""

from __future__ import annotations

import copy
import math
from typing import Dict, Optional

import pytest
import torch

from helpers import assert_close
import rotary.nn
from rotary.nn.attention import AdaptiveAttention, _reference_attention

RAMP = 3.0


def reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    window: int = -1,
    global_tokens: int = 0,
    scale: float = 0.0,
    bias: Optional[torch.Tensor] = None,
    span: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """o [B, H, T, D] of docs/Math.md section 6, one (i, j) pair at a time
    for the pattern, the bias and the span mask (f64 autograd)."""
    b, h, t, d = q.shape
    s_len = k.shape[2]
    scale = scale or 1 / math.sqrt(d)
    scores = scale * torch.einsum("bhid,bhjd->bhij", q, k)
    visible = torch.zeros(t, s_len, dtype=torch.bool)
    bias_rows, mask_rows = [], []
    for i in range(t):
        p = i + s_len - t
        bias_row, mask_row = [], []
        for j in range(s_len):
            near = window < 0 or j >= p - window
            visible[i, j] = (near or j < global_tokens or p < global_tokens) and (
                not causal or j <= p
            )
            if bias is not None:
                w = (bias.shape[1] - 1) // 2
                bias_row.append(bias[:, min(max(j - p, -w), w) + w])
            if span is not None:
                mask_row.append(((span + RAMP - (p - j)) / RAMP).clamp(0, 1))
        if bias is not None:
            bias_rows.append(torch.stack(bias_row, -1))
        if span is not None:
            mask_rows.append(torch.stack(mask_row, -1))
    if bias is not None:
        scores = scores + torch.stack(bias_rows, -2)  # [H, T, S]
    scores = scores.masked_fill(~visible, float("-inf"))
    top = scores.amax(-1, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    weights = torch.exp(scores - top)
    if span is not None:
        weights = weights * torch.stack(mask_rows, -2)
    total = weights.sum(-1, keepdim=True)
    weights = weights / torch.where(total > 0, total, torch.ones_like(total))
    return weights @ v


def f64_leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().double().requires_grad_(True)


def make_module(h: int, d: int, **options) -> AdaptiveAttention:
    m = AdaptiveAttention(h, d, span_init=2.5, span_ramp=RAMP, **options)
    # Away from their initial values, so that every parameter matters.
    with torch.no_grad():
        if m.bias_table is not None:
            m.bias_table.normal_()
        if m.span is not None:
            m.span.uniform_(0.5, 4.0)
    return m


def reference_copy(m: AdaptiveAttention) -> AdaptiveAttention:
    ref = copy.deepcopy(m)
    ref.reference = True
    return ref


# Module options, then the (B, T, S) shapes it runs. Each options dict with
# its (H, D) is one compiled kernel (the slowest to compile); B, T and S are
# dynamic.
ALL_OPTIONS = dict(
    causal=True, window=3, global_tokens=1, relative_bias_radius=2, adaptive_span=True
)
CONFIGS = [
    ("full", 1, 4, {}, [(1, 1, 1), (2, 5, 5), (1, 3, 7)]),
    # A window narrower than the global tokens: later queries see global
    # keys that their window hides.
    (
        "window global",
        2,
        6,
        dict(window=1, global_tokens=3),
        [(2, 7, 7), (1, 1, 5), (1, 9, 9)],
    ),
    (
        "causal window global bias span",
        2,
        8,
        ALL_OPTIONS,
        [(2, 6, 6), (1, 3, 8), (1, 1, 1), (1, 9, 9)],
    ),
    (
        "bias span scale",
        3,
        5,
        dict(relative_bias_radius=1, adaptive_span=True, scale=0.3),
        [(1, 6, 9), (2, 5, 5)],
    ),
]


def run_module(m: AdaptiveAttention, qkv, dout):
    m.zero_grad(set_to_none=True)
    ins = [t.clone().requires_grad_(True) for t in qkv]
    o = m(*ins)
    (o.double() * dout.double()).sum().backward()
    params = {k: p.grad for k, p in m.named_parameters()}
    return o, [t.grad for t in ins], params


def check(m: AdaptiveAttention, b: int, t: int, s: int, options: Dict) -> None:
    h, d = m.heads, m.head_dim
    ref = reference_copy(m)
    qkv = [torch.randn(b, h, t, d), torch.randn(b, h, s, d), torch.randn(b, h, s, d)]
    dout = torch.randn(b, h, t, d)
    got = run_module(m, qkv, dout)
    path = run_module(ref, qkv, dout)

    in64 = [f64_leaf(x) for x in qkv]
    p64 = {k: f64_leaf(p) for k, p in m.named_parameters()}
    o64 = reference(
        *in64,
        causal=options.get("causal", False),
        window=options.get("window", -1),
        global_tokens=options.get("global_tokens", 0),
        scale=options.get("scale", 0.0),
        bias=p64.get("bias_table"),
        span=p64.get("span"),
    )
    (o64 * dout.double()).sum().backward()

    for name, (o, grads, params) in (("compiled", got), ("reference path", path)):
        what = f"B {b} T {t} S {s} ({name})"
        assert o.shape == (b, h, t, d) and o.dtype == torch.float32
        assert_close(o, o64, 1e-4, 1e-5, f"o {what}")
        for g, x, gname in zip(grads, in64, ("dq", "dk", "dv")):
            assert_close(g, x.grad, 1e-4, 1e-5, f"{gname} {what}", True)
        assert set(params) == set(p64)
        for k, g in params.items():
            assert_close(g, p64[k].grad, 1e-4, 1e-5, f"d{k} {what}", True)


def test_exported() -> None:
    assert rotary.nn.AdaptiveAttention is AdaptiveAttention
    for word in ("window", "global_tokens", "span", "bias_table", "causal"):
        assert word in AdaptiveAttention.__doc__


@pytest.mark.parametrize(
    "name,h,d,options,shapes", CONFIGS, ids=[c[0] for c in CONFIGS]
)
def test_forward_backward(name, h, d, options, shapes) -> None:
    m = make_module(h, d, **options)
    for b, t, s in shapes:
        check(m, b, t, s, options)


def test_span_empties_rows() -> None:
    # A span below -ramp masks every key at distance d >= 0: causal rows of
    # that head have no weight left and give 0, with finite gradients.
    options = ALL_OPTIONS
    m = make_module(2, 8, **options)
    with torch.no_grad():
        m.span[0] = -RAMP - 0.5
    check(m, 2, 5, 7, options)
    o = m(torch.randn(1, 2, 4, 8), torch.randn(1, 2, 6, 8), torch.randn(1, 2, 6, 8))
    assert torch.equal(o[:, 0], torch.zeros(1, 4, 8))
    assert o[:, 1].abs().max() > 0


@pytest.mark.parametrize(
    "options",
    [
        dict(causal=True, window=1, global_tokens=1),
        dict(relative_bias_radius=1, adaptive_span=True, scale=0.7),
    ],
)
def test_gradcheck_reference(options: Dict) -> None:
    # The reference path's math in f64 (q, k, v, bias table and span).
    h, d, t, s = 2, 3, 3, 4
    args = [torch.randn(1, h, t, d), torch.randn(1, h, s, d), torch.randn(1, h, s, d)]
    bias = torch.randn(h, 3) if options.get("relative_bias_radius", -1) >= 0 else None
    span = torch.tensor([0.6, 2.3]) if options.get("adaptive_span") else None
    extra = [x for x in (bias, span) if x is not None]
    args = [x.double().requires_grad_(True) for x in args + extra]

    def f(q, k, v, *rest):
        rest = list(rest)
        return _reference_attention(
            q,
            k,
            v,
            rest.pop(0) if bias is not None else None,
            rest.pop(0) if span is not None else None,
            causal=options.get("causal", False),
            window=options.get("window", -1),
            global_tokens=options.get("global_tokens", 0),
            scale=options.get("scale", 1 / math.sqrt(d)),
            span_ramp=RAMP,
        )

    assert torch.autograd.gradcheck(f, tuple(args))


def test_double_module() -> None:
    # .double() parameters: f64 softmax on the reference path; the kernel
    # takes the bias table and span in f32. (ALL_OPTIONS: its kernel again.)
    m = make_module(2, 8, **ALL_OPTIONS).double()
    q, k, v = torch.randn(1, 2, 3, 8), torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    want = reference(
        q.double(),
        k.double(),
        v.double(),
        causal=True,
        window=3,
        global_tokens=1,
        bias=m.bias_table,
        span=m.span,
    )
    for reference_path in (True, False):
        m.reference = reference_path
        o = m(q, k, v)
        assert o.dtype == torch.float32
        assert_close(
            o,
            want,
            1e-6 if reference_path else 1e-4,
            1e-7 if reference_path else 1e-5,
            "o",
        )


def test_parameters_and_state_dict() -> None:
    assert dict(AdaptiveAttention(2, 8).named_parameters()) == {}
    assert AdaptiveAttention(2, 8).bias_table is None
    assert AdaptiveAttention(2, 8).span is None
    # The options of the "bias span scale" configuration: its kernel again.
    options = dict(relative_bias_radius=1, adaptive_span=True, scale=0.3)
    m = AdaptiveAttention(3, 5, span_init=5.0, span_ramp=RAMP, **options)
    assert torch.equal(m.bias_table, torch.zeros(3, 3))
    assert torch.equal(m.span, torch.full((3,), 5.0))
    with torch.no_grad():
        m.bias_table.normal_()
        m.span.uniform_(1, 6)
    state = m.state_dict()
    assert set(state) == {"bias_table", "span"}
    other = AdaptiveAttention(3, 5, span_ramp=RAMP, **options)
    assert not torch.equal(other.span, m.span)
    other.load_state_dict(state)
    q = torch.randn(1, 3, 4, 5)
    assert torch.equal(other(q, q, q), m(q, q, q))
    with pytest.raises(RuntimeError, match="size mismatch"):
        AdaptiveAttention(
            3, 5, relative_bias_radius=2, adaptive_span=True
        ).load_state_dict(state)


def test_optimizer_step() -> None:
    m = make_module(2, 8, **ALL_OPTIONS)
    before = {k: p.detach().clone() for k, p in m.named_parameters()}
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    q, k, v = torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    target = torch.randn(2, 2, 6, 8)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (m(q, k, v) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for k_, p in m.named_parameters():
        assert not torch.equal(p, before[k_]), f"{k_} did not change"
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("reference_path", [False, True])
def test_bad_input(reference_path: bool) -> None:
    m = AdaptiveAttention(2, 8, reference=reference_path)
    q = torch.randn(1, 2, 4, 8)

    def error(kind, message, qq, kk, vv):
        with pytest.raises(kind, match=message):
            m(qq, kk, vv)

    def strided(t):
        return t.transpose(2, 3).contiguous().transpose(2, 3)

    error(
        TypeError,
        r"rotary\.nn\.AdaptiveAttention: q must be float32, float16 or bfloat16, got Double",
        q.double(),
        q,
        q,
    )
    error(TypeError, r"q must be float32, float16 or bfloat16, got Int", q.int(), q, q)
    error(
        TypeError,
        r"k must be float32, float16 or bfloat16, got Double",
        q,
        q.double(),
        q,
    )
    error(
        TypeError, r"v must be float32, float16 or bfloat16, got Long", q, q, q.long()
    )
    error(
        TypeError,
        r"q, k and v must have one dtype, got Float, BFloat16, Float",
        q,
        q.bfloat16(),
        q,
    )
    error(
        ValueError,
        r"q must be \[B, H, T, D\] with H = 2, D = 8, got \[2, 4, 8\]",
        q[0],
        q,
        q,
    )
    error(
        ValueError,
        r"q must be \[B, H, T, D\] with H = 2, D = 8, got \[1, 3, 4, 8\]",
        torch.randn(1, 3, 4, 8),
        q,
        q,
    )
    error(
        ValueError,
        r"k must be \[B, H, S, D\] with B = 1, H = 2, D = 8, got \[2, 2, 4, 8\]",
        q,
        torch.randn(2, 2, 4, 8),
        q,
    )
    error(
        ValueError,
        r"v must be \[B, H, S, D\] with B = 1, H = 2, S = 4, D = 8, got \[1, 2, 5, 8\]",
        q,
        q,
        torch.randn(1, 2, 5, 8),
    )
    error(
        ValueError,
        r"k has S = 3 positions, fewer than q's T = 4",
        q,
        torch.randn(1, 2, 3, 8),
        torch.randn(1, 2, 3, 8),
    )
    error(ValueError, r"q must be contiguous", strided(q), q, q)
    error(ValueError, r"k must be contiguous", q, strided(q), q)
    error(ValueError, r"v must be contiguous", q, q, strided(q))
    meta = torch.empty(1, 2, 4, 8, device="meta")
    error(ValueError,
          r"q is on meta; the compiled kernels run on the CPU or a CUDA GPU",
          meta, q, q)
    error(ValueError, r"v is on meta", q, q, meta)


def test_bad_options() -> None:
    with pytest.raises(
        ValueError,
        match=r"rotary\.nn\.AdaptiveAttention: heads and head_dim must be positive, got 0 and 8",
    ):
        AdaptiveAttention(0, 8)
    for bad in (
        dict(window=-2),
        dict(global_tokens=-1),
        dict(relative_bias_radius=-2),
        dict(scale=-1.0),
    ):
        with pytest.raises(ValueError, match=r"need window >= -1, global_tokens >= 0"):
            AdaptiveAttention(2, 8, **bad)
    with pytest.raises(
        ValueError, match=r"adaptive_span needs span_ramp > 0 and span_init >= 0"
    ):
        AdaptiveAttention(2, 8, adaptive_span=True, span_ramp=0.0)
    with pytest.raises(ValueError, match=r"adaptive_span needs span_ramp > 0"):
        AdaptiveAttention(2, 8, adaptive_span=True, span_init=-1.0)
