"""The collusion code's step of `identify`: score the coded canaries a dump holds.

Runs after the identifiers are matched, on the coded canaries found (absence proves
nothing: a partial dump only loses evidence). A coded canary counts as found only when
an identifier found is that synthetic person's alone: a number from the pool many
canaries carry says one of them was there, not which, and guessing would let an
innocent copy's own holdings decide what counts as found. Each copy a code names gets
``strength: "coded"`` and the code's false-accusation bound; a copy holding found
coded canaries that the code does not name keeps its other evidence, with the bound
stated so nobody reads the shared canary as proof.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canary.store.codes import CodedVerdict, coded_verdicts, singled_out_positions
from canary.store.engine import Store
from canary.vocabulary import Strength

if TYPE_CHECKING:
    from canary.investigate.identify import CopyMatch, Identification


def apply_codes(store: Store, result: Identification) -> list[CodedVerdict]:
    """Annotate `result` with the codes' verdicts (strength, P, `code`); returns them."""
    groups = result.evidence_groups()
    if not groups:
        return []
    with store.session() as s:
        verdicts = coded_verdicts(s, singled_out_positions(s, groups))
    if not verdicts:
        return []
    best: dict[str, CodedVerdict] = {}
    for verdict in verdicts:  # best first: the first verdict per copy is its strongest
        best.setdefault(verdict.copy_id, verdict)
    for copy in result.copies:
        v = best.get(copy.id)
        if v is None:
            continue
        copy.code = _code_doc(v)
        if copy.strength is Strength.EXCLUSIVE:
            continue  # its own canary says more than the code
        if v.named:
            copy.strength = Strength.CODED
        copy.false_accusation_probability = v.false_accusation_probability

    def rank(copy: CopyMatch) -> tuple[int, float]:
        order = {Strength.EXCLUSIVE: 0, Strength.CODED: 1}.get(copy.strength, 2)
        return order, copy.false_accusation_probability

    result.copies.sort(key=rank)
    return verdicts


def _code_doc(v: CodedVerdict) -> dict[str, Any]:
    return {
        "id": v.code_id,
        "score": round(v.score, 3),
        "coded_found": v.found,
        "coded_held": v.held,
        "named": v.named,
        "false_accusation_probability": v.false_accusation_probability,
    }
