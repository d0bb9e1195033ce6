"""Alert channels: parsing `[[alerts.channels]]` and sending one alert through one channel.

Each channel's `send` blocks (sockets, SMTP, HTTP) and is called from a worker
thread by the outbox. It returns a short acknowledgement on success (2xx, SMTP
accepted, syslog written) and raises `ChannelError` otherwise; only then is an
alert marked sent.

Keys of a `[[alerts.channels]]` table (an unknown key is an error naming it; every
secret may instead be given as `<key>_env = "VARIABLE"`):

- all: `type`, `name` (default "<type>#<index>", shown in `canary alerts`), `timeout` (s).
- email: `smtp_host`, `smtp_port` (587, or 465 with `ssl = true`), `starttls` (true),
  `ssl`, `username`, `password`, `from`, `to` (address or list), `html` (true: adds an
  escaped HTML part), `ca_file` (CA bundle for a relay with a private certificate).
- webhook: `url`, `secret` (signs like /hooks/generic: `X-Canary-Timestamp`,
  `X-Canary-Signature: sha256=HEX(HMAC-SHA256(secret, ts + "." + body))`), `ca_file`.
  Body: `{"alert_id", "kind", "created_at", "payload", "subject", "text", "link"}`.
- slack, teams: `url` (the incoming-webhook URL, a secret: prefer `url_env`). Teams
  gets an Adaptive Card (Workflows webhooks).
- syslog: `address` (`udp://host:514` or `tcp://host:601`, octet-counted), `facility`
  (name or number, default local0), `app_name`, `hostname`.
- jsonl: `path` (relative to canary.toml); one JSON document per line, fsynced.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from canary.alerts.format import Rendered, html_body, plain, slack_message, teams_message
from canary.config import Config
from canary.errors import ConfigError
from canary.files import open_private_fd, private_dir
from canary.signatures import generic_signature

log = logging.getLogger(__name__)

TYPES = ("email", "webhook", "slack", "teams", "syslog", "jsonl")
COMMON = {"type", "name", "timeout"}
KEYS: dict[str, set[str]] = {
    "email": {
        "smtp_host",
        "smtp_port",
        "starttls",
        "ssl",
        "username",
        "username_env",
        "password",
        "password_env",
        "from",
        "to",
        "html",
        "ca_file",
    },
    "webhook": {"url", "url_env", "secret", "secret_env", "ca_file"},
    "slack": {"url", "url_env"},
    "teams": {"url", "url_env"},
    "syslog": {"address", "facility", "app_name", "hostname"},
    "jsonl": {"path"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "email": ("smtp_host", "to"),
    "webhook": ("url",),
    "slack": ("url",),
    "teams": ("url",),
    "syslog": ("address",),
    "jsonl": ("path",),
}
MAX_RESPONSE_NOTE = 200


class ChannelError(Exception):
    """A channel did not acknowledge an alert; the message says why."""


@dataclass
class Channel:
    """One configured channel: its name (e.g. "webhook#0"), type and options."""

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout", 15.0))

    def opt(self, key: str, default: Any = "") -> Any:
        """An option; for secrets, `<key>_env` names an environment variable that wins."""
        env = self.options.get(f"{key}_env")
        if env:
            value = os.environ.get(str(env), "")
            if value:
                return value
        return self.options.get(key, default)

    def path(self, value: Any) -> Path:
        """A path option, relative to the config file's folder."""
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def send(self, r: Rendered, message: dict[str, Any]) -> str:
        """Deliver one alert; returns what acknowledged it, raises ChannelError."""
        sender = _SENDERS[self.type]
        try:
            return sender(self, r, message)
        except ChannelError:
            raise
        except (OSError, smtplib.SMTPException, httpx.HTTPError, ssl.SSLError) as exc:
            raise ChannelError(f"{type(exc).__name__}: {plain(exc, 300)}") from exc


