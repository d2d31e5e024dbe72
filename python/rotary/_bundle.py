"""Compiled bundles as Python callables."""

from __future__ import annotations

import os
from typing import Tuple, Union

import torch

from rotary import _C

__all__ = ["Bundle", "Entry", "compile", "load", "set_cache_dir"]


class Entry:
    """One entry point of a :class:`Bundle`, callable on torch tensors.

    ``entry(*tensors)`` checks every tensor (dtype, shape, device,
    contiguity) against the bundle's manifest before the kernel runs and
    returns a tensor for a one-result entry, else a tuple. When the bundle
    holds the entry's vjp (compiled with gradients) the call is recorded by
    autograd and ``backward()`` runs the compiled vjp; gradients reach every
    floating-point input that requires one.
    """

    def __init__(self, bundle: "Bundle", name: str) -> None:
        self._bundle = bundle
        self.name = name

    @property
    def differentiable(self) -> bool:
        """Whether the bundle holds this entry's compiled vjp."""
        return self._bundle._impl.has_vjp(self.name)

    def __call__(self, *tensors: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        for i, t in enumerate(tensors):
            if not isinstance(t, torch.Tensor):
                raise TypeError(
                    f"rotary: entry '{self.name}': argument {i} must be a "
                    f"torch.Tensor, got {type(t).__name__}")
        impl = self._bundle._impl
        track = self.differentiable and torch.is_grad_enabled() and any(
            t.requires_grad for t in tensors)
        outs = (impl.apply if track else impl.call)(self.name, list(tensors))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __repr__(self) -> str:
        return f"<rotary entry {self._bundle._impl.describe(self.name)}>"


class Bundle:
    """A compiled kernel bundle: a shared library and its manifest.

    Entries are reached as ``bundle["name"]`` or ``bundle.name``; the names
    include the generated gradient entries (``f_bwd``, ``f_fwd``,
    ``f_vjp``) that a bundle compiled with gradients holds.
    """

    def __init__(self, impl: "_C.Bundle") -> None:
        self._impl = impl

    @property
    def path(self) -> str:
        """The bundle's directory."""
        return self._impl.path

    @property
    def entries(self) -> list:
        """The names of the bundle's entry points."""
        return list(self._impl.entries)

    def __getitem__(self, name: str) -> Entry:
        if name not in self._impl.entries:
            raise KeyError(
                f"rotary: the bundle in {self.path} has no entry '{name}' "
                f"(it has: {', '.join(self._impl.entries)})")
        return Entry(self, name)

    def __getattr__(self, name: str) -> Entry:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(e.args[0]) from None

    def __contains__(self, name: str) -> bool:
        return name in self._impl.entries

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._impl.entries))

    def __repr__(self) -> str:
        return f"<rotary.Bundle {self.path}: {', '.join(self._impl.entries)}>"


def compile(source: Union[str, os.PathLike],  # noqa: A001
            device: Union[str, torch.device] = "cpu") -> Bundle:
    """Compiles rotary IR, with its backward entries, into a :class:`Bundle`.

    ``source`` is the text of an MLIR module of ``rotary`` ops (``func.func``
    entries on tensors) or the path of a ``.mlir`` file. For a CUDA
    ``device`` the bundle also holds GPU code for that GPU's architecture
    (asked from the CUDA driver), and its entries take tensors on the CPU
    or on that GPU. The result comes from the kernel cache when the same
    source was compiled before by the same compiler for this CPU (and GPU
    architecture). Compile errors raise ``RuntimeError`` with the
    compiler's diagnostics.

    >>> bundle = rotary.compile('''
    ... func.func @rope(%x: tensor<?x?x?x64xf32>, %pos: tensor<?xi64>)
    ...     -> tensor<?x?x?x64xf32> {
    ...   %y = rotary.rope %x, %pos layout = half
    ...       : tensor<?x?x?x64xf32>, tensor<?xi64>
    ...   return %y : tensor<?x?x?x64xf32>
    ... }''')
    >>> y = bundle.rope(x, torch.arange(x.shape[1]))
    """
    if isinstance(source, os.PathLike) or (
            isinstance(source, str) and "\n" not in source
            and "{" not in source and os.path.isfile(source)):
        with open(os.fspath(source), encoding="utf-8") as f:
            source = f.read()
    if not isinstance(source, str):
        raise TypeError(
            f"rotary.compile: expected IR text or a path, got {type(source).__name__}")
    return Bundle(_C.compile(source, _C.kernel_target(str(torch.device(device)))))


def load(path: Union[str, os.PathLike]) -> Bundle:
    """Loads a prebuilt bundle directory (``rotary-translate`` output)."""
    return Bundle(_C.load(os.fspath(path)))


def set_cache_dir(path: Union[str, os.PathLike]) -> None:
    """Moves this process's kernel cache to ``path`` (created when missing).

    The default is ``$ROTARY_CACHE_DIR``, else ``~/.cache/rotary``. Bundles
    already loaded stay loaded.
    """
    _C.set_cache_dir(os.fspath(path))
