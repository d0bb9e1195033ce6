"""Test helper: a register of copies and canaries written straight through the models.

The identify/attribution/query tests build their register here, with identifiers
normalised the way the store keeps them and each copy's issuance link in the hash chain,
the invariants `canary issue` keeps (a bundle of such a copy verifies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import Connection

from canary.identifiers import normalize_email, normalize_phone
from canary.store import chain
from canary.store.engine import Store, alembic_config, make_engine, new_id
from canary.store.models import Canary, Copy, Dataset, Domain, Identifier, PhoneNumber

DOMAIN = "correo-seguro.test"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Person:
    name: str
    email: str | None = None
    phone: str | None = None
    ident: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {
            "nombre": self.name,
            "correo": self.email or "",
            "telefono": self.phone or "",
            "folio": self.ident or "",
            **self.extra,
        }


@dataclass
class Register:
    store: Store
    dataset_id: str = ""
    copies: dict[str, str] = field(default_factory=dict)  # recipient -> copy id
    canaries: dict[str, int] = field(default_factory=dict)  # person name -> canary id


def _identifiers(p: Person) -> list[tuple[str, str, str]]:
    out = [("name", p.name, p.name)]
    if p.email:
        out.append(("email", normalize_email(p.email), p.email))
    if p.phone:
        out.append(("phone", normalize_phone(p.phone), p.phone))
    if p.ident:
        out.append(("id", p.ident, p.ident))
    return out


def build(
    store: Store,
    copies: dict[str, list[Person]],
    *,
    issued: dict[str, datetime] | None = None,
    controls: list[Person] | None = None,
    phones_first_used: datetime | None = None,
) -> Register:
    """Dataset + one copy per recipient holding its persons + control canaries."""
    reg = Register(store)
    issued = issued or {}
    with store.session() as s:
        if s.get(Domain, DOMAIN) is None:
            s.add(Domain(name=DOMAIN))
        ds = Dataset(
            id=new_id("D"),
            name="candidatas.csv",
            source="/data/candidatas.csv",
            format="csv",
            columns=["nombre", "correo", "telefono", "folio"],
            row_count=100,
        )
        s.add(ds)
        reg.dataset_id = ds.id
        phones: set[str] = set()
        for i, (recipient, persons) in enumerate(copies.items()):
            cp = Copy(
                id=new_id("C"),
                dataset_id=ds.id,
                recipient=recipient,
                purpose="auditoría",
                issued_at=issued.get(recipient, T0 + timedelta(minutes=i)),
                path=f"/out/candidatas-{i}.csv",
                sha256="ab" * 32,
                format="csv",
            )
            s.add(cp)
            reg.copies[recipient] = cp.id
            planted: list[tuple[str, str]] = []
            for pos, p in enumerate(persons):
                c = Canary(copy_id=cp.id, dataset_id=ds.id, values=p.values(), position=10 + pos)
                s.add(c)
                s.flush()
                reg.canaries[p.name] = c.id
                for kind, value, raw in _identifiers(p):
                    s.add(Identifier(canary_id=c.id, kind=kind, value=value, raw=raw))
                    planted.append((kind, value))
                    if kind == "phone":
                        phones.add(value)
            s.flush()
            chain.append(s, "copy", cp.id, chain.copy_record(cp, planted))
        for p in controls or []:
            c = Canary(copy_id=None, dataset_id=ds.id, kind="control", values=p.values())
            s.add(c)
            s.flush()
            reg.canaries[p.name] = c.id
            for kind, value, raw in _identifiers(p):
                s.add(Identifier(canary_id=c.id, kind=kind, value=value, raw=raw))
        for number in phones:
            if s.get(PhoneNumber, number) is None:
                s.add(
                    PhoneNumber(
                        number=number, provider="twilio", first_used_at=phones_first_used or T0
                    )
                )
    return reg


#: A register where kept counts are tested: exclusive and shared evidence (one number
#: in two parties' copies), a copy with only an address, and a control canary.
SHARED = "+52 844 123 4567"
COUNTED = {
    "Partido Azul": [
        Person("María José López García", f"mjlopez@{DOMAIN}", SHARED),
        Person("Ana Ruiz Ortega", f"ana.ruiz@{DOMAIN}", "+52 844 987 6543"),
    ],
    "Partido Verde": [Person("Rocío Hernández Soto", f"rocio.h@{DOMAIN}", SHARED)],
    "Consultora XYZ": [Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}")],
}
COUNTED_CONTROL = Person("Julia Control Vega", f"julia.cv@{DOMAIN}")


def back_and_forth(store_url: str, revision: str, gone: Callable[[Connection], bool]) -> None:
    """Migrate the store at `store_url` down to `revision`, check there that `gone(con)`
    (what the later migrations added is not there), and up to the head again: their
    backfill then rebuilds it from what the store holds."""
    engine = make_engine(store_url)
    cfg = alembic_config(engine)
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        command.downgrade(cfg, revision)
        assert gone(con)
        command.upgrade(cfg, "head")
    engine.dispose()
