"""The FastAPI application: `uvicorn app.main:app`."""

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import health
from app.admin.router import router as admin_router
from app.auth.router import router as auth_router
from app.cart.router import router as cart_router
from app.catalog.router import router as catalog_router
from app.checkout.router import router as checkout_router
from app.config import Settings, get_settings
from app.docs import install_docs
from app.errors import install_error_handlers
from app.jobs import Worker
from app.limits import BodySizeLimitMiddleware
from app.observability import RequestIdMiddleware, configure_logging
from app.openapi import install_openapi
from app.password_reset.router import router as password_reset_router
from app.payments.events import router as payment_events_router
from app.payments.router import router as payments_router
from app.resources import Resources
from app.web_client import mount_client
from app.worker import build_worker

logger = logging.getLogger("app")

# Each time the event loop lets go of the GIL (every socket write), a thread
# reading the database for the catalog cache may take it for up to the
# interpreter's default 5 ms, and every request waits. At 0.5 ms the catalog
# served 20-30% more searches and product pages under load (`make bench`).
_SWITCH_INTERVAL_SECONDS = 0.0005


def _check_event_loop() -> None:
    # Under uvloop, reads that refresh the catalog cache waited behind the
    # traffic until their answers expired (p99 above 100 ms in `make bench`).
    if type(asyncio.get_running_loop()).__module__.startswith("uvloop"):
        logger.warning("app.event_loop loop=uvloop advice=uvicorn_--loop_asyncio")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _check_event_loop()
        resources = Resources.open(settings)
        worker: Worker | None = build_worker(resources) if settings.run_worker else None
        app.state.resources = resources
        app.state.worker = worker
        if worker is not None:
            worker.start()
        # Everything built at start-up lives as long as the process: keep it out
        # of the collector's full passes, which otherwise pause every request.
        gc.collect()
        gc.freeze()
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)
        logger.info("app.started environment=%s", settings.environment)
        try:
            yield
        finally:
            sys.setswitchinterval(switch_interval)
            if worker is not None:
                await worker.stop()
            await resources.close()
            gc.unfreeze()

    app = FastAPI(
        title="ecommerce-payment",
        version="0.1.0",
        summary="Accounts, catalog, cart, checkout and payments for a mobile shop.",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    # Routes are matched in order: the catalog, read a hundred times for every
    # checkout, comes first.
    for router in (
        catalog_router,
        health.router,
        auth_router,
        password_reset_router,
        cart_router,
        checkout_router,
        payments_router,
        payment_events_router,
        admin_router,
    ):
        app.include_router(router)
    mount_client(app)
    return app


app = create_app()
