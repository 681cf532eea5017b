"""The agents' on-disk cache of computed arrays (forecasts, perfect-foresight bounds).

Each entry is one ``.npz`` file written whole: into a temporary file beside it, then renamed into
place. Processes that share a cache folder (trainings or evaluations side by side, the test
suite's workers) therefore see a whole entry or none, never a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt


def save_entry(path: Path, *, compress: bool = False, **arrays: npt.ArrayLike) -> None:
    """Write ``arrays`` as the ``.npz`` file ``path``, atomically (see the module)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            if compress:
                np.savez_compressed(file, **arrays)  # type: ignore[arg-type]
            else:
                np.savez(file, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
