"""Small helpers shared by the tests: accounts, products, waiting."""

import asyncio
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from app.config import Settings
from tests.conftest import PASSWORD, ROOT, free_port

T = TypeVar("T")


def unique_email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/register/", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post("/login/", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def shopper(
    client: httpx.AsyncClient, email: str | None = None
) -> dict[str, str]:
    """Register a new shopper and return their auth headers."""
    email = email or unique_email()
    await register(client, email)
    return bearer(await login(client, email))


async def staff(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """A staff account made the way `python -m app create-superuser` makes one."""
    from app.auth.service import ensure_superuser

    email = unique_email("staff")
    resources = app.state.resources
    async with resources.session_factory() as session, session.begin():
        await ensure_superuser(
            session, resources.hasher, email=email, password=PASSWORD
        )
    return bearer(await login(client, email))


async def create_product(
    client: httpx.AsyncClient, staff_headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {
        "name": f"Product {uuid.uuid4().hex[:6]}",
        "price": 1999,
        "stock": 10,
        **fields,
    }
    response = await client.post("/products/", json=body, headers=staff_headers)
    assert response.status_code == 201, response.text
    return response.json()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    timeout: float = 10.0,
) -> T:
    """Call `probe` until `accept` holds for its result, or fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if accept(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting; last result: {result!r}")
        await asyncio.sleep(0.05)


def service_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """Environment for the service in a process of its own, as these tests run it."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "test",
        "SMTP_HOST": settings.smtp_host or "",
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_STARTTLS": "false",
        "JOB_POLL_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def served(
    env: dict[str, str], *uvicorn_args: str, port: int | None = None
) -> AsyncIterator[str]:
    """The app under uvicorn as deployed, on loopback, once it answers /readyz."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "app.main:app", "--no-access-log"),
        *("--loop", "asyncio"),
        *("--host", "127.0.0.1", "--port", str(port), *uvicorn_args),
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            await eventually(lambda: _ready(http), bool, timeout=30)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


class LogLines(logging.Handler):
    """Keeps the message of every record it is given, for a test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def statements_run(app: FastAPI) -> Iterator[list[str]]:
    """The SQL the app's engines (requests' and cache reads') run meanwhile."""
    seen: list[str] = []
    resources = app.state.resources
    engines = {resources.engine.sync_engine, resources.reader_engine.sync_engine}

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)
