"""Catalog endpoints: public reading (cached briefly, with ETags), staff changes."""

from collections.abc import Awaitable, Callable, Hashable
from typing import Annotated, Any

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import StaffUser
from app.catalog import service
from app.catalog.cache import CatalogCache, Loader, product_answer_key
from app.catalog.errors import CurrencyMismatch
from app.catalog.http_cache import (
    CachedReadRoute,
    cached_by,
    catalog_cache,
    send_answer,
)
from app.catalog.schemas import (
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductQuery,
    ProductUpdate,
)
from app.db import SessionDep, retry_once_if_disconnected
from app.deps import SettingsDep
from app.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from app.inputs import MAX_ID
from app.routing import ShopRouter

router = ShopRouter(tags=["catalog"], route_class=CachedReadRoute)

_STAFF_ERRORS = (NotAuthenticated, Forbidden)
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag in `If-None-Match` is current"}
}
# A product detail miss reads the block of ids around it: browsing many
# products then costs one query per block rather than one per product.
_PRODUCT_BLOCK = 100


def _page_key(request: Request) -> Hashable:
    # The raw query string: the fast path must not parse what it skips.
    return ("page", request.scope["query_string"])


def _product_key(request: Request) -> Hashable | None:
    raw = request.path_params.get("product_id", "")
    if not (raw.isascii() and raw.isdigit()) or raw != str(int(raw)):
        return None
    return product_answer_key(int(raw))


def _own_session_loader(
    request: Request, read: Callable[[AsyncSession], Awaitable[dict[Hashable, bytes]]]
) -> Loader:
    """A loader with a session of its own: it may refresh after the request ends."""
    factory = request.app.state.resources.reader_sessions

    async def read_in_own_session() -> dict[Hashable, bytes]:
        async with factory() as session:
            return await read(session)

    async def load() -> dict[Hashable, bytes]:
        return await retry_once_if_disconnected(read_in_own_session)

    return load


@router.get(
    "/products/",
    status_code=status.HTTP_200_OK,
    response_model=ProductPage,
    responses=_NOT_MODIFIED,
)
@cached_by(_page_key)
async def list_products(
    request: Request, query: Annotated[ProductQuery, Query()]
) -> Response:
    """List products on sale, ordered by id, optionally searched by name."""
    key = _page_key(request)

    async def read_page(session: AsyncSession) -> dict[Hashable, bytes]:
        body = await service.page_json(
            session, limit=query.limit, offset=query.offset, search=query.q
        )
        return {key: body}

    loader = _own_session_loader(request, read_page)
    answer = await catalog_cache(request).answer(key, loader)
    assert answer is not None  # read_page always answers its key
    return send_answer(request, answer)


@router.get(
    "/products/{product_id}/",
    status_code=status.HTTP_200_OK,
    response_model=ProductOut,
    responses={**_NOT_MODIFIED, **error_responses(NotFound)},
)
@cached_by(_product_key)
async def get_product(product_id: int, request: Request) -> Response:
    """One product on sale."""
    if not 0 < product_id <= MAX_ID:
        raise NotFound("Product not found")
    cache = catalog_cache(request)
    first, last = _ids_to_read(product_id, cache)

    async def read_products(session: AsyncSession) -> dict[Hashable, bytes]:
        bodies = await service.products_json(session, first, last)
        return {product_answer_key(id_): body for id_, body in bodies.items()}

    loader = _own_session_loader(request, read_products)
    answer = await cache.answer(
        product_answer_key(product_id), loader, load_key=("products", first)
    )
    if answer is None:
        raise NotFound("Product not found")
    return send_answer(request, answer)


def _ids_to_read(product_id: int, cache: CatalogCache) -> tuple[int, int]:
    if not cache.enabled:
        return product_id, product_id
    first = product_id - product_id % _PRODUCT_BLOCK
    return first, min(first + _PRODUCT_BLOCK - 1, MAX_ID)


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
