"""`canary doctor`: is the installation able to catch a leak, and if not, what to change.

Checks, each giving findings with a level and the fix:

- dns: for each canary domain, its MX (missing or null MX `0 .` is an error), the
  A/AAAA of the MX hosts, whether they are `smtp.mx_hosts`, SPF (a receive-only
  domain wants `v=spf1 -all`) and DMARC at `_dmarc.<domain>`;
- listeners: the SMTP, webhook and admin listeners answer on their configured ports
  (SMTP: a 220 banner that does not name the software);
- providers: every provider with registered numbers has its secret;
- phones: the phone pool against the copies issued (warn when a phone hit can no
  longer name a single copy);
- alerts: the channels parse, and no alert has failed or is stuck in the outbox;
- config: settings that work on a laptop but catch nothing on the internet: listeners
  on loopback, SMTP not on port 25 with no forwarder, `public_url` on http or
  loopback, a placeholder `smtp.hostname`;
- files: the config, the store's files, TLS key and alert logs readable by others
  (with the exact `chmod`).

Before the DNS checks a control lookup (the root's NS) tells "DNS does not work from
here" apart from "the domain is not registered": a resolver that cannot reach the
internet, or answers NXDOMAIN for everything, would otherwise make every canary domain
look unregistered.

Levels: ok, info, warn, error. The report is ok (exit 0) when no finding is an error.
"""

from __future__ import annotations

import logging
import socket
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from canary.alerts.channels import parse_channels
from canary.alerts.format import plain
from canary.config import Config, parse_hostport
from canary.errors import CanaryError, ConfigError
from canary.files import chmod_fix, readable_by_others
from canary.formats._tables import reason
from canary.issue.live import read_states as read_live_states
from canary.ops.dns import Lookup, same_host
from canary.store.engine import Store, sqlite_path
from canary.store.models import Alert, Canary, Identifier, PhoneNumber
from canary.store.register import line_type, list_domains, list_phones

log = logging.getLogger(__name__)

CHECKS = (
    "dns", "listeners", "config", "providers", "phones", "alerts", "files", "mailboxes", "live",
)  # fmt: skip
#: The secrets each provider's webhook needs, by config key.
PROVIDER_SECRETS = {
    "twilio": ("auth_token",),
    "whatsapp": ("app_secret", "verify_token"),
    "vonage": ("signature_secret",),
    "telnyx": ("public_key",),
    "generic": ("secret",),
}
SOFTWARE_NAMES = ("python", "aiosmtpd", "postfix", "exim", "sendmail", "microsoft", "esmtp sam")


@dataclass
class Finding:
    level: str
    check: str
    message: str
    fix: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def add(self, level: str, check: str, message: str, fix: str = "") -> None:
        self.findings.append(Finding(level, check, message, fix))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def check_domain(report: Report, lookup: Lookup, domain: str, config: Config) -> None:
    """MX, MX host addresses, expected MX hosts, SPF and DMARC of one canary domain."""
    check = f"dns:{domain}"
    want = config.smtp.mx_hosts or [config.smtp.hostname]
    mxs, err = lookup.mx(domain)
    add_mx = f'add "{domain}. MX 10 {want[0]}."'
    if err == "nxdomain":
        report.add("error", check, f"{domain} does not exist in DNS", f"register it, then {add_mx}")
        return
    if err in ("timeout", "servfail") or err.startswith("error"):
        report.add(
            "error",
            check,
            f"cannot resolve MX of {domain} ({err})",
            "check the resolver and the domain's name servers",
        )
        return
    if not mxs:
        report.add(
            "error", check, f"{domain} has no MX record: senders fall back to its A/AAAA", add_mx
        )
    elif any(m.null for m in mxs):
        report.add(
            "error",
            check,
            f"{domain} has a null MX (0 .): it refuses all mail",
            f"remove the null MX and {add_mx}",
        )
    else:
        names = ", ".join(f"{m.preference} {m.host}" for m in mxs)
        report.add("ok", check, f"MX {names}")
        for m in mxs:
            addrs = lookup.addresses(m.host)
            if addrs:
                report.add("ok", check, f"MX host {m.host} resolves to {', '.join(addrs)}")
            else:
                report.add(
                    "error",
                    check,
                    f"MX host {m.host} has no A or AAAA record",
                    f"add an A/AAAA record for {m.host} (the SMTP listener)",
                )
        if config.smtp.mx_hosts:
            stray = [m.host for m in mxs if not any(same_host(m.host, e) for e in want)]
            if stray:
                report.add(
                    "error",
                    check,
                    f"MX of {domain} points at {', '.join(stray)}, not at smtp.mx_hosts",
                    f"point the MX at {', '.join(want)} or update smtp.mx_hosts",
                )
            else:
                report.add("ok", check, "MX hosts match smtp.mx_hosts")
        else:
            report.add(
                "info",
                check,
                "smtp.mx_hosts is not set: MX drift cannot be checked",
                f'set smtp.mx_hosts = ["{mxs[0].host}"] in canary.toml',
            )
    _check_spf(report, lookup, domain, check)
    _check_dmarc(report, lookup, domain, check)


