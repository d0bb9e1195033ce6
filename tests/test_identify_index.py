"""identify's needle index kept in the store: used while current, never once stale."""

from __future__ import annotations

import bisect
import json
import os
import random
import subprocess
import sys
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, func, select, text, update

from canary.investigate import identify as identify_mod
from canary.investigate import needles, scan
from canary.investigate.identify import Scanner, identify, identify_text, load_index
from canary.investigate.scan import KEY_PREFIX, Engine
from canary.store.engine import Store
from canary.store.models import Domain, Identifier, IdentifyGeneration, NeedleIndexPart
from tests.registry_support import DOMAIN, Person, Register, build

ANA = Person("Ana Ruiz Ortega", f"ana.ruiz@{DOMAIN}", "+52 844 123 4567", "F-009872")
EVA = Person("Eva Soto Lara", f"eva.soto@{DOMAIN}", "+52 844 765 4321", "F-009873")


@pytest.fixture
def reg(store: Store) -> Register:
    return build(store, {"Partido Azul": [ANA]})


def copies(store: Store, text: str) -> list[str]:
    return [c["id"] for c in identify_text(store, text)["copies"]]


def stored_generation(store: Store) -> int | None:
    with store.session() as s:
        return s.scalar(select(NeedleIndexPart.generation).where(NeedleIndexPart.part == "meta"))


def current_generation(store: Store) -> int:
    with store.session() as s:
        return s.scalars(select(IdentifyGeneration.value)).one()


def test_the_index_is_stored_and_reused_while_nothing_changes(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]
    assert stored_generation(store) == current_generation(store)

    def no_rebuild(*_: object) -> None:
        raise AssertionError("rebuilt although the register did not change")

    monkeypatch.setattr(needles, "build", no_rebuild)
    assert copies(store, "tel (844) 123-4567") == [reg.copies["Partido Azul"]]


def test_a_canary_added_after_the_index_was_built_is_found(store: Store, reg: Register) -> None:
    load_index(store)  # builds and stores the index of Ana alone
    before = stored_generation(store)
    later = build(store, {"Partido Verde": [EVA]})
    assert current_generation(store) != before  # the insert moved the register on
    dump = f"{EVA.email}; Eva Soto Lara; +52 (844) 765-4321"
    assert copies(store, dump) == [later.copies["Partido Verde"]]
    assert stored_generation(store) == current_generation(store)


def test_a_deleted_identifier_is_never_matched_by_an_index_built_before(
    store: Store, reg: Register
) -> None:
    load_index(store)
    with store.session() as s:
        s.execute(delete(Identifier).where(Identifier.value == ANA.email))
    assert copies(store, f"contacto: {ANA.email}") == []
    assert stored_generation(store) == current_generation(store)


def test_an_index_read_after_the_delete_but_built_before_it_matches_nothing(
    store: Store, reg: Register
) -> None:
    with store.engine.connect() as conn:
        stale = needles.build(conn)  # holds Ana's address
    assert stale.identifiers(b"anaruizcorreosegurotest") is not None
    with store.session() as s:
        s.execute(delete(Identifier).where(Identifier.value == ANA.email))
    idx = load_index(store)
    idx.needles = stale  # as if a scan had started before the delete
    idx.ensure("anaruizcorreosegurotest")
    assert idx.emails == {}  # the row is gone when the hit reads it


def test_a_changed_value_is_looked_up_as_it_is_now(store: Store, reg: Register) -> None:
    load_index(store)
    new = f"ana.ortega@{DOMAIN}"
    with store.session() as s:
        s.execute(update(Identifier).where(Identifier.value == ANA.email).values(value=new))
    assert copies(store, f"contacto: {ANA.email}") == []
    assert copies(store, f"contacto: {new}") == [reg.copies["Partido Azul"]]


def test_a_domain_added_later_reports_unknown_addresses_at_it(store: Store, reg: Register) -> None:
    text = "escribe a quien@nuevo-dominio.test"
    assert identify_text(store, text)["unmatched_canary_domain_addresses"] == []
    with store.session() as s:
        s.add(Domain(name="nuevo-dominio.test"))
    assert identify_text(store, text)["unmatched_canary_domain_addresses"] == [
        "quien@nuevo-dominio.test"
    ]


