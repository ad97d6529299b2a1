"""catalog stamp on SQLite: triggers draw a new one on every product change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:30:00.000000

Any later migration that rebuilds `products` on SQLite (a batch operation
copies the table, and its triggers are lost) must create them again. Until
then every process reads its answers in full (the stamp is read only while
the triggers are there), and logs `catalog.stamp_missing`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = {
    "products_stamp_after_insert": "AFTER INSERT",
    "products_stamp_after_update": "AFTER UPDATE",
    "products_stamp_after_delete": "AFTER DELETE",
}
# An UPDATE that cannot conflict: inside a trigger SQLite applies the outer
# statement's conflict policy, so an INSERT here would be skipped by an
# `INSERT OR IGNORE INTO products` and would fail an upsert. A random stamp
# rather than a counter: a counter started again could repeat a value that a
# process still holds.
_NEW_STAMP = "UPDATE catalog_stamp SET stamp = random() WHERE id = 1"


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _create_triggers() -> None:
    for name, when in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} ON products BEGIN {_NEW_STAMP}; END")


def upgrade() -> None:
    if not _on_sqlite():
        return
    op.create_table(
        "catalog_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_stamp_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_stamp")),
    )
    op.execute("INSERT INTO catalog_stamp (id, stamp) VALUES (1, random())")
    _create_triggers()


def downgrade() -> None:
    if not _on_sqlite():
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("catalog_stamp")
