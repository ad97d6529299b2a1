"""Password reset: issue a single-use token by email, then trade it for a new password.

The database keeps only the fingerprint of a token. The raw token travels once,
sealed, in the job that mails it, and once more in the link the user clicks.
"""

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.schemas import normalize_email
from app.auth.service import change_password
from app.errors import DomainError, ErrorCode
from app.jobs import enqueue
from app.models import PasswordResetToken, User, utcnow
from app.password_reset.jobs import SEND_RESET_EMAIL
from app.resources import Resources
from app.security import PasswordHasher, fingerprint, new_opaque_token

logger = logging.getLogger("app.password_reset")

# Far longer than any token we issue; longer input is not worth hashing.
_MAX_TOKEN_LENGTH = 512


class EmailNotFound(DomainError):
    status_code = 404
    code = ErrorCode.EMAIL_NOT_FOUND
    message = "No account uses this email"


class ResetTokenInvalid(DomainError):
    code = ErrorCode.TOKEN_INVALID
    message = "This reset link is invalid or has already been used"


class ResetTokenExpired(DomainError):
    code = ErrorCode.TOKEN_EXPIRED
    message = "Token expired"


async def request_reset(
    session: AsyncSession, resources: Resources, email: str
) -> None:
    """Issue a reset token for the account and queue the email that carries it."""
    settings = resources.settings
    # Each request mails someone: cap them per address, known or not alike.
    resources.reset_requests.check(normalize_email(email))
    resources.reset_requests.record(normalize_email(email))
    query = select(User).where(User.email == normalize_email(email))
    user = await session.scalar(query)
    if user is None:
        if settings.password_reset_hide_unknown_email:
            logger.info("password_reset.unknown_email_hidden")
            return
        raise EmailNotFound()

    await _retire_open_tokens(session, user.id)
    token = new_opaque_token()
    lifetime = timedelta(seconds=settings.password_reset_token_ttl_seconds)
    reset = PasswordResetToken(
        user_id=user.id, token_hash=fingerprint(token), expires_at=utcnow() + lifetime
    )
    session.add(reset)
    await session.flush()

    payload = {"reset_id": reset.id, "token": resources.sealer.seal(token)}
    enqueue(session, SEND_RESET_EMAIL, payload, max_attempts=settings.job_max_attempts)
    logger.info("password_reset.requested user_id=%s reset_id=%s", user.id, reset.id)


async def confirm_reset(
    session: AsyncSession, hasher: PasswordHasher, token: str, new_password: str
) -> None:
    """Use up a live token and set the new password; every older session dies."""
    reset = await _find_reset(session, token)
    if reset is None or reset.used_at is not None:
        raise ResetTokenInvalid()
    if reset.expires_at <= utcnow():
        raise ResetTokenExpired()

    await _use_up(session, reset)
    user = await session.get(User, reset.user_id)
    if user is None:
        raise ResetTokenInvalid()
    await change_password(session, hasher, user, new_password)
    await _retire_open_tokens(session, user.id)
    logger.info("password_reset.completed user_id=%s reset_id=%s", user.id, reset.id)


async def _find_reset(session: AsyncSession, token: str) -> PasswordResetToken | None:
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    query = select(PasswordResetToken).where(
        PasswordResetToken.token_hash == fingerprint(token)
    )
    return await session.scalar(query)


async def _use_up(session: AsyncSession, reset: PasswordResetToken) -> None:
    # Guarded so that of two concurrent confirms with one token only one wins:
    # the loser's UPDATE sees used_at already set and matches no row.
    now = utcnow()
    result = await session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.id == reset.id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ResetTokenInvalid()


async def _retire_open_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.user_id == user_id,
            PasswordResetToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
