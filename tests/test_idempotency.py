"""Idempotency-Key on checkout and payment: retries and races create one thing."""

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app.idempotency import purge_expired
from app.models import IdempotencyRecord, Order, utcnow
from tests.helpers import create_product, shopper, staff


async def _buyer_with_cart(
    app: FastAPI, client: httpx.AsyncClient, stock: int = 10
) -> dict[str, str]:
    product = await create_product(client, await staff(app, client), stock=stock)
    buyer = await shopper(client)
    added = await client.post(
        "/cart/items/", json={"product_id": product["id"], "quantity": 1}, headers=buyer
    )
    assert added.status_code == 201
    return buyer


async def _order_count(app: FastAPI) -> int:
    async with app.state.resources.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(Order)) or 0


async def test_racing_twins_with_one_key_make_one_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await _buyer_with_cart(app, client)
    keyed = {**buyer, "Idempotency-Key": "double-tap-1"}

    answers = await asyncio.gather(
        *(client.post("/checkout/", headers=keyed) for _ in range(5))
    )

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert {a.json()["code"] for a in answers if a.status_code == 409} <= {
        "request_in_progress"
    }
    assert await _order_count(app) == 1


async def test_a_key_belongs_to_its_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await _buyer_with_cart(app, client)
    second = await _buyer_with_cart(app, client)

    one = await client.post(
        "/checkout/", headers={**first, "Idempotency-Key": "shared"}
    )
    two = await client.post(
        "/checkout/", headers={**second, "Idempotency-Key": "shared"}
    )

    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


async def test_one_key_on_two_endpoints_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await _buyer_with_cart(app, client)
    keyed = {**buyer, "Idempotency-Key": "used-for-checkout"}
    order = (await client.post("/checkout/", headers=keyed)).json()

    reused = await client.post(
        "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_visa"},
        headers=keyed,
    )

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert reused.json()["errors"] == [
        {"field": "Idempotency-Key", "message": reused.json()["detail"]}
    ]


async def test_a_malformed_key_is_a_clear_400(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await _buyer_with_cart(app, client)

    too_long = await client.post(
        "/checkout/", headers={**buyer, "Idempotency-Key": "k" * 256}
    )

    assert too_long.status_code == 400
    assert too_long.json()["code"] == "invalid_idempotency_key"
    assert await _order_count(app) == 0


async def test_a_key_is_forgotten_after_its_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await _buyer_with_cart(app, client)
    keyed = {**buyer, "Idempotency-Key": "old-key"}
    first = await client.post("/checkout/", headers=keyed)
    await _age_records(app, timedelta(hours=25))

    again = await client.post("/checkout/", headers=keyed)

    assert first.status_code == 201
    # The key is free again, so the request really runs: the cart is empty now.
    assert again.status_code == 400
    assert again.json()["code"] == "cart_empty"


async def test_expired_records_are_purged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await _buyer_with_cart(app, client)
    await client.post("/checkout/", headers={**buyer, "Idempotency-Key": "to-purge"})
    sessions = app.state.resources.session_factory

    assert await purge_expired(sessions) == 0
    await _age_records(app, timedelta(hours=25))
    assert await purge_expired(sessions) == 1


async def _age_records(app: FastAPI, by: timedelta) -> None:
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord).values(
                expires_at=utcnow() - by + timedelta(hours=24)
            )
        )
