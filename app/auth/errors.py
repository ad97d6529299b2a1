"""Errors of the auth area."""

from app.errors import DomainError, ErrorCode


class EmailTaken(DomainError):
    status_code = 409
    code = ErrorCode.EMAIL_TAKEN
    message = "An account with this email already exists"


class InvalidCredentials(DomainError):
    status_code = 401
    code = ErrorCode.INVALID_CREDENTIALS
    # One message for an unknown email and a wrong password: it must not tell which.
    message = "Incorrect email or password"


class InvalidToken(DomainError):
    status_code = 401
    code = ErrorCode.INVALID_TOKEN
    message = "Invalid or expired refresh token"
