"""`python -m engine programs dump`: the programs' bytecode read from a node, the upgradeable
loader's two accounts (program, programdata) as `solana program dump` reads them; tested
against the cluster, which serves the programs it runs as a node does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.testing.process import ClusterProcess


def dump(url: str, directory: Path, *programs: str) -> subprocess.CompletedProcess[str]:
    extra = [a for p in programs for a in ("--program", p)]
    return subprocess.run([sys.executable, "-m", "engine", "programs", "dump", "--rpc-url", url,
                           "--dir", str(directory), *extra], capture_output=True, text=True,
                          timeout=60, check=False)


async def test_dumped_programs_are_the_bytecode_the_cluster_runs(tmp_path: Path,
                                                                 programs: Path) -> None:
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--programs",
                             str(programs), "--fund-keypair", str(tmp_path / "w.json"))
    await cluster.start()
    try:
        done = dump(cluster.url, tmp_path / "dumped")
        refused = dump(cluster.url, tmp_path / "none", "11111111111111111111111111111111")
    finally:
        await cluster.terminate()
    assert done.returncode == 0, done.stderr
    assert same_files(programs, tmp_path / "dumped") == 3
    assert refused.returncode == 1 and "is not a program" in refused.stderr
    assert not list((tmp_path / "none").glob("*"))


def same_files(originals: Path, dumped: Path) -> int:
    """How many programs were dumped byte for byte (an assertion fails on any difference)."""
    files = sorted(originals.glob("*.so"))
    for original in files:
        assert (dumped / original.name).read_bytes() == original.read_bytes(), original.name
    return len(files)


def test_an_unreachable_node_is_one_line_and_exit_3(tmp_path: Path) -> None:
    done = dump("http://127.0.0.1:9", tmp_path / "d")
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "cannot read programs" in done.stderr
