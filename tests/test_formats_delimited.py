"""Delimited text: copies are the source's bytes plus whole records, in the source's dialect."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import random
import time
from pathlib import Path

import pytest

from canary.errors import InputError
from canary.formats import Collision, CopyTarget, Insertion, _dialect, open_table
from canary.formats import _dialect as dialect_mod
from canary.formats import _needles as needles_mod
from canary.formats import _stream as stream_mod
from canary.formats import delimited as delimited_mod
from canary.formats._dialect import count_records, quote_marks

NAMES = ["Peña", "Ñuñoa", "José Álvarez", "Zoë", "Müller"]


def make_rows(n: int, *, multiline: bool, delimiter: str) -> list[list[str]]:
    rows = []
    for i in range(n):
        note = f"nota {i}"
        if i % 7 == 3:
            note = f'dice {delimiter} y "cita" {i}'
        if multiline and i % 11 == 5:
            note = f"línea uno\r\nlínea dos {i}" if i % 2 else f"primera\nsegunda {i}"
        rows.append(
            [f"F{i:05d}", NAMES[i % len(NAMES)], f"persona{i}@example.com", note, str(i * 3)]
        )
    return rows


def write_source(
    path: Path,
    rows: list[list[str]],
    *,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    terminator: str = "\r\n",
    encoding: str = "utf-8",
    trailing: bool = True,
) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=terminator)
    w.writerow(["folio", "nombre", "correo", "nota", "monto"])
    w.writerows(rows)
    text = buf.getvalue()
    if not trailing:
        text = text[: -len(terminator)]
    data = text.encode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
    path.write_bytes(data)
    return data


def split_raw(text: str) -> list[str]:
    """Independent splitter: records as written (terminator included), quote-aware."""
    out, start, inside, i = [], 0, False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            inside = not inside
        elif not inside and ch in "\r\n":
            end = i + 2 if text[i : i + 2] == "\r\n" else i + 1
            out.append(text[start:end])
            start = i = end
            continue
        i += 1
    if start < len(text):
        out.append(text[start:])
    return out


def parse(raw: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter))


class Recorder:
    """A make_row that records what it was shown and returns a canary row."""

    def __init__(self, values: list[str], refuse: int = 0) -> None:
        self.values = values
        self.refuse = refuse
        self.calls: list[tuple[list[str] | None, list[str] | None]] = []

    def __call__(self, prev: list[str] | None, nxt: list[str] | None) -> list[str] | None:
        self.calls.append((prev, nxt))
        if len(self.calls) <= self.refuse:
            return None
        return list(self.values)


def canary_row(k: int, delimiter: str) -> list[str]:
    return [
        f"Z{k:05d}",
        "Canario Peña",
        f"canario{k}@canary-mail.mx",
        f"Ñuñoa{delimiter} centro",
        "7",
    ]


def strip_inserted(copy: bytes, target: CopyTarget, encoding: str, delimiter: str) -> bytes:
    """Remove the inserted records (by position) and check they hold the rows written."""
    bom = copy.startswith(b"\xef\xbb\xbf")
    text = copy[3:].decode(encoding) if bom else copy.decode(encoding)
    records = split_raw(text)
    header, data = records[0], records[1:]
    for pos, row in zip(target.positions, target.rows, strict=True):
        assert parse(data[pos], delimiter) == row
    keep = [r for i, r in enumerate(data) if i not in set(target.positions)]
    out = (header + "".join(keep)).encode(encoding)
    return (b"\xef\xbb\xbf" + out) if bom else out


DIALECTS = [
    pytest.param(",", csv.QUOTE_MINIMAL, "\r\n", "utf-8", True, True, id="comma-minimal-crlf"),
    pytest.param(";", csv.QUOTE_ALL, "\r\n", "cp1252", True, True, id="semicolon-all-cp1252"),
    pytest.param("\t", csv.QUOTE_MINIMAL, "\n", "utf-8-sig", True, False, id="tab-bom-lf"),
    pytest.param("|", csv.QUOTE_MINIMAL, "\r", "utf-8", False, False, id="pipe-cr-notrail"),
    pytest.param(",", csv.QUOTE_ALL, "\n", "utf-8-sig", False, True, id="comma-all-bom-notrail"),
    pytest.param(";", csv.QUOTE_MINIMAL, "\r\n", "cp1252", True, True, id="semicolon-cp1252-ml"),
]


@pytest.mark.parametrize("chunk", [8 << 20, 1024])
@pytest.mark.parametrize(("delim", "quoting", "term", "enc", "trailing", "multiline"), DIALECTS)
def test_copy_minus_canaries_is_the_source(
    tmp_path, monkeypatch, chunk, delim, quoting, term, enc, trailing, multiline
):
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", chunk)
    ext = ".tsv" if delim == "\t" else ".csv"
    src = tmp_path / f"padron{ext}"
    rows = make_rows(400, multiline=multiline and term != "\r", delimiter=delim)
    original = write_source(
        src,
        rows,
        delimiter=delim,
        quoting=quoting,
        terminator=term,
        encoding=enc,
        trailing=trailing,
    )
    table = open_table(src)
    info = table.sample().info
    assert info["delimiter"] == delim
    assert info["encoding"] == enc
    assert info["quoting"] == ("all" if quoting == csv.QUOTE_ALL else "minimal")
    assert info["line_ending"] == {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}[term]

    makers = [Recorder(canary_row(k, delim)) for k in range(4)]
    fracs = [0.05, 0.3, 0.55, 0.8]
    target = CopyTarget(
        tmp_path / f"copia{ext}", [Insertion(f, m) for f, m in zip(fracs, makers, strict=True)]
    )
    seen: list[int] = []
    table.write_copies([target], seen.append)

    copy = target.path.read_bytes()
    assert src.read_bytes() == original  # the source is untouched
    assert target.sha256 == hashlib.sha256(copy).hexdigest()
    assert sum(seen) == len(original)
    assert len(target.positions) == 4
    assert target.positions == sorted(target.positions)
    assert target.positions[0] < 100 < target.positions[-1]  # spread, not all at the end
    codec = "utf-8" if enc == "utf-8-sig" else enc
    assert strip_inserted(copy, target, codec, delim) == original

    # Each canary record is quoted the way the source quotes, in its encoding.
    text = copy.decode(codec)
    records = split_raw(text.removeprefix("\ufeff"))[1:]
    for pos in target.positions:
        raw = records[pos]
        assert raw.endswith(term)
        if quoting == csv.QUOTE_ALL:
            assert raw.startswith('"Z') and f'"{delim}"' in raw
        else:
            assert raw.startswith("Z") and f'"Ñuñoa{delim} centro"' in raw
    # make_row saw the real neighbours of the place it went.
    data_rows = [parse(r, delim) for r in records]
    for m, pos in zip(makers, target.positions, strict=True):
        prev, nxt = m.calls[-1]
        assert prev == data_rows[pos - 1]
        assert nxt == data_rows[pos + 1]


def test_make_row_none_moves_to_the_next_boundary(tmp_path):
    src = tmp_path / "t.csv"
    original = write_source(src, make_rows(100, multiline=False, delimiter=","))
    maker = Recorder(canary_row(1, ","), refuse=3)
    target = CopyTarget(tmp_path / "c.csv", [Insertion(0.5, maker)])
    open_table(src).write_copies([target])
    assert len(maker.calls) == 4
    prevs = [c[0][0] for c in maker.calls]
    assert prevs == sorted(prevs) and len(set(prevs)) == 4  # each try one record further
    assert maker.calls[-1][0][0] == f"F{target.positions[0] - 1:05d}"
    assert strip_inserted(target.path.read_bytes(), target, "utf-8", ",") == original


def test_several_copies_in_one_pass_differ(tmp_path):
    src = tmp_path / "t.csv"
    original = write_source(src, make_rows(500, multiline=True, delimiter=","))
    targets = [
        CopyTarget(
            tmp_path / f"c{k}.csv",
            [Insertion(f, Recorder(canary_row(k * 10 + j, ","))) for j, f in enumerate([0.2, 0.7])],
        )
        for k in range(3)
    ]
    plain = CopyTarget(tmp_path / "plain.csv", [])
    table = open_table(src)
    table.write_copies([*targets, plain])
    assert plain.path.read_bytes() == original
    assert plain.sha256 == table.source_sha256() == hashlib.sha256(original).hexdigest()
    datas = [t.path.read_bytes() for t in targets]
    assert len({hashlib.sha256(d).hexdigest() for d in datas}) == 3
    for t, d in zip(targets, datas, strict=True):
        assert t.sha256 == hashlib.sha256(d).hexdigest()
        assert strip_inserted(d, t, "utf-8", ",") == original


def test_a_column_quoted_in_every_row_is_quoted_in_canary_rows_too(tmp_path):
    # Exports often quote some columns always (addresses, names) and others never.
    lines = ["id,name,street,zip"] + [
        f'{i},"Doe, J{i}","{i} Main St",{10000 + i}' for i in range(200)
    ]
    src = tmp_path / "t.csv"
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    row = ["900", "Roe R", "12 Elm St", "20001"]  # nothing here needs quotes
    target = CopyTarget(tmp_path / "c.csv", [Insertion(0.5, Recorder(row))])
    open_table(src).write_copies([target])
    added = [ln for ln in target.path.read_text().splitlines() if ln not in set(lines)]
    assert added == ['900,"Roe R","12 Elm St",20001']


def test_quoted_flags_per_field():
    flags = dialect_mod._quoted_flags('1,"a, ""b""",,"",x\r\n', ",", '"')
    assert flags == [False, True, False, True, False]