def _check_spf(report: Report, lookup: Lookup, domain: str, check: str) -> None:
    spf = [t for t in lookup.txt(domain).records if t.lower().startswith("v=spf1")]
    fix = f'add "{domain}. TXT \\"v=spf1 -all\\"" (a receive-only domain sends no mail)'
    if not spf:
        report.add("warn", check, f"{domain} has no SPF record: others can send as it", fix)
    elif len(spf) > 1:
        report.add(
            "error",
            check,
            f"{domain} has {len(spf)} SPF records (a permanent error)",
            f"keep one: {fix}",
        )
    elif " ".join(spf[0].split()).lower() != "v=spf1 -all":
        report.add(
            "info",
            check,
            f"SPF is {plain(spf[0], 200)!r}",
            'a receive-only domain is best served by "v=spf1 -all"',
        )
    else:
        report.add("ok", check, "SPF v=spf1 -all")


def _check_dmarc(report: Report, lookup: Lookup, domain: str, check: str) -> None:
    recs = [t for t in lookup.txt(f"_dmarc.{domain}").records if t.startswith("v=DMARC1")]
    fix = f'add "_dmarc.{domain}. TXT \\"v=DMARC1; p=reject\\""'
    if not recs:
        report.add("warn", check, f"{domain} has no DMARC record", fix)
        return
    tags = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (part.partition("=") for part in recs[0].split(";"))
    )
    if tags.get("p", "none").lower() == "none":
        report.add("info", check, "DMARC policy is p=none", fix)
    else:
        report.add("ok", check, f"DMARC p={plain(tags.get('p'), 20)}")


def check_listeners(report: Report, config: Config, timeout: float = 3.0) -> None:
    """The configured listeners accept a TCP connection; SMTP greets with a neutral 220."""
    for name in ("smtp", "http", "admin"):
        value = getattr(config.listen, name)
        check = f"listener:{name}"
        fix = f"start 'canary serve', or set listen.{name} to where it listens"
        try:
            host, port = parse_hostport(value, f"listen.{name}")
        except ConfigError:
            report.add(
                "error",
                check,
                f"listen.{name} = {value!r} is not HOST:PORT",
                f'write it as listen.{name} = "127.0.0.1:PORT"',
            )
            continue
        if host in ("0.0.0.0", "::"):  # noqa: S104 - a bind-all address: test through loopback
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
        try:
            with socket.create_connection((host, port), timeout=timeout) as s:
                banner = b""
                if name == "smtp":
                    s.settimeout(timeout)
                    banner = s.recv(512)
        except OSError as exc:
            report.add("error", check, f"nothing answers on {host}:{port} ({exc})", fix)
            continue
        if name != "smtp":
            report.add("ok", check, f"{host}:{port} accepts connections")
            continue
        text = banner.decode("ascii", "replace").strip()
        if not text.startswith("220"):
            report.add(
                "error",
                check,
                f"{host}:{port} answered {plain(text, 80)!r}, not a 220 SMTP greeting",
                fix,
            )
        elif any(n in text.lower() for n in SOFTWARE_NAMES):
            report.add(
                "warn",
                check,
                f"SMTP banner names the software: {plain(text, 80)!r}",
                "use a neutral banner so a list cleaner cannot tell it apart",
            )
        else:
            report.add("ok", check, f"{host}:{port} greets: {plain(text, 80)}")


