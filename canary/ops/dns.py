"""DNS lookups for `canary doctor`, the drift job and liveness, with an injectable resolver.

`Lookup` wraps a dnspython resolver: the system's by default, or a given nameserver
and port (tests point it at a DNS server they run on loopback). Lookups never
raise for "no such name/no answer": they return empty results and a note.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.name
import dns.resolver

log = logging.getLogger(__name__)


@dataclass
class MX:
    preference: int
    host: str  # without the trailing dot; "." for a null MX

    @property
    def null(self) -> bool:
        return self.host in ("", ".")


@dataclass
class Answer:
    """Records of one type for one name, or why there are none."""

    records: list[str] = field(default_factory=list)
    error: str = ""  # "", "nxdomain", "noanswer", "timeout", "servfail"


class Lookup:
    """DNS queries through one resolver (system, or `nameserver`/`port`)."""

    def __init__(self, nameserver: str | None = None, port: int = 53, timeout: float = 5.0) -> None:
        if nameserver:
            self.resolver = dns.resolver.Resolver(configure=False)
            self.resolver.nameservers = [nameserver]
            self.resolver.port = port
        else:
            self.resolver = dns.resolver.Resolver()
        self.resolver.lifetime = timeout
        self.resolver.timeout = timeout
        self.resolver.cache = None

    def _resolve(self, name: str, rdtype: str) -> tuple[Any, str]:
        """(the answer, "") or (None, what went wrong, as doctor reports it)."""
        try:
            return self.resolver.resolve(name, rdtype, raise_on_no_answer=True), ""
        except dns.resolver.NXDOMAIN:
            return None, "nxdomain"
        except dns.resolver.NoAnswer:
            return None, "noanswer"
        except dns.resolver.NoNameservers:
            return None, "servfail"
        except dns.exception.Timeout:
            return None, "timeout"
        except dns.exception.DNSException as exc:
            return None, f"error: {exc}"

    def query(self, name: str, rdtype: str) -> Answer:
        ans, err = self._resolve(name, rdtype)
        if ans is None:
            return Answer(error=err)
        return Answer(records=[r.to_text() for r in ans])

    def mx(self, domain: str) -> tuple[list[MX], str]:
        """MX records best first, and the error if there are none."""
        ans, err = self._resolve(domain, "MX")
        if ans is None:
            return [], err
        out = [MX(int(r.preference), r.exchange.to_text(omit_final_dot=True) or ".") for r in ans]
        out.sort(key=lambda m: (m.preference, m.host))
        return out, ""

    def addresses(self, host: str) -> list[str]:
        """A and AAAA addresses of a host."""
        out: list[str] = []
        for rdtype in ("A", "AAAA"):
            out += self.query(host, rdtype).records
        return out

    def control(self) -> str:
        """'' when this resolver answers for a name that always exists (the root's NS),
        else what went wrong: then a missing domain means nothing (DNS does not work
        from here, or the resolver says NXDOMAIN for everything)."""
        ans = self.query(".", "NS")
        return "" if ans.records else (ans.error or "no answer")

    def txt(self, name: str) -> Answer:
        """TXT records with their strings joined (SPF and DMARC live there)."""
        ans, err = self._resolve(name, "TXT")
        if ans is None:
            return Answer(error=err)
        return Answer(records=[b"".join(r.strings).decode("utf-8", "replace") for r in ans])


def same_host(a: str, b: str) -> bool:
    """Host names equal ignoring case and a trailing dot."""
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def mx_drift(lookup: Lookup, domain: str, expected: list[str]) -> str:
    """'' when `domain`'s MX hosts are all among `expected`, else what is wrong."""
    mxs, err = lookup.mx(domain)
    if err:
        return f"MX lookup for {domain} failed ({err})"
    if any(m.null for m in mxs):
        return f"{domain} has a null MX (0 .): it refuses all mail"
    stray = [m.host for m in mxs if not any(same_host(m.host, e) for e in expected)]
    if stray:
        return f"{domain} MX points at {', '.join(stray)}, not at {', '.join(expected)}"
    return ""
