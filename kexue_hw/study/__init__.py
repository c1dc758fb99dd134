"""The accuracy-impact study: which cheap unit can a model run on, what it costs in accuracy, what it saves.

* :mod:`.tasks`   the models (``mwp``, ``pet-mlm``, ``pet-clm``, ``hf:DIR`` perplexity) behind one interface
* :mod:`.grid`    cells (model x unit x attention kernel), paired comparison with native, local or Ray
* :mod:`.cost`    the unit's multiplier LUTs and Fmax against the exact one, cached on disk
* :mod:`.results` the JSON file, the Markdown table, the Pareto plots

Attributes load lazily, so the CLI hook (:mod:`.cli`) does not import torch.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_EXPORTS = {"Cell": "grid", "StudySettings": "grid", "plan_cells": "grid", "run_study": "grid"}
__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
