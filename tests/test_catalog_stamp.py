"""The catalog stamp: unchanged answers kept by one small read, changes still seen."""

import asyncio
import gc
import logging
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.catalog.cache import CatalogCache
from app.catalog.stamp import stamp_reader
from app.config import Settings
from app.db import create_engine, create_session_factory
from app.resources import Resources
from tests.conftest import _migrate
from tests.helpers import LogLines, create_product, staff, statements_run

CACHE_SECONDS = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"catalog_cache_seconds": CACHE_SECONDS})


class _Catalog:
    """Stands for the database: answers, a stamp, and what was read, in order."""

    def __init__(self) -> None:
        self.stamp: int | None = 1
        self.body = b"v1"
        self.reads: list[str] = []
        self.stamp_error: Exception | None = None
        self.stamp_gate: asyncio.Event | None = None

    async def read_stamp(self) -> int | None:
        self.reads.append("stamp")
        await asyncio.sleep(0.01)
        if self.stamp_gate is not None:
            await self.stamp_gate.wait()
        if self.stamp_error is not None:
            raise self.stamp_error
        return self.stamp

    async def load(self) -> dict[Any, bytes]:
        self.reads.append("answers")
        await asyncio.sleep(0.01)
        return {"page": self.body}


async def _ask_until_refreshed(
    cache: CatalogCache, reads: list[str], key: Any = "page"
) -> None:
    """Ask for an answer as a busy shop would, until a refresh starts and ends.

    Every answer served meanwhile must be fresh.
    """
    reads_before = len(reads)
    for _ in range(int(CACHE_SECONDS / 0.01)):
        assert cache.fresh(key) is not None
        if len(reads) > reads_before:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)


async def test_an_unchanged_stamp_keeps_the_answer_without_reading_it_again() -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    first = await cache.answer("page", catalog.load)

    await _ask_until_refreshed(cache, catalog.reads)
    await asyncio.sleep(first.expires_at - time.monotonic())  # past the first life
    kept = cache.fresh("page")

    # The stamp is read before the answers: a change after it is caught later.
    assert catalog.reads == ["stamp", "answers", "stamp"]
    assert first is not None and kept is not None
    assert (kept.body, kept.etag) == (first.body, first.etag)
    assert kept.expires_at > first.expires_at


async def test_an_unchanged_stamp_keeps_an_answer_for_fifteen_lives_at_most() -> None:
    # A change that drew no stamp (triggers switched off by hand) shows then.
    catalog = _Catalog()
    ttl = 0.1
    cache = CatalogCache(ttl, stamp_reader=catalog.read_stamp)
    await cache.answer("page", catalog.load)
    catalog.body = b"changed behind the triggers' back"

    seen = set()
    for _ in range(int(20 * ttl / 0.01)):
        answer = cache.fresh("page") or await cache.answer("page", catalog.load)
        assert answer is not None
        seen.add(answer.body)
        await asyncio.sleep(0.01)

    # Revalidated many times, read in full once more (twice if the loaded
    # machine let one expire while its stamp was read).
    assert catalog.reads.count("stamp") > 5
    assert 2 <= catalog.reads.count("answers") <= 3
    assert seen == {b"v1", b"changed behind the triggers' back"}


async def test_a_changed_stamp_reads_the_answers_again() -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    await cache.answer("page", catalog.load)
    catalog.stamp, catalog.body = 2, b"v2"

    await _ask_until_refreshed(cache, catalog.reads)

    assert catalog.reads == ["stamp", "answers", "stamp", "answers"]
    kept = cache.fresh("page")
    assert kept is not None and kept.body == b"v2"


@pytest.mark.parametrize("failure", ["no stamp", "error"])
async def test_without_a_stamp_the_answers_are_read_again(failure: str) -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    await cache.answer("page", catalog.load)
    if failure == "error":
        catalog.stamp_error = ConnectionError("database went away")
    else:
        catalog.stamp = None  # someone deleted the row
    catalog.body = b"v2"
    records = LogLines()
    logging.getLogger("app.catalog").addHandler(records)
    try:
        await _ask_until_refreshed(cache, catalog.reads)
    finally:
        logging.getLogger("app.catalog").removeHandler(records)

    assert catalog.reads == ["stamp", "answers", "stamp", "answers"]
    kept = cache.fresh("page")
    assert kept is not None and kept.body == b"v2"
    failed = "catalog.stamp_read_failed error=ConnectionError"
    assert (failed in records.lines) == (failure == "error")


