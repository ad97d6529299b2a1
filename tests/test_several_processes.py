"""The whole journey against `uvicorn --workers 2`: state lives in the database."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from app.config import Settings
from tests.conftest import PASSWORD, ROOT, free_port
from tests.helpers import bearer, eventually, unique_email
from tests.test_end_to_end import shop_journey


@pytest.fixture
def server(settings: Settings, clean_database: None) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "test",
        "SMTP_HOST": settings.smtp_host or "",
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_STARTTLS": "false",
        "JOB_POLL_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


async def _ready(client: httpx.AsyncClient) -> int:
    try:
        return (await client.get("/readyz")).status_code
    except httpx.TransportError:
        return 0


async def test_the_journey_passes_on_two_worker_processes(
    server: str, database_url: str, mailbox: list[EmailMessage]
) -> None:
    email = unique_email("staff")
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "create-superuser",
            "--email",
            email,
            "--password",
            PASSWORD,
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr

    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        await eventually(
            lambda: _ready(client), lambda status: status == 200, timeout=30
        )
        login = await client.post(
            "/login/", json={"email": email, "password": PASSWORD}
        )
        await shop_journey(client, bearer(login.json()), mailbox)
