from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from canary.errors import InputError
from canary.store import register as registry
from canary.store import search_index
from canary.store.engine import Store, open_store
from canary.store.models import Base


def _declared(name: str | None, type_: str, _parent: object) -> bool:
    """The trigram indexes are made by the migration where the backend allows, not by
    the models (search_index.UNDECLARED); everything else must agree."""
    return name not in search_index.UNDECLARED


def test_migrations_match_models(store: Store) -> None:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": _declared})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_open_twice_is_idempotent(store_url: str) -> None:
    a = open_store(store_url)
    b = open_store(store_url)
    registry.add_domain(a, "canary.example.org")
    assert registry.list_domains(b) == ["canary.example.org"]
    a.dispose()
    b.dispose()


def test_domains_are_normalised_and_validated(store: Store) -> None:
    assert registry.add_domain(store, "Correo-Seguro.MX.") == ("correo-seguro.mx", True)
    assert registry.add_domain(store, "correo-seguro.mx") == ("correo-seguro.mx", False)
    for bad in ["bad domain", "-x.org", "nodot", "a..b.org", ""]:
        with pytest.raises(InputError):
            registry.add_domain(store, bad)


@pytest.mark.parametrize(
    "written",
    ["+52 1 844 123 4567", "+52 (844) 123-4567", "whatsapp:+5218441234567", "0052 844 123 4567"],
)
def test_phones_stored_e164(store: Store, written: str) -> None:
    assert registry.add_phone(store, written, "twilio") == ("+528441234567", True)
    assert [p.number for p in registry.list_phones(store)] == ["+528441234567"]


def test_bad_phone_and_provider(store: Store) -> None:
    with pytest.raises(InputError):
        registry.add_phone(store, "12345")
    with pytest.raises(InputError):
        registry.add_phone(store, "+52 844 123 4567", provider="pigeon")
