"""The collusion code's step of `identify`: score the coded canaries a dump holds.

Runs after the identifiers are matched, on the canaries found (absence proves
nothing: a partial dump only loses evidence). Each copy a code names gets
``strength: "coded"`` and the code's false-accusation bound; a copy holding found
coded canaries that the code does not name keeps its other evidence, with the bound
stated so nobody reads the shared canary as proof.
"""

from __future__ import annotations

from typing import Any

from canary.store.codes import CodedVerdict, coded_verdicts
from canary.store.engine import Store


def found_canaries(result: dict[str, Any]) -> set[int]:
    return {
        int(item["canary"])
        for copy in result.get("copies", [])
        for item in copy.get("identifiers", [])
        if item.get("canary") is not None
    }


def apply_codes(store: Store, result: dict[str, Any]) -> list[CodedVerdict]:
    """Annotate `result` (identify's document) with the codes' verdicts; returns them."""
    canaries = found_canaries(result)
    if not canaries:
        return []
    with store.session() as s:
        verdicts = coded_verdicts(s, canaries)
    if not verdicts:
        return []
    best: dict[str, CodedVerdict] = {}
    for verdict in verdicts:  # best first: the first verdict per copy is its strongest
        best.setdefault(verdict.copy_id, verdict)
    for copy in result.get("copies", []):
        v = best.get(copy["id"])
        if v is None:
            continue
        copy["code"] = {
            "id": v.code_id,
            "score": round(v.score, 3),
            "coded_found": v.found,
            "coded_held": v.held,
            "named": v.named,
            "false_accusation_probability": v.false_accusation_probability,
        }
        if copy.get("strength") == "exclusive" or copy.get("evidence") == "strong":
            continue  # its own canary says more than the code
        if v.named:
            copy["strength"] = "coded"
        copy["false_accusation_probability"] = v.false_accusation_probability

    def rank(copy: dict[str, Any]) -> int:
        if copy.get("strength") == "exclusive" or copy.get("evidence") == "strong":
            return 0
        return 1 if copy.get("strength") == "coded" else 2

    result["copies"] = sorted(result.get("copies", []), key=rank)
    return verdicts
