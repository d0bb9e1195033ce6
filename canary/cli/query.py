"""Investigator commands: `copies`, `copy ID`, `hits`, `trace`, `identify`, `search`.

Thin: parse, call one function of canary.investigate.queries / trace / identify (each
imported by the command that uses it), print. Values
shown on a terminal came from adversaries: control characters are dropped and Rich
markup escaped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, emit_json_rows, state
from canary.text import safe_text


def _safe(value: Any, limit: int = 120) -> str:
    return safe_text(value, limit)


HIT_COLUMNS = [
    *("id", "observed_at", "channel", "identifier", "sender", "class"),
    *("strength", "P", "copies", "summary"),
]


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A Rich table on a terminal, tab-separated lines otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=title)
        for c in columns:
            t.add_column(c)
        for r in rows:
            t.add_row(*(escape(_safe(v)) for v in r))
        Console().print(t)
        return
    echo("\t".join(columns))
    for r in rows:
        echo("\t".join(_safe(v) for v in r))


@app.command()
def copies(as_json: bool = JSON_OPTION) -> None:
    """List the issued copies with their canary and hit counts."""
    from canary.investigate.queries import list_copies

    doc = list_copies(state.store)
    if as_json:
        emit_json_rows(doc, "copies")
        return
    _table(
        "Issued copies",
        ["id", "recipient", "issued_at", "dataset", "canaries", "hits", "shared_hits", "path"],
        [
            [
                c["id"],
                c["recipient"],
                c["issued_at"][:19],
                c["dataset"],
                c["canaries"],
                c["hits"],
                c["shared_hits"],
                c["path"],
            ]
            for c in doc["copies"]
        ],
    )
    n = doc["noise"]
    echo(
        f"noise: {n['control']} hit(s) on control canaries, {n['burn-in']} in burn-in, "
        f"{n['noise']} marked as noise, {n['unattributed']} unattributed"
    )


@app.command("copy")
def copy_cmd(
    copy_id: str = typer.Argument(..., help="copy id, as `canary copies` shows it"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one copy and its canaries."""
    from canary.investigate.queries import copy_detail

    doc = copy_detail(state.store, copy_id)
    if as_json:
        emit_json(doc)
        return
    for key in ("id", "recipient", "purpose", "issued_by", "issued_at", "dataset", "path"):
        echo(f"{key}: {_safe(doc[key], 300)}")
    echo(f"sha256: {doc['sha256']}")
    attr = doc["attribution"]
    p = attr["false_accusation_probability"]
    echo(f"hits: {doc['hits']} exclusive, {doc['shared_hits']} shared with other copies")
    echo(
        f"attribution: {attr['strength']}"
        + (f", false-accusation probability {p:.3g}" if p is not None else "")
    )
    _table(
        "Canaries",
        ["id", "position", "identifiers"],
        [
            [
                c["id"],
                c["position"],
                ", ".join(f"{i['kind']}:{i['value']}" for i in c["identifiers"]),
            ]
            for c in doc["canaries"]
        ],
    )


@app.command()
def hits(
    copy: str | None = typer.Option(None, "--copy", help="only hits naming this copy"),
    channel: str | None = typer.Option(None, "--channel", help="smtp, sms, whatsapp, voice..."),
    since: str | None = typer.Option(None, "--since", help="ISO date or time (UTC if naive)"),
    until: str | None = typer.Option(None, "--until", help="ISO date or time (UTC if naive)"),
    recipient: str | None = typer.Option(None, "--recipient", help="copies issued to (part of)"),
    sender: str | None = typer.Option(None, "--sender", help="sender contains"),
    limit: int | None = typer.Option(None, "--limit", help="at most this many, newest first"),
    as_json: bool = JSON_OPTION,
    as_csv: bool = typer.Option(False, "--csv", help="print CSV (safe to open in Excel)"),
) -> None:
    """List hits, newest first, with their candidate copies best first."""
    from canary.investigate.queries import HitFilter, hits_csv, list_hits, parse_time

    flt = HitFilter(
        copy=copy,
        channel=channel,
        since=parse_time(since) if since else None,
        until=parse_time(until, end_of_day=True) if until else None,
        recipient=recipient,
        sender=sender,
        limit=limit,
    )
    doc = list_hits(state.store, flt)
    if as_json:
        emit_json(doc)
        return
    if as_csv:
        sys.stdout.write(hits_csv(doc["hits"]))
        return
    _table(
        "Hits",
        HIT_COLUMNS,
        [
            [
                h["id"],
                h["observed_at"][:19],
                h["channel"],
                h["identifier"],
                h["sender"],
                h["classification"],
                h["attribution"]["strength"],
                _p(h["attribution"]["false_accusation_probability"]),
                " ".join(h["copies"]),
                h["summary"],
            ]
            for h in doc["hits"]
        ],
    )


