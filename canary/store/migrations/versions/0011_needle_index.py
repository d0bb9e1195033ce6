"""needle index: identify's needles kept in the store, and a register generation

identify read every identifier of the store (SQLAlchemy rows, name folding, word
orders: about 2.4 s of CPU per 100,000 canaries) before it read a dump. The folded
needles, sorted, and the identifier ids behind each are now kept in `needle_index`
(a few binary parts), tagged with the generation they were built at.
`identify_generation` holds one counter that triggers bump in the transaction of any
insert, update or delete of an identifier or a canary domain, so an index built before
a change is never used after it (`canary.investigate.needles`). A later migration
that rebuilds `identifiers` or `domains` on SQLite (batch_alter_table copies the table)
must create these triggers again: without them identify builds its index on every run
and keeps none (`needles.watched`).

Revision ID: 0011_needle_index
Revises: 0010_phone_forms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_needle_index"
down_revision = "0010_phone_forms"
branch_labels = None
depends_on = None

#: The tables whose changes make a built needle index stale.
WATCHED = ("identifiers", "domains")


def upgrade() -> None:
    op.create_table(
        "identify_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identify_generation")),
    )
    op.create_table(
        "needle_index",
        sa.Column("part", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("part", "seq", name=op.f("pk_needle_index")),
    )
    op.execute("INSERT INTO identify_generation (id, value) VALUES (1, 0)")
    bump = "UPDATE identify_generation SET value = value + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION identify_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {bump}; RETURN NULL; END $$"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_identify_generation "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION identify_generation_bump()"
            )
    else:  # SQLite: row triggers only
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_identify_generation_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN {bump}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_identify_generation ON {table}")
        op.execute("DROP FUNCTION identify_generation_bump()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_identify_generation_{event}")
    op.drop_table("needle_index")
    op.drop_table("identify_generation")
