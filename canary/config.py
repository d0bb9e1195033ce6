"""Configuration: canary.toml with defaults, secrets from the environment.

Every command works without a file. Unknown keys are an error naming the key, so a
typo never silently disables a signature check or an alert channel.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from canary.errors import ConfigError

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
    signature_method: str = "md5hash"


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
class MailboxConfig:
    #: How often the scheduler reads every mailbox (`canary mailbox add`).
    poll_seconds: float = 300.0
    #: A mailbox that cannot be read for this long raises a system alert.
    alert_after_minutes: float = 60.0


@dataclass
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    plant: PlantConfig = field(default_factory=PlantConfig)
    mailbox: MailboxConfig = field(default_factory=MailboxConfig)
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


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls) if f.name != "path"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"unknown key '{where}{key}' in config")
        f = known[key]
        default = f.default_factory() if callable(f.default_factory) else f.default
        if hasattr(default, "__dataclass_fields__"):
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}{key}' must be a table")
            kwargs[key] = _build(type(default), value, f"{where}{key}.")
        else:
            kwargs[key] = _coerce(value, default, f"{where}{key}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"'{name}' must be true or false")
        return value
    if isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    if isinstance(default, int) and not isinstance(value, int):
        raise ConfigError(f"'{name}' must be a whole number")
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"'{name}' must be a string")
    if isinstance(default, list) and not isinstance(value, list):
        raise ConfigError(f"'{name}' must be a list")
    return value


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
        cfg = Config()
        cfg.path = p
        return cfg
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {p}: {exc}") from exc
    cfg = _build(Config, data, "")
    cfg.path = p
    for i, ch in enumerate(cfg.alerts.channels):
        if not isinstance(ch, dict) or "type" not in ch:
            raise ConfigError(f"alerts.channels[{i}] needs a 'type'")
    return cfg


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

[smtp]
hostname = "mx.canary.invalid"
max_message_bytes = 10485760
# tls_cert = "/etc/canary/cert.pem"
# tls_key = "/etc/canary/key.pem"
# mx_hosts = ["mx1.example.org"]    # where the canary domains' MX must point

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

[mailbox]
poll_seconds = 300                 # how often each mailbox is read over IMAP
alert_after_minutes = 60           # a mailbox unreadable this long raises an alert
"""


def write_default_config(path: Path) -> bool:
    """Write the commented defaults unless a file is there; True when written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEFAULT_TOML, encoding="utf-8")
    return True