def parse_channels(config: Config) -> list[Channel]:
    """The configured channels, checked: unknown keys and missing ones are a ConfigError."""
    out: list[Channel] = []
    seen: set[str] = set()
    for i, raw in enumerate(config.alerts.channels):
        where = f"alerts.channels[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        ctype = raw.get("type")
        if ctype not in TYPES:
            raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}, not {ctype!r}")
        for key in raw:
            if key not in COMMON and key not in KEYS[ctype]:
                raise ConfigError(
                    f"unknown key '{where}.{key}' for a {ctype} channel; "
                    f"known keys: {', '.join(sorted(COMMON | KEYS[ctype]))}"
                )
        for key in REQUIRED[ctype]:
            if not raw.get(key) and not raw.get(f"{key}_env"):
                raise ConfigError(f"{where}: a {ctype} channel needs '{key}'")
        name = str(raw.get("name") or f"{ctype}#{i}")
        if len(name) > 100:
            raise ConfigError(f"{where}: name is longer than 100 characters")
        url = raw.get("url")
        if url is not None and urlsplit(str(url)).scheme not in ("http", "https"):
            raise ConfigError(f"{where}: url must start with https:// (or http://), not {url!r}")
        if name in seen or name == "*":
            raise ConfigError(f"{where}: channel name '{name}' is used twice; set 'name'")
        seen.add(name)
        ch = Channel(name=name, type=ctype, options=dict(raw), base_dir=config.base_dir)
        if ctype == "syslog":
            _syslog_target(ch)  # validate now
        out.append(ch)
    return out


def _check_status(resp: httpx.Response) -> str:
    if 200 <= resp.status_code < 300:
        return f"HTTP {resp.status_code}"
    raise ChannelError(f"HTTP {resp.status_code}: {plain(resp.text, MAX_RESPONSE_NOTE)}")


def _post_json(ch: Channel, url: str, body: bytes, headers: dict[str, str]) -> str:
    headers = {"Content-Type": "application/json", "User-Agent": "canary-trace", **headers}
    ca = ch.options.get("ca_file")
    verify: Any = ssl.create_default_context(cafile=str(ch.path(ca))) if ca else True
    with httpx.Client(timeout=ch.timeout, follow_redirects=False, verify=verify) as client:
        return _check_status(client.post(url, content=body, headers=headers))


