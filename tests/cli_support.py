"""Running the real `canary` command line in a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def canary(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m canary ARGS` in `cwd`, with no CANARY_* variable from the test run leaking in."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "canary", *args],
        cwd=cwd,
        env=e,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
