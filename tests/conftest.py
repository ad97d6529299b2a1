"""Test fixtures: a real database, a real SMTP server, the app over ASGI.

The suite runs on SQLite by default. With `TEST_DATABASE_URL` pointing at a
PostgreSQL server (`postgresql+asyncpg://user@host:port/any`), it creates a
database of its own there, migrates it, and drops it at the end.
"""

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Environment, Settings
from app.db import create_engine
from app.main import create_app
from app.models import Base, CatalogStamp
from app.worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


async def _postgres_admin(server_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        _migrate(url)
        yield url
        return
    name = f"shop_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        asyncio.run(_postgres_admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


class _Inbox:
    """Collects what the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(
            message_from_bytes(envelope.content, policy=policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[int, _Inbox]) -> list[EmailMessage]:
    _port, inbox = smtp_server
    inbox.messages.clear()
    return inbox.messages


@pytest.fixture
def settings(database_url: str, smtp_server: tuple[int, _Inbox]) -> Settings:
    port, _inbox = smtp_server
    return Settings(
        _env_file=None,
        environment=Environment.TEST,
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        password_reset_url="http://shop.test/reset-password",
        job_poll_seconds=0.05,
        log_level="WARNING",
    )


async def _empty_all_tables(engine: AsyncEngine) -> None:
    # The catalog stamp's one row is schema, not test data (and SQLite only).
    tables = [
        table.name
        for table in reversed(Base.metadata.sorted_tables)
        if table is not CatalogStamp.__table__
    ]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(
                text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            )
        else:
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
async def clean_database(settings: Settings) -> None:
    """An empty database, emptied before any worker of the test starts."""
    engine = create_engine(settings)
    try:
        await _empty_all_tables(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def app(settings: Settings, clean_database: None) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def paused_app(
    settings: Settings, clean_database: None
) -> AsyncIterator[FastAPI]:
    """The app with no background worker: jobs wait until a test runs them."""
    application = create_app(settings.model_copy(update={"run_worker": False}))
    async with LifespanManager(application):
        yield application
        # Leave no queued job behind for the next test's worker.
        await build_worker(application.state.resources).run_until_idle()


@pytest.fixture
async def paused_client(paused_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=paused_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