def check_providers(report: Report, store: Store, config: Config) -> None:
    """Every provider that has registered numbers can verify its webhooks."""
    with store.session() as s:
        rows = s.execute(
            select(PhoneNumber.provider, func.count()).group_by(PhoneNumber.provider)
        ).all()
    for provider, n in rows:
        section = getattr(config.providers, provider, None)
        keys = PROVIDER_SECRETS.get(provider, ())
        if section is None:
            report.add(
                "error",
                f"provider:{provider}",
                f"{n} numbers use unknown provider {provider!r}",
                "re-add them with a known --provider",
            )
            continue
        missing = [k for k in keys if not config.secret(section, k)]
        if missing:
            names = " and ".join(f"providers.{provider}.{k}" for k in missing)
            report.add(
                "error",
                f"provider:{provider}",
                f"{n} numbers use {provider} but {names} is empty: webhooks are refused",
                f"set {names} in canary.toml (or {missing[0]}_env naming a variable)",
            )
        else:
            report.add("ok", f"provider:{provider}", f"{n} numbers; secret configured")


def check_phone_pool(report: Report, store: Store) -> None:
    """Warn when copies share a phone set, so a phone hit cannot name one copy."""
    with store.session() as s:
        pool = int(
            s.scalar(
                select(func.count())
                .select_from(PhoneNumber)
                .where(PhoneNumber.retired_at.is_(None))
            )
            or 0
        )
        rows = s.execute(
            select(Canary.copy_id, Identifier.value)
            .join(Identifier, Identifier.canary_id == Canary.id)
            .where(Identifier.kind == "phone", Canary.kind == "planted")
            .where(Canary.copy_id.is_not(None))
        ).all()
    sets: dict[str, set[str]] = defaultdict(set)
    for copy_id, number in rows:
        sets[str(copy_id)].add(number)
    if not sets:
        return
    by_set: dict[frozenset[str], list[str]] = defaultdict(list)
    for copy_id, numbers in sets.items():
        by_set[frozenset(numbers)].append(copy_id)
    shared = [ids for ids in by_set.values() if len(ids) > 1]
    fix = "add numbers ('canary phone add') before issuing more copies"
    if shared:
        n = sum(len(ids) for ids in shared)
        report.add(
            "warn",
            "phones",
            f"{n} copies share their phone set with another copy: "
            "a phone hit on them cannot name a single copy",
            fix,
        )
    elif pool and len(sets) > 2**pool - 1:
        report.add(
            "warn",
            "phones",
            f"{len(sets)} copies but {pool} numbers allow only {2**pool - 1} distinct sets",
            fix,
        )
    else:
        report.add(
            "ok",
            "phones",
            f"{len(sets)} copies with phone canaries, each its own set ({pool} numbers)",
        )


def check_landlines(report: Report, store: Store) -> None:
    """A fixed line in the SMS/WhatsApp pool (registered before landlines were refused)."""
    for p in list_phones(store):
        if p.voice_only or line_type(p.number) != "fixed_line":
            continue
        report.add(
            "warn",
            "phones",
            f"{p.number} is a fixed line in the SMS pool: SMS and WhatsApp to it never arrive",
            f"retire it with 'canary phone remove {p.number}' and add a mobile number",
        )


LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
PLACEHOLDER_SUFFIXES = (".invalid", ".example", ".test", ".localhost", ".local")


