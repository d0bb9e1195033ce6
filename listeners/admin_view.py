"""How the dashboard writes times and numbers: Jinja filters over one organisation zone.

A time is written as `<time datetime="UTC ISO" title="exact">` in the organisation's
zone (`[console] timezone`) without fractions of a second: what a reader sees without
JavaScript. /static/app.js then rewrites each one in the viewer's own zone and locale
(relative when recent, "hace 5 min"; exact on hover). Numbers are `<data value>`, which
the script formats in the viewer's locale. Values come from the store and may come from
an adversary: everything is escaped here (Markup.format), never trusted as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

MONTHS = {
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def as_datetime(value: Any) -> datetime | None:
    """A stored time (datetime or ISO text) as an aware UTC datetime; None if it is none."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def exact(dt: datetime, tz: tzinfo) -> str:
    """`2026-11-29 15:03:11 CST` in zone `tz`: seconds, no fraction."""
    local = dt.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def short(dt: datetime, tz: tzinfo) -> str:
    """`2026-11-29 15:03 CST` in zone `tz`."""
    local = dt.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def day_label(dt: datetime, tz: tzinfo, lang: str) -> str:
    """`29 nov` / `29 Nov` in zone `tz`."""
    local = dt.astimezone(tz)
    return f"{local.day} {MONTHS.get(lang, MONTHS['en'])[local.month - 1]}"


def time_markup(value: Any, tz: tzinfo, *, relative: bool = True) -> Markup:
    """A `<time>` element for a stored time; empty for none. `relative`: the browser may
    write it as "5 min ago" when recent (the exact time stays in the title)."""
    dt = as_datetime(value)
    if dt is None:
        return Markup("")
    iso = dt.isoformat(timespec="seconds").replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}"{}>{}</time>').format(
        iso,
        exact(dt, tz),
        Markup(' data-rel=""') if relative else Markup(""),
        short(dt, tz) if relative else exact(dt, tz),
    )


def number_markup(value: Any) -> Markup:
    """A count as `<data class="num" value=N>N</data>` (the browser groups digits)."""
    if value is None:
        return Markup("")
    n = int(value)
    return Markup('<data class="num" value="{}">{}</data>').format(n, n)


def prob_markup(value: Any) -> Markup:
    """A probability as `<data class="p" value=P>` with three significant digits."""
    if value is None:
        return Markup("")
    p = float(value)
    return Markup('<data class="p" value="{}">{}</data>').format(repr(p), f"{p:.3g}")


@pass_context
def when_filter(ctx: Context, value: Any, relative: bool = True) -> Markup:
    return time_markup(value, ctx.get("tz") or UTC, relative=relative)


@pass_context
def exact_filter(ctx: Context, value: Any) -> Markup:
    return time_markup(value, ctx.get("tz") or UTC, relative=False)


def install(env: Any) -> None:
    """Register the filters on a Jinja environment: `when`, `exact`, `num`, `prob`."""
    env.filters["when"] = when_filter
    env.filters["exact"] = exact_filter
    env.filters["num"] = number_markup
    env.filters["prob"] = prob_markup
