"""Several canaries at one boundary: a dense sorted id leaves room only at the end.

Every format must place all of them there, in order, each make_row seeing the canary
placed just before it as `prev`, so the id sequence simply continues.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import random
import sqlite3
from pathlib import Path

import openpyxl
import pytest

import canary.formats.delimited as delimited_mod
from canary.formats import CopyTarget, Insertion, open_table

N_ROWS = 300
N_CANARIES = 7


def ids(n: int) -> list[str]:
    return [f"F-{i:05d}" for i in range(1, n + 1)]


class NextId:
    """A make_row for a table sorted by a dense id: only after the last row fits.

    It refuses whenever there is a next row (no id fits between two dense ids) and
    otherwise continues the sequence from `prev`.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.calls: list[tuple[list[str] | None, list[str] | None]] = []

    def __call__(self, prev: list[str] | None, nxt: list[str] | None) -> list[str] | None:
        self.calls.append((prev, nxt))
        if nxt is not None or prev is None:
            return None
        new = f"F-{int(prev[0][2:]) + 1:05d}"
        return [new, "Canario"] + ["7"] * (self.width - 2)


def insertions(seed: int, width: int) -> list[Insertion]:
    rnd = random.Random(seed)
    fracs = [rnd.random() for _ in range(N_CANARIES - 2)] + [1.0, 0.0]
    return [Insertion(f, NextId(width)) for f in fracs]


def expected_ids() -> list[str]:
    return [f"F-{i:05d}" for i in range(N_ROWS + 1, N_ROWS + N_CANARIES + 1)]


def check_target(t: CopyTarget) -> None:
    assert [r[0] for r in t.rows] == expected_ids()
    assert t.positions == list(range(N_ROWS, N_ROWS + N_CANARIES))
    assert t.sha256 == hashlib.sha256(t.path.read_bytes()).hexdigest()


def write_csv(path: Path, *, terminator: str, trailing: bool, multiline: bool) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=terminator)
    w.writerow(["folio", "nombre", "nota", "monto"])
    for i, folio in enumerate(ids(N_ROWS)):
        note = f'dice, "hola"\n{i}' if multiline and i % 9 == 4 else f"nota {i}"
        w.writerow([folio, "Peña", note, str(i)])
    text = buf.getvalue()
    if not trailing:
        text = text[: -len(terminator)]
    data = text.encode("utf-8")
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("chunk", [8 << 20, 512])
@pytest.mark.parametrize(
    ("terminator", "trailing", "multiline"),
    [("\r\n", True, True), ("\n", False, True), ("\n", True, False), ("\r\n", False, False)],
)
def test_delimited_places_every_canary_after_the_last_row(
    tmp_path, monkeypatch, chunk, terminator, trailing, multiline
):
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", chunk)
    src = tmp_path / "t.csv"
    original = write_csv(src, terminator=terminator, trailing=trailing, multiline=multiline)
    targets = [CopyTarget(tmp_path / f"c{k}.csv", insertions(k, 4)) for k in range(2)]
    open_table(src).write_copies(targets)
    for t in targets:
        check_target(t)
        copy = t.path.read_bytes()
        # The copy is the source followed by the canary records, in the source's style.
        if trailing:
            assert copy.startswith(original)
            tail = copy[len(original) :]
        else:
            assert copy.startswith(original + terminator.encode())
            tail = copy[len(original) + len(terminator) :] + terminator.encode()
        rows = list(csv.reader(io.StringIO(tail.decode(), newline="")))
        assert rows == t.rows
        assert tail.endswith(terminator.encode()) and tail.count(b"\n") == N_CANARIES
        all_rows = list(csv.reader(io.StringIO(copy.decode(), newline="")))[1:]
        assert [all_rows[p] for p in t.positions] == t.rows
        # Each canary after the first was made with the one before it as `prev`.
        makers = [i.make_row for i in sorted(t.insertions, key=lambda i: i.fraction)]
        prevs = [m.calls[-1][0][0] for m in makers]  # type: ignore[attr-defined]
        assert prevs == [f"F-{i:05d}" for i in range(N_ROWS, N_ROWS + N_CANARIES)]


@pytest.mark.parametrize(("terminator", "trailing"), [("\r\n", True), ("\n", False)])
def test_delimited_end_only_insertions_parse_no_record_before_the_end(
    tmp_path, monkeypatch, terminator, trailing
):
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 512)
    src = tmp_path / "t.csv"
    original = write_csv(src, terminator=terminator, trailing=trailing, multiline=True)
    parsed: list[bytes] = []
    real = delimited_mod.parse_record

    def spy(raw, d):
        parsed.append(bytes(raw))
        return real(raw, d)

    monkeypatch.setattr(delimited_mod, "parse_record", spy)
    makers = [NextId(4) for _ in range(3)]
    t = CopyTarget(tmp_path / "c.csv", [Insertion(1.0, m) for m in makers])
    table = open_table(src)
    parsed.clear()  # detection parses a sample; the copy must parse only the last row
    table.write_copies([t])
    assert [r[0] for r in t.rows] == expected_ids()[:3]
    assert t.positions == [N_ROWS, N_ROWS + 1, N_ROWS + 2]
    assert len(parsed) == 1 and parsed[0].startswith(b"F-00300,")
    assert [len(m.calls) for m in makers] == [1, 1, 1]
    copy = t.path.read_bytes()
    assert copy.startswith(original) and copy.endswith(b",7" + (terminator.encode() * trailing))
    all_rows = list(csv.reader(io.StringIO(copy.decode(), newline="")))[1:]
    assert len(all_rows) == N_ROWS + 3
    assert [all_rows[p] for p in t.positions] == t.rows