def test_unrepresentable_characters_are_folded_for_cp1252(tmp_path):
    src = tmp_path / "t.csv"
    original = write_source(
        src, make_rows(50, multiline=False, delimiter=";"), delimiter=";", encoding="cp1252"
    )
    row = ["Z1", "Nguyễn Đỗ", "n@canary-mail.mx", "x", "1"]
    target = CopyTarget(tmp_path / "c.csv", [Insertion(0.5, Recorder(row))])
    open_table(src).write_copies([target])
    assert target.rows == [["Z1", "Nguyen Do", "n@canary-mail.mx", "x", "1"]]
    assert strip_inserted(target.path.read_bytes(), target, "cp1252", ";") == original


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_collision_removes_every_temp(tmp_path):
    src = tmp_path / "t.csv"
    write_source(src, make_rows(200, multiline=True, delimiter=","))
    out = tmp_path / "out"
    out.mkdir()
    targets = [
        CopyTarget(out / "a.csv", [Insertion(0.5, Recorder(canary_row(1, ",")))], needles=["Z1"]),
        CopyTarget(
            out / "b.csv",
            [Insertion(0.5, Recorder(canary_row(2, ",")))],
            needles=["Persona150@Example.com", "canario2@canary-mail.mx"],
        ),
    ]
    with pytest.raises(Collision) as exc:
        open_table(src).write_copies(targets)
    assert exc.value.needle == "Persona150@Example.com"  # emails match in any case
    assert listing(out) == []


