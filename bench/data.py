"""The benchmark's database: a migrated schema, N products and N shoppers."""

import asyncio
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.models import Product, User
from app.security import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 1"
MAX_STOCK = 1_000_000

# Search terms are drawn from these words, so each one matches a known share
# of the catalog (a colour about 1/12, a material about 1/10).
COLOURS = [
    "red",
    "blue",
    "green",
    "black",
    "white",
    "amber",
    "grey",
    "olive",
    "navy",
    "coral",
    "ivory",
    "teal",
]
MATERIALS = [
    "ceramic",
    "steel",
    "oak",
    "glass",
    "linen",
    "cotton",
    "copper",
    "bamboo",
    "leather",
    "wool",
]
THINGS = [
    "mug",
    "kettle",
    "plate",
    "bowl",
    "jar",
    "tray",
    "lamp",
    "vase",
    "spoon",
    "cup",
    "basket",
    "candle",
    "towel",
    "clock",
    "board",
    "bottle",
]
SEARCH_TERMS = COLOURS + MATERIALS + THINGS


@dataclass(frozen=True)
class BenchData:
    database_url: str
    products: int
    users: int

    def email(self, index: int) -> str:
        return user_email(index)


def user_email(index: int) -> str:
    return f"bench-{index:05d}@example.com"


def _product_rows(count: int, currency: str) -> Iterator[dict[str, object]]:
    chooser = random.Random(20_000)
    for number in range(1, count + 1):
        colour, material = chooser.choice(COLOURS), chooser.choice(MATERIALS)
        thing = chooser.choice(THINGS)
        yield {
            "name": f"{colour.title()} {material} {thing} {number:05d}",
            "description": f"A {colour} {thing} made of {material}, item {number}.",
            "price": chooser.randrange(100, 20_000),
            "currency": currency,
            "stock": MAX_STOCK,
        }


def _user_rows(count: int, password_hash: str) -> Iterator[dict[str, object]]:
    # Every bench user has the same password, hashed once: 1,000 argon2 hashes
    # would take longer than the benchmark itself.
    for index in range(count):
        yield {"email": user_email(index), "password_hash": password_hash}


def migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"alembic upgrade head failed:\n{done.stderr[-2000:]}")


async def _fill(database_url: str, products: int, users: int) -> None:
    settings = Settings(_env_file=None, database_url=database_url)
    password_hash = await PasswordHasher(settings).hash(PASSWORD)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            rows = list(_product_rows(products, settings.currency))
            for start in range(0, len(rows), 1000):
                await connection.execute(insert(Product), rows[start : start + 1000])
            await connection.execute(
                insert(User), list(_user_rows(users, password_hash))
            )
        # The database as autovacuum leaves it in service: planner statistics
        # (without them a deep page costs five times as much) and, on
        # PostgreSQL, the trigram index's pending entries merged (until then
        # the planner scans the table, and a search costs ten times as much).
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM"))
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def build(database_url: str, *, products: int, users: int) -> BenchData:
    """Migrate an empty database and fill it."""
    migrate(database_url)
    asyncio.run(_fill(database_url, products, users))
    return BenchData(database_url=database_url, products=products, users=users)


async def _postgres_admin(server_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def check_postgres(server_url: str) -> str | None:
    """Why the benchmark cannot use that server, or None if it can."""
    try:
        url = make_url(server_url)
    except ArgumentError as error:
        return str(error)
    if url.drivername != "postgresql+asyncpg":
        return "use a postgresql+asyncpg:// URL"
    import asyncpg

    try:
        asyncio.run(_postgres_admin(server_url, "SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return f"cannot connect ({type(error).__name__}: {error})"
    return None


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh `bench_<random>` database on that server, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(server_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(_postgres_admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    """A fresh SQLite file in `folder`, removed afterwards."""
    path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite+aiosqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
