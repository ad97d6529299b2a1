from typing import Any

from app.resources import Resources

CHARGE_PAYMENT = "payments.charge"


async def charge_payment(resources: Resources, payload: dict[str, Any]) -> None:
    raise NotImplementedError
