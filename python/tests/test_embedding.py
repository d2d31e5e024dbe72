"""rotary.nn.LearnedSinusoidalEmbedding and rotary.nn.embedding.checkpoint."""

from __future__ import annotations

import io

import pytest
import torch

from rotary.nn import LearnedSinusoidalEmbedding
from rotary.nn.embedding import checkpoint

F64 = torch.float64




def close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> None:
    torch.testing.assert_close(
        actual.detach().to(F64), expected.detach().to(F64), rtol=rtol, atol=atol
    )


def embedding64(
    positions: torch.Tensor, w: torch.Tensor, b: torch.Tensor, normalize: bool
) -> torch.Tensor:
    """normalize([cos θ, sin θ]), θ = p·w + b, straight from the definition."""
    theta = positions.to(F64).unsqueeze(-1) * w + b
    e = torch.cat([torch.cos(theta), torch.sin(theta)], -1)
    if normalize:
        e = e / torch.sqrt((e * e).sum(-1, keepdim=True))
    return e


def make(dim: int, **kw) -> LearnedSinusoidalEmbedding:
    emb = LearnedSinusoidalEmbedding(dim, **kw)
    with torch.no_grad():
        emb.phase.uniform_(-1, 1)
        emb.frequency.mul_(torch.empty_like(emb.frequency).uniform_(0.5, 1.5))
    return emb


@pytest.mark.parametrize("shape", [(1,), (7,), (1, 1), (3, 5)])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("ckpt", [False, True])
def test_compiled_reference_and_checkpointed(shape, normalize: bool, ckpt: bool) -> None:
    dim = 6
    emb = make(dim, normalize=normalize, checkpoint=ckpt)
    ref = LearnedSinusoidalEmbedding(dim, normalize=normalize, checkpoint=ckpt, reference=True)
    ref.load_state_dict(emb.state_dict())
    p = torch.randint(0, 100000, shape)
    w64 = emb.frequency.detach().to(F64).requires_grad_(True)
    b64 = emb.phase.detach().to(F64).requires_grad_(True)
    e64 = embedding64(p, w64, b64, normalize)
    de = torch.randn(e64.shape)
    (e64 * de.to(F64)).sum().backward()
    for module in (emb, ref):
        e = module(p)
        assert e.shape == (*shape, dim) and e.dtype == torch.float32
        (e * de).sum().backward()
        close(e, e64, 1e-5, 1e-5)
        # dw sums p·(...) over positions up to 1e5.
        close(module.frequency.grad, w64.grad, 1e-4, 1e-5 * 1e5 * p.numel())
        close(module.phase.grad, b64.grad, 1e-4, 1e-5 * p.numel())


def test_checkpoint_recomputes_in_the_backward() -> None:
    calls = []
    a = torch.randn(4, requires_grad=True)
    b = torch.randn(4)

    def fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        calls.append(torch.is_grad_enabled())
        return (torch.sin(a) * b).sum()

    y = checkpoint(fn, [a, b])
    assert calls == [False]
    (g,) = torch.autograd.grad(y, [a])  # .grad works through it
    assert calls == [False, True]
    close(g, torch.cos(a) * b, 1e-6, 1e-6)


def test_checkpoint_keeps_only_the_inputs() -> None:
    emb = make(6, checkpoint=True)
    p = torch.randint(0, 1000, (3, 5))
    packed = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        packed.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        e = emb(p)
    assert sorted(packed) == sorted([(3, 5), (3,), (3,)])
    e.sum().backward()
    plain = LearnedSinusoidalEmbedding(6)
    plain.load_state_dict(emb.state_dict())
    plain(p).sum().backward()
    close(emb.frequency.grad, plain.frequency.grad, 1e-6, 1e-6)
    close(emb.phase.grad, plain.phase.grad, 1e-6, 1e-6)


@pytest.mark.parametrize("dim", [2, 4, 10])
def test_gradcheck_reference_path(dim: int) -> None:
    emb = LearnedSinusoidalEmbedding(dim, reference=True).double()
    p = torch.randint(0, 50, (2, 3))
    w = (emb.frequency.detach() * 1.3).requires_grad_(True)
    b = torch.randn(dim // 2, dtype=F64, requires_grad=True)

    def fn(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.nn.utils.stateless.functional_call(emb, {"frequency": w, "phase": b}, (p,))

    assert torch.autograd.gradcheck(fn, (w, b))
    e = emb(p)
    assert e.dtype == F64
    close(e, embedding64(p, emb.frequency.detach(), emb.phase.detach(), True), 1e-12, 1e-12)


def test_initialisation_and_state_dict() -> None:
    emb = LearnedSinusoidalEmbedding(8, base=100.0)
    i = torch.arange(4, dtype=F64)
    close(emb.frequency, 100.0 ** (-2 * i / 8), 1e-6, 0)
    assert torch.equal(emb.phase, torch.zeros(4))
    # At p = 0 the unnormalised embedding is [1, ..., 1, 0, ..., 0].
    raw = LearnedSinusoidalEmbedding(8, normalize=False)
    at0 = raw(torch.zeros(1, dtype=torch.int64))
    assert torch.equal(at0, torch.tensor([[1.0] * 4 + [0.0] * 4]))
    a = make(6)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = LearnedSinusoidalEmbedding(6)
    b.load_state_dict(torch.load(buf))
    p = torch.randint(0, 100, (7,))
    assert torch.equal(a(p), b(p))
    assert set(a.state_dict()) == {"frequency", "phase"}


def test_bad_input() -> None:
    emb = LearnedSinusoidalEmbedding(6)
    with pytest.raises(TypeError,
                       match="LearnedSinusoidalEmbedding: positions must be int64, got Int"):
        emb(torch.arange(3, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"positions must be \[T\], got \[\]"):
        emb(torch.tensor(3))
    with pytest.raises(ValueError, match=r"positions must be \[T\], got \[1, 2, 3\]"):
        emb(torch.zeros(1, 2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="positions is on meta"):
        emb(torch.empty(3, dtype=torch.int64, device="meta"))
    with pytest.raises(ValueError, match="positions must be contiguous"):
        emb(torch.zeros(4, 3, dtype=torch.int64).t())
    with pytest.raises(ValueError, match="dim must be even and >= 2, got 5"):
        LearnedSinusoidalEmbedding(5)
    with pytest.raises(ValueError, match="base must be positive and finite, got 0"):
        LearnedSinusoidalEmbedding(4, base=0.0)
