"""Logging with a request id on every line, and the middleware that sets it."""

import logging
import os
import random
import re
import time
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s"

access_logger = logging.getLogger("app.access")
# Request ids only tell log lines apart (a client may send its own), so they
# need no secrecy, and uuid4's system call for fresh randomness cost 5% of a
# cached catalog answer. A forked worker draws a sequence of its own.
_request_ids = random.Random()
os.register_at_fork(after_in_child=_request_ids.seed)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(_RequestIdFilter())
    app_logger = logging.getLogger("app")
    app_logger.handlers = [handler]
    app_logger.setLevel(level.upper())
    app_logger.propagate = False


def printable(text: str) -> str:
    """Text safe for one log line: control characters become escapes."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def new_request_id() -> str:
    return f"{_request_ids.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Tag each request with an id (the client's `X-Request-ID` if sane)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_logger.info(
                "request.done method=%s path=%s status=%s duration_ms=%.1f",
                scope["method"],
                printable(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.fullmatch(candidate) else None
    return None
