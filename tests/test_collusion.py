"""Coded canaries end to end: `canary issue --collusion 2`, two colluders intersect
their copies, and `canary identify` names both with the code's bound."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from canary.codes import spec_for
from canary.config import Config
from canary.hits.record import Observation, record
from canary.investigate.identify import identify_dump
from canary.issue.plant import IssuedCopy, IssueRequest, issue_copies
from canary.store import register as registry
from canary.store.engine import Store
from canary.store.models import (
    Canary,
    CodeMark,
    CodePosition,
    CollusionCode,
    HitCopy,
    Identifier,
)
from tests.cli_support import canary
from tests.test_plant import make_csv


def _ready(store: Store, phones: int = 12) -> None:
    registry.add_domain(store, "correo-avisos.mx")
    for i in range(phones):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")


def intersect(a: Path, b: Path, out: Path) -> int:
    """The rows two copies share (header first), in the first copy's order."""
    rows_b = set(b.read_bytes().split(b"\r\n"))
    kept = [ln for ln in a.read_bytes().split(b"\r\n") if ln in rows_b]
    out.write_bytes(b"\r\n".join(kept))
    return len(kept)


def test_issue_with_collusion_keeps_the_code_in_the_store(store: Store, tmp_path: Path) -> None:
    _ready(store)
    src = tmp_path / "registro.csv"
    original = make_csv(src, 400)
    copies = issue_copies(
        store,
        Config(),
        IssueRequest(
            str(src), ["A", "B", "C", "D"], canaries=3, out_dir=tmp_path / "o", seed=3, collusion=2
        ),
    )
    spec = spec_for(2, 4)
    with store.session() as s:
        [code] = s.scalars(select(CollusionCode)).all()
        assert (code.coalition, code.copies) == (2, [c.id for c in copies])
        biases = s.scalars(select(CodePosition.bias).where(CodePosition.code_id == code.id)).all()
        assert len(biases) == code.length and set(biases) == {spec.bias}
        for c in copies:
            marks = s.scalar(select(func.count()).where(CodeMark.copy_id == c.id))
            held = s.scalar(select(func.count()).where(Canary.copy_id == c.id))
            # --canaries counts the copy's own; the figure counts every row it holds
            assert c.coded == marks and c.canaries == held == 3 + marks
            assert 0.5 * spec.rows_per_copy < marks < 1.5 * spec.rows_per_copy
            data = Path(c.path).read_bytes()
            assert len(data.split(b"\r\n")) == len(original.split(b"\r\n")) + c.canaries
        # a coded canary's row is the same in every copy holding it
        rows: dict[int, set[str]] = {}
        for position, canary_id in s.execute(select(CodeMark.position, CodeMark.canary_id)):
            values = s.get(Canary, canary_id).values  # type: ignore[union-attr]
            rows.setdefault(position, set()).add(json.dumps(values, sort_keys=True))
        assert rows and all(len(v) == 1 for v in rows.values())


def test_without_the_flag_nothing_is_coded(store: Store, tmp_path: Path) -> None:
    _ready(store)
    src = tmp_path / "r.csv"
    make_csv(src, 60)
    copies = issue_copies(
        store, Config(), IssueRequest(str(src), ["A", "B", "C"], out_dir=tmp_path / "o", seed=1)
    )
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(CollusionCode)) == 0
        assert s.scalar(select(func.count()).select_from(CodeMark)) == 0
    assert all(c.coded == 0 for c in copies)


