from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from canary.errors import NotFound
from canary.evidence import report
from canary.store.engine import Store
from tests.case_support import RAW_MAIL, XSS, mail_hit, make_copy


def rewrite_member(src: Path, dst: Path, name: str, change) -> None:
    """Copy a zip, changing one member's bytes (what a careless or dishonest editor does)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, change(data) if info.filename == name else data)


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
    bundle = report.build_bundle(store, copy_id, out, lang="en")
    assert bundle.hits == 2
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
        links = json.loads(zf.read("chain.json"))["links"]
        assert [link["kind"] for link in links] == ["copy", "hit", "hit"]
    check = report.verify_bundle(out)
    assert check.ok, check.problems


def test_spanish_is_the_default(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    report.build_bundle(store, copy_id, tmp_path / "c.zip")
    with zipfile.ZipFile(tmp_path / "c.zip") as zf:
        assert "Informe de caso" in zf.read("report.html").decode()


@pytest.mark.parametrize("member", ["hits/001.eml", "issuance.json", "report.pdf"])
def test_one_changed_byte_is_caught_and_named(case, tmp_path: Path, member: str) -> None:
    store, copy_id, _ = case
    good = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, good)
    bad = tmp_path / "bad.zip"
    rewrite_member(good, bad, member, lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:])
    check = report.verify_bundle(bad)
    assert not check.ok
    assert [p.split(":")[0] for p in check.problems] == [member]


def test_flipped_byte_inside_the_zip_is_caught(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    out = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, out)
    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("hits/001.eml")
    pos = info.header_offset + 30 + len(info.filename) + 5
    data[pos] ^= 0x01
    out.write_bytes(bytes(data))
    check = report.verify_bundle(out)
    assert not check.ok and any(p.startswith("hits/001.eml") for p in check.problems)


def test_recomputed_manifest_still_fails_on_the_chain(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    good = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, good)
    bad = tmp_path / "bad.zip"

    def edit_chain(data: bytes) -> bytes:
        doc = json.loads(data)
        doc["links"][1]["record"]["sender"] = "innocent@x.example"
        return json.dumps(doc).encode()

    rewrite_member(good, bad, "chain.json", edit_chain)
    with zipfile.ZipFile(bad) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        manifest["files"]["chain.json"] = report.sha256(zf.read("chain.json"))
    worse = tmp_path / "worse.zip"
    rewrite_member(bad, worse, "manifest.json", lambda _d: json.dumps(manifest).encode())
    check = report.verify_bundle(worse)
    assert not check.ok and any("chain.json: link #" in p for p in check.problems)


def test_unknown_copy_is_a_clear_error(sqlite_store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="canary copies"):
        report.build_bundle(sqlite_store, "CNOPE", tmp_path / "x.zip")


def test_pdf_without_unicode_font_still_renders(monkeypatch) -> None:
    from canary.evidence import case as casereport
    from canary.evidence import pdf as pdfreport
    from canary.hits.attribution import Candidate, CopyAttribution, Strength

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


def recompute_manifest(src: Path, dst: Path) -> None:
    """What a careful forger does after editing: rewrite the manifest to match."""
    with zipfile.ZipFile(src) as zin:
        files = {n: zin.read(n) for n in zin.namelist() if n != "manifest.json"}
    manifest = {"files": {n: report.sha256(d) for n, d in files.items()}}
    with zipfile.ZipFile(dst, "w") as zout:
        for n, d in files.items():
            zout.writestr(n, d)
        zout.writestr("manifest.json", json.dumps(manifest))


def test_edited_hit_with_recomputed_manifest_is_named(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    good = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, good)
    edited = tmp_path / "edited.zip"

    def change_sender(data: bytes) -> bytes:
        doc = json.loads(data)
        doc["sender"] = "someone-else@x.example"
        return json.dumps(doc).encode()

    rewrite_member(good, edited, "hits/002.json", change_sender)
    forged = tmp_path / "forged.zip"
    recompute_manifest(edited, forged)
    check = report.verify_bundle(forged)
    assert check.problems == ["hits/002.json: differs from its chain record (sender)"]


def test_bundle_checked_against_the_store(case, tmp_path: Path) -> None:
    store, copy_id, _ = case
    out = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, out)
    assert report.verify_bundle(out, store=store).ok
    from canary.store.engine import open_store

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        make_copy(other, "Someone", ["x@canary.example"])
        check = report.verify_bundle(out, store=other)
    finally:
        other.dispose()
    assert not check.ok and "chain.json: link #1 is not the store's link #1" in check.problems


@pytest.mark.parametrize("lang", ["es", "en"])
def test_report_puts_each_issuance_field_in_its_row(case, tmp_path: Path, lang: str) -> None:
    from canary.evidence.case import TEXT
    from tests.html_support import assert_no_repr, parse

    store, copy_id, other = case
    out = tmp_path / "case.zip"
    report.build_bundle(store, copy_id, out, lang=lang)
    with zipfile.ZipFile(out) as zf:
        page = zf.read("report.html").decode()
    assert_no_repr(page)
    t = TEXT[lang]
    doc = parse(page)
    assert doc.one("title").text == t["title"].format(copy=copy_id)
    assert doc.by_id("title").text == t["title"].format(copy=copy_id)
    issuance = doc.by_id("issuance")
    expected = {
        "issuance-copy": (t["copy"], copy_id),
        "issuance-recipient": (t["recipient"], "Proveedor Ñandú"),
        "issuance-purpose": (t["purpose"], "auditoría"),
        "issuance-issued-by": (t["issued_by"], "custodio"),
        "issuance-dataset": (t["dataset"], "candidatas.csv"),
        "issuance-sha256": (t["sha256"], "b" * 64),
    }
    for row_id, cells in expected.items():
        assert tuple(issuance.by_id(row_id).cells()) == cells
    assert issuance.by_id("issuance-issued-at").cells()[1].startswith("20")
    # Two hits on its own address, both exclusive; the other copy's hit is not here.
    assert t["open_exclusive"].format(n=2, copy=copy_id, p="")[:30] in doc.by_id("opening").text
    hits = doc.by_id("exclusive-hits").all("div", cls="hit")
    assert len(hits) == 2 and not doc.all(id="shared-hits")
    assert other not in page
