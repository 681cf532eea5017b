"""Content-addressed archive of submitted batches.

A batch file is canonical JSON (sorted keys, no spaces, one trailing newline)::

    {"chainId": 31337, "format": "enerwise-meter-readings/2", "readings": [{"exportWh": ...,
     "importWh": ..., "meterId": "0x...", "prevSeq": 0, "prevTimestamp": 0, "seq": 1,
     "signature": "0x...", "timestamp": ...}], "registry": "0x..."}

Format 2 carries the readings of type version 2 (``prevSeq``, ``prevTimestamp``: the reading each
one follows).

Its CID is CIDv1, codec ``raw``, multihash sha2-256, written in base32 (``bafkrei...``):
computed locally with ``multiformats``, it is what ``ipfs add --cid-version=1 --raw-leaves``
gives for a file of one chunk, so a Kubo node stores the file under the same CID (batches are
kept under 1 MiB, Kubo's largest chunk). The binary CID goes on chain as the ``archiveCid`` of
``submitReadings``; anyone holding the file can recompute it.

Storage: a local folder (``<dir>/<cid>``, written atomically and fsynced) always; a Kubo node
through its RPC API (``POST /api/v0/add``, ``/api/v0/cat``) when configured.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from multiformats import CID, multihash

from energychain.meter_reading import Domain
from oracles.errors import ArchiveError, CidMismatchError
from oracles.readings import SignedReading

logger = logging.getLogger(__name__)

BATCH_FORMAT = "enerwise-meter-readings/2"
#: Largest batch file: Kubo's largest chunk, so ``ipfs add`` keeps the file a single raw block.
MAX_BATCH_BYTES = 1_048_576


def compute_cid(data: bytes) -> str:
    """CIDv1 (raw, sha2-256) of ``data`` in base32."""
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


def cid_to_bytes(cid: str) -> bytes:
    """The binary form of a CID (what is anchored on chain)."""
    try:
        return bytes(CID.decode(cid))
    except Exception as exc:  # multiformats raises several types for bad input
        raise ArchiveError(f"{cid!r} is not a CID: {exc}") from None


def cid_from_bytes(data: bytes) -> str:
    """A binary CID (from an event) in base32 text."""
    try:
        return str(CID.decode(data).set(base="base32"))
    except Exception as exc:
        raise ArchiveError(f"0x{data.hex()} is not a binary CID: {exc}") from None


def normalize_cid(cid: str) -> str:
    """Any textual CIDv1 in its base32 form (CIDv0 and other bases are accepted)."""
    try:
        return str(CID.decode(cid).set(base="base32"))
    except Exception as exc:
        raise ArchiveError(f"{cid!r} is not a CID: {exc}") from None


def encode_batch(domain: Domain, readings: list[SignedReading]) -> bytes:
    """The canonical batch file."""
    document = {
        "format": BATCH_FORMAT,
        "chainId": domain.chain_id,
        "registry": domain.registry,
        "readings": [r.as_json() for r in readings],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class BatchFile:
    domain: Domain
    readings: list[SignedReading]


def decode_batch(data: bytes) -> BatchFile:
    """Parse a batch file; :class:`ArchiveError` if it is not one."""
    try:
        document: Any = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != BATCH_FORMAT:
            raise ValueError(f"format is not {BATCH_FORMAT}")
        domain = Domain(int(document["chainId"]), str(document["registry"]))
        readings = [SignedReading.from_json(r) for r in document["readings"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"not a batch file: {exc}") from None
    return BatchFile(domain, readings)


class LocalArchive:
    """Batch files in a folder, named by CID."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, cid: str) -> Path:
        return self.directory / normalize_cid(cid)

    def put(self, data: bytes) -> str:
        cid = compute_cid(data)
        target = self.directory / cid
        if target.is_file() and target.stat().st_size == len(data):
            return cid
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ArchiveError(f"archive {self.directory}: cannot write {cid}: {exc}") from None
        return cid

    def get(self, cid: str) -> bytes | None:
        """The file stored under ``cid`` (checked against it), or ``None``."""
        path = self.path(cid)
        if not path.is_file():
            return None
        data = path.read_bytes()
        check_cid(data, cid, where=str(path))
        return data


def check_cid(data: bytes, cid: str, *, where: str) -> None:
    actual = compute_cid(data)
    if actual != normalize_cid(cid):
        raise CidMismatchError(f"{where}: content hashes to {actual}, not {cid}")


class KuboClient:
    """The parts of the Kubo RPC API the archive needs (``/api/v0/add``, ``/api/v0/cat``)."""

    def __init__(
        self, api_url: str, *, timeout: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)

    def add(self, data: bytes, name: str = "batch.json") -> str:
        """Add and pin ``data`` as one raw block; returns the CID Kubo reports."""
        params = {
            "cid-version": "1",
            "raw-leaves": "true",
            "hash": "sha2-256",
            "chunker": f"size-{MAX_BATCH_BYTES}",
            "pin": "true",
        }
        try:
            response = self._client.post(
                f"{self.api_url}/api/v0/add",
                params=params,
                files={"file": (name, data, "application/octet-stream")},
            )
            response.raise_for_status()
            lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
            return normalize_cid(str(lines[-1]["Hash"]))
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            raise ArchiveError(f"IPFS node {self.api_url}: add failed: {exc}") from None

    def cat(self, cid: str) -> bytes:
        try:
            response = self._client.post(f"{self.api_url}/api/v0/cat", params={"arg": cid})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ArchiveError(f"IPFS node {self.api_url}: cat {cid} failed: {exc}") from None
        return response.content

    def close(self) -> None:
        self._client.close()


class Archive:
    """The local folder plus an optional IPFS node."""

    def __init__(self, local: LocalArchive, kubo: KuboClient | None = None) -> None:
        self.local = local
        self.kubo = kubo

    def store(self, data: bytes) -> str:
        """Write the batch locally; returns its CID (pushing to IPFS is :meth:`push`)."""
        if len(data) > MAX_BATCH_BYTES:
            raise ArchiveError(f"batch of {len(data)} bytes is over {MAX_BATCH_BYTES}")
        return self.local.put(data)

    def push(self, cid: str) -> bool:
        """Add the stored file to the IPFS node; ``True`` once pinned there (or no node)."""
        if self.kubo is None:
            return True
        data = self.local.get(cid)
        if data is None:
            raise ArchiveError(f"archive {self.local.directory} has no {cid}")
        reported = self.kubo.add(data)
        if reported != normalize_cid(cid):
            raise CidMismatchError(f"IPFS node {self.kubo.api_url} stored {cid} as {reported}")
        return True

    def fetch(self, cid: str) -> bytes:
        """The file for ``cid`` from the local folder, else the IPFS node; CID checked."""
        data = self.local.get(cid)
        if data is not None:
            return data
        if self.kubo is None:
            raise ArchiveError(f"{cid} is not in {self.local.directory} and no IPFS node is set")
        data = self.kubo.cat(cid)
        check_cid(data, cid, where=f"IPFS node {self.kubo.api_url}")
        return data
