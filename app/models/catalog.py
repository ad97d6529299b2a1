from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int]
    # Deleting a product hides it; orders keep pointing at it.
    is_active: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )


# Name search is `name ILIKE '%term%'` on PostgreSQL: a trigram index serves
# it where a b-tree cannot, so it need not read every row. SQLite has no such
# index (a scan of its table is cheap); `info["dialects"]` keeps `alembic check`
# from asking for it there (migrations/env.py).
Index(
    "ix_products_name_trigrams",
    Product.name,
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops"},
    info={"dialects": ("postgresql",)},
)


class CatalogStamp(Base):
    """SQLite only: one row whose stamp every change to `products` draws anew.

    Triggers made by migration 0005 write a new random stamp in the same
    transaction as any insert, update or delete on `products`, whoever makes
    it. A process that finds the stamp it saw before its last read knows its
    cached answers still hold, and need not read them again
    (`app.catalog.stamp`). A migration that rebuilds `products` on SQLite
    (a batch operation) drops those triggers: it must create them again.
    """

    __tablename__ = "catalog_stamp"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        {"info": {"dialects": ("sqlite",)}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
