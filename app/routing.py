"""A router whose paths answer with and without their trailing slash.

The mobile client calls `/products/`; other clients call `/products`. Both
must answer identically without a redirect (a redirect drops the body of a
POST in some clients and costs a round trip on a phone). The slash form is
the documented one; its twin is registered but left out of the schema.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class ShopRouter(APIRouter):
    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        twin = _slash_twin(self.prefix + path)
        if twin is None:
            return
        twin_kwargs = {**kwargs, "include_in_schema": False}
        twin_kwargs.pop("operation_id", None)
        super().add_api_route(twin[len(self.prefix) :], endpoint, **twin_kwargs)


def _slash_twin(full_path: str) -> str | None:
    if full_path in ("", "/"):
        return None
    return full_path.rstrip("/") if full_path.endswith("/") else full_path + "/"