def test_no_collision_when_needles_are_new(tmp_path):
    src = tmp_path / "t.csv"
    write_source(src, make_rows(200, multiline=False, delimiter=","))
    t = CopyTarget(
        tmp_path / "c.csv",
        [Insertion(0.5, Recorder(canary_row(1, ",")))],
        needles=["canario1@canary-mail.mx", "Z00001", "8445550001"],
    )
    open_table(src).write_copies([t])
    assert t.path.exists()


def test_existing_output_is_refused_before_writing(tmp_path):
    src = tmp_path / "t.csv"
    write_source(src, make_rows(20, multiline=False, delimiter=","))
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.csv").write_text("mine")
    targets = [
        CopyTarget(out / n, [Insertion(0.5, Recorder(canary_row(1, ",")))])
        for n in ("a.csv", "b.csv")
    ]
    with pytest.raises(InputError, match=r"b\.csv already exists"):
        open_table(src).write_copies(targets)
    assert listing(out) == ["b.csv"]
    assert (out / "b.csv").read_text() == "mine"
    with pytest.raises(InputError, match="is the source itself"):
        open_table(src).write_copies([CopyTarget(src, [])])


def test_failure_in_make_row_leaves_nothing(tmp_path):
    src = tmp_path / "t.csv"
    write_source(src, make_rows(50, multiline=False, delimiter=","))

    def boom(prev, nxt):
        raise RuntimeError("synthesis failed")

    with pytest.raises(RuntimeError):
        open_table(src).write_copies([CopyTarget(tmp_path / "c.csv", [Insertion(0.5, boom)])])
    assert listing(tmp_path) == ["t.csv"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\r\n\r\n", "is empty"),
        ("header.csv", b"a,b,c\r\n", "header but no data rows"),
        ("header2.csv", b"a,b,c", "header but no data rows"),
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "line 3 has 2 fields but the header has 3"),
        ("bad.csv", b"a,b\n1,\x81\x8d\x90\n", "neither UTF-8 nor Windows-1252"),
        ("nul.csv", b"a,b\n1,\x00\x00\n", "NUL bytes"),
        ("utf16.csv", "a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        ("table.xls", b"whatever", "unknown file type .xls"),
        ("noext", b"a,b\n1,2\n", "unknown file type"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, name, content, message):
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_table(src).sample()
    assert listing(tmp_path) == [name]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_table(tmp_path / "nope.csv")


def test_sample_of_a_large_file_is_partial_with_an_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited_mod, "SMALL_BYTES", 10_000)
    src = tmp_path / "t.csv"
    write_source(src, make_rows(3000, multiline=True, delimiter=","))
    s = open_table(src).sample(limit=100)
    assert not s.complete
    assert len(s.rows) == 100
    assert s.rows[0][0] == "F00000" and s.rows[99][0] == "F00099"
    assert s.row_count is not None and 2400 < s.row_count < 3600


