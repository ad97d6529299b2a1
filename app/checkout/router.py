"""Checkout and the shopper's orders."""

from typing import Annotated

from fastapi import Query, status
from fastapi.responses import JSONResponse

from app.auth.deps import CurrentUser
from app.catalog.errors import CurrencyMismatch, InsufficientStock
from app.checkout import service
from app.checkout.schemas import OrderPage, OrderQuery, OrderRead
from app.checkout.service import CartChanged, CartEmpty, ProductUnavailable
from app.db import SessionDep
from app.errors import NotAuthenticated, NotFound, error_responses
from app.idempotency import IDEMPOTENCY_ERRORS, IdempotencyDep
from app.inputs import PathId
from app.routing import ShopRouter

router = ShopRouter(tags=["orders"])


@router.post(
    "/checkout/",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses=error_responses(
        CartEmpty,
        NotAuthenticated,
        InsufficientStock,
        ProductUnavailable,
        CartChanged,
        CurrencyMismatch,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def checkout(
    user: CurrentUser, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    """Turn the cart into an order awaiting payment, reserving its stock."""
    if idempotency.replay is not None:
        return idempotency.replay
    order = await service.place_order(session, user.id)
    return await idempotency.respond(
        status.HTTP_201_CREATED, OrderRead.model_validate(order)
    )


@router.get("/orders/", responses=error_responses(NotAuthenticated))
async def list_orders(
    user: CurrentUser, session: SessionDep, query: Annotated[OrderQuery, Query()]
) -> OrderPage:
    """Your orders, newest first."""
    orders, total = await service.list_orders(
        session, user.id, limit=query.limit, offset=query.offset
    )
    return OrderPage(
        items=[OrderRead.model_validate(order) for order in orders],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get(
    "/orders/{order_id}/", responses=error_responses(NotAuthenticated, NotFound)
)
async def get_order(
    order_id: PathId, user: CurrentUser, session: SessionDep
) -> OrderRead:
    """One of your orders with the items as sold."""
    order = await service.get_order(session, user.id, order_id)
    return OrderRead.model_validate(order)
