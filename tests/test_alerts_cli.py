"""`canary alerts`, `alerts --failed`, `alerts retry`, `alerts test` as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from canary.alerts import dispatch_due
from canary.config import Config, load_config
from canary.hits.record import Observation, record
from canary.store.engine import open_store
from tests.alerts_support import add_copy, http_receiver
from tests.cli_support import canary

CANARY = "ana.perez@avisos.example.org"


def add_channels(config: Config, toml: str) -> Config:
    with config.path.open("a", encoding="utf-8") as f:
        f.write("\n" + toml)
    return load_config(config.path)


def test_failed_alerts_listed_then_retried(config: Config, tmp_path: Path) -> None:
    with http_receiver() as web:
        web.status = 502
        cfg = add_channels(config, f'[[alerts.channels]]\ntype = "webhook"\nurl = "{web.url}"\n')
        store = open_store(cfg.store_url)
        try:
            add_copy(store, "Vendor", CANARY)
            record(store, [Observation("smtp", CANARY, sender="x@spam.example")])
            assert dispatch_due(store, cfg).retrying  # the first attempt fails
            in_two_days = datetime.now(UTC) + timedelta(hours=49)
            assert dispatch_due(store, cfg, now=lambda: in_two_days).failed
        finally:
            store.dispose()

        r = canary("alerts", "--failed", "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        [row] = json.loads(r.stdout)["alerts"]
        assert row["state"] == "failed" and row["channel"] == "webhook#0"
        assert "HTTP 502" in row["last_error"] and "LEAK" in row["subject"]

        listing = canary("alerts", cwd=tmp_path)
        assert "failed" in listing.stdout and "HTTP 502" in listing.stdout

        assert canary("alerts", "retry", cwd=tmp_path).returncode == 1
        r = canary("alerts", "retry", "--all", cwd=tmp_path)
        assert r.returncode == 0 and "queued 1 alert again" in r.stdout
        r = canary("alerts", "--failed", "--json", cwd=tmp_path)
        assert json.loads(r.stdout) == {"alerts": []}
        missing = canary("alerts", "retry", "999", cwd=tmp_path)
        assert missing.returncode == 1 and missing.stderr.startswith("error: no alert 999")

        web.status = 200
        store = open_store(cfg.store_url)
        try:
            assert len(dispatch_due(store, cfg).sent) == 1
        finally:
            store.dispose()
        assert web.requests[0].json()["kind"] == "first"


def test_alerts_test_reports_each_channel_and_exit_code(config: Config, tmp_path: Path) -> None:
    none = canary("alerts", "test", cwd=tmp_path)
    assert none.returncode == 1 and "no alert channels" in none.stdout
    add_channels(config, '[[alerts.channels]]\ntype = "jsonl"\npath = "siem/alerts.jsonl"\n')
    ok = canary("alerts", "test", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok" in ok.stdout and "jsonl#0" in ok.stdout
    line = json.loads((tmp_path / "siem" / "alerts.jsonl").read_text())
    assert line["kind"] == "test"
    add_channels(
        config,
        '[[alerts.channels]]\ntype = "webhook"\nname = "siem"\nurl = "http://127.0.0.1:9/x"\n',
    )
    r = canary("alerts", "test", "--json", cwd=tmp_path)
    assert r.returncode == 1
    results = {x["channel"]: x["ok"] for x in json.loads(r.stdout)["results"]}
    assert results == {"jsonl#0": True, "siem": False}


def test_unknown_channel_key_is_a_one_line_error(config: Config, tmp_path: Path) -> None:
    add_channels(config, '[[alerts.channels]]\ntype = "slack"\nurl = "http://x"\nchanel = "#soc"\n')
    r = canary("alerts", "test", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: unknown key 'alerts.channels[0].chanel'")
    assert len(r.stderr.strip().splitlines()) == 1