def test_an_index_split_over_many_rows_reads_back_whole(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(store, {"Partido Verde": [EVA]})
    monkeypatch.setattr(needles, "PART_BYTES", 16)
    built = needles.load(store)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(NeedleIndexPart)) > 8
    again = needles.load(store)
    assert again.keys == built.keys and list(again.ids) == list(built.ids)
    assert list(again.starts) == list(built.starts) and again.lengths == {10}
    assert again.codes == {"52"} and again.word_len == built.word_len > 0


def test_a_prefix_met_over_and_over_does_not_hide_another_needle_of_that_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from canary.investigate import scan

    monkeypatch.setattr(scan, "MAX_HITS_PER_NEEDLE", 5)
    common = b"mariagarcialopez"  # a real name, as long as the automaton's prefix
    assert len(common) == KEY_PREFIX
    engine = Engine([common, common + b"84correosegurotest"])
    data = b"Maria Garcia Lopez\n" * 20 + b"MARIA.GARCIA.LOPEZ84@correo-seguro.test\n"
    hits = list(engine.scan(data))
    assert len(hits) == 6  # five of the name, then the address, counted apart
    last = hits[-1]
    assert data[last.start : last.end].strip() == b"MARIA.GARCIA.LOPEZ84@correo-seguro.test"


TWO_PROCESSES = """
import json, sys
from pathlib import Path
from canary.investigate import identify as m
from canary.store.engine import open_store
halves = []
real = m.scan_halves
def counting(scanner, path, size):
    halves.append(size)
    real(scanner, path, size)
m.PARALLEL_BYTES = 1
m.scan_halves = counting
store = open_store(sys.argv[1])
result = m.identify(store, Path(sys.argv[2]))
print(json.dumps({"halves": halves, "result": result}, default=str))
"""


