"""The console as a security team uses it, in headless Chromium (Debian's /usr/bin/chromium
driven by Playwright), over a store full of hostile data (console_support).

- A crawler logs in as each role and visits every page and every link it is shown: no
  page shows a Python repr or a raw dict, no link answers 4xx/5xx, nothing logs a console
  error, the CSP blocks nothing, and no script from the data runs.
- Times are shown in the browser's time zone and locale, recent ones relative.
- Screenshots of the main pages at desktop and phone widths are saved for a reviewer,
  under $CANARY_SCREENSHOTS or tests/artifacts/screenshots (gitignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from canary.evidence.signing import SIGNING_KEY_ENV
from canary.store.engine import open_store
from tests.admin_support import live_admin
from tests.browser_support import WAIT_MS, chromium, needs_chromium
from tests.bundle_support import SIGNER
from tests.console_support import PASSWORDS, Console, seed_console
from tests.html_support import assert_no_repr

pytestmark = needs_chromium
MAX_PAGES = 120
#: A Python dict or list of dicts printed into a page ({'kind': ..., [{'id': ...).
RAW_DICT = re.compile(r"\{'[^'\n]{1,60}': |\[\{'|\{\"[^\"\n]{1,60}\": ")
#: Records CSP violations and script the data managed to run (init scripts run before
#: the page's own and are not subject to its CSP).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""
#: Form controls a screen reader could not name (no <label>, no aria-label).
UNLABELLED = """
Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)
"""
SCREENSHOTS = Path(
    os.environ.get("CANARY_SCREENSHOTS") or Path(__file__).parent / "artifacts" / "screenshots"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture
def console(tmp_path: Path, port: int, monkeypatch) -> Iterator[tuple[Console, str]]:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNER.private_base64())  # bundles can be signed
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        data = seed_console(store)
        with live_admin(store, port) as url:
            yield data, url
    finally:
        store.dispose()


@dataclass
class Watched:
    """A browser context whose pages report console errors, page errors and dialogs."""

    ctx: object
    page: object
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.ctx.close()  # type: ignore[attr-defined]


def open_context(browser, **kw) -> Watched:
    ctx = browser.new_context(accept_downloads=True, **kw)
    ctx.set_default_timeout(WAIT_MS)
    ctx.add_init_script(WATCH)
    page = ctx.new_page()
    w = Watched(ctx, page)
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(f"page error: {e}"))
    page.on(
        "response", lambda r: w.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.on("dialog", lambda d: (w.dialogs.append(d.message), d.dismiss()))
    return w


def log_in(page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORDS[name][1])
    page.click("#login-submit")
    page.wait_for_url(f"{url}/")


def settle(page) -> None:
    """Wait until the page's script has localised every time."""
    page.wait_for_function("document.querySelectorAll('time:not([data-local])').length === 0")


def check_page(w: Watched, where: str) -> None:
    settle(w.page)
    html = w.page.content()
    assert_no_repr(html)
    text = w.page.inner_text("body")
    assert not RAW_DICT.search(text), (where, RAW_DICT.search(text))
    assert w.page.evaluate("window.__csp") == [], where
    assert w.page.locator("main img, main script, main iframe").count() == 0, where
    assert w.errors == [], (where, w.errors)
    assert w.dialogs == [], (where, w.dialogs)
    unlabelled = w.page.evaluate(UNLABELLED)
    assert unlabelled == [], (where, "form controls without a label", unlabelled)


def crawl(w: Watched, url: str, checked: dict[str, int]) -> list[str]:
    """Every same-site page reachable from the home page (pages visited, downloads and
    API links fetched with the session); returns the pages visited."""
    origin = urlsplit(url).netloc
    queue, seen = [f"{url}/"], set[str]()
    while queue:
        target = queue.pop(0)
        if target in seen:
            continue
        seen.add(target)
        assert len(seen) <= MAX_PAGES, "the crawler is going in circles"
        response = w.page.goto(target)
        assert response is not None and response.status == 200, (
            target,
            response and response.status,
        )
        check_page(w, target)
        links = w.page.eval_on_selector_all(
            "a[href]", "els => els.map(e => [e.getAttribute('href'), e.hasAttribute('download')])"
        )
        for href, download in links:
            full = urljoin(w.page.url, href).split("#")[0]
            if urlsplit(full).netloc != origin:
                continue
            if download or "/api/" in full:
                if full not in checked:
                    r = w.ctx.request.get(full)  # type: ignore[attr-defined]
                    checked[full] = r.status
                assert checked[full] == 200, (target, full, checked[full])
            elif full not in seen:
                queue.append(full)
    return sorted(seen)


