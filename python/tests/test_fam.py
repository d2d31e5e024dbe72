"""rotary.optim.FAM: against the C++ rotary::nn::FAM, its reference path, and
an independent plain-PyTorch reference of docs/Math.md §7 written here.

Random inputs are drawn fresh per run; the seed is printed (set
ROTARY_TEST_SEED to replay one). Option values are fixed: they select the
compiled kernels, which the kernel cache keeps between runs.
"""

from __future__ import annotations

import copy
import io
import math
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
import torch
from torch import nn

from rotary import _C
from rotary.optim import FAM

Named = List[Tuple[str, nn.Parameter]]


@pytest.fixture
def gen(seed: int) -> torch.Generator:
    """A generator seeded with the test's seed (conftest.py)."""
    return torch.Generator().manual_seed(seed)


def grad_like(p: torch.Tensor, gen: torch.Generator,
              kind: Optional[int] = None) -> torch.Tensor:
    """A gradient for ``p``: a random tone (kind 0), a random walk (1) or
    white noise (2), so that the band energies (and with them α') change from
    step to step. The kind is random unless given."""
    n = p.numel()
    x = torch.randn(n, generator=gen, dtype=torch.float64)
    if kind is None:
        kind = int(torch.randint(3, (1,), generator=gen))
    if kind == 0 and n > 1:
        f = int(torch.randint(1, n // 2 + 1, (1,), generator=gen))
        i = torch.arange(n, dtype=torch.float64)
        x = 0.2 * x + 3.0 * torch.cos(2 * math.pi * f * i / n)
    elif kind == 1:
        x = torch.cumsum(x, 0) / math.sqrt(n)
    return x.reshape(p.shape).to(p.dtype)


def make_named(gen: torch.Generator,
               spec: Sequence[Tuple[str, Tuple[int, ...], torch.dtype]]
               ) -> Named:
    return [(name, nn.Parameter(torch.randn(shape, generator=gen).to(dtype)))
            for name, shape, dtype in spec]


def clone_named(named: Named) -> Named:
    return [(n, nn.Parameter(p.detach().clone())) for n, p in named]


# Every group of the name table, every dtype, a parameter that never has a
# gradient, and tensors past 10000 elements (random row/column or element
# samples, whose seeds depend on the parameter's position) in later groups.
MODEL = [
    ("encoder.conv1.weight", (8, 4, 5), torch.float32),
    ("blocks.0.attention.q.weight", (24, 20), torch.float32),
    ("encoder.MHA.bias", (300,), torch.float32),
    ("embed.weight", (110, 100), torch.float32),
    ("final_norm.weight", (70,), torch.float16),
    ("head.weight", (7, 13), torch.bfloat16),
    ("frozen.bias", (33,), torch.float32),
    ("mlp_bias", (10007,), torch.float32),
    ("lm_head.weight", (2, 101, 55), torch.float32),
]
MODEL_F32 = [(n, s, torch.float32) for n, s, _ in MODEL]


def set_grads(copies: Sequence[Named], gen: torch.Generator,
              skip: float = 0.15) -> None:
    """The same fresh gradients on every copy; 'frozen' never has one and
    others are skipped now and then."""
    for i, (name, p0) in enumerate(copies[0]):
        drop = "frozen" in name or float(torch.rand(1, generator=gen)) < skip
        g = None if drop else grad_like(p0, gen)
        for named in copies:
            named[i][1].grad = None if g is None else g.clone()


def assert_same_state(opt: FAM, cpp: "_C._FAMCpp", a: Named, b: Named) -> None:
    for (name, p), (_, q) in zip(a, b):
        assert torch.equal(p, q), name
        s = cpp.state(q)
        if s is None:
            assert not opt.state.get(p), name
            continue
        st = opt.state[p]
        assert st["step"] == s[0], name
        assert torch.equal(st["momentum"], s[1]), name
        assert (st["ema"] is None) == (s[2] is None), name
        if s[2] is not None:
            assert torch.equal(st["ema"], s[2]), name
        assert st["alpha_eff"] == s[3], name


# ---------------------------------------------------------------------------
# (1) The Python optimizer is the C++ one.


@pytest.mark.parametrize("named", [True, False], ids=["named", "plain"])
def test_matches_cpp_fam_step_for_step(gen: torch.Generator,
                                       named: bool) -> None:
    a = make_named(gen, MODEL)
    b = clone_named(a)
    settings = dict(lr=0.05, weight_decay=1e-3, fam_start_step=10,
                    min_size=64, seed=7, beta=0.9)
    if named:
        opt = FAM(a, **settings)
        cpp = _C._FAMCpp(b, settings)
    else:
        # α 0.88: both of the attention rule's branches move α'.
        extra = dict(alpha=0.88, n_bands=6, handler="attention",
                     band_layout="split")
        opt = FAM([p for _, p in a], **settings, **extra)
        cpp = _C._FAMCpp([p for _, p in b], {**settings, **extra})
    assert len(opt.param_groups) == cpp.num_groups()
    adapted = set()
    # 150 steps past fam_start_step where the groups differ; one group less.
    for t in range(160 if named else 60):
        set_grads([a, b], gen)
        opt.step()
        cpp.step()
        assert opt.step_count == cpp.step_count() == t + 1
        for g in range(len(opt.param_groups)):
            assert opt.current_lr(g) == cpp.current_lr(g)
        for g, group in enumerate(opt.param_groups):
            for p in group["params"]:
                st = opt.state.get(p)
                if st and st["alpha_eff"] != pytest.approx(group["alpha"]):
                    adapted.add(g)
        if t % 40 == 39:
            assert_same_state(opt, cpp, a, b)
    assert_same_state(opt, cpp, a, b)
    # α' must have moved off α somewhere, or the test says nothing about it.
    assert adapted, "no parameter's momentum adapted"


# ---------------------------------------------------------------------------
# (2) Compiled kernels against reference=True.


def test_compiled_matches_reference_path(gen: torch.Generator) -> None:
    a = make_named(gen, MODEL_F32)
    b = clone_named(a)
    settings = dict(lr=0.1, weight_decay=1e-3, fam_start_step=5, min_size=64)
    compiled = FAM(a, **settings)
    reference = FAM(b, **settings, reference=True)
    for _ in range(30):
        set_grads([a, b], gen)
        compiled.step()
        reference.step()
    for (name, p), (_, q) in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
        if compiled.state.get(p):
            sp, sq = compiled.state[p], reference.state[q]
            assert sp["alpha_eff"] == pytest.approx(sq["alpha_eff"]), name
            torch.testing.assert_close(sp["momentum"], sq["momentum"],
                                       rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# (3) docs/Math.md §7 written out in plain PyTorch.


def schedule(s: int, peak: float, warmup: int, start: float, decay: int,
             total: int, eta_min: float) -> float:
    """The warmup + constant + half-cosine rate at step s (0-based)."""
    if s < warmup:
        return start + (peak - start) * s / warmup
    if decay < 0 or s < decay or total <= decay:
        return peak
    t = (min(s, total) - decay) / (total - decay)
    return eta_min + (peak - eta_min) * (1 + math.cos(math.pi * t)) / 2


def floor_root_power(L: int, i: int, n: int) -> int:
    """floor(L^(i/n)), exactly: the largest k with k^n <= L^i."""
    target = L**i
    k = int(round(L ** (i / n)))
    while k > 0 and k**n > target:
        k -= 1
    while (k + 1)**n <= target:
        k += 1
    return k


def band_ranges(L: int, n: int, layout: str) -> List[Tuple[int, int]]:
    if layout == "linear":
        w = L // n
        return [(i * w, min((i + 1) * w, L)) for i in range(n)]
    if layout == "log":
        r = [floor_root_power(L, i, n) for i in range(n + 1)]
        return [(max(0, r[i] - 1), min(r[i + 1] - 1, L)) for i in range(n)]
    h, H = n // 2, L // 2
    out = []
    for i in range(n):
        if i < h:
            w = H // h
            out.append((i * w, min((i + 1) * w, H)))
        else:
            w, j = (L - H) // (n - h), i - h
            out.append((H + j * w, min(H + (j + 1) * w, L)))
    return out


def handler_rule(handler: str, e: torch.Tensor, a: float
                 ) -> Tuple[float, float]:
    """α' of docs/Math.md §7 step 3, and how far e is from flipping it."""
    n = e.numel()
    s = lambda lo, hi: float(e[lo:hi].sum())  # noqa: E731
    if handler == "default":
        high = s(n // 2, n)
        return (min(0.95, a + 0.05) if high > 0.3 else a), abs(high - 0.3)
    if handler == "conv":
        mid, high = s(n // 4, 3 * n // 4), s(3 * n // 4, n)
        margin = min(abs(mid - 0.4), abs(high - 0.3))
        if mid > 0.4:
            return min(0.97, a + 0.07), margin
        return (min(0.95, a + 0.05) if high > 0.3 else a), margin
    if handler == "attention":
        top = torch.topk(e, 2).values if n > 1 else e
        margin = float(top[0] - top[-1]) if n > 1 else 1.0
        k = int(torch.argmax(e))
        if k < n // 4:
            return max(0.85, a - 0.05), margin
        return (min(0.98, a + 0.08) if k > 3 * n // 4 else a), margin
    high = s(3 * n // 4, n)
    return (min(0.98, a + 0.08) if high > 0.2 else a), abs(high - 0.2)


def reference_bands(g: torch.Tensor, p: torch.Tensor, o: Dict) -> torch.Tensor:
    """Normalised band energies of the whole (≤ 10000-element) decayed
    gradient, in float64."""
    sample = (g.float() + o["weight_decay"] * p.float()).reshape(-1).double()
    P = torch.fft.rfft(sample).abs()
    total = float(P.sum())
    if total > 0:
        P = P / (total + o["eps"])
    out = torch.zeros(o["n_bands"], dtype=torch.float64)
    for i, (lo, hi) in enumerate(band_ranges(P.numel(), o["n_bands"],
                                             o["band_layout"])):
        if hi > lo:
            out[i] = P[lo:hi].sum()
    return out


def check_update(p: torch.Tensor, before: torch.Tensor,
                 m_before: torch.Tensor, g: torch.Tensor,
                 m_after: torch.Tensor, alpha: float, wd: float, lr: float,
                 name: str) -> None:
    """Math §7 step 4 from the values before the step, in float64."""
    g64 = g.double() + wd * before
    m_ref = alpha * m_before + (1 - alpha) * g64
    p_ref = before - lr * m_ref
    torch.testing.assert_close(m_after.double(), m_ref, rtol=1e-6, atol=1e-6,
                               msg=f"momentum of {name}")
    if p.dtype == torch.float32:
        torch.testing.assert_close(p.double(), p_ref, rtol=1e-6, atol=1e-6,
                                   msg=f"{name}")
    else:
        # Updated in float32, rounded once to the parameter's dtype.
        ulp = torch.finfo(p.dtype).eps
        bound = ulp * p_ref.abs() + 1e-6
        assert bool(((p.double() - p_ref).abs() <= bound).all()), name


def test_update_matches_reference_before_adaptation(
        gen: torch.Generator) -> None:
    def param(*shape: int, dtype: torch.dtype = torch.float32) -> nn.Parameter:
        return nn.Parameter(torch.randn(shape, generator=gen).to(dtype))

    groups = [
        {"params": [param(1), param(7)], "lr": 0.3, "alpha": 0.8,
         "weight_decay": 0.01},
        {"params": [param(3, 5), param(2, 3, 4, dtype=torch.bfloat16)],
         "lr": 0.05, "alpha": 0.5, "lr_scale": 2.0},
        {"params": [param(6, dtype=torch.float16), param(1, 1, 9)]},
    ]
    sched = dict(warmup=3, start=0.01, decay=6, total=12, eta_min=0.02)
    opt = FAM(groups, lr=0.1, alpha=0.9, weight_decay=1e-3,
              fam_start_step=1000, warmup_steps=3, warmup_start_lr=0.01,
              decay_start_step=6, total_steps=12, eta_min=0.02)
    # The groups' options as set, the rest from the constructor.
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.05, 0.1]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 1e-3, 1e-3]
    params = [p for g in opt.param_groups for p in g["params"]]
    steps = {p: 0 for p in params}
    for t in range(15):
        before, m_before = {}, {}
        for p in params:
            # Every parameter skips a step now and then (no gradient).
            p.grad = (None if float(torch.rand(1, generator=gen)) < 0.2
                      else grad_like(p, gen))
            before[p] = p.detach().double().clone()
            st = opt.state.get(p)
            m_before[p] = (st["momentum"].double().clone() if st
                           else torch.zeros(p.shape, dtype=torch.float64))
        opt.step()
        for gi, group in enumerate(opt.param_groups):
            lr = schedule(t, group["lr"], sched["warmup"], sched["start"],
                          sched["decay"], sched["total"], sched["eta_min"])
            lr *= group["lr_scale"]
            assert opt.current_lr(gi) == pytest.approx(lr, rel=1e-12)
            for k, p in enumerate(group["params"]):
                name = f"group {gi} parameter {k}"
                if p.grad is None:
                    assert torch.equal(p.double(), before[p]), name
                    continue
                steps[p] += 1
                st = opt.state[p]
                assert st["step"] == steps[p] and st["ema"] is None, name
                assert st["alpha_eff"] == group["alpha"], name
                assert st["momentum"].dtype == torch.float32, name
                check_update(p, before[p], m_before[p], p.grad,
                             st["momentum"], group["alpha"],
                             group["weight_decay"], lr, name)


@pytest.mark.parametrize("reference", [False, True],
                         ids=["compiled", "reference"])
def test_adaptive_momentum_matches_reference(gen: torch.Generator,
                                             reference: bool) -> None:
    def param(*shape: int) -> nn.Parameter:
        return nn.Parameter(torch.randn(shape, generator=gen))

    groups = [
        {"params": [param(300)], "handler": "default"},
        {"params": [param(17, 23)], "n_bands": 12, "handler": "attention",
         "band_layout": "split", "alpha": 0.92},
        {"params": [param(9, 7, 5)], "n_bands": 10, "handler": "conv",
         "band_layout": "log"},
        {"params": [param(1001), param(50)], "n_bands": 5,
         "handler": "embedding", "alpha": 0.95, "weight_decay": 0.01},
    ]
    opt = FAM(groups, lr=0.1, beta=0.5, fam_start_step=3, min_size=64,
              reference=reference)
    seen: Dict[int, set] = {g: set() for g in range(len(groups))}
    for t in range(1, 31):
        before, m_before, e_before = {}, {}, {}
        for group in opt.param_groups:
            for p in group["params"]:
                # Three steps of each kind: the EMA (β = 0.5) follows, so
                # every handler takes more than one branch.
                p.grad = grad_like(p, gen, kind=(t // 3) % 3)
                before[p] = p.detach().double().clone()
                st = opt.state.get(p)
                m_before[p] = (st["momentum"].double().clone() if st
                               else torch.zeros(p.shape, dtype=torch.float64))
                e_before[p] = (st["ema"].clone()
                               if st and st["ema"] is not None else None)
        opt.step()
        for gi, group in enumerate(opt.param_groups):
            for k, p in enumerate(group["params"]):
                name = f"group {gi} parameter {k} at step {t}"
                st = opt.state[p]
                alpha = group["alpha"]
                if t <= 3 or p.numel() <= 64:
                    assert st["ema"] is None and st["alpha_eff"] == alpha, name
                else:
                    bands = reference_bands(p.grad, before[p], group)
                    prev = e_before[p]
                    e_ref = (bands if prev is None else group["beta"]
                             * prev.double() + (1 - group["beta"]) * bands)
                    torch.testing.assert_close(st["ema"].double(), e_ref,
                                               rtol=1e-5, atol=1e-6, msg=name)
                    a_ref, margin = handler_rule(group["handler"], e_ref,
                                                 alpha)
                    if margin > 1e-5:  # else float rounding may decide
                        assert st["alpha_eff"] == pytest.approx(
                            a_ref, abs=1e-6), name
                    seen[gi].add(round(st["alpha_eff"], 6))
                check_update(p, before[p], m_before[p], p.grad,
                             st["momentum"], st["alpha_eff"],
                             group["weight_decay"], 0.1, name)
    # Every handler must have taken more than one branch.
    assert all(len(v) >= 2 for v in seen.values()), seen


# ---------------------------------------------------------------------------
# (4) Parameter groups and grouping by name.


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 6)
        self.attention = nn.Module()
        self.attention.q = nn.Linear(6, 6)
        self.Token_Table = nn.Parameter(torch.zeros(5, 6))
        self.encoder_MHA = nn.Linear(6, 3, bias=False)
        self.conv_norm = nn.Conv1d(3, 2, 3)
        self.norm = nn.LayerNorm(6)
        self.layer_scale = nn.Parameter(torch.ones(6))
        self.head = nn.Linear(6, 4)


# group: (α, bands, layout, handler, lr × , wd ×), from docs/Math.md §7.
TABLE = {
    "conv": (0.9, 10, "log", "conv", 1.0, 1.0),
    "attention": (0.92, 12, "split", "attention", 1.0, 1.0),
    "embedding": (0.95, 8, "linear", "embedding", 0.8, 1.5),
    "norm": (0.9, 4, "linear", "default", 1.0, 0.0),
    "other": (0.9, 8, "linear", "default", 1.0, 1.0),
}
EXPECTED_GROUPS = {
    "conv": ["conv_norm.weight", "conv_norm.bias"],
    "attention": ["attention.q.weight", "attention.q.bias",
                  "encoder_MHA.weight"],
    "embedding": ["Token_Table", "embed.weight"],
    "norm": ["layer_scale", "norm.weight", "norm.bias"],
    "other": ["head.weight", "head.bias"],
}


def test_grouping_by_name() -> None:
    net = Net()
    opt = FAM(net.named_parameters(), lr=0.2, beta=0.95, eps=1e-7,
              weight_decay=0.01, alpha=0.5, n_bands=3)
    params = dict(net.named_parameters())
    assert [g["group"] for g in opt.param_groups] == list(TABLE)
    cpp = _C._FAMCpp(list(net.named_parameters()),
                     dict(lr=0.2, beta=0.95, eps=1e-7, weight_decay=0.01))
    assert cpp.num_groups() == len(opt.param_groups)
    for gi, group in enumerate(opt.param_groups):
        alpha, bands, layout, handler, lr_scale, wd = TABLE[group["group"]]
        names = EXPECTED_GROUPS[group["group"]]
        assert sorted(group["param_names"]) == sorted(names)
        assert [id(p) for p in group["params"]] == [
            id(params[n]) for n in group["param_names"]]
        assert (group["alpha"], group["n_bands"], group["band_layout"],
                group["handler"], group["lr_scale"]) == (
                    alpha, bands, layout, handler, lr_scale)
        assert group["weight_decay"] == pytest.approx(0.01 * wd)
        assert (group["lr"], group["beta"], group["eps"]) == (0.2, 0.95, 1e-7)
        # The same as the C++ named constructor, names and order included.
        options = {k: group[k] for k in cpp.group_options(gi)}
        assert options == cpp.group_options(gi)
        assert cpp.parameter_names(gi) == group["param_names"]
    # Empty groups are left out.
    lone = FAM([("decoder.weight", nn.Parameter(torch.zeros(3)))])
    assert [g["group"] for g in lone.param_groups] == ["other"]


def test_param_groups_with_own_lr(gen: torch.Generator) -> None:
    a = nn.Parameter(torch.randn(40, generator=gen))
    b = nn.Parameter(torch.randn(5, 8, generator=gen))
    opt = FAM([{"params": [("first", a)], "lr": 0.5},
               {"params": b, "lr": 0.01, "alpha": 0.0}], lr=0.1, alpha=0.0)
    assert opt.param_groups[0]["param_names"] == ["first"]
    ga, gb = grad_like(a, gen), grad_like(b, gen)
    a0, b0 = a.detach().clone(), b.detach().clone()
    a.grad, b.grad = ga, gb
    opt.step()
    # α = 0: m = g, so each group moves by its own lr times g.
    torch.testing.assert_close(a0 - a.detach(), 0.5 * ga, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b0 - b.detach(), 0.01 * gb, rtol=1e-5,
                               atol=1e-6)
    # add_param_group: a new group joins later, with the current step count.
    c = nn.Parameter(torch.randn(7, generator=gen))
    opt.add_param_group({"params": [c], "lr": 2.0})
    c0, gc = c.detach().clone(), grad_like(c, gen)
    a.grad = b.grad = None
    c.grad = gc
    opt.step()
    assert opt.step_count == 2
    torch.testing.assert_close(c0 - c.detach(), 2.0 * gc, rtol=1e-5,
                               atol=1e-6)
    assert opt.state[c]["step"] == 1 and opt.state[a]["step"] == 1


def test_closure_runs_with_grad(gen: torch.Generator) -> None:
    w = nn.Parameter(torch.randn(6, generator=gen))
    x = torch.randn(6, generator=gen)
    opt = FAM([w], lr=0.1, alpha=0.0)
    w0 = w.detach().clone()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (w * x).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(float((w0 * x).sum()), rel=1e-6)
    torch.testing.assert_close(w.detach(), w0 - 0.1 * x, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------
# (5) torch.optim.lr_scheduler drives the rate.


@pytest.mark.parametrize("kind", ["step", "lambda"])
def test_lr_scheduler_sets_the_rate(gen: torch.Generator, kind: str) -> None:
    net = Net()
    opt = FAM(net.named_parameters(), lr=0.4, fam_start_step=1000)
    if kind == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        factor = lambda s: 0.5 ** (s // 2)  # noqa: E731
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s))
        factor = lambda s: 1 / (1 + s)  # noqa: E731
    for s in range(6):
        before = {}
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = grad_like(p, gen)
                before[p] = p.detach().clone()
        opt.step()
        for gi, group in enumerate(opt.param_groups):
            lr = 0.4 * factor(s) * group["lr_scale"]
            assert opt.current_lr(gi) == pytest.approx(lr, rel=1e-12)
            for p in group["params"]:
                delta = (p.detach() - before[p]).double()
                m = opt.state[p]["momentum"].double()
                torch.testing.assert_close(delta, -lr * m, rtol=1e-5,
                                           atol=1e-6)
        sched.step()


# ---------------------------------------------------------------------------
# (6) state_dict round trip.


def test_state_dict_resumes_bit_identically(gen: torch.Generator) -> None:
    settings = dict(lr=0.05, weight_decay=1e-3, fam_start_step=5,
                    min_size=64, seed=3)
    a = make_named(gen, MODEL)
    opt = FAM(a, **settings)
    for _ in range(12):
        set_grads([a], gen)
        opt.step()
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    b = clone_named(a)
    # Another optimizer over b that has stepped already: its state goes.
    other = FAM(b, **settings)
    set_grads([b], gen)
    other.step()
    for (_, p), (_, q) in zip(a, b):
        q.data.copy_(p.data)
    buf.seek(0)
    other.load_state_dict(torch.load(buf))
    assert other.step_count == opt.step_count == 12
    for (name, p), (_, q) in zip(a, b):
        if opt.state.get(p):
            assert other.state[q]["momentum"].dtype == torch.float32, name
            assert other.state[q]["momentum"] is not opt.state[p]["momentum"]
        else:
            assert not other.state.get(q), name
    # And a deep copy of parameters and optimizer together.
    c, copied = copy.deepcopy((a, opt))
    assert copied.step_count == 12
    for _ in range(12):
        set_grads([a, b, c], gen)
        opt.step()
        other.step()
        copied.step()
    for (name, p), (_, q), (_, r) in zip(a, b, c):
        assert torch.equal(p, q) and torch.equal(p, r), name
        if opt.state.get(p):
            for key in ("momentum", "ema"):
                x, y = opt.state[p][key], other.state[q][key]
                assert (x is None and y is None) or torch.equal(x, y), name
            assert opt.state[p]["alpha_eff"] == other.state[q]["alpha_eff"]
            assert opt.state[p]["step"] == other.state[q]["step"], name


# ---------------------------------------------------------------------------
# (7) Bad input.


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=-1.0), ValueError, r"lr must be >= 0, got -1\.0"),
    (dict(alpha=1.0), ValueError, r"alpha must be in \[0, 1\), got 1\.0"),
    (dict(beta=-0.1), ValueError, r"beta must be in \[0, 1\)"),
    (dict(eps=-1e-8), ValueError, r"eps must be >= 0"),
    (dict(weight_decay=-0.5), ValueError, r"weight_decay must be >= 0"),
    (dict(n_bands=0), ValueError, r"n_bands must be >= 1, got 0"),
    (dict(n_bands=2.5), TypeError, r"n_bands must be an int, got 2\.5"),
    (dict(handler="fast"), ValueError,
     r"handler must be one of 'default', .*got 'fast'"),
    (dict(band_layout="mel"), ValueError, r"band_layout must be one of"),
    (dict(lr_scale=-1), ValueError, r"lr_scale must be >= 0"),
    (dict(lr=float("nan")), ValueError, r"lr must be finite"),
    (dict(fam_start_step=-1), ValueError, r"fam_start_step must be >= 0"),
    (dict(min_size=-2), ValueError, r"min_size must be >= 0"),
    (dict(seed=2**64), ValueError, r"seed must fit in 64 bits"),
    (dict(warmup_steps=1.5), TypeError, r"warmup_steps must be an int"),
    (dict(eta_min=-1.0), ValueError, r"eta_min must be >= 0"),
    (dict(reference="yes"), TypeError, r"reference must be a bool"),
])
def test_bad_options(kwargs: Dict, error: type, match: str) -> None:
    p = nn.Parameter(torch.zeros(4))
    with pytest.raises(error, match=r"rotary\.optim\.FAM: " + match):
        FAM([p], **kwargs)


def test_bad_params() -> None:
    p, q = nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(3))
    with pytest.raises(TypeError, match=r"FAM: params must be an iterable"):
        FAM(p)
    with pytest.raises(ValueError, match=r"FAM: got an empty parameter list"):
        FAM([])
    with pytest.raises(TypeError, match=r"FAM: params starts with \(name, "
                       r"tensor\) pairs, but item 1 is Parameter"):
        FAM([("w", p), q])
    with pytest.raises(ValueError, match=r"FAM: parameters 'a' and 'b' are "
                       "the same tensor"):
        FAM([("a", p), ("b", p)])
    with pytest.raises(ValueError, match=r"group 0 holds a tensor more than"):
        FAM([p, q, p])
    with pytest.raises(ValueError, match=r"FAM: parameter group 1 holds a "
                       "tensor of parameter group 0"):
        FAM([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match=r"seed is an optimizer-wide option;"
                       r" pass it to FAM\(...\), not in parameter group 1"):
        FAM([{"params": [p]}, {"params": [q], "seed": 3}])
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\) "
                       r"\(parameter group 1\), got 1\.5"):
        FAM([{"params": [p]}, {"params": [q], "alpha": 1.5}])
    opt = FAM([p])
    with pytest.raises(TypeError, match=r"an ordered collection, not a set"):
        opt.add_param_group({"params": {q}})
    assert len(opt.param_groups) == 1


