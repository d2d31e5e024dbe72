"""rotary.nn.DynamicBase: the plateau rule, the modules it drives, its state."""

from __future__ import annotations

import io
import math
from typing import List, Sequence

import pytest
import torch

from rotary.nn import DynamicBase, Rope

F64 = torch.float64




QUICK = dict(min_base=1000.0, max_base=9000.0, factor=2.0, patience=3, cooldown=2, smoothing=0.0)


def rule(losses: Sequence[float], base0: float, *, min_base: float = 500.0, max_base: float = 1e6,
         factor: float = 2.0, patience: int = 50, threshold: float = 1e-3, cooldown: int = 20,
         smoothing: float = 0.9) -> List[float]:
    """The base after each step, by the rule of torch/DynamicBase.cpp.

    ema: the first loss, then smoothing·ema + (1 - smoothing)·loss. A step
    improves when ema < best - threshold·|best| (the first step always):
    best = ema and the bad count restarts; else the bad count grows. While
    a cooldown lasts, it shrinks by one, the bad count is cleared and
    nothing else happens. Otherwise, at `patience` bad steps the count is
    cleared and the base becomes clamp(base·factor); if that is a change,
    the cooldown restarts at `cooldown` and best = ema.
    """
    clamp = lambda b: min(max(b, min_base), max_base)  # noqa: E731
    base, ema, best, bad, cool = clamp(base0), 0.0, 0.0, 0, 0
    out = []
    for n, loss in enumerate(losses):
        ema = loss if n == 0 else smoothing * ema + (1 - smoothing) * loss
        if n == 0 or ema < best - threshold * abs(best):
            best, bad = ema, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        elif bad >= patience:
            bad = 0
            new = clamp(base * factor)
            if new != base:
                base, cool, best = new, cooldown, ema
        out.append(base)
    return out


def test_flat_loss_by_hand() -> None:
    r = Rope(8, base=1000.0)
    sched = DynamicBase([r], **QUICK)
    bases = [sched.step(1.0) for _ in range(12)]
    # Step 1 sets the best; steps 2-4 are bad -> 2000 at step 4; cooldown
    # 5-6; bad 7-9 -> 4000 at step 9; cooldown 10-11; step 12 bad.
    assert bases == [1000, 1000, 1000, 2000, 2000, 2000, 2000, 2000, 4000, 4000, 4000, 4000]
    assert r.base == 4000  # pushed to the module
    assert sched.steps == 12 and sched.smoothed_loss == 1.0
    for _ in range(30):
        sched.step(1.0)
    assert sched.base == 9000 and r.base == 9000  # clamped at max_base


def test_improving_loss_never_changes_the_base() -> None:
    sched = DynamicBase(Rope(8), **{**QUICK, "max_base": 1e6})
    assert sched.base == 10000
    assert all(sched.step(10.0 - s) == 10000 for s in range(20))


def test_start_is_clamped_and_pushed() -> None:
    q, k = Rope(8), Rope(6, rotary_dim=4, base=3.0)
    sched = DynamicBase([q, k], **QUICK)
    assert sched.base == 9000 and q.base == 9000 and k.base == 9000


