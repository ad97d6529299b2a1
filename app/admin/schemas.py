from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from app.models import JobStatus

_SECRET_KEYS = {"token"}


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: JobStatus
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None

    @field_validator("payload")
    @classmethod
    def _hide_secrets(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {k: "[sealed]" if k in _SECRET_KEYS else v for k, v in payload.items()}


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    limit: int
    offset: int
