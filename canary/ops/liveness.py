"""Liveness: prove end to end that mail to each canary domain still reaches our listener.

Every `alerts.liveness_minutes` the job does, for each canary domain:

1. check the sentinel sent last time: our SMTP listener records any RCPT to an unknown
   local part at a canary domain as a hit, so the sentinel has "arrived" when a hit
   with its address is in the store. If it has not, a system alert goes out (once per
   outage; another when it recovers);
2. send a new sentinel: resolve the domain's MX (public DNS, or the injected
   resolver), connect to the best MX on port 25 and RCPT a random address
   `canary-liveness-<hex>@domain`. No DATA is sent: the RCPT alone makes the hit.

Sentinel addresses are kept in `settings` (`liveness:<domain>`); `is_sentinel` lets
`canary.hits.incidents` file their hits in no incident and alert no one. Tested with a
loopback DNS server and a loopback SMTP server; against the public internet it needs
outbound port 25, which many networks block (off by default).
"""

from __future__ import annotations

import json
import logging
import secrets
import smtplib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from canary.hits.sentinels import PREFIX, sentinel_key
from canary.ops.dns import Lookup
from canary.store.engine import Store
from canary.store.models import Hit, Setting
from canary.store.register import list_domains

log = logging.getLogger(__name__)

KEEP = 4


def send_sentinel(
    address: str, lookup: Lookup, *, port: int = 25, helo: str = "", timeout: float = 30.0
) -> str:
    """RCPT `address` at its domain's best reachable MX; returns the server's reply."""
    domain = address.rpartition("@")[2]
    mxs, err = lookup.mx(domain)
    hosts = [m.host for m in mxs if not m.null] or ([] if err else [domain])
    if not hosts:
        raise OSError(f"no MX for {domain} ({err or 'null MX'})")
    last: Exception | None = None
    for host in hosts:
        addrs = lookup.addresses(host) or [host]
        for ip in addrs:
            try:
                with smtplib.SMTP(ip, port, timeout=timeout, local_hostname=helo or None) as s:
                    s.ehlo()
                    s.mail(f"liveness@{helo or 'canary.invalid'}")
                    code, msg = s.rcpt(address)
                    s.rset()
                    return f"{host} ({ip}): {code} {msg.decode('ascii', 'replace')}"
            except (OSError, smtplib.SMTPException) as exc:
                last = exc
    raise OSError(f"no MX of {domain} answered: {last}")


def run_liveness(
    store: Store,
    lookup: Lookup,
    *,
    port: int = 25,
    helo: str = "",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One liveness round for every domain; returns the system alerts it queued."""
    from canary.alerts.outbox import enqueue

    t = now or datetime.now(UTC)
    queued: list[dict[str, Any]] = []
    for domain in list_domains(store):
        with store.session() as s:
            row = s.get(Setting, sentinel_key(domain))
            state: dict[str, Any] = json.loads(row.value) if row else {}
            pending = state.get("pending")
            if pending:
                arrived = s.scalars(
                    select(Hit.id).where(Hit.identifier == pending).limit(1)
                ).first()
                was = state.get("status", "ok")
                status = "ok" if arrived is not None else "failing"
                if status != was:
                    title = (
                        f"Liveness: mail to {domain} no longer reaches the listener"
                        if status == "failing"
                        else f"Liveness: mail to {domain} reaches the listener again"
                    )
                    payload = {
                        "kind": "system",
                        "title": title,
                        "facts": {
                            "Domain": domain,
                            "Sentinel": pending,
                            "Sent at": state.get("sent_at", ""),
                            "Send result": state.get("result", ""),
                        },
                        "fix": "Check the domain's MX, the SMTP listener and the firewall "
                        "(run 'canary doctor')."
                        if status == "failing"
                        else "",
                    }
                    enqueue(s, "system", payload, now=t)
                    queued.append(payload)
                state["status"] = status
        address = f"{PREFIX}{secrets.token_hex(6)}@{domain}"
        # Register the address before sending, so its hit is recognised as ours.
        state["addresses"] = ([*state.get("addresses", []), address])[-KEEP:]
        state["pending"] = address
        state["sent_at"] = t.isoformat()
        _save(store, domain, state)
        try:
            state["result"] = send_sentinel(address, lookup, port=port, helo=helo)
        except OSError as exc:
            state["result"] = f"failed: {exc}"
            log.warning("liveness sentinel for %s: %s", domain, exc)
        _save(store, domain, state)
    return queued


def _save(store: Store, domain: str, state: dict[str, Any]) -> None:
    with store.session() as s:
        s.merge(Setting(key=sentinel_key(domain), value=json.dumps(state)))
