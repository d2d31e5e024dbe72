"""What the module files share: compiled model kernels and argument checks."""

from __future__ import annotations

import threading
from typing import Dict, List, Sequence, Tuple

import torch

from rotary import _C

_lock = threading.Lock()
_kernels: Dict[Tuple, "_C.Bundle"] = {}
_targets: Dict[torch.device, str] = {}


def compiled(kind: str, device: torch.device, **config) -> "_C.Bundle":
    """The compiled bundle of a model kernel configuration for ``device``.

    ``kind`` and ``config`` are those of ``rotary._C.kernel_source`` (the
    C++ model library's kernel structs). For a CUDA device the bundle also
    holds GPU code for that GPU's architecture. Bundles are kept per
    configuration and architecture for the process, so a forward pays
    neither IR building nor a cache lookup after the first call.
    """
    with _lock:
        target = _targets.get(device)
        if target is None:
            target = _C.kernel_target(str(device))
            _targets[device] = target
        key = (kind, target) + tuple(sorted(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in config.items()))
        bundle = _kernels.get(key)
        if bundle is None:
            bundle = _C.compile(_C.kernel_source(kind, config), target)
            _kernels[key] = bundle
        return bundle


def run(bundle: "_C.Bundle", entry: str, tensors: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Runs ``entry`` with autograd through the bundle's compiled vjp."""
    return bundle.apply(entry, list(tensors))


def _who(module: str) -> str:
    """The name messages give a layer: "Rope" -> "rotary.nn.Rope"."""
    return module if "." in module else "rotary.nn." + module


def data_dtype(module: str, arg: str, t: torch.Tensor) -> str:
    """``"f32"``, ``"f16"`` or ``"bf16"``; ``TypeError`` for other dtypes."""
    return _C.data_dtype(_who(module), arg, t)


def check_tensor(module: str, arg: str, t: torch.Tensor, names: Sequence[str],
                 sizes: Sequence[int] = ()) -> None:
    """Rank, sizes (-1: any), device (CPU or CUDA) and contiguity;
    ``ValueError`` otherwise.

    ``module`` names the caller in the message ("Rope" reads
    "rotary.nn.Rope").
    """
    _C.check_tensor(_who(module), arg, t, list(names), list(sizes))
