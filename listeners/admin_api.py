"""The admin JSON API: hits, copies, trace, search, identify, incidents and their case
workflow (status, assignee, notes, resolution; hits marked as noise), alerts, bundles.

Thin handlers over the library (canary.investigate and canary.evidence); shapes as
DESIGN's CLI documents. GET handlers are plain functions, so Starlette runs their
blocking store calls in its thread pool.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from canary.config import Config, load_config, zone
from canary.errors import InputError
from canary.evidence import bundle, report, signing
from canary.hits import workflow
from canary.investigate import history, queries, search
from canary.investigate.limits import SERVER_LIMITS, bounded_identify
from canary.investigate.trace import trace
from canary.mail.parse import parse_message
from canary.store.engine import Store
from canary.store.models import Alert, Blob
from listeners.admin_auth import Principal, check_csrf, require

log = logging.getLogger(__name__)

MAX_UPLOAD = 50 * 1024 * 1024
MAX_QUERY = 500
HIT_FILTERS = ("copy", "channel", "recipient", "sender")


class Json(JSONResponse):
    """JSON with datetimes as ISO 8601 and sets/tuples as lists (library documents hold them)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=_default).encode("utf-8")


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, set | tuple | frozenset):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


def _param(request: Request, name: str) -> str | None:
    v = request.query_params.get(name)
    if v is None or v == "":
        return None
    if len(v) > MAX_QUERY:
        raise InputError(f"{name}: too long (at most {MAX_QUERY} characters)")
    return v


def _limit(request: Request, default: int = 200) -> int:
    raw = _param(request, "limit")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError as exc:
        raise InputError("limit: a whole number from 1 to 1000") from exc
    if not 1 <= n <= 1000:
        raise InputError("limit: a whole number from 1 to 1000")
    return n


def hit_filter(request: Request) -> queries.HitFilter:
    """The hit filters of a request's query string."""
    kw: dict[str, Any] = {k: _param(request, k) for k in HIT_FILTERS}
    since, until = _param(request, "since"), _param(request, "until")
    kw["since"] = queries.parse_time(since) if since else None
    kw["until"] = queries.parse_time(until, end_of_day=True) if until else None
    kw["limit"] = _limit(request)
    return queries.HitFilter(**kw)


def hit_document(store: Store, hit_id: int) -> dict[str, Any]:
    """A hit with evidence details, candidates and what its raw evidence is."""
    with store.session() as s:
        hit = history.get_hit(s, hit_id)
        doc = history.hit_case(s, hit)
        blob = s.get(Blob, hit.evidence_sha256) if hit.evidence_sha256 else None
        doc["evidence"] = (
            {"sha256": blob.sha256, "size": blob.size, "content_type": blob.content_type}
            if blob
            else None
        )
        doc["text"] = message_text(hit.summary, doc["details"], blob)
        return doc


def message_text(summary: str, details: dict[str, Any], blob: Blob | None) -> str:
    """The text of what was sent: parsed from a stored mail, else what the listener kept."""
    for key in ("text", "body"):
        if isinstance(details.get(key), str):
            return str(details[key])
    if blob is not None and blob.content_type == "message/rfc822":
        return parse_message(bytes(blob.data)).text
    return summary


def raw_evidence(store: Store, hit_id: int) -> tuple[bytes, str]:
    """The evidence bytes of a hit exactly as received, and a download file name."""
    with store.session() as s:
        hit = history.get_hit(s, hit_id)
        blob = s.get(Blob, hit.evidence_sha256) if hit.evidence_sha256 else None
        if blob is None:
            raise HTTPException(404, f"hit {hit_id} has no stored evidence")
        suffix = report.evidence_suffix(blob.content_type, hit.channel)
        return bytes(blob.data), f"hit-{hit_id}{suffix}"


def recent_alerts(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    with store.session() as s:
        rows = s.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)).all()
        return [
            {
                "id": a.id,
                "incident_id": a.incident_id,
                "kind": a.kind,
                "channel": a.channel,
                "state": a.state,
                "created_at": a.created_at.isoformat(),
                "title": str((a.payload or {}).get("title", ""))[:300],
            }
            for a in rows
        ]


def download(data: bytes, filename: str, media_type: str = "application/octet-stream") -> Response:
    """Bytes as an attachment, never rendered by the browser."""
    return Response(
        data,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "content-security-policy": "sandbox",
        },
    )


