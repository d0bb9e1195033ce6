"""The dashboard pages: server-side Jinja2 templates with autoescape, no inline script.

Every page needs a logged-in user; investigators also search, identify, download
bundles and raw evidence; admins manage users. Live tables are refreshed by
/static/app.js from the JSON API.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from canary.config import Config, zone
from canary.errors import CanaryError, ConfigError, InputError
from canary.evidence.templating import ItemFirstEnvironment
from canary.hits import workflow
from canary.investigate import history, queries, search
from canary.store import hit_tallies, users
from canary.store.engine import Store
from canary.store.models import Copy
from canary.vocabulary import Channel, IncidentStatus, Strength
from listeners import admin_alerts, admin_api, admin_charts, admin_view
from listeners.admin_auth import (
    SESSION_MAX_AGE,
    LoginLimiter,
    Principal,
    check_csrf,
    csrf_token,
    principal,
    require,
)
from listeners.admin_text import TEXT, pick_lang

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_DETAIL_VALUE = 20000
BODY_KEYS = ("text", "body", "text_body")


env = ItemFirstEnvironment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
admin_view.install(env)


def org_zone(request: Request) -> tzinfo:
    """The organisation's time zone (`[console] timezone`), UTC without a config."""
    return config_zone(getattr(request.app.state, "config", None))


def config_zone(config: Config | None) -> tzinfo:
    """`[console] timezone` of `config`, UTC without a config or with a bad zone."""
    if config is None:
        return UTC
    try:
        return zone(config.console.timezone)
    except ConfigError:
        return UTC


def home_span(now: datetime, tz: tzinfo, lang: str) -> admin_charts.Span:
    """The period of the home page's charts over time: the 30 days up to `now`."""
    return admin_charts.Span(now - timedelta(days=29), now, tz, lang, TEXT[lang])


def warm(store: Store, config: Config | None) -> None:
    """At start-up, what the first page loads would pay: the templates compiled and the
    home page's copy totals read (canary.store.hit_tallies.CopyWindow; 90 ms of CPU at
    86,000 rows). A failure is logged: the first home page then reads them."""
    try:
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
        hits_over_time(store, home_span(_now(), config_zone(config), "en"))
    except Exception:  # start serving anyway
        log.warning("the dashboard's warm-up failed", exc_info=True)


def render(
    request: Request,
    name: str,
    ctx: dict[str, Any],
    status: int = 200,
    who: Principal | None = None,
) -> HTMLResponse:
    """A page in the browser's language, with the CSRF token and the user's rights."""
    lang = pick_lang(request.headers.get("accept-language"))
    tz = org_zone(request)
    full = {
        "lang": lang,
        "t": TEXT[lang],
        "csrf": csrf_token(request),
        "user": who,
        "can_investigate": bool(who and users.role_at_least(who.role, "investigator")),
        "is_admin": bool(who and who.role == "admin"),
        "path": request.url.path,
        "tz": tz,
        "tz_name": str(tz),
        **ctx,
    }
    return HTMLResponse(env.get_template(name).render(**full), status_code=status)


