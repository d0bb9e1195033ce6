"""dataset fingerprints: keyed hashes of sampled rows, so identify names the dataset

Revision ID: 0003_dataset_fingerprints
Revises: 0002_shared_incident_hits
Create Date: 2026-11-29 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0003_dataset_fingerprints"
down_revision = "0002_shared_incident_hits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_fingerprint_keys",
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("rows_sampled", sa.Integer(), nullable=False),
        sa.Column("created_at", canary.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_fingerprint_keys_dataset_id_datasets"),
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_dataset_fingerprint_keys")),
    )
    op.create_table(
        "dataset_fingerprints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_fingerprints_dataset_id_datasets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_fingerprints")),
    )
    with op.batch_alter_table("dataset_fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_fingerprints_dataset_id"), ["dataset_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset_fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_fingerprints_dataset_id"))
    op.drop_table("dataset_fingerprints")
    op.drop_table("dataset_fingerprint_keys")
