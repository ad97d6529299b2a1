"""Checkout turns the cart into an order; shoppers read their orders back.

A checkout is all or nothing: it claims the cart lines it read, reserves the
stock of each product and snapshots names and prices into the order, in the
request's one transaction. Any refusal raises, and the session dependency
rolls every step back.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.cart.service import cart_lines
from app.catalog.cache import moves_stock_of
from app.catalog.errors import CurrencyMismatch, InsufficientStock
from app.errors import DomainError, ErrorCode, NotFound
from app.models import CartItem, Order, OrderItem, OrderStatus, Product

logger = logging.getLogger("app.checkout")


class CartEmpty(DomainError):
    status_code = 400
    code = ErrorCode.CART_EMPTY
    message = "Your cart is empty"


class CartChanged(DomainError):
    status_code = 409
    code = ErrorCode.CART_CHANGED
    message = "Your cart changed during checkout; review it and try again"


class ProductUnavailable(DomainError):
    status_code = 409
    code = ErrorCode.PRODUCT_UNAVAILABLE
    message = "A product in your cart is no longer sold"

    def __init__(self, *, product_id: int, name: str) -> None:
        super().__init__(
            f"{name} is no longer sold; remove it from your cart", product_id=product_id
        )


@dataclass(frozen=True)
class _Line:
    product_id: int
    name: str
    quantity: int


@dataclass(frozen=True)
class _Reserved:
    product_id: int
    name: str
    unit_price: int
    currency: str
    quantity: int


async def place_order(session: AsyncSession, user_id: int) -> Order:
    """Order everything in the user's cart at today's prices, reserving stock."""
    await _refuse_hidden_products(session, user_id)
    lines = await _read_cart(session, user_id)
    if not lines:
        raise CartEmpty()

    await _claim_cart(session, user_id, lines)
    reserved = [await _reserve_stock(session, line) for line in lines]
    order = _new_order(user_id, reserved)
    session.add(order)
    await session.flush()

    logger.info(
        "checkout.order_placed order_id=%s user_id=%s lines=%s total=%s",
        order.id,
        user_id,
        len(order.items),
        order.total,
    )
    return order


async def _refuse_hidden_products(session: AsyncSession, user_id: int) -> None:
    """A product taken off sale while it sat in the cart is named, not dropped."""
    hidden = (
        await session.execute(
            select(Product.id, Product.name)
            .join(CartItem, CartItem.product_id == Product.id)
            .where(CartItem.user_id == user_id, Product.is_active.is_(False))
            .order_by(Product.id)
            .limit(1)
        )
    ).first()
    if hidden is not None:
        raise ProductUnavailable(product_id=hidden.id, name=hidden.name)


async def _read_cart(session: AsyncSession, user_id: int) -> list[_Line]:
    lines = [
        _Line(line.product.id, line.product.name, line.quantity)
        for line in await cart_lines(session, user_id)
    ]
    # Ascending product id: every checkout then locks product rows in the same
    # order, so two checkouts may wait on each other but never deadlock.
    return sorted(lines, key=lambda line: line.product_id)


async def _claim_cart(session: AsyncSession, user_id: int, lines: list[_Line]) -> None:
    """Delete exactly the lines read; fail if a concurrent request changed them."""
    claimed = await session.execute(
        delete(CartItem)
        .where(
            CartItem.user_id == user_id,
            tuple_(CartItem.product_id, CartItem.quantity).in_(
                [(line.product_id, line.quantity) for line in lines]
            ),
        )
        .execution_options(synchronize_session=False)
    )
    # A double-submitted checkout finds its lines already gone: one order, not two.
    if claimed.rowcount != len(lines):
        raise CartChanged()


async def _reserve_stock(session: AsyncSession, line: _Line) -> _Reserved:
    """Take the quantity off the shelf, or refuse; never below zero."""
    taken = await session.execute(
        update(Product)
        .where(
            Product.id == line.product_id,
            Product.stock >= line.quantity,
            Product.is_active.is_(True),
        )
        .values(stock=Product.stock - line.quantity)
        .returning(Product.name, Product.price, Product.currency)
        .execution_options(
            synchronize_session=False,
            **moves_stock_of(line.product_id),
        )
    )
    row = taken.first()
    if row is None:
        await _refuse(session, line)
    return _Reserved(
        product_id=line.product_id,
        name=row.name,
        unit_price=row.price,
        currency=row.currency,
        quantity=line.quantity,
    )


async def _refuse(session: AsyncSession, line: _Line) -> NoReturn:
    """Say why a product could not be reserved."""
    product = (
        await session.execute(
            select(Product.stock, Product.is_active).where(
                Product.id == line.product_id
            )
        )
    ).first()
    if product is None or not product.is_active:
        raise ProductUnavailable(product_id=line.product_id, name=line.name)
    raise InsufficientStock(
        product_id=line.product_id, name=line.name, available=product.stock
    )


def _new_order(user_id: int, reserved: list[_Reserved]) -> Order:
    currencies = {line.currency for line in reserved}
    if len(currencies) != 1:
        raise CurrencyMismatch("Your cart mixes products in different currencies")
    items = [
        OrderItem(
            product_id=line.product_id,
            product_name=line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.unit_price * line.quantity,
        )
        for line in reserved
    ]
    return Order(
        user_id=user_id,
        status=OrderStatus.PENDING_PAYMENT,
        total=sum(item.line_total for item in items),
        currency=currencies.pop(),
        items=items,
    )


async def list_orders(
    session: AsyncSession, user_id: int, *, limit: int, offset: int
) -> tuple[Sequence[Order], int]:
    """One page of the user's orders, newest first, and how many they have."""
    orders = await session.scalars(
        select(Order)
        .where(Order.user_id == user_id)
        .options(selectinload(Order.items))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(
        select(func.count()).select_from(Order).where(Order.user_id == user_id)
    )
    return orders.all(), total or 0


async def get_order(session: AsyncSession, user_id: int, order_id: int) -> Order:
    """The user's own order; another user's is as absent as an unknown one."""
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id, Order.user_id == user_id)
        .options(selectinload(Order.items))
    )
    if order is None:
        raise NotFound("Order not found")
    return order
