"""rotary.nn.Rope against the conventions users switch from.

Each reference below is written here, independently of the module, in f64:
Hugging Face Transformers' Llama/NeoX ``rotate_half`` form (position ids
[B, T], KV-cache offsets, packed sequences, partial rotary as GPT-NeoX's
rotary_pct), flash-attn's interleaved (GPT-J) form with its int
``seqlen_offsets``, a complex-number form of the learnable and xPos
variants (Meta's Llama ``view_as_complex`` for interleaved pairs), and
torchscale's xPos scale. The compiled path must give the same numbers to
f32 tolerance.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy
import pytest
import torch
from torch.nn.utils.stateless import functional_call

from rotary.nn import Rope, rope_frequencies

F64 = torch.float64




def close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> None:
    """Compares in f64 (the dtypes may differ)."""
    torch.testing.assert_close(
        actual.detach().to(F64), expected.detach().to(F64), rtol=rtol, atol=atol
    )


# --- Hugging Face Transformers (Llama, GPT-NeoX) ---------------------------


def hf_rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def hf_rope(
    x: torch.Tensor, position_ids: torch.Tensor, base: float, rotary_dim: int
) -> torch.Tensor:
    """LlamaRotaryEmbedding + apply_rotary_pos_emb, with GPT-NeoX's partial
    rotary (the first rotary_dim features rotate), in f64. x [B, T, H, D]
    (transposed to Transformers' [B, H, T, D] and back); position_ids
    [B, T]."""
    q = x.to(F64).transpose(1, 2)
    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=F64) / rotary_dim))
    freqs = position_ids.to(F64)[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)
    q_rot, q_pass = q[..., :rotary_dim], q[..., rotary_dim:]
    q_embed = q_rot * cos + hf_rotate_half(q_rot) * sin
    return torch.cat((q_embed, q_pass), dim=-1).transpose(1, 2)


def packed_positions(B: int, T: int) -> torch.Tensor:
    """Position ids of rows holding several sequences (restarting at 0)."""
    rows = []
    for _ in range(B):
        cuts = sorted(torch.randint(1, T, (2,)).tolist()) if T > 2 else []
        bounds = [0] + cuts + [T]
        rows.append(torch.cat([torch.arange(b - a) for a, b in zip(bounds, bounds[1:])]))
    return torch.stack(rows).to(torch.int64)


@pytest.mark.parametrize("D,r", [(8, None), (7, 4)])
@pytest.mark.parametrize("B,T,H", [(1, 1, 1), (2, 5, 3), (3, 6, 2)])
def test_matches_transformers_rotate_half(
    D: int, r: Optional[int], B: int, T: int, H: int
) -> None:
    rd = D if r is None else r
    rope = Rope(D, rotary_dim=r, base=10000.0)
    x = torch.randn(B, T, H, D)
    past = torch.randint(0, 50, (B, 1))
    cases = {
        "kv cache": past + torch.arange(T),
        "packed": packed_positions(B, T),
        "random ids": torch.randint(0, 200, (B, T)),
    }
    for name, pos in cases.items():
        y = rope(x, pos)
        assert y.dtype == torch.float32 and y.shape == x.shape
        close(y, hf_rope(x, pos, 10000.0, rd), 1e-5, 1e-5)
        # Features r..D-1 are copied.
        assert torch.equal(y[..., rd:], x[..., rd:]), name


def test_far_positions_keep_f32_accuracy() -> None:
    # The angle table is built in f64 (docs/Math.md §1): at p ~ 1e6 an f32
    # angle would be ~0.06 rad off. Explicit f32 frequencies make the exact
    # angles known.
    rope = Rope(8, learnable_freq=True)
    x = torch.randn(2, 4, 1, 8)
    pos = torch.randint(900000, 1000000, (2, 4))
    theta = pos.to(F64)[..., None] * rope.inv_freq.detach().to(F64)
    close(rope(x, pos), complex_rope(x.to(F64), theta, "half", 8), 1e-5, 1e-5)
    # From a base, f_i = base^(-2i/r) itself (not rounded to f32) on both
    # paths, as Transformers' formula in f64.
    for module in (Rope(8), Rope(8, reference=True)):
        close(module(x, pos), hf_rope(x, pos, 10000.0, 8), 1e-5, 1e-5)


def test_int_offset_is_kv_cache_positions() -> None:
    rope = Rope(8)
    x = torch.randn(2, 4, 3, 8)
    for past in (0, 13):
        pos = torch.full((2, 1), past) + torch.arange(4)
        close(rope(x, past), hf_rope(x, pos, 10000.0, 8), 1e-5, 1e-5)
        close(rope(x, torch.arange(past, past + 4)), hf_rope(x, pos, 10000.0, 8), 1e-5, 1e-5)
    assert torch.equal(rope(x, numpy.int64(13)), rope(x, 13))


def test_transformers_gradient() -> None:
    rope = Rope(7, rotary_dim=4)
    x = torch.randn(2, 5, 3, 7, requires_grad=True)
    pos = packed_positions(2, 5)
    dy = torch.randn(2, 5, 3, 7)
    (rope(x, pos) * dy).sum().backward()
    x64 = x.detach().to(F64).requires_grad_(True)
    (hf_rope(x64, pos, 10000.0, 4) * dy.to(F64)).sum().backward()
    close(x.grad, x64.grad, 1e-5, 1e-5)


# --- flash-attn (interleaved = GPT-J) --------------------------------------


def fa_rotate_half(x: torch.Tensor, interleaved: bool) -> torch.Tensor:
    if not interleaved:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def fa_cos_sin(seqlen: int, rotary_dim: int, base: float):
    """flash-attn RotaryEmbedding's cos/sin cache [seqlen, r/2], in f64."""
    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=F64) / rotary_dim))
    freqs = torch.outer(torch.arange(seqlen, dtype=F64), inv_freq)
    return torch.cos(freqs), torch.sin(freqs)