def test_crawler_visits_every_page_and_link_as_each_role(browser, console) -> None:
    data, url = console
    checked: dict[str, int] = {}
    visited: dict[str, list[str]] = {}
    for name in ("vera", "ivan", "ana"):
        w = open_context(browser, locale="en-US")
        try:
            log_in(w.page, url, name)
            visited[name] = crawl(w, url, checked)
        finally:
            w.close()
    for pages in visited.values():  # every role reached every copy, incident and hit
        for cid in data.copies.values():
            assert f"{url}/copies/{cid}" in pages
        for hid in data.hits.values():
            assert f"{url}/hits/{hid}" in pages
        assert f"{url}/alerts" in pages
    assert f"{url}/users" in visited["ana"] and f"{url}/users" not in visited["ivan"]
    assert f"{url}/identify" in visited["ivan"] and f"{url}/identify" not in visited["vera"]
    bundles = [u for u in checked if "/bundle" in u]
    assert bundles and all(checked[u] == 200 for u in bundles)


def test_identify_upload_shows_a_table_not_a_dict(browser, console, tmp_path: Path) -> None:
    data, url = console
    w = open_context(browser, locale="es-ES")
    try:
        log_in(w.page, url, "ivan")
        dump = tmp_path / "encontrado.csv"
        dump.write_text("nombre;correo\nAna;ana@canary.example\nX;caro@canary.example\n")
        w.page.goto(f"{url}/identify")
        w.page.set_input_files("#identify-file", str(dump))
        w.page.click("#identify-submit")
        w.page.locator("#identify-result").wait_for()
        check_page(w, "identify")
        rows = w.page.locator("#identify-result tbody tr")
        assert {rows.nth(i).get_attribute("data-copy") for i in range(rows.count())} == {
            data.copies["a"],
            data.copies["c"],
        }
        first = w.page.locator(f"#identify-result tr[data-copy='{data.copies['a']}'] td")
        assert first.nth(3).text_content() == "exclusiva"
        assert "email: ana@canary.example" in first.nth(5).text_content()
    finally:
        w.close()


def test_times_are_shown_in_the_browsers_time_zone(browser, console) -> None:
    data, url = console
    w = open_context(browser, locale="es-MX", timezone_id="America/Mexico_City")
    try:
        log_in(w.page, url, "vera")
        w.page.goto(f"{url}/hits/{data.hits['fixed']}")
        settle(w.page)
        when = w.page.locator("#hit-when time")
        assert when.get_attribute("datetime") == data.fixed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        shown, exact = when.text_content() or "", when.get_attribute("title") or ""
        assert "12:30:00" in shown and "12:30:00" in exact  # 18:30 UTC in Mexico City
        assert "18:30" not in shown
        assert "America/Mexico_City" in w.page.locator("#tz-note").text_content()

        w.page.goto(f"{url}/")
        settle(w.page)
        recent = w.page.locator("#hits tbody tr", has_text="five minutes ago").locator("time")
        assert re.fullmatch(r"hace \d+ min\.?", recent.text_content() or ""), recent.text_content()
        assert "GMT-6" in (recent.get_attribute("title") or "")  # exact, with the zone
        check_page(w, "home in Mexico City")
    finally:
        w.close()


