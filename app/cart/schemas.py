"""Request and response bodies of the cart; money is integer minor units."""

from typing import Annotated

from pydantic import BaseModel, Field

from app.inputs import RecordId, RequestModel

MAX_LINE_QUANTITY = 1000

# Strict: a JSON float or a numeric string is refused, never rounded.
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)]


class CartItemAdd(RequestModel):
    product_id: RecordId
    quantity: Quantity = Field(description="Added to what the cart already holds")


class CartItemUpdate(RequestModel):
    quantity: Quantity = Field(description="The new quantity of this line")


class CartLineOut(BaseModel):
    product_id: int
    name: str
    quantity: int
    unit_price: int
    line_total: int


class CartOut(BaseModel):
    items: list[CartLineOut]
    total: int
    currency: str
