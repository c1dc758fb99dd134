"""Where the evaluation and training data live: ``$KEXUE_HW_DATA``, else a ``shared/data`` folder.

The data sets never ship with kexue-hw. The folder is looked for as ``shared/data`` in the working
directory or any folder above it, then above this package (a checkout beside ``../shared/data``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_shared_data", "DATA_HINT"]

#: what to tell a user whose data folder was not found
DATA_HINT = "set KEXUE_HW_DATA=DIR (a folder with math23k/, ape210k/, sentiment/) or put shared/data beside the checkout"


def find_shared_data() -> Path | None:
    """The data folder, or ``None`` when there is none (``$KEXUE_HW_DATA`` naming a missing folder included)."""
    env = os.environ.get("KEXUE_HW_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data"
            if candidate.is_dir():
                return candidate
    return None
