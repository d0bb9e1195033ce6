"""Attribution of hits to copies, through the hit-recording API the listeners use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from canary.hits import attribution
from canary.hits.record import Observation, record
from canary.store.engine import Store, open_store
from canary.store.models import Hit
from tests.registry_support import DOMAIN, T0, Person, build

SHARED = "+52 844 123 4567"


def three_copies_sharing_a_number(store: Store):
    return build(
        store,
        {
            "Partido Azul": [
                Person("María José López García", f"mjlopez@{DOMAIN}", SHARED),
                Person("Ana Ruiz", f"ana.ruiz@{DOMAIN}", "+52 844 987 6543"),
            ],
            "Partido Verde": [Person("Rocío Hernández Soto", f"rocio.h@{DOMAIN}", SHARED)],
            "Consultora XYZ": [Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}", SHARED)],
        },
    )


def candidates(store: Store, hit_id: int) -> list[tuple[str, float, str]]:
    with store.session() as s:
        hit = s.get(Hit, hit_id)
        assert hit is not None
        return [(c.copy_id, c.score, c.reason) for c in hit.candidates]


def test_email_hit_names_exactly_one_copy(store: Store) -> None:
    reg = three_copies_sharing_a_number(store)
    [r] = record(
        store,
        [
            Observation(
                "smtp",
                f"RoCio.H@{DOMAIN.upper()}",
                sender="x@spam.example",
                observed_at=T0 + timedelta(days=3),
            )
        ],
    )
    assert r.classification == "evidence"
    assert r.copies == [reg.copies["Partido Verde"]]
    [(_copy_id, score, reason)] = candidates(store, r.hit_id)
    assert score == pytest.approx(1.0)
    assert "Partido Verde" in reason and "2026-03-01" in reason


def test_shared_number_lists_every_holder_with_scores_summing_to_one(store: Store) -> None:
    reg = three_copies_sharing_a_number(store)
    [r] = record(store, [Observation("sms", "+5218441234567", observed_at=T0 + timedelta(days=1))])
    assert r.classification == "evidence"
    assert sorted(r.copies) == sorted(reg.copies.values())
    cands = candidates(store, r.hit_id)
    assert sum(score for _, score, _ in cands) == pytest.approx(1.0)
    assert all("shared by 3 copies" in reason for _, _, reason in cands)


@pytest.mark.parametrize(
    "text",
    [
        "Hola ROCIO HERNANDEZ, te invitamos a votar por nuestro candidato",
        "Estimada HERNÁNDEZ SOTO, ROCÍO: te invitamos a votar por nuestro candidato",
    ],
)
def test_a_canary_name_in_the_message_narrows_a_shared_number(store: Store, text: str) -> None:
    reg = three_copies_sharing_a_number(store)
    [r] = record(
        store, [Observation("whatsapp", SHARED, text=text, observed_at=T0 + timedelta(days=1))]
    )
    cands = candidates(store, r.hit_id)
    assert cands[0][0] == reg.copies["Partido Verde"]
    assert cands[0][1] > 0.8
    assert "names its canary" in cands[0][2]
    assert len(cands) == 3  # the others stay listed, with low scores


def test_the_senders_other_hits_narrow_a_shared_number(store: Store) -> None:
    reg = three_copies_sharing_a_number(store)
    sender = "+52 55 1111 2222"
    t = T0 + timedelta(days=10)
    # The same sender first mailed an email canary of the consultancy's copy...
    record(store, [Observation("smtp", f"lfmora@{DOMAIN}", sender=sender, observed_at=t)])
    # ...then, two weeks later (outside any time window), texts the shared number.
    [r] = record(
        store,
        [Observation("sms", SHARED, sender=sender, observed_at=t + timedelta(days=14))],
    )
    cands = candidates(store, r.hit_id)
    assert cands[0][0] == reg.copies["Consultora XYZ"]
    assert "same sender" in cands[0][2]
    assert cands[0][1] > cands[1][1]


def test_hits_close_in_time_weigh_in_weakly(store: Store) -> None:
    reg = three_copies_sharing_a_number(store)
    t = T0 + timedelta(days=10)
    record(store, [Observation("smtp", f"mjlopez@{DOMAIN}", sender="a@x.example", observed_at=t)])
    [r] = record(
        store,
        [Observation("sms", SHARED, sender="+15550000000", observed_at=t + timedelta(hours=2))],
    )
    cands = candidates(store, r.hit_id)
    assert cands[0][0] == reg.copies["Partido Azul"]
    assert "within 24 h" in cands[0][2]


def test_copies_issued_after_the_hit_are_not_candidates(store: Store) -> None:
    reg = build(
        store,
        {
            "early": [Person("Ana Uno Dos", phone=SHARED)],
            "late": [Person("Eva Tres Cuatro", phone=SHARED, email=f"eva@{DOMAIN}")],
        },
        issued={"early": T0, "late": T0 + timedelta(days=30)},
    )
    [shared, email] = record(
        store,
        [
            Observation("sms", SHARED, observed_at=T0 + timedelta(days=5)),
            Observation("smtp", f"eva@{DOMAIN}", observed_at=T0 + timedelta(days=5)),
        ],
    )
    assert shared.copies == [reg.copies["early"]]
    assert email.classification == "unattributed" and email.copies == []


def test_unknown_address_at_a_canary_domain_is_unattributed(store: Store) -> None:
    three_copies_sharing_a_number(store)
    [r] = record(
        store, [Observation("smtp", f"nobody@{DOMAIN}", observed_at=T0 + timedelta(days=1))]
    )
    assert (r.classification, r.copies) == ("unattributed", [])


def test_control_canaries_are_noise(store: Store) -> None:
    build(
        store,
        {"a": [Person("Ana Uno Dos", email=f"ana@{DOMAIN}")]},
        controls=[Person("Control Persona Uno", email=f"ctl@{DOMAIN}")],
    )
    [r] = record(store, [Observation("smtp", f"CTL@{DOMAIN}", observed_at=T0 + timedelta(days=1))])
    assert (r.classification, r.copies) == ("control", [])


def test_phone_hit_during_burn_in_is_noise(store_url: str) -> None:
    store = open_store(store_url, burn_in_days=7.0)
    reg = build(store, {"a": [Person("Ana Uno Dos", phone=SHARED)]}, phones_first_used=T0)
    early, late = record(
        store,
        [
            Observation(
                "sms",
                SHARED,
                provider="t",
                provider_message_id="1",
                observed_at=T0 + timedelta(days=2),
            ),
            Observation(
                "sms",
                SHARED,
                provider="t",
                provider_message_id="2",
                observed_at=T0 + timedelta(days=8),
            ),
        ],
    )
    assert early.classification == "burn-in"
    assert late.classification == "evidence" and late.copies == [reg.copies["a"]]


def test_attribute_keeps_its_plain_signature(sqlite_store: Store) -> None:
    reg = build(sqlite_store, {"a": [Person("Ana Uno Dos", email=f"ana@{DOMAIN}")]})
    with sqlite_store.session() as s:
        hit = Hit(
            channel="smtp",
            identifier=f"ana@{DOMAIN}",
            identifier_kind="email",
            observed_at=T0 + timedelta(hours=1),
        )
        result = attribution.attribute(s, hit, text="")
        assert result.classification == "evidence"
        assert [c.copy_id for c in result.candidates] == [reg.copies["a"]]
        assert s.scalars(select(Hit)).first() is None  # attribute adds nothing itself


def test_burn_in_period_comes_from_the_config(config, monkeypatch: pytest.MonkeyPatch) -> None:
    from canary.cli.common import State

    text = config.path.read_text()
    assert "burn_in_days = 0" in text
    config.path.write_text(text.replace("burn_in_days = 0", "burn_in_days = 7", 1))
    store = State(config_path=config.path).store
    with store.session() as s:
        assert s.info["burn_in_days"] == 7.0
    store.dispose()