def test_the_case_workflow_end_to_end(browser, console) -> None:
    data, url = console
    iid, hid = _incident_of(data), data.hits["mail_a2"]
    w = open_context(browser, locale="en-US", timezone_id="America/Mexico_City")
    p = w.page
    try:
        log_in(p, url, "ivan")
        p.click(f"#incidents a[href='/incidents/{iid}']")
        p.wait_for_url(f"{url}/incidents/{iid}")
        # assign and note
        p.select_option("#case-status", "investigating")
        p.fill("#case-assignee", "ana")
        p.fill("#case-note", "Called the supplier <script>alert(4)</script>")
        p.click("#case-save")
        p.wait_for_url(f"{url}/incidents/{iid}#case")
        check_page(w, "incident after assigning")
        assert p.locator("#incident-status").text_content() == "investigating"
        assert p.locator("#incident-assignee").text_content() == "ana"
        event = p.locator("#case-history li[data-event]")
        assert event.count() == 1
        assert event.locator(".by").text_content() == "ivan"
        assert event.locator("blockquote").text_content() == (
            "Called the supplier <script>alert(4)</script>"
        )
        # mark one of its hits as noise, from the timeline
        p.click(f"#timeline tr[data-hit='{hid}'] a")
        p.wait_for_url(f"{url}/hits/{hid}")
        p.fill("#noise-reason", "our own test message")
        p.click("#noise-submit")
        p.wait_for_url(f"{url}/hits/{hid}#case")
        check_page(w, "hit marked as noise")
        assert p.locator("#hit-noise-reason").text_content() == (
            "Marked as noise by ivan: our own test message"
        )
        # close: refused without a resolution, then closed with one
        p.goto(f"{url}/incidents/{iid}")
        assert p.locator(f"#timeline tr[data-hit='{hid}'].is-noise").count() == 1
        p.select_option("#case-status", "closed")
        p.click("#case-save")
        p.locator("#case-error").wait_for()
        assert "needs a resolution" in p.locator("#case-error").text_content()
        assert w.errors and all("400" in e for e in w.errors)  # the refusal, and only it
        w.errors.clear()
        p.select_option("#case-status", "closed")
        p.fill("#case-resolution", "Supplier admitted the leak; contract ended")
        p.click("#case-save")
        p.wait_for_url(f"{url}/incidents/{iid}#case")
        check_page(w, "incident closed")
        assert p.locator("#incident-status").text_content() == "closed"
        assert p.locator("#incident-resolution").text_content() == (
            "Supplier admitted the leak; contract ended"
        )
        assert p.locator("#case-history li[data-event]").count() == 3  # with the noise mark
        # the closed tab lists it, and keeps listing only closed ones as it refreshes
        p.click("#nav-search")  # away and back through the navigation
        p.click("header nav a[href='/']")
        p.click("#status-closed")
        p.wait_for_url(f"{url}/?status=closed")
        p.wait_for_timeout(3500)  # one live refresh
        rows = p.locator("#incidents tbody tr")
        assert rows.count() == 1
        assert rows.first.locator("td.copy").text_content() == data.copies["a"]
        check_page(w, "closed incidents")
    finally:
        w.close()


def test_keyboard_skip_link_and_search(browser, console) -> None:
    data, url = console
    w = open_context(browser, locale="en-US")
    p = w.page
    try:
        log_in(p, url, "ivan")
        p.keyboard.press("Tab")
        assert p.evaluate("document.activeElement.className") == "skip"
        p.keyboard.press("Enter")
        assert p.evaluate("document.activeElement.id") == "main"
        p.goto(f"{url}/search")
        p.focus("#search-q")
        p.keyboard.type("jefe")
        p.keyboard.press("Enter")
        p.wait_for_url(re.compile(r".*/search\?q=jefe.*"))
        check_page(w, "search")
        row = p.locator("#search-hits tbody tr")
        assert row.count() == 1
        assert row.get_attribute("data-hit") == str(data.hits["whatsapp_c"])
    finally:
        w.close()


PAGES = {
    "login": "/login",
    "home": "/",
    "copies": "/copies",
    "copy": "/copies/{a}",
    "incident": "/incidents/{incident}",
    "hit": "/hits/{hit}",
    "alerts": "/alerts",
    "search": "/search?q=l%C3%BAcia",
    "identify": "/identify",
    "users": "/users",
}
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


def test_screenshots_of_the_main_pages(browser, console) -> None:
    data, url = console
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    names = {"a": data.copies["a"], "incident": _incident_of(data), "hit": data.hits["whatsapp_c"]}
    for size, (width, height) in VIEWPORTS.items():
        w = open_context(
            browser,
            locale="es-MX",
            timezone_id="America/Mexico_City",
            viewport={"width": width, "height": height},
        )
        try:
            for name, path in PAGES.items():
                if name == "login":
                    w.page.goto(url + path)
                else:
                    if "/login" in w.page.url or w.page.url == "about:blank":
                        log_in(w.page, url, "ana")
                    w.page.goto(url + path.format(**names))
                check_page(w, name)
                if size == "phone":  # nothing wider than the screen but inside a scroller
                    overflow = w.page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    )
                    assert overflow <= 1, (name, overflow)
                shot = SCREENSHOTS / f"{name}-{size}.png"
                w.page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 5000
        finally:
            w.close()


def _incident_of(data: Console) -> int:
    from canary.investigate import history

    with data.store.session() as s:
        incidents = history.list_incidents(s)
    return next(int(i["id"]) for i in incidents if i["copy"] == data.copies["a"])
