"""Training without a backward pass: zeroth-order (ZO) and policy-gradient (PG) estimators.

* :func:`zo_grad_`, :class:`ZerothOrderSGD`  ZO over any tensors / ``nn.Module`` parameters through a
  closure returning a scalar; directions regenerated from seeds (memory independent of their number).
* :func:`reinforce_loss`, :func:`policy_gradient`, :class:`PolicyGradient`  REINFORCE for categorical
  policies with a black-box reward (leave-one-out mean baseline or none, entropy term).
* :mod:`.equivalence`  the numerical demonstration that the two are one estimator
  (``python examples/optim_zo_pg.py``).

Both are score-function estimators: ZO with Gaussian directions is REINFORCE for the Gaussian policy
N(θ, ε²I) over parameters, PG is REINFORCE for a categorical policy over outcomes.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

#: public names and the module holding each (loaded on first use: both import torch)
_EXPORTS = {
    **dict.fromkeys(["PGEstimate", "PGStep", "PolicyGradient", "advantages", "entropy", "log_prob",
                     "policy_gradient", "reinforce_loss", "sample"], ".pg"),  # fmt: skip
    **dict.fromkeys(["ZerothOrderSGD", "ZOEstimate", "direction", "direction_seed", "zo_grad_"], ".zo"),
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
