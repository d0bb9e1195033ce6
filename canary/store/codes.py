"""The collusion codes in the store: what was found of each, and whom it names.

Pure scoring lives in `canary.codes`; this module reads a code's secrets (biases,
holders) and turns canaries found in a dump, or contacted, into verdicts per copy.
Identify and hit attribution both call `coded_verdicts`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from canary.codes import accuse
from canary.store.models import CodeMark, CodePosition, CollusionCode


@dataclass(frozen=True)
class CodedVerdict:
    """One copy scored by a code against the coded canaries found."""

    code_id: str
    copy_id: str
    score: float
    false_accusation_probability: float
    named: bool
    #: coded canaries found that this copy holds, and found in all
    held: int
    found: int


@dataclass
class StoredCode:
    id: str
    eps: float
    copies: list[str]
    biases: list[float] = field(default_factory=list)
    holders: list[set[int]] = field(default_factory=list)


def load_code(session: Session, code_id: str) -> StoredCode | None:
    code = session.get(CollusionCode, code_id)
    if code is None:
        return None
    out = StoredCode(code.id, code.eps, list(code.copies))
    member = {copy_id: u for u, copy_id in enumerate(out.copies)}
    positions = session.execute(
        select(CodePosition.position, CodePosition.bias)
        .where(CodePosition.code_id == code_id)
        .order_by(CodePosition.position)
    ).all()
    out.biases = [0.5] * (max((p for p, _ in positions), default=-1) + 1)
    for p, bias in positions:
        out.biases[p] = bias
    out.holders = [set() for _ in out.biases]
    for p, copy_id in session.execute(
        select(CodeMark.position, CodeMark.copy_id).where(CodeMark.code_id == code_id)
    ):
        if copy_id in member and p < len(out.holders):
            out.holders[p].add(member[copy_id])
    return out


def coded_positions(session: Session, canary_ids: Iterable[int]) -> dict[str, set[int]]:
    """The code positions (per code) that these canaries stand for."""
    found: dict[str, set[int]] = defaultdict(set)
    for code_id, position in _marks(session, canary_ids).values():
        found[code_id].add(position)
    return dict(found)


def singled_out_positions(
    session: Session, groups: Iterable[Collection[int]]
) -> dict[str, set[int]]:
    """The code positions (per code) that a piece of evidence singles out.

    Each group is every canary that one piece of evidence could stand for: all the
    holders of an identifier found in a dump, all the candidates of one hit. A group
    counts for a position only when each of its canaries is that position's (the same
    synthetic person, planted in several copies); a group spanning persons (a pool
    number many canaries carry) proves no one of them was there, and counting any of
    them would let an innocent copy's holdings decide what was found, which the code's
    bound assumes they never do.
    """
    groups = [set(g) for g in groups if g]
    marks = _marks(session, set().union(*groups) if groups else set())
    found: dict[str, set[int]] = defaultdict(set)
    for group in groups:
        persons = {marks.get(canary_id) for canary_id in group}
        if len(persons) == 1 and (person := persons.pop()) is not None:
            found[person[0]].add(person[1])
    return dict(found)


def _marks(session: Session, canary_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """canary id -> (code, position) for those of `canary_ids` that are coded."""
    ids = sorted(set(canary_ids))
    out: dict[int, tuple[str, int]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(CodeMark.canary_id, CodeMark.code_id, CodeMark.position).where(
                CodeMark.canary_id.in_(ids[start : start + 500])
            )
        )
        for canary_id, code_id, position in rows:
            out[canary_id] = (code_id, position)
    return out


def coded_verdicts(session: Session, found: dict[str, set[int]]) -> list[CodedVerdict]:
    """Score every code with the positions `found` of it (`singled_out_positions`).

    Returns one verdict per copy that holds a found coded canary, best first.
    """
    out: list[CodedVerdict] = []
    for code_id, present in sorted(found.items()):
        code = load_code(session, code_id)
        if code is None:
            continue
        for acc in accuse(code.biases, code.holders, present, len(code.copies), code.eps):
            held = sum(1 for j in present if acc.member in code.holders[j])
            out.append(
                CodedVerdict(
                    code_id=code_id,
                    copy_id=code.copies[acc.member],
                    score=acc.score,
                    false_accusation_probability=acc.false_accusation_probability,
                    named=acc.named,
                    held=held,
                    found=len(present),
                )
            )
    out.sort(key=lambda v: (v.false_accusation_probability, -v.score, v.copy_id))
    return out
