from __future__ import annotations

import json
from pathlib import Path

from tests.cli_support import canary


def test_init_domain_phone_roundtrip(tmp_path: Path) -> None:
    r = canary("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "canary.toml").exists() and (tmp_path / "canary.db").exists()
    before = (tmp_path / "canary.toml").read_text()
    assert canary("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "canary.toml").read_text() == before
    assert canary("domain", "add", "Avisos.Example.ORG", cwd=tmp_path).returncode == 0
    out = canary("domain", "list", "--json", cwd=tmp_path)
    [d] = json.loads(out.stdout)["domains"]
    assert (d["name"], d["retired"]) == ("avisos.example.org", False)
    assert (
        canary("phone", "add", "+506 8312 3456", "--provider", "twilio", cwd=tmp_path).returncode
        == 0
    )
    phones = json.loads(canary("phone", "list", "--json", cwd=tmp_path).stdout)["phones"]
    assert [(p["number"], p["provider"]) for p in phones] == [("+50683123456", "twilio")]


def test_errors_are_one_line(tmp_path: Path) -> None:
    assert canary("init", cwd=tmp_path).returncode == 0
    r = canary("domain", "add", "not a domain", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert canary("no-such-command", cwd=tmp_path).returncode == 2


def test_works_without_config_once_init_made_the_store(tmp_path: Path) -> None:
    assert canary("init", cwd=tmp_path).returncode == 0
    (tmp_path / "canary.toml").unlink()  # defaults: the store next to where the config would be
    r = canary("domain", "list", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"domains": []}
