"""Attribution states its strength: exclusive and shared evidence apart, with the
false-accusation probability P of blaming each candidate, everywhere a hit is shown."""

from __future__ import annotations

import base64
import json
import re
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canary.alerts.format import render as render_alert
from canary.cli import app
from canary.config import Config
from canary.evidence import case as casereport
from canary.evidence import pdf as pdfreport
from canary.evidence.bundle import write_bundle
from canary.hits import attribution
from canary.hits.attribution import Evidence, chance_of_contact, false_accusation
from canary.hits.record import Observation, record
from canary.investigate import history
from canary.investigate.queries import copy_detail, list_copies, list_hits
from canary.store.engine import Store
from canary.store.models import Alert, Incident
from canary.vocabulary import Strength
from tests.bundle_support import SIGNER
from tests.html_support import assert_no_repr, parse
from tests.registry_support import DOMAIN, T0, Person, Register, build

SHARED = "+52 844 123 4567"
SHARED_E164 = "+528441234567"


def three_holders(store: Store) -> Register:
    """Copies A, B and C share one number; each holds it in a canary of its own."""
    return build(
        store,
        {
            "A": [
                Person("Gustavo Ramírez Peña", f"gramirez@{DOMAIN}", SHARED, "RAPG800101HCLMXS01")
            ],
            "B": [Person("Rocío Hernández Soto", f"rocio.h@{DOMAIN}", SHARED)],
            "C": [Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}", SHARED)],
        },
    )


def sms(text: str, sender: str = "+52 55 1111 2222", days: int = 3, mid: str = "SM1"):
    return Observation(
        "sms",
        SHARED,
        sender=sender,
        summary=text,
        text=text,
        provider="twilio",
        provider_message_id=mid,
        observed_at=T0 + timedelta(days=days),
    )


def attribution_of(store: Store, hit_id: int) -> dict:
    [hit] = [h for h in list_hits(store)["hits"] if h["id"] == hit_id]
    return hit["attribution"]


# --- the model ------------------------------------------------------------------------


def test_an_exclusive_email_is_about_zero_from_the_address_entropy() -> None:
    chance = chance_of_contact("email", f"mjlopez@{DOMAIN}")
    assert chance == pytest.approx(2**-17.5)  # 7 characters at 2.5 bits each
    p = false_accusation([Evidence({"A": 1.0}, chance)])["A"]
    assert p == pytest.approx(chance / (1 + chance))
    assert chance_of_contact("email", f"ab@{DOMAIN}") > chance  # shorter: easier to guess


@pytest.mark.parametrize("k", [2, 3, 5])
def test_k_holders_with_nothing_else_is_one_minus_one_over_k(k: int) -> None:
    holders = {f"C{i}": 1 / k for i in range(k)}
    probs = false_accusation([Evidence(holders, attribution.PHONE_CHANCE)])
    for p in probs.values():
        assert p == pytest.approx(1 - 1 / (k + attribution.PHONE_CHANCE))
        assert p == pytest.approx(1 - 1 / k, abs=0.005)


def test_several_identifiers_held_together_by_one_copy_point_at_it() -> None:
    # Two numbers, each shared by three copies; only A holds both.
    probs = false_accusation(
        [
            Evidence({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}, 0.01),
            Evidence({"A": 1 / 3, "D": 1 / 3, "E": 1 / 3}, 0.01),
        ]
    )
    assert probs["A"] < 0.05
    assert all(probs[c] > 0.95 for c in "BCDE")


# --- the scenario, on SQLite and PostgreSQL ---------------------------------------


