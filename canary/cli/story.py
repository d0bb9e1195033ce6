"""`canary demo`: the whole story, end to end, in a temporary folder.

Issue three tagged copies of a synthetic candidate registry, leak one into a chat
export, identify it; then run the listeners, mail a canary and send it a signed SMS,
and trace both hits back to the copy. Everything stays on this machine.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import smtplib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from canary.config import Config, load_config, parse_hostport
from canary.files import write_private
from canary.formats import open_table
from canary.investigate.identify import identify
from canary.investigate.queries import HitFilter, list_hits
from canary.investigate.trace import trace
from canary.issue.plant import IssuedCopy, IssueRequest, issue_copies
from canary.signatures import twilio_signature
from canary.store import register as registry
from canary.store.engine import Store, open_store
from canary.store.mailboxes import add_mailbox
from canary.store.models import Canary, Identifier
from canary.synth.profiles import demo_dataset

log = logging.getLogger(__name__)

DOMAINS = ("avisos-registro.mx", "correo-candidatas.mx")
#: The demo's canary numbers: in every area code of the demo registry (Coahuila's),
#: more where it has more rows, as `canary issue` asks an organisation to have them
#: (with numbers in Saltillo's 844 alone it warned that canaries never sit in Torreón).
AREA_CODES = {"844": 4, "871": 3, "866": 2, "877": 1, "878": 1, "872": 1, "861": 1}
AREA_CODES |= {"842": 1, "862": 1, "864": 1, "869": 1}
PHONES = tuple(f"+52 {code} 410 {2001 + i:04d}" for code, k in AREA_CODES.items() for i in range(k))
RECIPIENTS = ("Dirección Jurídica", "Mensajería Express SA de CV", "Auditoría Interna")
#: The demo's mailbox at a mainstream provider (`canary mailbox add`): the registry's
#: addresses are at Gmail, Hotmail and Outlook, and canaries only on the organisation's
#: domains would be the ones a "keep the big providers" filter drops. Registering reads
#: nothing; the demo never connects to it.
MAILBOX = ("registro.alertas.cdx@gmail.com", "imaps://imap.gmail.com", "CANARY_DEMO_GMAIL_PW")


@dataclass
class DemoResult:
    copies: list[IssuedCopy]
    leaked: IssuedCopy
    identified: str | None
    hits: list[dict[str, Any]] = field(default_factory=list)
    traced_copy: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_config(folder: Path, smtp_port: int, http_port: int, token: str) -> Path:
    path = folder / "canary.toml"
    write_private(
        path,
        "[store]\n"
        'url = "sqlite:///canary.db"\n'
        "[listen]\n"
        f'smtp = "127.0.0.1:{smtp_port}"\n'
        f'http = "127.0.0.1:{http_port}"\n'
        f'public_url = "http://127.0.0.1:{http_port}"\n'
        "[providers.twilio]\n"
        'auth_token_env = "CANARY_DEMO_TWILIO_TOKEN"\n'
        f'auth_token = "{token}"\n',
    )
    return path


def _leak_as_chat(store: Store, copy: IssuedCopy, out: Path, rng: random.Random) -> Path:
    """A WhatsApp-style chat export with some rows of the copy, its canaries among them."""
    sample = open_table(copy.path).sample()
    rows = [dict(zip(sample.header, r, strict=False)) for r in sample.rows]
    with store.session() as s:
        from sqlalchemy import select

        canaries = s.scalars(select(Canary).where(Canary.copy_id == copy.id)).all()
        canary_rows = [dict(c.values) for c in canaries]
    picked = rng.sample(rows, min(25, len(rows))) + canary_rows
    rng.shuffle(picked)
    lines = ["[14/03/26, 10:41:07] Coordinación: les paso la lista de candidatas 👇"]
    for r in picked:
        vals = list(r.values())
        name = " ".join(str(v) for v in vals[1:4])
        phone = next((str(v) for k, v in r.items() if "CELULAR" in k.upper()), "")
        lines.append(f"[14/03/26, 10:42:{rng.randint(10, 59)}] Coordinación: {name} {phone}")
    write_private(out, "\n".join(lines) + "\n")
    return out


class _Listeners:
    """`canary serve` (SMTP and webhooks) in a background thread with its own loop."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store, self.config = store, config
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="demo-listeners", daemon=True)

    def __enter__(self) -> _Listeners:
        self.thread.start()
        if not self.ready.wait(60) or self.error:
            raise RuntimeError(f"listeners did not start: {self.error}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(60)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the caller by __enter__
            self.error = exc
            self.ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        from listeners.serve import ServeOptions, serve

        self.stop_event = asyncio.Event()
        await serve(
            self.store,
            self.config,
            ServeOptions.build(only=["smtp", "http"]),
            stop=self.stop_event,
            started=lambda _running: self.ready.set(),
        )


def run_demo(folder: Path, say: Callable[[str], None]) -> DemoResult:
    """Run the story in `folder`, telling it through `say`; returns what happened."""
    rng = random.Random(20260314)
    smtp_port, http_port = _free_port(), _free_port()
    token = secrets.token_hex(16)
    config = load_config(_write_config(folder, smtp_port, http_port, token))
    store = open_store(config.store_url)
    try:
        return _story(folder, store, config, token, rng, say)
    finally:
        store.dispose()


def _story(
    folder: Path,
    store: Store,
    config: Config,
    token: str,
    rng: random.Random,
    say: Callable[[str], None],
) -> DemoResult:
    for d in DOMAINS:
        registry.add_domain(store, d)
    for p in PHONES:
        registry.add_phone(store, p, "twilio")
    address, imap, password_env = MAILBOX
    add_mailbox(store, address, imap, address, password_env)
    say(
        f"1. Registered canary domains {', '.join(DOMAINS)}, {len(PHONES)} phone numbers "
        f"and a Gmail mailbox ({address})."
    )

    source = folder / "registro_candidatas.csv"
    write_private(source, demo_dataset("candidatas.csv").read_bytes())
    copies = issue_copies(
        store,
        config,
        IssueRequest(
            str(source),
            list(RECIPIENTS),
            purpose="Verificación de requisitos de registro",
            out_dir=folder / "copias",
            issued_by="Unidad de Transparencia",
            seed=7,
        ),
    )
    say(f"2. Issued {len(copies)} tagged copies of {source.name}:")
    for c in copies:
        say(f"     {c.id}  to {c.recipient}: {c.canaries} canaries hidden among the rows")

    leaked = copies[1]
    chat = _leak_as_chat(store, leaked, folder / "chat_whatsapp.txt", rng)
    say(f"3. Someone pastes part of a copy into a WhatsApp group; the chat export: {chat.name}")
    found = identify(store, chat)
    best = found["copies"][0] if found["copies"] else None
    if best:
        say(
            f"4. canary identify {chat.name}: copy {best['id']} issued to {best['recipient']} "
            f"({best['matched']} canary identifiers found in the chat)."
        )
    else:
        say("4. canary identify found no canary in the chat.")

    with store.session() as s:
        from sqlalchemy import select

        idents = s.execute(
            select(Identifier.kind, Identifier.value)
            .join(Canary)
            .where(Canary.copy_id == leaked.id, Identifier.kind.in_(["email", "phone"]))
        ).all()
    # a canary on our own domain: the local listener is its MX (the mailbox's are read
    # over IMAP, which the demo does not reach)
    email = next(v for k, v in idents if k == "email" and v.rsplit("@", 1)[-1] in DOMAINS)
    phone = next((v for k, v in idents if k == "phone"), None)

    with _Listeners(store, config):
        say(
            "5. Listeners running: SMTP on "
            + config.listen.smtp
            + ", webhooks on "
            + config.listen.http
        )
        msg = EmailMessage()
        msg["From"] = "Campaña Ciudadana <boletin@campana-ejemplo.org>"
        msg["To"] = email
        msg["Subject"] = "¡Únete a nuestra campaña! / Join our campaign"
        msg.set_content("Hola, te escribimos porque apareces en nuestra lista de contactos.")
        with smtplib.SMTP(
            "127.0.0.1", parse_hostport(config.listen.smtp, "smtp")[1], timeout=30
        ) as smtp:
            smtp.send_message(msg)
        say(
            f"6. A campaign mails the canary {email}: "
            "the listener answers 250 once the hit is stored."
        )
        if phone:
            url = config.listen.public_url.rstrip("/") + "/hooks/twilio/sms"
            params = {
                "MessageSid": "SM" + secrets.token_hex(16),
                "AccountSid": "AC" + "0" * 32,
                "From": "+5215598765432",
                "To": phone,
                "Body": "Hola, te invitamos a votar por nuestro candidato",
            }
            r = httpx.post(
                url,
                data=params,
                headers={
                    "X-Twilio-Signature": twilio_signature(
                        token, url, {k: [v] for k, v in params.items()}
                    )
                },
                timeout=30,
            )
            say(
                f"7. An SMS to the canary number {phone} arrives through Twilio "
                f"(HTTP {r.status_code})."
            )

    hits = list_hits(store, HitFilter())["hits"]
    say(f"8. canary hits: {len(hits)} hit(s) recorded:")
    for h in hits:
        attr = h["attribution"]
        copies_txt = ", ".join(h["copies"]) or "unattributed"
        if attr["false_accusation_probability"] is not None:
            copies_txt += (
                f" ({attr['strength']}, false-accusation probability "
                f"{attr['false_accusation_probability']:.3g})"
            )
        say(
            f"     #{h['id']} {h['channel']} to {h['identifier']} "
            f"from {h['sender']} -> {copies_txt}"
        )
    t = trace(store, email)
    traced = t["copies"][0]["id"] if t["copies"] else None
    if traced:
        c = t["copies"][0]
        say(
            f"9. canary trace {email}: copy {traced}, "
            f"issued to {c['recipient']} on {c['issued_at'][:10]}."
        )
    verdict = (
        "the leaked copy was found" if traced == leaked.id == (best or {}).get("id") else "mismatch"
    )
    say(f"Done: {verdict}.")
    return DemoResult(copies, leaked, best["id"] if best else None, hits, traced)
