"""blobs: evidence compressed with lz4 on PostgreSQL

PostgreSQL compresses a large bytea with pglz when it stores it out of line. A 10 MB
message kept whole took 66-71 ms to insert and commit that way here, 35-39 ms with lz4
(which PostgreSQL 14 and later offer when built with it): while large messages stream
in, every small message's commit flushes the same write-ahead log behind them, so the
large commits bound the small messages' latency (bench/README.md, smtp.py). Only
blobs stored from now on are compressed with lz4; PostgreSQL reads both. Nothing changes
on SQLite, or on a PostgreSQL server without lz4.

Revision ID: 0014_blob_lz4
Revises: 0013_pages_daily_counts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_blob_lz4"
down_revision = "0013_pages_daily_counts"
branch_labels = None
depends_on = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
    ).first()
    return found is not None


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION pglz")