def _is_loopback(host: str) -> bool:
    import ipaddress

    h = host.strip("[]").lower().rstrip(".")
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_config(report: Report, config: Config) -> None:
    """Settings that work on one machine but let the internet's contacts go unheard."""
    forwarded = config.listen.behind_forwarder
    for name, what in (("smtp", "mail from the internet"), ("http", "provider webhooks")):
        value = getattr(config.listen, name)
        try:
            host, port = parse_hostport(value, f"listen.{name}")
        except ConfigError:
            continue  # the listeners check names it
        # Webhooks on loopback with an https public_url: a TLS proxy forwards to them.
        proxied = name == "http" and config.listen.public_url.startswith("https://")
        if _is_loopback(host) and not forwarded and not proxied:
            report.add(
                "warn",
                f"config:listen.{name}",
                f"listen.{name} = {value!r} is on loopback: {what} cannot reach it",
                f'listen on a public address (listen.{name} = "0.0.0.0:{port}"), or put a '
                "forwarder or reverse proxy in front and set listen.behind_forwarder = true",
            )
        if name == "smtp" and port != 25 and not forwarded:
            report.add(
                "warn",
                "config:listen.smtp",
                f"the SMTP listener is on port {port}: senders deliver only to port 25",
                f"listen on port 25, or forward port 25 to {port} (a firewall redirect or a "
                "relay) and set listen.behind_forwarder = true",
            )
    url = config.listen.public_url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "https":
        report.add(
            "warn",
            "config:listen.public_url",
            f"listen.public_url = {url!r} is not https: providers send secrets-signed "
            "webhooks in the clear, and several refuse plain http",
            'serve the webhooks behind TLS and set listen.public_url = "https://HOST"',
        )
    if parts.hostname and (
        _is_loopback(parts.hostname) or parts.hostname.endswith(PLACEHOLDER_SUFFIXES)
    ):
        report.add(
            "warn",
            "config:listen.public_url",
            f"listen.public_url points at {parts.hostname}: providers cannot call it",
            "set listen.public_url to the public https address the providers call",
        )
    hostname = config.smtp.hostname.lower().rstrip(".")
    if (
        not hostname
        or hostname.endswith(PLACEHOLDER_SUFFIXES)
        or hostname in ("example.org", "example.com", "example.net")
        or hostname.endswith((".example.org", ".example.com", ".example.net"))
        or _is_loopback(hostname)
    ):
        report.add(
            "warn",
            "config:smtp.hostname",
            f"smtp.hostname = {config.smtp.hostname!r} is a placeholder: the listener "
            "greets and answers EHLO with it, and a list cleaner notices",
            "set smtp.hostname to the MX host name of the canary domains",
        )


def _store_files(config: Config) -> list[Path]:
    db = sqlite_path(config.store_url)
    if db is None:
        return []
    return [db, *(Path(f"{db}{ext}") for ext in ("-wal", "-shm", "-journal"))]


def _alert_logs(config: Config) -> list[Path]:
    out = []
    for ch in config.alerts.channels:
        if isinstance(ch, dict) and ch.get("type") == "jsonl" and ch.get("path"):
            p = Path(str(ch["path"])).expanduser()
            out.append(p if p.is_absolute() else config.base_dir / p)
    return out


def check_files(report: Report, config: Config) -> None:
    """Files that hold canaries or secrets must be for their owner alone."""
    candidates = [config.path, *_store_files(config), *_alert_logs(config)]
    if config.smtp.tls_key:
        key = Path(config.smtp.tls_key).expanduser()
        candidates.append(key if key.is_absolute() else config.base_dir / key)
    loose = 0
    for path in candidates:
        try:
            if not path.is_file() or not readable_by_others(path):
                continue
        except OSError:
            continue
        loose += 1
        report.add(
            "warn",
            "files",
            f"{path} can be read by other users of this machine",
            chmod_fix(path),
        )
    if not loose:
        report.add("ok", "files", "config, store and logs are readable by their owner only")


