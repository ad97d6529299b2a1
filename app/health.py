"""Liveness and readiness probes."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

logger = logging.getLogger("app.health")

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers; take traffic."""
    engine = request.app.state.resources.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("readyz.database_down error=%s", type(exc).__name__)
        return JSONResponse(
            {"detail": "Database unavailable", "code": "database_unavailable"},
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
