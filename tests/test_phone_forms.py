"""Phone numbers keep their national number, country code and region beside them, and
names their sorted folded words, so identify and trace look them up instead of parsing
or folding every identifier in the store."""

from __future__ import annotations

from alembic import command
from sqlalchemy import insert, select, text

from canary.investigate.identify import identify_text
from canary.investigate.trace import registered_regions, trace
from canary.store import register as registry
from canary.store.engine import Store, alembic_config, make_engine, open_store
from canary.store.models import Identifier, PhoneNumber
from tests.registry_support import DOMAIN, Person, build


def test_numbers_are_stored_with_their_parts(store: Store) -> None:
    registry.add_phone(store, "+1 415 555 0100", "twilio")
    registry.add_phone(store, "+1 415 555 0101", "twilio")
    build(store, {"Partido Azul": [Person("Ana Ruiz Ortega", f"ana@{DOMAIN}", "+52 844 123 4567")]})
    with store.session() as s:
        pool = s.execute(select(PhoneNumber.number, PhoneNumber.country_code, PhoneNumber.region))
        assert sorted(pool) == [
            ("+14155550100", "1", "US"),
            ("+14155550101", "1", "US"),
            ("+528441234567", "52", "MX"),  # the canary's number, registered by `build`
        ]
        assert s.execute(
            select(Identifier.national, Identifier.country_code, Identifier.region).where(
                Identifier.kind == "phone"
            )
        ).all() == [("8441234567", "52", "MX")]
        # The pool's regions, most numbers first.
        assert registered_regions(s) == ["US", "MX"]
    # A national form is read in the canaries' regions.
    assert trace(store, "844 123 4567")["identifier"] == "+528441234567"


def test_numbers_written_without_their_parts_are_still_found(store: Store) -> None:
    # A bulk insert that skipped the parts (or a row from before they were kept).
    reg = build(store, {"Partido Azul": [Person("Ana Ruiz Ortega", None, None)]})
    with store.engine.begin() as con:
        con.execute(
            insert(Identifier),
            [
                {
                    "canary_id": reg.canaries["Ana Ruiz Ortega"],
                    "kind": "phone",
                    "value": "+528449876543",
                }
            ],
        )
    doc = identify_text(store, "Ana Ruiz Ortega, (844) 987-6543")
    assert [i["value"] for i in doc["copies"][0]["identifiers"]] == [
        "+528449876543",
        "Ana Ruiz Ortega",
    ]


def test_the_migration_fills_in_existing_numbers(store_url: str) -> None:
    engine = make_engine(store_url)
    cfg = alembic_config(engine)
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, "0009_hit_inbox")
    with engine.begin() as con:
        con.execute(
            text(
                "INSERT INTO phone_numbers (number, provider, added_at, voice_only) "
                "VALUES ('+34912345678', 'twilio', CURRENT_TIMESTAMP, false)"
            )
        )
        con.execute(
            text(
                'INSERT INTO canaries (kind, "values", created_at) '
                "VALUES ('planted', '{}', CURRENT_TIMESTAMP)"
            )
        )
        con.execute(
            text(
                "INSERT INTO identifiers (canary_id, kind, value, raw) SELECT id, 'phone', "
                "'+528441234567', '' FROM canaries"
            )
        )
        con.execute(
            text(
                "INSERT INTO identifiers (canary_id, kind, value, raw) SELECT id, 'name', "
                "'María José Núñez', '' FROM canaries"
            )
        )
    engine.dispose()
    store = open_store(store_url)  # migrates to the head
    try:
        with store.session() as s:
            assert s.execute(
                select(
                    Identifier.kind, Identifier.national, Identifier.region, Identifier.folded
                ).order_by(Identifier.id)
            ).all() == [
                ("phone", "8441234567", "MX", None),
                ("name", None, None, "jose maria nunez"),
            ]
            assert registered_regions(s) == ["ES", "MX"]
        assert trace(store, "NUÑEZ, maria jose")["identifier"] == "María José Núñez"
    finally:
        store.dispose()


def test_an_argentine_mobile_written_at_home_is_found(store: Store) -> None:
    # "351 15-478-1733" is +54 9 351 478 1733: its digits are not the national number's
    # (93514781733), so a dump holding only phones written the Argentine way (a
    # WhatsApp group's list) was traced to no copy; nor one written without its 15.
    build(store, {"Partido Azul": [Person("Ana Ruiz Ortega", None, "+54 9 351 478 1733")]})
    for written in (
        "351 15478-1733",
        "0351 15-478-1733",
        "(0351) 154781733",
        "+54 9 351 478-1733",
        "351 478-1733",
        "(0351) 4781733",
    ):
        doc = identify_text(store, f"contacto: {written}\n")
        assert [i["value"] for i in doc["copies"][0]["identifiers"]] == ["+5493514781733"], written
    # The national number alone, unchanged: another number's digits are not taken for it.
    assert identify_text(store, "contacto: 351 15478-1734\n")["copies"] == []


def test_mexicos_old_dialing_prefixes_are_read_as_the_number(store: Store) -> None:
    # 044/045 before a mobile and 01 before a landline, as many Mexican lists still
    # write them: trace read "044 844 123 4567" as +52 044 8441234567.
    build(store, {"Partido Azul": [Person("Ana Ruiz Ortega", None, "+52 844 123 4567")]})
    for written in (
        "044 844 123 4567",
        "045 844 123 4567",
        "01 844 123 4567",
        "(044) 844-123-4567",
    ):
        assert trace(store, written)["identifier"] == "+528441234567", written
