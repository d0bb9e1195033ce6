"""Pictures for the dashboard, drawn on the server as inline SVG (no script, no library).

Each function turns store documents into a `Chart`: positioned marks, axis ticks, a
legend and the same numbers as a table (the text alternative). The template
charts.html draws it with autoescape, so labels that came from an adversary (a
channel, a copy's recipient) stay text. Colours are CSS classes (c0..c7, a palette
told apart by people with colour-blindness), not inline styles: the CSP allows no
inline style.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from listeners.admin_view import MONTHS, as_datetime

WIDTH = 480
HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 12, 30
MAX_SERIES = 7  # the rest are drawn as one "other" series
MAX_BUCKETS = 31
PALETTE = 8


@dataclass(frozen=True)
class Mark:
    """A bar (rect) or a dot (circle: x, y its centre, w its radius), colour `series`."""

    shape: str
    x: float
    y: float
    w: float
    h: float
    series: int
    label: str
    href: str = ""


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    #: A time (UTC ISO) the browser rewrites the label as, in the viewer's zone.
    iso: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    width: int = WIDTH
    height: int = HEIGHT
    marks: list[Mark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.marks


def _top_series(counts: Counter[str], other: str) -> tuple[list[str], dict[str, str]]:
    """The MAX_SERIES largest series by total, and each key's series name."""
    ranked = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    keep = ranked[:MAX_SERIES]
    names = {k: (k if k in keep else other) for k in ranked}
    series = keep + ([other] if len(ranked) > MAX_SERIES else [])
    return series, names


def _nice_max(n: int) -> int:
    if n <= 4:
        return max(n, 1)
    step = int(10 ** int(math.log10(n)))
    for m in (1, 2, 2.5, 5, 10):
        if n <= m * step:
            return math.ceil(m * step)
    return n


