"""`canary demo` tells the whole story and finds the leaked copy."""

from __future__ import annotations

from pathlib import Path

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
