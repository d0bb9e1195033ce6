"""hit inbox: hits stored before they are attributed (the listeners answer first)

Revision ID: 0009_hit_inbox
Revises: 0008_live_copies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0009_hit_inbox"
down_revision = "0008_live_copies"
branch_labels = None
depends_on = None

UTC_DT = canary.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hit_inbox",
        sa.Column("hit_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_hit_inbox_hit_id_hits")),
        sa.PrimaryKeyConstraint("hit_id", name=op.f("pk_hit_inbox")),
    )


def downgrade() -> None:
    op.drop_table("hit_inbox")
