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
