"""The shop client as files: served under a strict policy, self-contained, and
with a human message for every error code its screens can meet.

tests/browser/ drives the client itself in Chromium.
"""

import re

import httpx
import pytest

from app.web_client import CLIENT_DIRECTORY

# Every call the client makes, as (method, path) in the API schema.
CLIENT_CALLS = [
    ("post", "/register/"),
    ("post", "/login/"),
    ("post", "/token/refresh/"),
    ("post", "/logout/"),
    ("post", "/password-reset/"),
    ("post", "/password-reset/confirm/"),
    ("get", "/products/"),
    ("get", "/products/{product_id}/"),
    ("get", "/cart/"),
    ("post", "/cart/items/"),
    ("patch", "/cart/items/{product_id}/"),
    ("delete", "/cart/items/{product_id}/"),
    ("post", "/checkout/"),
    ("get", "/orders/"),
    ("get", "/orders/{order_id}/"),
    ("post", "/payments/"),
    ("get", "/payments/{payment_id}/"),
    ("get", "/payments/{payment_id}/events/"),
]
# Codes any call can meet besides those it documents.
ALWAYS_POSSIBLE = {
    "validation_error",
    "internal_error",
    "network_error",
    "concurrent_update",
}


def _client_files() -> list[str]:
    return sorted(
        str(path.relative_to(CLIENT_DIRECTORY))
        for path in CLIENT_DIRECTORY.rglob("*")
        if path.is_file()
    )


def _message_codes() -> set[str]:
    source = (CLIENT_DIRECTORY / "js" / "messages.js").read_text(encoding="utf-8")
    block = re.search(r"export const ERROR_MESSAGES = \{(.*?)\n\};", source, re.DOTALL)
    assert block is not None
    return set(re.findall(r"^  (\w+):", block.group(1), re.MULTILINE))


async def test_every_error_a_screen_can_meet_has_a_human_message(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    documented = set(ALWAYS_POSSIBLE)
    for method, path in CLIENT_CALLS:
        operation = schema["paths"][path][method]
        for response in operation["responses"].values():
            examples = response.get("content", {}).get("application/json", {})
            documented |= set(examples.get("examples", {}))

    assert documented - _message_codes() == set()


async def test_the_client_is_served_at_app_under_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/app/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/app/js/main.js"></script>' in response.text


@pytest.mark.parametrize("name", _client_files())
async def test_every_client_file_is_served_with_the_policy(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"/app/{name}")

    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    if name.endswith(".js"):
        assert response.headers["content-type"].startswith("text/javascript")


async def test_an_unchanged_file_is_revalidated_without_its_body(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/app/js/api.js")

    again = await client.get(
        "/app/js/api.js", headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""


async def test_app_without_its_slash_redirects_and_a_missing_file_is_404(
    client: httpx.AsyncClient,
) -> None:
    bare = await client.get("/app")
    missing = await client.get("/app/js/nowhere.js")

    assert (bare.status_code, bare.headers["location"]) == (308, "/app/")
    assert missing.status_code == 404


def test_the_client_loads_nothing_from_another_host_and_runs_no_inline_code() -> None:
    for name in _client_files():
        text = (CLIENT_DIRECTORY / name).read_text(encoding="utf-8")
        # An SVG names its XML namespace by URL; nothing is fetched from it.
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|//cdn|@import", text), name
    page = (CLIENT_DIRECTORY / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son\w+=", page)


def test_every_module_import_names_a_file_that_exists() -> None:
    for module in (CLIENT_DIRECTORY / "js").rglob("*.js"):
        for target in re.findall(
            r'from "(\.[^"]+)"', module.read_text(encoding="utf-8")
        ):
            assert (module.parent / target).resolve().is_file(), (
                f"{module.name}: {target}"
            )
