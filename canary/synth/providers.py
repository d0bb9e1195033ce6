"""Public mail providers (seeds/public_mail_providers.txt): no canary domain may be one.

The list lives in one place, the seeds file; this module reads it and answers whether
a domain belongs to a provider where anyone can open an account.
"""

from __future__ import annotations

from functools import cache

from canary.synth.profiles import seeds_dir

SEEDS_FILE = "public_mail_providers.txt"
#: Second-level labels under a country code that a provider's country domain uses
#: (hotmail.com.mx, yahoo.co.uk, terra.com.br): NAME.SLD.CC matches NAME.*.
_SLDS = frozenset({"com", "co", "net", "org", "ne", "or", "gob", "gov", "edu", "ac"})


@cache
def public_provider_patterns() -> tuple[str, ...]:
    """The patterns of the seeds file: `domain` or `name.*` (any suffix)."""
    text = (seeds_dir() / SEEDS_FILE).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return tuple(line for line in lines if line)


def public_provider(domain: str) -> str | None:
    """The pattern `domain` (normalised, lower case) matches, or None.

    `hotmail.*` matches hotmail.com, hotmail.es and hotmail.com.mx; a subdomain of a
    provider (mx.gmail.com) matches too: nobody outside the provider controls it.
    """
    labels = domain.lower().rstrip(".").split(".")
    for pattern in public_provider_patterns():
        if pattern.endswith(".*"):
            name = pattern[:-2]
            n = len(name.split("."))
            # NAME followed by a top-level label (com, es) or SLD.CC (com.mx, co.uk);
            # live.example.org is someone's own subdomain, not live.*.
            for start in range(len(labels)):
                head = ".".join(labels[start : start + n])
                rest = labels[start + n :]
                if head == name and (len(rest) == 1 or (len(rest) == 2 and rest[0] in _SLDS)):
                    return pattern
        else:
            p = pattern.split(".")
            if labels[-len(p) :] == p:
                return pattern
    return None