def test_hola_gustavo_ranks_a_first_and_blames_no_one_outright(
    store: Store,
    store_url: str,
    config: Config,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = three_holders(store)
    a, b, c = (reg.copies[k] for k in "ABC")
    [r] = record(store, [sms("Hola Gustavo, vota por nosotros este domingo")])
    monkeypatch.setenv("CANARY_SIGNING_KEY", base64.b64encode(bytes(range(32))).decode())

    attr = attribution_of(store, r.hit_id)
    assert attr["strength"] == "shared"
    cands = {x["copy"]: x for x in attr["candidates"]}
    assert attr["candidates"][0]["copy"] == a
    pa, pb, pc = (cands[x]["false_accusation_probability"] for x in (a, b, c))
    assert pa < pb and pa < pc
    assert attr["false_accusation_probability"] == pa
    # Given name alone: likelihood ratio 5 against 1 and 1, posterior 5/7.
    assert cands[a]["score"] == pytest.approx(5 / 7)
    assert pa == pytest.approx(1 - 1 / (1 + 0.2 + 0.2 + 0.01), abs=1e-3)
    assert pb == pytest.approx(1 - 0.2 / (1 + 0.2 + 0.2 + 0.01), abs=1e-3)
    assert "given name 'Gustavo'" in cands[a]["reason"]
    assert "one of 3 holders" in cands[b]["reason"]

    # The CLI on this store: copies count the hit as shared for A, B and C, for none alone.
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    res = cli("copies", "--json")
    assert res.exit_code == 0, res.output
    counts = {x["id"]: (x["hits"], x["shared_hits"]) for x in json.loads(res.stdout)["copies"]}
    assert counts == {a: (0, 1), b: (0, 1), c: (0, 1)}
    res = cli("copy", b, "--json")
    assert res.exit_code == 0, res.output
    copy_b = json.loads(res.stdout)
    assert (copy_b["hits"], copy_b["shared_hits"]) == (0, 1)
    assert copy_b["attribution"] == {
        "strength": "shared",
        "false_accusation_probability": pb,
        "exclusive_hits": 0,
        "shared_hits": 1,
    }

    # `canary report B`: the hit is shared, listed with the candidates and P; the opening
    # sentence does not say the evidence points at B. English and Spanish, HTML and PDF.
    monkeypatch.setattr(pdfreport, "FONT_DIRS", ())  # core font: the PDF's text is readable
    for lang in ("en", "es"):
        out = tmp_path / f"b-{lang}.zip"
        res = cli("report", b, "--out", str(out), "--lang", lang)
        assert res.exit_code == 0, res.output
        with zipfile.ZipFile(out) as zf:
            page = zf.read("report.html").decode()
            pdf_text = pdf_strings(zf.read("report.pdf"))
        t = casereport.TEXT[lang]
        assert_no_repr(page)
        doc = parse(page)
        opening = doc.by_id("opening").text
        assert opening == casereport.opening(
            t,
            b,
            attribution.CopyAttribution(b, Strength.SHARED, pb, 0, 1),
        )
        assert t["open_shared"].split("{copy}")[0].strip() in opening
        assert "point at this copy (" not in opening and "apuntan a esta copia (" not in opening
        assert "Every contact points at that copy" not in page
        assert t["no_hits"] in doc.by_id("exclusive-hits").text
        shared = doc.by_id("shared-hits")
        rows = {row.attrs["data-copy"]: row.cells() for row in shared.all("tr", cls="candidate")}
        assert list(rows) == [a, b, c]  # best first
        assert rows[b][0] == f"{b} ({t['this_copy']})"
        for copy_id, p in ((a, pa), (b, pb), (c, pc)):
            assert rows[copy_id][2] == f"{p:.3g}"
        assert (
            shared.one(id=f"hit-{r.hit_id}").one("td", cls="strength").text == t["strength_shared"]
        )
        assert t["shared"] in pdf_text and t["hits"] in pdf_text
        assert f"{pb:.3g}" in pdf_text and a in pdf_text and c in pdf_text


def cli(*args: str):
    """Run the CLI in-process, then close the store it opened (its pooled connections)."""
    from canary.cli.common import state

    try:
        return CliRunner().invoke(app, list(args))
    finally:
        if state._store is not None:
            state._store.dispose()
            state._store = None


def pdf_strings(data: bytes) -> str:
    """The text drawn by a core-font PDF (its content streams, inflated)."""
    out = []
    # The end-of-line before `endstream` is left on the data: a compressed stream may
    # itself end in a CR byte, and a decompressor ignores what follows its end.
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            body = zlib.decompressobj().decompress(m.group(1))
        except zlib.error:
            body = m.group(1)
        out += [s.decode("latin-1") for s in re.findall(rb"\(((?:\\.|[^\\)])*)\)", body)]
    return re.sub(r"\\(.)", r"\1", "".join(out))


# --- what narrows a shared number ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("Estimado RAMIREZ PEÑA, GUSTAVO: su cita", True),  # surnames first, no accents
        ("hola gustavo peña", True),  # given name and one surname, lower case
        ("Hola Gustavo", False),  # given name alone: weaker
    ],
)
def test_a_name_in_any_order_narrows_and_says_so(store: Store, text: str, full: bool) -> None:
    reg = three_holders(store)
    [r] = record(store, [sms(text)])
    attr = attribution_of(store, r.hit_id)
    best = attr["candidates"][0]
    assert best["copy"] == reg.copies["A"]
    ratio = attribution.NAME_WEIGHT if full else attribution.GIVEN_NAME_WEIGHT
    assert best["score"] == pytest.approx(ratio / (ratio + 2))
    assert ("names its canary 'Gustavo" in best["reason"]) is full


