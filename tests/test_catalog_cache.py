"""The catalog cache: ETags and 304s, freshness limits, and what it must never serve."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from app.catalog.cache import CatalogCache
from app.config import Settings
from app.db import create_engine, retry_once_if_disconnected
from app.models import Product
from tests.helpers import (
    create_product,
    eventually,
    shopper,
    staff,
    statements_run,
)

Headers = dict[str, str]
CACHE_SECONDS = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Short, so that waiting out the freshness limit keeps the tests quick.
    return settings.model_copy(update={"catalog_cache_seconds": CACHE_SECONDS})


@pytest.fixture
async def staff_headers(app: FastAPI, client: httpx.AsyncClient) -> Headers:
    return await staff(app, client)


async def _change_from_another_process(
    settings: Settings, product_id: int, **values: Any
) -> None:
    """Write as another worker process would: its own engine, its own cache."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Product).where(Product.id == product_id).values(**values)
            )
    finally:
        await engine.dispose()


def _max_age(response: httpx.Response) -> int:
    directives = [part.strip() for part in response.headers["cache-control"].split(",")]
    assert "public" in directives
    (max_age,) = [d for d in directives if d.startswith("max-age=")]
    return int(max_age.removeprefix("max-age="))


@pytest.mark.parametrize("path", ["/products/", "/products/?q=mug", "/products/{id}/"])
async def test_answers_carry_an_etag_and_a_freshness_no_longer_than_the_cache(
    client: httpx.AsyncClient, staff_headers: Headers, path: str
) -> None:
    mug = await create_product(client, staff_headers, name="Mug")

    response = await client.get(path.format(id=mug["id"]))

    assert response.status_code == 200
    assert response.headers["etag"].startswith('"')
    assert response.headers["content-type"] == "application/json"
    assert 0 <= _max_age(response) <= CACHE_SECONDS


@pytest.mark.parametrize("path", ["/products/", "/products/{id}/", "/products/{id}"])
async def test_a_client_holding_the_current_etag_gets_an_empty_304(
    client: httpx.AsyncClient, staff_headers: Headers, path: str
) -> None:
    mug = await create_product(client, staff_headers, name="Mug")
    url = path.format(id=mug["id"])
    first = await client.get(url)

    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert "cache-control" in again.headers


@pytest.mark.parametrize(
    "if_none_match", ['"other", {etag}', "W/{etag}", "*", '"a",W/{etag} , "b"']
)
async def test_if_none_match_lists_weak_tags_and_star_all_match(
    client: httpx.AsyncClient, staff_headers: Headers, if_none_match: str
) -> None:
    await create_product(client, staff_headers)
    etag = (await client.get("/products/")).headers["etag"]

    response = await client.get(
        "/products/", headers={"If-None-Match": if_none_match.format(etag=etag)}
    )

    assert response.status_code == 304


