"""The collusion codes in the store: what was found of each, and whom it names.

Pure scoring lives in `canary.codes`; this module reads a code's secrets (biases,
holders) and turns canaries found in a dump, or contacted, into verdicts per copy.
Identify and hit attribution both call `coded_verdicts`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
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
    ids = sorted(set(canary_ids))
    found: dict[str, set[int]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(CodeMark.code_id, CodeMark.position).where(
                CodeMark.canary_id.in_(ids[start : start + 500])
            )
        )
        for code_id, position in rows:
            found[code_id].add(position)
    return dict(found)


def coded_verdicts(session: Session, canary_ids: Iterable[int]) -> list[CodedVerdict]:
    """Score every code that any of these canaries belongs to, using only those found.

    Returns one verdict per copy that holds a found coded canary, best first.
    """
    out: list[CodedVerdict] = []
    for code_id, present in sorted(coded_positions(session, canary_ids).items()):
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
