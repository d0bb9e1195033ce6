"""What the code reads from seeds/ is in the wheel (pyproject's force-include).

A file missing there works in a checkout and fails after `pip install .`, which is how
the README's demo command installs: a canary domain check once crashed only there.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_SHIPPED = {"README.md", "make_demo.py"}  # for people and for regenerating the demo


def test_every_seed_the_code_reads_ships_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for source, target in shipped.items():
        assert target == "canary/_seeds/" + source.removeprefix("seeds/"), source
    covered = [ROOT / s for s in shipped]
    for path in (ROOT / "seeds").rglob("*"):
        if path.is_file() and path.name not in NOT_SHIPPED:
            assert any(path == c or c in path.parents for c in covered), path
