"""Outgoing email: real SMTP when `SMTP_HOST` is set, else the log (development)."""

import logging
from email.message import EmailMessage

import aiosmtplib

from app.config import Settings

logger = logging.getLogger("app.mail")


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def compose(
        self, *, to: str, subject: str, text: str, html: str | None = None
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
        return message

    async def send(self, message: EmailMessage) -> None:
        settings = self._settings
        if not settings.smtp_host:
            # Development only: settings refuse production without SMTP_HOST.
            logger.info(
                "mail.logged to=%s subject=%r text=%r",
                message["To"],
                message["Subject"],
                message.get_body(("plain",)).get_content(),
            )
            return
        password = (
            settings.smtp_password.get_secret_value()
            if settings.smtp_password
            else None
        )
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
        logger.info("mail.sent to=%s subject=%r", message["To"], message["Subject"])