@app.command()
def trace(
    value: str = typer.Argument(
        ..., help="an email, a phone number, a CURP or other id, or a full name; any format"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Trace an identifier (email, phone, national id, id, full name) to its canaries,
    copies and hits."""
    from canary.investigate.trace import trace as trace_value

    doc = trace_value(state.store, value)
    if as_json:
        emit_json(doc)
        return
    echo(f"{doc['kind']} {doc['identifier']}")
    if not doc["canaries"]:
        echo("no canary holds it")
    for c in doc["copies"]:
        echo(f"  copy {c['id']} issued to {_safe(c['recipient'])} on {c['issued_at'][:10]}")
    controls = [c for c in doc["canaries"] if c["kind"] == "control"]
    if controls:
        echo(f"  {len(controls)} control canary(ies): contact is background noise")
    echo(f"{len(doc['hits'])} hit(s)")
    for h in doc["hits"]:
        echo(
            f"  #{h['id']} {h['observed_at'][:19]} {h['channel']} from {_safe(h['sender'], 60)}"
            f" -> {' '.join(h['copies']) or h['classification']}"
            f" ({h['attribution']['strength']}"
            f", P {_p(h['attribution']['false_accusation_probability'])})"
        )


@app.command()
def identify(
    path: Path = typer.Argument(
        ...,
        help="the found dump: a table, JSON, text, PDF, image, office file, web page, e-mail, zip",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find which issued copies, and which dataset, a leaked file comes from."""
    from canary.investigate.identify import identify_dump

    found = identify_dump(state.store, path)
    if as_json:
        emit_json(found.to_json())
        return
    echo(f"read as {found.format}")
    if not found.copies:
        echo("no canary of any issued copy found")
    for c in found.copies:
        shown = ", ".join(f"{i['kind']}:{_safe(i['value'], 60)}" for i in c.identifiers[:8])
        more = f" (+{len(c.identifiers) - 8})" if len(c.identifiers) > 8 else ""
        p = c.false_accusation_probability
        echo(
            f"{c.id}  {_safe(c.recipient)}  {len(c.identifiers)} matched, {c.strength.value}"
            f", P(wrong)={p:.2f}  {shown}{more}"
        )
    if found.explained:
        ids = " ".join(c.id for c in found.explained[:3])
        more = " ..." if len(found.explained) > 3 else ""
        n = len(found.explained)
        who = "copy holds" if n == 1 else "copies hold"
        echo(
            f"{n} other {who} only identifiers the copies above hold too "
            f"(explained, not evidence): {ids}{more}"
        )
    for d in found.datasets:
        dates = sorted({c["issued_at"][:10] for c in d.copies})
        echo(
            f"rows of dataset {d.id} ({_safe(d.name, 60)}): {d.rows_matched} sampled rows found; "
            f"issued to {len(d.copies)} recipient(s) on {', '.join(dates)}"
        )
    if found.controls:
        echo(f"{len(found.controls)} control canary match(es): noise, not evidence")
    if found.unmatched:
        echo("addresses at canary domains matching no canary:")
        for a in found.unmatched:
            echo(f"  {_safe(a)}")


@app.command("search")
def search_cmd(
    query: str = typer.Argument(
        ..., help="an identifier, a name, a sender, words of a subject or text"
    ),
    copy: str | None = typer.Option(None, "--copy", help="only this copy's canaries and hits"),
    channel: str | None = typer.Option(None, "--channel", help="only hits on this channel"),
    since: str | None = typer.Option(None, "--since", help="hits from (ISO date or time)"),
    until: str | None = typer.Option(None, "--until", help="hits up to (ISO date or time)"),
    strength: str | None = typer.Option(
        None,
        "--strength",
        help="only hits of this strength: exclusive, shared, coded, unattributed",
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=200, help="at most this many results"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Search canaries and hits: identifiers, canary names, senders, subjects, message text,
    best match first."""
    from canary.investigate.queries import parse_time
    from canary.investigate.search import SearchFilter, search

    flt = SearchFilter(
        copy=copy,
        channel=channel,
        since=parse_time(since) if since else None,
        until=parse_time(until, end_of_day=True) if until else None,
        strength=strength,
        limit=limit,
    )
    found = search(state.store, query, flt)
    if as_json:
        emit_json(found.to_json())
        return
    _table(
        f"Search: {found.query}",
        ["type", "id", "matched", "when", "copies", "incident", "snippet"],
        [
            [
                r.type,
                r.id,
                r.matched.value,
                (r.when or "")[:19],
                " ".join(r.copies),
                r.incident or "",
                r.snippet,
            ]
            for r in found.results
        ],
    )
    if found.truncated:
        echo(f"more than {len(found.results)} results: narrow the search or raise --limit")
