"""Configuration: canary.toml with defaults, secrets from the environment.

Every command works without a file. The file is checked when it is loaded, against
the typed sections below (pydantic, strict): an unknown key is an error naming the
key, so a typo never silently disables a signature check or an alert channel, and a
value of the wrong type (`digest_minutes = "quince"`) is an error naming the key and
the type expected, not a traceback hours later in `canary serve`.

A section is a plain dataclass; a new setting is one annotated line with its default
in its section (and a commented line in DEFAULT_TOML and docs/configuration.md). A new
section is a dataclass plus one line in `Config`.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canary.errors import ConfigError
from canary.files import private_dir, write_private

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

DEFAULT_CONFIG_NAME = "canary.toml"


@dataclass
class StoreConfig:
    url: str = "sqlite:///canary.db"
    max_evidence_bytes: int = 10 * 1024 * 1024


@dataclass
class ListenConfig:
    smtp: str = "127.0.0.1:2525"
    http: str = "127.0.0.1:8025"
    admin: str = "127.0.0.1:8026"
    public_url: str = "http://127.0.0.1:8025"
    #: HTTP listeners (webhooks, admin): seconds a request's headers may take, the
    #: slowest body accepted (bytes/s, after a few seconds' grace), connections per
    #: client address. Slower clients are cut so signed webhooks keep being answered.
    http_header_timeout: float = 10.0
    http_min_body_rate: int = 4096
    http_max_connections_per_peer: int = 64
    #: Port 25 and the public webhooks reach these listeners through a forwarder
    #: (NAT, firewall redirect, relay, reverse proxy): doctor does not warn about
    #: loopback addresses or a port other than 25.
    behind_forwarder: bool = False


@dataclass
class SmtpConfig:
    hostname: str = "mx.canary.invalid"
    max_message_bytes: int = 10 * 1024 * 1024
    tls_cert: str = ""
    tls_key: str = ""
    command_timeout: float = 60.0
    max_commands: int = 200
    #: MX hosts the canary domains must point at (checked by doctor and the drift job).
    mx_hosts: list[str] = field(default_factory=list)
    #: Concurrent sessions in all and per client address; 421 beyond them.
    max_sessions: int = 500
    max_sessions_per_peer: int = 20
    #: Bytes of a message held in memory before the rest is spooled to disk.
    spool_memory_bytes: int = 256 * 1024
    #: Message bytes received and not yet recorded, all sessions together (421 past it).
    max_inflight_bytes: int = 512 * 1024 * 1024
    #: Evidence bytes kept per client address and in all per UTC day (0 = no quota);
    #: past them a message is still a hit, its evidence cut to the first 4 KB + full hash.
    evidence_quota_per_sender: int = 100 * 1024 * 1024
    evidence_quota_per_day: int = 2 * 1024 * 1024 * 1024


@dataclass
class TwilioConfig:
    auth_token: str = ""
    auth_token_env: str = ""


@dataclass
class WhatsAppConfig:
    app_secret: str = ""
    app_secret_env: str = ""
    verify_token: str = ""
    verify_token_env: str = ""


@dataclass
class VonageConfig:
    signature_secret: str = ""
    signature_secret_env: str = ""
    signature_method: Literal["md5hash", "md5", "sha1", "sha256", "sha512"] = "md5hash"


@dataclass
class TelnyxConfig:
    public_key: str = ""
    public_key_env: str = ""


@dataclass
class GenericConfig:
    secret: str = ""
    secret_env: str = ""


@dataclass
class ProvidersConfig:
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    vonage: VonageConfig = field(default_factory=VonageConfig)
    telnyx: TelnyxConfig = field(default_factory=TelnyxConfig)
    generic: GenericConfig = field(default_factory=GenericConfig)


@dataclass
class AlertsConfig:
    digest_minutes: float = 15.0
    #: Each channel is a table with `type` and the keys of that type (see alerts docs).
    channels: list[dict[str, Any]] = field(default_factory=list)
    #: Liveness: mail a sentinel through each domain's public MX every N minutes (0 = off).
    liveness_minutes: float = 0.0
    dns_check_minutes: float = 60.0


@dataclass
class PlantConfig:
    #: Share of generated canaries kept as controls: registered, never planted.
    control_share: float = 0.2
    #: Days a newly added phone number must wait before it counts as evidence.
    burn_in_days: float = 0.0
    issued_by: str = ""


@dataclass
class EvidenceConfig:
    #: The installation's Ed25519 signing key for evidence bundles (0600), relative to
    #: this file; $CANARY_SIGNING_KEY (base64) takes its place when set.
    key_file: str = "canary.key"


@dataclass
class MailboxConfig:
    #: How often the scheduler reads every mailbox (`canary mailbox add`).
    poll_seconds: float = 300.0
    #: A mailbox that cannot be read for this long raises a system alert.
    alert_after_minutes: float = 60.0


@dataclass
class LiveConfig:
    """Live copies (`canary plant`): how the drift check reads their canary rows back."""

    #: A read-only account's SQLAlchemy URL (no password) for the drift check; empty:
    #: each live copy's registered URL.
    check_url: str = ""
    #: The environment variable holding that account's password; empty: the variable
    #: registered with each live copy.
    check_password_env: str = ""
    #: How often the scheduler reads every live copy's canary rows back (0 = never).
    check_minutes: float = 60.0


@dataclass
class ConsoleConfig:
    #: The organisation's time zone (IANA name): the dashboard shows times in it until
    #: the viewer's browser converts them to its own zone, and reports use it.
    timezone: str = "UTC"


@dataclass
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    plant: PlantConfig = field(default_factory=PlantConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    mailbox: MailboxConfig = field(default_factory=MailboxConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    #: Where the file was read from (or would be), used to resolve relative paths.
    path: Path = field(default_factory=lambda: Path(DEFAULT_CONFIG_NAME).resolve())

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def secret(self, section: Any, name: str) -> str:
        """A provider secret: the `<name>_env` variable when it is named, else the value."""
        env_name = getattr(section, f"{name}_env", "")
        if env_name:
            value = os.environ.get(env_name, "")
            if value:
                return value
        return str(getattr(section, name, ""))

    @property
    def store_url(self) -> str:
        """The store URL: $CANARY_DB_URL, else the file's, SQLite paths relative to it."""
        url = os.environ.get("CANARY_DB_URL") or self.store.url
        return resolve_sqlite_url(url, self.base_dir)


