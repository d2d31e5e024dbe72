"""rotary.compile / rotary.load: any rotary IR as callables on tensors.

The compiled entries are checked against plain PyTorch written here (the
half-layout RoPE and a Givens chain), forward and through the compiled vjp.
"""

import json
import os
import subprocess
import sys

import pytest
import torch

import rotary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")

GIVENS_IR = """
func.func @chain(%x: tensor<?x?xf32>, %angles: tensor<?xf32>) -> tensor<?x?xf32> {
  %y = rotary.givens %x, %angles pairs = [(0, 1), (1, 2), (0, 2)]
      : tensor<?x?xf32>, tensor<?xf32>
  return %y : tensor<?x?xf32>
}
"""


def rope_half(x, positions, inv_freq, phase, scale):
    """x [B, T, H, D]: pairs (i, i + D/2) rotated by scale*p*f_i + phase_i."""
    d = x.shape[-1]
    theta = scale.double() * positions.double()[:, None] * inv_freq.double() + phase.double()
    cos, sin = theta.cos()[None, :, None, :], theta.sin()[None, :, None, :]
    a, b = x.double()[..., : d // 2], x.double()[..., d // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], -1)


def givens_chain(x, angles, pairs):
    """x [N, D] times G_1 G_2 ... : row entries (i, j) of pair k become
    (x_i cos + x_j sin, -x_i sin + x_j cos)."""
    y = x.double()
    for (i, j), a in zip(pairs, angles.double()):
        c, s = a.cos(), a.sin()
        yi, yj = y[:, i].clone(), y[:, j].clone()
        y = y.clone()
        y[:, i] = yi * c + yj * s
        y[:, j] = -yi * s + yj * c
    return y


@pytest.fixture(scope="module")
def rope_bundle():
    return rotary.compile(os.path.join(EXAMPLES, "rope.mlir"))


@pytest.mark.parametrize("shape", [(1, 1, 1, 2), (2, 7, 3, 10), (3, 16, 2, 64)])
def test_compiled_rope_forward_and_vjp(rope_bundle, shape):
    b, t, h, d = shape
    x = torch.randn(shape, requires_grad=True)
    positions = torch.randint(0, 5000, (t,))
    inv_freq = torch.rand(d // 2, requires_grad=True)
    phase = torch.randn(d // 2, requires_grad=True)
    scale = torch.tensor(0.7, requires_grad=True)
    y = rope_bundle.rope_learned(x, positions, inv_freq, phase, scale)
    ref_inputs = [v.detach().double().requires_grad_() for v in (x, inv_freq, phase, scale)]
    ref = rope_half(ref_inputs[0], positions, *ref_inputs[1:])
    assert y.dtype == torch.float32 and y.shape == x.shape
    torch.testing.assert_close(y.double(), ref, atol=2e-5, rtol=1e-5)
    cot = torch.randn(shape)
    (y * cot).sum().backward()
    (ref * cot.double()).sum().backward()
    for got, want in zip((x, inv_freq, phase, scale), ref_inputs):
        torch.testing.assert_close(got.grad.double(), want.grad, atol=5e-3, rtol=1e-3)


def test_entries_and_describe(rope_bundle):
    assert {"rope", "rope_learned", "rope_learned_bwd"} <= set(rope_bundle.entries)
    assert "rope_learned" in rope_bundle
    entry = rope_bundle["rope_learned"]
    assert entry.differentiable
    text = repr(entry)
    assert "rope_learned(" in text and "f32" in text and "i64" in text
    with pytest.raises(KeyError, match="has no entry 'nope'"):
        rope_bundle["nope"]
    with pytest.raises(AttributeError, match="has no entry 'nope'"):
        rope_bundle.nope


def test_compile_text_and_no_grad_path():
    bundle = rotary.compile(GIVENS_IR)
    pairs = [(0, 1), (1, 2), (0, 2)]
    for n in (1, 5):
        x = torch.randn(n, 3)
        angles = torch.randn(3)
        y = bundle.chain(x, angles)  # nothing requires grad: no graph
        assert y.grad_fn is None
        torch.testing.assert_close(y.double(), givens_chain(x, angles, pairs), atol=1e-5, rtol=1e-5)
    x = torch.randn(4, 3, requires_grad=True)
    angles = torch.randn(3, requires_grad=True)
    y = bundle.chain(x, angles)
    assert y.grad_fn is not None
    xr, ar = x.detach().double().requires_grad_(), angles.detach().double().requires_grad_()
    cot = torch.randn(4, 3)
    (y * cot).sum().backward()
    (givens_chain(xr, ar, pairs) * cot.double()).sum().backward()
    torch.testing.assert_close(x.grad.double(), xr.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(angles.grad.double(), ar.grad, atol=1e-5, rtol=1e-5)


def test_load_prebuilt_bundle(rope_bundle):
    loaded = rotary.load(rope_bundle.path)
    assert loaded.entries == rope_bundle.entries
    x = torch.randn(2, 3, 4, 8)
    pos = torch.arange(3)
    torch.testing.assert_close(loaded.rope(x, pos), rope_bundle.rope(x, pos), atol=0, rtol=0)


def test_bad_arguments_raise_with_the_message(rope_bundle):
    x = torch.randn(2, 3, 4, 8)
    pos = torch.arange(3)
    with pytest.raises(TypeError, match="argument 'x' must be f32, got f64"):
        rope_bundle.rope(x.double(), pos)
    with pytest.raises(TypeError, match="argument 1 must be a torch.Tensor"):
        rope_bundle.rope(x, [0, 1, 2])
    with pytest.raises(ValueError, match="positions"):
        rope_bundle.rope(x, torch.arange(4))
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        rope_bundle.rope(x)
    with pytest.raises(ValueError, match="is on meta"):
        rope_bundle.rope(torch.empty(2, 3, 4, 8, device="meta"), pos)
    with pytest.raises(ValueError, match="stride"):
        rope_bundle.rope(x.transpose(0, 1), pos)


def test_compile_and_load_errors(tmp_path):
    with pytest.raises(RuntimeError, match="oops"):
        rotary.compile("func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> { oops }")
    # The verifier's message names the operand and the expected shape.
    bad = """func.func @f(%x: tensor<2x8xf32>, %a: tensor<5xf32>) -> tensor<2x8xf32> {
      %y = rotary.givens %x, %a pairs = [(0, 1)] : tensor<2x8xf32>, tensor<5xf32>
      return %y : tensor<2x8xf32>
    }"""
    with pytest.raises(RuntimeError, match="angles"):
        rotary.compile(bad)
    with pytest.raises(RuntimeError, match="rotary"):
        rotary.load(str(tmp_path / "missing"))
    with pytest.raises(TypeError):
        rotary.compile(42)


def test_cache_dir_is_used(tmp_path):
    rotary.set_cache_dir(tmp_path)
    try:
        # A source no other test compiles, so it lands in the new cache.
        bundle = rotary.compile(GIVENS_IR.replace("@chain", "@chain_in_tmp"))
        assert os.path.realpath(bundle.path).startswith(os.path.realpath(str(tmp_path)))
    finally:
        rotary.set_cache_dir(os.environ.get("ROTARY_CACHE_DIR", ""))


@pytest.mark.skipif("ROTARY_TEST_FAKE_CUDA" not in os.environ,
                    reason="needs the build's stand-in CUDA driver")
def test_compile_for_a_cuda_device_adds_its_gpu_code():
    # In a process of its own: the driver (here the stand-in, an sm_80
    # device) is opened once per process.
    script = (
        "import json, os, rotary\n"
        f"bundle = rotary.compile({GIVENS_IR!r}, device='cuda:0')\n"
        "with open(os.path.join(bundle.path, 'manifest.json')) as f:\n"
        "    print(json.load(f)['gpu']['objects'][0]['chip'])\n"
        "try:\n"
        f"    rotary.compile({GIVENS_IR!r}, device='cuda:7')\n"
        "except RuntimeError as e:\n"
        "    print(e)\n")
    env = dict(os.environ, ROTARY_LIBCUDA=os.environ["ROTARY_TEST_FAKE_CUDA"],
               ROTARY_FAKE_CUDA_CC="80")
    run = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "sm_80"
    assert "rotary: cannot compile for cuda:7" in lines[1]
    # The CPU bundle of the same source has no GPU code.
    with open(os.path.join(rotary.compile(GIVENS_IR).path, "manifest.json")) as f:
        assert "gpu" not in json.load(f)
