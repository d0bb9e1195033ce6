"""`canary doctor` against a DNS server and listeners this test runs on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from canary.config import Config
from canary.ops.dns import Lookup
from canary.ops.doctor import run_doctor
from canary.store.engine import Store, open_store
from canary.store.register import add_domain, add_phone
from tests.alerts_support import add_copy, dns_server, smtp_receiver
from tests.conftest import free_port

ZONE = {
    (".", "NS"): ["a.root-servers.net."],  # the control lookup: DNS works from here
    ("good.example.", "MX"): ["10 mx1.good.example."],
    ("mx1.good.example.", "A"): ["127.0.0.1"],
    ("mx1.good.example.", "AAAA"): ["::1"],
    ("good.example.", "TXT"): ['"v=spf1 -all"'],
    ("_dmarc.good.example.", "TXT"): ['"v=DMARC1; p=reject"'],
    ("nullmx.example.", "MX"): ["0 ."],
    ("drift.example.", "MX"): ["10 mail.elsewhere.example.", "20 mx1.good.example."],
    ("drift.example.", "TXT"): ['"v=spf1 include:_spf.elsewhere.example ~all"'],
    ("_dmarc.drift.example.", "TXT"): ['"v=DMARC1; p=none"'],
    ("nomx.example.", "A"): ["192.0.2.1"],
}


def by_check(report, check: str) -> list[tuple[str, str, str]]:
    return [(f.level, f.message, f.fix) for f in report.findings if f.check == check]


def test_dns_findings_say_what_to_change(sqlite_store: Store, tmp_path: Path) -> None:
    for d in ("good.example", "nullmx.example", "drift.example", "nomx.example", "gone.example"):
        add_domain(sqlite_store, d)
    cfg = Config()
    cfg.smtp.mx_hosts = ["mx1.good.example"]
    with dns_server(ZONE) as port:
        report = run_doctor(
            sqlite_store, cfg, lookup=Lookup("127.0.0.1", port, timeout=5), checks=("dns",)
        )
    assert not report.ok
    good = by_check(report, "dns:good.example")
    assert {lvl for lvl, _, _ in good} == {"ok"}
    assert any("127.0.0.1" in m and "::1" in m for _, m, _ in good)

    [null] = by_check(report, "dns:nullmx.example")[:1]
    assert null[0] == "error" and "null MX" in null[1] and "MX 10 mx1.good.example" in null[2]

    drift = by_check(report, "dns:drift.example")
    errors = [m for lvl, m, _ in drift if lvl == "error"]
    assert any("mail.elsewhere.example has no A or AAAA" in m for m in errors)
    assert any("points at mail.elsewhere.example, not at smtp.mx_hosts" in m for m in errors)
    infos = {m: fix for lvl, m, fix in drift if lvl == "info"}
    assert any("v=spf1 -all" in fix for m, fix in infos.items() if m.startswith("SPF"))
    assert "DMARC policy is p=none" in infos

    nomx = by_check(report, "dns:nomx.example")
    assert nomx[0][0] == "error" and "no MX record" in nomx[0][1]
    assert ("warn", "nomx.example has no SPF record: others can send as it") in [
        (lvl, m) for lvl, m, _ in nomx
    ]
    assert any(lvl == "warn" and "DMARC" in m and "p=reject" in fix for lvl, m, fix in nomx)

    [gone] = by_check(report, "dns:gone.example")
    assert gone[0] == "error" and "does not exist" in gone[1]
    assert all(f.fix for f in report.findings if f.level in ("warn", "error"))


def test_listeners_answer_and_smtp_banner_is_neutral(sqlite_store: Store) -> None:
    smtp_port, http_port, dead_port = free_port(), free_port(), free_port()
    cfg = Config()
    cfg.listen.smtp = f"127.0.0.1:{smtp_port}"
    cfg.listen.http = f"127.0.0.1:{http_port}"
    cfg.listen.admin = f"127.0.0.1:{dead_port}"
    with (
        socket.create_server(("127.0.0.1", http_port)),
        smtp_receiver(smtp_port, ident="ESMTP ready", server_hostname="mx1.good.example"),
    ):
        report = run_doctor(sqlite_store, cfg, checks=("listeners",))
    levels = {f.check: f.level for f in report.findings}
    assert levels == {"listener:smtp": "ok", "listener:http": "ok", "listener:admin": "error"}
    assert not report.ok
    with smtp_receiver(smtp_port):  # aiosmtpd's default banner names the library
        report = run_doctor(sqlite_store, cfg, checks=("listeners",))
    [smtp] = [f for f in report.findings if f.check == "listener:smtp"]
    assert smtp.level == "warn" and "names the software" in smtp.message


def test_provider_secrets_and_phone_pool(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    for n in ("+50683123456", "+50683123457"):
        add_phone(store, n, "twilio")
    cfg = Config()
    report = run_doctor(store, cfg, checks=("providers", "phones"))
    [tw] = [f for f in report.findings if f.check == "provider:twilio"]
    assert tw.level == "error" and "providers.twilio.auth_token" in tw.fix and not report.ok

    cfg.providers.twilio.auth_token_env = "TW_TOKEN"
    monkeypatch.setenv("TW_TOKEN", "abc")
    add_copy(store, "A", phones=["+50683123456"])
    add_copy(store, "B", phones=["+50683123457"])
    add_copy(store, "C", phones=["+50683123456", "+50683123457"])
    report = run_doctor(store, cfg, checks=("providers", "phones"))
    assert report.ok and [f.level for f in report.findings] == ["ok", "ok"]

    add_copy(store, "D", phones=["+50683123456"])  # same set as copy A
    report = run_doctor(store, cfg, checks=("phones",))
    [ph] = report.findings
    assert ph.level == "warn" and "2 copies share" in ph.message and "phone add" in ph.fix


def test_doctor_cli_json(config: Config, tmp_path: Path) -> None:
    store = open_store(config.store_url)
    try:
        add_domain(store, "good.example")
        add_domain(store, "nullmx.example")
    finally:
        store.dispose()
    env = {k: v for k, v in os.environ.items() if k != "CANARY_DB_URL"}
    with dns_server(ZONE) as port:
        r = subprocess.run(
            [sys.executable, "-m", "canary", "doctor", "--json", "--nameserver",
             f"127.0.0.1:{port}", "--skip", "listeners"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    assert set(doc["findings"][0]) == {"level", "check", "message", "fix"}
    assert any(
        f["check"] == "dns:nullmx.example" and f["level"] == "error" for f in doc["findings"]
    )
    bad = subprocess.run(
        [sys.executable, "-m", "canary", "doctor", "--skip", "nothing"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("error: unknown check 'nothing'")


def test_broken_dns_is_told_apart_from_an_unregistered_domain(sqlite_store: Store) -> None:
    add_domain(sqlite_store, "good.example")
    add_domain(sqlite_store, "gone.example")
    broken = {k: v for k, v in ZONE.items() if k != (".", "NS")}  # NXDOMAIN for the root too
    with dns_server(broken) as port:
        report = run_doctor(
            sqlite_store, Config(), lookup=Lookup("127.0.0.1", port, timeout=5), checks=("dns",)
        )
    [only] = report.findings
    assert (only.check, only.level) == ("dns", "error")
    assert only.message.startswith("DNS does not work from here") and "--nameserver" in only.fix
    with dns_server(ZONE) as port:
        report = run_doctor(
            sqlite_store, Config(), lookup=Lookup("127.0.0.1", port, timeout=5), checks=("dns",)
        )
    [gone] = by_check(report, "dns:gone.example")
    assert gone[0] == "error" and gone[1] == "gone.example does not exist in DNS"
    assert not any(f.message.startswith("DNS does not work") for f in report.findings)


def test_config_that_catches_nothing_on_the_internet_is_flagged(sqlite_store: Store) -> None:
    cfg = Config()  # the defaults: loopback, port 2525, http public_url, placeholder hostname
    report = run_doctor(sqlite_store, cfg, checks=("config",))
    assert all(f.level == "warn" and f.fix for f in report.findings)
    checks = [f.check for f in report.findings]
    assert checks.count("config:listen.smtp") == 2  # loopback, and not port 25
    assert "config:listen.http" in checks and "config:smtp.hostname" in checks
    assert checks.count("config:listen.public_url") == 2  # http, and loopback
    [port] = [f for f in report.findings if "port 2525" in f.message]
    assert "forward port 25 to 2525" in port.fix

    cfg.listen.smtp = "0.0.0.0:25"
    cfg.listen.http = "0.0.0.0:8025"
    cfg.listen.public_url = "https://hooks.canary-avisos.mx"
    cfg.smtp.hostname = "mx1.canary-avisos.mx"
    assert run_doctor(sqlite_store, cfg, checks=("config",)).findings == []

    cfg.listen.http = "127.0.0.1:8025"  # behind the TLS proxy that public_url names
    assert run_doctor(sqlite_store, cfg, checks=("config",)).findings == []

    cfg.listen.smtp = "127.0.0.1:2525"  # a forwarder sends port 25 here
    cfg.listen.behind_forwarder = True
    assert run_doctor(sqlite_store, cfg, checks=("config",)).findings == []


def test_landline_in_the_sms_pool_is_flagged(sqlite_store: Store) -> None:
    from canary.store.models import PhoneNumber

    add_phone(sqlite_store, "+50683123456", "twilio")
    add_phone(sqlite_store, "+50622223333", "twilio", voice_only=True)  # fine: calls only
    with sqlite_store.session() as s:  # registered before landlines were refused
        s.add(PhoneNumber(number="+50622224444", provider="twilio"))
    report = run_doctor(sqlite_store, Config(), checks=("phones",))
    [land] = [f for f in report.findings if "fixed line" in f.message]
    assert land.level == "warn" and land.message.startswith("+50622224444 is a fixed line")
    assert "canary phone remove +50622224444" in land.fix


def test_files_readable_by_others_are_flagged_with_the_chmod(
    config: Config, tmp_path: Path
) -> None:
    store = open_store(config.store_url)
    try:
        report = run_doctor(store, config, checks=("files",))
        assert [(f.level, f.check) for f in report.findings] == [("ok", "files")]
        os.chmod(config.path, 0o644)
        db = tmp_path / "canary.db"
        os.chmod(db, 0o640)
        report = run_doctor(store, config, checks=("files",))
    finally:
        store.dispose()
    flagged = {f.message.split(" can be read")[0]: f.fix for f in report.findings}
    assert all(f.level == "warn" for f in report.findings)
    assert flagged == {
        str(config.path): f"chmod 600 {config.path}",
        str(db): f"chmod 600 {db}",
    }
