"""Every dashboard page rendered with known data: each field where it belongs, and no
Python repr anywhere (a template printing `dict.copy` instead of the copy id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from canary.hits.attribution import chance_of_contact
from canary.hits.record import Observation, record
from canary.store import users
from canary.store.engine import Store, open_store
from tests.admin_support import csrf_of, live_admin, login
from tests.case_support import XSS, mail_hit, make_copy
from tests.html_support import Node, assert_no_repr, parse

PHONE = "+50683123456"


@pytest.fixture
def site(tmp_path: Path, port: int) -> Iterator[tuple[httpx.Client, dict]]:
    """Copy A (an email of its own and a number it shares with B), copy B; a hit on A's
    email (exclusive) and an SMS to the shared number; logged in as an admin, English."""
    store: Store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        t0 = datetime.now(UTC) - timedelta(days=3)
        a = make_copy(store, "Proveedor Ñandú", ["ana@canary.example"], [PHONE], issued_at=t0)
        b = make_copy(
            store, "Otra Empresa", ["beto@canary.example"], [PHONE], issued_at=t0 + timedelta(1)
        )
        own = mail_hit(store, "ana@canary.example")
        [sms] = record(
            store,
            [
                Observation(
                    "sms",
                    PHONE,
                    sender="+50688887777",
                    summary="promo " + XSS,
                    provider="twilio",
                    provider_message_id="SM1",
                    # two days before the mail: no "other hits within 24 h" weigh in
                    observed_at=t0 + timedelta(days=1, hours=1),
                )
            ],
        )
        users.add_user(store, "root", "admin password", "admin")
        known = {"a": a, "b": b, "own": own, "sms": sms.hit_id, "store": store}
        with (
            live_admin(store, port) as url,
            httpx.Client(base_url=url, timeout=60, headers={"Accept-Language": "en"}) as c,
        ):
            assert login(c, "root", "admin password").status_code == 303
            yield c, known
    finally:
        store.dispose()


def page(c: httpx.Client, path: str, **kw) -> Node:
    r = c.get(path, **kw)
    assert r.status_code == 200, (path, r.status_code)
    assert_no_repr(r.text)
    assert XSS not in r.text
    return parse(r.text)


def row_of(table: Node, first_cell: str) -> list[str]:
    rows = [r.cells() for r in table.all("tr") if r.cells() and r.cells()[0] == first_cell]
    assert len(rows) == 1, (first_cell, [r.cells() for r in table.all("tr")])
    return rows[0]


def test_index_lists_incidents_by_copy_and_hits_by_strength(site) -> None:
    c, k = site
    doc = page(c, "/")
    incidents = doc.by_id("incidents")
    by_copy = {r.one("td", cls="copy").text: r for r in incidents.all("tr") if r.all(cls="copy")}
    assert set(by_copy) == {k["a"], k["b"]}  # the shared SMS joined B's incident too
    a_row = by_copy[k["a"]]
    assert a_row.one("td", cls="recipient").text == "Proveedor Ñandú"
    assert (a_row.one("td", cls="hits").text, a_row.one("td", cls="shared-hits").text) == (
        "2",
        "1",
    )
    b_row = by_copy[k["b"]]
    assert b_row.one("td", cls="recipient").text == "Otra Empresa"
    assert (b_row.one("td", cls="hits").text, b_row.one("td", cls="shared-hits").text) == (
        "1",
        "1",
    )
    hits = doc.by_id("hits")
    sms = row_of(hits, str(k["sms"]))
    assert sms[3] == PHONE and sms[6].startswith("shared (P 0.")
    assert set(sms[7].split()) == {k["a"], k["b"]}
    own = row_of(hits, str(k["own"]))
    assert own[6].startswith("exclusive (P ") and own[7] == k["a"]


def test_copies_page_counts_exclusive_and_shared_apart(site) -> None:
    c, k = site
    table = page(c, "/copies").by_id("copies")
    a = table.one("tr", data_copy=k["a"])
    assert a.one("td", cls="copy").text == k["a"]
    assert a.one("td", cls="recipient").text == "Proveedor Ñandú"
    assert a.one("td", cls="purpose").text == "auditoría"
    assert a.one("td", cls="dataset").text == "candidatas.csv"
    assert (a.one("td", cls="hits").text, a.one("td", cls="shared-hits").text) == ("1", "1")
    b = table.one("tr", data_copy=k["b"])
    assert (b.one("td", cls="hits").text, b.one("td", cls="shared-hits").text) == ("0", "1")


def test_copy_page_shows_its_issuance_and_both_kinds_of_hits(site) -> None:
    c, k = site
    doc = page(c, f"/copies/{k['a']}")
    assert doc.by_id("copy-title").text == f"Copy {k['a']}"
    assert doc.one("head").one("title").text.startswith(f"Copy {k['a']}")
    assert doc.by_id("copy-recipient").one("td").text == "Proveedor Ñandú"
    assert doc.by_id("copy-issued-by").one("td").text == "custodio"
    assert doc.by_id("copy-purpose").one("td").text == "auditoría"
    assert doc.by_id("copy-sha256").one("td").text == "b" * 64
    assert doc.by_id("copy-strength").one("td").text == "exclusive"
    excl = doc.by_id("exclusive-hits")
    assert [r.attrs["data-hit"] for r in excl.all("tr") if "data-hit" in r.attrs] == [str(k["own"])]
    shared = doc.by_id("shared-hits")
    [row] = [r for r in shared.all("tr") if "data-hit" in r.attrs]
    assert row.attrs["data-hit"] == str(k["sms"])
    cands = {s.attrs["data-copy"]: s.text for s in row.all("span", cls="candidate")}
    assert set(cands) == {k["a"], k["b"]}
    assert "P 0.5" in cands[k["b"]]  # one of two holders, nothing else to tell them apart


def test_hit_page_lists_candidates_with_p(site) -> None:
    c, k = site
    doc = page(c, f"/hits/{k['sms']}")
    assert doc.by_id("hit-strength").text.startswith("shared (P 0.5")
    rows = {r.attrs["data-copy"]: r for r in doc.by_id("hit-candidates").all("tr") if r.attrs}
    assert set(rows) == {k["a"], k["b"]}
    for copy_id, r in rows.items():
        assert r.one("td", cls="copy").text == copy_id
        assert r.one("td", cls="p").text == "0.502"
        assert "one of 2 holders" in r.one("td", cls="reason").text
    own = page(c, f"/hits/{k['own']}")
    [only] = [r for r in own.by_id("hit-candidates").all("tr") if r.attrs]
    assert only.one("td", cls="copy").text == k["a"]
    # "ana": 3 characters, 7.5 bits: a guess reaches it with probability about 0.0055.
    chance = chance_of_contact("email", "ana@canary.example")
    assert only.one("td", cls="p").text == f"{chance / (1 + chance):.3g}" == "0.00549"


def test_incident_pages_name_their_copy_and_mark_shared_hits(site) -> None:
    c, k = site
    incidents = c.get("/api/incidents").json()["incidents"]
    for inc in incidents:
        doc = page(c, f"/incidents/{inc['id']}")
        assert doc.by_id("incident-copy").text == inc["copy"]
        recipient = "Proveedor Ñandú" if inc["copy"] == k["a"] else "Otra Empresa"
        assert doc.by_id("incident-recipient").text == recipient
        assert doc.by_id("incident-shared-hits").text == "1"
        sms = row_of(doc.by_id("timeline"), str(k["sms"]))
        assert sms[6].startswith("shared")


def test_search_identify_users_and_login_pages(site) -> None:
    c, k = site
    doc = page(c, "/search", params={"q": "+506 8312 3456"})
    links = {a.attrs["href"] for a in doc.all("a")}
    assert {f"/copies/{k['a']}", f"/copies/{k['b']}", f"/hits/{k['sms']}"} <= links
    row_of(doc.by_id("search-hits"), str(k["sms"]))

    token = csrf_of(c.get("/identify").text)
    dump = b"nombre;correo\nAna;ana@canary.example\n"
    r = c.post("/identify", data={"csrf": token}, files={"file": ("d.csv", dump)})
    assert r.status_code == 200
    assert_no_repr(r.text)
    row = row_of(parse(r.text).by_id("identify-result"), k["a"])
    assert row[1] == "Proveedor Ñandú" and row[5] == "email: ana@canary.example"
    assert row[3] == "exclusive"  # the strength column, in the page's language

    users_page = page(c, "/users")
    assert "root" in [r.cells()[0] for r in users_page.by_id("users").all("tr") if r.cells()]
    with httpx.Client(base_url=str(c.base_url), timeout=60) as anon:
        r = anon.get("/login")
        assert r.status_code == 200
        assert_no_repr(r.text)
