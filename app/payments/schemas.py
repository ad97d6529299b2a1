"""Payment requests and answers; the amount always comes from the order."""

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.inputs import RecordId, RequestModel


def _not_a_card_number(token: str) -> str:
    # A run of 12+ digits is shaped like a card number: refuse it unstored.
    if re.search(r"\d{12}", token):
        raise ValueError("must be a gateway token, not a card number")
    return token


# A token the gateway issued for the card; the shop never sees card numbers.
PaymentMethodToken = Annotated[
    str,
    AfterValidator(_not_a_card_number),
    Field(
        pattern=r"^pm_[A-Za-z0-9_]{1,96}$",
        description="A gateway payment method token, never a card number",
        examples=["pm_card_visa"],
    ),
]


class PaymentCreate(RequestModel):
    # Forbid unknown fields: an `amount` sent by a client is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    order_id: RecordId
    payment_method: PaymentMethodToken


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    status: str = Field(examples=["processing", "succeeded", "failed"])
    amount: int = Field(description="Minor units, the order's total")
    currency: str = Field(examples=["USD"])
    payment_method: str
    failure_code: str | None = Field(examples=["generic_decline"])
    failure_reason: str | None = Field(examples=["Your card was declined."])
    created_at: datetime
