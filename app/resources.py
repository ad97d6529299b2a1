"""The long-lived objects a process shares: engine, hashers, mailer, gateway."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.cache import CatalogCache, register_cache, unregister_cache
from app.catalog.stamp import stamp_reader
from app.config import Settings
from app.db import (
    SessionFactory,
    create_engine,
    create_reader_engine,
    create_session_factory,
)
from app.mail import Mailer
from app.payments.gateway import PaymentGateway, create_gateway
from app.security import AccessTokens, PasswordHasher, Sealer
from app.throttle import Throttle


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: SessionFactory
    # Single-statement reads outside any request's transaction (catalog cache).
    reader_engine: AsyncEngine
    reader_sessions: SessionFactory
    catalog_cache: CatalogCache
    hasher: PasswordHasher
    access_tokens: AccessTokens
    sealer: Sealer
    mailer: Mailer
    gateway: PaymentGateway
    login_failures: Throttle
    reset_requests: Throttle

    @classmethod
    def open(cls, settings: Settings) -> "Resources":
        engine = create_engine(settings)
        reader_engine = create_reader_engine(settings, engine)
        reader_sessions = create_session_factory(reader_engine)
        catalog_cache = CatalogCache(
            settings.catalog_cache_seconds,
            stamp_reader=stamp_reader(engine, reader_sessions),
        )
        return cls(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            reader_engine=reader_engine,
            reader_sessions=reader_sessions,
            catalog_cache=register_cache(engine.sync_engine, catalog_cache),
            hasher=PasswordHasher(settings),
            access_tokens=AccessTokens(settings),
            sealer=Sealer(settings),
            mailer=Mailer(settings),
            gateway=create_gateway(settings),
            login_failures=Throttle(
                settings.login_max_failures, settings.login_failure_window_seconds
            ),
            reset_requests=Throttle(
                settings.password_reset_max_requests,
                settings.password_reset_window_seconds,
            ),
        )

    async def close(self) -> None:
        # The cache's stamp reader holds the engine: the registry would keep both.
        unregister_cache(self.engine.sync_engine)
        await self.gateway.aclose()
        if self.reader_engine is not self.engine:
            await self.reader_engine.dispose()
        await self.engine.dispose()
