"""The cart: one line per (user, product), priced at the current catalog price.

A cart reserves nothing: stock is checked when a line changes so the shopper
hears early, and checked again (and taken) at checkout.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.errors import InsufficientStock
from app.catalog.service import get_active_product
from app.db import upsert_insert
from app.errors import NotFound
from app.models import CartItem, Product

logger = logging.getLogger("app.cart")


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> int:
        return self.product.price * self.quantity


async def cart_lines(session: AsyncSession, user_id: int) -> list[CartLine]:
    """The user's cart lines with their products loaded, ordered by product id."""
    # A product hidden while someone was adding it is left out, never sold.
    rows = await session.execute(
        select(Product, CartItem.quantity)
        .join(CartItem, CartItem.product_id == Product.id)
        .where(CartItem.user_id == user_id, Product.is_active.is_(True))
        .order_by(Product.id)
    )
    return [CartLine(product, quantity) for product, quantity in rows]


def _ensure_in_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise InsufficientStock(
            product_id=product.id, name=product.name, available=product.stock
        )


async def _add_to_line(
    session: AsyncSession, user_id: int, product_id: int, quantity: int
) -> int:
    """Insert the line or add to it in one statement; return the new quantity."""
    # One upsert rather than read-then-write: two concurrent adds of the same
    # product would otherwise race for the primary key.
    insert = upsert_insert(session)
    statement = insert(CartItem).values(
        user_id=user_id, product_id=product_id, quantity=quantity
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CartItem.user_id, CartItem.product_id],
        set_={"quantity": CartItem.quantity + statement.excluded.quantity},
    ).returning(CartItem.quantity)
    return (await session.execute(statement)).scalar_one()


async def add_item(
    session: AsyncSession, user_id: int, product_id: int, quantity: int
) -> None:
    """Add `quantity` to the user's line; the whole line must be in stock."""
    product = await get_active_product(session, product_id)

    # Checked after the write: the returned total includes concurrent adds, and
    # raising rolls the request's transaction back.
    new_quantity = await _add_to_line(session, user_id, product_id, quantity)
    _ensure_in_stock(product, new_quantity)

    logger.info(
        "cart.item_added user_id=%s product_id=%s quantity=%s line_quantity=%s",
        user_id,
        product_id,
        quantity,
        new_quantity,
    )


async def _product_in_cart(
    session: AsyncSession, user_id: int, product_id: int
) -> Product:
    product = await session.scalar(
        select(Product)
        .join(CartItem, CartItem.product_id == Product.id)
        .where(
            CartItem.user_id == user_id,
            CartItem.product_id == product_id,
            Product.is_active.is_(True),
        )
    )
    if product is None:
        raise NotFound("This product is not in your cart")
    return product


async def set_quantity(
    session: AsyncSession, user_id: int, product_id: int, quantity: int
) -> None:
    """Replace the quantity of a line already in the cart."""
    product = await _product_in_cart(session, user_id, product_id)
    _ensure_in_stock(product, quantity)

    changed = await session.execute(
        update(CartItem)
        .where(CartItem.user_id == user_id, CartItem.product_id == product_id)
        .values(quantity=quantity)
    )
    if changed.rowcount != 1:
        raise NotFound("This product is not in your cart")

    logger.info(
        "cart.item_quantity_set user_id=%s product_id=%s quantity=%s",
        user_id,
        product_id,
        quantity,
    )


async def remove_item(session: AsyncSession, user_id: int, product_id: int) -> None:
    """Remove a line; `NotFound` if the cart has no such line."""
    removed = await session.execute(
        delete(CartItem).where(
            CartItem.user_id == user_id, CartItem.product_id == product_id
        )
    )
    if removed.rowcount != 1:
        raise NotFound("This product is not in your cart")

    logger.info("cart.item_removed user_id=%s product_id=%s", user_id, product_id)
