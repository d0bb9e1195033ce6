"""Registering canary domains: refuse public mail providers, warn when the MX is not ours.

A canary address at gmail.com would be a stranger's mailbox, and every gmail address in
a dump would look like a canary-domain address matching no canary: `add_canary_domain`
refuses the providers of seeds/public_mail_providers.txt. A domain whose MX does not
point at our SMTP listener catches nothing: that is a warning (DNS may be set up
later, or not reachable from here), never a reason to hang or to refuse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from canary.config import Config
from canary.errors import InputError
from canary.identifiers import normalize_domain
from canary.ops.dns import Lookup, same_host
from canary.store import register
from canary.store.engine import Store
from canary.synth.providers import public_provider

log = logging.getLogger(__name__)

#: Seconds the MX check may take in all: without a network it must not hold the command.
MX_CHECK_SECONDS = 3.0


@dataclass
class DomainAdded:
    name: str
    new: bool
    warnings: list[str] = field(default_factory=list)


def refuse_public_provider(domain: str) -> str:
    """The normalised domain, or InputError when it belongs to a public mail provider."""
    name = normalize_domain(domain)
    pattern = public_provider(name)
    if pattern is not None:
        raise InputError(
            f"{name} is a public mail provider ({pattern}): anyone can open an account "
            "there, so a canary address on it would be a stranger's, and every address of "
            "theirs in a dump would look like a canary; register a domain your "
            "organisation controls (canaries at public providers come from mailboxes "
            "you own there)"
        )
    return name


def mx_warnings(lookup: Lookup, domain: str, config: Config) -> list[str]:
    """Why mail to `domain` would not reach our listener, as far as DNS tells from here."""
    want = config.smtp.mx_hosts or [config.smtp.hostname]
    mxs, err = lookup.mx(domain)
    where = ", ".join(want)
    if err and lookup.control():
        return [
            f"DNS does not work from here, so the MX of {domain} was not checked; "
            "run 'canary doctor' where DNS works"
        ]
    if err == "nxdomain":
        return [f"{domain} does not exist in DNS yet: register it and point its MX at {where}"]
    if err == "noanswer":
        return [f"{domain} has no MX record: point it at {where} ('canary doctor' checks it)"]
    if err:
        return [f"could not check the MX of {domain} ({err}); run 'canary doctor' later"]
    if any(m.null for m in mxs):
        return [f"{domain} has a null MX (0 .): it refuses all mail; point it at {where}"]
    stray = [m.host for m in mxs if not any(same_host(m.host, w) for w in want)]
    if stray:
        return [
            f"the MX of {domain} points at {', '.join(stray)}, not at our listener ({where}): "
            "mail to its canaries will not reach us (set smtp.mx_hosts if these are ours)"
        ]
    return []


def add_canary_domain(
    store: Store, config: Config, domain: str, lookup: Lookup | None = None
) -> DomainAdded:
    """Refuse a public provider, register the domain, then check where its MX points."""
    name = refuse_public_provider(domain)
    name, new = register.add_domain(store, name)
    try:
        lk = lookup or Lookup(timeout=MX_CHECK_SECONDS)
        warnings = mx_warnings(lk, name, config)
    except Exception as exc:  # no resolver configured, no network: a warning, not a failure
        log.info("MX check of %s failed: %s", name, exc)
        warnings = [f"could not check the MX of {name} ({exc}); run 'canary doctor' later"]
    return DomainAdded(name, new, warnings)