async def save_upload(request: Request, limit: int = MAX_UPLOAD) -> tuple[Path, str]:
    """The uploaded `file` field, streamed to a temporary file; 413 over `limit`."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + 64 * 1024:
        raise HTTPException(413, f"upload too large: at most {limit // (1024 * 1024)} MB")
    form = await request.form(max_files=1, max_fields=10, max_part_size=1024 * 1024)
    try:
        check_csrf(request, _str(form.get("csrf")))
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError("send the dump as a multipart form field named 'file'")
        fd, name = tempfile.mkstemp(prefix="canary-identify-")
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    out.close()
                    os.unlink(name)
                    raise HTTPException(413, f"upload too large: at most {limit // 1048576} MB")
                out.write(chunk)
        return Path(name), (upload.filename or "upload")[:200]
    finally:
        await form.close()


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def identify_upload_sync(store: Store, path: Path) -> dict[str, Any]:
    """An uploaded dump identified with the file read in a bounded child process."""
    try:
        return bounded_identify(store, path, SERVER_LIMITS)
    finally:
        path.unlink(missing_ok=True)


def bundle_bytes(store: Store, copy_id: str, lang: str, config: Config | None) -> tuple[bytes, str]:
    """A freshly built, signed evidence bundle for a copy, and its file name."""
    with store.session() as s:
        copy_id = history.get_copy(s, copy_id).id  # an unknown copy is a 404, key or not
    cfg = config or load_config()
    signer = signing.load_signer(cfg)
    with tempfile.TemporaryDirectory(prefix="canary-bundle-") as d:
        out = Path(d) / "case.zip"
        tz = zone(cfg.console.timezone)
        bundle.write_bundle(store, copy_id, out, signer, lang=lang, tz=tz)
        data = out.read_bytes()
    safe = "".join(ch for ch in copy_id if ch.isalnum())[:40] or "copy"
    return data, f"case-{safe}.zip"


SEARCH_FILTERS = ("copy", "channel", "strength")
MAX_FIELDS = 20


def search_filter(request: Request) -> search.SearchFilter:
    """The search filters of a request's query string (copy, channel, since, until,
    strength, limit)."""
    kw: dict[str, Any] = {k: _param(request, k) for k in SEARCH_FILTERS}
    since, until = _param(request, "since"), _param(request, "until")
    kw["since"] = queries.parse_time(since) if since else None
    kw["until"] = queries.parse_time(until, end_of_day=True) if until else None
    kw["limit"] = min(_limit(request, search.DEFAULT_LIMIT), search.MAX_LIMIT)
    return search.SearchFilter(**kw)


async def posted(request: Request) -> dict[str, Any]:
    """A POST's fields, from a JSON object or a form, after its CSRF check (a session's
    token in the `csrf` field or the X-CSRF-Token header; bearer clients are exempt)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    doc: dict[str, Any]
    if ctype == "application/json":
        try:
            raw = await request.json()
        except ValueError as exc:
            raise InputError("the body is not valid JSON") from exc
        if not isinstance(raw, dict) or len(raw) > MAX_FIELDS:
            raise InputError("send a JSON object with the fields to change")
        doc = raw
    else:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        try:
            doc = {k: v for k, v in form.items() if isinstance(v, str)}
        finally:
            await form.close()
    check_csrf(request, _str(doc.get("csrf")))
    return doc


def text_field(doc: dict[str, Any], name: str, *, empty_is_none: bool = True) -> str | None:
    """A text field of a posted document: None when absent (or empty, unless kept)."""
    v = doc.get(name)
    if v is None:
        return None
    if not isinstance(v, str):
        raise InputError(f"{name}: text expected")
    if len(v) > 20000:
        raise InputError(f"{name}: too long")
    return None if (empty_is_none and not v.strip()) else v


def bool_field(doc: dict[str, Any], name: str, default: bool) -> bool:
    v = doc.get(name)
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "1", "on", "yes", "false", "0", "off", "no"):
        return v.lower() in ("true", "1", "on", "yes")
    raise InputError(f"{name}: true or false")


def acting_name(who: Principal, doc: dict[str, Any]) -> str:
    """Who a change is recorded as: the logged-in user; with the API token, the `by`
    field if given (the token is shared, so a script names its human), else "api-token"."""
    if who.via == "session":
        return who.name
    return text_field(doc, "by") or who.name


def change_incident(
    store: Store, incident_id: int, change: workflow.IncidentChange, by: str
) -> dict[str, Any]:
    """Apply a change to an incident; the incident (`incident_detail`) with `change`."""
    made = workflow.update_incident(store, incident_id, change, by)
    with store.session() as s:
        doc = history.incident_detail(s, incident_id)
    doc["change"] = made.to_json() if made else None
    return doc


