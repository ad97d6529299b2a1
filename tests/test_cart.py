"""Cart: lines per shopper, stock checks, integer totals, concurrent adds."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.cart.service import cart_lines
from app.config import Settings
from app.models import CartItem
from tests.helpers import create_product, shopper, staff

Headers = dict[str, str]


@pytest.fixture
async def staff_headers(app: FastAPI, client: httpx.AsyncClient) -> Headers:
    return await staff(app, client)


@pytest.fixture
async def buyer(client: httpx.AsyncClient) -> Headers:
    return await shopper(client)


async def _add(
    client: httpx.AsyncClient, headers: Headers, product_id: int, quantity: int
) -> httpx.Response:
    body = {"product_id": product_id, "quantity": quantity}
    return await client.post("/cart/items/", json=body, headers=headers)


async def _cart(client: httpx.AsyncClient, headers: Headers) -> dict[str, Any]:
    response = await client.get("/cart/", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _quantities(cart: dict[str, Any]) -> dict[int, int]:
    return {line["product_id"]: line["quantity"] for line in cart["items"]}


async def test_empty_cart(
    client: httpx.AsyncClient, buyer: Headers, settings: Settings
) -> None:
    assert await _cart(client, buyer) == {
        "items": [],
        "total": 0,
        "currency": settings.currency,
    }


async def test_cart_requires_a_signed_in_user(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/cart/"),
        await client.post("/cart/items/", json={"product_id": 1, "quantity": 1}),
        await client.patch("/cart/items/1/", json={"quantity": 1}),
        await client.delete("/cart/items/1/"),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401, 401]
    assert {r.json()["code"] for r in responses} == {"not_authenticated"}


async def test_add_answers_with_the_whole_cart(
    client: httpx.AsyncClient,
    staff_headers: Headers,
    buyer: Headers,
    settings: Settings,
) -> None:
    product = await create_product(
        client, staff_headers, name="Mug", price=1250, stock=10
    )

    response = await _add(client, buyer, product["id"], 2)

    assert response.status_code == 201
    assert response.json() == {
        "items": [
            {
                "product_id": product["id"],
                "name": "Mug",
                "quantity": 2,
                "unit_price": 1250,
                "line_total": 2500,
            }
        ],
        "total": 2500,
        "currency": settings.currency,
    }
    assert await _cart(client, buyer) == response.json()


async def test_adding_again_sums_the_quantities(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=10)
    await _add(client, buyer, product["id"], 2)

    response = await _add(client, buyer, product["id"], 3)

    assert response.status_code == 201
    assert _quantities(response.json()) == {product["id"]: 5}


async def test_path_without_trailing_slash_answers_identically(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=10)
    body = {"product_id": product["id"], "quantity": 1}

    with_slash = await client.post("/cart/items/", json=body, headers=buyer)
    without_slash = await client.post("/cart/items", json=body, headers=buyer)

    assert with_slash.status_code == without_slash.status_code == 201
    assert _quantities(without_slash.json()) == {product["id"]: 2}


async def test_adding_more_than_in_stock_is_409_with_what_is_available(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=4)
    await _add(client, buyer, product["id"], 3)

    response = await _add(client, buyer, product["id"], 2)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["available"] == 4
    assert body["product_id"] == product["id"]
    assert _quantities(await _cart(client, buyer)) == {product["id"]: 3}


@pytest.mark.parametrize("quantity", [0, -1, 1001, 1.5, "2"])
async def test_bad_quantity_is_422(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers, quantity: Any
) -> None:
    product = await create_product(client, staff_headers, stock=2000)

    response = await _add(client, buyer, product["id"], quantity)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["quantity"]
    assert (await _cart(client, buyer))["items"] == []


async def test_unknown_product_is_404(
    client: httpx.AsyncClient, buyer: Headers
) -> None:
    response = await _add(client, buyer, 999999, 1)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_hidden_product_cannot_be_added(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers)
    await client.delete(f"/products/{product['id']}/", headers=staff_headers)

    response = await _add(client, buyer, product["id"], 1)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_patch_sets_the_quantity(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, price=300, stock=10)
    await _add(client, buyer, product["id"], 5)

    response = await client.patch(
        f"/cart/items/{product['id']}/", json={"quantity": 2}, headers=buyer
    )

    assert response.status_code == 200
    assert _quantities(response.json()) == {product["id"]: 2}
    assert response.json()["total"] == 600


async def test_patch_beyond_stock_is_409_and_changes_nothing(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=3)
    await _add(client, buyer, product["id"], 1)

    response = await client.patch(
        f"/cart/items/{product['id']}/", json={"quantity": 4}, headers=buyer
    )

    assert response.status_code == 409
    assert response.json()["available"] == 3
    assert _quantities(await _cart(client, buyer)) == {product["id"]: 1}


async def test_patch_or_delete_a_line_not_in_the_cart_is_404(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers)
    url = f"/cart/items/{product['id']}/"

    patched = await client.patch(url, json={"quantity": 1}, headers=buyer)
    deleted = await client.delete(url, headers=buyer)

    assert (patched.status_code, deleted.status_code) == (404, 404)
    assert {patched.json()["code"], deleted.json()["code"]} == {"not_found"}


async def test_delete_removes_the_line(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    removed = await create_product(client, staff_headers)
    kept = await create_product(client, staff_headers)
    await _add(client, buyer, removed["id"], 1)
    await _add(client, buyer, kept["id"], 1)

    response = await client.delete(f"/cart/items/{removed['id']}/", headers=buyer)
    again = await client.delete(f"/cart/items/{removed['id']}/", headers=buyer)

    assert response.status_code == 204
    assert response.content == b""
    assert again.status_code == 404
    assert _quantities(await _cart(client, buyer)) == {kept["id"]: 1}


async def test_totals_are_integers_at_current_prices_ordered_by_product(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    first = await create_product(client, staff_headers, price=1999, stock=10)
    second = await create_product(client, staff_headers, price=5, stock=10)
    await _add(client, buyer, second["id"], 3)
    await _add(client, buyer, first["id"], 3)
    await client.patch(
        f"/products/{second['id']}/", json={"price": 7}, headers=staff_headers
    )

    cart = await _cart(client, buyer)

    assert [line["product_id"] for line in cart["items"]] == [first["id"], second["id"]]
    assert [line["line_total"] for line in cart["items"]] == [5997, 21]
    assert cart["total"] == 6018
    assert all(type(line["unit_price"]) is int for line in cart["items"])
    assert type(cart["total"]) is int


async def test_each_shopper_has_their_own_cart(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=10)
    other = await shopper(client)
    await _add(client, buyer, product["id"], 2)
    await _add(client, other, product["id"], 5)

    await client.delete(f"/cart/items/{product['id']}/", headers=other)

    assert _quantities(await _cart(client, buyer)) == {product["id"]: 2}
    assert (await _cart(client, other))["items"] == []


async def test_concurrent_adds_of_one_product_all_count(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=100)

    responses = await asyncio.gather(
        *(_add(client, buyer, product["id"], 2) for _ in range(6))
    )

    assert [r.status_code for r in responses] == [201] * 6
    assert _quantities(await _cart(client, buyer)) == {product["id"]: 12}


async def test_concurrent_adds_never_pass_the_stock(
    client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    product = await create_product(client, staff_headers, stock=3)

    responses = await asyncio.gather(
        *(_add(client, buyer, product["id"], 1) for _ in range(6))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201, 201, 409, 409, 409]
    assert _quantities(await _cart(client, buyer)) == {product["id"]: 3}


async def test_cart_lines_loads_products_in_id_order(
    app: FastAPI, client: httpx.AsyncClient, staff_headers: Headers, buyer: Headers
) -> None:
    first = await create_product(client, staff_headers, price=100)
    second = await create_product(client, staff_headers, price=40)
    await _add(client, buyer, second["id"], 2)
    await _add(client, buyer, first["id"], 1)
    cart = await _cart(client, buyer)

    async with app.state.resources.session_factory() as session:
        # The buyer is the only user with a cart.
        user_id = await session.scalar(select(CartItem.user_id).distinct())
        lines = await cart_lines(session, user_id)

    assert [line.product.id for line in lines] == [first["id"], second["id"]]
    assert [(line.quantity, line.line_total) for line in lines] == [(1, 100), (2, 80)]
    assert sum(line.line_total for line in lines) == cart["total"]
