"""Layers whose forward and backward are compiled rotary kernels.

Each is a ``torch.nn.Module`` with ordinary ``torch.nn.Parameter``s, so
``state_dict``, ``.to()``, optimizers and hooks work as usual; inputs are
checked (dtype, shape, device, contiguity) before a kernel runs, and
``reference=True`` runs the same math as plain PyTorch ops, differentiated
by autograd. A layer compiles its kernels on its first forward for its
configuration and the input dtype (f32, f16 or bf16); batch and sequence
sizes never cause a recompile.
"""

from rotary.nn.attention import AdaptiveAttention
from rotary.nn.dynamic_base import DynamicBase
from rotary.nn.embedding import LearnedSinusoidalEmbedding
from rotary.nn.hdd_rope import HDDRoPE, so_generator
from rotary.nn.quaternion import QuaternionRotation
from rotary.nn.rope import Rope, rope_frequencies
from rotary.nn.rotation_block import RotationBlock

__all__ = [
    "AdaptiveAttention",
    "DynamicBase",
    "HDDRoPE",
    "LearnedSinusoidalEmbedding",
    "QuaternionRotation",
    "Rope",
    "RotationBlock",
    "rope_frequencies",
    "so_generator",
]
