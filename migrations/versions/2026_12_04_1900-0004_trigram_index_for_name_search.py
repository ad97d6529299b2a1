"""trigram index for product name search on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_products_name_trigrams"


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _on_postgresql():
        return
    # pg_trgm ships with PostgreSQL and is trusted: a database owner may add it
    # (README, "Operations", for a role that may not).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Built without blocking writes: checkouts keep taking stock meanwhile.
    with op.get_context().autocommit_block():
        op.create_index(
            _INDEX,
            "products",
            ["name"],
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    # The extension stays: other schemas in the database may use it.
    if _on_postgresql():
        with op.get_context().autocommit_block():
            op.drop_index(
                _INDEX,
                table_name="products",
                postgresql_concurrently=True,
                if_exists=True,
            )
