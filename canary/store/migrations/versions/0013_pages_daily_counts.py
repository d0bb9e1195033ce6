"""hit tallies: hits counted per quarter of an hour, by channel and by best copy;
trigram indexes for search

The dashboard's home page charted the last 30 days' hits by reading them (at most the
newest 20,000) and counting in Python: a second at a million hits. The counts are now
kept in `hit_tallies` (canary.store.hit_tallies), backfilled here from the hits.
Search (canary.investigate.search) matched canary names, hits' summaries and message
text with LIKE over every row (seconds at a million): they get the trigram indexes
migration 0012 made for the sender filter (canary.store.search_index).

Revision ID: 0013_pages_daily_counts
Revises: 0012_copy_counts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from canary.store import hit_tallies, search_index

revision = "0013_pages_daily_counts"
down_revision = "0012_copy_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hit_tallies",
        sa.Column("series", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", "slot", "key", name=op.f("pk_hit_tallies")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_hit_tallies_series_key_slot", "hit_tallies", ["series", "key", "slot"], unique=False
    )
    hit_tallies.backfill(op.get_bind())
    search_index.create(op.get_bind(), search_index.SEARCH)


def downgrade() -> None:
    search_index.drop(op.get_bind(), search_index.SEARCH)
    op.drop_index("ix_hit_tallies_series_key_slot", table_name="hit_tallies")
    op.drop_table("hit_tallies")
