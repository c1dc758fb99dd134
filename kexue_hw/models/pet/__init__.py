"""PET (Pattern-Exploiting Training) few-shot classification with a masked LM and a causal LM.

A labelled example becomes a cloze question (a :class:`Pattern`), a language model scores the
label words of each class (a :class:`Verbalizer`) at the answer position, and the class with the
highest (calibrated) score wins. Zero-shot needs no training; few-shot trains the LM with the cloze
loss on a few labelled examples; semi-supervised adds the MLM loss on unlabelled text and may
distil the pattern ensemble's soft labels of the unlabelled pool.

Pieces: :mod:`.data` (files, few-shot subsets, unlabelled corpus), :mod:`.patterns`,
:mod:`.scorers` (:class:`MaskedLMScorer`, :class:`CausalLMScorer`), :mod:`.calibration`,
:mod:`.train` (cloze loss, few-shot and semi-supervised training), :mod:`.clm_head` (the trained
label-word head of the causal LM), :mod:`.baseline` (character n-gram logistic regression),
:mod:`.pretrain` (the character BERT), :mod:`.task` (load-once evaluation for the study),
:mod:`.cli` (``kexue-hw pet``). Attributes load lazily (torch and transformers only on use).
"""

from __future__ import annotations

from ..._lazy import lazy_attributes

_EXPORTS = {
    "LabelledSet": "data",
    "read_labelled": "data",
    "few_shot_indices": "data",
    "Pattern": "patterns",
    "Verbalizer": "patterns",
    "MaskedLMScorer": "scorers",
    "CausalLMScorer": "scorers",
    "Calibrator": "calibration",
    "cloze_loss": "train",
    "NgramBaseline": "baseline",
    "PretrainSettings": "pretrain",
    "pretrain": "pretrain",
    "build_task": "task",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