def test_sample_of_many_short_rows_is_partial_with_an_exact_count(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited_mod, "MAX_ROWS", 500)
    src = tmp_path / "t.csv"
    write_source(src, make_rows(800, multiline=True, delimiter=","))
    s = open_table(src).sample(limit=100)
    assert not s.complete and len(s.rows) == 100 and s.row_count == 800


def test_sample_of_a_small_file_is_complete(tmp_path):
    src = tmp_path / "t.csv"
    rows = make_rows(120, multiline=True, delimiter=";")
    write_source(src, rows, delimiter=";", encoding="cp1252")
    s = open_table(src).sample()
    assert s.complete and s.row_count == 120
    assert s.header == ["folio", "nombre", "correo", "nota", "monto"]
    assert s.rows == rows


def test_a_needle_across_a_chunk_seam_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 256)
    src = tmp_path / "t.csv"
    original = b"folio,nombre,correo,nota,monto\r\n" + b"".join(
        b"F%05d,Ana,persona%d@example.com,nota,%d\r\n" % (i, i, i) for i in range(80)
    )
    needle = "canario77@canary-mail.mx"
    for at in range(2000, 2000 + 300, 7):  # every offset class around more than one seam
        src.write_bytes(original[:at] + needle.encode() + original[at:])
        t = CopyTarget(
            tmp_path / "c.csv", [Insertion(0.0, Recorder(canary_row(1, ",")))], needles=[needle]
        )
        with pytest.raises(Collision):
            open_table(src).write_copies([t])
        assert listing(tmp_path) == ["t.csv"]


class _EndsWhileChecked:
    """A needle check that fails and ends between two looks at it: running at the
    first look, done the next (what a lane finishing mid-`check` looks like)."""

    def __init__(self) -> None:
        self.looks = 0

    def done(self) -> bool:
        self.looks += 1
        return self.looks > 1

    def exception(self) -> BaseException | None:
        return Collision("canario77@canary-mail.mx") if self.done() else None

    def result(self) -> None:
        raise Collision("canario77@canary-mail.mx")


def test_a_check_that_fails_while_it_is_looked_at_is_not_lost(tmp_path):
    """CI missed a collision under load: `check` looked at a task, then filtered the
    finished ones out in a second look, dropping one that failed in between."""
    (tmp_path / "c.csv").write_bytes(b"")
    with stream_mod.MultiWriter([tmp_path / "c.csv"], None, lambda b: None) as out:
        out._scans.append(_EndsWhileChecked())  # type: ignore[arg-type]
        out.check()  # running: kept
        with pytest.raises(Collision):
            out.check()  # failed since: raised, not dropped


def _counted_by_byte(buf: bytes, inside: bool) -> tuple[tuple[int, int, int], bool]:
    """((quotes, line ends, quoted line ends), quote state at the end), a byte at a time."""
    state, quoted = inside, 0
    for ch in buf:
        if ch == ord('"'):
            state = not state
        elif ch == ord("\n") and state:
            quoted += 1
    return (buf.count(b'"'), buf.count(b"\n"), quoted), state


def test_quote_marks_match_a_byte_by_byte_count():
    """Quotes, terminators and quoted terminators of any buffer, from either quote state."""
    rnd = random.Random(5)
    for _ in range(500):
        buf = bytes(rnd.choice(b'"\n\r,a"') for _ in range(rnd.randint(0, 60)))
        for inside in (False, True):
            counts, state = _counted_by_byte(buf, inside)
            quoted = counts[2]
            assert quote_marks(buf, b"\n", b'"', inside) == counts
            assert quote_marks(bytearray(buf), b"\n", b'"', inside) == counts
            rows, after = count_records(buf, b"\n", b'"', inside)
            assert (rows, after) == (counts[1] - quoted, state)
            # the walk by `find` (taken on buffers with few quotes) and the translate
            assert _dialect._walk_quotes(buf, b"\n", b'"', inside, len(buf)) == (
                counts[0],
                quoted,
            )
            assert _dialect._translated_marks(buf, b"\n", b'"', inside) == counts


