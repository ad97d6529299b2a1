"""The background job that charges a payment through the gateway."""

import logging
from typing import Any

from app.payments import service
from app.payments.events import announce_payment_change
from app.resources import Resources

logger = logging.getLogger("app.payments")

# Defined next to `start_payment`, which enqueues it; the worker looks it up here.
CHARGE_PAYMENT = service.CHARGE_PAYMENT


async def charge_payment(resources: Resources, payload: dict[str, Any]) -> None:
    """Charge a processing payment once; `GatewayUnavailable` means retry later."""
    payment_id = int(payload["payment_id"])
    async with resources.session_factory() as session, session.begin():
        payment = await service.payment_to_charge(session, payment_id)
        if payment is None:
            await announce_payment_change(session, payment_id)
    # The session is closed here: no transaction stays open across the network call.
    if payment is None:
        logger.info("payment.charge_skipped payment_id=%s", payment_id)
        return

    outcome = await resources.gateway.charge(
        amount=payment.amount,
        currency=payment.currency,
        payment_method=payment.payment_method,
        idempotency_key=f"payment-{payment.id}",
        description=f"Order {payment.order_id}",
    )

    async with resources.session_factory() as session, session.begin():
        await service.record_outcome(session, payment, outcome)
        await announce_payment_change(session, payment.id)
