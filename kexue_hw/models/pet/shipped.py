"""Where the shipped PET checkpoints live, and which one each scorer loads by default."""

from __future__ import annotations

from pathlib import Path

__all__ = ["WEIGHTS", "DEFAULT_CHECKPOINT", "shipped"]

WEIGHTS = Path(__file__).resolve().parent / "weights"
#: the checkpoint each scorer loads by default
DEFAULT_CHECKPOINT = {"mlm": "pet-mlm-semi", "clm": "pet-clm-few-shot"}


def shipped(name: str) -> Path:
    """The shipped folder ``weights/<name>`` (``ValueError`` naming it when absent)."""
    path = WEIGHTS / name
    if not (path / "manifest.json").is_file():
        raise ValueError(f"shipped model {name!r} is missing from {WEIGHTS} (reinstall kexue-hw or pass a folder)")
    return path