def test_quote_marks_on_few_quotes_match_a_byte_by_byte_count():
    """Blocks quoting a field here and there (the walk by `find`), quoted line breaks
    and doubled quotes among them, and a block that turns dense past its first bytes."""
    rnd = random.Random(6)
    fields = [b"plain", b"x" * 90, b'"a, b"', b'"one\ntwo ""q"""', b'""', b'"\n\n"']
    for k in range(60):
        rows = [
            b",".join(rnd.choice(fields[:2] if rnd.random() < 0.99 else fields) for _ in range(4))
            for _ in range(rnd.randint(200, 2000))
        ]
        buf = b"\n".join(rows)
        if k % 10 == 9:
            buf += b'"a"\n' * 20000  # dense after the probe: the walk gives up
        cut = rnd.randint(0, len(buf))
        buf = buf[cut:]  # may start inside a quoted field
        for inside in (False, True):
            counts, _ = _counted_by_byte(buf, inside)
            assert quote_marks(buf, b"\n", b'"', inside) == counts
            assert quote_marks(bytearray(buf), b"\n", b'"', inside) == counts
    # past its budget of quotes the walk gives up (the translate counts instead)
    assert _dialect._walk_quotes(b'"a"\n' * 100, b"\n", b'"', False, 10) is None


def _slowed(fn, rnd: random.Random):
    """`fn`, sleeping up to 2 ms first: lanes fall behind the reader and each other."""

    def slow(*args, **kwargs):
        time.sleep(rnd.random() * 0.002)
        return fn(*args, **kwargs)

    return slow


@pytest.mark.parametrize("copies", [1, 3])
def test_copies_stay_whole_when_the_lanes_lag(tmp_path, monkeypatch, copies):
    """Hashing and writing run on lanes behind the reader; each copy must still get its
    bytes in order and a hash forked from the source's at the right block."""
    rnd = random.Random(11)
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 512)
    for name in ("_update", "_hash_block", "_write_block", "_run_shared", "_run_own"):
        monkeypatch.setattr(stream_mod, name, _slowed(getattr(stream_mod, name), rnd))
    src = tmp_path / "t.csv"
    original = write_source(src, make_rows(300, multiline=True, delimiter=","))
    targets = [
        CopyTarget(
            tmp_path / f"c{c}.csv",
            [Insertion(f, Recorder(canary_row(k, ","))) for k, f in enumerate((0.1, 0.5, 0.9))],
            needles=["nadie@canary-mail.mx"],
        )
        for c in range(copies)
    ]
    table = open_table(src)
    table.write_copies(targets)
    assert table.source_sha256() == hashlib.sha256(original).hexdigest()
    for t in targets:
        copy = t.path.read_bytes()
        assert t.sha256 == hashlib.sha256(copy).hexdigest()
        assert strip_inserted(copy, t, "utf-8", ",") == original


def test_a_collision_stops_the_pass_before_any_later_canary_is_made(tmp_path, monkeypatch):
    """The needle check runs on its own lane, yet no make_row is called in or after the
    block where a needle is found (as when the check ran before each block's canaries):
    the factory sees the same calls whatever the threads' timing."""
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 256)
    rnd = random.Random(3)
    monkeypatch.setattr(
        needles_mod.NeedleScanner, "scan", _slowed(needles_mod.NeedleScanner.scan, rnd)
    )
    src = tmp_path / "t.csv"
    needle = "canario77@canary-mail.mx"
    body = b"".join(b"F%05d,Ana,persona%d@example.com,nota,%d\r\n" % (i, i, i) for i in range(200))
    at = len(body) // 4
    at = body.index(b"\r\n", at) + 2
    src.write_bytes(
        b"folio,nombre,correo,nota,monto\r\n"
        + body[:at]
        + b"F99999,Eva,"
        + needle.encode()
        + b",nota,1\r\n"
        + body[at:]
    )
    # Canaries due in the needle's block and the next few (the reader runs ahead of
    # the lanes by up to its ring of buffers).
    span = len(body) + 40
    later = [Recorder(canary_row(k, ",")) for k in range(4)]
    fracs = [(at + k * 200) / span for k in range(4)]
    t = CopyTarget(
        tmp_path / "c.csv",
        [Insertion(f, m) for f, m in zip(fracs, later, strict=True)],
        needles=[needle],
    )
    with pytest.raises(Collision):
        open_table(src).write_copies([t])
    assert [m.calls for m in later] == [[], [], [], []]
    assert listing(tmp_path) == ["t.csv"]


