"""Domain errors and the one place that renders every error body.

    DomainError                 carries a stable `code`, an HTTP status, a message
     ├── NotFound               404 not_found
     ├── Forbidden              403 forbidden
     ├── NotAuthenticated       401 not_authenticated
     └── ...                    each area defines its own next to its service

Every error body is `{"detail": str, "code": str}`; a 422 adds
`"errors": [{"field": str, "message": str}]`.
"""

import logging
from enum import StrEnum
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.observability import printable

logger = logging.getLogger("app.errors")


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    FORBIDDEN = "forbidden"
    NOT_AUTHENTICATED = "not_authenticated"
    INTERNAL_ERROR = "internal_error"
    EMAIL_TAKEN = "email_taken"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    EMAIL_NOT_FOUND = "email_not_found"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    INSUFFICIENT_STOCK = "insufficient_stock"
    CURRENCY_MISMATCH = "currency_mismatch"
    CART_EMPTY = "cart_empty"
    ORDER_ALREADY_PAID = "order_already_paid"
    ORDER_NOT_PAYABLE = "order_not_payable"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    REQUEST_IN_PROGRESS = "request_in_progress"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    CART_CHANGED = "cart_changed"
    CONCURRENT_UPDATE = "concurrent_update"
    JOB_NOT_DEAD = "job_not_dead"
    INVALID_INPUT = "invalid_input"
    SERVICE_UNAVAILABLE = "service_unavailable"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_ATTEMPTS = "too_many_attempts"


class ErrorBody(BaseModel):
    detail: str
    code: str


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(ErrorBody):
    errors: list[FieldError]


class DomainError(Exception):
    """A rule of the shop was broken; the message is safe to show the client."""

    status_code: ClassVar[int] = 400
    code: ClassVar[ErrorCode]
    message: ClassVar[str]
    # The input a 422 blames, reported in its `errors` list.
    field: ClassVar[str] = ""

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.message
        self.extra = extra
        self.headers: dict[str, str] = {}
        super().__init__(self.detail)


class NotFound(DomainError):
    status_code = 404
    code = ErrorCode.NOT_FOUND
    message = "Not found"


class Forbidden(DomainError):
    status_code = 403
    code = ErrorCode.FORBIDDEN
    message = "You are not allowed to do this"


class NotAuthenticated(DomainError):
    status_code = 401
    code = ErrorCode.NOT_AUTHENTICATED
    message = "Not authenticated"


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for an endpoint, with one example per error code."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(error.status_code, []).append(error)
    return {
        status: {
            "model": ValidationErrorBody if status == 422 else ErrorBody,
            "description": ", ".join(e.code.value for e in group),
            "content": {
                "application/json": {
                    "examples": {
                        e.code.value: {"value": _example_body(e)} for e in group
                    }
                }
            },
        }
        for status, group in by_status.items()
    }


def _example_body(error: type[DomainError]) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message, "code": error.code.value}
    if error.status_code == 422:
        body["errors"] = [{"field": error.field, "message": error.message}]
    return body


def _json_error(status: int, detail: str, code: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"detail": detail, "code": code, **extra}, status_code=status, headers=headers
    )


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra = exc.extra
    if exc.status_code == 422 and "errors" not in extra:
        extra = {**extra, "errors": [{"field": exc.field, "message": exc.detail}]}
    response = _json_error(exc.status_code, exc.detail, exc.code, **extra)
    response.headers.update(exc.headers)
    return response


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "email") -> "email"; ("query", "limit") -> "limit"
    parts = [str(p) for p in location]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    return _json_error(
        422, detail or "Invalid request", ErrorCode.VALIDATION_ERROR, errors=errors
    )


_HTTP_CODES = {
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    response = _json_error(exc.status_code, str(exc.detail), code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


# SQLSTATEs of a transaction that lost a race and may simply be retried.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _sqlstate(exc: DBAPIError) -> str:
    return str(
        getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", "") or ""
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    sqlstate = _sqlstate(exc)
    if sqlstate in _RETRYABLE_SQLSTATES:
        logger.warning("request.conflict sqlstate=%s path=%s", sqlstate, _path(request))
        return _json_error(
            409,
            "The data changed while the request ran; retry",
            ErrorCode.CONCURRENT_UPDATE,
        )
    if sqlstate.startswith("22"):
        # Input validation should have caught it; say so in the log, not a 500.
        logger.warning(
            "request.data_rejected sqlstate=%s path=%s", sqlstate, _path(request)
        )
        return _json_error(
            422, "A value could not be stored", ErrorCode.INVALID_INPUT, errors=[]
        )
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return await _service_unavailable(request, exc)
    return await _unexpected_error(request, exc)


async def _service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "request.database_unavailable path=%s error=%s",
        _path(request),
        type(exc).__name__,
    )
    response = _json_error(
        503, "The service is briefly unavailable; retry", ErrorCode.SERVICE_UNAVAILABLE
    )
    response.headers["Retry-After"] = "5"
    return response


def _path(request: Request) -> str:
    return printable(request.url.path)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("request.failed method=%s path=%s", request.method, _path(request))
    return _json_error(500, "Internal server error", ErrorCode.INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    # Raised by drivers while connecting: the database is down or unreachable.
    app.add_exception_handler(OSError, _service_unavailable)
    app.add_exception_handler(TimeoutError, _service_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
