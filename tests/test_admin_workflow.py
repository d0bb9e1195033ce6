"""The case workflow and search through the admin JSON API over a real socket, on SQLite
and PostgreSQL: roles (viewers read, investigators change), CSRF for sessions, the
token's `by`, and the chain after every change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from canary.store import chain, users
from canary.store.admin_token import rotate_admin_token
from canary.store.engine import Store
from tests.admin_support import csrf_of, live_admin, login
from tests.case_support import XSS, mail_hit, make_copy


@dataclass
class Site:
    store: Store
    url: str
    token: str
    copy_id: str
    hit_id: int
    incident_id: int


@pytest.fixture
def site(store: Store, port: int) -> Iterator[Site]:
    copy_id = make_copy(store, "Proveedor A", ["gustavo@canary.example"])
    hit_id = mail_hit(store, "gustavo@canary.example")
    token = rotate_admin_token(store)
    users.add_user(store, "vera", "viewer password", "viewer")
    users.add_user(store, "ivan", "investigator pw", "investigator")
    with store.session() as s:
        from canary.investigate.history import list_incidents

        [inc] = list_incidents(s)
    with live_admin(store, port) as url:
        yield Site(store, url, token, copy_id, hit_id, inc["id"])


def verified(store: Store) -> bool:
    with store.session() as s:
        return chain.verify_chain(s) is None


@contextmanager
def session(site: Site, user: str, password: str) -> Iterator[tuple[httpx.Client, str]]:
    """A logged-in browser session and its CSRF token."""
    with httpx.Client(base_url=site.url, timeout=60) as c:
        assert login(c, user, password).status_code == 303
        yield c, csrf_of(c.get("/").text)


def test_viewers_read_but_cannot_change(site: Site) -> None:
    with session(site, "vera", "viewer password") as (c, csrf):
        inc = f"/api/incidents/{site.incident_id}"
        assert c.get(inc).json()["status"] == "open"
        h = {"X-CSRF-Token": csrf}
        r = c.post(inc, json={"status": "investigating"}, headers=h)
        assert r.status_code == 403 and "investigator" in r.json()["error"]
        r = c.post(f"/api/hits/{site.hit_id}/noise", json={"reason": "x"}, headers=h)
        assert r.status_code == 403
        assert c.get("/api/search", params={"q": "gustavo"}).status_code == 403
        assert c.get(inc).json()["history"] == []
    with httpx.Client(base_url=site.url, timeout=60) as anonymous:
        assert anonymous.post(inc, json={"note": "x"}).status_code == 401


def test_investigator_works_the_case_with_csrf(site: Site) -> None:
    inc = f"/api/incidents/{site.incident_id}"
    with session(site, "ivan", "investigator pw") as (c, csrf):
        assert c.post(inc, json={"note": "x"}).status_code == 403  # no CSRF token
        h = {"X-CSRF-Token": csrf}
        r = c.post(inc, json={"assignee": "Ivan", "note": XSS, "by": "someone else"}, headers=h)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["assignee"] == "Ivan" and doc["notes"][0]["text"] == XSS
        assert doc["change"]["by"] == "ivan"  # a session acts as its user, whatever it says
        assert verified(site.store)

        r = c.post(inc, json={"status": "closed"}, headers=h)
        assert r.status_code == 400 and "resolution" in r.json()["error"]
        r = c.post(inc, json={"status": "closed", "resolution": "contract ended"}, headers=h)
        assert r.json()["status"] == "closed" and r.json()["resolution"] == "contract ended"
        closed = c.get("/api/incidents", params={"status": "closed"}).json()["incidents"]
        assert [i["id"] for i in closed] == [site.incident_id]
        assert c.get("/api/incidents", params={"status": "nope"}).status_code == 400
        assert c.post(inc, json={}, headers=h).status_code == 400
        assert c.post(inc, json={"note": 5}, headers=h).status_code == 400
        assert (
            c.post(
                inc, content=b"{not json", headers={**h, "content-type": "application/json"}
            ).status_code
            == 400
        )
        assert c.post("/api/incidents/999999", json={"note": "x"}, headers=h).status_code == 404

        # an HTML form posts the same fields, with the token in the form
        r = c.post(inc, data={"status": "open", "csrf": csrf})
        assert r.status_code == 200 and r.json()["status"] == "open"
        assert r.json()["resolution"] is None
        assert c.post(inc, data={"status": "investigating", "csrf": "wrong"}).status_code == 403

        noise = f"/api/hits/{site.hit_id}/noise"
        assert c.post(noise, json={}, headers=h).status_code == 400  # a reason is required
        r = c.post(noise, json={"reason": "our own test"}, headers=h)
        assert r.status_code == 200 and r.json()["classification"] == "noise"
        assert r.json()["noise"] == {
            "reason": "our own test",
            "by": "ivan",
            "at": r.json()["change"]["at"],
        }
        assert c.get("/api/copies").json()["copies"][0]["hits"] == 0
        r = c.post(noise, data={"noise": "false", "reason": "real after all", "csrf": csrf})
        assert r.status_code == 200 and r.json()["classification"] == "evidence"
        assert c.get("/api/copies").json()["copies"][0]["hits"] == 1
        history = c.get(inc).json()["history"]
        assert [e["kind"] for e in history] == ["incident"] * 3 + ["noise"] * 2
        assert verified(site.store)


def test_the_token_names_its_human(site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.token}"}
    with httpx.Client(base_url=site.url, timeout=60, headers=auth) as c:
        r = c.post(
            f"/api/incidents/{site.incident_id}", json={"note": "from the SIEM", "by": "soc-bot"}
        )
        assert r.status_code == 200 and r.json()["change"]["by"] == "soc-bot"
        r = c.post(f"/api/hits/{site.hit_id}/noise", json={"reason": "scanner"})
        assert r.status_code == 200 and r.json()["change"]["by"] == "api-token"
    assert verified(site.store)


def test_search_api(site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.token}"}
    with httpx.Client(base_url=site.url, timeout=60, headers=auth) as c:
        doc = c.get("/api/search", params={"q": "Gustavo@Canary.Example"}).json()
        assert [(r["type"], r["matched"], r["copies"]) for r in doc["results"]] == [
            ("canary", "identifier", [site.copy_id]),
            ("hit", "identifier", [site.copy_id]),
        ]
        assert doc["results"][0]["incident"] == site.incident_id and not doc["truncated"]
        by_sender = c.get("/api/search", params={"q": "campaign.example"}).json()["results"]
        assert [(r["type"], r["id"], r["matched"]) for r in by_sender] == [
            ("hit", site.hit_id, "sender")
        ]
        assert by_sender[0]["hit"]["copies"] == [site.copy_id] and by_sender[0]["incident"]
        subject = c.get("/api/search", params={"q": "onerror"}).json()["results"]
        assert [(r["id"], r["matched"]) for r in subject] == [(site.hit_id, "subject")]
        assert (
            c.get("/api/search", params={"q": "onerror", "channel": "sms"}).json()["results"] == []
        )
        r = c.get(
            "/api/search", params={"q": "onerror", "strength": "exclusive", "since": "2020-01-01"}
        )
        assert [x["id"] for x in r.json()["results"]] == [site.hit_id]
        assert c.get("/api/search", params={"q": "%"}).status_code == 400
        assert c.get("/api/search").status_code == 400
        assert c.get("/api/search", params={"q": "x", "strength": "strong"}).status_code == 400
        assert c.get("/api/search", params={"q": "xx", "limit": "0"}).status_code == 400
