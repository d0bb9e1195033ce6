"""The admin API's OpenAPI 3.0 document, written by hand to match listeners/admin_api.py."""

from __future__ import annotations

from typing import Any

_str = {"type": "string"}
_nstr = {"type": "string", "nullable": True}
_int = {"type": "integer"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


_num = {"type": "number"}
_nnum = {"type": "number", "nullable": True}
STRENGTH = {"type": "string", "enum": ["exclusive", "shared", "coded", "unattributed", "pending"]}
CANDIDATE = _obj(
    {"copy": _str, "score": _num, "reason": _str, "false_accusation_probability": _num}
)
ATTRIBUTION = _obj(
    {
        "strength": STRENGTH,
        "candidates": {"type": "array", "items": CANDIDATE},
        "false_accusation_probability": _nnum,
    }
)
HIT = _obj(
    {
        "id": _int,
        "observed_at": _str,
        "channel": _str,
        "identifier": _str,
        "sender": _str,
        "summary": _str,
        "copies": {"type": "array", "items": _str},
        "classification": _str,
        "attribution": ATTRIBUTION,
    }
)
COPY = _obj(
    {
        "id": _str,
        "recipient": _str,
        "purpose": _str,
        "issued_at": _str,
        "dataset": _str,
        "path": _str,
        "canaries": _int,
        "hits": _int,
        "shared_hits": _int,
    }
)
INCIDENT = _obj(
    {
        "id": _int,
        "key": _str,
        "copy": _nstr,
        "recipient": _nstr,
        "status": _str,
        "opened_at": _str,
        "last_hit_at": _str,
        "hits": _int,
        "shared_hits": _int,
    }
)
INCIDENT_CASE = {
    **INCIDENT,
    "properties": {
        **INCIDENT["properties"],
        "noise_hits": _int,
        "assignee": _nstr,
        "resolution": _nstr,
        "closed_at": _nstr,
    },
}
CHANGE = {
    "type": "object",
    "nullable": True,
    "properties": {
        "event": _int,
        "chain_seq": _int,
        "at": _str,
        "by": _str,
        "changes": {"type": "object"},
        "text": _str,
    },
}
ERROR = _obj({"error": _str})


def _q(name: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": desc,
        "schema": schema or {"type": "string", "maxLength": 500},
    }


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _json(schema: dict[str, Any], desc: str = "OK") -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {
        400: "bad input",
        401: "no or wrong credentials",
        403: "role too low or bad CSRF",
        404: "not found",
        413: "upload too large",
    }
    return {str(c): _json(ERROR, names[c]) for c in codes}


def _get(
    summary: str,
    ok: dict[str, Any],
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (400, 401, 403, 404),
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params or [],
            "responses": {"200": ok, **_errors(*errors)},
        }
    }


HIT_ID = _path("hit_id", {"type": "integer", "minimum": 0})
COPY_ID = _path("copy_id", {"type": "string", "minLength": 1, "maxLength": 64})
BINARY = {"type": "string", "format": "binary"}


def _post(
    summary: str,
    ok: dict[str, Any],
    body: dict[str, Any],
    params: list[dict[str, Any]],
    errors: tuple[int, ...] = (400, 401, 403, 404),
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": body},
                    "application/x-www-form-urlencoded": {"schema": body},
                },
            },
            "responses": {"200": ok, **_errors(*errors)},
        }
    }


_text = {"type": "string", "maxLength": 2000}
INCIDENT_ID = _path("incident_id", {"type": "integer", "minimum": 0})
INCIDENT_UPDATE = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["open", "investigating", "closed"]},
        "assignee": {"type": "string", "maxLength": 200},
        "note": _text,
        "resolution": _text,
        "by": {"type": "string", "maxLength": 200},
        "csrf": _str,
    },
}
NOISE_UPDATE = {
    "type": "object",
    "properties": {
        "reason": _text,
        "noise": {"type": "boolean"},
        "by": {"type": "string", "maxLength": 200},
        "csrf": _str,
    },
    "required": ["reason"],
}
SEARCH_RESULT = _obj(
    {
        "type": {"type": "string", "enum": ["canary", "hit"]},
        "id": _int,
        "rank": _int,
        "matched": {
            "type": "string",
            "enum": ["identifier", "name", "sender", "subject", "text"],
        },
        "snippet": _str,
        "copies": {"type": "array", "items": _str},
        "incident": {"type": "integer", "nullable": True},
        "when": _nstr,
    }
)


