"""rotary: compiled rotation-heavy transformer kernels for PyTorch.

rotary compiles the ops of its MLIR dialect (rotary position embeddings and
their variants, HDD-RoPE, Givens rotation chains, local/global attention, the
FAM optimizer update) into fused CPU kernels with compiled backward passes,
and runs them on torch tensors.

- :mod:`rotary.nn`: ``torch.nn.Module`` layers whose forward and backward
  are compiled kernels (``Rope``, ``RotationBlock``, ``HDDRoPE``,
  ``AdaptiveAttention``, ``QuaternionRotation``,
  ``LearnedSinusoidalEmbedding``, and the ``DynamicBase`` scheduler);
  ``reference=True`` runs the same math as plain PyTorch ops.
- :mod:`rotary.optim`: ``FAM``, the frequency-adaptive momentum optimizer.
- :func:`compile` / :func:`load`: any rotary IR, or a prebuilt bundle, as
  Python callables on tensors, differentiable where the bundle has a vjp.

Kernels compile on first use into a cache (``$ROTARY_CACHE_DIR``, default
``~/.cache/rotary``); see :func:`set_cache_dir`.
"""

from rotary import _C
from rotary._bundle import Bundle, Entry, compile, load, set_cache_dir

__version__: str = _C.__version__

from rotary import nn, optim  # noqa: E402  (they import the names above)

__all__ = [
    "Bundle",
    "Entry",
    "compile",
    "load",
    "set_cache_dir",
    "nn",
    "optim",
    "__version__",
]
