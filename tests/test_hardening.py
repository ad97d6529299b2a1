"""Hostile and odd input gets a clear 4xx, never a 500; logs stay one clean line."""

import logging

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from jose import jwt

from app.config import Settings
from app.main import create_app
from app.models import utcnow
from app.observability import printable
from tests.conftest import PASSWORD, free_port
from tests.helpers import LogLines, create_product, shopper, staff

TOO_BIG_IDS = ["2147483648", "99999999999999999999", "0", "-1"]


@pytest.mark.parametrize("path_id", TOO_BIG_IDS)
async def test_out_of_range_ids_are_refused_not_crashed(
    client: httpx.AsyncClient, path_id: str
) -> None:
    headers = await shopper(client)

    for path in (f"/orders/{path_id}/", f"/payments/{path_id}/"):
        response = await client.get(path, headers=headers)
        assert response.status_code in (404, 422), (path, response.text)
        assert response.json()["code"] in ("not_found", "validation_error")
    removed = await client.delete(f"/cart/items/{path_id}/", headers=headers)
    assert removed.status_code in (404, 422)


async def test_out_of_range_ids_in_bodies_are_422(client: httpx.AsyncClient) -> None:
    headers = await shopper(client)
    huge = 2**31

    added = await client.post(
        "/cart/items/", json={"product_id": huge, "quantity": 1}, headers=headers
    )
    paid = await client.post(
        "/payments/",
        json={"order_id": huge, "payment_method": "pm_card_visa"},
        headers=headers,
    )
    truthy = await client.post(
        "/cart/items/", json={"product_id": True, "quantity": 1}, headers=headers
    )

    assert [added.status_code, paid.status_code, truthy.status_code] == [422, 422, 422]
    assert added.json()["errors"][0]["field"] == "product_id"


async def test_an_absurd_offset_is_422(client: httpx.AsyncClient) -> None:
    headers = await shopper(client)

    response = await client.get("/orders/", params={"offset": 10**20}, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "offset"


@pytest.mark.parametrize("escaped", ["nul\\u0000byte", "lone \\ud800 surrogate"])
async def test_text_no_database_can_store_is_422(
    client: httpx.AsyncClient, escaped: str
) -> None:
    # Written as JSON escapes: the body itself is valid UTF-8.
    body = (
        f'{{"email": "x@example.com", "password": "{PASSWORD}", '
        f'"full_name": "{escaped}"}}'
    )

    response = await client.post(
        "/register/", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "full_name"


async def test_a_lone_surrogate_token_is_just_an_invalid_token(
    client: httpx.AsyncClient,
) -> None:
    raw = '{"refresh_token": "\\ud800"}'
    refreshed = await client.post(
        "/token/refresh/", content=raw, headers={"Content-Type": "application/json"}
    )
    confirmed = await client.post(
        "/password-reset/confirm/",
        content='{"token": "\\ud800", "new_password": "long enough pass"}',
        headers={"Content-Type": "application/json"},
    )

    assert refreshed.status_code in (401, 422)
    assert confirmed.status_code == 400
    assert confirmed.json()["code"] == "token_invalid"


async def test_an_enormous_login_password_is_refused_before_hashing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/login/", json={"email": "x@example.com", "password": "p" * 5000}
    )

    assert response.status_code == 422


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/register/",
        content=b'{"email": "' + b"a" * 2_000_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_card_number_shaped_token_is_refused(client: httpx.AsyncClient) -> None:
    headers = await shopper(client)

    response = await client.post(
        "/payments/",
        json={"order_id": 1, "payment_method": "pm_4242424242424242"},
        headers=headers,
    )

    assert response.status_code == 422
    assert "4242424242424242" not in response.text


async def test_access_tokens_missing_required_claims_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    key = settings.secret_key.get_secret_value()
    user = (
        await client.post(
            "/register/", json={"email": "c@example.com", "password": PASSWORD}
        )
    ).json()
    now = int(utcnow().timestamp())
    full = {
        "sub": str(user["id"]),
        "ver": 0,
        "aud": "shop:access",
        "iat": now,
        "exp": now + 60,
    }

    for missing in ("exp", "aud", "iat"):
        claims = {k: v for k, v in full.items() if k != missing}
        token = jwt.encode(claims, key, algorithm="HS256")
        me = await client.get("/me/", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401, missing
    for odd in ({"sub": " 1 "}, {"ver": 0.5}, {"ver": "0"}):
        token = jwt.encode({**full, **odd}, key, algorithm="HS256")
        assert (
            await client.get("/me/", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401


async def test_login_finds_the_account_by_its_stored_email_form(
    client: httpx.AsyncClient,
) -> None:
    await client.post(
        "/register/", json={"email": "uni@EXÄMPLE.com", "password": PASSWORD}
    )

    by_ascii_domain = await client.post(
        "/login/", json={"email": "uni@xn--exmple-cua.com", "password": PASSWORD}
    )

    assert by_ascii_domain.status_code == 200


async def test_a_huge_order_total_fits_the_money_columns(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product = await create_product(
        client, await staff(app, client), price=100_000_000, stock=1000
    )
    buyer = await shopper(client)
    await client.post(
        "/cart/items/",
        json={"product_id": product["id"], "quantity": 900},
        headers=buyer,
    )

    order = await client.post("/checkout/", headers=buyer)

    assert order.status_code == 201
    assert order.json()["total"] == 90_000_000_000


async def test_probes_and_logout_answer_with_and_without_slash(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/healthz/", "/readyz/"):
        assert (await client.get(path)).status_code == 200
    logout = await client.post("/logout/", json={"refresh_token": "nothing"})
    assert logout.status_code == 204
    assert "content-type" not in logout.headers


async def test_a_control_character_in_the_path_cannot_forge_a_log_line(
    client: httpx.AsyncClient,
) -> None:
    handler = LogLines()
    records = handler.lines
    access = logging.getLogger("app.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        await client.get("/nope%0A2026-01-01 INFO forged")
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)

    assert records and all("\n" not in line for line in records)
    assert "\\n2026-01-01 INFO forged" in records[-1]
    assert printable("a\rb") == "a\\rb"


async def test_a_database_that_is_down_answers_503_quickly(settings: Settings) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"
    app = create_app(
        settings.model_copy(update={"database_url": dead, "run_worker": False})
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test"
        ) as client:
            ready = await client.get("/readyz")
            products = await client.get("/products/")

    assert ready.status_code == 503
    assert products.status_code == 503
    assert products.json()["code"] == "service_unavailable"
    assert products.headers["retry-after"]


def test_printable_leaves_ordinary_text_alone() -> None:
    assert printable("/products/42/") == "/products/42/"
    assert printable("/café/") == "/café/"
