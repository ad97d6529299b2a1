"""The background job that mails a reset link.

The job payload carries the token sealed (encrypted), never in clear: the jobs
table is read by operators and kept after the job is done.
"""

import html
import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PasswordResetToken, User, utcnow
from app.resources import Resources
from app.security import fingerprint

logger = logging.getLogger("app.password_reset")

SEND_RESET_EMAIL = "password_reset.send_email"

_SUBJECT = "Reset your password"


async def send_reset_email(resources: Resources, payload: dict[str, Any]) -> None:
    """Mail the link unless the token was used or superseded meanwhile."""
    reset_id = int(payload["reset_id"])
    token = resources.sealer.unseal(str(payload["token"]))
    if token is None:
        # Sealed under another secret key: retrying cannot help.
        logger.error("password_reset.email_unsealable reset_id=%s", reset_id)
        return

    async with resources.session_factory() as session:
        recipient = await _live_token_owner(session, reset_id, token)
    if recipient is None:
        logger.info("password_reset.email_skipped reset_id=%s", reset_id)
        return

    # An SMTP failure propagates so that the worker retries the job.
    await resources.mailer.send(_compose(resources, recipient, token))
    logger.info("password_reset.email_sent reset_id=%s", reset_id)


async def _live_token_owner(
    session: AsyncSession, reset_id: int, token: str
) -> str | None:
    """The owner's email, while the token is still unused and unexpired."""
    query = (
        select(User.email)
        .join(PasswordResetToken, PasswordResetToken.user_id == User.id)
        .where(
            PasswordResetToken.id == reset_id,
            PasswordResetToken.token_hash == fingerprint(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > utcnow(),
        )
    )
    return await session.scalar(query)


def _compose(resources: Resources, recipient: str, token: str) -> EmailMessage:
    settings = resources.settings
    link = reset_link(settings.password_reset_url, token)
    minutes = max(1, settings.password_reset_token_ttl_seconds // 60)
    text = (
        "Someone asked to reset the password of your shop account.\n\n"
        f"Choose a new password here (the link works once, for {minutes} minutes):\n"
        f"{link}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )
    page = (
        "<p>Someone asked to reset the password of your shop account.</p>"
        f'<p><a href="{html.escape(link)}">Choose a new password</a> '
        f"(the link works once, for {minutes} minutes).</p>"
        "<p>If it was not you, ignore this email: your password stays as it is.</p>"
    )
    return resources.mailer.compose(
        to=recipient, subject=_SUBJECT, text=text, html=page
    )


def reset_link(page_url: str, token: str) -> str:
    """The page URL with `token` added to whatever query it already has."""
    parts = urlsplit(page_url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("token", token)]
    return urlunsplit(parts._replace(query=urlencode(query)))
