"""Real models that run on the emulated units: a math-word-problem solver (:mod:`.mwp`) and PET
few-shot classification (:mod:`.pet`), with their data, trainers, shipped weights and evaluation.

Shared pieces: :mod:`.training` (seeding, budget, checkpoints, progress, manifests) and
:mod:`.evaluation` (native vs emulated runs, paired statistics).
"""
