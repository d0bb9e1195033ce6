"""Scratch PostgreSQL schemas for the benches: made fresh, found through the URL's
search_path, dropped at the end, so nobody else's tables are touched."""

from __future__ import annotations

SCHEMAS: list[tuple[str, str]] = []


def scratch_schema(url: str, schema: str) -> str:
    """`url` with a new, empty schema `schema` (dropped first if a run left it) as its
    search_path; `drop_schemas` removes it."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    SCHEMAS.append((url, schema))
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def drop_schemas() -> None:
    """Drop every schema `scratch_schema` made in this run."""
    from sqlalchemy import create_engine, text

    while SCHEMAS:
        url, schema = SCHEMAS.pop()
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()
