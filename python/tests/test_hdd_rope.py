"""Tests of rotary.nn.HDDRoPE against an f64 reference written here.

The reference builds each chunk's rotation G_t from explicit c×c matrices
(a product of Givens matrices, or a Taylor series of the exponential of the
skew-symmetric angle matrix; docs/Math.md section 5), multiplies them along
the sequence, P_t = G_1⋯G_t, and turns chunk m of token t by P_t[m]. The
compiled kernel (f32) and the module's reference=True path must match it
forward and backward: x (or q and k), the activations, and angle_proj's
weight and bias. Tolerances (f32 against f64): |a - b| <= 1e-4·|b| + 1e-5;
the activation and projection gradients, which sum over chunks and tokens,
use 1e-5·max(1, max|b|) as the absolute part; bf16 data 1e-2.
"""

from __future__ import annotations

import copy
from typing import List

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close
import rotary.nn
from rotary.nn.hdd_rope import HDDRoPE, _reference_hdd_rope, so_generator


def plane_pairs(c: int) -> List[tuple]:
    return [(p, q) for p in range(c) for q in range(p + 1, c)]


def generator(a: torch.Tensor, c: int, form: str) -> torch.Tensor:
    """G [..., c, c] from angles [..., c(c-1)/2], from explicit matrices."""
    batch = a.shape[:-1]
    eye = torch.eye(c, dtype=a.dtype).expand(*batch, c, c)
    if form == "givens":
        g = eye
        for k, (p, q) in enumerate(plane_pairs(c)):
            cos, sin = torch.cos(a[..., k]), torch.sin(a[..., k])
            rows = []
            for r in range(c):
                row = []
                for col in range(c):
                    if (r, col) in ((p, p), (q, q)):
                        row.append(cos)
                    elif (r, col) == (q, p):
                        row.append(sin)
                    elif (r, col) == (p, q):
                        row.append(-sin)
                    else:
                        row.append(torch.full_like(cos, float(r == col)))
                rows.append(torch.stack(row, -1))
            g = g @ torch.stack(rows, -2)
        return g
    # exp(A) by its Taylor series (angles of a few radians: 40 terms are
    # far below f64 rounding).
    zero = torch.zeros_like(a[..., 0])
    entries = {}
    for k, (p, q) in enumerate(plane_pairs(c)):
        entries[(p, q)], entries[(q, p)] = a[..., k], -a[..., k]
    skew = torch.stack(
        [
            torch.stack([entries.get((r, s), zero) for s in range(c)], -1)
            for r in range(c)
        ],
        -2,
    )
    total, term = eye, eye
    for n in range(1, 40):
        term = term @ skew / n
        total = total + term
    return total


