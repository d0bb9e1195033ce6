"""The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from canary.evidence.signing import SIGNING_KEY_ENV
from canary.evidence.verify import verify_bundle
from canary.store import users
from canary.store.engine import Store, open_store
from tests.admin_support import live_admin
from tests.browser_support import WAIT_MS, chromium, needs_chromium
from tests.bundle_support import SIGNER
from tests.case_support import XSS, mail_hit, make_copy

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture
def site(tmp_path: Path, port: int) -> Iterator[tuple[Store, str, str]]:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor A", ["ana@canary.example", "eva@canary.example"])
        users.add_user(store, "ana", "admin password", "admin")
        users.add_user(store, "vera", "viewer password", "viewer")
        with live_admin(store, port) as url:
            yield store, url, copy_id
    finally:
        store.dispose()


@pytest.fixture
def page(browser, site) -> Iterator[object]:
    ctx = browser.new_context(accept_downloads=True, locale="en-US")
    ctx.set_default_timeout(WAIT_MS)
    p = ctx.new_page()
    try:
        yield p
    finally:
        ctx.close()


def log_in(page, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("#login-submit")


def test_live_hit_xss_shown_as_text_and_bundle_download(
    page, site, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNER.private_base64())  # the installation's key
    store, url, copy_id = site
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, url, "ana", "admin password")
    page.wait_for_url(f"{url}/")
    page.evaluate("window.__notReloaded = true")

    hit_id = mail_hit(store, "eva@canary.example")  # arrives while the page is open
    row = page.locator("#hits tbody tr", has_text="eva@canary.example")
    row.wait_for()
    assert page.evaluate("window.__notReloaded === true")
    assert page.locator("#incidents tbody tr", has_text=copy_id).count() == 1
    assert row.locator("td").nth(5).text_content() == XSS  # shown as text by textContent
    assert row.locator("img").count() == 0

    row.locator("a").first.click()
    page.wait_for_url(f"{url}/hits/{hit_id}")
    assert page.locator("#hit-summary").text_content() == XSS
    assert page.locator("main img").count() == 0
    assert "<script>alert(2)</script>" in page.locator("#hit-body").text_content()
    assert page.locator("main script").count() == 0
    assert "<b>bulk</b>" in page.locator("#hit-details").text_content()  # X-Mailer, as text
    assert page.locator("#hit-details b").count() == 0
    with page.expect_download() as dl:
        page.click("#raw-download")
    assert Path(dl.value.path()).read_bytes().startswith(b"From: ")

    page.goto(f"{url}/copies/{copy_id}")
    with page.expect_download() as dl:
        page.click("#bundle-en")
    saved = tmp_path / "case.zip"
    dl.value.save_as(saved)
    assert verify_bundle(saved, SIGNER.public, copy=copy_id).ok
    with zipfile.ZipFile(saved) as zf:
        assert "hits/001.eml" in zf.namelist()
    page.wait_for_timeout(500)
    assert dialogs == []


def test_wrong_password_is_refused(page, site) -> None:
    _store, url, _copy = site
    log_in(page, url, "ana", "not the password")
    page.locator("#login-error").wait_for()
    assert page.url.endswith("/login")
    page.goto(f"{url}/copies")
    assert page.url.endswith("/login")


def test_viewer_is_denied_admin_pages(page, site) -> None:
    _store, url, copy_id = site
    log_in(page, url, "vera", "viewer password")
    page.wait_for_url(f"{url}/")
    assert page.locator("#nav-users").count() == 0
    response = page.goto(f"{url}/users")
    assert response is not None and response.status == 403
    assert "403" in page.locator("#error-title").text_content()
    page.goto(f"{url}/copies/{copy_id}")
    assert page.locator("#bundle-en").count() == 0


def test_spanish_by_accept_language(browser, site) -> None:
    _store, url, _copy = site
    ctx = browser.new_context(locale="es-ES")
    try:
        p = ctx.new_page()
        p.goto(f"{url}/login")
        assert p.locator("#login-submit").text_content() == "Iniciar sesión"
    finally:
        ctx.close()
