"""Canary domains and numbers: public providers and landlines refused, MX warned, retirement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from canary.config import Config
from canary.errors import InputError
from canary.investigate.trace import trace
from canary.issue.plant import IssueRequest, issue_copies
from canary.ops.contacts import add_canary_domain, refuse_public_provider
from canary.ops.dns import Lookup
from canary.store import chain
from canary.store import register as registry
from canary.store.engine import Store
from canary.store.models import Canary, Identifier
from tests.alerts_support import dns_server
from tests.cli_support import canary
from tests.test_plant import make_csv

PUBLIC = [
    "gmail.com", "GMail.com", "googlemail.com", "hotmail.com", "hotmail.es", "hotmail.com.mx",
    "outlook.com", "outlook.es", "live.com", "live.com.mx", "msn.com", "yahoo.com",
    "yahoo.com.mx", "yahoo.es", "ymail.com", "icloud.com", "me.com", "proton.me",
    "protonmail.com", "aol.com", "gmx.de", "gmx.net", "mail.ru", "yandex.ru", "zoho.com",
    "prodigy.net.mx", "mx.gmail.com",
]  # fmt: skip
OURS = ["avisos.example.org", "live.example.org", "myhotmail-alertas.mx", "correo.gob.mx"]

ROOT = {(".", "NS"): ["a.root-servers.net."]}


@pytest.mark.parametrize("domain", PUBLIC)
def test_public_mail_providers_are_refused(domain: str) -> None:
    with pytest.raises(InputError, match="is a public mail provider"):
        refuse_public_provider(domain)


@pytest.mark.parametrize("domain", OURS)
def test_own_domains_are_not_mistaken_for_providers(domain: str) -> None:
    assert refuse_public_provider(domain) == domain


def test_the_cli_refuses_gmail_and_registers_nothing(config: Config, tmp_path: Path) -> None:
    r = canary("domain", "add", "gmail.com", cwd=tmp_path)
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: gmail.com is a public mail provider")
    out = json.loads(canary("domain", "list", "--json", cwd=tmp_path).stdout)
    assert out == {"domains": []}


def test_mx_not_pointing_at_us_is_a_warning(sqlite_store: Store) -> None:
    cfg = Config()
    cfg.smtp.mx_hosts = ["mx1.canary.example"]
    zone = {
        **ROOT,
        ("ours.example.", "MX"): ["10 mx1.canary.example."],
        ("theirs.example.", "MX"): ["10 mail.hosting.example."],
        ("nomx.example.", "A"): ["192.0.2.1"],
    }
    with dns_server(zone) as port:
        lk = Lookup("127.0.0.1", port, timeout=3)
        assert add_canary_domain(sqlite_store, cfg, "ours.example", lk).warnings == []
        [w] = add_canary_domain(sqlite_store, cfg, "theirs.example", lk).warnings
        assert "points at mail.hosting.example, not at our listener (mx1.canary.example)" in w
        [w] = add_canary_domain(sqlite_store, cfg, "nomx.example", lk).warnings
        assert "has no MX record" in w
        [w] = add_canary_domain(sqlite_store, cfg, "unregistered.example", lk).warnings
        assert "does not exist in DNS" in w
    # Registered all the same: DNS may be set up after the domain is added.
    assert registry.list_domains(sqlite_store) == [
        "nomx.example", "ours.example", "theirs.example", "unregistered.example",
    ]  # fmt: skip


def test_broken_dns_is_not_taken_for_a_missing_domain(sqlite_store: Store) -> None:
    with dns_server({}) as port:  # answers NXDOMAIN for everything, the root too
        [w] = add_canary_domain(
            sqlite_store, Config(), "avisos.example", Lookup("127.0.0.1", port, timeout=2)
        ).warnings
    assert w.startswith("DNS does not work from here")


def test_no_dns_server_does_not_hang(config: Config, tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # takes queries, never answers
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        r = canary(
            "domain", "add", "avisos.example.org", "--nameserver", f"127.0.0.1:{port}",
            cwd=tmp_path,
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added: avisos.example.org"
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("warning: DNS does not work from here")


def test_landline_refused_for_sms_unless_voice_only(store: Store) -> None:
    with pytest.raises(InputError) as info:
        registry.add_phone(store, "+506 2222 3333", "twilio")  # a San José landline
    msg = str(info.value)
    assert msg.startswith("+50622223333 is a fixed line") and "--voice-only" in msg
    assert registry.list_phones(store) == []
    e164, new = registry.add_phone(store, "+506 2222 3333", "twilio", voice_only=True)
    assert (e164, new) == ("+50622223333", True)
    assert registry.add_phone(store, "+506 8312 3456", "twilio") == ("+50683123456", True)
    [landline, mobile] = registry.list_phones(store)
    assert landline.voice_only and not mobile.voice_only


def test_cli_phone_add_says_why_a_landline_is_refused(config: Config, tmp_path: Path) -> None:
    r = canary("phone", "add", "+506 2222 3333", "--provider", "twilio", cwd=tmp_path)
    assert r.returncode == 1 and "fixed line" in r.stderr and "--voice-only" in r.stderr
    r = canary("phone", "add", "+506 2222 3333", "--voice-only", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [p] = json.loads(canary("phone", "list", "--json", cwd=tmp_path).stdout)["phones"]
    assert p["number"] == "+50622223333" and p["voice_only"] is True and p["retired"] is False


def _issue(store: Store, tmp_path: Path, name: str, recipient: str) -> str:
    src = tmp_path / f"{name}.csv"
    make_csv(src, rows=120)
    [copy] = issue_copies(
        store, Config(), IssueRequest(str(src), [recipient], out_dir=tmp_path / name, seed=3)
    )
    return copy.id


def _emails(store: Store, copy_id: str) -> list[str]:
    with store.session() as s:
        q = (
            Identifier.__table__.select()
            .join(Canary.__table__, Canary.id == Identifier.canary_id)
            .where(Canary.copy_id == copy_id, Identifier.kind == "email")
        )
        return [r.value for r in s.execute(q)]


def test_retired_domain_and_number_are_not_used_again_and_keep_resolving(
    store: Store, tmp_path: Path
) -> None:
    registry.add_domain(store, "viejo.example.org")
    for i in range(4):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    first = _issue(store, tmp_path, "a", "Proveedor A")
    old = _emails(store, first)
    assert old and all(e.endswith("@viejo.example.org") for e in old)

    registry.add_domain(store, "nuevo.example.org")
    registry.retire_domain(store, "viejo.example.org")
    registry.retire_phone(store, "+52 844 555 1000")
    second = _issue(store, tmp_path, "b", "Proveedor B")
    assert all(e.endswith("@nuevo.example.org") for e in _emails(store, second))
    with store.session() as s:
        phones = set(
            s.scalars(
                Identifier.__table__.select()
                .with_only_columns(Identifier.value)
                .join(Canary.__table__, Canary.id == Identifier.canary_id)
                .where(Canary.copy_id == second, Identifier.kind == "phone")
            )
        )
    assert "+528445551000" not in phones

    # Issued canaries keep resolving to their copy.
    assert [c["id"] for c in trace(store, old[0])["copies"]] == [first]
    assert registry.list_domains(store) == ["nuevo.example.org"]
    listed = {d.name: d.retired for d in registry.all_domains(store)}
    assert listed == {"viejo.example.org": True, "nuevo.example.org": False}
    assert registry.list_phones(store, include_retired=True)[0].retired is True

    # A retirement is a new link kind in the chain, verified like the rest.
    with store.session() as s:
        kinds = [r[0] for r in s.execute(text("SELECT kind FROM chain ORDER BY seq")).all()]
        assert kinds.count("retire") == 2 and kinds.count("copy") == 2
        assert chain.verify_chain(s) is None
    with pytest.raises(InputError, match="was retired on"):
        registry.add_domain(store, "viejo.example.org")
    # Un-retiring behind the tool's back breaks the chain at that link.
    with store.engine.begin() as c:
        c.execute(text("UPDATE domains SET retired_at = NULL WHERE name = 'viejo.example.org'"))
    with store.session() as s:
        broken = chain.verify_chain(s)
    assert broken is not None and broken.kind == "retire"
    assert broken.ref_id == "domain:viejo.example.org"


def test_cli_remove_retires_and_list_shows_it(config: Config, tmp_path: Path) -> None:
    assert canary("domain", "add", "avisos.example.org", cwd=tmp_path).returncode == 0
    r = canary("domain", "remove", "avisos.example.org", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [d] = json.loads(canary("domain", "list", "--json", cwd=tmp_path).stdout)["domains"]
    assert d["name"] == "avisos.example.org" and d["retired"] is True and d["retired_at"]
    assert canary("phone", "add", "+506 8312 3456", cwd=tmp_path).returncode == 0
    assert canary("phone", "remove", "+506 8312-3456", cwd=tmp_path).returncode == 0
    [p] = json.loads(canary("phone", "list", "--json", cwd=tmp_path).stdout)["phones"]
    assert p["retired"] is True
    missing = canary("domain", "remove", "otro.example.org", cwd=tmp_path)
    assert missing.returncode == 1 and "not a registered canary domain" in missing.stderr
    r = canary("verify", cwd=tmp_path)
    assert r.returncode == 0 and "2 links" in r.stdout


def test_issue_refuses_a_summary_sheet(config: Config, tmp_path: Path) -> None:
    import openpyxl

    assert canary("domain", "add", "avisos.example.org", cwd=tmp_path).returncode == 0
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Resumen"
    ws.append(["Municipio", "Candidatas", "Porcentaje"])
    for i, m in enumerate(["Saltillo", "Torreón", "Monclova", "Piedras Negras", "Acuña"]):
        ws.append([m, 100 + i * 7, (100 + i * 7) / 600])
    ws.append(["Total", "=SUM(B2:B6)", "=SUM(C2:C6)"])
    src = tmp_path / "resumen.xlsx"
    wb.save(src)
    before = src.read_bytes()
    r = canary("issue", str(src), "--recipient", "A", "--out-dir", "out", cwd=tmp_path)
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert "has no contact, name or id column" in line and "nothing was written" in line
    assert src.read_bytes() == before
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    copies = json.loads(canary("copies", "--json", cwd=tmp_path).stdout)["copies"]
    assert copies == []
