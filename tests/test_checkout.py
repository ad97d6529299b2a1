"""Checkout turns the cart into an order, all or nothing, and never oversells."""

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.models import Product
from tests.helpers import create_product, shopper, staff


async def _add_to_cart(
    client: httpx.AsyncClient, headers: dict[str, str], product_id: int, quantity: int
) -> None:
    response = await client.post(
        "/cart/items/",
        json={"product_id": product_id, "quantity": quantity},
        headers=headers,
    )
    assert response.status_code == 201, response.text


async def _stock(client: httpx.AsyncClient, product_id: int) -> int:
    response = await client.get(f"/products/{product_id}/")
    assert response.status_code == 200, response.text
    return response.json()["stock"]


async def _cart(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    response = await client.get("/cart/", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _hide_behind_the_catalogs_back(app: FastAPI, product_id: int) -> None:
    """Leave a hidden product in a cart, as a hide racing an add-to-cart can."""
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(Product).where(Product.id == product_id).values(is_active=False)
        )


async def test_checkout_snapshots_reserves_stock_and_empties_the_cart(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    mug = await create_product(client, admin, name="Mug", price=1250, stock=5)
    tea = await create_product(client, admin, name="Tea", price=499, stock=10)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, tea["id"], 3)
    await _add_to_cart(client, buyer, mug["id"], 2)

    response = await client.post("/checkout/", headers=buyer)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending_payment"
    assert order["currency"] == "USD"
    assert order["total"] == 2 * 1250 + 3 * 499
    assert order["items"] == [
        {
            "product_id": mug["id"],
            "name": "Mug",
            "unit_price": 1250,
            "quantity": 2,
            "line_total": 2500,
        },
        {
            "product_id": tea["id"],
            "name": "Tea",
            "unit_price": 499,
            "quantity": 3,
            "line_total": 1497,
        },
    ]
    assert order["created_at"]
    assert await _stock(client, mug["id"]) == 3
    assert await _stock(client, tea["id"]) == 7
    assert await _cart(client, buyer) == []


async def test_checkout_of_an_empty_cart_is_refused(client: httpx.AsyncClient) -> None:
    buyer = await shopper(client)

    response = await client.post("/checkout/", headers=buyer)

    assert response.status_code == 400
    assert response.json() == {"detail": "Your cart is empty", "code": "cart_empty"}


async def test_checkout_needs_a_signed_in_shopper(client: httpx.AsyncClient) -> None:
    response = await client.post("/checkout/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_short_stock_refuses_the_whole_checkout_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    plenty = await create_product(client, admin, stock=10)
    scarce = await create_product(client, admin, name="Scarce", stock=4)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, plenty["id"], 2)
    await _add_to_cart(client, buyer, scarce["id"], 4)
    rival = await shopper(client)
    await _add_to_cart(client, rival, scarce["id"], 2)
    assert (await client.post("/checkout/", headers=rival)).status_code == 201

    response = await client.post("/checkout/", headers=buyer)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["product_id"] == scarce["id"]
    assert body["available"] == 2
    assert "Scarce" in body["detail"]
    # The product before it in id order was reserved, then rolled back.
    assert await _stock(client, plenty["id"]) == 10
    assert await _stock(client, scarce["id"]) == 2
    assert [line["quantity"] for line in await _cart(client, buyer)] == [2, 4]
    orders = (await client.get("/orders/", headers=buyer)).json()
    assert orders["total"] == 0


async def test_a_product_hidden_while_in_the_cart_refuses_checkout(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    kept = await create_product(client, admin, stock=5)
    gone = await create_product(client, admin, name="Discontinued", stock=5)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, kept["id"], 1)
    await _add_to_cart(client, buyer, gone["id"], 1)
    await _hide_behind_the_catalogs_back(app, gone["id"])

    response = await client.post("/checkout/", headers=buyer)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "product_unavailable"
    assert body["product_id"] == gone["id"]
    assert "Discontinued" in body["detail"]
    assert await _stock(client, kept["id"]) == 5


async def test_a_product_deleted_by_staff_leaves_the_rest_of_the_cart_orderable(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    kept = await create_product(client, admin, stock=5)
    gone = await create_product(client, admin, stock=5)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, kept["id"], 1)
    await _add_to_cart(client, buyer, gone["id"], 1)
    deleted = await client.delete(f"/products/{gone['id']}/", headers=admin)
    assert deleted.status_code == 204

    response = await client.post("/checkout/", headers=buyer)

    assert response.status_code == 201, response.text
    assert [item["product_id"] for item in response.json()["items"]] == [kept["id"]]


async def test_a_double_submitted_checkout_places_one_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin, stock=10)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, product["id"], 2)

    responses = await asyncio.gather(
        *(client.post("/checkout/", headers=buyer) for _ in range(2))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 201
    # The loser either saw the cart already empty or lost the claim on its lines.
    assert statuses[1] in (400, 409)
    assert (await client.get("/orders/", headers=buyer)).json()["total"] == 1
    assert await _stock(client, product["id"]) == 8


async def test_orders_list_newest_first_with_paging(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin, stock=10)
    buyer = await shopper(client)
    placed = []
    for quantity in (1, 2, 3):
        await _add_to_cart(client, buyer, product["id"], quantity)
        placed.append((await client.post("/checkout/", headers=buyer)).json())

    first_page = await client.get("/orders/?limit=2", headers=buyer)
    second_page = await client.get("/orders?limit=2&offset=2", headers=buyer)

    assert first_page.status_code == 200
    body = first_page.json()
    assert body["total"] == 3
    assert (body["limit"], body["offset"]) == (2, 0)
    newest_two = [placed[2]["id"], placed[1]["id"]]
    assert [order["id"] for order in body["items"]] == newest_two
    assert body["items"][0] == placed[2]
    assert [order["id"] for order in second_page.json()["items"]] == [placed[0]["id"]]


async def test_orders_list_shows_only_your_own(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, product["id"], 1)
    assert (await client.post("/checkout/", headers=buyer)).status_code == 201

    response = await client.get("/orders/", headers=await shopper(client))

    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_orders_list_refuses_bad_paging(client: httpx.AsyncClient) -> None:
    buyer = await shopper(client)

    response = await client.get("/orders/?limit=0&offset=-1", headers=buyer)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {error["field"] for error in body["errors"]} == {"limit", "offset"}


async def test_order_detail_is_yours_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, product["id"], 1)
    order = (await client.post("/checkout/", headers=buyer)).json()

    mine = await client.get(f"/orders/{order['id']}/", headers=buyer)
    theirs = await client.get(f"/orders/{order['id']}/", headers=await shopper(client))
    unknown = await client.get(f"/orders/{order['id'] + 1000}/", headers=buyer)

    assert mine.status_code == 200
    assert mine.json() == order
    assert theirs.status_code == 404
    assert theirs.json() == {"detail": "Order not found", "code": "not_found"}
    assert unknown.status_code == 404