def test_another_canary_value_in_the_message_narrows(store: Store) -> None:
    reg = three_holders(store)
    [r] = record(store, [sms("Su folio RAPG800101HCLMXS01 fue aprobado")])
    best = attribution_of(store, r.hit_id)["candidates"][0]
    assert best["copy"] == reg.copies["A"]
    assert "quotes its canary's id 'RAPG800101HCLMXS01'" in best["reason"]
    assert best["false_accusation_probability"] < 0.1


def test_the_number_itself_in_the_message_is_no_evidence(store: Store) -> None:
    three_holders(store)
    [r] = record(store, [sms("Llámanos al 844 123 4567 o al +52 (844) 123-4567")])
    attr = attribution_of(store, r.hit_id)
    assert [x["score"] for x in attr["candidates"]] == [pytest.approx(1 / 3)] * 3


def test_an_exclusive_hit_states_about_zero(store: Store) -> None:
    reg = three_holders(store)
    [r] = record(
        store, [Observation("smtp", f"rocio.h@{DOMAIN}", observed_at=T0 + timedelta(days=1))]
    )
    attr = attribution_of(store, r.hit_id)
    assert attr["strength"] == "exclusive"
    [only] = attr["candidates"]
    assert only["copy"] == reg.copies["B"]
    assert 0 < attr["false_accusation_probability"] == only["false_accusation_probability"] < 1e-4
    assert "only this copy held the email" in only["reason"]


def test_unattributed_and_noise_hits_name_no_one(store: Store) -> None:
    three_holders(store)
    [r] = record(
        store, [Observation("smtp", f"nadie@{DOMAIN}", observed_at=T0 + timedelta(days=1))]
    )
    assert attribution_of(store, r.hit_id) == {
        "strength": "unattributed",
        "candidates": [],
        "false_accusation_probability": None,
    }


# --- incidents and alerts -----------------------------------------------------------------


def test_a_shared_hit_joins_each_candidates_incident_and_alerts_once(store: Store) -> None:
    reg = three_holders(store)
    [r] = record(store, [sms("Hola Gustavo")])
    with store.session() as s:
        incidents = {i.copy_id: i for i in s.query(Incident).all()}
        assert set(incidents) == set(reg.copies.values())
        for copy_id, inc in incidents.items():
            detail = history.incident_detail(s, inc.id)
            [entry] = detail["timeline"]
            assert entry["id"] == r.hit_id and entry["shared"] is True
            assert (detail["hits"], detail["shared_hits"], detail["exclusive_hits"]) == (1, 1, 0)
        alerts = s.query(Alert).all()
    [alert] = alerts  # one alert for the hit, not one per candidate
    payload = alert.payload
    assert payload["attribution"]["strength"] == "shared"
    text = render_alert(payload)
    assert "SHARED" in text.subject
    for copy_id in reg.copies.values():
        assert copy_id in text.subject
    facts = dict(text.facts)
    assert facts["Attribution"].startswith("SHARED: 3 candidate copies")
    assert facts["Candidate 1"].startswith(reg.copies["A"])
    assert "false-accusation probability" in facts["Candidate 2"]
    assert "Copy" not in facts  # no single copy is named as the source


def test_an_exclusive_first_alert_says_exclusive(store: Store) -> None:
    reg = three_holders(store)
    record(store, [Observation("smtp", f"lfmora@{DOMAIN}", observed_at=T0 + timedelta(days=1))])
    with store.session() as s:
        [alert] = s.query(Alert).all()
        text = render_alert(alert.payload)
    assert "LEAK" in text.subject and reg.copies["C"] in text.subject
    assert dict(text.facts)["Attribution"].startswith("EXCLUSIVE")


def test_several_hits_combine_for_a_copy(store: Store) -> None:
    reg = three_holders(store)
    # The shared number, nothing telling the holders apart, then A's own email.
    record(store, [sms("promo", mid="SM1")])
    record(store, [Observation("smtp", f"gramirez@{DOMAIN}", observed_at=T0 + timedelta(days=4))])
    a = copy_detail(store, reg.copies["A"])["attribution"]
    b = copy_detail(store, reg.copies["B"])["attribution"]
    assert (a["strength"], a["exclusive_hits"], a["shared_hits"]) == ("exclusive", 1, 1)
    assert a["false_accusation_probability"] < 1e-4
    # B holds the number only: with A's email also contacted, A explains both contacts.
    assert (b["strength"], b["exclusive_hits"], b["shared_hits"]) == ("shared", 0, 1)
    assert b["false_accusation_probability"] > 0.999


