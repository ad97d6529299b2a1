import asyncio
import logging
import sys
from collections.abc import Callable

import httpx
import pytest
import uvloop
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.helpers import LogLines


async def test_healthz_answers_when_the_process_is_up(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200


async def test_unknown_path_gets_a_json_error_with_a_code(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "code": "not_found"}


async def test_client_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"


# How the process runs under load (README, "Benchmark").


async def test_the_gil_is_handed_over_often_while_the_app_runs(
    settings: Settings,
) -> None:
    before = sys.getswitchinterval()
    application = create_app(settings.model_copy(update={"run_worker": False}))

    async with LifespanManager(application):
        during = sys.getswitchinterval()

    assert during == pytest.approx(0.0005)
    assert sys.getswitchinterval() == before


def _start_and_stop(application: FastAPI, loop: asyncio.AbstractEventLoop) -> None:
    async def lifespan() -> None:
        async with LifespanManager(application):
            pass

    try:
        loop.run_until_complete(lifespan())
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("new_loop", "warned"),
    [(uvloop.new_event_loop, True), (asyncio.new_event_loop, False)],
)
def test_a_start_under_uvloop_is_logged_as_a_warning(
    settings: Settings,
    new_loop: Callable[[], asyncio.AbstractEventLoop],
    warned: bool,
) -> None:
    application = create_app(settings.model_copy(update={"run_worker": False}))
    records = LogLines()
    logging.getLogger("app").addHandler(records)
    try:
        _start_and_stop(application, new_loop())
    finally:
        logging.getLogger("app").removeHandler(records)

    warnings = [line for line in records.lines if line.startswith("app.event_loop")]
    assert warnings == (
        ["app.event_loop loop=uvloop advice=uvicorn_--loop_asyncio"] if warned else []
    )
