"""The small JSON files an agent keeps or is given: read with a typed one-line error, written
whole.

A file is written to a temporary name beside it, fsynced and renamed into place
(:func:`write_atomically`), so a crash leaves the previous file or the new one, never half of
one. A file that records on whose behalf it was written (the chain, market, pool, keys: its
``identity``) and in which version is read back only by that owner (:class:`OwnedFile`); a
record's fields are taken from it by name (:func:`known_fields`). The live agent's state
(:mod:`agents.live.state`), its slot history (:mod:`agents.live.history`), the learned book
model (:mod:`agents.policies.book_model`) and the grid operator's publication journal
(:mod:`grid.publisher`) are such files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Refusal = Callable[[str], Exception]
"""Builds the package's own exception from a one-line message."""


def write_atomically(path: Path, document: Mapping[str, Any], *, indent: int | None = 1) -> None:
    """Write ``document`` to ``path`` as JSON: on disk when this returns, never half written.

    Raises:
        OSError: the folder or the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as handle:
        json.dump(document, handle, indent=indent, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def read_json_object(path: Path, what: str, refusal: Refusal) -> dict[str, Any]:
    """The JSON object in the file at ``path``, which should be ``what`` (``"a book model"``).

    Raises:
        refusal's exception: the file is missing, unreadable, not JSON or not a JSON object.
    """
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise refusal(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise refusal(f"{path}: not {what} (not JSON: {exc})") from exc
    if not isinstance(document, dict):
        raise refusal(f"{path}: not {what}")
    return document


@dataclass(frozen=True, slots=True)
class OwnedFile:
    """A kind of file that records the version it was written at and on whose behalf (its
    owner's ``identity``: chain, market, pool, keys), and is read back only at that version by
    that owner.

    Attributes:
        what: its name in messages (``"state file"``).
        version: the version this code writes and reads.
        refusal: the package's exception for a file that cannot be used.
    """

    what: str
    version: int
    refusal: Refusal

    def read(self, path: Path, identity: Mapping[str, Any]) -> dict[str, Any]:
        """The document at ``path``, which must record every key of ``identity`` with the same
        value.

        Raises:
            refusal's exception: the file is unreadable, not JSON, of another version, or
                belongs to another owner (the message names the key that differs).
        """
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise self.refusal(f"{self.what} {path} is not readable: {exc}") from None
        except ValueError as exc:
            raise self.refusal(f"{self.what} {path} is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != self.version:
            raise self.refusal(f"{self.what} {path} has an unknown version")
        for key, value in identity.items():
            if data.get(key) != value:
                raise self.refusal(
                    f"{self.what} {path} belongs to {key} {data.get(key)}, not {value}"
                )
        return data

    def write(self, path: Path, identity: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Write ``body`` with this version and ``identity`` (:func:`write_atomically`)."""
        write_atomically(path, {"version": self.version, **identity, **body})

    def damaged(self, path: Path, exc: Exception) -> Exception:
        """The refusal of a file whose body does not decode (``exc`` says why)."""
        return self.refusal(f"{self.what} {path} is damaged: {exc!r}")


def known_fields(record: type[DataclassInstance], data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that name a field of the dataclass ``record``: a file written by
    a later version may hold more, and they are left out rather than refused."""
    known = {f.name for f in fields(record)}
    return {k: v for k, v in data.items() if k in known}
