"""The wallet's keypair file: the Solana CLI's format, created owner-only, refused if malformed."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.solana_client.keypair import load_or_create


def test_a_new_keypair_is_written_owner_only_and_read_back_the_same(tmp_path: Path) -> None:
    path = str(tmp_path / "id.json")
    created = load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(Path(path).read_text())
    assert len(data) == 64 and all(0 <= b < 256 for b in data)  # secret, then public key
    assert bytes(data[32:]) == bytes(created.pubkey())
    assert load_or_create(path).pubkey() == created.pubkey()


@pytest.mark.parametrize("content", ["[1, 2, 3]", '{"secret": 1}', "not json at all",
                                     json.dumps([300] * 64)])
def test_a_file_that_is_not_a_keypair_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "id.json"
    path.write_text(content)
    with pytest.raises(ValueError):
        load_or_create(str(path))


def test_the_engine_refuses_to_start_on_a_malformed_keypair_with_a_message(
        tmp_path: Path) -> None:
    bad = tmp_path / "id.json"
    bad.write_text("[1, 2, 3]")
    done = subprocess.run([sys.executable, "-m", "engine", "--db", str(tmp_path / "e.db"),
                           "--keypair", str(bad)], text=True, capture_output=True, timeout=30)
    assert done.returncode == 2 and "not a Solana keypair file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_keypair_whose_halves_do_not_match_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(range(64))))  # 64 bytes, but no public key of that secret
    with pytest.raises(ValueError, match="last 32 bytes are not the public key of its first 32"):
        load_or_create(str(path))


def test_a_keypair_that_cannot_be_written_whole_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10, hard))  # a disk with 10 bytes of room
    try:
        with pytest.raises(OSError):
            load_or_create(str(path))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert list(tmp_path.iterdir()) == []  # neither a half-written keypair nor a temporary
    assert load_or_create(str(path)).pubkey() == load_or_create(str(path)).pubkey()


def test_an_empty_keypair_file_is_refused_saying_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    path.write_text("")
    with pytest.raises(ValueError, match=r"not a Solana keypair file .*; it is empty"):
        load_or_create(str(path))