def _copy_one(tmp_path: Path) -> tuple[bytes, CopyTarget, Path]:
    src = tmp_path / "t.csv"
    original = write_source(src, make_rows(300, multiline=True, delimiter=","))
    target = CopyTarget(
        tmp_path / "c.csv",
        [Insertion(f, Recorder(canary_row(k, ","))) for k, f in enumerate((0.2, 0.6))],
    )
    return original, target, src


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOSYS, errno.EXDEV])
def test_a_kernel_that_will_not_copy_leaves_the_copy_to_the_buffer(tmp_path, monkeypatch, code):
    """The source's stretches go by sendfile; where that is refused, from our buffer."""
    calls = []

    def refuse(*args):
        calls.append(args)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(stream_mod.os, "sendfile", refuse)
    original, target, src = _copy_one(tmp_path)
    open_table(src).write_copies([target])
    copy = target.path.read_bytes()
    assert calls  # it was tried
    assert target.sha256 == hashlib.sha256(copy).hexdigest()
    assert strip_inserted(copy, target, "utf-8", ",") == original


def test_a_failing_kernel_copy_keeps_nothing(tmp_path, monkeypatch):
    def broken(*args):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(stream_mod.os, "sendfile", broken)
    _original, target, src = _copy_one(tmp_path)
    with pytest.raises(OSError):
        open_table(src).write_copies([target])
    assert listing(tmp_path) == ["t.csv"]


def test_a_source_that_changes_during_the_pass_gives_no_copy(tmp_path, monkeypatch):
    """The copy's bytes come from the file and its hash from what was read: a source
    written to meanwhile would give a copy that is not what the register says."""
    monkeypatch.setattr(delimited_mod, "CHUNK_BYTES", 1024)
    _original, target, src = _copy_one(tmp_path)

    class Appends(Recorder):
        def __call__(self, prev, nxt):
            with src.open("ab") as f:
                f.write(b"F99999,Otro,otro@example.com,nota,1\r\n")
            return super().__call__(prev, nxt)

    target.insertions[0] = Insertion(0.2, Appends(canary_row(9, ",")))
    with pytest.raises(InputError, match="changed while the copies were written"):
        open_table(src).write_copies([target])
    assert listing(tmp_path) == ["t.csv"]


def test_an_output_that_is_not_empty_is_truncated_before_it_is_written(tmp_path):
    """The writer opens its outputs without O_TRUNC (ext4 flushes a truncated file when
    it is closed); one that already holds bytes still ends up with only the new ones."""
    src = tmp_path / "s.csv"
    src.write_bytes(b"a,b\n1,2\n")
    out_path = tmp_path / "c.csv"
    out_path.write_bytes(b"old bytes, longer than the new ones\n" * 100)
    with stream_mod.MultiWriter([out_path], src) as out:
        out.submit(b"a,b\n1,2\n", 0, [[(4, b"x,y\n")]])
        (sha,) = out.finish(durable=False)
    assert out_path.read_bytes() == b"a,b\nx,y\n1,2\n"
    assert sha == hashlib.sha256(b"a,b\nx,y\n1,2\n").hexdigest()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_title_line_above_the_header_leaves_the_delimiter_found(tmp_path, delimiter):
    """An export opening with a title line that holds no delimiter ("Listado de
    clientes activos - Sucursal Central"), names with a comma in them: read from the
    first line alone, the delimiter fell back to a comma and the file was refused."""
    rows = [
        ["Nro", "Apellido y Nombre", "Saldo"],
        *[[str(100 + k), f"GOMEZ, Juan {k}", f"{k}.234,50"] for k in range(30)],
    ]
    text = "Listado de clientes activos - Sucursal Central\r\n" + "".join(
        delimiter.join(r) + "\r\n" for r in rows
    )
    path = tmp_path / "clientes.csv"
    path.write_text(text, encoding="latin-1")
    sample = open_table(path).sample()
    assert list(sample.header) == rows[0]
    assert [list(r) for r in sample.rows] == rows[1:]