def show_value(value: Any) -> str:
    """A detail value as bounded text (nested values as indented JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    return text if len(text) <= MAX_DETAIL_VALUE else text[:MAX_DETAIL_VALUE] + "…"


class KnownAddresses:
    """Addresses each user logged in from (in memory, bounded)."""

    def __init__(self, per_user: int = 20, users_max: int = 10_000) -> None:
        self.per_user = per_user
        self.users_max = users_max
        self._seen: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    def has(self, user: str, ip: str) -> bool:
        return ip in self._seen.get(user, ())

    def add(self, user: str, ip: str) -> None:
        seen = self._seen.setdefault(user, OrderedDict())
        seen[ip] = None
        seen.move_to_end(ip)
        while len(seen) > self.per_user:
            seen.popitem(last=False)
        self._seen.move_to_end(user)
        while len(self._seen) > self.users_max:
            self._seen.popitem(last=False)


def page_user(request: Request, store: Store, role: str = "viewer") -> Principal:
    """The logged-in user for a page; browsers without a session go to /login."""
    who = principal(request, store)
    if who is None:
        raise HTTPException(303, headers={"location": "/login"})
    if not users.role_at_least(who.role, role):
        raise HTTPException(403, f"needs the {role} role")
    return who


def routes(
    store: Store,
    limiter_ip: LoginLimiter,
    limiter_user: LoginLimiter,
    limiter_pair: LoginLimiter,
) -> list[Any]:
    """The dashboard routes, bound to `store` and the login limiters (per address, per
    user from unknown addresses, per user and address)."""
    known = KnownAddresses()

    def index(request: Request) -> Response:
        who = page_user(request, store)
        status = request.query_params.get("status", "")
        status = status if status in {st.value for st in IncidentStatus} else ""
        with store.session() as s:
            incidents = history.list_incidents(s, limit=100, status=status or None)
            # The ages chart: the same 100 unfiltered, else the 500 most recently active
            # of any status, read as plain rows (500 incident summaries took 70 ms of CPU).
            every = incidents if not status else history.incident_ages(s, limit=500)
        hits = queries.list_hits(store, queries.HitFilter(limit=50))["hits"]
        lang = pick_lang(request.headers.get("accept-language"))
        t, now = TEXT[lang], _now()
        span = home_span(now, org_zone(request), lang)
        charts = [admin_charts.incidents_by_age(every, now, t), *hits_over_time(store, span)]
        ctx = {
            "incidents": incidents,
            "status": status,
            "hits": hits,
            "charts": charts,
            "alert_state": alert_overview(store, request),
        }
        return render(request, "index.html", ctx, who=who)

    def login_form(request: Request) -> Response:
        return render(request, "login.html", {"error": None})

    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        try:
            check_csrf(request, _s(form.get("csrf")))
            name, password = _s(form.get("username"))[:100], _s(form.get("password"))[:1000]
        finally:
            await form.close()
        ip = request.client.host if request.client else "?"
        t = TEXT[pick_lang(request.headers.get("accept-language"))]
        user, pair = name.lower(), f"{name.lower()}|{ip}"
        # Someone guessing a user's password locks out their own address, not the user:
        # the real user still logs in from an address they logged in from before.
        if (
            limiter_pair.blocked(pair)
            or limiter_ip.blocked(ip)
            or (limiter_user.blocked(user) and not known.has(user, ip))
        ):
            return render(request, "login.html", {"error": t["too_many"]}, status=429)
        u = await run_in_threadpool(users.authenticate, store, name, password)
        if u is None:
            limiter_ip.fail(ip)
            limiter_pair.fail(pair)
            if not known.has(user, ip):
                limiter_user.fail(user)
            return render(request, "login.html", {"error": t["bad_login"]}, status=401)
        limiter_pair.reset(pair)
        known.add(user, ip)
        sid = await run_in_threadpool(users.open_session, store, u.username, SESSION_MAX_AGE)
        request.session.clear()  # a fresh session (and CSRF token) after login
        request.session["user"] = u.username
        request.session["sid"] = sid
        csrf_token(request)
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        try:
            check_csrf(request, _s(form.get("csrf")))
        finally:
            await form.close()
        await run_in_threadpool(users.end_session, store, request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def copies(request: Request) -> Response:
        who = page_user(request, store)
        flt = CopyFilter.of(request)
        # One page of the register, filtered by the store: 100,000 copies on one page
        # took tens of seconds to read and render.
        doc = queries.copies_page(store, flt.query(), _page(request))
        ctx = {
            "copies": doc["copies"],
            "matched": doc["matched"],
            "total": doc["total"],
            "page": doc["page"],
            "pages": doc["pages"],
            "flt": flt,
            "datasets": doc["datasets"],
        }
        return render(request, "copies.html", ctx, who=who)

    def copy_page(request: Request) -> Response:
        who = page_user(request, store)
        cid = request.path_params["copy_id"][:64]
        doc = queries.copy_detail(store, cid)
        hits = queries.list_hits(store, queries.HitFilter(copy=doc["id"], limit=500))["hits"]
        exclusive = [h for h in hits if h["attribution"]["strength"] == "exclusive"]
        shared = [h for h in hits if h["attribution"]["strength"] in ("shared", "coded")]
        lang = pick_lang(request.headers.get("accept-language"))
        t, tz = TEXT[lang], org_zone(request)
        contacted = admin_charts.contacted_canaries(doc["canaries"], hits)
        issued = admin_view.as_datetime(doc["issued_at"]) or _now()
        charts = [
            admin_charts.over_time(
                "chart-copy-hits",
                t["chart_copy_hits"],
                t["chart_copy_hits_desc"],
                [(h["observed_at"], h["channel"]) for h in hits],
                admin_charts.Span(issued, _now(), tz, lang, t),
            ),
            admin_charts.canary_grid(doc["canaries"], contacted, t),
        ]
        ctx = {
            "copy": doc,
            "hits": hits,
            "exclusive": exclusive,
            "shared": shared,
            "charts": charts,
            "contacted": contacted,
        }
        return render(request, "copy.html", ctx, who=who)

    def bundle(request: Request) -> Response:
        page_user(request, store, "investigator")
        lang = request.query_params.get("lang", "es")[:5]
        data, name = admin_api.bundle_bytes(
            store, request.path_params["copy_id"][:64], lang, request.app.state.config
        )
        return admin_api.download(data, name, "application/zip")

    def hit_page(
        request: Request, who: Principal | None = None, error: str | None = None
    ) -> Response:
        who = who or page_user(request, store)
        hit = admin_api.hit_document(store, request.path_params["hit_id"])
        details = hit.get("details") or {}
        body = hit.get("text") or ""
        rows = [(str(k)[:200], show_value(v)) for k, v in details.items() if k not in BODY_KEYS]
        ctx = {"hit": hit, "details": rows, "body": show_value(body), "error": error}
        return render(request, "hit.html", ctx, status=400 if error else 200, who=who)

    def incident_page(
        request: Request, who: Principal | None = None, error: str | None = None
    ) -> Response:
        who = who or page_user(request, store)
        with store.session() as s:
            inc = history.incident_detail(s, request.path_params["incident_id"])
        lang = pick_lang(request.headers.get("accept-language"))
        chart = admin_charts.timeline(inc["timeline"], org_zone(request), lang, TEXT[lang])
        ctx = {
            "inc": inc,
            "chart": chart,
            "error": error,
            "statuses": [st.value for st in IncidentStatus],
            "people": [u.username for u in users.list_users(store)],
        }
        return render(request, "incident.html", ctx, status=400 if error else 200, who=who)

    async def incident_update(request: Request) -> Response:
        who = await run_in_threadpool(page_user, request, store, "investigator")
        doc = await admin_api.posted(request)
        iid = request.path_params["incident_id"]
        try:
            change = workflow.IncidentChange(
                status=admin_api.text_field(doc, "status"),
                assignee=admin_api.text_field(doc, "assignee", empty_is_none=False),
                note=admin_api.text_field(doc, "note"),
                resolution=admin_api.text_field(doc, "resolution"),
            )
            await run_in_threadpool(workflow.update_incident, store, iid, change, who.name)
        except InputError as exc:
            return await run_in_threadpool(incident_page, request, who, str(exc)[:500])
        return RedirectResponse(f"/incidents/{iid}#case", status_code=303)

    async def hit_noise(request: Request) -> Response:
        who = await run_in_threadpool(page_user, request, store, "investigator")
        doc = await admin_api.posted(request)
        hid = request.path_params["hit_id"]
        try:
            noise = admin_api.bool_field(doc, "noise", True)
            reason = admin_api.text_field(doc, "reason")
            if reason is None:
                raise InputError(
                    TEXT[pick_lang(request.headers.get("accept-language"))]["reason_needed"]
                )
            await run_in_threadpool(admin_api.change_hit, store, hid, noise, reason, who.name)
        except InputError as exc:
            return await run_in_threadpool(hit_page, request, who, str(exc)[:500])
        return RedirectResponse(f"/hits/{hid}#case", status_code=303)

    def alerts_page(request: Request) -> Response:
        who = page_user(request, store)
        overview = alert_overview(store, request)
        return render(request, "alerts.html", {"ov": overview}, who=who)

    def search_page(request: Request) -> Response:
        who = page_user(request, store, "investigator")
        form = SearchForm.of(request)
        ctx: dict[str, Any] = {
            "form": form,
            "results": None,
            "error": None,
            "copies": queries.copy_choices(store, MAX_CHOICES),
            "channels": [ch.value for ch in Channel],
            "strengths": [st.value for st in Strength],
        }
        if form.q:
            try:
                ctx["results"] = search.search(store, form.q, form.search_filter())
            except InputError as exc:
                ctx["error"] = str(exc)[:500]
        return render(request, "search.html", ctx, status=400 if ctx["error"] else 200, who=who)

    def identify_form(request: Request) -> Response:
        who = page_user(request, store, "investigator")
        return render(request, "identify.html", {"result": None, "error": None}, who=who)

    async def identify_upload(request: Request) -> Response:
        who = await run_in_threadpool(page_user, request, store, "investigator")
        path, filename = await admin_api.save_upload(request)
        try:
            result = await run_in_threadpool(admin_api.identify_upload_sync, store, path)
            ctx = {"result": result, "filename": filename, "error": None}
        except CanaryError as exc:
            ctx = {"result": None, "error": str(exc)}
        return render(request, "identify.html", ctx, who=who)

    def users_page(
        request: Request, error: str | None = None, who: Principal | None = None
    ) -> Response:
        who = who or page_user(request, store, "admin")
        ctx = {"users": users.list_users(store), "roles": users.ROLES, "error": error}
        return render(request, "users.html", ctx, who=who, status=400 if error else 200)

    async def users_add(request: Request) -> Response:
        who = await run_in_threadpool(page_user, request, store, "admin")
        form = await request.form(max_files=0, max_fields=10)
        try:
            check_csrf(request, _s(form.get("csrf")))
            name, pw, role = (_s(form.get(k)) for k in ("username", "password", "role"))
        finally:
            await form.close()
        try:
            await run_in_threadpool(users.add_user, store, name, pw, role)
        except CanaryError as exc:
            return await run_in_threadpool(users_page, request, str(exc), who)
        return RedirectResponse("/users", status_code=303)

    async def users_remove(request: Request) -> Response:
        who = await run_in_threadpool(page_user, request, store, "admin")
        form = await request.form(max_files=0, max_fields=10)
        try:
            check_csrf(request, _s(form.get("csrf")))
            name = _s(form.get("username"))
        finally:
            await form.close()
        try:
            await run_in_threadpool(users.remove_user, store, name)
        except CanaryError as exc:
            return await run_in_threadpool(users_page, request, str(exc), who)
        return RedirectResponse("/users", status_code=303)

    return [
        Route("/", index),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/copies", copies),
        Route("/copies/{copy_id}", copy_page),
        Route("/copies/{copy_id}/bundle", bundle),
        Route("/hits/{hit_id:int}", hit_page),
        Route("/incidents/{incident_id:int}", incident_page, methods=["GET"]),
        Route("/incidents/{incident_id:int}", incident_update, methods=["POST"]),
        Route("/hits/{hit_id:int}/noise", hit_noise, methods=["POST"]),
        Route("/alerts", alerts_page),
        Route("/search", search_page),
        Route("/identify", identify_form, methods=["GET"]),
        Route("/identify", identify_upload, methods=["POST"]),
        Route("/users", users_page, methods=["GET"]),
        Route("/users/add", users_add, methods=["POST"]),
        Route("/users/remove", users_remove, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


def _now() -> datetime:
    return datetime.now(UTC)


def alert_overview(store: Store, request: Request) -> admin_alerts.AlertOverview:
    return admin_alerts.overview(store, getattr(request.app.state, "config", None))


#: Up to this many copies, search offers them in a list; with more, the copy id is typed.
MAX_CHOICES = 1000


def copy_label(copy_id: str, recipient: str | None) -> str:
    """A copy as the charts name it: "recipient (id)", the recipient bounded."""
    return f"{str(recipient)[:40]} ({copy_id})"


def hits_over_time(store: Store, span: admin_charts.Span) -> list[admin_charts.Chart]:
    """The home page's charts of the hits of `span`, per day: by channel, and by best
    candidate copy (the MAX_SERIES copies with the most hits, then "other"). Read from
    the counts the store keeps (canary.store.hit_tallies), not from the hits."""
    t = span.words
    bounds = [hit_tallies.slot_of(at) for at in admin_charts.bucket_bounds(span)]
    with store.engine.connect() as conn:
        channels = hit_tallies.per_bucket(conn, hit_tallies.CHANNEL, bounds)
        # The copies ranked from their totals kept in memory between page loads, brought
        # up to date from the store (summing the period's rows took 80 ms at 86,000).
        ranked = hit_tallies.copy_window(store.engine).largest(
            conn, bounds, admin_charts.MAX_SERIES
        )
        top, more = ranked.top, ranked.more
        ids = [cid for cid, _ in top]
        recipients = {
            str(cid): str(r)
            for cid, r in conn.execute(select(Copy.id, Copy.recipient).where(Copy.id.in_(ids)))
        }
        # Ties broken by the series' name, as a chart counted from events breaks them.
        label = {cid: copy_label(cid, recipients.get(cid)) for cid in ids}
        top.sort(key=lambda r: (-r[1], label[r[0]]))
        chosen = [cid for cid, _ in top[: admin_charts.MAX_SERIES]]
        per_copy = hit_tallies.per_bucket(conn, hit_tallies.COPY, bounds, chosen)
        rest = None
        if more:
            copied = hit_tallies.bucketed(ranked.copied, bounds)
            rest = [c - sum(v[b] for v in per_copy.values()) for b, c in enumerate(copied)]
    return [
        admin_charts.counted_over_time(
            "chart-channels", t["chart_channel"], t["chart_channel_desc"], channels, span
        ),
        admin_charts.counted_over_time(
            "chart-copies",
            t["chart_copy"],
            t["chart_copy_desc"],
            {label[cid]: v for cid, v in per_copy.items()},
            span,
            rest,
        ),
    ]


def _day(value: str) -> str:
    """A date typed in a form as YYYY-MM-DD, or "" when it is not one."""
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat() if value.strip() else ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class SearchForm:
    """The search page's query and filters as typed (bounded; bad dates dropped)."""

    q: str = ""
    copy: str = ""
    channel: str = ""
    since: str = ""
    until: str = ""
    strength: str = ""

    @classmethod
    def of(cls, request: Request) -> SearchForm:
        p = request.query_params
        return cls(
            p.get("q", "").strip()[: search.MAX_QUERY],
            p.get("copy", "").strip()[:64],
            p.get("channel", "").strip()[:20],
            _day(p.get("since", "")),
            _day(p.get("until", "")),
            p.get("strength", "").strip()[:20],
        )

    @property
    def filtered(self) -> bool:
        return bool(self.copy or self.channel or self.since or self.until or self.strength)

    def search_filter(self) -> search.SearchFilter:
        return search.SearchFilter(
            copy=self.copy or None,
            channel=self.channel or None,
            since=queries.parse_time(self.since) if self.since else None,
            until=queries.parse_time(self.until, end_of_day=True) if self.until else None,
            strength=self.strength or None,
            limit=search.MAX_LIMIT,
        )


@dataclass(frozen=True)
class CopyFilter:
    """The copies page's filters: dataset (exact), recipient (contains), issued between."""

    dataset: str = ""
    recipient: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def of(cls, request: Request) -> CopyFilter:
        q = request.query_params
        return cls(
            q.get("dataset", "")[:200],
            q.get("recipient", "").strip()[:200],
            _day(q.get("since", "")),
            _day(q.get("until", "")),
        )

    @property
    def active(self) -> bool:
        return bool(self.dataset or self.recipient or self.since or self.until)

    def query(self) -> queries.CopyFilter:
        return queries.CopyFilter(
            self.dataset,
            self.recipient,
            date.fromisoformat(self.since) if self.since else None,
            date.fromisoformat(self.until) if self.until else None,
        )

    def link(self, page: int) -> str:
        """The register's URL for `page` with these filters."""
        q = {k: v for k, v in vars(self).items() if v}
        return "/copies?" + urlencode({**q, "page": page})


def _page(request: Request) -> int:
    """The page asked for (1 when none or not a number)."""
    raw = request.query_params.get("page", "1").strip()[:9]
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


__all__ = ["require", "routes"]