def resolve_sqlite_url(url: str, base: Path) -> str:
    """Make a relative sqlite:/// path absolute against `base`."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:" and not rest.startswith(":"):
            return prefix + str((base / rest).resolve())
    return url


#: What a value of each kind should be, in the words a config error uses.
_EXPECTED = {
    "float_type": "a number (e.g. 15 or 0.5)",
    "float_parsing": "a number (e.g. 15 or 0.5)",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string (in quotes)",
    "bool_type": "true or false",
    "list_type": "a list ([...])",
    "dict_type": "a table",
    "dataclass_type": "a table",
    "literal_error": "one of",
}


def _mark_strict(cls: type) -> None:
    """Give `cls` and every section under it pydantic's strict, closed validation.

    Sections stay plain dataclasses (adding a setting is one annotated line); pydantic
    reads this attribute when it builds the validator for them.
    """
    from pydantic import ConfigDict

    cls.__pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[attr-defined]
    for hint in get_type_hints(cls).values():
        if is_dataclass(hint) and isinstance(hint, type):
            _mark_strict(hint)


@cache
def _validator() -> TypeAdapter[Config]:
    from pydantic import TypeAdapter  # imported on first use: most commands start faster

    _mark_strict(Config)
    return TypeAdapter(Config)


def _type_name(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "a whole number", float: "a number"}
    names |= {list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _explain(exc: ValidationError, path: Path) -> str:
    """The first problem of a validation error as one line naming the key."""
    first = exc.errors()[0]
    loc = first["loc"]
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    if first["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown key '{key}' in {path}"
    expected = _EXPECTED.get(first["type"], first["msg"].removeprefix("Input should be "))
    if first["type"] == "literal_error":
        expected = "one of " + first["msg"].removeprefix("Input should be ").replace(" or ", ", ")
    got = first.get("input")
    return f"'{key}' in {path} must be {expected}, not {_type_name(got)} ({repr(got)[:40]})"


@cache
def _fields(cls: type) -> dict[str, Any]:
    """A section's settings and their types (`path` is no setting)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls) if f.init and f.name != "path"}


