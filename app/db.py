"""Database engine, sessions, and the one-transaction-per-request dependency."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

SessionFactory = async_sessionmaker[AsyncSession]
T = TypeVar("T")

_CONNECT_TIMEOUT_SECONDS = 5


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        return _create_sqlite_engine(settings.database_url)
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        isolation_level=settings.db_isolation_level,
        connect_args=_postgres_connect_args(settings),
        # Failed statements are logged; their parameters may be hashes or emails.
        hide_parameters=True,
    )


def create_reader_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """The engine for single-statement reads that need no transaction; never write.

    On PostgreSQL it has a small pool of its own, in autocommit (a read's own
    BEGIN and ROLLBACK would be two round trips more, and one statement sees
    one snapshot anyway) and without a ping at checkout (one more): the
    catalog cache reads with it many times a second, on an event loop where
    every round trip waits its turn. A connection that died is noticed by the
    read that uses it (see `retry_once_if_disconnected`). SQLite reads share
    `engine`.
    """
    if settings.is_sqlite:
        return engine
    size = max(2, settings.db_pool_size // 2)
    return create_async_engine(
        settings.database_url,
        pool_size=size,
        max_overflow=size,
        isolation_level="AUTOCOMMIT",
        connect_args=_postgres_connect_args(settings),
        hide_parameters=True,
    )


async def retry_once_if_disconnected(read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, once more if the database connection it used had died.

    The pool then drops its other connections too, so the second read
    connects afresh (after a database restart, say).
    """
    try:
        return await read()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return await read()


def _postgres_connect_args(settings: Settings) -> dict[str, Any]:
    server_settings = {"application_name": "ecommerce-payment"}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    # A database that does not answer fails fast instead of hanging requests.
    return {"server_settings": server_settings, "timeout": _CONNECT_TIMEOUT_SECONDS}


def _create_sqlite_engine(url: str) -> AsyncEngine:
    # A busy timeout makes concurrent writers wait for the lock instead of failing.
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if ":memory:" not in url:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def upsert_insert(session: AsyncSession) -> Any:
    """The `insert()` with ON CONFLICT support for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Commit when the endpoint returns, roll back when it raises."""
    factory: SessionFactory = request.app.state.resources.session_factory
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    worker = request.app.state.worker
    if worker is not None:
        worker.wake_if_enqueued(session)


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
