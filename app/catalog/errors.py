"""Catalog errors that other areas (cart, checkout) raise too."""

from app.errors import DomainError, ErrorCode


class InsufficientStock(DomainError):
    status_code = 409
    code = ErrorCode.INSUFFICIENT_STOCK
    message = "Not enough stock"

    def __init__(self, *, product_id: int, name: str, available: int) -> None:
        detail = f"Only {available} left of {name}"
        super().__init__(detail, product_id=product_id, available=available)


class CurrencyMismatch(DomainError):
    status_code = 422
    code = ErrorCode.CURRENCY_MISMATCH
    message = "This shop sells in one currency only"
    field = "currency"
