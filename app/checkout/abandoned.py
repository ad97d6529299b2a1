"""Cancel orders left unpaid too long, and give their stock back.

Every worker sweeps on a timer; the guarded update makes each cancellation
happen once however many workers race. An order with a payment in flight is
left alone: the charge may still succeed.
"""

import logging
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.cache import moves_stock_of
from app.db import SessionFactory
from app.models import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Product,
    utcnow,
)

logger = logging.getLogger("app.checkout")

_BATCH = 100


async def cancel_abandoned_orders(
    sessions: SessionFactory, *, unpaid_for: timedelta
) -> int:
    """Cancel up to a batch of stale unpaid orders; return how many were cancelled."""
    cutoff = utcnow() - unpaid_for
    async with sessions() as session:
        stale = await session.scalars(
            select(Order.id)
            .where(
                Order.status == OrderStatus.PENDING_PAYMENT, Order.created_at < cutoff
            )
            .order_by(Order.id)
            .limit(_BATCH)
        )
        order_ids = list(stale)

    cancelled = 0
    for order_id in order_ids:
        async with sessions() as session, session.begin():
            cancelled += await _cancel(session, order_id)
    return cancelled


async def _cancel(session: AsyncSession, order_id: int) -> bool:
    # Lock the order first (PostgreSQL; skipped if a payment holds it) so the
    # in-flight check below reads payments committed up to this moment.
    locked = await session.scalar(
        select(Order.id)
        .where(Order.id == order_id, Order.status == OrderStatus.PENDING_PAYMENT)
        .with_for_update(skip_locked=True)
    )
    if locked is None:
        return False
    payment_in_flight = exists().where(
        Payment.order_id == Order.id, Payment.status == PaymentStatus.PROCESSING
    )
    result = await session.execute(
        update(Order)
        .where(
            Order.id == order_id,
            Order.status == OrderStatus.PENDING_PAYMENT,
            ~payment_in_flight,
        )
        .values(status=OrderStatus.CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await _return_stock(session, order_id)
    logger.info("order.cancelled_unpaid order_id=%s", order_id)
    return True


async def _return_stock(session: AsyncSession, order_id: int) -> None:
    lines = await session.execute(
        select(OrderItem.product_id, OrderItem.quantity)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.product_id)
    )
    for product_id, quantity in lines:
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
            .execution_options(
                synchronize_session=False,
                **moves_stock_of(product_id),
            )
        )
