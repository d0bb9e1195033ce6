"""retiring canary domains and phone numbers; voice-only numbers

Revision ID: 0004_retirement
Revises: 0003_dataset_fingerprints
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0004_retirement"
down_revision = "0003_dataset_fingerprints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domains") as batch:
        batch.add_column(
            sa.Column("retired_at", canary.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(
            sa.Column("retired_at", canary.store.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("voice_only", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.drop_column("voice_only")
        batch.drop_column("retired_at")
    with op.batch_alter_table("domains") as batch:
        batch.drop_column("retired_at")
