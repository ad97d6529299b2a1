"""What checkout and the order endpoints answer with."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.inputs import MAX_OFFSET


class OrderQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    name: str = Field(validation_alias="product_name", description="As sold")
    unit_price: int = Field(description="Minor units, as sold")
    quantity: int
    line_total: int = Field(description="unit_price * quantity, minor units")


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str = Field(examples=["pending_payment"])
    items: list[OrderItemRead]
    total: int = Field(description="Minor units")
    currency: str = Field(examples=["USD"])
    created_at: datetime


class OrderPage(BaseModel):
    items: list[OrderRead]
    total: int = Field(description="How many orders match, over all pages")
    limit: int
    offset: int