async def test_changing_a_product_after_checkout_leaves_the_order_as_sold(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin, name="Lamp", price=3000)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, product["id"], 2)
    order = (await client.post("/checkout/", headers=buyer)).json()

    edited = await client.patch(
        f"/products/{product['id']}/",
        json={"name": "Deluxe lamp", "price": 9900},
        headers=admin,
    )
    assert edited.status_code == 200, edited.text
    response = await client.get(f"/orders/{order['id']}/", headers=buyer)

    assert response.json()["total"] == 6000
    [item] = response.json()["items"]
    assert item["name"] == "Lamp"
    assert (item["unit_price"], item["line_total"]) == (3000, 6000)


async def test_concurrent_checkouts_never_oversell(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin, stock=3)
    buyers = await asyncio.gather(*(shopper(client) for _ in range(10)))
    for buyer in buyers:
        await _add_to_cart(client, buyer, product["id"], 1)

    responses = await asyncio.gather(
        *(client.post("/checkout/", headers=buyer) for buyer in buyers)
    )

    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 3, [r.text for r in responses]
    assert statuses.count(409) == 7
    refused = [r.json() for r in responses if r.status_code == 409]
    assert {body["code"] for body in refused} == {"insufficient_stock"}
    assert await _stock(client, product["id"]) == 0


async def test_a_checkout_retried_with_its_idempotency_key_is_replayed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await staff(app, client)
    product = await create_product(client, admin, stock=10)
    buyer = await shopper(client)
    await _add_to_cart(client, buyer, product["id"], 2)
    keyed = {**buyer, "Idempotency-Key": "checkout-7f3a"}

    responses = await asyncio.gather(
        *(client.post("/checkout/", headers=keyed) for _ in range(3))
    )
    later = await client.post("/checkout/", headers=keyed)

    assert {r.status_code for r in [*responses, later]} == {201}
    assert len({r.json()["id"] for r in [*responses, later]}) == 1
    assert later.headers["idempotent-replayed"] == "true"
    assert (await client.get("/orders/", headers=buyer)).json()["total"] == 1
    assert await _stock(client, product["id"]) == 8


async def test_a_failed_checkout_is_not_remembered_under_its_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    keyed = {**buyer, "Idempotency-Key": "checkout-empty"}
    assert (await client.post("/checkout/", headers=keyed)).status_code == 400
    product = await create_product(client, await staff(app, client))
    await _add_to_cart(client, buyer, product["id"], 1)

    response = await client.post("/checkout/", headers=keyed)

    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
