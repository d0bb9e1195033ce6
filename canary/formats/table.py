"""What every format shares: a sample of the table, the copies to write, the `Table` surface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from canary.formats._tables import DbOutput

#: Given the previous and next source records around an insertion point (as text, None
#: at either end of the table), return the canary row as text values in column order,
#: or None to try the next record boundary instead (e.g. no id fits between them).
RowMaker = Callable[[list[str] | None, list[str] | None], list[str] | None]

Progress = Callable[[int], None]  # advance by N bytes (or rows) processed


@dataclass
class Sample:
    """Header and a sample of rows, all as text ("" for an empty cell)."""

    header: list[str]
    rows: list[list[str]]
    #: True when `rows` holds every row of the table.
    complete: bool
    #: Rows in the table when known, else an estimate from the bytes read.
    row_count: int | None = None
    #: Format facts worth recording (encoding, delimiter, sheet...).
    info: dict[str, object] = field(default_factory=dict)


@dataclass
class Insertion:
    """Where one canary goes (a fraction 0..1 of the way through the table) and its maker."""

    fraction: float
    make_row: RowMaker


@dataclass
class CopyTarget:
    """One output copy: a file at `path`, or (SQL sources only) a table `db`.

    The writer fills in the results.
    """

    path: Path | None
    insertions: list[Insertion]
    #: Text that must not occur anywhere in the source (canary emails, phones, ids as
    #: written); a writer that sees one raises `Collision` so planting can redraw.
    needles: list[str] = field(default_factory=list)
    sha256: str = ""
    #: 0-based data-row index in the copy of each inserted row, and the rows written.
    positions: list[int] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    #: A table of a database to write instead of a file (`canary issue --out-url`).
    db: DbOutput | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.db is None):
            raise ValueError("a CopyTarget is either a file (path) or a table (db)")

    @property
    def location(self) -> str:
        """Where the copy is, as the register records it: the path, or `URL#table`."""
        return self.db.label if self.db is not None else str(self.path)

    def discard(self) -> None:
        """Remove the written copy (its register failed): delete the file or drop the table."""
        if self.db is not None:
            self.db.drop()
        elif self.path is not None:
            Path(self.path).unlink(missing_ok=True)


class Collision(Exception):
    """A canary value already occurs in the source; planting redraws and retries."""

    def __init__(self, needle: str) -> None:
        super().__init__(needle)
        self.needle = needle


class Table(Protocol):
    format: str
    source: str

    def sample(self, limit: int = 20000) -> Sample: ...

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        """Write every target in one pass over the source; temp files renamed at the end."""
        ...

    def size(self) -> int:
        """Units `progress` counts in total (bytes or rows)."""
        ...

    def source_sha256(self) -> str | None: ...
