"""rotary.nn.QuaternionRotation against a rotation-matrix reference."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch.nn.utils.stateless import functional_call

from rotary.nn import QuaternionRotation

F64 = torch.float64




def close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> None:
    torch.testing.assert_close(
        actual.detach().to(F64), expected.detach().to(F64), rtol=rtol, atol=atol
    )


def rodrigues(
    x: torch.Tensor, P: torch.Tensor, axis: torch.Tensor, angle: torch.Tensor
) -> torch.Tensor:
    """y = ((x·P)·Rᵀ)·Pᵀ with Rodrigues' matrix
    R = cos θ·I + sin θ·[u]× + (1 - cos θ)·u·uᵀ, u = axis/|axis|."""
    u = axis / axis.norm()
    zero = torch.zeros((), dtype=u.dtype)
    ux = torch.stack([
        torch.stack([zero, -u[2], u[1]]),
        torch.stack([u[2], zero, -u[0]]),
        torch.stack([-u[1], u[0], zero]),
    ])
    c, s = torch.cos(angle), torch.sin(angle)
    R = c * torch.eye(3, dtype=u.dtype) + s * ux + (1 - c) * torch.outer(u, u)
    return (x @ P) @ R.T @ P.T


def make(dim: int, **kw) -> QuaternionRotation:
    m = QuaternionRotation(dim, **kw)
    with torch.no_grad():
        m.angle.fill_(float(torch.empty(()).uniform_(-3, 3)))
    return m


@pytest.mark.parametrize("dim,shape", [(3, (5,)), (5, ()), (5, (1,)), (4, (2, 3)), (7, (2, 1, 4))])
def test_compiled_and_reference_against_rodrigues(dim: int, shape) -> None:
    m = make(dim)
    ref = QuaternionRotation(dim, reference=True)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(*shape, dim)
    dy = torch.randn_like(x)
    leaves = {n: p.detach().to(F64).requires_grad_(True) for n, p in m.named_parameters()}
    x64 = x.to(F64).requires_grad_(True)
    y64 = rodrigues(x64, leaves["projection"], leaves["axis"], leaves["angle"])
    (y64 * dy.to(F64)).sum().backward()
    for module in (m, ref):
        xg = x.clone().requires_grad_(True)
        y = module(xg)
        assert y.shape == x.shape and y.dtype == torch.float32
        (y * dy).sum().backward()
        close(y, y64, 1e-5, 1e-5)
        close(xg.grad, x64.grad, 1e-5, 1e-5)
        n = max(1, x.numel() // dim)
        for name, p in module.named_parameters():
            close(p.grad, leaves[name].grad, 1e-4, 1e-5 * n)


def test_rotation_keeps_norms_and_the_orthogonal_complement() -> None:
    m = make(6)
    P = m.projection.detach()
    assert torch.allclose(P.T @ P, torch.eye(3), atol=1e-6)  # orthonormal columns
    x = torch.randn(10, 6)
    y = m(x)
    # y = rotate(x·P)·Pᵀ: lengths within the subspace are kept, and its
    # orthogonal complement is projected away.
    close((y @ P).norm(dim=-1), (x @ P).norm(dim=-1), 1e-5, 1e-5)
    close(y - (y @ P) @ P.T, torch.zeros_like(y), 0, 1e-5)
    with torch.no_grad():
        m.angle.zero_()
    close(m(x), (x @ P) @ P.T, 1e-5, 1e-6)
    with torch.no_grad():
        m.angle.fill_(2 * math.pi)
    close(m(x), (x @ P) @ P.T, 1e-5, 1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(dtype: torch.dtype) -> None:
    m = make(5)
    ref = QuaternionRotation(5, reference=True)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(3, 4, 5).to(dtype)
    xg = x.clone().requires_grad_(True)
    y = m(xg)
    y.float().sum().backward()
    assert y.dtype == dtype and xg.grad.dtype == dtype
    tol = 1e-2 if dtype == torch.float16 else 4e-2
    close(y, ref(x), tol, tol)
    close(y, rodrigues(x.to(F64), m.projection.detach().to(F64), m.axis.detach().to(F64),
                       m.angle.detach().to(F64)), tol, tol)


def test_gradcheck_reference_path() -> None:
    m = QuaternionRotation(4, angle_init=0.7, reference=True).double()
    x = torch.randn(2, 3, 4, dtype=F64, requires_grad=True)
    params = {n: p.detach().clone().requires_grad_(True) for n, p in m.named_parameters()}
    names = list(params)

    def fn(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        return functional_call(m, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(fn, (x, *params.values()))
    assert m(x).dtype == F64


def test_state_dict_and_optimizer() -> None:
    a = make(5, angle_init=0.3)
    assert set(a.state_dict()) == {"projection", "axis", "angle"}
    assert a.angle.shape == () and a.axis.shape == (3,) and a.projection.shape == (5, 3)
    assert QuaternionRotation(5, angle_init=0.3).angle.item() == pytest.approx(0.3)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = QuaternionRotation(5)
    b.load_state_dict(torch.load(buf))
    x = torch.randn(4, 5)
    assert torch.equal(a(x), b(x))
    opt = torch.optim.SGD(b.parameters(), lr=0.1)
    before = b.angle.detach().clone()
    (b(x) * torch.randn(4, 5)).sum().backward()
    opt.step()
    assert b.angle.item() != before.item()


def test_bad_input() -> None:
    m = QuaternionRotation(5)
    with pytest.raises(TypeError,
                       match="QuaternionRotation: x must be float32, float16 or bfloat16"):
        m(torch.randn(2, 5, dtype=F64))
    with pytest.raises(ValueError, match=r"x must be \[\.\.\., D\] with D = 5, got \[2, 4\]"):
        m(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"x must be \[\.\.\., D\] with D = 5, got \[\]"):
        m(torch.randn(()))
    with pytest.raises(ValueError, match="x is on meta"):
        m(torch.empty(2, 5, device="meta"))
    with pytest.raises(ValueError, match="x must be contiguous"):
        m(torch.randn(5, 2).t())
    with pytest.raises(ValueError, match="dim must be >= 3, got 2"):
        QuaternionRotation(2)
