"""mailboxes: accounts at mail providers read over IMAP, their aliases, variants, folders

Revision ID: 0006_mailboxes
Revises: 0005_collusion_code (re-chained at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canary.store.models

revision = "0006_mailboxes"
down_revision = "0005_collusion_code"
branch_labels = None
depends_on = None

UTC_DT = canary.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("imap", sa.String(length=500), nullable=False),
        sa.Column("user", sa.String(length=320), nullable=False),
        sa.Column("password_env", sa.String(length=100), nullable=False),
        sa.Column("ca_file", sa.Text(), nullable=False),
        sa.Column("added_at", UTC_DT, nullable=False),
        sa.Column("retired_at", UTC_DT, nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_ok_at", UTC_DT, nullable=True),
        sa.Column("failing_since", UTC_DT, nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mailboxes")),
    )
    op.create_table(
        "mailbox_aliases",
        sa.Column("alias", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("added_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["address"], ["mailboxes.address"], name=op.f("fk_mailbox_aliases_address_mailboxes")
        ),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_mailbox_aliases")),
    )
    with op.batch_alter_table("mailbox_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_aliases_address"), ["address"], unique=False)
    op.create_table(
        "mailbox_variants",
        sa.Column("variant", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("used_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["address"], ["mailboxes.address"], name=op.f("fk_mailbox_variants_address_mailboxes")
        ),
        sa.PrimaryKeyConstraint("variant", name=op.f("pk_mailbox_variants")),
    )
    with op.batch_alter_table("mailbox_variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_variants_address"), ["address"], unique=False)
    op.create_table(
        "mailbox_folders",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["address"], ["mailboxes.address"], name=op.f("fk_mailbox_folders_address_mailboxes")
        ),
        sa.PrimaryKeyConstraint("address", "folder", name=op.f("pk_mailbox_folders")),
    )


def downgrade() -> None:
    op.drop_table("mailbox_folders")
    with op.batch_alter_table("mailbox_variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_variants_address"))
    op.drop_table("mailbox_variants")
    with op.batch_alter_table("mailbox_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_aliases_address"))
    op.drop_table("mailbox_aliases")
    op.drop_table("mailboxes")
