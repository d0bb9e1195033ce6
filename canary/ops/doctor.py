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
- alerts: the channels parse, and no alert has failed or is stuck in the outbox.

Levels: ok, info, warn, error. The report is ok (exit 0) when no finding is an error.
"""

from __future__ import annotations

import logging
import socket
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from canary.alerts.channels import parse_channels
from canary.alerts.format import plain
from canary.config import Config
from canary.errors import ConfigError
from canary.ops.dns import Lookup, same_host
from canary.store.engine import Store
from canary.store.models import Alert, Canary, Identifier, PhoneNumber
from canary.store.register import list_domains

log = logging.getLogger(__name__)

CHECKS = ("dns", "listeners", "providers", "phones", "alerts", "mailboxes")
LEVELS = ("ok", "info", "warn", "error")
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


def _split_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def check_listeners(report: Report, config: Config, timeout: float = 3.0) -> None:
    """The configured listeners accept a TCP connection; SMTP greets with a neutral 220."""
    for name in ("smtp", "http", "admin"):
        value = getattr(config.listen, name)
        check = f"listener:{name}"
        fix = f"start 'canary serve', or set listen.{name} to where it listens"
        try:
            host, port = _split_hostport(value)
        except ValueError:
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
        pool = int(s.scalar(select(func.count()).select_from(PhoneNumber)) or 0)
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
        for d in domains:
            check_domain(report, lk, d, config)
    if "listeners" in checks:
        check_listeners(report, config, timeout)
    if "providers" in checks:
        check_providers(report, store, config)
    if "phones" in checks:
        check_phone_pool(report, store)
    if "alerts" in checks:
        check_alerts(report, store, config, now or datetime.now(UTC))
    if "mailboxes" in checks:
        check_mailboxes(report, store, timeout)
    return report


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
