"""Liveness and readiness probes."""

import asyncio
import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.routing import ShopRouter

logger = logging.getLogger("app.health")

_PROBE_TIMEOUT_SECONDS = 3

router = ShopRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers; take traffic."""
    engine = request.app.state.resources.engine
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("readyz.database_down error=%s", type(exc).__name__)
        return JSONResponse(
            {"detail": "Database unavailable", "code": "database_unavailable"},
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
