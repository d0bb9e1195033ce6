"""The needle scanner: few anchors for many needles, and no collision missed."""

from __future__ import annotations

import pytest

from canary.formats import Collision
from canary.formats._needles import NeedleScanner

HEAD = b"".join(
    f"F{i},persona{i}@example.com,(844) {100 + i % 800}-{1000 + i},Saltillo\n".encode()
    for i in range(3000)
)


def test_needles_sharing_a_domain_share_one_anchor():
    needles = [f"canario{i}@canary-mail.mx" for i in range(40)]
    scanner = NeedleScanner(needles, "utf-8", HEAD)
    assert [g.anchor for g in scanner.groups] == [b"@canary-mail.mx"]
    scanner.scan(HEAD)  # nothing there


@pytest.mark.parametrize(
    "needle",
    ["canario7@canary-mail.mx", "(844) 555-0101", "persona2999@example.com", "F1234,"],
)
def test_a_needle_anywhere_in_the_data_is_found(needle):
    needles = [f"canario{i}@canary-mail.mx" for i in range(10)]
    needles += ["(844) 555-0102", needle]
    scanner = NeedleScanner(needles, "utf-8", HEAD[:50000])
    # Emails match whatever the case of their local part.
    written = needle.capitalize() if "@" in needle else needle
    data = HEAD[:70000] + b"X," + written.encode() + b",y\n" + HEAD[70000:]
    scanner.scan(HEAD[:1000])  # F1234 and persona2999 are further in
    with pytest.raises(Collision) as exc:
        scanner.scan(data)
    assert exc.value.needle == needle


def test_short_or_unencodable_needles_are_ignored():
    scanner = NeedleScanner(["ab", "", "Nguyễn Văn"], "cp1252", HEAD)
    assert scanner.empty
    scanner.scan(b"ab Nguy")


def test_a_needle_is_found_at_any_offset_when_scanning_slice_by_slice(monkeypatch):
    import canary.formats._needles as needles_mod

    monkeypatch.setattr(needles_mod, "SLICE", 16)
    needle = "canario7@canary-mail.mx"
    scanner = NeedleScanner([needle], "utf-8", HEAD)
    filler = b"x,y@example.com\n" * 8
    for off in range(len(filler)):
        data = filler[:off] + needle.encode() + filler[off:]
        with pytest.raises(Collision):
            scanner.scan(data)
    scanner.scan(filler + needle.encode()[:-1])  # a partial needle is not one


@pytest.mark.parametrize("plan", ["one", "kinds", "each", None])
@pytest.mark.parametrize(
    "needle", ["canario7@canary-mail.mx", "(844) 555-1007", "844 555 1007", "QX7731"]
)
def test_a_needle_of_every_kind_is_found_whichever_way_the_automata_are_made(needle, plan):
    needles = [f"canario{i}@canary-mail.mx" for i in range(10)]
    needles += [f"(844) 555-{1000 + i}" for i in range(20)]
    needles += [f"844 555 {1000 + i}" for i in range(20)] + ["QX7731"]
    scanner = NeedleScanner(needles, "utf-8", HEAD, plan=plan)
    # The phones of each form share an anchor the head does not hold.
    assert sorted(len(g.needles) for g in scanner.exact_groups) == [20, 20]
    if plan == "one":
        assert len(scanner._automata) == 1
    scanner.scan(HEAD[:1000])
    data = HEAD[:70000] + b"X," + needle.encode() + b",y\n" + HEAD[70000:]
    with pytest.raises(Collision) as exc:
        scanner.scan(data)
    assert exc.value.needle == needle
    if "@" not in needle:  # exact needles stay whole values: inside a longer one, none
        scanner.scan(HEAD[:70000] + b"X,9" + needle.encode() + b"9,y\n")
        scanner.scan(HEAD[:70000] + b"X," + needle.encode()[:-1] + b",y\n")


def test_an_anchored_needle_is_found_at_the_edges_of_the_buffer():
    needles = [f"844 555 {1000 + i}" for i in range(20)]
    scanner = NeedleScanner(needles, "utf-8", HEAD)
    assert len(scanner.exact_groups) == 1
    for data in (b"844 555 1019", b"844 555 1019,x\n", b"x,844 555 1019"):
        with pytest.raises(Collision):
            scanner.scan(data)
    scanner.scan(b"1844 555 1019")  # part of a longer number
    scanner.scan(b"844 555 10190")


def test_without_a_head_to_judge_on_every_needle_is_a_pattern_of_one_automaton():
    """The formats that scan line by line give no head: no anchors chosen blind (a
    substring of every phone may be common in the file), one call per line."""
    needles = [f"844 555 {1000 + i}" for i in range(20)] + ["canario1@canary-mail.mx"]
    scanner = NeedleScanner(needles, "utf-8")
    assert scanner.exact_groups == [] and len(scanner._automata) == 1
    with pytest.raises(Collision):
        scanner.scan(b"x,844 555 1019\n")
