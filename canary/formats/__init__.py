"""Table formats: read a sample of a source table and write tagged copies of it.

Every format offers the same small surface (`Table`), so planting never cares what
the file is. Values cross this boundary as text; each format turns a canary's text
back into the column's own type (numbers, dates) when it writes.
"""

from __future__ import annotations

from canary.formats._tables import DbOutput, check_outputs
from canary.formats.dispatch import is_database, open_table
from canary.formats.table import (
    Collision,
    CopyTarget,
    Insertion,
    Progress,
    RowMaker,
    Sample,
    Table,
)

__all__ = [
    "Collision",
    "CopyTarget",
    "DbOutput",
    "Insertion",
    "Progress",
    "RowMaker",
    "Sample",
    "Table",
    "check_table_outputs",
    "is_database",
    "open_table",
    "table_output",
]


def table_output(url: str, name: str) -> DbOutput:
    """A copy to be written as the new table `name` of the database at `url`."""
    return DbOutput(url, name)


def check_table_outputs(outs: list[DbOutput], source: str | None = None) -> None:
    """Refuse table outputs that exist, repeat or are the source's file; writes nothing."""
    check_outputs(outs, source)
