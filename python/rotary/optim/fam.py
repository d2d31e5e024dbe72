"""FAM, the frequency-adaptive momentum optimizer, as a torch Optimizer.

The update runs in the C++ optimizer ``rotary::nn::FAM`` (docs/FAM.md,
docs/Math.md §7) and its compiled kernels, on the very tensors of the Python
parameters: it reads ``p.grad`` and updates ``p`` in place.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import torch

from rotary import _C

__all__ = ["FAM", "HANDLERS", "BAND_LAYOUTS"]

_WHO = "rotary.optim.FAM"

#: The handler rules that turn band EMAs into the effective momentum.
HANDLERS: Tuple[str, ...] = ("default", "conv", "attention", "embedding")
#: The ways a spectrum is cut into bands.
BAND_LAYOUTS: Tuple[str, ...] = ("linear", "log", "split")

# Options each parameter group holds (rotary::nn::FAMOptions' per-group
# fields) and the optimizer-wide ones (read from the C++ defaults).
_GROUP_KEYS: Tuple[str, ...] = (
    "lr", "alpha", "beta", "eps", "weight_decay", "n_bands", "handler",
    "band_layout", "lr_scale", "group",
)
_SETTING_KEYS: Tuple[str, ...] = (
    "fam_start_step", "min_size", "seed", "warmup_steps", "warmup_start_lr",
    "decay_start_step", "total_steps", "eta_min", "reference",
)
_STATE_KEYS: Tuple[str, ...] = ("step", "momentum", "ema", "alpha_eff")

ParamsT = Union[Iterable[torch.Tensor], Iterable[Dict[str, Any]],
                Iterable[Tuple[str, torch.Tensor]]]


def _real(name: str, value: Any, where: str = "") -> float:
    """``value`` as a finite float; TypeError / ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_WHO}: {name} must be a real number{where}, "
                        f"got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{_WHO}: {name} must be finite{where}, "
                         f"got {value!r}")
    return v


def _integer(name: str, value: Any, where: str = "") -> int:
    """``value`` as an int that fits int64; TypeError / ValueError if not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_WHO}: {name} must be an int{where}, got {value!r}")
    v = int(value)
    if not -(2**63) <= v < 2**63:
        raise ValueError(f"{_WHO}: {name} must fit in 64 bits{where}, got {v}")
    return v


def _at_least(name: str, v: Union[int, float], lo: Union[int, float],
              where: str) -> None:
    if v < lo:
        raise ValueError(f"{_WHO}: {name} must be >= {lo}{where}, got {v!r}")


def _unit(name: str, v: float, where: str) -> None:
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{_WHO}: {name} must be in [0, 1){where}, got {v!r}")


def _choice(name: str, value: Any, choices: Tuple[str, ...],
            where: str) -> str:
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{_WHO}: {name} must be one of {listed}{where}, "
                         f"got {value!r}")
    return value


def _group_options(group: Dict[str, Any], index: Optional[int] = None
                   ) -> Dict[str, Any]:
    """The checked per-group options of ``group`` as the C++ side takes them.

    Parameters
    ----------
    group : dict
        A parameter group (or the defaults) holding every key of
        ``_GROUP_KEYS``.
    index : int, optional
        The group's position, named in messages.
    """
    where = "" if index is None else f" (parameter group {index})"
    o: Dict[str, Any] = {}
    o["lr"] = _real("lr", group["lr"], where)
    _at_least("lr", o["lr"], 0, where)
    o["alpha"] = _real("alpha", group["alpha"], where)
    _unit("alpha", o["alpha"], where)
    o["beta"] = _real("beta", group["beta"], where)
    _unit("beta", o["beta"], where)
    o["eps"] = _real("eps", group["eps"], where)
    _at_least("eps", o["eps"], 0, where)
    o["weight_decay"] = _real("weight_decay", group["weight_decay"], where)
    _at_least("weight_decay", o["weight_decay"], 0, where)
    o["n_bands"] = _integer("n_bands", group["n_bands"], where)
    _at_least("n_bands", o["n_bands"], 1, where)
    o["handler"] = _choice("handler", group["handler"], HANDLERS, where)
    o["band_layout"] = _choice("band_layout", group["band_layout"],
                               BAND_LAYOUTS, where)
    o["lr_scale"] = _real("lr_scale", group["lr_scale"], where)
    _at_least("lr_scale", o["lr_scale"], 0, where)
    if not isinstance(group["group"], str):
        raise TypeError(f"{_WHO}: group must be a str{where}, "
                        f"got {group['group']!r}")
    o["group"] = group["group"]
    return o


def _settings(s: Dict[str, Any]) -> Dict[str, Any]:
    """The checked optimizer-wide options ``s`` (keys ``_SETTING_KEYS``)."""
    o: Dict[str, Any] = {}
    for key in ("fam_start_step", "min_size", "warmup_steps", "total_steps"):
        o[key] = _integer(key, s[key])
        _at_least(key, o[key], 0, "")
    o["seed"] = _integer("seed", s["seed"])
    o["decay_start_step"] = _integer("decay_start_step", s["decay_start_step"])
    for key in ("warmup_start_lr", "eta_min"):
        o[key] = _real(key, s[key])
        _at_least(key, o[key], 0, "")
    if not isinstance(s["reference"], bool):
        raise TypeError(f"{_WHO}: reference must be a bool, "
                        f"got {s['reference']!r}")
    o["reference"] = s["reference"]
    return o


def _is_named(item: Any) -> bool:
    """Whether ``item`` is a (name, tensor) pair like named_parameters()'."""
    return (isinstance(item, (tuple, list)) and len(item) == 2
            and isinstance(item[0], str))


