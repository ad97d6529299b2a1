"""Cart endpoints: the signed-in shopper's own cart."""

from fastapi import Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import CurrentUser
from app.cart import service
from app.cart.schemas import CartItemAdd, CartItemUpdate, CartLineOut, CartOut
from app.catalog.errors import InsufficientStock
from app.db import SessionDep
from app.deps import SettingsDep
from app.errors import NotAuthenticated, NotFound, error_responses
from app.inputs import PathId
from app.routing import ShopRouter

router = ShopRouter(tags=["cart"])


async def _cart_body(session: AsyncSession, user_id: int, currency: str) -> CartOut:
    lines = await service.cart_lines(session, user_id)
    items = [
        CartLineOut(
            product_id=line.product.id,
            name=line.product.name,
            quantity=line.quantity,
            unit_price=line.product.price,
            line_total=line.line_total,
        )
        for line in lines
    ]
    return CartOut(
        items=items, total=sum(item.line_total for item in items), currency=currency
    )


@router.get(
    "/cart/",
    status_code=status.HTTP_200_OK,
    responses=error_responses(NotAuthenticated),
)
async def get_cart(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> CartOut:
    """Your cart at today's prices, ordered by product id."""
    return await _cart_body(session, user.id, settings.currency)


@router.post(
    "/cart/items/",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(NotAuthenticated, NotFound, InsufficientStock),
)
async def add_cart_item(
    body: CartItemAdd, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> CartOut:
    """Add a quantity of a product to your cart; answers with the whole cart."""
    await service.add_item(session, user.id, body.product_id, body.quantity)
    return await _cart_body(session, user.id, settings.currency)


@router.patch(
    "/cart/items/{product_id}/",
    status_code=status.HTTP_200_OK,
    responses=error_responses(NotAuthenticated, NotFound, InsufficientStock),
)
async def update_cart_item(
    product_id: PathId,
    body: CartItemUpdate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> CartOut:
    """Set the quantity of a product already in your cart."""
    await service.set_quantity(session, user.id, product_id, body.quantity)
    return await _cart_body(session, user.id, settings.currency)


@router.delete(
    "/cart/items/{product_id}/",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(NotAuthenticated, NotFound),
)
async def remove_cart_item(
    product_id: PathId, user: CurrentUser, session: SessionDep
) -> None:
    """Remove a product from your cart; 404 if it is not there (not idempotent)."""
    await service.remove_item(session, user.id, product_id)
