"""Catalog: public listing and search, staff-only changes."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from tests.helpers import create_product, shopper, staff

Headers = dict[str, str]


@pytest.fixture
async def staff_headers(app: FastAPI, client: httpx.AsyncClient) -> Headers:
    return await staff(app, client)


async def _listed_names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/products/", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def _error_fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


async def test_list_has_the_documented_shape(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    created = await create_product(
        client, staff_headers, name="Mug", description="Stoneware", price=1250, stock=7
    )

    response = await client.get("/products/")

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": created["id"],
                "name": "Mug",
                "description": "Stoneware",
                "price": 1250,
                "currency": settings.currency,
                "stock": 7,
            }
        ],
        "total": 1,
        "limit": 20,
        "offset": 0,
    }


async def test_list_pages_by_limit_and_offset_in_id_order(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    ids = [(await create_product(client, staff_headers))["id"] for _ in range(5)]

    first = (await client.get("/products/", params={"limit": 2})).json()
    last = (await client.get("/products/", params={"limit": 2, "offset": 4})).json()

    assert [item["id"] for item in first["items"]] == ids[:2]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [item["id"] for item in last["items"]] == ids[4:]
    assert (last["total"], last["limit"], last["offset"]) == (5, 2, 4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 101}, "q"),
        # Cut at the NUL, SQLite would have searched for names ending in "a".
        ({"q": "a\x00b"}, "q"),
    ],
)
async def test_bad_list_parameters_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/products/", params=params)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _error_fields(response) == {field}


async def test_search_is_a_case_insensitive_substring_of_the_name(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    for name in ("Blue Mug", "light BLUE plate", "Red Mug"):
        await create_product(client, staff_headers, name=name)

    assert await _listed_names(client, q="blue") == ["Blue Mug", "light BLUE plate"]
    assert await _listed_names(client, q="  MUG ") == ["Blue Mug", "Red Mug"]


async def test_search_total_counts_matches_not_the_whole_catalog(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    for name in ("Tea A", "Tea B", "Tea C", "Coffee"):
        await create_product(client, staff_headers, name=name)

    page = (await client.get("/products/", params={"q": "tea", "limit": 1})).json()

    assert [item["name"] for item in page["items"]] == ["Tea A"]
    assert page["total"] == 3


async def test_search_matches_like_wildcards_literally(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    for name in ("100% Cotton", "1000 Cotton", "snake_case mug", "snakeXcase mug"):
        await create_product(client, staff_headers, name=name)

    assert await _listed_names(client, q="100%") == ["100% Cotton"]
    assert await _listed_names(client, q="%") == ["100% Cotton"]
    assert await _listed_names(client, q="e_c") == ["snake_case mug"]


async def test_path_without_trailing_slash_answers_identically(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    await create_product(client, staff_headers, name="Kettle")

    with_slash = await client.get("/products/", params={"q": "kett"})
    without_slash = await client.get("/products", params={"q": "kett"})

    assert without_slash.status_code == with_slash.status_code == 200
    assert without_slash.json() == with_slash.json()


async def test_detail_returns_one_product(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    created = await create_product(client, staff_headers, name="Teapot", price=5400)

    response = await client.get(f"/products/{created['id']}/")

    assert response.status_code == 200
    assert response.json() == created


async def test_detail_of_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    missing = await client.get("/products/999999/")
    not_a_number = await client.get("/products/abc/")

    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert not_a_number.status_code == 422
    assert _error_fields(not_a_number) == {"product_id"}


async def test_staff_creates_in_the_shop_currency_by_default(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    body = {"name": "  Grinder  ", "price": 8900, "stock": 3}

    response = await client.post("/products/", json=body, headers=staff_headers)

    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Grinder"
    assert created["description"] == ""
    assert created["currency"] == settings.currency
    listed = await client.get(f"/products/{created['id']}/")
    assert listed.json() == created


async def test_create_accepts_the_shop_currency_in_any_case(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    created = await create_product(
        client, staff_headers, currency=settings.currency.lower()
    )

    assert created["currency"] == settings.currency


async def test_create_in_another_currency_is_refused(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    other = "EUR" if settings.currency != "EUR" else "GBP"
    body = {"name": "Imported", "price": 100, "stock": 1, "currency": other}

    response = await client.post("/products/", json=body, headers=staff_headers)

    assert response.status_code == 422
    assert response.json()["code"] == "currency_mismatch"
    assert (await client.get("/products/")).json()["total"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"price": -1}, "price"),
        ({"price": 19.99}, "price"),
        ({"price": "1999"}, "price"),
        ({"price": 100_000_001}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 1_000_001}, "stock"),
        ({"name": None}, "name"),
    ],
)
async def test_create_with_bad_fields_is_422_naming_the_field(
    client: httpx.AsyncClient,
    staff_headers: Headers,
    change: dict[str, Any],
    field: str,
) -> None:
    body = {"name": "Valid", "price": 100, "stock": 1, **change}

    response = await client.post("/products/", json=body, headers=staff_headers)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _error_fields(response) == {field}


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    created = await create_product(
        client, staff_headers, name="Old", description="Kept", price=100, stock=5
    )

    response = await client.patch(
        f"/products/{created['id']}/",
        json={"name": " New ", "price": 250},
        headers=staff_headers,
    )

    assert response.status_code == 200
    expected = {**created, "name": "New", "price": 250}
    assert response.json() == expected
    assert (await client.get(f"/products/{created['id']}/")).json() == expected


@pytest.mark.parametrize(
    "change", [{"name": None}, {"price": None}, {"stock": None}, {"stock": -3}]
)
async def test_patch_refuses_null_or_invalid_values(
    client: httpx.AsyncClient, staff_headers: Headers, change: dict[str, Any]
) -> None:
    created = await create_product(client, staff_headers)

    response = await client.patch(
        f"/products/{created['id']}/", json=change, headers=staff_headers
    )

    assert response.status_code == 422
    assert _error_fields(response) == set(change)
    assert (await client.get(f"/products/{created['id']}/")).json() == created


async def test_patch_to_another_currency_is_refused(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    created = await create_product(client, staff_headers)
    other = "EUR" if settings.currency != "EUR" else "GBP"

    response = await client.patch(
        f"/products/{created['id']}/", json={"currency": other}, headers=staff_headers
    )

    assert response.status_code == 422
    assert response.json()["code"] == "currency_mismatch"


async def test_patch_of_unknown_product_is_404(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    response = await client.patch(
        "/products/999999/", json={"price": 1}, headers=staff_headers
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_delete_hides_the_product_and_empties_it_from_carts(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    doomed = await create_product(client, staff_headers, name="Doomed", stock=5)
    kept = await create_product(client, staff_headers, name="Kept", stock=5)
    buyer = await shopper(client)
    for product in (doomed, kept):
        body = {"product_id": product["id"], "quantity": 1}
        await client.post("/cart/items/", json=body, headers=buyer)

    response = await client.delete(f"/products/{doomed['id']}/", headers=staff_headers)

    assert response.status_code == 204
    assert response.content == b""
    assert await _listed_names(client) == ["Kept"]
    assert (await client.get(f"/products/{doomed['id']}/")).status_code == 404
    cart = (await client.get("/cart/", headers=buyer)).json()
    assert [line["product_id"] for line in cart["items"]] == [kept["id"]]


async def test_deleting_twice_is_404_and_a_hidden_product_cannot_be_patched(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    product = await create_product(client, staff_headers)
    url = f"/products/{product['id']}/"
    await client.delete(url, headers=staff_headers)

    again = await client.delete(url, headers=staff_headers)
    patched = await client.patch(url, json={"price": 5}, headers=staff_headers)

    assert again.status_code == 404
    assert again.json()["code"] == "not_found"
    assert patched.status_code == 404


async def test_shopper_may_not_change_the_catalog(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    product = await create_product(client, staff_headers)
    headers = await shopper(client)
    url = f"/products/{product['id']}/"

    new = {"name": "X", "price": 1, "stock": 1}

    responses = [
        await client.post("/products/", json=new, headers=headers),
        await client.patch(url, json={"price": 1}, headers=headers),
        await client.delete(url, headers=headers),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {r.json()["code"] for r in responses} == {"forbidden"}
    assert (await client.get(url)).json() == product


async def test_anonymous_may_not_change_the_catalog(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    product = await create_product(client, staff_headers)
    url = f"/products/{product['id']}/"
    new = {"name": "X", "price": 1, "stock": 1}

    responses = [
        await client.post("/products/", json=new),
        await client.patch(url, json={"price": 1}),
        await client.delete(url),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert {r.json()["code"] for r in responses} == {"not_authenticated"}
    assert (await client.get("/products/")).json()["total"] == 1


@pytest.mark.parametrize("product_id", [2**31 - 1, 2**31 - 60, 2**31, 3_000_000_000])
async def test_ids_at_and_past_the_largest_key_are_404_everywhere(
    client: httpx.AsyncClient, staff_headers: Headers, product_id: int
) -> None:
    # A detail miss reads a block of ids; near the end of the key range that
    # block must not reach past it (PostgreSQL would refuse the number).
    path = f"/products/{product_id}/"

    answers = [
        await client.get(path),
        await client.patch(path, json={"stock": 1}, headers=staff_headers),
        await client.delete(path, headers=staff_headers),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert {answer.json()["code"] for answer in answers} == {"not_found"}


async def test_product_text_with_nul_is_refused_on_every_database(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    created = await client.post(
        "/products/",
        json={"name": "nul\u0000name", "price": 100, "stock": 1},
        headers=staff_headers,
    )

    assert created.status_code == 422
    assert _error_fields(created) == {"name"}
