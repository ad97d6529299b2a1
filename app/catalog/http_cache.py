"""The HTTP side of the catalog cache: ETags, 304s, Cache-Control, a fast route.

A cached answer is sent as the stored bytes with a strong `ETag`; a client
that sends it back in `If-None-Match` gets an empty 304. `Cache-Control`
lets the client keep the answer only as long as this process still may, so
the freshness limit holds all the way to the phone.

`CachedReadRoute` sends a fresh cached answer before FastAPI parses the
query, validates it and solves dependencies, which took half the time of a
cached answer. That is safe because an answer is stored only by the
endpoint, after those very inputs passed validation; a miss, and anything
the key function does not recognise, takes the endpoint's usual path.
"""

from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

from fastapi import Request, Response, status
from fastapi.routing import APIRoute

from app.catalog.cache import CachedAnswer, CatalogCache

CacheKey = Callable[[Request], Hashable | None]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_CACHE_KEY_ATTRIBUTE = "catalog_cache_key"


def catalog_cache(request: Request) -> CatalogCache:
    cache: CatalogCache = request.app.state.resources.catalog_cache
    return cache


def send_answer(request: Request, answer: CachedAnswer) -> Response:
    """The answer's bytes, or a 304 when the client already holds them."""
    headers = {
        "ETag": answer.etag,
        "Cache-Control": f"public, max-age={answer.max_age()}",
    }
    if _etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # If-None-Match compares weakly: W/"x" matches "x".
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", etag) for tag in tags)


def cached_by(key: CacheKey) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint whose answers are cached under `key(request)`."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _CACHE_KEY_ATTRIBUTE, key)
        return endpoint

    return mark


class CachedReadRoute(APIRoute):
    """A route that sends a fresh cached answer before any other work."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        cache_key: CacheKey | None = getattr(self.endpoint, _CACHE_KEY_ATTRIBUTE, None)
        if cache_key is None:
            return handler

        async def send_cached_or_handle(request: Request) -> Response:
            key = cache_key(request)
            answer = None if key is None else catalog_cache(request).fresh(key)
            if answer is not None:
                return send_answer(request, answer)
            return await handler(request)

        return send_cached_or_handle