def make_two_groups(gen: torch.Generator, reference: bool = False
                    ) -> Tuple[FAM, List[nn.Parameter]]:
    """Two groups that have stepped 3 times past fam_start_step."""
    ps = [nn.Parameter(torch.randn(300, generator=gen)),
          nn.Parameter(torch.randn(20, 15, generator=gen))]
    opt = FAM([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.2}],
              fam_start_step=1, min_size=10, reference=reference)
    for _ in range(3):
        for p in ps:
            p.grad = grad_like(p, gen)
        opt.step()
    for p in ps:
        p.grad = grad_like(p, gen)
    return opt, ps


def snapshot(opt: FAM, ps: List[nn.Parameter]) -> List:
    out: List = [opt.step_count]
    for p in ps:
        st = opt.state[p]
        out += [p.detach().clone(), st["momentum"].clone(), st["ema"].clone(),
                st["alpha_eff"], st["step"]]
    return out


def assert_unchanged(old: List, new: List) -> None:
    assert len(old) == len(new)
    for x, y in zip(old, new):
        assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y


@pytest.mark.parametrize("bad, error, match", [
    ("shape", ValueError,
     r"the gradient of 'param1' has shape \[5\], the parameter \[20, 15\]"),
    ("int_grad", TypeError,
     r"the gradient of 'param1' must be a floating-point tensor, got Int"),
    ("alpha", ValueError,
     r"alpha must be in \[0, 1\) \(parameter group 1\), got 2\.0"),
    ("n_bands", ValueError, r"the band EMA of 'param1' must be a float32 "
     r"tensor of shape \[6\] \(the group's n_bands\) on cpu, got Float \[8\]"),
])
def test_bad_step_changes_nothing(gen: torch.Generator, bad: str,
                                  error: type, match: str) -> None:
    opt, ps = make_two_groups(gen)
    if bad == "shape":
        ps[1].grad.data = torch.zeros(5)
    elif bad == "int_grad":
        ps[1].grad.data = torch.zeros(20, 15, dtype=torch.int32)
    elif bad == "alpha":
        opt.param_groups[1]["alpha"] = 2.0
    else:
        opt.param_groups[1]["n_bands"] = 6
    old = snapshot(opt, ps)
    with pytest.raises(error, match=r"rotary\.optim\.FAM: " + match):
        opt.step()
    # Group 0's parameter, whose gradient is fine, has not moved either.
    assert_unchanged(old, snapshot(opt, ps))


