"""Optimizers whose update runs in rotary's compiled kernels.

- :class:`FAM`: frequency-adaptive momentum (docs/FAM.md), a
  ``torch.optim.Optimizer`` around the C++ ``rotary::nn::FAM``.
"""

from rotary.optim.fam import FAM

__all__ = ["FAM"]
