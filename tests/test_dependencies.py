"""Every third-party module the code imports is declared in pyproject.toml: as a
dependency, or in one of the extras the code names when it is missing."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Extras the package itself uses (not the test or bench ones).
RUNTIME_EXTRAS = ("postgres", "ocr", "office")


def _imported_top_levels() -> dict[str, str]:
    """Top-level module -> the first file importing it, for canary/ and listeners/."""
    seen: dict[str, str] = {}
    for pkg in ("canary", "listeners"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    seen.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return seen


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    reqs = list(project["dependencies"])
    for extra in RUNTIME_EXTRAS:
        reqs += extras[extra]
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def test_every_imported_distribution_is_declared() -> None:
    dists = packages_distributions()
    declared = _declared()
    missing = []
    for module, where in _imported_top_levels().items():
        if module in sys.stdlib_module_names or module in ("canary", "listeners"):
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing.append(f"{module} ({where}) from {sorted(names)}")
    assert missing == []


def test_the_extras_named_in_errors_exist() -> None:
    """`missing_extra(path, what, "ocr")` tells people to install canary-trace[ocr]."""
    named = set()
    for path in sorted((ROOT / "canary").rglob("*.py")):
        named |= set(re.findall(r'missing_extra\(\w+, "[^"]*", "(\w+)"\)', path.read_text("utf-8")))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert named == {"ocr", "office"}
    assert named <= set(RUNTIME_EXTRAS) <= set(project["optional-dependencies"])