class FAM(torch.optim.Optimizer):
    r"""Frequency-adaptive momentum (docs/FAM.md), run by ``rotary::nn::FAM``.

    Per parameter tensor ``p`` with gradient ``g``, every step:

    1. ``g ← g + weight_decay·p``.
    2. After ``fam_start_step`` steps, and for tensors of more than
       ``min_size`` elements: a sample of ``g`` (all of it up to 10000
       elements, else 64 seeded-random rows × 64 columns, or 1000 elements
       of a 1-D tensor), its magnitude spectrum ``P = |rfft(sample)|``
       normalised to sum 1, cut into ``n_bands`` bands by ``band_layout``;
       the band sums update an EMA ``e ← β·e + (1 − β)·bands``.
    3. The effective momentum ``α'`` follows ``e`` by the group's
       ``handler`` rule (e.g. ``default``: ``min(0.95, α + 0.05)`` when the
       upper half of the bands holds more than 0.3 of the energy); otherwise
       ``α' = α``.
    4. ``m ← α'·m + (1 − α')·g``, ``p ← p − lr_t·lr_scale·m``, in one
       compiled multi-tensor kernel per group (``m`` is float32 whatever
       ``p``'s dtype, which may be float32, float16 or bfloat16).

    The momentum is an average of gradients, not a sum, so FAM moves like
    SGD: learning rates of 0.1–1 are typical where Adam would take 1e-3.

    Parameters
    ----------
    params : iterable
        Tensors (one group with the options below), dicts (parameter groups,
        each with its own ``lr``, ``alpha``, ``beta``, ``eps``,
        ``weight_decay``, ``n_bands``, ``handler``, ``band_layout``,
        ``lr_scale`` or ``group``; its ``params`` may be (name, tensor)
        pairs), or (name, tensor) pairs such as
        ``model.named_parameters()``, grouped by name like the C++ optimizer
        (case-insensitive substrings, first match wins):

        ==========  =========================  ====  =====  ======  =========  ====  ====
        group       names containing           α     bands  layout  handler    lr    wd
        ==========  =========================  ====  =====  ======  =========  ====  ====
        conv        conv, cnn                  0.9   10     log     conv       ×1    ×1
        attention   attention, mha, self_attn  0.92  12     split   attention  ×1    ×1
        embedding   embed, token               0.95  8      linear  embedding  ×0.8  ×1.5
        norm        norm, batch, layer         0.9   4      linear  default    ×1    0
        other       anything else              0.9   8      linear  default    ×1    ×1
        ==========  =========================  ====  =====  ======  =========  ====  ====

        Empty groups are left out. The table sets α, the bands, layout,
        handler and ``lr_scale`` of each group (the arguments of the same
        names are not used); ``lr``, ``beta``, ``eps`` and ``weight_decay``
        come from the arguments. Each group dict carries ``group`` (its
        name) and ``param_names``.
    lr : float
        Peak learning rate of the built-in schedule (group option). LR
        schedulers of ``torch.optim.lr_scheduler`` set it per group; it
        takes effect at the next step.
    alpha : float
        Base momentum α in [0, 1) (group option).
    beta : float
        EMA weight β of the band energies in [0, 1) (group option).
    eps : float
        Added to the spectrum's sum before normalising (group option).
    weight_decay : float
        L2 weight decay, added to the gradient (group option).
    n_bands : int
        Number of bands, >= 1 (group option).
    handler : {"default", "conv", "attention", "embedding"}
        The rule from band EMAs to α' (group option).
    band_layout : {"linear", "log", "split"}
        How the spectrum is cut into bands (group option).
    lr_scale : float
        The group's rate is the schedule times ``lr_scale`` (group option).
    fam_start_step : int
        α' adapts from step ``fam_start_step + 1`` on (optimizer-wide).
    min_size : int
        α' adapts only for tensors of more elements (optimizer-wide).
    seed : int
        Seed of the gradient samples, hashed with the step and the
        parameter's position in the optimizer (optimizer-wide).
    warmup_steps, warmup_start_lr, decay_start_step, total_steps, eta_min
        The built-in schedule at step s = 0, 1, ...: linear from
        ``warmup_start_lr`` to ``lr`` over ``warmup_steps``, then ``lr``
        until ``decay_start_step``, then a half cosine down to ``eta_min``
        at ``total_steps`` (``decay_start_step < 0``, the default, or
        ``total_steps <= decay_start_step``: no decay) (optimizer-wide).
    reference : bool
        Run the spectra and the update with plain LibTorch ops instead of
        the compiled kernels (then float64 parameters are accepted too)
        (optimizer-wide).

    Notes
    -----
    ``self.state[p]`` holds ``step`` (int), ``momentum`` (float32 tensor of
    ``p``'s shape), ``ema`` (float32 ``[n_bands]`` tensor, or None before
    the first spectrum) and ``alpha_eff`` (float, α' of the last step); the
    tensors are the C++ optimizer's own. ``state_dict()`` adds the
    optimizer's step count ``fam_step``; ``load_state_dict`` restores the
    state, the step count and the groups' options (the optimizer-wide
    options come from the constructor), so a resumed run continues
    bit-identically. Before any parameter is updated, every parameter that
    has a gradient is checked (a floating-point contiguous tensor on the
    CPU or a CUDA GPU; float32, float16 or bfloat16 unless ``reference``; a
    dense gradient of its shape on its device): a failure raises TypeError
    (dtype) or ValueError (shape, device, layout, state) naming the
    parameter and changes nothing.

    Examples
    --------
    >>> opt = FAM(model.named_parameters(), lr=0.3, weight_decay=1e-4)
    >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
    >>> for x, y in data:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
    ...     sched.step()
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, alpha: float = 0.9,
                 beta: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, n_bands: int = 8,
                 handler: str = "default", band_layout: str = "linear",
                 lr_scale: float = 1.0, fam_start_step: int = 100,
                 min_size: int = 256, seed: int = 0, warmup_steps: int = 0,
                 warmup_start_lr: float = 0.0, decay_start_step: int = -1,
                 total_steps: int = 0, eta_min: float = 0.0,
                 reference: bool = False) -> None:
        if isinstance(params, torch.Tensor):
            raise TypeError(f"{_WHO}: params must be an iterable of tensors, "
                            "of (name, tensor) pairs or of dicts, got a "
                            "Tensor")
        defaults: Dict[str, Any] = dict(
            lr=lr, alpha=alpha, beta=beta, eps=eps, weight_decay=weight_decay,
            n_bands=n_bands, handler=handler, band_layout=band_layout,
            lr_scale=lr_scale, group="other")
        defaults.update(_group_options(defaults))
        self._settings: Dict[str, Any] = _settings(dict(
            fam_start_step=fam_start_step, min_size=min_size, seed=seed,
            warmup_steps=warmup_steps, warmup_start_lr=warmup_start_lr,
            decay_start_step=decay_start_step, total_steps=total_steps,
            eta_min=eta_min, reference=reference))
        self._engine = _C._FAM(self._settings)
        # The names of each group's parameters, for messages.
        self._names: List[List[str]] = []
        items = list(params)
        if not items:
            raise ValueError(f"{_WHO}: got an empty parameter list")
        if _is_named(items[0]):
            items = self._group_by_name(items, defaults)
        super().__init__(items, defaults)

    @staticmethod
    def _group_by_name(items: List[Any], defaults: Dict[str, Any]
                       ) -> List[Dict[str, Any]]:
        """The groups of rotary::nn::FAM's named constructor over ``items``."""
        for i, item in enumerate(items):
            if not _is_named(item) or not isinstance(item[1], torch.Tensor):
                raise TypeError(
                    f"{_WHO}: params starts with (name, tensor) pairs, but "
                    f"item {i} is {type(item).__name__} {item!r:.60}")
        named = [(name, p) for name, p in items]
        groups = _C._fam_named_groups(
            named, {k: defaults[k] for k in _GROUP_KEYS})
        return [dict(params=[named[i][1] for i in indices],
                     param_names=[named[i][0] for i in indices], **options)
                for options, indices in groups]

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Adds a parameter group (a dict with ``params`` and group options).

        Options it does not set take the constructor's values. ``params``
        may be tensors or (name, tensor) pairs (the names go to
        ``param_names`` and into error messages).
        """
        index = len(self.param_groups)
        if not isinstance(param_group, dict):
            raise TypeError(f"{_WHO}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        for key in _SETTING_KEYS:
            if key in param_group:
                raise ValueError(
                    f"{_WHO}: {key} is an optimizer-wide option; pass it to "
                    f"FAM(...), not in parameter group {index}")
        if "params" not in param_group:
            raise ValueError(f"{_WHO}: parameter group {index} has no "
                             "'params'")
        params = param_group["params"]
        if isinstance(params, torch.Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{_WHO}: the parameters of group {index} must be "
                            "an ordered collection, not a set")
        else:
            params = list(params)
        if params and all(_is_named(x) for x in params):
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params
        for p in params:
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"{_WHO}: parameter group {index} holds a "
                                f"{type(p).__name__}, not a tensor")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{_WHO}: parameter group {index} holds a tensor "
                             "more than once")
        for j, group in enumerate(self.param_groups):
            if any(id(p) in ids for p in group["params"]):
                raise ValueError(f"{_WHO}: parameter group {index} holds a "
                                 f"tensor of parameter group {j}")
        start = sum(len(g["params"]) for g in self.param_groups)
        names = param_group.get("param_names")
        if names is None:
            # rotary::nn::FAM's names: the position in the optimizer.
            names = [f"param{start + k}" for k in range(len(params))]
        elif (not isinstance(names, (list, tuple)) or len(names) != len(params)
              or not all(isinstance(n, str) for n in names)):
            raise ValueError(f"{_WHO}: param_names of group {index} must be "
                             f"{len(params)} strs, got {names!r:.80}")
        options = _group_options({**self.defaults, **param_group}, index)
        super().add_param_group(param_group)
        try:
            self._engine.add_group(params, list(names), options)
        except BaseException:
            self.param_groups.pop()
            raise
        self._names.append(list(names))

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One FAM step over every group; returns the closure's loss, if any.

        The groups' current options (``lr`` as LR schedulers leave it,
        ``alpha``, ...) apply. Every parameter with a gradient is checked
        before anything changes.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for g, group in enumerate(self.param_groups):
            self._engine.set_group(g, _group_options(group, g))
        try:
            self._engine.step()
        finally:
            # Also after a failure past the checks, which may have changed
            # some of the state.
            self._mirror_state()
        return loss

    def _mirror_state(self) -> None:
        """Points self.state at the C++ state (the same tensors)."""
        for g, group in enumerate(self.param_groups):
            for p, s in zip(group["params"], self._engine.state(g)):
                if s is not None:
                    st = self.state[p]
                    st["step"], st["momentum"], st["ema"], st["alpha_eff"] = s

    @property
    def step_count(self) -> int:
        """The number of steps taken (what the schedule and α' count)."""
        return self._engine.step_count()

    @property
    def settings(self) -> Dict[str, Any]:
        """The optimizer-wide options (a copy)."""
        return dict(self._settings)

    def current_lr(self, group: int = 0) -> float:
        """The rate group ``group`` stepped with last: schedule × lr_scale."""
        return self._engine.current_lr(group)

    def state_dict(self) -> Dict[str, Any]:
        """``torch.optim.Optimizer.state_dict()`` plus ``fam_step``, the step
        count."""
        sd = super().state_dict()
        sd["fam_step"] = self._engine.step_count()
        return sd

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Loads a ``state_dict()`` of a FAM over parameters of these shapes.

        Everything is checked first (a failure changes nothing); the
        momentum and EMA tensors are copied as float32 whatever the
        parameters' dtype.
        """
        if (not isinstance(state_dict, dict) or "state" not in state_dict
                or "param_groups" not in state_dict):
            raise ValueError(f"{_WHO}: load_state_dict takes a dict with "
                             "'state' and 'param_groups'")
        fam_step = state_dict.get("fam_step")
        if (isinstance(fam_step, bool)
                or not isinstance(fam_step, numbers.Integral) or fam_step < 0):
            raise ValueError(f"{_WHO}: the state dict has no step count "
                             "'fam_step' (a FAM state dict has), got "
                             f"{fam_step!r}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{_WHO}: the state dict has {len(saved_groups)} "
                             f"parameter groups, the optimizer "
                             f"{len(self.param_groups)}")
        loaded: Dict[torch.Tensor, Dict[str, Any]] = {}
        for g, (group, saved) in enumerate(zip(self.param_groups,
                                               saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{_WHO}: parameter group {g} of the state dict has "
                    f"{len(saved['params'])} parameters, the optimizer's "
                    f"{len(group['params'])}")
            options = _group_options({**self.defaults, **saved}, g)
            pairs = zip(saved["params"], group["params"])
            for k, (key, p) in enumerate(pairs):
                s = state_dict["state"].get(key)
                if s:
                    loaded[p] = self._import_state(s, p, options["n_bands"],
                                                   self._names[g][k])
        super().load_state_dict(state_dict)
        # The base class casts state tensors to the parameter's dtype; the
        # momentum and EMA stay float32 (copies of the originals).
        self.state = defaultdict(dict)
        for p, st in loaded.items():
            self.state[p] = st
        self._push_state(int(fam_step))

    @staticmethod
    def _import_state(s: Any, p: torch.Tensor, n_bands: int, name: str
                      ) -> Dict[str, Any]:
        """A checked float32 copy of the saved state ``s`` of ``p``."""
        if not isinstance(s, dict) or any(k not in s for k in _STATE_KEYS):
            raise ValueError(f"{_WHO}: the saved state of '{name}' must hold "
                             f"{', '.join(_STATE_KEYS)}, got {s!r:.80}")
        m, e = s["momentum"], s["ema"]
        if (not isinstance(m, torch.Tensor) or not m.is_floating_point()
                or m.shape != p.shape):
            raise ValueError(
                f"{_WHO}: the saved momentum of '{name}' must be a "
                f"floating-point tensor of shape {list(p.shape)}, got "
                + (f"{m.dtype} {list(m.shape)}" if isinstance(m, torch.Tensor)
                   else repr(m)) + " (a state of another model?)")
        if e is not None and (not isinstance(e, torch.Tensor)
                              or not e.is_floating_point()
                              or e.shape != (n_bands,)):
            raise ValueError(
                f"{_WHO}: the saved band EMA of '{name}' must be None or a "
                f"floating-point tensor of shape [{n_bands}] (the group's "
                "n_bands), got "
                + (f"{e.dtype} {list(e.shape)}" if isinstance(e, torch.Tensor)
                   else repr(e)) + " (a state of another model?)")
        step = _integer(f"the saved step of '{name}'", s["step"])
        _at_least(f"the saved step of '{name}'", step, 0, "")

        def f32(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to("cpu", torch.float32, copy=True).contiguous()

        return {"step": step, "momentum": f32(m),
                "ema": None if e is None else f32(e),
                "alpha_eff": _real(f"the saved alpha_eff of '{name}'",
                                   s["alpha_eff"])}

    def _push_state(self, fam_step: int) -> None:
        """Gives the C++ optimizer self.state (shared) and the step count."""
        self._engine.set_step_count(fam_step)
        for g, group in enumerate(self.param_groups):
            self._engine.clear_state(g)
            for k, p in enumerate(group["params"]):
                st = self.state.get(p)
                if st:
                    self._engine.set_state(g, k, st["step"], st["momentum"],
                                           st["ema"], st["alpha_eff"])

    def __getstate__(self) -> Dict[str, Any]:
        """Pickled state: the base class's plus what rebuilds the C++ side."""
        state = super().__getstate__()
        state.update(_settings=self._settings, _names=self._names,
                     _fam_step=self._engine.step_count())
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """Unpickling (copy.deepcopy too) rebuilds the C++ optimizer."""
        state = dict(state)
        fam_step = state.pop("_fam_step", None)
        super().__setstate__(state)
        if fam_step is None:
            return  # load_state_dict's update: the C++ side stays
        self._engine = _C._FAM(self._settings)
        for g, group in enumerate(self.param_groups):
            self._engine.add_group(group["params"], self._names[g],
                                   _group_options(group, g))
        self._push_state(fam_step)
