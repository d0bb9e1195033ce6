"""case workflow: incident assignee, resolution and closing time; the case events
(incident changes, notes, hits marked as noise); the text search reads of a hit

Revision ID: 0007_workflow_case_events
Revises: 0006_mailboxes (re-chained at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0007_workflow_case_events"
down_revision = "0006_mailboxes"
branch_labels = None
depends_on = None

UTC_DT = canary.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closed_at", UTC_DT, nullable=True))
    with op.batch_alter_table("hits") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("hit_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC_DT, nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_case_events_hit_id_hits")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_case_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events") as batch:
        batch.create_index(batch.f("ix_case_events_hit_id"), ["hit_id"], unique=False)
        batch.create_index(batch.f("ix_case_events_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events") as batch:
        batch.drop_index(batch.f("ix_case_events_incident_id"))
        batch.drop_index(batch.f("ix_case_events_hit_id"))
    op.drop_table("case_events")
    with op.batch_alter_table("hits") as batch:
        batch.drop_column("search_text")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("resolution")
        batch.drop_column("assignee")
