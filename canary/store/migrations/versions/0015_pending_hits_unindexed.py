"""hits: the SQLite full-text (trigram) indexes leave out pending hits

A listener commits each hit as pending before it answers (canary.hits.record.receive_in);
on SQLite the three FTS5 tables over the hits (sender, summary, message text) were
written in that commit, by their insert triggers. They now hold attributed hits only:
the triggers skip rows whose classification is 'pending', and the update trigger adds
a hit when attribution sets its classification. Searches add the pending hits (few:
the inbox's) to what the indexes name (canary.store.search_index.matching_rows), so
they find the same hits. Rebuilt here from the hits as they are; no hit changes.
Nothing changes on PostgreSQL (its GIN indexes cost little on insert).

Revision ID: 0015_pending_hits_unindexed
Revises: 0014_blob_lz4
"""

from __future__ import annotations

import dataclasses

from alembic import op

from canary.store import search_index

revision = "0015_pending_hits_unindexed"
down_revision = "0014_blob_lz4"
branch_labels = None
depends_on = None


def _rebuild(indexes: tuple[search_index.Trigrams, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    present = [t for t in indexes if search_index.sqlite_has_index(bind, t)]
    search_index.drop(bind, present)
    search_index.create(bind, present)


def upgrade() -> None:
    _rebuild(search_index.HITS)


def downgrade() -> None:
    _rebuild(tuple(dataclasses.replace(t, fts_where=None) for t in search_index.HITS))