def _send_webhook(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    body = json.dumps(
        {**message, "subject": r.subject, "text": r.text(), "link": r.link},
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    ).encode("utf-8")
    headers: dict[str, str] = {}
    secret = str(ch.opt("secret"))
    if secret:
        ts = str(int(time.time()))
        headers = {
            "X-Canary-Timestamp": ts,
            "X-Canary-Signature": generic_signature(secret, ts, body),
        }
    return _post_json(ch, str(ch.opt("url")), body, headers)


def _send_slack(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    body = json.dumps(slack_message(r), ensure_ascii=False).encode("utf-8")
    return _post_json(ch, str(ch.opt("url")), body, {})


def _send_teams(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    body = json.dumps(teams_message(r), ensure_ascii=False).encode("utf-8")
    return _post_json(ch, str(ch.opt("url")), body, {})


def _send_email(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    to = ch.options.get("to")
    rcpts = [to] if isinstance(to, str) else [str(t) for t in (to or [])]
    sender = str(ch.options.get("from") or "canary-trace@localhost")
    msg = EmailMessage()
    msg["Subject"] = plain(r.subject, 200)
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    if message.get("alert_id") is not None:
        msg["X-Canary-Alert-Id"] = str(message["alert_id"])
    msg.set_content(r.text())
    if ch.options.get("html", True):
        msg.add_alternative(html_body(r), subtype="html")
    host = str(ch.options["smtp_host"])
    use_ssl = bool(ch.options.get("ssl", False))
    port = int(ch.options.get("smtp_port", 465 if use_ssl else 587))
    ca = ch.options.get("ca_file")
    ctx = ssl.create_default_context(cafile=str(ch.path(ca)) if ca else None)
    smtp: smtplib.SMTP
    if use_ssl:
        smtp = smtplib.SMTP_SSL(host, port, timeout=ch.timeout, context=ctx)
    else:
        smtp = smtplib.SMTP(host, port, timeout=ch.timeout)
    with smtp:
        smtp.ehlo()
        if ch.options.get("starttls", True) and not use_ssl:
            smtp.starttls(context=ctx)
            smtp.ehlo()
        user = str(ch.opt("username"))
        if user:
            smtp.login(user, str(ch.opt("password")))
        refused = smtp.send_message(msg, from_addr=sender, to_addrs=rcpts)
    if refused:
        log.warning("alert mail refused for %s", ", ".join(refused))
        return f"SMTP accepted ({len(rcpts) - len(refused)} of {len(rcpts)} recipients)"
    return "SMTP accepted"


FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}  # fmt: skip
SEVERITY = {"first": 1, "unattributed": 4, "digest": 4, "system": 3, "test": 6}
UDP_MAX = 2048


def _syslog_target(ch: Channel) -> tuple[str, str, int]:
    addr = str(ch.options.get("address", ""))
    parts = urlsplit(addr)
    if parts.scheme not in ("udp", "tcp") or not parts.hostname:
        raise ConfigError(
            f"channel {ch.name}: address must be udp://HOST:PORT or tcp://HOST:PORT, not {addr!r}"
        )
    port = parts.port or (514 if parts.scheme == "udp" else 601)
    fac = ch.options.get("facility", "local0")
    if (isinstance(fac, str) and fac not in FACILITIES) or (
        isinstance(fac, int) and not 0 <= fac <= 23
    ):
        raise ConfigError(f"channel {ch.name}: unknown syslog facility {fac!r}")
    return parts.scheme, parts.hostname, port


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _header_token(value: str, limit: int) -> str:
    token = "".join(ch for ch in value if 33 <= ord(ch) <= 126)[:limit]
    return token or "-"


def syslog_frame(ch: Channel, r: Rendered, message: dict[str, Any]) -> bytes:
    """One RFC 5424 message: header, structured data, UTF-8 (BOM) message text."""
    fac = ch.options.get("facility", "local0")
    facility = FACILITIES[fac] if isinstance(fac, str) else int(fac)
    pri = facility * 8 + SEVERITY.get(str(message.get("kind")), 5)
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = _header_token(str(ch.options.get("hostname") or socket.gethostname()), 255)
    app = _header_token(str(ch.options.get("app_name", "canary-trace")), 48)
    msgid = _header_token(str(message.get("kind", "alert")), 32)
    sd_params = {
        "alert": message.get("alert_id"),
        "incident": (message.get("payload") or {}).get("incident", {}).get("id"),
        "copy": ((message.get("payload") or {}).get("copy") or {}).get("id"),
        "class": (message.get("payload") or {}).get("classification"),
    }
    sd = "".join(
        f' {k}="{_sd_escape(plain(v, 64))}"' for k, v in sd_params.items() if v is not None
    )
    head = f"<{pri}>1 {ts} {host} {app} {os.getpid()} {msgid} [canary@32473{sd}] "
    return head.encode("utf-8") + b"\xef\xbb\xbf" + plain(r.one_line(), 4000).encode("utf-8")


def _send_syslog(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    scheme, host, port = _syslog_target(ch)
    frame = syslog_frame(ch, r, message)
    if scheme == "udp":
        frame = frame[:UDP_MAX].decode("utf-8", "ignore").encode("utf-8")  # whole characters
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(ch.timeout)
            s.sendto(frame, (host, port))
        return "syslog datagram sent"
    with socket.create_connection((host, port), timeout=ch.timeout) as s:
        s.sendall(str(len(frame)).encode() + b" " + frame)
    return "syslog message written"


def _send_jsonl(ch: Channel, r: Rendered, message: dict[str, Any]) -> str:
    path = ch.path(ch.options["path"])
    line = json.dumps(
        {**message, "subject": r.subject, "text": r.text(), "link": r.link},
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    data = (line + "\n").encode("utf-8")
    private_dir(path.parent)
    fd = open_private_fd(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return f"appended to {path}"


_SENDERS = {
    "email": _send_email,
    "webhook": _send_webhook,
    "slack": _send_slack,
    "teams": _send_teams,
    "syslog": _send_syslog,
    "jsonl": _send_jsonl,
}