def check_alerts(report: Report, store: Store, config: Config, now: datetime) -> None:
    """Channels parse; no alert failed or waits for long."""
    try:
        channels = parse_channels(config)
    except ConfigError as exc:
        report.add("error", "alerts", str(exc), "fix [[alerts.channels]] in canary.toml")
        return
    if not channels:
        report.add(
            "warn",
            "alerts",
            "no alert channels: hits are recorded but nobody is told",
            "add an [[alerts.channels]] table, then run 'canary alerts test'",
        )
    with store.session() as s:
        failed = int(
            s.scalar(select(func.count()).select_from(Alert).where(Alert.state == "failed")) or 0
        )
        stuck = int(
            s.scalar(
                select(func.count())
                .select_from(Alert)
                .where(Alert.state == "pending", Alert.created_at < now - timedelta(hours=1))
            )
            or 0
        )
    if failed:
        report.add(
            "error",
            "alerts",
            f"{failed} alerts failed permanently",
            "fix the channel ('canary alerts --failed'), then 'canary alerts retry --all'",
        )
    if stuck:
        report.add(
            "warn",
            "alerts",
            f"{stuck} alerts have waited over an hour",
            "check that 'canary serve' runs and 'canary alerts test' passes",
        )
    if channels and not failed and not stuck:
        report.add("ok", "alerts", f"{len(channels)} channels; outbox healthy")


def run_doctor(
    store: Store,
    config: Config,
    *,
    lookup: Lookup | None = None,
    checks: tuple[str, ...] = CHECKS,
    timeout: float = 3.0,
    now: datetime | None = None,
) -> Report:
    """Run the selected checks and return every finding."""
    report = Report()
    if "dns" in checks:
        domains = list_domains(store)
        if not domains:
            report.add(
                "warn",
                "dns",
                "no canary domains registered",
                "run 'canary domain add DOMAIN' for a domain you control",
            )
        lk = lookup or Lookup(timeout=timeout)
        broken = lk.control() if domains else ""
        if broken:
            report.add(
                "error",
                "dns",
                f"DNS does not work from here (the control lookup of the root's NS failed: "
                f"{broken}), so the canary domains could not be checked",
                "run 'canary doctor' on a host whose resolver reaches the internet, or pass "
                "--nameserver HOST[:PORT] naming a resolver that does",
            )
        for d in [] if broken else domains:
            check_domain(report, lk, d, config)
    if "listeners" in checks:
        check_listeners(report, config, timeout)
    if "providers" in checks:
        check_providers(report, store, config)
    if "config" in checks:
        check_config(report, config)
    if "phones" in checks:
        check_phone_pool(report, store)
        check_landlines(report, store)
    if "alerts" in checks:
        check_alerts(report, store, config, now or datetime.now(UTC))
    if "files" in checks:
        check_files(report, config)
    if "mailboxes" in checks:
        check_mailboxes(report, store, timeout)
    if "live" in checks:
        check_live_copies(report, store, config)
    return report


def check_live_copies(report: Report, store: Store, config: Config) -> None:
    """Each live copy not unplanted: can the drift check read its canary rows back, and are
    they all there?"""
    from canary.ops.live import check_credentials, live_copies

    for lc, rows in live_copies(store):
        check = f"live {lc.copy_id}"
        url, env = check_credentials(config, lc)
        try:
            states = read_live_states(url, env, lc.table_name, rows)
        except (CanaryError, SQLAlchemyError) as exc:
            why = str(exc) if isinstance(exc, CanaryError) else reason(exc)
            report.add(
                "error",
                check,
                f"the drift check cannot read {lc.table_name} of {url}: {why}",
                "set [live] check_url and check_password_env to a read-only account that "
                f"reaches it{f', or export ${env}' if env else ''}",
            )
            continue
        gone = sum(1 for s in states if s.state != "present")
        if gone:
            report.add(
                "warn",
                check,
                f"{gone} of {len(states)} canary rows in {lc.table_name} were deleted or altered",
                "ask the holder; see the drift alerts",
            )
        else:
            report.add("ok", check, f"{len(states)} canary rows in {lc.table_name} as planted")


def check_mailboxes(report: Report, store: Store, timeout: float = 10.0) -> None:
    """Log in to each mailbox and list its folders (the spam folder by its \\Junk flag)."""
    from canary.ops.mailboxes import check_login
    from canary.store.mailboxes import list_mailboxes

    for info in list_mailboxes(store):
        ok, what = check_login(info, timeout)
        check = f"mailbox {info.address}"
        if ok:
            report.add("ok", check, what)
        else:
            report.add(
                "error",
                check,
                what,
                f"check the server ({info.imap}), the user ({info.user}) and the password "
                f"in ${info.password_env}",
            )
