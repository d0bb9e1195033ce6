from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from canary.errors import NotFound
from canary.evidence import bundle
from canary.evidence.verify import verify_bundle
from canary.store.engine import Store
from tests.bundle_support import SIGNER
from tests.case_support import RAW_MAIL, XSS, mail_hit, make_copy


@pytest.fixture
def case(sqlite_store: Store) -> tuple[Store, str, str]:
    copy_id = make_copy(sqlite_store, "Proveedor Ñandú", ["lucia@canary.example"])
    other = make_copy(sqlite_store, "Otro", ["otro@canary.example"])
    mail_hit(sqlite_store, "lucia@canary.example")
    mail_hit(sqlite_store, "otro@canary.example", mid="x")
    raw2 = RAW_MAIL.replace(b"m1", b"m2") + b"\r\nsecond"
    mail_hit(sqlite_store, "lucia@canary.example", raw=raw2, mid="m2")
    return sqlite_store, copy_id, other


def test_bundle_holds_the_hits_and_the_raw_bytes_as_received(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    out = tmp_path / "case.zip"
    written = bundle.write_bundle(store, copy_id, out, SIGNER, lang="en")
    assert written.hits == 2
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {
            "report.html",
            "report.pdf",
            "issuance.json",
            "chain.json",
            "manifest.json",
        } <= names
        assert zf.read("hits/001.eml") == RAW_MAIL
        assert zf.read("hits/002.eml").endswith(b"second")
        assert "hits/003.json" not in names  # the other copy's hit is not in this case
        issuance = json.loads(zf.read("issuance.json"))
        assert issuance["copy"]["recipient"] == "Proveedor Ñandú"
        assert issuance["canaries"][0]["identifiers"][0]["value"] == "lucia@canary.example"
        hit1 = json.loads(zf.read("hits/001.json"))
        assert hit1["copies"] == [copy_id] and hit1["summary"] == XSS
        html = zf.read("report.html").decode()
        assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<script" not in html.lower()
        assert "Case report" in html and "Proveedor Ñandú" in html
        assert zf.read("report.pdf").startswith(b"%PDF")
        links = json.loads(zf.read("chain.json"))
        # the other copy's issuance and hit are there as hashes only
        assert [link.get("kind") for link in links] == ["copy", None, "hit", None, "hit"]
        assert "record" not in links[1] and "record" not in links[3]
    check = verify_bundle(out, SIGNER.public)
    assert check.ok, check.problems


def test_spanish_is_the_default(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    bundle.write_bundle(store, copy_id, tmp_path / "c.zip", SIGNER)
    with zipfile.ZipFile(tmp_path / "c.zip") as zf:
        assert "Informe de caso" in zf.read("report.html").decode()


def test_unknown_copy_is_a_clear_error(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="canary copies"):
        bundle.write_bundle(sqlite_store, "CNOPE", tmp_path / "x.zip", SIGNER)


def test_pdf_without_unicode_font_still_renders(monkeypatch) -> None:
    from canary.evidence import case as casereport
    from canary.evidence import pdf as pdfreport
    from canary.hits.attribution import Candidate, CopyAttribution
    from canary.vocabulary import Strength

    monkeypatch.setattr(pdfreport, "FONT_DIRS", ())
    mine = Candidate("C1", 1.0, XSS, 5e-6)
    hit = casereport.HitView(
        number=1,
        id=1,
        observed_at="t",
        channel="smtp",
        identifier="a@b",
        sender="\x00" + "x" * 5000,
        summary=XSS,
        strength=Strength.EXCLUSIVE,
        mine=mine,
        candidates=(mine,),
        raw=None,
        evidence_sha256=None,
    )
    view = casereport.CaseReport(
        lang="es",
        t=casereport.TEXT["es"],
        issuance=casereport.Issuance(
            "C1", "Ñandú 中文 🐦", "x", "y", "2026-01-01", "d", "0" * 64, ()
        ),
        attribution=CopyAttribution("C1", Strength.EXCLUSIVE, 5e-6, 1, 0),
        exclusive=(hit,),
        shared=(),
        chain_broken=None,
        generated="now",
    )
    assert pdfreport.render_pdf(view).startswith(b"%PDF")