def fa_apply_rotary_emb(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    seqlen_offsets: int,
    interleaved: bool,
) -> torch.Tensor:
    """flash-attn's apply_rotary_emb_torch on x [B, T, H, D] with an int
    seqlen_offsets (rows of the cache from the offset on)."""
    T = x.shape[1]
    cos = cos[seqlen_offsets : seqlen_offsets + T]
    sin = sin[seqlen_offsets : seqlen_offsets + T]
    ro_dim = cos.shape[-1] * 2
    if interleaved:  # "... d -> ... 1 (d 2)"
        cos, sin = cos.repeat_interleave(2, -1), sin.repeat_interleave(2, -1)
    else:  # "... d -> ... 1 (2 d)"
        cos, sin = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
    cos, sin = cos[:, None, :], sin[:, None, :]
    x = x.to(F64)
    rot = x[..., :ro_dim] * cos + fa_rotate_half(x[..., :ro_dim], interleaved) * sin
    return torch.cat([rot, x[..., ro_dim:]], dim=-1)


@pytest.mark.parametrize("B,T,H", [(1, 1, 1), (2, 6, 3)])
@pytest.mark.parametrize("offset", [0, 9])
def test_matches_flash_attn_interleaved(B: int, T: int, H: int, offset: int) -> None:
    D, r, base = 9, 6, 500.0
    rope = Rope(D, rotary_dim=r, layout="interleaved", base=base)
    cos, sin = fa_cos_sin(64, r, base)
    x = torch.randn(B, T, H, D, requires_grad=True)
    y = rope(x, offset)
    expected = fa_apply_rotary_emb(x.detach(), cos, sin, offset, interleaved=True)
    close(y, expected, 1e-5, 1e-5)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    x64 = x.detach().to(F64).requires_grad_(True)
    (fa_apply_rotary_emb(x64, cos, sin, offset, True) * dy.to(F64)).sum().backward()
    close(x.grad, x64.grad, 1e-5, 1e-5)


