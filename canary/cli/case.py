"""`canary incidents`, `incident`, `hit`, `report`, `verify`, `user ...`, `token rotate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, state
from canary.errors import InputError

if TYPE_CHECKING:
    from canary.evidence.signing import PublicKey

user_app = typer.Typer(help="Dashboard users (roles: viewer, investigator, admin).")
token_app = typer.Typer(help="The admin API bearer token.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def login_name() -> str:
    """Who runs the command, for `--by`'s default: the login name."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"


BY_OPTION = typer.Option(None, "--by", help="who makes the change (default: your login name)")


@app.command()
def incidents(
    status: str | None = typer.Option(
        None, "--status", help="only incidents in this status: open, investigating, closed"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List incidents (hits grouped per copy), most recently active first."""
    from canary.investigate import history

    with state.store.session() as s:
        rows = history.list_incidents(s, status=status)
    if as_json:
        emit_json({"incidents": rows})
        return
    for r in rows:
        who = f"{r['copy']} ({_safe(r['recipient'])})" if r["copy"] else _safe(r["key"])
        assignee = f"  -> {_safe(r['assignee'], 60)}" if r["assignee"] else ""
        noise = f", {r['noise_hits']} noise" if r["noise_hits"] else ""
        echo(
            f"#{r['id']}  {r['last_hit_at'][:19]}  {r['hits']:>5} hits "
            f"({r['shared_hits']} shared{noise})  {r['status']:<13} "
            f"{who}{assignee}"
        )


def _safe(value: object, limit: int = 120) -> str:
    from canary.text import safe_text

    return safe_text(value, limit)


def _show_change(change: dict[str, object] | None) -> None:
    if change is None:
        echo("no change: the incident already is as asked")
    else:
        echo(f"recorded as chain link #{change['chain_seq']} by {_safe(change['by'], 60)}")


@app.command()
def incident(
    incident_id: int,
    status: str | None = typer.Option(
        None, "--status", help="open | investigating | closed (closing needs --resolution)"
    ),
    assign: str | None = typer.Option(
        None, "--assign", help='who works the case (any name; "" unassigns)'
    ),
    note: str | None = typer.Option(None, "--note", help="add a note to the case"),
    resolution: str | None = typer.Option(
        None, "--resolution", help="how the case ended: required with --status closed"
    ),
    by: str | None = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One incident with the timeline of its hits, its notes and history; with options,
    change its status, assignee or resolution or add a note (each change a chain link)."""
    from canary.hits import workflow
    from canary.investigate import history

    change = workflow.IncidentChange(status, assign, note, resolution)
    made = None
    if not change.is_empty():
        made = workflow.update_incident(state.store, incident_id, change, by or login_name())
    with state.store.session() as s:
        doc = history.incident_detail(s, incident_id)
    if not change.is_empty():
        doc["change"] = made.to_json() if made else None
    if as_json:
        emit_json(doc)
        return
    if not change.is_empty():
        _show_change(doc["change"])
    echo(f"incident #{doc['id']}  {_safe(doc['key'])}  {doc['status']}")
    if doc["copy"]:
        echo(f"copy {doc['copy']} issued to {_safe(doc['recipient'])!r}")
    if doc["assignee"]:
        echo(f"assigned to {_safe(doc['assignee'], 100)}")
    if doc["resolution"]:
        echo(f"closed {doc['closed_at'][:19]}: {_safe(doc['resolution'], 500)}")
    echo(
        f"opened {doc['opened_at']}, last hit {doc['last_hit_at']}, {doc['hits']} hits "
        f"({doc['exclusive_hits']} exclusive, {doc['shared_hits']} shared with other copies)"
        + (f", {doc['noise_hits']} marked as noise" if doc["noise_hits"] else "")
    )
    for h in doc["timeline"]:
        mark = f"  SHARED with {' '.join(h['copies'])}" if h["shared"] else ""
        if h["noise"]:
            mark += f"  NOISE: {_safe(h['noise']['reason'], 80)}"
        echo(
            f"  #{h['id']} {h['observed_at'][:19]}  {h['channel']:<10} "
            f"{_safe(h['identifier'], 80)}  from {_safe(h['sender'], 80)!r}{mark}"
        )
    if doc["history"]:
        echo("history:")
    for e in doc["history"]:
        what = ", ".join(
            f"{k} {_safe(v[0], 40) or '-'} -> {_safe(v[1], 40) or '-'}"
            for k, v in e["changes"].items()
        )
        subject = f"hit #{e['hit']} " if e["kind"] == "noise" else ""
        text = f'  "{_safe(e["text"], 300)}"' if e["text"] else ""
        echo(f"  {e['at'][:19]}  {_safe(e['by'], 60)}: {subject}{what or 'note'}{text}")


@app.command("hit")
def hit_cmd(
    hit_id: int,
    noise: bool | None = typer.Option(
        None,
        "--noise/--not-noise",
        help="mark the hit as noise (it stops counting as evidence against any copy), "
        "or restore it; needs --reason",
    ),
    reason: str | None = typer.Option(None, "--reason", help="why it is (or is not) noise"),
    by: str | None = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One hit with its evidence details, candidates and case history; `--noise --reason`
    marks it as noise (a chain link)."""
    from canary.hits import workflow
    from canary.investigate import history

    if noise is None and reason is not None:
        raise typer.BadParameter("--reason goes with --noise or --not-noise", param_hint="--reason")
    made = None
    if noise is not None:
        if reason is None:
            raise typer.BadParameter("say why with --reason TEXT", param_hint="--reason")
        mark = workflow.mark_noise if noise else workflow.restore_hit
        made = mark(state.store, hit_id, reason, by or login_name())
    with state.store.session() as s:
        doc = history.hit_case(s, history.get_hit(s, hit_id))
    if made is not None:
        doc["change"] = made.to_json()
    if as_json:
        emit_json(doc)
        return
    if made is not None:
        _show_change(doc["change"])
    attr = doc["attribution"]
    echo(
        f"hit #{doc['id']}  {doc['observed_at'][:19]}  {doc['channel']}  "
        f"{_safe(doc['identifier'], 100)}  from {_safe(doc['sender'], 100)!r}"
    )
    echo(f"summary: {_safe(doc['summary'], 300)}")
    echo(f"classification: {doc['classification']}, strength {attr['strength']}")
    if doc["noise"]:
        n = doc["noise"]
        echo(f"noise: marked by {_safe(n['by'], 60)} on {n['at'][:19]}: {_safe(n['reason'], 300)}")
    for c in attr["candidates"]:
        echo(f"  candidate {c['copy']}: {_safe(c['reason'], 300)}")
    if doc["incident_id"]:
        echo(f"incident #{doc['incident_id']}")


@app.command("report")
def report_cmd(
    copy_id: str,
    out: Path = typer.Option(..., "--out", "-o", help="the bundle to write (.zip)"),
    lang: str = typer.Option("es", "--lang", help="es | en"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a copy's signed evidence bundle: report (HTML, PDF), issuance, raw hits, chain
    proof, manifest and its signature."""
    from canary.config import zone
    from canary.evidence import bundle, signing

    store = state.store  # a missing store is the first thing to say
    signer = signing.load_signer(state.config)
    tz = zone(state.config.console.timezone)
    b = bundle.write_bundle(store, copy_id, out, signer, lang=lang, tz=tz)
    if as_json:
        emit_json(
            {
                "path": str(b.path),
                "copy": b.copy,
                "hits": b.hits,
                "manifest_sha256": b.manifest_sha256,
                "fingerprint": b.fingerprint,
            }
        )
        return
    echo(f"wrote {b.path} ({b.hits} hits, chain links #{b.first_seq}-#{b.last_seq})")
    echo(f"signed by key {b.fingerprint}")


@app.command()
def key(as_json: bool = JSON_OPTION) -> None:
    """The installation's public key, which checks its bundles, and its fingerprint."""
    from canary.evidence import signing

    public = signing.load_signer(state.config).public
    if as_json:
        emit_json(public.as_dict())
        return
    echo(f"public key: {public.base64}")
    echo(f"fingerprint: {public.fingerprint}")


def _verify_key(given: str | None) -> PublicKey:
    from canary.evidence import signing

    if given is not None:
        try:
            return signing.public_key_arg(given)
        except InputError as exc:
            raise typer.BadParameter(str(exc).removeprefix("--key: "), param_hint="--key") from exc
    signer = signing.find_signer(state.config)
    if signer is None:
        raise InputError(
            f"no --key given and no signing key here ({signing.key_path(state.config)}, "
            f"${signing.SIGNING_KEY_ENV}): pass --key with the public key of the installation "
            "that made the bundle (as its `canary key` prints it)"
        )
    return signer.public


@app.command()
def verify(
    bundle: Path | None = typer.Argument(None, help="an evidence bundle; none: the store's chain"),
    key: str | None = typer.Option(
        None, "--key", help="the signer's public key as `canary key` prints it, or a file with it"
    ),
    copy: str | None = typer.Option(None, "--copy", help="the bundle must be this copy's"),
    against_store: bool = typer.Option(
        False, "--against-store", help="also check a bundle's links against this store's chain"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check an evidence bundle (offline: signature, members, chain proof), or with no
    bundle the store's whole hash chain; exit 1 naming the first problem."""
    from canary.evidence.verify import verify_bundle
    from canary.store import chain

    if bundle is not None:
        public = _verify_key(key)
        if not bundle.is_file():
            raise InputError(f"{bundle}: no such file")
        check = verify_bundle(
            bundle, public, copy=copy, store=state.store if against_store else None
        )
        if as_json:
            emit_json(
                {
                    "bundle": str(bundle),
                    "ok": check.ok,
                    "problems": check.problems,
                    "copy": check.copy,
                    "fingerprint": public.fingerprint,
                    "hits": check.hits,
                }
            )
        elif check.ok:
            echo(
                f"ok: {bundle}: copy {check.copy}, {check.hits} hits, signed by key "
                f"{public.fingerprint}, chain links #{check.first_seq}-#{check.last_seq} "
                "contiguous"
            )
        else:
            typer.echo(f"not verified: {check.problems[0]}", err=True)
        if not check.ok:
            raise typer.Exit(1)
        return
    if key is not None or copy is not None or against_store:
        raise typer.BadParameter("--key, --copy and --against-store need a BUNDLE")
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
def user_list(as_json: bool = JSON_OPTION) -> None:
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
def token_rotate(
    sessions: bool = typer.Option(
        False,
        "--sessions",
        help="instead, replace the key that signs dashboard sessions and log everyone out",
    ),
) -> None:
    """Replace the admin API token (the old one stops working at once)."""
    if sessions:
        from canary.store import users

        ended = users.rotate_sessions(state.store)
        echo(f"new session key; {ended} dashboard session(s) ended: everyone logs in again")
        return
    from canary.store.admin_token import rotate_admin_token

    echo(f"new admin API token (shown once, keep it safe): {rotate_admin_token(state.store)}")
