"""The API description a mobile team reads, and the routes behind it."""

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/register/"),
    ("post", "/login/"),
    ("post", "/token/"),
    ("post", "/token/refresh/"),
    ("post", "/logout/"),
    ("post", "/password-reset/"),
    ("post", "/password-reset/confirm/"),
    ("get", "/products/"),
    ("get", "/products/{product_id}/"),
}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


async def test_docs_and_schema_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    schema = await client.get("/openapi.json")

    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert schema.status_code == 200


async def test_docs_load_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    script = await client.get("/docs-assets/swagger-ui-bundle.js")
    style = await client.get("/docs-assets/swagger-ui.css")

    assert "cdn" not in page and "https://" not in page
    assert script.status_code == style.status_code == 200
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200


async def test_every_operation_is_described(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    for method, path, operation in _operations(schema):
        assert operation.get("description") or operation.get("summary"), (method, path)


async def test_every_protected_operation_documents_401(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()

    for method, path, operation in _operations(schema):
        if (method, path) not in PUBLIC_OPERATIONS:
            assert "401" in operation["responses"], (method, path)


async def test_documented_errors_come_with_examples(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    for method, path, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4") and status != "422":
                content = response["content"]["application/json"]
                assert content.get("examples") or content.get("example"), (
                    method,
                    path,
                    status,
                )


async def test_the_schema_lists_each_path_once_with_its_slash(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    api_paths = [p for p in paths if p not in {"/healthz", "/readyz"}]
    assert api_paths and all(p.endswith("/") for p in api_paths)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, looking inside included routers (none has a prefix)."""
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _api_routes(included.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def test_every_route_answers_with_and_without_its_trailing_slash(app: FastAPI) -> None:
    api_routes = _api_routes(app.routes)
    every = {(route.path, frozenset(route.methods)) for route in api_routes}
    documented = [route for route in api_routes if route.include_in_schema]

    assert len(documented) > 25
    for route in documented:
        path, methods = route.path, frozenset(route.methods)
        twin = path.rstrip("/") if path.endswith("/") else path + "/"
        assert (twin, methods) in every, f"{sorted(methods)} {path} has no twin {twin}"
