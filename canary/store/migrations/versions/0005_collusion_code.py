"""collusion codes: coded canaries shared by subsets of copies

Revision ID: 0005_collusion_code
Revises: 0004_retirement
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0005_collusion_code"
down_revision = "0004_retirement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collusion_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("construction", sa.String(length=40), nullable=False),
        sa.Column("coalition", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("eps", sa.Float(), nullable=False),
        sa.Column("copies", sa.JSON(), nullable=False),
        sa.Column("created_at", canary.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_collusion_codes_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_codes")),
    )
    with op.batch_alter_table("collusion_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_codes_dataset_id"), ["dataset_id"], unique=False
        )
    op.create_table(
        "code_positions",
        sa.Column("code_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("bias", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["collusion_codes.id"],
            name=op.f("fk_code_positions_code_id_collusion_codes"),
        ),
        sa.PrimaryKeyConstraint("code_id", "position", name=op.f("pk_code_positions")),
    )
    op.create_table(
        "code_marks",
        sa.Column("code_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.String(length=32), nullable=False),
        sa.Column("canary_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["canary_id"], ["canaries.id"], name=op.f("fk_code_marks_canary_id_canaries")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["collusion_codes.id"], name=op.f("fk_code_marks_code_id_collusion_codes")
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"], ["copies.id"], name=op.f("fk_code_marks_copy_id_copies")
        ),
        sa.PrimaryKeyConstraint("code_id", "position", "copy_id", name=op.f("pk_code_marks")),
        sa.UniqueConstraint("canary_id", name=op.f("uq_code_marks_canary_id")),
    )
    with op.batch_alter_table("code_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_marks_copy_id"), ["copy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_marks_copy_id"))
    op.drop_table("code_marks")
    op.drop_table("code_positions")
    with op.batch_alter_table("collusion_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collusion_codes_dataset_id"))
    op.drop_table("collusion_codes")