def reference(x: torch.Tensor, a: torch.Tensor, c: int, form: str) -> torch.Tensor:
    """y[t, m] = (G_1⋯G_t)[m]·x[t, m] for x [B, T, H, D], a [B, T, H, D/c, A]."""
    b, t, h, d = x.shape
    g = generator(a, c, form)
    p = g[:, 0]
    out = []
    for s in range(t):
        if s:
            p = p @ g[:, s]
        chunks = x[:, s].reshape(b, h, d // c, c)
        out.append(torch.einsum("bhmij,bhmj->bhmi", p, chunks).reshape(b, h, d))
    return torch.stack(out, 1)


def f64_leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().double().requires_grad_(True)


def make_module(
    h: int, d: int, c: int, inputs: int, form: str, std: float = 0.5
) -> HDDRoPE:
    m = HDDRoPE(h, d, c, inputs, form=form, angle_init_std=std)
    with torch.no_grad():
        m.angle_proj.bias.normal_(0.0, std)
    return m


def reference_copy(m: HDDRoPE) -> HDDRoPE:
    ref = copy.deepcopy(m)
    ref.reference = True
    return ref


def test_exported() -> None:
    assert rotary.nn.HDDRoPE is HDDRoPE
    for word in ("P_t", "chunk", "form", "angle_proj"):
        assert word in HDDRoPE.__doc__


@pytest.mark.parametrize("form", ["givens", "exp"])
@pytest.mark.parametrize("c", [2, 3, 4, 5])
def test_so_generator(c: int, form: str) -> None:
    a = torch.randn(3, 2, c * (c - 1) // 2, dtype=torch.float64)
    g = so_generator(a, c, form)
    assert g.shape == (3, 2, c, c) and g.dtype == torch.float64
    assert_close(g, generator(a, c, form), 1e-10, 1e-12, "G")
    eye = torch.eye(c, dtype=torch.float64).expand(3, 2, c, c)
    assert_close(g.transpose(-1, -2) @ g, eye, 0, 1e-12, "GᵀG")
    assert_close(torch.linalg.det(g), torch.ones(3, 2), 0, 1e-12, "det G")
    if c == 2:
        # docs/Math.md section 5: givens gives [[cos, -sin], [sin, cos]],
        # exp the transpose.
        cos, sin = torch.cos(a[..., 0]), torch.sin(a[..., 0])
        want = torch.stack(
            [torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2
        )
        assert_close(
            g, want if form == "givens" else want.transpose(-1, -2), 0, 1e-14, "c = 2"
        )


def test_so_generator_bad_input() -> None:
    with pytest.raises(
        ValueError, match=r"form must be 'givens' or 'exp', got 'cayley'"
    ):
        so_generator(torch.zeros(3), 3, "cayley")
    with pytest.raises(
        ValueError, match=r"angles \[\.\.\., c\(c-1\)/2\], got chunk 3 and angles \[4\]"
    ):
        so_generator(torch.zeros(4), 3, "givens")


# B, T, H, D, c, input width, form. Each (H, D, c, form) is one compiled
# kernel; B and T are dynamic.
CASES = [
    (1, 1, 1, 2, 2, 3, "givens"),  # the smallest: B = T = H = 1
    (2, 7, 1, 2, 2, 3, "givens"),
    (2, 6, 2, 6, 2, 4, "exp"),  # D = 6 in chunks of 2
    (1, 1, 2, 6, 2, 4, "exp"),  # T = 1
    (2, 5, 1, 3, 3, 5, "givens"),  # odd D: one chunk of 3
    (1, 6, 2, 6, 3, 4, "exp"),  # D = 6 in chunks of 3
    (2, 9, 3, 8, 4, 5, "givens"),  # the reference model's c = 4
    (1, 70, 1, 4, 4, 3, "exp"),  # T across the backward's checkpoints of P
]


def run_module(
    m: HDDRoPE, xs: List[torch.Tensor], act: torch.Tensor, dys: List[torch.Tensor]
):
    """Outputs and gradients of one forward/backward (forward_qk for two xs)."""
    m.zero_grad(set_to_none=True)
    ins = [x.clone().requires_grad_(True) for x in xs]
    a = act.clone().requires_grad_(True)
    outs = list(m.forward_qk(ins[0], ins[1], a)) if len(ins) == 2 else [m(ins[0], a)]
    loss = sum((o.double() * dy.double()).sum() for o, dy in zip(outs, dys))
    loss.backward()
    return (
        outs,
        [x.grad for x in ins],
        a.grad,
        m.angle_proj.weight.grad,
        m.angle_proj.bias.grad,
    )


def check(b, t, h, d, c, inputs, form, dtype=torch.float32, qk=False, std=0.5) -> None:
    m = make_module(h, d, c, inputs, form, std)
    ref = reference_copy(m)
    n = 2 if qk else 1
    xs = [torch.randn(b, t, h, d).to(dtype) for _ in range(n)]
    dys = [torch.randn(b, t, h, d).to(dtype) for _ in range(n)]
    act = torch.randn(b, t, inputs).to(dtype)
    got = run_module(m, xs, act, dys)
    path = run_module(ref, xs, act, dys)

    w64, b64 = f64_leaf(m.angle_proj.weight), f64_leaf(m.angle_proj.bias)
    act64, x64 = f64_leaf(act), [f64_leaf(x) for x in xs]
    a64 = F.linear(act64, w64, b64).view(b, t, h, d // c, c * (c - 1) // 2)
    y64 = [reference(x, a64, c, form) for x in x64]
    sum((y * dy.double()).sum() for y, dy in zip(y64, dys)).backward()

    low = dtype != torch.float32
    rtol, atol = (1e-2, 1e-2) if low else (1e-4, 1e-5)
    for name, (outs, dxs, dact, dw, db) in (
        ("compiled", got),
        ("reference path", path),
    ):
        for i in range(n):
            assert outs[i].dtype == dtype and outs[i].shape == xs[i].shape
            assert_close(outs[i], y64[i], rtol, atol, f"y{i} ({name})")
            assert_close(dxs[i], x64[i].grad, rtol, atol, f"dx{i} ({name})")
        assert_close(dact, act64.grad, rtol, atol, f"dactivations ({name})", True)
        assert_close(dw, w64.grad, rtol, atol, f"dW ({name})", True)
        assert_close(db, b64.grad, rtol, atol, f"dbias ({name})", True)


@pytest.mark.parametrize("b,t,h,d,c,inputs,form", CASES)
def test_forward_backward(b, t, h, d, c, inputs, form) -> None:
    # Long sequences with smaller increments, so P_t stays a fair test.
    check(b, t, h, d, c, inputs, form, std=0.2 if t > 20 else 0.5)


def test_forward_qk_shares_rotations() -> None:
    # The angle gradient sums the contributions of q and k.
    check(2, 6, 3, 8, 4, 5, "givens", qk=True)
    check(1, 5, 2, 6, 3, 4, "exp", qk=True)

    m = make_module(3, 8, 4, 5, "givens")
    q, k, act = torch.randn(2, 6, 3, 8), torch.randn(2, 6, 3, 8), torch.randn(2, 6, 5)
    q2, k2 = m.forward_qk(q, k, act)
    assert torch.equal(q2, m(q, act)) and torch.equal(k2, m(k, act))
    # P_t turns each chunk: norms are kept, and the score of tokens i < j
    # depends on P_iᵀP_j = G_{i+1}⋯G_j only.
    assert_close(
        q2.view(2, 6, 3, 2, 4).norm(dim=-1),
        q.view(2, 6, 3, 2, 4).norm(dim=-1),
        1e-5,
        1e-5,
        "norms",
    )
    scores = torch.einsum("bthd,bshd->bhts", q2, k2)
    shifted = m.forward_qk(
        q[:, 2:].contiguous(), k[:, 2:].contiguous(), act[:, 2:].contiguous()
    )
    scores2 = torch.einsum("bthd,bshd->bhts", *shifted)
    # Dropping the first two tokens removes G_1, G_2 from every P: scores
    # among the rest do not change.
    assert_close(scores2, scores[:, :, 2:, 2:], 1e-4, 1e-4, "relative scores")


def test_low_precision_data() -> None:
    check(2, 5, 1, 3, 3, 5, "givens", dtype=torch.bfloat16)


def test_angles() -> None:
    m = make_module(2, 6, 3, 4, "exp")
    act = torch.randn(3, 5, 4)
    a = m.angles(act)
    assert a.shape == (3, 5, 2, 2, 3) and a.dtype == torch.float32
    want = act.double() @ m.angle_proj.weight.double().t() + m.angle_proj.bias.double()
    assert_close(a, want.view(3, 5, 2, 2, 3), 1e-5, 1e-6, "angles")
    # bf16 activations are projected in f32.
    assert m.angles(act.bfloat16()).dtype == torch.float32


def test_initialisation() -> None:
    m = HDDRoPE(4, 8, 4, 64, angle_init_std=0.1)
    assert m.angle_proj.weight.shape == (4 * 2 * 6, 64)
    assert torch.equal(m.angle_proj.bias, torch.zeros(48))
    std = m.angle_proj.weight.std().item()
    assert 0.08 < std < 0.12, std
    # angle_init_std = 0: no rotation at all.
    m0 = HDDRoPE(2, 4, 2, 3, angle_init_std=0.0)
    x = torch.randn(2, 3, 2, 4)
    assert_close(m0(x, torch.randn(2, 3, 3)), x, 0, 1e-6, "identity")


@pytest.mark.parametrize("form", ["givens", "exp"])
def test_gradcheck_reference(form: str) -> None:
    # The reference path's math in f64 (x, angles, and the projection).
    b, t, h, d, c, inputs = 1, 3, 1, 6, 3, 2
    x = torch.randn(b, t, h, d, dtype=torch.float64, requires_grad=True)
    act = torch.randn(b, t, inputs, dtype=torch.float64, requires_grad=True)
    w = (0.5 * torch.randn(h * 2 * 3, inputs, dtype=torch.float64)).requires_grad_(True)
    bias = torch.randn(h * 2 * 3, dtype=torch.float64, requires_grad=True)

    def f(x, act, w, bias):
        a = F.linear(act, w, bias).view(b, t, h, d // c, 3)
        return _reference_hdd_rope(x, a, c, form)

    assert torch.autograd.gradcheck(f, (x, act, w, bias))


def test_double_module() -> None:
    # .double() parameters: angles in f64 on the reference path; the kernel
    # takes them in f32. (A configuration of CASES: its kernel again.)
    m = make_module(3, 8, 4, 5, "givens").double()
    x, act = torch.randn(2, 4, 3, 8), torch.randn(2, 4, 5)
    a64 = F.linear(act.double(), m.angle_proj.weight, m.angle_proj.bias).view(
        2, 4, 3, 2, 6
    )
    want = reference(x.double(), a64, 4, "givens")
    for reference_path in (True, False):
        m.reference = reference_path
        y = m(x, act)
        assert y.dtype == torch.float32 and m.angles(act).dtype == torch.float64
        assert_close(
            y,
            want,
            1e-6 if reference_path else 1e-4,
            1e-6 if reference_path else 1e-5,
            "y",
        )


def test_state_dict_round_trip() -> None:
    m = make_module(2, 6, 3, 4, "exp")
    state = m.state_dict()
    assert set(state) == {"angle_proj.weight", "angle_proj.bias"}
    assert state["angle_proj.weight"].shape == (2 * 2 * 3, 4)
    other = HDDRoPE(2, 6, 3, 4, form="exp")
    other.load_state_dict(state)
    x, act = torch.randn(2, 5, 2, 6), torch.randn(2, 5, 4)
    assert torch.equal(other(x, act), m(x, act))
    with pytest.raises(RuntimeError, match="size mismatch"):
        HDDRoPE(2, 6, 2, 4).load_state_dict(state)


def test_optimizer_step() -> None:
    m = make_module(3, 8, 4, 5, "givens")
    before = {k: p.detach().clone() for k, p in m.named_parameters()}
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    x, act, target = (
        torch.randn(2, 6, 3, 8),
        torch.randn(2, 6, 5),
        torch.randn(2, 6, 3, 8),
    )
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (m(x, act) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for k, p in m.named_parameters():
        assert not torch.equal(p, before[k]), f"{k} did not change"
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("reference_path", [False, True])
def test_bad_input(reference_path: bool) -> None:
    m = HDDRoPE(2, 8, 4, 6, reference=reference_path)
    x, act = torch.randn(2, 3, 2, 8), torch.randn(2, 3, 6)

    def error(kind, message, f):
        with pytest.raises(kind, match=message):
            f()

    error(
        TypeError,
        r"rotary\.nn\.HDDRoPE: x must be float32, float16 or bfloat16, got Double",
        lambda: m(x.double(), act),
    )
    error(
        TypeError,
        r"x must be float32, float16 or bfloat16, got Int",
        lambda: m(x.int(), act),
    )
    error(
        TypeError,
        r"activations must be float32, float16 or bfloat16, got Double",
        lambda: m(x, act.double()),
    )
    error(
        TypeError,
        r"activations must be float32, float16 or bfloat16, got Long",
        lambda: m(x, act.long()),
    )
    error(
        ValueError,
        r"x must be \[B, T, H, D\] with H = 2, D = 8, got \[2, 3, 16\]",
        lambda: m(x.view(2, 3, 16), act),
    )
    error(
        ValueError,
        r"x must be \[B, T, H, D\] with H = 2, D = 8, got \[2, 3, 4, 4\]",
        lambda: m(x.view(2, 3, 4, 4), act),
    )
    error(
        ValueError,
        r"x must be contiguous",
        lambda: m(x.transpose(0, 1).contiguous().transpose(0, 1), act),
    )
    error(
        ValueError,
        r"activations must be contiguous",
        lambda: m(x, act.transpose(1, 2).contiguous().transpose(1, 2)),
    )
    error(
        ValueError,
        r"x is on meta; the compiled kernels run on the CPU or a CUDA GPU",
        lambda: m(torch.empty(2, 3, 2, 8, device="meta"), act),
    )
    error(
        ValueError,
        r"activations is on meta",
        lambda: m(x, torch.empty(2, 3, 6, device="meta")),
    )
    error(
        ValueError,
        r"activations must be \[B, T, input_dim\] with B = 2, T = 3, input_dim = 6, got \[3, 3, 6\]",
        lambda: m(x, torch.randn(3, 3, 6)),
    )
    error(
        ValueError,
        r"activations must be \[B, T, input_dim\] with B = 2, T = 3, input_dim = 6, got \[2, 4, 6\]",
        lambda: m(x, torch.randn(2, 4, 6)),
    )
    error(
        ValueError,
        r"activations must be \[B, T, input_dim\] with B = 2, T = 3, input_dim = 6, got \[2, 3\]",
        lambda: m(x, torch.randn(2, 3)),
    )
    error(
        ValueError,
        r"k must be \[B, T, H, D\] with H = 2, D = 8, got \[2, 3, 1, 8\]",
        lambda: m.forward_qk(x, torch.randn(2, 3, 1, 8), act),
    )
    error(
        TypeError,
        r"q must be float32, float16 or bfloat16, got Double",
        lambda: m.forward_qk(x.double(), x, act),
    )
    error(
        ValueError,
        r"activations must be \[B, T, input_dim\] with input_dim = 6, got \[2, 3, 7\]",
        lambda: m.angles(torch.randn(2, 3, 7)),
    )


def test_bad_options() -> None:
    for args in ((2, 6, 4, 3), (2, 6, 1, 3), (0, 6, 2, 3), (2, 6, 2, 0)):
        with pytest.raises(
            ValueError,
            match=r"rotary\.nn\.HDDRoPE: need heads > 0, chunk >= 2 dividing head_dim",
        ):
            HDDRoPE(*args)
    with pytest.raises(
        ValueError, match=r"got heads 2, head_dim 6, chunk 4, input_dim 3"
    ):
        HDDRoPE(2, 6, 4, 3)
    with pytest.raises(
        ValueError, match=r"form must be 'givens' or 'exp', got 'Givens'"
    ):
        HDDRoPE(2, 6, 3, 3, form="Givens")
