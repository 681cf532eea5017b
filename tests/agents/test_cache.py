"""The agents' on-disk cache: entries written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.cache import save_entry


@pytest.mark.parametrize("compress", [False, True])
def test_an_entry_reads_back_as_written(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "nested" / "bound-abc.npz"
    save_entry(path, compress=compress, cost=np.array([1.5, 2.5]), soc=np.arange(4))
    data = np.load(path)
    assert data["cost"].tolist() == [1.5, 2.5] and data["soc"].tolist() == [0, 1, 2, 3]
    assert [p.name for p in path.parent.iterdir()] == ["bound-abc.npz"]  # no temporary left


class _Unwritable:
    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise OSError("disk full")


def test_a_write_that_fails_leaves_neither_the_entry_nor_a_temporary(tmp_path: Path) -> None:
    path = tmp_path / "forecasts-x.npz"
    with pytest.raises(OSError, match="disk full"):
        save_entry(path, load=np.zeros(3), pv=_Unwritable())
    assert list(tmp_path.iterdir()) == []