def test_a_canary_refused_even_at_the_end_is_dropped_and_logged(tmp_path, caplog):
    src = tmp_path / "t.csv"
    write_csv(src, terminator="\n", trailing=True, multiline=False)

    def never(prev, nxt):
        return None

    t = CopyTarget(tmp_path / "c.csv", [Insertion(0.5, never), Insertion(0.9, NextId(4))])
    with caplog.at_level(logging.WARNING, logger="canary.formats"):
        open_table(src).write_copies([t])
    assert [r[0] for r in t.rows] == [f"F-{N_ROWS + 1:05d}"]
    assert t.positions == [N_ROWS]
    assert "found no place" in caplog.text


def people() -> list[dict]:
    return [{"id": f, "nombre": "Peña", "monto": i} for i, f in enumerate(ids(N_ROWS))]


def test_jsonl_places_every_canary_after_the_last_row(tmp_path):
    for trailing in (True, False):
        src = tmp_path / f"t{trailing}.jsonl"
        text = "\n".join(json.dumps(o, ensure_ascii=False) for o in people())
        original = (text + ("\n" if trailing else "")).encode()
        src.write_bytes(original)
        t = CopyTarget(tmp_path / f"c{trailing}.jsonl", insertions(3, 3))
        open_table(src).write_copies([t])
        check_target(t)
        copy = t.path.read_bytes()
        assert copy.startswith(original)
        objs = [json.loads(line) for line in copy.decode().splitlines()]
        assert [o["id"] for o in objs] == ids(N_ROWS) + expected_ids()
        assert objs[:N_ROWS] == people()


def test_json_places_every_canary_after_the_last_row(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(people(), indent=2, ensure_ascii=False), encoding="utf-8")
    t = CopyTarget(tmp_path / "c.json", insertions(4, 3))
    open_table(src).write_copies([t])
    check_target(t)
    objs = json.loads(t.path.read_text(encoding="utf-8"))
    assert [o["id"] for o in objs] == ids(N_ROWS) + expected_ids()
    assert objs[:N_ROWS] == people()


def write_xlsx(path: Path) -> Path:
    """A sheet of N_ROWS rows numbered in order."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "nombre", "monto"])
    for i, f in enumerate(ids(N_ROWS)):
        ws.append([f, "Peña", i])
    wb.save(path)
    wb.close()
    return path


def test_xlsx_places_every_canary_after_the_last_row(tmp_path):
    src = write_xlsx(tmp_path / "t.xlsx")
    t = CopyTarget(tmp_path / "c.xlsx", insertions(5, 3))
    open_table(src).write_copies([t])
    check_target(t)
    wb = openpyxl.load_workbook(t.path, read_only=True)
    try:
        got = [r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)]
    finally:
        wb.close()
    assert got == ids(N_ROWS) + expected_ids()


def make_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("create table padron (id text primary key, nombre text, monto integer)")
    con.executemany(
        "insert into padron values (?, ?, ?)", [(f, "Peña", i) for i, f in enumerate(ids(N_ROWS))]
    )
    con.commit()
    con.close()


@pytest.mark.parametrize("url", [False, True])
def test_sql_places_every_canary_after_the_last_row(tmp_path, url):
    src = tmp_path / "t.sqlite"
    make_db(src)
    table = open_table(f"sqlite:///{src}" if url else src, table="padron")
    targets = [CopyTarget(tmp_path / f"c{k}.sqlite", insertions(6 + k, 3)) for k in range(2)]
    table.write_copies(targets)
    for t in targets:
        check_target(t)
        con = sqlite3.connect(t.path)
        try:
            got = [r[0] for r in con.execute("select id from padron order by rowid")]
        finally:
            con.close()
        assert got == ids(N_ROWS) + expected_ids()


class OnlyAfter:
    """A make_row with room in one place only: right after the row with id `folio` (a
    table sorted by a name whose canaries filled the room after the last row)."""

    def __init__(self, folio: str) -> None:
        self.folio = folio

    def __call__(self, prev: list[str] | None, nxt: list[str] | None) -> list[str] | None:
        if prev is None or nxt is None or prev[0] != self.folio:
            return None
        return ["F-00010b", "Canario", "7"]


def test_xlsx_a_canary_refused_after_its_place_goes_higher_up(tmp_path, caplog):
    src = write_xlsx(tmp_path / "t.xlsx")
    t = CopyTarget(tmp_path / "c.xlsx", [Insertion(0.9, OnlyAfter("F-00010"))])
    with caplog.at_level(logging.WARNING, logger="canary.formats"):
        open_table(src).write_copies([t])
    assert [r[0] for r in t.rows] == ["F-00010b"]
    assert t.positions == [10]
    assert "found no place" not in caplog.text