def test_intersection_of_two_real_copies_names_both(tmp_path: Path) -> None:
    env = {"CANARY_CONFIG": str(tmp_path / "canary.toml")}
    assert canary("init", cwd=tmp_path, env=env).returncode == 0
    assert canary("domain", "add", "correo-avisos.mx", cwd=tmp_path, env=env).returncode == 0
    for i in range(6):
        r = canary(
            "phone", "add", f"+52844555{1000 + i}", "--provider", "twilio", cwd=tmp_path, env=env
        )
        assert r.returncode == 0, r.stderr
    src = tmp_path / "registro.csv"
    make_csv(src, 400)
    r = canary(
        "issue",
        str(src),
        *[a for n in "ABCDE" for a in ("-r", f"Partido {n}")],
        "--canaries",
        "3",
        "--collusion",
        "2",
        "-o",
        "out",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    copies = json.loads(r.stdout)["copies"]
    by = {c["recipient"]: c for c in copies}
    a, b = by["Partido B"], by["Partido D"]
    dump = tmp_path / "found.csv"
    kept = intersect(Path(a["path"]), Path(b["path"]), dump)
    assert kept > 300
    r = canary("identify", str(dump), "--json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    coded = {c["id"]: c for c in doc["copies"] if c.get("strength") == "coded"}
    # The code names both colluders and no innocent copy, and nothing in an intersection
    # is exclusive to one copy; the colluders rank first, each with a lower P than any
    # innocent copy. The intersection keeps every coded canary both hold (about 35 of
    # the code's 384 for five copies): a copy holding all of them is bounded near
    # 5 * 0.3^35, an innocent one holds about 30% and scores near 0. Over 100 seeded
    # runs both colluders were named in each, no innocent copy in any.
    assert set(coded) == {a["id"], b["id"]}
    assert not [c for c in doc["copies"] if c["strength"] == "exclusive"]
    for c in coded.values():
        assert 0 <= c["false_accusation_probability"] <= 1e-3
        assert c["code"]["named"] is True
    ranked = [c["id"] for c in doc["copies"]]
    assert set(ranked[:2]) == {a["id"], b["id"]}
    innocent = [c for c in doc["copies"] if c["id"] not in (a["id"], b["id"])]
    worst_colluder = max(c["false_accusation_probability"] for c in doc["copies"][:2])
    assert all(c["false_accusation_probability"] > worst_colluder for c in innocent)
    others = [c for c in doc["copies"] if c["id"] not in coded]
    assert all(c.get("strength") != "coded" for c in others)
    assert all(c.get("false_accusation_probability", 1) > 1e-3 for c in others)


def _coded_copies(
    store: Store, tmp_path: Path, seed: int = 9, phones: int = 12
) -> list[IssuedCopy]:
    """Five copies (A..E) of a 400-row registry coded against two colluders."""
    _ready(store, phones)
    src = tmp_path / "registro.csv"
    make_csv(src, 400)
    return issue_copies(
        store,
        Config(),
        IssueRequest(
            str(src), list("ABCDE"), canaries=3, out_dir=tmp_path / "o", seed=seed, collusion=2
        ),
    )


def _shared_addresses(store: Store, b: str, d: str, k: int) -> list[str]:
    """The addresses of up to `k` coded canaries both copies hold."""
    held = _positions(store)
    with store.session() as s:
        canary_of = dict(s.execute(select(CodeMark.position, CodeMark.canary_id)).all())
        emails = [
            s.scalar(
                select(Identifier.value).where(
                    Identifier.canary_id == canary_of[p], Identifier.kind == "email"
                )
            )
            for p in [p for p, h in held.items() if {b, d} <= h][:k]
        ]
    assert all(emails)
    return [e for e in emails if e]


def test_contact_on_coded_canaries_is_ranked_by_the_code(store: Store, tmp_path: Path) -> None:
    """Mail to coded canaries that copies B and D share: after enough of them the code
    names B and D, and each hit's reason states the bound."""
    b, d = (c.id for c in _coded_copies(store, tmp_path)[1::2])
    emails = _shared_addresses(store, b, d, 25)
    recorded = [  # one at a time, as contact arrives
        record(
            store,
            [Observation(channel="smtp", identifier=e, provider="t", provider_message_id=f"m{i}")],
        )[0]
        for i, e in enumerate(emails)
    ]
    last = recorded[-1]
    assert set(last.copies[:2]) == {b, d}
    with store.session() as s:
        reasons = {
            c.copy_id: c.reason
            for c in s.scalars(select(HitCopy).where(HitCopy.hit_id == last.hit_id))
        }
    assert "the code names it" in reasons[b] and "false-accusation probability" in reasons[b]


def _positions(store: Store) -> dict[int, set[str]]:
    """Each code position's holders (copy ids)."""
    held: dict[int, set[str]] = {}
    with store.session() as s:
        for pos, copy_id in s.execute(select(CodeMark.position, CodeMark.copy_id)):
            held.setdefault(pos, set()).add(copy_id)
    return held


def test_a_pool_number_in_the_dump_counts_for_no_coded_canary(store: Store, tmp_path: Path) -> None:
    """The code counts a coded canary as found only when the dump holds an identifier
    of that person alone. The six pool numbers sit in coded rows of every copy: counting
    the copies' canaries behind a number found (one per copy, as the copy list shows)
    gave innocent copies positions the dump never held (82 counted where 23 were there)."""
    copies = _coded_copies(store, tmp_path, seed=3, phones=6)
    b, d = copies[1], copies[3]
    dump = tmp_path / "found.csv"
    intersect(Path(b.path), Path(d.path), dump)
    result = identify_dump(store, dump)
    held = _positions(store)
    in_dump = [p for p, h in held.items() if {b.id, d.id} <= h]
    assert "(844) 555-10" in dump.read_text(encoding="utf-8")  # a pool number, as written
    coded = {c.id: c.code for c in result.copies if c.code is not None}
    assert set(coded) == {c.id for c in copies}
    for copy in copies:
        doc = coded[copy.id]
        assert doc["coded_found"] == len(in_dump)
        assert doc["coded_held"] == sum(1 for p in in_dump if copy.id in held[p])
    named = {c.id for c in result.copies if c.strength.value == "coded"}
    assert named == {b.id, d.id}


def test_contact_on_a_pool_number_counts_for_no_coded_canary(store: Store, tmp_path: Path) -> None:
    """A message to a pool number that coded canaries of several copies carry says one
    of them was contacted, not which: the code's count of canaries contacted is the
    addresses' alone."""
    b, d = (c.id for c in _coded_copies(store, tmp_path)[1::2])
    emails = _shared_addresses(store, b, d, 12)
    with store.session() as s:
        numbers = sorted(
            set(
                s.scalars(
                    select(Identifier.value)
                    .join(CodeMark, CodeMark.canary_id == Identifier.canary_id)
                    .where(Identifier.kind == "phone")
                )
            )
        )
    assert numbers
    for i, number in enumerate(numbers):  # texts to the pool first: none counts
        record(
            store,
            [
                Observation(
                    channel="sms", identifier=number, provider="t", provider_message_id=f"s{i}"
                )
            ],
        )
    last = None
    for i, e in enumerate(emails):
        [last] = record(
            store,
            [Observation(channel="smtp", identifier=e, provider="t", provider_message_id=f"m{i}")],
        )
    assert last is not None
    with store.session() as s:
        reasons = {
            c.copy_id: c.reason
            for c in s.scalars(select(HitCopy).where(HitCopy.hit_id == last.hit_id))
        }
    assert f"({len(emails)} of {len(emails)} coded canaries contacted" in reasons[b]
    assert f"({len(emails)} of {len(emails)} coded canaries contacted" in reasons[d]
