"""Live payment status: `GET /payments/{id}/events/`, a Server-Sent Events stream.

The stream sends the payment at once, then every change, and ends when the
payment is final. It holds no database connection while it waits: each look at
the payment is a short session of its own, returned to the pool straight away.

How a stream learns that its payment changed, in whatever process the change
was made:

- PostgreSQL: the change is announced with `NOTIFY payment_status, '<id>'`
  (`announce_payment_change`, in the transaction that makes it, so it is
  delivered on commit). Each process keeps one `LISTEN` connection, opened on
  first use and shared by all its streams. A slow poll covers a notification
  missed while that connection was down.
- SQLite has no notifications: the stream polls, briefly and often.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import func, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import CurrentUser
from app.config import Settings
from app.db import SessionFactory
from app.errors import NotAuthenticated, NotFound, error_responses
from app.models import PaymentStatus
from app.payments import service
from app.payments.schemas import PaymentRead
from app.routing import ShopRouter

logger = logging.getLogger("app.payments")

CHANNEL = "payment_status"
EVENT_NAME = "payment"
HEARTBEAT = b": keep-alive\n\n"

# A failed LISTEN connection is tried again no sooner than this.
_RECONNECT_SECONDS = 5.0


async def announce_payment_change(session: AsyncSession, payment_id: int) -> None:
    """Wake every open stream of this payment, in any process, when `session` commits.

    Call it in the transaction that changes the payment's status. A no-op on
    SQLite, where streams poll.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(select(func.pg_notify(CHANNEL, str(payment_id))))


@dataclass(frozen=True)
class StreamTimings:
    poll_seconds: float
    heartbeat_seconds: float = 15.0
    # Proxies and phones drop long-lived responses; the client simply reconnects.
    max_seconds: float = 300.0


def default_timings(settings: Settings) -> StreamTimings:
    # With notifications the poll is only a safety net for a missed one.
    return StreamTimings(poll_seconds=0.5 if settings.is_sqlite else 2.0)


class PaymentWatch:
    """Which streams wait on which payment, woken by one shared LISTEN connection."""

    def __init__(self, database_url: str, timings: StreamTimings) -> None:
        self.timings = timings
        # None on SQLite: nothing to listen to, the streams poll.
        self._dsn = _asyncpg_dsn(database_url)
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._connection: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()
        self._next_attempt = 0.0

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    def waiting_streams(self) -> int:
        return sum(len(events) for events in self._waiters.values())

    @asynccontextmanager
    async def watch(self, payment_id: int) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a change of this payment is announced."""
        changed = asyncio.Event()
        self._waiters.setdefault(payment_id, set()).add(changed)
        try:
            await self.ensure_listening()
            yield changed
        finally:
            waiters = self._waiters.get(payment_id, set())
            waiters.discard(changed)
            if not waiters:
                self._waiters.pop(payment_id, None)

    async def ensure_listening(self) -> None:
        """Open the LISTEN connection if it is down; never raise (streams poll)."""
        if self._dsn is None or self.listening:
            return
        loop = asyncio.get_running_loop()
        async with self._connecting:
            if self.listening or loop.time() < self._next_attempt:
                return
            self._next_attempt = loop.time() + _RECONNECT_SECONDS
            try:
                self._connection = await _listen(self._dsn, self._notified)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                logger.warning(
                    "payment_events.listen_failed error=%s", type(exc).__name__
                )
                return
        logger.info("payment_events.listening channel=%s", CHANNEL)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close()

    def _notified(
        self, _connection: Any, _pid: int, _channel: str, payload: str
    ) -> None:
        try:
            payment_id = int(payload)
        except ValueError:
            return
        for changed in self._waiters.get(payment_id, ()):
            changed.set()


def _asyncpg_dsn(database_url: str) -> str | None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _listen(dsn: str, callback: Callable[..., None]) -> asyncpg.Connection:
    server_settings = {"application_name": "ecommerce-payment-listen"}
    connection = await asyncpg.connect(dsn, timeout=10, server_settings=server_settings)
    await connection.add_listener(CHANNEL, callback)
    return connection


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.resources.settings
    watch = PaymentWatch(settings.database_url, default_timings(settings))
    app.state.payment_watch = watch
    try:
        yield
    finally:
        await watch.close()


router = ShopRouter(tags=["payments"], lifespan=_lifespan)


@router.get(
    "/payments/{payment_id}/events/",
    response_class=StreamingResponse,
    status_code=status.HTTP_200_OK,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: payment` with the JSON of `GET /payments/{id}/`, "
            "at once and on every change; the stream ends when the payment is final",
        },
        **error_responses(NotAuthenticated, NotFound),
    },
)
async def payment_events(
    payment_id: int, user: CurrentUser, request: Request
) -> StreamingResponse:
    """Follow one of your payments live (Server-Sent Events) until it is final."""
    sessions: SessionFactory = request.app.state.resources.session_factory
    # The ownership check answers 404 before the stream starts.
    if await _read_payment(sessions, user.id, payment_id) is None:
        raise NotFound("Payment not found")

    logger.info("payment_events.opened payment_id=%s user_id=%s", payment_id, user.id)
    stream = _payment_stream(
        sessions, request.app.state.payment_watch, user.id, payment_id
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _read_payment(
    sessions: SessionFactory, user_id: int, payment_id: int
) -> PaymentRead | None:
    async with sessions() as session:
        try:
            payment = await service.get_payment(session, user_id, payment_id)
        except NotFound:
            return None
        return PaymentRead.model_validate(payment)


async def _payment_stream(
    sessions: SessionFactory, watch: PaymentWatch, user_id: int, payment_id: int
) -> AsyncIterator[bytes]:
    timings = watch.timings
    clock = asyncio.get_running_loop().time
    deadline = clock() + timings.max_seconds
    try:
        # Watch first, then read: a change committed in between still wakes us.
        async with watch.watch(payment_id) as changed:
            last = await _read_payment(sessions, user_id, payment_id)
            if last is not None:
                yield _payment_event(last)
            quiet_since = clock()
            while _in_progress(last) and clock() < deadline:
                heartbeat_due = quiet_since + timings.heartbeat_seconds
                await _wait(changed, min(timings.poll_seconds, heartbeat_due - clock()))
                changed.clear()
                await watch.ensure_listening()
                current = await _read_payment(sessions, user_id, payment_id)
                if current is not None and current != last:
                    yield _payment_event(current)
                    quiet_since = clock()
                elif clock() >= heartbeat_due:
                    yield HEARTBEAT
                    quiet_since = clock()
                last = current
    finally:
        logger.info("payment_events.closed payment_id=%s", payment_id)


def _in_progress(payment: PaymentRead | None) -> bool:
    return payment is not None and payment.status == PaymentStatus.PROCESSING


async def _wait(changed: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(max(seconds, 0.0)):
            await changed.wait()
    except TimeoutError:
        pass


def _payment_event(payment: PaymentRead) -> bytes:
    return f"event: {EVENT_NAME}\ndata: {payment.model_dump_json()}\n\n".encode()
