"""Live payment status over Server-Sent Events: `GET /payments/{id}/events/`.

httpx's ASGI transport hands over a body only once it is complete, so the
live tests run the app under uvicorn on a loopback port, in this process (to
look at its connection pool) and read the stream as a client on the network
would. Changes are made through another engine or another process: the stream
must not depend on anything happening inside the serving process.
"""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import delete, event, text, update

from app.config import Settings
from app.db import create_engine, create_session_factory
from app.main import create_app
from app.models import Job, Payment, PaymentStatus
from app.payments.events import StreamTimings, announce_payment_change
from app.payments.service import CHARGE_PAYMENT
from tests.conftest import ROOT, free_port
from tests.helpers import create_product, eventually, shopper, staff

Event = tuple[str, Any]
DECLINE_REASON = "Your card was declined."


# --- a real server, and a reader of its stream ------------------------------


@asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    application = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(_async(lambda: server.started), bool, timeout=20)
        yield application, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=20)


def _async(probe: Any) -> Any:
    async def wrapped() -> Any:
        return probe()

    return wrapped


@pytest.fixture
async def idle_server(
    settings: Settings, clean_database: None
) -> AsyncIterator[tuple[FastAPI, str]]:
    """No job worker: a payment stays `processing` until a test settles it."""
    async with _served(settings.model_copy(update={"run_worker": False})) as served:
        try:
            yield served
        finally:
            await _drop_charge_jobs(served[0])


@pytest.fixture
async def busy_server(
    settings: Settings, clean_database: None
) -> AsyncIterator[tuple[FastAPI, str]]:
    """With the job worker: the sandbox gateway settles payments on its own."""
    async with _served(settings) as served:
        yield served


async def _drop_charge_jobs(app: FastAPI) -> None:
    # Left queued, they would charge the next test's payment of the same id.
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(delete(Job).where(Job.name == CHARGE_PAYMENT))


async def _events(response: httpx.Response) -> AsyncIterator[Event]:
    """("payment", body) per event and ("comment", text) per heartbeat."""
    name, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif line == "" and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


async def _next(events: AsyncIterator[Event], timeout: float = 10) -> Event:
    return await asyncio.wait_for(anext(events), timeout)


async def _ended(events: AsyncIterator[Event]) -> bool:
    try:
        await _next(events)
    except StopAsyncIteration:
        return True
    return False


# --- shop data ----------------------------------------------------------------


async def _ordered(app: FastAPI, http: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    """A new shopper with an order awaiting payment."""
    product = await create_product(http, await staff(app, http), price=1500, stock=5)
    headers = await shopper(http)
    added = await http.post(
        "/cart/items/",
        json={"product_id": product["id"], "quantity": 1},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    order = await http.post("/checkout/", headers=headers)
    assert order.status_code == 201, order.text
    return headers, order.json()["id"]


async def _pay(
    http: httpx.AsyncClient, headers: dict[str, str], order_id: int, method: str
) -> dict[str, Any]:
    body = {"order_id": order_id, "payment_method": method}
    started = await http.post("/payments/", json=body, headers=headers)
    assert started.status_code == 202, started.text
    return started.json()


async def _processing_payment(
    app: FastAPI, http: httpx.AsyncClient
) -> tuple[dict[str, str], dict[str, Any]]:
    headers, order_id = await _ordered(app, http)
    return headers, await _pay(http, headers, order_id, "pm_card_visa")


async def settle_elsewhere(database_url: str, payment_id: int, announce: bool) -> None:
    """Decline the payment through an engine of its own, as another process would."""
    engine = create_engine(Settings(_env_file=None, database_url=database_url))
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Payment)
                .where(Payment.id == payment_id)
                .values(
                    status=PaymentStatus.FAILED,
                    failure_code="generic_decline",
                    failure_reason=DECLINE_REASON,
                )
            )
            if announce:
                await announce_payment_change(session, payment_id)
    finally:
        await engine.dispose()


_SETTLE_IN_A_CHILD = (
    "import asyncio, sys\n"
    "from tests.test_payment_events import settle_elsewhere\n"
    "asyncio.run(settle_elsewhere(sys.argv[1], int(sys.argv[2]), True))\n"
)


