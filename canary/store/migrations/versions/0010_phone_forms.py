"""phone forms and name keys: national number, country code and region kept beside each
phone, the sorted folded words beside each name

identify read every canary number and parsed it (about 75 us each: 7 s for 100,000
canaries) and trace parsed every number in the store on every call to list the regions
of national forms. They are now written with the number (models' before_insert hooks)
and read back; the region is indexed (only phone rows hold one). trace compared a
typed name with every canary name in the store; the names' sorted folded words are
now indexed. `canary hits` filtered by channel or classification reads its first page
from (channel, observed_at) and (classification, observed_at) indexes.

Revision ID: 0010_phone_forms
Revises: 0009_hit_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from canary.identifiers import phone_parts
from canary.store.models import name_key

revision = "0010_phone_forms"
down_revision = "0009_hit_inbox"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("country_code", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("folded", sa.String(length=500), nullable=True))
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country_code", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=3), nullable=True))
    _backfill()
    op.create_index(
        "ix_identifiers_region",
        "identifiers",
        ["region"],
        unique=False,
        sqlite_where=sa.text("region IS NOT NULL"),
        postgresql_where=sa.text("region IS NOT NULL"),
    )
    op.create_index("ix_hits_channel_observed", "hits", ["channel", "observed_at"], unique=False)
    op.create_index(
        "ix_hits_classification_observed", "hits", ["classification", "observed_at"], unique=False
    )
    op.create_index(
        "ix_identifiers_folded",
        "identifiers",
        ["folded"],
        unique=False,
        sqlite_where=sa.text("folded IS NOT NULL"),
        postgresql_where=sa.text("folded IS NOT NULL"),
    )


def _backfill() -> None:
    con = op.get_bind()
    _backfill_names(con)
    last = 0
    while True:
        rows = con.execute(
            sa.text(
                "SELECT id, value FROM identifiers WHERE kind = 'phone' AND id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for ident, value in rows:
            parts = phone_parts(value)
            if parts is not None:
                updates.append({"id": ident, "n": parts[0], "c": parts[1], "r": parts[2]})
        if updates:
            con.execute(
                sa.text(
                    "UPDATE identifiers SET national = :n, country_code = :c, region = :r "
                    "WHERE id = :id"
                ),
                updates,
            )
    for (number,) in con.execute(sa.text("SELECT number FROM phone_numbers")).all():
        parts = phone_parts(number)
        if parts is not None:
            con.execute(
                sa.text(
                    "UPDATE phone_numbers SET country_code = :c, region = :r WHERE number = :n"
                ),
                {"c": parts[1], "r": parts[2], "n": number},
            )


def _backfill_names(con: sa.Connection) -> None:
    last = 0
    while True:
        rows = con.execute(
            sa.text(
                "SELECT id, value FROM identifiers WHERE kind = 'name' AND id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        con.execute(
            sa.text("UPDATE identifiers SET folded = :f WHERE id = :id"),
            [{"id": i, "f": name_key(v)[:500]} for i, v in rows],
        )


def downgrade() -> None:
    op.drop_index("ix_hits_classification_observed", table_name="hits")
    op.drop_index("ix_hits_channel_observed", table_name="hits")
    op.drop_index("ix_identifiers_folded", table_name="identifiers")
    op.drop_index("ix_identifiers_region", table_name="identifiers")
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_column("region")
        batch_op.drop_column("country_code")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_column("folded")
        batch_op.drop_column("region")
        batch_op.drop_column("country_code")
        batch_op.drop_column("national")
