"""The whole journey against `uvicorn --workers 2`: state lives in the database."""

import os
import subprocess
import sys
from email.message import EmailMessage

import httpx

from app.config import Settings
from tests.conftest import PASSWORD, ROOT
from tests.helpers import bearer, served, service_environment, unique_email
from tests.test_end_to_end import shop_journey


async def test_the_journey_passes_on_two_worker_processes(
    settings: Settings, clean_database: None, mailbox: list[EmailMessage]
) -> None:
    database_url = settings.database_url
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

    env = service_environment(settings)
    async with (
        served(env, "--workers", "2") as server,
        httpx.AsyncClient(base_url=server, timeout=10) as client,
    ):
        login = await client.post(
            "/login/", json={"email": email, "password": PASSWORD}
        )
        orders = await shop_journey(client, bearer(login.json()), mailbox)

    assert [order["status"] for order in orders] == ["paid"]
