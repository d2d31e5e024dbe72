"""Tests of rotary.nn.RotationBlock against an f64 reference written here.

The reference applies the Givens rotations of docs/Math.md section 2 one at
a time to the feature columns and then multiplies by R (section 4); the
compiled path (f32 kernels) and the module's reference=True path must both
match it, forward and backward, for the per-layer, per-head and conditional
forms. Tolerances (f32 against f64): |a - b| <= 1e-4·|b| + 1e-5 for y and
dx; parameter gradients, which sum over every row, use 1e-5·max(1, max|b|)
as the absolute part.
"""

from __future__ import annotations

import copy
from typing import List, Optional, Sequence, Tuple

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close
import rotary.nn
from rotary.nn.rotation_block import (
    RotationBlock,
    _reference_block,
    givens_chain_matrix,
    round_robin_pairs,
)


def schedule(d: int) -> List[Tuple[int, int]]:
    """The circle method: player d-1 meets s, and s+k meets s-k (mod d-1)."""
    out = []
    for s in range(d - 1):
        stage = [(s, d - 1)]
        for k in range(1, d // 2):
            a, b = (s + k) % (d - 1), (s - k + d - 1) % (d - 1)
            stage.append((min(a, b), max(a, b)))
        out += stage
    return out


def reference(
    x: torch.Tensor, angles: torch.Tensor, r: torch.Tensor, per_head: bool
) -> torch.Tensor:
    """x·G_1⋯G_N·R, one rotation at a time on the columns (f64 autograd).

    ``angles[..., k]`` broadcasts against x's rows (x.shape[:-1]).
    """
    d = x.shape[-1]
    cols = list(x.unbind(-1))
    for k, (i, j) in enumerate(schedule(d)[: angles.shape[-1]]):
        c, s = torch.cos(angles[..., k]), torch.sin(angles[..., k])
        xi, xj = cols[i], cols[j]
        cols[i] = xi * c + xj * s
        cols[j] = -xi * s + xj * c
    y = torch.stack(cols, -1)
    return torch.einsum("...hd,hde->...he", y, r) if per_head else y @ r


def penalty_reference(r: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(r.shape[-1], dtype=r.dtype)
    return ((r.transpose(-1, -2) @ r - eye) ** 2).sum()


def f64_leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().double().requires_grad_(True)


def make_block(dim: int, **options) -> RotationBlock:
    """A block with non-trivial angles and an R away from orthogonal, so
    that the penalty and its gradient are not just rounding."""
    block = RotationBlock(dim, angle_init_std=0.5, **options)
    with torch.no_grad():
        block.matrix.add_(0.1 * torch.randn_like(block.matrix))
        if block.condition_out is not None:
            # Non-zero conditional weights, so batch rows really differ.
            block.condition_out.weight.normal_(0.0, 0.3)
            block.condition_out.bias.normal_(0.0, 0.3)
    return block


def reference_copy(block: RotationBlock) -> RotationBlock:
    ref = copy.deepcopy(block)
    ref.reference = True
    return ref


def test_exported() -> None:
    assert rotary.nn.RotationBlock is RotationBlock
    assert "orthogonality_penalty" in RotationBlock.__doc__
    assert RotationBlock.forward.__doc__ and RotationBlock.__init__ is not None


@pytest.mark.parametrize("d", [2, 4, 6, 8, 10])
def test_schedule(d: int) -> None:
    pairs = round_robin_pairs(d, d * (d - 1) // 2)
    assert pairs == schedule(d)
    # Every pair exactly once; the D/2 pairs of a stage share no index.
    assert sorted(pairs) == [(i, j) for i in range(d) for j in range(i + 1, d)]
    for s in range(d - 1):
        stage = pairs[s * (d // 2) : (s + 1) * (d // 2)]
        assert len({i for p in stage for i in p}) == d
    assert round_robin_pairs(d, 1) == [(0, d - 1)]
    if d == 8:
        # docs/Math.md section 2 lists the start of D = 8's schedule.
        assert round_robin_pairs(8, 9) == [
            (0, 7), (1, 6), (2, 5), (3, 4), (1, 7), (0, 2), (3, 6), (4, 5), (2, 7),
        ]  # fmt: skip


@pytest.mark.parametrize("d,n", [(2, 1), (6, 7), (8, 28)])
def test_givens_chain_matrix(d: int, n: int) -> None:
    angles = torch.randn(3, n, dtype=torch.float64)
    q = givens_chain_matrix(angles, d)
    assert q.shape == (3, d, d)
    eye = torch.eye(d, dtype=torch.float64)
    assert_close(q.transpose(-1, -2) @ q, eye.expand(3, d, d), 0, 1e-12, "QᵀQ")
    x = torch.randn(3, 5, d, dtype=torch.float64)
    # One chain per batch entry: angles [3, 1, n] broadcast over the 5 rows.
    want = reference(x, angles.unsqueeze(1), eye, per_head=False)
    assert_close(x @ q, want, 1e-12, 1e-12, "x·Q")
    with pytest.raises(ValueError, match=r"1 <= N <= D\(D-1\)/2"):
        givens_chain_matrix(torch.zeros(d * (d - 1) // 2 + 1), d)


# x's shape, heads, rotations, dtype. Shapes that share (rank, D, N, per
# head, dtype) share one compiled kernel: B and T are dynamic.
CASES = [
    ((3, 7, 6), 0, -1, torch.float32),  # per layer, all 15 rotations
    ((1, 1, 6), 0, -1, torch.float32),  # B = T = 1
    ((2, 5, 3, 8), 3, 13, torch.float32),  # per head, part of the schedule
    ((1, 1, 3, 8), 3, 13, torch.float32),  # per head, B = T = 1
    ((5, 2), 0, 1, torch.float32),  # the smallest block: D = 2, N = 1
    ((4, 10), 0, 20, torch.float32),  # rank 2, D = 10, two stages and a bit
    ((10,), 0, 20, torch.float32),  # one row of rank 1 (run as [1, D])
    ((2, 3, 6), 0, -1, torch.bfloat16),  # low-precision data
]


@pytest.mark.parametrize("shape,heads,rotations,dtype", CASES)
def test_forward_backward(
    shape: Sequence[int], heads: int, rotations: int, dtype: torch.dtype
) -> None:
    d = shape[-1]
    block = make_block(d, heads=heads, rotations=rotations)
    ref = reference_copy(block)
    x = torch.randn(shape).to(dtype)
    dy = torch.randn(shape).to(dtype)

    results = []
    for module in (block, ref):
        xc = x.clone().requires_grad_(True)
        y = module(xc)
        assert y.dtype == dtype and y.shape == x.shape and y.is_contiguous()
        (y.double() * dy.double()).sum().backward()
        results.append((y, xc.grad, module.angles.grad, module.matrix.grad))

    x64, a64, r64 = f64_leaf(x), f64_leaf(block.angles), f64_leaf(block.matrix)
    y64 = reference(x64, a64, r64, per_head=heads > 0)
    (y64 * dy.double()).sum().backward()

    low = dtype != torch.float32
    rtol, atol = (1e-2, 1e-2) if low else (1e-4, 1e-5)
    for path, (y, dx, da, dr) in zip(("compiled", "reference path"), results):
        assert_close(y, y64, rtol, atol, f"y ({path})")
        assert_close(dx, x64.grad, rtol, atol, f"dx ({path})")
        assert_close(da, a64.grad, rtol, atol, f"dangles ({path})", scaled=True)
        assert_close(dr, r64.grad, rtol, atol, f"dR ({path})", scaled=True)

    # The penalty and its gradient 4·R·(RᵀR − I) (docs/Math.md section 3).
    r64 = f64_leaf(block.matrix)
    p64 = penalty_reference(r64)
    eye = torch.eye(d, dtype=torch.float64)
    grad64 = 4 * r64.detach() @ (r64.detach().transpose(-1, -2) @ r64.detach() - eye)
    for module, path in ((block, "compiled"), (ref, "reference path")):
        module.matrix.grad = None
        p = module.orthogonality_penalty()
        assert p.dim() == 0 and p.dtype == torch.float32
        p.backward()
        assert_close(p, p64, 1e-4, 1e-5, f"penalty ({path})")
        assert_close(module.matrix.grad, grad64, 1e-4, 1e-5, f"dpenalty ({path})", True)


def test_penalty_of_orthogonal_start() -> None:
    for heads in (0, 2):
        block = RotationBlock(6, heads=heads)
        p = block.orthogonality_penalty()
        assert 0 <= p.item() < 1e-8, heads
        r = block.matrix.detach()
        eye = torch.eye(6).expand_as(r)
        assert_close(r.transpose(-1, -2) @ r, eye, 0, 1e-5, "RᵀR at init")


@pytest.mark.parametrize("heads", [0, 3])
def test_conditional(heads: int) -> None:
    d, n, cdim = 6, 11, 5
    block = make_block(
        d, heads=heads, rotations=n, conditional_dim=cdim, conditional_hidden=7
    )
    ref = reference_copy(block)
    names = [name for name, _ in block.named_parameters()]
    assert names == [
        "angles",
        "matrix",
        "condition_in.weight",
        "condition_in.bias",
        "condition_out.weight",
        "condition_out.bias",
    ]
    for b, t in ((4, 3), (1, 1), (2, 5)):
        shape = (b, t, heads, d) if heads else (b, t, d)
        x, dy = torch.randn(shape), torch.randn(shape)
        cond = torch.randn(b, cdim)

        results = []
        for module in (block, ref):
            module.zero_grad(set_to_none=True)
            xc = x.clone().requires_grad_(True)
            cc = cond.clone().requires_grad_(True)
            y = module(xc, cc)
            assert y.shape == x.shape and y.is_contiguous()
            (y.double() * dy.double()).sum().backward()
            grads = {k: p.grad for k, p in module.named_parameters()}
            results.append((y, xc.grad, cc.grad, grads))

        p64 = {k: f64_leaf(p) for k, p in block.named_parameters()}
        x64, c64 = f64_leaf(x), f64_leaf(cond)
        hidden = torch.tanh(
            F.linear(c64, p64["condition_in.weight"], p64["condition_in.bias"])
        )
        offsets = F.linear(
            hidden, p64["condition_out.weight"], p64["condition_out.bias"]
        )
        # Batch row b's angles, broadcast over its T rows (and heads).
        a = p64["angles"] + offsets.view((b, heads, n) if heads else (b, n))
        y64 = reference(x64, a.unsqueeze(1), p64["matrix"], per_head=heads > 0)
        (y64 * dy.double()).sum().backward()

        for path, (y, dx, dc, grads) in zip(("compiled", "reference path"), results):
            what = f"B {b} T {t} ({path})"
            assert_close(y, y64, 1e-4, 1e-5, f"y {what}")
            assert_close(dx, x64.grad, 1e-4, 1e-5, f"dx {what}")
            assert_close(dc, c64.grad, 1e-4, 1e-5, f"dcondition {what}", True)
            for k, g in grads.items():
                assert_close(g, p64[k].grad, 1e-4, 1e-5, f"d{k} {what}", True)

    # Without a condition the block runs its unconditional angles.
    x = torch.randn((2, 3, heads, d) if heads else (2, 3, d))
    want = reference(
        x.double(), block.angles.double(), block.matrix.double(), heads > 0
    )
    assert_close(block(x), want, 1e-4, 1e-5, "unconditional forward")


def test_conditional_starts_unconditional() -> None:
    # condition_out is zero-initialised: any condition gives the block's
    # own angles. (The options of test_conditional: the same kernel.)
    block = RotationBlock(
        6, rotations=11, conditional_dim=5, conditional_hidden=7, angle_init_std=0.5
    )
    assert torch.equal(block.condition_out.weight, torch.zeros(11, 7))
    assert torch.equal(block.condition_out.bias, torch.zeros(11))
    x = torch.randn(2, 3, 6)
    want = reference(x.double(), block.angles.double(), block.matrix.double(), False)
    assert_close(block(x, torch.randn(2, 5)), want, 1e-4, 1e-5, "y")


@pytest.mark.parametrize("equation", [None, "...hd,hde->...he", "btd,bde->bte"])
def test_gradcheck_reference(equation: Optional[str]) -> None:
    # The reference path's math in f64; data tensors are f32/f16/bf16 only
    # at the module boundary, so the check runs on the function it calls.
    d, n = 4, 5
    if equation is None:
        args = (torch.randn(2, 3, d), torch.randn(n), torch.randn(d, d))
    elif equation.startswith("..."):
        args = (torch.randn(2, 3, 2, d), torch.randn(2, n), torch.randn(2, d, d))
    else:
        args = (torch.randn(2, 3, d), torch.randn(2, n), torch.randn(2, d, d))
    args = tuple(a.double().requires_grad_(True) for a in args)
    assert torch.autograd.gradcheck(
        lambda x, a, r: _reference_block(x, a, r, equation), args
    )


def test_double_module() -> None:
    # .double() parameters: the reference path computes in f64, the
    # compiled one gives the kernels f32 angles (x's dtype stays f32).
    # (The per-head configuration of test_forward_backward: its kernels.)
    block = make_block(8, heads=3, rotations=13).double()
    assert block.angles.dtype == block.matrix.dtype == torch.float64
    x = torch.randn(3, 4, 3, 8)
    want = reference(x.double(), block.angles, block.matrix, per_head=True)
    for reference_path in (True, False):
        block.reference = reference_path
        y = block(x)
        assert y.dtype == torch.float32
        assert_close(
            y,
            want,
            1e-6 if reference_path else 1e-4,
            1e-6,
            f"y, reference {reference_path}",
        )
        p = block.orthogonality_penalty()
        p.backward()
        assert block.matrix.grad.dtype == torch.float64
        assert_close(
            p,
            penalty_reference(block.matrix),
            1e-6 if reference_path else 1e-4,
            1e-7,
            "penalty",
        )
    assert block.orthogonality_penalty().dtype == torch.float32
    block.reference = True
    assert block.orthogonality_penalty().dtype == torch.float64


def test_state_dict_round_trip() -> None:
    # The options of test_conditional: its kernels again.
    options = dict(heads=3, rotations=11, conditional_dim=5, conditional_hidden=7)
    block = make_block(6, **options)
    state = block.state_dict()
    assert set(state) == {
        "angles",
        "matrix",
        "condition_in.weight",
        "condition_in.bias",
        "condition_out.weight",
        "condition_out.bias",
    }
    assert state["angles"].shape == (3, 11) and state["matrix"].shape == (3, 6, 6)
    assert state["condition_in.weight"].shape == (7, 5)
    assert state["condition_out.weight"].shape == (33, 7)
    other = RotationBlock(6, **options)
    assert not torch.equal(other.angles, block.angles)
    other.load_state_dict(state)
    x, cond = torch.randn(2, 4, 3, 6), torch.randn(2, 5)
    assert torch.equal(other(x), block(x))
    assert torch.equal(other(x, cond), block(x, cond))
    with pytest.raises(RuntimeError, match="size mismatch"):
        RotationBlock(6, heads=2, rotations=11, conditional_dim=5).load_state_dict(
            state
        )


def test_optimizer_step() -> None:
    # The per-head configuration of test_forward_backward: its kernels again.
    block = make_block(8, heads=3, rotations=13)
    before = {k: p.detach().clone() for k, p in block.named_parameters()}
    opt = torch.optim.SGD(block.parameters(), lr=0.1)
    x, target = torch.randn(4, 3, 3, 8), torch.randn(4, 3, 3, 8)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (block(x) - target).pow(2).mean() + 0.1 * block.orthogonality_penalty()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for k, p in block.named_parameters():
        assert not torch.equal(p, before[k]), f"{k} did not change"
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("reference_path", [False, True])
def test_bad_input(reference_path: bool) -> None:
    block = RotationBlock(8, heads=2, reference=reference_path)
    with pytest.raises(
        TypeError,
        match=r"rotary\.nn\.RotationBlock: x must be float32, float16 or bfloat16, got Double",
    ):
        block(torch.randn(3, 2, 8, dtype=torch.float64))
    with pytest.raises(
        TypeError, match=r"x must be float32, float16 or bfloat16, got Int"
    ):
        block(torch.zeros(3, 2, 8, dtype=torch.int32))
    with pytest.raises(
        ValueError,
        match=r"x must be \[\.\.\., H, D\] with H = 2, D = 8, got \[3, 4, 8\]",
    ):
        block(torch.randn(3, 4, 8))
    with pytest.raises(
        ValueError, match=r"x must be \[\.\.\., H, D\] with H = 2, D = 8, got \[8\]"
    ):
        block(torch.randn(8))
    with pytest.raises(ValueError, match=r"x must be contiguous \(row-major\)"):
        block(torch.randn(3, 8, 2).transpose(1, 2))
    with pytest.raises(
        ValueError,
        match=r"x is on meta; the compiled kernels run on the CPU or a CUDA GPU",
    ):
        block(torch.empty(3, 2, 8, device="meta"))
    with pytest.raises(
        ValueError, match="a condition was given but conditional_dim is 0"
    ):
        block(torch.randn(1, 2, 2, 8), torch.randn(1, 3))

    layer = RotationBlock(4, reference=reference_path)
    with pytest.raises(
        ValueError, match=r"x must be \[\.\.\., D\] with D = 4, got \[2, 6\]"
    ):
        layer(torch.randn(2, 6))

    cond = RotationBlock(4, conditional_dim=3, reference=reference_path)
    with pytest.raises(
        ValueError,
        match=r"condition must be \[B, conditional_dim\] with B = 2, conditional_dim = 3, got \[3, 3\]",
    ):
        cond(torch.randn(2, 5, 4), torch.randn(3, 3))
    with pytest.raises(
        ValueError, match=r"x must be \[B, T, D\] with D = 4, got \[5, 4\]"
    ):
        cond(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(
        TypeError,
        match=r"rotary\.nn\.RotationBlock: x must be float32, float16 or bfloat16, got Long",
    ):
        cond(torch.zeros(2, 5, 4, dtype=torch.int64), torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"condition must be contiguous"):
        cond(torch.randn(2, 5, 4), torch.randn(3, 2).t())
    with pytest.raises(ValueError, match=r"condition is on meta"):
        cond(torch.randn(2, 5, 4), torch.empty(2, 3, device="meta"))


def test_bad_options() -> None:
    with pytest.raises(
        ValueError, match=r"rotary\.nn\.RotationBlock: dim must be even and >= 2"
    ):
        RotationBlock(5)
    with pytest.raises(ValueError, match=r"dim must be even and >= 2 .*, got 0"):
        RotationBlock(0)
    with pytest.raises(
        ValueError, match=r"rotations must be in \[1, D\(D-1\)/2 = 6\], got 7"
    ):
        RotationBlock(4, rotations=7)
    with pytest.raises(
        ValueError, match=r"rotations must be in \[1, D\(D-1\)/2 = 6\], got 0"
    ):
        RotationBlock(4, rotations=0)
    with pytest.raises(ValueError, match=r"heads must be >= 0, got -1"):
        RotationBlock(4, heads=-1)
