"""The hits counted per quarter of an hour (channel, best copy) equal a recount of the
hits after every kind of change, the migration backfills them, and the home page's
charts drawn from them show what counting the hits showed."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from canary.hits.record import Observation, receive_in, record
from canary.hits.workflow import mark_noise, restore_hit
from canary.investigate import history
from canary.store import hit_tallies
from canary.store.engine import Store, open_store
from canary.store.models import Copy, Hit, HitCopy
from listeners import admin_charts, admin_pages
from listeners.admin_pages import hits_over_time
from listeners.admin_text import TEXT
from listeners.admin_view import MONTHS, as_datetime
from listeners.inbox import Attributor
from tests.registry_support import (
    COUNTED,
    COUNTED_CONTROL,
    DOMAIN,
    SHARED,
    T0,
    Person,
    back_and_forth,
    build,
)

Q = hit_tallies.slot_of


def kept(store: Store) -> dict[tuple[str, int, str], int]:
    """The kept counts, after checking they equal a recount of the hits."""
    with store.engine.connect() as conn:
        assert hit_tallies.mismatches(conn) == {}
        return hit_tallies.stored(conn)


def obs(ident: str, n: int, at: datetime, channel: str | None = None) -> Observation:
    return Observation(
        channel or ("smtp" if "@" in ident else "sms"),
        ident,
        sender=f"s{n}@x.example",
        observed_at=at,
        provider_message_id=f"m{n}",
    )


def series(tallies: dict[tuple[str, int, str], int], name: str) -> dict[tuple[int, str], int]:
    return {(slot, key): n for (s, slot, key), n in tallies.items() if s == name}


def test_kept_tallies_follow_every_change(store: Store) -> None:
    reg = build(store, COUNTED, controls=[COUNTED_CONTROL])
    azul, verde, xyz = (reg.copies[r] for r in COUNTED)
    assert kept(store) == {}
    a = T0 + timedelta(days=1, minutes=3)  # 09:03: one quarter of an hour
    b = T0 + timedelta(days=1, minutes=14, seconds=59, microseconds=999_999)  # the same
    c = T0 + timedelta(days=1, minutes=15)  # the next
    # Exclusive, shared (Azul is the best candidate), control and unattributed hits.
    [excl, shared, control, unknown] = record(
        store,
        [
            obs(f"mjlopez@{DOMAIN}", 1, a),
            obs(SHARED, 2, b),
            obs(f"julia.cv@{DOMAIN}", 3, c),
            obs(f"nadie@{DOMAIN}", 4, c, "smtp-probe"),
        ],
    )
    assert (control.classification, unknown.classification) == ("control", "unattributed")
    with store.session() as s:
        best = s.scalar(
            select(HitCopy.copy_id).where(HitCopy.hit_id == shared.hit_id, HitCopy.rank == 0)
        )
    assert best in (azul, verde)
    after_record = kept(store)
    assert series(after_record, "channel") == {
        (Q(a), "smtp"): 1,
        (Q(a), "sms"): 1,
        (Q(c), "smtp"): 1,
        (Q(c), "smtp-probe"): 1,
    }
    assert series(after_record, "copy") == (
        {(Q(a), azul): 2} if best == azul else {(Q(a), azul): 1, (Q(a), verde): 1}
    )
    assert series(after_record, "copied") == {(Q(a), ""): 2}  # control and unknown: none

    # A duplicate (same provider message) counts nothing.
    assert record(store, [obs(f"mjlopez@{DOMAIN}", 1, a)])[0].duplicate
    assert kept(store) == after_record

    # Noise and restored: the charts count every hit whatever its classification.
    mark_noise(store, excl.hit_id, "prueba interna", "ana")
    mark_noise(store, unknown.hit_id, "x", "ana")
    assert kept(store) == after_record
    restore_hit(store, excl.hit_id, "no era prueba", "ana")
    restore_hit(store, unknown.hit_id, "x", "ana")
    assert kept(store) == after_record

    # A listener's hits: counted by channel when stored as pending, by copy once the
    # inbox worker attributes them; a pending duplicate counts nothing.
    d = T0 + timedelta(days=3, hours=5)
    with store.session() as s:
        pending = receive_in(s, [obs(f"lfmora@{DOMAIN}", 5, d, "whatsapp"), obs(SHARED, 6, d)])
    assert [p.classification for p in pending] == ["pending", "pending"]
    with store.session() as s:
        assert receive_in(s, [obs(f"lfmora@{DOMAIN}", 5, d, "whatsapp")])[0].duplicate
    waiting = kept(store)
    assert series(waiting, "channel")[(Q(d), "whatsapp")] == 1
    assert series(waiting, "channel")[(Q(d), "sms")] == 1
    assert series(waiting, "copy") == series(after_record, "copy")
    assert len(Attributor(store).attribute_batch()) == 2
    done = kept(store)
    assert series(done, "copy")[(Q(d), xyz)] == 1
    assert series(done, "copied")[(Q(d), "")] == 2
    assert sum(series(done, "channel").values()) == 6


def test_the_migration_backfills_the_tallies(store_url: str) -> None:
    store = open_store(store_url)
    build(store, COUNTED, controls=[COUNTED_CONTROL])
    at = T0 + timedelta(days=1)
    record(store, [obs(f"mjlopez@{DOMAIN}", 1, at), obs(SHARED, 2, at), obs(f"x@{DOMAIN}", 3, at)])
    with store.session() as s:
        receive_in(s, [obs(f"ana.ruiz@{DOMAIN}", 4, at + timedelta(hours=2))])
    with store.engine.connect() as conn:
        before = hit_tallies.stored(conn)
    store.dispose()
    back_and_forth(
        store_url,
        "0012_copy_counts",
        lambda con: "hit_tallies" not in inspect(con).get_table_names(),
    )
    store = open_store(store_url)
    try:
        assert kept(store) == before
        assert sum(series(before, "channel").values()) == 4
        assert sum(series(before, "copied").values()) == 2
    finally:
        store.dispose()


def old_over_time(
    chart_id: str, title: str, desc: str, events: Iterable[tuple[Any, str]], span: Any
) -> admin_charts.Chart:
    """The charts over time as the home page counted them from the hits before the
    tallies (listeners/admin_charts.py's over_time at 1ec5901), for comparison."""
    start, end, tz, lang, words = span.start, span.end, span.tz, span.lang, span.words
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    if last < first:
        first, last = last, first
    size, starts = admin_charts._buckets(first, last)
    dated: list[tuple[int, str]] = []
    totals: Counter[str] = Counter()
    for when, key in events:
        dt = as_datetime(when)
        if dt is None:
            continue
        d = dt.astimezone(tz).date()
        if not first <= d <= last:
            continue
        dated.append(((d - first).days // size, key))
        totals[key] += 1
    series_, names = admin_charts._top_series(totals, words["other"])
    index = {s: j for j, s in enumerate(series_)}
    counts = [[0] * len(series_) for _ in starts]
    for b, key in dated:
        counts[b][index[names[key]]] += 1
    months = MONTHS.get(lang, MONTHS["en"])
    cats = [f"{d.day} {months[d.month - 1]}" for d in starts]
    first_col = words["day"] if size == 1 else words["period"]
    return admin_charts.stacked(
        chart_id, title, desc, cats, series_, counts, first_column=first_col, total=words["total"]
    )


def old_charts(store: Store, span: admin_charts.Span) -> list[admin_charts.Chart]:
    """Every hit from the first day's midnight on, with its best copy, counted as before."""
    t = span.words
    since = admin_charts.bucket_bounds(span)[0]
    with store.session() as s:
        rows = s.execute(
            select(Hit.observed_at, Hit.channel, Copy.id, Copy.recipient)
            .outerjoin(HitCopy, (HitCopy.hit_id == Hit.id) & (HitCopy.rank == 0))
            .outerjoin(Copy, Copy.id == HitCopy.copy_id)
            .where(Hit.observed_at >= since)
        ).all()
    events = [(at, ch, f"{str(r)[:40]} ({cid})" if cid else "") for at, ch, cid, r in rows]
    return [
        old_over_time(
            "chart-channels",
            t["chart_channel"],
            t["chart_channel_desc"],
            [(at, ch) for at, ch, _ in events],
            span,
        ),
        old_over_time(
            "chart-copies",
            t["chart_copy"],
            t["chart_copy_desc"],
            [(at, c) for at, _, c in events if c],
            span,
        ),
    ]


# Recipients sharing their first 40 characters (the labels tell them apart by id), and
# more copies than the charts draw series for.
RECIPIENTS = [f"Partido Político Número {i:02d} de la Coalición Nacional" for i in range(9)] + [
    f"Empresa {i}" for i in range(3)
]


@pytest.fixture
def busy(store: Store) -> tuple[Store, datetime]:
    """A few hundred hits over 40 days (some before the charts' period, a few after
    now), on 12 copies, 6 channels, unknown addresses, some still pending."""
    people = {
        r: [Person(f"Persona {i} Gómez", f"p{i}@{DOMAIN}", f"+52 844 555 {1000 + i:04d}")]
        for i, r in enumerate(RECIPIENTS)
    }
    build(store, people)
    now = datetime(2026, 3, 31, 17, 20, tzinfo=UTC)
    rng = random.Random(5)
    channels = ["smtp", "sms", "whatsapp", "voice", "webhook", "smtp-probe"]
    observations = []
    for n in range(400):
        i = min(int(rng.expovariate(0.3)), 13)  # a few copies much more hit than others
        ident = f"p{i}@{DOMAIN}" if i < len(RECIPIENTS) else f"nadie{i}@{DOMAIN}"
        at = now - timedelta(minutes=rng.randrange(-300, 40 * 24 * 60))
        observations.append(obs(ident, n, at, rng.choice(channels)))
    record(store, observations[:340])
    with store.session() as s:
        receive_in(s, observations[340:])
    Attributor(store).attribute_batch(limit=30)  # the rest stays pending
    return store, now


ZONES = ["America/Bogota", "Asia/Kolkata", "Asia/Kathmandu", "Europe/Madrid", "UTC"]


def test_the_charts_show_what_counting_the_hits_showed(busy: tuple[Store, datetime]) -> None:
    """Per zone (whole hours, half and three quarters of an hour, a change of clocks),
    language, and a bar a day or every two days. The hits are counted from the first
    day's midnight (the page once counted from the same time of day 29 days before)."""
    store, now = busy
    with store.engine.connect() as conn:
        assert hit_tallies.mismatches(conn) == {}
    for zone in ZONES:
        for lang in ("en", "es"):
            for days in (29, 60):
                span = admin_charts.Span(
                    now - timedelta(days=days), now, ZoneInfo(zone), lang, TEXT[lang]
                )
                new, old = hits_over_time(store, span), old_charts(store, span)
                assert new == old, (zone, lang, days)
                channels, copies = new
                assert len(channels.legend) == 6
                assert len(copies.legend) == admin_charts.MAX_SERIES + 1  # and "other"
                assert copies.legend[-1][1] == TEXT[lang]["other"]


def test_the_periods_bounds_are_local_midnights(busy: tuple[Store, datetime]) -> None:
    _, now = busy
    for zone, offset in (("Asia/Kathmandu", timedelta(hours=5, minutes=45)), ("UTC", timedelta())):
        span = admin_charts.Span(now - timedelta(days=29), now, ZoneInfo(zone), "en", TEXT["en"])
        bounds = admin_charts.bucket_bounds(span)
        assert len(bounds) == 31
        for at in bounds:
            local = at + offset
            assert (local.hour, local.minute) == (0, 0)
            assert at == hit_tallies.EPOCH + hit_tallies.SLOT * Q(at)  # whole slots
    # A day of 23 hours where the clocks go forward.
    madrid = admin_charts.Span(
        datetime(2026, 3, 20, tzinfo=UTC),
        datetime(2026, 4, 2, tzinfo=UTC),
        ZoneInfo("Europe/Madrid"),
        "en",
        TEXT["en"],
    )
    b = admin_charts.bucket_bounds(madrid)
    lengths = {(b[i + 1] - b[i]) / timedelta(hours=1) for i in range(len(b) - 1)}
    assert lengths == {23.0, 24.0}


def test_a_hits_quarter_of_an_hour() -> None:
    assert Q(datetime(1970, 1, 1, 0, 14, 59, 999_999, tzinfo=UTC)) == 0
    assert Q(datetime(1970, 1, 1, 0, 15, tzinfo=UTC)) == 1
    naive = datetime(2026, 3, 1, 9, 0)
    assert Q(naive) == Q(naive.replace(tzinfo=UTC))
    bogota = datetime(2026, 3, 1, 4, 0, tzinfo=ZoneInfo("America/Bogota"))
    assert Q(bogota) == Q(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


def test_the_ages_chart_reads_plain_rows_with_the_same_figures(
    busy: tuple[Store, datetime],
) -> None:
    store, now = busy
    keys = ("id", "status", "opened_at", "hits", "shared_hits")
    with store.session() as s:
        full = history.list_incidents(s, limit=500)
        lean = history.incident_ages(s, limit=500)
    assert len(full) > 3
    assert lean == [{k: d[k] for k in keys} for d in full]
    t = TEXT["en"]
    assert admin_charts.incidents_by_age(lean, now, t) == admin_charts.incidents_by_age(
        full, now, t
    )


def test_kept_copy_totals_follow_every_write_and_period(busy: tuple[Store, datetime]) -> None:
    """The copy ranking kept in memory between page loads equals the store's ranking
    and a recount of the hits after new, late, pending-then-attributed, duplicate,
    noise and restored hits, as the period slides by a day, changes zone or jumps."""
    store, now = busy
    window = hit_tallies.CopyWindow()
    page = hit_tallies.copy_window(store.engine)
    assert hit_tallies.copy_window(store.engine) is page
    n = admin_charts.MAX_SERIES

    def check(at: datetime, zone: str = "America/Bogota", days: int = 29) -> None:
        span = admin_charts.Span(at - timedelta(days=days), at, ZoneInfo(zone), "en", TEXT["en"])
        bounds = [Q(b) for b in admin_charts.bucket_bounds(span)]
        with store.engine.connect() as conn:
            got = window.largest(conn, bounds, n)
            assert (got.top, got.more) == hit_tallies.largest(conn, hit_tallies.COPY, bounds, n)
            recounted = hit_tallies.recount(conn)
        per_copy: Counter[str] = Counter()
        copied: dict[int, int] = {}
        for (s, slot, key), hits in recounted.items():
            if bounds[0] <= slot < bounds[-1]:
                if s == hit_tallies.COPY:
                    per_copy[key] += hits
                elif s == hit_tallies.COPIED:
                    copied[slot] = hits
        assert window.totals() == dict(per_copy)
        assert got.copied == copied
        assert hit_tallies.bucketed(got.copied, bounds) == [
            sum(h for sl, h in copied.items() if lo <= sl < hi)
            for lo, hi in itertools.pairwise(bounds)
        ]
        assert hits_over_time(store, span) == old_charts(store, span)  # the page's window

    check(now)
    low = [f"p{i}@{DOMAIN}" for i in range(len(RECIPIENTS))][-4:]  # little hit copies
    # New hits, now and in a quarter of an hour already read.
    record(store, [obs(low[0], 1000 + i, now - timedelta(minutes=i)) for i in range(12)])
    check(now)
    # Late hits: recorded today, seen 20 days ago and before the period.
    record(store, [obs(low[1], 1100 + i, now - timedelta(days=20, minutes=i)) for i in range(9)])
    record(store, [obs(low[1], 1200, now - timedelta(days=45))])
    check(now)
    # Pending hits, counted by copy only once attributed (late, in an old quarter).
    with store.session() as s:
        receive_in(s, [obs(low[2], 1300 + i, now - timedelta(days=3, hours=i)) for i in range(8)])
    check(now)
    while Attributor(store).attribute_batch():
        pass
    check(now)
    # A duplicate, noise and restored: no count changes.
    assert record(store, [obs(low[0], 1000, now)])[0].duplicate
    with store.session() as s:
        some = s.scalars(select(Hit.id).order_by(Hit.id.desc()).limit(3)).all()
    for hid in some:
        mark_noise(store, hid, "prueba", "ana")
    check(now)
    for hid in some:
        restore_hit(store, hid, "no era prueba", "ana")
    check(now)
    # The period slides a day, moves to other zones, grows, jumps past every hit and back.
    check(now + timedelta(days=1))
    record(store, [obs(low[3], 1400 + i, now + timedelta(days=1, minutes=i)) for i in range(5)])
    for zone in ZONES:
        check(now + timedelta(days=1), zone)
    check(now, days=60)
    check(now + timedelta(days=400))
    check(now)


def test_the_warm_up_reads_the_home_pages_copy_totals(
    busy: tuple[Store, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`canary serve` reads the home page's copy totals before the first page load, for
    the organisation's zone: the first load then only checks them."""
    store, now = busy
    monkeypatch.setattr(admin_pages, "_now", lambda: now)
    admin_pages.warm(store, None)
    span = admin_pages.home_span(now, UTC, "en")
    bounds = [Q(b) for b in admin_charts.bucket_bounds(span)]
    with store.engine.connect() as conn:
        expected = hit_tallies.largest(conn, hit_tallies.COPY, bounds, 10**6)[0]
    assert hit_tallies.copy_window(store.engine).totals() == dict(expected)
    assert hits_over_time(store, span) == old_charts(store, span)
