"""The needle index mapped from its file: used only when the store vouches for it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from canary.investigate import needle_file, needles, scan
from canary.investigate.identify import identify_text, load_index
from canary.store.engine import Store
from tests.registry_support import DOMAIN, Person, Register, build

ANA = Person("Ana Ruiz Ortega", f"ana.ruiz@{DOMAIN}", "+52 844 123 4567", "CURP-RUOA850101")
EVA = Person("Eva Soto Lara", f"eva.soto@{DOMAIN}", "+52 844 765 4321", "CURP-SOLE900202")


@pytest.fixture
def reg(store: Store) -> Register:
    return build(store, {"Partido Azul": [ANA]})


def copies(store: Store, text: str) -> list[str]:
    return [c["id"] for c in identify_text(store, text)["copies"]]


def no_store_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> None:
        raise AssertionError("the index's parts were read from the store")

    monkeypatch.setattr(needles, "_read", fail)
    monkeypatch.setattr(needles, "build", fail)


def data_area(path: Path) -> tuple[dict[str, list[int]], int]:
    """(sections, where the data area starts) of an index file."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[8:16], "little")
    header = json.loads(raw[16 : 16 + length])
    start = 16 + length
    start += -start % 4096
    return header["sections"], start


def test_the_index_is_mapped_from_a_private_file_and_not_read_from_the_store(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    needles.load(store)
    path = needles.index_path(store)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    if store.dialect == "sqlite":
        assert path.parent == Path(str(store.engine.url.database)).parent
    else:  # never the working folder: the user's cache folder (a test's here)
        assert path.is_relative_to(os.environ["XDG_CACHE_HOME"])
    no_store_read(monkeypatch)
    index = needles.load(store)
    assert index.file is not None
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]
    assert copies(store, "tel +52 1 (844) 123-45-67") == [reg.copies["Partido Azul"]]


def test_a_file_left_from_before_a_canary_was_added_is_not_used(
    store: Store, reg: Register
) -> None:
    needles.load(store)
    path = needles.index_path(store)
    old = path.read_bytes()
    later = build(store, {"Partido Verde": [EVA]})
    assert copies(store, f"{EVA.email}; Eva Soto Lara") == [later.copies["Partido Verde"]]
    path.write_bytes(old)  # the earlier generation's file back in place
    index = needles.load(store)
    assert index.identifiers(b"evasotocorreosegurotest") is not None
    assert copies(store, "Soto Lara, Eva; +52 844 765 4321") == [later.copies["Partido Verde"]]
    assert path.read_bytes() != old  # written again at the register's generation


def test_a_file_with_a_changed_needle_is_not_trusted(store: Store, reg: Register) -> None:
    needles.load(store)
    path = needles.index_path(store)
    sections, start = data_area(path)
    raw = bytearray(path.read_bytes())
    at, length = sections["keys"]
    keys = raw[start + at : start + at + length]
    i = keys.index(b"anaruizcorreosegurotest")
    raw[start + at + i : start + at + i + 7] = b"zzzzzzz"  # Ana's address no longer there
    path.write_bytes(bytes(raw))
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]
    assert b"anaruizcorreosegurotest" in path.read_bytes()  # written again from the store


def test_a_file_whose_digests_were_changed_with_it_is_not_used(store: Store, reg: Register) -> None:
    needles.load(store)
    path = needles.index_path(store)
    sections, start = data_area(path)
    raw = bytearray(path.read_bytes())
    at, _ = sections["keys"]
    i = raw.index(b"anaruizcorreosegurotest", start + at)
    raw[i : i + 7] = b"zzzzzzz"
    d_at, d_len = sections["digests"]  # the tamperer fixes the file's own digests too
    fixed = needle_file.digest_table(
        [
            bytes(raw[start + a : start + a + n])
            for name, (a, n) in sections.items()
            if name != "digests"
        ]
    )
    assert len(fixed) == d_len
    raw[start + d_at : start + d_at + d_len] = fixed
    path.write_bytes(bytes(raw))
    index = needles.load(store)  # the store's digest of the table says no
    assert index.identifiers(b"anaruizcorreosegurotest") is not None
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]


def test_a_file_of_another_store_at_the_same_generation_is_not_used(
    store: Store, reg: Register, tmp_path: Path
) -> None:
    from canary.store.engine import open_store

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    build(other, {"Partido Verde": [EVA]})
    needles.load(other)
    needles.load(store)
    path = needles.index_path(store)
    path.write_bytes(needles.index_path(other).read_bytes())
    other.dispose()
    index = needles.load(store)
    assert index.identifiers(b"anaruizcorreosegurotest") is not None
    assert index.identifiers(b"evasotocorreosegurotest") is None