def change_hit(store: Store, hit_id: int, noise: bool, reason: str, by: str) -> dict[str, Any]:
    """Mark a hit as noise (or restore it); the hit (`hit_document`) with `change`."""
    if noise:
        made = workflow.mark_noise(store, hit_id, reason, by)
    else:
        made = workflow.restore_hit(store, hit_id, reason, by)
    doc = hit_document(store, hit_id)
    doc["change"] = made.to_json()
    return doc


def routes(store: Store) -> list[Route]:
    """The /api routes, bound to `store`."""

    def api_hits(request: Request) -> Response:
        require(request, store)
        return Json(queries.list_hits(store, hit_filter(request)))

    def api_hit(request: Request) -> Response:
        require(request, store)
        return Json(hit_document(store, request.path_params["hit_id"]))

    def api_hit_raw(request: Request) -> Response:
        require(request, store, "investigator")
        data, name = raw_evidence(store, request.path_params["hit_id"])
        return download(data, name)

    def api_copies(request: Request) -> Response:
        require(request, store)
        return Json(queries.list_copies(store))

    def api_copy(request: Request) -> Response:
        require(request, store)
        return Json(queries.copy_detail(store, request.path_params["copy_id"][:64]))

    def api_bundle(request: Request) -> Response:
        require(request, store, "investigator")
        lang = request.query_params.get("lang", "es")
        data, name = bundle_bytes(
            store, request.path_params["copy_id"][:64], lang[:5], request.app.state.config
        )
        return download(data, name, "application/zip")

    def api_trace(request: Request) -> Response:
        require(request, store, "investigator")
        q = _param(request, "q")
        if not q:
            raise InputError("q: give an email, a phone number, an id or a full name to trace")
        return Json(trace(store, q))

    async def api_identify(request: Request) -> Response:
        await run_in_threadpool(require, request, store, "investigator")
        path, _name = await save_upload(request)
        return Json(await run_in_threadpool(identify_upload_sync, store, path))

    def api_incident(request: Request) -> Response:
        require(request, store)
        with store.session() as s:
            return Json(history.incident_detail(s, request.path_params["incident_id"]))

    def api_incidents_filtered(request: Request) -> Response:
        require(request, store)
        status = _param(request, "status")
        with store.session() as s:
            return Json({"incidents": history.list_incidents(s, status=status)})

    async def api_incident_update(request: Request) -> Response:
        who = await run_in_threadpool(require, request, store, "investigator")
        doc = await posted(request)
        change = workflow.IncidentChange(
            status=text_field(doc, "status"),
            assignee=text_field(doc, "assignee", empty_is_none=False),
            note=text_field(doc, "note"),
            resolution=text_field(doc, "resolution"),
        )
        iid = request.path_params["incident_id"]
        by = acting_name(who, doc)
        return Json(await run_in_threadpool(change_incident, store, iid, change, by))

    async def api_hit_noise(request: Request) -> Response:
        who = await run_in_threadpool(require, request, store, "investigator")
        doc = await posted(request)
        noise = bool_field(doc, "noise", True)
        reason = text_field(doc, "reason")
        if reason is None:
            raise InputError("reason: say why the hit is noise (or why it is not)")
        hid = request.path_params["hit_id"]
        by = acting_name(who, doc)
        return Json(await run_in_threadpool(change_hit, store, hid, noise, reason, by))

    def api_search(request: Request) -> Response:
        require(request, store, "investigator")
        q = _param(request, "q")
        if not q:
            raise InputError("q: give something to search for")
        return Json(search.search(store, q, search_filter(request)).to_json())

    def api_alerts(request: Request) -> Response:
        require(request, store)
        return Json({"alerts": recent_alerts(store)})

    return [
        Route("/api/hits", api_hits),
        Route("/api/hits/{hit_id:int}", api_hit),
        Route("/api/hits/{hit_id:int}/raw", api_hit_raw),
        Route("/api/copies", api_copies),
        Route("/api/copies/{copy_id}", api_copy),
        Route("/api/copies/{copy_id}/bundle", api_bundle),
        Route("/api/trace", api_trace),
        Route("/api/identify", api_identify, methods=["POST"]),
        Route("/api/incidents", api_incidents_filtered),
        Route("/api/incidents/{incident_id:int}", api_incident, methods=["GET"]),
        Route("/api/incidents/{incident_id:int}", api_incident_update, methods=["POST"]),
        Route("/api/hits/{hit_id:int}/noise", api_hit_noise, methods=["POST"]),
        Route("/api/search", api_search),
        Route("/api/alerts", api_alerts),
    ]
