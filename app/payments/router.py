"""Paying for an order and following the payment."""

from fastapi import status
from fastapi.responses import JSONResponse

from app.auth.deps import CurrentUser
from app.db import SessionDep
from app.deps import SettingsDep
from app.errors import NotAuthenticated, NotFound, error_responses
from app.idempotency import IDEMPOTENCY_ERRORS, IdempotencyDep
from app.inputs import PathId
from app.payments import service
from app.payments.schemas import PaymentCreate, PaymentRead
from app.payments.service import OrderAlreadyPaid, OrderNotPayable, PaymentInProgress
from app.routing import ShopRouter

router = ShopRouter(tags=["payments"])


@router.post(
    "/payments/",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PaymentRead,
    responses=error_responses(
        NotAuthenticated,
        NotFound,
        OrderAlreadyPaid,
        OrderNotPayable,
        PaymentInProgress,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def start_payment(
    body: PaymentCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Pay an order's total with a gateway token; poll the payment for the outcome."""
    if idempotency.replay is not None:
        return idempotency.replay
    payment = await service.start_payment(
        session,
        user.id,
        order_id=body.order_id,
        payment_method=body.payment_method,
        max_attempts=settings.job_max_attempts,
    )
    return await idempotency.respond(
        status.HTTP_202_ACCEPTED, PaymentRead.model_validate(payment)
    )


@router.get(
    "/payments/{payment_id}/", responses=error_responses(NotAuthenticated, NotFound)
)
async def get_payment(
    payment_id: PathId, user: CurrentUser, session: SessionDep
) -> PaymentRead:
    """One of your payments: processing, succeeded or failed (with the reason)."""
    payment = await service.get_payment(session, user.id, payment_id)
    return PaymentRead.model_validate(payment)
