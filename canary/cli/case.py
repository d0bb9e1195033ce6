"""`canary incidents`, `incident`, `report`, `verify`, `user ...`, `token rotate`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from canary.cli.common import app, echo, emit_json, state
from canary.errors import InputError

user_app = typer.Typer(help="Dashboard users (roles: viewer, investigator, admin).")
token_app = typer.Typer(help="The admin API bearer token.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@app.command()
def incidents(as_json: bool = typer.Option(False, "--json")) -> None:
    """List incidents (hits grouped per copy), most recently active first."""
    from canary.investigate import history

    with state.store.session() as s:
        rows = history.list_incidents(s)
    if as_json:
        emit_json({"incidents": rows})
        return
    for r in rows:
        who = f"{r['copy']} ({r['recipient']})" if r["copy"] else r["key"]
        echo(
            f"#{r['id']}  {r['last_hit_at'][:19]}  {r['hits']:>5} hits "
            f"({r['shared_hits']} shared)  {r['status']:<8} {who}"
        )


@app.command()
def incident(incident_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """One incident with the timeline of its hits."""
    from canary.investigate import history

    with state.store.session() as s:
        doc = history.incident_detail(s, incident_id)
    if as_json:
        emit_json(doc)
        return
    echo(f"incident #{doc['id']}  {doc['key']}  {doc['status']}")
    if doc["copy"]:
        echo(f"copy {doc['copy']} issued to {doc['recipient']!r}")
    echo(
        f"opened {doc['opened_at']}, last hit {doc['last_hit_at']}, {doc['hits']} hits "
        f"({doc['exclusive_hits']} exclusive, {doc['shared_hits']} shared with other copies)"
    )
    for h in doc["timeline"]:
        mark = f"  SHARED with {' '.join(h['copies'])}" if h["shared"] else ""
        echo(
            f"  {h['observed_at'][:19]}  {h['channel']:<10} {h['identifier']}  from "
            f"{h['sender']!r}{mark}"
        )


@app.command("report")
def report_cmd(
    copy_id: str,
    out: Path = typer.Option(..., "--out", "-o", help="the bundle to write (.zip)"),
    lang: str = typer.Option("es", "--lang", help="es | en"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write a copy's evidence bundle: report (HTML, PDF), issuance, raw hits, chain, manifest."""
    from canary.evidence import report

    b = report.build_bundle(state.store, copy_id, out, lang=lang)
    if as_json:
        emit_json({"path": str(b.path), "hits": b.hits, "manifest_sha256": b.manifest_sha256})
        return
    echo(f"wrote {b.path} ({b.hits} hits)")
    echo(f"manifest SHA-256 (note it down): {b.manifest_sha256}")


@app.command()
def verify(
    bundle: Path | None = typer.Argument(None, help="an evidence bundle; none: the store's chain"),
    against_store: bool = typer.Option(
        False, "--against-store", help="also check a bundle's links against this store's chain"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check the store's hash chain, or an evidence bundle (offline); exit 1 when broken."""
    from canary.evidence import report
    from canary.store import chain

    if bundle is not None:
        if not bundle.is_file():
            raise InputError(f"{bundle}: no such file")
        check = report.verify_bundle(bundle, store=state.store if against_store else None)
        if as_json:
            emit_json({"bundle": str(bundle), "ok": check.ok, "problems": check.problems})
        elif check.ok:
            echo(f"ok: {bundle}: all {check.files} files match the manifest and the chain checks")
        else:
            for p in check.problems:
                typer.echo(f"changed: {p}", err=True)
        if not check.ok:
            raise typer.Exit(1)
        return
    with state.store.session() as s:
        broken = chain.verify_chain(s)
        n = chain.count_links(s)
    if as_json:
        emit_json(
            {
                "ok": broken is None,
                "links": n,
                "broken": None
                if broken is None
                else {
                    "seq": broken.seq,
                    "kind": broken.kind,
                    "ref_id": broken.ref_id,
                    "reason": broken.reason,
                },
            }
        )
    elif broken is None:
        echo(f"ok: {n} links check")
    else:
        typer.echo(f"broken: {broken.describe()}", err=True)
    if broken is not None:
        raise typer.Exit(1)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    pw: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return pw


@user_app.command("add")
def user_add(
    name: str,
    role: str = typer.Option("viewer", "--role", help="viewer | investigator | admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read it from stdin"),
) -> None:
    """Add a dashboard user (password prompted, or one line from stdin)."""
    from canary.store import users

    u = users.add_user(state.store, name, _read_password(password_stdin), role)
    echo(f"added {u.username} ({u.role})")


@user_app.command("passwd")
def user_passwd(
    name: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read it from stdin"),
) -> None:
    """Change a user's password."""
    from canary.store import users

    users.set_password(state.store, name, _read_password(password_stdin))
    echo(f"password changed for {name}")


@user_app.command("remove")
def user_remove(name: str) -> None:
    """Remove a user."""
    from canary.store import users

    users.remove_user(state.store, name)
    echo(f"removed {name}")


@user_app.command("list")
def user_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users and roles."""
    from canary.store import users

    rows = users.list_users(state.store)
    if as_json:
        emit_json(
            {
                "users": [
                    {"username": u.username, "role": u.role, "created_at": u.created_at}
                    for u in rows
                ]
            }
        )
        return
    for u in rows:
        echo(f"{u.username}  {u.role}")


@token_app.command("rotate")
def token_rotate() -> None:
    """Replace the admin API token (the old one stops working at once)."""
    from canary.store.admin_token import rotate_admin_token

    echo(f"new admin API token (shown once, keep it safe): {rotate_admin_token(state.store)}")
