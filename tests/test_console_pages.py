"""The console's pages as served (no script run): times in the organisation's zone
without fractions of a second, the alerts page's channels, the copies filters, the
charts' text alternatives, identify's answer when no canary survived."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import listeners.admin_pages
from canary.config import AlertsConfig, Config, ConsoleConfig, load_config
from canary.errors import ConfigError
from canary.evidence.signing import SIGNING_KEY_ENV
from canary.store.engine import open_store
from canary.store.models import Alert
from tests.admin_support import csrf_of, live_admin, login
from tests.bundle_support import SIGNER
from tests.console_support import HOSTILE_RECIPIENT, PASSWORDS, Console, seed_console
from tests.html_support import Node, assert_no_repr, parse

SECRET_URL = "https://hooks.example.org/services/T000/B000/very-secret-token"
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3,6}")


def serve(
    tmp_path: Path, port: int, config: Config | None
) -> Iterator[tuple[httpx.Client, Console]]:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        data = seed_console(store)
        with (
            live_admin(store, port, config) as url,
            httpx.Client(base_url=url, timeout=60, headers={"Accept-Language": "en"}) as c,
        ):
            assert login(c, "ana", PASSWORDS["ana"][1]).status_code == 303
            yield c, data
    finally:
        store.dispose()


@pytest.fixture
def bogota(tmp_path: Path, port: int) -> Iterator[tuple[httpx.Client, Console]]:
    """The organisation in Bogotá (UTC-5), no alert channel configured."""
    config = Config(console=ConsoleConfig(timezone="America/Bogota"), path=tmp_path / "c.toml")
    yield from serve(tmp_path, port, config)


@pytest.fixture
def with_channels(tmp_path: Path, port: int) -> Iterator[tuple[httpx.Client, Console]]:
    """Two channels: a JSON-lines file that delivered, a webhook that keeps failing."""
    channels = [
        {"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")},
        {"type": "webhook", "url": SECRET_URL, "name": "siem"},
    ]
    config = Config(alerts=AlertsConfig(channels=channels), path=tmp_path / "c.toml")
    yield from serve(tmp_path, port, config)


def page(c: httpx.Client, path: str, **kw) -> Node:
    r = c.get(path, **kw)
    assert r.status_code == 200, (path, r.status_code)
    assert_no_repr(r.text)
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert not MICROSECONDS.search(r.text), MICROSECONDS.search(r.text)
    return parse(r.text)


def test_times_are_written_in_the_organisations_zone_without_fractions(bogota) -> None:
    c, data = bogota
    doc = page(c, f"/hits/{data.hits['fixed']}")
    when = doc.by_id("hit-when").one("time")
    assert when.attrs["datetime"] == data.fixed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert when.text == data.fixed_at.strftime("%Y-%m-%d 13:30:00 -05")
    assert when.attrs["title"] == when.text
    assert "America/Bogota" in doc.by_id("tz-note").text
    for path in ("/", "/copies", f"/copies/{data.copies['a']}", "/alerts"):
        times = page(c, path).all("time")
        assert times and all(t.attrs["datetime"].endswith("Z") for t in times), path


def test_alerts_page_says_no_channel_is_configured_and_what_to_do(bogota) -> None:
    c, data = bogota
    with data.store.session() as s:
        waiting = s.scalar(
            select(func.count()).where(Alert.channel == "*", Alert.state == "pending")
        )
    assert waiting
    doc = page(c, "/alerts")
    notice = doc.by_id("no-channels").text
    assert f"No alert channel is configured: {waiting} alerts wait" in notice
    assert "[[alerts.channels]]" in notice and "canary alerts test" in notice
    states = [r.one("td", cls="state").text for r in doc.by_id("alerts").all("tr") if r.attrs]
    assert states and set(states) == {"waiting for a channel"}
    assert "pending" not in doc.by_id("alerts").text
    assert page(c, "/").by_id("no-channels-banner").one("a").attrs["href"] == "/alerts"


def test_alerts_page_shows_each_channels_delivery_state(with_channels) -> None:
    c, data = with_channels
    now = datetime.now(UTC)
    with data.store.session() as s:
        s.add(Alert(kind="first", channel="jsonl#0", payload={}, state="sent", sent_at=now))
        s.add(
            Alert(
                kind="first",
                channel="siem",
                payload={},
                state="failed",
                attempts=9,
                last_error="HTTP 502 from the SIEM <b>bad gateway</b>",
            )
        )
    r = c.get("/alerts")
    assert SECRET_URL not in r.text and "very-secret-token" not in r.text  # a URL is a secret
    doc = page(c, "/alerts")
    assert not doc.all(id="no-channels")
    rows = {r.attrs["data-channel"]: r for r in doc.by_id("channels").all("tr") if r.attrs}
    assert set(rows) == {"jsonl#0", "siem"}
    jsonl, siem = rows["jsonl#0"], rows["siem"]
    assert jsonl.one("td", cls="health").text == "delivering"
    assert jsonl.one("td", cls="sent").text == "1"
    assert jsonl.one("time").attrs["datetime"].endswith("Z")
    assert siem.one("td", cls="health").text == "failing"
    assert siem.one("td", cls="failed").text == "1"
    assert siem.one("td", cls="last-error").text == "HTTP 502 from the SIEM <b>bad gateway</b>"
    assert not siem.all("b")


def test_charts_over_time_count_every_hit_of_the_period(bogota, monkeypatch) -> None:
    """They are read from counts the store keeps: no cap (the page once read at most
    the newest MAX_EVENTS hits and said so)."""
    c, data = bogota
    assert len(data.hits) > 2
    monkeypatch.setattr(listeners.admin_pages, "MAX_EVENTS", 2, raising=False)
    home = page(c, "/")
    assert not home.all(cls="chart-note")
    rows = home.by_id("chart-channels").one("table").one("tbody").all("tr")
    assert sum(int(r.cells()[-1]) for r in rows) == len(data.hits)


def test_copies_filter_by_dataset_recipient_and_date(bogota) -> None:
    c, data = bogota
    every = page(c, "/copies").by_id("copies")
    assert {r.attrs["data-copy"] for r in every.all("tr") if r.attrs} == set(data.copies.values())
    a_row = every.one("tr", data_copy=data.copies["a"])
    assert a_row.one("td", cls="recipient").text == HOSTILE_RECIPIENT
    assert a_row.one("td", cls="bundle").one("a").attrs["href"].endswith("/bundle?lang=en")

    def shown(**params: str) -> set[str]:
        table = page(c, "/copies", params=params).by_id("copies")
        return {r.attrs["data-copy"] for r in table.all("tr") if "data-copy" in r.attrs}

    assert shown(recipient="otra empresa") == {data.copies["b"]}
    assert shown(dataset="candidatas.csv") == set(data.copies.values())
    assert shown(dataset="another.csv") == set()
    issued_b = (datetime.now(UTC) - timedelta(days=39)).date().isoformat()
    assert shown(since=issued_b) == {data.copies["b"], data.copies["c"]}
    assert shown(until=issued_b) == {data.copies["a"], data.copies["b"]}
    assert shown(since="not a date") == set(data.copies.values())  # ignored, not an error
    doc = page(c, "/copies", params={"recipient": "otra"})
    assert doc.by_id("copies-count").text == "1 of 3 copies."
    assert doc.by_id("clear-filters").attrs["href"] == "/copies"


def test_charts_carry_a_title_a_description_and_the_numbers_as_a_table(bogota) -> None:
    c, data = bogota
    home = page(c, "/")
    for chart_id in ("chart-incident-age", "chart-channels", "chart-copies"):
        fig = home.by_id(chart_id)
        svg = fig.one("svg")
        assert svg.attrs["role"] == "img"
        assert svg.attrs["aria-labelledby"] == f"{chart_id}-t {chart_id}-d"
        assert fig.by_id(f"{chart_id}-t").text and fig.by_id(f"{chart_id}-d").text
    channels = home.by_id("chart-channels").one("table")
    totals = {}
    for row in channels.one("tbody").all("tr"):
        cells = row.cells()
        totals[cells[0]] = int(cells[-1])
    assert sum(totals.values()) == len(data.hits)  # every hit of the last 30 days, once
    header = channels.one("thead").one("tr").cells()
    assert {"sms", "smtp", "smtp-probe", "whatsapp"} <= set(header)
    age = home.by_id("chart-incident-age").one("table").one("tbody").all("tr")
    assert sum(int(r.cells()[-1]) for r in age) == 3  # three open incidents

    copy = page(c, f"/copies/{data.copies['a']}")
    squares = copy.by_id("chart-canaries").all("rect")
    assert len(squares) == 3 and all("c5" in r.attrs["class"] for r in squares)  # all contacted
    assert "3 of 3 canaries were contacted" in copy.by_id("chart-canaries-d").text
    counts = {
        r.attrs["data-canary"]: r.one("td", cls="contacted-count").text
        for r in copy.by_id("canaries").all("tr")
        if r.attrs
    }
    assert sorted(counts.values()) == ["1", "2", "2"]

    inc = c.get("/api/incidents").json()["incidents"]
    a_inc = next(i for i in inc if i["copy"] == data.copies["a"])
    dots = page(c, f"/incidents/{a_inc['id']}").by_id("chart-timeline").all("a")
    assert len(dots) == a_inc["hits"]
    assert {d.attrs["href"] for d in dots} == {
        f"/hits/{data.hits[k]}" for k in ("mail_a", "mail_a2", "sms_shared", "fixed", "recent")
    }


def test_identify_says_when_no_canary_survived(bogota) -> None:
    c, _data = bogota
    token = csrf_of(c.get("/identify").text)
    dump = b"nombre;correo\nPedro;pedro@example.org\n"
    r = c.post("/identify", data={"csrf": token}, files={"file": ("d.csv", dump)})
    assert r.status_code == 200
    assert_no_repr(r.text)
    doc = parse(r.text)
    assert doc.by_id("identify-none").text.startswith("No canary survived in this file.")
    assert not doc.all(id="identify-result")


def test_an_unknown_organisation_zone_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "canary.toml"
    cfg.write_text('[console]\ntimezone = "Mars/Olympus_Mons"\n')
    with pytest.raises(ConfigError, match="console.timezone.*IANA"):
        load_config(cfg)
    cfg.write_text('[console]\ntimezone = "America/Mexico_City"\n')
    assert load_config(cfg).console.timezone == "America/Mexico_City"


def incident_of(c: httpx.Client, copy_id: str) -> int:
    incidents = c.get("/api/incidents").json()["incidents"]
    return next(int(i["id"]) for i in incidents if i["copy"] == copy_id)


def test_an_incident_is_worked_from_its_page(bogota) -> None:
    c, data = bogota
    iid = incident_of(c, data.copies["c"])
    token = csrf_of(c.get(f"/incidents/{iid}").text)
    form = {"csrf": token, "status": "investigating", "assignee": "ivan", "resolution": ""}
    r = c.post(f"/incidents/{iid}", data={**form, "note": "llamé <b>al proveedor</b>"})
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{iid}#case"
    doc = page(c, f"/incidents/{iid}")
    assert doc.by_id("incident-status").text == "investigating"
    assert doc.by_id("incident-assignee").text == "ivan"
    events = [e for e in doc.by_id("case-history").all("li") if "data-event" in e.attrs]
    assert len(events) == 1
    assert events[0].one("strong", cls="by").text == "ana"  # the logged-in user, not a field
    assert "status: open → investigating" in events[0].text
    assert "assignee: — → ivan" in events[0].text
    assert events[0].one("blockquote").text == "llamé <b>al proveedor</b>"  # as text

    closing = {**form, "status": "closed", "note": ""}
    r = c.post(f"/incidents/{iid}", data=closing)
    assert r.status_code == 400
    assert "needs a resolution" in parse(r.text).by_id("case-error").text
    r = c.post(f"/incidents/{iid}", data={**closing, "resolution": "contract ended"})
    assert r.status_code == 303
    doc = page(c, f"/incidents/{iid}")
    assert doc.by_id("incident-status").text == "closed"
    assert doc.by_id("incident-resolution").text == "contract ended"
    assert doc.by_id("incident-closed-at").one("time")

    def listed(status: str) -> set[str]:
        table = page(c, "/", params={"status": status} if status else None).by_id("incidents")
        return {r.one("td", cls="copy").text for r in table.all("tr") if r.all(cls="copy")}

    assert listed("closed") == {data.copies["c"]}
    assert data.copies["c"] not in listed("open")
    assert listed("") == set(data.copies.values())
    age = page(c, "/").by_id("chart-incident-age").one("tbody").all("tr")
    assert sum(int(r.cells()[-1]) for r in age) == 2  # a closed incident is not open


def test_a_hit_is_marked_as_noise_and_restored_from_its_page(bogota) -> None:
    c, data = bogota
    hid = data.hits["probe_c"]
    token = csrf_of(c.get(f"/hits/{hid}").text)
    r = c.post(f"/hits/{hid}/noise", data={"csrf": token, "noise": "true", "reason": ""})
    assert r.status_code == 400 and parse(r.text).by_id("case-error").text
    r = c.post(
        f"/hits/{hid}/noise", data={"csrf": token, "noise": "true", "reason": "our own list check"}
    )
    assert r.status_code == 303
    doc = page(c, f"/hits/{hid}")
    assert doc.by_id("hit-noise-reason").text == "Marked as noise by ana: our own list check"
    assert doc.by_id("noise-submit").text == "Count it as evidence again"
    iid = incident_of(c, data.copies["c"])
    row = page(c, f"/incidents/{iid}").by_id("timeline").one("tr", data_hit=str(hid))
    assert "is-noise" in row.attrs["class"] and "noise" in row.text
    r = c.post(
        f"/hits/{hid}/noise", data={"csrf": token, "noise": "false", "reason": "it was them"}
    )
    assert r.status_code == 303
    doc = page(c, f"/hits/{hid}")
    assert doc.by_id("hit-classification").text == "evidence"
    assert len([e for e in doc.by_id("case-history").all("li") if "data-event" in e.attrs]) == 2


def test_a_viewer_sees_the_case_but_cannot_change_it(tmp_path: Path, port: int) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        data = seed_console(store)
        with (
            live_admin(store, port) as url,
            httpx.Client(base_url=url, timeout=60, headers={"Accept-Language": "en"}) as c,
        ):
            assert login(c, "vera", PASSWORDS["vera"][1]).status_code == 303
            iid = incident_of(c, data.copies["a"])
            doc = page(c, f"/incidents/{iid}")
            assert doc.by_id("case-history") and not doc.all(id="incident-form")
            assert not page(c, f"/hits/{data.hits['fixed']}").all(id="noise-form")
            token = csrf_of(c.get("/").text)
            r = c.post(f"/incidents/{iid}", data={"csrf": token, "status": "closed"})
            assert r.status_code == 403
            r = c.post(f"/hits/{data.hits['fixed']}/noise", data={"csrf": token, "reason": "x"})
            assert r.status_code == 403
    finally:
        store.dispose()


def test_search_offers_a_list_of_copies_or_a_field_for_the_id(bogota, monkeypatch) -> None:
    c, data = bogota
    options = page(c, "/search").by_id("search-copy").all("option")
    assert data.copies["a"] in {o.attrs.get("value") for o in options}
    monkeypatch.setattr(listeners.admin_pages, "MAX_CHOICES", 1)  # more copies than that
    field = page(c, "/search", params={"copy": data.copies["a"]}).by_id("search-copy")
    assert field.tag == "input" and field.attrs["value"] == data.copies["a"]


def test_search_finds_a_canary_by_name_and_hits_by_sender_and_subject(bogota) -> None:
    c, data = bogota
    doc = page(c, "/search", params={"q": "lucía pérez 2"})
    canaries = doc.by_id("search-canaries")
    links = {a.attrs["href"] for a in canaries.all("a")}
    assert any(h.startswith(f"/copies/{data.copies['a']}#canary-") for h in links)
    hits = {r.attrs["data-hit"] for r in doc.by_id("search-hits").all("tr") if r.attrs}
    assert str(data.hits["fixed"]) in hits  # luz@ is canary 2's address
    doc = page(c, "/search", params={"q": "jefe"})
    [row] = [r for r in doc.by_id("search-hits").all("tr") if r.attrs]
    assert row.attrs["data-hit"] == str(data.hits["whatsapp_c"])
    assert row.cells()[3] == "sender"
    assert HOSTILE_RECIPIENT not in doc.by_id("search-hits").text
    doc = page(c, "/search", params={"q": "gustavo"})  # a name full of markup
    cells = [r.cells() for r in doc.by_id("search-canaries").all("tr") if r.attrs]
    assert len(cells) == 2 and all(row[1] == "canary name" for row in cells)
    assert not doc.by_id("search-canaries").all("img")
    doc = page(c, "/search", params={"q": "promo", "channel": "smtp"})
    assert not [r for r in doc.by_id("search-hits").all("tr") if r.attrs]
    doc = page(c, "/search", params={"q": "promo", "channel": "sms", "strength": "shared"})
    [row] = [r for r in doc.by_id("search-hits").all("tr") if r.attrs]
    assert row.attrs["data-hit"] == str(data.hits["sms_shared"])
    assert doc.by_id("search-channel").one("option", selected="").text == "sms"


def test_the_case_report_writes_times_in_the_organisations_zone(bogota, monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNER.private_base64())
    c, data = bogota
    r = c.get(f"/copies/{data.copies['a']}/bundle", params={"lang": "en"})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        html = zf.read("report.html").decode()
        hit_json = [zf.read(n).decode() for n in zf.namelist() if n.endswith(".json")]
    assert data.fixed_at.strftime("%Y-%m-%d 13:30:00 -05") in html  # 18:30 UTC in Bogotá
    assert not MICROSECONDS.search(html)
    assert any(data.fixed_at.isoformat() in j for j in hit_json)  # the data stays UTC


def test_identify_gives_the_dataset_answer_when_no_canary_survived() -> None:
    from listeners.admin_pages import env
    from listeners.admin_text import TEXT

    result = {  # identify's document for a dump whose canaries were all stripped
        "copies": [],
        "explained": [],
        "datasets": [
            {
                "id": "D1",
                "name": "padron.csv",
                "rows_matched": 1234,
                "copies": [
                    {
                        "id": "C1",
                        "recipient": "<b>Prov</b>",
                        "issued_at": "2026-01-02T03:04:05.123456+00:00",
                    },
                    {"id": "C2", "recipient": "Otra", "issued_at": "2026-02-03T00:00:00+00:00"},
                ],
            }
        ],
        "unmatched_canary_domain_addresses": [],
    }
    html = env.get_template("identify.html").render(
        t=TEXT["en"],
        lang="en",
        csrf="x",
        user=None,
        can_investigate=True,
        is_admin=False,
        path="/identify",
        tz=UTC,
        tz_name="UTC",
        result=result,
        filename="dump.csv",
        error=None,
    )
    assert_no_repr(html)
    assert not MICROSECONDS.search(html) and "<b>Prov</b>" not in html
    doc = parse(html)
    assert doc.by_id("identify-none").text == (
        "No canary survived in this file. Still, the rows come from these datasets; any of "
        "their recipients may have leaked them:"
    )
    [row] = [r for r in doc.by_id("identify-datasets").one("tbody").all("tr")]
    cells = row.cells()
    assert cells[0] == "padron.csv (D1)" and cells[1] == "1234"
    assert cells[2] == "<b>Prov</b> (2026-01-02 03:04 UTC), Otra (2026-02-03 00:00 UTC)"
    assert [a.attrs["href"] for a in row.all("a")] == ["/copies/C1", "/copies/C2"]