async def test_answers_due_about_together_share_stamp_reads() -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    keys = range(50)

    def loader(key: int) -> Any:
        async def load() -> dict[Any, bytes]:
            catalog.reads.append("answers")
            return {key: b"%d" % key}

        return load

    await asyncio.gather(*(cache.answer(key, loader(key)) for key in keys))
    for _ in range(int(CACHE_SECONDS / 0.01)):
        assert all(cache.fresh(key) is not None for key in keys)
        await asyncio.sleep(0.01)

    # All fall due within 0.2 s (lives of 0.8-1 s, refreshed in the last
    # 0.25 s), and a stamp read serves every refresh for 0.05 s after it.
    first_reads, refreshes = catalog.reads[:51], catalog.reads[51:]
    assert first_reads == ["stamp"] + ["answers"] * 50
    assert "answers" not in refreshes
    assert 1 <= len(refreshes) <= 6
    assert all(cache.fresh(key) is not None for key in keys)


async def test_a_change_in_this_process_during_a_stamp_read_is_not_lost() -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    await cache.answer("page", catalog.load)
    for _ in range(int(CACHE_SECONDS / 0.005)):
        assert cache.fresh("page") is not None
        if len(catalog.reads) == 3:  # a stamp read began
            break
        await asyncio.sleep(0.005)

    cache.clear()  # a commit here changed a product
    await asyncio.sleep(0.1)

    assert cache.fresh("page") is None
    assert len(cache) == 0


async def test_a_miss_that_waits_for_a_slow_revalidation_gets_its_answer() -> None:
    catalog = _Catalog()
    cache = CatalogCache(CACHE_SECONDS, stamp_reader=catalog.read_stamp)
    first = await cache.answer("page", catalog.load)
    assert first is not None
    catalog.stamp_gate = asyncio.Event()
    for _ in range(int(CACHE_SECONDS / 0.01)):  # until a stamp read begins
        assert cache.fresh("page") is not None
        if len(catalog.reads) == 3:
            break
        await asyncio.sleep(0.01)

    # The stamp read outlasts the answer: a miss then waits for it.
    await asyncio.sleep(first.expires_at - time.monotonic())
    assert cache.fresh("page") is None
    waiting = asyncio.create_task(cache.answer("page", catalog.load))
    await asyncio.sleep(0.05)
    catalog.stamp_gate.set()
    answer = await waiting

    # Same stamp, but the answer is gone: it is read again, not lost.
    assert answer is not None and answer.body == b"v1"
    assert catalog.reads == ["stamp", "answers", "stamp", "answers"]


# Through the app, on the real database.


def _reads_catalog(statement: str) -> bool:
    return "FROM products" in statement or "FROM catalog_stamp" in statement


