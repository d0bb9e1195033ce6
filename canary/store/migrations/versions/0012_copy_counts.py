"""copy counts kept on the copy; trigram indexes for the sender and recipient filters

`canary copies` counted every copy's canaries and grouped every evidence hit's
candidates on each call (3-7 s at 100,000 copies and a million hits). The counts are
now kept on the copy (canary.store.copy_counts) and backfilled here from the rows.
`canary hits --sender/--recipient` (a substring, any case) read hits newest first until
a page matched; they are now served by trigram indexes where the backend has them
(canary.store.search_index: pg_trgm on PostgreSQL when it can be installed, FTS5's
trigram tokenizer on SQLite).

Revision ID: 0012_copy_counts
Revises: 0011_needle_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from canary.store import search_index

revision = "0012_copy_counts"
down_revision = "0011_needle_index"
branch_labels = None
depends_on = None

COUNTS = ("canary_count", "exclusive_hits", "shared_hits")


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both backends (a batch would rebuild `copies`,
    # which the foreign keys of the tables naming a copy forbid once there are rows).
    for name in COUNTS:
        op.add_column(
            "copies", sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    _backfill()
    search_index.create(op.get_bind())


def _backfill() -> None:
    """The counts as `canary copies` computed them, one correlated count per copy."""
    op.execute(
        "UPDATE copies SET canary_count = "
        "(SELECT count(*) FROM canaries WHERE canaries.copy_id = copies.id)"
    )
    candidates = "(SELECT count(*) FROM hit_copies o WHERE o.hit_id = hc.hit_id)"
    for column, alone in (("exclusive_hits", "= 1"), ("shared_hits", "> 1")):
        op.execute(
            f"UPDATE copies SET {column} = (SELECT count(*) FROM hit_copies hc "
            "JOIN hits h ON h.id = hc.hit_id "
            f"WHERE hc.copy_id = copies.id AND h.classification = 'evidence' "
            f"AND {candidates} {alone})"
        )


def downgrade() -> None:
    search_index.drop(op.get_bind())
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch would rebuild `copies`, which
    # the foreign keys of every table naming a copy forbid.
    for name in reversed(COUNTS):
        op.execute(f"ALTER TABLE copies DROP COLUMN {name}")
