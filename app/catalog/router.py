"""Catalog endpoints: public reading, staff-only changes."""

from typing import Annotated

from fastapi import Query, Response, status

from app.auth.deps import StaffUser
from app.catalog import service
from app.catalog.errors import CurrencyMismatch
from app.catalog.schemas import (
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductQuery,
    ProductUpdate,
)
from app.db import SessionDep
from app.deps import SettingsDep
from app.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from app.routing import ShopRouter

router = ShopRouter(tags=["catalog"])

_STAFF_ERRORS = (NotAuthenticated, Forbidden)


@router.get("/products/", status_code=status.HTTP_200_OK)
async def list_products(
    session: SessionDep, query: Annotated[ProductQuery, Query()]
) -> ProductPage:
    """List products on sale, ordered by id, optionally searched by name."""
    rows, total = await service.list_products(
        session, limit=query.limit, offset=query.offset, search=query.q
    )
    return ProductPage(
        items=[ProductOut.model_validate(row) for row in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get(
    "/products/{product_id}/",
    status_code=status.HTTP_200_OK,
    responses=error_responses(NotFound),
)
async def get_product(product_id: int, session: SessionDep) -> ProductOut:
    """One product on sale."""
    product = await service.get_active_product(session, product_id)
    return ProductOut.model_validate(product)


@router.post(
    "/products/",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*_STAFF_ERRORS, CurrencyMismatch),
)
async def create_product(
    body: ProductCreate, staff: StaffUser, session: SessionDep, settings: SettingsDep
) -> ProductOut:
    """Add a product to the catalog (staff only)."""
    product = await service.create_product(
        session, body, shop_currency=settings.currency, staff_id=staff.id
    )
    return ProductOut.model_validate(product)


@router.patch(
    "/products/{product_id}/",
    status_code=status.HTTP_200_OK,
    responses=error_responses(*_STAFF_ERRORS, NotFound, CurrencyMismatch),
)
async def update_product(
    product_id: int,
    body: ProductUpdate,
    staff: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ProductOut:
    """Change some fields of a product (staff only)."""
    product = await service.update_product(
        session,
        product_id,
        body.changes(),
        shop_currency=settings.currency,
        staff_id=staff.id,
    )
    return ProductOut.model_validate(product)


@router.delete(
    "/products/{product_id}/",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*_STAFF_ERRORS, NotFound),
)
async def delete_product(
    product_id: int, staff: StaffUser, session: SessionDep
) -> None:
    """Take a product off sale and out of every cart (staff only); orders keep it."""
    await service.hide_product(session, product_id, staff_id=staff.id)