def openapi() -> dict[str, Any]:
    """The OpenAPI document served at /api/openapi.json."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "canary-trace admin API",
            "version": "1",
            "description": "Hits, copies, trace, identify and incidents. Authenticate with "
            "`Authorization: Bearer <admin token>` (printed by `canary init`, replaced by "
            "`canary token rotate`) or a dashboard session cookie plus X-CSRF-Token on POST.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Hit": HIT, "Copy": COPY, "Incident": INCIDENT, "Error": ERROR},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/hits": _get(
                "Hits, newest first, filtered",
                _json(_obj({"hits": {"type": "array", "items": HIT}})),
                [
                    _q("copy", "copy id"),
                    _q("channel", "smtp, smtp-probe, sms, whatsapp, voice, webhook, dns, import"),
                    _q("since", "ISO date or time"),
                    _q("until", "ISO date or time"),
                    _q("recipient", "substring of the copy's recipient"),
                    _q("sender", "substring of the sender"),
                    _q("limit", "1 to 1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
                ],
            ),
            "/api/hits/{hit_id}": _get(
                "One hit with evidence details and candidate copies", _json(HIT), [HIT_ID]
            ),
            "/api/hits/{hit_id}/raw": _get(
                "The raw evidence exactly as received (download, investigator)",
                {"description": "OK", "content": {"application/octet-stream": {"schema": BINARY}}},
                [HIT_ID],
            ),
            "/api/copies": _get(
                "Issued copies",
                _json(_obj({"copies": {"type": "array", "items": COPY}}, ["copies"])),
            ),
            "/api/copies/{copy_id}": _get(
                "One copy with its canaries",
                _json(_obj({"id": _str, "recipient": _str, "canaries": {"type": "array"}})),
                [COPY_ID],
            ),
            "/api/copies/{copy_id}/bundle": _get(
                "The evidence bundle of a copy (zip, investigator)",
                {"description": "OK", "content": {"application/zip": {"schema": BINARY}}},
                [COPY_ID, _q("lang", "es or en", {"type": "string", "enum": ["es", "en"]})],
            ),
            "/api/trace": _get(
                "Canaries, copies and hits of an identifier (investigator)",
                _json(
                    _obj(
                        {
                            "identifier": _str,
                            "kind": _str,
                            "canaries": {"type": "array"},
                            "copies": {"type": "array"},
                            "hits": {"type": "array"},
                        }
                    )
                ),
                [
                    {
                        **_q(
                            "q", "email, phone number, national id, id or full name, any formatting"
                        ),
                        "required": True,
                    }
                ],
            ),
            "/api/identify": {
                "post": {
                    "summary": "Which copies and dataset a found dump came from (investigator)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": _obj({"file": BINARY}),
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            _obj(
                                {
                                    "copies": {"type": "array"},
                                    "explained": {"type": "array"},
                                    "datasets": {"type": "array"},
                                    "unmatched_canary_domain_addresses": {"type": "array"},
                                }
                            )
                        ),
                        **_errors(400, 401, 403, 413),
                    },
                }
            },
            "/api/incidents": _get(
                "Incidents, most recently active first",
                _json(_obj({"incidents": {"type": "array", "items": INCIDENT_CASE}})),
                [
                    _q(
                        "status",
                        "only incidents in this status",
                        {"type": "string", "enum": ["open", "investigating", "closed"]},
                    )
                ],
            ),
            "/api/incidents/{incident_id}": {
                **_get(
                    "One incident with its timeline, notes and history",
                    _json(INCIDENT_CASE),
                    [INCIDENT_ID],
                ),
                **_post(
                    "Change an incident's status, assignee or resolution, or add a note "
                    "(investigator; closing needs a resolution; `by` only with the API token)",
                    _json(
                        {
                            **INCIDENT_CASE,
                            "properties": {**INCIDENT_CASE["properties"], "change": CHANGE},
                        }
                    ),
                    INCIDENT_UPDATE,
                    [INCIDENT_ID],
                ),
            },
            "/api/hits/{hit_id}/noise": _post(
                "Mark a hit as noise with a reason, or restore it with `noise: false` "
                "(investigator)",
                _json({**HIT, "properties": {**HIT["properties"], "change": CHANGE}}),
                NOISE_UPDATE,
                [HIT_ID],
            ),
            "/api/search": _get(
                "Canaries and hits matching a text, ranked: identifier, name, sender, "
                "subject, text (investigator)",
                _json(
                    _obj(
                        {
                            "query": _str,
                            "results": {"type": "array", "items": SEARCH_RESULT},
                            "truncated": {"type": "boolean"},
                        }
                    )
                ),
                [
                    {**_q("q", "what to look for (2 to 200 characters)"), "required": True},
                    _q("copy", "copy id"),
                    _q("channel", "smtp, smtp-probe, imap, sms, whatsapp, voice, webhook..."),
                    _q("since", "ISO date or time"),
                    _q("until", "ISO date or time"),
                    _q(
                        "strength",
                        "exclusive, shared, coded, unattributed or pending",
                        {
                            "type": "string",
                            "enum": ["exclusive", "shared", "coded", "unattributed", "pending"],
                        },
                    ),
                    _q("limit", "1 to 200", {"type": "integer", "minimum": 1, "maximum": 200}),
                ],
            ),
            "/api/alerts": _get(
                "Recent alerts in the outbox", _json(_obj({"alerts": {"type": "array"}}))
            ),
        },
    }
