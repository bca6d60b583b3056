"""The README's bot test, exactly as written, in a fresh directory with no configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def bot_example() -> str:
    section = README.read_text().split("## Testing your bot against the engine", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "the README's bot example is missing"
    return found.group(1)


# pytest-asyncio's default mode is strict; some projects run in auto.
@pytest.mark.parametrize("options", [(), ("-o", "asyncio_mode=auto")], ids=["strict", "auto"])
def test_the_readme_bot_example_passes_as_written_in_an_empty_directory(
        tmp_path: Path, options: tuple[str, ...]) -> None:
    (tmp_path / "test_bot.py").write_text(bot_example())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *options], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    # Nothing to configure: not even a warning that asks for configuration.
    said = done.stdout + done.stderr
    assert "asyncio_default_fixture_loop_scope" not in said and "PytestDeprecation" not in said, said
