"""Unpaid orders are cancelled after their time and their stock comes back, once."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import update

from app.checkout.abandoned import cancel_abandoned_orders
from app.config import Settings
from app.db import create_engine, create_session_factory
from app.main import create_app
from app.models import Order, utcnow
from tests.helpers import create_product, eventually, shopper, staff

UNPAID_FOR = timedelta(minutes=30)


async def _order(
    app: FastAPI, client: httpx.AsyncClient, quantity: int = 3
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    product = await create_product(client, await staff(app, client), stock=5)
    buyer = await shopper(client)
    await client.post(
        "/cart/items/",
        json={"product_id": product["id"], "quantity": quantity},
        headers=buyer,
    )
    order = await client.post("/checkout/", headers=buyer)
    assert order.status_code == 201
    return order.json(), product, buyer


async def _age(app: FastAPI, order_id: int, by: timedelta) -> None:
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == order_id).values(created_at=utcnow() - by)
        )


async def _stock(client: httpx.AsyncClient, product_id: int) -> int:
    return (await client.get(f"/products/{product_id}/")).json()["stock"]


async def test_a_stale_unpaid_order_is_cancelled_and_restocked(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    order, product, buyer = await _order(paused_app, client)
    await _age(paused_app, order["id"], UNPAID_FOR + timedelta(minutes=1))
    sessions = paused_app.state.resources.session_factory

    assert await cancel_abandoned_orders(sessions, unpaid_for=UNPAID_FOR) == 1
    assert await cancel_abandoned_orders(sessions, unpaid_for=UNPAID_FOR) == 0

    assert (await client.get(f"/orders/{order['id']}/", headers=buyer)).json()[
        "status"
    ] == "cancelled"
    assert await _stock(client, product["id"]) == 5
    paying = await client.post(
        "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_visa"},
        headers=buyer,
    )
    assert paying.status_code == 409
    assert paying.json()["code"] == "order_not_payable"


async def test_two_workers_sweeping_at_once_restock_once(
    paused_app: FastAPI, paused_client: httpx.AsyncClient, settings: Settings
) -> None:
    client = paused_client
    order, product, _ = await _order(paused_app, client)
    await _age(paused_app, order["id"], UNPAID_FOR + timedelta(minutes=1))
    # A second engine stands for a second worker process with its own connections.
    other_engine = create_engine(settings)
    sweepers = [
        paused_app.state.resources.session_factory,
        create_session_factory(other_engine),
    ]

    try:
        results = await asyncio.gather(
            *(cancel_abandoned_orders(s, unpaid_for=UNPAID_FOR) for s in sweepers * 2)
        )
    finally:
        await other_engine.dispose()

    assert sum(results) == 1
    assert await _stock(client, product["id"]) == 5


async def test_fresh_orders_and_orders_being_paid_are_left_alone(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    fresh, fresh_product, _ = await _order(paused_app, client)
    paying, paying_product, buyer = await _order(paused_app, client)
    started = await client.post(
        "/payments/",
        json={"order_id": paying["id"], "payment_method": "pm_card_visa"},
        headers=buyer,
    )
    assert started.status_code == 202
    await _age(paused_app, paying["id"], UNPAID_FOR * 2)

    cancelled = await cancel_abandoned_orders(
        paused_app.state.resources.session_factory, unpaid_for=UNPAID_FOR
    )

    assert cancelled == 0
    assert await _stock(client, fresh_product["id"]) == 2
    assert await _stock(client, paying_product["id"]) == 2


async def test_the_worker_sweeps_on_its_own(
    settings: Settings, clean_database: None
) -> None:
    fast = settings.model_copy(
        update={
            "order_sweep_interval_seconds": 0.1,
            "order_payment_timeout_seconds": 60,
        }
    )
    app = create_app(fast)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test"
        ) as client:
            order, product, buyer = await _order(app, client)
            await _age(app, order["id"], timedelta(minutes=2))

            async def status() -> str:
                answer = await client.get(f"/orders/{order['id']}/", headers=buyer)
                return answer.json()["status"]

            assert await eventually(status, lambda s: s == "cancelled") == "cancelled"
            assert await _stock(client, product["id"]) == 5