async def test_a_stale_etag_gets_the_new_page(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", price=1000)
    old = await client.get("/products/")
    await client.patch(
        f"/products/{mug['id']}/", json={"price": 1200}, headers=staff_headers
    )

    response = await client.get(
        "/products/", headers={"If-None-Match": old.headers["etag"]}
    )

    assert response.status_code == 200
    assert response.headers["etag"] != old.headers["etag"]
    assert response.json()["items"][0]["price"] == 1200


async def test_a_staff_change_shows_at_once_in_the_process_that_made_it(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", price=1000)
    assert (await client.get(f"/products/{mug['id']}/")).json()["price"] == 1000
    assert (await client.get("/products/")).json()["items"][0]["price"] == 1000

    await client.patch(
        f"/products/{mug['id']}/", json={"price": 1500}, headers=staff_headers
    )

    assert (await client.get(f"/products/{mug['id']}/")).json()["price"] == 1500
    assert (await client.get("/products/")).json()["items"][0]["price"] == 1500


async def test_a_hidden_product_is_gone_at_once_in_the_process_that_hid_it(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug")
    kept = await create_product(client, staff_headers, name="Kept")
    assert (await client.get(f"/products/{mug['id']}/")).status_code == 200
    assert (await client.get("/products/", params={"q": "mug"})).json()["total"] == 1

    await client.delete(f"/products/{mug['id']}/", headers=staff_headers)

    assert (await client.get(f"/products/{mug['id']}/")).status_code == 404
    assert (await client.get("/products/", params={"q": "mug"})).json()["total"] == 0
    assert (await client.get(f"/products/{kept['id']}/")).status_code == 200


async def test_stock_taken_by_a_checkout_shows_at_once(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", stock=5)
    assert (await client.get(f"/products/{mug['id']}/")).json()["stock"] == 5
    buyer = await shopper(client)
    await client.post(
        "/cart/items/", json={"product_id": mug["id"], "quantity": 2}, headers=buyer
    )

    checkout = await client.post("/checkout/", headers=buyer)

    assert checkout.status_code == 201, checkout.text
    assert (await client.get(f"/products/{mug['id']}/")).json()["stock"] == 3


async def test_a_checkout_keeps_what_it_did_not_change_and_lists_catch_up(
    app: FastAPI, client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", stock=5)
    cup = await create_product(client, staff_headers, name="Cup", stock=5)
    buyer = await shopper(client)
    await client.post(
        "/cart/items/", json={"product_id": mug["id"], "quantity": 2}, headers=buyer
    )
    assert (await client.get(f"/products/{cup['id']}/")).status_code == 200
    assert (await client.get("/products/", params={"q": "cup"})).status_code == 200
    loop = asyncio.get_running_loop()

    assert (await client.post("/checkout/", headers=buyer)).status_code == 201
    bought_at = loop.time()
    with statements_run(app) as seen:
        other_product = await client.get(f"/products/{cup['id']}/")
        other_search = await client.get("/products/", params={"q": "cup"})

    # Only the product whose stock moved is read again; the rest stays cached.
    assert [s for s in seen if "FROM products" in s] == []
    assert other_product.json()["stock"] == 5 and other_search.json()["total"] == 1

    async def listed_stock() -> int:
        page = (await client.get("/products/", params={"q": "mug"})).json()
        return page["items"][0]["stock"]

    await eventually(listed_stock, lambda stock: stock == 3, timeout=3 * CACHE_SECONDS)
    assert loop.time() - bought_at <= CACHE_SECONDS + 0.5


async def test_a_change_in_another_process_shows_within_the_freshness_limit(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", price=1000)
    assert (await client.get(f"/products/{mug['id']}/")).json()["price"] == 1000
    loop = asyncio.get_running_loop()

    await _change_from_another_process(settings, mug["id"], price=2000)
    changed_at = loop.time()

    async def price() -> int:
        return (await client.get(f"/products/{mug['id']}/")).json()["price"]

    await eventually(price, lambda seen: seen == 2000, timeout=3 * CACHE_SECONDS)
    assert loop.time() - changed_at <= CACHE_SECONDS + 0.5


async def test_a_product_hidden_in_another_process_is_gone_within_the_limit(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    mug = await create_product(client, staff_headers, name="Mug")
    assert (await client.get("/products/")).json()["total"] == 1
    loop = asyncio.get_running_loop()

    await _change_from_another_process(settings, mug["id"], is_active=False)
    hidden_at = loop.time()

    async def listed() -> int:
        return (await client.get("/products/")).json()["total"]

    await eventually(listed, lambda total: total == 0, timeout=3 * CACHE_SECONDS)
    assert loop.time() - hidden_at <= CACHE_SECONDS + 0.5
    assert (await client.get(f"/products/{mug['id']}/")).status_code == 404


async def test_the_cart_never_sees_the_catalogs_cached_stock(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", stock=10)
    buyer = await shopper(client)
    assert (await client.get(f"/products/{mug['id']}/")).json()["stock"] == 10
    await _change_from_another_process(settings, mug["id"], stock=1)

    added = await client.post(
        "/cart/items/", json={"product_id": mug["id"], "quantity": 2}, headers=buyer
    )

    assert added.status_code == 409
    assert added.json()["available"] == 1


async def test_the_checkout_never_sees_the_catalogs_cached_stock(
    client: httpx.AsyncClient, staff_headers: Headers, settings: Settings
) -> None:
    mug = await create_product(client, staff_headers, name="Mug", stock=10)
    buyer = await shopper(client)
    await client.post(
        "/cart/items/", json={"product_id": mug["id"], "quantity": 3}, headers=buyer
    )
    assert (await client.get(f"/products/{mug['id']}/")).json()["stock"] == 10
    await _change_from_another_process(settings, mug["id"], stock=2)

    checkout = await client.post("/checkout/", headers=buyer)

    assert checkout.status_code == 409
    assert checkout.json()["code"] == "insufficient_stock"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": "many"},
        {"offset": -1},
        {"offset": 10**30},
        {"q": "   "},
    ],
)
async def test_bad_parameters_are_refused_even_when_the_page_is_cached(
    client: httpx.AsyncClient, staff_headers: Headers, params: dict[str, Any]
) -> None:
    await create_product(client, staff_headers)
    assert (await client.get("/products/")).status_code == 200

    response = await client.get("/products/", params=params)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("product_id", ["0", "-1", "99999999999999999999999"])
async def test_ids_that_cannot_exist_are_404_not_errors(
    client: httpx.AsyncClient, staff_headers: Headers, product_id: str
) -> None:
    await create_product(client, staff_headers)

    response = await client.get(f"/products/{product_id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_a_leading_zero_id_answers_like_the_plain_one(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    products = [await create_product(client, staff_headers) for _ in range(8)]
    product = products[-1]
    plain = await client.get(f"/products/{product['id']}/")

    padded = await client.get(f"/products/0{product['id']}/")

    assert padded.status_code == plain.status_code == 200
    assert padded.json() == plain.json() == product


async def test_every_product_of_a_block_read_answers_for_itself(
    client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    products = [
        await create_product(client, staff_headers, name=f"Item {n}") for n in range(5)
    ]
    await client.delete(f"/products/{products[2]['id']}/", headers=staff_headers)

    answers = [await client.get(f"/products/{p['id']}/") for p in products]

    assert [a.status_code for a in answers] == [200, 200, 404, 200, 200]
    assert [a.json() for a in answers if a.status_code == 200] == [
        p for n, p in enumerate(products) if n != 2
    ]


async def test_the_schema_still_documents_the_query_and_the_bodies(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    listing, detail = (
        paths["/products/"]["get"],
        paths["/products/{product_id}/"]["get"],
    )

    assert {p["name"] for p in listing["parameters"]} == {"limit", "offset", "q"}
    page_schema = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert page_schema["$ref"].endswith("/ProductPage")
    assert detail["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/ProductOut")
    assert "304" in listing["responses"] and "304" in detail["responses"]
    assert "404" in detail["responses"]


# The rules of the cache object itself, where HTTP cannot time them.


async def test_concurrent_misses_of_one_key_share_one_read() -> None:
    cache = CatalogCache(ttl_seconds=5)
    reads = 0

    async def load() -> dict[Any, bytes]:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)
        return {"page": b"[]"}

    answers = await asyncio.gather(*(cache.answer("page", load) for _ in range(10)))

    assert reads == 1
    assert {answer.etag for answer in answers if answer} == {answers[0].etag}


async def test_a_read_that_began_before_a_change_is_not_kept() -> None:
    cache = CatalogCache(ttl_seconds=5)
    release = asyncio.Event()

    async def slow_old_read() -> dict[Any, bytes]:
        await release.wait()
        return {"page": b"old"}

    async def new_read() -> dict[Any, bytes]:
        return {"page": b"new"}

    reading = asyncio.create_task(cache.answer("page", slow_old_read))
    await asyncio.sleep(0)
    cache.clear()  # a change committed while the old read ran
    newer = await cache.answer("page", new_read)
    release.set()
    await reading

    assert newer is not None and newer.body == b"new"
    kept = cache.fresh("page")
    assert kept is not None and kept.body == b"new"


async def test_a_read_that_began_before_a_key_was_forgotten_does_not_keep_it() -> None:
    cache = CatalogCache(ttl_seconds=5)
    release = asyncio.Event()

    async def slow_old_read() -> dict[Any, bytes]:
        await release.wait()
        return {"mug": b"old", "cup": b"cup"}

    async def new_read() -> dict[Any, bytes]:
        return {"mug": b"new", "cup": b"cup"}

    reading = asyncio.create_task(cache.answer("cup", slow_old_read, load_key="all"))
    await asyncio.sleep(0)
    cache.forget(["mug"])  # a checkout here took the mug's stock
    # The miss does not wait for the read that may not show the checkout.
    asked_after = await cache.answer("mug", new_read, load_key="all")
    release.set()
    await reading

    assert asked_after is not None and asked_after.body == b"new"
    kept = cache.fresh("mug")
    assert kept is not None and kept.body == b"new"
    assert cache.fresh("cup") is not None


async def test_answers_expire_after_the_freshness_limit() -> None:
    cache = CatalogCache(ttl_seconds=0.05)

    async def load() -> dict[Any, bytes]:
        return {"page": b"[]"}

    await cache.answer("page", load)
    assert cache.fresh("page") is not None
    await asyncio.sleep(0.06)

    assert cache.fresh("page") is None


async def test_a_failed_read_fails_its_waiters_and_the_next_miss_reads_again() -> None:
    cache = CatalogCache(ttl_seconds=5)
    attempts = 0

    async def flaky() -> dict[Any, bytes]:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.02)
        if attempts == 1:
            raise ConnectionError("database went away")
        return {"page": b"[]"}

    first, second = await asyncio.gather(
        cache.answer("page", flaky), cache.answer("page", flaky), return_exceptions=True
    )
    after = await cache.answer("page", flaky)

    assert isinstance(first, ConnectionError) and isinstance(second, ConnectionError)
    assert attempts == 2
    assert after is not None and after.body == b"[]"


async def test_the_cache_holds_a_bounded_number_of_answers() -> None:
    cache = CatalogCache(ttl_seconds=60, max_entries=3)

    for n in range(10):

        async def load(n: int = n) -> dict[Any, bytes]:
            return {n: b"x"}

        await cache.answer(n, load)

    assert len(cache) == 3
    assert [cache.fresh(n) is not None for n in (6, 7, 8, 9)] == [
        False,
        True,
        True,
        True,
    ]


async def test_with_zero_seconds_nothing_is_kept() -> None:
    cache = CatalogCache(ttl_seconds=0)
    reads = 0

    async def load() -> dict[Any, bytes]:
        nonlocal reads
        reads += 1
        return {"page": b"[]"}

    await cache.answer("page", load)
    await cache.answer("page", load)

    assert reads == 2
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("params", "expected_names", "expected_total"),
    [
        ({"offset": 2}, ["C"], 3),
        ({"offset": 3}, [], 3),
        ({"offset": 50}, [], 3),
        ({"q": "b"}, ["B"], 1),
        ({"q": "nothing"}, [], 0),
        ({"limit": 3}, ["A", "B", "C"], 3),
    ],
)
async def test_every_page_reports_the_whole_total(
    client: httpx.AsyncClient,
    staff_headers: Headers,
    params: dict[str, Any],
    expected_names: list[str],
    expected_total: int,
) -> None:
    for name in ("A", "B", "C"):
        await create_product(client, staff_headers, name=name)

    page = (await client.get("/products/", params=params)).json()

    assert [item["name"] for item in page["items"]] == expected_names
    assert page["total"] == expected_total


async def test_a_busy_answer_is_read_again_in_the_background_before_it_expires() -> (
    None
):
    # Lives are 80-100% of 2 s; a read again starts in the last 0.5 s of each.
    cache = CatalogCache(ttl_seconds=2)
    versions = iter([b"v1", b"v2"])

    async def load() -> dict[Any, bytes]:
        return {"page": next(versions)}

    await cache.answer("page", load)
    await asyncio.sleep(1.52)

    served_while_refreshing = cache.fresh("page")
    await asyncio.sleep(0.05)
    served_after = cache.fresh("page")

    assert served_while_refreshing is not None and served_while_refreshing.body == b"v1"
    assert served_after is not None and served_after.body == b"v2"
    assert served_after.expires_at > served_while_refreshing.expires_at


@pytest.mark.parametrize(
    ("read_seconds", "lead_seconds"),
    [
        (0.003, 0.5),  # quick reads: the last quarter of a 2 s life
        (0.4, 0.6),  # slow: 1.5 read times ahead, so the new answer is back in time
        (3.0, 0.8),  # never earlier than 40% of the life: reads would never stop
    ],
)
def test_the_slower_reads_are_the_earlier_a_refresh_starts(
    read_seconds: float, lead_seconds: float
) -> None:
    cache = CatalogCache(ttl_seconds=2)

    # The read time is smoothed: a run of reads that slow settles it there.
    leads = [cache._refresh_lead(read_seconds) for _ in range(60)]

    assert leads[-1] == pytest.approx(lead_seconds, rel=0.01)
    assert leads == sorted(leads)


async def test_the_cache_holds_a_bounded_number_of_bytes() -> None:
    cache = CatalogCache(ttl_seconds=60, max_bytes=2_500)

    for n in range(5):

        async def load(n: int = n) -> dict[Any, bytes]:
            return {n: b"x" * 1_000}

        answer = await cache.answer(n, load)
        assert answer is not None  # served even when it cannot all be kept

    assert [cache.fresh(n) is not None for n in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize("disconnected", [True, False])
async def test_a_read_is_tried_again_only_when_its_connection_had_died(
    disconnected: bool,
) -> None:
    attempts = 0

    async def read() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise DBAPIError(
                "SELECT 1", {}, OSError("gone"), connection_invalidated=disconnected
            )
        return "read"

    if disconnected:
        assert await retry_once_if_disconnected(read) == "read"
    else:
        with pytest.raises(DBAPIError):
            await retry_once_if_disconnected(read)
    assert attempts == (2 if disconnected else 1)


async def test_the_catalog_reads_on_after_the_database_dropped_its_connections(
    app: FastAPI, client: httpx.AsyncClient, staff_headers: Headers
) -> None:
    mug = await create_product(client, staff_headers, name="Mug")
    assert (await client.get("/products/", params={"q": "warm up"})).status_code == 200
    resources = app.state.resources
    if resources.engine.dialect.name == "postgresql":
        # As a database restart would: every connection of the app is cut.
        async with resources.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    else:  # SQLite: the reads share the app's engine, nothing to cut
        assert resources.reader_engine is resources.engine

    missed = await client.get("/products/", params={"q": "mug"})

    assert missed.status_code == 200
    assert [item["id"] for item in missed.json()["items"]] == [mug["id"]]
