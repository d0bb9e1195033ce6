"""The admin JSON API over a real socket: auth, shapes, raw evidence, identify."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from canary.evidence.signing import SIGNING_KEY_ENV
from canary.evidence.verify import verify_bundle
from canary.store import users
from canary.store.admin_token import rotate_admin_token
from canary.store.engine import Store, open_store
from tests.admin_support import live_admin
from tests.bundle_support import SIGNER
from tests.case_support import RAW_MAIL, XSS, mail_hit, make_copy


@pytest.fixture
def site(tmp_path: Path, port: int) -> Iterator[tuple[Store, str, str, str, int]]:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor A", ["ana@canary.example"], ["+50683123456"])
        make_copy(store, "Proveedor B", ["beto@canary.example"])
        hit_id = mail_hit(store, "ana@canary.example")
        token = rotate_admin_token(store)
        with live_admin(store, port) as url:
            yield store, url, token, copy_id, hit_id
    finally:
        store.dispose()


def test_auth_no_token_wrong_token_good_token(site) -> None:
    _store, url, token, _c, _h = site
    with httpx.Client(base_url=url, timeout=60) as c:
        for path in ("/api/hits", "/api/copies", "/api/incidents", "/api/trace?q=x@y.example"):
            assert c.get(path).status_code == 401
            r = c.get(path, headers={"Authorization": "Bearer not-the-token"})
            assert r.status_code == 401 and r.json()["error"]
        r = c.get("/api/hits", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert c.post("/api/identify", files={"file": ("a.txt", b"x")}).status_code == 401


def test_shapes(site, monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNER.private_base64())  # the installation's key
    _store, url, token, copy_id, hit_id = site
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60, headers=auth) as c:
        hits = c.get("/api/hits").json()["hits"]
        assert [h["id"] for h in hits] == [hit_id]
        assert set(hits[0]) >= {
            "id",
            "observed_at",
            "channel",
            "identifier",
            "sender",
            "summary",
            "copies",
        }
        assert hits[0]["copies"] == [copy_id] and hits[0]["summary"] == XSS
        assert c.get("/api/hits", params={"copy": "CNONE"}).json()["hits"] == []
        assert c.get("/api/hits", params={"sender": "CAMPAIGN"}).json()["hits"][0]["id"] == hit_id
        assert c.get("/api/hits", params={"recipient": "proveedor b"}).json()["hits"] == []
        assert c.get("/api/hits", params={"since": "2999-01-01"}).json()["hits"] == []
        assert c.get("/api/hits", params={"since": "yesterday"}).status_code == 400

        one = c.get(f"/api/hits/{hit_id}").json()
        assert one["details"]["subject"] == XSS and one["details"]["x_mailer"] == "<b>bulk</b>"
        assert one["text"].startswith("Vote por nosotros <script>alert(2)</script>")
        assert one["candidates"][0]["copy"] == copy_id and one["candidates"][0]["reason"]
        assert one["evidence"]["size"] == len(RAW_MAIL)
        assert c.get("/api/hits/999999").status_code == 404

        raw = c.get(f"/api/hits/{hit_id}/raw")
        assert raw.status_code == 200 and raw.content == RAW_MAIL
        assert raw.headers["content-type"] == "application/octet-stream"
        assert raw.headers["content-disposition"].startswith("attachment;")

        copies = c.get("/api/copies").json()["copies"]
        assert {cp["recipient"]: cp["hits"] for cp in copies} == {
            "Proveedor A": 1,
            "Proveedor B": 0,
        }
        detail = c.get(f"/api/copies/{copy_id}").json()
        assert detail["canaries"][0]["identifiers"][0]["value"] == "ana@canary.example"

        traced = c.get("/api/trace", params={"q": "ANA@Canary.Example"}).json()
        assert traced["copies"][0]["id"] == copy_id and traced["hits"][0]["id"] == hit_id
        by_phone = c.get("/api/trace", params={"q": "+506 8312-3456"}).json()
        assert [cp["id"] for cp in by_phone["copies"]] == [copy_id]

        incidents = c.get("/api/incidents").json()["incidents"]
        assert [(i["copy"], i["hits"]) for i in incidents] == [(copy_id, 1)]
        inc = c.get(f"/api/incidents/{incidents[0]['id']}").json()
        assert [h["id"] for h in inc["timeline"]] == [hit_id]

        found = c.post(
            "/api/identify",
            files={"file": ("dump.txt", b"lista: otra@x.example, ana@canary.example\n")},
        ).json()
        assert [(m["id"], m["matched"]) for m in found["copies"]] == [(copy_id, 1)]

        bundle = c.get(f"/api/copies/{copy_id}/bundle", params={"lang": "en"})
        assert bundle.status_code == 200 and bundle.content[:2] == b"PK"
        saved = Path(str(site[0].engine.url.database)).with_name("case.zip")
        saved.write_bytes(bundle.content)
        assert verify_bundle(saved, SIGNER.public, copy=copy_id).ok
        assert c.get("/api/openapi.json").json()["openapi"].startswith("3.")


def test_security_headers(site) -> None:
    _store, url, _token, _c, _h = site
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.get("/login")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_session_login_roles_and_csrf(site) -> None:
    from tests.admin_support import csrf_of, login

    store, url, _token, copy_id, hit_id = site
    users.add_user(store, "vera", "viewer password", "viewer")
    users.add_user(store, "ivan", "investigator pw", "investigator")
    with httpx.Client(base_url=url, timeout=60) as c:
        r = login(c, "vera", "viewer password")
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/hits").status_code == 200
        assert c.get(f"/api/hits/{hit_id}/raw").status_code == 403
        assert c.get("/api/trace", params={"q": "ana@canary.example"}).status_code == 403
        assert c.get("/users").status_code == 403
        page = c.get(f"/hits/{hit_id}")
        assert page.status_code == 200
        assert XSS not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
        assert "<script>alert(2)" not in page.text
        inc = c.get("/api/incidents").json()["incidents"][0]["id"]
        timeline = c.get(f"/incidents/{inc}")
        assert timeline.status_code == 200 and f'href="/hits/{hit_id}"' in timeline.text
        assert XSS not in timeline.text
    with httpx.Client(base_url=url, timeout=60) as c:
        login(c, "ivan", "investigator pw")
        files = {"file": ("d.txt", b"ana@canary.example")}
        assert c.post("/api/identify", files=files).status_code == 403  # no CSRF token
        token = csrf_of(c.get("/identify").text)
        r = c.post("/api/identify", files=files, headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json()["copies"][0]["id"] == copy_id
        r = c.post("/logout", data={"csrf": "wrong"})
        assert r.status_code == 403
        assert c.post("/logout", data={"csrf": token}).status_code == 303
        assert c.get("/api/hits").status_code == 401


def test_wrong_passwords_are_limited_per_user(site) -> None:
    from tests.admin_support import login

    store, url, *_ = site
    users.add_user(store, "ana", "the right password", "admin")
    with httpx.Client(base_url=url, timeout=60) as c:
        statuses = [login(c, "ana", f"wrong guess {i}").status_code for i in range(5)]
        assert statuses == [401] * 5
        assert login(c, "ana", "the right password").status_code == 429
        assert c.get("/api/hits").status_code == 401


def test_upload_over_the_limit_is_refused(site) -> None:
    _store, url, token, _c, _h = site
    big = b"a" * (51 * 1024 * 1024)
    with httpx.Client(base_url=url, timeout=120) as c:
        r = c.post(
            "/api/identify",
            files={"file": ("big.txt", big)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 413


def test_admin_manages_users_from_the_dashboard(site) -> None:
    from tests.admin_support import csrf_of, login

    store, url, *_ = site
    users.add_user(store, "root", "admin password", "admin")
    with httpx.Client(base_url=url, timeout=60) as c:
        login(c, "root", "admin password")
        token = csrf_of(c.get("/users").text)
        form = {"username": "nuevo", "password": "a new long password", "role": "viewer"}
        assert c.post("/users/add", data=form).status_code == 403  # no CSRF token
        r = c.post("/users/add", data={**form, "csrf": token})
        assert r.status_code == 303
        assert users.get_user(store, "nuevo").role == "viewer"
        bad = c.post("/users/add", data={**form, "username": "<b>x</b>", "csrf": token})
        assert bad.status_code == 400 and "<b>x</b>" not in bad.text
        r = c.post("/users/remove", data={"username": "nuevo", "csrf": token})
        assert r.status_code == 303 and users.get_user(store, "nuevo") is None


def test_session_cookie_is_secure_over_https(sqlite_store: Store) -> None:
    import asyncio

    from listeners.admin import create_app
    from tests.admin_support import csrf_of

    users.add_user(sqlite_store, "ana", "a long password", "viewer")
    app = create_app(sqlite_store, None)

    async def go() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://admin.test") as c:
            token = csrf_of((await c.get("/login")).text)
            form = {"csrf": token, "username": "ana", "password": "a long password"}
            r = await c.post("/login", data=form)
            assert r.status_code == 303
            return r.headers["set-cookie"].lower()

    cookie = asyncio.run(go())
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_search_and_identify_pages(site) -> None:
    from tests.admin_support import csrf_of, login

    store, url, _token, copy_id, hit_id = site
    users.add_user(store, "ivan", "investigator pw", "investigator")
    with httpx.Client(base_url=url, timeout=60) as c:
        login(c, "ivan", "investigator pw")
        by_email = c.get("/search", params={"q": " Ana@Canary.example "})
        assert f'href="/copies/{copy_id}"' in by_email.text
        assert f'href="/hits/{hit_id}"' in by_email.text
        by_sender = c.get("/search", params={"q": "campaign.example"})
        assert f'href="/hits/{hit_id}"' in by_sender.text
        nothing = c.get("/search", params={"q": "<script>nobody</script>"})
        assert nothing.status_code == 200 and "<script>nobody" not in nothing.text

        token = csrf_of(c.get("/identify").text)
        dump = b"nombre;correo\nAna;ana@canary.example\n<img src=x>;x@y.example\n"
        r = c.post("/identify", data={"csrf": token}, files={"file": ("<b>dump</b>.csv", dump)})
        assert r.status_code == 200
        assert f'href="/copies/{copy_id}"' in r.text and "<b>dump</b>" not in r.text
        r = c.post("/identify", files={"file": ("d.csv", dump)})
        assert r.status_code == 403


def _client(url: str, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(
        base_url=url, timeout=60, transport=httpx.HTTPTransport(local_address=source)
    )


def test_logout_ends_the_session_server_side(site) -> None:
    """A cookie copied before logout (a stolen one, a shared machine) is dead after it."""
    from tests.admin_support import csrf_of, login

    store, url, *_ = site
    users.add_user(store, "ana", "the right password", "admin")
    with _client(url) as c:
        assert login(c, "ana", "the right password").status_code == 303
        stolen = dict(c.cookies)
        assert c.get("/api/hits").status_code == 200
        assert c.post("/logout", data={"csrf": csrf_of(c.get("/").text)}).status_code == 303
    with _client(url) as thief:
        thief.cookies.update(stolen)
        assert thief.get("/api/hits").status_code == 401


def test_a_new_password_and_a_rotation_end_sessions(site, tmp_path: Path) -> None:
    from tests.admin_support import login
    from tests.cli_support import canary

    store, url, *_ = site
    users.add_user(store, "ana", "the right password", "admin")
    with _client(url) as c:
        assert login(c, "ana", "the right password").status_code == 303
        assert c.get("/api/hits").status_code == 200
        users.set_password(store, "ana", "a brand new password")
        assert c.get("/api/hits").status_code == 401
        assert login(c, "ana", "a brand new password").status_code == 303
        assert c.get("/api/hits").status_code == 200
        before = store.get_setting(users.SESSION_SECRET_SETTING)
        (tmp_path / "canary.toml").write_text(
            f'[store]\nurl = "sqlite:///{tmp_path / "canary.db"}"\n'
        )
        out = canary("token", "rotate", "--sessions", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert store.get_setting(users.SESSION_SECRET_SETTING) != before
        assert c.get("/api/hits").status_code == 401
        time.sleep(1.2)  # the listener picks up the new signing key
        assert login(c, "ana", "a brand new password").status_code == 303
        assert c.get("/api/hits").status_code == 200


def test_lockout_is_per_user_and_address(site) -> None:
    """Guessing ana's password from one address locks that address out, not ana."""
    from tests.admin_support import login

    store, url, *_ = site
    users.add_user(store, "ana", "the right password", "admin")
    with _client(url) as c:
        assert login(c, "ana", "the right password").status_code == 303  # a known address
    with _client(url, "127.0.0.2") as attacker:
        assert [login(attacker, "ana", f"guess {i}").status_code for i in range(5)] == [401] * 5
        assert login(attacker, "ana", "the right password").status_code == 429
    with _client(url) as c:
        assert login(c, "ana", "the right password").status_code == 303
        assert c.get("/api/hits").status_code == 200
    with _client(url, "127.0.0.3") as elsewhere:  # and from another address too
        assert login(elsewhere, "ana", "the right password").status_code == 303


def test_body_limits_per_route(site) -> None:
    """A form route takes a form's worth; only the upload routes take an upload's."""
    _store, url, token, _c, _h = site
    auth = {"Authorization": f"Bearer {token}"}
    with _client(url) as c:
        assert c.post("/login", content=b"a" * (100 * 1024)).status_code == 413
        r = c.post("/api/identify", files={"file": ("d.txt", b"a" * (200 * 1024))}, headers=auth)
        assert r.status_code == 200
