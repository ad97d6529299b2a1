from typing import Any

from app.resources import Resources

SEND_RESET_EMAIL = "password_reset.send_email"


async def send_reset_email(resources: Resources, payload: dict[str, Any]) -> None:
    raise NotImplementedError