def stacked(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[str],
    counts: Sequence[Sequence[int]],
    *,
    first_column: str,
    total: str,
) -> Chart:
    """Stacked bars: one per category, one segment per series (counts[category][series])."""
    n = len(categories)
    legend = [(i % PALETTE, s) for i, s in enumerate(series)]
    rows = [
        [cat, *(str(c) for c in row), str(sum(row))]
        for cat, row in zip(categories, counts, strict=True)
        if sum(row)
    ]
    columns = [first_column, *series, total]
    if not n or not rows:
        return Chart(chart_id, title, desc, legend=legend, columns=columns, rows=rows)
    top = _nice_max(max(sum(row) for row in counts))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    marks: list[Mark] = []
    for i, (cat, row) in enumerate(zip(categories, counts, strict=True)):
        y: float = TOP + plot_h
        x = LEFT + i * slot + (slot - bar_w) / 2
        for j, c in enumerate(row):
            if not c:
                continue
            h = plot_h * c / top
            y -= h
            label = f"{cat} · {series[j]}: {c}"
            marks.append(
                Mark(
                    "rect",
                    round(x, 1),
                    round(y, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    j % PALETTE,
                    label,
                )
            )
    ticks = []
    every = max(1, math.ceil(n / 8))
    for i, cat in enumerate(categories):
        if i % every == 0:
            ticks.append(Tick(round(LEFT + (i + 0.5) * slot, 1), HEIGHT - 10, cat))
    grid: list[float] = []
    for v in sorted({0, top // 2, top}):
        gy = round(TOP + plot_h - plot_h * v / top, 1)
        grid.append(gy)
        ticks.append(Tick(LEFT - 6, gy + 4, str(v), "end"))
    return Chart(
        chart_id,
        title,
        desc,
        marks=marks,
        ticks=ticks,
        grid=grid,
        legend=legend,
        columns=columns,
        rows=rows,
    )


def _buckets(start: date, end: date) -> tuple[int, list[date]]:
    span = (end - start).days + 1
    size = max(1, math.ceil(span / MAX_BUCKETS))
    return size, [start + timedelta(days=i) for i in range(0, span, size)]


@dataclass(frozen=True)
class Span:
    """The period a chart over time covers, the zone its days are counted in, the words."""

    start: datetime
    end: datetime
    tz: tzinfo
    lang: str
    words: Mapping[str, str]


def _days(span: Span) -> tuple[date, date, int, list[date]]:
    """The first and last days of `span` in its zone, the days per bucket, each
    bucket's first day."""
    first, last = span.start.astimezone(span.tz).date(), span.end.astimezone(span.tz).date()
    if last < first:
        first, last = last, first
    size, starts = _buckets(first, last)
    return first, last, size, starts


def bucket_bounds(span: Span) -> list[datetime]:
    """When each bucket of a chart over `span` begins (its first day's midnight in the
    span's zone, as UTC), and when the last one ends: the counts kept in the store are
    read between these."""
    _, last, _, starts = _days(span)
    ends = [*starts, last + timedelta(days=1)]
    return [datetime.combine(d, time(0), span.tz).astimezone(UTC) for d in ends]


def over_time(
    chart_id: str, title: str, desc: str, events: Iterable[tuple[Any, str]], span: Span
) -> Chart:
    """Events (time, series key) counted per day (or per few days) of `span` in its
    zone, stacked by series: a copy's hits per channel."""
    first, last, size, starts = _days(span)
    per_key: dict[str, list[int]] = {}
    for when, key in events:
        dt = as_datetime(when)
        if dt is None:
            continue
        d = dt.astimezone(span.tz).date()
        if first <= d <= last:
            per_key.setdefault(key, [0] * len(starts))[(d - first).days // size] += 1
    return counted_over_time(chart_id, title, desc, per_key, span)


def counted_over_time(
    chart_id: str,
    title: str,
    desc: str,
    per_key: Mapping[str, Sequence[int]],
    span: Span,
    rest: Sequence[int] | None = None,
) -> Chart:
    """A chart over `span` of counts already made per bucket (`bucket_bounds`) and
    series key, stacked: the MAX_SERIES largest keys, the others as one "other" series.
    `rest`: the per-bucket counts of keys left out of `per_key` (the caller picked the
    largest), drawn as "other"."""
    words = span.words
    _, _, size, starts = _days(span)
    totals: Counter[str] = Counter({k: sum(v) for k, v in per_key.items() if sum(v)})
    if rest is None:
        series, names = _top_series(totals, words["other"])
    else:
        series = sorted(totals, key=lambda k: (-totals[k], k))
        names = {k: k for k in series}
        series.append(words["other"])
    index = {s: j for j, s in enumerate(series)}
    counts = [[0] * len(series) for _ in starts]
    for key, row in per_key.items():
        if key in names:
            for b, n in enumerate(row):
                counts[b][index[names[key]]] += n
    for b, n in enumerate(rest or ()):
        counts[b][index[words["other"]]] += n
    months = MONTHS.get(span.lang, MONTHS["en"])
    cats = [f"{d.day} {months[d.month - 1]}" for d in starts]
    first_col = words["day"] if size == 1 else words["period"]
    return stacked(
        chart_id, title, desc, cats, series, counts, first_column=first_col, total=words["total"]
    )


def strength_of_incident(inc: Mapping[str, Any]) -> str:
    """An incident is exclusive when at least one of its hits names its copy alone."""
    return "exclusive" if int(inc.get("hits") or 0) > int(inc.get("shared_hits") or 0) else "shared"


AGES = ((1, "age_day"), (7, "age_week"), (30, "age_month"), (None, "age_older"))


def incidents_by_age(
    incidents: Iterable[Mapping[str, Any]], now: datetime, words: Mapping[str, str]
) -> Chart:
    """Open incidents by age since they opened, exclusive (a hit names the copy alone)
    apart from shared (every hit is shared with other copies)."""
    series = [words["strength_exclusive"], words["strength_shared"]]
    counts = [[0, 0] for _ in AGES]
    for inc in incidents:
        if str(inc.get("status", "open")) == "closed":
            continue
        opened = as_datetime(inc.get("opened_at"))
        if opened is None:
            continue
        days = (now - opened).total_seconds() / 86400
        b = next(i for i, (limit, _) in enumerate(AGES) if limit is None or days < limit)
        counts[b][0 if strength_of_incident(inc) == "exclusive" else 1] += 1
    cats = [words[key] for _, key in AGES]
    return stacked(
        "chart-incident-age",
        words["chart_age"],
        words["chart_age_desc"],
        cats,
        series,
        counts,
        first_column=words["age"],
        total=words["total"],
    )


STRENGTH_SERIES = {"exclusive": 0, "shared": 1, "coded": 2}


def timeline(
    hits: Sequence[Mapping[str, Any]], tz: tzinfo, lang: str, words: Mapping[str, str]
) -> Chart:
    """An incident's hits as dots on a time axis, one lane per channel, coloured by
    strength; each dot links to its hit."""
    title, desc = words["chart_timeline"], words["chart_timeline_desc"]
    dated = [(as_datetime(h.get("observed_at")), h) for h in hits]
    points = [(dt, h) for dt, h in dated if dt is not None]
    legend = [(i, words["strength_" + s]) for s, i in STRENGTH_SERIES.items()]
    legend.append((3, words["strength_unattributed"]))
    if not points:
        return Chart("chart-timeline", title, desc, legend=legend)
    lanes = sorted({str(h.get("channel")) for _, h in points})
    height = TOP + BOTTOM + 34 * len(lanes) + 10
    left, width = 110, 720
    plot_w = width - left - RIGHT - 10
    t0, t1 = min(dt for dt, _ in points), max(dt for dt, _ in points)
    span = max((t1 - t0).total_seconds(), 1.0)
    marks = []
    for dt, h in points:
        x = left + 5 + plot_w * (dt - t0).total_seconds() / span
        y = TOP + 17 + 34 * lanes.index(str(h.get("channel")))
        strength = str((h.get("attribution") or {}).get("strength", ""))
        label = f"#{h.get('id')} · {dt.astimezone(tz):%Y-%m-%d %H:%M} · {h.get('channel')} · " + (
            words.get("strength_" + strength, strength)
        )
        marks.append(
            Mark(
                "circle",
                round(x, 1),
                y,
                6,
                0,
                STRENGTH_SERIES.get(strength, 3),
                label,
                f"/hits/{int(h.get('id') or 0)}",
            )
        )
    months = MONTHS.get(lang, MONTHS["en"])
    ticks = [Tick(left - 8, TOP + 21 + 34 * i, lane[:14], "end") for i, lane in enumerate(lanes)]
    for frac, anchor in ((0.0, "start"), (1.0, "end")) if t1 > t0 else ((0.0, "start"),):
        dt = (t0 + (t1 - t0) * frac).astimezone(tz)
        ticks.append(
            Tick(
                left + 5 + plot_w * frac,
                height - 10,
                f"{dt.day} {months[dt.month - 1]} {dt:%H:%M}",
                anchor,
                dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            )
        )
    grid = [float(TOP + 17 + 34 * i) for i in range(len(lanes))]
    return Chart(
        "chart-timeline",
        title,
        desc,
        width=width,
        height=height,
        marks=marks,
        ticks=ticks,
        grid=grid,
        legend=legend,
    )


def canary_grid(
    canaries: Sequence[Mapping[str, Any]],
    contacted: Mapping[int, int],
    words: Mapping[str, str],
) -> Chart:
    """A copy's canaries as squares, filled when a hit reached one (how many in the
    label): which of the planted rows have been contacted."""
    per_row, cell = 24, 26
    rows = max(1, math.ceil(len(canaries) / per_row))
    marks = []
    for i, c in enumerate(canaries):
        n = contacted.get(int(c["id"]), 0)
        idents = ", ".join(str(x.get("value", "")) for x in c.get("identifiers", [])[:3])
        label = f"#{c['id']} {idents} · " + (
            f"{words['contacted']}: {n}" if n else words["not_contacted"]
        )
        marks.append(
            Mark(
                "rect",
                4 + (i % per_row) * cell,
                4 + (i // per_row) * cell,
                cell - 4,
                cell - 4,
                5 if n else 7,
                label,
            )
        )
    legend = [(5, words["contacted"]), (7, words["not_contacted"])]
    hit = sum(1 for c in canaries if contacted.get(int(c["id"]), 0))
    desc = words["chart_canaries_desc"].format(hit=hit, total=len(canaries))
    return Chart(
        "chart-canaries",
        words["chart_canaries"],
        desc,
        width=per_row * cell + 8,
        height=rows * cell + 8,
        marks=marks,
        legend=legend,
    )


def contacted_canaries(
    canaries: Sequence[Mapping[str, Any]], hits: Iterable[Mapping[str, Any]]
) -> dict[int, int]:
    """Per canary id: how many of `hits` reached one of its identifiers."""
    owner: dict[str, int] = {}
    for c in canaries:
        for ident in c.get("identifiers", []):
            owner.setdefault(str(ident.get("value", "")), int(c["id"]))
    out: Counter[int] = Counter()
    for h in hits:
        cid = owner.get(str(h.get("identifier", "")))
        if cid is not None:
            out[cid] += 1
    return dict(out)
