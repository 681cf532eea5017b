"""Content-addressed archive: CIDv1 raw sha2-256, a local folder, a Kubo node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from energychain.meter_reading import Domain, MeterReading
from oracles.archive import (
    Archive,
    KuboClient,
    LocalArchive,
    cid_from_bytes,
    cid_to_bytes,
    compute_cid,
    decode_batch,
    encode_batch,
)
from oracles.errors import ArchiveError, CidMismatchError
from oracles.readings import SignedReading

DOMAIN = Domain(31337, "0x" + "22" * 20)
READINGS = [
    SignedReading(
        MeterReading(b"\x07" * 32, 2, 1_800_000_000, 10, 2, 1, 1_799_999_100), b"\x01" * 65
    )
]


def test_cid_is_v1_raw_sha256_in_base32() -> None:
    # the CID `ipfs add --cid-version=1 --raw-leaves` gives for the bytes "hello"
    assert compute_cid(b"hello") == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


def test_binary_cid_round_trips() -> None:
    cid = compute_cid(b"batch")
    assert cid_to_bytes(cid)[:2] == b"\x01\x55"  # CIDv1, raw codec
    assert cid_from_bytes(cid_to_bytes(cid)) == cid


def test_batch_encoding_is_canonical_and_decodes() -> None:
    data = encode_batch(DOMAIN, READINGS)
    assert data == encode_batch(DOMAIN, list(READINGS))
    assert data.endswith(b"}\n") and b" " not in data
    batch = decode_batch(data)
    assert batch.domain == DOMAIN and batch.readings == READINGS


def test_local_archive_stores_under_the_cid(tmp_path: Path) -> None:
    local = LocalArchive(tmp_path)
    data = encode_batch(DOMAIN, READINGS)
    cid = local.put(data)
    assert (tmp_path / cid).read_bytes() == data
    assert local.get(cid) == data


def test_a_tampered_archive_file_is_detected(tmp_path: Path) -> None:
    local = LocalArchive(tmp_path)
    cid = local.put(b"original")
    (tmp_path / cid).write_bytes(b"tampered")
    with pytest.raises(CidMismatchError):
        local.get(cid)


def test_push_adds_the_file_to_kubo_under_the_same_cid(tmp_path: Path, fake_kubo: Any) -> None:
    archive = Archive(LocalArchive(tmp_path), KuboClient(fake_kubo.url))
    cid = archive.store(encode_batch(DOMAIN, READINGS))
    assert archive.push(cid)
    path, query = fake_kubo.requests[-1]
    assert path == "/api/v0/add"
    assert query["cid-version"] == ["1"] and query["raw-leaves"] == ["true"]
    assert fake_kubo.blocks[cid] == encode_batch(DOMAIN, READINGS)


def test_fetch_falls_back_to_kubo_and_checks_the_cid(tmp_path: Path, fake_kubo: Any) -> None:
    data = encode_batch(DOMAIN, READINGS)
    cid = compute_cid(data)
    fake_kubo.blocks[cid] = data
    archive = Archive(LocalArchive(tmp_path / "empty"), KuboClient(fake_kubo.url))
    assert archive.fetch(cid) == data
    fake_kubo.blocks[cid] = b"something else"
    with pytest.raises(CidMismatchError):
        archive.fetch(cid)


def test_kubo_reporting_another_cid_is_an_error(tmp_path: Path, fake_kubo: Any) -> None:
    fake_kubo.lie = True
    archive = Archive(LocalArchive(tmp_path), KuboClient(fake_kubo.url))
    cid = archive.store(b"data")
    with pytest.raises(CidMismatchError):
        archive.push(cid)


def test_kubo_down_is_an_archive_error(tmp_path: Path) -> None:
    from chain.local_node import free_port

    archive = Archive(LocalArchive(tmp_path), KuboClient(f"http://127.0.0.1:{free_port()}"))
    cid = archive.store(b"data")
    with pytest.raises(ArchiveError, match="add failed"):
        archive.push(cid)