async def test_an_unchanged_catalog_costs_sqlite_one_stamp_read_per_refresh(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mug = await create_product(client, await staff(app, client), name="Mug")
    first = await client.get("/products/", params={"q": "mug"})

    with statements_run(app) as seen:
        for _ in range(int(CACHE_SECONDS / 0.02)):
            await client.get("/products/", params={"q": "mug"})
            if any(_reads_catalog(statement) for statement in seen):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    await asyncio.sleep(CACHE_SECONDS)  # past the first life
    later = await client.get("/products/", params={"q": "mug"})

    # (The background worker's polls for jobs are not the catalog's.)
    read_products = [s for s in seen if "FROM products" in s]
    read_stamps = [s for s in seen if "FROM catalog_stamp" in s]
    if app.state.resources.engine.dialect.name == "sqlite":
        assert (len(read_stamps), read_products) == (1, [])
    else:  # PostgreSQL keeps no stamp: the search runs again
        assert (read_stamps, len(read_products)) == ([], 1)
    assert later.json()["items"][0]["id"] == mug["id"]
    assert later.headers["etag"] == first.headers["etag"]


async def test_a_change_made_outside_the_app_shows_within_the_limit(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    mug = await create_product(client, await staff(app, client), name="Mug")
    assert (await client.get("/products/")).json()["items"][0]["stock"] == 10
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE products SET stock = 4 WHERE id = :id"), {"id": mug["id"]}
            )
    finally:
        await engine.dispose()

    # Revalidations run throughout: the change must cut them short.
    for _ in range(int(2 * CACHE_SECONDS / 0.1)):
        stock = (await client.get("/products/")).json()["items"][0]["stock"]
        if stock == 4:
            break
        await asyncio.sleep(0.1)
    assert stock == 4


async def test_migrations_put_the_stamp_in_place_on_sqlite_only(
    settings: Settings,
) -> None:
    engine = create_engine(settings)
    try:
        read_stamp = stamp_reader(engine, create_session_factory(engine))
        if engine.dialect.name != "sqlite":
            assert read_stamp is None
            return
        assert read_stamp is not None
        stamps = [await read_stamp()]
        insert = (
            "INSERT {policy} INTO products (id, name, description, price, currency,"
            " stock, is_active, created_at, updated_at) VALUES (987654, 'Stamped',"
            " '', 1, 'EUR', 1, 1, '2026-01-01', '2026-01-01') {upsert}"
        )
        # Inside a trigger SQLite applies the outer statement's conflict policy:
        # none of these may skip the new stamp, or fail because of it.
        for change in (
            insert.format(policy="OR IGNORE", upsert=""),
            "UPDATE OR IGNORE products SET stock = 2 WHERE id = 987654",
            insert.format(policy="", upsert="ON CONFLICT (id) DO UPDATE SET stock = 3"),
            "UPDATE OR FAIL products SET stock = 4 WHERE id = 987654",
            "DELETE FROM products WHERE id = 987654",
        ):
            async with engine.begin() as connection:
                await connection.execute(text(change))
            stamps.append(await read_stamp())
    finally:
        await engine.dispose()

    assert None not in stamps
    assert len(set(stamps)) == 6  # each change drew a new one


async def test_without_its_triggers_sqlite_reads_answers_again_and_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rebuilt.db"
    url = f"sqlite+aiosqlite:///{path}"
    _migrate(url)
    engine = create_engine(Settings(_env_file=None, database_url=url))
    read_stamp = stamp_reader(engine, create_session_factory(engine))
    assert read_stamp is not None
    records = LogLines()
    catalog_logger = logging.getLogger("app.catalog")
    level = catalog_logger.level
    catalog_logger.setLevel(logging.INFO)
    catalog_logger.addHandler(records)
    try:
        in_place = await read_stamp()
        # A migration rebuilds `products` while the process runs.
        with sqlite3.connect(path) as connection:
            connection.execute("DROP TRIGGER products_stamp_after_update")
        while_gone = [await read_stamp(), await read_stamp()]
        with sqlite3.connect(path) as connection:
            connection.execute(
                "CREATE TRIGGER products_stamp_after_update AFTER UPDATE ON products"
                " BEGIN UPDATE catalog_stamp SET stamp = random() WHERE id = 1; END"
            )
        back = await read_stamp()
    finally:
        catalog_logger.removeHandler(records)
        catalog_logger.setLevel(level)
        await engine.dispose()

    assert in_place is not None and while_gone == [None, None]
    # SQLite's schema version moved: not the stamp the process held before.
    assert back is not None and back != in_place
    events = [line.split()[0] for line in records.lines]
    assert events == ["catalog.stamp_missing", "catalog.stamp_found"]


async def test_a_closed_process_leaves_its_engine_and_cache_to_the_collector(
    settings: Settings,
) -> None:
    resources = Resources.open(settings)
    engine = weakref.ref(resources.engine.sync_engine)
    cache = weakref.ref(resources.catalog_cache)

    await resources.close()
    del resources
    gc.collect()

    assert (engine(), cache()) == (None, None)
