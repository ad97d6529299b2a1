"""`Idempotency-Key` for requests that create things (checkout, payment).

The record is inserted in the request's own transaction, before any work, so
the work and the stored answer commit or vanish together. A concurrent twin
blocks on the unique (user, key) row until the first transaction ends, then
replays its answer: two racing requests create one thing. A request that
failed with a domain error changed nothing and stored nothing, so sending it
again runs it again. Records are kept for `IDEMPOTENCY_TTL_SECONDS` (24 h).
"""

import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import CurrentUser
from app.db import SessionDep, SessionFactory, upsert_insert
from app.deps import SettingsDep
from app.errors import DomainError, ErrorCode
from app.models import IdempotencyRecord, utcnow

logger = logging.getLogger("app.idempotency")

_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    message = "This Idempotency-Key was already used with a different request"
    field = "Idempotency-Key"


class RequestInProgress(DomainError):
    status_code = 409
    code = ErrorCode.REQUEST_IN_PROGRESS
    message = (
        "A request with this Idempotency-Key is still being processed; retry shortly"
    )


class InvalidIdempotencyKey(DomainError):
    status_code = 400
    code = ErrorCode.INVALID_IDEMPOTENCY_KEY
    message = "Idempotency-Key must be 1 to 255 printable ASCII characters"


class Idempotency:
    """What the endpoint needs: a stored answer to replay, or a place to store one."""

    def __init__(
        self, session: AsyncSession, record_id: int | None, replay: JSONResponse | None
    ):
        self._session = session
        self._record_id = record_id
        self.replay = replay

    async def respond(self, status_code: int, model: BaseModel) -> JSONResponse:
        body = model.model_dump(mode="json")
        if self._record_id is not None:
            await self._session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == self._record_id)
                .values(response_status=status_code, response_body=body)
            )
        return JSONResponse(body, status_code=status_code)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("latin-1")
    material = f"{method} {path.rstrip('/')}\n{canonical if body else ''}"
    return hashlib.sha256(material.encode()).hexdigest()


async def _idempotency(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Any unique string (a UUID) per intended action; a retry "
            "with the same key and body returns the first answer.",
            examples=["7c8e4f5e-4e0b-4d43-9d1a-2f1f8c3f3c11"],
        ),
    ] = None,
) -> Idempotency:
    if idempotency_key is None:
        return Idempotency(session, None, None)
    if not _KEY_PATTERN.match(idempotency_key):
        raise InvalidIdempotencyKey()
    fingerprint = request_fingerprint(
        request.method, request.url.path, await request.body()
    )
    ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
    record_id = await _claim(session, user.id, idempotency_key, fingerprint, ttl)
    if record_id is not None:
        return Idempotency(session, record_id, None)
    return Idempotency(
        session,
        None,
        await _stored_answer(session, user.id, idempotency_key, fingerprint),
    )


async def _claim(
    session: AsyncSession, user_id: int, key: str, fingerprint: str, ttl: timedelta
) -> int | None:
    """Insert the record; None when the key is already taken (and committed)."""
    now = utcnow()
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at < now,
        )
    )
    insert = upsert_insert(session)
    statement = (
        insert(IdempotencyRecord)
        .values(
            user_id=user_id,
            key=key,
            request_fingerprint=fingerprint,
            created_at=now,
            expires_at=now + ttl,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyRecord.id)
    )
    try:
        return (await session.execute(statement)).scalar_one_or_none()
    except DBAPIError as exc:
        # The twin's transaction held the row past the lock or statement timeout.
        logger.warning(
            "idempotency.wait_timeout user_id=%s error=%s",
            user_id,
            type(exc.orig).__name__,
        )
        raise RequestInProgress() from exc


async def _stored_answer(
    session: AsyncSession, user_id: int, key: str, fingerprint: str
) -> JSONResponse:
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None or record.response_status is None:
        raise RequestInProgress()
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    logger.info("idempotency.replayed user_id=%s record_id=%s", user_id, record.id)
    return JSONResponse(
        record.response_body,
        status_code=record.response_status,
        headers={_REPLAYED_HEADER: "true"},
    )


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]


# For the `responses=` of endpoints that take the header.
IDEMPOTENCY_ERRORS = (IdempotencyKeyReused, RequestInProgress, InvalidIdempotencyKey)


async def purge_expired(sessions: SessionFactory) -> int:
    """Delete records past their time; run periodically by every worker."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow())
        )
    if result.rowcount:
        logger.info("idempotency.purged records=%s", result.rowcount)
    return result.rowcount
