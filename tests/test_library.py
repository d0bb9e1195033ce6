"""The library facade, used the way the README shows it: no CLI, no global state."""

from __future__ import annotations

import csv
from pathlib import Path

import canary

ROWS = [
    ["nombre", "correo", "telefono", "municipio"],
    *[
        [
            f"Persona {i} Apellido{i % 7}",
            f"persona{i}@correo.example",
            f"844 100 {i:04d}",
            "Saltillo",
        ]
        for i in range(60)
    ],
]


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "registro.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(ROWS)
    return path


def test_issue_identify_and_trace_through_the_facade(store_url: str, tmp_path: Path) -> None:
    store = canary.open_store(store_url, burn_in_days=0)
    canary.add_domain(store, "avisos.example.mx")
    canary.add_phone(store, "+52 844 123 4567", provider="twilio")
    request = canary.IssueRequest(
        str(_source(tmp_path)), ["Proveedor SA"], purpose="verificación", out_dir=tmp_path
    )
    [copy] = canary.issue_copies(store, canary.Config(), request)
    assert copy.recipient == "Proveedor SA" and copy.canaries >= 1

    found = canary.identify(store, copy.path)
    assert [c["id"] for c in found["copies"]] == [copy.id]

    with Path(copy.path).open(encoding="utf-8", newline="") as f:
        planted = [row[1] for row in csv.reader(f) if row[1].endswith("@avisos.example.mx")]
    assert len(planted) == copy.canaries
    traced = canary.trace(store, planted[0].upper())
    assert [c["id"] for c in traced["copies"]] == [copy.id]
    assert canary.verify_chain is not None


def test_the_facade_names_are_what_all_promises() -> None:
    for name in canary.__all__:
        assert getattr(canary, name) is not None, name
