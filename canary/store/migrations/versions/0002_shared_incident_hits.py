"""Shared hits join the incident of each candidate copy.

Revision ID: 0002_shared_incident_hits
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_shared_incident_hits"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_hits",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("hit_id", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_incident_hits_hit_id_hits")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_hits_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "hit_id", name=op.f("pk_incident_hits")),
    )
    with op.batch_alter_table("incident_hits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_hits_hit_id"), ["hit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_hits_hit_id"))
    op.drop_table("incident_hits")
