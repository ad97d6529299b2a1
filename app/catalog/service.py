"""Catalog rules: what shoppers see, and what staff may change."""

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.cache import MAX_ENTRIES
from app.catalog.errors import CurrencyMismatch
from app.catalog.schemas import ProductCreate, ProductOut, ProductPage
from app.errors import NotFound
from app.inputs import MAX_ID
from app.models import CartItem, Product

logger = logging.getLogger("app.catalog")

# The list reads only what it shows: no timestamps, no flags.
_LISTED_COLUMNS = (
    Product.id,
    Product.name,
    Product.description,
    Product.price,
    Product.currency,
    Product.stock,
)


_FIELDS = tuple(column.key for column in _LISTED_COLUMNS)
_PAGE_JSON = TypeAdapter(ProductPage)
_PRODUCT_JSON = TypeAdapter(ProductOut)


def _name_matches(search: str, dialect: str) -> ColumnElement[bool]:
    # autoescape makes `%` and `_` in the search text match literally.
    if dialect == "sqlite":
        # SQLite's LIKE already ignores ASCII case, and its lower() knows no
        # other letters: the same matches as icontains, without calling lower()
        # on every row (five times faster on a 10,000-product search).
        return Product.name.contains(search, autoescape=True)
    return Product.name.icontains(search, autoescape=True)


def _listing_filter(search: str | None, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Product.is_active.is_(True)]
    if search:
        conditions.append(_name_matches(search, dialect))
    return conditions


async def list_products(
    session: AsyncSession, *, limit: int, offset: int, search: str | None = None
) -> tuple[Sequence[Row[Any]], int]:
    """One page of active products ordered by id, and how many match in all."""
    conditions = _listing_filter(search, session.get_bind().dialect.name)
    count = select(func.count()).select_from(Product).where(*conditions)
    # One statement brings the page and the total: a round trip costs more
    # than the count, above all on a busy event loop, where every round trip
    # waits for its turn.
    page = await session.execute(
        select(*_LISTED_COLUMNS, count.scalar_subquery().label("total"))
        .where(*conditions)
        .order_by(Product.id)
        .limit(limit)
        .offset(offset)
    )
    rows = page.all()
    if rows:
        return rows, rows[0].total
    # Past the end (or nothing matches) the page carries no total.
    return rows, 0 if offset == 0 else (await session.scalar(count) or 0)


# The cache reads every product again every few seconds, and almost always its
# row has not changed: the JSON made from the same values is kept rather than
# made again (it was a fifth of the event loop's time while shoppers browsed
# all 10,000 products in `make bench`). As many as the cache keeps answers; the
# memory is about one more copy of each product's text.
@lru_cache(maxsize=MAX_ENTRIES)
def _product_bytes(values: tuple[Any, ...]) -> bytes:
    return _PRODUCT_JSON.dump_json(_product_out(values))


def _product_out(values: Sequence[Any]) -> ProductOut:
    return ProductOut(**dict(zip(_FIELDS, values, strict=True)))


async def page_json(
    session: AsyncSession, *, limit: int, offset: int, search: str | None
) -> bytes:
    """One page of the listing, as the JSON the API sends."""
    rows, total = await list_products(
        session, limit=limit, offset=offset, search=search
    )
    page = ProductPage(
        items=[_product_out(row[: len(_FIELDS)]) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
    return _PAGE_JSON.dump_json(page)


async def products_json(
    session: AsyncSession, first_id: int, last_id: int
) -> dict[int, bytes]:
    """Each active product with an id in [first_id, last_id], as the API sends it."""
    rows = await session.execute(
        select(*_LISTED_COLUMNS).where(
            Product.id.between(first_id, last_id), Product.is_active.is_(True)
        )
    )
    return {row.id: _product_bytes(tuple(row)) for row in rows}


async def get_active_product(session: AsyncSession, product_id: int) -> Product:
    """The product shoppers can see, or `NotFound` (also when it was deleted)."""
    if not 0 < product_id <= MAX_ID:
        raise NotFound("Product not found")
    product = await session.scalar(
        select(Product).where(Product.id == product_id, Product.is_active.is_(True))
    )
    if product is None:
        raise NotFound("Product not found")
    return product


def check_currency(requested: str | None, shop_currency: str) -> str:
    """The shop sells in one currency; anything else is refused, not converted."""
    if requested is None or requested == shop_currency:
        return shop_currency
    raise CurrencyMismatch(f"This shop sells in {shop_currency} only")


async def create_product(
    session: AsyncSession, data: ProductCreate, *, shop_currency: str, staff_id: int
) -> Product:
    currency = check_currency(data.currency, shop_currency)

    product = Product(
        name=data.name,
        description=data.description,
        price=data.price,
        currency=currency,
        stock=data.stock,
    )
    session.add(product)
    await session.flush()

    logger.info(
        "catalog.product_created product_id=%s staff_id=%s", product.id, staff_id
    )
    return product


async def update_product(
    session: AsyncSession,
    product_id: int,
    changes: dict[str, Any],
    *,
    shop_currency: str,
    staff_id: int,
) -> Product:
    product = await get_active_product(session, product_id)
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"], shop_currency)

    for field, value in changes.items():
        setattr(product, field, value)
    await session.flush()

    logger.info(
        "catalog.product_updated product_id=%s staff_id=%s fields=%s",
        product_id,
        staff_id,
        ",".join(sorted(changes)) or "-",
    )
    return product


async def hide_product(
    session: AsyncSession, product_id: int, *, staff_id: int
) -> None:
    """Take a product off sale and out of every cart; placed orders keep it."""
    if not 0 < product_id <= MAX_ID:
        raise NotFound("Product not found")
    # A conditional UPDATE, so two concurrent deletes cannot both succeed.
    hidden = await session.execute(
        update(Product)
        .where(Product.id == product_id, Product.is_active.is_(True))
        .values(is_active=False)
    )
    if hidden.rowcount != 1:
        raise NotFound("Product not found")

    removed = await session.execute(
        delete(CartItem).where(CartItem.product_id == product_id)
    )

    logger.info(
        "catalog.product_deleted product_id=%s staff_id=%s cart_lines_removed=%s",
        product_id,
        staff_id,
        removed.rowcount,
    )