def test_a_dump_scanned_in_two_processes_finds_a_value_the_middle_cuts(
    store: Store, reg: Register, tmp_path: Path
) -> None:
    verde = build(store, {"Partido Verde": [EVA]}).copies["Partido Verde"]
    filler = "".join(
        f"F-{i},Persona {i},persona{i}@gmail.com,81 {1000 + i} 2000\n" for i in range(300)
    )
    straddling = f"F-9,Eva Soto Lara,{EVA.email.upper()},+52 (844) 765-4321\n"
    near_middle = f"F-8,x,{ANA.email},\n"  # in the child's overlap, before its first window
    head = filler + near_middle
    body = head + filler[: len(filler) - len(near_middle)]
    assert len(body) > identify_mod.OVERLAP
    text = "Ana Ruiz Ortega\n" + body + straddling + body + "tel. 844-123-4567\n"
    middle = len(text.encode()) // 2
    start = text.index(straddling)
    assert start < middle < start + len(straddling)  # the middle cuts the line
    path = tmp_path / "dump.csv"
    path.write_text(text, encoding="utf-8")
    sequential = identify(store, path)
    # In a fresh process: identify forks only while it is the process's one thread, and
    # earlier tests in this one leave threads behind.
    url = store.engine.url.render_as_string(hide_password=False)
    out = subprocess.run(
        [sys.executable, "-c", TWO_PROCESSES, url, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["halves"] == [len(text.encode())]
    parallel = got["result"]
    assert parallel == json.loads(json.dumps(sequential, default=str))
    azul = reg.copies["Partido Azul"]
    assert {c["id"] for c in parallel["copies"]} == {azul, verde}
    found = {c["id"]: {i["value"] for i in c["identifiers"]} for c in parallel["copies"]}
    assert found[verde] == {EVA.email, "+528447654321", "Eva Soto Lara"}
    assert found[azul] == {ANA.email, "+528441234567", "Ana Ruiz Ortega"}


def test_when_the_second_process_fails_this_one_scans_its_half(
    store: Store, reg: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dump.txt"
    path.write_text("x" * 5000 + f"\n{ANA.email}\n", encoding="utf-8")
    monkeypatch.setattr(identify_mod, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(identify_mod.Scanner, "found_state", _fail_in_child(os.getpid()))
    result = identify(store, path)
    assert [c["id"] for c in result["copies"]] == [reg.copies["Partido Azul"]]


def _fail_in_child(parent: int) -> Callable[[Scanner], dict[str, Any]]:
    real = identify_mod.Scanner.found_state

    def found_state(self: Scanner) -> dict[str, Any]:
        if os.getpid() != parent:
            raise RuntimeError("the child dies")
        return real(self)

    return found_state


def test_the_kept_automaton_is_read_back_not_built(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("daachorse")
    assert needles.load(store).kept_automaton()  # built once, kept with the index

    def no_build(*_: object) -> None:
        raise AssertionError("automaton built although one is kept")

    monkeypatch.setattr(scan, "double_array", no_build)
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]


def test_an_index_kept_by_another_engine_is_rebuilt(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    needles.load(store)
    monkeypatch.setattr(needles, "engine_name", lambda: "another-engine 9")
    rebuilt: list[int] = []
    real = needles.build

    def counting(conn: Connection) -> needles.NeedleIndex:
        rebuilt.append(1)
        return real(conn)

    monkeypatch.setattr(needles, "build", counting)
    needles.load(store)
    needles.load(store)
    assert rebuilt == [1]  # rebuilt once, then kept for this engine


def test_both_automata_find_the_same_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("daachorse")
    keys = sorted(
        {b"anaruizcorreosegurotest", b"8441234567", b"anaruizortega", b"ruizortegaana", b"ana1"}
    )
    data = (
        "x,Ana RUIZ Ortega,ana.ruiz@correo-seguro.test,(844) 123-4567\n"
        "Ruiz Ortega, Ana; ana1; Núñez 844.123.45.67\n"
    ).encode() * 3
    fast = [(h.start, h.end) for h in Engine(keys).scan(data)]
    monkeypatch.setattr(scan, "_DAACHORSE", None)
    assert [(h.start, h.end) for h in Engine(keys).scan(data)] == fast
    assert len(fast) == 18


def test_without_its_triggers_the_index_is_built_each_run_and_never_kept(
    store: Store, reg: Register
) -> None:
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER identifiers_identify_generation_insert"))
        else:
            conn.execute(text("DROP TRIGGER identifiers_identify_generation ON identifiers"))
        conn.execute(delete(NeedleIndexPart))
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]
    later = build(store, {"Partido Verde": [EVA]})  # moves no generation now
    assert copies(store, f"contacto: {EVA.email}") == [later.copies["Partido Verde"]]
    assert stored_generation(store) is None


def test_needles_held_run_together_read_and_sort_as_a_list() -> None:
    listed = sorted([b"anaruiz", b"ana", b"5218441234567", b"zz", b"anaruizortega"])
    keys = needles.Keys.of(listed)
    assert len(keys) == 5 and list(keys) == listed and keys[-1] == b"zz"
    assert keys[1:3] == listed[1:3]
    for probe in (b"", b"ana", b"anar", b"anaruizortega", b"zzz", b"0"):
        assert bisect.bisect_left(keys, probe) == bisect.bisect_left(listed, probe)
    with pytest.raises(IndexError):
        keys[5]


def test_a_stored_index_whose_needle_ends_disagree_is_rebuilt(store: Store, reg: Register) -> None:
    built = needles.load(store)
    needles.discard_file(store)  # the parts are read from the store, not its mapped file
    with store.session() as s:  # a torn write: where the needles end no longer fits them
        s.execute(
            update(NeedleIndexPart)
            .where(NeedleIndexPart.part == "key_ends")
            .values(data=array("q", built.keys.ends[:-1]).tobytes())
        )
    assert needles.load(store).keys == built.keys
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]


@pytest.mark.parametrize("extra", ["", "€"])  # Latin text (one translate), other (decoded)
def test_a_hit_maps_back_to_the_bytes_that_project_to_it_anywhere_in_a_piece(extra: str) -> None:
    """The way back from the projection is built as hits ask for it (groups of blocks up
    to the furthest hit, blocks only in the groups hit): hits at any place of a piece
    larger than a group, asked in any order, map back to bytes projecting to them."""
    rnd = random.Random(8)
    alphabet = ["a", "B", ",", " ", "\n", "é", "Ñ", "8", "(", "-", extra or "o"]
    data = "".join(rnd.choice(alphabet) * rnd.randint(1, 9) for _ in range(60_000)).encode()
    assert len(data) > 4 * scan.BLOCK * scan.GROUP
    text, project = scan.projected(data)
    piece = scan._Piece(data, project)
    spans = [tuple(sorted(rnd.sample(range(len(text) + 1), 2))) for _ in range(40)]
    spans += [(0, 5), (len(text) - 5, len(text))]
    rnd.shuffle(spans)
    for start, end in spans:
        lo, hi = piece.original(start), piece.original(end)
        assert project(data[lo:hi]) == text[start:end]
        assert len(project(data[:lo])) == start
