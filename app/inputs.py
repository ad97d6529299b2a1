"""Bounded input types shared by every area's schemas and routes.

Whatever a client sends must fail as a clear 422 here, not later as a
database error: ids fit the 32-bit key columns, offsets stay sane, and text
carries no NUL or unpaired surrogate (PostgreSQL and UTF-8 refuse both).
"""

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, Field, field_validator

MAX_ID = 2**31 - 1
MAX_OFFSET = 1_000_000_000

RecordId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def storable_text(value: str) -> str:
    """Refuse text that no database column or UTF-8 encoder can hold."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]


class RequestModel(BaseModel):
    """Base of request bodies: every text field is checked by `storable_text`."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value) if isinstance(value, str) else value
