"""Database engine, sessions, and the one-transaction-per-request dependency."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

SessionFactory = async_sessionmaker[AsyncSession]

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


def create_reader_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for single-statement reads that need no transaction; never write.

    On PostgreSQL they run in autocommit: the read's own BEGIN and ROLLBACK are
    two round trips fewer, and one statement sees one snapshot anyway. The
    catalog cache reads with them, many times a second.
    """
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_session_factory(engine)


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