def test_copies_document_counts_apart(store: Store) -> None:
    reg = three_holders(store)
    record(store, [sms("x", mid="1"), sms("y", mid="2")])
    record(store, [Observation("smtp", f"lfmora@{DOMAIN}", observed_at=T0 + timedelta(days=4))])
    counts = {c["id"]: (c["hits"], c["shared_hits"]) for c in list_copies(store)["copies"]}
    assert counts == {
        reg.copies["A"]: (0, 2),
        reg.copies["B"]: (0, 2),
        reg.copies["C"]: (1, 2),
    }


def test_report_of_a_copy_with_both_kinds_keeps_them_apart(
    sqlite_store: Store, tmp_path: Path
) -> None:
    reg = three_holders(sqlite_store)
    [shared] = record(sqlite_store, [sms("Hola Gustavo")])
    [own] = record(
        sqlite_store,
        [Observation("smtp", f"gramirez@{DOMAIN}", observed_at=T0 + timedelta(days=4))],
    )
    a = reg.copies["A"]
    out = tmp_path / "a.zip"
    write_bundle(sqlite_store, a, out, SIGNER, lang="en")
    with zipfile.ZipFile(out) as zf:
        page = zf.read("report.html").decode()
        hit_docs = [
            json.loads(zf.read(n))
            for n in zf.namelist()
            if n.endswith(".json") and n.startswith("hits/")
        ]
    doc = parse(page)
    opening = doc.by_id("opening").text
    assert "1 contact(s) reached canaries that only copy" in opening
    assert "1 more contact(s) reached canaries this copy shares" in opening
    excl = doc.by_id("exclusive-hits")
    assert excl.all(id=f"hit-{own.hit_id}") and not excl.all(id=f"hit-{shared.hit_id}")
    assert doc.by_id("shared-hits").all(id=f"hit-{shared.hit_id}")
    assert {d["attribution"]["strength"] for d in hit_docs} == {"exclusive", "shared"}


def test_a_burst_of_shared_hits_is_counted_in_every_candidates_incident(store: Store) -> None:
    reg = three_holders(store)
    record(store, [sms(f"promo {i}", mid=f"SM{i}") for i in range(5)])
    with store.session() as s:
        incidents = {i.copy_id: i for i in s.query(Incident).all()}
        assert set(incidents) == set(reg.copies.values())
        for inc in incidents.values():
            detail = history.incident_detail(s, inc.id)
            assert (detail["hits"], detail["shared_hits"]) == (5, 5)
            assert inc.alerted_hit_count <= inc.hit_count
        assert len(s.query(Alert).all()) == 1


def test_a_digest_says_how_many_new_hits_are_shared(store: Store) -> None:
    from datetime import UTC, datetime

    from canary.alerts.messages import digest_payload

    reg = three_holders(store)
    [first] = record(store, [sms("uno", mid="SM1")])
    record(store, [sms("dos", mid="SM2"), sms("tres", mid="SM3")])
    record(store, [Observation("smtp", f"gramirez@{DOMAIN}", observed_at=T0 + timedelta(days=5))])
    with store.session() as s:
        inc = s.query(Incident).filter(Incident.copy_id == reg.copies["A"]).one()
        payload = digest_payload(s, inc, 3, first.hit_id, datetime.now(UTC))
    assert payload["counts"]["shared"] == 2 and payload["counts"]["new"] == 3
    facts = dict(render_alert(payload).facts)
    assert facts["Shared hits"].startswith("2 of the new hits reached a canary other copies")


def test_incident_commands_mark_shared_hits(
    store: Store, store_url: str, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = three_holders(store)
    [r] = record(store, [sms("promo")])
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    res = cli("incidents")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if reg.copies["B"] in ln]
    assert len(lines) == 1 and "1 hits (1 shared)" in lines[0]
    doc = json.loads(cli("incidents", "--json").stdout)
    inc_b = next(i for i in doc["incidents"] if i["copy"] == reg.copies["B"])
    res = cli("incident", str(inc_b["id"]))
    assert res.exit_code == 0, res.output
    assert "(0 exclusive, 1 shared with other copies)" in res.stdout
    [line] = [ln for ln in res.stdout.splitlines() if SHARED_E164 in ln]
    assert "SHARED with" in line and all(c in line for c in reg.copies.values())
    detail = json.loads(cli("incident", str(inc_b["id"]), "--json").stdout)
    assert [(h["id"], h["shared"]) for h in detail["timeline"]] == [(r.hit_id, True)]
