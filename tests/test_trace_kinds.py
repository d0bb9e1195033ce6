"""`canary trace` takes every identifier kind identify knows; only numbers are phones."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.errors import InputError
from canary.hits.record import Observation, record
from canary.investigate.trace import looks_like_phone, trace
from canary.store.engine import Store, dispose_all
from tests.registry_support import DOMAIN, Person, Register, build

CURP = "AUMG600826HCLGRS76"
PERSONS = {
    "Consultora Norte": [
        Person("Guadalupe Aguilar Moreno", f"gam@{DOMAIN}", "+52 844 600 8267", CURP),
        Person("Karla Ibarra Solís", f"kis@{DOMAIN}", "+52 844 777 1234", "F-009871"),
    ],
    "Consultora Sur": [
        Person("Beatriz Luna Cano", f"blc@{DOMAIN}", "+52 844 600 8267", "20240017"),
    ],
}


@pytest.fixture
def reg(store: Store) -> Register:
    reg = build(store, PERSONS)
    record(
        store,
        [
            Observation(
                channel="sms",
                identifier="+528446008267",
                sender="+5215512345678",
                summary="Hola Guadalupe",
                provider="twilio",
                provider_message_id="SM1",
            )
        ],
    )
    return reg


def test_a_curp_is_a_national_id_never_a_phone(store: Store, reg: Register) -> None:
    for typed in (CURP, CURP.lower(), f"  {CURP} "):
        doc = trace(store, typed)
        assert (doc["kind"], doc["identifier"]) == ("national_id", CURP)
        assert [c["id"] for c in doc["copies"]] == [reg.copies["Consultora Norte"]]
        [canary] = doc["canaries"]
        assert canary["id"] == reg.canaries["Guadalupe Aguilar Moreno"]
        # The hits on the canary's own number come with it.
        assert [h["identifier"] for h in doc["hits"]] == ["+528446008267"]
    assert not looks_like_phone(CURP)


def test_an_unknown_curp_is_still_not_a_phone(store: Store, reg: Register) -> None:
    doc = trace(store, "BADD110313HCMLNS09")
    assert (doc["kind"], doc["copies"], doc["canaries"]) == ("national_id", [], [])


def test_a_full_name_in_any_order_case_and_accents(store: Store, reg: Register) -> None:
    for typed in ("Karla Ibarra Solís", "IBARRA SOLIS, karla", "karla ibarra solis"):
        doc = trace(store, typed)
        assert (doc["kind"], doc["identifier"]) == ("name", "Karla Ibarra Solís")
        assert [c["id"] for c in doc["copies"]] == [reg.copies["Consultora Norte"]]
        assert [c["id"] for c in doc["canaries"]] == [reg.canaries["Karla Ibarra Solís"]]
        assert doc["hits"] == []
    nobody = trace(store, "Nadie Conocido")
    assert (nobody["kind"], nobody["copies"]) == ("name", [])


def test_ids_with_letters_and_digit_only_ids(store: Store, reg: Register) -> None:
    doc = trace(store, "f-009871")
    assert (doc["kind"], doc["identifier"]) == ("id", "F-009871")
    assert [c["id"] for c in doc["copies"]] == [reg.copies["Consultora Norte"]]
    # A digit-only folio the store holds is the folio, not a phone number.
    folio = trace(store, "20240017")
    assert (folio["kind"], folio["identifier"]) == ("id", "20240017")
    assert [c["id"] for c in folio["copies"]] == [reg.copies["Consultora Sur"]]


@pytest.mark.parametrize(
    "typed",
    ["+52 844 600 8267", "+52 1 (844) 600-8267", "whatsapp:+5218446008267", "844.600.8267"],
)
def test_a_phone_in_any_format(store: Store, reg: Register, typed: str) -> None:
    doc = trace(store, typed)
    assert (doc["kind"], doc["identifier"]) == ("phone", "+528446008267")
    assert {c["id"] for c in doc["copies"]} == set(reg.copies.values())
    assert [h["channel"] for h in doc["hits"]] == ["sms"]


def test_a_number_typed_in_e164_with_hits_on_it_is_the_number(store: Store, reg: Register) -> None:
    """The number written exactly as stored (+528446008267, as a webhook or a copied
    hit shows it) is the number, with its canaries and its hit; not an id no canary
    holds because a hit was on that text."""
    doc = trace(store, "+528446008267")
    assert (doc["kind"], doc["identifier"]) == ("phone", "+528446008267")
    assert {c["id"] for c in doc["copies"]} == set(reg.copies.values())
    assert [(h["channel"], h["summary"]) for h in doc["hits"]] == [("sms", "Hola Guadalupe")]


def test_nothing_to_trace_is_a_clear_error(store: Store, reg: Register) -> None:
    with pytest.raises(InputError, match="give an email address"):
        trace(store, " -- ")
    with pytest.raises(InputError, match="not a valid phone number"):
        trace(store, "000 000 000")


def test_cli_trace_of_a_curp(
    store: Store, store_url: str, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = build(store, PERSONS)
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    result = CliRunner().invoke(app, ["trace", CURP, "--json"])
    dispose_all()  # the in-process CLI's engine, before the next opens
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["identifier"] == CURP and doc["kind"] == "national_id"
    assert [c["id"] for c in doc["copies"]] == [reg.copies["Consultora Norte"]]
    human = CliRunner().invoke(app, ["trace", CURP])
    dispose_all()  # the in-process CLI's engine, before the next opens
    assert human.exit_code == 0 and human.stdout.startswith(f"national_id {CURP}")


def test_a_number_or_id_only_a_hit_was_on_is_traced_to_that_hit(
    store: Store, reg: Register
) -> None:
    """A value no canary holds (a retired number, an id a message quoted) is still found
    through the hits on it, in any form: national form, another case."""
    record(
        store,
        [
            Observation(
                channel="sms",
                identifier="+528449990011",
                sender="+5215512345678",
                summary="hola",
                provider="twilio",
                provider_message_id="SM-retired",
            ),
            Observation(
                channel="webhook",
                identifier="ZX-4471",
                sender="someone",
                summary="id",
                provider="generic",
                provider_message_id="G-1",
            ),
        ],
    )
    doc = trace(store, "844 999 0011")
    assert (doc["kind"], doc["identifier"]) == ("phone", "+528449990011")
    assert [h["summary"] for h in doc["hits"]] == ["hola"] and doc["canaries"] == []
    doc = trace(store, "zx-4471")
    assert doc["identifier"] == "ZX-4471"


def test_a_name_lists_the_hits_on_all_its_contacts_newest_first(
    store: Store, reg: Register
) -> None:
    record(
        store,
        [
            Observation(
                channel="smtp",
                identifier=f"gam@{DOMAIN}",
                sender="x@example.org",
                summary="mail",
                provider="smtp",
                provider_message_id="M-1",
            )
        ],
    )
    doc = trace(store, "moreno aguilar GUADALUPE")
    assert [h["identifier"] for h in doc["hits"]] == [f"gam@{DOMAIN}", "+528446008267"]
    ids = [h["id"] for h in doc["hits"]]
    assert ids == sorted(ids, reverse=True)
