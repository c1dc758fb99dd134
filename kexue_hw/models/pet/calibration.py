"""Calibration of class log-probabilities: none, median threshold, contextual.

A calibrator subtracts a per-class offset from the class log-probabilities and renormalises:

* ``none``: offset 0.
* ``median``: the per-class median of the centred scores ``lp_c - mean_c' lp_c'`` over a fit set
  (unlabelled texts). For two classes this puts the decision threshold on the score difference
  ``lp_1 - lp_0`` exactly at its median, so half the fit set goes to each class.
* ``contextual`` (Zhao et al. 2021): the log of the mean class probabilities of content-free
  inputs (an empty text, ``N/A``, ...), i.e. ``p(c | x) / p(c | content-free)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Calibrator", "METHODS", "CONTENT_FREE"]

METHODS = ("none", "median", "contextual")
#: content-free inputs of contextual calibration
CONTENT_FREE = ("", "N/A", "无")


@dataclass
class Calibrator:
    method: str = "none"
    offset: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"--calibration: choose one of {METHODS}, got {self.method!r}")
        if self.offset is not None:
            self.offset = tuple(float(v) for v in self.offset)

    @classmethod
    def fit(cls, method: str, log_probs: torch.Tensor | None = None, *, content_free: torch.Tensor | None = None):
        """Fit ``method``: ``median`` from the fit set's ``(n, C)`` log-probs, ``contextual`` from content-free ones."""
        if method == "none":
            return cls("none")
        if method == "median":
            if log_probs is None or len(log_probs) == 0:
                raise ValueError("median calibration needs the scores of a fit set")
            centred = log_probs - log_probs.mean(-1, keepdim=True)
            return cls("median", tuple(centred.median(0).values.tolist()))
        if method == "contextual":
            if content_free is None or len(content_free) == 0:
                raise ValueError("contextual calibration needs the scores of content-free inputs")
            mean_p = content_free.exp().mean(0)
            return cls("contextual", tuple(mean_p.log().tolist()))
        raise ValueError(f"--calibration: choose one of {METHODS}, got {method!r}")

    def apply(self, log_probs: torch.Tensor) -> torch.Tensor:
        """Calibrated ``(n, C)`` log-probabilities."""
        if self.method == "none" or self.offset is None:
            return log_probs
        offset = torch.tensor(self.offset, dtype=log_probs.dtype)
        if offset.numel() != log_probs.shape[-1]:
            raise ValueError(f"calibration has {offset.numel()} classes, the scores {log_probs.shape[-1]}")
        return (log_probs - offset).log_softmax(-1)

    def to_dict(self) -> dict:
        return {"method": self.method, "offset": None if self.offset is None else list(self.offset)}

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        return cls(d.get("method", "none"), d.get("offset"))
