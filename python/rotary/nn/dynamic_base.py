"""The RoPE base scheduled from the training loss.

The Python face of ``rotary.nn.DynamicBase`` (torch/DynamicBase.cpp,
docs/Math.md §9): the same rule, options, checks and saved state.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Union

import torch

from .rope import Rope, _num

__all__ = ["DynamicBase"]

_STATE_KEYS = ("base", "smoothed_loss", "best", "steps", "bad_steps", "cooldown_left")


class DynamicBase:
    r"""Adjusts the base of :class:`Rope` modules from the training loss.

    Like a learning-rate scheduler on a plateau. Each :meth:`step` smooths
    the loss with an EMA, l̃ ← smoothing·l̃ + (1 - smoothing)·loss (the first
    loss as is). A step improves when l̃ < best - threshold·|best|; it then
    becomes the best, otherwise it counts as a bad step. During a cooldown
    the base stays and bad steps are not counted. After `patience` bad steps
    the base becomes clamp(base·factor, min_base, max_base); when that
    changes it, a cooldown of `cooldown` steps starts and the best is reset
    to the current l̃ (a new base changes the loss landscape). Every change
    reaches the modules through :meth:`Rope.set_base`, which needs no
    recompile, so the modules cannot have learnable frequencies.

    Parameters
    ----------
    ropes : Rope or iterable of Rope
        The modules scheduled together; all start from the first one's
        base, clamped to [min_base, max_base].
    min_base, max_base : float
        The range of the base (0 < min_base <= max_base < inf).
    factor : float
        > 0, != 1: > 1 grows the base (longer wavelengths) on a plateau.
    patience : int
        Bad steps (>= 1) before a change.
    threshold : float
        Relative improvement of the smoothed loss that counts.
    cooldown : int
        Steps (>= 0) after a change during which the base stays.
    smoothing : float
        EMA weight of the past, in [0, 1) (0: the raw loss).

    Examples
    --------
    >>> rq, rk = Rope(64), Rope(64)
    >>> sched = DynamicBase([rq, rk], patience=100)
    >>> # in the training loop: sched.step(loss.item())
    """

    def __init__(
        self,
        ropes: Union[Rope, Iterable[Rope]],
        *,
        min_base: float = 500.0,
        max_base: float = 1e6,
        factor: float = 2.0,
        patience: int = 50,
        threshold: float = 1e-3,
        cooldown: int = 20,
        smoothing: float = 0.9,
    ) -> None:
        ropes = [ropes] if isinstance(ropes, Rope) else list(ropes)
        if not ropes:
            raise ValueError("rotary.nn.DynamicBase: no Rope modules")
        for r in ropes:
            if not isinstance(r, Rope):
                raise TypeError(
                    "rotary.nn.DynamicBase: ropes must be rotary.nn.Rope "
                    f"modules, got {type(r).__name__}"
                )
        min_base, max_base = float(min_base), float(max_base)
        factor, threshold, smoothing = float(factor), float(threshold), float(smoothing)
        if not (0 < min_base <= max_base and math.isfinite(max_base)):
            raise ValueError(
                "rotary.nn.DynamicBase: need 0 < min_base <= max_base < inf, "
                f"got [{_num(min_base)}, {_num(max_base)}]"
            )
        if not (factor > 0 and factor != 1 and math.isfinite(factor)):
            raise ValueError(
                "rotary.nn.DynamicBase: factor must be positive and not 1, got "
                f"{_num(factor)}"
            )
        if int(patience) != patience or int(cooldown) != cooldown or not (
            patience >= 1 and cooldown >= 0
        ):
            raise ValueError(
                "rotary.nn.DynamicBase: patience must be >= 1 and cooldown >= 0 "
                f"(integers), got {patience} and {cooldown}"
            )
        if not (0 <= smoothing < 1):
            raise ValueError(
                "rotary.nn.DynamicBase: smoothing must be in [0, 1), got "
                f"{_num(smoothing)}"
            )
        self.ropes: List[Rope] = ropes
        self.min_base = min_base
        self.max_base = max_base
        self.factor = factor
        self.patience = int(patience)
        self.threshold = threshold
        self.cooldown = int(cooldown)
        self.smoothing = smoothing
        self._base = self._clamp(ropes[0].base)
        self._smoothed = 0.0
        self._best = 0.0
        self._steps = 0
        self._bad_steps = 0
        self._cooldown_left = 0
        self._push_base()

    def _clamp(self, base: float) -> float:
        return min(max(float(base), self.min_base), self.max_base)

    def _push_base(self) -> None:
        for r in self.ropes:
            r.set_base(self._base)

    @property
    def base(self) -> float:
        """The base in use."""
        return self._base

    @property
    def smoothed_loss(self) -> float:
        """The EMA of the losses so far."""
        return self._smoothed

    @property
    def steps(self) -> int:
        """The number of steps taken."""
        return self._steps

    def step(self, loss: Union[float, torch.Tensor]) -> float:
        """Takes this step's training loss (finite; a float or a one-element
        tensor); returns the base in use for the next step."""
        loss = float(loss)
        if not math.isfinite(loss):
            raise ValueError(
                f"rotary.nn.DynamicBase: the loss is {_num(loss)}; the base is "
                f"left at {_num(self._base)}"
            )
        s = self.smoothing
        self._smoothed = loss if self._steps == 0 else s * self._smoothed + (1 - s) * loss
        self._steps += 1
        if self._steps == 1 or self._smoothed < self._best - self.threshold * abs(
            self._best
        ):
            self._best = self._smoothed
            self._bad_steps = 0
        else:
            self._bad_steps += 1
        if self._cooldown_left > 0:
            self._cooldown_left -= 1
            self._bad_steps = 0
            return self._base
        if self._bad_steps >= self.patience:
            nxt = self._clamp(self._base * self.factor)
            self._bad_steps = 0
            if nxt != self._base:
                self._base = nxt
                self._cooldown_left = self.cooldown
                # A new base changes the loss landscape: measure improvement anew.
                self._best = self._smoothed
                self._push_base()
        return self._base

    def state_dict(self) -> Dict[str, Any]:
        """The scheduler's state (plain numbers; torch.save-able)."""
        return {
            "base": self._base,
            "smoothed_loss": self._smoothed,
            "best": self._best,
            "steps": self._steps,
            "bad_steps": self._bad_steps,
            "cooldown_left": self._cooldown_left,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a :meth:`state_dict` and pushes the restored base
        (clamped to this scheduler's range) to the modules."""
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise ValueError(
                "rotary.nn.DynamicBase: the state lacks "
                + ", ".join(missing)
                + "; expected the keys "
                + ", ".join(_STATE_KEYS)
            )
        self._base = self._clamp(float(state["base"]))
        self._smoothed = float(state["smoothed_loss"])
        self._best = float(state["best"])
        self._steps = int(state["steps"])
        self._bad_steps = int(state["bad_steps"])
        self._cooldown_left = int(state["cooldown_left"])
        self._push_base()

    def __repr__(self) -> str:
        return (
            f"DynamicBase(base={_num(self._base)}, ropes={len(self.ropes)}, "
            f"range=[{_num(self.min_base)}, {_num(self.max_base)}], "
            f"factor={_num(self.factor)}, patience={self.patience}, "
            f"cooldown={self.cooldown}, steps={self._steps})"
        )