def test_bad_parameter_dtype_and_layout() -> None:
    p = nn.Parameter(torch.zeros(4, dtype=torch.float64))
    p.grad = torch.ones(4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"rotary\.optim\.FAM: parameter "
                       r"'param0' must be float32, float16 or bfloat16, got "
                       "Double"):
        FAM([p]).step()
    assert torch.equal(p.detach(), torch.zeros(4, dtype=torch.float64))
    # The reference path takes float64 (and computes in float32).
    FAM([p], lr=0.5, alpha=0.0, reference=True).step()
    torch.testing.assert_close(p.detach(), torch.full((4,), -0.5,
                                                      dtype=torch.float64))
    q = nn.Parameter(torch.zeros(4, 3).t())
    q.grad = torch.ones(3, 4)
    with pytest.raises(ValueError, match=r"parameter 'w' must be a contiguous "
                       r"CPU or CUDA tensor, got Float \[3, 4\] on cpu "
                       r"\(non-contiguous\)"):
        FAM([("w", q)]).step()


def test_bad_state_dict_changes_nothing(gen: torch.Generator) -> None:
    opt, ps = make_two_groups(gen)
    good = opt.state_dict()
    old = snapshot(opt, ps)
    bad = copy.deepcopy(good)
    bad["state"][1]["momentum"] = torch.zeros(15, 20)
    with pytest.raises(ValueError, match=r"FAM: the saved momentum of "
                       r"'param1' must be a floating-point tensor of shape "
                       r"\[20, 15\], got torch.float32 \[15, 20\]"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(good)
    bad["state"][0]["ema"] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"saved band EMA of 'param0' must "
                       r"be None or a floating-point tensor of shape \[8\]"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(good)
    del bad["fam_step"]
    with pytest.raises(ValueError, match=r"no step count 'fam_step'"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(good)
    bad["param_groups"].pop()
    with pytest.raises(ValueError, match=r"the state dict has 1 parameter "
                       r"groups, the optimizer 2"):
        opt.load_state_dict(bad)
    assert_unchanged(old, snapshot(opt, ps))
    assert opt.state_dict()["fam_step"] == 3
