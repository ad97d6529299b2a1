"""The project as newcomers and operators meet it: CLI, migrations, settings, image."""

import os
import re
import subprocess
import sys
import tomllib

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, inspect, text

from app.config import Environment, Settings
from app.db import create_engine
from tests.conftest import PASSWORD, ROOT
from tests.helpers import unique_email


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_seed_demo_fills_an_empty_catalog_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = _cli(database_url, "seed-demo")
    second = _cli(database_url, "seed-demo")

    assert first.returncode == 0, first.stderr
    assert "24 products added" in first.stdout
    assert "nothing added" in second.stdout
    catalog = (await client.get("/products/", params={"limit": 100})).json()
    assert catalog["total"] == 24
    assert all(isinstance(p["price"], int) for p in catalog["items"])


async def test_create_superuser_makes_a_staff_account_that_can_log_in(
    client: httpx.AsyncClient, database_url: str
) -> None:
    email = unique_email("admin")

    result = _cli(
        database_url, "create-superuser", "--email", email, "--password", PASSWORD
    )

    assert result.returncode == 0, result.stderr
    login = await client.post("/login/", json={"email": email, "password": PASSWORD})
    me = await client.get(
        "/me/", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["is_staff"] is True


def test_create_superuser_refuses_a_short_password(database_url: str) -> None:
    result = _cli(
        database_url,
        "create-superuser",
        "--email",
        unique_email(),
        "--password",
        "short",
    )

    assert result.returncode == 2
    assert "8 to 128" in result.stderr


def test_create_superuser_refuses_a_malformed_email(database_url: str) -> None:
    result = _cli(
        database_url,
        "create-superuser",
        "--email",
        "not-an-email",
        "--password",
        PASSWORD,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


def test_migrations_and_models_agree(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def _product_indexes(connection: Connection) -> set[str]:
    indexes = inspect(connection).get_indexes("products")
    return {index["name"] or "" for index in indexes}


async def test_name_search_has_a_trigram_index_on_postgresql_only(
    settings: Settings,
) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(_product_indexes)
            definition = None
            if engine.dialect.name == "postgresql":
                definition = await connection.scalar(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": "ix_products_name_trigrams"},
                )
    finally:
        await engine.dispose()

    on_postgresql = engine.dialect.name == "postgresql"
    assert ("ix_products_name_trigrams" in indexes) is on_postgresql
    assert "ix_products_name" in indexes
    if on_postgresql:
        assert definition is not None and "USING gin (name gin_trgm_ops)" in definition


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, environment=Environment.PRODUCTION, smtp_host="mail")


def test_production_refuses_to_write_emails_to_the_log() -> None:
    with pytest.raises(ValidationError, match="SMTP_HOST"):
        Settings(
            _env_file=None, environment=Environment.PRODUCTION, secret_key="x" * 40
        )


def test_a_bad_setting_names_its_variable() -> None:
    with pytest.raises(ValidationError, match="access_token_ttl_seconds"):
        Settings(_env_file=None, access_token_ttl_seconds="soon")


def test_dockerfile_matches_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    makefile = (ROOT / "Makefile").read_text()

    base = re.search(r"^FROM python:(\d+\.\d+)-slim", dockerfile, re.MULTILINE)
    assert base, "a slim Python base image"
    assert project["requires-python"] == f">={base.group(1)}"
    assert "uvicorn app.main:app" in dockerfile and "uvicorn app.main:app" in makefile
    assert "alembic upgrade head" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE), "a non-root user"
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", dockerfile, re.MULTILINE)
    assert '--port \\"$PORT' in dockerfile
    # uvicorn's access log would write query strings, reset tokens included.
    assert "--no-access-log" in dockerfile and "--no-access-log" in makefile
    assert "--loop asyncio" in dockerfile and "--loop asyncio" in makefile
    # The dependency layer comes before the application code, so it stays cached.
    assert dockerfile.index("pip install -r") < dockerfile.index("COPY app ")