def _plain(cls: Any, data: Any) -> Any:
    """`data` (parsed JSON) as the section `cls` when it plainly is one: only known keys,
    each value of exactly its setting's type (an int where a number goes). None for
    anything else, which pydantic then checks and explains.

    What most files hold, checked without importing pydantic and building its validator
    (about 0.1 s of every command's start); what it accepts pydantic accepts the same
    (tests/test_config.py compares the two)."""
    if type(data) is not dict:
        return None
    known = _fields(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        hint = known.get(key)
        if hint is None:
            return None
        if is_dataclass(hint):
            value = _plain(hint, value)
            if value is None:
                return None
        elif hint is str or hint is bool:
            if type(value) is not hint:
                return None
        elif hint is int:
            if type(value) is not int:
                return None
        elif hint is float:
            if type(value) is int:
                value = float(value)
            elif type(value) is not float or not math.isfinite(value):
                return None
        elif get_origin(hint) is Literal:
            if type(value) is not str or value not in get_args(hint):
                return None
        elif hint == list[str]:
            if type(value) is not list or any(type(v) is not str for v in value):
                return None
        elif hint == list[dict[str, Any]]:
            if type(value) is not list or any(type(v) is not dict for v in value):
                return None
        else:
            return None
        values[key] = value
    return cls(**values)


def validate_config(data: dict[str, Any], path: Path) -> Config:
    """Check the parsed TOML against the typed sections: unknown keys and wrong types are
    a ConfigError naming the key (and the type expected)."""
    if "path" in data:
        raise ConfigError(f"unknown key 'path' in {path}")
    raw = json.dumps(data, default=str)  # TOML dates become strings; JSON mode takes tables
    plain = _plain(Config, json.loads(raw))
    if isinstance(plain, Config):
        plain.path = path
        return plain
    from pydantic import ValidationError

    try:
        cfg = _validator().validate_json(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None
    cfg.path = path
    return cfg


def config_path(explicit: str | Path | None = None) -> Path:
    """--config, else $CANARY_CONFIG, else ./canary.toml."""
    chosen = explicit or os.environ.get("CANARY_CONFIG") or DEFAULT_CONFIG_NAME
    return Path(chosen).expanduser().resolve()


def load_config(path: str | Path | None = None) -> Config:
    """Read the config; a missing file gives the defaults (an explicit --config must exist)."""
    p = config_path(path)
    if not p.exists():
        if path is not None:
            raise ConfigError(f"config file {p} does not exist (run 'canary init' to write one)")
        default = Config()
        default.path = p
        return default
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {p}: {exc}") from exc
    cfg = validate_config(data, p)
    for i, ch in enumerate(cfg.alerts.channels):
        if not isinstance(ch, dict) or "type" not in ch:
            raise ConfigError(f"alerts.channels[{i}] needs a 'type'")
    zone(cfg.console.timezone, p)
    return cfg


def zone(name: str, path: Path | None = None) -> tzinfo:
    """The time zone `[console] timezone` names; a ConfigError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(
            f"'console.timezone'{where} must be an IANA time zone name such as "
            f"America/Mexico_City or UTC, not {name[:60]!r}"
        ) from exc


DEFAULT_TOML = """\
# canary-trace configuration. Every key has a default; remove what you do not need.
# Secrets can come from the environment: write `auth_token_env = "VAR"` instead.

[store]
url = "sqlite:///canary.db"        # $CANARY_DB_URL overrides; relative to this file
# max_evidence_bytes = 10485760

[listen]
smtp = "127.0.0.1:2525"
http = "127.0.0.1:8025"            # public webhooks
admin = "127.0.0.1:8026"           # dashboard and API, behind login
public_url = "http://127.0.0.1:8025"   # what providers call; used for signatures
# http_header_timeout = 10.0       # seconds a request's headers may take
# http_min_body_rate = 4096        # slowest request body accepted, bytes/s
# http_max_connections_per_peer = 64   # per client address, webhooks and admin each
# behind_forwarder = false          # true when port 25 / the webhooks are forwarded here

[smtp]
hostname = "mx.canary.invalid"
max_message_bytes = 10485760
# tls_cert = "/etc/canary/cert.pem"
# tls_key = "/etc/canary/key.pem"
# mx_hosts = ["mx1.example.org"]    # where the canary domains' MX must point
# max_sessions = 500                # concurrent sessions; 421 beyond
# max_sessions_per_peer = 20        # concurrent sessions per client address
# spool_memory_bytes = 262144       # message bytes kept in memory; the rest on disk
# max_inflight_bytes = 536870912    # unrecorded message bytes, all sessions; 421 beyond
# evidence_quota_per_sender = 104857600    # evidence bytes per client address per day
# evidence_quota_per_day = 2147483648      # evidence bytes per day in all

[providers.twilio]
auth_token = ""
# auth_token_env = "TWILIO_AUTH_TOKEN"
[providers.whatsapp]
app_secret = ""
verify_token = ""
[providers.vonage]
signature_secret = ""
signature_method = "md5hash"       # or md5, sha1, sha256, sha512 (HMAC)
[providers.telnyx]
public_key = ""
[providers.generic]
secret = ""

[alerts]
digest_minutes = 15
# [[alerts.channels]]
# type = "webhook"                 # email | webhook | slack | teams | syslog | jsonl
# url = "https://siem.example.org/hooks/canary"
# secret = ""

[plant]
control_share = 0.2                # share of canaries registered but never planted
burn_in_days = 0                   # hits on a new number before this are noise

[evidence]
# key_file = "canary.key"          # Ed25519 key that signs bundles (0600), beside this file;
#                                  # or base64 in $CANARY_SIGNING_KEY

[mailbox]
# poll_seconds = 300                # how often each mailbox is read over IMAP
# alert_after_minutes = 60          # a mailbox unreadable this long raises an alert

[live]
# check_url = ""                    # read-only account for the drift check of live copies
#                                   # (no password in it); empty: each copy's registered URL
# check_password_env = ""           # variable holding that account's password
# check_minutes = 60                # how often live canary rows are read back (0: never)

[console]
# timezone = "UTC"                 # IANA name, e.g. "America/Mexico_City"
"""


def write_default_config(path: Path) -> bool:
    """Write the commented defaults unless a file is there; True when written."""
    if path.exists():
        return False
    private_dir(path.parent)
    try:
        write_private(path, DEFAULT_TOML, exclusive=True)
    except FileExistsError:
        return False
    return True


def parse_hostport(value: str, what: str) -> tuple[str, int]:
    """("host", port) from "host:port", "[v6]:port" or ":port" (all interfaces).

    The one reader of the `[listen]` addresses, for the listeners, doctor and the demo.
    """
    v = value.strip()
    host, sep, port = v.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{what} address '{value}' must be HOST:PORT, e.g. 127.0.0.1:8025")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 (an explicit ":port" asks for it)
    return host, int(port)
