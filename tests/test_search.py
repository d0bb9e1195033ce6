"""Search across canaries and hits, on SQLite and PostgreSQL: ranked, filtered, bounded,
and a `%` or `_` in the query is a character, not a wildcard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from canary.errors import InputError
from canary.hits.record import Observation, record
from canary.investigate.search import SearchFilter, search
from canary.store.engine import Store
from tests.registry_support import DOMAIN, T0, Person, Register, build

SHARED = "+52 844 123 4567"
PERSONS = {
    "Partido Azul": [
        Person("Gustavo Adolfo Núñez Peña", f"gnunez@{DOMAIN}", "+52 844 555 0101"),
        Person("María José López García", f"mjlopez@{DOMAIN}", SHARED),
    ],
    "Partido Verde": [Person("Rocío Hernández Soto", f"rocio.h@{DOMAIN}", SHARED)],
}
DAY = timedelta(days=1)


def populate(store: Store) -> tuple[Register, dict[str, int]]:
    """Gustavo reached by mail; 'gustavo' also as a sender, in a subject and in a text."""
    reg = build(store, PERSONS)
    t = T0 + 10 * DAY
    obs = {
        "to_gustavo": Observation(
            "smtp",
            f"gnunez@{DOMAIN}",
            sender="promo@campana.example",
            summary="Promo",
            observed_at=t,
        ),
        "from_gustavo": Observation(
            "smtp",
            f"mjlopez@{DOMAIN}",
            sender="Gustavo.Lopez@spam.example",
            summary="Oferta",
            observed_at=t + DAY,
        ),
        "subject": Observation(
            "smtp",
            f"rocio.h@{DOMAIN}",
            sender="news@x.example",
            summary="Reunión con GUSTAVO el lunes",
            observed_at=t + 2 * DAY,
        ),
        "text": Observation(
            "whatsapp",
            "whatsapp:+5218441234567",
            sender="+5215550001111",
            summary="hola",
            text="hola, soy Gustavo: vota por nosotros",
            observed_at=t + 3 * DAY,
        ),
        "percent": Observation(
            "sms", "+528440000000", sender="100% real", summary="", observed_at=t + 4 * DAY
        ),
        "underscore": Observation(
            "sms", "+528440000000", sender="a_b@x.example", summary="", observed_at=t + 5 * DAY
        ),
        "no_underscore": Observation(
            "sms", "+528440000000", sender="axb@x.example", summary="", observed_at=t + 6 * DAY
        ),
    }
    recs = record(store, list(obs.values()))
    return reg, {name: r.hit_id for name, r in zip(obs, recs, strict=True)}


def found(doc: object) -> list[tuple[str, int, str]]:
    from canary.investigate.search import SearchResults

    assert isinstance(doc, SearchResults)
    return [(r.type, r.id, r.matched.value) for r in doc.results]


def test_gustavo_by_name_sender_subject_and_text_ranked(store: Store) -> None:
    reg, hits = populate(store)
    res = search(store, "gustavo")
    assert found(res) == [
        ("canary", reg.canaries["Gustavo Adolfo Núñez Peña"], "name"),
        ("hit", hits["to_gustavo"], "name"),
        ("hit", hits["from_gustavo"], "sender"),
        ("hit", hits["subject"], "subject"),
        ("hit", hits["text"], "text"),
    ]
    assert [r.rank for r in res.results] == [1, 1, 2, 3, 4]
    canary = res.results[0].to_json()
    assert canary["copies"] == [reg.copies["Partido Azul"]] and canary["incident"]
    assert canary["canary"]["recipient"] == "Partido Azul"
    by_sender = res.results[2].to_json()
    assert by_sender["snippet"] == "Gustavo.Lopez@spam.example"
    assert by_sender["hit"]["copies"] == [reg.copies["Partido Azul"]]
    assert by_sender["incident"] is not None
    assert "GUSTAVO" in res.results[3].snippet and "gustavo" in res.results[4].snippet
    assert not res.truncated


def test_an_exact_identifier_ranks_first(store: Store) -> None:
    reg, hits = populate(store)
    res = search(store, f"GNUNEZ@{DOMAIN.upper()}")
    assert found(res)[:2] == [
        ("canary", reg.canaries["Gustavo Adolfo Núñez Peña"], "identifier"),
        ("hit", hits["to_gustavo"], "identifier"),
    ]
    by_phone = found(search(store, "(844) 555-0101"))
    assert by_phone == [("canary", reg.canaries["Gustavo Adolfo Núñez Peña"], "identifier")]
    unknown = found(search(store, "+52 844 000 0000"))
    assert {h for t, h, m in unknown} == {
        hits["percent"],
        hits["underscore"],
        hits["no_underscore"],
    } and {m for t, h, m in unknown} == {"identifier"}


def test_filters(store: Store) -> None:
    reg, hits = populate(store)
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    only_whatsapp = found(search(store, "gustavo", SearchFilter(channel="whatsapp")))
    assert only_whatsapp == [("hit", hits["text"], "text")]
    in_verde = found(search(store, "gustavo", SearchFilter(copy=verde.lower())))
    assert in_verde == [("hit", hits["subject"], "subject"), ("hit", hits["text"], "text")]
    in_azul = [x[1] for x in found(search(store, "gustavo", SearchFilter(copy=azul)))]
    assert hits["subject"] not in in_azul and hits["from_gustavo"] in in_azul
    dated = SearchFilter(since=T0 + 11 * DAY, until=T0 + 12 * DAY + timedelta(hours=1))
    assert [x[1] for x in found(search(store, "gustavo", dated))] == [
        hits["from_gustavo"],
        hits["subject"],
    ]
    shared = found(search(store, "gustavo", SearchFilter(strength="shared")))
    assert shared == [("hit", hits["text"], "text")]  # the number two copies hold
    exclusive = [x[1] for x in found(search(store, "gustavo", SearchFilter(strength="exclusive")))]
    assert exclusive == [hits["to_gustavo"], hits["from_gustavo"], hits["subject"]]
    assert found(search(store, "gustavo", SearchFilter(copy="CNOSUCHCOPY"))) == []
    with pytest.raises(InputError, match="strength"):
        search(store, "gustavo", SearchFilter(strength="strong"))


def test_percent_and_underscore_are_literal(store: Store) -> None:
    _reg, hits = populate(store)
    assert found(search(store, "100%")) == [("hit", hits["percent"], "sender")]
    assert found(search(store, "a_b")) == [("hit", hits["underscore"], "sender")]
    assert found(search(store, "%%")) == []
    assert found(search(store, "__")) == []
    with pytest.raises(InputError):
        search(store, "%")


def test_results_are_bounded(store: Store) -> None:
    populate(store)
    res = search(store, "example", SearchFilter(limit=2))
    assert len(res.results) == 2 and res.truncated
    res = search(store, "x" * 5000)
    assert res.query == "x" * 199 + "…" and res.results == []
