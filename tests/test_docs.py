"""docs/ stays in step with the code: every config key, every command and option."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import typer.main

from canary.cli import app
from canary.config import Config

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _keys(cls: type, prefix: str) -> list[tuple[str, str]]:
    """(section, key) of every setting."""
    out: list[tuple[str, str]] = []
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name == "path":
            continue
        t = hints[f.name]
        if is_dataclass(t):
            out += _keys(t, f"{prefix}{f.name}.")
        else:
            out.append((prefix.rstrip("."), f.name))
    return out


def test_every_config_key_is_documented_in_its_section() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    sections = dict(
        (m.group(1), m.start()) for m in re.finditer(r"^## \[([a-z_.]+)\]$", text, re.M)
    )
    missing = []
    for section, key in _keys(Config, ""):
        start = sections.get(section)
        if start is None:
            missing.append(f"[{section}]")
            continue
        following = [s for s in sections.values() if s > start]
        body = text[start : min(following) if following else len(text)]
        if f"| `{key}` |" not in body:
            missing.append(f"{section}.{key}")
    assert missing == []


def _commands(cmd: Any, prefix: tuple[str, ...]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if hasattr(cmd, "commands"):  # a group (typer ships its own click)
        if prefix:
            out.append((" ".join(prefix), cmd))
        for name, sub in cmd.commands.items():
            out += _commands(sub, (*prefix, name))
    else:
        out.append((" ".join(prefix), cmd))
    return out


def test_every_command_and_option_is_in_the_reference() -> None:
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith("### ")]
    headings = [h for ln in lines for h in re.findall(r"`canary ([^`]+)`", ln)]
    missing = []
    for name, cmd in _commands(typer.main.get_command(app), ()):
        section = next((h for h in headings if h == name or h.startswith(name + " ")), None)
        if section is None:
            missing.append(name)
            continue
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in text:
                    if opt not in " ".join(headings):
                        missing.append(f"{name} {opt}")
    assert len(_commands(typer.main.get_command(app), ())) > 25
    assert missing == []


def test_docs_point_at_nothing_outside_the_repository() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            assert "://" not in target, f"{page.name} links outside: {target}"
            assert (DOCS / target.split("#")[0]).exists(), f"{page.name}: {target} is missing"
