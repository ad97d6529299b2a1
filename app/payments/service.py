"""Paying an order: start a payment, then record what the gateway answered.

A payment is created `processing` together with the job that charges it; the
job talks to the gateway outside any transaction, then records the outcome
with guarded updates so a repeated run changes nothing.
"""

import logging

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode, NotFound
from app.jobs import enqueue
from app.models import Order, OrderStatus, Payment, PaymentStatus, utcnow
from app.payments.gateway import ChargeOutcome

logger = logging.getLogger("app.payments")

CHARGE_PAYMENT = "payments.charge"


class OrderAlreadyPaid(DomainError):
    status_code = 409
    code = ErrorCode.ORDER_ALREADY_PAID
    message = "This order is already paid"


class OrderNotPayable(DomainError):
    status_code = 409
    code = ErrorCode.ORDER_NOT_PAYABLE
    message = "This order can no longer be paid"


class PaymentInProgress(DomainError):
    status_code = 409
    code = ErrorCode.PAYMENT_IN_PROGRESS
    message = "A payment for this order is already being processed"


async def start_payment(
    session: AsyncSession,
    user_id: int,
    *,
    order_id: int,
    payment_method: str,
    max_attempts: int,
) -> Payment:
    """Create a processing payment for the order's total and queue its charge."""
    order = await _own_order(session, user_id, order_id)
    await _lock_payable_order(session, order)
    if await _has_processing_payment(session, order.id):
        raise PaymentInProgress()

    payment = Payment(
        order_id=order.id,
        user_id=user_id,
        amount=order.total,
        currency=order.currency,
        payment_method=payment_method,
        status=PaymentStatus.PROCESSING,
    )
    session.add(payment)
    await session.flush()
    if payment.amount == 0:
        # Nothing to charge: a free order is paid the moment it is confirmed.
        await _record_success(session, payment, ChargeOutcome(succeeded=True))
        await session.refresh(payment)
        return payment
    job = {"payment_id": payment.id}
    enqueue(session, CHARGE_PAYMENT, job, max_attempts=max_attempts)

    logger.info(
        "payment.started payment_id=%s order_id=%s amount=%s currency=%s",
        payment.id,
        order.id,
        payment.amount,
        payment.currency,
    )
    return payment


async def _own_order(session: AsyncSession, user_id: int, order_id: int) -> Order:
    order = await session.scalar(
        select(Order).where(Order.id == order_id, Order.user_id == user_id)
    )
    if order is None:
        raise NotFound("Order not found")
    return order


async def _lock_payable_order(session: AsyncSession, order: Order) -> None:
    """Refuse an order that is not awaiting payment, and hold it until commit."""
    _check_payable(order.status)
    # Writing the order row locks it (a row lock on PostgreSQL, the write lock on
    # SQLite): two payments started at once for one order run one after the other,
    # so the second sees the first and is refused.
    touched = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING_PAYMENT)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if touched.rowcount != 1:
        status = await session.scalar(select(Order.status).where(Order.id == order.id))
        _check_payable(status)


def _check_payable(status: str | None) -> None:
    if status == OrderStatus.PAID:
        raise OrderAlreadyPaid()
    if status != OrderStatus.PENDING_PAYMENT:
        raise OrderNotPayable()


async def _has_processing_payment(session: AsyncSession, order_id: int) -> bool:
    processing = exists().where(
        Payment.order_id == order_id, Payment.status == PaymentStatus.PROCESSING
    )
    return bool(await session.scalar(select(processing)))


async def get_payment(session: AsyncSession, user_id: int, payment_id: int) -> Payment:
    """The user's own payment; another user's is as absent as an unknown one."""
    payment = await session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.user_id == user_id)
    )
    if payment is None:
        raise NotFound("Payment not found")
    return payment


async def payment_to_charge(session: AsyncSession, payment_id: int) -> Payment | None:
    """The payment if it still awaits its charge; None once it has an outcome.

    A payment whose order stopped awaiting payment (cancelled while the job
    waited) is failed here, before any money moves.
    """
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.PROCESSING:
        return None
    order_status = await session.scalar(
        select(Order.status).where(Order.id == payment.order_id)
    )
    if order_status != OrderStatus.PENDING_PAYMENT:
        outcome = ChargeOutcome(
            succeeded=False,
            failure_code="order_not_payable",
            failure_message="The order no longer awaited payment; nothing was charged.",
        )
        await _record_failure(session, payment, outcome)
        return None
    return payment


async def record_outcome(
    session: AsyncSession, payment: Payment, outcome: ChargeOutcome
) -> None:
    """Store the gateway's answer once; a repeated call finds nothing to change."""
    if outcome.succeeded:
        await _record_success(session, payment, outcome)
    else:
        await _record_failure(session, payment, outcome)


async def _record_success(
    session: AsyncSession, payment: Payment, outcome: ChargeOutcome
) -> None:
    settled = await _settle(
        session,
        payment.id,
        status=PaymentStatus.SUCCEEDED,
        gateway_reference=outcome.reference,
    )
    if not settled:
        return

    paid = await session.execute(
        update(Order)
        .where(
            Order.id == payment.order_id,
            Order.status == OrderStatus.PENDING_PAYMENT,
        )
        .values(status=OrderStatus.PAID, paid_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if paid.rowcount != 1:
        # Money was taken for an order no longer awaiting it: a person must refund.
        logger.error(
            "payment.order_not_pending payment_id=%s order_id=%s",
            payment.id,
            payment.order_id,
        )
    logger.info(
        "payment.succeeded payment_id=%s order_id=%s", payment.id, payment.order_id
    )


async def _record_failure(
    session: AsyncSession, payment: Payment, outcome: ChargeOutcome
) -> None:
    code = (outcome.failure_code or "unknown")[:64]
    settled = await _settle(
        session,
        payment.id,
        status=PaymentStatus.FAILED,
        gateway_reference=outcome.reference,
        failure_code=code,
        failure_reason=(outcome.failure_message or "The payment was refused.")[:500],
    )
    if settled:
        logger.info(
            "payment.failed payment_id=%s order_id=%s code=%s",
            payment.id,
            payment.order_id,
            code,
        )


async def _settle(session: AsyncSession, payment_id: int, **values: str | None) -> bool:
    """Move a processing payment to its outcome; False if it already has one."""
    settled = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.PROCESSING)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return settled.rowcount == 1
