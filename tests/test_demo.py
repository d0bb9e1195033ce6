"""`canary demo` tells the whole story and finds the leaked copy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from canary.cli.story import run_demo


def test_demo_finds_the_leaked_copy(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path, lines.append)
    assert len(result.copies) == 3
    assert result.identified == result.leaked.id
    assert result.traced_copy == result.leaked.id
    channels = {h["channel"] for h in result.hits}
    assert channels == {"smtp", "sms"}
    assert all(h["copies"] == [result.leaked.id] for h in result.hits)
    assert lines[-1].startswith("Done: the leaked copy was found")


def test_the_demo_pool_covers_the_registry_so_issue_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo shows what an organisation should do: canary numbers in every area code
    of the table, so `canary issue` has no place to warn about."""
    with caplog.at_level(logging.WARNING, logger="canary.issue.plant"):
        run_demo(tmp_path, lambda line: None)
    assert [r.getMessage() for r in caplog.records if r.name == "canary.issue.plant"] == []
