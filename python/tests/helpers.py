"""Comparisons shared by the test files."""

import torch


def assert_close(
    got: torch.Tensor,
    want: torch.Tensor,
    rtol: float,
    atol: float,
    what: str,
    scaled: bool = False,
) -> None:
    """|got - want| <= atol + rtol·|want| elementwise (atol times
    max(1, max|want|) when ``scaled``)."""
    assert got is not None, f"{what}: no gradient"
    got, want = got.detach().double(), want.detach().double()
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert torch.isfinite(got).all(), f"{what}: not finite"
    if scaled and want.numel():
        atol *= max(1.0, want.abs().max().item())
    diff = (got - want).abs()
    bad = diff > atol + rtol * want.abs()
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {bad.numel()} elements off, "
        f"max |diff| {diff.max().item():.3g}"
    )
