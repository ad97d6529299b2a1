"""Request and response bodies of the catalog; prices are integer minor units."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.inputs import RequestModel

MAX_PRICE = 100_000_000
MAX_STOCK = 1_000_000
MAX_OFFSET = 1_000_000_000

ProductName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Description = Annotated[str, Field(max_length=5000)]
# Strict: a JSON float or a numeric string is refused rather than silently rounded.
Price = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE)]
Stock = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class ProductQuery(RequestModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    # Bounded so that no offset overflows the database's integers.
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    q: SearchText | None = Field(
        default=None, description="Case-insensitive substring of the product name"
    )


class ProductCreate(RequestModel):
    name: ProductName
    description: Description = ""
    price: Price
    currency: Currency | None = Field(
        default=None, description="Defaults to the shop's currency, the only one sold"
    )
    stock: Stock


class ProductUpdate(RequestModel):
    """Only the fields sent change; none of them may be null."""

    name: ProductName | None = None
    description: Description | None = None
    price: Price | None = None
    currency: Currency | None = None
    stock: Stock | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    price: int
    currency: str
    stock: int


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int
