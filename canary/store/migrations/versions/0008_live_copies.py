"""live copies: canary rows planted into a live table in place, and their keys

Revision ID: 0008_live_copies
Revises: 0007_workflow_case_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0008_live_copies"
down_revision = "0007_workflow_case_events"
branch_labels = None
depends_on = None

UTC_DT = canary.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_copies",
        sa.Column("copy_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("table_name", sa.String(length=300), nullable=False),
        sa.Column("password_env", sa.String(length=100), nullable=False),
        sa.Column("planted_at", UTC_DT, nullable=False),
        sa.Column("unplanted_at", UTC_DT, nullable=True),
        sa.Column("unplant", sa.JSON(), nullable=False),
        sa.Column("check_state", sa.String(length=20), nullable=False),
        sa.Column("checked_at", UTC_DT, nullable=True),
        sa.Column("check_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"], ["copies.id"], name=op.f("fk_live_copies_copy_id_copies")
        ),
        sa.PrimaryKeyConstraint("copy_id", name=op.f("pk_live_copies")),
    )
    op.create_table(
        "live_rows",
        sa.Column("canary_id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["canary_id"], ["canaries.id"], name=op.f("fk_live_rows_canary_id_canaries")
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"], ["live_copies.copy_id"], name=op.f("fk_live_rows_copy_id_live_copies")
        ),
        sa.PrimaryKeyConstraint("canary_id", name=op.f("pk_live_rows")),
    )
    with op.batch_alter_table("live_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_rows_copy_id"), ["copy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("live_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_rows_copy_id"))
    op.drop_table("live_rows")
    op.drop_table("live_copies")
