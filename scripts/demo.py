"""Run-locally demo: orders of every type against a running engine, streamed side by side.

    python -m engine &            # in another terminal
    python scripts/demo.py        # the same as: python -m engine demo [--url URL] [--plain]
"""

from __future__ import annotations

import sys

from engine.commands.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