@pytest.mark.parametrize("options", [
    dict(),
    dict(patience=4, cooldown=0, smoothing=0.5, threshold=0.01),
    dict(patience=2, cooldown=3, smoothing=0.0, factor=0.5, min_base=700.0),
    dict(patience=1, cooldown=1, smoothing=0.3, factor=3.0, max_base=50000.0),
])
def test_random_losses_follow_the_rule(options: dict) -> None:
    for trial in range(4):
        # Plateaus, slow declines and noise, so that every branch is taken.
        n = 300
        t = torch.arange(n, dtype=F64)
        level = torch.where(t % 100 < 40, 5.0 - 0.01 * t, 5.0 - 0.4 * (t // 100))
        losses = (level + 0.05 * torch.randn(n, dtype=F64) * trial).tolist()
        base0 = [10000.0, 800.0, 2e6, 1234.5][trial]
        rope = Rope(8, base=base0)
        sched = DynamicBase([rope], **options)
        got = [sched.step(x) for x in losses]
        expected = rule(losses, base0, **options)
        first_difference = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)
        assert got == expected, (trial, first_difference)
        assert rope.base == expected[-1] == sched.base
        ema = losses[0]
        s = options.get("smoothing", 0.9)
        for x in losses[1:]:
            ema = s * ema + (1 - s) * x
        assert math.isclose(sched.smoothed_loss, ema, rel_tol=1e-12)
    # The trajectories above changed the base at least once.
    assert len(set(got)) > 1


def test_modules_use_the_new_base() -> None:
    rope = Rope(8, base=1000.0)
    sched = DynamicBase([rope], **QUICK)
    for _ in range(4):
        sched.step(2.0)
    assert rope.base == 2000.0
    x = torch.randn(2, 3, 2, 8)
    y = rope(x, 5)
    # The half-layout RoPE at base 2000, written out.
    i = torch.arange(4, dtype=F64)
    theta = torch.arange(5, 8, dtype=F64)[:, None] * 2000.0 ** (-2 * i / 8)
    c, s = theta.cos()[None, :, None], theta.sin()[None, :, None]
    a, b = x.to(F64)[..., :4], x.to(F64)[..., 4:]
    expected = torch.cat([a * c - b * s, a * s + b * c], -1)
    torch.testing.assert_close(y.to(F64), expected, rtol=1e-5, atol=1e-5)


def test_state_dict_continues_the_same_trajectory() -> None:
    loss_at = lambda s: 1.0 + 0.5 * math.sin(0.3 * s)  # noqa: E731
    a = Rope(4, base=1000.0)
    first = DynamicBase([a], **{**QUICK, "smoothing": 0.5})
    for s in range(17):
        first.step(loss_at(s))
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    b = Rope(4, base=1000.0)
    second = DynamicBase([b], **{**QUICK, "smoothing": 0.5})
    second.load_state_dict(torch.load(buf))
    assert b.base == first.base and second.steps == first.steps == 17
    for s in range(17, 60):
        assert first.step(loss_at(s)) == second.step(loss_at(s)), s
    assert first.smoothed_loss == second.smoothed_loss
    # A restored base outside the range is clamped.
    state = dict(second.state_dict(), base=1e9)
    second.load_state_dict(state)
    assert second.base == 9000 and b.base == 9000


def test_bad_input() -> None:
    r = Rope(4)
    with pytest.raises(ValueError, match="factor must be positive and not 1, got 1"):
        DynamicBase([r], **{**QUICK, "factor": 1.0})
    with pytest.raises(ValueError, match=r"need 0 < min_base <= max_base < inf, got \[10, 5\]"):
        DynamicBase([r], **{**QUICK, "min_base": 10.0, "max_base": 5.0})
    with pytest.raises(ValueError, match="patience must be >= 1 and cooldown >= 0"):
        DynamicBase([r], **{**QUICK, "patience": 0})
    with pytest.raises(ValueError, match=r"smoothing must be in \[0, 1\), got 1"):
        DynamicBase([r], **{**QUICK, "smoothing": 1.0})
    with pytest.raises(ValueError, match="no Rope modules"):
        DynamicBase([], **QUICK)
    with pytest.raises(TypeError, match="ropes must be rotary.nn.Rope modules, got Linear"):
        DynamicBase([torch.nn.Linear(2, 2)], **QUICK)
    with pytest.raises(RuntimeError, match="set_base with learnable frequencies"):
        DynamicBase([Rope(4, learnable_freq=True)], **QUICK)
    s = DynamicBase([r], **QUICK)
    with pytest.raises(ValueError, match="the loss is nan; the base is left at 9000"):
        s.step(float("nan"))
    with pytest.raises(ValueError, match="the state lacks best"):
        s.load_state_dict({"base": 1.0, "smoothed_loss": 0.0, "steps": 0, "bad_steps": 0,
                           "cooldown_left": 0})
    assert s.steps == 0  # nothing changed