async def _settle_in_another_process(database_url: str, payment_id: int) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SETTLE_IN_A_CHILD,
        database_url,
        str(payment_id),
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert await asyncio.wait_for(child.wait(), timeout=60) == 0


def _notifications_only(app: FastAPI) -> None:
    """On PostgreSQL, make the safety poll too slow to explain a quick update."""
    watch = app.state.payment_watch
    if app.state.resources.settings.is_sqlite:
        return
    watch.timings = replace(watch.timings, poll_seconds=60)


# --- refusals, over ASGI ------------------------------------------------------


async def test_without_a_token_the_stream_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/payments/1/events/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_another_shoppers_payment_is_as_absent_as_an_unknown_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, payment = await _processing_payment(app, client)
    stranger = await shopper(client)

    theirs = await client.get(f"/payments/{payment['id']}/events/", headers=stranger)
    unknown = await client.get("/payments/999999/events/", headers=owner)

    assert theirs.status_code == unknown.status_code == 404
    assert (
        theirs.json()
        == unknown.json()
        == {
            "detail": "Payment not found",
            "code": "not_found",
        }
    )


async def test_a_final_payment_is_sent_once_and_the_stream_ends(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers, payment = await _processing_payment(app, client)
    url = f"/payments/{payment['id']}/"
    settled = await eventually(
        lambda: client.get(url, headers=headers),
        lambda r: r.json()["status"] != "processing",
    )

    response = await client.get(f"{url}events/", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text == f"event: payment\ndata: {settled.text}\n\n"


# --- live, over the network ---------------------------------------------------


@pytest.mark.parametrize(
    ("card", "status", "reason"),
    [
        ("pm_card_visa", "succeeded", None),
        ("pm_card_chargeDeclined", "failed", DECLINE_REASON),
    ],
    ids=["success-card", "decline-card"],
)
async def test_the_stream_follows_a_payment_until_the_gateway_settles_it(
    busy_server: tuple[FastAPI, str], card: str, status: str, reason: str | None
) -> None:
    app, base = busy_server
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, order_id = await _ordered(app, http)
        payment = await _pay(http, headers, order_id, card)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            received = [
                body async for name, body in _events(response) if name == "payment"
            ]
        current = await http.get(f"/payments/{payment['id']}/", headers=headers)

    assert [p["status"] for p in received[:-1]] == ["processing"] * (len(received) - 1)
    assert received[-1] == current.json()
    assert (received[-1]["status"], received[-1]["failure_reason"]) == (status, reason)


async def test_a_change_made_through_another_engine_arrives_at_once(
    idle_server: tuple[FastAPI, str], settings: Settings
) -> None:
    app, base = idle_server
    _notifications_only(app)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            first = await _next(events)
            clock = asyncio.get_running_loop().time
            started = clock()
            await settle_elsewhere(settings.database_url, payment["id"], announce=True)
            name, changed = await _next(events)
            waited = clock() - started
            ended = await _ended(events)

    assert first == ("payment", payment)
    assert name == "payment"
    assert (changed["status"], changed["failure_reason"]) == ("failed", DECLINE_REASON)
    # The SQLite poll is half a second; on PostgreSQL the poll is a minute here.
    assert waited < 5
    assert ended


async def test_a_change_made_by_another_process_arrives(
    idle_server: tuple[FastAPI, str], settings: Settings
) -> None:
    app, base = idle_server
    _notifications_only(app)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            await _next(events)
            await _settle_in_another_process(settings.database_url, payment["id"])
            _name, changed = await _next(events, timeout=30)

    assert changed["status"] == "failed"


async def test_a_change_nobody_announced_still_arrives_by_the_safety_poll(
    idle_server: tuple[FastAPI, str], settings: Settings
) -> None:
    app, base = idle_server
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            await _next(events)
            await settle_elsewhere(settings.database_url, payment["id"], announce=False)
            _name, changed = await _next(events)

    assert changed["status"] == "failed"


async def test_no_database_connection_is_held_while_the_stream_waits(
    idle_server: tuple[FastAPI, str],
) -> None:
    app, base = idle_server
    watch = app.state.payment_watch
    watch.timings = replace(watch.timings, poll_seconds=60)
    pool = app.state.resources.engine.pool
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            await _next(events)
            samples = []
            for _ in range(10):
                samples.append(pool.checkedout())
                await asyncio.sleep(0.05)
            streams = watch.waiting_streams()

    assert streams == 1
    assert samples == [0] * 10


async def test_a_client_that_goes_away_ends_its_stream_cleanly(
    idle_server: tuple[FastAPI, str],
) -> None:
    app, base = idle_server
    watch = app.state.payment_watch
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        tasks_before = len(asyncio.all_tasks())
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            await _next(events)
            assert watch.waiting_streams() == 1

        await eventually(_async(watch.waiting_streams), lambda n: n == 0)
        await eventually(
            _async(lambda: len(asyncio.all_tasks())), lambda n: n <= tasks_before
        )
        still_served = await http.get(f"/payments/{payment['id']}/", headers=headers)

    assert still_served.json()["status"] == "processing"


async def test_a_quiet_stream_sends_heartbeats(
    idle_server: tuple[FastAPI, str],
) -> None:
    app, base = idle_server
    watch = app.state.payment_watch
    watch.timings = replace(watch.timings, poll_seconds=60, heartbeat_seconds=0.2)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            first = await _next(events)
            beats = [await _next(events, timeout=5) for _ in range(2)]

    assert first[0] == "payment"
    assert beats == [("comment", "keep-alive")] * 2


async def test_a_stream_past_its_time_limit_ends_for_the_client_to_reconnect(
    idle_server: tuple[FastAPI, str],
) -> None:
    app, base = idle_server
    watch = app.state.payment_watch
    watch.timings = StreamTimings(poll_seconds=0.1, max_seconds=0.5)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with http.stream("GET", url, headers=headers) as response:
            events = _events(response)
            first = await _next(events)
            ended = await _ended(events)

    assert first[1]["status"] == "processing"
    assert ended


async def test_every_stream_of_a_process_shares_one_listen_connection(
    idle_server: tuple[FastAPI, str],
) -> None:
    app, base = idle_server
    watch = app.state.payment_watch
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers, payment = await _processing_payment(app, http)
        url = f"/payments/{payment['id']}/events/"
        async with (
            http.stream("GET", url, headers=headers) as one,
            http.stream("GET", url, headers=headers) as two,
        ):
            # Held in variables: a collected reader would close its response.
            events = [_events(one), _events(two)]
            for stream in events:
                await _next(stream)
            streams = watch.waiting_streams()
            listeners = await _listen_connections(app)

    assert streams == 2
    # SQLite has no notifications: its streams poll and nothing listens.
    expected = 0 if app.state.resources.settings.is_sqlite else 1
    assert (listeners, watch.listening) == (expected, bool(expected))


async def _listen_connections(app: FastAPI) -> int:
    engine = app.state.resources.engine
    if engine.dialect.name != "postgresql":
        return 0
    async with engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'ecommerce-payment-listen'"
        )
        return (await connection.execute(query)).scalar_one()


# --- announcing a change ------------------------------------------------------


async def test_an_announcement_is_sent_on_commit_and_is_a_no_op_on_sqlite(
    settings: Settings,
) -> None:
    engine = create_engine(settings)
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_rest: statements.append(statement),
    )
    try:
        heard = await _announce_while_listening(engine, payment_id=41)
    finally:
        await engine.dispose()

    if settings.is_sqlite:
        assert (statements, heard) == ([], [])
    else:
        assert [s for s in statements if "pg_notify" in s]
        assert heard == [("before commit", []), ("after commit", ["41"])]


async def _announce_while_listening(engine: Any, payment_id: int) -> list[Any]:
    """What a LISTEN connection had heard before and after the commit."""
    if engine.dialect.name != "postgresql":
        async with create_session_factory(engine)() as session, session.begin():
            await announce_payment_change(session, payment_id)
        return []
    import asyncpg

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(dsn)
    payloads: list[str] = []
    await listener.add_listener(
        "payment_status", lambda *args: payloads.append(args[3])
    )
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await announce_payment_change(session, payment_id)
            await asyncio.sleep(0.2)
            before = list(payloads)
        await eventually(_async(lambda: payloads), bool)
        return [("before commit", before), ("after commit", payloads)]
    finally:
        await listener.close()
