"""Choosing the `Table` for a source: by file extension, or a SQLAlchemy URL.

The workbook, JSON and SQL readers are imported when a source of theirs is opened:
issuing copies of a delimited file does not load them."""

from __future__ import annotations

from pathlib import Path

from canary.errors import InputError
from canary.formats.delimited import DelimitedTable
from canary.formats.table import Table

DELIMITED = {".csv", ".tsv", ".txt"}
SQLITE = {".sqlite", ".sqlite3", ".db"}


def is_database(source: str | Path) -> bool:
    """True for a source that is a SQL table: a SQLAlchemy URL or a SQLite file."""
    text = str(source)
    if "://" in text and not Path(text).exists():
        return True
    return Path(text).suffix.lower() in SQLITE


def open_table(source: str | Path, *, table: str | None = None, sheet: str | None = None) -> Table:
    """The right `Table` for a path (by extension) or a SQLAlchemy URL (with `table`)."""
    text = str(source)
    if "://" in text and not Path(text).exists():
        if not table:
            raise InputError("a database URL needs --table naming the table to copy")
        from canary.formats.sql import SqlUrlTable

        return SqlUrlTable(text, table)
    path = Path(text)
    ext = path.suffix.lower()
    known = sorted(DELIMITED | SQLITE | {".xlsx", ".json", ".jsonl"})
    if ext not in DELIMITED | SQLITE | {".xlsx", ".json", ".jsonl", ".ndjson"}:
        raise InputError(
            f"{path}: unknown file type {ext or '(no extension)'}; use one of {', '.join(known)}"
        )
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    if ext in DELIMITED:
        return DelimitedTable(path)
    if ext == ".xlsx":
        from canary.formats.xlsx import XlsxTable

        return XlsxTable(path, sheet)
    if ext == ".json":
        from canary.formats.jsonfile import JsonTable

        return JsonTable(path)
    if ext in (".jsonl", ".ndjson"):
        from canary.formats.jsonfile import JsonlTable

        return JsonlTable(path)
    if not table:
        table = _only_table(path)
    from canary.formats.sql import SqliteFileTable

    return SqliteFileTable(path, table)


def _only_table(path: Path) -> str:
    """The one table of a SQLite file (its own `sqlite_` tables aside); a clear error
    naming them where it holds several or none."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            names = [
                str(name)
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path} is not a readable SQLite file: {exc}") from None
    if len(names) == 1:
        return names[0]
    if not names:
        raise InputError(f"{path} holds no table")
    raise InputError(f"{path} holds several tables: name one with --table ({', '.join(names)})")
