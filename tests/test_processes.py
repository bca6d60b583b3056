"""`--processes N` refuses what cannot be shared, and a database URL's password is never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.config import redacted


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=30)


def test_several_processes_on_sqlite_are_refused(tmp_path: Path) -> None:
    done = run("--processes", "2", "--db", str(tmp_path / "e.db"), cwd=tmp_path)
    assert done.returncode == 2 and "postgresql://" in done.stderr


def test_several_processes_without_a_shared_cluster_are_refused(tmp_path: Path) -> None:
    done = run("--processes", "2", "--db", "postgresql://u:secret@127.0.0.1:1/db", cwd=tmp_path)
    assert done.returncode == 2 and "--rpc-url" in done.stderr
    assert "secret" not in done.stderr + done.stdout


def test_a_database_urls_password_is_redacted() -> None:
    assert redacted("postgresql://desk:s3cret@db:5432/orders") == "postgresql://desk:***@db:5432/orders"
    assert redacted("postgresql://desk@db/orders") == "postgresql://desk@db/orders"
    assert redacted("./engine.db") == "./engine.db"
