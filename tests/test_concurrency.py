"""Busy days: many buyers on the last items, never oversold, never deadlocked."""

import asyncio
import random
from collections import Counter

import httpx
from fastapi import FastAPI

from tests.helpers import create_product, shopper, staff


async def _shoppers_with_carts(
    client: httpx.AsyncClient, count: int, product_ids: list[int]
) -> list[dict[str, str]]:
    async def one() -> dict[str, str]:
        headers = await shopper(client)
        # Lines go in in a random order: checkout must lock in its own fixed order.
        for product_id in random.sample(product_ids, len(product_ids)):
            added = await client.post(
                "/cart/items/",
                json={"product_id": product_id, "quantity": 1},
                headers=headers,
            )
            assert added.status_code == 201, added.text
        return headers

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _checkout_all(
    client: httpx.AsyncClient, buyers: list[dict[str, str]]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(client.post("/checkout/", headers=h) for h in buyers))
    )


async def test_fifty_buyers_for_ten_items_make_exactly_ten_orders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product = await create_product(client, await staff(app, client), stock=10)
    buyers = await _shoppers_with_carts(client, 50, [product["id"]])

    answers = await _checkout_all(client, buyers)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 10, 409: 40}, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {
        "insufficient_stock"
    }
    assert (await client.get(f"/products/{product['id']}/")).json()["stock"] == 0
    orders = [(await client.get("/orders/", headers=h)).json()["total"] for h in buyers]
    assert sum(orders) == 10


async def test_carts_of_several_products_neither_oversell_nor_deadlock(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    staff_headers = await staff(app, client)
    products = [await create_product(client, staff_headers, stock=10) for _ in range(3)]
    ids = [p["id"] for p in products]
    buyers = await _shoppers_with_carts(client, 30, ids)

    answers = await _checkout_all(client, buyers)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 10, 409: 20}, statuses
    for product_id in ids:
        assert (await client.get(f"/products/{product_id}/")).json()["stock"] == 0
    # A loser's cart is left whole, so it can shop again.
    loser = next(
        h for h, a in zip(buyers, answers, strict=True) if a.status_code == 409
    )
    assert len((await client.get("/cart/", headers=loser)).json()["items"]) == 3