def test_flash_attn_per_row_offsets() -> None:
    # flash-attn's tensor seqlen_offsets [B] are position ids [B, T].
    rope = Rope(8, layout="interleaved")
    cos, sin = fa_cos_sin(64, 8, 10000.0)
    x = torch.randn(3, 5, 2, 8)
    offsets = [0, 4, 31]
    pos = torch.tensor(offsets)[:, None] + torch.arange(5)
    y = rope(x, pos)
    for b, off in enumerate(offsets):
        close(y[b : b + 1], fa_apply_rotary_emb(x[b : b + 1], cos, sin, off, True), 1e-5, 1e-5)


# --- the learnable and xPos forms, as complex numbers ----------------------


def complex_rope(
    x: torch.Tensor,
    theta: torch.Tensor,
    layout: str,
    r: int,
    s: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Pair i as the complex number a + ib times s·e^{iθ}; x [B, T, H, D],
    theta and s [B or 1, T, r/2]. Interleaved pairs are Meta's Llama
    view_as_complex form; half pairs are (i, i + r/2); deinterleave reads
    interleaved pairs and writes half ones."""
    B, T, H, D = x.shape
    h = r // 2
    rot = torch.complex(torch.cos(theta), torch.sin(theta))
    if s is not None:
        rot = rot * s
    rot = rot[:, :, None, :]
    if layout == "half":
        z = torch.complex(x[..., :h], x[..., h:r])
    else:
        z = torch.view_as_complex(x[..., :r].reshape(B, T, H, h, 2).contiguous())
    w = z * rot
    if layout == "interleaved":
        y = torch.view_as_real(w).flatten(-2)
    else:
        y = torch.cat([w.real, w.imag], -1)
    return torch.cat([y, x[..., r:]], -1)


def learnable_rope(r: int, layout: str, D: int) -> Rope:
    rope = Rope(D, rotary_dim=r, layout=layout, learnable_freq=True,
                learnable_phase=True, learnable_scale=True)
    with torch.no_grad():
        rope.inv_freq.mul_(torch.empty_like(rope.inv_freq).uniform_(0.5, 1.5))
        rope.phase.uniform_(-1, 1)
        rope.scale.fill_(0.75)
    return rope


@pytest.mark.parametrize("layout", ["half", "interleaved"])
def test_learnable_gradients(layout: str) -> None:
    D, r = 8, 8
    rope = learnable_rope(r, layout, D)
    ref_path = Rope(D, layout=layout, learnable_freq=True, learnable_phase=True,
                    learnable_scale=True, reference=True)
    ref_path.load_state_dict(rope.state_dict())
    B, T, H = 2, 5, 3
    x = torch.randn(B, T, H, D)
    pos = torch.randint(0, 300, (B, T))
    dy = torch.randn(B, T, H, D)

    f = rope.inv_freq.detach().to(F64).requires_grad_(True)
    ph = rope.phase.detach().to(F64).requires_grad_(True)
    sc = rope.scale.detach().to(F64).requires_grad_(True)
    x64 = x.to(F64).requires_grad_(True)
    theta = sc * pos.to(F64)[..., None] * f + ph
    y64 = complex_rope(x64, theta, layout, r)
    (y64 * dy.to(F64)).sum().backward()

    for module in (rope, ref_path):
        xg = x.clone().requires_grad_(True)
        y = module(xg, pos)
        (y * dy).sum().backward()
        close(y, y64, 1e-5, 1e-5)
        close(xg.grad, x64.grad, 1e-5, 1e-5)
        # Parameter gradients sum B·T·H products of positions up to 300.
        close(module.inv_freq.grad, f.grad, 1e-4, 1e-4 * B * T * H * 300)
        close(module.phase.grad, ph.grad, 1e-4, 1e-5 * B * T * H)
        close(module.scale.grad, sc.grad, 1e-4, 1e-4 * B * T * H * 300)


def test_deinterleave_layout() -> None:
    rope = Rope(8, layout="deinterleave")
    x = torch.randn(2, 3, 2, 8)
    theta = torch.arange(4, 7, dtype=F64)[None, :, None] * rope_frequencies(8, 10000.0).to(F64)
    close(rope(x, 4), complex_rope(x.to(F64), theta, "deinterleave", 8), 1e-5, 1e-5)


def torchscale_xpos(
    positions: torch.Tensor, r: int, scale_base: float, gamma: float, key: bool
) -> torch.Tensor:
    """torchscale's XPOS scale [1, T, r/2]: ((2i + γr)/((1 + γ)r))^(±n/scale_base)."""
    zeta = (torch.arange(0, r, 2, dtype=F64) + gamma * r) / ((1 + gamma) * r)
    power = positions.to(F64)[:, None] / scale_base
    if key:
        power = -power
    return (zeta[None, :] ** power)[None]


def test_xpos_forward_qk() -> None:
    D, scale_base, gamma = 8, 64.0, 0.3
    rope = Rope(D, xpos_scale_base=scale_base, xpos_gamma=gamma)
    ref_path = Rope(D, xpos_scale_base=scale_base, xpos_gamma=gamma, reference=True)
    q = torch.randn(2, 5, 3, D, requires_grad=True)
    k = torch.randn(2, 5, 1, D, requires_grad=True)  # grouped-query: other H
    pos = torch.arange(20, 25)
    theta = pos.to(F64)[None, :, None] * rope_frequencies(D, 10000.0).to(F64)
    q64 = q.detach().to(F64).requires_grad_(True)
    k64 = k.detach().to(F64).requires_grad_(True)
    yq64 = complex_rope(q64, theta, "half", D, torchscale_xpos(pos, D, scale_base, gamma, False))
    yk64 = complex_rope(k64, theta, "half", D, torchscale_xpos(pos, D, scale_base, gamma, True))
    dq, dk = torch.randn_like(q), torch.randn_like(k)
    ((yq64 * dq.to(F64)).sum() + (yk64 * dk.to(F64)).sum()).backward()
    for module in (rope, ref_path):
        qg = q.detach().clone().requires_grad_(True)
        kg = k.detach().clone().requires_grad_(True)
        yq, yk = module.forward_qk(qg, kg, pos)
        ((yq * dq).sum() + (yk * dk).sum()).backward()
        close(yq, yq64, 1e-5, 1e-5)
        close(yk, yk64, 1e-5, 1e-5)
        close(qg.grad, q64.grad, 1e-5, 1e-5)
        close(kg.grad, k64.grad, 1e-5, 1e-5)


def test_xpos_scores_depend_on_distance_only() -> None:
    rope = Rope(8, xpos_scale_base=32.0)
    q, k = torch.randn(1, 4, 1, 8), torch.randn(1, 4, 1, 8)
    scores = []
    for offset in (0, 7):
        yq, yk = rope.forward_qk(q, k, offset)
        scores.append(torch.einsum("bthd,bshd->bts", yq, yk))
    close(scores[1], scores[0], 1e-4, 1e-4)


def test_without_xpos_forward_qk_is_two_forwards() -> None:
    rope = Rope(8)
    q, k = torch.randn(2, 3, 2, 8), torch.randn(2, 3, 4, 8)
    yq, yk = rope.forward_qk(q, k, 5)
    assert torch.equal(yq, rope(q, 5)) and torch.equal(yk, rope(k, 5))


# --- dtypes, gradcheck, state, optimizers ----------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(dtype: torch.dtype) -> None:
    rope, ref_path = Rope(8), Rope(8, reference=True)
    x = torch.randn(2, 5, 3, 8).to(dtype)
    dy = torch.randn(2, 5, 3, 8).to(dtype)
    outs = []
    for module in (rope, ref_path):
        xg = x.clone().requires_grad_(True)
        y = module(xg, 3)
        y.backward(dy)
        assert y.dtype == dtype and xg.grad.dtype == dtype
        outs.append((y, xg.grad))
    tol = 1e-2 if dtype == torch.float16 else 4e-2
    close(outs[0][0], outs[1][0], tol, tol)
    close(outs[0][1], outs[1][1], tol, tol)
    pos = torch.arange(3, 8)[None].expand(2, 5)
    close(outs[0][0], hf_rope(x, pos, 10000.0, 8), tol, tol)


@pytest.mark.parametrize("layout", ["half", "interleaved", "deinterleave"])
def test_gradcheck_reference_path(layout: str) -> None:
    rope = Rope(6, rotary_dim=4, layout=layout, learnable_freq=True, learnable_phase=True,
                learnable_scale=True, reference=True).double()
    x = torch.randn(2, 3, 1, 6, dtype=F64, requires_grad=True)
    pos = torch.randint(0, 20, (2, 3))
    params = {n: p.detach().clone().requires_grad_(True) for n, p in rope.named_parameters()}
    names = list(params)

    def fn(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        return functional_call(rope, dict(zip(names, ps)), (x, pos))

    assert torch.autograd.gradcheck(fn, (x, *params.values()))


class _QK(torch.nn.Module):
    """forward_qk as a forward, for functional_call."""

    def __init__(self, rope: Rope) -> None:
        super().__init__()
        self.rope = rope

    def forward(self, q: torch.Tensor, k: torch.Tensor):
        return self.rope.forward_qk(q, k, 2)


def test_gradcheck_reference_xpos() -> None:
    qk = _QK(Rope(4, xpos_scale_base=16.0, learnable_phase=True, reference=True).double())
    q = torch.randn(1, 3, 2, 4, dtype=F64, requires_grad=True)
    k = torch.randn(1, 3, 1, 4, dtype=F64, requires_grad=True)
    phase = torch.randn(2, dtype=F64, requires_grad=True)

    def fn(q: torch.Tensor, k: torch.Tensor, phase: torch.Tensor):
        return functional_call(qk, {"rope.phase": phase}, (q, k))

    assert torch.autograd.gradcheck(fn, (q, k, phase))


def test_double_reference_path() -> None:
    rope = learnable_rope(8, "half", 8)
    rope.reference = True
    rope.double()
    assert rope.inv_freq.dtype == F64
    x = torch.randn(1, 4, 2, 8, dtype=F64)
    pos = torch.arange(4)
    y = rope(x, pos)
    assert y.dtype == F64
    p = pos.to(F64)[None, :, None]
    theta = rope.scale.detach() * p * rope.inv_freq.detach() + rope.phase.detach()
    close(y, complex_rope(x, theta, "half", 8), 1e-12, 1e-12)


def test_state_dict_round_trip() -> None:
    a = learnable_rope(8, "half", 8)
    assert set(a.state_dict()) == {"inv_freq", "phase", "scale"}
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = Rope(8, learnable_freq=True, learnable_phase=True, learnable_scale=True)
    b.load_state_dict(torch.load(buf))
    x, pos = torch.randn(2, 3, 2, 8), torch.randint(0, 99, (2, 3))
    assert torch.equal(a(x, pos), b(x, pos))
    # A multi-scale set is a buffer; a plain rope has no state.
    assert set(Rope(8, scales=[1.0, 4.0]).state_dict()) == {"inv_freq"}
    assert len(Rope(8).state_dict()) == 0
    assert len(list(Rope(8, scales=[1.0, 4.0]).parameters())) == 0


def test_optimizer_step_changes_inv_freq() -> None:
    rope = learnable_rope(8, "half", 8)
    opt = torch.optim.SGD(rope.parameters(), lr=0.1)
    before = rope.inv_freq.detach().clone()
    x = torch.randn(2, 3, 2, 8)
    pos = torch.randint(0, 10, (2, 3))
    (rope(x, pos) * torch.randn(2, 3, 2, 8)).sum().backward()
    grad = rope.inv_freq.grad.clone()
    assert grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(rope.inv_freq.detach(), before)
    close(rope.inv_freq, before - 0.1 * grad, 1e-6, 1e-7)


def test_frequencies_and_set_base() -> None:
    r, base, scales = 8, 1000.0, [1.0, 4.0]
    i = torch.arange(4, dtype=F64)
    group_base = torch.tensor([base, base, 4 * base, 4 * base], dtype=F64)
    expected = group_base ** (-2 * i / r)
    close(rope_frequencies(r, base, scales), expected, 1e-6, 0)
    assert rope_frequencies(r, base).dtype == torch.float32
    close(rope_frequencies(r, base), base ** (-2 * i / r), 1e-6, 0)

    plain = Rope(8)
    multi = Rope(8, scales=scales)
    x = torch.randn(2, 3, 2, 8)
    pos = torch.arange(5, 8)[None].expand(2, 3).contiguous()
    for b in (750.0, 123456.0):
        plain.set_base(b)
        multi.set_base(b)
        assert plain.base == b == multi.base
        close(plain(x, 5), hf_rope(x, pos, b, 8), 1e-5, 1e-5)
        close(multi.inv_freq, rope_frequencies(8, b, scales), 0, 0)
        theta = pos[:1].to(F64)[..., None] * rope_frequencies(8, b, scales).to(F64)
        close(multi(x, 5), complex_rope(x.to(F64), theta, "half", 8), 1e-5, 1e-5)


# --- bad input ---------------------------------------------------------------


def test_bad_input() -> None:
    rope = Rope(8)
    x = torch.randn(2, 3, 2, 8)
    with pytest.raises(TypeError, match="Rope: x must be float32, float16 or bfloat16"):
        rope(x.double())
    with pytest.raises(ValueError,
                       match=r"Rope: x must be \[B, T, H, D\] with D = 8, got \[2, 3, 2, 6\]"):
        rope(torch.randn(2, 3, 2, 6))
    with pytest.raises(ValueError, match=r"Rope: x must be \[B, T, H, D\], got \[3, 2, 8\]"):
        rope(torch.randn(3, 2, 8))
    with pytest.raises(ValueError, match="x must be contiguous"):
        rope(torch.randn(2, 2, 3, 8).transpose(1, 2))
    with pytest.raises(ValueError, match="x is on meta"):
        rope(torch.empty(2, 3, 2, 8, device="meta"))
    with pytest.raises(TypeError, match="positions must be int64, got Int"):
        rope(x, torch.arange(3, dtype=torch.int32))
    with pytest.raises(TypeError, match="positions must be an int offset or an int64 tensor"):
        rope(x, 1.5)
    with pytest.raises(TypeError, match="an int offset or an int64 tensor, got bool"):
        rope(x, True)
    with pytest.raises(ValueError, match=r"positions must be \[T\] with T = 3, got \[4\]"):
        rope(x, torch.arange(4))
    with pytest.raises(ValueError,
                       match=r"positions must be \[B, T\] with B = 2, T = 3, got \[1, 3\]"):
        rope(x, torch.zeros(1, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"k must be \[B, T, H, D\] with B = 2, T = 3, D = 8"):
        rope.forward_qk(x, torch.randn(2, 4, 2, 8))
    with pytest.raises(ValueError,
                       match=r"rotary_dim must be even and in \(0, head_dim = 8\], got 5"):
        Rope(8, rotary_dim=5)
    with pytest.raises(ValueError, match="rotary_dim must be even"):
        Rope(8, rotary_dim=10)
    with pytest.raises(ValueError, match="layout must be 'half', 'interleaved' or 'deinterleave'"):
        Rope(8, layout="neox")
    with pytest.raises(ValueError, match="base must be positive and finite, got -1"):
        Rope(8, base=-1.0)
    with pytest.raises(ValueError, match="the 3 scales must divide rotary_dim/2 = 4"):
        Rope(8, scales=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="xpos_gamma must be positive"):
        Rope(8, xpos_scale_base=8.0, xpos_gamma=0.0)
    with pytest.raises(ValueError, match="xpos_scale_base must be 0 \\(xPos off\\) or positive"):
        Rope(8, xpos_scale_base=1e60)
    with pytest.raises(RuntimeError, match="call forward_qk"):
        Rope(8, xpos_scale_base=8.0)(x)
    with pytest.raises(RuntimeError, match="set_base with learnable frequencies"):
        Rope(8, learnable_freq=True).set_base(100.0)
    with pytest.raises(ValueError, match="base must be positive and finite, got inf"):
        rope.set_base(float("inf"))
    # The reference path takes f64 but checks the rest the same way.
    with pytest.raises(ValueError, match="x is on meta"):
        Rope(8, reference=True)(torch.empty(2, 3, 2, 8, device="meta"))