def test_a_file_others_can_write_is_not_used(store: Store, reg: Register) -> None:
    needles.load(store)
    path = needles.index_path(store)
    path.chmod(0o666)
    assert needle_file.open_file(path, {}) is None
    assert needles.load(store).identifiers(b"anaruizcorreosegurotest") is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # replaced by a private one


def test_without_a_place_to_write_it_the_index_is_used_from_memory(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cannot(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(needle_file, "write", cannot)
    index = needles.load(store)
    assert index.file is None
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]


def test_with_prefixes_cut_short_every_kind_is_still_found(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [
        Person(f"Ana Ruiz Ortega{n}", f"ana.ruiz{n}@{DOMAIN}", f"+52 844 123 45{n:02d}")
        for n in range(40)
    ]
    reg = build(store, {"Partido Azul": [ANA, *people], "Partido Verde": [EVA]})
    monkeypatch.setattr(needles, "ANCHOR_BUDGET", 4)
    monkeypatch.setattr(scan, "MAX_GROUP", 2)  # every group matched by bisection
    index = needles.load(store)
    assert index.anchor < scan.KEY_PREFIX
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    assert copies(store, f"x,{ANA.email.upper()},y") == [azul]
    assert copies(store, "tel: +52 1 (844) 765-43-21") == [verde]
    assert copies(store, "folio CURP-SOLE900202; Soto Lara, Eva") == [verde]
    assert copies(store, f"{people[17].email}") == [azul]


def test_the_anchor_is_the_longest_prefix_within_the_budget() -> None:
    keys = sorted([b"8441234567", b"8441234599", b"8449999999", b"anaruizortega", b"ab"])
    assert needles.anchor_length(keys, budget=4) == scan.KEY_PREFIX
    assert needles.anchor_length(keys, budget=3) == 8  # 84412345 84499999 anaruizo
    assert needles.anchor_length(keys, budget=2) == scan.MIN_NEEDLE  # never under it


@pytest.mark.parametrize("start", [0, 3])
def test_the_longest_needle_of_a_group_is_found_by_bisection(start: int) -> None:
    full = sorted([b"anaru", b"anaruiz", b"anaruizortega", b"anaruizp", b"anarz", b"anas"])
    text = b"xyz"[:start] + b"anaruizortegax"
    assert full[scan.longest_at(full, 0, len(full), text, start) or 0] == b"anaruizortega"
    assert scan.longest_at(full, 0, len(full), b"anaruizo", 0) == full.index(b"anaruiz")
    assert scan.longest_at(full, 0, len(full), b"anar", 0) is None
    assert scan.longest_at(full, 2, 4, b"anaruizortega", 0) == full.index(b"anaruizortega")


def test_load_index_uses_the_file(store: Store, reg: Register) -> None:
    load_index(store)
    assert load_index(store).needles is not None and load_index(store).needles.file is not None


def test_an_index_kept_with_another_block_size_is_rebuilt_and_mapped(
    store: Store, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    needles.load(store)
    monkeypatch.setattr(needle_file, "BLOCK_SHIFT", 12)
    monkeypatch.setattr(needle_file, "BLOCK", 1 << 12)
    index = needles.load(store)  # the store's digests were of other blocks: not a file's
    assert index.file is not None and index.file.header["block"] == 1 << 12
    monkeypatch.setattr(needles, "FENCE", 5)
    assert needles.load(store).file is not None  # and with other fences
    assert copies(store, f"contacto: {ANA.email}") == [reg.copies["Partido Azul"]]


def test_a_look_up_through_the_fences_finds_what_a_bisection_of_every_needle_finds(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(needles, "FENCE", 3)
    people = [
        Person(f"Luz Mar{n} Paz", f"luz{n}@{DOMAIN}", f"+52 844 000 00{n:02d}") for n in range(9)
    ]
    build(store, {"Partido Azul": [ANA, EVA, *people]})
    with store.engine.connect() as conn:
        plain = needles.build(conn)
    mapped = needles.load(store)
    assert mapped.fences is not None and len(mapped.fences) == -(-len(plain.keys) // 3)
    listed = list(plain.keys)
    probes = [*listed, b"", b"0", b"zzzz", *(k + b"0" for k in listed), *(k[:-1] for k in listed)]
    for probe in probes:
        got, want = mapped.identifiers(probe), plain.identifiers(probe)
        assert (got and (got[0], list(got[1]))) == (want and (want[0], list(want[1])))
