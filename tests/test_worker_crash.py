"""A worker process killed mid-charge: its job is taken again after the lease."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.models import Job, JobStatus, utcnow
from app.worker import build_worker
from tests.conftest import ROOT
from tests.helpers import create_product, eventually, shopper, staff

LEASE_SECONDS = 5


@pytest.fixture
async def silent_gateway() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A gateway that accepts the connection and never answers."""
    called = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def swallow(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        held.append(writer)
        called.set()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, called
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def _job(app: FastAPI) -> Job:
    async with app.state.resources.session_factory() as session:
        return (
            await session.scalars(select(Job).where(Job.name == "payments.charge"))
        ).one()


async def test_a_killed_workers_charge_completes_once_after_the_lease(
    paused_app: FastAPI,
    paused_client: httpx.AsyncClient,
    settings: Settings,
    silent_gateway: tuple[int, asyncio.Event],
) -> None:
    client = paused_client
    buyer = await shopper(client)
    product = await create_product(client, await staff(paused_app, client))
    await client.post(
        "/cart/items/", json={"product_id": product["id"], "quantity": 1}, headers=buyer
    )
    order = (await client.post("/checkout/", headers=buyer)).json()
    payment = (
        await client.post(
            "/payments/",
            json={"order_id": order["id"], "payment_method": "pm_card_visa"},
            headers=buyer,
        )
    ).json()
    gateway_port, gateway_called = silent_gateway

    doomed = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "PAYMENT_GATEWAY_TIMEOUT_SECONDS": "120",
            "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "JOB_POLL_SECONDS": "0.1",
            "LOG_LEVEL": "WARNING",
        },
    )
    try:
        await asyncio.wait_for(gateway_called.wait(), 30)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

    claimed = await _job(paused_app)
    assert claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    survivor = build_worker(paused_app.state.resources)
    assert not await survivor.run_once(), "the lease still protects the job"

    await asyncio.sleep(
        max(0.0, (claimed.locked_until - utcnow()).total_seconds()) + 0.2
    )
    assert await survivor.run_until_idle() == 1

    done = await _job(paused_app)
    assert done.status == JobStatus.DONE and done.attempts == 2
    settled = await eventually(
        lambda: client.get(f"/payments/{payment['id']}/", headers=buyer),
        lambda r: r.json()["status"] != "processing",
    )
    assert settled.json()["status"] == "succeeded"
    assert (await client.get(f"/orders/{order['id']}/", headers=buyer)).json()[
        "status"
    ] == "paid"
